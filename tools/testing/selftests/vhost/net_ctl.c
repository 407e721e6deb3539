// SPDX-License-Identifier: GPL-2.0
/*
 * net_ctl: vhost-net's control path and its behaviour under a VMM that
 * reconfigures it and a guest that misbehaves.
 *
 *  - VHOST_NET_SET_BACKEND errors: ENOTSOCK for anything but a tap, EBADF,
 *    ENOBUFS for a queue index beyond the pair, EPERM for a non-owner.
 *  - QEMU's stop (SET_BACKEND -1, GET_VRING_BASE) under traffic is exact:
 *    the base equals the used index and the frames that went through; after
 *    re-attaching, traffic resumes with nothing lost or duplicated.
 *  - Hostile guests (writable TX descriptor, descriptor loop, addresses
 *    outside the memory table, readable RX descriptor) fire the queue's err
 *    eventfd, and the other queue keeps working.
 *  - SET_VRING_CALL and SET_MEM_TABLE while traffic runs.
 *  - Dirty logging: every guest page RX wrote, and the used ring, is marked.
 *  - RESET_OWNER and close() under traffic.
 *
 * All but the SET_BACKEND errors run on split and on packed rings; the case
 * names say which.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <fcntl.h>

#include "net_common.h"

#define F_MRG	(NET_F_BASE | BIT(VIRTIO_NET_F_MRG_RXBUF))

static uint8_t frame[NET_MAX_FRAME], got[NET_MAX_FRAME];
static uint32_t rng = 0xdeadbeef;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* ------------------------------------------------------------------------
 * Guest helpers: TX slots and RX buffers of fixed size
 */

struct slots {
	uint8_t *mem;
	unsigned int n;
	uint32_t size;
	uint32_t *cookie;
};

static enum ktap_result slots_init(struct net_env *e, struct slots *s,
				   unsigned int n, uint32_t size)
{
	s->n = n;
	s->size = size;
	s->mem = vdrv_mem_alloc(e->mem, (size_t)n * size, 64);
	s->cookie = calloc(n, sizeof(*s->cookie));
	KTAP_CHECK(s->mem && s->cookie, "slots: %s", vdrv_last_error());
	return KTAP_PASS;
}

/* Post TX frame @seq (random length) in slot @seq % n. */
static int tx_post(struct net_env *e, struct slots *s, uint32_t seq)
{
	unsigned int k = seq % s->n;
	uint8_t *p = s->mem + (size_t)k * s->size;
	size_t n = 60 + rnd() % (s->size - e->hdr_len - 60);
	struct vdrv_buf out = { .ptr = p, .len = e->hdr_len + n };

	memset(p, 0, e->hdr_len);
	net_frame(p + e->hdr_len, n, seq);
	s->cookie[k] = seq;
	return vdrv_vq_add(e->tx, &out, 1, NULL, 0, &s->cookie[k]);
}

/* Post RX buffer @k. */
static int rx_post(struct net_env *e, struct slots *s, unsigned int k)
{
	struct vdrv_buf in = { .ptr = s->mem + (size_t)k * s->size,
			       .len = s->size };

	s->cookie[k] = k;
	return vdrv_vq_add(e->rx, NULL, 0, &in, 1, &s->cookie[k]);
}

static enum ktap_result rx_post_all(struct net_env *e, struct slots *s)
{
	unsigned int k;

	for (k = 0; k < s->n; k++)
		VOK(rx_post(e, s, k));
	VOK(vdrv_vq_kick(e->rx));
	return KTAP_PASS;
}

/*
 * Reap one RX frame of one buffer (frames here fit in one), check it is
 * @seq, repost the buffer. KTAP_PASS, or KTAP_FAIL; with @timeout_ms 0,
 * KTAP_SKIP means there was none.
 */
static enum ktap_result rx_one(struct net_env *e, struct slots *s,
			       uint32_t seq, int timeout_ms)
{
	uint32_t len, *c;
	uint8_t *p;

	c = timeout_ms ? vdrv_vq_wait_used(e->rx, &len, timeout_ms) :
			 vdrv_vq_get_used(e->rx, &len);
	if (!c && !timeout_ms && errno == EAGAIN)
		return KTAP_SKIP;
	KTAP_CHECK(c, "rx frame %u: %s", seq, vdrv_last_error());
	p = s->mem + (size_t)*c * s->size;
	KTAP_CHECK(len > e->hdr_len, "len %u", len);
	KTAP_EXPECT_EQ(p[10] | p[11] << 8, 1);	/* num_buffers */
	KTAP_EXPECT_EQ(net_frame_seq(p + e->hdr_len, len - e->hdr_len), seq);
	KTAP_CHECK(net_frame_ok(p + e->hdr_len, len - e->hdr_len, seq),
		   "rx frame %u", seq);
	VOK(rx_post(e, s, *c));
	VOK(vdrv_vq_kick(e->rx));
	return KTAP_PASS;
}

/* The host got TX frame @seq, intact. */
static enum ktap_result host_got(struct net_env *e, uint32_t seq,
				 int timeout_ms)
{
	int n = net_pkt_recv(e, got, timeout_ms);

	KTAP_CHECK(n > 0, "tx frame %u: %s", seq, strerror(-n));
	KTAP_EXPECT_EQ(net_frame_seq(got, n), seq);
	KTAP_CHECK(net_frame_ok(got, n, seq), "tx frame %u", seq);
	return KTAP_PASS;
}

