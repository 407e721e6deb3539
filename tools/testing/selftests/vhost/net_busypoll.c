// SPDX-License-Identifier: GPL-2.0
/*
 * net_busypoll: vhost-net's busy polling, VHOST_SET_VRING_BUSYLOOP_TIMEOUT
 * (QEMU's -netdev tap,poll-us=N).
 *
 * A handler with a budget that runs out of work spins for up to that many
 * microseconds, with guest notifications off, watching its pair: the TX
 * avail ring, and the tap together with the RX avail ring. What the tests
 * can see of that from the guest's side is a frame the driver posts on TX
 * without kicking:
 *
 *  - GET_VRING_BUSYLOOP_TIMEOUT returns what SET set, per queue.
 *  - TX budget of 200 ms: right after the device used a kicked frame, a
 *    second frame posted without a kick is still sent (the TX spin finds
 *    it). With no budget it is not, within half a second (the negative
 *    control), and goes out once kicked.
 *  - The spin is bounded: well after a 100 ms budget ran out, an un-kicked
 *    frame is not sent.
 *  - RX budget of 200 ms (TX none): after the device delivered a frame into
 *    the guest, the RX spin watches the TX ring too and sends an un-kicked
 *    TX frame; without an RX budget it does not.
 *  - A TX spin (1.5 s budget) does not hold up RX: a frame the host sends
 *    meanwhile reaches the guest's ring long before the budget is spent.
 *  - Nor does one of 60 s hold up the VMM: ioctls on the spinning queue
 *    return at once, and so does close().
 *
 * A spin gives way as soon as the scheduler wants its CPU, so the worker
 * and this process are pinned to different CPUs (the test needs two). A
 * round that spun but still missed the frame (another task woke on the
 * worker's CPU) is repeated, up to ROUNDS times; the negative controls can
 * never send an un-kicked frame, so a single send proves the spin. Cases
 * run on split and on packed rings where the ring format matters.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net_common.h"

#define F_MRG		(NET_F_BASE | BIT(VIRTIO_NET_F_MRG_RXBUF))
#define NSLOT		64
#define SLOT		2048
#define ROUNDS		5
/* How long an un-kicked frame may take when a spin is to find it. */
#define FOUND_MS	1000
/* How long the negative controls wait for it not to come. */
#define QUIET_MS	500

static uint8_t frame[NET_MAX_FRAME], got[NET_MAX_FRAME];

struct bp {
	struct net_env e;
	uint8_t *tx, *rx;
	uint32_t txc[NSLOT], rxc[NSLOT];
};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* The worker of the device this process owns: the kthread vhost-<pid>. */
static pid_t find_worker(void)
{
	char want[32], path[300], comm[32];
	struct dirent *d;
	pid_t found = -1;
	DIR *dir;
	ssize_t n;
	int fd;

	snprintf(want, sizeof(want), "vhost-%d\n", getpid());
	dir = opendir("/proc");
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n <= 0)
			continue;
		comm[n] = 0;
		if (!strcmp(comm, want)) {
			found = atoi(d->d_name);
			break;
		}
	}
	closedir(dir);
	return found;
}

static int pin(pid_t pid, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(pid, sizeof(set), &set);
}

/*
 * Tap, vhost-net with @features on 256-entry rings, both backends, the
 * worker on CPU 0 and this process on CPU 1, RX buffers posted.
 */
static enum ktap_result bp_init(struct bp *b, uint64_t features)
{
	enum ktap_result r;
	unsigned int k;
	pid_t worker;

