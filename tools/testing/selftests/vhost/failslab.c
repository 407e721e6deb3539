// SPDX-License-Identifier: GPL-2.0
/*
 * failslab: slab allocation failures on the setup paths of vhost-net and
 * vhost-blk. Needs a kernel with CONFIG_FAILSLAB and fault-injection
 * debugfs (tools/testing/vm's debug kernel); elsewhere every case skips.
 *
 * The setup is split into steps, each one system call or a few: open,
 * SET_OWNER, SET_FEATURES, SET_MEM_TABLE, the vring ioctls, SET_BACKEND,
 * SET_LOG_BASE. For each step, /proc/thread-self/fail-nth makes the n-th
 * slab allocation of this thread fail, for n = 1, 2, ... until the step
 * runs through without reaching an n-th allocation, so that every
 * allocation on the path (ours and the VFS's around it) fails once. For
 * each n the test asserts that:
 *  - the step either fails with ENOMEM, or succeeds (an allocation with a
 *    fallback, such as kvmalloc()'s, may absorb the failure), and that it
 *    never fails without an injected fault;
 *  - a failed step succeeds when retried without injection, and the rest
 *    of the setup then works;
 *  - the device then works end to end: a TX frame reaches the tap, or a
 *    block write reads back and is in the backing file;
 *  - closing the device returns in bounded time.
 * A last case injects failures at random (probability, task filter) over
 * whole setups, several at once, with the same assertions.
 *
 * failslab ignores sleeping (GFP_KERNEL) allocations by default; the test
 * sets ignore-gfp-wait to N while it runs and restores it after. Leaks of
 * the error paths show in the kmemleak scan check-debug.sh makes after the
 * suite. fail-nth counts every slab allocation of the thread: the kernel
 * in Debian's 6.1 offers no filter by module on x86_64 (the stacktrace
 * filter is !X86_64), and page allocations (kmalloc() above 8 KiB, vmalloc
 * pages) would need CONFIG_FAIL_PAGE_ALLOC.
 *
 * When two injected failures hit one kvmalloc() (the random cases), the
 * kernel prints warn_alloc's "vmalloc error" with a stack: check-debug.sh
 * leaves those reports of the "failslab" task out of its splat check, but
 * run-vm.sh alone exits 3 on them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/vhost_blk.h>
#include <sys/eventfd.h>
#include <sys/mman.h>

#include "net_common.h"
#include "stress_common.h"

#define FS_DIR		"/sys/kernel/debug/failslab"
#define FAIL_NTH	"/proc/thread-self/fail-nth"
#define MAX_NTH		1000	/* more allocations on one step is a bug */
#define CLOSE_S		30
#define RING_NUM	64
#define BLK_FILE	(1024 * 1024)

enum kind { K_NET, K_BLK };

/* Everything one setup needs; the tap and the backing file persist. */
struct ctx {
	enum kind kind;
	const char *path;
	struct vdrv_dev *dev;
	struct vdrv_mem *mem;
	struct vdrv_vq *vq[2];
	unsigned int nvq;
	struct vhost_memory *table;
	uint64_t features;
	uint8_t *log;
	size_t log_len;
	int log_fd;
	/* net */
	struct net_env net;	/* tap, packet socket, ifindex */
	/* blk */
	int file;
	uint32_t seq;
};

struct step {
	const char *name;
	/* Unarmed preparation, e.g. buffers the system call takes. */
	int (*prep)(struct ctx *c);
	/* The system calls under injection: 0 or -errno. */
	int (*act)(struct ctx *c);
};

/* ------------------------------------------------------------------------
 * Fault injection control.
 */

static int nth_fd = -1;

