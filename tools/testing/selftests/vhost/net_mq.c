// SPDX-License-Identifier: GPL-2.0
/*
 * net_mq: multiqueue vhost-net, the way QEMU sets up queues=4: one
 * multi-queue tap (IFF_MULTI_QUEUE) opened four times, four /dev/vhost-net
 * devices, each owning one tap queue with its own queue pair and worker.
 *
 *  - TX: four threads drive the four TX rings at once; every frame (tagged
 *    with its queue and sequence number) reaches the host exactly once and
 *    intact.
 *  - RX: UDP frames of 64 flows sent out of the tap are spread by tun over
 *    the queues by flow hash; each lands exactly once, intact, in the guest
 *    ring of the queue its flow hashes to, every flow always on the same
 *    queue, and every queue gets some.
 *  - Detach: while three queues carry TX traffic, the fourth is stopped as
 *    QEMU does when the guest lowers its queue count (SET_BACKEND -1,
 *    GET_VRING_BASE, TUNSETQUEUE IFF_DETACH_QUEUE): its base is exact, RX
 *    goes to the others only, nothing is lost; then it is attached again
 *    and all four carry traffic.
 *  - Workers: each device has its own vhost-<owner pid> kernel thread,
 *    which goes away with the device.
 *
 * Every case runs on split and on packed rings; the names say which.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "net_common.h"

#define NQ		4		/* queue pairs */
#define NFLOWS		64		/* RX UDP flows */
#define TX_NUM		256		/* TX ring size */
#define TX_SLOT		6016		/* TX buffer: header + up to 6000 */
#define RX_NBUF		64		/* RX buffers per queue */
#define RX_BUF		2048
#define SEQ_QSHIFT	24		/* TX seq: queue << 24 | number */
#define F_MRG		(NET_F_BASE | BIT(VIRTIO_NET_F_MRG_RXBUF))

struct mq {
	struct net_env q[NQ];	/* q[0] owns the packet socket */
	int ifindex;
	char ifname[IFNAMSIZ];
	uint8_t *rxbuf[NQ];
	uint32_t rxcookie[NQ][RX_NBUF];
	int flowq[NFLOWS];	/* queue each RX flow went to, or -1 */
	unsigned int rx_per_q[NQ];
};

/* TX frame @seq's length: mostly batched sizes, every 16th one a page+. */
static size_t tx_len(uint32_t seq)
{
	uint32_t h = seq * 2654435761u;

	if ((seq & 15) == 15)
		return 6000;
	return 60 + (h ^ h >> 15) % 1441;
}

