// SPDX-License-Identifier: GPL-2.0
/* vhost-net's trace events (net_trace.h), instantiated in vhost_net.ko. */
#define CREATE_TRACE_POINTS
#include "net_trace.h"