	KTAP_SKIP_IF(sysconf(_SC_NPROCESSORS_ONLN) < 2,
		     "busy polling needs the worker and the test on two CPUs");
	r = net_env_init(&b->e, NET_TAP_VNET_HDR, features, 256, 4 * MIB,
			 1500, false);
	if (r != KTAP_PASS)
		return r;
	worker = find_worker();
	KTAP_CHECK(worker > 0, "no vhost-%d thread", getpid());
	KTAP_OK(pin(worker, 0));
	KTAP_OK(pin(0, 1));
	b->tx = vdrv_mem_alloc(b->e.mem, NSLOT * SLOT, 64);
	b->rx = vdrv_mem_alloc(b->e.mem, NSLOT * SLOT, 64);
	KTAP_CHECK(b->tx && b->rx, "%s", vdrv_last_error());
	for (k = 0; k < NSLOT; k++) {
		struct vdrv_buf in = { .ptr = b->rx + k * SLOT, .len = SLOT };

		b->rxc[k] = k;
		VOK(vdrv_vq_add(b->e.rx, NULL, 0, &in, 1, &b->rxc[k]));
	}
	VOK(vdrv_vq_kick_force(b->e.rx));
	return KTAP_PASS;
}

static enum ktap_result set_budget(struct bp *b, unsigned int index,
				   unsigned int usecs)
{
	struct vhost_vring_state s = { .index = index };

	VOK(vdrv_vring_set_busyloop_timeout(b->e.dev, index, usecs));
	VOK(vdrv_ioctl(b->e.dev, VHOST_GET_VRING_BUSYLOOP_TIMEOUT, &s));
	KTAP_EXPECT_EQ(s.num, usecs);
	return KTAP_PASS;
}

/* Post TX frame @seq (a length that depends on it) without kicking. */
static int tx_post(struct bp *b, uint32_t seq)
{
	unsigned int k = seq % NSLOT;
	uint8_t *p = b->tx + k * SLOT;
	size_t len = 60 + (seq * 131) % 1400;
	struct vdrv_buf out = { .ptr = p, .len = NET_HDR_LEN + len };

	memset(p, 0, NET_HDR_LEN);
	net_frame(p + NET_HDR_LEN, len, seq);
	b->txc[k] = seq;
	return vdrv_vq_add(b->e.tx, &out, 1, NULL, 0, &b->txc[k]);
}

/* The next TX completion is frame @seq. */
static enum ktap_result tx_used(struct bp *b, uint32_t seq, int timeout_ms)
{
	uint32_t *c = vdrv_vq_wait_used(b->e.tx, NULL, timeout_ms);

	KTAP_CHECK(c, "tx frame %u: %s", seq, vdrv_last_error());
	KTAP_EXPECT_EQ(*c, seq);
	return KTAP_PASS;
}

/* The host got TX frame @seq, intact. */
static enum ktap_result host_got(struct bp *b, uint32_t seq)
{
	int n = net_pkt_recv(&b->e, got, 5000);

	KTAP_CHECK(n > 0, "tx frame %u: %s", seq, strerror(-n));
	KTAP_EXPECT_EQ(net_frame_seq(got, n), seq);
	KTAP_EXPECT_EQ(n, 60 + (seq * 131) % 1400);
	KTAP_CHECK(net_frame_ok(got, n, seq), "tx frame %u", seq);
	return KTAP_PASS;
}

/* The host sends frame @seq of @len bytes; it lands in the guest intact. */
static enum ktap_result rx_frame(struct bp *b, uint32_t seq, size_t len,
				 int64_t *us)
{
	int64_t t0 = now_us();
	struct vdrv_buf in;
	uint32_t n, *c;
	uint8_t *p;

	net_frame(frame, len, seq);
	KTAP_OK(net_pkt_send(&b->e, frame, len));
	c = vdrv_vq_wait_used(b->e.rx, &n, 5000);
	KTAP_CHECK(c, "rx frame %u: %s", seq, vdrv_last_error());
	if (us)
		*us = now_us() - t0;
	p = b->rx + *c * SLOT;
	KTAP_EXPECT_EQ(n, NET_HDR_LEN + len);
	KTAP_EXPECT_EQ(p[10] | p[11] << 8, 1);	/* num_buffers */
	KTAP_CHECK(net_frame_ok(p + NET_HDR_LEN, len, seq), "rx frame %u",
		   seq);
	/* Give the buffer back; 64 of them never run out, so no kick. */
	in = (struct vdrv_buf){ .ptr = p, .len = SLOT };
	VOK(vdrv_vq_add(b->e.rx, NULL, 0, &in, 1, c));
	return KTAP_PASS;
}

