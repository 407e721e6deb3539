/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvhost device core: the state every vhost character device shares, its
 * virtqueues, workers and the generic ioctls.
 *
 * A backend (vhost-net, vhost-blk) embeds a struct kvh_dev, gives it its
 * virtqueues and offered features with kvh_dev_init(), and passes every
 * ioctl it does not handle itself to kvh_dev_ioctl().
 *
 * Lock order: kvh_dev.mutex, then kvh_vq.mutex (one at a time, or in index
 * order with mutex_lock_nested()). A worker takes only kvh_vq.mutex, inside
 * the backend's handler.
 */
#ifndef KVHOST_KVHOST_H
#define KVHOST_KVHOST_H

#include <linux/list.h>
#include <linux/llist.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/uio.h>
#include <linux/vhost.h>

#include "vring.h"

struct eventfd_ctx;
struct file;
struct mm_struct;
struct task_struct;
struct kvh_dev;
struct kvh_work;
struct dentry;

typedef void (*kvh_work_fn_t)(struct kvh_work *work);

/* A unit of work for a worker; queued at most once at a time. */
struct kvh_work {
	struct llist_node node;
	unsigned long flags;		/* KVH_WORK_QUEUED, atomic bitops */
	kvh_work_fn_t fn;
};

#define KVH_WORK_QUEUED		0

/**
 * struct kvh_worker - a kernel thread that runs work in the owner's mm
 * @task: the thread, named vhost-<owner pid>[-<n>]
 * @work_list: queued work, lock-free; drained by @task only
 * @dev: the device it serves
 * @id: its index in the device
 */
struct kvh_worker {
	struct task_struct *task;
	struct llist_head work_list;
	struct kvh_dev *dev;
	unsigned int id;
};

/* Waits on a file (kick eventfd, tap socket) and queues @work when ready. */
struct kvh_poll {
	poll_table table;
	wait_queue_head_t *wqh;		/* NULL while not polling */
	wait_queue_entry_t wait;
	struct kvh_work work;
	__poll_t mask;			/* events that queue @work */
	struct kvh_worker *worker;
	u64 wakeups;			/* under the wait queue's lock */
};

/*
 * The dirty log as the vring library sees it (kvr_log_write()). With a
 * device IOTLB the library reports IOVAs, which go through @iotlb to the
 * owner's addresses and back through @mem to guest-physical ones.
 */
struct kvr_log {
	kvr_uaddr_t base;		/* the bitmap, in the owner's memory */
	struct eventfd_ctx *ctx;	/* VHOST_SET_LOG_FD, or NULL */
	const struct kvr_map *mem;	/* the memory table, or NULL */
	const struct kvr_map *iotlb;	/* the device IOTLB, or NULL */
};

/*
 * A queue's outstanding IOTLB miss: at most one per queue, so a guest that
 * keeps kicking cannot make the device queue messages without bound.
 */
struct kvh_iotlb_miss {
	struct list_head node;		/* on kvh_dev.msg_read or .msg_pending */
	u64 iova;
	u8 perm;			/* VHOST_ACCESS_* */
};

/**
 * struct kvh_iotlb - the device IOTLB
 * @map: the translations (kvr_map.iotlb set), installed in every queue
 * @stamp: for each entry of @map, when it was added, to retire the oldest
 * @clock: the next stamp
 */
struct kvh_iotlb {
	struct kvr_map *map;
	u64 *stamp;
	u64 clock;
};

/**
 * struct kvh_vq - one virtqueue
 * @dev: the device
 * @mutex: held by the backend's handler while it services the queue, and by
 *	every ioctl that changes the queue; protects everything below
 * @ring: the ring state shared with the vring library
 * @addr: the addresses from VHOST_SET_VRING_ADDR, as given
 * @addr_set: VHOST_SET_VRING_ADDR was called (a ring size was set when
 *	@ring.num is not 0, which VHOST_SET_VRING_NUM refuses)
 * @kick: the kick eventfd's file, polled by @poll
 * @call_ctx: signalled when the guest must be notified
 * @err_ctx: signalled when the guest broke the ring
 * @poll: wait on @kick and queue the kick handler
 * @handle_kick: the backend's kick handler
 * @worker: the worker that services this queue
 * @backend: the backend's object; non-NULL while the queue runs
 * @acked: the device's acked features, copied under this mutex so that the
 *	handler need not take the device mutex
 * @log: the device's dirty log, copied likewise (upstream does the same), so
 *	that changing it never needs more than one queue lock at a time
 * @busyloop_timeout: VHOST_SET_VRING_BUSYLOOP_TIMEOUT, in microseconds
 * @chain: storage for one translated chain (iovecs and their addresses)
 * @ring_ready: @ring's desc, avail and used are the owner's addresses of
 *	the rings; false while a device IOTLB has yet to translate @addr's
 *	IOVAs (kvh_vq_ready())
 * @miss: the outstanding IOTLB miss; its fields are protected by
 *	kvh_dev.msg_lock, not by @mutex
 * @stats: counters for the debugfs view
 */
