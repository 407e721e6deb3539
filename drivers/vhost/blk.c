// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-blk: services a guest's virtio-blk virtqueues from a block device or
 * a regular file, inside the host kernel.
 *
 * Status: device node, ownership and feature query. No request path yet, so
 * no virtio feature is offered and VHOST_BLK_SET_BACKEND is not accepted.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "kvhost.h"

/* Feature bits are added here as the request path implements them. */
#define VHOST_BLK_FEATURES	0ULL

struct vhost_blk {
	struct kvh_dev dev;
};

static int vhost_blk_open(struct inode *inode, struct file *f)
{
	struct vhost_blk *blk;

	blk = kzalloc(sizeof(*blk), GFP_KERNEL_ACCOUNT);
	if (!blk)
		return -ENOMEM;
	kvh_dev_init(&blk->dev, VHOST_BLK_FEATURES);
	f->private_data = blk;
	return 0;
}

static int vhost_blk_release(struct inode *inode, struct file *f)
{
	struct vhost_blk *blk = f->private_data;

	kvh_dev_cleanup(&blk->dev);
	kfree(blk);
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
