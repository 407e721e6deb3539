// SPDX-License-Identifier: GPL-2.0
/*
 * net_rx: vhost-net's RX path. Frames the host sends out of the tap must
 * land in the guest's buffers byte for byte: spread over several 1500-byte
 * buffers with MRG_RXBUF (num_buffers right), in one big chain without it,
 * with the header from the tap (vnet_hdr=on) or written by vhost
 * (VHOST_NET_F_VIRTIO_NET_HDR). A frame too big for the guest's buffer is
 * dropped without losing the buffer; with no buffers at all, frames wait in
 * the tap until the guest posts some and kicks, and with too few for a
 * mergeable frame, until it has posted enough (kicking only when vhost asks
 * for it). Each case runs on split and on packed rings, except the legacy
 * header, which packed rings (virtio 1.1) cannot have.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net_common.h"

#define RX_MTU		65521	/* the largest a tap takes */
#define BIG_PAGES	17	/* the guest's "big packets" layout */

static uint8_t frame[NET_MAX_FRAME], got[NET_MAX_FRAME];
static uint32_t rng = 0x1234567;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

struct rxslot {
	uint8_t *p;
	uint32_t size;
};

/* The guest's RX queue: buffers of one size, each a chain of @nseg. */
struct rxq {
	struct net_env *e;
	struct rxslot *slots;
	unsigned int nslots;
	unsigned int nseg;	/* 1, or header + pages (big packets) */
	bool mrg;
	unsigned int posts;
};

static int post_slot(struct rxq *q, struct rxslot *s)
{
	struct vdrv_buf in[BIG_PAGES + 1];
	uint32_t off = 0;
	unsigned int n = 0;

	if (q->nseg > 1) {
		in[n++] = (struct vdrv_buf){ .ptr = s->p, .len = q->e->hdr_len };
		off = q->e->hdr_len;
	}
	while (off < s->size && n < q->nseg) {
		uint32_t piece = q->nseg > 1 ? 4096 : s->size;

		if (piece > s->size - off)
			piece = s->size - off;
		in[n++] = (struct vdrv_buf){ .ptr = s->p + off, .len = piece };
		off += piece;
	}
	/* Every other chain of several segments goes in an indirect table. */
	if (n > 1 && (q->posts++ & 1))
		return vdrv_vq_add_indirect(q->e->rx, NULL, 0, in, n, s);
	return vdrv_vq_add(q->e->rx, NULL, 0, in, n, s);
}

static enum ktap_result rxq_init(struct rxq *q, struct net_env *e,
				 unsigned int nslots, uint32_t size,
				 unsigned int nseg, bool post)
{
	unsigned int i;

	memset(q, 0, sizeof(*q));
	q->e = e;
	q->nslots = nslots;
	q->nseg = nseg;
	q->mrg = e->features & BIT(VIRTIO_NET_F_MRG_RXBUF);
	q->slots = calloc(nslots, sizeof(*q->slots));
	KTAP_CHECK(q->slots, "calloc");
	for (i = 0; i < nslots; i++) {
		q->slots[i].size = size;
		q->slots[i].p = vdrv_mem_alloc(e->mem, size, 8);
		KTAP_CHECK(q->slots[i].p, "%s", vdrv_last_error());
		if (post)
			VOK(post_slot(q, &q->slots[i]));
	}
	if (post)
		VOK(vdrv_vq_kick(e->rx));
	return KTAP_PASS;
}

static enum ktap_result rxq_post_all(struct rxq *q)
{
	unsigned int i;

	for (i = 0; i < q->nslots; i++)
		VOK(post_slot(q, &q->slots[i]));
	VOK(vdrv_vq_kick(q->e->rx));
	return KTAP_PASS;
}

/*
 * Reap one packet: the frame into @out, the header into @hdr, the number of
 * buffers into *@nbufs; buffers are posted again. Returns the frame length,
 * or -1 after a diagnostic.
 */
