// SPDX-License-Identifier: GPL-2.0
/*
 * kvhost workers: kernel threads that service virtqueues in the owner's
 * address space, and the wait-queue glue that wakes them.
 *
 * A worker is created at SET_OWNER, adopts the owner's mm and joins its
 * cgroups, so the CPU time it spends is the VM's. It is named
 * vhost-<owner pid> (the in-tree convention that admins and tools look for),
 * with a -<n> suffix for every worker after the first; "ps -eLo pid,comm |
 * grep vhost-<pid>" finds them, and taskset pins them.
 *
 * Work is queued on a lock-free list; a work item is on it at most once
 * (KVH_WORK_QUEUED), so a storm of kicks costs one handler run.
 */
#include <linux/cgroup.h>
#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "kvhost.h"
#include "core_trace.h"

/**
 * kvh_work_init() - prepare a work item
 * @work: the item
 * @fn: what it runs, in the worker
 */
void kvh_work_init(struct kvh_work *work, kvh_work_fn_t fn)
{
	clear_bit(KVH_WORK_QUEUED, &work->flags);
	work->fn = fn;
}
EXPORT_SYMBOL_NS_GPL(kvh_work_init, KVH_NS);

/**
 * kvh_work_queue() - have a worker run @work soon
 * @worker: the worker
 * @work: the item; queued again only after it started running
 *
 * Return: false if @work was already queued.
 */
bool kvh_work_queue(struct kvh_worker *worker, struct kvh_work *work)
{
	if (test_and_set_bit(KVH_WORK_QUEUED, &work->flags))
		return false;
	/* llist_add() orders the flag before the node is visible. */
	llist_add(&work->node, &worker->work_list);
	wake_up_process(worker->task);
	return true;
}
EXPORT_SYMBOL_NS_GPL(kvh_work_queue, KVH_NS);

/**
 * kvh_worker_has_work() - is anything waiting for this worker?
 * @worker: the worker
 *
 * Busy-polling loops use it to yield to other queued work.
 */
bool kvh_worker_has_work(struct kvh_worker *worker)
{
	return !llist_empty(&worker->work_list);
}
EXPORT_SYMBOL_NS_GPL(kvh_worker_has_work, KVH_NS);

struct kvh_flush {
	struct kvh_work work;
	struct completion done;
};

static void kvh_flush_fn(struct kvh_work *work)
{
	struct kvh_flush *flush = container_of(work, struct kvh_flush, work);

	complete(&flush->done);
}

/**
 * kvh_worker_flush() - wait until everything queued so far has run
 * @worker: the worker
 *
 * Work runs in queue order, so a marker queued now completes after all
 * earlier work.
 */
void kvh_worker_flush(struct kvh_worker *worker)
{
	struct kvh_flush flush;

	init_completion(&flush.done);
	kvh_work_init(&flush.work, kvh_flush_fn);
	kvh_work_queue(worker, &flush.work);
	wait_for_completion(&flush.done);
}
EXPORT_SYMBOL_NS_GPL(kvh_worker_flush, KVH_NS);

/**
 * kvh_dev_flush() - flush every worker of the device
 * @dev: the device, with @dev->mutex held
 */
void kvh_dev_flush(struct kvh_dev *dev)
{
	unsigned int i;

	lockdep_assert_held(&dev->mutex);
	if (!dev->workers)
		return;
	for (i = 0; i < dev->nworkers; i++)
		kvh_worker_flush(&dev->workers[i]);
}
EXPORT_SYMBOL_NS_GPL(kvh_dev_flush, KVH_NS);

static int kvh_worker_fn(void *data)
{
	struct kvh_worker *worker = data;
	struct llist_node *node;
	struct kvh_work *work, *next;

	kthread_use_mm(worker->dev->mm);
	for (;;) {
		/* Pairs with wake_up_process() in kvh_work_queue(). */
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop()) {
			__set_current_state(TASK_RUNNING);
			break;
		}
		node = llist_del_all(&worker->work_list);
		if (!node) {
			schedule();
			continue;
		}
		__set_current_state(TASK_RUNNING);
		/* The list is newest first; run in queue order. */
		node = llist_reverse_order(node);
		llist_for_each_entry_safe(work, next, node, node) {
			/*
			 * Clear before running, so that a kick arriving while
			 * the handler runs queues it again.
			 */
			clear_bit(KVH_WORK_QUEUED, &work->flags);
			/* Pairs with test_and_set_bit() in kvh_work_queue(). */
			smp_mb__after_atomic();
			work->fn(work);
			cond_resched();
		}
	}
	kthread_unuse_mm(worker->dev->mm);
	return 0;
}

/**
 * kvh_workers_start() - create the device's workers for its new owner
 * @dev: the device, with @dev->mutex held and @dev->mm set
 *
 * Return: 0 or a negative errno; on failure nothing is left behind.
 */
