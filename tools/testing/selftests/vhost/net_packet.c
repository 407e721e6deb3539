// SPDX-License-Identifier: GPL-2.0
/*
 * net_packet: vhost-net on an AF_PACKET raw socket, the third backend
 * upstream's VHOST_NET_SET_BACKEND takes besides tun/tap and macvtap.
 *
 * A veth pair plays the network: an AF_PACKET SOCK_RAW socket bound to one
 * end is the backend of both vrings; a second packet socket on the peer
 * captures what the guest sends and injects what it must receive. A packet
 * socket carries no virtio-net header, so vhost provides it
 * (VHOST_NET_F_VIRTIO_NET_HDR).
 *
 *  - TX: frames the guest posts (one buffer, or the header apart and the
 *    frame in pieces) leave the peer in order and byte for byte; frames the
 *    socket refuses (shorter than an Ethernet header, longer than the MTU)
 *    are dropped but completed, and the frames behind them flow.
 *  - RX: frames the peer sends land in the guest's ring in order, each
 *    behind the header vhost wrote: zero but for num_buffers, which counts
 *    the buffers of a frame merged over several (MRG_RXBUF); with the
 *    legacy 10-byte header (no MRG_RXBUF, no VERSION_1) one buffer each.
 *  - Detach (-1) and re-attach, QEMU's stop and start: GET_VRING_BASE is
 *    exact, frames that came in while RX was detached wait in the socket
 *    and arrive afterwards; the socket can be swapped for another one, and
 *    the device keeps the socket alive after the process closed its fd.
 *  - SET_BACKEND refuses other sockets and files with ENOTSOCK, upstream's
 *    answer: a UDP socket, a raw IPv4 socket, an AF_PACKET SOCK_DGRAM
 *    socket, a regular file. An unbound AF_PACKET SOCK_RAW socket is taken;
 *    what the guest sends through it is dropped (no device) but completed.
 *
 * The data path cases run on split and on packed rings.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "net_common.h"

#define F_PKT	(NET_F_BASE | BIT(VIRTIO_NET_F_MRG_RXBUF) | BIT(NET_F_VHOST_HDR))
#define NRX	64
#define RXSZ	1024
#define NTX	256
#define TXSZ	4096

static uint8_t frame[NET_MAX_FRAME], got[NET_MAX_FRAME];
static uint32_t rng = 0x6b43a9b5;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

struct pk {
	struct net_env e;	/* tap: the backend socket; pkt: on the peer */
	char end[IFNAMSIZ], peer[IFNAMSIZ];
	int end_ifindex;
	bool created;
	uint8_t *rx, *tx, *hdr;
	uint32_t rxc[NRX], txc[NTX];
	uint32_t tx_done;	/* TX chains used so far */
};

static int run(const char *fmt, ...) __printf(1, 2);

/* Run a shell command quietly; 0 if it exited 0. */
static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st)
		ktap_diag("'%s' failed (status %d)", cmd, st);
	return st;
}

/* No IPv6 on @ifname: the host stack then sends nothing on its own. */
static void quiet(const char *ifname)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			ktap_diag("%s: %s", path, strerror(errno));
		close(fd);
	}
}

static enum ktap_result rx_post(struct pk *p, unsigned int k)
{
	struct vdrv_buf in = { .ptr = p->rx + k * RXSZ, .len = RXSZ };

	p->rxc[k] = k;
	VOK(vdrv_vq_add(p->e.rx, NULL, 0, &in, 1, &p->rxc[k]));
	return KTAP_PASS;
}

/*
 * A veth pair end/peer, up and quiet; a packet socket on end as the backend
 * (attached unless @no_backend), one on the peer for the host's side;
 * vhost-net with @features; RX buffers posted.
 */
