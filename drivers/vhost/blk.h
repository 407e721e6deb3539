/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-blk: state shared by the device (blk.c), the request path
 * (blk_req.c) and the backend operations (blk_backend.c).
 */
#ifndef KVHOST_BLK_H
#define KVHOST_BLK_H

#include <linux/fs.h>
#include <linux/llist.h>
#include <linux/vhost_blk.h>
#include <linux/wait.h>

#include "kvhost.h"

/*
 * Limits. They bound what one guest can pin and make the host do: a
 * request moves at most VHOST_BLK_MAX_SECTORS, a queue has at most
 * VHOST_BLK_MAX_DEPTH requests in flight, so at most 128 x 4 MiB of guest
 * memory is pinned per queue by direct I/O. The VMM learns them from
 * VHOST_BLK_GET_CONFIG and puts seg_max and size_max in the config space,
 * which keeps a well-behaved guest below them.
 */
#define VHOST_BLK_SEG_MAX	126
#define VHOST_BLK_SIZE_MAX	(32U << 10)
#define VHOST_BLK_MAX_SECTORS	((VHOST_BLK_SEG_MAX * VHOST_BLK_SIZE_MAX) >> 9)
#define VHOST_BLK_MAX_DEPTH	128
/* iovecs per request: data segments, header and status, region splits. */
#define VHOST_BLK_REQ_IOV	256
/* DISCARD, WRITE_ZEROES and SECURE_ERASE: segments and sectors each. */
#define VHOST_BLK_MAX_RANGE_SEG		32
#define VHOST_BLK_MAX_RANGE_SECTORS	4194304U	/* 2 GiB */
/* Requests one run of a queue's handler starts before it requeues itself. */
#define VHOST_BLK_WEIGHT	256

struct vhost_blk_queue;

/**
 * struct vhost_blk_req - one guest request, from fetch to used entry
 * @iocb: the read or write, for the file's ->read_iter/->write_iter
 * @node: on vhost_blk_queue.done once the I/O completed asynchronously
 * @bq: the queue it belongs to
 * @chain: the translated chain; its arrays are @iov and @gpa
 * @status_uaddr: where the status byte goes (the chain's last writable byte)
 * @start_ns: when it was fetched, for the latency statistics
 * @result: bytes transferred, or a negative errno
 * @type: VIRTIO_BLK_T_*, host endian
 * @status: VIRTIO_BLK_S_* to write back
 * @used_len: used.len to publish
 * @iov: storage for @chain
 * @gpa: storage for @chain
 */
struct vhost_blk_req {
	struct kiocb iocb;
	struct llist_node node;
	struct vhost_blk_queue *bq;
	struct kvr_chain chain;
	unsigned long status_uaddr;
	u64 start_ns;
	long result;
	u32 type;
	u8 status;
	u32 used_len;
	struct iovec iov[VHOST_BLK_REQ_IOV];
	u64 gpa[VHOST_BLK_REQ_IOV];
};

/**
 * struct vhost_blk_queue - one request queue and its backend
 * @vq: the virtqueue; its mutex protects everything below unless noted
 * @file: the backing file while attached (also in @vq.backend)
 * @capacity: the backend's size in 512-byte sectors, taken at attach
 * @read_only: writes fail with IOERR
 * @wz_may_unmap: the backend can deallocate for WRITE_ZEROES with UNMAP
 * @bdev: the backing file is a block device
 * @serial: GET_ID's answer, copied from the device under this mutex
 * @reqs: the request pool, @depth entries, allocated at attach
 * @free: indices of free entries in @reqs, a stack of @nfree
 * @depth: requests this queue may have in flight
 * @nfree: entries on @free
 * @inflight: requests submitted and not yet completed; written under the
 *	mutex, read without it by vhost_blk_drain()
 * @paused: do not fetch new requests (GET_VRING_BASE is reading the base)
 * @starved: the pool ran dry; completions restart fetching
 * @used: completed requests not yet published, at most @depth
 * @nused: entries in @used
 * @done: requests whose I/O completed asynchronously, lock-free: added by
 *	the completion callback in any context, taken by the queue's worker
 * @done_work: queued on the queue's worker by the completion callback
 * @drained: woken when @inflight drops to zero
 * @stats: counters for the debugfs view, beyond the core's
 */
struct vhost_blk_queue {
	struct kvh_vq vq;
	struct file *file;
	u64 capacity;
	bool read_only;
	bool wz_may_unmap;
	bool bdev;
	char serial[VHOST_BLK_SERIAL_LEN];
	struct vhost_blk_req *reqs;
	u16 *free;
	unsigned int depth;
	unsigned int nfree;
	unsigned int inflight;
	bool paused;
	bool starved;
	struct kvr_used *used;
	unsigned int nused;
	struct llist_head done;		/* lock-free, see above */
	struct kvh_work done_work;
	wait_queue_head_t drained;
	struct {
		u64 reads;
		u64 writes;
		u64 flushes;
		u64 others;
		u64 ioerr;
		u64 unsupp;
		u64 latency_ns;
	} stats;
};

/**
 * struct vhost_blk - one open /dev/vhost-blk
 * @dev: the device core
 * @queues: the request queues
 * @vq_ptrs: &queues[i].vq, for the core
 * @serial: the serial number (VHOST_BLK_SET_SERIAL); protected by
 *	@dev.mutex, copied to each queue
 */
struct vhost_blk {
	struct kvh_dev dev;
	struct vhost_blk_queue queues[VHOST_BLK_MAX_QUEUES];
	struct kvh_vq *vq_ptrs[VHOST_BLK_MAX_QUEUES];
	char serial[VHOST_BLK_SERIAL_LEN];
};

/* The request path (blk_req.c). */
void vhost_blk_handle_kick(struct kvh_work *work);
void vhost_blk_handle_done(struct kvh_work *work);

/* Backend operations (blk_backend.c). */
int vhost_blk_describe(struct file *file, struct vhost_blk_config *cfg);
int vhost_blk_flush(struct vhost_blk_queue *bq);
int vhost_blk_discard(struct vhost_blk_queue *bq, u64 sector, u32 nsect);
int vhost_blk_write_zeroes(struct vhost_blk_queue *bq, u64 sector, u32 nsect,
			   bool unmap);
int vhost_blk_secure_erase(struct vhost_blk_queue *bq, u64 sector, u32 nsect);

#endif /* KVHOST_BLK_H */
