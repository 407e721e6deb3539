// SPDX-License-Identifier: GPL-2.0
/*
 * net_common: taps, packet sockets and test frames for the vhost-net
 * selftests; see net_common.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "net_common.h"

int64_t net_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = write(fd, val, strlen(val)) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int net_open_tap(enum net_tap kind, char *ifname, int *ifindex,
		 unsigned int mtu)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };
	int fd, s = -1, hdr = NET_HDR_LEN, err;
	char path[128];

	if (kind == NET_TAP_VNET_HDR)
		ifr.ifr_flags |= IFF_VNET_HDR;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "kvhn%%d");
	if (ioctl(fd, TUNSETIFF, &ifr))
		goto err;
	if (kind == NET_TAP_VNET_HDR && ioctl(fd, TUNSETVNETHDRSZ, &hdr))
		goto err;
	snprintf(ifname, IFNAMSIZ, "%s", ifr.ifr_name);
	/* Keep the host quiet on the tap: no IPv6 autoconf, no ARP. */
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 ifname);
	write_file(path, "1");
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		goto err;
	ifr.ifr_mtu = mtu;
	if (ioctl(s, SIOCSIFMTU, &ifr))
		goto err;
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		goto err;
	ifr.ifr_flags |= IFF_UP | IFF_NOARP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr))
		goto err;
	if (ioctl(s, SIOCGIFINDEX, &ifr))
		goto err;
	*ifindex = ifr.ifr_ifindex;
	close(s);
	return fd;
err:
	err = errno;
	if (s >= 0)
		close(s);
	close(fd);
	return -err;
}

static int open_pkt(int ifindex)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = ifindex,
	};
	int fd, sz = 16 * MIB;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    htons(ETH_P_ALL));
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz));
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		sz = errno;
		close(fd);
		return -sz;
	}
	return fd;
}

enum ktap_result net_env_init(struct net_env *e, enum net_tap tap,
			      uint64_t want, unsigned int num, size_t memsize,
			      unsigned int mtu, bool no_backend)
{
	unsigned int vq_flags;
	uint64_t offered;

	memset(e, 0, sizeof(*e));
	e->tap = -1;
	e->pkt = -1;
	e->tap = net_open_tap(tap, e->ifname, &e->ifindex, mtu);
	KTAP_SKIP_IF(e->tap == -ENOENT || e->tap == -ENODEV ||
		     e->tap == -EPERM, "no tap: %s", strerror(-e->tap));
	KTAP_CHECK(e->tap >= 0, "tap: %s", strerror(-e->tap));
	e->pkt = open_pkt(e->ifindex);
	KTAP_CHECK(e->pkt >= 0, "packet socket: %s", strerror(-e->pkt));
	e->dev = vdrv_open("/dev/vhost-net");
	KTAP_SKIP_IF(!e->dev && errno == ENOENT, "no /dev/vhost-net");
	KTAP_CHECK(e->dev, "%s", vdrv_last_error());
	e->mem = vdrv_mem_create(memsize);
	KTAP_CHECK(e->mem, "%s", vdrv_last_error());
	KTAP_EXPECT_EQ(vdrv_mem_add_region(e->mem, VDRV_GPA_AUTO, 64 * 1024),
		       1);
	VOK(vdrv_set_owner(e->dev));
	VOK(vdrv_get_features(e->dev, &offered));
	KTAP_CHECK((want & ~offered) == 0,
		   "want 0x%llx, offered 0x%llx", (unsigned long long)want,
		   (unsigned long long)offered);
	e->features = want;
	e->hdr_len = want & (BIT(VIRTIO_F_VERSION_1) |
			     BIT(VIRTIO_NET_F_MRG_RXBUF)) ?
		     NET_HDR_LEN : NET_HDR_LEN_LEGACY;
	if (tap == NET_TAP_VNET_HDR && e->hdr_len != NET_HDR_LEN) {
		int hdr = e->hdr_len;

		KTAP_OK(ioctl(e->tap, TUNSETVNETHDRSZ, &hdr));
	}
	vq_flags = want & BIT(VIRTIO_F_RING_PACKED) ? VDRV_VQ_PACKED : 0;
	e->rx = vdrv_vq_create(e->dev, e->mem, 0, num, vq_flags);
	e->tx = vdrv_vq_create(e->dev, e->mem, 1, num, vq_flags);
	KTAP_CHECK(e->rx && e->tx, "%s", vdrv_last_error());
	VOK(vdrv_dev_start(e->dev, e->mem, want));
	if (!no_backend) {
		VOK(vdrv_net_set_backend(e->dev, 0, e->tap));
		VOK(vdrv_net_set_backend(e->dev, 1, e->tap));
	}
	return KTAP_PASS;
}

void net_env_fini(struct net_env *e)
{
	if (e->dev)
		vdrv_close(e->dev);
	if (e->mem)
		vdrv_mem_destroy(e->mem);
	if (e->pkt >= 0)
		close(e->pkt);
	if (e->tap >= 0)
		close(e->tap);
	memset(e, 0, sizeof(*e));
}