static enum ktap_result pk_init(struct pk *p, uint64_t features,
				bool no_backend)
{
	enum ktap_result r;
	unsigned int k;

	memset(p, 0, sizeof(*p));
	p->e.tap = -1;
	p->e.pkt = -1;
	snprintf(p->end, sizeof(p->end), "kvpe%d", getpid());
	snprintf(p->peer, sizeof(p->peer), "kvpp%d", getpid());
	KTAP_SKIP_IF(run("modprobe -q veth"), "no veth module");
	KTAP_CHECK(!run("ip link add %s type veth peer name %s", p->end,
			p->peer), "veth");
	p->created = true;
	quiet(p->end);
	quiet(p->peer);
	KTAP_CHECK(!run("ip link set %s arp off up", p->end) &&
		   !run("ip link set %s arp off up", p->peer), "veth up");
	p->end_ifindex = if_nametoindex(p->end);
	p->e.ifindex = if_nametoindex(p->peer);
	KTAP_CHECK(p->end_ifindex > 0 && p->e.ifindex > 0, "ifindex");
	snprintf(p->e.ifname, sizeof(p->e.ifname), "%s", p->peer);
	p->e.tap = net_pkt_open(p->end_ifindex);
	p->e.pkt = net_pkt_open(p->e.ifindex);
	KTAP_CHECK(p->e.tap >= 0 && p->e.pkt >= 0, "packet sockets: %s",
		   strerror(-(p->e.tap < 0 ? p->e.tap : p->e.pkt)));
	r = net_env_init_fd(&p->e, features, 256, 4 * MIB, no_backend);
	if (r != KTAP_PASS)
		return r;
	p->rx = vdrv_mem_alloc(p->e.mem, NRX * RXSZ, 64);
	p->tx = vdrv_mem_alloc(p->e.mem, NTX * TXSZ, 64);
	p->hdr = vdrv_mem_alloc(p->e.mem, NET_HDR_LEN, 8);
	KTAP_CHECK(p->rx && p->tx && p->hdr, "%s", vdrv_last_error());
	for (k = 0; k < NRX; k++)
		if (rx_post(p, k) != KTAP_PASS)
			return KTAP_FAIL;
	VOK(vdrv_vq_kick_force(p->e.rx));
	return KTAP_PASS;
}

static void pk_fini(struct pk *p)
{
	net_env_fini(&p->e);
	if (p->created)
		run("ip link del %s 2>/dev/null", p->end);
	p->created = false;
}

/*
 * Post TX frame @seq of @len bytes, in one buffer or (@chained) with the
 * header apart and the frame in up to four pieces. 0 or -errno.
 */
static int tx_post(struct pk *p, uint32_t seq, size_t len, bool chained)
{
	unsigned int k = seq % NTX, n = 0, pieces, i;
	uint8_t *b = p->tx + k * TXSZ;
	size_t hl = p->e.hdr_len, off = 0;
	struct vdrv_buf out[5];

	p->txc[k] = seq;
	if (!chained) {
		memset(b, 0, hl);
		net_frame(b + hl, len, seq);
		out[n++] = (struct vdrv_buf){ .ptr = b, .len = hl + len };
		return vdrv_vq_add(p->e.tx, out, n, NULL, 0, &p->txc[k]);
	}
	out[n++] = (struct vdrv_buf){ .ptr = p->hdr, .len = hl };
	net_frame(b, len, seq);
	pieces = 1 + rnd() % 4;
	if (pieces > len)
		pieces = len;
	for (i = 0; i < pieces; i++) {
		size_t piece = i == pieces - 1 ? len - off :
			       1 + rnd() % (len - off - (pieces - 1 - i));

		out[n++] = (struct vdrv_buf){ .ptr = b + off, .len = piece };
		off += piece;
	}
	return vdrv_vq_add(p->e.tx, out, n, NULL, 0, &p->txc[k]);
}

/* The next TX completion is @seq, with nothing written. */
static enum ktap_result tx_used(struct pk *p, uint32_t seq)
{
	uint32_t len = 1, *c = vdrv_vq_wait_used(p->e.tx, &len, 5000);

	KTAP_CHECK(c, "tx frame %u: %s", seq, vdrv_last_error());
	KTAP_EXPECT_EQ(*c, seq);
	KTAP_EXPECT_EQ(len, 0);
	p->tx_done++;
	return KTAP_PASS;
}