struct kvh_vq {
	struct kvh_dev *dev;
	struct mutex mutex;		/* see above: the queue's lock */
	struct kvr_ring ring;
	struct vhost_vring_addr addr;
	bool addr_set;
	struct file *kick;
	struct eventfd_ctx *call_ctx;
	struct eventfd_ctx *err_ctx;
	struct kvh_poll poll;
	kvh_work_fn_t handle_kick;
	struct kvh_worker *worker;
	void *backend;
	u64 acked;
	struct kvr_log log;
	u32 busyloop_timeout;
	struct kvr_chain chain;
	bool ring_ready;
	struct kvh_iotlb_miss miss;
	struct {
		u64 calls;
		u64 chains;
		u64 bytes;
		u64 errors;
		u64 misses;
		enum kvr_error last_error;
	} stats;
};

/**
 * struct kvh_dev - one open vhost device file
 * @mutex: serialises ownership changes and every configuration ioctl
 * @mm: the owner's address space, or NULL while the device has no owner
 * @offered: the feature bits the backend implements; constant
 * @acked: the feature bits the VMM set; protected by @mutex
 * @backend_features: VHOST_SET_BACKEND_FEATURES; protected by @mutex
 * @vqs: the virtqueues, given by the backend
 * @nvqs: how many
 * @nworkers: how many workers the backend wants (1, or one per queue)
 * @workers: created at SET_OWNER; protected by @mutex
 * @map: the memory table; replaced under @mutex and every vq mutex
 * @iotlb: the device IOTLB while VIRTIO_F_ACCESS_PLATFORM is acked, else
 *	NULL; its table is replaced under @mutex and every vq mutex
 * @msg_lock: protects @msg_read, @msg_pending and every queue's miss
 * @msg_read: misses the VMM has yet to read()
 * @msg_pending: misses it read, waiting for an UPDATE that covers them
 * @msg_wait: readers and pollers of the device file
 * @log: the dirty log; protected by @mutex, copied to each queue
 * @log_set: VHOST_SET_LOG_BASE was called
 * @stop_backends: the backend's hook to detach every queue, called with
 *	@mutex held before the core resets the device (RESET_OWNER)
 * @pause_vq: the backend's hook around VHOST_GET_VRING_BASE, called with
 *	@mutex held and the queue's mutex not held: with @pause true it stops
 *	fetching and waits for the queue's in-flight requests, so that the
 *	base reported is exact; with @pause false it resumes. Optional.
 * @name: the backend's name, for debugfs ("net", "blk")
 * @owner_pid: the owner's pid at SET_OWNER; protected by @mutex
 * @debugfs: the device's statistics directory; protected by @mutex
 */
struct kvh_dev {
	struct mutex mutex;		/* the device's configuration lock */
	struct mm_struct *mm;		/* protected by @mutex */
	u64 offered;			/* constant */
	u64 acked;			/* protected by @mutex */
	u64 backend_features;		/* protected by @mutex */
	struct kvh_vq **vqs;		/* constant */
	unsigned int nvqs;		/* constant */
	unsigned int nworkers;		/* constant */
	struct kvh_worker *workers;	/* protected by @mutex */
	struct kvr_map *map;		/* protected by @mutex and vq mutexes */
	struct kvh_iotlb *iotlb;	/* protected by @mutex and vq mutexes */
	spinlock_t msg_lock;		/* protects the two lists below */
	struct list_head msg_read;
	struct list_head msg_pending;
	wait_queue_head_t msg_wait;
	struct kvr_log log;		/* protected by @mutex */
	bool log_set;			/* protected by @mutex */
	void (*stop_backends)(struct kvh_dev *dev);
	void (*pause_vq)(struct kvh_vq *vq, bool pause);
	const char *name;		/* constant */
	pid_t owner_pid;		/* protected by @mutex */
	struct dentry *debugfs;		/* protected by @mutex */
};

/* Device lifetime and ioctls (dev.c). */
int kvh_dev_init(struct kvh_dev *dev, const char *name, struct kvh_vq **vqs,
		 unsigned int nvqs, unsigned int nworkers, u64 offered);
void kvh_dev_reset_owner(struct kvh_dev *dev);
void kvh_dev_cleanup(struct kvh_dev *dev);
int kvh_dev_check_owner(struct kvh_dev *dev);
long kvh_dev_ioctl(struct kvh_dev *dev, unsigned int ioctl, void __user *argp);

static inline bool kvh_has_feature(const struct kvh_dev *dev, unsigned int bit)
{
	return dev->acked & BIT_ULL(bit);
}

static inline bool kvh_vq_has_feature(const struct kvh_vq *vq,
				      unsigned int bit)
{
	return vq->acked & BIT_ULL(bit);
}

