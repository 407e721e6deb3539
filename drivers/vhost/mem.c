// SPDX-License-Identifier: GPL-2.0
/*
 * kvhost memory table: VHOST_SET_MEM_TABLE turns the VMM's guest-physical
 * to owner-virtual regions into a sorted kvr_map that the vring library
 * binary-searches. A sorted array beats an interval tree at the sizes QEMU
 * uses, and it is immutable once published: a new table replaces the old one
 * under every virtqueue lock, so a handler never sees it change mid-chain.
 */
#include <linux/eventfd.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/vhost.h>

#include "kvhost.h"

static unsigned int max_mem_regions = 509;
module_param(max_mem_regions, uint, 0444);
MODULE_PARM_DESC(max_mem_regions,
		 "Most memory regions in VHOST_SET_MEM_TABLE (default: 509, KVM's slot limit)");

/* Caps allocations whatever the parameter says. */
#define KVH_MEM_REGIONS_LIMIT	65536

void kvh_map_free(struct kvr_map *map)
{
	kvfree(map);
}

static int kvh_range_cmp(const void *a, const void *b)
{
	const struct kvr_range *x = a, *y = b;

	if (x->start < y->start)
		return -1;
	return x->start > y->start;
}

/* Check one region from userspace and turn it into a range. */
static int kvh_region_to_range(const struct vhost_memory_region *reg,
			       struct kvr_range *range)
{
	u64 last, ulast;

	if (!reg->memory_size ||
	    check_add_overflow(reg->guest_phys_addr, reg->memory_size - 1,
			       &last))
		return -EINVAL;
	if (check_add_overflow(reg->userspace_addr, reg->memory_size - 1,
			       &ulast) ||
	    reg->userspace_addr != (unsigned long)reg->userspace_addr ||
	    !access_ok((void __user *)(unsigned long)reg->userspace_addr,
		       reg->memory_size))
		return -EFAULT;
	range->start = reg->guest_phys_addr;
	range->last = last;
	range->uaddr = reg->userspace_addr;
	range->perm = KVR_PERM_RW;
	return 0;
}

static struct kvr_map *kvh_map_from_user(struct vhost_memory __user *argp,
					 u32 nregions)
{
	struct vhost_memory_region *regions;
	struct kvr_map *map;
	unsigned int i;
	int ret;

	regions = kvmalloc_array(nregions, sizeof(*regions), GFP_KERNEL_ACCOUNT);
	map = kvzalloc(struct_size(map, r, nregions), GFP_KERNEL_ACCOUNT);
	ret = -ENOMEM;
	if (!regions || !map)
		goto err_free;
	ret = -EFAULT;
	if (copy_from_user(regions, argp->regions,
			   array_size(nregions, sizeof(*regions))))
		goto err_free;
	for (i = 0; i < nregions; i++) {
		ret = kvh_region_to_range(&regions[i], &map->r[i]);
		if (ret)
			goto err_free;
	}
	map->n = nregions;
	sort(map->r, map->n, sizeof(map->r[0]), kvh_range_cmp, NULL);
	/* Overlapping regions would make a translation ambiguous. */
	ret = kvr_map_check(map);
	if (ret)
		goto err_free;
	kvfree(regions);
	return map;

err_free:
	kvfree(regions);
	kvfree(map);
	return ERR_PTR(ret);
}

/**
 * kvh_set_mem_table() - VHOST_SET_MEM_TABLE
 * @dev: the device, with @dev->mutex held
 * @argp: struct vhost_memory and its regions, in userspace
 *
 * Safe while the rings run: the table is swapped under each vq mutex.
 *
 * Return: 0, -EFAULT, -EOPNOTSUPP (padding set), -E2BIG (too many regions),
 * -EINVAL (empty, wrapping or overlapping regions) or -ENOMEM.
 */