/* The peer received TX frame @seq of @len bytes, intact. */
static enum ktap_result peer_got(struct pk *p, uint32_t seq, size_t len)
{
	int n = net_pkt_recv(&p->e, got, 5000);

	KTAP_CHECK(n > 0, "tx frame %u: %s", seq, strerror(-n));
	KTAP_EXPECT_EQ(net_frame_seq(got, n), seq);
	KTAP_EXPECT_EQ(n, len);
	KTAP_CHECK(net_frame_ok(got, n, seq), "tx frame %u", seq);
	return KTAP_PASS;
}

/* Send frame @seq through the guest; @delivered: the peer must get it. */
static enum ktap_result tx_one(struct pk *p, uint32_t seq, size_t len,
			       bool chained, bool delivered)
{
	VOK(tx_post(p, seq, len, chained));
	VOK(vdrv_vq_kick_force(p->e.tx));
	if (tx_used(p, seq) != KTAP_PASS)
		return KTAP_FAIL;
	return delivered ? peer_got(p, seq, len) : KTAP_PASS;
}

/*
 * The next frame in the guest's RX ring is @seq of @len bytes: reap its
 * buffers (num_buffers of them), check the header vhost wrote and the
 * bytes, and post the buffers again.
 */
static enum ktap_result rx_got(struct pk *p, uint32_t seq, size_t len)
{
	size_t hl = p->e.hdr_len, total = 0, want_bufs;
	unsigned int nbufs = 1, i, k;
	static const uint8_t zero[NET_HDR_LEN];
	uint32_t l, *c;
	uint8_t *b;

	want_bufs = hl == NET_HDR_LEN ? (hl + len + RXSZ - 1) / RXSZ : 1;
	for (i = 0; i < nbufs; i++) {
		c = vdrv_vq_wait_used(p->e.rx, &l, 5000);
		KTAP_CHECK(c, "rx frame %u, buffer %u: %s", seq, i,
			   vdrv_last_error());
		k = *c;
		b = p->rx + k * RXSZ;
		KTAP_CHECK(l > 0 && l <= RXSZ, "rx frame %u: %u bytes", seq, l);
		if (!i) {
			KTAP_CHECK(l >= hl, "rx frame %u: %u bytes", seq, l);
			KTAP_CHECK(!memcmp(b, zero, NET_HDR_LEN_LEGACY),
				   "rx frame %u: header not zero", seq);
			if (hl == NET_HDR_LEN)
				nbufs = b[10] | b[11] << 8;
			KTAP_EXPECT_EQ(nbufs, want_bufs);
			memcpy(got, b + hl, l - hl);
			total = l - hl;
		} else {
			KTAP_CHECK(total + l <= sizeof(got), "too long");
			memcpy(got + total, b, l);
			total += l;
		}
		if (rx_post(p, k) != KTAP_PASS)
			return KTAP_FAIL;
	}
	VOK(vdrv_vq_kick(p->e.rx));
	KTAP_EXPECT_EQ(total, len);
	KTAP_EXPECT_EQ(net_frame_seq(got, total), seq);
	KTAP_CHECK(net_frame_ok(got, total, seq), "rx frame %u", seq);
	return KTAP_PASS;
}

/* ------------------------------------------------------------------------
 * The cases
 */

static enum ktap_result tx(enum net_ring ring)
{
	static const size_t sizes[] = { 18, 60, 64, 100, 500, 1000, 1499,
					1500, 1513, 1514 };
	enum { BURST = 100 };	/* a third chained: fits 256 descriptors */
	size_t len, lens[BURST];
	uint32_t seq = 1;
	enum ktap_result r;
	unsigned int i;
	struct pk p;
	int n;

