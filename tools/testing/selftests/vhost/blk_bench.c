// SPDX-License-Identifier: GPL-2.0
/*
 * blk_bench: 4 KiB random read and write IOPS at queue depth 1 and 32, and
 * latency percentiles at depth 1, on 1 and 4 queues, of two virtio-blk
 * devices that serve the same guest-driver load on the same block device:
 *
 *  - vhost-blk: /dev/vhost-blk, one vhost worker per queue (vhost-<pid>-N);
 *  - io_uring: a userspace virtio-blk device in this process, one thread
 *    per queue, as a VMM's I/O thread would be. It sleeps in
 *    io_uring_enter() on the queue's kick eventfd (an io_uring read of the
 *    eventfd), drains the split ring, queues one SQE per request straight
 *    into guest memory, submits the whole batch and reaps all completions
 *    with one io_uring_enter(), publishes the used entries and signals the
 *    call eventfd once per batch, honouring EVENT_IDX as vhost does. The
 *    block device and the eventfd are registered files, the ring fd is
 *    registered, and the ring is single-issuer with deferred task work
 *    where the kernel has them (raw syscalls, no liburing).
 *
 * What is the same for both: the block device and its open file (one fd,
 * O_RDWR | O_DIRECT, handed to VHOST_BLK_SET_BACKEND and registered with
 * io_uring), the ring layout and size, the features (EVENT_IDX), the
 * number of queues, the queue depth, the load generator (one thread per
 * queue keeping qd requests in flight, sleeping on the call eventfd), the
 * offsets (the same xorshift sequence per queue) and the timing.
 *
 * The block device is a memory-backed null_blk made through configfs
 * (blk-mq, completing inline: I/O costs little, so the device's own
 * overhead dominates, and io_uring can issue it without punting to its
 * io-wq workers). KVHOST_BENCH_DEV=brd uses brd instead, which is
 * bio-based: io_uring then hands every request to an io-wq worker, an
 * unfair comparison kept only for reference.
 *
 * Each configuration runs KVHOST_BENCH_REPS times (default 2) for each
 * device, the two alternating which goes first; every run has a warm-up
 * that is not measured. Per run it prints a "run" line; at the end a table
 * of medians with the vhost-blk/io_uring ratio and, per I/O, the CPU time
 * and context switches of the device threads (vhost workers, or the
 * io_uring threads plus any io-wq workers) and of the load threads.
 *
 * It asserts nothing about speed: it fails only when it cannot run (no
 * vhost-blk, no null_blk, a request failed). Environment:
 * KVHOST_BENCH_SECONDS (measured time per run, default 3),
 * KVHOST_BENCH_WARMUP_MS (default 500), KVHOST_BENCH_REPS (default 2),
 * KVHOST_BENCH_QUEUES (default "1 4"), KVHOST_BENCH_QD (default "1 32"),
 * KVHOST_BENCH_ONLY (vhost-blk or io_uring), KVHOST_BENCH_DEV (null_blk,
 * the default, or brd), KVHOST_BENCH_URING (defer, coop or plain: the
 * io_uring set-up flags; default defer, falling back when refused).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <endian.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>

#include "blk_common.h"

#define BENCH_SIZE	(64ULL * MIB)
#define BENCH_BS	4096
#define BENCH_MAXQ	4
#define BENCH_MAXQD	32
#define BENCH_MAXREPS	9
#define BENCH_MAXCFG	16
#define RING_NUM	128
#define LAT_MAX		1000000		/* samples per queue */
#define NULLB_NAME	"kvbench"
#define NULLB_DIR	"/sys/kernel/config/nullb/" NULLB_NAME

enum bdev_kind { DEV_KERNEL, DEV_URING, DEV_NR };
static const char *const dev_name[] = { "vhost-blk", "io_uring" };

static const char *uring_mode;	/* the set-up flags io_uring accepted */

/* ------------------------------------------------------------------------
 * Raw io_uring
 */

struct uring {
	int fd;
	int enter_fd;			/* registered ring index, or fd */
	unsigned int enter_flags;
	bool fixed;			/* files: 0 = block device, 1 = kick */
	unsigned int *sq_head, *sq_tail, *sq_mask, *sq_array, sq_entries;
	unsigned int *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
	unsigned int to_submit;
};

static int uring_setup(unsigned int entries, struct io_uring_params *p)
{
	static const struct {
		const char *name;
		unsigned int flags;
	} modes[] = {
		{ "defer", IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN },
		{ "coop", IORING_SETUP_COOP_TASKRUN },
		{ "plain", 0 },
	};
	const char *want = getenv("KVHOST_BENCH_URING");
	unsigned int i = 0;
	int fd = -1;

	while (want && *want && i < KTAP_ARRAY_SIZE(modes) - 1 &&
	       strcmp(want, modes[i].name))
		i++;
	/* Refused (an older kernel): take the next one down. */
	for (; i < KTAP_ARRAY_SIZE(modes); i++) {
		memset(p, 0, sizeof(*p));
		p->flags = modes[i].flags;
		fd = syscall(__NR_io_uring_setup, entries, p);
		if (fd >= 0) {
			uring_mode = modes[i].name;
			return fd;
		}
		if (errno != EINVAL)
			return -1;
	}
	return fd;
}