/*
 * Post frame @seq + 1 without a kick, with a spin (maybe) running; *@sent
 * says whether the device used it within @wait_ms. If not, it is kicked
 * then. Either way both it and @seq, sent before, must reach the host.
 */
static enum ktap_result unkicked(struct bp *b, uint32_t seq, int wait_ms,
				 bool *sent, int64_t *us)
{
	int64_t t0 = now_us();
	uint32_t *c;
	int n;

	VOK(tx_post(b, seq + 1));
	c = vdrv_vq_wait_used(b->e.tx, NULL, wait_ms);
	*sent = !!c;
	if (c) {
		*us = now_us() - t0;
		KTAP_EXPECT_EQ(*c, seq + 1);
	} else {
		KTAP_CHECK(errno == ETIMEDOUT, "%s", vdrv_last_error());
		KTAP_EXPECT_EQ(vdrv_vq_used_pending(b->e.tx), 0);
		if (host_got(b, seq) != KTAP_PASS)
			return KTAP_FAIL;
		/* Nothing went out behind the guest's back. */
		n = net_pkt_recv(&b->e, got, 0);
		KTAP_CHECK(n == -ETIMEDOUT, "frame %lld went out, not kicked",
			   (long long)net_frame_seq(got, n));
		VOK(vdrv_vq_kick_force(b->e.tx));
		if (tx_used(b, seq + 1, 5000) != KTAP_PASS)
			return KTAP_FAIL;
		return host_got(b, seq + 1);
	}
	if (host_got(b, seq) != KTAP_PASS)
		return KTAP_FAIL;
	return host_got(b, seq + 1);
}

/* ------------------------------------------------------------------------
 * The cases
 */

/* SET and GET per queue; the two queues' budgets are independent. */
static enum ktap_result budget_get_set(void)
{
	static const unsigned int vals[] = { 1, 50, 200000, 0xffffffffu, 0 };
	struct vhost_vring_state s;
	enum ktap_result r;
	unsigned int i;
	struct bp b;

	r = bp_init(&b, F_MRG);
	if (r != KTAP_PASS)
		return r;
	for (i = 0; i < 2; i++) {
		s = (struct vhost_vring_state){ .index = i, .num = 7 };
		VOK(vdrv_ioctl(b.e.dev, VHOST_GET_VRING_BUSYLOOP_TIMEOUT, &s));
		KTAP_EXPECT_EQ(s.num, 0);
	}
	for (i = 0; i < KTAP_ARRAY_SIZE(vals); i++) {
		if (set_budget(&b, 1, vals[i]) != KTAP_PASS ||
		    set_budget(&b, 0, i + 3) != KTAP_PASS)
			return KTAP_FAIL;
		s = (struct vhost_vring_state){ .index = 1 };
		VOK(vdrv_ioctl(b.e.dev, VHOST_GET_VRING_BUSYLOOP_TIMEOUT, &s));
		KTAP_EXPECT_EQ(s.num, vals[i]);
	}
	/* Traffic still flows with a 1 us budget on both. */
	if (set_budget(&b, 0, 1) != KTAP_PASS ||
	    set_budget(&b, 1, 1) != KTAP_PASS)
		return KTAP_FAIL;
	for (i = 0; i < 20; i++) {
		VOK(tx_post(&b, i));
		VOK(vdrv_vq_kick_force(b.e.tx));
		if (tx_used(&b, i, 5000) != KTAP_PASS ||
		    host_got(&b, i) != KTAP_PASS ||
		    rx_frame(&b, 1000 + i, 100 + i * 50, NULL) != KTAP_PASS)
			return KTAP_FAIL;
	}
	KTAP_EXPECT_EQ(b.e.tx->err_count + b.e.rx->err_count, 0);
	net_env_fini(&b.e);
	return KTAP_PASS;
}

/*
 * Rounds of: frame seq kicked, its completion, frame seq + 1 posted without
 * a kick. With a TX budget (@usecs), a round sends the second frame; with
 * none, no round does. The figures printed: rounds that sent the un-kicked
 * frame, of those tried, and the shortest time it took.
 */