	r = pk_init(&p, F_PKT | net_ring_features(ring), false);
	if (r != KTAP_PASS)
		return r;
	for (i = 0; i < KTAP_ARRAY_SIZE(sizes); i++, seq += 2) {
		if (tx_one(&p, seq, sizes[i], false, true) != KTAP_PASS ||
		    tx_one(&p, seq + 1, sizes[i], true, true) != KTAP_PASS)
			return KTAP_FAIL;
	}
	/* A burst, one kick. */
	for (i = 0; i < BURST; i++) {
		lens[i] = 60 + rnd() % (1514 - 60 + 1);
		VOK(tx_post(&p, seq + i, lens[i], i % 3 == 0));
	}
	VOK(vdrv_vq_kick_force(p.e.tx));
	for (i = 0; i < BURST; i++)
		if (tx_used(&p, seq + i) != KTAP_PASS)
			return KTAP_FAIL;
	for (i = 0; i < BURST; i++)
		if (peer_got(&p, seq + i, lens[i]) != KTAP_PASS)
			return KTAP_FAIL;
	seq += BURST;
	/* Refused by the socket: dropped, completed, and the next flows. */
	len = 10;
	if (tx_one(&p, seq, len, false, false) != KTAP_PASS ||
	    tx_one(&p, seq + 1, 3000, false, false) != KTAP_PASS ||
	    tx_one(&p, seq + 2, 600, true, true) != KTAP_PASS)
		return KTAP_FAIL;
	n = net_pkt_recv(&p.e, got, 100);
	KTAP_CHECK(n == -ETIMEDOUT, "frame %lld came out",
		   (long long)net_frame_seq(got, n));
	KTAP_EXPECT_EQ(p.e.tx->err_count, 0);
	ktap_diag("%u frames through the packet socket, %s ring", p.tx_done,
		  net_ring_name(ring));
	pk_fini(&p);
	return KTAP_PASS;
}

static enum ktap_result packet_tx_split(void)
{
	return tx(NET_RING_SPLIT);
}

static enum ktap_result packet_tx_packed(void)
{
	return tx(NET_RING_PACKED);
}

/* Frames the peer sends, one at a time and in bursts, reach the guest. */
static enum ktap_result rx(enum net_ring ring, uint64_t features,
			   size_t max)
{
	static const size_t sizes[] = { 60, 61, 100, 1000, 1011, 1012, 1013,
					1500, 1514 };
	enum { BURST = 40 };
	unsigned int i, round, frames = 0;
	size_t lens[BURST];
	uint32_t seq = 1;
	enum ktap_result r;
	struct pk p;

	r = pk_init(&p, features | net_ring_features(ring), false);
	if (r != KTAP_PASS)
		return r;
	for (i = 0; i < KTAP_ARRAY_SIZE(sizes); i++, seq++) {
		if (sizes[i] > max)
			continue;
		net_frame(frame, sizes[i], seq);
		KTAP_OK(net_pkt_send(&p.e, frame, sizes[i]));
		if (rx_got(&p, seq, sizes[i]) != KTAP_PASS)
			return KTAP_FAIL;
		frames++;
	}
	/*
	 * Bursts that may need more buffers than are posted: the rest wait
	 * in the socket until the guest gives buffers back.
	 */
	for (round = 0; round < 5; round++) {
		for (i = 0; i < BURST; i++) {
			lens[i] = 60 + rnd() % (max - 60 + 1);
			net_frame(frame, lens[i], seq + i);
			KTAP_OK(net_pkt_send(&p.e, frame, lens[i]));
		}
		for (i = 0; i < BURST; i++)
			if (rx_got(&p, seq + i, lens[i]) != KTAP_PASS)
				return KTAP_FAIL;
		seq += BURST;
		frames += BURST;
	}
	KTAP_EXPECT_EQ(vdrv_vq_used_pending(p.e.rx), 0);
	KTAP_EXPECT_EQ(p.e.rx->err_count, 0);
	ktap_diag("%u frames into the guest, %zu-byte header, %s ring",
		  frames, p.e.hdr_len, net_ring_name(ring));
	pk_fini(&p);
	return KTAP_PASS;
}

static enum ktap_result packet_rx_split(void)
{
	return rx(NET_RING_SPLIT, F_PKT, 1514);
}

static enum ktap_result packet_rx_packed(void)
{
	return rx(NET_RING_PACKED, F_PKT, 1514);
}