static uint8_t pattern(uint32_t seq, size_t off)
{
	uint32_t x = seq * 2654435761u + (uint32_t)off * 40503u;

	return x >> 13;
}

void net_frame(uint8_t *buf, size_t len, uint32_t seq)
{
	static const uint8_t mac[12] = { 0x02, 0, 0, 0, 0, 0x02,
					 0x02, 0, 0, 0, 0, 0x01 };
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pattern(seq, i);
	memcpy(buf, mac, len < 12 ? len : 12);
	if (len >= NET_ETH_HLEN) {
		buf[12] = NET_ETHERTYPE >> 8;
		buf[13] = NET_ETHERTYPE & 0xff;
	}
	if (len >= NET_ETH_HLEN + 4) {
		buf[14] = seq >> 24;
		buf[15] = seq >> 16;
		buf[16] = seq >> 8;
		buf[17] = seq;
	}
}

int64_t net_frame_seq(const uint8_t *buf, size_t len)
{
	if (len < NET_ETH_HLEN + 4 || buf[12] != NET_ETHERTYPE >> 8 ||
	    buf[13] != (NET_ETHERTYPE & 0xff))
		return -1;
	return (uint32_t)buf[14] << 24 | buf[15] << 16 | buf[16] << 8 |
	       buf[17];
}

bool net_frame_ok(const uint8_t *buf, size_t len, uint32_t seq)
{
	static uint8_t want[NET_MAX_FRAME];
	size_t i;

	net_frame(want, len, seq);
	if (!memcmp(buf, want, len))
		return true;
	for (i = 0; i < len && buf[i] == want[i]; i++)
		;
	ktap_diag("frame %u (%zu bytes): byte %zu is 0x%02x, want 0x%02x",
		  seq, len, i, buf[i], want[i]);
	return false;
}

int net_pkt_recv(struct net_env *e, uint8_t *buf, int timeout_ms)
{
	int64_t deadline = net_now_ms() + timeout_ms;
	struct sockaddr_ll sll;
	socklen_t sl;
	ssize_t n;

	for (;;) {
		struct pollfd p = { .fd = e->pkt, .events = POLLIN };
		int64_t left = deadline - net_now_ms();

		sl = sizeof(sll);
		n = recvfrom(e->pkt, buf, NET_MAX_FRAME, MSG_TRUNC,
			     (struct sockaddr *)&sll, &sl);
		if (n >= 0) {
			/* What the host sends (RX injection) loops back. */
			if (sll.sll_pkttype == PACKET_OUTGOING ||
			    net_frame_seq(buf, n) < 0)
				continue;
			return n;
		}
		if (errno != EAGAIN)
			return -errno;
		if (left <= 0)
			return -ETIMEDOUT;
		poll(&p, 1, left);
	}
}

int net_pkt_send(struct net_env *e, const uint8_t *buf, size_t len)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = e->ifindex,
		.sll_halen = 6,
	};
	int tries;

	memcpy(sll.sll_addr, buf, 6);
	for (tries = 0; tries < 1000; tries++) {
		if (sendto(e->pkt, buf, len, 0, (struct sockaddr *)&sll,
			   sizeof(sll)) == (ssize_t)len)
			return 0;
		if (errno != EAGAIN && errno != ENOBUFS)
			return -errno;
		usleep(1000);
	}
	return -ETIMEDOUT;
}

uint32_t net_base_after(const struct vdrv_vq *vq, unsigned int n)
{
	uint32_t pos;

	if (vq->format != VDRV_RING_PACKED)
		return (uint16_t)n;
	/* Both wrap counters start at 1 and flip at every lap. */
	pos = n % vq->num | ((n / vq->num) % 2 ? 0 : 0x8000);
	return pos | pos << 16;
}

/* ------------------------------------------------------------------------
 * Multiqueue taps, macvtaps and IP frames
 */

int net_pkt_open(int ifindex)
{
	return open_pkt(ifindex);
}

