// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-net RX: packets queued on the tap land in the buffers the guest
 * posted on vring 0.
 *
 * The handler runs in the worker, in the owner's mm, with the RX queue's
 * mutex held: when the tap has a packet (EPOLLIN), when the guest added
 * buffers (kick) and when a run ran out of weight. For each packet it peeks
 * the length, gathers enough writable chains (several with MRG_RXBUF, else
 * exactly one), has the tap copy the packet straight into them with one
 * recvmsg(), and fixes up the virtio-net header: all of it with
 * VHOST_NET_F_VIRTIO_NET_HDR, else only num_buffers in the header the tap
 * wrote.
 *
 * When the guest has no buffers, packets stay in the tap (which drops when
 * its queue overflows, as upstream) and the tap is not polled: the guest's
 * next kick brings us back.
 *
 * tun and macvtap keep their packets in a ptr_ring. We take up to
 * VHOST_NET_BATCH of them at once under one lock (rather than a lock for
 * the peek and another for the read of every packet), and hand each to
 * recvmsg() in msg_control, which makes the tap copy that packet out
 * instead of dequeuing one itself. Packets taken but not delivered go back
 * to the front of the ring when the queue is detached.
 *
 * An AF_PACKET socket has no such ring: the length of its next packet is
 * read off the head of its receive queue, and recvmsg() dequeues it. As
 * upstream's, the length counts a VLAN tag the skb carries out of line,
 * which a packet socket's recvmsg() does not put back in the frame: such a
 * packet comes out shorter than announced and is dropped.
 *
 * With a busy-poll budget, a handler that finds the tap empty publishes
 * what it delivered and spins for more (vhost_net_busy_poll()) before it
 * goes back to waiting for the tap.
 */
#include <linux/if_tap.h>
#include <linux/if_tun.h>
#include <linux/if_vlan.h>
#include <linux/ptr_ring.h>
#include <linux/skbuff.h>
#include <linux/socket.h>
#include <linux/uio.h>
#include <linux/virtio_net.h>
#include <net/sock.h>
#include <net/xdp.h>

#include "net.h"
#include "net_trace.h"

/* Give back the @count chains just gathered for one packet. */
static void vhost_net_rx_unget(struct vhost_net_vq *nvq, unsigned int count)
{
	const struct kvr_used *heads = nvq->heads + nvq->nheads;
	struct kvr_chain c = { 0 };

	while (count--) {
		c.head = heads[count].id;
		c.ndesc = heads[count].ndesc;
		kvr_unget_chain(&nvq->vq.ring, &c);
	}
}

/*
 * Gather writable chains for @datalen bytes, at most @max_chains of them,
 * into nvq->rx_iov and after the pending entries of nvq->heads (each with
 * the bytes it will get). Return: 0 with *@count chains in *@niov segments;
 * -ENOSPC if the guest has too few buffers (*@mark then says where they ran
 * out, for kvr_enable_notify_at()), -EMSGSIZE if the packet cannot fit,
 * -EIO if the guest broke the ring (ring error set), -EAGAIN for a device
 * IOTLB miss (the VMM was asked). On failure nothing is consumed.
 */
static int vhost_net_rx_gather(struct vhost_net_vq *nvq, u32 datalen,
			       unsigned int max_chains, unsigned int *count,
			       unsigned int *niov, u16 *mark)
{
	struct kvr_used *heads = nvq->heads + nvq->nheads;
	struct kvh_vq *vq = &nvq->vq;
	struct kvr_chain *c = &vq->chain;
	unsigned int n = 0, nseg = 0;
	int ret;

	while (datalen) {
		if (n == max_chains) {
			ret = -EMSGSIZE;
			goto unget;
		}
		ret = kvh_vq_get_chain(vq, c);
		if (ret < 0)
			goto unget;
		if (!ret) {
			*mark = kvr_avail_mark(&vq->ring);
			ret = -ENOSPC;
			goto unget;
		}
		/* RX buffers are write-only and not empty. */
		if (c->nout || !c->in_len) {
			kvr_unget_chain(&vq->ring, c);
			vq->ring.error = KVR_ERR_BACKEND;
			vq->ring.error_info = c->head;
			ret = -EIO;
			goto unget;
		}
		if (c->nin > VHOST_NET_MAX_IOV - nseg) {
			kvr_unget_chain(&vq->ring, c);
			ret = -EMSGSIZE;
			goto unget;
		}
		memcpy(nvq->rx_iov + nseg, c->iov, c->nin * sizeof(*c->iov));
		memcpy(nvq->rx_gpa + nseg, c->gpa, c->nin * sizeof(*c->gpa));
		nvq->rx_nseg[n] = c->nin;
		heads[n].id = c->head;
		heads[n].ndesc = c->ndesc;
		heads[n].len = min(c->in_len, datalen);
		datalen -= heads[n].len;
		nseg += c->nin;
		n++;
	}
	*count = n;
	*niov = nseg;
	return 0;

unget:
	vhost_net_rx_unget(nvq, n);
	return ret;
}

