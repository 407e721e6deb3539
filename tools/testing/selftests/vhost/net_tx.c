// SPDX-License-Identifier: GPL-2.0
/*
 * net_tx: vhost-net's TX path. What the guest posts on vring 1 must come
 * out of the tap byte for byte, whatever the chain looks like: one buffer,
 * many, indirect, straddling two memory regions; with the virtio-net header
 * carried by the tap (QEMU's vnet_hdr=on) or stripped by vhost
 * (VHOST_NET_F_VIRTIO_NET_HDR); through batching and weights. Frames a
 * tap refuses (shorter than an Ethernet header, or while it is down) are
 * dropped but still completed. Each case runs on split and on packed rings
 * (VIRTIO_F_RING_PACKED), except the legacy header, which packed rings
 * cannot have.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/if_tun.h>

#include "net_common.h"

static uint8_t rbuf[NET_MAX_FRAME];
static uint32_t rng = 0x9e3779b9;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

enum layout { L_FLAT, L_CHAINED, L_INDIRECT, L_STRADDLE, L_MAX };

static const char *const layout_name[] = { "flat", "chained", "indirect",
					   "straddle" };

struct txbufs {
	uint8_t *hdr;		/* a zeroed header */
	uint8_t *flat;		/* header + frame, contiguous */
	uint8_t *data;		/* frame alone */
	uint64_t straddle;	/* GPA where a straddling frame starts */
};

/* Post frame @seq of @len bytes in layout @l; 0 or -errno. */
static int post_frame(struct net_env *e, struct txbufs *b, enum layout l,
		      size_t len, uint32_t seq, void *cookie)
{
	struct vdrv_buf out[9];
	int n = 0, pieces, i;
	size_t off = 0;

	switch (l) {
	case L_FLAT:
		memset(b->flat, 0, e->hdr_len);
		net_frame(b->flat + e->hdr_len, len, seq);
		out[n++] = (struct vdrv_buf){ .ptr = b->flat,
					      .len = e->hdr_len + len };
		return vdrv_vq_add(e->tx, out, n, NULL, 0, cookie);
	case L_CHAINED:
	case L_INDIRECT:
		out[n++] = (struct vdrv_buf){ .ptr = b->hdr, .len = e->hdr_len };
		net_frame(b->data, len, seq);
		pieces = 1 + rnd() % 8;
		if ((size_t)pieces > len)
			pieces = len;
		for (i = 0; i < pieces; i++) {
			size_t piece = i == pieces - 1 ? len - off :
				       1 + rnd() % ((len - off) - (pieces - 1 - i));

			out[n++] = (struct vdrv_buf){ .ptr = b->data + off,
						      .len = piece };
			off += piece;
		}
		if (l == L_INDIRECT)
			return vdrv_vq_add_indirect(e->tx, out, n, NULL, 0,
						    cookie);
		return vdrv_vq_add(e->tx, out, n, NULL, 0, cookie);
	default:
		/* The frame starts in region 0 and ends in region 1. */
		net_frame(b->data, len, seq);
		off = len / 2 < 32768 ? len / 2 : 32768;
		if (!off)
			off = 1;
		if (vdrv_mem_write(e->mem, e->mem->regions[1].gpa - off,
				   b->data, len))
			return -EFAULT;
		out[n++] = (struct vdrv_buf){ .ptr = b->hdr, .len = e->hdr_len };
		out[n++] = (struct vdrv_buf){ .gpa = e->mem->regions[1].gpa - off,
					      .len = len };
		return vdrv_vq_add(e->tx, out, n, NULL, 0, cookie);
	}
}

static enum ktap_result alloc_txbufs(struct net_env *e, struct txbufs *b)
{
	b->hdr = vdrv_mem_alloc(e->mem, NET_HDR_LEN, 8);
	b->flat = vdrv_mem_alloc(e->mem, NET_HDR_LEN + NET_MAX_FRAME, 8);
	b->data = vdrv_mem_alloc(e->mem, NET_MAX_FRAME, 8);
	KTAP_CHECK(b->hdr && b->flat && b->data, "%s", vdrv_last_error());
	return KTAP_PASS;
}

