// SPDX-License-Identifier: GPL-2.0
/*
 * kvhost dirty log: one bit per 4 KiB guest page, in a bitmap the VMM keeps
 * in its own memory (VHOST_SET_LOG_BASE). Bit n is bit n % 8 of byte n / 8.
 *
 * Upstream pins, maps and unpins the bitmap page once per bit. We do it once
 * per bitmap page per write: one 4 KiB page of bitmap covers 128 MiB of
 * guest memory, so a large write costs one pin instead of thousands.
 */
#include <linux/eventfd.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/vhost.h>

#include "kvhost.h"

#define KVH_LOG_PAGE_SHIFT	12	/* VHOST_PAGE_SIZE */
#define KVH_BITS_PER_PAGE	(PAGE_SIZE * BITS_PER_BYTE)

/* Set bits [first, last] of the bitmap, all within one page of it. */
static int kvh_log_set_bits(kvr_uaddr_t base, u64 first, u64 last)
{
	kvr_uaddr_t byte = base + first / BITS_PER_BYTE;
	unsigned long page_addr = byte & PAGE_MASK;
	struct page *page;
	u64 bit_off, nr;
	void *kaddr;

	if (pin_user_pages_fast(page_addr, 1, FOLL_WRITE, &page) != 1)
		return -EFAULT;
	kaddr = kmap_local_page(page);
	/* Bit offset of @first from the start of the page. */
	bit_off = (byte - page_addr) * BITS_PER_BYTE + first % BITS_PER_BYTE;
	/* Atomic: the VMM clears bits concurrently while it syncs the log. */
	for (nr = 0; nr <= last - first; nr++)
		set_bit(bit_off + nr, kaddr);
	kunmap_local(kaddr);
	unpin_user_pages_dirty_lock(&page, 1, true);
	return 0;
}

/* Mark the guest-physical range [@gpa, @gpa + @len) dirty. */
static int kvh_log_gpa(struct kvr_log *log, u64 gpa, u64 len)
{
	u64 first, last, end;
	int ret;

	if (!len)
		return 0;
	if (check_add_overflow(gpa, len - 1, &end))
		end = U64_MAX;
	first = gpa >> KVH_LOG_PAGE_SHIFT;
	last = end >> KVH_LOG_PAGE_SHIFT;
	while (first <= last) {
		kvr_uaddr_t byte = log->base + first / BITS_PER_BYTE;
		/* Bits left in the bitmap page that holds @first. */
		u64 room = (PAGE_SIZE - (byte & ~PAGE_MASK)) * BITS_PER_BYTE -
			   first % BITS_PER_BYTE;
		u64 stop = min(last, first + room - 1);

		ret = kvh_log_set_bits(log->base, first, stop);
		if (ret)
			return ret;
		if (stop == U64_MAX)
			break;
		first = stop + 1;
	}
	return 0;
}

/*
 * Mark the guest pages behind the owner's range [@uaddr, @uaddr + @len):
 * the memory table backwards. Memory the table does not have is not guest
 * RAM, and there is nothing to migrate.
 */
