// SPDX-License-Identifier: GPL-2.0
/*
 * kvhost device core: ownership and feature negotiation.
 *
 * The owner is the process whose address space holds the rings and guest
 * memory: QEMU, or a test that plays both VMM and guest. Upstream's contract,
 * which QEMU and libvirt rely on, is kept exactly:
 *  - VHOST_GET_FEATURES and VHOST_SET_FEATURES need no owner;
 *  - VHOST_SET_OWNER binds the caller's mm, and a second call gets EBUSY;
 *  - every other ioctl, known or not, gets EPERM from a non-owner, so an
 *    unknown ioctl is ENOTTY only for the owner.
 */
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/uaccess.h>
#include <linux/vhost.h>

#include "kvhost.h"

/**
 * kvh_dev_init() - prepare the core state of a freshly opened device
 * @dev: the device, embedded in the backend's per-file state
 * @offered: the feature bits the backend implements
 */
void kvh_dev_init(struct kvh_dev *dev, u64 offered)
{
	mutex_init(&dev->mutex);
	dev->mm = NULL;
	dev->offered = offered;
	dev->acked = 0;
}
EXPORT_SYMBOL_NS_GPL(kvh_dev_init, KVH_NS);

static void kvh_dev_drop_owner(struct kvh_dev *dev)
{
	lockdep_assert_held(&dev->mutex);

	if (dev->mm) {
		mmput(dev->mm);
		dev->mm = NULL;
	}
	dev->acked = 0;
}

/**
 * kvh_dev_cleanup() - release what the core holds, at close
 * @dev: the device
 *
 * The file is going away, so nobody else can reach @dev; the mutex is taken
 * only to keep the lock rules uniform.
 */
void kvh_dev_cleanup(struct kvh_dev *dev)
{
	mutex_lock(&dev->mutex);
	kvh_dev_drop_owner(dev);
	mutex_unlock(&dev->mutex);
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

	lockdep_assert_held(&dev->mutex);

	if (dev->mm)
		return -EBUSY;
	/* Takes a user reference: the owner's pages stay mapped until close. */
	mm = get_task_mm(current);
	if (!mm)
		return -EINVAL;
	dev->mm = mm;
	return 0;
}

static long kvh_dev_set_features(struct kvh_dev *dev, u64 __user *argp)
{
	u64 features;

	lockdep_assert_held(&dev->mutex);

	if (copy_from_user(&features, argp, sizeof(features)))
		return -EFAULT;
	if (features & ~dev->offered)
		return -EOPNOTSUPP;
	dev->acked = features;
	return 0;
}

/**
 * kvh_dev_ioctl() - the generic vhost ioctls
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

	if (ioctl == VHOST_GET_FEATURES)
		return copy_to_user(argp, &dev->offered, sizeof(u64)) ?
		       -EFAULT : 0;

	mutex_lock(&dev->mutex);
	switch (ioctl) {
	case VHOST_SET_FEATURES:
		ret = kvh_dev_set_features(dev, argp);
		break;
	case VHOST_SET_OWNER:
		ret = kvh_dev_set_owner(dev);
		break;
	case VHOST_RESET_OWNER:
		ret = kvh_dev_check_owner(dev);
		if (!ret)
			kvh_dev_drop_owner(dev);
		break;
	default:
		ret = kvh_dev_check_owner(dev);
		if (!ret)
			ret = -ENOIOCTLCMD;
		break;
	}
	mutex_unlock(&dev->mutex);
	return ret;
}
EXPORT_SYMBOL_NS_GPL(kvh_dev_ioctl, KVH_NS);