static int set_flags(const char *ifname, unsigned int mtu)
{
	struct ifreq ifr = { 0 };
	char path[128];
	int s, r = -1, fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			ktap_diag("disable_ipv6: %s", strerror(errno));
		close(fd);
	}
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_mtu = mtu;
	if (!ioctl(s, SIOCSIFMTU, &ifr) && !ioctl(s, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP | IFF_NOARP;
		r = ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
	return r;
}

/* The multi-queue tap, its packet socket and the four vhost devices. */
static enum ktap_result mq_init(struct mq *m, enum net_ring ring)
{
	uint64_t features = F_MRG | net_ring_features(ring);
	int fds[NQ], hdr = NET_HDR_LEN, pkt, i, k;
	enum ktap_result r;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < NQ; i++) {
		struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI |
				     IFF_VNET_HDR | IFF_MULTI_QUEUE };

		fds[i] = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
		KTAP_SKIP_IF(fds[i] < 0 && (errno == ENOENT || errno == ENODEV),
			     "no tun: %s", strerror(errno));
		KTAP_CHECK(fds[i] >= 0, "tun: %s", strerror(errno));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s",
			 i ? m->ifname : "kvhq%d");
		KTAP_OK(ioctl(fds[i], TUNSETIFF, &ifr));
		snprintf(m->ifname, sizeof(m->ifname), "%s", ifr.ifr_name);
	}
	/* The header size is the device's, shared by its queues. */
	KTAP_OK(ioctl(fds[0], TUNSETVNETHDRSZ, &hdr));
	KTAP_OK(set_flags(m->ifname, 1500));
	m->ifindex = if_nametoindex(m->ifname);
	KTAP_CHECK(m->ifindex > 0, "%s: %s", m->ifname, strerror(errno));
	pkt = net_pkt_open(m->ifindex);
	KTAP_CHECK(pkt >= 0, "packet socket: %s", strerror(-pkt));
	for (i = 0; i < NQ; i++) {
		struct net_env *e = &m->q[i];

		e->tap = fds[i];
		e->pkt = i ? -1 : pkt;
		e->ifindex = m->ifindex;
		snprintf(e->ifname, sizeof(e->ifname), "%s", m->ifname);
		r = net_env_init_fd(e, features, TX_NUM, 4 * MIB, false);
		if (r != KTAP_PASS)
			return r;
		m->rxbuf[i] = vdrv_mem_alloc(e->mem, RX_NBUF * RX_BUF, 64);
		KTAP_CHECK(m->rxbuf[i], "%s", vdrv_last_error());
		for (k = 0; k < RX_NBUF; k++) {
			struct vdrv_buf in = { .ptr = m->rxbuf[i] + k * RX_BUF,
					       .len = RX_BUF };

			m->rxcookie[i][k] = k;
			VOK(vdrv_vq_add(e->rx, NULL, 0, &in, 1,
					&m->rxcookie[i][k]));
		}
		VOK(vdrv_vq_kick(e->rx));
	}
	for (i = 0; i < NFLOWS; i++)
		m->flowq[i] = -1;
	return KTAP_PASS;
}

static void mq_fini(struct mq *m)
{
	int i;

	for (i = 0; i < NQ; i++)
		net_env_fini(&m->q[i]);
}

/*
 * Kernel threads named vhost-<@pid> (the first worker of a device) and
 * vhost-<@pid>-<n> (further ones): the in-tree naming.
 */
static int count_workers(pid_t pid, int *extra)
{
	char want[32], path[300], comm[64];
	struct dirent *d;
	int n = 0, fd;
	ssize_t len;
	DIR *dir;

	*extra = 0;
	snprintf(want, sizeof(want), "vhost-%d", pid);
	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while ((d = readdir(dir))) {
		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (len <= 0)
			continue;
		comm[len] = 0;
		comm[strcspn(comm, "\n")] = 0;
		if (!strcmp(comm, want))
			n++;
		else if (!strncmp(comm, want, strlen(want)) &&
			 comm[strlen(want)] == '-')
			(*extra)++;
	}
	closedir(dir);
	return n;
}

static enum ktap_result workers_are(int want)
{
	int n, extra, tries;

	/*
	 * A stopped worker leaves /proc only when it is reaped, a moment
	 * after close() returned: give it two seconds.
	 */
	for (tries = 0; tries < 200; tries++) {
		n = count_workers(getpid(), &extra);
		if (n == want && !extra)
			return KTAP_PASS;
		usleep(10000);
	}
	KTAP_CHECK(n == want && !extra,
		   "%d vhost-%d threads (+%d numbered), want %d", n, getpid(),
		   extra, want);
	return KTAP_PASS;
}

/* ------------------------------------------------------------------------
 * TX: guest threads and a host receiver
 */

struct txq {
	struct net_env *e;
	unsigned int qid;
	uint32_t first, count;	/* frame numbers [first, first + count) */
	atomic_bool *stop;	/* if set: post no more once it is true */
	atomic_uint done;	/* frames completed so far */
	uint8_t *slots;
	uint32_t cookie[TX_NUM];
	pthread_t thread;
	enum ktap_result result;
};

