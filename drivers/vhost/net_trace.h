/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Trace events of vhost-net (vhost_net.ko), system "kvhost_net":
 *
 *   kvhost_net_tx_batch  one TX handler run: packets sent to the tap
 *                        (or dropped by it) and their bytes
 *   kvhost_net_rx_batch  one RX handler run: packets taken from the tap
 *                        (delivered or dropped) and the bytes delivered
 *
 * A run ends when the ring or the tap is empty, on backpressure, on a ring
 * error, or after VHOST_NET_PKT_WEIGHT packets or VHOST_NET_BYTE_WEIGHT
 * bytes; the sizes show how well the work batches.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kvhost_net

#if !defined(KVHOST_NET_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define KVHOST_NET_TRACE_H

#include <linux/tracepoint.h>

#include "trace_vq.h"

DECLARE_EVENT_CLASS(kvhost_net_batch,
		    TP_PROTO(const struct kvh_vq *vq, unsigned int pkts, size_t bytes),
		    TP_ARGS(vq, pkts, bytes),
		    TP_STRUCT__entry(__field(pid_t, owner)
				     __field(unsigned int, vq)
				     __field(unsigned int, pkts)
				     __field(size_t, bytes)),
		    TP_fast_assign(__entry->owner = READ_ONCE(vq->dev->owner_pid);
				   __entry->vq = kvh_vq_index(vq);
				   __entry->pkts = pkts;
				   __entry->bytes = bytes;),
		    TP_printk("net-%d vq %u pkts %u bytes %zu", __entry->owner,
			      __entry->vq, __entry->pkts, __entry->bytes)
);

DEFINE_EVENT(kvhost_net_batch, kvhost_net_tx_batch,
	     TP_PROTO(const struct kvh_vq *vq, unsigned int pkts, size_t bytes),
	     TP_ARGS(vq, pkts, bytes)
);

DEFINE_EVENT(kvhost_net_batch, kvhost_net_rx_batch,
	     TP_PROTO(const struct kvh_vq *vq, unsigned int pkts, size_t bytes),
	     TP_ARGS(vq, pkts, bytes)
);

#endif /* KVHOST_NET_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE net_trace
#include <trace/define_trace.h>