/* Memory table and dirty log (mem.c, log.c). */
long kvh_set_mem_table(struct kvh_dev *dev, void __user *argp);
void kvh_map_free(struct kvr_map *map);
void kvh_dev_install_maps(struct kvh_dev *dev);
void kvh_vq_install_maps(struct kvh_vq *vq);
bool kvh_uaddr_to_gpa(const struct kvr_map *map, kvr_uaddr_t uaddr, u64 *gpa);
long kvh_set_log_base(struct kvh_dev *dev, u64 __user *argp);
long kvh_set_log_fd(struct kvh_dev *dev, int __user *argp);
bool kvh_log_covers(struct kvh_dev *dev, u64 gpa, u64 len);

/* Virtqueues (vq.c). */
int kvh_vq_init(struct kvh_vq *vq, struct kvh_dev *dev, kvh_work_fn_t kick);
void kvh_vq_free(struct kvh_vq *vq);
long kvh_vring_ioctl(struct kvh_dev *dev, unsigned int ioctl,
		     void __user *argp);
int kvh_vq_start(struct kvh_vq *vq, void *backend);
void *kvh_vq_stop(struct kvh_vq *vq);
void kvh_vq_reset(struct kvh_vq *vq);
void kvh_vq_apply_features(struct kvh_vq *vq);
void kvh_vq_signal(struct kvh_vq *vq);
void kvh_vq_error(struct kvh_vq *vq);
int kvh_vq_log_chain(struct kvh_vq *vq, u32 written);

/* Device IOTLB (iotlb.c). */
int kvh_iotlb_enable(struct kvh_dev *dev, bool on);
void kvh_iotlb_init(struct kvh_dev *dev);
void kvh_iotlb_miss(struct kvh_vq *vq, u64 iova, u32 perm);
void kvh_iotlb_forget(struct kvh_vq *vq);
int kvh_vq_translate_ring(struct kvh_vq *vq, bool report);
int kvh_vq_translate_used(struct kvh_vq *vq);
bool kvh_vq_resolve(struct kvh_vq *vq);
ssize_t kvh_dev_read_iter(struct kvh_dev *dev, struct iov_iter *to,
			  bool nonblock);
ssize_t kvh_dev_write_iter(struct kvh_dev *dev, struct iov_iter *from);
__poll_t kvh_dev_poll(struct kvh_dev *dev, struct file *file,
		      poll_table *wait);

/**
 * kvh_vq_ready() - may the handler use the ring? Call it first, under the
 * queue's mutex
 * @vq: the queue
 *
 * Without a device IOTLB the answer is always yes. With one, the ring's
 * IOVAs are translated once after each change of the table; a missing
 * translation is asked of the VMM and the queue waits for it (the UPDATE
 * requeues it), and a ring the table cannot map is a vq error.
 */
static inline bool kvh_vq_ready(struct kvh_vq *vq)
{
	return likely(vq->ring_ready) || kvh_vq_resolve(vq);
}

/**
 * kvh_vq_get_chain() - kvr_get_chain() that reports IOTLB misses
 * @vq: the queue, with its mutex held
 * @chain: where the chain goes
 *
 * Return: as kvr_get_chain(). On -EAGAIN the VMM was asked for the missing
 * translation: the handler stops without a vq error and runs again when the
 * VMM answers.
 */
static inline int kvh_vq_get_chain(struct kvh_vq *vq, struct kvr_chain *chain)
{
	int ret = kvr_get_chain(&vq->ring, chain);

	if (unlikely(ret == -EAGAIN))
		kvh_iotlb_miss(vq, vq->ring.miss_addr, vq->ring.miss_perm);
	return ret;
}

/* Statistics (stats.c). */
void kvh_stats_add(struct kvh_dev *dev);
void kvh_stats_remove(struct kvh_dev *dev);
void kvh_stats_init(void);
void kvh_stats_exit(void);

/* The index of @vq in its device; a device has a handful of queues. */
static inline unsigned int kvh_vq_index(const struct kvh_vq *vq)
{
	unsigned int i;

	for (i = 0; i < vq->dev->nvqs && vq->dev->vqs[i] != vq; i++)
		;
	return i;
}

/* Account one serviced chain of @bytes; the queue's mutex is held. */
static inline void kvh_vq_account(struct kvh_vq *vq, u64 bytes)
{
	vq->stats.chains++;
	vq->stats.bytes += bytes;
}

/* Workers and polling (worker.c). */
int kvh_workers_start(struct kvh_dev *dev);
void kvh_workers_stop(struct kvh_dev *dev);
void kvh_work_init(struct kvh_work *work, kvh_work_fn_t fn);
bool kvh_work_queue(struct kvh_worker *worker, struct kvh_work *work);
void kvh_worker_flush(struct kvh_worker *worker);
void kvh_dev_flush(struct kvh_dev *dev);
bool kvh_worker_has_work(struct kvh_worker *worker);
void kvh_poll_init(struct kvh_poll *poll, kvh_work_fn_t fn, __poll_t mask);
int kvh_poll_start(struct kvh_poll *poll, struct kvh_worker *worker,
		   struct file *file);
void kvh_poll_stop(struct kvh_poll *poll);
void kvh_poll_queue(struct kvh_poll *poll);

#endif /* KVHOST_KVHOST_H */
