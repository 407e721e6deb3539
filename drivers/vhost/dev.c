// SPDX-License-Identifier: GPL-2.0
/*
 * kvhost device core: ownership, features and the device-wide ioctls.
 *
 * The owner is the process whose address space holds the rings and guest
 * memory: QEMU, or a test that plays both VMM and guest. Upstream's contract,
 * which QEMU and libvirt rely on, is kept exactly:
 *  - VHOST_GET_FEATURES, VHOST_SET_FEATURES and the backend-feature ioctls
 *    need no owner;
 *  - VHOST_SET_OWNER binds the caller's mm and starts the workers; a second
 *    call gets EBUSY;
 *  - every other ioctl, known or not, gets EPERM from a non-owner, so an
 *    unknown ioctl is ENOTTY only for the owner;
 *  - a vring ioctl for a queue the device does not have gets ENOBUFS.
 */
#include <linux/eventfd.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vhost.h>

#include "kvhost.h"

/* Backend features we implement: the v2 IOTLB message framing. */
#define KVH_BACKEND_FEATURES	BIT_ULL(VHOST_BACKEND_F_IOTLB_MSG_V2)

/**
 * kvh_dev_init() - prepare the core state of a freshly opened device
 * @dev: the device, embedded in the backend's per-file state
 * @name: the backend's short name, for debugfs
 * @vqs: the backend's virtqueues
 * @nvqs: how many
 * @nworkers: workers to create at SET_OWNER; queue i is served by worker
 *	i % @nworkers
 * @offered: the feature bits the backend implements
 *
 * The caller initialises each queue with kvh_vq_init() afterwards.
 *
 * Return: 0 or -EINVAL.
 */
int kvh_dev_init(struct kvh_dev *dev, const char *name, struct kvh_vq **vqs,
		 unsigned int nvqs, unsigned int nworkers, u64 offered)
{
	if (!nworkers || nworkers > max(nvqs, 1U))
		return -EINVAL;
	mutex_init(&dev->mutex);
	dev->mm = NULL;
	dev->offered = offered;
	dev->acked = 0;
	dev->backend_features = 0;
	dev->vqs = vqs;
	dev->nvqs = nvqs;
	dev->nworkers = nworkers;
	dev->workers = NULL;
	dev->map = NULL;
	kvh_iotlb_init(dev);
	memset(&dev->log, 0, sizeof(dev->log));
	dev->log_set = false;
	dev->stop_backends = NULL;
	dev->pause_vq = NULL;
	dev->name = name;
	dev->owner_pid = 0;
	dev->debugfs = NULL;
	return 0;
}
EXPORT_SYMBOL_NS_GPL(kvh_dev_init, KVH_NS);

/*
 * Stop everything the owner set up and drop the owner: backends, workers,
 * queue configuration, the memory table and the log. The device is then as
 * freshly opened and may get a new owner.
 */
static void kvh_dev_drop_owner(struct kvh_dev *dev)
{
	unsigned int i;

	lockdep_assert_held(&dev->mutex);

	if (dev->stop_backends)
		dev->stop_backends(dev);
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		WARN_ON_ONCE(dev->vqs[i]->backend);
		kvh_poll_stop(&dev->vqs[i]->poll);
		mutex_unlock(&dev->vqs[i]->mutex);
	}
	/* Drops the misses, which name queues and their workers. */
	kvh_iotlb_enable(dev, false);
	kvh_stats_remove(dev);
	/* Runs whatever is still queued, then the threads exit. */
	kvh_workers_stop(dev);
	kvh_map_free(dev->map);
	dev->map = NULL;
	dev->log.mem = NULL;
	if (dev->log.ctx)
		eventfd_ctx_put(dev->log.ctx);
	dev->log.ctx = NULL;
	dev->log.base = 0;
	dev->log_set = false;
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		kvh_vq_reset(dev->vqs[i]);
		mutex_unlock(&dev->vqs[i]->mutex);
	}
	if (dev->mm) {
		mmput(dev->mm);
		dev->mm = NULL;
	}
	dev->acked = 0;
	dev->backend_features = 0;
	dev->owner_pid = 0;
}

/**
 * kvh_dev_reset_owner() - VHOST_RESET_OWNER for a backend that handles it
 * @dev: the device, with @dev->mutex held
 */
void kvh_dev_reset_owner(struct kvh_dev *dev)
{
	kvh_dev_drop_owner(dev);
}
EXPORT_SYMBOL_NS_GPL(kvh_dev_reset_owner, KVH_NS);

/**
 * kvh_dev_cleanup() - release everything, at close
 * @dev: the device
 *
 * The file is going away, so no ioctl can race with us; the mutex is taken
 * for the lock rules of the functions we call.
 */
void kvh_dev_cleanup(struct kvh_dev *dev)
{
	unsigned int i;

	mutex_lock(&dev->mutex);
	kvh_dev_drop_owner(dev);
	mutex_unlock(&dev->mutex);
	for (i = 0; i < dev->nvqs; i++)
		kvh_vq_free(dev->vqs[i]);
	mutex_destroy(&dev->mutex);
}
EXPORT_SYMBOL_NS_GPL(kvh_dev_cleanup, KVH_NS);