/* One frame each way works: the queue the test did not break is fine. */
static enum ktap_result check_rx_works(struct net_env *e, uint32_t seq)
{
	struct slots s;

	if (slots_init(e, &s, 4, 2048) != KTAP_PASS ||
	    rx_post_all(e, &s) != KTAP_PASS)
		return KTAP_FAIL;
	net_frame(frame, 500, seq);
	KTAP_OK(net_pkt_send(e, frame, 500));
	return rx_one(e, &s, seq, 5000);
}

static enum ktap_result check_tx_works(struct net_env *e, uint32_t seq)
{
	struct slots s;

	if (slots_init(e, &s, 4, 2048) != KTAP_PASS)
		return KTAP_FAIL;
	VOK(tx_post(e, &s, seq));
	VOK(vdrv_vq_kick(e->tx));
	KTAP_CHECK(vdrv_vq_wait_used(e->tx, NULL, 5000), "%s",
		   vdrv_last_error());
	return host_got(e, seq, 5000);
}

/* ------------------------------------------------------------------------
 * SET_BACKEND errors
 */

static enum ktap_result backend_errors(void)
{
	int efd = eventfd(0, EFD_CLOEXEC), null, udp, status;
	struct net_env e;
	enum ktap_result r;
	pid_t pid;

	r = net_env_init(&e, NET_TAP_VNET_HDR, F_MRG, 64, 1 * MIB, 1500, true);
	if (r != KTAP_PASS)
		return r;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	KTAP_CHECK(efd >= 0 && null >= 0 && udp >= 0, "fds");
	KTAP_EXPECT_EQ(vdrv_net_set_backend(e.dev, 0, efd), -ENOTSOCK);
	KTAP_EXPECT_EQ(vdrv_net_set_backend(e.dev, 1, null), -ENOTSOCK);
	KTAP_EXPECT_EQ(vdrv_net_set_backend(e.dev, 1, udp), -ENOTSOCK);
	KTAP_EXPECT_EQ(vdrv_net_set_backend(e.dev, 0, 100000), -EBADF);
	KTAP_EXPECT_EQ(vdrv_net_set_backend(e.dev, 2, e.tap), -ENOBUFS);
	KTAP_EXPECT_EQ(vdrv_net_set_backend(e.dev, 0x80000000u, -1), -ENOBUFS);

	/* A non-owner gets EPERM, even for a valid request. */
	pid = fork();
	KTAP_CHECK(pid >= 0, "fork");
	if (!pid)
		_exit(vdrv_net_set_backend(e.dev, 0, e.tap) == -EPERM &&
		      vdrv_net_set_backend(e.dev, 2, -1) == -EPERM ? 0 : 1);
	KTAP_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		   !WEXITSTATUS(status), "child status 0x%x", status);

	/* Attach, attach the same again, detach twice: all fine. */
	VOK(vdrv_net_set_backend(e.dev, 0, e.tap));
	VOK(vdrv_net_set_backend(e.dev, 0, e.tap));
	VOK(vdrv_net_set_backend(e.dev, 1, e.tap));
	if (check_tx_works(&e, 1) != KTAP_PASS ||
	    check_rx_works(&e, 2) != KTAP_PASS)
		return KTAP_FAIL;
	VOK(vdrv_net_set_backend(e.dev, 0, -1));
	VOK(vdrv_net_set_backend(e.dev, 0, -1));
	/* A failed replacement keeps the attached tap. */
	KTAP_EXPECT_EQ(vdrv_net_set_backend(e.dev, 1, efd), -ENOTSOCK);
	if (check_tx_works(&e, 3) != KTAP_PASS)
		return KTAP_FAIL;
	close(efd);
	close(null);
	close(udp);
	net_env_fini(&e);
	return KTAP_PASS;
}

/* ------------------------------------------------------------------------
 * Stop/start exactness
 */

/*
 * The base after a stop: both halves (packed) or the index (split) where
 * @n one-descriptor chains leave a fresh ring; split: also used->idx in
 * guest memory, packed: the driver's used position once all is reaped.
 */
static enum ktap_result base_is(const struct vdrv_vq *vq, unsigned int base,
				unsigned int n)
{
	KTAP_EXPECT_EQ(base, net_base_after(vq, n));
	if (vq->format == VDRV_RING_PACKED)
		KTAP_EXPECT_EQ(base >> 16, vq->last_used_idx);
	else
		KTAP_EXPECT_EQ(base, vq->split.used->idx);
	return KTAP_PASS;
}

/* Detach TX at random moments of a flood; base == used == frames out. */
static enum ktap_result stop_start_tx(enum net_ring ring)
{
	enum { NUM = 256, TOTAL = 3000 };
	uint32_t posted = 0, done = 0, out = 0, *c;
	unsigned int cycles = 0, base;
	struct net_env e;
	enum ktap_result r;
	struct slots s;
	int n;