static enum ktap_result txq_alloc(struct txq *t, struct net_env *e,
				  unsigned int qid)
{
	t->e = e;
	t->qid = qid;
	t->slots = vdrv_mem_alloc(e->mem, (size_t)TX_NUM * TX_SLOT, 64);
	KTAP_CHECK(t->slots, "%s", vdrv_last_error());
	return KTAP_PASS;
}

/*
 * Send frames [first, first + count) on the queue, all completed in order;
 * with t->stop, fewer if it turns true, t->count then saying how many.
 */
static enum ktap_result tx_run(struct txq *t)
{
	uint32_t posted = 0, done = 0, *c;
	struct net_env *e = t->e;

	atomic_store(&t->done, 0);
	while (done < t->count) {
		if (t->stop && atomic_load(t->stop) && done == posted) {
			t->count = done;
			break;
		}
		while (posted < t->count && posted - done < TX_NUM &&
		       !(t->stop && atomic_load(t->stop))) {
			uint32_t n = t->first + posted;
			uint32_t seq = t->qid << SEQ_QSHIFT | n;
			unsigned int k = n % TX_NUM;
			uint8_t *p = t->slots + (size_t)k * TX_SLOT;
			struct vdrv_buf out = { .ptr = p,
						.len = e->hdr_len + tx_len(n) };

			memset(p, 0, e->hdr_len);
			net_frame(p + e->hdr_len, tx_len(n), seq);
			t->cookie[k] = n;
			VOK(vdrv_vq_add(e->tx, &out, 1, NULL, 0, &t->cookie[k]));
			posted++;
		}
		VOK(vdrv_vq_kick(e->tx));
		while ((c = vdrv_vq_get_used(e->tx, NULL))) {
			KTAP_EXPECT_EQ(*c, t->first + done);
			done++;
		}
		atomic_store(&t->done, done);
		if (done < posted && !vdrv_vq_used_pending(e->tx)) {
			c = vdrv_vq_wait_used(e->tx, NULL, 10000);
			KTAP_CHECK(c, "queue %u stuck at %u/%u: %s", t->qid, done,
				   posted, vdrv_last_error());
			KTAP_EXPECT_EQ(*c, t->first + done);
			done++;
		}
	}
	KTAP_EXPECT_EQ(e->tx->err_count, 0);
	return KTAP_PASS;
}

static void *tx_thread(void *arg)
{
	struct txq *t = arg;

	t->result = tx_run(t);
	return NULL;
}

static enum ktap_result tx_start(struct txq *t, uint32_t first,
				 uint32_t count)
{
	t->first = first;
	t->count = count;
	t->result = KTAP_FAIL;
	KTAP_CHECK(!pthread_create(&t->thread, NULL, tx_thread, t),
		   "pthread_create");
	return KTAP_PASS;
}

/* Wait until a running sender has completed @n frames. */
static enum ktap_result tx_wait(struct txq *t, unsigned int n)
{
	int64_t deadline = net_now_ms() + 20000;

	while (atomic_load(&t->done) < n) {
		KTAP_CHECK(net_now_ms() < deadline,
			   "queue %u: %u of %u frames", t->qid,
			   atomic_load(&t->done), n);
		KTAP_CHECK(t->count == 0 || atomic_load(&t->done) < t->count,
			   "queue %u ended", t->qid);
		usleep(1000);
	}
	return KTAP_PASS;
}

static enum ktap_result tx_join(struct txq *t)
{
	pthread_join(t->thread, NULL);
	KTAP_CHECK(t->result == KTAP_PASS, "TX queue %u failed", t->qid);
	return KTAP_PASS;
}

/* What the host must see of each queue: its frames exactly once. */
struct host {
	struct net_env *e;	/* the one with the packet socket */
	atomic_uint want[NQ];	/* may shrink while it runs */
	uint8_t *seen[NQ];
	unsigned int got[NQ], reordered[NQ];
	int64_t last[NQ];
	atomic_bool stop;
	pthread_t thread;
	enum ktap_result result;
	uint8_t buf[NET_MAX_FRAME];
};