/**
 * vhost_net_rx_attach() - use the tap's packet ring, if it has one
 * @nvq: the RX queue, with its mutex held, just attached to @file
 * @file: a tun/tap or macvtap file
 */
void vhost_net_rx_attach(struct vhost_net_vq *nvq, struct file *file)
{
	struct ptr_ring *ring;

	lockdep_assert_held(&nvq->vq.mutex);
	ring = tun_get_tx_ring(file);
	if (IS_ERR(ring))
		ring = tap_get_ptr_ring(file);
	nvq->rx_ring = IS_ERR(ring) ? NULL : ring;
	nvq->rx_head = 0;
	nvq->rx_tail = 0;
}

/**
 * vhost_net_rx_detach() - give the packets taken but not delivered back
 * @nvq: the RX queue, with its mutex held, being detached
 *
 * They go back to the front of the tap's ring, in order, so that nothing
 * is lost across a stop and start (or what does not fit is freed, as the
 * tap itself would drop it).
 */
void vhost_net_rx_detach(struct vhost_net_vq *nvq)
{
	lockdep_assert_held(&nvq->vq.mutex);
	if (nvq->rx_ring && nvq->rx_tail > nvq->rx_head)
		ptr_ring_unconsume(nvq->rx_ring, nvq->rx_batch + nvq->rx_head,
				   nvq->rx_tail - nvq->rx_head, tun_ptr_free);
	nvq->rx_ring = NULL;
	nvq->rx_head = 0;
	nvq->rx_tail = 0;
}

/* The length recvmsg() will report for a packet of the tap's ring. */
static int vhost_net_rx_ptr_len(void *ptr)
{
	struct sk_buff *skb = ptr;

	if (tun_is_xdp_frame(ptr))
		return tun_ptr_to_xdp(ptr)->len;
	return skb->len + (skb_vlan_tag_present(skb) ? VLAN_HLEN : 0);
}

/* The length of the packet at the head of a socket's receive queue, or 0. */
static int vhost_net_rx_queue_len(struct sock *sk)
{
	struct sk_buff_head *q = &sk->sk_receive_queue;
	struct sk_buff *skb;
	unsigned long flags;
	int len = 0;

	spin_lock_irqsave(&q->lock, flags);
	skb = skb_peek(q);
	if (skb)
		len = skb->len + (skb_vlan_tag_present(skb) ? VLAN_HLEN : 0);
	spin_unlock_irqrestore(&q->lock, flags);
	return len;
}

/*
 * The length of the next packet, 0 if there is none. With a ring, refill
 * the batch first.
 */
static int vhost_net_rx_peek(struct vhost_net_vq *nvq, struct socket *sock)
{
	if (!nvq->rx_ring) {
		if (sock->ops->peek_len)
			return sock->ops->peek_len(sock);
		return vhost_net_rx_queue_len(sock->sk);
	}
	if (nvq->rx_head == nvq->rx_tail) {
		nvq->rx_head = 0;
		nvq->rx_tail = ptr_ring_consume_batched(nvq->rx_ring,
							nvq->rx_batch,
							VHOST_NET_BATCH);
		if (!nvq->rx_tail)
			return 0;
	}
	return vhost_net_rx_ptr_len(nvq->rx_batch[nvq->rx_head]);
}

/**
 * vhost_net_rx_has_data() - does the tap hold a packet for the guest?
 * @nvq: the RX queue, with its mutex held and a backend attached
 *
 * For busy polling: cheap, and takes nothing out of the tap.
 */
bool vhost_net_rx_has_data(struct vhost_net_vq *nvq)
{
	struct socket *sock = nvq->vq.backend;

	lockdep_assert_held(&nvq->vq.mutex);
	if (nvq->rx_tail > nvq->rx_head)
		return true;
	if (nvq->rx_ring)
		return !ptr_ring_empty(nvq->rx_ring);
	return !skb_queue_empty_lockless(&sock->sk->sk_receive_queue);
}