static int guest_recv(struct rxq *q, uint8_t *out, uint8_t *hdr,
		      unsigned int *nbufs, int timeout_ms)
{
	struct net_env *e = q->e;
	unsigned int nb, i;
	struct rxslot *s;
	size_t total = 0;
	uint32_t len;

	s = vdrv_vq_wait_used(e->rx, &len, timeout_ms);
	if (!s) {
		ktap_diag("no packet: %s", vdrv_last_error());
		return -1;
	}
	if (len < e->hdr_len || len > s->size) {
		ktap_diag("used len %u", len);
		return -1;
	}
	memcpy(hdr, s->p, e->hdr_len);
	nb = e->hdr_len == NET_HDR_LEN ? hdr[10] | hdr[11] << 8 : 1;
	memcpy(out, s->p + e->hdr_len, len - e->hdr_len);
	total = len - e->hdr_len;
	if (!nb || (!q->mrg && nb != 1)) {
		ktap_diag("num_buffers %u", nb);
		return -1;
	}
	for (i = 1; i < nb; i++) {
		/* Every buffer but the last is filled up. */
		if (len != s->size) {
			ktap_diag("buffer %u of %u: %u of %u bytes", i, nb,
				  len, s->size);
			return -1;
		}
		if (post_slot(q, s) < 0) {
			ktap_diag("repost: %s", vdrv_last_error());
			return -1;
		}
		s = vdrv_vq_wait_used(e->rx, &len, timeout_ms);
		if (!s || !len || len > s->size ||
		    total + len > NET_MAX_FRAME) {
			ktap_diag("buffer %u of %u: %s, len %u", i, nb,
				  s ? "bad" : vdrv_last_error(), len);
			return -1;
		}
		memcpy(out + total, s->p, len);
		total += len;
	}
	if (post_slot(q, s) < 0 || vdrv_vq_kick(e->rx) < 0) {
		ktap_diag("repost: %s", vdrv_last_error());
		return -1;
	}
	*nbufs = nb;
	return total;
}

/* What the header must say for a frame the host sent plainly. */
static bool hdr_ok(const struct net_env *e, const uint8_t *hdr)
{
	unsigned int i;

	/* flags may say DATA_VALID (2), nothing else; no GSO; zeros. */
	if (hdr[0] & ~2)
		return false;
	for (i = 1; i < NET_HDR_LEN_LEGACY; i++)
		if (hdr[i])
			return false;
	(void)e;
	return true;
}

/* Send frames of every size and check what the guest gets. */
static enum ktap_result sizes_run(struct rxq *q, const size_t *sizes,
				  unsigned int n, uint32_t bufsize)
{
	struct net_env *e = q->e;
	uint8_t hdr[NET_HDR_LEN];
	unsigned int i, nb, want;
	int len;

	for (i = 0; i < n; i++) {
		net_frame(frame, sizes[i], i + 1);
		KTAP_OK(net_pkt_send(e, frame, sizes[i]));
		len = guest_recv(q, got, hdr, &nb, 5000);
		KTAP_CHECK(len >= 0, "size %zu", sizes[i]);
		KTAP_CHECK(net_frame_seq(got, len) == i + 1,
			   "size %zu: got frame %lld (%d bytes)", sizes[i],
			   (long long)net_frame_seq(got, len), len);
		KTAP_EXPECT_EQ(len, sizes[i]);
		KTAP_CHECK(net_frame_ok(got, len, i + 1), "size %zu",
			   sizes[i]);
		KTAP_CHECK(hdr_ok(e, hdr), "size %zu: header %02x %02x", sizes[i],
			   hdr[0], hdr[1]);
		want = q->mrg ? (e->hdr_len + sizes[i] + bufsize - 1) / bufsize : 1;
		KTAP_EXPECT_EQ(nb, want);
	}
	KTAP_EXPECT_EQ(e->rx->err_count, 0);
	KTAP_EXPECT_EQ(vdrv_vq_used_pending(e->rx), 0);
	return KTAP_PASS;
}

static const size_t sizes[] = { 18, 60, 64, 100, 1000, 1487, 1488, 1489,
				1500, 1514, 2000, 2976, 2977, 4000, 9000,
				16000, 32000, 65000 };

/* MRG_RXBUF: 1500-byte buffers; a 9000-byte frame takes 7. */
static enum ktap_result mrg_one(enum net_ring ring, enum net_tap tap,
				uint64_t features)
{
	struct net_env e;
	enum ktap_result r;
	struct rxq q;

	features |= net_ring_features(ring);
	r = net_env_init(&e, tap, features, 256, 8 * MIB, RX_MTU, false);
	if (r != KTAP_PASS)
		return r;
	if (rxq_init(&q, &e, 128, 1500, 1, true) != KTAP_PASS ||
	    sizes_run(&q, sizes, KTAP_ARRAY_SIZE(sizes), 1500) != KTAP_PASS)
		return KTAP_FAIL;
	free(q.slots);
	net_env_fini(&e);
	return KTAP_PASS;
}

