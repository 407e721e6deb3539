// SPDX-License-Identifier: GPL-2.0
/*
 * net_offload: checksum and segmentation offloads through vhost-net, with
 * the tap set up as QEMU does for a guest that negotiated them
 * (TUNSETOFFLOAD with CSUM and TSO, a 12-byte vnet header). The host side
 * is an AF_PACKET socket with PACKET_VNET_HDR on the tap, which shows and
 * takes the virtio-net header of each frame.
 *
 *  - TX checksum: a UDP or TCP frame the guest sends with NEEDS_CSUM and a
 *    partial checksum reaches the host still partial, with NEEDS_CSUM and
 *    the same csum_start and csum_offset (the host completes it, if it
 *    ever needs to), on both TX paths: batched (fits a page) and per
 *    packet (does not).
 *  - TX GSO: a TCPv4 super-packet (20000 and 3000 bytes, gso_size 1448)
 *    reaches the host as one GSO frame, gso_type and gso_size kept.
 *  - VHOST_NET_F_VIRTIO_NET_HDR (a tap without vnet header): vhost drops
 *    the guest's header, so frames reach the host plain, as sent, with no
 *    checksum or GSO request, whatever the header said.
 *  - RX GSO: a TCPv4 super-packet the host sends out of the tap reaches
 *    the guest as one packet with gso_type TCPV4, gso_size 1448 and
 *    NEEDS_CSUM, in mergeable buffers (num_buffers right) and in one big
 *    chain.
 *  - RX checksum: a NEEDS_CSUM frame reaches the guest with NEEDS_CSUM and
 *    its csum_start and csum_offset.
 *  - RX with the tap's offloads off: the host stack segments and
 *    checksums, so the guest gets plain, correctly checksummed segments
 *    carrying the same payload.
 *
 * Every case runs on split and on packed rings; the names say which.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "net_common.h"

#define F_MRG		(NET_F_BASE | BIT(VIRTIO_NET_F_MRG_RXBUF))
#ifndef TUN_F_USO4
#define TUN_F_USO4	0x20
#define TUN_F_USO6	0x40
#endif
#define TUN_OFFLOADS	(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN)
#define GSO_SIZE	1448
#define BIG_PAGES	17
#define MRG_BUF		1500
#define NBUF		64

static uint8_t frame[NET_MAX_FRAME], got[NET_MAX_FRAME];

struct ctx {
	struct net_env e;
	int vpkt;		/* AF_PACKET with PACKET_VNET_HDR on the tap */
	/* Guest RX buffers: MRG_BUF bytes each, or a header + 17 pages. */
	bool mrg;
	uint8_t *rxmem;
	uint32_t rxsize;
	uint32_t cookie[NBUF];
	/* Guest TX buffer: header + frame. */
	uint8_t *txbuf;
};

/* Post RX buffer @p: one piece (mergeable), or header + pages (big). */
static int post_rx(struct ctx *c, uint8_t *p, uint32_t *cookie)
{
	struct vdrv_buf in[2] = {
		{ .ptr = p, .len = c->rxsize },
		{ .ptr = p + c->e.hdr_len, .len = c->rxsize - c->e.hdr_len },
	};

	if (c->mrg)
		return vdrv_vq_add(c->e.rx, NULL, 0, in, 1, cookie);
	in[0].len = c->e.hdr_len;
	return vdrv_vq_add(c->e.rx, NULL, 0, in, 2, cookie);
}