/* The packet the next recvmsg() must deliver (NULL: the tap picks it). */
static void *vhost_net_rx_next(struct vhost_net_vq *nvq)
{
	return nvq->rx_ring ? nvq->rx_batch[nvq->rx_head++] : NULL;
}

/* Drop the tap's next packet: read it into a byte, truncated. */
static void vhost_net_rx_discard(struct vhost_net_vq *nvq, struct socket *sock)
{
	struct msghdr msg = { 0 };
	struct kvec kv;
	u8 byte;

	if (nvq->rx_ring) {
		tun_ptr_free(vhost_net_rx_next(nvq));
		return;
	}
	kv.iov_base = &byte;
	kv.iov_len = sizeof(byte);
	iov_iter_kvec(&msg.msg_iter, ITER_DEST, &kv, 1, sizeof(byte));
	/* Fails with a vnet-header tap, which still consumes the packet. */
	sock->ops->recvmsg(sock, &msg, sizeof(byte), MSG_DONTWAIT | MSG_TRUNC);
}

/*
 * Write the virtio-net header fields vhost owns into the first chain:
 * the whole (zeroed) header if vhost provides it, else num_buffers in the
 * 12-byte header the tap wrote. @fixup covers the packet's buffers.
 */
static int vhost_net_rx_fix_hdr(struct iov_iter *fixup, size_t vhost_hlen,
				size_t sock_hlen, unsigned int count)
{
	struct virtio_net_hdr_mrg_rxbuf hdr = { 0 };
	size_t nb_off = offsetof(struct virtio_net_hdr_mrg_rxbuf, num_buffers);

	hdr.num_buffers = __cpu_to_virtio16(true, count);
	if (vhost_hlen)
		return copy_to_iter(&hdr, vhost_hlen, fixup) == vhost_hlen ?
		       0 : -EFAULT;
	if (sock_hlen < sizeof(hdr))
		return 0;
	iov_iter_advance(fixup, nb_off);
	return copy_to_iter(&hdr.num_buffers, sizeof(hdr.num_buffers), fixup) ==
	       sizeof(hdr.num_buffers) ? 0 : -EFAULT;
}

/* Log the guest pages the last @count gathered chains were written into. */
static int vhost_net_rx_log(struct vhost_net_vq *nvq, unsigned int count)
{
	const struct kvr_used *heads = nvq->heads + nvq->nheads;
	struct kvh_vq *vq = &nvq->vq;
	struct kvr_chain c = { 0 };
	unsigned int i, seg = 0;
	int ret;

	if (!kvh_vq_has_feature(vq, VHOST_F_LOG_ALL))
		return 0;
	for (i = 0; i < count; i++) {
		c.nin = nvq->rx_nseg[i];
		c.max_iov = c.nin;
		c.iov = nvq->rx_iov + seg;
		c.gpa = nvq->rx_gpa + seg;
		ret = kvr_log_chain(&vq->ring, &c, heads[i].len);
		if (ret)
			return ret;
		seg += c.nin;
	}
	return 0;
}

/**
 * vhost_net_handle_rx() - move packets from the tap into guest buffers
 * @nvq: the RX queue
 *
 * Stops when the tap is empty (the tap polled again, after a busy poll if
 * the queue has a budget), when the guest has no buffers (guest
 * notifications re-enabled, the packet left in the tap), when the guest
 * broke the ring (the err eventfd fires), when a busy poll gave way to
 * other work, or after VHOST_NET_PKT_WEIGHT packets or
 * VHOST_NET_BYTE_WEIGHT bytes (both requeued).
 */
