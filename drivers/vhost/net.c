// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-net: services a guest's virtio-net virtqueues from a tap or macvtap
 * queue, inside the host kernel.
 *
 * This module takes the in-tree name, misc minor and devname alias, so that
 * installed under updates/ it replaces the in-tree vhost_net for QEMU and
 * libvirt without any change on their side.
 *
 * One open device is one queue pair: RX (vring 0) and TX (vring 1), served
 * by one worker. VHOST_NET_SET_BACKEND attaches a tun/tap or macvtap/ipvtap
 * queue, or an AF_PACKET raw socket, to a vring; the data paths are in
 * net_tx.c and net_rx.c.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/if_tap.h>
#include <linux/if_tun.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/nospec.h>
#include <linux/sched/clock.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/socket.h>
#include <linux/virtio_net.h>
#include <net/sock.h>

#include "net.h"

/*
 * What the data path implements. It reaches the rings only through the
 * format-blind vring library, so packed rings are offered too (the
 * selftests run every data path case on both layouts); ACCESS_PLATFORM
 * waits for the IOTLB.
 */
#define VHOST_NET_FEATURES	(BIT_ULL(VIRTIO_F_VERSION_1) |		\
				 BIT_ULL(VIRTIO_F_RING_PACKED) |	\
				 BIT_ULL(VIRTIO_F_RING_RESET) |		\
				 BIT_ULL(VIRTIO_RING_F_EVENT_IDX) |	\
				 BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) |	\
				 BIT_ULL(VIRTIO_F_NOTIFY_ON_EMPTY) |	\
				 BIT_ULL(VIRTIO_NET_F_MRG_RXBUF) |	\
				 BIT_ULL(VHOST_NET_F_VIRTIO_NET_HDR) |	\
				 BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) |	\
				 BIT_ULL(VHOST_F_LOG_ALL))

/**
 * vhost_net_hdr_lens() - where the virtio-net header comes from
 * @vq: a vhost-net queue, with its mutex held
 * @vhost_hlen: set to the bytes vhost itself adds (RX) or strips (TX)
 * @sock_hlen: set to the bytes of header the tap carries
 *
 * The header is 12 bytes (with num_buffers) once MRG_RXBUF or VERSION_1 is
 * acked, else 10. VHOST_NET_F_VIRTIO_NET_HDR asks vhost to handle it for a
 * tap without IFF_VNET_HDR; otherwise the tap passes it through, as QEMU
 * configures it with TUNSETVNETHDRSZ.
 */
void vhost_net_hdr_lens(const struct kvh_vq *vq, size_t *vhost_hlen,
			size_t *sock_hlen)
{
	size_t len = sizeof(struct virtio_net_hdr);

	if (kvh_vq_has_feature(vq, VIRTIO_NET_F_MRG_RXBUF) ||
	    kvh_vq_has_feature(vq, VIRTIO_F_VERSION_1))
		len = sizeof(struct virtio_net_hdr_mrg_rxbuf);
	if (kvh_vq_has_feature(vq, VHOST_NET_F_VIRTIO_NET_HDR)) {
		*vhost_hlen = len;
		*sock_hlen = 0;
	} else {
		*vhost_hlen = 0;
		*sock_hlen = len;
	}
}

/**
 * vhost_net_flush_used() - publish the pending used entries and notify
 * @nvq: the queue, with its mutex held
 *
 * Entries go out in pieces of at most the ring size (a hostile guest may
 * have us hold more than that), and the guest is signalled once.
 *
 * Return: 0, or the vring library's error (the ring error is set).
 */
int vhost_net_flush_used(struct vhost_net_vq *nvq)
{
	struct kvh_vq *vq = &nvq->vq;
	unsigned int done = 0, n;
	int ret = 0;

	lockdep_assert_held(&vq->mutex);
	while (done < nvq->nheads) {
		n = min(nvq->nheads - done, vq->ring.num);
		ret = kvr_push_used(&vq->ring, nvq->heads + done, n);
		if (ret)
			break;
		done += n;
	}
	nvq->nheads = 0;
	if (done)
		kvh_vq_signal(vq);
	if (ret) {
		if (vq->ring.error == KVR_OK)
			vq->ring.error = KVR_ERR_ACCESS;
		kvh_vq_error(vq);
	}
	return ret;
}

