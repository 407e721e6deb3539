/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhost-net internals shared by net.c (device, backends, busy polling),
 * net_tx.c (guest to tap) and net_rx.c (tap to guest). "Tap" below stands
 * for any backend: a tun/tap or macvtap/ipvtap queue, or an AF_PACKET
 * socket.
 *
 * Lock rules: the kvh_dev rules (kvhost.h) apply. Everything in struct
 * vhost_net_vq below the embedded kvh_vq is protected by that queue's mutex,
 * which the TX and RX handlers hold for their whole run. VHOST_NET_SET_BACKEND
 * takes the device mutex, then the queue mutex.
 */
#ifndef KVHOST_NET_H
#define KVHOST_NET_H

#include <linux/net.h>
#include <linux/uio.h>
#include <net/xdp.h>

#include "kvhost.h"

/* Queue indices fixed by the uAPI: one vhost-net device is one queue pair. */
enum {
	VHOST_NET_VQ_RX = 0,
	VHOST_NET_VQ_TX = 1,
	VHOST_NET_VQ_MAX = 2,
};

/* Used entries collected before they are published in one go. */
#define VHOST_NET_BATCH		64
/* Per handler run: stop after this many packets or bytes and requeue. */
#define VHOST_NET_PKT_WEIGHT	256
#define VHOST_NET_BYTE_WEIGHT	0x80000
/* Most segments one received packet may be spread over (upstream's). */
#define VHOST_NET_MAX_IOV	UIO_MAXIOV

/**
 * struct vhost_net_vq - one vhost-net virtqueue and its tap queue
 * @vq: the core's queue; @vq.backend is the tap's socket while attached
 * @sock_poll: waits on the tap: EPOLLIN for RX, EPOLLOUT for TX (only while
 *	TX is blocked by backpressure); its work runs the queue's handler
 * @file: the tap file, referenced; NULL while detached
 * @packet: the backend is an AF_PACKET socket: no batching on TX (the batch
 *	is tun's and macvtap's protocol), no packet ring on RX
 * @heads: used entries not yet published, then those of the packet being
 *	received; VHOST_NET_BATCH + VHOST_NET_MAX_IOV entries
 * @nheads: how many of @heads are pending
 * @rx_iov: RX only: the writable segments of the chains gathered for one
 *	packet, VHOST_NET_MAX_IOV entries
 * @rx_gpa: RX only: their guest-physical addresses, for the dirty log
 * @rx_nseg: RX only: how many segments each gathered chain has
 * @dropped: packets dropped (TX: the tap refused them; RX: no room)
 * @rx_ring: RX only: the tap's queue of packets, consumed in batches, or
 *	NULL for a backend without one (see net_rx.c)
 * @rx_batch: RX only: packets taken from @rx_ring, VHOST_NET_BATCH entries
 * @rx_head: the next packet of @rx_batch to deliver
 * @rx_tail: how many @rx_batch holds
 * @tx_xdp: TX only: packets copied out of the guest and not yet handed to
 *	the tap, VHOST_NET_BATCH entries (see net_tx.c)
 * @tx_nxdp: how many of @tx_xdp are filled
 * @tx_frag: TX only: the page those packets are copied into
 *
 * Everything but @vq is protected by @vq.mutex; see the file comment.
 */
struct vhost_net_vq {
	struct kvh_vq vq;
	struct kvh_poll sock_poll;	/* started/stopped under vq.mutex */
	struct file *file;		/* protected by vq.mutex */
	bool packet;			/* protected by vq.mutex */
	struct kvr_used *heads;		/* protected by vq.mutex */
	unsigned int nheads;		/* protected by vq.mutex */
	struct iovec *rx_iov;		/* protected by vq.mutex */
	u64 *rx_gpa;			/* protected by vq.mutex */
	unsigned int *rx_nseg;		/* protected by vq.mutex */
	u64 dropped;			/* protected by vq.mutex */
	struct ptr_ring *rx_ring;	/* protected by vq.mutex */
	void **rx_batch;		/* protected by vq.mutex */
	unsigned int rx_head;		/* protected by vq.mutex */
	unsigned int rx_tail;		/* protected by vq.mutex */
	struct xdp_buff *tx_xdp;	/* protected by vq.mutex */
	unsigned int tx_nxdp;		/* protected by vq.mutex */
	struct page_frag tx_frag;	/* protected by vq.mutex */
};

/**
 * struct vhost_net - one open /dev/vhost-net: a virtio-net queue pair
 * @dev: the core device; @dev.mutex serialises SET_BACKEND
 * @vqs: the RX and TX queues
 * @vq_ptrs: @vqs as the core wants them
 */
struct vhost_net {
	struct kvh_dev dev;
	struct vhost_net_vq vqs[VHOST_NET_VQ_MAX];
	struct kvh_vq *vq_ptrs[VHOST_NET_VQ_MAX];
};

static inline struct vhost_net_vq *to_net_vq(struct kvh_vq *vq)
{
	return container_of(vq, struct vhost_net_vq, vq);
}

void vhost_net_hdr_lens(const struct kvh_vq *vq, size_t *vhost_hlen,
			size_t *sock_hlen);
int vhost_net_flush_used(struct vhost_net_vq *nvq);
bool vhost_net_busy_poll(struct vhost_net *n, bool rx);
void vhost_net_handle_tx(struct vhost_net_vq *nvq);
int vhost_net_tx_init(struct vhost_net_vq *nvq);
void vhost_net_tx_free(struct vhost_net_vq *nvq);
void vhost_net_handle_rx(struct vhost_net_vq *nvq);
void vhost_net_rx_attach(struct vhost_net_vq *nvq, struct file *file);
void vhost_net_rx_detach(struct vhost_net_vq *nvq);
bool vhost_net_rx_has_data(struct vhost_net_vq *nvq);

#endif /* KVHOST_NET_H */