static bool host_done(const struct host *h)
{
	unsigned int i;

	for (i = 0; i < NQ; i++)
		if (h->got[i] < atomic_load(&h->want[i]))
			return false;
	return true;
}

static enum ktap_result host_run(struct host *h)
{
	int64_t deadline = net_now_ms() + 100000;
	unsigned int q;
	int64_t seq;
	uint32_t n;
	int len;

	while (!host_done(h)) {
		KTAP_CHECK(net_now_ms() < deadline, "host receive timed out");
		len = net_pkt_recv(h->e, h->buf, 200);
		if (len == -ETIMEDOUT) {
			KTAP_CHECK(!atomic_load(&h->stop),
				   "frames missing after the senders ended");
			continue;
		}
		KTAP_CHECK(len > 0, "recv: %s", strerror(-len));
		seq = net_frame_seq(h->buf, len);
		q = seq >> SEQ_QSHIFT;
		n = seq & ((1u << SEQ_QSHIFT) - 1);
		KTAP_CHECK(q < NQ && n < atomic_load(&h->want[q]),
			   "stray frame 0x%llx",
			   (long long)seq);
		KTAP_CHECK(!h->seen[q][n], "queue %u frame %u twice", q, n);
		KTAP_EXPECT_EQ(len, tx_len(n));
		KTAP_CHECK(net_frame_ok(h->buf, len, seq), "queue %u frame %u",
			   q, n);
		h->seen[q][n] = 1;
		if ((int64_t)n < h->last[q])
			h->reordered[q]++;
		h->last[q] = n;
		h->got[q]++;
	}
	return KTAP_PASS;
}

static void *host_thread(void *arg)
{
	struct host *h = arg;

	h->result = host_run(h);
	return NULL;
}

/* The host expects frames [@first[q], @want[q]) of each queue q. */
static enum ktap_result host_start(struct host *h, struct net_env *e,
				   const uint32_t *first, const uint32_t *want)
{
	unsigned int i;

	memset(h, 0, sizeof(*h));
	h->e = e;
	for (i = 0; i < NQ; i++) {
		atomic_init(&h->want[i], want[i]);
		h->seen[i] = calloc(want[i] + 1, 1);
		KTAP_CHECK(h->seen[i], "calloc");
		memset(h->seen[i], 1, first[i]);
		h->got[i] = first[i];
		h->last[i] = (int64_t)first[i] - 1;
	}
	atomic_init(&h->stop, false);
	KTAP_CHECK(!pthread_create(&h->thread, NULL, host_thread, h),
		   "pthread_create");
	return KTAP_PASS;
}

/* Wait for the host side; then no frame beyond the expected ones comes. */
static enum ktap_result host_join(struct host *h)
{
	unsigned int i;
	int len;

	atomic_store(&h->stop, true);
	pthread_join(h->thread, NULL);
	for (i = 0; i < NQ; i++)
		ktap_diag("queue %u: %u TX frames, %u out of order", i,
			  h->got[i], h->reordered[i]);
	KTAP_CHECK(h->result == KTAP_PASS, "host side failed");
	len = net_pkt_recv(h->e, h->buf, 100);
	KTAP_CHECK(len == -ETIMEDOUT, "extra frame 0x%llx",
		   (long long)net_frame_seq(h->buf, len));
	for (i = 0; i < NQ; i++)
		free(h->seen[i]);
	return KTAP_PASS;
}

/* ------------------------------------------------------------------------
 * RX: UDP flows out of the tap, reaped from every queue's ring
 */

static uint8_t frame[NET_MAX_FRAME], want_frame[NET_MAX_FRAME];

static size_t rx_len(uint32_t seq)
{
	uint32_t h = seq * 2246822519u;

	return 64 + (h ^ h >> 13) % 1400;
}