/*
 * Busy polling (VHOST_SET_VRING_BUSYLOOP_TIMEOUT, QEMU's poll-us=N): a
 * handler that runs out of work does not go back to waiting at once. With
 * guest notifications still off, it spins for up to the queue's budget
 * watching both halves of the pair: the TX avail ring, and the tap's
 * receive side together with the RX avail ring. A guest that keeps
 * transmitting then needs no kick (an exit) per burst, and a packet that
 * comes in soon is picked up without a wake-up.
 *
 * The spin ends when there is work for the pair, when the budget is spent,
 * when the scheduler wants the CPU (need_resched()), on a signal, when
 * anything else was queued on the worker (the caller then requeues itself,
 * so that it spins again once that work has run), and when the VMM holds
 * the device mutex: every ioctl that needs a queue's mutex takes that one
 * first, and must not wait for a budget that may be minutes long (upstream
 * lets it). The time is local_clock() in units of 1024 ns, about a
 * microsecond, read with migration off so that one CPU's clock measures
 * the whole spin.
 */
static unsigned long vhost_net_busy_clock(void)
{
	return local_clock() >> 10;
}

/* Does the RX queue, attached and locked, have a packet and a buffer? */
static bool vhost_net_rx_ready(struct vhost_net_vq *rnvq)
{
	return vhost_net_rx_has_data(rnvq) &&
	       kvr_avail_pending(&rnvq->vq.ring);
}

/*
 * After the spin, hand the other queue of the pair back to its normal
 * course: run its handler if the guest has buffers for it, else let the
 * guest kick it again (and run it if buffers came in meanwhile, or if the
 * ring cannot be written, so that the handler reports that).
 */
static void vhost_net_busy_poll_resume(struct kvh_vq *vq)
{
	int ret;

	if (kvr_avail_pending(&vq->ring)) {
		kvh_poll_queue(&vq->poll);
		return;
	}
	ret = kvr_enable_notify(&vq->ring);
	if (!ret)
		return;
	if (ret > 0)
		kvr_disable_notify(&vq->ring);
	kvh_poll_queue(&vq->poll);
}

/**
 * vhost_net_busy_poll() - spin for a while, waiting for work for the pair
 * @n: the device
 * @rx: the RX handler calls (the tap is empty), else the TX handler (the
 *	TX ring is empty)
 *
 * The caller holds its queue's mutex, with a backend attached, guest
 * notifications disabled and its used entries published, and spins for
 * its own queue's budget. The other queue takes part if its mutex is free
 * (the worker is shared, so only an ioctl can hold it) and it has a
 * backend: its guest notifications are turned off for the spin and handed
 * back by vhost_net_busy_poll_resume(). For the RX queue that happens only
 * if the tap has a packet for it; otherwise its notifications are simply
 * enabled again, as the RX handler may be waiting for buffers.
 *
 * Return: true if the spin ended because other work was queued on the
 * worker; the caller then requeues itself rather than re-arming its
 * notifications.
 */
bool vhost_net_busy_poll(struct vhost_net *n, bool rx)
{
	struct vhost_net_vq *rnvq = &n->vqs[VHOST_NET_VQ_RX];
	struct vhost_net_vq *tnvq = &n->vqs[VHOST_NET_VQ_TX];
	struct kvh_vq *self = rx ? &rnvq->vq : &tnvq->vq;
	struct kvh_vq *other = rx ? &tnvq->vq : &rnvq->vq;
	bool paired, poll_rx, poll_tx, intr = false;
	unsigned long end;

	lockdep_assert_held(&self->mutex);
	/* Never wait for it: the two handlers lock in either order. */
	paired = mutex_trylock(&other->mutex);
	/* Behind a device IOTLB, only a ring already translated. */
	if (paired && (!other->backend || !other->ring_ready ||
		       kvr_disable_notify(&other->ring))) {
		mutex_unlock(&other->mutex);
		paired = false;
	}
	poll_rx = rx || paired;
	poll_tx = !rx || paired;

	migrate_disable();
	end = vhost_net_busy_clock() + self->busyloop_timeout;
	while (!need_resched() && !signal_pending(current) &&
	       !time_after(vhost_net_busy_clock(), end)) {
		if (kvh_worker_has_work(self->worker)) {
			intr = true;
			break;
		}
		if (mutex_is_locked(&n->dev.mutex))
			break;
		if (poll_tx && kvr_avail_pending(&tnvq->vq.ring))
			break;
		if (poll_rx && vhost_net_rx_ready(rnvq))
			break;
		cpu_relax();
	}
	migrate_enable();

	if (paired) {
		if (rx)
			vhost_net_busy_poll_resume(other);
		else if (vhost_net_rx_has_data(rnvq))
			vhost_net_busy_poll_resume(other);
		else
			kvr_enable_notify(&other->ring);
		mutex_unlock(&other->mutex);
	}
	return intr;
}

