// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-net TX: packets the guest posted on vring 1 go out through the tap.
 *
 * The handler runs in the worker, in the owner's mm, with the TX queue's
 * mutex held: on a kick, when a run ran out of weight, and when the tap
 * becomes writable again after backpressure.
 *
 * Small packets are batched: each is copied from guest memory into a page
 * fragment laid out the way tun and macvtap build an skb around it (their
 * struct tun_xdp_hdr, headroom, data, room for skb_shared_info), and up to
 * VHOST_NET_BATCH of them go to the tap in one sendmsg() (TUN_MSG_PTR). The
 * guest's buffer is free as soon as it is copied, so its used entry needs
 * no wait for the tap. This path bypasses the tap's sndbuf accounting, so it
 * is taken only when that is unlimited (the default, and QEMU's), as
 * upstream does. Anything else (a packet that does not fit a page, a limited
 * sndbuf, an AF_PACKET backend) goes out with one sendmsg() that copies
 * straight from the guest.
 *
 * With a busy-poll budget, a handler that finds the ring empty hands what
 * it batched to the tap, publishes its used entries and spins for more
 * (vhost_net_busy_poll()) before it asks the guest to kick again.
 */
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/skbuff.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <net/sock.h>

#include "net.h"
#include "net_trace.h"

/* Headroom in front of a batched packet; the tun_xdp_hdr sits at its start. */
#define VHOST_NET_TX_PAD						\
	SKB_DATA_ALIGN(NET_SKB_PAD + NET_IP_ALIGN + sizeof(struct tun_xdp_hdr))

/**
 * vhost_net_tx_init() - allocate the TX queue's batch
 * @nvq: the TX queue, being set up
 *
 * Return: 0 or -ENOMEM.
 */
int vhost_net_tx_init(struct vhost_net_vq *nvq)
{
	nvq->tx_xdp = kcalloc(VHOST_NET_BATCH, sizeof(*nvq->tx_xdp),
			      GFP_KERNEL_ACCOUNT);
	return nvq->tx_xdp ? 0 : -ENOMEM;
}

/**
 * vhost_net_tx_free() - release the batch and the fragment page
 * @nvq: the TX queue, detached, with nothing batched
 */
void vhost_net_tx_free(struct vhost_net_vq *nvq)
{
	kfree(nvq->tx_xdp);
	nvq->tx_xdp = NULL;
	if (nvq->tx_frag.page)
		put_page(nvq->tx_frag.page);
	nvq->tx_frag.page = NULL;
}

/* Hand the batched packets to the tap. */
static void vhost_net_tx_send_batch(struct vhost_net_vq *nvq,
				    struct socket *sock)
{
	struct tun_msg_ctl ctl = {
		.type = TUN_MSG_PTR,
		.num = nvq->tx_nxdp,
		.ptr = nvq->tx_xdp,
	};
	struct msghdr msg = {
		.msg_control = &ctl,
		.msg_controllen = sizeof(ctl),	/* tun checks it */
		.msg_flags = MSG_DONTWAIT,
	};
	unsigned int i;
	int ret;

	if (!nvq->tx_nxdp)
		return;
	ret = sock->ops->sendmsg(sock, &msg, 0);
	if (ret < 0) {
		/* The tap took none of them (it is being torn down). */
		for (i = 0; i < nvq->tx_nxdp; i++)
			put_page(virt_to_head_page(nvq->tx_xdp[i].data));
		nvq->dropped += nvq->tx_nxdp;
	}
	nvq->tx_nxdp = 0;
}

/*
 * Copy the packet in @from (@sock_hlen bytes of virtio-net header for the
 * tap, then the frame) into the batch. Returns 0, or -ENOSPC when it does
 * not fit a page or is too short for tun's batch path, or -ENOMEM and
 * -EFAULT; the caller then sends it on its own.
 */
static int vhost_net_tx_batch_add(struct vhost_net_vq *nvq,
				  struct iov_iter *from, size_t sock_hlen)
{
	size_t len = iov_iter_count(from) - sock_hlen;
	struct page_frag *frag = &nvq->tx_frag;
	struct xdp_buff *xdp = &nvq->tx_xdp[nvq->tx_nxdp];
	size_t hlen = min(sock_hlen, sizeof(struct virtio_net_hdr));
	struct tun_xdp_hdr *hdr;
	unsigned int buflen;
	void *buf;

	/* tun's batch path leaks a buffer it refuses for being short. */
	if (len < ETH_HLEN)
		return -ENOSPC;
	buflen = SKB_DATA_ALIGN(VHOST_NET_TX_PAD + len) +
		 SKB_DATA_ALIGN(sizeof(struct skb_shared_info));
	if (buflen > PAGE_SIZE)
		return -ENOSPC;
	frag->offset = ALIGN(frag->offset, SMP_CACHE_BYTES);
	if (!skb_page_frag_refill(buflen, frag, GFP_KERNEL))
		return -ENOMEM;
	buf = page_address(frag->page) + frag->offset;
	hdr = buf;
	memset(&hdr->gso, 0, sizeof(hdr->gso));
	if (copy_from_iter(&hdr->gso, hlen, from) != hlen)
		return -EFAULT;
	/* A 12-byte header's num_buffers means nothing on TX. */
	iov_iter_advance(from, sock_hlen - hlen);
	if (copy_from_iter(buf + VHOST_NET_TX_PAD, len, from) != len)
		return -EFAULT;
	hdr->buflen = buflen;
	xdp_init_buff(xdp, buflen, NULL);
	xdp_prepare_buff(xdp, buf, VHOST_NET_TX_PAD, len, true);
	/* The skb tun builds around the buffer owns this reference. */
	get_page(frag->page);
	frag->offset += buflen;
	nvq->tx_nxdp++;
	return 0;
}

/* Reject the chain just fetched: give it back and report the queue. */
static void vhost_net_tx_bad_chain(struct kvh_vq *vq, struct kvr_chain *c)
{
	kvr_unget_chain(&vq->ring, c);
	vq->ring.error = KVR_ERR_BACKEND;
	vq->ring.error_info = c->head;
	kvh_vq_error(vq);
}

/**
 * vhost_net_handle_tx() - send what the guest posted on the TX queue
 * @nvq: the TX queue
 *
 * Stops when the ring is empty (guest notifications re-enabled, after a
 * busy poll if the queue has a budget), when the tap pushes back (the chain
 * is given back and the tap polled for EPOLLOUT), when the guest broke the
 * ring (the err eventfd fires), when a busy poll gave way to other work, or
 * after VHOST_NET_PKT_WEIGHT packets or VHOST_NET_BYTE_WEIGHT bytes (both
 * requeued).
 */
void vhost_net_handle_tx(struct vhost_net_vq *nvq)
{
	struct vhost_net *n = container_of(nvq, struct vhost_net,
					   vqs[VHOST_NET_VQ_TX]);
	struct kvh_vq *vq = &nvq->vq;
	struct kvr_chain *c = &vq->chain;
	size_t vhost_hlen, sock_hlen;
	unsigned int pkts = 0;
	struct socket *sock;
	struct iov_iter iter;
	struct msghdr msg;
	size_t bytes = 0;
	bool batch;
	size_t len;
	int ret;

	mutex_lock(&vq->mutex);
	sock = vq->backend;
	if (!sock || !kvh_vq_ready(vq))
		goto out;
	vhost_net_hdr_lens(vq, &vhost_hlen, &sock_hlen);
	batch = !nvq->packet && READ_ONCE(sock->sk->sk_sndbuf) == INT_MAX;
	/* Only backpressure makes us wait for the tap. */
	kvh_poll_stop(&nvq->sock_poll);
	if (kvr_disable_notify(&vq->ring)) {
		kvh_vq_error(vq);
		goto out;
	}

	for (;;) {
		bool intr = false;

		ret = kvh_vq_get_chain(vq, c);
		if (!ret && vq->busyloop_timeout) {
			/* The guest sees what is done before we spin. */
			vhost_net_tx_send_batch(nvq, sock);
			if (vhost_net_flush_used(nvq))
				break;
			intr = vhost_net_busy_poll(n, false);
			ret = kvh_vq_get_chain(vq, c);
		}
		if (ret < 0) {
			/* An IOTLB miss: the VMM's answer requeues us. */
			if (ret != -EAGAIN)
				kvh_vq_error(vq);
			break;
		}
		if (!ret) {
			if (intr) {
				/* Cut short: spin again once that is done. */
				kvh_poll_queue(&vq->poll);
				break;
			}
			ret = kvr_enable_notify(&vq->ring);
			if (ret < 0) {
				kvh_vq_error(vq);
				break;
			}
			if (!ret)
				break;
			/* The guest added more while we looked away. */
			if (kvr_disable_notify(&vq->ring)) {
				kvh_vq_error(vq);
				break;
			}
			continue;
		}
		/* A TX packet is read-only, and more than its header. */
		if (c->nin || c->out_len <= vhost_hlen) {
			vhost_net_tx_bad_chain(vq, c);
			break;
		}
		len = c->out_len - vhost_hlen;

		memset(&msg, 0, sizeof(msg));
		msg.msg_flags = MSG_DONTWAIT;
		iov_iter_init(&msg.msg_iter, ITER_SOURCE, c->iov, c->nout,
			      c->out_len);
		/* VHOST_NET_F_VIRTIO_NET_HDR: the tap gets no header. */
		iov_iter_advance(&msg.msg_iter, vhost_hlen);
		if (batch && len > sock_hlen) {
			iter = msg.msg_iter;
			ret = vhost_net_tx_batch_add(nvq, &iter, sock_hlen);
			if (!ret) {
				if (nvq->tx_nxdp == VHOST_NET_BATCH)
					vhost_net_tx_send_batch(nvq, sock);
				goto done;
			}
		}
		/* In order: what is batched goes first. */
		vhost_net_tx_send_batch(nvq, sock);
		ret = sock->ops->sendmsg(sock, &msg, len);
		if (ret == -EAGAIN || ret == -ENOMEM || ret == -ENOBUFS) {
			kvr_unget_chain(&vq->ring, c);
			/* Resume when the tap drained; EPOLLERR: on a kick. */
			kvh_poll_start(&nvq->sock_poll, vq->worker, nvq->file);
			break;
		}
		if (ret < 0) {
			/* Lost, but completed, so the queue cannot stall. */
			nvq->dropped++;
			pr_debug("tx: dropped a %zu byte packet: %d\n", len,
				 ret);
		}
done:
		nvq->heads[nvq->nheads].id = c->head;
		nvq->heads[nvq->nheads].ndesc = c->ndesc;
		nvq->heads[nvq->nheads].len = 0;
		nvq->nheads++;
		kvh_vq_account(vq, len);
		if (nvq->nheads >= VHOST_NET_BATCH &&
		    vhost_net_flush_used(nvq))
			break;
		bytes += len;
		if (++pkts >= VHOST_NET_PKT_WEIGHT ||
		    bytes >= VHOST_NET_BYTE_WEIGHT) {
			/* Let the RX queue and other work have the worker. */
			kvh_poll_queue(&vq->poll);
			break;
		}
	}
	vhost_net_tx_send_batch(nvq, sock);
	vhost_net_flush_used(nvq);
	if (pkts)
		trace_kvhost_net_tx_batch(vq, pkts, bytes);
out:
	mutex_unlock(&vq->mutex);
}