/* Every size in every layout; frames under 14 bytes are dropped. */
static enum ktap_result sizes_one(enum net_ring ring, enum net_tap tap,
				  uint64_t features)
{
	static const size_t sizes[] = { 1, 13, 18, 60, 64, 65, 127, 128, 256,
					1000, 1499, 1500, 1514, 1515, 2047,
					4095, 4096, 4097, 9000, 16384, 32767,
					32768, 50000, 65523, 65535 };
	unsigned int s, l, done = 0;
	struct net_env e;
	enum ktap_result r;
	struct txbufs b;
	uint32_t seq = 1;
	uint32_t len;
	int cookie, got;

	features |= net_ring_features(ring);
	r = net_env_init(&e, tap, features, 256, 4 * MIB, 1500, false);
	if (r != KTAP_PASS)
		return r;
	if (alloc_txbufs(&e, &b) != KTAP_PASS)
		return KTAP_FAIL;
	for (s = 0; s < KTAP_ARRAY_SIZE(sizes); s++) {
		for (l = 0; l < L_MAX; l++, seq++) {
			size_t n = sizes[s];

			VOK(post_frame(&e, &b, l, n, seq, &cookie));
			VOK(vdrv_vq_kick(e.tx));
			KTAP_CHECK(vdrv_vq_wait_used(e.tx, &len, 5000) == &cookie,
				   "size %zu %s: %s", n, layout_name[l],
				   vdrv_last_error());
			KTAP_EXPECT_EQ(len, 0);
			if (n < NET_ETH_HLEN)
				continue;
			got = net_pkt_recv(&e, rbuf, 5000);
			KTAP_CHECK(got >= 0, "size %zu %s: %s", n,
				   layout_name[l], strerror(-got));
			KTAP_CHECK(net_frame_seq(rbuf, got) == seq,
				   "size %zu %s: got frame %lld", n,
				   layout_name[l],
				   (long long)net_frame_seq(rbuf, got));
			KTAP_EXPECT_EQ(got, n);
			KTAP_CHECK(net_frame_ok(rbuf, n, seq), "size %zu %s",
				   n, layout_name[l]);
			done++;
		}
	}
	KTAP_EXPECT_EQ(e.tx->err_count, 0);
	ktap_diag("%u frames checked, %s ring, features 0x%llx", done,
		  net_ring_name(ring), (unsigned long long)features);
	net_env_fini(&e);
	return KTAP_PASS;
}

static enum ktap_result tx_sizes_split(void)
{
	return sizes_one(NET_RING_SPLIT, NET_TAP_VNET_HDR,
			 NET_F_BASE | BIT(VIRTIO_NET_F_MRG_RXBUF));
}

static enum ktap_result tx_sizes_packed(void)
{
	return sizes_one(NET_RING_PACKED, NET_TAP_VNET_HDR,
			 NET_F_BASE | BIT(VIRTIO_NET_F_MRG_RXBUF));
}

/* VHOST_NET_F_VIRTIO_NET_HDR: vhost strips the 12- or 10-byte header. */
static enum ktap_result tx_vhost_hdr_split(void)
{
	enum ktap_result r;

	r = sizes_one(NET_RING_SPLIT, NET_TAP_PLAIN,
		      NET_F_BASE | BIT(VIRTIO_NET_F_MRG_RXBUF) |
		      BIT(NET_F_VHOST_HDR));
	if (r != KTAP_PASS)
		return r;
	/* Legacy: no VERSION_1, no MRG_RXBUF: a 10-byte header. */
	return sizes_one(NET_RING_SPLIT, NET_TAP_PLAIN,
			 BIT(VIRTIO_RING_F_EVENT_IDX) |
			 BIT(VIRTIO_RING_F_INDIRECT_DESC) |
			 BIT(NET_F_VHOST_HDR));
}

/* Packed rings are virtio 1.1: VERSION_1 always, so no legacy header. */
static enum ktap_result tx_vhost_hdr_packed(void)
{
	return sizes_one(NET_RING_PACKED, NET_TAP_PLAIN,
			 NET_F_BASE | BIT(VIRTIO_NET_F_MRG_RXBUF) |
			 BIT(NET_F_VHOST_HDR));
}

/*
 * The tap's legacy 10-byte vnet header, as QEMU sets it without VERSION_1;
 * split only, packed rings need VERSION_1.
 */
static enum ktap_result tx_legacy_hdr_split(void)
{
	return sizes_one(NET_RING_SPLIT, NET_TAP_VNET_HDR,
			 BIT(VIRTIO_RING_F_INDIRECT_DESC));
}

