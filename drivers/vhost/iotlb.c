// SPDX-License-Identifier: GPL-2.0
/*
 * kvhost device IOTLB: VIRTIO_F_ACCESS_PLATFORM behind a vIOMMU.
 *
 * With a vIOMMU every address the guest puts in its rings, and the ring
 * addresses themselves, are I/O virtual addresses. The VMM emulates the
 * IOMMU, so it teaches us translations on demand, through the device file:
 *  - a queue that meets an IOVA we cannot translate stops, and a
 *    VHOST_IOTLB_MISS message becomes readable (read(), EPOLLIN);
 *  - the VMM write()s VHOST_IOTLB_UPDATE (IOVA range to owner address, with
 *    access rights) and VHOST_IOTLB_INVALIDATE messages; an update that
 *    covers a queue's miss requeues that queue.
 * Messages use struct vhost_msg, or struct vhost_msg_v2 once the VMM set
 * VHOST_BACKEND_F_IOTLB_MSG_V2; both are 72 bytes on 64-bit.
 *
 * The table is a kvr_map, the sorted array the memory table uses, so the
 * vring library translates IOVAs exactly as it translates guest-physical
 * addresses, only a miss is retried instead of failing the ring. Each
 * message builds a new array and installs it under every queue lock (as
 * upstream takes every queue lock per message); a handler thus never sees a
 * translation change under it.
 *
 * Each queue has at most one miss outstanding (struct kvh_iotlb_miss, in the
 * queue), so however often a guest kicks, the messages waiting for the VMM
 * are bounded by the number of queues.
 */
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <linux/vhost.h>

#include "kvhost.h"

static unsigned int max_iotlb_entries = 2048;
module_param(max_iotlb_entries, uint, 0444);
MODULE_PARM_DESC(max_iotlb_entries,
		 "Most device IOTLB entries per device; the oldest is retired beyond it (default: 2048)");

/* Caps allocations whatever the parameter says. */
#define KVH_IOTLB_LIMIT		65536

static unsigned int kvh_iotlb_limit(void)
{
	return clamp(max_iotlb_entries, 1U, KVH_IOTLB_LIMIT);
}

static void kvh_iotlb_table_free(struct kvr_map *map, u64 *stamp)
{
	kvfree(map);
	kvfree(stamp);
}

/* An empty table of room @n, with its stamps. */
static struct kvr_map *kvh_iotlb_table_alloc(unsigned int n, u64 **stamp)
{
	struct kvr_map *map;

	map = kvzalloc(struct_size(map, r, n), GFP_KERNEL_ACCOUNT);
	*stamp = kvmalloc_array(max(n, 1U), sizeof(**stamp),
				GFP_KERNEL_ACCOUNT);
	if (!map || !*stamp) {
		kvh_iotlb_table_free(map, *stamp);
		return NULL;
	}
	map->iotlb = true;
	return map;
}

/* Drop every miss; the caller wakes the readers. */
static void kvh_iotlb_clear_msgs(struct kvh_dev *dev)
{
	struct kvh_iotlb_miss *m, *tmp;

	spin_lock(&dev->msg_lock);
	list_for_each_entry_safe(m, tmp, &dev->msg_read, node)
		list_del_init(&m->node);
	list_for_each_entry_safe(m, tmp, &dev->msg_pending, node)
		list_del_init(&m->node);
	spin_unlock(&dev->msg_lock);
}

/**
 * kvh_iotlb_init() - the message state of a freshly opened device
 * @dev: the device
 */
void kvh_iotlb_init(struct kvh_dev *dev)
{
	dev->iotlb = NULL;
	spin_lock_init(&dev->msg_lock);
	INIT_LIST_HEAD(&dev->msg_read);
	INIT_LIST_HEAD(&dev->msg_pending);
	init_waitqueue_head(&dev->msg_wait);
}

/**
 * kvh_iotlb_enable() - create or drop the device IOTLB
 * @dev: the device, with @dev->mutex held
 * @on: VIRTIO_F_ACCESS_PLATFORM is acked
 *
 * Turning it off (a feature reset, or the owner going away) drops every
 * translation and miss, and the rings go back to the owner's addresses.
 *
 * Return: 0 or -ENOMEM.
 */
