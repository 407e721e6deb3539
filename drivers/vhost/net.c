// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-net: services a guest's virtio-net virtqueues from a tap or macvtap
 * queue, inside the host kernel.
 *
 * This module takes the in-tree name, misc minor and devname alias, so that
 * installed under updates/ it replaces the in-tree vhost_net for QEMU and
 * libvirt without any change on their side.
 *
 * Status: the device core (ownership, features, memory table, dirty log and
 * vring ioctls) on an RX and a TX queue. No data path yet, so no virtio
 * feature is offered and VHOST_NET_SET_BACKEND is not accepted.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/slab.h>

#include "kvhost.h"

/* Feature bits are added here as the data path implements them. */
#define VHOST_NET_FEATURES	0ULL

/* Queue indices fixed by the uAPI: one vhost-net device is one queue pair. */
enum {
	VHOST_NET_VQ_RX = 0,
	VHOST_NET_VQ_TX = 1,
	VHOST_NET_VQ_MAX = 2,
};

struct vhost_net {
	struct kvh_dev dev;
	struct kvh_vq vqs[VHOST_NET_VQ_MAX];
	struct kvh_vq *vq_ptrs[VHOST_NET_VQ_MAX];
};

static int vhost_net_open(struct inode *inode, struct file *f)
{
	struct vhost_net *n;
	int i, ret;

	n = kvzalloc(sizeof(*n), GFP_KERNEL_ACCOUNT);
	if (!n)
		return -ENOMEM;
	for (i = 0; i < VHOST_NET_VQ_MAX; i++)
		n->vq_ptrs[i] = &n->vqs[i];
	/* One worker serves the pair, as in-tree; multiqueue is N devices. */
	ret = kvh_dev_init(&n->dev, "net", n->vq_ptrs, VHOST_NET_VQ_MAX, 1,
			   VHOST_NET_FEATURES);
	if (ret)
		goto err_free;
	for (i = 0; i < VHOST_NET_VQ_MAX; i++) {
		/* No kick handler until the data path lands. */
		ret = kvh_vq_init(&n->vqs[i], &n->dev, NULL);
		if (ret)
			goto err_vqs;
	}
	f->private_data = n;
	return 0;

err_vqs:
	while (i--)
		kvh_vq_free(&n->vqs[i]);
err_free:
	kvfree(n);
	return ret;
}

static int vhost_net_release(struct inode *inode, struct file *f)
{
	struct vhost_net *n = f->private_data;

	kvh_dev_cleanup(&n->dev);
	kvfree(n);
	return 0;
}

static long vhost_net_ioctl(struct file *f, unsigned int ioctl,
			    unsigned long arg)
{
	struct vhost_net *n = f->private_data;

	return kvh_dev_ioctl(&n->dev, ioctl, (void __user *)arg);
}

static const struct file_operations vhost_net_fops = {
	.owner		= THIS_MODULE,
	.open		= vhost_net_open,
	.release	= vhost_net_release,
	.unlocked_ioctl	= vhost_net_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice vhost_net_misc = {
	.minor	= VHOST_NET_MINOR,
	.name	= "vhost-net",
	.fops	= &vhost_net_fops,
};

module_misc_device(vhost_net_misc);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The kvhost developers");
MODULE_DESCRIPTION("kvhost: in-kernel virtio-net backend for tap and macvtap");
MODULE_ALIAS_MISCDEV(VHOST_NET_MINOR);
MODULE_ALIAS("devname:vhost-net");
MODULE_IMPORT_NS(KVH_NS);
