/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvhost device core: the state every vhost character device shares, and the
 * generic ioctls (owner, features). Backends (vhost-net, vhost-blk) embed a
 * struct kvh_dev, hand it their offered features, and pass every ioctl they do
 * not handle themselves to kvh_dev_ioctl().
 */
#ifndef KVHOST_KVHOST_H
#define KVHOST_KVHOST_H

#include <linux/mutex.h>
#include <linux/types.h>

struct mm_struct;

/**
 * struct kvh_dev - one open vhost device file
 * @mutex: serialises ownership changes and every configuration ioctl.
 * @mm: the owner's address space, or NULL while the device has no owner.
 *	Written under @mutex. The owner check compares it with current->mm and
 *	so reads it under @mutex too.
 * @offered: the virtio and vhost feature bits this backend implements.
 *	Constant after kvh_dev_init().
 * @acked: the feature bits the VMM set with VHOST_SET_FEATURES, always a
 *	subset of @offered. Protected by @mutex.
 */
struct kvh_dev {
	struct mutex mutex;		/* the device's configuration lock */
	struct mm_struct *mm;		/* protected by @mutex */
	u64 offered;			/* constant */
	u64 acked;			/* protected by @mutex */
};

void kvh_dev_init(struct kvh_dev *dev, u64 offered);
void kvh_dev_cleanup(struct kvh_dev *dev);
int kvh_dev_check_owner(struct kvh_dev *dev);
long kvh_dev_ioctl(struct kvh_dev *dev, unsigned int ioctl, void __user *argp);

#endif /* KVHOST_KVHOST_H */