	r = net_env_init(&e, NET_TAP_VNET_HDR, F_MRG | net_ring_features(ring),
			 NUM, 4 * MIB, 1500, false);
	if (r != KTAP_PASS)
		return r;
	if (slots_init(&e, &s, NUM, 1600) != KTAP_PASS)
		return KTAP_FAIL;
	while (done < TOTAL) {
		while (posted < TOTAL && posted - done < NUM)
			VOK(tx_post(&e, &s, posted++));
		VOK(vdrv_vq_kick_force(e.tx));
		usleep(rnd() % 2000);
		/* QEMU's stop, in the middle of it. */
		VOK(vdrv_net_set_backend(e.dev, 1, -1));
		VOK(vdrv_vq_get_base(e.tx, &base));
		while ((c = vdrv_vq_get_used(e.tx, NULL))) {
			KTAP_EXPECT_EQ(*c, done);
			done++;
		}
		if (base_is(e.tx, base, done) != KTAP_PASS)
			return KTAP_FAIL;
		/* Exactly the completed frames went out, no more. */
		for (; out < done; out++)
			if (host_got(&e, out, 5000) != KTAP_PASS)
				return KTAP_FAIL;
		n = net_pkt_recv(&e, got, 20);
		KTAP_CHECK(n == -ETIMEDOUT, "frame %lld beyond the base %u",
			   (long long)net_frame_seq(got, n), base);
		/* QEMU's start: the vring again, then the backend. */
		VOK(vdrv_vq_start(e.tx));
		VOK(vdrv_net_set_backend(e.dev, 1, e.tap));
		cycles++;
	}
	KTAP_EXPECT_EQ(e.tx->err_count, 0);
	ktap_diag("%u frames, %u stop/start cycles", done, cycles);
	free(s.cookie);
	net_env_fini(&e);
	return KTAP_PASS;
}

/* Detach RX while the tap is full of frames; nothing lost or repeated. */
static enum ktap_result stop_start_rx(enum net_ring ring)
{
	enum { NUM = 256, TOTAL = 2400, BURST = 400 };
	uint32_t sent = 0, seen = 0, used = 0;
	unsigned int cycles = 0, base;
	struct net_env e;
	enum ktap_result r;
	struct slots s;

	r = net_env_init(&e, NET_TAP_VNET_HDR, F_MRG | net_ring_features(ring),
			 NUM, 4 * MIB, 2000, false);
	if (r != KTAP_PASS)
		return r;
	if (slots_init(&e, &s, 64, 2048) != KTAP_PASS ||
	    rx_post_all(&e, &s) != KTAP_PASS)
		return KTAP_FAIL;
	while (seen < TOTAL) {
		unsigned int stop_at = seen + rnd() % BURST;

		for (; sent < TOTAL && sent - seen < BURST; sent++) {
			size_t n = 60 + rnd() % 1900;

			net_frame(frame, n, sent);
			KTAP_OK(net_pkt_send(&e, frame, n));
		}
		while (seen < stop_at && seen < sent) {
			if (rx_one(&e, &s, seen, 5000) != KTAP_PASS)
				return KTAP_FAIL;
			seen++;
			used++;
		}
		VOK(vdrv_net_set_backend(e.dev, 0, -1));
		VOK(vdrv_vq_get_base(e.rx, &base));
		/* Whatever completed before the stop is in the ring now. */
		for (;;) {
			r = rx_one(&e, &s, seen, 0);
			if (r == KTAP_SKIP)
				break;
			if (r != KTAP_PASS)
				return r;
			seen++;
			used++;
		}
		if (base_is(e.rx, base, used) != KTAP_PASS)
			return KTAP_FAIL;
		VOK(vdrv_vq_start(e.rx));
		VOK(vdrv_net_set_backend(e.dev, 0, e.tap));
		cycles++;
	}
	KTAP_EXPECT_EQ(e.rx->err_count, 0);
	ktap_diag("%u frames, %u stop/start cycles", seen, cycles);
	free(s.cookie);
	net_env_fini(&e);
	return KTAP_PASS;
}

/*
 * VIRTIO_F_RING_RESET, as QEMU drives it: one vq is stopped, its ring
 * replaced by a new one of another size at another address, and started
 * again, while the sibling vq keeps carrying traffic throughout.
 */
static enum ktap_result ring_reset_tx(enum net_ring ring)
{
	enum { NUM = 256, NEW_NUM = 64, ROUNDS = 3, PER_ROUND = 40 };
	uint64_t want = F_MRG | BIT(VIRTIO_F_RING_RESET) |
			net_ring_features(ring);
	uint32_t rx_seq = 0, tx_seq = 0;
	unsigned int round, i, base;
	struct slots rxs, txs;
	struct net_env e;
	enum ktap_result r;