static int uring_init(struct uring *u, unsigned int entries, int bfd,
		      int kickfd)
{
	struct io_uring_rsrc_update up = { .offset = -1U };
	struct io_uring_params p;
	size_t sq_sz, cq_sz;
	int fds[2] = { bfd, kickfd };
	uint8_t *sq, *cq;

	memset(u, 0, sizeof(*u));
	u->fd = uring_setup(entries, &p);
	if (u->fd < 0)
		return -errno;
	u->enter_fd = u->fd;
	sq_sz = p.sq_off.array + p.sq_entries * sizeof(unsigned int);
	cq_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP && cq_sz > sq_sz)
		sq_sz = cq_sz;
	sq = mmap(NULL, sq_sz, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_SQ_RING);
	if (sq == MAP_FAILED)
		return -errno;
	cq = sq;
	if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
		cq = mmap(NULL, cq_sz, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_POPULATE, u->fd, IORING_OFF_CQ_RING);
		if (cq == MAP_FAILED)
			return -errno;
	}
	u->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe),
		       PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		       u->fd, IORING_OFF_SQES);
	if (u->sqes == MAP_FAILED)
		return -errno;
	u->sq_head = (void *)(sq + p.sq_off.head);
	u->sq_tail = (void *)(sq + p.sq_off.tail);
	u->sq_mask = (void *)(sq + p.sq_off.ring_mask);
	u->sq_array = (void *)(sq + p.sq_off.array);
	u->sq_entries = p.sq_entries;
	u->cq_head = (void *)(cq + p.cq_off.head);
	u->cq_tail = (void *)(cq + p.cq_off.tail);
	u->cq_mask = (void *)(cq + p.cq_off.ring_mask);
	u->cqes = (void *)(cq + p.cq_off.cqes);

	/* Both are optional: a kernel without them just costs more. */
	u->fixed = syscall(__NR_io_uring_register, u->fd,
			   IORING_REGISTER_FILES, fds, 2) == 0;
	up.data = u->fd;
	if (syscall(__NR_io_uring_register, u->fd, IORING_REGISTER_RING_FDS,
		    &up, 1) == 1) {
		u->enter_fd = up.offset;
		u->enter_flags = IORING_ENTER_REGISTERED_RING;
	}
	return 0;
}

static void uring_exit(struct uring *u)
{
	close(u->fd);
}

static struct io_uring_sqe *uring_sqe(struct uring *u)
{
	unsigned int tail = *u->sq_tail, idx;
	struct io_uring_sqe *sqe;

	if (tail - __atomic_load_n(u->sq_head, __ATOMIC_ACQUIRE) >= u->sq_entries)
		return NULL;
	idx = tail & *u->sq_mask;
	sqe = &u->sqes[idx];
	memset(sqe, 0, sizeof(*sqe));
	u->sq_array[idx] = idx;
	__atomic_store_n(u->sq_tail, tail + 1, __ATOMIC_RELEASE);
	u->to_submit++;
	return sqe;
}

/* Point @sqe at registered file @idx, or at @fd without registration. */
static void uring_set_fd(struct uring *u, struct io_uring_sqe *sqe,
			 unsigned int idx, int fd)
{
	if (u->fixed) {
		sqe->fd = idx;
		sqe->flags |= IOSQE_FIXED_FILE;
	} else {
		sqe->fd = fd;
	}
}

/* Submit everything queued and wait for @min_complete completions. */
static int uring_enter(struct uring *u, unsigned int min_complete)
{
	unsigned int flags = u->enter_flags;
	int r;

	if (min_complete)
		flags |= IORING_ENTER_GETEVENTS;
	r = syscall(__NR_io_uring_enter, u->enter_fd, u->to_submit,
		    min_complete, flags, NULL, 0);
	if (r < 0)
		return errno == EINTR || errno == EAGAIN || errno == EBUSY ?
		       0 : -errno;
	u->to_submit -= (unsigned int)r < u->to_submit ? (unsigned int)r :
							u->to_submit;
	return 0;
}

/* ------------------------------------------------------------------------
 * The userspace device: one thread per split vq
 */

#define KICK_TAG	0xffffffffULL

struct ureq {
	struct iovec iov[8];
	int niov;
	uint8_t *status;
	uint32_t type, bytes;
};

struct udev {
	struct vdrv_vq *vq;
	struct vdrv_mem *mem;
	int fd;
	struct uring u;
	uint64_t kick_val;		/* the eventfd's count, read by io_uring */
	uint16_t last_avail, last_used, signalled;
	bool signalled_valid;
	atomic_bool stop;
	atomic_int tid;
	struct ureq req[RING_NUM];
	unsigned long served, errors;
	char err[96];
};

static uint16_t ld16(const void *p)
{
	return le16toh(__atomic_load_n((const uint16_t *)p, __ATOMIC_ACQUIRE));
}

static void st16(void *p, uint16_t v)
{
	__atomic_store_n((uint16_t *)p, htole16(v), __ATOMIC_RELEASE);
}

static void udev_used(struct udev *d, uint16_t head, uint32_t len)
{
	struct vring_used *used = d->vq->split.used;
	struct vring_used_elem *e = &used->ring[d->last_used & (RING_NUM - 1)];

	e->id = htole32(head);
	e->len = htole32(len);
	d->last_used++;
}

/* Publish the used entries and signal if the driver's used_event says so. */
static void udev_signal(struct udev *d)
{
	struct vdrv_split *s = &d->vq->split;
	uint64_t one = 1;
	bool need;

	st16(&s->used->idx, d->last_used);
	atomic_thread_fence(memory_order_seq_cst);
	need = !d->signalled_valid ||
	       vdrv_need_event(ld16(s->used_event), d->last_used, d->signalled);
	d->signalled = d->last_used;
	d->signalled_valid = true;
	if (need && write(d->vq->call_fd, &one, 8) != 8)
		d->errors++;
}

