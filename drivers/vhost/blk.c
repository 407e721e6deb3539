// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-blk: services a guest's virtio-blk virtqueues from a block device or
 * a regular file, inside the host kernel.
 *
 * This file is the character device: open and release, the vhost-blk
 * ioctls, and attaching and detaching backing files. The request path is
 * in blk_req.c, the backend operations in blk_backend.c.
 *
 * Each of the VHOST_BLK_MAX_QUEUES queues has its own worker and its own
 * backing file reference; a VMM attaches the same file to every queue it
 * uses. Detaching a queue, and GET_VRING_BASE, first wait for every request
 * the queue has in flight, so that no acknowledged write is lost and the
 * ring state the VMM reads (for a migration) is exact.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "blk.h"

#define VHOST_BLK_FEATURES						\
	(BIT_ULL(VIRTIO_F_VERSION_1) | BIT_ULL(VIRTIO_F_RING_PACKED) |	\
	 BIT_ULL(VIRTIO_F_RING_RESET) | BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) |	\
	 BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) |				\
	 BIT_ULL(VIRTIO_RING_F_EVENT_IDX) |				\
	 BIT_ULL(VIRTIO_F_NOTIFY_ON_EMPTY) | BIT_ULL(VHOST_F_LOG_ALL) |	\
	 BIT_ULL(VIRTIO_BLK_F_SIZE_MAX) | BIT_ULL(VIRTIO_BLK_F_SEG_MAX) |	\
	 BIT_ULL(VIRTIO_BLK_F_RO) | BIT_ULL(VIRTIO_BLK_F_BLK_SIZE) |	\
	 BIT_ULL(VIRTIO_BLK_F_FLUSH) | BIT_ULL(VIRTIO_BLK_F_TOPOLOGY) |	\
	 BIT_ULL(VIRTIO_BLK_F_MQ) | BIT_ULL(VIRTIO_BLK_F_DISCARD) |	\
	 BIT_ULL(VIRTIO_BLK_F_WRITE_ZEROES) |				\
	 BIT_ULL(VIRTIO_BLK_F_SECURE_ERASE))

/*
 * Wait until the queue has nothing in flight and its last completions are
 * published. The caller has stopped or paused the queue, so nothing new
 * starts; it holds the device mutex but not the queue's.
 */
static void vhost_blk_drain(struct vhost_blk_queue *bq)
{
	struct kvh_worker *worker = bq->vq.worker;

	if (!worker)
		return;
	/* A run in progress may still be starting requests. */
	kvh_worker_flush(worker);
	wait_event(bq->drained, !READ_ONCE(bq->inflight));
	/* The run that finished the last one may not have published it yet. */
	kvh_worker_flush(worker);
}

static void vhost_blk_free_pool(struct vhost_blk_queue *bq)
{
	kvfree(bq->reqs);
	kfree(bq->free);
	kfree(bq->used);
	bq->reqs = NULL;
	bq->free = NULL;
	bq->used = NULL;
	bq->depth = 0;
	bq->nfree = 0;
	bq->nused = 0;
}

static int vhost_blk_alloc_pool(struct vhost_blk_queue *bq)
{
	unsigned int depth = min(bq->vq.ring.num, VHOST_BLK_MAX_DEPTH);
	unsigned int i;

	if (!depth)
		return -EINVAL;
	bq->reqs = kvcalloc(depth, sizeof(*bq->reqs), GFP_KERNEL_ACCOUNT);
	bq->free = kcalloc(depth, sizeof(*bq->free), GFP_KERNEL_ACCOUNT);
	bq->used = kcalloc(depth, sizeof(*bq->used), GFP_KERNEL_ACCOUNT);
	if (!bq->reqs || !bq->free || !bq->used) {
		vhost_blk_free_pool(bq);
		return -ENOMEM;
	}
	for (i = 0; i < depth; i++)
		bq->free[i] = i;
	bq->depth = depth;
	bq->nfree = depth;
	return 0;
}

/*
 * Stop the queue, wait for its requests and drop its pool. Returns the
 * backing file, whose reference passes to the caller. Device mutex held.
 */
static struct file *vhost_blk_detach(struct vhost_blk_queue *bq)
{
	struct kvh_vq *vq = &bq->vq;
	struct file *file;

	lockdep_assert_held(&vq->dev->mutex);
	mutex_lock(&vq->mutex);
	file = kvh_vq_stop(vq);
	bq->file = NULL;
	mutex_unlock(&vq->mutex);
	if (!file)
		return NULL;
	vhost_blk_drain(bq);
	mutex_lock(&vq->mutex);
	vhost_blk_free_pool(bq);
	bq->starved = false;
	mutex_unlock(&vq->mutex);
	return file;
}