static int kvh_log_uaddr(struct kvr_log *log, kvr_uaddr_t uaddr, u64 len)
{
	const struct kvr_map *mem = log->mem;
	u64 last = uaddr + (len - 1);
	unsigned int i;
	int ret;

	for (i = 0; mem && i < mem->n; i++) {
		const struct kvr_range *r = &mem->r[i];
		u64 rlast = r->uaddr + (r->last - r->start);
		u64 lo = max(uaddr, r->uaddr), hi = min(last, rlast);

		if (lo > hi)
			continue;
		ret = kvh_log_gpa(log, r->start + (lo - r->uaddr), hi - lo + 1);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Behind a device IOTLB the library reports IOVAs: each translated piece
 * is logged at the guest-physical addresses of the owner's memory it maps.
 */
static int kvh_log_iova(struct kvr_log *log, u64 iova, u64 len)
{
	u64 end;
	int ret;

	if (check_add_overflow(iova, len - 1, &end))
		end = U64_MAX;
	while (iova <= end) {
		const struct kvr_range *r = kvr_map_find(log->iotlb, iova);
		u64 stop;

		/* Unmapped: nothing was written there. */
		if (!r)
			break;
		stop = min(end, r->last);
		ret = kvh_log_uaddr(log, r->uaddr + (iova - r->start),
				    stop - iova + 1);
		if (ret || stop == U64_MAX)
			return ret;
		iova = stop + 1;
	}
	return 0;
}

/**
 * kvr_log_write() - mark guest pages dirty
 * @log: the device's log
 * @addr: guest-physical address (an IOVA behind a device IOTLB) of the
 *	first byte written
 * @len: bytes written
 *
 * Called by the vring library, in the owner's mm, for every range the device
 * wrote while logging is on.
 *
 * Return: 0 or -EFAULT.
 */
int kvr_log_write(struct kvr_log *log, u64 addr, u64 len)
{
	int ret;

	if (!len)
		return 0;
	if (log->iotlb)
		ret = kvh_log_iova(log, addr, len);
	else
		ret = kvh_log_gpa(log, addr, len);
	if (!ret && log->ctx)
		eventfd_signal(log->ctx, 1);
	return ret;
}

/**
 * kvh_log_covers() - is the log bitmap for this guest range accessible?
 * @dev: the device
 * @gpa: first guest-physical address
 * @len: bytes
 */
bool kvh_log_covers(struct kvh_dev *dev, u64 gpa, u64 len)
{
	u64 first = gpa >> KVH_LOG_PAGE_SHIFT, end, bytes, base;

	if (!len)
		return true;
	if (check_add_overflow(gpa, len - 1, &end))
		return false;
	bytes = (end >> KVH_LOG_PAGE_SHIFT) / BITS_PER_BYTE -
		first / BITS_PER_BYTE + 1;
	if (check_add_overflow(dev->log.base, first / BITS_PER_BYTE, &base) ||
	    base != (unsigned long)base)
		return false;
	return access_ok((void __user *)(unsigned long)base, bytes);
}

/*
 * Install a new log in each queue under its lock, so that no handler sees
 * half of it. Queues switch one after the other, as upstream's do: the VMM
 * syncs the old bitmap only after this ioctl returns.
 */
static void kvh_log_publish(struct kvh_dev *dev, kvr_uaddr_t base,
			    struct eventfd_ctx *ctx)
{
	unsigned int i;

	lockdep_assert_held(&dev->mutex);
	dev->log.base = base;
	dev->log.ctx = ctx;
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		dev->vqs[i]->log = dev->log;
		mutex_unlock(&dev->vqs[i]->mutex);
	}
}

/**
 * kvh_set_log_base() - VHOST_SET_LOG_BASE
 * @dev: the device, with @dev->mutex held
 * @argp: the bitmap's address, a u64 in userspace
 *
 * The VMM moves the log when it resizes it, possibly while rings run.
 *
 * Return: 0 or -EFAULT.
 */
long kvh_set_log_base(struct kvh_dev *dev, u64 __user *argp)
{
	u64 base;

	lockdep_assert_held(&dev->mutex);
	if (copy_from_user(&base, argp, sizeof(base)))
		return -EFAULT;
	if (base != (unsigned long)base)
		return -EFAULT;
	kvh_log_publish(dev, base, dev->log.ctx);
	dev->log_set = true;
	return 0;
}

/**
 * kvh_set_log_fd() - VHOST_SET_LOG_FD
 * @dev: the device, with @dev->mutex held
 * @argp: an eventfd to signal after log writes, or -1, an int in userspace
 *
 * Return: 0, -EFAULT, or the eventfd lookup's error (-EBADF, -EINVAL).
 */
long kvh_set_log_fd(struct kvh_dev *dev, int __user *argp)
{
	struct eventfd_ctx *ctx = NULL, *old;
	int fd;

	lockdep_assert_held(&dev->mutex);
	if (copy_from_user(&fd, argp, sizeof(fd)))
		return -EFAULT;
	if (fd != VHOST_FILE_UNBIND) {
		ctx = eventfd_ctx_fdget(fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
	}
	old = dev->log.ctx;
	kvh_log_publish(dev, dev->log.base, ctx);
	if (old)
		eventfd_ctx_put(old);
	return 0;
}
