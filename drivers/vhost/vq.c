// SPDX-License-Identifier: GPL-2.0
/*
 * kvhost virtqueues: the vring ioctls, kick/call/err eventfds, and starting
 * and stopping a queue around its backend.
 *
 * Everything here runs with the queue's mutex held, which is also what the
 * backend's handler holds while it services the queue: QEMU may swap the
 * call eventfd (MSI-X mask/unmask), the kick eventfd, the log flag or the
 * ring addresses while the guest runs, and each such change lands between
 * two handler runs, never inside one.
 */
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vhost.h>

#include "kvhost.h"
#include "core_trace.h"

/* Upstream's per-chain segment limit; also a bound on work per chain. */
#define KVH_MAX_IOV	UIO_MAXIOV

/*
 * The kick poller's work: the backend's handler. The indirection lets the
 * kick tracepoint tell a queue's kick poller from a backend's own pollers.
 */
static void kvh_vq_kick_work(struct kvh_work *work)
{
	struct kvh_vq *vq = container_of(work, struct kvh_vq, poll.work);

	if (vq->handle_kick)
		vq->handle_kick(work);
}

/* See trace_vq.h. */
struct kvh_vq *kvh_poll_to_vq(struct kvh_poll *poll)
{
	if (poll->work.fn != kvh_vq_kick_work)
		return NULL;
	return container_of(poll, struct kvh_vq, poll);
}

/**
 * kvh_vq_init() - prepare a virtqueue
 * @vq: the queue, embedded in the backend's state
 * @dev: its device
 * @kick: the backend's kick handler, run by the queue's worker; NULL for a
 *	queue that cannot be started yet
 *
 * Return: 0 or -ENOMEM.
 */