/* Kick handlers (the guest added buffers) and tap wake-ups. */
static void vhost_net_tx_kick(struct kvh_work *work)
{
	struct kvh_vq *vq = container_of(work, struct kvh_vq, poll.work);

	vhost_net_handle_tx(to_net_vq(vq));
}

static void vhost_net_rx_kick(struct kvh_work *work)
{
	struct kvh_vq *vq = container_of(work, struct kvh_vq, poll.work);

	vhost_net_handle_rx(to_net_vq(vq));
}

static void vhost_net_tx_sock(struct kvh_work *work)
{
	vhost_net_handle_tx(container_of(work, struct vhost_net_vq,
					 sock_poll.work));
}

static void vhost_net_rx_sock(struct kvh_work *work)
{
	vhost_net_handle_rx(container_of(work, struct vhost_net_vq,
					 sock_poll.work));
}

/*
 * The socket of a tun/tap or macvtap/ipvtap file, or of an AF_PACKET
 * SOCK_RAW socket (*@packet then set), as upstream takes them; anything
 * else, other sockets included, is ERR_PTR(-ENOTSOCK), upstream's answer.
 */
static struct socket *vhost_net_file_socket(struct file *file, bool *packet)
{
	struct socket *sock;

	*packet = false;
	sock = tun_get_socket(file);
	if (!IS_ERR(sock))
		return sock;
	sock = tap_get_socket(file);
	if (!IS_ERR(sock))
		return sock;
	sock = sock_from_file(file);
	if (sock && sock->sk && sock->sk->sk_family == AF_PACKET &&
	    sock->sk->sk_type == SOCK_RAW) {
		*packet = true;
		return sock;
	}
	return ERR_PTR(-ENOTSOCK);
}

/*
 * Stop the queue and take its tap away; the caller flushes the worker before
 * it drops the returned file. The queue's mutex is held.
 */
static struct file *vhost_net_vq_detach(struct vhost_net_vq *nvq)
{
	struct file *file = nvq->file;

	lockdep_assert_held(&nvq->vq.mutex);
	kvh_poll_stop(&nvq->sock_poll);
	kvh_vq_stop(&nvq->vq);
	if (nvq->rx_batch)
		vhost_net_rx_detach(nvq);
	nvq->file = NULL;
	nvq->packet = false;
	return file;
}

/*
 * Attach @file's @sock (an AF_PACKET socket if @packet) to a stopped queue,
 * with its mutex held.
 */
static int vhost_net_vq_attach(struct vhost_net_vq *nvq, struct file *file,
			       struct socket *sock, bool packet)
{
	struct kvh_vq *vq = &nvq->vq;
	int ret;

	lockdep_assert_held(&vq->mutex);
	nvq->nheads = 0;
	ret = kvh_vq_start(vq, sock);
	if (ret)
		return ret;
	nvq->file = file;
	nvq->packet = packet;
	if (nvq->rx_batch)
		vhost_net_rx_attach(nvq, file);
	/* A tap that reports EPOLLERR (e.g. no tun device) is refused. */
	ret = kvh_poll_start(&nvq->sock_poll, vq->worker, file);
	if (ret) {
		vhost_net_vq_detach(nvq);
		return ret;
	}
	return 0;
}