/*
 * Many frames through a full ring with one kick per refill: batches of used
 * entries, the packet weight (256 a run) and requeueing. With @sndbuf, the
 * tap's send buffer is tiny. That may make sendmsg() return EAGAIN, but
 * need not: a 6.1 tap hands each frame to the host stack synchronously, so
 * its send buffer is usually empty again before the next frame; no test
 * here forces backpressure.
 */
static enum ktap_result flood_one(enum net_ring ring, int sndbuf,
				  unsigned int total)
{
	enum { NUM = 256, SLOT = 1600 };
	unsigned int posted = 0, completed = 0, received = 0;
	uint64_t features = NET_F_BASE | BIT(VIRTIO_NET_F_MRG_RXBUF) |
			    net_ring_features(ring);
	uint32_t len, *cookies;
	struct net_env e;
	enum ktap_result r;
	uint8_t *slots;
	int64_t t0;
	int got;

	r = net_env_init(&e, NET_TAP_VNET_HDR, features, NUM, 4 * MIB, 1500,
			 false);
	if (r != KTAP_PASS)
		return r;
	if (sndbuf)
		KTAP_OK(ioctl(e.tap, TUNSETSNDBUF, &sndbuf));
	slots = vdrv_mem_alloc(e.mem, NUM * SLOT, 64);
	cookies = calloc(NUM, sizeof(*cookies));
	KTAP_CHECK(slots && cookies, "alloc");
	t0 = net_now_ms();
	while (completed < total) {
		while (posted < total && posted - completed < NUM) {
			unsigned int k = posted % NUM;
			size_t n = 60 + rnd() % (SLOT - NET_HDR_LEN - 60);
			struct vdrv_buf out = { .ptr = slots + k * SLOT,
						.len = NET_HDR_LEN + n };

			memset(slots + k * SLOT, 0, NET_HDR_LEN);
			net_frame(slots + k * SLOT + NET_HDR_LEN, n, posted);
			cookies[k] = posted;
			VOK(vdrv_vq_add(e.tx, &out, 1, NULL, 0, &cookies[k]));
			posted++;
		}
		VOK(vdrv_vq_kick(e.tx));
		for (;;) {
			uint32_t *c = vdrv_vq_get_used(e.tx, &len);

			if (!c)
				break;
			KTAP_EXPECT_EQ(*c, completed);
			completed++;
		}
		/* Drain the host side as we go, in order. */
		while (received < completed) {
			got = net_pkt_recv(&e, rbuf, 0);
			if (got == -ETIMEDOUT)
				break;
			KTAP_CHECK(got > 0, "recv: %s", strerror(-got));
			KTAP_EXPECT_EQ(net_frame_seq(rbuf, got), received);
			KTAP_CHECK(net_frame_ok(rbuf, got, received), "seq");
			received++;
		}
		if (completed < posted && !vdrv_vq_used_pending(e.tx)) {
			uint32_t *c = vdrv_vq_wait_used(e.tx, NULL, 5000);

			KTAP_CHECK(c, "stuck at %u/%u: %s", completed, posted,
				   vdrv_last_error());
			KTAP_EXPECT_EQ(*c, completed);
			completed++;
		}
	}
	while (received < total) {
		got = net_pkt_recv(&e, rbuf, 5000);
		KTAP_CHECK(got > 0, "frame %u: %s", received, strerror(-got));
		KTAP_EXPECT_EQ(net_frame_seq(rbuf, got), received);
		KTAP_CHECK(net_frame_ok(rbuf, got, received), "seq");
		received++;
	}
	KTAP_EXPECT_EQ(e.tx->err_count, 0);
	ktap_diag("%u frames in %lld ms (sndbuf %d, %s ring)", total,
		  (long long)(net_now_ms() - t0), sndbuf, net_ring_name(ring));
	free(cookies);
	net_env_fini(&e);
	return KTAP_PASS;
}

static enum ktap_result tx_flood_split(void)
{
	return flood_one(NET_RING_SPLIT, 0, 5000);
}

static enum ktap_result tx_flood_packed(void)
{
	return flood_one(NET_RING_PACKED, 0, 5000);
}

static enum ktap_result tx_small_sndbuf_split(void)
{
	return flood_one(NET_RING_SPLIT, 4096, 2000);
}