int kvh_iotlb_enable(struct kvh_dev *dev, bool on)
{
	struct kvh_iotlb *iotlb = dev->iotlb;

	lockdep_assert_held(&dev->mutex);
	if (on == !!iotlb)
		return 0;
	if (on) {
		iotlb = kzalloc(sizeof(*iotlb), GFP_KERNEL_ACCOUNT);
		if (!iotlb)
			return -ENOMEM;
		iotlb->map = kvh_iotlb_table_alloc(0, &iotlb->stamp);
		if (!iotlb->map) {
			kfree(iotlb);
			return -ENOMEM;
		}
		dev->iotlb = iotlb;
		kvh_dev_install_maps(dev);
		return 0;
	}
	dev->iotlb = NULL;
	kvh_dev_install_maps(dev);
	kvh_iotlb_table_free(iotlb->map, iotlb->stamp);
	kfree(iotlb);
	kvh_iotlb_clear_msgs(dev);
	/* Blocked readers now get EBADFD. */
	wake_up_interruptible_poll(&dev->msg_wait, EPOLLIN | EPOLLRDNORM);
	return 0;
}

/**
 * kvh_iotlb_miss() - ask the VMM for a translation
 * @vq: the queue that needs it, with its mutex held
 * @iova: the address
 * @perm: the access wanted (KVR_PERM_*, which are VHOST_ACCESS_*)
 *
 * A miss still unread is replaced by this one; one already read goes back
 * to be read again, since the queue asked anew after whatever the VMM did.
 */
void kvh_iotlb_miss(struct kvh_vq *vq, u64 iova, u32 perm)
{
	struct kvh_dev *dev = vq->dev;

	lockdep_assert_held(&vq->mutex);
	vq->stats.misses++;
	spin_lock(&dev->msg_lock);
	vq->miss.iova = iova;
	vq->miss.perm = perm;
	list_move_tail(&vq->miss.node, &dev->msg_read);
	spin_unlock(&dev->msg_lock);
	wake_up_interruptible_poll(&dev->msg_wait, EPOLLIN | EPOLLRDNORM);
}
EXPORT_SYMBOL_NS_GPL(kvh_iotlb_miss, KVH_NS);

/**
 * kvh_iotlb_forget() - withdraw a queue's miss, when it stops
 * @vq: the queue
 */
void kvh_iotlb_forget(struct kvh_vq *vq)
{
	spin_lock(&vq->dev->msg_lock);
	list_del_init(&vq->miss.node);
	spin_unlock(&vq->dev->msg_lock);
}

/*
 * Translate one ring area, which must be one contiguous, accessible run of
 * the owner's memory: the library addresses each area as a whole.
 * Return: 0, -EAGAIN (*@miss is the first address not mapped), -EPERM or
 * -EFAULT (mapped in pieces that are not contiguous).
 */
static int kvh_iotlb_area(const struct kvr_map *map, u64 iova, u64 size,
			  u32 perm, kvr_uaddr_t *uaddr, u64 *miss)
{
	kvr_uaddr_t base = 0, next = 0;
	u64 addr = iova, left = size;

	while (left) {
		const struct kvr_range *r = kvr_map_find(map, addr);
		kvr_uaddr_t u;
		u64 seg;

		if (!r) {
			*miss = addr;
			return -EAGAIN;
		}
		if ((r->perm & perm) != perm)
			return -EPERM;
		u = r->uaddr + (addr - r->start);
		if (addr == iova)
			base = u;
		else if (u != next)
			return -EFAULT;
		seg = r->last - addr >= left - 1 ? left : r->last - addr + 1;
		next = u + seg;
		addr += seg;
		left -= seg;
	}
	*uaddr = base;
	return 0;
}

static const u32 kvh_area_perm[] = {
	[KVR_AREA_DESC] = KVR_PERM_READ,
	[KVR_AREA_AVAIL] = KVR_PERM_READ,
	[KVR_AREA_USED] = KVR_PERM_WRITE,
};