static enum ktap_result rx_mrg_split(void)
{
	return mrg_one(NET_RING_SPLIT, NET_TAP_VNET_HDR,
		       NET_F_BASE | BIT(VIRTIO_NET_F_MRG_RXBUF));
}

static enum ktap_result rx_mrg_packed(void)
{
	return mrg_one(NET_RING_PACKED, NET_TAP_VNET_HDR,
		       NET_F_BASE | BIT(VIRTIO_NET_F_MRG_RXBUF));
}

/* Without MRG_RXBUF: one chain of header + 17 pages per packet. */
static enum ktap_result big_one(enum net_ring ring, enum net_tap tap,
				uint64_t features)
{
	struct net_env e;
	enum ktap_result r;
	struct rxq q;
	uint32_t size;

	features |= net_ring_features(ring);
	r = net_env_init(&e, tap, features, 256, 8 * MIB, RX_MTU, false);
	if (r != KTAP_PASS)
		return r;
	size = e.hdr_len + BIG_PAGES * 4096;
	if (rxq_init(&q, &e, 16, size, BIG_PAGES + 1, true) != KTAP_PASS ||
	    sizes_run(&q, sizes, KTAP_ARRAY_SIZE(sizes), size) != KTAP_PASS)
		return KTAP_FAIL;
	free(q.slots);
	net_env_fini(&e);
	return KTAP_PASS;
}

static enum ktap_result rx_big_split(void)
{
	return big_one(NET_RING_SPLIT, NET_TAP_VNET_HDR, NET_F_BASE);
}

static enum ktap_result rx_big_packed(void)
{
	return big_one(NET_RING_PACKED, NET_TAP_VNET_HDR, NET_F_BASE);
}

/* Legacy: no VERSION_1, a 10-byte header. */
static enum ktap_result rx_legacy_split(void)
{
	return big_one(NET_RING_SPLIT, NET_TAP_VNET_HDR,
		       BIT(VIRTIO_RING_F_INDIRECT_DESC) |
		       BIT(VIRTIO_RING_F_EVENT_IDX));
}

/* VHOST_NET_F_VIRTIO_NET_HDR: vhost writes the header itself. */
static enum ktap_result vhost_hdr(enum net_ring ring)
{
	enum ktap_result r;

	r = mrg_one(ring, NET_TAP_PLAIN, NET_F_BASE |
		    BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(NET_F_VHOST_HDR));
	if (r != KTAP_PASS)
		return r;
	r = big_one(ring, NET_TAP_PLAIN, NET_F_BASE | BIT(NET_F_VHOST_HDR));
	if (r != KTAP_PASS || ring == NET_RING_PACKED)
		return r;
	return big_one(ring, NET_TAP_PLAIN, BIT(VIRTIO_RING_F_INDIRECT_DESC) |
		       BIT(NET_F_VHOST_HDR));
}

static enum ktap_result rx_vhost_hdr_split(void)
{
	return vhost_hdr(NET_RING_SPLIT);
}

static enum ktap_result rx_vhost_hdr_packed(void)
{
	return vhost_hdr(NET_RING_PACKED);
}

/* No MRG_RXBUF and a frame bigger than the chain: dropped, chain kept. */
static enum ktap_result too_big_dropped(enum net_ring ring)
{
	uint8_t hdr[NET_HDR_LEN];
	unsigned int nb;
	struct net_env e;
	enum ktap_result r;
	struct rxq q;
	int len;

	r = net_env_init(&e, NET_TAP_VNET_HDR,
			 NET_F_BASE | net_ring_features(ring), 8, 1 * MIB,
			 RX_MTU, false);
	if (r != KTAP_PASS)
		return r;
	if (rxq_init(&q, &e, 1, NET_HDR_LEN + 1500, 2, true) != KTAP_PASS)
		return KTAP_FAIL;
	net_frame(frame, 3000, 1);
	KTAP_OK(net_pkt_send(&e, frame, 3000));
	net_frame(frame, 1501, 2);	/* 12 + 1501: one byte too many */
	KTAP_OK(net_pkt_send(&e, frame, 1501));
	net_frame(frame, 1500, 3);	/* fits exactly */
	KTAP_OK(net_pkt_send(&e, frame, 1500));
	len = guest_recv(&q, got, hdr, &nb, 5000);
	KTAP_CHECK(len >= 0, "recv");
	KTAP_EXPECT_EQ(net_frame_seq(got, len), 3);
	KTAP_CHECK(net_frame_ok(got, len, 3), "frame 3");
	KTAP_EXPECT_EQ(e.rx->err_count, 0);
	free(q.slots);
	net_env_fini(&e);
	return KTAP_PASS;
}