static void rx_frame(uint8_t *buf, uint32_t seq)
{
	unsigned int flow = seq % NFLOWS;

	net_ip_frame(buf, rx_len(seq), IPPROTO_UDP, 4000 + flow,
		     5000 + 7 * flow, seq);
}

/* Reap and check one RX frame from queue @i; 1 if there was one. */
static int rx_reap(struct mq *m, unsigned int i, uint32_t first,
		   uint32_t count, uint8_t *seen)
{
	struct net_env *e = &m->q[i];
	struct vdrv_buf in;
	uint32_t len, *c;
	int64_t seq;
	uint8_t *p;

	c = vdrv_vq_get_used(e->rx, &len);
	if (!c) {
		if (errno == EAGAIN)
			return 0;
		ktap_diag("queue %u: %s", i, vdrv_last_error());
		return -1;
	}
	p = m->rxbuf[i] + *c * RX_BUF;
	if (len <= NET_HDR_LEN) {
		ktap_diag("queue %u: used len %u", i, len);
		return -1;
	}
	len -= NET_HDR_LEN;
	seq = net_ip_frame_seq(p + NET_HDR_LEN, len);
	if (seq < first || seq >= first + count || seen[seq - first]) {
		ktap_diag("queue %u: frame %lld unexpected (%s)", i,
			  (long long)seq, seq >= first && seq < first + count ?
			  "twice" : "stray");
		return -1;
	}
	seen[seq - first] = 1;
	rx_frame(want_frame, seq);
	if (len != rx_len(seq) ||
	    memcmp(p + NET_HDR_LEN, want_frame, len)) {
		ktap_diag("queue %u: frame %lld corrupt (%u bytes)", i,
			  (long long)seq, len);
		return -1;
	}
	/* A plain frame: one buffer, no GSO, no checksum request. */
	if ((p[0] & ~VIRTIO_NET_HDR_F_DATA_VALID) || p[1] ||
	    (p[10] | p[11] << 8) != 1) {
		ktap_diag("queue %u: header flags %#x gso %u buffers %u", i,
			  p[0], p[1], p[10] | p[11] << 8);
		return -1;
	}
	if (m->flowq[seq % NFLOWS] < 0)
		m->flowq[seq % NFLOWS] = i;
	if (m->flowq[seq % NFLOWS] != (int)i) {
		ktap_diag("flow %u on queue %u and on queue %d",
			  (unsigned int)(seq % NFLOWS), i,
			  m->flowq[seq % NFLOWS]);
		return -1;
	}
	m->rx_per_q[i]++;
	in = (struct vdrv_buf){ .ptr = p, .len = RX_BUF };
	if (vdrv_vq_add(e->rx, NULL, 0, &in, 1, c) < 0 ||
	    vdrv_vq_kick(e->rx) < 0) {
		ktap_diag("repost: %s", vdrv_last_error());
		return -1;
	}
	return 1;
}

/*
 * Send frames [first, first + count) out of the tap and reap them from the
 * queues in @active (a mask); the others must get nothing.
 */
