/* SPDX-License-Identifier: GPL-2.0 */
/*
 * net_common: what the vhost-net selftests share. A test process plays VMM
 * and guest (vdrv) and the host network around a tap: an AF_PACKET socket
 * on the tap sees what the guest sent (TX) and injects what the guest must
 * receive (RX).
 *
 * Test frames are Ethernet frames of ethertype 0x88b5 (local experimental)
 * carrying a 32-bit sequence number and a pattern derived from it, so that
 * any byte out of place is caught and stray host traffic is recognised.
 */
#ifndef NET_COMMON_H
#define NET_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <net/if.h>
#include <linux/virtio_net.h>

#include "ktap.h"
#include "vdrv.h"
#include "vdrv_ktap.h"

#define BIT(n)		(1ULL << (n))
#define MIB		(1024 * 1024)
#define NET_HDR_LEN	12	/* virtio_net_hdr_mrg_rxbuf */
#define NET_HDR_LEN_LEGACY 10	/* virtio_net_hdr */
#define NET_ETH_HLEN	14
#define NET_ETHERTYPE	0x88b5
#define NET_F_VHOST_HDR	27	/* VHOST_NET_F_VIRTIO_NET_HDR */
#define NET_MAX_FRAME	65535

/* Tap flavours for net_env_init(). */
enum net_tap {
	NET_TAP_VNET_HDR,	/* QEMU's: IFF_VNET_HDR, TUNSETVNETHDRSZ */
	NET_TAP_PLAIN,		/* no vnet header: vhost handles it (bit 27) */
};

struct net_env {
	struct vdrv_dev *dev;
	struct vdrv_mem *mem;
	struct vdrv_vq *rx, *tx;
	int tap;		/* the tap queue's fd */
	int pkt;		/* AF_PACKET socket bound to the tap */
	int ifindex;
	char ifname[IFNAMSIZ];
	uint64_t features;	/* as acked */
	size_t hdr_len;		/* virtio-net header length the guest sees */
};

/* Features every test would like; net_env_init() masks with the offer. */
#define NET_F_BASE	(BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) | \
			 BIT(VIRTIO_RING_F_INDIRECT_DESC))

/*
 * Ring layouts the tests run on: the layout is chosen by the features,
 * VIRTIO_F_RING_PACKED in @want of net_env_init() making both vqs packed.
 */
enum net_ring {
	NET_RING_SPLIT,
	NET_RING_PACKED,
};

static inline uint64_t net_ring_features(enum net_ring ring)
{
	return ring == NET_RING_PACKED ? BIT(VIRTIO_F_RING_PACKED) : 0;
}

static inline const char *net_ring_name(enum net_ring ring)
{
	return ring == NET_RING_PACKED ? "packed" : "split";
}

/*
 * net_env_init() - tap (up, no IPv6, MTU @mtu), packet socket, vhost-net
 * owned and started with @want & offered features on @num-entry rings in
 * @memsize bytes of guest memory (plus a 64 KiB second region right after
 * the first, for straddling buffers), both backends attached unless
 * @no_backend. The rings are packed if @want has VIRTIO_F_RING_PACKED.
 * KTAP_SKIP (reason set) without tun or vhost-net, KTAP_FAIL with a
 * diagnostic (also when a wanted feature is not offered), KTAP_PASS.
 */
enum ktap_result net_env_init(struct net_env *e, enum net_tap tap,
			      uint64_t want, unsigned int num, size_t memsize,
			      unsigned int mtu, bool no_backend);
void net_env_fini(struct net_env *e);

/* A tap fd (and its name and index) of the given flavour, or -errno. */
int net_open_tap(enum net_tap kind, char *ifname, int *ifindex,
		 unsigned int mtu);