static enum ktap_result tx_small_sndbuf_packed(void)
{
	return flood_one(NET_RING_PACKED, 4096, 2000);
}

/* Bring the tap up or down. */
static int tap_set_up(struct net_env *e, bool up)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = -1;

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", e->ifname);
	if (s >= 0 && !ioctl(s, SIOCGIFFLAGS, &ifr)) {
		if (up)
			ifr.ifr_flags |= IFF_UP;
		else
			ifr.ifr_flags &= ~IFF_UP;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	if (s >= 0)
		close(s);
	return r;
}

/*
 * A send error other than backpressure (a tap that is down: EIO) drops
 * the frame but completes its descriptor, so the queue never stalls; once
 * the tap is up again, frames flow.
 */
static enum ktap_result error_completes(enum net_ring ring)
{
	enum { N = 40 };
	uint64_t features = NET_F_BASE | BIT(VIRTIO_NET_F_MRG_RXBUF) |
			    net_ring_features(ring);
	uint32_t cookies[N], *c;
	struct net_env e;
	enum ktap_result r;
	unsigned int i, base;
	uint8_t *slots;
	int got;

	r = net_env_init(&e, NET_TAP_VNET_HDR, features, 16, 1 * MIB, 1500,
			 false);
	if (r != KTAP_PASS)
		return r;
	slots = vdrv_mem_alloc(e.mem, N * 256, 64);
	KTAP_CHECK(slots, "%s", vdrv_last_error());
	KTAP_OK(tap_set_up(&e, false));
	for (i = 0; i < N; i++) {
		struct vdrv_buf out = { .ptr = slots + i * 256,
					.len = NET_HDR_LEN + 200 };

		if (i == N / 2) {
			/* More than the ring holds went nowhere. */
			got = net_pkt_recv(&e, rbuf, 0);
			KTAP_CHECK(got == -ETIMEDOUT || got == -ENETDOWN,
				   "frame %lld (%d bytes) got out of a down tap",
				   (long long)net_frame_seq(rbuf, got), got);
			KTAP_OK(tap_set_up(&e, true));
		}
		net_frame(slots + i * 256 + NET_HDR_LEN, 200, i);
		cookies[i] = i;
		VOK(vdrv_vq_add(e.tx, &out, 1, NULL, 0, &cookies[i]));
		VOK(vdrv_vq_kick(e.tx));
		c = vdrv_vq_wait_used(e.tx, NULL, 5000);
		KTAP_CHECK(c, "frame %u: %s", i, vdrv_last_error());
		KTAP_EXPECT_EQ(*c, i);
		if (i < N / 2)
			continue;
		got = net_pkt_recv(&e, rbuf, 5000);
		KTAP_EXPECT_EQ(net_frame_seq(rbuf, got), i);
		KTAP_CHECK(net_frame_ok(rbuf, got, i), "frame %u", i);
	}
	VOK(vdrv_net_set_backend(e.dev, 1, -1));
	VOK(vdrv_vq_get_base(e.tx, &base));
	KTAP_EXPECT_EQ(base, net_base_after(e.tx, N));
	KTAP_EXPECT_EQ(e.tx->err_count, 0);
	net_env_fini(&e);
	return KTAP_PASS;
}

static enum ktap_result tx_error_completes_split(void)
{
	return error_completes(NET_RING_SPLIT);
}

static enum ktap_result tx_error_completes_packed(void)
{
	return error_completes(NET_RING_PACKED);
}

static const struct ktap_case cases[] = {
	KTAP_CASE_T(tx_sizes_split, 120),
	KTAP_CASE_T(tx_sizes_packed, 120),
	KTAP_CASE_T(tx_vhost_hdr_split, 120),
	KTAP_CASE_T(tx_vhost_hdr_packed, 120),
	KTAP_CASE_T(tx_legacy_hdr_split, 120),
	KTAP_CASE_T(tx_flood_split, 120),
	KTAP_CASE_T(tx_flood_packed, 120),
	KTAP_CASE_T(tx_small_sndbuf_split, 120),
	KTAP_CASE_T(tx_small_sndbuf_packed, 120),
	KTAP_CASE(tx_error_completes_split),
	KTAP_CASE(tx_error_completes_packed),
};

int main(void)
{
	return ktap_run(cases, KTAP_ARRAY_SIZE(cases));
}