/* Take one chain: 0 queued (or completed with an error status), -1 bad. */
static int udev_take(struct udev *d, uint16_t head)
{
	struct vring_desc *desc = d->vq->split.desc;
	struct ureq *r = &d->req[head];
	struct io_uring_sqe *sqe;
	uint8_t *hdr = NULL;
	unsigned int i = head, n = 0;
	uint64_t sector = 0;
	bool in;

	r->niov = 0;
	r->status = NULL;
	r->bytes = 0;
	for (;;) {
		uint16_t fl = le16toh(desc[i].flags);
		uint32_t len = le32toh(desc[i].len);
		uint8_t *p = vdrv_hva_range(d->mem, le64toh(desc[i].addr), len);

		if (!p || ++n > RING_NUM)
			return -1;
		if (!hdr) {
			if (len < 16)
				return -1;
			hdr = p;
			memcpy(&r->type, hdr, 4);
			r->type = le32toh(r->type);
			memcpy(&sector, hdr + 8, 8);
			sector = le64toh(sector);
		} else if (!(fl & VRING_DESC_F_NEXT) && fl & VRING_DESC_F_WRITE) {
			/* The last writable byte is the status. */
			if (len > 1) {
				if (r->niov == 8)
					return -1;
				r->iov[r->niov++] = (struct iovec){ p, len - 1 };
				r->bytes += len - 1;
			}
			r->status = p + len - 1;
		} else {
			if (r->niov == 8)
				return -1;
			r->iov[r->niov++] = (struct iovec){ p, len };
			r->bytes += len;
		}
		if (!(fl & VRING_DESC_F_NEXT))
			break;
		i = le16toh(desc[i].next) & (RING_NUM - 1);
	}
	if (!r->status)
		return -1;
	if ((r->type != VIRTIO_BLK_T_IN && r->type != VIRTIO_BLK_T_OUT) ||
	    !r->bytes || r->bytes % 512 ||
	    sector * 512 + r->bytes > BENCH_SIZE) {
		*r->status = r->type == VIRTIO_BLK_T_FLUSH ? VIRTIO_BLK_S_OK :
			     r->type > VIRTIO_BLK_T_OUT ? VIRTIO_BLK_S_UNSUPP :
			     VIRTIO_BLK_S_IOERR;
		udev_used(d, head, 1);
		return 0;
	}
	while (!(sqe = uring_sqe(&d->u)))
		if (uring_enter(&d->u, 0))
			return -1;
	in = r->type == VIRTIO_BLK_T_IN;
	if (r->niov == 1) {
		/* One buffer: no iovec to import. */
		sqe->opcode = in ? IORING_OP_READ : IORING_OP_WRITE;
		sqe->addr = (uintptr_t)r->iov[0].iov_base;
		sqe->len = r->iov[0].iov_len;
	} else {
		sqe->opcode = in ? IORING_OP_READV : IORING_OP_WRITEV;
		sqe->addr = (uintptr_t)r->iov;
		sqe->len = r->niov;
	}
	uring_set_fd(&d->u, sqe, 0, d->fd);
	sqe->off = sector * 512;
	sqe->user_data = head;
	return 0;
}

/* Have io_uring read the kick eventfd: completes at the next kick. */
static int udev_arm_kick(struct udev *d)
{
	struct io_uring_sqe *sqe = uring_sqe(&d->u);

	if (!sqe)
		return -1;
	sqe->opcode = IORING_OP_READ;
	uring_set_fd(&d->u, sqe, 1, d->vq->kick_fd);
	sqe->addr = (uintptr_t)&d->kick_val;
	sqe->len = sizeof(d->kick_val);
	sqe->user_data = KICK_TAG;
	return 0;
}