/**
 * kvh_dev_check_owner() - is the caller the device's owner?
 * @dev: the device, with @dev->mutex held
 *
 * Return: 0 for the owner, -EPERM for anyone else, including everyone while
 * the device has no owner.
 */
int kvh_dev_check_owner(struct kvh_dev *dev)
{
	lockdep_assert_held(&dev->mutex);

	return dev->mm && dev->mm == current->mm ? 0 : -EPERM;
}
EXPORT_SYMBOL_NS_GPL(kvh_dev_check_owner, KVH_NS);

static long kvh_dev_set_owner(struct kvh_dev *dev)
{
	struct mm_struct *mm;
	unsigned int i;
	int ret;

	lockdep_assert_held(&dev->mutex);

	if (dev->mm)
		return -EBUSY;
	/* A user reference: the owner's pages stay mapped until we drop it. */
	mm = get_task_mm(current);
	if (!mm)
		return -EINVAL;
	dev->mm = mm;
	ret = kvh_workers_start(dev);
	if (ret) {
		dev->mm = NULL;
		mmput(mm);
		return ret;
	}
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		dev->vqs[i]->worker = &dev->workers[i % dev->nworkers];
		dev->vqs[i]->poll.worker = dev->vqs[i]->worker;
		mutex_unlock(&dev->vqs[i]->mutex);
	}
	dev->owner_pid = task_tgid_nr(current);
	kvh_stats_add(dev);
	return 0;
}

static long kvh_dev_set_features(struct kvh_dev *dev, u64 __user *argp)
{
	unsigned int i;
	u64 features;
	int ret;

	lockdep_assert_held(&dev->mutex);

	if (copy_from_user(&features, argp, sizeof(features)))
		return -EFAULT;
	if (features & ~dev->offered)
		return -EOPNOTSUPP;
	/* Logging everything needs a log that covers all of memory. */
	if ((features & BIT_ULL(VHOST_F_LOG_ALL)) && dev->map) {
		for (i = 0; i < dev->map->n; i++) {
			const struct kvr_range *r = &dev->map->r[i];

			if (!dev->log_set ||
			    !kvh_log_covers(dev, r->start, r->last - r->start + 1))
				return -EFAULT;
		}
	}
	/* Behind a vIOMMU every ring address is an IOVA. */
	ret = kvh_iotlb_enable(dev, features & BIT_ULL(VIRTIO_F_ACCESS_PLATFORM));
	if (ret)
		return ret;
	dev->acked = features;
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		kvh_vq_apply_features(dev->vqs[i]);
		mutex_unlock(&dev->vqs[i]->mutex);
	}
	return 0;
}

static long kvh_dev_backend_features(struct kvh_dev *dev, unsigned int ioctl,
				     u64 __user *argp)
{
	u64 features = KVH_BACKEND_FEATURES;

	if (ioctl == VHOST_GET_BACKEND_FEATURES)
		return copy_to_user(argp, &features, sizeof(features)) ?
		       -EFAULT : 0;
	if (copy_from_user(&features, argp, sizeof(features)))
		return -EFAULT;
	if (features & ~KVH_BACKEND_FEATURES)
		return -EOPNOTSUPP;
	mutex_lock(&dev->mutex);
	dev->backend_features = features;
	mutex_unlock(&dev->mutex);
	return 0;
}

/**
 * kvh_dev_ioctl() - the generic vhost ioctls, device-wide and per queue
 * @dev: the device
 * @ioctl: the command
 * @argp: its user argument
 *
 * Return: 0 or a negative errno; -ENOIOCTLCMD (seen by userspace as ENOTTY)
 * for a command the core does not know, issued by the owner.
 */
long kvh_dev_ioctl(struct kvh_dev *dev, unsigned int ioctl, void __user *argp)
{
	long ret;

	switch (ioctl) {
	case VHOST_GET_FEATURES:
		return copy_to_user(argp, &dev->offered, sizeof(u64)) ?
		       -EFAULT : 0;
	case VHOST_GET_BACKEND_FEATURES:
	case VHOST_SET_BACKEND_FEATURES:
		return kvh_dev_backend_features(dev, ioctl, argp);
	}

	mutex_lock(&dev->mutex);
	if (ioctl == VHOST_SET_FEATURES) {
		ret = kvh_dev_set_features(dev, argp);
		goto out;
	}
	if (ioctl == VHOST_SET_OWNER) {
		ret = kvh_dev_set_owner(dev);
		goto out;
	}
	ret = kvh_dev_check_owner(dev);
	if (ret)
		goto out;
	switch (ioctl) {
	case VHOST_RESET_OWNER:
		kvh_dev_drop_owner(dev);
		break;
	case VHOST_SET_MEM_TABLE:
		ret = kvh_set_mem_table(dev, argp);
		break;
	case VHOST_SET_LOG_BASE:
		ret = kvh_set_log_base(dev, argp);
		break;
	case VHOST_SET_LOG_FD:
		ret = kvh_set_log_fd(dev, argp);
		break;
	default:
		ret = kvh_vring_ioctl(dev, ioctl, argp);
		break;
	}
out:
	mutex_unlock(&dev->mutex);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(kvh_dev_ioctl, KVH_NS);