static enum ktap_result tx_spin(enum net_ring ring, unsigned int usecs)
{
	unsigned int i, rounds = usecs ? ROUNDS : 2, spun = 0;
	int64_t us, best = -1;
	enum ktap_result r;
	uint32_t seq = 1;
	bool sent;
	struct bp b;

	r = bp_init(&b, F_MRG | net_ring_features(ring));
	if (r != KTAP_PASS)
		return r;
	if (set_budget(&b, 1, usecs) != KTAP_PASS)
		return KTAP_FAIL;
	for (i = 0; i < rounds && spun < 2; i++, seq += 2) {
		VOK(tx_post(&b, seq));
		VOK(vdrv_vq_kick_force(b.e.tx));
		if (tx_used(&b, seq, 5000) != KTAP_PASS)
			return KTAP_FAIL;
		/* The device has drained the ring: it spins now, or waits. */
		if (unkicked(&b, seq, usecs ? FOUND_MS : QUIET_MS, &sent,
			     &us) != KTAP_PASS)
			return KTAP_FAIL;
		if (!sent)
			continue;
		KTAP_CHECK(usecs, "round %u: sent without a kick or a budget",
			   i);
		spun++;
		if (best < 0 || us < best)
			best = us;
	}
	if (usecs) {
		KTAP_CHECK(spun, "%u rounds, no un-kicked frame was sent", i);
		ktap_diag("%s ring, %u us TX budget: %u/%u rounds, best %lld us",
			  net_ring_name(ring), usecs, spun, i,
			  (long long)best);
	} else {
		ktap_diag("%s ring, no budget: %u un-kicked frames waited for their kick",
			  net_ring_name(ring), i);
	}
	KTAP_EXPECT_EQ(b.e.tx->err_count, 0);
	net_env_fini(&b.e);
	return KTAP_PASS;
}

static enum ktap_result tx_spin_split(void)
{
	return tx_spin(NET_RING_SPLIT, 200000);
}

static enum ktap_result tx_spin_packed(void)
{
	return tx_spin(NET_RING_PACKED, 200000);
}

static enum ktap_result tx_no_budget_split(void)
{
	return tx_spin(NET_RING_SPLIT, 0);
}

static enum ktap_result tx_no_budget_packed(void)
{
	return tx_spin(NET_RING_PACKED, 0);
}

/* A 100 ms spin is over 700 ms later: an un-kicked frame then waits. */
static enum ktap_result tx_spin_ends(void)
{
	enum ktap_result r;
	int64_t us;
	bool sent;
	struct bp b;

	r = bp_init(&b, F_MRG);
	if (r != KTAP_PASS)
		return r;
	if (set_budget(&b, 1, 100000) != KTAP_PASS)
		return KTAP_FAIL;
	VOK(tx_post(&b, 1));
	VOK(vdrv_vq_kick_force(b.e.tx));
	if (tx_used(&b, 1, 5000) != KTAP_PASS)
		return KTAP_FAIL;
	usleep(700 * 1000);
	if (unkicked(&b, 1, QUIET_MS, &sent, &us) != KTAP_PASS)
		return KTAP_FAIL;
	KTAP_CHECK(!sent, "sent %lld us after the post, the spin should be over",
		   (long long)us);
	KTAP_EXPECT_EQ(b.e.tx->err_count, 0);
	net_env_fini(&b.e);
	return KTAP_PASS;
}

/*
 * Rounds of: the host sends an RX frame, the device delivers it (and, with
 * an RX budget, spins), then TX frame seq + 1 is posted without a kick.
 * With an RX budget of @usecs, the RX spin finds it; with none, it waits.
 * The TX queue has no budget of its own.
 */
static enum ktap_result rx_spin(enum net_ring ring, unsigned int usecs)
{
	unsigned int i, rounds = usecs ? ROUNDS : 2, spun = 0;
	int64_t t0, us, best = -1;
	enum ktap_result r;
	uint32_t seq = 1;
	struct bp b;