static enum ktap_result rx_round(struct mq *m, unsigned int active,
				 uint32_t first, uint32_t count)
{
	int64_t deadline = net_now_ms() + 20000;
	uint8_t seen[128] = { 0 };
	unsigned int i, got = 0;
	uint32_t n;
	int r;

	KTAP_CHECK(count <= sizeof(seen), "round too big");
	for (n = first; n < first + count; n++) {
		rx_frame(frame, n);
		KTAP_OK(net_pkt_send(&m->q[0], frame, rx_len(n)));
	}
	while (got < count) {
		struct pollfd p[NQ];
		int np = 0, progress = 0;

		for (i = 0; i < NQ; i++) {
			if (!(active & 1u << i)) {
				KTAP_CHECK(!vdrv_vq_used_pending(m->q[i].rx),
					   "RX on inactive queue %u", i);
				continue;
			}
			while ((r = rx_reap(m, i, first, count, seen)) > 0) {
				got++;
				progress++;
			}
			KTAP_CHECK(r == 0, "RX queue %u", i);
			vdrv_vq_enable_cb(m->q[i].rx);
			p[np++] = (struct pollfd){ .fd = m->q[i].rx->call_fd,
						   .events = POLLIN };
		}
		if (progress || got == count)
			continue;
		KTAP_CHECK(net_now_ms() < deadline, "%u of %u RX frames came",
			   got, count);
		if (poll(p, np, 100) > 0) {
			uint64_t v;

			for (i = 0; i < (unsigned int)np; i++)
				if (read(p[i].fd, &v, sizeof(v)) < 0 &&
				    errno != EAGAIN)
					return KTAP_FAIL;
		}
	}
	return KTAP_PASS;
}

static void flows_reset(struct mq *m)
{
	unsigned int i;

	for (i = 0; i < NFLOWS; i++)
		m->flowq[i] = -1;
	memset(m->rx_per_q, 0, sizeof(m->rx_per_q));
}

/* ------------------------------------------------------------------------
 * Cases
 */

/* Four TX queues at once, every frame accounted per queue. */
static enum ktap_result mq_tx(enum net_ring ring)
{
	enum { PER_Q = 2000 };
	uint32_t want[NQ] = { PER_Q, PER_Q, PER_Q, PER_Q }, from[NQ] = { 0 };
	struct txq *t = calloc(NQ, sizeof(*t));
	struct host *h = malloc(sizeof(*h));
	enum ktap_result r;
	unsigned int i;
	struct mq m;
	int64_t t0;

	KTAP_CHECK(t && h, "alloc");
	r = mq_init(&m, ring);
	if (r != KTAP_PASS)
		return r;
	if (workers_are(NQ) != KTAP_PASS)
		return KTAP_FAIL;
	for (i = 0; i < NQ; i++)
		if (txq_alloc(&t[i], &m.q[i], i) != KTAP_PASS)
			return KTAP_FAIL;
	if (host_start(h, &m.q[0], from, want) != KTAP_PASS)
		return KTAP_FAIL;
	t0 = net_now_ms();
	for (i = 0; i < NQ; i++)
		if (tx_start(&t[i], 0, PER_Q) != KTAP_PASS)
			return KTAP_FAIL;
	r = KTAP_PASS;
	for (i = 0; i < NQ; i++)
		if (tx_join(&t[i]) != KTAP_PASS)
			r = KTAP_FAIL;
	if (host_join(h) != KTAP_PASS || r != KTAP_PASS)
		return KTAP_FAIL;
	ktap_diag("%u frames on %u queues in %lld ms (%s rings)", NQ * PER_Q,
		  NQ, (long long)(net_now_ms() - t0), net_ring_name(ring));
	mq_fini(&m);
	/* The workers went with their devices. */
	if (workers_are(0) != KTAP_PASS)
		return KTAP_FAIL;
	free(t);
	free(h);
	return KTAP_PASS;
}

static enum ktap_result mq_tx_split(void)
{
	return mq_tx(NET_RING_SPLIT);
}

static enum ktap_result mq_tx_packed(void)
{
	return mq_tx(NET_RING_PACKED);
}

/* RX spread by flow hash over the four queues. */
static enum ktap_result mq_rx(enum net_ring ring)
{
	enum { ROUNDS = 8, PER_ROUND = 128 };
	enum ktap_result r;
	unsigned int i, k;
	struct mq m;

