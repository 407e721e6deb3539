// SPDX-License-Identifier: GPL-2.0
/*
 * kvhost statistics in debugfs, for admins:
 *
 *   /sys/kernel/debug/kvhost/<device>-<owner pid>-<n>/stats
 *
 * One directory per owned device file. It names the owner and the worker
 * threads (their TIDs, to pin them with taskset), and counts per queue the
 * kicks, guest notifications, chains and bytes serviced, ring errors
 * with the reason for the last one, and device IOTLB misses. Counters are read without the queue
 * lock, so a line may mix values from two moments; each value is exact.
 */
#include <linux/atomic.h>
#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/seq_file.h>

#include "kvhost.h"

static struct dentry *kvh_debugfs_root;
static atomic_t kvh_debugfs_seq = ATOMIC_INIT(0);

static int kvh_stats_show(struct seq_file *m, void *unused)
{
	struct kvh_dev *dev = m->private;
	unsigned int i;

	seq_printf(m, "device: %s\n", dev->name);
	seq_printf(m, "owner: %d\n", dev->owner_pid);
	seq_printf(m, "features: 0x%llx\n", READ_ONCE(dev->acked));
	seq_puts(m, "workers:");
	for (i = 0; i < dev->nworkers; i++)
		seq_printf(m, " %d", task_pid_nr(dev->workers[i].task));
	seq_putc(m, '\n');
	for (i = 0; i < dev->nvqs; i++) {
		const struct kvh_vq *vq = dev->vqs[i];

		seq_printf(m, "vq%u: kicks %llu calls %llu chains %llu bytes %llu errors %llu last_error %s iotlb_misses %llu\n",
			   i, READ_ONCE(vq->poll.wakeups),
			   READ_ONCE(vq->stats.calls),
			   READ_ONCE(vq->stats.chains),
			   READ_ONCE(vq->stats.bytes),
			   READ_ONCE(vq->stats.errors),
			   kvr_error_name(READ_ONCE(vq->stats.last_error)),
			   READ_ONCE(vq->stats.misses));
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(kvh_stats);

/**
 * kvh_stats_add() - publish a device's statistics, once it has an owner
 * @dev: the device, with @dev->mutex held and its workers running
 *
 * Failure is not fatal: the device works without its debugfs view.
 */
void kvh_stats_add(struct kvh_dev *dev)
{
	char name[48];

	lockdep_assert_held(&dev->mutex);
	if (!kvh_debugfs_root)
		return;
	snprintf(name, sizeof(name), "%s-%d-%d", dev->name, dev->owner_pid,
		 atomic_inc_return(&kvh_debugfs_seq));
	dev->debugfs = debugfs_create_dir(name, kvh_debugfs_root);
	debugfs_create_file("stats", 0400, dev->debugfs, dev, &kvh_stats_fops);
}

/**
 * kvh_stats_remove() - withdraw the statistics before the owner goes
 * @dev: the device, with @dev->mutex held
 *
 * Waits for readers, so the workers may be freed afterwards.
 */
void kvh_stats_remove(struct kvh_dev *dev)
{
	lockdep_assert_held(&dev->mutex);
	debugfs_remove(dev->debugfs);
	dev->debugfs = NULL;
}

void kvh_stats_init(void)
{
	kvh_debugfs_root = debugfs_create_dir("kvhost", NULL);
	if (IS_ERR(kvh_debugfs_root))
		kvh_debugfs_root = NULL;
}

void kvh_stats_exit(void)
{
	debugfs_remove(kvh_debugfs_root);
}