/* Can @file back a queue? Fills @cfg on success. */
static int vhost_blk_check_file(struct file *file, struct vhost_blk_config *cfg)
{
	int ret;

	ret = vhost_blk_describe(file, cfg);
	if (ret)
		return ret;
	/* An append-only file would write every request at its end. */
	if (!(file->f_mode & FMODE_READ) || !file->f_op->read_iter ||
	    (file->f_flags & O_APPEND))
		return -EINVAL;
	if ((file->f_mode & FMODE_WRITE) && !file->f_op->write_iter)
		return -EINVAL;
	return 0;
}

static int vhost_blk_attach(struct vhost_blk_queue *bq, struct file *file)
{
	struct kvh_vq *vq = &bq->vq;
	struct vhost_blk_config cfg = { .fd = -1 };
	int ret;

	ret = vhost_blk_check_file(file, &cfg);
	if (ret)
		return ret;

	mutex_lock(&vq->mutex);
	ret = vhost_blk_alloc_pool(bq);
	if (ret)
		goto out_unlock;
	bq->capacity = cfg.capacity;
	bq->read_only = cfg.features & BIT_ULL(VIRTIO_BLK_F_RO);
	bq->wz_may_unmap = cfg.flags & VHOST_BLK_CONFIG_F_WZ_MAY_UNMAP;
	bq->bdev = cfg.flags & VHOST_BLK_CONFIG_F_BDEV;
	bq->starved = false;
	bq->paused = false;
	bq->file = file;
	ret = kvh_vq_start(vq, file);
	if (ret) {
		bq->file = NULL;
		vhost_blk_free_pool(bq);
	}
out_unlock:
	mutex_unlock(&vq->mutex);
	return ret;
}

static long vhost_blk_set_backend(struct vhost_blk *blk, unsigned int index,
				  int fd)
{
	struct vhost_blk_queue *bq;
	struct file *file = NULL;
	long ret;

	mutex_lock(&blk->dev.mutex);
	ret = kvh_dev_check_owner(&blk->dev);
	if (ret)
		goto out_unlock;
	if (index >= VHOST_BLK_MAX_QUEUES) {
		ret = -ENOBUFS;
		goto out_unlock;
	}
	index = array_index_nospec(index, VHOST_BLK_MAX_QUEUES);
	bq = &blk->queues[index];

	if (fd == VHOST_FILE_UNBIND) {
		file = vhost_blk_detach(bq);
		goto out_fput;
	}
	file = fget(fd);
	if (!file) {
		ret = -EBADF;
		goto out_unlock;
	}
	/* bq->file changes only under the device mutex, which we hold. */
	if (bq->file) {
		ret = bq->file == file ? 0 : -EBUSY;
		goto out_fput;
	}
	ret = vhost_blk_attach(bq, file);
	if (!ret)
		file = NULL;	/* the queue holds the reference now */
out_fput:
	if (file)
		fput(file);
out_unlock:
	mutex_unlock(&blk->dev.mutex);
	return ret;
}

/* dev->stop_backends: detach every queue, with the device mutex held. */
static void vhost_blk_stop_backends(struct kvh_dev *dev)
{
	struct vhost_blk *blk = container_of(dev, struct vhost_blk, dev);
	struct file *file;
	int i;

	lockdep_assert_held(&dev->mutex);
	for (i = 0; i < VHOST_BLK_MAX_QUEUES; i++) {
		file = vhost_blk_detach(&blk->queues[i]);
		if (file)
			fput(file);
	}
}

/* dev->pause_vq: GET_VRING_BASE reports no request as in flight. */
static void vhost_blk_pause_vq(struct kvh_vq *vq, bool pause)
{
	struct vhost_blk_queue *bq = container_of(vq, struct vhost_blk_queue,
						  vq);

	mutex_lock(&vq->mutex);
	bq->paused = pause;
	/* Resume whatever arrived while paused. */
	if (!pause && bq->file)
		kvh_poll_queue(&vq->poll);
	mutex_unlock(&vq->mutex);
	if (pause)
		vhost_blk_drain(bq);
}

static long vhost_blk_get_config(void __user *argp)
{
	struct vhost_blk_config cfg;
	struct fd f;
	int ret;

	if (copy_from_user(&cfg, argp, sizeof(cfg)))
		return -EFAULT;
	f = fdget(cfg.fd);
	if (!f.file)
		return -EBADF;
	ret = vhost_blk_check_file(f.file, &cfg);
	fdput(f);
	if (ret)
		return ret;
	return copy_to_user(argp, &cfg, sizeof(cfg)) ? -EFAULT : 0;
}