/*
 * The legacy 10-byte header, no MRG_RXBUF: one buffer per frame, so frames
 * up to the buffer size less the header. Split only (packed needs
 * VERSION_1). TX too.
 */
static enum ktap_result packet_legacy_split(void)
{
	uint64_t f = BIT(VIRTIO_RING_F_EVENT_IDX) |
		     BIT(VIRTIO_RING_F_INDIRECT_DESC) | BIT(NET_F_VHOST_HDR);
	enum ktap_result r;
	unsigned int i;
	struct pk p;

	r = rx(NET_RING_SPLIT, f, RXSZ - NET_HDR_LEN_LEGACY);
	if (r != KTAP_PASS)
		return r;
	r = pk_init(&p, f, false);
	if (r != KTAP_PASS)
		return r;
	KTAP_EXPECT_EQ(p.e.hdr_len, NET_HDR_LEN_LEGACY);
	for (i = 0; i < 20; i++)
		if (tx_one(&p, i, 60 + i * 70, i & 1, true) != KTAP_PASS)
			return KTAP_FAIL;
	KTAP_EXPECT_EQ(p.e.tx->err_count, 0);
	pk_fini(&p);
	return KTAP_PASS;
}

/* QEMU's stop and start of both queues, with frames arriving meanwhile. */
static enum ktap_result stop_start(enum net_ring ring)
{
	uint32_t tseq = 1, rseq = 1000;
	unsigned int cycle, i, base;
	size_t lens[10];
	enum ktap_result r;
	struct pk p;
	int other;

	r = pk_init(&p, F_PKT | net_ring_features(ring), false);
	if (r != KTAP_PASS)
		return r;
	for (cycle = 0; cycle < 4; cycle++) {
		for (i = 0; i < 5; i++, tseq++)
			if (tx_one(&p, tseq, 100 + tseq, i & 1, true) !=
			    KTAP_PASS)
				return KTAP_FAIL;
		VOK(vdrv_net_set_backend(p.e.dev, 1, -1));
		VOK(vdrv_net_set_backend(p.e.dev, 0, -1));
		/* Exact: where the driver is, everything having been used. */
		VOK(vdrv_vq_get_base(p.e.tx, &base));
		if (ring == NET_RING_PACKED)
			KTAP_EXPECT_EQ(base, p.e.tx->avail_idx |
				       (uint32_t)p.e.tx->last_used_idx << 16);
		else
			KTAP_EXPECT_EQ(base, (uint16_t)p.tx_done);
		VOK(vdrv_vq_get_base(p.e.rx, NULL));
		/* Detached: frames wait in the socket... */
		for (i = 0; i < 10; i++) {
			lens[i] = 60 + rnd() % 1455;
			net_frame(frame, lens[i], rseq + i);
			KTAP_OK(net_pkt_send(&p.e, frame, lens[i]));
		}
		usleep(50 * 1000);
		KTAP_EXPECT_EQ(vdrv_vq_used_pending(p.e.rx), 0);
		VOK(vdrv_vq_start(p.e.tx));
		VOK(vdrv_vq_start(p.e.rx));
		if (cycle == 2) {
			/*
			 * ...then go to another socket on the same end, once
			 * the old one's queue is drained.
			 */
			other = net_pkt_open(p.end_ifindex);
			KTAP_CHECK(other >= 0, "%s", strerror(-other));
			VOK(vdrv_net_set_backend(p.e.dev, 0, p.e.tap));
			for (i = 0; i < 10; i++)
				if (rx_got(&p, rseq + i, lens[i]) != KTAP_PASS)
					return KTAP_FAIL;
			rseq += 10;
			VOK(vdrv_net_set_backend(p.e.dev, 0, other));
			VOK(vdrv_net_set_backend(p.e.dev, 1, other));
			/* Nobody holds the old one any more. */
			close(p.e.tap);
			p.e.tap = other;
			continue;
		}
		VOK(vdrv_net_set_backend(p.e.dev, 0, p.e.tap));
		VOK(vdrv_net_set_backend(p.e.dev, 1, p.e.tap));
		/* ...and arrive, in order, once RX is back. */
		for (i = 0; i < 10; i++)
			if (rx_got(&p, rseq + i, lens[i]) != KTAP_PASS)
				return KTAP_FAIL;
		rseq += 10;
	}
	/* Close our fd of the attached socket: traffic goes on. */
	close(p.e.tap);
	p.e.tap = -1;
	for (i = 0; i < 5; i++, tseq++) {
		if (tx_one(&p, tseq, 300, false, true) != KTAP_PASS)
			return KTAP_FAIL;
		net_frame(frame, 400, rseq);
		KTAP_OK(net_pkt_send(&p.e, frame, 400));
		if (rx_got(&p, rseq++, 400) != KTAP_PASS)
			return KTAP_FAIL;
	}
	KTAP_EXPECT_EQ(p.e.tx->err_count + p.e.rx->err_count, 0);
	/* Closing the device releases the socket with it. */
	pk_fini(&p);
	return KTAP_PASS;
}