	r = bp_init(&b, F_MRG | net_ring_features(ring));
	if (r != KTAP_PASS)
		return r;
	if (set_budget(&b, 0, usecs) != KTAP_PASS ||
	    set_budget(&b, 1, 0) != KTAP_PASS)
		return KTAP_FAIL;
	for (i = 0; i < rounds && spun < 2; i++, seq += 2) {
		/* Frame seq comes in on RX; seq + 1 goes out on TX. */
		if (rx_frame(&b, seq, 200 + i * 100, NULL) != KTAP_PASS)
			return KTAP_FAIL;
		t0 = now_us();
		VOK(tx_post(&b, seq + 1));
		if (vdrv_vq_wait_used(b.e.tx, NULL,
				      usecs ? FOUND_MS : QUIET_MS)) {
			us = now_us() - t0;
			KTAP_CHECK(usecs,
				   "round %u: sent without a kick or a budget",
				   i);
			if (host_got(&b, seq + 1) != KTAP_PASS)
				return KTAP_FAIL;
			spun++;
			if (best < 0 || us < best)
				best = us;
			continue;
		}
		KTAP_CHECK(errno == ETIMEDOUT, "%s", vdrv_last_error());
		KTAP_CHECK(net_pkt_recv(&b.e, got, 0) == -ETIMEDOUT,
			   "a frame went out unkicked");
		VOK(vdrv_vq_kick_force(b.e.tx));
		if (tx_used(&b, seq + 1, 5000) != KTAP_PASS ||
		    host_got(&b, seq + 1) != KTAP_PASS)
			return KTAP_FAIL;
	}
	if (usecs) {
		KTAP_CHECK(spun, "%u rounds, the RX spin never sent TX", i);
		ktap_diag("%s ring, %u us RX budget: %u/%u rounds, best %lld us",
			  net_ring_name(ring), usecs, spun, i,
			  (long long)best);
	} else {
		ktap_diag("%s ring, no RX budget: %u un-kicked TX frames waited for their kick",
			  net_ring_name(ring), i);
	}
	KTAP_EXPECT_EQ(b.e.tx->err_count + b.e.rx->err_count, 0);
	net_env_fini(&b.e);
	return KTAP_PASS;
}

static enum ktap_result rx_spin_split(void)
{
	return rx_spin(NET_RING_SPLIT, 200000);
}

static enum ktap_result rx_spin_packed(void)
{
	return rx_spin(NET_RING_PACKED, 200000);
}

static enum ktap_result rx_no_budget(void)
{
	return rx_spin(NET_RING_SPLIT, 0);
}

/*
 * While TX spins on a 1.5 s budget, frames the host sends reach the guest
 * at once: the spin watches the tap and gives way to other work.
 */
static enum ktap_result tx_spin_lets_rx_in(void)
{
	enum { BUDGET_MS = 1500 };
	int64_t us, worst = 0;
	enum ktap_result r;
	uint32_t seq;
	struct bp b;

	r = bp_init(&b, F_MRG);
	if (r != KTAP_PASS)
		return r;
	if (set_budget(&b, 1, BUDGET_MS * 1000) != KTAP_PASS)
		return KTAP_FAIL;
	for (seq = 1; seq <= 3; seq++) {
		VOK(tx_post(&b, seq));
		VOK(vdrv_vq_kick_force(b.e.tx));
		if (tx_used(&b, seq, 5000) != KTAP_PASS ||
		    host_got(&b, seq) != KTAP_PASS)
			return KTAP_FAIL;
		/* TX spins now. */
		if (rx_frame(&b, 100 + seq, 300, &us) != KTAP_PASS)
			return KTAP_FAIL;
		KTAP_CHECK(us < BUDGET_MS * 1000 / 2,
			   "rx frame took %lld us, behind the TX spin",
			   (long long)us);
		if (us > worst)
			worst = us;
	}
	ktap_diag("rx frames during a %d ms TX spin arrived within %lld us",
		  BUDGET_MS, (long long)worst);
	KTAP_EXPECT_EQ(b.e.tx->err_count + b.e.rx->err_count, 0);
	net_env_fini(&b.e);
	return KTAP_PASS;
}