	r = net_env_init(&e, NET_TAP_VNET_HDR, want, NUM, 4 * MIB, 1500,
			 false);
	if (r != KTAP_PASS)
		return r;
	if (slots_init(&e, &rxs, 64, 2048) != KTAP_PASS ||
	    rx_post_all(&e, &rxs) != KTAP_PASS)
		return KTAP_FAIL;
	for (round = 0; round < ROUNDS; round++) {
		/* TX on the current ring. */
		if (slots_init(&e, &txs, 8, 1500) != KTAP_PASS)
			return KTAP_FAIL;
		for (i = 0; i < PER_ROUND; i++, tx_seq++) {
			VOK(tx_post(&e, &txs, tx_seq));
			VOK(vdrv_vq_kick(e.tx));
			KTAP_CHECK(vdrv_vq_wait_used(e.tx, NULL, 5000), "%s",
				   vdrv_last_error());
			if (host_got(&e, tx_seq, 5000) != KTAP_PASS)
				return KTAP_FAIL;
		}
		free(txs.cookie);
		/* Reset TX only: stop, read the base, drop the ring. */
		VOK(vdrv_net_set_backend(e.dev, 1, -1));
		VOK(vdrv_vq_get_base(e.tx, &base));
		KTAP_EXPECT_EQ(base, net_base_after(e.tx, PER_ROUND));
		vdrv_vq_destroy(e.tx);
		/* RX keeps going while TX is down. */
		for (i = 0; i < PER_ROUND; i++, rx_seq++) {
			net_frame(frame, 100 + i * 30, rx_seq);
			KTAP_OK(net_pkt_send(&e, frame, 100 + i * 30));
			if (rx_one(&e, &rxs, rx_seq, 5000) != KTAP_PASS)
				return KTAP_FAIL;
		}
		/* A fresh ring of another size, from index 0. */
		e.tx = vdrv_vq_create(e.dev, e.mem, 1,
				      round % 2 ? NUM : NEW_NUM,
				      ring == NET_RING_PACKED ?
				      VDRV_VQ_PACKED : 0);
		KTAP_CHECK(e.tx, "%s", vdrv_last_error());
		vdrv_vq_set_features(e.tx, want);
		VOK(vdrv_vq_start(e.tx));
		VOK(vdrv_net_set_backend(e.dev, 1, e.tap));
	}
	KTAP_EXPECT_EQ(e.rx->err_count, 0);
	KTAP_EXPECT_EQ(e.tx->err_count, 0);
	ktap_diag("%u TX and %u RX frames over %u TX ring resets", tx_seq,
		  rx_seq, ROUNDS);
	free(rxs.cookie);
	net_env_fini(&e);
	return KTAP_PASS;
}

static enum ktap_result ring_reset_tx_split(void)
{
	return ring_reset_tx(NET_RING_SPLIT);
}

static enum ktap_result ring_reset_tx_packed(void)
{
	return ring_reset_tx(NET_RING_PACKED);
}

static enum ktap_result stop_start_tx_split(void)
{
	return stop_start_tx(NET_RING_SPLIT);
}

static enum ktap_result stop_start_tx_packed(void)
{
	return stop_start_tx(NET_RING_PACKED);
}

static enum ktap_result stop_start_rx_split(void)
{
	return stop_start_rx(NET_RING_SPLIT);
}

static enum ktap_result stop_start_rx_packed(void)
{
	return stop_start_rx(NET_RING_PACKED);
}

/* ------------------------------------------------------------------------
 * Hostile guests
 */

enum hostile { H_TX_WRITABLE, H_TX_LOOP, H_TX_OOB, H_RX_OOB, H_RX_READABLE };

/* Make one raw descriptor available on a packed ring. */
static int packed_push1(struct vdrv_vq *vq, uint64_t addr, uint32_t len,
			uint16_t flags)
{
	struct vring_packed_desc d = { .addr = addr, .len = len,
				       .flags = flags };

	return vdrv_packed_push(vq, &d, 1);
}

/* A chain of NEXT descriptors as long as the ring, and longer: a loop. */
static int packed_push_loop(struct vdrv_vq *vq, uint64_t gpa)
{
	struct vring_packed_desc d[64];
	unsigned int k;

	for (k = 0; k < vq->num && k < 64; k++)
		d[k] = (struct vring_packed_desc){ .addr = gpa, .len = 60,
						   .flags = VRING_DESC_F_NEXT };
	return vdrv_packed_push(vq, d, k);
}

static enum ktap_result hostile_one(enum net_ring ring, enum hostile h)
{
	bool packed = ring == NET_RING_PACKED;
	uint16_t id, flags;
	struct net_env e;
	enum ktap_result r;
	struct vdrv_vq *bad;
	uint64_t gpa;
	uint8_t *buf;
	uint32_t len;