/*
 * One area of @vq's ring through the IOTLB. With @report, a miss is sent to
 * the VMM and a failure is recorded as the ring's error.
 */
static int kvh_vq_translate_area(struct kvh_vq *vq, enum kvr_area area,
				 kvr_uaddr_t *uaddr, bool report)
{
	const u64 iova[] = {
		[KVR_AREA_DESC] = vq->addr.desc_user_addr,
		[KVR_AREA_AVAIL] = vq->addr.avail_user_addr,
		[KVR_AREA_USED] = vq->addr.used_user_addr,
	};
	u32 perm = kvh_area_perm[area];
	u64 miss;
	int ret;

	/* Packed rings get used descriptors written into the descriptor ring. */
	if (area == KVR_AREA_DESC && vq->ring.packed)
		perm |= KVR_PERM_WRITE;
	ret = kvh_iotlb_area(vq->ring.map, iova[area],
			     kvr_ring_area_size(&vq->ring, area), perm, uaddr,
			     &miss);
	if (!report || !ret)
		return ret;
	if (ret == -EAGAIN) {
		kvh_iotlb_miss(vq, miss, perm);
	} else {
		vq->ring.error = ret == -EPERM ? KVR_ERR_PERM : KVR_ERR_ADDR;
		vq->ring.error_info = iova[area];
	}
	return ret;
}

/**
 * kvh_vq_translate_ring() - translate the ring's areas through the IOTLB
 * @vq: the queue, with its mutex held (or not yet in use), whose ring.map
 *	is the device IOTLB
 * @report: ask the VMM for a missing translation, and record a failure as
 *	the ring's error; without it, only try
 *
 * Return: 0 with the ring's addresses set and @vq->ring_ready, -EAGAIN
 * for a missing translation, or -EPERM/-EFAULT.
 */
int kvh_vq_translate_ring(struct kvh_vq *vq, bool report)
{
	kvr_uaddr_t a[3];
	int ret, i;

	for (i = KVR_AREA_DESC; i <= KVR_AREA_USED; i++) {
		ret = kvh_vq_translate_area(vq, i, &a[i], report);
		if (ret)
			return ret;
	}
	vq->ring.desc = a[KVR_AREA_DESC];
	vq->ring.avail = a[KVR_AREA_AVAIL];
	vq->ring.used = a[KVR_AREA_USED];
	vq->ring_ready = true;
	return 0;
}

/**
 * kvh_vq_translate_used() - translate only the used ring, to start a queue
 * @vq: the queue, with its mutex held, whose ring.map is the device IOTLB
 *
 * Like upstream, a queue starts only if the VMM mapped its used ring (QEMU
 * does before it attaches a backend); the rest may come on demand.
 *
 * Return: 0, -EAGAIN (the VMM was asked) or -EPERM/-EFAULT.
 */
int kvh_vq_translate_used(struct kvh_vq *vq)
{
	lockdep_assert_held(&vq->mutex);
	return kvh_vq_translate_area(vq, KVR_AREA_USED, &vq->ring.used, true);
}

/* The slow half of kvh_vq_ready(). */
bool kvh_vq_resolve(struct kvh_vq *vq)
{
	int ret;

	/* The queue's own view: the device's changes under this mutex only. */
	if (!vq->ring.map || !vq->ring.map->iotlb)
		return false;
	lockdep_assert_held(&vq->mutex);
	ret = kvh_vq_translate_ring(vq, true);
	if (ret && ret != -EAGAIN)
		kvh_vq_error(vq);
	return !ret;
}
EXPORT_SYMBOL_NS_GPL(kvh_vq_resolve, KVH_NS);

/* Append @r, added at @when, to a table being built. */
static void kvh_iotlb_emit(struct kvr_map *map, u64 *stamp,
			   const struct kvr_range *r, u64 when)
{
	map->r[map->n] = *r;
	stamp[map->n++] = when;
}

/*
 * Build the table that results from dropping [@start, @last] out of @old
 * and, for an update, adding @add over it. Entries partly covered keep
 * their uncovered ends. Beyond the size limit, the oldest entries but the
 * new one are retired: that only costs a later miss.
 */