	r = mq_init(&m, ring);
	if (r != KTAP_PASS)
		return r;
	for (k = 0; k < ROUNDS; k++)
		if (rx_round(&m, (1u << NQ) - 1, k * PER_ROUND, PER_ROUND) !=
		    KTAP_PASS)
			return KTAP_FAIL;
	for (i = 0; i < NQ; i++) {
		ktap_diag("queue %u: %u RX frames", i, m.rx_per_q[i]);
		/* 64 flows on 4 queues: an idle one is a 1e-7 fluke. */
		KTAP_CHECK(m.rx_per_q[i] > 0, "queue %u got no flow", i);
		KTAP_EXPECT_EQ(m.q[i].rx->err_count, 0);
	}
	/* Nothing more than was sent. */
	usleep(100 * 1000);
	for (i = 0; i < NQ; i++)
		KTAP_EXPECT_EQ(vdrv_vq_used_pending(m.q[i].rx), 0);
	mq_fini(&m);
	return KTAP_PASS;
}

static enum ktap_result mq_rx_split(void)
{
	return mq_rx(NET_RING_SPLIT);
}

static enum ktap_result mq_rx_packed(void)
{
	return mq_rx(NET_RING_PACKED);
}

/* One TX burst on one queue, from the calling thread. */
static enum ktap_result tx_burst(struct txq *t, uint32_t first,
				 uint32_t count)
{
	t->first = first;
	t->count = count;
	return tx_run(t);
}

/*
 * Queue 3 leaves and comes back (the guest set 3, then 4 queue pairs)
 * while queues 0-2 carry TX traffic.
 */
static enum ktap_result mq_detach(enum net_ring ring)
{
	enum { MAX_Q = 1 << 20, Q3 = 100 };
	uint32_t want[NQ] = { MAX_Q, MAX_Q, MAX_Q, 2 * Q3 }, from[NQ] = { 0 };
	unsigned int at_detach[3];
	atomic_bool stop;
	struct txq *t = calloc(NQ, sizeof(*t));
	struct host *h = malloc(sizeof(*h));
	struct net_env *e3;
	struct ifreq ifr = { 0 };
	unsigned int i, k, base;
	enum ktap_result r;
	uint32_t seq = 0;
	struct mq m;

	KTAP_CHECK(t && h, "alloc");
	r = mq_init(&m, ring);
	if (r != KTAP_PASS)
		return r;
	e3 = &m.q[3];
	for (i = 0; i < NQ; i++)
		if (txq_alloc(&t[i], &m.q[i], i) != KTAP_PASS)
			return KTAP_FAIL;
	if (host_start(h, &m.q[0], from, want) != KTAP_PASS)
		return KTAP_FAIL;
	/* Queues 0-2 send until told to stop. */
	atomic_init(&stop, false);
	for (i = 0; i < 3; i++) {
		t[i].stop = &stop;
		if (tx_start(&t[i], 0, MAX_Q) != KTAP_PASS)
			return KTAP_FAIL;
	}
	/* All four queues up. */
	if (tx_burst(&t[3], 0, Q3) != KTAP_PASS ||
	    rx_round(&m, 0xf, seq, 128) != KTAP_PASS)
		return KTAP_FAIL;
	seq += 128;

	/* QEMU's stop of queue pair 3: vhost first, then the tap queue. */
	for (i = 0; i < 3; i++) {
		if (tx_wait(&t[i], 100) != KTAP_PASS)
			return KTAP_FAIL;
		at_detach[i] = atomic_load(&t[i].done);
	}
	VOK(vdrv_net_set_backend(e3->dev, 0, -1));
	VOK(vdrv_net_set_backend(e3->dev, 1, -1));
	VOK(vdrv_vq_get_base(e3->tx, &base));
	KTAP_EXPECT_EQ(base, net_base_after(e3->tx, Q3));
	VOK(vdrv_vq_get_base(e3->rx, &base));
	KTAP_EXPECT_EQ(base, net_base_after(e3->rx, m.rx_per_q[3]));
	ifr.ifr_flags = IFF_DETACH_QUEUE;
	KTAP_OK(ioctl(e3->tap, TUNSETQUEUE, &ifr));
	flows_reset(&m);
	for (k = 0; k < 3; k++, seq += 128)
		if (rx_round(&m, 0x7, seq, 128) != KTAP_PASS)
			return KTAP_FAIL;
	for (i = 0; i < 3; i++)
		KTAP_CHECK(m.rx_per_q[i] > 0, "queue %u got no flow", i);