int kvh_vq_init(struct kvh_vq *vq, struct kvh_dev *dev, kvh_work_fn_t kick)
{
	memset(vq, 0, sizeof(*vq));
	vq->dev = dev;
	mutex_init(&vq->mutex);
	INIT_LIST_HEAD(&vq->miss.node);
	vq->handle_kick = kick;
	kvh_poll_init(&vq->poll, kvh_vq_kick_work, EPOLLIN);
	vq->chain.max_iov = KVH_MAX_IOV;
	vq->chain.iov = kvmalloc_array(KVH_MAX_IOV, sizeof(*vq->chain.iov),
				       GFP_KERNEL_ACCOUNT);
	vq->chain.gpa = kvmalloc_array(KVH_MAX_IOV, sizeof(*vq->chain.gpa),
				       GFP_KERNEL_ACCOUNT);
	if (!vq->chain.iov || !vq->chain.gpa) {
		kvh_vq_free(vq);
		return -ENOMEM;
	}
	kvh_vq_reset(vq);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(kvh_vq_init, KVH_NS);

/**
 * kvh_vq_free() - release what kvh_vq_init() allocated
 * @vq: the queue, stopped and reset
 */
void kvh_vq_free(struct kvh_vq *vq)
{
	kvfree(vq->chain.iov);
	kvfree(vq->chain.gpa);
	vq->chain.iov = NULL;
	vq->chain.gpa = NULL;
	mutex_destroy(&vq->mutex);
}
EXPORT_SYMBOL_NS_GPL(kvh_vq_free, KVH_NS);

/**
 * kvh_vq_reset() - forget the queue's configuration and eventfds
 * @vq: the queue, stopped
 */
void kvh_vq_reset(struct kvh_vq *vq)
{
	if (vq->kick)
		fput(vq->kick);
	if (vq->call_ctx)
		eventfd_ctx_put(vq->call_ctx);
	if (vq->err_ctx)
		eventfd_ctx_put(vq->err_ctx);
	vq->kick = NULL;
	vq->call_ctx = NULL;
	vq->err_ctx = NULL;
	kvh_iotlb_forget(vq);
	memset(&vq->ring, 0, sizeof(vq->ring));
	memset(&vq->addr, 0, sizeof(vq->addr));
	kvh_vq_install_maps(vq);
	vq->acked = 0;
	vq->addr_set = false;
	vq->busyloop_timeout = 0;
	vq->worker = NULL;
	vq->poll.worker = NULL;
	vq->poll.wakeups = 0;
	memset(&vq->stats, 0, sizeof(vq->stats));
}
EXPORT_SYMBOL_NS_GPL(kvh_vq_reset, KVH_NS);

/**
 * kvh_vq_signal() - notify the guest if the ring says it wants to be
 * @vq: the queue, with its mutex held, after kvr_push_used()
 */
void kvh_vq_signal(struct kvh_vq *vq)
{
	lockdep_assert_held(&vq->mutex);
	if (vq->call_ctx && kvr_should_notify(&vq->ring)) {
		eventfd_signal(vq->call_ctx, 1);
		vq->stats.calls++;
		trace_kvhost_vq_signal(vq, vq->stats.calls);
	}
}
EXPORT_SYMBOL_NS_GPL(kvh_vq_signal, KVH_NS);

/**
 * kvh_vq_error() - the guest broke the ring: tell the VMM
 * @vq: the queue, with its mutex held
 *
 * The handler stops servicing the queue until the next kick. QEMU logs
 * "vhost vring error in virtqueue N" when the err eventfd fires.
 */
void kvh_vq_error(struct kvh_vq *vq)
{
	lockdep_assert_held(&vq->mutex);
	vq->stats.errors++;
	vq->stats.last_error = vq->ring.error;
	pr_debug("vq %u: %s (0x%llx)\n", kvh_vq_index(vq),
		 kvr_error_name(vq->ring.error), vq->ring.error_info);
	trace_kvhost_vq_error(vq);
	if (vq->err_ctx)
		eventfd_signal(vq->err_ctx, 1);
}
EXPORT_SYMBOL_NS_GPL(kvh_vq_error, KVH_NS);

/**
 * kvh_vq_log_chain() - log the chain's written bytes if logging is on
 * @vq: the queue, with its mutex held
 * @written: bytes written into the writable part of @vq->chain
 *
 * Return: 0 or -EFAULT.
 */
int kvh_vq_log_chain(struct kvh_vq *vq, u32 written)
{
	lockdep_assert_held(&vq->mutex);
	if (!kvh_vq_has_feature(vq, VHOST_F_LOG_ALL))
		return 0;
	return kvr_log_chain(&vq->ring, &vq->chain, written);
}
EXPORT_SYMBOL_NS_GPL(kvh_vq_log_chain, KVH_NS);

/**
 * kvh_vq_apply_features() - copy the device's acked features to the queue
 * @vq: the queue, with the device mutex and its own mutex held
 *
 * Data writes are logged while LOG_ALL is acked (kvh_vq_log_chain()); the
 * used ring is logged while the ring's VHOST_VRING_F_LOG flag is set, as
 * upstream does. Both may change while the ring runs.
 */
void kvh_vq_apply_features(struct kvh_vq *vq)
{
	struct kvh_dev *dev = vq->dev;

	lockdep_assert_held(&dev->mutex);
	lockdep_assert_held(&vq->mutex);
	vq->acked = dev->acked;
	/* The ring format is fixed while a backend runs the ring. */
	if (!vq->backend)
		vq->ring.packed = kvh_vq_has_feature(vq, VIRTIO_F_RING_PACKED);
	vq->ring.event_idx = kvh_vq_has_feature(vq, VIRTIO_RING_F_EVENT_IDX);
	vq->ring.indirect = kvh_vq_has_feature(vq, VIRTIO_RING_F_INDIRECT_DESC);
	vq->ring.notify_on_empty = kvh_vq_has_feature(vq, VIRTIO_F_NOTIFY_ON_EMPTY);
	vq->log = dev->log;
	vq->ring.log = &vq->log;
	vq->ring.log_used = vq->addr.flags & BIT(VHOST_VRING_F_LOG);
}
EXPORT_SYMBOL_NS_GPL(kvh_vq_apply_features, KVH_NS);

/**
 * kvh_vq_start() - attach a backend and start servicing the queue
 * @vq: the queue, with its mutex held, and not running
 * @backend: the backend's object for this queue; non-NULL
 *
 * Like upstream, the used index is read back from guest memory: it is the
 * truth after a stop/start cycle or a migration. With a device IOTLB, the
 * used ring must be mapped already (a miss is sent for it otherwise); the
 * other areas are translated when the handler first runs.
 *
 * Return: 0, -EINVAL (the queue is not fully configured) or -EFAULT (the
 * rings are not accessible).
 */
int kvh_vq_start(struct kvh_vq *vq, void *backend)
{
	struct kvh_dev *dev = vq->dev;
	int ret;

	lockdep_assert_held(&vq->mutex);
	if (vq->backend || !backend || !vq->handle_kick)
		return -EINVAL;
	if (!vq->ring.num || !vq->addr_set || !dev->workers)
		return -EINVAL;
	kvh_vq_apply_features(vq);
	kvh_vq_install_maps(vq);
	if (vq->ring.map && vq->ring.map->iotlb) {
		if (!vq->ring_ready && kvh_vq_translate_used(vq))
			return -EFAULT;
	} else if (vq->ring.packed &&
		   !kvh_uaddr_to_gpa(dev->map, vq->addr.desc_user_addr,
				     &vq->ring.desc_gpa)) {
		return -EFAULT;
	}
	ret = kvr_ring_start(&vq->ring);
	if (ret)
		return ret == -EIO ? -EFAULT : ret;
	vq->backend = backend;
	if (vq->kick) {
		ret = kvh_poll_start(&vq->poll, vq->worker, vq->kick);
		if (ret) {
			vq->backend = NULL;
			return ret;
		}
	}
	trace_kvhost_backend_attach(vq);
	/* Buffers the guest queued before we started need no kick. */
	kvh_poll_queue(&vq->poll);
	return 0;
}
EXPORT_SYMBOL_NS_GPL(kvh_vq_start, KVH_NS);

/**
 * kvh_vq_stop() - stop servicing the queue and detach its backend
 * @vq: the queue, with its mutex held
 *
 * The caller must flush the queue's worker after dropping the mutex before
 * it frees the backend, so that a handler already queued finds it gone.
 *
 * Return: the backend that was attached, or NULL.
 */
void *kvh_vq_stop(struct kvh_vq *vq)
{
	void *backend = vq->backend;

	lockdep_assert_held(&vq->mutex);
	kvh_poll_stop(&vq->poll);
	kvh_iotlb_forget(vq);
	vq->backend = NULL;
	if (backend)
		trace_kvhost_backend_detach(vq);
	return backend;
}
EXPORT_SYMBOL_NS_GPL(kvh_vq_stop, KVH_NS);

/* Replace an eventfd context from a vhost_vring_file fd; -1 clears it. */
static int kvh_swap_eventfd(struct eventfd_ctx **slot, int fd)
{
	struct eventfd_ctx *ctx = NULL;

	if (fd != VHOST_FILE_UNBIND) {
		ctx = eventfd_ctx_fdget(fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	}
	swap(*slot, ctx);
	if (ctx)
		eventfd_ctx_put(ctx);
	return 0;
}

static long kvh_set_vring_kick(struct kvh_vq *vq, int fd)
{
	struct file *file = NULL;
	int ret = 0;

	if (fd != VHOST_FILE_UNBIND) {
		file = eventfd_fget(fd);
		if (IS_ERR(file))
			return PTR_ERR(file);
	}
	if (file == vq->kick) {
		if (file)
			fput(file);
		return 0;
	}
	kvh_poll_stop(&vq->poll);
	if (vq->kick)
		fput(vq->kick);
	vq->kick = file;
	if (vq->backend && file) {
		ret = kvh_poll_start(&vq->poll, vq->worker, file);
		/* A kick may have been lost in the swap: look at the ring. */
		kvh_poll_queue(&vq->poll);
	}
	return ret;
}

static long kvh_set_vring_addr(struct kvh_vq *vq,
			       struct vhost_vring_addr __user *argp)
{
	struct kvh_dev *dev = vq->dev;
	struct vhost_vring_addr a;
	struct kvr_ring trial;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (a.flags & ~BIT(VHOST_VRING_F_LOG))
		return -EOPNOTSUPP;
	if (a.desc_user_addr != (unsigned long)a.desc_user_addr ||
	    a.avail_user_addr != (unsigned long)a.avail_user_addr ||
	    a.used_user_addr != (unsigned long)a.used_user_addr)
		return -EFAULT;
	/* The virtio alignments, for both ring layouts. */
	if ((a.desc_user_addr & 15) || (a.avail_user_addr & 1) ||
	    (a.used_user_addr & 3) || (a.log_guest_addr & 3))
		return -EINVAL;

	/* A running queue only takes addresses it can use right away. */
	if (vq->backend) {
		trial = vq->ring;
		trial.desc = a.desc_user_addr;
		trial.avail = a.avail_user_addr;
		trial.used = a.used_user_addr;
		if (kvr_ring_check(&trial))
			return -EINVAL;
		if ((a.flags & BIT(VHOST_VRING_F_LOG)) && dev->log_set &&
		    !kvh_log_covers(dev, a.log_guest_addr, 1))
			return -EINVAL;
	}
	vq->addr = a;
	vq->addr_set = true;
	kvh_vq_install_maps(vq);
	vq->ring.log_used = a.flags & BIT(VHOST_VRING_F_LOG);
	return 0;
}

static long kvh_vq_ioctl(struct kvh_vq *vq, unsigned int ioctl,
			 void __user *argp)
{
	struct vhost_vring_state s;
	struct vhost_vring_file f;
	long ret = 0;

	lockdep_assert_held(&vq->mutex);

	switch (ioctl) {
	case VHOST_SET_VRING_NUM:
		if (copy_from_user(&s, argp, sizeof(s)))
			return -EFAULT;
		if (vq->backend)
			return -EBUSY;
		/* Packed rings need no power of two; this is checked at start. */
		if (!s.num || s.num > KVR_MAX_NUM ||
		    (!kvh_has_feature(vq->dev, VIRTIO_F_RING_PACKED) &&
		     (s.num & (s.num - 1))))
			return -EINVAL;
		vq->ring.num = s.num;
		return 0;
	case VHOST_SET_VRING_BASE:
		if (copy_from_user(&s, argp, sizeof(s)))
			return -EFAULT;
		if (vq->backend)
			return -EBUSY;
		kvh_vq_apply_features(vq);
		return kvr_ring_set_base(&vq->ring, s.num);
	case VHOST_GET_VRING_BASE:
		if (copy_from_user(&s, argp, sizeof(s)))
			return -EFAULT;
		s.num = kvr_ring_get_base(&vq->ring);
		return copy_to_user(argp, &s, sizeof(s)) ? -EFAULT : 0;
	case VHOST_SET_VRING_ADDR:
		return kvh_set_vring_addr(vq, argp);
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
	case VHOST_SET_VRING_ERR:
		if (copy_from_user(&f, argp, sizeof(f)))
			return -EFAULT;
		if (ioctl == VHOST_SET_VRING_KICK)
			ret = kvh_set_vring_kick(vq, f.fd);
		else if (ioctl == VHOST_SET_VRING_CALL)
			ret = kvh_swap_eventfd(&vq->call_ctx, f.fd);
		else
			ret = kvh_swap_eventfd(&vq->err_ctx, f.fd);
		return ret;
	case VHOST_SET_VRING_BUSYLOOP_TIMEOUT:
		if (copy_from_user(&s, argp, sizeof(s)))
			return -EFAULT;
		vq->busyloop_timeout = s.num;
		return 0;
	case VHOST_GET_VRING_BUSYLOOP_TIMEOUT:
		if (copy_from_user(&s, argp, sizeof(s)))
			return -EFAULT;
		s.num = vq->busyloop_timeout;
		return copy_to_user(argp, &s, sizeof(s)) ? -EFAULT : 0;
	default:
		return -ENOIOCTLCMD;
	}
}

static bool kvh_is_vring_ioctl(unsigned int ioctl)
{
	switch (ioctl) {
	case VHOST_SET_VRING_NUM:
	case VHOST_SET_VRING_BASE:
	case VHOST_GET_VRING_BASE:
	case VHOST_SET_VRING_ADDR:
	case VHOST_SET_VRING_KICK:
	case VHOST_SET_VRING_CALL:
	case VHOST_SET_VRING_ERR:
	case VHOST_SET_VRING_BUSYLOOP_TIMEOUT:
	case VHOST_GET_VRING_BUSYLOOP_TIMEOUT:
		return true;
	}
	return false;
}

/**
 * kvh_vring_ioctl() - the per-virtqueue ioctls
 * @dev: the device, with @dev->mutex held and the caller its owner
 * @ioctl: the command
 * @argp: its argument; every vring ioctl starts with the queue index
 *
 * Return: 0 or a negative errno: -ENOBUFS for an index beyond the device's
 * queues, -ENOIOCTLCMD for a command that is not a vring ioctl.
 */
long kvh_vring_ioctl(struct kvh_dev *dev, unsigned int ioctl,
		     void __user *argp)
{
	struct kvh_vq *vq;
	u32 idx;
	long ret;

	lockdep_assert_held(&dev->mutex);

	if (!kvh_is_vring_ioctl(ioctl))
		return -ENOIOCTLCMD;
	if (get_user(idx, (u32 __user *)argp))
		return -EFAULT;
	if (idx >= dev->nvqs)
		return -ENOBUFS;
	idx = array_index_nospec(idx, dev->nvqs);
	vq = dev->vqs[idx];

	/* A backend with requests in flight finishes them first. */
	if (ioctl == VHOST_GET_VRING_BASE && dev->pause_vq)
		dev->pause_vq(vq, true);
	mutex_lock(&vq->mutex);
	ret = kvh_vq_ioctl(vq, ioctl, argp);
	mutex_unlock(&vq->mutex);
	if (ioctl == VHOST_GET_VRING_BASE && dev->pause_vq)
		dev->pause_vq(vq, false);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(kvh_vring_ioctl, KVH_NS);