static enum ktap_result rx_too_big_dropped_split(void)
{
	return too_big_dropped(NET_RING_SPLIT);
}

static enum ktap_result rx_too_big_dropped_packed(void)
{
	return too_big_dropped(NET_RING_PACKED);
}

/* No buffers: frames wait in the tap until the guest posts and kicks. */
static enum ktap_result no_buffers(enum net_ring ring)
{
	uint8_t hdr[NET_HDR_LEN];
	unsigned int i, nb;
	struct net_env e;
	enum ktap_result r;
	struct rxq q;
	int len;

	r = net_env_init(&e, NET_TAP_VNET_HDR,
			 NET_F_BASE | BIT(VIRTIO_NET_F_MRG_RXBUF) |
			 net_ring_features(ring), 64, 2 * MIB, RX_MTU, false);
	if (r != KTAP_PASS)
		return r;
	if (rxq_init(&q, &e, 32, 1500, 1, false) != KTAP_PASS)
		return KTAP_FAIL;
	for (i = 0; i < 5; i++) {
		net_frame(frame, 100 + i * 1000, 10 + i);
		KTAP_OK(net_pkt_send(&e, frame, 100 + i * 1000));
	}
	usleep(200 * 1000);
	KTAP_EXPECT_EQ(vdrv_vq_used_pending(e.rx), 0);
	if (rxq_post_all(&q) != KTAP_PASS)
		return KTAP_FAIL;
	for (i = 0; i < 5; i++) {
		len = guest_recv(&q, got, hdr, &nb, 5000);
		KTAP_CHECK(len >= 0, "frame %u", i);
		KTAP_EXPECT_EQ(net_frame_seq(got, len), 10 + i);
		KTAP_CHECK(net_frame_ok(got, len, 10 + i), "frame %u", i);
	}
	free(q.slots);
	net_env_fini(&e);
	return KTAP_PASS;
}

static enum ktap_result rx_no_buffers_split(void)
{
	return no_buffers(NET_RING_SPLIT);
}

static enum ktap_result rx_no_buffers_packed(void)
{
	return no_buffers(NET_RING_PACKED);
}

/*
 * MRG_RXBUF with too few buffers for a frame: vhost gives back the ones it
 * gathered and must ask for a kick when the guest adds more (with
 * EVENT_IDX, for the entry past the ones it has seen, not for one the guest
 * already made available), and must not spin meanwhile. The guest posts
 * one buffer at a time and kicks only when vhost asks; the frame arrives
 * whole once the seventh is there.
 */
static enum ktap_result too_few_buffers(enum net_ring ring, uint64_t evidx)
{
	enum { SIZE = 9000, NEED = 7 };
	uint8_t hdr[NET_HDR_LEN];
	unsigned int i, nb, kicked = 0;
	struct net_env e;
	enum ktap_result r;
	struct rxq q;
	int len, k;

	r = net_env_init(&e, NET_TAP_VNET_HDR,
			 BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_NET_F_MRG_RXBUF) |
			 evidx | net_ring_features(ring), 64, 2 * MIB, RX_MTU,
			 false);
	if (r != KTAP_PASS)
		return r;
	if (rxq_init(&q, &e, 16, 1500, 1, false) != KTAP_PASS)
		return KTAP_FAIL;
	for (i = 0; i < 2; i++)
		VOK(post_slot(&q, &q.slots[i]));
	VOK(vdrv_vq_kick(e.rx));
	net_frame(frame, SIZE, 77);
	KTAP_OK(net_pkt_send(&e, frame, SIZE));
	for (; i < NEED; i++) {
		usleep(100 * 1000);
		KTAP_CHECK(!vdrv_vq_used_pending(e.rx),
			   "used entries with %u buffers posted", i);
		VOK(post_slot(&q, &q.slots[i]));
		k = vdrv_vq_kick(e.rx);
		VOK(k);
		kicked += k;
	}
	len = guest_recv(&q, got, hdr, &nb, 5000);
	KTAP_CHECK(len >= 0, "the frame never came (%u kicks)", kicked);
	KTAP_EXPECT_EQ(net_frame_seq(got, len), 77);
	KTAP_EXPECT_EQ(len, SIZE);
	KTAP_CHECK(net_frame_ok(got, len, 77), "frame");
	KTAP_EXPECT_EQ(nb, NEED);
	KTAP_EXPECT_EQ(e.rx->err_count, 0);
	/* And the ring goes on working. */
	net_frame(frame, 100, 78);
	KTAP_OK(net_pkt_send(&e, frame, 100));
	len = guest_recv(&q, got, hdr, &nb, 5000);
	KTAP_CHECK(len >= 0, "next frame");
	KTAP_EXPECT_EQ(net_frame_seq(got, len), 78);
	ktap_diag("%s ring%s: %u kicks for %u buffers posted one by one",
		  net_ring_name(ring), evidx ? ", EVENT_IDX" : "", kicked,
		  NEED - 2);
	free(q.slots);
	net_env_fini(&e);
	return KTAP_PASS;
}

