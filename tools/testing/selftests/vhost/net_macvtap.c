// SPDX-License-Identifier: GPL-2.0
/*
 * net_macvtap: vhost-net on a macvtap queue, as libvirt's <interface
 * type='direct'> sets it up: a macvtap (bridge or passthru mode) on a veth
 * whose peer plays the physical network; /dev/tap<ifindex> attached with
 * VHOST_NET_SET_BACKEND, its vnet header 12 bytes.
 *
 *  - TX: what the guest sends leaves through the lower device and reaches
 *    the veth peer in order and intact.
 *  - RX: frames the peer sends to the macvtap's MAC land in the guest's
 *    ring in order and intact.
 *  - Deleting the macvtap while vhost holds its queue: frames the guest
 *    sends then are dropped but completed, and the device can be stopped
 *    and closed.
 *  - SET_BACKEND refuses what is neither a tap, a macvtap nor a raw packet
 *    socket: a regular file, a datagram packet socket (ENOTSOCK), and a
 *    tun fd bound to no device.
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
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "net_common.h"

#define F_MRG	(NET_F_BASE | BIT(VIRTIO_NET_F_MRG_RXBUF))
#define NBUF	64
#define BUFSZ	2048

/* The guest's MAC: the source net_frame() puts in every test frame. */
static const uint8_t guest_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

static uint8_t frame[NET_MAX_FRAME], got[NET_MAX_FRAME];
static uint32_t rng = 0x2545f491;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