static long vhost_net_set_backend(struct vhost_net *n, unsigned int index,
				  int fd)
{
	struct socket *sock = NULL, *old_sock;
	struct file *file = NULL, *old;
	bool packet = false, old_packet;
	struct vhost_net_vq *nvq;
	long ret;

	mutex_lock(&n->dev.mutex);
	ret = kvh_dev_check_owner(&n->dev);
	if (ret)
		goto out_unlock;
	if (index >= VHOST_NET_VQ_MAX) {
		ret = -ENOBUFS;
		goto out_unlock;
	}
	index = array_index_nospec(index, VHOST_NET_VQ_MAX);
	nvq = &n->vqs[index];

	if (fd != -1) {
		file = fget(fd);
		if (!file) {
			ret = -EBADF;
			goto out_unlock;
		}
		sock = vhost_net_file_socket(file, &packet);
		if (IS_ERR(sock)) {
			ret = PTR_ERR(sock);
			goto out_fput;
		}
	}

	mutex_lock(&nvq->vq.mutex);
	if (sock && sock == nvq->vq.backend) {
		/* The same tap again: nothing to do. */
		mutex_unlock(&nvq->vq.mutex);
		goto out_fput;
	}
	old_sock = nvq->vq.backend;
	old_packet = nvq->packet;
	old = vhost_net_vq_detach(nvq);
	if (file) {
		ret = vhost_net_vq_attach(nvq, file, sock, packet);
		if (ret) {
			/* Put the previous tap back, as upstream does. */
			if (old && !vhost_net_vq_attach(nvq, old, old_sock,
							old_packet))
				old = NULL;
			mutex_unlock(&nvq->vq.mutex);
			goto out_flush;
		}
		file = NULL;	/* the queue holds the reference now */
	}
	mutex_unlock(&nvq->vq.mutex);

out_flush:
	/*
	 * A handler queued before the detach finds no backend; once the
	 * worker has run it, nobody uses the old tap and GET_VRING_BASE is
	 * exact.
	 */
	if (nvq->vq.worker)
		kvh_worker_flush(nvq->vq.worker);
	if (old)
		fput(old);
out_fput:
	if (file)
		fput(file);
out_unlock:
	mutex_unlock(&n->dev.mutex);
	return ret;
}

/* dev->stop_backends: detach both queues, with the device mutex held. */
static void vhost_net_stop_backends(struct kvh_dev *dev)
{
	struct vhost_net *n = container_of(dev, struct vhost_net, dev);
	struct file *old[VHOST_NET_VQ_MAX];
	int i;

	lockdep_assert_held(&dev->mutex);
	for (i = 0; i < VHOST_NET_VQ_MAX; i++) {
		mutex_lock(&n->vqs[i].vq.mutex);
		old[i] = vhost_net_vq_detach(&n->vqs[i]);
		mutex_unlock(&n->vqs[i].vq.mutex);
	}
	kvh_dev_flush(dev);
	for (i = 0; i < VHOST_NET_VQ_MAX; i++)
		if (old[i])
			fput(old[i]);
}

static void vhost_net_vq_free(struct vhost_net_vq *nvq)
{
	vhost_net_tx_free(nvq);
	kvfree(nvq->heads);
	kvfree(nvq->rx_iov);
	kvfree(nvq->rx_gpa);
	kvfree(nvq->rx_nseg);
	kfree(nvq->rx_batch);
}

static int vhost_net_vq_init(struct vhost_net *n, unsigned int i)
{
	struct vhost_net_vq *nvq = &n->vqs[i];
	bool rx = i == VHOST_NET_VQ_RX;
	int ret;

	ret = kvh_vq_init(&nvq->vq, &n->dev,
			  rx ? vhost_net_rx_kick : vhost_net_tx_kick);
	if (ret)
		return ret;
	kvh_poll_init(&nvq->sock_poll, rx ? vhost_net_rx_sock :
					     vhost_net_tx_sock,
		      rx ? EPOLLIN : EPOLLOUT);
	nvq->heads = kvmalloc_array(VHOST_NET_BATCH + VHOST_NET_MAX_IOV,
				    sizeof(*nvq->heads), GFP_KERNEL_ACCOUNT);
	if (!nvq->heads)
		goto err;
	if (!rx && vhost_net_tx_init(nvq))
		goto err;
	if (rx) {
		nvq->rx_iov = kvmalloc_array(VHOST_NET_MAX_IOV,
					     sizeof(*nvq->rx_iov),
					     GFP_KERNEL_ACCOUNT);
		nvq->rx_gpa = kvmalloc_array(VHOST_NET_MAX_IOV,
					     sizeof(*nvq->rx_gpa),
					     GFP_KERNEL_ACCOUNT);
		nvq->rx_nseg = kvmalloc_array(VHOST_NET_MAX_IOV,
					      sizeof(*nvq->rx_nseg),
					      GFP_KERNEL_ACCOUNT);
		nvq->rx_batch = kmalloc_array(VHOST_NET_BATCH,
					      sizeof(*nvq->rx_batch),
					      GFP_KERNEL_ACCOUNT);
		if (!nvq->rx_iov || !nvq->rx_gpa || !nvq->rx_nseg ||
		    !nvq->rx_batch)
			goto err;
	}
	return 0;

err:
	vhost_net_vq_free(nvq);
	kvh_vq_free(&nvq->vq);
	return -ENOMEM;
}