static enum ktap_result packet_stop_start_split(void)
{
	return stop_start(NET_RING_SPLIT);
}

static enum ktap_result packet_stop_start_packed(void)
{
	return stop_start(NET_RING_PACKED);
}

/* What SET_BACKEND refuses, and the unbound packet socket it takes. */
static enum ktap_result packet_backend_errors(void)
{
	int udp, raw4, dgram, file, unbound, fds[4];
	enum ktap_result r;
	unsigned int i, q;
	struct pk p;

	r = pk_init(&p, F_PKT, false);
	if (r != KTAP_PASS)
		return r;
	udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	raw4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
	dgram = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL));
	file = memfd_create("kvhost-regular", MFD_CLOEXEC);
	unbound = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	KTAP_CHECK(udp >= 0 && raw4 >= 0 && dgram >= 0 && file >= 0 &&
		   unbound >= 0, "fds: %s", strerror(errno));
	KTAP_OK(ftruncate(file, 4096));
	fds[0] = udp;
	fds[1] = raw4;
	fds[2] = dgram;
	fds[3] = file;
	for (i = 0; i < 4; i++)
		for (q = 0; q < 2; q++)
			KTAP_EXPECT_EQ(vdrv_net_set_backend(p.e.dev, q, fds[i]),
				       -ENOTSOCK);
	/* The refusals left the attached socket in place. */
	if (tx_one(&p, 1, 200, false, true) != KTAP_PASS)
		return KTAP_FAIL;
	net_frame(frame, 200, 2);
	KTAP_OK(net_pkt_send(&p.e, frame, 200));
	if (rx_got(&p, 2, 200) != KTAP_PASS)
		return KTAP_FAIL;
	/* Unbound: taken; frames go nowhere but complete. */
	VOK(vdrv_net_set_backend(p.e.dev, 1, unbound));
	if (tx_one(&p, 3, 200, false, false) != KTAP_PASS ||
	    tx_one(&p, 4, 200, true, false) != KTAP_PASS)
		return KTAP_FAIL;
	KTAP_CHECK(net_pkt_recv(&p.e, got, 100) == -ETIMEDOUT,
		   "a frame left through an unbound socket");
	VOK(vdrv_net_set_backend(p.e.dev, 1, p.e.tap));
	if (tx_one(&p, 5, 200, false, true) != KTAP_PASS)
		return KTAP_FAIL;
	KTAP_EXPECT_EQ(p.e.tx->err_count + p.e.rx->err_count, 0);
	close(udp);
	close(raw4);
	close(dgram);
	close(file);
	close(unbound);
	pk_fini(&p);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE_T(packet_tx_split, 60),
	KTAP_CASE_T(packet_tx_packed, 60),
	KTAP_CASE_T(packet_rx_split, 60),
	KTAP_CASE_T(packet_rx_packed, 60),
	KTAP_CASE_T(packet_legacy_split, 60),
	KTAP_CASE_T(packet_stop_start_split, 60),
	KTAP_CASE_T(packet_stop_start_packed, 60),
	KTAP_CASE(packet_backend_errors),
};

int main(void)
{
	return ktap_run(cases, KTAP_ARRAY_SIZE(cases));
}
