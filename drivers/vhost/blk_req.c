// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-blk requests: from a chain in the guest's ring to a status byte and
 * a used entry.
 *
 * Each queue has its own worker, which runs everything here with the
 * queue's mutex held. A run first finishes the requests whose I/O has
 * completed, then fetches and starts new ones until the ring is empty, the
 * request pool is exhausted or the run's weight is used up, and finally
 * publishes all the used entries it made at once, with one notification.
 *
 * Reads and writes go through the backing file's ->read_iter/->write_iter
 * with an asynchronous kiocb whose iov_iter points straight at guest
 * memory (the chain's iovecs are the owner's addresses, and the worker runs
 * in the owner's mm). For a block device or a file opened O_DIRECT that is
 * direct I/O: the block layer builds bios from the guest's pages, pinned
 * until the bio completes, with no copy. The completion callback runs in
 * interrupt context, so it only puts the request on a lock-free list and
 * wakes the worker, which writes the status byte and the used entry.
 *
 * Nothing the guest wrote is trusted: the header is copied once and
 * converted from little endian, lengths must be whole sectors, every range
 * must lie inside the capacity, and the status byte's address comes from
 * the translated chain. A chain without a writable byte for the status
 * cannot be completed at all: the queue stops and the VMM's error eventfd
 * fires. Every other bad request completes with IOERR or UNSUPP, so none
 * is ever left hanging.
 */
#include <linux/blkdev.h>
#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/uio.h>
#include <linux/virtio_blk.h>

#include "blk.h"
#include "blk_trace.h"

/* virtio-blk's request header, as the guest lays it out. */
struct vhost_blk_outhdr {
	__le32 type;
	__le32 ioprio;
	__le64 sector;
};

/* One range of DISCARD, WRITE_ZEROES and SECURE_ERASE. */
struct vhost_blk_range {
	__le64 sector;
	__le32 num_sectors;
	__le32 flags;
};

#define VHOST_BLK_RANGE_F_UNMAP	0x1

static struct vhost_blk_req *vhost_blk_req_get(struct vhost_blk_queue *bq)
{
	struct vhost_blk_req *req;

	if (!bq->nfree)
		return NULL;
	req = &bq->reqs[bq->free[--bq->nfree]];
	req->chain.max_iov = VHOST_BLK_REQ_IOV;
	req->chain.iov = req->iov;
	req->chain.gpa = req->gpa;
	return req;
}

static void vhost_blk_req_put(struct vhost_blk_queue *bq,
			      struct vhost_blk_req *req)
{
	bq->free[bq->nfree++] = req - bq->reqs;
}

/* Publish the used entries made so far and notify the guest if it wants. */
static int vhost_blk_flush_used(struct vhost_blk_queue *bq)
{
	struct kvh_vq *vq = &bq->vq;
	int ret;

	if (!bq->nused)
		return 0;
	/*
	 * The VMM unmapped the ring (device IOTLB) with requests in flight:
	 * they cannot be published, as upstream's used writes would fail.
	 */
	if (unlikely(!kvh_vq_ready(vq))) {
		bq->nused = 0;
		vq->ring.error = KVR_ERR_ACCESS;
		vq->ring.error_info = vq->addr.used_user_addr;
		kvh_vq_error(vq);
		return -EFAULT;
	}
	ret = kvr_push_used(&vq->ring, bq->used, bq->nused);
	bq->nused = 0;
	if (ret) {
		kvh_vq_error(vq);
		return ret;
	}
	kvh_vq_signal(vq);
	return 0;
}

/*
 * Complete @req: status byte, dirty log, used entry, back to the pool. Runs
 * in the worker. A status byte that cannot be written means the VMM took
 * the memory away under us: the queue is reported, and the request is still
 * completed so that it does not hold its pool entry forever.
 */
static void vhost_blk_finish(struct vhost_blk_queue *bq,
			     struct vhost_blk_req *req)
{
	struct kvh_vq *vq = &bq->vq;
	struct kvr_chain *c = &req->chain;
	struct kvr_used *used;
	u64 latency;

	lockdep_assert_held(&vq->mutex);

	bq->stats.ioerr += req->status == VIRTIO_BLK_S_IOERR;
	bq->stats.unsupp += req->status == VIRTIO_BLK_S_UNSUPP;
	if (put_user(req->status, (u8 __user *)req->status_uaddr)) {
		vq->ring.error = KVR_ERR_ACCESS;
		vq->ring.error_info = req->status_uaddr;
		kvh_vq_error(vq);
	}
	/*
	 * Log the whole writable part: read data, GET_ID's payload and the
	 * status byte at its end. More than was written is harmless; less
	 * would corrupt a migration.
	 */
	if (kvh_vq_has_feature(vq, VHOST_F_LOG_ALL) &&
	    kvr_log_chain(&vq->ring, c, c->in_len))
		kvh_vq_error(vq);

	used = &bq->used[bq->nused++];
	used->id = c->head;
	used->ndesc = c->ndesc;
	used->len = req->used_len;
	kvh_vq_account(vq, req->result > 0 ? req->result : 0);
	latency = ktime_get_ns() - req->start_ns;
	bq->stats.latency_ns += latency;
	trace_kvhost_blk_complete(vq, c->head, req->status, latency);

	vhost_blk_req_put(bq, req);
	WRITE_ONCE(bq->inflight, bq->inflight - 1);
	if (!bq->inflight)
		wake_up(&bq->drained);
	if (bq->nused == bq->depth)
		vhost_blk_flush_used(bq);
}

/* The end of a read or write, whichever way it completed. */
static void vhost_blk_rw_done(struct vhost_blk_queue *bq,
			      struct vhost_blk_req *req)
{
	u32 len = req->type == VIRTIO_BLK_T_IN ? req->chain.in_len - 1 :
		  req->chain.out_len - sizeof(struct vhost_blk_outhdr);

	/* Not bq->file: a detach may have cleared it, waiting for us. */
	if (req->type == VIRTIO_BLK_T_OUT &&
	    S_ISREG(file_inode(req->iocb.ki_filp)->i_mode))
		kiocb_end_write(&req->iocb);
	/* A short transfer is an error: the sector range was checked. */
	if (req->result != len) {
		req->status = VIRTIO_BLK_S_IOERR;
		req->used_len = 1;
		return;
	}
	req->status = VIRTIO_BLK_S_OK;
	req->used_len = req->type == VIRTIO_BLK_T_IN ? req->chain.in_len : 1;
}

/* ->ki_complete: any context, so hand the request to the worker. */
static void vhost_blk_rw_complete(struct kiocb *iocb, long ret)
{
	struct vhost_blk_req *req = container_of(iocb, struct vhost_blk_req,
						 iocb);
	struct vhost_blk_queue *bq = req->bq;

	req->result = ret;
	llist_add(&req->node, &bq->done);
	kvh_work_queue(bq->vq.worker, &bq->done_work);
}

/* Finish the requests whose I/O completed asynchronously. */
static void vhost_blk_reap(struct vhost_blk_queue *bq)
{
	struct vhost_blk_req *req, *next;
	struct llist_node *node;

	node = llist_del_all(&bq->done);
	if (!node)
		return;
	node = llist_reverse_order(node);
	llist_for_each_entry_safe(req, next, node, node) {
		vhost_blk_rw_done(bq, req);
		vhost_blk_finish(bq, req);
	}
}

/*
 * Start a read or write. Returns true if the request completed already
 * (buffered I/O, or an error) and must be finished by the caller.
 */
static bool vhost_blk_rw(struct vhost_blk_queue *bq, struct vhost_blk_req *req,
			 struct iov_iter *iter, u64 sector)
{
	bool write = req->type == VIRTIO_BLK_T_OUT;
	struct file *file = bq->file;
	struct kiocb *iocb = &req->iocb;
	struct iov_iter saved = *iter;
	ssize_t ret;

	memset(iocb, 0, sizeof(*iocb));
	iocb->ki_filp = file;
	iocb->ki_pos = sector << SECTOR_SHIFT;
	iocb->ki_flags = iocb_flags(file);
	iocb->ki_ioprio = get_current_ioprio();
	iocb->ki_complete = vhost_blk_rw_complete;
	if (write) {
		iocb->ki_flags |= IOCB_WRITE;
		/* A driver that cannot flush gets a write-through cache. */
		if (!kvh_vq_has_feature(&bq->vq, VIRTIO_BLK_F_FLUSH))
			iocb->ki_flags |= IOCB_DSYNC;
		if (S_ISREG(file_inode(file)->i_mode))
			kiocb_start_write(iocb);
	}
	for (;;) {
		if (write)
			ret = file->f_op->write_iter(iocb, iter);
		else
			ret = file->f_op->read_iter(iocb, iter);
		/*
		 * Direct I/O refuses guest buffers that are not aligned to
		 * the device's blocks; going through the page cache works
		 * for any alignment and stays coherent with direct I/O.
		 */
		if (ret != -EINVAL || !(iocb->ki_flags & IOCB_DIRECT))
			break;
		iocb->ki_flags &= ~IOCB_DIRECT;
		*iter = saved;
	}
	if (ret == -EIOCBQUEUED)
		return false;
	req->result = ret;
	vhost_blk_rw_done(bq, req);
	return true;
}

/*
 * DISCARD, WRITE_ZEROES and SECURE_ERASE: an array of ranges in the
 * readable data. Ranges are checked one at a time, before each is done.
 */
static u8 vhost_blk_ranges(struct vhost_blk_queue *bq, u32 type,
			   struct iov_iter *iter)
{
	size_t len = iov_iter_count(iter);
	struct vhost_blk_range r;
	u64 sector;
	u32 nsect, flags;
	int ret;

	if (!len || len % sizeof(r) ||
	    len / sizeof(r) > VHOST_BLK_MAX_RANGE_SEG)
		return VIRTIO_BLK_S_IOERR;
	if (bq->read_only)
		return VIRTIO_BLK_S_IOERR;
	while (iov_iter_count(iter)) {
		if (copy_from_iter(&r, sizeof(r), iter) != sizeof(r))
			return VIRTIO_BLK_S_IOERR;
		sector = le64_to_cpu(r.sector);
		nsect = le32_to_cpu(r.num_sectors);
		flags = le32_to_cpu(r.flags);
		/* UNMAP is for WRITE_ZEROES only; other bits are reserved. */
		if (flags & ~VHOST_BLK_RANGE_F_UNMAP ||
		    (flags && type != VIRTIO_BLK_T_WRITE_ZEROES))
			return VIRTIO_BLK_S_UNSUPP;
		if (nsect > VHOST_BLK_MAX_RANGE_SECTORS ||
		    sector > bq->capacity || nsect > bq->capacity - sector)
			return VIRTIO_BLK_S_IOERR;
		if (!nsect)
			continue;
		if (type == VIRTIO_BLK_T_DISCARD)
			ret = vhost_blk_discard(bq, sector, nsect);
		else if (type == VIRTIO_BLK_T_WRITE_ZEROES)
			ret = vhost_blk_write_zeroes(bq, sector, nsect,
						     flags & VHOST_BLK_RANGE_F_UNMAP);
		else
			ret = vhost_blk_secure_erase(bq, sector, nsect);
		if (ret == -EOPNOTSUPP)
			return VIRTIO_BLK_S_UNSUPP;
		if (ret)
			return VIRTIO_BLK_S_IOERR;
	}
	return VIRTIO_BLK_S_OK;
}

/* The feature bit that allows a range request type. */
static unsigned int vhost_blk_range_feature(u32 type)
{
	if (type == VIRTIO_BLK_T_DISCARD)
		return VIRTIO_BLK_F_DISCARD;
	if (type == VIRTIO_BLK_T_WRITE_ZEROES)
		return VIRTIO_BLK_F_WRITE_ZEROES;
	return VIRTIO_BLK_F_SECURE_ERASE;
}

/* Where the status byte goes: the last byte of the writable part. */
static unsigned long vhost_blk_status_uaddr(const struct kvr_chain *c)
{
	unsigned int i = c->nout + c->nin;

	while (i-- > c->nout)
		if (c->iov[i].iov_len)
			return (unsigned long)c->iov[i].iov_base +
			       c->iov[i].iov_len - 1;
	return 0;
}

/*
 * Start @req, just fetched. Returns true if it is complete (its status and
 * used length set) and must be finished; false if its I/O is in flight.
 */
static bool vhost_blk_start(struct vhost_blk_queue *bq,
			    struct vhost_blk_req *req)
{
	struct kvr_chain *c = &req->chain;
	struct vhost_blk_outhdr hdr;
	struct iov_iter iter;
	u32 data_len, n;
	u64 sector;

	req->bq = bq;
	req->result = 0;
	req->status = VIRTIO_BLK_S_IOERR;
	req->used_len = 1;
	req->start_ns = ktime_get_ns();
	req->type = U32_MAX;

	iov_iter_init(&iter, ITER_SOURCE, c->iov, c->nout, c->out_len);
	if (copy_from_iter(&hdr, sizeof(hdr), &iter) != sizeof(hdr))
		return true;
	req->type = le32_to_cpu(hdr.type);
	sector = le64_to_cpu(hdr.sector);
	/* The data: whatever is neither header nor status. */
	trace_kvhost_blk_submit(&bq->vq, c->head, req->type, sector,
				c->out_len - sizeof(hdr) + c->in_len - 1);

	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (req->type == VIRTIO_BLK_T_IN) {
			bq->stats.reads++;
			data_len = c->in_len - 1;
			iov_iter_init(&iter, ITER_DEST, c->iov + c->nout,
				      c->nin, data_len);
		} else {
			bq->stats.writes++;
			data_len = iov_iter_count(&iter);
			if (bq->read_only)
				return true;
		}
		if (data_len % SECTOR_SIZE ||
		    data_len > VHOST_BLK_MAX_SECTORS << SECTOR_SHIFT)
			return true;
		n = data_len >> SECTOR_SHIFT;
		if (sector > bq->capacity || n > bq->capacity - sector)
			return true;
		if (!data_len) {
			req->status = VIRTIO_BLK_S_OK;
			return true;
		}
		return vhost_blk_rw(bq, req, &iter, sector);
	case VIRTIO_BLK_T_FLUSH:
		bq->stats.flushes++;
		if (!vhost_blk_flush(bq))
			req->status = VIRTIO_BLK_S_OK;
		return true;
	case VIRTIO_BLK_T_GET_ID:
		bq->stats.others++;
		n = min_t(u32, c->in_len - 1, VHOST_BLK_SERIAL_LEN);
		iov_iter_init(&iter, ITER_DEST, c->iov + c->nout, c->nin, n);
		if (copy_to_iter(bq->serial, n, &iter) == n) {
			req->status = VIRTIO_BLK_S_OK;
			req->used_len = n + 1;
		}
		return true;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
	case VIRTIO_BLK_T_SECURE_ERASE:
		bq->stats.others++;
		/* Only what the driver negotiated. */
		if (!kvh_vq_has_feature(&bq->vq, vhost_blk_range_feature(req->type)))
			req->status = VIRTIO_BLK_S_UNSUPP;
		else
			req->status = vhost_blk_ranges(bq, req->type, &iter);
		return true;
	default:
		bq->stats.others++;
		req->status = VIRTIO_BLK_S_UNSUPP;
		return true;
	}
}