static enum ktap_result rx_too_few_buffers_split(void)
{
	enum ktap_result r;

	r = too_few_buffers(NET_RING_SPLIT, BIT(VIRTIO_RING_F_EVENT_IDX));
	return r != KTAP_PASS ? r : too_few_buffers(NET_RING_SPLIT, 0);
}

static enum ktap_result rx_too_few_buffers_packed(void)
{
	enum ktap_result r;

	r = too_few_buffers(NET_RING_PACKED, BIT(VIRTIO_RING_F_EVENT_IDX));
	return r != KTAP_PASS ? r : too_few_buffers(NET_RING_PACKED, 0);
}

/* Many frames, in rounds the tap's queue (500) holds, all in order. */
static enum ktap_result flood(enum net_ring ring)
{
	enum { ROUNDS = 25, PER_ROUND = 200 };
	uint8_t hdr[NET_HDR_LEN];
	unsigned int i, k, nb, seq = 0;
	struct net_env e;
	enum ktap_result r;
	struct rxq q;
	int64_t t0;
	int len;

	r = net_env_init(&e, NET_TAP_VNET_HDR,
			 NET_F_BASE | BIT(VIRTIO_NET_F_MRG_RXBUF) |
			 net_ring_features(ring), 256, 4 * MIB, RX_MTU, false);
	if (r != KTAP_PASS)
		return r;
	if (rxq_init(&q, &e, 64, 2048, 1, true) != KTAP_PASS)
		return KTAP_FAIL;
	t0 = net_now_ms();
	for (k = 0; k < ROUNDS; k++) {
		unsigned int first = seq;

		for (i = 0; i < PER_ROUND; i++, seq++) {
			size_t n = 60 + rnd() % 4000;

			net_frame(frame, n, seq);
			KTAP_OK(net_pkt_send(&e, frame, n));
		}
		for (i = first; i < seq; i++) {
			len = guest_recv(&q, got, hdr, &nb, 5000);
			KTAP_CHECK(len >= 0, "frame %u", i);
			KTAP_EXPECT_EQ(net_frame_seq(got, len), i);
			KTAP_CHECK(net_frame_ok(got, len, i), "frame %u", i);
		}
	}
	KTAP_EXPECT_EQ(e.rx->err_count, 0);
	ktap_diag("%u frames in %lld ms (%s ring)", seq,
		  (long long)(net_now_ms() - t0), net_ring_name(ring));
	free(q.slots);
	net_env_fini(&e);
	return KTAP_PASS;
}

static enum ktap_result rx_flood_split(void)
{
	return flood(NET_RING_SPLIT);
}

static enum ktap_result rx_flood_packed(void)
{
	return flood(NET_RING_PACKED);
}

static const struct ktap_case cases[] = {
	KTAP_CASE_T(rx_mrg_split, 120),
	KTAP_CASE_T(rx_mrg_packed, 120),
	KTAP_CASE_T(rx_big_split, 120),
	KTAP_CASE_T(rx_big_packed, 120),
	KTAP_CASE_T(rx_legacy_split, 120),
	KTAP_CASE_T(rx_vhost_hdr_split, 120),
	KTAP_CASE_T(rx_vhost_hdr_packed, 120),
	KTAP_CASE(rx_too_big_dropped_split),
	KTAP_CASE(rx_too_big_dropped_packed),
	KTAP_CASE(rx_no_buffers_split),
	KTAP_CASE(rx_no_buffers_packed),
	KTAP_CASE_T(rx_too_few_buffers_split, 60),
	KTAP_CASE_T(rx_too_few_buffers_packed, 60),
	KTAP_CASE_T(rx_flood_split, 120),
	KTAP_CASE_T(rx_flood_packed, 120),
};

int main(void)
{
	return ktap_run(cases, KTAP_ARRAY_SIZE(cases));
}