enum ktap_result net_env_init_fd(struct net_env *e, uint64_t want,
				 unsigned int num, size_t memsize,
				 bool no_backend)
{
	unsigned int vq_flags;
	uint64_t offered;

	e->dev = vdrv_open("/dev/vhost-net");
	KTAP_SKIP_IF(!e->dev && errno == ENOENT, "no /dev/vhost-net");
	KTAP_CHECK(e->dev, "%s", vdrv_last_error());
	e->mem = vdrv_mem_create(memsize);
	KTAP_CHECK(e->mem, "%s", vdrv_last_error());
	VOK(vdrv_set_owner(e->dev));
	VOK(vdrv_get_features(e->dev, &offered));
	KTAP_CHECK((want & ~offered) == 0,
		   "want 0x%llx, offered 0x%llx", (unsigned long long)want,
		   (unsigned long long)offered);
	e->features = want;
	e->hdr_len = want & (BIT(VIRTIO_F_VERSION_1) |
			     BIT(VIRTIO_NET_F_MRG_RXBUF)) ?
		     NET_HDR_LEN : NET_HDR_LEN_LEGACY;
	vq_flags = want & BIT(VIRTIO_F_RING_PACKED) ? VDRV_VQ_PACKED : 0;
	e->rx = vdrv_vq_create(e->dev, e->mem, 0, num, vq_flags);
	e->tx = vdrv_vq_create(e->dev, e->mem, 1, num, vq_flags);
	KTAP_CHECK(e->rx && e->tx, "%s", vdrv_last_error());
	VOK(vdrv_dev_start(e->dev, e->mem, want));
	if (!no_backend) {
		VOK(vdrv_net_set_backend(e->dev, 0, e->tap));
		VOK(vdrv_net_set_backend(e->dev, 1, e->tap));
	}
	return KTAP_PASS;
}

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

size_t net_l4_csum_off(const uint8_t *buf)
{
	return NET_L4_OFF + (buf[NET_IP_OFF + 9] == IPPROTO_TCP ? 16 : 6);
}

/* The pseudo-header sum of the frame's L4 segment, unfolded. */
static uint32_t pseudo_sum(const uint8_t *buf, size_t len)
{
	uint32_t sum = csum_add(0, buf + NET_IP_OFF + 12, 8);

	return sum + buf[NET_IP_OFF + 9] + (uint32_t)(len - NET_L4_OFF);
}

uint16_t net_l4_pseudo_csum(const uint8_t *buf, size_t len)
{
	return csum_fold(pseudo_sum(buf, len));
}

bool net_l4_csum_ok(const uint8_t *buf, size_t len)
{
	uint32_t sum = csum_add(pseudo_sum(buf, len), buf + NET_L4_OFF,
				len - NET_L4_OFF);

	return csum_fold(sum) == 0xffff;
}

size_t net_ip_frame(uint8_t *buf, size_t len, int proto, uint16_t sport,
		    uint16_t dport, uint32_t seq)
{
	static const uint8_t mac[12] = { 0x02, 0, 0, 0, 0, 0x02,
					 0x02, 0, 0, 0, 0, 0x01 };
	size_t l4len = proto == IPPROTO_TCP ? NET_TCP_HLEN : NET_UDP_HLEN;
	size_t hlen = NET_L4_OFF + l4len, i;
	uint8_t *ip = buf + NET_IP_OFF, *l4 = buf + NET_L4_OFF;
	uint16_t csum;

	memcpy(buf, mac, sizeof(mac));
	put16(buf + 12, ETHERTYPE_IP);
	memset(ip, 0, hlen - NET_IP_OFF);
	ip[0] = 0x45;
	put16(ip + 2, len - NET_IP_OFF);
	put16(ip + 4, seq);
	ip[6] = 0x40;			/* DF */
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, (const uint8_t[]){ 192, 0, 2, 1, 192, 0, 2, 2 }, 8);
	put16(ip + 10, ~csum_fold(csum_add(0, ip, 20)));
	put16(l4, sport);
	put16(l4 + 2, dport);
	if (proto == IPPROTO_TCP) {
		put16(l4 + 4, seq >> 16);	/* sequence number */
		put16(l4 + 6, seq);
		l4[12] = 5 << 4;		/* data offset */
		l4[13] = 0x18;			/* PSH, ACK */
		put16(l4 + 14, 65535);		/* window */
	} else {
		put16(l4 + 4, len - NET_L4_OFF);
	}
	for (i = hlen; i < len; i++)
		buf[i] = pattern(seq, i);
	buf[hlen] = seq >> 24;
	buf[hlen + 1] = seq >> 16;
	buf[hlen + 2] = seq >> 8;
	buf[hlen + 3] = seq;
	csum = ~csum_fold(csum_add(pseudo_sum(buf, len), l4, len - NET_L4_OFF));
	if (proto == IPPROTO_UDP && !csum)
		csum = 0xffff;
	put16(buf + net_l4_csum_off(buf), csum);
	return hlen;
}

int64_t net_ip_frame_seq(const uint8_t *buf, size_t len)
{
	size_t hlen;

	if (len < NET_L4_OFF + NET_UDP_HLEN + 4 || buf[12] != 0x08 ||
	    buf[13] != 0 || buf[NET_IP_OFF] != 0x45)
		return -1;
	hlen = NET_L4_OFF + (buf[NET_IP_OFF + 9] == IPPROTO_TCP ?
			     NET_TCP_HLEN : NET_UDP_HLEN);
	if (len < hlen + 4)
		return -1;
	return (uint32_t)buf[hlen] << 24 | buf[hlen + 1] << 16 |
	       buf[hlen + 2] << 8 | buf[hlen + 3];
}