static enum ktap_result ctx_init(struct ctx *c, enum net_tap tap,
				 uint64_t features, unsigned int offloads)
{
	unsigned int k, on = 1;
	enum ktap_result r;

	memset(c, 0, sizeof(*c));
	r = net_env_init(&c->e, tap, features, 256, 8 * MIB, 1500, false);
	if (r != KTAP_PASS)
		return r;
	if (tap == NET_TAP_VNET_HDR) {
		unsigned long uso = TUN_F_USO4 | TUN_F_USO6;

		/* USO (6.2+) is optional; a 6.1 tun refuses it. */
		if (!offloads || ioctl(c->e.tap, TUNSETOFFLOAD,
				       (unsigned long)offloads | uso))
			KTAP_OK(ioctl(c->e.tap, TUNSETOFFLOAD,
				      (unsigned long)offloads));
	}
	c->vpkt = net_pkt_open(c->e.ifindex);
	KTAP_CHECK(c->vpkt >= 0, "packet socket: %s", strerror(-c->vpkt));
	KTAP_OK(setsockopt(c->vpkt, SOL_PACKET, PACKET_VNET_HDR, &on,
			   sizeof(on)));
	c->mrg = features & BIT(VIRTIO_NET_F_MRG_RXBUF);
	c->rxsize = c->mrg ? MRG_BUF : c->e.hdr_len + BIG_PAGES * 4096;
	c->rxmem = vdrv_mem_alloc(c->e.mem, (size_t)NBUF * c->rxsize, 64);
	c->txbuf = vdrv_mem_alloc(c->e.mem, NET_HDR_LEN + NET_MAX_FRAME, 64);
	KTAP_CHECK(c->rxmem && c->txbuf, "%s", vdrv_last_error());
	for (k = 0; k < (c->mrg ? NBUF : 8); k++) {
		c->cookie[k] = k;
		VOK(post_rx(c, c->rxmem + (size_t)k * c->rxsize,
			    &c->cookie[k]));
	}
	VOK(vdrv_vq_kick(c->e.rx));
	return KTAP_PASS;
}

static void ctx_fini(struct ctx *c)
{
	close(c->vpkt);
	net_env_fini(&c->e);
}

/* The host's view of a frame: its header and bytes. */
static int host_recv(struct ctx *c, struct virtio_net_hdr *vh, uint8_t *buf,
		     uint32_t seq, int timeout_ms)
{
	int64_t deadline = net_now_ms() + timeout_ms;
	struct sockaddr_ll sll;
	struct iovec iov[2] = {
		{ .iov_base = vh, .iov_len = sizeof(*vh) },
		{ .iov_base = buf, .iov_len = NET_MAX_FRAME },
	};
	struct msghdr msg = { .msg_name = &sll, .msg_iov = iov,
			      .msg_iovlen = 2 };
	ssize_t n;

	for (;;) {
		struct pollfd p = { .fd = c->vpkt, .events = POLLIN };
		int64_t left = deadline - net_now_ms();

		msg.msg_namelen = sizeof(sll);
		n = recvmsg(c->vpkt, &msg, MSG_TRUNC);
		if (n >= (ssize_t)sizeof(*vh)) {
			n -= sizeof(*vh);
			if (sll.sll_pkttype == PACKET_OUTGOING ||
			    net_ip_frame_seq(buf, n) != seq)
				continue;
			return n;
		}
		if (n >= 0)
			continue;
		if (errno != EAGAIN)
			return -errno;
		if (left <= 0)
			return -ETIMEDOUT;
		poll(&p, 1, left);
	}
}