struct mvt {
	struct net_env e;	/* tap: /dev/tapN; pkt: on the veth peer */
	char lower[IFNAMSIZ], peer[IFNAMSIZ], mvt[IFNAMSIZ];
	bool created;
	uint8_t *rxmem, *txmem;
	uint32_t cookie[NBUF];
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

static int read_int(const char *path)
{
	char buf[32] = { 0 };
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? atoi(buf) : -EIO;
}

static void mvt_del(struct mvt *m)
{
	if (!m->created)
		return;
	/* The macvtap goes with its lower device. */
	run("ip link del %s 2>/dev/null", m->lower);
	m->created = false;
}

/*
 * veth pair lower/peer, a macvtap of @mode on lower with the guest's MAC,
 * everything up and quiet; vhost-net with @features on its queue.
 */
static enum ktap_result mvt_init(struct mvt *m, const char *mode,
				 uint64_t features)
{
	int idx, hdr = NET_HDR_LEN, fd = -1, k, tries;
	enum ktap_result r;
	char path[128];

	memset(m, 0, sizeof(*m));
	m->e.tap = -1;
	m->e.pkt = -1;
	snprintf(m->lower, sizeof(m->lower), "kvl%d", getpid());
	snprintf(m->peer, sizeof(m->peer), "kvp%d", getpid());
	snprintf(m->mvt, sizeof(m->mvt), "kvm%d", getpid());
	KTAP_SKIP_IF(run("modprobe -a -q veth macvtap"),
		     "no veth or macvtap module");
	KTAP_CHECK(!run("ip link add %s type veth peer name %s", m->lower,
			m->peer), "veth");
	m->created = true;
	quiet(m->lower);
	quiet(m->peer);
	KTAP_CHECK(!run("ip link add link %s name %s type macvtap mode %s",
			m->lower, m->mvt, mode), "macvtap");
	quiet(m->mvt);
	KTAP_CHECK(!run("ip link set %s address 02:00:00:00:00:01 arp off up",
			m->mvt), "macvtap up");
	KTAP_CHECK(!run("ip link set %s arp off up", m->lower) &&
		   !run("ip link set %s arp off up", m->peer), "veth up");
	snprintf(path, sizeof(path), "/sys/class/net/%s/ifindex", m->mvt);
	idx = read_int(path);
	KTAP_CHECK(idx > 0, "%s: %s", path, strerror(-idx));
	/* devtmpfs makes the node; give it a moment. */
	snprintf(path, sizeof(path), "/dev/tap%d", idx);
	for (tries = 0; tries < 100; tries++) {
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
		usleep(10000);
	}
	KTAP_CHECK(fd >= 0, "%s: %s", path, strerror(errno));
	/* A macvtap queue starts with IFF_VNET_HDR and a 10-byte header. */
	KTAP_OK(ioctl(fd, TUNSETVNETHDRSZ, &hdr));
	m->e.tap = fd;
	m->e.ifindex = if_nametoindex(m->peer);
	KTAP_CHECK(m->e.ifindex > 0, "%s", m->peer);
	snprintf(m->e.ifname, sizeof(m->e.ifname), "%s", m->peer);
	m->e.pkt = net_pkt_open(m->e.ifindex);
	KTAP_CHECK(m->e.pkt >= 0, "packet socket: %s", strerror(-m->e.pkt));
	r = net_env_init_fd(&m->e, features, 256, 4 * MIB, false);
	if (r != KTAP_PASS)
		return r;
	m->rxmem = vdrv_mem_alloc(m->e.mem, NBUF * BUFSZ, 64);
	m->txmem = vdrv_mem_alloc(m->e.mem, 256 * BUFSZ, 64);
	KTAP_CHECK(m->rxmem && m->txmem, "%s", vdrv_last_error());
	for (k = 0; k < NBUF; k++) {
		struct vdrv_buf in = { .ptr = m->rxmem + k * BUFSZ,
				       .len = BUFSZ };

		m->cookie[k] = k;
		VOK(vdrv_vq_add(m->e.rx, NULL, 0, &in, 1, &m->cookie[k]));
	}
	VOK(vdrv_vq_kick(m->e.rx));
	return KTAP_PASS;
}

static void mvt_fini(struct mvt *m)
{
	net_env_fini(&m->e);
	mvt_del(m);
}

/* Guest TX of frames [first, first + n), then the peer gets them in order. */
static enum ktap_result tx_frames(struct mvt *m, uint32_t first,
				  unsigned int n)
{
	uint32_t posted = 0, done = 0, seen = 0, *c;
	uint32_t cookies[256];
	size_t len;
	int got_len;

	while (done < n) {
		while (posted < n && posted - done < 256) {
			uint32_t seq = first + posted;
			uint8_t *p = m->txmem + (seq % 256) * BUFSZ;
			struct vdrv_buf out;

			len = 60 + rnd() % (1514 - 60 + 1);
			memset(p, 0, NET_HDR_LEN);
			net_frame(p + NET_HDR_LEN, len, seq);
			out = (struct vdrv_buf){ .ptr = p,
						 .len = NET_HDR_LEN + len };
			cookies[seq % 256] = seq;
			VOK(vdrv_vq_add(m->e.tx, &out, 1, NULL, 0,
					&cookies[seq % 256]));
			posted++;
		}
		VOK(vdrv_vq_kick(m->e.tx));
		c = vdrv_vq_wait_used(m->e.tx, NULL, 5000);
		KTAP_CHECK(c, "TX %u: %s", first + done, vdrv_last_error());
		do {
			KTAP_EXPECT_EQ(*c, first + done);
			done++;
		} while ((c = vdrv_vq_get_used(m->e.tx, NULL)));
		for (; seen < done; seen++) {
			got_len = net_pkt_recv(&m->e, got, 5000);
			KTAP_CHECK(got_len > 0, "peer: frame %u: %s",
				   first + seen, strerror(-got_len));
			KTAP_EXPECT_EQ(net_frame_seq(got, got_len),
				       first + seen);
			KTAP_CHECK(net_frame_ok(got, got_len, first + seen),
				   "frame %u", first + seen);
		}
	}
	KTAP_EXPECT_EQ(m->e.tx->err_count, 0);
	return KTAP_PASS;
}

/* Test frame @seq addressed to the guest. */
static void rx_frame(uint8_t *buf, size_t len, uint32_t seq)
{
	net_frame(buf, len, seq);
	memcpy(buf + 6, buf, 6);
	memcpy(buf, guest_mac, 6);
}

/* The peer sends frames [first, first + n) to the guest, in rounds. */
static enum ktap_result rx_frames(struct mvt *m, uint32_t first,
				  unsigned int n)
{
	static uint8_t want[NET_MAX_FRAME];
	unsigned int i, j, round;
	uint32_t len, *c;
	size_t lens[100];
	uint8_t *p;

	for (i = 0; i < n; i += round) {
		round = n - i < 100 ? n - i : 100;
		for (j = 0; j < round; j++) {
			lens[j] = 60 + rnd() % (1514 - 60 + 1);
			rx_frame(frame, lens[j], first + i + j);
			KTAP_OK(net_pkt_send(&m->e, frame, lens[j]));
		}
		for (j = 0; j < round; j++) {
			uint32_t seq = first + i + j;

			c = vdrv_vq_wait_used(m->e.rx, &len, 5000);
			KTAP_CHECK(c, "RX %u: %s", seq, vdrv_last_error());
			p = m->rxmem + *c * BUFSZ;
			KTAP_EXPECT_EQ(len, NET_HDR_LEN + lens[j]);
			KTAP_EXPECT_EQ(p[10] | p[11] << 8, 1);
			KTAP_EXPECT_EQ(p[1], VIRTIO_NET_HDR_GSO_NONE);
			rx_frame(want, lens[j], seq);
			KTAP_CHECK(!memcmp(p + NET_HDR_LEN, want, lens[j]),
				   "RX frame %u corrupt", seq);
			VOK(vdrv_vq_add(m->e.rx, NULL, 0,
					&(struct vdrv_buf){ .ptr = p,
							    .len = BUFSZ },
					1, c));
			VOK(vdrv_vq_kick(m->e.rx));
		}
	}
	KTAP_EXPECT_EQ(m->e.rx->err_count, 0);
	return KTAP_PASS;
}

/*
 * Set up a macvtap of @mode, run @body on it and tear everything down,
 * whatever the result (links outlive the test process).
 */
static enum ktap_result with_macvtap(const char *mode, enum net_ring ring,
				     enum ktap_result (*body)(struct mvt *m))
{
	enum ktap_result r;
	struct mvt m;