static int write_str(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = write(fd, val, strlen(val)) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static int read_str(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	return 0;
}

/* The failslab knobs we change, and their values before. */
static const char *const knobs[] = { "ignore-gfp-wait", "verbose",
				     "probability", "interval", "times",
				     "space", "task-filter" };
static char saved[KTAP_ARRAY_SIZE(knobs)][32];

static void knob(const char *name, const char *val)
{
	char p[128];

	snprintf(p, sizeof(p), FS_DIR "/%s", name);
	write_str(p, val);
}

static void failslab_restore(void)
{
	size_t i;

	for (i = 0; i < KTAP_ARRAY_SIZE(knobs); i++)
		if (saved[i][0])
			knob(knobs[i], saved[i]);
	if (nth_fd >= 0) {
		close(nth_fd);
		nth_fd = -1;
	}
}

/*
 * Set failslab up for fail-nth: sleeping allocations count, no console
 * noise (verbose 2 prints a stack per failure, which the harness would take
 * for a splat), probability 0 so that only fail-nth injects. KTAP_SKIP with
 * the reason on a kernel without failslab.
 */
static enum ktap_result failslab_init(void)
{
	char p[128];
	size_t i;

	KTAP_SKIP_IF(access(FS_DIR, F_OK),
		     "no %s: the kernel lacks CONFIG_FAILSLAB and CONFIG_FAULT_INJECTION_DEBUG_FS (run it under make check-debug)",
		     FS_DIR);
	KTAP_SKIP_IF(access(FAIL_NTH, F_OK), "no %s", FAIL_NTH);
	for (i = 0; i < KTAP_ARRAY_SIZE(knobs); i++) {
		snprintf(p, sizeof(p), FS_DIR "/%s", knobs[i]);
		KTAP_CHECK(!read_str(p, saved[i], sizeof(saved[i])), "read %s: %s",
			   p, strerror(errno));
	}
	knob("ignore-gfp-wait", "N");
	knob("verbose", "0");
	knob("probability", "0");
	knob("space", "0");
	knob("task-filter", "N");
	nth_fd = open(FAIL_NTH, O_RDWR | O_CLOEXEC);
	KTAP_CHECK(nth_fd >= 0, "%s: %s", FAIL_NTH, strerror(errno));
	/*
	 * Fault everything in now and keep it there: a page fault inside an
	 * armed window would allocate (anon_vma) and turn an injected failure
	 * into EFAULT or an OOM kill instead of the errno under test.
	 */
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		ktap_diag("mlockall: %s: page faults may take injections",
			  strerror(errno));
	return KTAP_PASS;
}

/* Fail the @n-th slab allocation of this thread from now on. */
static void arm(unsigned int n)
{
	char buf[16];
	int len = snprintf(buf, sizeof(buf), "%u", n);

	if (pwrite(nth_fd, buf, len, 0) != len)
		ktap_diag("writing %u to fail-nth: %s", n, strerror(errno));
}

static void make_it_fail(int fd, bool on)
{
	if (pwrite(fd, on ? "1" : "0", 1, 0) != 1)
		ktap_diag("make-it-fail: %s", strerror(errno));
}

/* Stop injecting; true if the failure was injected. */
static bool disarm(void)
{
	char buf[16] = "";
	ssize_t n = pread(nth_fd, buf, sizeof(buf) - 1, 0);

	if (pwrite(nth_fd, "0", 1, 0) != 1)
		ktap_diag("clearing fail-nth: %s", strerror(errno));
	return n > 0 && strtoul(buf, NULL, 10) == 0;
}

/* ------------------------------------------------------------------------
 * The steps.
 */

static const char *alarm_what = "close";

static void on_alarm(int sig)
{
	char msg[128];
	int n = snprintf(msg, sizeof(msg), "# %s did not return in %d s\n",
			 alarm_what, CLOSE_S);

	if (n > 0 && write(STDOUT_FILENO, msg, n) < 0)
		n = 0;
	signal(sig, SIG_DFL);
	raise(sig);
}

static int act_open(struct ctx *c)
{
	int fd = open(c->path, O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	c->dev->fd = fd;
	return 0;
}

static int prep_open(struct ctx *c)
{
	/* Our own struct: vdrv_open() would malloc inside the window. */
	c->dev = calloc(1, sizeof(*c->dev));
	if (!c->dev)
		return -ENOMEM;
	c->dev->fd = -1;
	return 0;
}

static int act_owner(struct ctx *c)
{
	return vdrv_set_owner(c->dev);
}

static int act_features(struct ctx *c)
{
	return vdrv_set_features(c->dev, c->features);
}

static int prep_mem(struct ctx *c)
{
	free(c->table);
	c->table = vdrv_mem_table(c->mem);
	return c->table ? 0 : -ENOMEM;
}

static int act_mem(struct ctx *c)
{
	return vdrv_set_mem_table_raw(c->dev, c->table);
}

static int prep_vrings(struct ctx *c)
{
	unsigned int i;

	for (i = 0; i < c->nvq; i++) {
		if (c->vq[i])
			continue;
		c->vq[i] = vdrv_vq_create(c->dev, c->mem, i, RING_NUM, 0);
		if (!c->vq[i])
			return -errno;
		vdrv_vq_set_features(c->vq[i], c->features);
	}
	return 0;
}

static int act_vrings(struct ctx *c)
{
	unsigned int i;
	int r;

	for (i = 0; i < c->nvq; i++) {
		r = vdrv_vq_start(c->vq[i]);
		if (r)
			return r;
	}
	return 0;
}

static int act_backend(struct ctx *c)
{
	struct vhost_vring_file f = { .fd = c->file };
	unsigned int i;
	int r;

	for (i = 0; i < c->nvq; i++) {
		if (c->kind == K_NET) {
			r = vdrv_net_set_backend(c->dev, i, c->net.tap);
		} else {
			f.index = i;
			r = vdrv_ioctl(c->dev, VHOST_BLK_SET_BACKEND, &f);
		}
		/* Attached already, by the try that failed: not an error. */
		if (r && !(r == -EBUSY && c->kind == K_BLK))
			return r;
	}
	return 0;
}

static int act_log(struct ctx *c)
{
	int r = vdrv_set_log_base(c->dev, (uintptr_t)c->log);

	if (!r)
		r = vdrv_ioctl(c->dev, VHOST_SET_LOG_FD, &c->log_fd);
	return r;
}

static const struct step steps[] = {
	{ "open", prep_open, act_open },
	{ "SET_OWNER", NULL, act_owner },
	{ "SET_FEATURES", NULL, act_features },
	{ "SET_MEM_TABLE", prep_mem, act_mem },
	{ "vrings", prep_vrings, act_vrings },
	{ "SET_BACKEND", NULL, act_backend },
	{ "SET_LOG_BASE", NULL, act_log },
};

#define NSTEPS	KTAP_ARRAY_SIZE(steps)

/* ------------------------------------------------------------------------
 * One setup, its check and its teardown.
 */

/* A fresh device context: new guest memory each time, the same backends. */
static int ctx_begin(struct ctx *c)
{
	c->mem = vdrv_mem_create(MIB);
	if (!c->mem)
		return -errno;
	memset(c->vq, 0, sizeof(c->vq));
	c->dev = NULL;
	c->table = NULL;
	return 0;
}

static int ctx_end(struct ctx *c)
{
	int r = 0;

	if (c->dev) {
		unsigned int i;

		for (i = 0; i < c->nvq; i++)
			vdrv_vq_destroy(c->vq[i]);
		if (c->dev->fd >= 0) {
			alarm_what = "close of the device";
			alarm(CLOSE_S);
			r = close(c->dev->fd) ? -errno : 0;
			alarm(0);
		}
		free(c->dev);
		c->dev = NULL;
	}
	vdrv_mem_destroy(c->mem);
	c->mem = NULL;
	free(c->table);
	c->table = NULL;
	return r;
}

/* The device works end to end. */
static int ctx_check(struct ctx *c)
{
	static uint8_t rbuf[NET_MAX_FRAME];
	uint8_t *buf;
	uint32_t len;
	int cookie, got;

	c->seq++;
	if (c->kind == K_BLK) {
		buf = vdrv_mem_alloc(c->mem, 128 + 4096, 4096);
		if (!buf)
			return -1;
		return stress_blk_roundtrip(c->vq[0], buf, c->file,
					    8 * (c->seq % 64), 4096, c->seq);
	}
	buf = vdrv_mem_alloc(c->mem, NET_HDR_LEN + 600, 8);
	if (!buf)
		return -1;
	{
		struct vdrv_buf out = { .ptr = buf, .len = NET_HDR_LEN + 600 };

		net_frame(buf + NET_HDR_LEN, 600, c->seq);
		if (vdrv_vq_add(c->vq[1], &out, 1, NULL, 0, &cookie) < 0 ||
		    vdrv_vq_kick_force(c->vq[1]) < 0)
			goto fail;
	}
	if (vdrv_vq_wait_used(c->vq[1], &len, 10000) != &cookie)
		goto fail;
	got = net_pkt_recv(&c->net, rbuf, 10000);
	if (got != 600 || !net_frame_ok(rbuf, got, c->seq)) {
		ktap_diag("frame %u: got %d bytes", c->seq, got);
		return -1;
	}
	return 0;
fail:
	ktap_diag("TX: %s", vdrv_last_error());
	return -1;
}

static int run_step(struct ctx *c, unsigned int s)
{
	int r = steps[s].prep ? steps[s].prep(c) : 0;

	return r ? r : steps[s].act(c);
}

static enum ktap_result ctx_init(struct ctx *c, enum kind kind)
{
	struct vdrv_dev *dev;
	uint64_t offered;

	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->path = kind == K_NET ? "/dev/vhost-net" : "/dev/vhost-blk";
	c->file = -1;
	c->log_fd = -1;
	c->net.tap = -1;
	c->net.pkt = -1;
	dev = vdrv_open(c->path);
	KTAP_SKIP_IF(!dev && errno == ENOENT, "no %s", c->path);
	KTAP_CHECK(dev, "%s", vdrv_last_error());
	VOK(vdrv_get_features(dev, &offered));
	vdrv_close(dev);
	c->features = offered & (BIT(VIRTIO_F_VERSION_1) |
				 BIT(VIRTIO_RING_F_EVENT_IDX) |
				 BIT(VIRTIO_RING_F_INDIRECT_DESC));
	c->nvq = kind == K_NET ? 2 : 1;
	if (kind == K_NET) {
		/* net_env_init() gives us the tap and packet socket. */
		enum ktap_result r = net_env_init(&c->net, NET_TAP_VNET_HDR,
						  NET_F_BASE, 64, MIB, 1500,
						  true);

		if (r != KTAP_PASS)
			return r;
		vdrv_close(c->net.dev);
		vdrv_mem_destroy(c->net.mem);
		c->net.dev = NULL;
		c->net.mem = NULL;
	} else {
		c->file = memfd_create("kvhost-failslab", MFD_CLOEXEC);
		KTAP_CHECK(c->file >= 0, "memfd: %s", strerror(errno));
		KTAP_OK(ftruncate(c->file, BLK_FILE));
	}
	c->log_len = 2 * MIB;
	c->log = mmap(NULL, c->log_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KTAP_CHECK(c->log != MAP_FAILED, "mmap: %s", strerror(errno));
	c->log_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	KTAP_CHECK(c->log_fd >= 0, "eventfd: %s", strerror(errno));
	return KTAP_PASS;
}

static void ctx_fini(struct ctx *c)
{
	if (c->mem)
		ctx_end(c);
	if (c->net.pkt >= 0)
		close(c->net.pkt);
	if (c->net.tap >= 0)
		close(c->net.tap);
	if (c->file >= 0)
		close(c->file);
	if (c->log_fd >= 0)
		close(c->log_fd);
	if (c->log && c->log != MAP_FAILED)
		munmap(c->log, c->log_len);
}

/* ------------------------------------------------------------------------
 * The cases.
 */

/*
 * Every allocation of step @s fails once. Returns KTAP_PASS or KTAP_FAIL;
 * *@allocs gets the allocations seen, *@failed the injections that made
 * the step fail.
 */
static enum ktap_result nth_step(struct ctx *c, unsigned int s,
				 unsigned int *allocs, unsigned int *failed)
{
	unsigned int n, t;
	bool injected = true;
	int r;

	*failed = 0;
	for (n = 1; injected && n <= MAX_NTH; n++) {
		KTAP_OK(ctx_begin(c));
		for (t = 0; t < s; t++) {
			r = run_step(c, t);
			KTAP_CHECK(!r, "%s (before %s): %s", steps[t].name,
				   steps[s].name, strerror(-r));
		}
		r = steps[s].prep ? steps[s].prep(c) : 0;
		KTAP_CHECK(!r, "preparing %s: %s", steps[s].name, strerror(-r));
		arm(n);
		r = steps[s].act(c);
		injected = disarm();
		if (r) {
			KTAP_CHECK(injected, "%s failed with %s, nothing injected",
				   steps[s].name, strerror(-r));
			KTAP_CHECK(r == -ENOMEM,
				   "%s: allocation %u failed, returned %s, not ENOMEM",
				   steps[s].name, n, strerror(-r));
			(*failed)++;
			r = steps[s].act(c);
			KTAP_CHECK(!r, "%s retried after allocation %u failed: %s",
				   steps[s].name, n, strerror(-r));
		}
		for (t = s + 1; t < NSTEPS; t++) {
			r = run_step(c, t);
			KTAP_CHECK(!r, "%s after allocation %u of %s failed: %s",
				   steps[t].name, n, steps[s].name,
				   strerror(-r));
		}
		KTAP_CHECK(!ctx_check(c),
			   "the device is broken after allocation %u of %s",
			   n, steps[s].name);
		KTAP_OK(ctx_end(c));
	}
	KTAP_CHECK(!injected, "%s: still allocating after %u failures",
		   steps[s].name, MAX_NTH);
	*allocs = n - 2;
	return KTAP_PASS;
}

static enum ktap_result every_allocation(enum kind kind)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	unsigned int s, allocs, failed, total = 0, total_failed = 0;
	enum ktap_result r;
	struct ctx c;

	r = failslab_init();
	if (r != KTAP_PASS)
		return r;
	sigaction(SIGALRM, &sa, NULL);
	r = ctx_init(&c, kind);
	for (s = 0; r == KTAP_PASS && s < NSTEPS; s++) {
		int64_t t0 = net_now_ms();

		r = nth_step(&c, s, &allocs, &failed);
		if (r == KTAP_PASS)
			ktap_diag("%s %s: %u allocations; failed: %u ENOMEM, %u absorbed (%.1f s)",
				  c.path, steps[s].name, allocs, failed,
				  allocs - failed,
				  (net_now_ms() - t0) / 1000.0);
		total += allocs;
		total_failed += failed;
	}
	ctx_fini(&c);
	failslab_restore();
	if (r == KTAP_PASS) {
		ktap_diag("%s: %u allocations failed one by one, %u setups",
			  c.path, total, total + (unsigned int)NSTEPS);
		/* Not vacuous: the setup paths do allocate, and fail. */
		KTAP_CHECK(total_failed > 0, "no injected failure ever reached a caller");
	}
	return r;
}

static enum ktap_result net_every_allocation(void)
{
	return every_allocation(K_NET);
}

static enum ktap_result blk_every_allocation(void)
{
	return every_allocation(K_BLK);
}

/*
 * Random failures, several per setup: the task filter limits them to this
 * thread and only while make-it-fail is set, around each step.
 */
static enum ktap_result random_failures(enum kind kind, unsigned int rounds)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	unsigned int i, s, failures = 0, steps_run = 0;
	enum ktap_result r;
	struct ctx c;
	int e = 0, mif;
	int64_t t0;

	r = failslab_init();
	if (r != KTAP_PASS)
		return r;
	sigaction(SIGALRM, &sa, NULL);
	knob("task-filter", "Y");
	knob("interval", "1");
	knob("times", "-1");
	knob("probability", "20");
	/* Open now: opening allocates, and must not while it is set. */
	mif = open("/proc/thread-self/make-it-fail", O_RDWR | O_CLOEXEC);
	KTAP_CHECK(mif >= 0, "make-it-fail: %s", strerror(errno));
	r = ctx_init(&c, kind);
	t0 = net_now_ms();
	for (i = 0; r == KTAP_PASS && i < rounds; i++) {
		if (ctx_begin(&c)) {
			r = KTAP_FAIL;
			break;
		}
		for (s = 0; s < NSTEPS; s++) {
			e = steps[s].prep ? steps[s].prep(&c) : 0;
			if (e)
				break;
			make_it_fail(mif, true);
			e = steps[s].act(&c);
			make_it_fail(mif, false);
			steps_run++;
			if (e && e != -ENOMEM) {
				ktap_diag("round %u: %s returned %s, not ENOMEM",
					  i, steps[s].name, strerror(-e));
				break;
			}
			if (e) {
				failures++;
				e = steps[s].act(&c);
				if (e) {
					ktap_diag("round %u: %s retried: %s", i,
						  steps[s].name, strerror(-e));
					break;
				}
			}
		}
		if (e || ctx_check(&c)) {
			ktap_diag("round %u: the device does not work", i);
			r = KTAP_FAIL;
		}
		if (ctx_end(&c))
			r = KTAP_FAIL;
	}
	close(mif);
	ctx_fini(&c);
	failslab_restore();
	if (r == KTAP_PASS) {
		ktap_diag("%s: %u setups, %u steps, %u of them failed with ENOMEM (%.1f s)",
			  c.path, rounds, steps_run, failures,
			  (net_now_ms() - t0) / 1000.0);
		KTAP_CHECK(failures > 0, "no injected failure reached a caller");
	}
	return r;
}

static enum ktap_result net_random_failures(void)
{
	return random_failures(K_NET, 40);
}

static enum ktap_result blk_random_failures(void)
{
	return random_failures(K_BLK, 40);
}

int main(void)
{
	static const struct ktap_case cases[] = {
		KTAP_CASE_T(net_every_allocation, 240),
		KTAP_CASE_T(blk_every_allocation, 240),
		KTAP_CASE_T(net_random_failures, 120),
		KTAP_CASE_T(blk_random_failures, 120),
	};

	return ktap_run(cases, KTAP_ARRAY_SIZE(cases));
}