/*
 * Fetch and start requests until the ring is empty (notifications are then
 * enabled again), the pool is empty (completions resume us), the weight is
 * used up (requeued) or the guest broke the ring (the queue stops).
 */
static void vhost_blk_fetch_batch(struct vhost_blk_queue *bq)
{
	struct kvh_vq *vq = &bq->vq;
	struct vhost_blk_req *req;
	unsigned int n = 0;
	int ret;

	if (kvr_disable_notify(&vq->ring)) {
		kvh_vq_error(vq);
		return;
	}
	for (;;) {
		req = vhost_blk_req_get(bq);
		if (!req) {
			bq->starved = true;
			return;
		}
		ret = kvh_vq_get_chain(vq, &req->chain);
		if (ret <= 0) {
			vhost_blk_req_put(bq, req);
			if (ret < 0) {
				/* A miss: the VMM's answer requeues us. */
				if (ret != -EAGAIN)
					kvh_vq_error(vq);
				return;
			}
			ret = kvr_enable_notify(&vq->ring);
			if (ret <= 0) {
				if (ret < 0)
					kvh_vq_error(vq);
				return;
			}
			/* The guest added more while we looked away. */
			if (kvr_disable_notify(&vq->ring)) {
				kvh_vq_error(vq);
				return;
			}
			continue;
		}
		req->status_uaddr = vhost_blk_status_uaddr(&req->chain);
		if (!req->status_uaddr) {
			/* No room for a status: it can never complete. */
			kvr_unget_chain(&vq->ring, &req->chain);
			vhost_blk_req_put(bq, req);
			vq->ring.error = KVR_ERR_BACKEND;
			vq->ring.error_info = req->chain.head;
			kvh_vq_error(vq);
			return;
		}
		WRITE_ONCE(bq->inflight, bq->inflight + 1);
		if (vhost_blk_start(bq, req))
			vhost_blk_finish(bq, req);
		if (++n >= VHOST_BLK_WEIGHT) {
			/* Let completions and other queues have the worker. */
			kvh_poll_queue(&vq->poll);
			return;
		}
	}
}

