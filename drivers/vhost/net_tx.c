// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-net TX: packets the guest posted on vring 1 go out through the tap.
 *
 * The handler runs in the worker, in the owner's mm, with the TX queue's
 * mutex held: on a kick, when a run ran out of weight, and when the tap
 * becomes writable again after backpressure. Each chain is one packet,
 * copied by the tap straight from guest memory (the chain's iovecs are the
 * owner's addresses) with one sendmsg().
 *
 * Not yet done: handing tun batches of packets at once through
 * msg_control (TUN_MSG_PTR with XDP buffs), which upstream uses when the
 * tap's sndbuf is unlimited. It saves a sendmsg() per packet; per-packet
 * sendmsg() is always correct and stays the fallback for large packets.
 */
#include <linux/socket.h>
#include <linux/uio.h>

#include "net.h"

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
 * Stops when the ring is empty (guest notifications re-enabled), when the
 * tap pushes back (the chain is given back and the tap polled for
 * EPOLLOUT), when the guest broke the ring (the err eventfd fires), or after
 * VHOST_NET_PKT_WEIGHT packets or VHOST_NET_BYTE_WEIGHT bytes (requeued).
 */
void vhost_net_handle_tx(struct vhost_net_vq *nvq)
{
	struct kvh_vq *vq = &nvq->vq;
	struct kvr_chain *c = &vq->chain;
	size_t vhost_hlen, sock_hlen;
	unsigned int pkts = 0;
	struct socket *sock;
	struct msghdr msg;
	size_t bytes = 0;
	size_t len;
	int ret;

	mutex_lock(&vq->mutex);
	sock = vq->backend;
	if (!sock)
		goto out;
	vhost_net_hdr_lens(vq, &vhost_hlen, &sock_hlen);
	/* Only backpressure makes us wait for the tap. */
	kvh_poll_stop(&nvq->sock_poll);
	if (kvr_disable_notify(&vq->ring)) {
		kvh_vq_error(vq);
		goto out;
	}

	for (;;) {
		ret = kvr_get_chain(&vq->ring, c);
		if (ret < 0) {
			kvh_vq_error(vq);
			break;
		}
		if (!ret) {
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
	vhost_net_flush_used(nvq);
out:
	mutex_unlock(&vq->mutex);
}