static struct kvr_map *kvh_iotlb_rebuild(const struct kvh_iotlb *old,
					 u64 start, u64 last,
					 const struct kvr_range *add,
					 u64 stamp, u64 **new_stamp)
{
	const struct kvr_map *o = old->map;
	unsigned int i, limit = kvh_iotlb_limit();
	struct kvr_map *map;
	bool added = !add;
	u64 *st;

	map = kvh_iotlb_table_alloc(o->n + 2, &st);
	if (!map)
		return NULL;

	for (i = 0; i < o->n; i++) {
		const struct kvr_range *e = &o->r[i];
		struct kvr_range piece;

		if (e->last < start) {
			kvh_iotlb_emit(map, st, e, old->stamp[i]);
			continue;
		}
		if (e->start < start) {
			piece = *e;
			piece.last = start - 1;
			kvh_iotlb_emit(map, st, &piece, old->stamp[i]);
		}
		/* Past the dropped range: the new entry goes first. */
		if (e->last > last && !added) {
			kvh_iotlb_emit(map, st, add, stamp);
			added = true;
		}
		if (e->start > last) {
			kvh_iotlb_emit(map, st, e, old->stamp[i]);
		} else if (e->last > last) {
			piece = *e;
			piece.start = last + 1;
			piece.uaddr = e->uaddr + (piece.start - e->start);
			kvh_iotlb_emit(map, st, &piece, old->stamp[i]);
		}
	}
	if (!added)
		kvh_iotlb_emit(map, st, add, stamp);

	/* Retire the oldest but the new one, keeping the order of the rest. */
	while (map->n > limit) {
		unsigned int oldest = map->n, j;

		for (j = 0; j < map->n; j++) {
			if (add && st[j] == stamp)
				continue;
			if (oldest == map->n || st[j] < st[oldest])
				oldest = j;
		}
		map->n--;
		memmove(&map->r[oldest], &map->r[oldest + 1],
			(map->n - oldest) * sizeof(map->r[0]));
		memmove(&st[oldest], &st[oldest + 1],
			(map->n - oldest) * sizeof(st[0]));
	}
	*new_stamp = st;
	return map;
}

/* Requeue the queues whose miss @r now covers. */
static void kvh_iotlb_wake_misses(struct kvh_dev *dev,
				  const struct kvr_range *r)
{
	struct kvh_iotlb_miss *m, *tmp;
	struct list_head *lists[] = { &dev->msg_pending, &dev->msg_read };
	unsigned int i;

	spin_lock(&dev->msg_lock);
	for (i = 0; i < ARRAY_SIZE(lists); i++) {
		list_for_each_entry_safe(m, tmp, lists[i], node) {
			struct kvh_vq *vq = container_of(m, struct kvh_vq,
							 miss);

			if (m->iova < r->start || m->iova > r->last)
				continue;
			list_del_init(&m->node);
			if (vq->poll.worker)
				kvh_poll_queue(&vq->poll);
		}
	}
	spin_unlock(&dev->msg_lock);
}