	/* And its start: the tap queue, the vrings, the backend. */
	ifr.ifr_flags = IFF_ATTACH_QUEUE;
	KTAP_OK(ioctl(e3->tap, TUNSETQUEUE, &ifr));
	VOK(vdrv_vq_start(e3->rx));
	VOK(vdrv_vq_start(e3->tx));
	VOK(vdrv_net_set_backend(e3->dev, 0, e3->tap));
	VOK(vdrv_net_set_backend(e3->dev, 1, e3->tap));
	flows_reset(&m);
	for (k = 0; k < 3; k++, seq += 128)
		if (rx_round(&m, 0xf, seq, 128) != KTAP_PASS)
			return KTAP_FAIL;
	KTAP_CHECK(m.rx_per_q[3] > 0, "queue 3 got no flow back");
	if (tx_burst(&t[3], Q3, Q3) != KTAP_PASS)
		return KTAP_FAIL;

	/* Queues 0-2 went on sending meanwhile. */
	for (i = 0; i < 3; i++)
		if (tx_wait(&t[i], at_detach[i] + 100) != KTAP_PASS)
			return KTAP_FAIL;
	atomic_store(&stop, true);
	r = KTAP_PASS;
	for (i = 0; i < 3; i++) {
		if (tx_join(&t[i]) != KTAP_PASS)
			r = KTAP_FAIL;
		atomic_store(&h->want[i], t[i].count);
		ktap_diag("queue %u: %u frames before queue 3 left, %u in all",
			  i, at_detach[i], t[i].count);
		from[i] = t[i].count;
		t[i].stop = NULL;
	}
	if (host_join(h) != KTAP_PASS || r != KTAP_PASS)
		return KTAP_FAIL;
	for (i = 0; i < NQ; i++) {
		KTAP_EXPECT_EQ(m.q[i].rx->err_count, 0);
		KTAP_EXPECT_EQ(m.q[i].tx->err_count, 0);
	}

	/* Closing one device takes its worker only; the others go on. */
	if (workers_are(NQ) != KTAP_PASS)
		return KTAP_FAIL;
	vdrv_close(e3->dev);
	e3->dev = NULL;
	if (workers_are(NQ - 1) != KTAP_PASS)
		return KTAP_FAIL;
	for (i = 0; i < 3; i++)
		want[i] = from[i] + 10;
	from[3] = 0;
	want[3] = 0;
	if (host_start(h, &m.q[0], from, want) != KTAP_PASS)
		return KTAP_FAIL;
	for (i = 0; i < 3; i++)
		if (tx_burst(&t[i], from[i], 10) != KTAP_PASS)
			return KTAP_FAIL;
	if (host_join(h) != KTAP_PASS)
		return KTAP_FAIL;
	mq_fini(&m);
	free(t);
	free(h);
	return KTAP_PASS;
}

static enum ktap_result mq_detach_split(void)
{
	return mq_detach(NET_RING_SPLIT);
}

static enum ktap_result mq_detach_packed(void)
{
	return mq_detach(NET_RING_PACKED);
}

static const struct ktap_case cases[] = {
	KTAP_CASE_T(mq_tx_split, 180),
	KTAP_CASE_T(mq_tx_packed, 180),
	KTAP_CASE_T(mq_rx_split, 120),
	KTAP_CASE_T(mq_rx_packed, 120),
	KTAP_CASE_T(mq_detach_split, 180),
	KTAP_CASE_T(mq_detach_packed, 180),
};

int main(void)
{
	return ktap_run(cases, KTAP_ARRAY_SIZE(cases));
}