long kvh_set_mem_table(struct kvh_dev *dev, void __user *argp)
{
	struct vhost_memory __user *umem = argp;
	struct vhost_memory hdr;
	struct kvr_map *map, *old;
	unsigned int i;

	lockdep_assert_held(&dev->mutex);

	if (copy_from_user(&hdr, umem, sizeof(hdr)))
		return -EFAULT;
	if (hdr.padding)
		return -EOPNOTSUPP;
	if (hdr.nregions > min(max_mem_regions, KVH_MEM_REGIONS_LIMIT))
		return -E2BIG;
	map = kvh_map_from_user(umem, hdr.nregions);
	if (IS_ERR(map))
		return PTR_ERR(map);

	/* While logging everything, the log must cover all of memory. */
	if (kvh_has_feature(dev, VHOST_F_LOG_ALL)) {
		for (i = 0; i < map->n; i++) {
			if (!kvh_log_covers(dev, map->r[i].start,
					    map->r[i].last - map->r[i].start + 1)) {
				kvh_map_free(map);
				return -EFAULT;
			}
		}
	}

	old = dev->map;
	dev->map = map;
	kvh_dev_install_maps(dev);
	kvh_map_free(old);
	return 0;
}

/*
 * The guest-physical address of an owner address, through the memory table.
 * Packed rings write used descriptors into the descriptor ring, so logging
 * them needs the ring's GPA, which SET_VRING_ADDR does not carry.
 */
bool kvh_uaddr_to_gpa(const struct kvr_map *map, kvr_uaddr_t uaddr, u64 *gpa)
{
	unsigned int i;

	for (i = 0; map && i < map->n; i++) {
		const struct kvr_range *r = &map->r[i];

		if (uaddr >= r->uaddr && uaddr - r->uaddr <= r->last - r->start) {
			*gpa = r->start + (uaddr - r->uaddr);
			return true;
		}
	}
	return false;
}

/**
 * kvh_vq_install_maps() - point a queue at the device's current tables
 * @vq: the queue, with its mutex held (or not yet in use)
 *
 * Without a device IOTLB the ring addresses are the owner's and translate
 * through the memory table; with one they are IOVAs, which kvh_vq_ready()
 * translates through the IOTLB before the handler touches the ring, and
 * dirty logging goes IOVA to owner address to guest-physical address.
 */
void kvh_vq_install_maps(struct kvh_vq *vq)
{
	struct kvh_dev *dev = vq->dev;
	const struct vhost_vring_addr *a = &vq->addr;

	vq->log = dev->log;
	vq->ring.log = &vq->log;
	/* IOVAs until translated: kvr_ring_check() sees their alignment. */
	vq->ring.desc = a->desc_user_addr;
	vq->ring.avail = a->avail_user_addr;
	vq->ring.used = a->used_user_addr;
	if (dev->iotlb) {
		vq->ring.map = dev->iotlb->map;
		vq->ring.used_gpa = a->used_user_addr;
		vq->ring.desc_gpa = a->desc_user_addr;
		vq->ring_ready = false;
		/*
		 * Most changes leave the ring mapped: translate it now, so
		 * that completions in flight can still be published.
		 */
		if (vq->addr_set && vq->ring.num)
			kvh_vq_translate_ring(vq, false);
		return;
	}
	vq->ring.map = dev->map;
	vq->ring.used_gpa = a->log_guest_addr;
	if (!kvh_uaddr_to_gpa(dev->map, a->desc_user_addr, &vq->ring.desc_gpa))
		vq->ring.desc_gpa = 0;
	vq->ring_ready = true;
}

/**
 * kvh_dev_install_maps() - install new tables in every queue
 * @dev: the device, with @dev->mutex held, after changing @dev->map or
 *	@dev->iotlb; the old tables may be freed once this returns
 *
 * Each queue switches under its own mutex, so a handler sees the old tables
 * or the new ones, never a mix.
 */
void kvh_dev_install_maps(struct kvh_dev *dev)
{
	unsigned int i;

	lockdep_assert_held(&dev->mutex);
	dev->log.mem = dev->map;
	dev->log.iotlb = dev->iotlb ? dev->iotlb->map : NULL;
	for (i = 0; i < dev->nvqs; i++) {
		struct kvh_vq *vq = dev->vqs[i];

		mutex_lock(&vq->mutex);
		kvh_vq_install_maps(vq);
		mutex_unlock(&vq->mutex);
	}
}