/* Apply one UPDATE or INVALIDATE; @dev->mutex is held. */
static int kvh_iotlb_apply(struct kvh_dev *dev,
			   const struct vhost_iotlb_msg *msg)
{
	struct kvh_iotlb *iotlb = dev->iotlb;
	struct kvr_range add, *addp = NULL;
	struct kvr_map *map, *old_map;
	u64 start = msg->iova, last, *stamp, *old_stamp;

	lockdep_assert_held(&dev->mutex);
	/* Like upstream: no IOTLB, no translations to take. */
	if (!iotlb)
		return -EFAULT;

	if (msg->type == VHOST_IOTLB_UPDATE) {
		if (!msg->size || !msg->perm || msg->perm & ~VHOST_ACCESS_RW)
			return -EINVAL;
		if (check_add_overflow(msg->iova, msg->size - 1, &last))
			return -EINVAL;
		if (msg->uaddr != (unsigned long)msg->uaddr ||
		    msg->uaddr + (msg->size - 1) < msg->uaddr ||
		    !access_ok((void __user *)(unsigned long)msg->uaddr,
			       msg->size))
			return -EFAULT;
		add.start = msg->iova;
		add.last = last;
		add.uaddr = msg->uaddr;
		add.perm = msg->perm;
		addp = &add;
	} else {
		/*
		 * QEMU flushes everything as iova 0, size 0 (an address mask
		 * of all ones, plus one): a size of 0 means "to the end".
		 */
		if (!msg->size ||
		    check_add_overflow(msg->iova, msg->size - 1, &last))
			last = U64_MAX;
	}

	map = kvh_iotlb_rebuild(iotlb, start, last, addp, iotlb->clock,
				&stamp);
	if (!map)
		return -ENOMEM;
	iotlb->clock++;
	old_map = iotlb->map;
	old_stamp = iotlb->stamp;
	iotlb->map = map;
	iotlb->stamp = stamp;
	kvh_dev_install_maps(dev);
	kvh_iotlb_table_free(old_map, old_stamp);
	if (addp)
		kvh_iotlb_wake_misses(dev, addp);
	return 0;
}

/* Both framings put the message at offset 8 and are this big. */
#define KVH_MSG_HDR	offsetof(struct vhost_msg_v2, iotlb)
#define KVH_MSG_SIZE	sizeof(struct vhost_msg_v2)

static_assert(offsetof(struct vhost_msg, iotlb) == KVH_MSG_HDR);
static_assert(sizeof(struct vhost_msg) == KVH_MSG_SIZE);

/**
 * kvh_dev_write_iter() - the VMM writes an IOTLB message
 * @dev: the device
 * @from: one struct vhost_msg or struct vhost_msg_v2
 *
 * Either framing is accepted whatever was negotiated, as upstream does;
 * without VHOST_BACKEND_F_IOTLB_ASID the v2 asid is ignored, as upstream
 * does. A write shorter than the header and the message is refused.
 *
 * Return: the bytes consumed (the framing's size, or all of a shorter write
 * that held the message), or -EINVAL (short, unknown framing or type, bad
 * update), -EFAULT (no IOTLB negotiated, or an update for owner addresses
 * that do not exist) or -ENOMEM.
 */
ssize_t kvh_dev_write_iter(struct kvh_dev *dev, struct iov_iter *from)
{
	size_t count = iov_iter_count(from);
	struct vhost_iotlb_msg msg;
	u32 framing;
	int ret;

	if (count < KVH_MSG_HDR + sizeof(msg))
		return -EINVAL;
	if (copy_from_iter(&framing, sizeof(framing), from) != sizeof(framing))
		return -EFAULT;
	if (framing != VHOST_IOTLB_MSG && framing != VHOST_IOTLB_MSG_V2)
		return -EINVAL;
	iov_iter_advance(from, KVH_MSG_HDR - sizeof(framing));
	if (copy_from_iter(&msg, sizeof(msg), from) != sizeof(msg))
		return -EFAULT;

	switch (msg.type) {
	case VHOST_IOTLB_UPDATE:
	case VHOST_IOTLB_INVALIDATE:
		break;
	default:
		/* MISS is ours to send; BATCH_* needs IOTLB_BATCH. */
		return -EINVAL;
	}
	mutex_lock(&dev->mutex);
	ret = kvh_iotlb_apply(dev, &msg);
	mutex_unlock(&dev->mutex);
	if (ret)
		return ret;
	return min_t(size_t, count, KVH_MSG_SIZE);
}
EXPORT_SYMBOL_NS_GPL(kvh_dev_write_iter, KVH_NS);

/* Take the oldest unread miss onto the pending list. */
static bool kvh_iotlb_take(struct kvh_dev *dev, struct kvh_iotlb_miss *out)
{
	struct kvh_iotlb_miss *m;

	spin_lock(&dev->msg_lock);
	m = list_first_entry_or_null(&dev->msg_read, struct kvh_iotlb_miss,
				     node);
	if (m) {
		out->iova = m->iova;
		out->perm = m->perm;
		list_move_tail(&m->node, &dev->msg_pending);
	}
	spin_unlock(&dev->msg_lock);
	return m;
}

