/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What kvhost's trace events (core_trace.h, net_trace.h, blk_trace.h) record to
 * name a virtqueue: the device's name, its owner's pid and the queue index
 * (kvh_vq_index()), the same triple as the debugfs directory and its "vqN"
 * lines.
 */
#ifndef KVHOST_TRACE_VQ_H
#define KVHOST_TRACE_VQ_H

#include "kvhost.h"

/* The queue whose kick eventfd @poll waits on, or NULL (vq.c). */
struct kvh_vq *kvh_poll_to_vq(struct kvh_poll *poll);

#endif /* KVHOST_TRACE_VQ_H */
