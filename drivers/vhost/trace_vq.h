/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What kvhost's trace events (core_trace.h, net_trace.h, blk_trace.h) record to
 * name a virtqueue: the device's name, its owner's pid and the queue index,
 * the same triple as the debugfs directory and its "vqN" lines.
 */
#ifndef KVHOST_TRACE_VQ_H
#define KVHOST_TRACE_VQ_H

#include "kvhost.h"

/* The index of @vq in its device; a device has a handful of queues. */
static inline unsigned int kvh_trace_vq_index(const struct kvh_vq *vq)
{
	unsigned int i;

	for (i = 0; i < vq->dev->nvqs && vq->dev->vqs[i] != vq; i++)
		;
	return i;
}

/* The queue whose kick eventfd @poll waits on, or NULL (vq.c). */
struct kvh_vq *kvh_poll_to_vq(struct kvh_poll *poll);

#endif /* KVHOST_TRACE_VQ_H */