	r = net_env_init(&e, NET_TAP_VNET_HDR, F_MRG | net_ring_features(ring),
			 64, 1 * MIB, 1500, false);
	if (r != KTAP_PASS)
		return r;
	buf = vdrv_mem_alloc(e.mem, 4096, 64);
	KTAP_CHECK(buf, "%s", vdrv_last_error());
	gpa = vdrv_gpa(e.mem, buf);
	net_frame(buf + NET_HDR_LEN, 100, 77);
	bad = h <= H_TX_OOB ? e.tx : e.rx;
	switch (h) {
	case H_TX_WRITABLE: {
		struct vdrv_buf out = { .ptr = buf, .len = NET_HDR_LEN + 100 };
		struct vdrv_buf in = { .ptr = buf + 2048, .len = 100 };

		VOK(vdrv_vq_add(e.tx, &out, 1, &in, 1, buf));
		break;
	}
	case H_TX_LOOP:
		if (packed) {
			VOK(packed_push_loop(e.tx, gpa));
			break;
		}
		VOK(vdrv_split_set_desc(e.tx, 0, gpa, 60, VRING_DESC_F_NEXT, 1));
		VOK(vdrv_split_set_desc(e.tx, 1, gpa, 60, VRING_DESC_F_NEXT, 0));
		VOK(vdrv_split_push_avail(e.tx, 0));
		break;
	case H_TX_OOB:
		/* Below VDRV_GPA_BASE: in no region of the table. */
		if (packed) {
			VOK(packed_push1(e.tx, 0x10000, 100, 0));
			break;
		}
		VOK(vdrv_split_set_desc(e.tx, 0, 0x10000, 100, 0, 0));
		VOK(vdrv_split_push_avail(e.tx, 0));
		break;
	case H_RX_OOB:
		if (packed) {
			VOK(packed_push1(e.rx, 0x10000, 1500,
					 VRING_DESC_F_WRITE));
			break;
		}
		VOK(vdrv_split_set_desc(e.rx, 0, 0x10000, 1500,
					VRING_DESC_F_WRITE, 0));
		VOK(vdrv_split_push_avail(e.rx, 0));
		break;
	case H_RX_READABLE:
		if (packed) {
			VOK(packed_push1(e.rx, gpa, 1500, 0));
			break;
		}
		VOK(vdrv_split_set_desc(e.rx, 0, gpa, 1500, 0, 0));
		VOK(vdrv_split_push_avail(e.rx, 0));
		break;
	}
	VOK(vdrv_vq_kick_force(bad));
	if (bad == e.rx) {
		/* RX looks at its ring when a frame comes. */
		net_frame(frame, 100, 78);
		KTAP_OK(net_pkt_send(&e, frame, 100));
	}
	KTAP_EXPECT_EQ(vdrv_vq_wait(bad, 5000), -EIO);
	/* Once per handler run that met it: the kick's, the frame's. */
	KTAP_CHECK(bad->err_count >= 1 && bad->err_count <= 2, "%llu errors",
		   (unsigned long long)bad->err_count);
	/* Nothing completed on the broken queue. */
	if (packed)
		KTAP_EXPECT_EQ(vdrv_packed_pop_used(bad, 1, &id, &len, &flags),
			       0);
	else
		KTAP_EXPECT_EQ(bad->split.used->idx, 0);
	if (bad == e.tx) {
		KTAP_CHECK(net_pkt_recv(&e, got, 50) == -ETIMEDOUT,
			   "a frame went out");
		r = check_rx_works(&e, 1);
	} else {
		r = check_tx_works(&e, 1);
	}
	if (r != KTAP_PASS)
		return r;
	/* A kick on the broken queue reports it again, and nothing else. */
	VOK(vdrv_vq_kick_force(bad));
	KTAP_EXPECT_EQ(vdrv_vq_wait(bad, 5000), -EIO);
	net_env_fini(&e);
	return KTAP_PASS;
}

static enum ktap_result hostile_tx_writable_split(void)
{
	return hostile_one(NET_RING_SPLIT, H_TX_WRITABLE);
}

static enum ktap_result hostile_tx_writable_packed(void)
{
	return hostile_one(NET_RING_PACKED, H_TX_WRITABLE);
}

static enum ktap_result hostile_tx_loop_split(void)
{
	return hostile_one(NET_RING_SPLIT, H_TX_LOOP);
}

static enum ktap_result hostile_tx_loop_packed(void)
{
	return hostile_one(NET_RING_PACKED, H_TX_LOOP);
}

static enum ktap_result hostile_tx_oob_split(void)
{
	return hostile_one(NET_RING_SPLIT, H_TX_OOB);
}

static enum ktap_result hostile_tx_oob_packed(void)
{
	return hostile_one(NET_RING_PACKED, H_TX_OOB);
}

static enum ktap_result hostile_rx_oob_split(void)
{
	return hostile_one(NET_RING_SPLIT, H_RX_OOB);
}

static enum ktap_result hostile_rx_oob_packed(void)
{
	return hostile_one(NET_RING_PACKED, H_RX_OOB);
}

static enum ktap_result hostile_rx_readable_split(void)
{
	return hostile_one(NET_RING_SPLIT, H_RX_READABLE);
}

static enum ktap_result hostile_rx_readable_packed(void)
{
	return hostile_one(NET_RING_PACKED, H_RX_READABLE);
}

/* ------------------------------------------------------------------------
 * Reconfiguration while traffic runs
 */

struct churn {
	struct net_env *e;
	atomic_bool stop;
	unsigned long rounds;
	int err;
	int efd[2];
	struct vhost_memory *tables[2];
};

/* MSI-X mask/unmask: the TX call eventfd changes under the worker. */
static void *churn_call(void *arg)
{
	struct churn *c = arg;

	while (!atomic_load(&c->stop)) {
		int fd = c->rounds % 3 == 2 ? c->e->tx->call_fd :
			 c->efd[c->rounds % 3];
		int r = vdrv_vring_set_call(c->e->dev, 1, fd);

		if (r && !c->err)
			c->err = r;
		c->rounds++;
	}
	return NULL;
}

/* Memory hot-plug: the table changes (a region comes and goes). */
static void *churn_mem(void *arg)
{
	struct churn *c = arg;

	while (!atomic_load(&c->stop)) {
		int r = vdrv_set_mem_table_raw(c->e->dev,
					       c->tables[c->rounds % 2]);

		if (r && !c->err)
			c->err = r;
		c->rounds++;
	}
	return NULL;
}

/* TX and RX traffic, reaped by polling (the call eventfd is churning). */
static enum ktap_result traffic(struct net_env *e, unsigned int total)
{
	enum { NUM = 256 };
	uint32_t posted = 0, done = 0, out = 0, rx_seen = 0, *c;
	int64_t deadline = net_now_ms() + 60000;
	unsigned int iter = 0;
	struct slots tx, rx;
	int n;