int kvh_workers_start(struct kvh_dev *dev)
{
	struct kvh_worker *workers;
	struct task_struct *task;
	unsigned int i;
	int ret;

	lockdep_assert_held(&dev->mutex);

	workers = kcalloc(dev->nworkers, sizeof(*workers), GFP_KERNEL_ACCOUNT);
	if (!workers)
		return -ENOMEM;
	for (i = 0; i < dev->nworkers; i++) {
		workers[i].dev = dev;
		workers[i].id = i;
		init_llist_head(&workers[i].work_list);
		if (i)
			task = kthread_create(kvh_worker_fn, &workers[i],
					      "vhost-%d-%u", current->pid, i);
		else
			task = kthread_create(kvh_worker_fn, &workers[i],
					      "vhost-%d", current->pid);
		if (IS_ERR(task)) {
			ret = PTR_ERR(task);
			goto err_stop;
		}
		workers[i].task = task;
		/* Charge the worker to the owner's cgroups, CPU and memory. */
		ret = cgroup_attach_task_all(current, task);
		if (ret) {
			kthread_stop(task);
			workers[i].task = NULL;
			goto err_stop;
		}
		wake_up_process(task);
	}
	dev->workers = workers;
	return 0;

err_stop:
	while (i--)
		kthread_stop(workers[i].task);
	kfree(workers);
	return ret;
}

/**
 * kvh_workers_stop() - stop and free the device's workers
 * @dev: the device, with @dev->mutex held and nothing polling any more
 *
 * Work still queued is run first, so nobody waits for it forever.
 */
void kvh_workers_stop(struct kvh_dev *dev)
{
	unsigned int i;

	lockdep_assert_held(&dev->mutex);
	if (!dev->workers)
		return;
	for (i = 0; i < dev->nworkers; i++) {
		kvh_worker_flush(&dev->workers[i]);
		kthread_stop(dev->workers[i].task);
	}
	kfree(dev->workers);
	dev->workers = NULL;
}

static int kvh_poll_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			   int sync, void *key)
{
	struct kvh_poll *poll = container_of(wait, struct kvh_poll, wait);
	__poll_t mask = key_to_poll(key);

	/* A wake-up without a mask may be anything: check for it. */
	if (mask && !(mask & poll->mask))
		return 0;
	poll->wakeups++;
	if (trace_kvhost_vq_kick_enabled()) {
		struct kvh_vq *vq = kvh_poll_to_vq(poll);

		if (vq)
			trace_kvhost_vq_kick(vq, poll->wakeups);
	}
	kvh_work_queue(poll->worker, &poll->work);
	return 0;
}

static void kvh_poll_func(struct file *file, wait_queue_head_t *wqh,
			  poll_table *pt)
{
	struct kvh_poll *poll = container_of(pt, struct kvh_poll, table);

	poll->wqh = wqh;
	add_wait_queue(wqh, &poll->wait);
}

/**
 * kvh_poll_init() - prepare to wait on a file
 * @poll: the poller
 * @fn: the work to queue when the file is ready
 * @mask: the events that count as ready
 */
void kvh_poll_init(struct kvh_poll *poll, kvh_work_fn_t fn, __poll_t mask)
{
	init_waitqueue_func_entry(&poll->wait, kvh_poll_wakeup);
	init_poll_funcptr(&poll->table, kvh_poll_func);
	poll->mask = mask;
	poll->wqh = NULL;
	poll->worker = NULL;
	kvh_work_init(&poll->work, fn);
}
EXPORT_SYMBOL_NS_GPL(kvh_poll_init, KVH_NS);

/**
 * kvh_poll_start() - start waiting on @file
 * @poll: the poller, not polling yet
 * @worker: who runs the work
 * @file: the file
 *
 * If the file is already ready, the work is queued at once.
 *
 * Return: 0, or -EINVAL if the file reported an error.
 */
int kvh_poll_start(struct kvh_poll *poll, struct kvh_worker *worker,
		   struct file *file)
{
	__poll_t mask;

	if (poll->wqh)
		return 0;
	poll->worker = worker;
	mask = vfs_poll(file, &poll->table);
	if (mask & poll->mask)
		kvh_work_queue(worker, &poll->work);
	if (mask & EPOLLERR) {
		kvh_poll_stop(poll);
		return -EINVAL;
	}
	return 0;
}
EXPORT_SYMBOL_NS_GPL(kvh_poll_start, KVH_NS);

/**
 * kvh_poll_stop() - stop waiting
 * @poll: the poller
 *
 * The work may still be queued or running; flush the worker to be sure.
 */
void kvh_poll_stop(struct kvh_poll *poll)
{
	if (poll->wqh) {
		remove_wait_queue(poll->wqh, &poll->wait);
		poll->wqh = NULL;
	}
}
EXPORT_SYMBOL_NS_GPL(kvh_poll_stop, KVH_NS);

/**
 * kvh_poll_queue() - queue the poller's work as if the file woke us
 * @poll: the poller, with a worker
 */
void kvh_poll_queue(struct kvh_poll *poll)
{
	kvh_work_queue(poll->worker, &poll->work);
}
EXPORT_SYMBOL_NS_GPL(kvh_poll_queue, KVH_NS);
