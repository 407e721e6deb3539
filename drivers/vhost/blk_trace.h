/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Trace events of vhost-blk (vhost_blk.ko), system "kvhost_blk":
 *
 *   kvhost_blk_submit    a request was taken from the ring and submitted:
 *                        its id, VIRTIO_BLK_T_* type, first sector and
 *                        data length
 *   kvhost_blk_complete  its completion: the VIRTIO_BLK_S_* status written
 *                        to the guest and the latency from submit to
 *                        completion in nanoseconds
 *
 * The id (the chain's head: split, descriptor index; packed, buffer id)
 * pairs the two.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kvhost_blk

#if !defined(KVHOST_BLK_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define KVHOST_BLK_TRACE_H

#include <linux/tracepoint.h>

#include "trace_vq.h"

TRACE_EVENT(kvhost_blk_submit,
	    TP_PROTO(const struct kvh_vq *vq, u16 id, u32 type, u64 sector,
		     u32 len),
	    TP_ARGS(vq, id, type, sector, len),
	    TP_STRUCT__entry(__field(pid_t, owner)
			     __field(unsigned int, vq)
			     __field(u16, id)
			     __field(u32, type)
			     __field(u64, sector)
			     __field(u32, len)),
	    TP_fast_assign(__entry->owner = READ_ONCE(vq->dev->owner_pid);
			   __entry->vq = kvh_vq_index(vq);
			   __entry->id = id;
			   __entry->type = type;
			   __entry->sector = sector;
			   __entry->len = len;),
	    TP_printk("blk-%d vq %u id %u type %u sector %llu len %u",
		      __entry->owner, __entry->vq, __entry->id, __entry->type,
		      __entry->sector, __entry->len)
);

TRACE_EVENT(kvhost_blk_complete,
	    TP_PROTO(const struct kvh_vq *vq, u16 id, u8 status, u64 latency_ns),
	    TP_ARGS(vq, id, status, latency_ns),
	    TP_STRUCT__entry(__field(pid_t, owner)
			     __field(unsigned int, vq)
			     __field(u16, id)
			     __field(u8, status)
			     __field(u64, latency_ns)),
	    TP_fast_assign(__entry->owner = READ_ONCE(vq->dev->owner_pid);
			   __entry->vq = kvh_vq_index(vq);
			   __entry->id = id;
			   __entry->status = status;
			   __entry->latency_ns = latency_ns;),
	    TP_printk("blk-%d vq %u id %u status %u latency_ns %llu",
		      __entry->owner, __entry->vq, __entry->id, __entry->status,
		      __entry->latency_ns)
);

#endif /* KVHOST_BLK_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE blk_trace
#include <trace/define_trace.h>