/* Build test frame @seq of @len bytes (any length; >= 18 to carry seq). */
void net_frame(uint8_t *buf, size_t len, uint32_t seq);
/* Is @buf (@len bytes) exactly test frame @seq of that length? */
bool net_frame_ok(const uint8_t *buf, size_t len, uint32_t seq);
/* Sequence number of a test frame, or -1 if it is not one. */
int64_t net_frame_seq(const uint8_t *buf, size_t len);

/*
 * net_pkt_recv() - next test frame the tap delivered to the host (TX), into
 * @buf (NET_MAX_FRAME bytes); other traffic is skipped. Returns its length,
 * or -ETIMEDOUT after @timeout_ms.
 */
int net_pkt_recv(struct net_env *e, uint8_t *buf, int timeout_ms);
/* net_pkt_send() - the host sends @len bytes of @buf out of the tap (RX). */
int net_pkt_send(struct net_env *e, const uint8_t *buf, size_t len);

/*
 * net_base_after() - what VHOST_GET_VRING_BASE must say about @vq, started
 * fresh, once the device used @n chains of one descriptor each: split, the
 * index n (mod 2^16); packed, slot n % num with the wrap counter flipped
 * once a lap, for both the avail and the used half.
 */
uint32_t net_base_after(const struct vdrv_vq *vq, unsigned int n);

/* Milliseconds on a monotonic clock. */
int64_t net_now_ms(void);

/* ------------------------------------------------------------------------
 * Multiqueue taps, macvtaps and IP frames (net_mq, net_offload, net_macvtap)
 */

/* An AF_PACKET socket (non-blocking, ETH_P_ALL) bound to @ifindex, or -errno. */
int net_pkt_open(int ifindex);

/*
 * net_env_init_fd() - the vhost half of net_env_init() on a backend the
 * caller opened: e->tap (a tap or macvtap queue fd whose vnet header size
 * suits @want), e->pkt, e->ifindex and e->ifname are set by the caller and
 * kept; net_env_fini() closes the fds that are >= 0. Opens vhost-net, owns
 * and starts it with @want on @num-entry rings (packed if @want says so) in
 * @memsize bytes of guest memory, attaches e->tap to both vrings unless
 * @no_backend. KTAP_SKIP without vhost-net, KTAP_FAIL, KTAP_PASS.
 */
enum ktap_result net_env_init_fd(struct net_env *e, uint64_t want,
				 unsigned int num, size_t memsize,
				 bool no_backend);

#define NET_IP_OFF	NET_ETH_HLEN		/* IPv4 header */
#define NET_L4_OFF	(NET_ETH_HLEN + 20)	/* UDP or TCP header */
#define NET_UDP_HLEN	8
#define NET_TCP_HLEN	20

/*
 * net_ip_frame() - an Ethernet/IPv4 frame of @len bytes (at least the
 * headers + 4) carrying UDP or TCP (@proto IPPROTO_UDP or IPPROTO_TCP, a
 * 20-byte TCP header) from port @sport to port @dport, whose payload is
 * @seq (big endian) and then net_frame()'s pattern for @seq. The IPv4 and
 * the UDP/TCP checksums are complete and correct. Returns the header length
 * (Ethernet + IPv4 + L4).
 */
size_t net_ip_frame(uint8_t *buf, size_t len, int proto, uint16_t sport,
		    uint16_t dport, uint32_t seq);
/* The sequence number in a net_ip_frame() payload, or -1 if it is none. */
int64_t net_ip_frame_seq(const uint8_t *buf, size_t len);
/* Where the checksum field of the frame's UDP or TCP header is. */
size_t net_l4_csum_off(const uint8_t *buf);
/*
 * The partial checksum a driver asking for VIRTIO_NET_HDR_F_NEEDS_CSUM puts
 * in the L4 checksum field: the folded pseudo-header sum, not inverted.
 */
uint16_t net_l4_pseudo_csum(const uint8_t *buf, size_t len);
/* Is the frame's UDP or TCP checksum complete and correct? */
bool net_l4_csum_ok(const uint8_t *buf, size_t len);

#endif /* NET_COMMON_H */