static int vhost_net_open(struct inode *inode, struct file *f)
{
	struct vhost_net *n;
	int i, ret;

	n = kvzalloc(sizeof(*n), GFP_KERNEL_ACCOUNT);
	if (!n)
		return -ENOMEM;
	for (i = 0; i < VHOST_NET_VQ_MAX; i++)
		n->vq_ptrs[i] = &n->vqs[i].vq;
	/* One worker serves the pair, as in-tree; multiqueue is N devices. */
	ret = kvh_dev_init(&n->dev, "net", n->vq_ptrs, VHOST_NET_VQ_MAX, 1,
			   VHOST_NET_FEATURES);
	if (ret)
		goto err_free;
	n->dev.stop_backends = vhost_net_stop_backends;
	for (i = 0; i < VHOST_NET_VQ_MAX; i++) {
		ret = vhost_net_vq_init(n, i);
		if (ret)
			goto err_vqs;
	}
	f->private_data = n;
	return 0;

err_vqs:
	while (i--) {
		vhost_net_vq_free(&n->vqs[i]);
		kvh_vq_free(&n->vqs[i].vq);
	}
err_free:
	kvfree(n);
	return ret;
}

static int vhost_net_release(struct inode *inode, struct file *f)
{
	struct vhost_net *n = f->private_data;
	int i;

	/* Detaches the taps through vhost_net_stop_backends(). */
	kvh_dev_cleanup(&n->dev);
	for (i = 0; i < VHOST_NET_VQ_MAX; i++)
		vhost_net_vq_free(&n->vqs[i]);
	kvfree(n);
	return 0;
}

static long vhost_net_ioctl(struct file *f, unsigned int ioctl,
			    unsigned long arg)
{
	struct vhost_net *n = f->private_data;
	void __user *argp = (void __user *)arg;
	struct vhost_vring_file backend;

	if (ioctl == VHOST_NET_SET_BACKEND) {
		if (copy_from_user(&backend, argp, sizeof(backend)))
			return -EFAULT;
		return vhost_net_set_backend(n, backend.index, backend.fd);
	}
	return kvh_dev_ioctl(&n->dev, ioctl, argp);
}

/*
 * Device IOTLB messages (VIRTIO_F_ACCESS_PLATFORM): QEMU reads misses and
 * writes translations on its non-blocking vhost fd.
 */
static ssize_t vhost_net_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct file *f = iocb->ki_filp;
	struct vhost_net *n = f->private_data;

	return kvh_dev_read_iter(&n->dev, to, f->f_flags & O_NONBLOCK);
}

static ssize_t vhost_net_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct vhost_net *n = iocb->ki_filp->private_data;

	return kvh_dev_write_iter(&n->dev, from);
}

static __poll_t vhost_net_poll(struct file *f, poll_table *wait)
{
	struct vhost_net *n = f->private_data;

	return kvh_dev_poll(&n->dev, f, wait);
}

static const struct file_operations vhost_net_fops = {
	.owner		= THIS_MODULE,
	.open		= vhost_net_open,
	.release	= vhost_net_release,
	.read_iter	= vhost_net_read_iter,
	.write_iter	= vhost_net_write_iter,
	.poll		= vhost_net_poll,
	.unlocked_ioctl	= vhost_net_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice vhost_net_misc = {
	.minor	= VHOST_NET_MINOR,
	.name	= "vhost-net",
	.fops	= &vhost_net_fops,
};

module_misc_device(vhost_net_misc);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("The kvhost developers");
MODULE_DESCRIPTION("kvhost: in-kernel virtio-net backend for tap and macvtap");
MODULE_ALIAS_MISCDEV(VHOST_NET_MINOR);
MODULE_ALIAS("devname:vhost-net");
MODULE_IMPORT_NS(KVH_NS);