static void *udev_thread(void *arg)
{
	struct udev *d = arg;
	struct vdrv_split *s = &d->vq->split;
	int r;

	/*
	 * The ring is made here: a registered ring fd belongs to the task
	 * that registered it, and a single-issuer ring to its creator.
	 */
	r = uring_init(&d->u, 2 * RING_NUM, d->fd, d->vq->kick_fd);
	if (r) {
		snprintf(d->err, sizeof(d->err), "io_uring set-up: %s",
			 strerror(-r));
		d->errors++;
		atomic_store(&d->tid, -1);
		return NULL;
	}
	atomic_store(&d->tid, gettid());
	if (udev_arm_kick(d)) {
		snprintf(d->err, sizeof(d->err), "cannot queue the kick read");
		d->errors++;
		return NULL;
	}
	while (!atomic_load(&d->stop)) {
		unsigned int head, tail;
		uint16_t avail;

		/* Drain the avail ring, then ask for a kick and look again. */
		for (;;) {
			avail = ld16(&s->avail->idx);
			while (d->last_avail != avail) {
				uint16_t h = ld16(&s->avail->ring[d->last_avail &
								  (RING_NUM - 1)]);

				d->last_avail++;
				if (udev_take(d, h)) {
					snprintf(d->err, sizeof(d->err),
						 "bad chain %u", h);
					d->errors++;
					udev_used(d, h, 0);
				}
			}
			st16(s->avail_event, d->last_avail);
			atomic_thread_fence(memory_order_seq_cst);
			if (ld16(&s->avail->idx) == d->last_avail)
				break;
		}
		/* Errors completed synchronously: publish before sleeping. */
		if (d->last_used != ld16(&s->used->idx))
			udev_signal(d);
		/* Submit the whole batch; sleep until something completes. */
		r = uring_enter(&d->u, 1);
		if (r) {
			snprintf(d->err, sizeof(d->err), "io_uring_enter: %s",
				 strerror(-r));
			d->errors++;
			break;
		}
		head = __atomic_load_n(d->u.cq_head, __ATOMIC_RELAXED);
		tail = __atomic_load_n(d->u.cq_tail, __ATOMIC_ACQUIRE);
		for (; head != tail; head++) {
			struct io_uring_cqe *c = &d->u.cqes[head & *d->u.cq_mask];
			struct ureq *q;

			if (c->user_data == KICK_TAG) {
				if (c->res != sizeof(d->kick_val)) {
					snprintf(d->err, sizeof(d->err),
						 "kick read: %d", c->res);
					d->errors++;
				}
				udev_arm_kick(d);
				continue;
			}
			q = &d->req[c->user_data];
			*q->status = c->res == (int)q->bytes ? VIRTIO_BLK_S_OK :
							     VIRTIO_BLK_S_IOERR;
			udev_used(d, c->user_data, q->type == VIRTIO_BLK_T_IN ?
				  q->bytes + 1 : 1);
			d->served++;
		}
		__atomic_store_n(d->u.cq_head, head, __ATOMIC_RELEASE);
		if (d->last_used != ld16(&s->used->idx))
			udev_signal(d);
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * CPU time and context switches of threads, from /proc
 */

struct tstat {
	uint64_t ns;		/* on-CPU time, schedstat */
	uint64_t cs;		/* voluntary + involuntary context switches */
};

static void tstat_add(struct tstat *t, const char *dir)
{
	char p[96], line[128];
	unsigned long long v;
	FILE *f;

	snprintf(p, sizeof(p), "%s/schedstat", dir);
	f = fopen(p, "r");
	if (f) {
		if (fscanf(f, "%llu", &v) == 1)
			t->ns += v;
		fclose(f);
	}
	snprintf(p, sizeof(p), "%s/status", dir);
	f = fopen(p, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
			t->cs += v;
	fclose(f);
}

static bool read_comm(const char *dir, char *comm, size_t len)
{
	char p[96];
	FILE *f;
	bool ok;

	snprintf(p, sizeof(p), "%s/comm", dir);
	f = fopen(p, "r");
	if (!f)
		return false;
	ok = fgets(comm, len, f);
	fclose(f);
	if (ok)
		comm[strcspn(comm, "\n")] = '\0';
	return ok;
}

/* Our vhost workers: kernel threads named vhost-<our pid>[-<n>]. */
static unsigned int find_workers(int *pids, unsigned int max)
{
	char want[32], comm[32], dir[64];
	unsigned int n = 0;
	struct dirent *de;
	size_t wl;
	DIR *d;

	wl = snprintf(want, sizeof(want), "vhost-%d", getpid());
	d = opendir("/proc");
	if (!d)
		return 0;
	while (n < max && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(dir, sizeof(dir), "/proc/%d", atoi(de->d_name));
		if (!read_comm(dir, comm, sizeof(comm)))
			continue;
		if (!strncmp(comm, want, wl) &&
		    (comm[wl] == '\0' || comm[wl] == '-'))
			pids[n++] = atoi(de->d_name);
	}
	closedir(d);
	return n;
}

/* io_uring's io-wq workers (iou-wrk-<tid>) in this process: how many. */
static unsigned int add_iowq(struct tstat *t)
{
	unsigned int n = 0;
	char comm[32], dir[64];
	struct dirent *de;
	DIR *d = opendir("/proc/self/task");

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(dir, sizeof(dir), "/proc/self/task/%d",
			 atoi(de->d_name));
		if (read_comm(dir, comm, sizeof(comm)) &&
		    !strncmp(comm, "iou-wrk", 7)) {
			tstat_add(t, dir);
			n++;
		}
	}
	closedir(d);
	return n;
}

/* ------------------------------------------------------------------------
 * The load: one thread per queue, qd requests always in flight
 */

struct load {
	struct vdrv_vq *vq;
	struct blk_slot slot[BENCH_MAXQD];
	int64_t start[BENCH_MAXQD];
	unsigned int qd;
	uint32_t type, seed;
	int64_t measure, deadline;	/* count completions in [measure, deadline) */
	atomic_int tid;
	atomic_bool release;	/* may exit: its CPU time has been read */
	uint32_t *lat;		/* microseconds, qd 1 only */
	unsigned long nlat, maxlat, ios, kicks, errors;
	char err[128];
};

static void load_post(struct load *l, unsigned int i)
{
	struct blk_req r = { .type = l->type, .len = BENCH_BS };

	l->seed ^= l->seed << 13;
	l->seed ^= l->seed >> 17;
	l->seed ^= l->seed << 5;
	r.sector = (l->seed % (BENCH_SIZE / BENCH_BS)) * (BENCH_BS / 512);
	l->start[i] = blk_now_us();
	if (blk_post(l->vq, &l->slot[i], &r, &l->slot[i]) < 0) {
		snprintf(l->err, sizeof(l->err), "post: %s", vdrv_last_error());
		l->errors++;
	}
}

static void *load_thread(void *arg)
{
	struct load *l = arg;
	unsigned int i;
	uint32_t len;
	void *c;

	atomic_store(&l->tid, gettid());
	for (i = 0; i < l->qd; i++)
		load_post(l, i);
	vdrv_vq_kick(l->vq);
	while (!l->errors) {
		int64_t now;

		c = vdrv_vq_wait_used(l->vq, &len, 5000);
		if (!c) {
			snprintf(l->err, sizeof(l->err), "wait: %s",
				 vdrv_last_error());
			l->errors++;
			break;
		}
		do {
			now = blk_now_us();
			i = (struct blk_slot *)c - l->slot;
			if (l->slot[i].data[BENCH_BS] != VIRTIO_BLK_S_OK) {
				snprintf(l->err, sizeof(l->err), "status %u",
					 l->slot[i].data[BENCH_BS]);
				l->errors++;
			}
			if (now >= l->measure && now < l->deadline) {
				l->ios++;
				if (l->lat && l->nlat < l->maxlat)
					l->lat[l->nlat++] = now - l->start[i];
			}
			if (now < l->deadline)
				load_post(l, i);
		} while ((c = vdrv_vq_get_used(l->vq, &len)));
		/* Whatever was just posted must be kicked, deadline or not. */
		now = blk_now_us();
		if (vdrv_vq_kick(l->vq) > 0 && now >= l->measure &&
		    now < l->deadline)
			l->kicks++;
		if (now >= l->deadline) {
			/* Reap what is still in flight, then stop. */
			while (l->vq->num_free < l->vq->num &&
			       (c = vdrv_vq_wait_used(l->vq, &len, 5000)))
				;
			if (l->vq->num_free < l->vq->num) {
				snprintf(l->err, sizeof(l->err),
					 "requests still in flight: %s",
					 vdrv_last_error());
				l->errors++;
			}
			break;
		}
	}
	/* Stay in /proc until the last CPU time reading. */
	while (!atomic_load(&l->release))
		usleep(1000);
	return NULL;
}

/* ------------------------------------------------------------------------
 * One run: one device, one configuration
 */

struct cfg {
	unsigned int nq, qd;
	uint32_t type;
};

struct sample {
	double iops;
	double p50, p99;		/* us, qd 1 only */
	double dev_us, dev_cs;		/* per I/O: device threads */
	double wq_us;			/* per I/O: io-wq workers (io_uring) */
	double load_us;			/* per I/O: load threads */
	double kicks;			/* per I/O: eventfd kicks by the load */
	unsigned int nwq;		/* io-wq workers alive at the end */
};

struct bench {
	int bfd;
	int seconds, warmup_ms, reps;
	const char *only;
	unsigned int ncfg;
	struct cfg cfg[BENCH_MAXCFG];
	struct sample s[BENCH_MAXCFG][DEV_NR][BENCH_MAXREPS];
	bool worker_warned;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void sleep_until(int64_t us)
{
	int64_t now;

	while ((now = blk_now_us()) < us) {
		int64_t d = us - now;
		struct timespec ts = { d / 1000000, (d % 1000000) * 1000 };

		nanosleep(&ts, NULL);
	}
}

struct snap {
	struct tstat dev, wq, load;
	unsigned int nwq;
};

static void take_snap(struct snap *sn, enum bdev_kind kind, unsigned int nq,
		      const int *wpids, unsigned int nw, struct udev **ud,
		      struct load *ld)
{
	char dir[64];
	unsigned int q;

	memset(sn, 0, sizeof(*sn));
	for (q = 0; q < nq; q++) {
		snprintf(dir, sizeof(dir), "/proc/self/task/%d",
			 atomic_load(&ld[q].tid));
		tstat_add(&sn->load, dir);
	}
	if (kind == DEV_KERNEL) {
		for (q = 0; q < nw; q++) {
			snprintf(dir, sizeof(dir), "/proc/%d", wpids[q]);
			tstat_add(&sn->dev, dir);
		}
	} else {
		for (q = 0; q < nq; q++) {
			snprintf(dir, sizeof(dir), "/proc/self/task/%d",
				 atomic_load(&ud[q]->tid));
			tstat_add(&sn->dev, dir);
		}
		sn->nwq = add_iowq(&sn->wq);
	}
}

static enum ktap_result run_one(struct bench *b, enum bdev_kind kind,
				const struct cfg *cf, struct sample *res)
{
	uint64_t feat = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) |
			BLK_F_ALWAYS;
	static struct load ld[BENCH_MAXQ];
	struct udev *ud[BENCH_MAXQ] = { 0 };
	pthread_t lt[BENCH_MAXQ], dt[BENCH_MAXQ];
	int wpids[BENCH_MAXQ + 1];
	unsigned int q, i, nw = 0;
	unsigned long ios = 0, nlat = 0, kicks = 0;
	struct snap s0, s1;
	uint32_t *lat = NULL;
	struct blk_env e;
	enum ktap_result r;
	int64_t t0;
	double wall;

	memset(&e, 0, sizeof(e));
	if (kind == DEV_KERNEL) {
		r = blk_env_init(&e, BLK_SPLIT, cf->nq, RING_NUM, 8 * MIB, feat);
		if (r != KTAP_PASS)
			return r;
		VOK(blk_attach_all(&e, b->bfd));
		nw = find_workers(wpids, KTAP_ARRAY_SIZE(wpids));
		KTAP_CHECK(nw, "no vhost-%d worker thread in /proc", getpid());
		if (!b->worker_warned) {
			/* Idle workers add nothing to the CPU figures. */
			ktap_diag("vhost-blk: %u worker threads vhost-%d[-N] (%s)",
				  nw, getpid(), "one per possible queue");
			b->worker_warned = true;
		}
	} else {
		e.mem = vdrv_mem_create(8 * MIB);
		KTAP_CHECK(e.mem, "%s", vdrv_last_error());
		e.nvq = cf->nq;
		e.features = feat;
		for (q = 0; q < cf->nq; q++) {
			e.vq[q] = vdrv_vq_create(NULL, e.mem, q, RING_NUM, 0);
			KTAP_CHECK(e.vq[q], "%s", vdrv_last_error());
			vdrv_vq_set_features(e.vq[q], feat);
			ud[q] = calloc(1, sizeof(*ud[q]));
			KTAP_CHECK(ud[q], "calloc");
			ud[q]->vq = e.vq[q];
			ud[q]->mem = e.mem;
			ud[q]->fd = b->bfd;
			/*
			 * vdrv's eventfds are O_NONBLOCK, on which io_uring
			 * returns -EAGAIN instead of waiting: the device owns
			 * the kick fd's reading side, make it blocking.
			 */
			KTAP_OK(fcntl(e.vq[q]->kick_fd, F_SETFL, 0));
		}
		for (q = 0; q < cf->nq; q++) {
			KTAP_CHECK(!pthread_create(&dt[q], NULL, udev_thread,
						   ud[q]), "pthread_create");
			while (!atomic_load(&ud[q]->tid))
				usleep(1000);
			KTAP_CHECK(atomic_load(&ud[q]->tid) > 0, "%s",
				   ud[q]->err);
		}
	}
	if (cf->qd == 1) {
		lat = malloc(sizeof(*lat) * LAT_MAX * cf->nq);
		KTAP_CHECK(lat, "malloc");
	}
	t0 = blk_now_us() + 20000;
	for (q = 0; q < cf->nq; q++) {
		memset(&ld[q], 0, sizeof(ld[q]));
		ld[q].vq = e.vq[q];
		ld[q].qd = cf->qd;
		ld[q].type = cf->type;
		ld[q].seed = 0x9e3779b9 * (q + 1);
		ld[q].measure = t0 + b->warmup_ms * 1000LL;
		ld[q].deadline = ld[q].measure + b->seconds * 1000000LL;
		if (lat) {
			ld[q].lat = lat + q * LAT_MAX;
			ld[q].maxlat = LAT_MAX;
		}
		for (i = 0; i < cf->qd; i++) {
			KTAP_OK(blk_slot_init(&e, &ld[q].slot[i], BENCH_BS));
			blk_fill(ld[q].slot[i].data, BENCH_BS, i, 0);
		}
	}
	for (q = 0; q < cf->nq; q++)
		KTAP_CHECK(!pthread_create(&lt[q], NULL, load_thread, &ld[q]),
			   "pthread_create");
	sleep_until(ld[0].measure);
	take_snap(&s0, kind, cf->nq, wpids, nw, ud, ld);
	sleep_until(ld[0].deadline);
	take_snap(&s1, kind, cf->nq, wpids, nw, ud, ld);
	for (q = 0; q < cf->nq; q++)
		atomic_store(&ld[q].release, true);
	for (q = 0; q < cf->nq; q++)
		pthread_join(lt[q], NULL);
	for (q = 0; q < cf->nq; q++) {
		if (ld[q].errors && ud[q] && ud[q]->errors)
			ktap_diag("io_uring device %u: %s", q, ud[q]->err);
		KTAP_CHECK(!ld[q].errors, "%s queue %u: %s", dev_name[kind], q,
			   ld[q].err);
		ios += ld[q].ios;
		kicks += ld[q].kicks;
		if (lat) {
			memmove(lat + nlat, ld[q].lat, ld[q].nlat * sizeof(*lat));
			nlat += ld[q].nlat;
		}
	}
	KTAP_CHECK(ios, "%s: no request completed in %d s", dev_name[kind],
		   b->seconds);
	wall = (ld[0].deadline - ld[0].measure) / 1e6;
	memset(res, 0, sizeof(*res));
	res->iops = ios / wall;
	if (lat && nlat) {
		qsort(lat, nlat, sizeof(*lat), cmp_u32);
		res->p50 = lat[nlat / 2];
		res->p99 = lat[nlat * 99 / 100];
	}
	free(lat);
	res->dev_us = (s1.dev.ns - s0.dev.ns) / 1e3 / ios;
	res->dev_cs = (double)(s1.dev.cs - s0.dev.cs) / ios;
	/* io-wq workers come and go: count what the survivors ran. */
	res->wq_us = s1.wq.ns > s0.wq.ns ? (s1.wq.ns - s0.wq.ns) / 1e3 / ios : 0;
	res->load_us = (s1.load.ns - s0.load.ns) / 1e3 / ios;
	res->kicks = (double)kicks / ios;
	res->nwq = s1.nwq;
	if (kind == DEV_URING) {
		uint64_t one = 1;

		for (q = 0; q < cf->nq; q++) {
			atomic_store(&ud[q]->stop, true);
			if (write(e.vq[q]->kick_fd, &one, 8) != 8)
				ktap_diag("kick write failed");
		}
		for (q = 0; q < cf->nq; q++) {
			pthread_join(dt[q], NULL);
			KTAP_CHECK(!ud[q]->errors, "io_uring device %u: %s", q,
				   ud[q]->err);
			uring_exit(&ud[q]->u);
			free(ud[q]);
			vdrv_vq_destroy(e.vq[q]);
		}
		vdrv_mem_destroy(e.mem);
	} else {
		blk_env_fini(&e);
	}
	return KTAP_PASS;
}

/* ------------------------------------------------------------------------
 * The block device: a memory-backed null_blk through configfs
 */

static int write_attr(const char *name, const char *val)
{
	char p[128];
	int fd, r = 0;

	snprintf(p, sizeof(p), "%s/%s", NULLB_DIR, name);
	fd = open(p, O_WRONLY);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static void nullb_remove(void)
{
	if (access(NULLB_DIR, F_OK))
		return;
	write_attr("power", "0");
	rmdir(NULLB_DIR);
}

/*
 * Create /sys/kernel/config/nullb/kvbench: 64 MiB, memory-backed, blk-mq,
 * completing in the submitter's context, no I/O scheduler, a hardware
 * queue per CPU. Every attribute before "power", which creates the disk.
 * Its name: since Linux 5.19 the configfs directory's (/dev/kvbench),
 * before that nullb<index>. On failure, *@why says why.
 */
static int nullb_setup(char *path, size_t len, char *why, size_t wlen)
{
	char ncpu[16], p[128], buf[32];
	const char *const attrs[][2] = {
		{ "size", "64" },		/* MiB */
		{ "blocksize", "512" },
		{ "memory_backed", "1" },
		{ "queue_mode", "2" },		/* blk-mq */
		{ "irqmode", "0" },		/* complete inline */
		{ "no_sched", "1" },
		{ "hw_queue_depth", "128" },
		{ "submit_queues", ncpu },
		{ "power", "1" },
	};
	unsigned int major, minor, i;
	int r, fd;

	snprintf(ncpu, sizeof(ncpu), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	if (system("modprobe null_blk nr_devices=0 >/dev/null 2>&1")) {
		snprintf(why, wlen, "'modprobe null_blk' failed (CONFIG_BLK_DEV_NULL_BLK)");
		return -1;
	}
	if (access("/sys/kernel/config/nullb", F_OK) &&
	    mount("none", "/sys/kernel/config", "configfs", 0, NULL) &&
	    errno != EBUSY) {
		snprintf(why, wlen, "cannot mount configfs: %s", strerror(errno));
		return -1;
	}
	if (access("/sys/kernel/config/nullb", F_OK)) {
		snprintf(why, wlen, "no /sys/kernel/config/nullb (null_blk without configfs?)");
		return -1;
	}
	nullb_remove();		/* a leftover of an earlier run */
	if (mkdir(NULLB_DIR, 0755)) {
		snprintf(why, wlen, "mkdir %s: %s", NULLB_DIR, strerror(errno));
		return -1;
	}
	for (i = 0; i < KTAP_ARRAY_SIZE(attrs); i++) {
		r = write_attr(attrs[i][0], attrs[i][1]);
		if (r) {
			snprintf(why, wlen, "null_blk %s=%s: %s", attrs[i][0],
				 attrs[i][1], strerror(-r));
			nullb_remove();
			return -1;
		}
	}
	snprintf(p, sizeof(p), "/sys/block/%s/dev", NULLB_NAME);
	if (access(p, F_OK)) {
		snprintf(p, sizeof(p), "%s/index", NULLB_DIR);
		fd = open(p, O_RDONLY);
		r = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		buf[r > 0 ? r : 0] = '\0';
		snprintf(p, sizeof(p), "/sys/block/nullb%d/dev", atoi(buf));
	}
	fd = open(p, O_RDONLY);
	r = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	buf[r > 0 ? r : 0] = '\0';
	if (sscanf(buf, "%u:%u", &major, &minor) != 2) {
		snprintf(why, wlen, "null_blk powered on, but no %s", p);
		nullb_remove();
		return -1;
	}
	/* /sys/block/<name>/dev -> /dev/<name> */
	*strrchr(p, '/') = '\0';
	snprintf(path, len, "/dev/%s", strrchr(p, '/') + 1);
	for (i = 0; i < 100 && access(path, F_OK); i++)
		usleep(10000);
	/* No devtmpfs: make the node ourselves. */
	if (access(path, F_OK) &&
	    mknod(path, S_IFBLK | 0600, makedev(major, minor))) {
		snprintf(why, wlen, "no %s and mknod failed: %s", path,
			 strerror(errno));
		nullb_remove();
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * The runs and the table
 */

static double median(double *v, unsigned int n)
{
	unsigned int i, j;
	double t;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && v[j - 1] > v[j]; j--) {
			t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* The median over the runs of the double at @off in struct sample. */
static double field_median(struct bench *b, unsigned int c, unsigned int k,
			   size_t off)
{
	double v[BENCH_MAXREPS];
	int r;

	for (r = 0; r < b->reps; r++)
		v[r] = *(double *)((char *)&b->s[c][k][r] + off);
	return median(v, b->reps);
}

#define FIELD_MEDIAN(b, c, k, field) \
	field_median(b, c, k, offsetof(struct sample, field))

static double field_min(struct bench *b, unsigned int c, unsigned int k)
{
	double m = b->s[c][k][0].iops;
	int r;

	for (r = 1; r < b->reps; r++)
		if (b->s[c][k][r].iops < m)
			m = b->s[c][k][r].iops;
	return m;
}

static double field_max(struct bench *b, unsigned int c, unsigned int k)
{
	double m = b->s[c][k][0].iops;
	int r;

	for (r = 1; r < b->reps; r++)
		if (b->s[c][k][r].iops > m)
			m = b->s[c][k][r].iops;
	return m;
}

static bool want_dev(const struct bench *b, enum bdev_kind k)
{
	return !b->only || !strcmp(b->only, dev_name[k]);
}

static const char *rw_name(uint32_t type)
{
	return type == VIRTIO_BLK_T_IN ? "read" : "write";
}

static void print_table(struct bench *b)
{
	unsigned int c, met = 0, both = 0;
	bool two = want_dev(b, DEV_KERNEL) && want_dev(b, DEV_URING);

	ktap_diag(" ");
	ktap_diag("Medians of %d runs; v = vhost-blk, u = io_uring; ratio = v/u IOPS",
		  b->reps);
	ktap_diag("%s%s", "queues rw     qd |   v IOPS  (min-max)      |   u IOPS  (min-max)      ",
		  "| ratio | p50 us    | p99 us    | dev us/IO | dev cs/IO | load us/IO");
	ktap_diag("%s%s", "                 |                          |                          ",
		  "|       |    v/u    |    v/u    |     v/u   |     v/u   |     v/u");
	for (c = 0; c < b->ncfg; c++) {
		const struct cfg *cf = &b->cfg[c];
		double iops[DEV_NR] = { 0 }, p50[DEV_NR] = { 0 },
		       p99[DEV_NR] = { 0 }, dus[DEV_NR] = { 0 },
		       dcs[DEV_NR] = { 0 }, lus[DEV_NR] = { 0 };
		char rng[DEV_NR][24], lat50[16] = "-", lat99[16] = "-",
		     ratio[8] = "-", line[96];
		unsigned int k;

		for (k = 0; k < DEV_NR; k++) {
			strcpy(rng[k], "");
			if (!want_dev(b, k))
				continue;
			iops[k] = FIELD_MEDIAN(b, c, k, iops);
			p50[k] = FIELD_MEDIAN(b, c, k, p50);
			p99[k] = FIELD_MEDIAN(b, c, k, p99);
			dus[k] = FIELD_MEDIAN(b, c, k, dev_us) +
				 FIELD_MEDIAN(b, c, k, wq_us);
			dcs[k] = FIELD_MEDIAN(b, c, k, dev_cs);
			lus[k] = FIELD_MEDIAN(b, c, k, load_us);
			snprintf(rng[k], sizeof(rng[k]), " (%.0f-%.0f)",
				 field_min(b, c, k), field_max(b, c, k));
		}
		if (two && iops[DEV_URING] > 0) {
			double q = iops[DEV_KERNEL] / iops[DEV_URING];

			snprintf(ratio, sizeof(ratio), "%.2f", q);
			both++;
			met += q >= 1.5;
		}
		if (cf->qd == 1) {
			snprintf(lat50, sizeof(lat50), "%4.0f/%-4.0f",
				 p50[DEV_KERNEL], p50[DEV_URING]);
			snprintf(lat99, sizeof(lat99), "%4.0f/%-4.0f",
				 p99[DEV_KERNEL], p99[DEV_URING]);
		}
		snprintf(line, sizeof(line), "%6u %-5s %3u | %8.0f %-15s | %8.0f %-15s ",
			 cf->nq, rw_name(cf->type), cf->qd, iops[DEV_KERNEL],
			 rng[DEV_KERNEL], iops[DEV_URING], rng[DEV_URING]);
		ktap_diag("%s| %5s | %-9s | %-9s | %4.0f/%-4.0f | %4.2f/%-4.2f | %4.0f/%-4.0f",
			  line, ratio, lat50, lat99, dus[DEV_KERNEL],
			  dus[DEV_URING], dcs[DEV_KERNEL], dcs[DEV_URING],
			  lus[DEV_KERNEL], lus[DEV_URING]);
		printf("RESULT queues=%u rw=%s qd=%u ratio=%s", cf->nq,
		       rw_name(cf->type), cf->qd, ratio);
		for (k = 0; k < DEV_NR; k++)
			printf(" %s_iops=%.0f %s_p50=%.0f %s_p99=%.0f %s_dev_us=%.2f %s_cs=%.3f",
			       k ? "uring" : "vhost", iops[k], k ? "uring" : "vhost",
			       p50[k], k ? "uring" : "vhost", p99[k],
			       k ? "uring" : "vhost", dus[k],
			       k ? "uring" : "vhost", dcs[k]);
		printf("\n");
	}
	if (both)
		ktap_diag("vhost-blk/io_uring >= 1.5 (the kvhost target) in %u of %u %s",
			  met, both, "configurations");
}

static enum ktap_result bench_on(struct bench *b, const char *path)
{
	enum ktap_result r;
	unsigned int c, rep, j;
	char line[128];
	uint8_t *buf;
	uint64_t off;

	b->bfd = open(path, O_RDWR | O_DIRECT | O_CLOEXEC);
	KTAP_CHECK(b->bfd >= 0, "%s: %s", path, strerror(errno));
	/* Write it all once: reads then hit allocated memory. */
	KTAP_CHECK(!posix_memalign((void **)&buf, 4096, MIB), "memalign");
	for (off = 0; off < BENCH_SIZE; off += MIB) {
		blk_fill(buf, MIB, 1, off);
		KTAP_CHECK(pwrite(b->bfd, buf, MIB, off) == MIB, "fill %s: %s",
			   path, strerror(errno));
	}
	free(buf);
	ktap_diag("4 KiB random I/O on %s (%llu MiB, O_DIRECT, one fd for both), %ld CPUs",
		  path, BENCH_SIZE / MIB, sysconf(_SC_NPROCESSORS_ONLN));
	ktap_diag("%d run(s) per device and configuration, alternating order;",
		  b->reps);
	ktap_diag("each run: %d ms warm-up, then %d s measured", b->warmup_ms,
		  b->seconds);
	for (rep = 0; rep < (unsigned int)b->reps; rep++) {
		for (c = 0; c < b->ncfg; c++) {
			const struct cfg *cf = &b->cfg[c];

			for (j = 0; j < DEV_NR; j++) {
				/* Who goes first alternates per run and config. */
				enum bdev_kind k = (j + rep + c) % 2;
				struct sample *s = &b->s[c][k][rep];

				if (!want_dev(b, k))
					continue;
				r = run_one(b, k, cf, s);
				if (r != KTAP_PASS)
					return r;
				snprintf(line, sizeof(line),
					 "run %u %-9s q=%u %-5s qd=%-2u iops=%.0f p50=%.0f p99=%.0f",
					 rep + 1, dev_name[k], cf->nq,
					 rw_name(cf->type), cf->qd, s->iops,
					 s->p50, s->p99);
				ktap_diag("%s dev_us/io=%.2f %s=%.2f %s=%.3f %s=%.2f %s=%.3f %s=%u",
					  line, s->dev_us, "wq_us/io", s->wq_us,
					  "dev_cs/io", s->dev_cs, "load_us/io",
					  s->load_us, "kicks/io", s->kicks,
					  "iowq", s->nwq);
			}
		}
	}
	if (want_dev(b, DEV_URING))
		ktap_diag("io_uring set-up: %s", uring_mode ? uring_mode : "?");
	print_table(b);
	close(b->bfd);
	return KTAP_PASS;
}

/* Parse a list like "1 4" of numbers in [1, max] into @out. */
static unsigned int parse_list(const char *env, const char *def,
			       unsigned int max, unsigned int *out,
			       unsigned int nmax)
{
	const char *s = getenv(env);
	unsigned int n = 0;
	char *end;
	long v;

	if (!s || !*s)
		s = def;
	while (*s && n < nmax) {
		v = strtol(s, &end, 10);
		if (end == s)
			break;
		if (v >= 1 && (unsigned long)v <= max)
			out[n++] = v;
		s = end;
	}
	return n;
}

static int env_int(const char *name, int def, int lo, int hi)
{
	const char *s = getenv(name);
	int v = s && *s ? atoi(s) : def;

	return v < lo ? lo : v > hi ? hi : v;
}

static enum ktap_result bench(void)
{
	static const uint32_t types[] = { VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT };
	const char *which = getenv("KVHOST_BENCH_DEV");
	unsigned int nqs[4], qds[4], nnq, nqd, a, t, c;
	static struct bench b;
	struct blk_backend be;
	enum ktap_result r;
	char path[64], why[160];

	memset(&b, 0, sizeof(b));
	b.seconds = env_int("KVHOST_BENCH_SECONDS", 3, 1, 60);
	b.warmup_ms = env_int("KVHOST_BENCH_WARMUP_MS", 500, 0, 10000);
	b.reps = env_int("KVHOST_BENCH_REPS", 2, 1, BENCH_MAXREPS);
	b.only = getenv("KVHOST_BENCH_ONLY");
	if (b.only && !*b.only)
		b.only = NULL;
	KTAP_CHECK(!b.only || !strcmp(b.only, dev_name[DEV_KERNEL]) ||
		   !strcmp(b.only, dev_name[DEV_URING]),
		   "KVHOST_BENCH_ONLY=%s: vhost-blk or io_uring", b.only);
	nnq = parse_list("KVHOST_BENCH_QUEUES", "1 4", BENCH_MAXQ, nqs, 4);
	nqd = parse_list("KVHOST_BENCH_QD", "1 32", BENCH_MAXQD, qds, 4);
	KTAP_CHECK(nnq && nqd, "KVHOST_BENCH_QUEUES/QD: numbers 1-%d/1-%d",
		   BENCH_MAXQ, BENCH_MAXQD);
	for (a = 0; a < nnq; a++)
		for (t = 0; t < KTAP_ARRAY_SIZE(types); t++)
			for (c = 0; c < nqd; c++)
				b.cfg[b.ncfg++] = (struct cfg){
					.nq = nqs[a], .qd = qds[c],
					.type = types[t],
				};

	if (which && !strcmp(which, "brd")) {
		ktap_diag("brd is bio-based: io_uring punts every request to io-wq,");
		ktap_diag("so this is not a fair comparison");
		r = blk_be_open(&be, BLK_BE_BDEV, BENCH_SIZE, false);
		if (r != KTAP_PASS)
			return r;
		r = bench_on(&b, be.path);
		blk_be_close(&be);
		return r;
	}
	KTAP_CHECK(!which || !strcmp(which, "null_blk"),
		   "KVHOST_BENCH_DEV=%s: null_blk or brd", which);
	KTAP_CHECK(!nullb_setup(path, sizeof(path), why, sizeof(why)),
		   "cannot make a memory-backed null_blk: %s", why);
	r = bench_on(&b, path);
	nullb_remove();
	return r;
}

static const struct ktap_case cases[] = {
	KTAP_CASE_T(bench, 1800),
};

int main(void)
{
	return ktap_run(cases, KTAP_ARRAY_SIZE(cases));
}
