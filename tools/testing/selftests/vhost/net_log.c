// SPDX-License-Identifier: GPL-2.0
/*
 * net_log: the dirty log switched on and off under RX traffic, as QEMU
 * does around a live migration: VHOST_SET_LOG_BASE, SET_FEATURES with
 * VHOST_F_LOG_ALL and SET_VRING_ADDR with VHOST_VRING_F_LOG while a host
 * thread keeps sending frames into the tap, then the same without.
 *
 * While logging is on, every RX buffer the device filled after the switch
 * has its page marked (the test clears the bit before posting the buffer
 * again, so each fill must mark it anew), and so has the used ring (packed:
 * the descriptor ring). Once it is off, the bitmap is not touched again.
 * Frames keep arriving intact and in order throughout. Runs on split and
 * on packed rings; the names say which.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "net_common.h"

#define F_MRG		(NET_F_BASE | BIT(VIRTIO_NET_F_MRG_RXBUF))
#define NBUF		64
#define PAGE		4096
#define INFLIGHT	128	/* frames the host has queued, at most */

struct logtest {
	struct net_env e;
	uint8_t *bufs;		/* NBUF page-aligned one-page buffers */
	uint32_t cookie[NBUF];
	uint64_t *bitmap;
	size_t bmsize;
	uint32_t reaped;	/* frames the guest took so far */
	atomic_uint sent, done;	/* host side; done: main has reaped */
	atomic_bool stop;
	int send_err;
};

static size_t frame_len(uint32_t seq)
{
	uint32_t h = seq * 2654435761u;

	return 60 + (h ^ h >> 16) % (PAGE - NET_HDR_LEN - 60 + 1);
}

/* The host: frames 0, 1, 2... into the tap, never too far ahead. */
static void *sender(void *arg)
{
	static uint8_t frame[PAGE];
	struct logtest *t = arg;
	uint32_t seq = 0;

	while (!atomic_load(&t->stop)) {
		if (seq - atomic_load(&t->done) >= INFLIGHT) {
			usleep(200);
			continue;
		}
		net_frame(frame, frame_len(seq), seq);
		t->send_err = net_pkt_send(&t->e, frame, frame_len(seq));
		if (t->send_err)
			break;
		atomic_store(&t->sent, ++seq);
	}
	return NULL;
}

static bool bit_test(const uint64_t *bm, uint64_t gpa)
{
	uint64_t pfn = gpa / PAGE;

	return __atomic_load_n(&bm[pfn / 64], __ATOMIC_SEQ_CST) &
	       1ULL << (pfn % 64);
}

/* Atomic: the kernel sets bits of the same words meanwhile. */
static void bit_clear(uint64_t *bm, uint64_t gpa)
{
	uint64_t pfn = gpa / PAGE;

	__atomic_fetch_and(&bm[pfn / 64], ~(1ULL << (pfn % 64)),
			   __ATOMIC_SEQ_CST);
}

static enum ktap_result range_logged(struct logtest *t, const void *p,
				     size_t len, const char *what)
{
	uint64_t gpa = vdrv_gpa(t->e.mem, p), a;

	for (a = gpa & ~(uint64_t)(PAGE - 1); a < gpa + len; a += PAGE)
		KTAP_CHECK(bit_test(t->bitmap, a), "%s: page 0x%llx not logged",
			   what, (unsigned long long)a);
	return KTAP_PASS;
}

/*
 * Reap @n frames. Those the device published at or after position @from
 * (counted in frames since the start) must have their page logged if
 * @logging; every page bit is cleared before the buffer is posted again.
 */
static enum ktap_result reap(struct logtest *t, unsigned int n,
			     uint32_t from, bool logging)
{
	unsigned int i, logged = 0;
	uint32_t len, *c;
	uint8_t *p;

	for (i = 0; i < n; i++, t->reaped++) {
		c = vdrv_vq_wait_used(t->e.rx, &len, 5000);
		KTAP_CHECK(c, "frame %u: %s (host sent %u, error %d)",
			   t->reaped, vdrv_last_error(),
			   atomic_load(&t->sent), t->send_err);
		p = t->bufs + (size_t)*c * PAGE;
		KTAP_EXPECT_EQ(len, NET_HDR_LEN + frame_len(t->reaped));
		KTAP_EXPECT_EQ(p[10] | p[11] << 8, 1);
		KTAP_EXPECT_EQ(net_frame_seq(p + NET_HDR_LEN, len - NET_HDR_LEN),
			       t->reaped);
		KTAP_CHECK(net_frame_ok(p + NET_HDR_LEN, len - NET_HDR_LEN,
					t->reaped), "frame %u", t->reaped);
		if (logging && t->reaped >= from) {
			KTAP_CHECK(bit_test(t->bitmap, vdrv_gpa(t->e.mem, p)),
				   "frame %u (buffer %u) written at 0x%llx, not logged",
				   t->reaped, *c,
				   (unsigned long long)vdrv_gpa(t->e.mem, p));
			logged++;
		}
		bit_clear(t->bitmap, vdrv_gpa(t->e.mem, p));
		VOK(vdrv_vq_add(t->e.rx, NULL, 0,
				&(struct vdrv_buf){ .ptr = p, .len = PAGE },
				1, c));
		VOK(vdrv_vq_kick(t->e.rx));
		atomic_store(&t->done, t->reaped + 1);
	}
	if (logging)
		KTAP_CHECK(logged > 0, "no frame after the switch");
	return KTAP_PASS;
}

