// SPDX-License-Identifier: GPL-2.0
/* vhost-blk's trace events (blk_trace.h), instantiated in vhost_blk.ko. */
#define CREATE_TRACE_POINTS
#include "blk_trace.h"