	if (slots_init(e, &tx, NUM, 1600) != KTAP_PASS ||
	    slots_init(e, &rx, 32, 2048) != KTAP_PASS ||
	    rx_post_all(e, &rx) != KTAP_PASS)
		return KTAP_FAIL;
	while (done < total || out < total || rx_seen < total / 8) {
		KTAP_CHECK(net_now_ms() < deadline,
			   "stuck: tx %u/%u/%u rx %u", posted, done, out,
			   rx_seen);
		while (posted < total && posted - done < NUM)
			VOK(tx_post(e, &tx, posted++));
		VOK(vdrv_vq_kick(e->tx));
		while ((c = vdrv_vq_get_used(e->tx, NULL))) {
			KTAP_EXPECT_EQ(*c, done);
			done++;
		}
		while (out < done) {
			n = net_pkt_recv(e, got, 0);
			if (n == -ETIMEDOUT)
				break;
			KTAP_CHECK(n > 0, "recv: %s", strerror(-n));
			KTAP_EXPECT_EQ(net_frame_seq(got, n), out);
			KTAP_CHECK(net_frame_ok(got, n, out), "tx %u", out);
			out++;
		}
		/* A trickle of RX, one frame at a time. */
		if (rx_seen < total / 8 && iter++ % 2 == 0) {
			net_frame(frame, 300, 1000000 + rx_seen);
			KTAP_OK(net_pkt_send(e, frame, 300));
			if (rx_one(e, &rx, 1000000 + rx_seen, 5000) !=
			    KTAP_PASS)
				return KTAP_FAIL;
			rx_seen++;
		}
		usleep(50);
	}
	KTAP_EXPECT_EQ(e->tx->err_count, 0);
	KTAP_EXPECT_EQ(e->rx->err_count, 0);
	free(tx.cookie);
	free(rx.cookie);
	return KTAP_PASS;
}

static enum ktap_result call_swap(enum net_ring ring)
{
	struct churn c = { 0 };
	struct net_env e;
	enum ktap_result r;
	pthread_t t;
	uint64_t v, calls = 0;
	int i;

	r = net_env_init(&e, NET_TAP_VNET_HDR, F_MRG | net_ring_features(ring),
			 256, 4 * MIB, 1500, false);
	if (r != KTAP_PASS)
		return r;
	c.e = &e;
	c.efd[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	c.efd[1] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	KTAP_CHECK(c.efd[0] >= 0 && c.efd[1] >= 0, "eventfd");
	KTAP_CHECK(!pthread_create(&t, NULL, churn_call, &c), "thread");
	r = traffic(&e, 4000);
	atomic_store(&c.stop, true);
	pthread_join(t, NULL);
	if (r != KTAP_PASS)
		return r;
	KTAP_EXPECT_EQ(c.err, 0);
	for (i = 0; i < 2; i++)
		if (read(c.efd[i], &v, sizeof(v)) == sizeof(v))
			calls += v;
	ktap_diag("%lu SET_VRING_CALLs, %llu calls on the swapped-in fds",
		  c.rounds, (unsigned long long)calls);
	/* The guest's own eventfd back: a completion is signalled on it. */
	VOK(vdrv_vring_set_call(e.dev, 1, e.tx->call_fd));
	if (check_tx_works(&e, 999999) != KTAP_PASS)
		return KTAP_FAIL;
	close(c.efd[0]);
	close(c.efd[1]);
	net_env_fini(&e);
	return KTAP_PASS;
}

static enum ktap_result call_swap_split(void)
{
	return call_swap(NET_RING_SPLIT);
}

static enum ktap_result call_swap_packed(void)
{
	return call_swap(NET_RING_PACKED);
}

static enum ktap_result mem_table_swap(enum net_ring ring)
{
	struct churn c = { 0 };
	struct vhost_memory *m;
	struct net_env e;
	enum ktap_result r;
	void *extra;
	pthread_t t;