/* Plugged, so the block layer sees the whole batch before dispatching. */
static void vhost_blk_fetch(struct vhost_blk_queue *bq)
{
	struct blk_plug plug;

	blk_start_plug(&plug);
	vhost_blk_fetch_batch(bq);
	blk_finish_plug(&plug);
}

/*
 * One run of the queue's worker. Completions fetch only if the pool had run
 * dry, so that a queue stopped for a broken ring stays stopped until the
 * next kick.
 */
static void vhost_blk_run(struct vhost_blk_queue *bq, bool kick)
{
	struct kvh_vq *vq = &bq->vq;

	mutex_lock(&vq->mutex);
	vhost_blk_reap(bq);
	if (bq->file && !bq->paused && (kick || bq->starved) &&
	    kvh_vq_ready(vq)) {
		bq->starved = false;
		vhost_blk_fetch(bq);
		/* Fast devices complete during submission: one signal. */
		vhost_blk_reap(bq);
	}
	vhost_blk_flush_used(bq);
	mutex_unlock(&vq->mutex);
}

/**
 * vhost_blk_handle_kick() - the guest kicked, or a run requeued itself
 * @work: the queue's kick poll work
 */
void vhost_blk_handle_kick(struct kvh_work *work)
{
	struct kvh_vq *vq = container_of(work, struct kvh_vq, poll.work);

	vhost_blk_run(container_of(vq, struct vhost_blk_queue, vq), true);
}

/**
 * vhost_blk_handle_done() - I/O completed; resumes fetching if it starved
 * @work: the queue's completion work
 */
void vhost_blk_handle_done(struct kvh_work *work)
{
	struct vhost_blk_queue *bq = container_of(work, struct vhost_blk_queue,
						  done_work);

	vhost_blk_run(bq, false);
}