static long vhost_blk_set_serial(struct vhost_blk *blk, void __user *argp)
{
	struct vhost_blk_serial serial;
	struct kvh_vq *vq;
	long ret;
	int i;

	if (copy_from_user(&serial, argp, sizeof(serial)))
		return -EFAULT;
	mutex_lock(&blk->dev.mutex);
	ret = kvh_dev_check_owner(&blk->dev);
	if (ret)
		goto out;
	memcpy(blk->serial, serial.id, sizeof(blk->serial));
	/* Each queue answers GET_ID from its own copy, under its own lock. */
	for (i = 0; i < VHOST_BLK_MAX_QUEUES; i++) {
		vq = &blk->queues[i].vq;
		mutex_lock(&vq->mutex);
		memcpy(blk->queues[i].serial, serial.id, sizeof(serial.id));
		mutex_unlock(&vq->mutex);
	}
out:
	mutex_unlock(&blk->dev.mutex);
	return ret;
}

static int vhost_blk_open(struct inode *inode, struct file *f)
{
	struct vhost_blk_queue *bq;
	struct vhost_blk *blk;
	int i, ret;

	blk = kvzalloc(sizeof(*blk), GFP_KERNEL_ACCOUNT);
	if (!blk)
		return -ENOMEM;
	for (i = 0; i < VHOST_BLK_MAX_QUEUES; i++)
		blk->vq_ptrs[i] = &blk->queues[i].vq;
	/* A worker per queue: block requests scale with queues. */
	ret = kvh_dev_init(&blk->dev, "blk", blk->vq_ptrs, VHOST_BLK_MAX_QUEUES,
			   VHOST_BLK_MAX_QUEUES, VHOST_BLK_FEATURES);
	if (ret)
		goto err_free;
	blk->dev.stop_backends = vhost_blk_stop_backends;
	blk->dev.pause_vq = vhost_blk_pause_vq;
	for (i = 0; i < VHOST_BLK_MAX_QUEUES; i++) {
		bq = &blk->queues[i];
		ret = kvh_vq_init(&bq->vq, &blk->dev, vhost_blk_handle_kick);
		if (ret)
			goto err_vqs;
		init_llist_head(&bq->done);
		kvh_work_init(&bq->done_work, vhost_blk_handle_done);
		init_waitqueue_head(&bq->drained);
	}
	f->private_data = blk;
	return 0;

err_vqs:
	while (i--)
		kvh_vq_free(&blk->queues[i].vq);
err_free:
	kvfree(blk);
	return ret;
}

static int vhost_blk_release(struct inode *inode, struct file *f)
{
	struct vhost_blk *blk = f->private_data;

	/* Drains and detaches every queue through vhost_blk_stop_backends(). */
	kvh_dev_cleanup(&blk->dev);
	kvfree(blk);
	return 0;
}

static long vhost_blk_ioctl(struct file *f, unsigned int ioctl,
			    unsigned long arg)
{
	struct vhost_blk *blk = f->private_data;
	void __user *argp = (void __user *)arg;
	struct vhost_vring_file backend;

	switch (ioctl) {
	case VHOST_BLK_SET_BACKEND:
		if (copy_from_user(&backend, argp, sizeof(backend)))
			return -EFAULT;
		return vhost_blk_set_backend(blk, backend.index, backend.fd);
	case VHOST_BLK_GET_CONFIG:
		return vhost_blk_get_config(argp);
	case VHOST_BLK_SET_SERIAL:
		return vhost_blk_set_serial(blk, argp);
	default:
		return kvh_dev_ioctl(&blk->dev, ioctl, argp);
	}
}

/* Device IOTLB messages (VIRTIO_F_ACCESS_PLATFORM), as for vhost-net. */
static ssize_t vhost_blk_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct file *f = iocb->ki_filp;
	struct vhost_blk *blk = f->private_data;

	return kvh_dev_read_iter(&blk->dev, to, f->f_flags & O_NONBLOCK);
}

static ssize_t vhost_blk_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct vhost_blk *blk = iocb->ki_filp->private_data;

	return kvh_dev_write_iter(&blk->dev, from);
}

static __poll_t vhost_blk_poll(struct file *f, poll_table *wait)
{
	struct vhost_blk *blk = f->private_data;

	return kvh_dev_poll(&blk->dev, f, wait);
}

static const struct file_operations vhost_blk_fops = {
	.owner		= THIS_MODULE,
	.open		= vhost_blk_open,
	.release	= vhost_blk_release,
	.read_iter	= vhost_blk_read_iter,
	.write_iter	= vhost_blk_write_iter,
	.poll		= vhost_blk_poll,
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