	r = net_env_init(&e, NET_TAP_VNET_HDR, F_MRG | net_ring_features(ring),
			 256, 4 * MIB, 1500, false);
	if (r != KTAP_PASS)
		return r;
	c.e = &e;
	c.tables[0] = vdrv_mem_table(e.mem);
	KTAP_CHECK(c.tables[0], "%s", vdrv_last_error());
	/* The same, plus a region far above the others. */
	extra = mmap(NULL, 1 * MIB, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KTAP_CHECK(extra != MAP_FAILED, "mmap");
	m = calloc(1, sizeof(*m) + (e.mem->nregions + 1) * sizeof(m->regions[0]));
	KTAP_CHECK(m, "calloc");
	memcpy(m, c.tables[0], sizeof(*m) + e.mem->nregions * sizeof(m->regions[0]));
	m->regions[m->nregions].guest_phys_addr = 0x4000000000ULL;
	m->regions[m->nregions].memory_size = 1 * MIB;
	m->regions[m->nregions].userspace_addr = (uintptr_t)extra;
	m->nregions++;
	c.tables[1] = m;
	KTAP_CHECK(!pthread_create(&t, NULL, churn_mem, &c), "thread");
	r = traffic(&e, 4000);
	atomic_store(&c.stop, true);
	pthread_join(t, NULL);
	if (r != KTAP_PASS)
		return r;
	KTAP_EXPECT_EQ(c.err, 0);
	ktap_diag("%lu SET_MEM_TABLEs", c.rounds);
	free(c.tables[0]);
	free(c.tables[1]);
	net_env_fini(&e);
	munmap(extra, 1 * MIB);
	return KTAP_PASS;
}

static enum ktap_result mem_table_swap_split(void)
{
	return mem_table_swap(NET_RING_SPLIT);
}

static enum ktap_result mem_table_swap_packed(void)
{
	return mem_table_swap(NET_RING_PACKED);
}

/* ------------------------------------------------------------------------
 * Dirty log
 */

static bool log_bit(const uint8_t *bitmap, uint64_t gpa)
{
	uint64_t pfn = gpa >> 12;

	return bitmap[pfn / 8] & (1u << (pfn % 8));
}

/* Every page of [gpa, gpa + len) is marked. */
static enum ktap_result log_covers(const uint8_t *bitmap, uint64_t gpa,
				   uint64_t len, const char *what)
{
	uint64_t p;

	for (p = gpa & ~4095ULL; p < gpa + len; p += 4096)
		KTAP_CHECK(log_bit(bitmap, p), "%s: page 0x%llx not logged",
			   what, (unsigned long long)p);
	return KTAP_PASS;
}

/*
 * Migration: LOG_ALL and the used ring's F_LOG switched on while RX runs,
 * then every page a frame was written to must be marked, and the used
 * ring's (packed: the descriptor ring's, where used descriptors go); a
 * page of a buffer that got no data must not be.
 */
static enum ktap_result dirty_log(enum net_ring ring)
{
	enum { NBUF = 16, BUFSZ = 6000 };
	static const size_t sizes[] = { 100, 1400, 5000, 9000, 300, 12000 };
	size_t bmsize = ((VDRV_GPA_BASE + 64 * MIB) >> 12) / 8;
	struct vdrv_buf in;
	struct net_env e;
	enum ktap_result r;
	uint8_t *bitmap, *area, *p;
	uint32_t len, *c, cookies[NBUF];
	uint64_t gpa, used_gpa;
	unsigned int i, k, nb, nused = 0;

	r = net_env_init(&e, NET_TAP_VNET_HDR, F_MRG | net_ring_features(ring),
			 64, 4 * MIB, 16000, false);
	if (r != KTAP_PASS)
		return r;
	bitmap = mmap(NULL, bmsize, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KTAP_CHECK(bitmap != MAP_FAILED, "mmap");
	/* Page-aligned buffers of 6000 bytes: each spans two pages. */
	area = vdrv_mem_alloc(e.mem, NBUF * 8192, 4096);
	KTAP_CHECK(area, "%s", vdrv_last_error());
	for (k = 0; k < NBUF; k++) {
		in = (struct vdrv_buf){ .ptr = area + k * 8192, .len = BUFSZ };
		cookies[k] = k;
		VOK(vdrv_vq_add(e.rx, NULL, 0, &in, 1, &cookies[k]));
	}
	VOK(vdrv_vq_kick(e.rx));

	VOK(vdrv_set_log_base(e.dev, (uintptr_t)bitmap));
	VOK(vdrv_set_features(e.dev, e.features | BIT(VHOST_F_LOG_ALL)));
	VOK(vdrv_vq_set_log(e.rx, true));
	memset(bitmap, 0, bmsize);
	used_gpa = ring == NET_RING_PACKED ?
		   vdrv_gpa(e.mem, e.rx->packed.desc) :
		   vdrv_gpa(e.mem, e.rx->split.used);

	for (i = 0; i < KTAP_ARRAY_SIZE(sizes); i++) {
		net_frame(frame, sizes[i], i);
		KTAP_OK(net_pkt_send(&e, frame, sizes[i]));
		c = vdrv_vq_wait_used(e.rx, &len, 5000);
		KTAP_CHECK(c, "frame %u: %s", i, vdrv_last_error());
		p = area + *c * 8192;
		nb = p[10] | p[11] << 8;
		KTAP_EXPECT_EQ(nb, (NET_HDR_LEN + sizes[i] + BUFSZ - 1) / BUFSZ);
		for (;;) {
			nused++;
			gpa = vdrv_gpa(e.mem, p);
			if (log_covers(bitmap, gpa, len, "rx data") != KTAP_PASS)
				return KTAP_FAIL;
			/* The second page of a short write stays clean. */
			if (len <= 4096)
				KTAP_CHECK(!log_bit(bitmap, gpa + 4096),
					   "page 0x%llx logged, %u bytes written",
					   (unsigned long long)gpa + 4096, len);
			if (--nb == 0)
				break;
			c = vdrv_vq_wait_used(e.rx, &len, 5000);
			KTAP_CHECK(c, "frame %u: %s", i, vdrv_last_error());
			p = area + *c * 8192;
		}
	}
	/*
	 * The used ring: its index and the entries written; packed: the
	 * descriptor slots used descriptors went into (one per buffer here),
	 * and the device area.
	 */
	if (ring == NET_RING_PACKED) {
		if (log_covers(bitmap, used_gpa, 16 * nused, "used descs") !=
		    KTAP_PASS ||
		    log_covers(bitmap, vdrv_gpa(e.mem, e.rx->packed.device), 4,
			       "device area") != KTAP_PASS)
			return KTAP_FAIL;
	} else if (log_covers(bitmap, used_gpa, 4 + 8 * nused, "used ring") !=
		   KTAP_PASS) {
		return KTAP_FAIL;
	}
	KTAP_EXPECT_EQ(e.rx->err_count, 0);
	ktap_diag("%u used entries logged (%s ring)", nused,
		  net_ring_name(ring));
	munmap(bitmap, bmsize);
	net_env_fini(&e);
	return KTAP_PASS;
}

static enum ktap_result dirty_log_split(void)
{
	return dirty_log(NET_RING_SPLIT);
}

static enum ktap_result dirty_log_packed(void)
{
	return dirty_log(NET_RING_PACKED);
}

/* ------------------------------------------------------------------------
 * Teardown under traffic
 */

static enum ktap_result start_flood(struct net_env *e)
{
	struct slots tx, rx;
	unsigned int i;