/* Where the device writes used entries: the used ring or, packed, descs. */
static enum ktap_result used_logged(struct logtest *t)
{
	struct vdrv_vq *vq = t->e.rx;

	if (vq->format == VDRV_RING_PACKED)
		return range_logged(t, vq->packed.desc, 16 * vq->num,
				    "descriptor ring");
	return range_logged(t, vq->split.used, 4 + 8 * vq->num, "used ring");
}

static enum ktap_result bitmap_clean(struct logtest *t)
{
	size_t i;

	for (i = 0; i < t->bmsize / 8; i++)
		KTAP_CHECK(!__atomic_load_n(&t->bitmap[i], __ATOMIC_SEQ_CST),
			   "bitmap word %zu is 0x%llx with logging off", i,
			   (unsigned long long)t->bitmap[i]);
	return KTAP_PASS;
}

/* Turn logging on or off; returns the first frame position after it. */
static int switch_log(struct logtest *t, bool on, uint32_t *from)
{
	struct vdrv_dev *dev = t->e.dev;
	int r;

	if (on) {
		r = vdrv_set_log_base(dev, (uintptr_t)t->bitmap);
		if (r >= 0)
			r = vdrv_set_features(dev, t->e.features |
						   BIT(VHOST_F_LOG_ALL));
		if (r >= 0)
			r = vdrv_vq_set_log(t->e.rx, true);
		if (r >= 0)
			r = vdrv_vq_set_log(t->e.tx, true);
	} else {
		r = vdrv_set_features(dev, t->e.features);
		if (r >= 0)
			r = vdrv_vq_set_log(t->e.rx, false);
		if (r >= 0)
			r = vdrv_vq_set_log(t->e.tx, false);
	}
	/*
	 * The RX handler runs with the vq mutex held from the copy to the
	 * used ring update, and the ioctls take it: what is published from
	 * here on was written after the switch.
	 */
	*from = t->reaped + vdrv_vq_used_pending(t->e.rx);
	return r;
}

static enum ktap_result log_toggle(enum net_ring ring)
{
	enum { CYCLES = 3, ON = 600, OFF = 400 };
	struct logtest *t = calloc(1, sizeof(*t));
	enum ktap_result r;
	unsigned int k, cyc;
	pthread_t th;
	uint32_t from;

	KTAP_CHECK(t, "calloc");
	r = net_env_init(&t->e, NET_TAP_VNET_HDR,
			 F_MRG | net_ring_features(ring), 256, 4 * MIB, 9000,
			 false);
	if (r != KTAP_PASS)
		return r;
	KTAP_CHECK(t->e.features & BIT(VIRTIO_F_VERSION_1), "features");
	t->bmsize = ((VDRV_GPA_BASE + 64 * MIB) / PAGE) / 8;
	t->bitmap = mmap(NULL, t->bmsize, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KTAP_CHECK(t->bitmap != MAP_FAILED, "mmap");
	t->bufs = vdrv_mem_alloc(t->e.mem, NBUF * PAGE, PAGE);
	KTAP_CHECK(t->bufs, "%s", vdrv_last_error());
	for (k = 0; k < NBUF; k++) {
		t->cookie[k] = k;
		VOK(vdrv_vq_add(t->e.rx, NULL, 0,
				&(struct vdrv_buf){ .ptr = t->bufs + k * PAGE,
						    .len = PAGE },
				1, &t->cookie[k]));
	}
	VOK(vdrv_vq_kick(t->e.rx));
	atomic_init(&t->sent, 0);
	atomic_init(&t->done, 0);
	atomic_init(&t->stop, false);
	KTAP_CHECK(!pthread_create(&th, NULL, sender, t), "pthread_create");

	/* Traffic first, unlogged. */
	r = reap(t, 300, 0, false);
	for (cyc = 0; cyc < CYCLES && r == KTAP_PASS; cyc++) {
		/* On, mid-stream. */
		if (switch_log(t, true, &from) < 0) {
			ktap_diag("log on: %s", vdrv_last_error());
			r = KTAP_FAIL;
			break;
		}
		r = reap(t, ON, from, true);
		if (r == KTAP_PASS)
			r = used_logged(t);
		if (r != KTAP_PASS)
			break;
		/* Off, mid-stream: the bitmap stays clean from now on. */
		if (switch_log(t, false, &from) < 0) {
			ktap_diag("log off: %s", vdrv_last_error());
			r = KTAP_FAIL;
			break;
		}
		memset(t->bitmap, 0, t->bmsize);
		r = reap(t, OFF, from, false);
		if (r == KTAP_PASS)
			r = bitmap_clean(t);
	}
	atomic_store(&t->stop, true);
	pthread_join(th, NULL);
	if (r != KTAP_PASS)
		return r;
	KTAP_EXPECT_EQ(t->e.rx->err_count, 0);
	ktap_diag("%u frames, logging switched on and off %u times (%s ring)",
		  t->reaped, CYCLES, net_ring_name(ring));
	munmap(t->bitmap, t->bmsize);
	net_env_fini(&t->e);
	free(t);
	return KTAP_PASS;
}

static enum ktap_result log_toggle_split(void)
{
	return log_toggle(NET_RING_SPLIT);
}

static enum ktap_result log_toggle_packed(void)
{
	return log_toggle(NET_RING_PACKED);
}

static const struct ktap_case cases[] = {
	KTAP_CASE_T(log_toggle_split, 120),
	KTAP_CASE_T(log_toggle_packed, 120),
};

int main(void)
{
	return ktap_run(cases, KTAP_ARRAY_SIZE(cases));
}