void vhost_net_handle_rx(struct vhost_net_vq *nvq)
{
	struct vhost_net *n = container_of(nvq, struct vhost_net,
					   vqs[VHOST_NET_VQ_RX]);
	struct kvh_vq *vq = &nvq->vq;
	size_t vhost_hlen, sock_hlen;
	unsigned int count, niov;
	unsigned int max_chains;
	struct iov_iter fixup;
	unsigned int pkts = 0;
	bool rearm = false;
	struct socket *sock;
	struct msghdr msg;
	size_t bytes = 0;
	u32 sock_len, vhost_len;
	u16 mark = 0;
	int ret;

	mutex_lock(&vq->mutex);
	sock = vq->backend;
	if (!sock || !kvh_vq_ready(vq))
		goto out;
	vhost_net_hdr_lens(vq, &vhost_hlen, &sock_hlen);
	max_chains = kvh_vq_has_feature(vq, VIRTIO_NET_F_MRG_RXBUF) ?
		     VHOST_NET_MAX_IOV : 1;
	/* Polled again once the tap is empty. */
	kvh_poll_stop(&nvq->sock_poll);
	if (kvr_disable_notify(&vq->ring)) {
		kvh_vq_error(vq);
		goto out;
	}

	for (;;) {
		bool intr = false;

		ret = vhost_net_rx_peek(nvq, sock);
		if (ret <= 0 && vq->busyloop_timeout) {
			/* The guest sees what is delivered before we spin. */
			if (vhost_net_flush_used(nvq))
				break;
			intr = vhost_net_busy_poll(n, true);
			ret = vhost_net_rx_peek(nvq, sock);
		}
		if (ret <= 0) {
			/* Cut short: spin again once that work is done. */
			if (intr)
				kvh_poll_queue(&vq->poll);
			else
				rearm = true;
			break;
		}
		sock_len = ret + sock_hlen;
		vhost_len = sock_len + vhost_hlen;

		ret = vhost_net_rx_gather(nvq, vhost_len, max_chains, &count,
					  &niov, &mark);
		if (ret == -ENOSPC) {
			/*
			 * The buffers before the mark, if any, are too few
			 * for this packet: wait for the guest to add some
			 * past them (a kick for the ones it already made
			 * available would never come), and look again only
			 * if it did meanwhile, or we would spin. The same on
			 * split and packed rings.
			 */
			ret = kvr_enable_notify_at(&vq->ring, mark);
			if (ret < 0) {
				kvh_vq_error(vq);
				break;
			}
			if (!ret)
				break;
			if (kvr_disable_notify(&vq->ring)) {
				kvh_vq_error(vq);
				break;
			}
			/* A guest that keeps adding too little: weigh it. */
			goto next;
		}
		if (ret == -EIO) {
			kvh_vq_error(vq);
			break;
		}
		/* An IOTLB miss: the VMM's answer requeues us. */
		if (ret == -EAGAIN)
			break;
		if (ret == -EMSGSIZE) {
			pr_debug("rx: dropped a %u byte packet: no room\n",
				 sock_len);
			vhost_net_rx_discard(nvq, sock);
			nvq->dropped++;
			goto next;
		}

		memset(&msg, 0, sizeof(msg));
		/* Consumed by recvmsg() whatever it returns. */
		msg.msg_control = vhost_net_rx_next(nvq);
		iov_iter_init(&msg.msg_iter, ITER_DEST, nvq->rx_iov, niov,
			      vhost_len);
		fixup = msg.msg_iter;
		/* VHOST_NET_F_VIRTIO_NET_HDR: room for the header we write. */
		iov_iter_advance(&msg.msg_iter, vhost_hlen);
		ret = sock->ops->recvmsg(sock, &msg, sock_len,
					 MSG_DONTWAIT | MSG_TRUNC);
		if (ret < 0 || ret != sock_len) {
			/* Gone or changed under us: keep the buffers. */
			pr_debug("rx: got %d bytes, expected %u\n", ret,
				 sock_len);
			vhost_net_rx_unget(nvq, count);
			if (ret >= 0)
				nvq->dropped++;
			goto next;
		}
		if (vhost_net_rx_fix_hdr(&fixup, vhost_hlen, sock_hlen,
					 count)) {
			vhost_net_rx_unget(nvq, count);
			vq->ring.error = KVR_ERR_ACCESS;
			vq->ring.error_info = nvq->rx_gpa[0];
			kvh_vq_error(vq);
			break;
		}
		ret = vhost_net_rx_log(nvq, count);
		nvq->nheads += count;
		kvh_vq_account(vq, vhost_len);
		if (ret) {
			vq->ring.error = KVR_ERR_ACCESS;
			vq->ring.error_info = 0;
			kvh_vq_error(vq);
			break;
		}
		if (nvq->nheads >= VHOST_NET_BATCH &&
		    vhost_net_flush_used(nvq))
			break;
		bytes += vhost_len;
next:
		if (++pkts >= VHOST_NET_PKT_WEIGHT ||
		    bytes >= VHOST_NET_BYTE_WEIGHT) {
			/* Let the TX queue and other work have the worker. */
			kvh_poll_queue(&vq->poll);
			break;
		}
	}
	vhost_net_flush_used(nvq);
	if (pkts)
		trace_kvhost_net_rx_batch(vq, pkts, bytes);
	/* A packet that came in meanwhile queues us again at once. */
	if (rearm)
		kvh_poll_start(&nvq->sock_poll, vq->worker, nvq->file);
out:
	mutex_unlock(&vq->mutex);
}