/* A 60 s TX spin gives way to ioctls on its queue, and to close(). */
static enum ktap_result tx_spin_yields_to_vmm(void)
{
	struct vhost_vring_state s = { .index = 1 };
	int64_t t0, get_us, set_us, close_us;
	enum ktap_result r;
	uint32_t seq, *c;
	bool spun;
	struct bp b;

	r = bp_init(&b, F_MRG);
	if (r != KTAP_PASS)
		return r;
	if (set_budget(&b, 1, 60000000) != KTAP_PASS)
		return KTAP_FAIL;
	VOK(tx_post(&b, 1));
	VOK(vdrv_vq_kick_force(b.e.tx));
	if (tx_used(&b, 1, 5000) != KTAP_PASS || host_got(&b, 1) != KTAP_PASS)
		return KTAP_FAIL;
	/*
	 * It spins: an un-kicked frame still goes out. A spin may end early
	 * (need_resched() on a busy VM): then the frame is kicked out and
	 * the next round tries again, as in the other spin cases.
	 */
	for (seq = 2, spun = false; seq < 2 + ROUNDS && !spun; seq++) {
		VOK(tx_post(&b, seq));
		c = vdrv_vq_wait_used(b.e.tx, NULL, FOUND_MS);
		spun = c;
		if (c) {
			KTAP_EXPECT_EQ(*c, seq);
		} else {
			VOK(vdrv_vq_kick_force(b.e.tx));
			if (tx_used(&b, seq, 5000) != KTAP_PASS)
				return KTAP_FAIL;
		}
		if (host_got(&b, seq) != KTAP_PASS)
			return KTAP_FAIL;
	}
	KTAP_CHECK(spun, "no un-kicked frame went out in %d rounds", ROUNDS);
	t0 = now_us();
	VOK(vdrv_ioctl(b.e.dev, VHOST_GET_VRING_BUSYLOOP_TIMEOUT, &s));
	get_us = now_us() - t0;
	KTAP_EXPECT_EQ(s.num, 60000000);
	/* Spinning again, then stopped by GET_VRING_BASE's queue lock. */
	VOK(tx_post(&b, seq));
	VOK(vdrv_vq_kick_force(b.e.tx));
	if (tx_used(&b, seq, 5000) != KTAP_PASS ||
	    host_got(&b, seq) != KTAP_PASS)
		return KTAP_FAIL;
	seq++;
	t0 = now_us();
	VOK(vdrv_net_set_backend(b.e.dev, 1, -1));
	VOK(vdrv_vq_get_base(b.e.tx, NULL));
	set_us = now_us() - t0;
	VOK(vdrv_vq_start(b.e.tx));
	VOK(vdrv_net_set_backend(b.e.dev, 1, b.e.tap));
	VOK(tx_post(&b, seq));
	VOK(vdrv_vq_kick_force(b.e.tx));
	if (tx_used(&b, seq, 5000) != KTAP_PASS ||
	    host_got(&b, seq) != KTAP_PASS)
		return KTAP_FAIL;
	KTAP_EXPECT_EQ(b.e.tx->err_count, 0);
	t0 = now_us();
	net_env_fini(&b.e);
	close_us = now_us() - t0;
	ktap_diag("during a 60 s spin: GET took %lld us, stop %lld us, close %lld us",
		  (long long)get_us, (long long)set_us, (long long)close_us);
	KTAP_CHECK(get_us < 5000000 && set_us < 5000000 && close_us < 5000000,
		   "the VMM waited for the spin");
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(budget_get_set),
	KTAP_CASE(tx_spin_split),
	KTAP_CASE(tx_spin_packed),
	KTAP_CASE(tx_no_budget_split),
	KTAP_CASE(tx_no_budget_packed),
	KTAP_CASE(tx_spin_ends),
	KTAP_CASE(rx_spin_split),
	KTAP_CASE(rx_spin_packed),
	KTAP_CASE(rx_no_budget),
	KTAP_CASE(tx_spin_lets_rx_in),
	KTAP_CASE(tx_spin_yields_to_vmm),
};

int main(void)
{
	return ktap_run(cases, KTAP_ARRAY_SIZE(cases));
}