/*
 * The VMM's buffer faulted while a taken miss was copied out: put it back
 * at the head of the read list, unless an UPDATE answered or a detach
 * withdrew it meanwhile, so that the queue does not wait for an answer to
 * a question the VMM never got.
 */
static void kvh_iotlb_untake(struct kvh_dev *dev,
			     const struct kvh_iotlb_miss *miss)
{
	struct kvh_iotlb_miss *m;

	spin_lock(&dev->msg_lock);
	list_for_each_entry(m, &dev->msg_pending, node) {
		if (m->iova == miss->iova && m->perm == miss->perm) {
			list_move(&m->node, &dev->msg_read);
			break;
		}
	}
	spin_unlock(&dev->msg_lock);
	wake_up_interruptible_poll(&dev->msg_wait, EPOLLIN | EPOLLRDNORM);
}

/**
 * kvh_dev_read_iter() - the VMM reads an IOTLB miss
 * @dev: the device
 * @to: room for one message
 * @nonblock: the file is O_NONBLOCK (QEMU's is)
 *
 * The framing is struct vhost_msg_v2 once the VMM set
 * VHOST_BACKEND_F_IOTLB_MSG_V2, else struct vhost_msg.
 *
 * Return: the message's size; 0 if @to is too small for it (as upstream);
 * -EAGAIN (non-blocking, nothing to read), -ERESTARTSYS, -EBADFD (blocking
 * while no IOTLB is negotiated) or -EFAULT (the miss is left to read again).
 */
ssize_t kvh_dev_read_iter(struct kvh_dev *dev, struct iov_iter *to,
			  bool nonblock)
{
	struct kvh_iotlb_miss miss;
	struct vhost_msg_v2 msg;
	DEFINE_WAIT(wait);
	ssize_t ret = 0;

	if (iov_iter_count(to) < KVH_MSG_SIZE)
		return 0;
	for (;;) {
		prepare_to_wait(&dev->msg_wait, &wait, TASK_INTERRUPTIBLE);
		if (kvh_iotlb_take(dev, &miss))
			break;
		if (nonblock) {
			ret = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			ret = -ERESTARTSYS;
			break;
		}
		if (!READ_ONCE(dev->iotlb)) {
			ret = -EBADFD;
			break;
		}
		schedule();
	}
	finish_wait(&dev->msg_wait, &wait);
	if (ret)
		return ret;

	/* The v1 framing's hole is where v2 has the asid: zero both. */
	memset(&msg, 0, sizeof(msg));
	msg.type = READ_ONCE(dev->backend_features) &
		   BIT_ULL(VHOST_BACKEND_F_IOTLB_MSG_V2) ?
		   VHOST_IOTLB_MSG_V2 : VHOST_IOTLB_MSG;
	msg.iotlb.iova = miss.iova;
	msg.iotlb.perm = miss.perm;
	msg.iotlb.type = VHOST_IOTLB_MISS;
	if (copy_to_iter(&msg, sizeof(msg), to) != sizeof(msg)) {
		kvh_iotlb_untake(dev, &miss);
		return -EFAULT;
	}
	return sizeof(msg);
}
EXPORT_SYMBOL_NS_GPL(kvh_dev_read_iter, KVH_NS);

/**
 * kvh_dev_poll() - EPOLLIN while a miss waits to be read
 * @dev: the device
 * @file: its file
 * @wait: the poll table
 *
 * Return: the events ready.
 */
__poll_t kvh_dev_poll(struct kvh_dev *dev, struct file *file,
		      poll_table *wait)
{
	__poll_t mask = 0;

	poll_wait(file, &dev->msg_wait, wait);
	spin_lock(&dev->msg_lock);
	if (!list_empty(&dev->msg_read))
		mask |= EPOLLIN | EPOLLRDNORM;
	spin_unlock(&dev->msg_lock);
	return mask;
}
EXPORT_SYMBOL_NS_GPL(kvh_dev_poll, KVH_NS);