/* The host sends @len bytes of @buf out of the tap with header @vh. */
static int host_send(struct ctx *c, const struct virtio_net_hdr *vh,
		     const uint8_t *buf, size_t len)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IP),
		.sll_ifindex = c->e.ifindex,
		.sll_halen = 6,
	};
	struct iovec iov[2] = {
		{ .iov_base = (void *)vh, .iov_len = sizeof(*vh) },
		{ .iov_base = (void *)buf, .iov_len = len },
	};
	struct msghdr msg = { .msg_name = &sll, .msg_namelen = sizeof(sll),
			      .msg_iov = iov, .msg_iovlen = 2 };
	int tries;

	memcpy(sll.sll_addr, buf, 6);
	for (tries = 0; tries < 1000; tries++) {
		if (sendmsg(c->vpkt, &msg, 0) == (ssize_t)(sizeof(*vh) + len))
			return 0;
		if (errno != EAGAIN && errno != ENOBUFS)
			return -errno;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

/* The guest sends @len bytes of @buf with header @vh (12 bytes on the ring). */
static enum ktap_result guest_send(struct ctx *c,
				   const struct virtio_net_hdr *vh,
				   const uint8_t *buf, size_t len)
{
	struct vdrv_buf out[2] = {
		{ .ptr = c->txbuf, .len = c->e.hdr_len },
		{ .ptr = c->txbuf + c->e.hdr_len, .len = len },
	};
	int cookie;

	memset(c->txbuf, 0, c->e.hdr_len);
	memcpy(c->txbuf, vh, sizeof(*vh));
	memcpy(c->txbuf + c->e.hdr_len, buf, len);
	/* One flat buffer: the header and the frame together. */
	out[0].len += len;
	VOK(vdrv_vq_add(c->e.tx, out, 1, NULL, 0, &cookie));
	VOK(vdrv_vq_kick(c->e.tx));
	KTAP_CHECK(vdrv_vq_wait_used(c->e.tx, NULL, 5000) == &cookie, "%s",
		   vdrv_last_error());
	return KTAP_PASS;
}

/*
 * The guest's next packet: header into @hdr (12 bytes), frame into @out,
 * buffers posted again. Returns the frame length, or -1 after a diagnostic.
 */
static int guest_recv(struct ctx *c, uint8_t *hdr, uint8_t *out,
		      unsigned int *nbufs, int timeout_ms)
{
	unsigned int nb, i;
	size_t total;
	uint32_t len, *k;
	uint8_t *p;

	k = vdrv_vq_wait_used(c->e.rx, &len, timeout_ms);
	if (!k || len < c->e.hdr_len) {
		ktap_diag("no packet: %s (len %u)", vdrv_last_error(),
			  k ? len : 0);
		return -1;
	}
	p = c->rxmem + (size_t)*k * c->rxsize;
	memcpy(hdr, p, NET_HDR_LEN);
	nb = hdr[10] | hdr[11] << 8;
	total = len - c->e.hdr_len;
	memcpy(out, p + c->e.hdr_len, total);
	for (i = 1; i < nb; i++) {
		if (!c->mrg || len != c->rxsize) {
			ktap_diag("buffer %u of %u: %u bytes", i, nb, len);
			return -1;
		}
		if (post_rx(c, p, k) < 0)
			return -1;
		k = vdrv_vq_wait_used(c->e.rx, &len, timeout_ms);
		if (!k || !len || total + len > NET_MAX_FRAME) {
			ktap_diag("buffer %u of %u: %s", i, nb,
				  vdrv_last_error());
			return -1;
		}
		p = c->rxmem + (size_t)*k * c->rxsize;
		memcpy(out + total, p, len);
		total += len;
	}
	if (post_rx(c, p, k) < 0 || vdrv_vq_kick(c->e.rx) < 0)
		return -1;
	*nbufs = nb;
	return total;
}

/*
 * Frame @seq of @len bytes, its L4 checksum replaced by the partial one a
 * driver leaves for NEEDS_CSUM, and the header asking for it (and for GSO
 * of @gso_size if non-zero, TCP only).
 */
static void partial_frame(uint8_t *buf, size_t len, int proto, uint32_t seq,
			  unsigned int gso_size, struct virtio_net_hdr *vh)
{
	size_t hlen = net_ip_frame(buf, len, proto, 40000 + seq % 1000, 80,
				   seq);
	size_t off = net_l4_csum_off(buf);
	uint16_t partial = net_l4_pseudo_csum(buf, len);

	buf[off] = partial >> 8;
	buf[off + 1] = partial;
	memset(vh, 0, sizeof(*vh));
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->csum_start = NET_L4_OFF;
	vh->csum_offset = off - NET_L4_OFF;
	vh->hdr_len = hlen;
	if (gso_size) {
		vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		vh->gso_size = gso_size;
	}
}

/*
 * What the device would do for NEEDS_CSUM: sum from csum_start and store
 * it; the frame then carries a correct checksum.
 */
static bool complete_csum_ok(uint8_t *buf, size_t len,
			     const struct virtio_net_hdr *vh)
{
	uint32_t sum = 0;
	size_t i;

	for (i = vh->csum_start; i + 1 < len; i += 2)
		sum += buf[i] << 8 | buf[i + 1];
	if ((len - vh->csum_start) & 1)
		sum += buf[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	buf[vh->csum_start + vh->csum_offset] = sum >> 8;
	buf[vh->csum_start + vh->csum_offset + 1] = sum;
	return net_l4_csum_ok(buf, len);
}

static enum ktap_result hdr_is(const struct virtio_net_hdr *got_vh,
			       const struct virtio_net_hdr *want, size_t len)
{
	KTAP_EXPECT_EQ(got_vh->flags, want->flags);
	KTAP_EXPECT_EQ(got_vh->gso_type, want->gso_type);
	if (want->gso_type)
		KTAP_EXPECT_EQ(got_vh->gso_size, want->gso_size);
	if (want->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		KTAP_EXPECT_EQ(got_vh->csum_start, want->csum_start);
		KTAP_EXPECT_EQ(got_vh->csum_offset, want->csum_offset);
	}
	/* hdr_len is a hint: at least the headers, at most the frame. */
	if (want->gso_type)
		KTAP_CHECK(got_vh->hdr_len >= want->hdr_len &&
			   got_vh->hdr_len <= len, "hdr_len %u",
			   got_vh->hdr_len);
	return KTAP_PASS;
}

/* ------------------------------------------------------------------------
 * TX
 */

/* Guest → host: frame @seq as described, checked on the host. */
static enum ktap_result tx_check(struct ctx *c, size_t len, int proto,
				 uint32_t seq, unsigned int gso_size)
{
	struct virtio_net_hdr vh, hv;
	int n;

	partial_frame(frame, len, proto, seq, gso_size, &vh);
	if (guest_send(c, &vh, frame, len) != KTAP_PASS)
		return KTAP_FAIL;
	n = host_recv(c, &hv, got, seq, 5000);
	KTAP_CHECK(n >= 0, "frame %u (%zu bytes): %s", seq, len,
		   strerror(-n));
	KTAP_EXPECT_EQ(n, len);
	KTAP_CHECK(!memcmp(got, frame, len), "frame %u changed", seq);
	if (hdr_is(&hv, &vh, n) != KTAP_PASS)
		return KTAP_FAIL;
	/* The partial checksum was the right one to leave. */
	KTAP_CHECK(complete_csum_ok(got, n, &hv), "frame %u checksum", seq);
	return KTAP_PASS;
}

static enum ktap_result tx_csum(enum net_ring ring)
{
	static const size_t sizes[] = { 100, 1000, 1514, 3000, 5000, 9000 };
	enum ktap_result r;
	unsigned int i;
	struct ctx c;

	r = ctx_init(&c, NET_TAP_VNET_HDR, F_MRG | net_ring_features(ring),
		     TUN_OFFLOADS);
	if (r != KTAP_PASS)
		return r;
	for (i = 0; i < KTAP_ARRAY_SIZE(sizes); i++)
		if (tx_check(&c, sizes[i], IPPROTO_UDP, 2 * i, 0) !=
		    KTAP_PASS ||
		    tx_check(&c, sizes[i], IPPROTO_TCP, 2 * i + 1, 0) !=
		    KTAP_PASS)
			return KTAP_FAIL;
	KTAP_EXPECT_EQ(c.e.tx->err_count, 0);
	ctx_fini(&c);
	return KTAP_PASS;
}

static enum ktap_result tx_csum_split(void)
{
	return tx_csum(NET_RING_SPLIT);
}

static enum ktap_result tx_csum_packed(void)
{
	return tx_csum(NET_RING_PACKED);
}

static enum ktap_result tx_gso(enum net_ring ring)
{
	/* 3000 goes through the batch, the others through sendmsg. */
	static const size_t sizes[] = { 3000, 20000, 65000 };
	enum ktap_result r;
	unsigned int i;
	struct ctx c;

	r = ctx_init(&c, NET_TAP_VNET_HDR, F_MRG | net_ring_features(ring),
		     TUN_OFFLOADS);
	if (r != KTAP_PASS)
		return r;
	for (i = 0; i < KTAP_ARRAY_SIZE(sizes); i++)
		if (tx_check(&c, sizes[i], IPPROTO_TCP, 100 + i, GSO_SIZE) !=
		    KTAP_PASS)
			return KTAP_FAIL;
	/* And plain frames still pass between them. */
	if (tx_check(&c, 1000, IPPROTO_UDP, 200, 0) != KTAP_PASS)
		return KTAP_FAIL;
	KTAP_EXPECT_EQ(c.e.tx->err_count, 0);
	ctx_fini(&c);
	return KTAP_PASS;
}

static enum ktap_result tx_gso_split(void)
{
	return tx_gso(NET_RING_SPLIT);
}

static enum ktap_result tx_gso_packed(void)
{
	return tx_gso(NET_RING_PACKED);
}

/*
 * VHOST_NET_F_VIRTIO_NET_HDR: the tap has no vnet header and vhost drops
 * the guest's, so every frame arrives as sent, with an empty header on
 * the host side, even one whose header asked for checksum or GSO.
 */
static enum ktap_result tx_vhost_hdr(enum net_ring ring)
{
	static const size_t sizes[] = { 60, 1000, 3000, 9000, 20000 };
	struct virtio_net_hdr vh, hv, zero = { 0 };
	enum ktap_result r;
	unsigned int i;
	struct ctx c;
	int n;

	r = ctx_init(&c, NET_TAP_PLAIN, F_MRG | BIT(NET_F_VHOST_HDR) |
		     net_ring_features(ring), 0);
	if (r != KTAP_PASS)
		return r;
	for (i = 0; i < 2 * KTAP_ARRAY_SIZE(sizes); i++) {
		size_t len = sizes[i / 2];

		if (i & 1) {
			partial_frame(frame, len, IPPROTO_TCP, i, GSO_SIZE,
				      &vh);
		} else {
			net_ip_frame(frame, len, IPPROTO_UDP, 1, 2, i);
			memset(&vh, 0, sizeof(vh));
		}
		if (guest_send(&c, &vh, frame, len) != KTAP_PASS)
			return KTAP_FAIL;
		n = host_recv(&c, &hv, got, i, 5000);
		KTAP_CHECK(n >= 0, "frame %u: %s", i, strerror(-n));
		KTAP_EXPECT_EQ(n, len);
		KTAP_CHECK(!memcmp(got, frame, len), "frame %u changed", i);
		KTAP_CHECK(!memcmp(&hv, &zero, sizeof(hv)),
			   "frame %u: host header flags %u gso %u", i,
			   hv.flags, hv.gso_type);
		if (!(i & 1))
			KTAP_CHECK(net_l4_csum_ok(got, n), "frame %u", i);
	}
	KTAP_EXPECT_EQ(c.e.tx->err_count, 0);
	ctx_fini(&c);
	return KTAP_PASS;
}

static enum ktap_result tx_vhost_hdr_split(void)
{
	return tx_vhost_hdr(NET_RING_SPLIT);
}

static enum ktap_result tx_vhost_hdr_packed(void)
{
	return tx_vhost_hdr(NET_RING_PACKED);
}

/* ------------------------------------------------------------------------
 * RX
 */

/* Host → guest: frame @seq as described, checked in the guest. */
static enum ktap_result rx_check(struct ctx *c, size_t len, int proto,
				 uint32_t seq, unsigned int gso_size)
{
	struct virtio_net_hdr vh, *gv;
	uint8_t hdr[NET_HDR_LEN];
	unsigned int nb;
	int n;

	partial_frame(frame, len, proto, seq, gso_size, &vh);
	KTAP_OK(host_send(c, &vh, frame, len));
	n = guest_recv(c, hdr, got, &nb, 5000);
	KTAP_CHECK(n >= 0, "frame %u", seq);
	KTAP_EXPECT_EQ(net_ip_frame_seq(got, n), seq);
	KTAP_EXPECT_EQ(n, len);
	KTAP_CHECK(!memcmp(got, frame, len), "frame %u changed", seq);
	gv = (struct virtio_net_hdr *)hdr;
	if (hdr_is(gv, &vh, n) != KTAP_PASS)
		return KTAP_FAIL;
	KTAP_EXPECT_EQ(nb, c->mrg ? (NET_HDR_LEN + len + MRG_BUF - 1) /
				    MRG_BUF : 1);
	KTAP_CHECK(complete_csum_ok(got, n, gv), "frame %u checksum", seq);
	return KTAP_PASS;
}

static enum ktap_result rx_gso(enum net_ring ring, uint64_t features)
{
	static const size_t sizes[] = { 3000, 20000, 60000 };
	enum ktap_result r;
	unsigned int i;
	struct ctx c;

	r = ctx_init(&c, NET_TAP_VNET_HDR, features | net_ring_features(ring),
		     TUN_OFFLOADS);
	if (r != KTAP_PASS)
		return r;
	for (i = 0; i < KTAP_ARRAY_SIZE(sizes); i++)
		if (rx_check(&c, sizes[i], IPPROTO_TCP, 300 + i, GSO_SIZE) !=
		    KTAP_PASS)
			return KTAP_FAIL;
	KTAP_EXPECT_EQ(c.e.rx->err_count, 0);
	KTAP_EXPECT_EQ(vdrv_vq_used_pending(c.e.rx), 0);
	ctx_fini(&c);
	return KTAP_PASS;
}

static enum ktap_result rx_gso_mrg_split(void)
{
	return rx_gso(NET_RING_SPLIT, F_MRG);
}

static enum ktap_result rx_gso_mrg_packed(void)
{
	return rx_gso(NET_RING_PACKED, F_MRG);
}

static enum ktap_result rx_gso_big_split(void)
{
	return rx_gso(NET_RING_SPLIT, NET_F_BASE);
}

static enum ktap_result rx_gso_big_packed(void)
{
	return rx_gso(NET_RING_PACKED, NET_F_BASE);
}

static enum ktap_result rx_csum(enum net_ring ring)
{
	static const size_t sizes[] = { 60, 300, 1514 };
	enum ktap_result r;
	unsigned int i;
	struct ctx c;

	r = ctx_init(&c, NET_TAP_VNET_HDR, F_MRG | net_ring_features(ring),
		     TUN_OFFLOADS);
	if (r != KTAP_PASS)
		return r;
	for (i = 0; i < KTAP_ARRAY_SIZE(sizes); i++)
		if (rx_check(&c, sizes[i], IPPROTO_UDP, 400 + 2 * i, 0) !=
		    KTAP_PASS ||
		    rx_check(&c, sizes[i], IPPROTO_TCP, 401 + 2 * i, 0) !=
		    KTAP_PASS)
			return KTAP_FAIL;
	KTAP_EXPECT_EQ(c.e.rx->err_count, 0);
	ctx_fini(&c);
	return KTAP_PASS;
}

static enum ktap_result rx_csum_split(void)
{
	return rx_csum(NET_RING_SPLIT);
}

static enum ktap_result rx_csum_packed(void)
{
	return rx_csum(NET_RING_PACKED);
}

/*
 * The tap without offloads (a guest that did not negotiate them): the
 * host stack completes the checksum and segments the super-packet; the
 * guest gets MSS-sized segments, each with correct checksums and no
 * request, together carrying the payload in order.
 */
static enum ktap_result rx_no_offload(enum net_ring ring)
{
	enum { LEN = 20000, SEQ = 500 };
	size_t hlen = NET_L4_OFF + NET_TCP_HLEN, off = hlen, want_segs;
	struct virtio_net_hdr vh, *gv;
	uint8_t hdr[NET_HDR_LEN];
	unsigned int nb, segs = 0;
	enum ktap_result r;
	struct ctx c;
	int n;

	r = ctx_init(&c, NET_TAP_VNET_HDR, F_MRG | net_ring_features(ring), 0);
	if (r != KTAP_PASS)
		return r;
	/* A checksum request alone: completed by the host. */
	partial_frame(frame, 300, IPPROTO_UDP, SEQ - 1, 0, &vh);
	KTAP_OK(host_send(&c, &vh, frame, 300));
	n = guest_recv(&c, hdr, got, &nb, 5000);
	gv = (struct virtio_net_hdr *)hdr;
	KTAP_EXPECT_EQ(n, 300);
	KTAP_CHECK(!(gv->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) && !gv->gso_type,
		   "flags %#x gso %u", gv->flags, gv->gso_type);
	KTAP_CHECK(net_l4_csum_ok(got, n), "checksum not completed");

	partial_frame(frame, LEN, IPPROTO_TCP, SEQ, GSO_SIZE, &vh);
	KTAP_OK(host_send(&c, &vh, frame, LEN));
	want_segs = (LEN - hlen + GSO_SIZE - 1) / GSO_SIZE;
	while (off < LEN) {
		size_t plen;

		n = guest_recv(&c, hdr, got, &nb, 5000);
		KTAP_CHECK(n > (int)hlen, "segment %u", segs);
		KTAP_CHECK(!(gv->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
			   !gv->gso_type, "segment %u: flags %#x gso %u", segs,
			   gv->flags, gv->gso_type);
		plen = n - hlen;
		KTAP_EXPECT_EQ(plen, LEN - off < GSO_SIZE ? LEN - off :
				     GSO_SIZE);
		KTAP_EXPECT_EQ((got[NET_IP_OFF + 2] << 8 | got[NET_IP_OFF + 3]),
			       n - NET_IP_OFF);
		KTAP_CHECK(net_l4_csum_ok(got, n), "segment %u checksum", segs);
		KTAP_CHECK(!memcmp(got + hlen, frame + off, plen),
			   "segment %u payload", segs);
		off += plen;
		segs++;
	}
	KTAP_EXPECT_EQ(segs, want_segs);
	ktap_diag("%u segments of a %d byte super-packet (%s ring)", segs, LEN,
		  net_ring_name(ring));
	KTAP_EXPECT_EQ(c.e.rx->err_count, 0);
	ctx_fini(&c);
	return KTAP_PASS;
}

static enum ktap_result rx_no_offload_split(void)
{
	return rx_no_offload(NET_RING_SPLIT);
}

static enum ktap_result rx_no_offload_packed(void)
{
	return rx_no_offload(NET_RING_PACKED);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(tx_csum_split),
	KTAP_CASE(tx_csum_packed),
	KTAP_CASE(tx_gso_split),
	KTAP_CASE(tx_gso_packed),
	KTAP_CASE(tx_vhost_hdr_split),
	KTAP_CASE(tx_vhost_hdr_packed),
	KTAP_CASE(rx_gso_mrg_split),
	KTAP_CASE(rx_gso_mrg_packed),
	KTAP_CASE(rx_gso_big_split),
	KTAP_CASE(rx_gso_big_packed),
	KTAP_CASE(rx_csum_split),
	KTAP_CASE(rx_csum_packed),
	KTAP_CASE(rx_no_offload_split),
	KTAP_CASE(rx_no_offload_packed),
};

int main(void)
{
	return ktap_run(cases, KTAP_ARRAY_SIZE(cases));
}
