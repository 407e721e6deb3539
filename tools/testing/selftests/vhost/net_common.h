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
 * net_env_init() - tap (up, no IPv6, MTU @mtu), packet socket, vhost-net
 * owned and started with @want & offered features on @num-entry rings in
 * @memsize bytes of guest memory (plus a 64 KiB second region right after
 * the first, for straddling buffers), both backends attached unless
 * @no_backend. KTAP_SKIP (reason set) without tun or vhost-net, KTAP_FAIL
 * with a diagnostic, KTAP_PASS.
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

/* Milliseconds on a monotonic clock. */
int64_t net_now_ms(void);

#endif /* NET_COMMON_H */
