/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Trace events of the kvhost device core (kvhost.ko), system "kvhost":
 *
 *   kvhost_vq_kick         the guest kicked a queue (its kick eventfd fired)
 *   kvhost_vq_signal       we notified the guest (the call eventfd)
 *   kvhost_vq_error        the guest broke a ring; the reason, and whether
 *                          an error eventfd was there to tell the VMM
 *   kvhost_backend_attach  a backend started servicing a queue
 *   kvhost_backend_detach  a backend stopped servicing a queue
 *
 * Every event names its queue by device name, owner pid and index.
 * Documentation/admin-guide/monitoring.rst shows how to use them.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM kvhost

#if !defined(KVHOST_CORE_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define KVHOST_CORE_TRACE_H

#include <linux/tracepoint.h>

#include "trace_vq.h"

DECLARE_EVENT_CLASS(kvhost_vq_count,
		    TP_PROTO(const struct kvh_vq *vq, u64 count),
		    TP_ARGS(vq, count),
		    TP_STRUCT__entry(__string(dev, vq->dev->name)
				     __field(pid_t, owner)
				     __field(unsigned int, vq)
				     __field(u16, used_idx)
				     __field(u64, count)),
		    TP_fast_assign(__assign_str(dev, vq->dev->name);
				   __entry->owner = READ_ONCE(vq->dev->owner_pid);
				   __entry->vq = kvh_vq_index(vq);
				   __entry->used_idx = READ_ONCE(vq->ring.last_used_idx);
				   __entry->count = count;),
		    TP_printk("%s-%d vq %u used_idx %u count %llu", __get_str(dev),
			      __entry->owner, __entry->vq, __entry->used_idx,
			      __entry->count)
);

/* Count: the queue's kicks so far (debugfs "kicks"). */
DEFINE_EVENT(kvhost_vq_count, kvhost_vq_kick,
	     TP_PROTO(const struct kvh_vq *vq, u64 count),
	     TP_ARGS(vq, count)
);

/* Count: the queue's notifications so far (debugfs "calls"). */
DEFINE_EVENT(kvhost_vq_count, kvhost_vq_signal,
	     TP_PROTO(const struct kvh_vq *vq, u64 count),
	     TP_ARGS(vq, count)
);

TRACE_EVENT(kvhost_vq_error,
	    TP_PROTO(const struct kvh_vq *vq),
	    TP_ARGS(vq),
	    TP_STRUCT__entry(__string(dev, vq->dev->name)
			     __field(pid_t, owner)
			     __field(unsigned int, vq)
			     __string(reason, kvr_error_name(vq->ring.error))
			     __field(u64, info)
			     __field(bool, err_fd)),
	    TP_fast_assign(__assign_str(dev, vq->dev->name);
			   __entry->owner = READ_ONCE(vq->dev->owner_pid);
			   __entry->vq = kvh_vq_index(vq);
			   __assign_str(reason, kvr_error_name(vq->ring.error));
			   __entry->info = vq->ring.error_info;
			   __entry->err_fd = !!vq->err_ctx;),
	    TP_printk("%s-%d vq %u reason %s info 0x%llx err_fd %d",
		      __get_str(dev), __entry->owner, __entry->vq,
		      __get_str(reason), __entry->info, __entry->err_fd)
);

DECLARE_EVENT_CLASS(kvhost_backend,
		    TP_PROTO(const struct kvh_vq *vq),
		    TP_ARGS(vq),
		    TP_STRUCT__entry(__string(dev, vq->dev->name)
				     __field(pid_t, owner)
				     __field(unsigned int, vq)
				     __field(unsigned int, num)
				     __field(bool, packed)
				     __field(u32, base)
				     __field(u16, used_idx)),
		    TP_fast_assign(__assign_str(dev, vq->dev->name);
				   __entry->owner = READ_ONCE(vq->dev->owner_pid);
				   __entry->vq = kvh_vq_index(vq);
				   __entry->num = vq->ring.num;
				   __entry->packed = vq->ring.packed;
				   __entry->base = kvr_ring_get_base(&vq->ring);
				   __entry->used_idx = vq->ring.last_used_idx;),
		    TP_printk("%s-%d vq %u num %u %s base 0x%x used_idx %u",
			      __get_str(dev), __entry->owner, __entry->vq, __entry->num,
			      __entry->packed ? "packed" : "split", __entry->base,
			      __entry->used_idx)
);

/* The ring as the backend starts on it: base is VHOST_GET_VRING_BASE's. */
DEFINE_EVENT(kvhost_backend, kvhost_backend_attach,
	     TP_PROTO(const struct kvh_vq *vq),
	     TP_ARGS(vq)
);

/* The ring as the backend left it. */
DEFINE_EVENT(kvhost_backend, kvhost_backend_detach,
	     TP_PROTO(const struct kvh_vq *vq),
	     TP_ARGS(vq)
);

#endif /* KVHOST_CORE_TRACE_H */

/* Out of tree: found through the -I flags of our Kbuild. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE core_trace
#include <trace/define_trace.h>
