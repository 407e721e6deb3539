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

	for (i = 0; i < dev->nvqs; i++) {
		struct kvh_vq *vq = dev->vqs[i];

		mutex_lock(&vq->mutex);
		vq->ring.map = map;
		mutex_unlock(&vq->mutex);
	}
	old = dev->map;
	dev->map = map;
	kvh_map_free(old);
	return 0;
}
