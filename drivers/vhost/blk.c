// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-blk: services a guest's virtio-blk virtqueues from a block device or
 * a regular file, inside the host kernel.
 *
 * Status: the device core (ownership, features, memory table, dirty log and
 * vring ioctls) on one queue. No request path yet, so no virtio feature is
 * offered and VHOST_BLK_SET_BACKEND is not accepted.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "kvhost.h"

/* Feature bits are added here as the request path implements them. */
#define VHOST_BLK_FEATURES	0ULL

/* Request queues; the multiqueue layout comes with the request path. */
#define VHOST_BLK_VQ_MAX	1

struct vhost_blk {
	struct kvh_dev dev;
	struct kvh_vq vqs[VHOST_BLK_VQ_MAX];
	struct kvh_vq *vq_ptrs[VHOST_BLK_VQ_MAX];
};

static int vhost_blk_open(struct inode *inode, struct file *f)
{
	struct vhost_blk *blk;
	int i, ret;

	blk = kvzalloc(sizeof(*blk), GFP_KERNEL_ACCOUNT);
	if (!blk)
		return -ENOMEM;
	for (i = 0; i < VHOST_BLK_VQ_MAX; i++)
		blk->vq_ptrs[i] = &blk->vqs[i];
	/* A worker per queue: block requests scale with queues. */
	ret = kvh_dev_init(&blk->dev, "blk", blk->vq_ptrs, VHOST_BLK_VQ_MAX,
			   VHOST_BLK_VQ_MAX, VHOST_BLK_FEATURES);
	if (ret)
		goto err_free;
	for (i = 0; i < VHOST_BLK_VQ_MAX; i++) {
		/* No kick handler until the request path lands. */
		ret = kvh_vq_init(&blk->vqs[i], &blk->dev, NULL);
		if (ret)
			goto err_vqs;
	}
	f->private_data = blk;
	return 0;

err_vqs:
	while (i--)
		kvh_vq_free(&blk->vqs[i]);
err_free:
	kvfree(blk);
	return ret;
}

static int vhost_blk_release(struct inode *inode, struct file *f)
{
	struct vhost_blk *blk = f->private_data;

	kvh_dev_cleanup(&blk->dev);
	kvfree(blk);
	return 0;
}

static long vhost_blk_ioctl(struct file *f, unsigned int ioctl,
			    unsigned long arg)
{
	struct vhost_blk *blk = f->private_data;

	return kvh_dev_ioctl(&blk->dev, ioctl, (void __user *)arg);
}

static const struct file_operations vhost_blk_fops = {
	.owner		= THIS_MODULE,
	.open		= vhost_blk_open,
	.release	= vhost_blk_release,
	.unlocked_ioctl	= vhost_blk_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

/* No static minor exists for vhost-blk, so udev names the node. */
static struct miscdevice vhost_blk_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "vhost-blk",
	.fops	= &vhost_blk_fops,
};

module_misc_device(vhost_blk_misc);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The kvhost developers");
MODULE_DESCRIPTION("kvhost: in-kernel virtio-blk backend for block devices and files");
MODULE_IMPORT_NS(KVH_NS);