	if (slots_init(e, &tx, 256, 1600) != KTAP_PASS ||
	    slots_init(e, &rx, 64, 2048) != KTAP_PASS ||
	    rx_post_all(e, &rx) != KTAP_PASS)
		return KTAP_FAIL;
	for (i = 0; i < 256; i++)
		VOK(tx_post(e, &tx, i));
	VOK(vdrv_vq_kick_force(e->tx));
	for (i = 0; i < 300; i++) {
		net_frame(frame, 1000, i);
		KTAP_OK(net_pkt_send(e, frame, 1000));
	}
	return KTAP_PASS;
}

static enum ktap_result reset_owner_under_traffic(enum net_ring ring)
{
	struct net_env e;
	enum ktap_result r;
	int k;

	for (k = 0; k < 10; k++) {
		r = net_env_init(&e, NET_TAP_VNET_HDR,
				 F_MRG | net_ring_features(ring), 256, 4 * MIB,
				 1500, false);
		if (r != KTAP_PASS)
			return r;
		if (start_flood(&e) != KTAP_PASS)
			return KTAP_FAIL;
		usleep(rnd() % 3000);
		VOK(vdrv_reset_owner(e.dev));
		/* The device is as new: a new owner may take it. */
		VOK(vdrv_set_owner(e.dev));
		net_env_fini(&e);
	}
	return KTAP_PASS;
}

static enum ktap_result reset_owner_under_traffic_split(void)
{
	return reset_owner_under_traffic(NET_RING_SPLIT);
}

static enum ktap_result reset_owner_under_traffic_packed(void)
{
	return reset_owner_under_traffic(NET_RING_PACKED);
}

static enum ktap_result close_under_traffic(enum net_ring ring)
{
	struct net_env e;
	enum ktap_result r;
	int k;

	for (k = 0; k < 10; k++) {
		r = net_env_init(&e, NET_TAP_VNET_HDR,
				 F_MRG | net_ring_features(ring), 256, 4 * MIB,
				 1500, false);
		if (r != KTAP_PASS)
			return r;
		if (start_flood(&e) != KTAP_PASS)
			return KTAP_FAIL;
		usleep(rnd() % 3000);
		/* The vhost fd goes first, the tap stays. */
		vdrv_close(e.dev);
		e.dev = NULL;
		net_env_fini(&e);
	}
	return KTAP_PASS;
}

static enum ktap_result close_under_traffic_split(void)
{
	return close_under_traffic(NET_RING_SPLIT);
}

static enum ktap_result close_under_traffic_packed(void)
{
	return close_under_traffic(NET_RING_PACKED);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(backend_errors),
	KTAP_CASE_T(stop_start_tx_split, 120),
	KTAP_CASE_T(stop_start_tx_packed, 120),
	KTAP_CASE_T(stop_start_rx_split, 120),
	KTAP_CASE_T(stop_start_rx_packed, 120),
	KTAP_CASE_T(ring_reset_tx_split, 120),
	KTAP_CASE_T(ring_reset_tx_packed, 120),
	KTAP_CASE(hostile_tx_writable_split),
	KTAP_CASE(hostile_tx_writable_packed),
	KTAP_CASE(hostile_tx_loop_split),
	KTAP_CASE(hostile_tx_loop_packed),
	KTAP_CASE(hostile_tx_oob_split),
	KTAP_CASE(hostile_tx_oob_packed),
	KTAP_CASE(hostile_rx_oob_split),
	KTAP_CASE(hostile_rx_oob_packed),
	KTAP_CASE(hostile_rx_readable_split),
	KTAP_CASE(hostile_rx_readable_packed),
	KTAP_CASE_T(call_swap_split, 120),
	KTAP_CASE_T(call_swap_packed, 120),
	KTAP_CASE_T(mem_table_swap_split, 120),
	KTAP_CASE_T(mem_table_swap_packed, 120),
	KTAP_CASE(dirty_log_split),
	KTAP_CASE(dirty_log_packed),
	KTAP_CASE_T(reset_owner_under_traffic_split, 120),
	KTAP_CASE_T(reset_owner_under_traffic_packed, 120),
	KTAP_CASE_T(close_under_traffic_split, 120),
	KTAP_CASE_T(close_under_traffic_packed, 120),
};

int main(int argc, char **argv)
{
	return ktap_main(cases, KTAP_ARRAY_SIZE(cases), argc, argv);
}