	r = mvt_init(&m, mode, F_MRG | net_ring_features(ring));
	if (r == KTAP_PASS)
		r = body(&m);
	mvt_fini(&m);
	return r;
}

static enum ktap_result traffic_body(struct mvt *m)
{
	if (tx_frames(m, 0, 1000) != KTAP_PASS ||
	    rx_frames(m, 1000, 1000) != KTAP_PASS ||
	    tx_frames(m, 2000, 300) != KTAP_PASS ||
	    rx_frames(m, 3000, 300) != KTAP_PASS)
		return KTAP_FAIL;
	return KTAP_PASS;
}

static enum ktap_result traffic(const char *mode, enum net_ring ring)
{
	return with_macvtap(mode, ring, traffic_body);
}

static enum ktap_result macvtap_bridge_split(void)
{
	return traffic("bridge", NET_RING_SPLIT);
}

static enum ktap_result macvtap_bridge_packed(void)
{
	return traffic("bridge", NET_RING_PACKED);
}

static enum ktap_result macvtap_passthru_split(void)
{
	return traffic("passthru", NET_RING_SPLIT);
}

static enum ktap_result macvtap_passthru_packed(void)
{
	return traffic("passthru", NET_RING_PACKED);
}

/* The macvtap goes away under vhost: TX is completed, teardown is clean. */
static enum ktap_result deleted_body(struct mvt *mp)
{
	struct mvt m = *mp;	/* read-only copy: the fds stay mp's */
	uint32_t cookies[8], *c;
	unsigned int i, base;

