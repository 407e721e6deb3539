// SPDX-License-Identifier: GPL-2.0
/*
 * kvhost's core trace events (core_trace.h), instantiated in kvhost.ko. The
 * backends have their own (net_trace.h, blk_trace.h), so no tracepoint
 * crosses a module boundary and kvhost exports nothing outside its
 * kvh_/kvr_ KVHOST namespace.
 */
#define CREATE_TRACE_POINTS
#include "core_trace.h"