	if (tx_frames(&m, 0, 10) != KTAP_PASS ||
	    rx_frames(&m, 10, 10) != KTAP_PASS)
		return KTAP_FAIL;
	KTAP_CHECK(!run("ip link del %s", m.mvt), "del");
	for (i = 0; i < 8; i++) {
		uint8_t *p = m.txmem + i * BUFSZ;
		struct vdrv_buf out = { .ptr = p, .len = NET_HDR_LEN + 100 };

		memset(p, 0, NET_HDR_LEN);
		net_frame(p + NET_HDR_LEN, 100, 100 + i);
		cookies[i] = i;
		VOK(vdrv_vq_add(m.e.tx, &out, 1, NULL, 0, &cookies[i]));
	}
	VOK(vdrv_vq_kick(m.e.tx));
	for (i = 0; i < 8; i++) {
		c = vdrv_vq_wait_used(m.e.tx, NULL, 5000);
		KTAP_CHECK(c, "TX %u after the delete: %s", i,
			   vdrv_last_error());
		KTAP_EXPECT_EQ(*c, i);
	}
	KTAP_CHECK(net_pkt_recv(&m.e, got, 100) == -ETIMEDOUT,
		   "a frame got out of a deleted macvtap");
	VOK(vdrv_net_set_backend(m.e.dev, 0, -1));
	VOK(vdrv_net_set_backend(m.e.dev, 1, -1));
	VOK(vdrv_vq_get_base(m.e.tx, &base));
	KTAP_EXPECT_EQ(base, net_base_after(m.e.tx, 18));
	return KTAP_PASS;
}

static enum ktap_result macvtap_deleted_split(void)
{
	return with_macvtap("bridge", NET_RING_SPLIT, deleted_body);
}

static enum ktap_result macvtap_deleted_packed(void)
{
	return with_macvtap("bridge", NET_RING_PACKED, deleted_body);
}

/* What is not a tap queue is refused; a macvtap queue is taken. */
static enum ktap_result not_tap_body(struct mvt *mp)
{
	struct mvt m = *mp;	/* read-only copy: the fds stay mp's */
	int file, pkt, tun, r;

	VOK(vdrv_net_set_backend(m.e.dev, 0, -1));
	VOK(vdrv_net_set_backend(m.e.dev, 1, -1));
	file = memfd_create("kvhost-not-a-tap", MFD_CLOEXEC);
	pkt = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_ALL));
	tun = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	KTAP_CHECK(file >= 0 && pkt >= 0 && tun >= 0, "fds: %s",
		   strerror(errno));
	KTAP_OK(ftruncate(file, 4096));
	KTAP_EXPECT_EQ(vdrv_net_set_backend(m.e.dev, 0, file), -ENOTSOCK);
	KTAP_EXPECT_EQ(vdrv_net_set_backend(m.e.dev, 1, file), -ENOTSOCK);
	/* Only raw packet sockets are backends, as upstream. */
	KTAP_EXPECT_EQ(vdrv_net_set_backend(m.e.dev, 0, pkt), -ENOTSOCK);
	KTAP_EXPECT_EQ(vdrv_net_set_backend(m.e.dev, 1, pkt), -ENOTSOCK);
	/* A tun fd before TUNSETIFF has no device behind it. */
	r = vdrv_net_set_backend(m.e.dev, 1, tun);
	KTAP_CHECK(r < 0, "an unbound tun fd was taken");
	ktap_diag("unbound tun fd: %s", strerror(-r));
	/* The macvtap queue is. */
	VOK(vdrv_net_set_backend(m.e.dev, 0, m.e.tap));
	VOK(vdrv_net_set_backend(m.e.dev, 1, m.e.tap));
	if (tx_frames(&m, 0, 20) != KTAP_PASS ||
	    rx_frames(&m, 20, 20) != KTAP_PASS)
		return KTAP_FAIL;
	close(file);
	close(pkt);
	close(tun);
	return KTAP_PASS;
}

static enum ktap_result backend_not_tap(void)
{
	return with_macvtap("bridge", NET_RING_SPLIT, not_tap_body);
}

static const struct ktap_case cases[] = {
	KTAP_CASE_T(macvtap_bridge_split, 120),
	KTAP_CASE_T(macvtap_bridge_packed, 120),
	KTAP_CASE_T(macvtap_passthru_split, 120),
	KTAP_CASE_T(macvtap_passthru_packed, 120),
	KTAP_CASE(macvtap_deleted_split),
	KTAP_CASE(macvtap_deleted_packed),
	KTAP_CASE(backend_not_tap),
};

int main(void)
{
	return ktap_run(cases, KTAP_ARRAY_SIZE(cases));
}
