// SPDX-License-Identifier: GPL-2.0
/*
 * net_bench: packets per second through /dev/vhost-net, whichever module
 * provides it (kvhost's or the in-tree one: only the standard vhost uAPI is
 * used), one direction at a time.
 *
 *  tx: the guest side keeps the TX ring full of the same pre-built frames
 *      (60 bytes plus the 12-byte virtio-net header by default); vhost
 *      writes them to a tap that is up with no address, so the host stack
 *      drops them at once (unknown ethertype).
 *  rx: the host transmits frames on the tap, with the in-kernel pktgen
 *      (kpktgend on the driver's CPU) or, without pktgen, an AF_PACKET
 *      sendmmsg() thread; the guest side keeps the RX ring full of 1536-byte
 *      mergeable buffers.
 *
 * The "guest" is made as cheap as possible so that the vhost worker is the
 * bottleneck: one descriptor per buffer, written once, so that re-posting a
 * buffer is one avail ring store; used entries are reaped only in batches
 * (-b, default half the ring) and the driver sleeps on the call eventfd in
 * between, with used_event asking for exactly that batch (EVENT_IDX); kicks
 * only when the device asks for them through avail_event. Features are
 * what QEMU 7.2 acks for a Linux guest's virtio-net as far as vhost-net is
 * concerned: VERSION_1, EVENT_IDX, MRG_RXBUF (INDIRECT_DESC is not used).
 *
 * By default the driver runs on CPU 0 (with pktgen) and the vhost worker
 * is pinned to CPU 1, so the worker has a CPU of its own.
 *
 * After -w seconds of warm-up it measures for -t seconds and prints one
 * line of key=value pairs starting with "RESULT" (see print_result()):
 * pps from the ring and from the tap's counters, the vhost worker's CPU
 * time per packet (from /proc/<tid>/schedstat), kicks and call signals per
 * thousand packets. It asserts nothing about speed; it exits non-zero only
 * when it could not run or the device broke the ring protocol.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "net_common.h"

#define BENCH_MAX_WORKERS	8
#define BENCH_RX_BUF		1536
#define BENCH_PARK		0x8000	/* used_event far away: no signals */
#define BENCH_WAIT_MS		100
#define BENCH_PKT_BATCH		64	/* AF_PACKET sendmmsg() batch */

enum bench_mode { MODE_TX, MODE_RX };
enum bench_gen { GEN_AUTO, GEN_PKTGEN, GEN_PACKET };

struct bench_opts {
	enum bench_mode mode;
	enum bench_gen gen;
	unsigned int num;	/* ring size */
	unsigned int batch;	/* used entries per wake-up */
	unsigned int frame;	/* Ethernet frame bytes, no FCS */
	double seconds, warmup;
	int drv_cpu, wrk_cpu;	/* -1: leave alone */
	int rt_prio;		/* SCHED_FIFO priority of the driver, 0: none */
	bool poll;		/* spin on the used index, never sleep */
	unsigned int backlog;	/* rx: frames queued on the tap first */
};

/* Counters at one instant. */
struct bench_snap {
	double t;		/* seconds, CLOCK_MONOTONIC */
	uint64_t pkts;		/* packets completed in the ring */
	uint64_t kicks;		/* kick eventfd writes */
	uint64_t signals;	/* call eventfd signals consumed */
	uint64_t wakeups;	/* times the driver slept (or spun) */
	uint64_t tap_pkts;	/* tap rx_packets (tx) or tx_packets (rx) */
	uint64_t tap_drop;	/* tap rx_dropped (tx) or tx_dropped (rx) */
	uint64_t wrk_ns;	/* vhost worker(s) CPU time */
};

struct bench {
	struct bench_opts o;
	int tap, ifindex;
	char ifname[IFNAMSIZ];
	struct vdrv_dev *dev;
	struct vdrv_mem *mem;
	struct vdrv_vq *rx, *tx, *vq;	/* vq: the one measured */
	uint8_t *bufs;		/* num buffers of bufsz bytes */
	size_t bufsz;
	pid_t workers[BENCH_MAX_WORKERS];
	unsigned int nworkers;
	/* driver state, free-running 16-bit ring indexes */
	uint16_t avail_idx, last_used, kicked_idx;
	unsigned int rx_rem;	/* buffers left of the current RX packet */
	struct bench_snap now;
	/* the traffic generator (rx) */
	enum bench_gen gen;
	pthread_t gen_thread;
	bool gen_running;
	atomic_bool gen_stop;
	int gen_err;
	uint64_t len_errors;	/* used entries with an unexpected length */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int read_u64(const char *path, uint64_t *v)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	*v = strtoull(buf, NULL, 10);
	return 0;
}

static uint64_t tap_stat(struct bench *b, const char *name)
{
	char path[128];
	uint64_t v = 0;

	snprintf(path, sizeof(path), "/sys/class/net/%s/statistics/%s",
		 b->ifname, name);
	read_u64(path, &v);
	return v;
}

/*
 * The device's workers are kernel threads named vhost-<owner pid>, with a
 * -<n> suffix for further ones (kvhost); they are not in our thread group,
 * so look through every process.
 */
static void find_workers(struct bench *b)
{
	char want[32], path[300], comm[64];
	size_t wl;
	struct dirent *d;
	DIR *dir;

	wl = snprintf(want, sizeof(want), "vhost-%d", getpid());
	dir = opendir("/proc");
	if (!dir)
		return;
	while ((d = readdir(dir)) && b->nworkers < BENCH_MAX_WORKERS) {
		int fd;
		ssize_t n;

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", d->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n <= 0)
			continue;
		comm[n] = 0;
		comm[strcspn(comm, "\n")] = 0;
		if (strncmp(comm, want, wl) ||
		    (comm[wl] && comm[wl] != '-'))
			continue;
		b->workers[b->nworkers++] = atoi(d->d_name);
	}
	closedir(dir);
}

/* CPU time of the workers in ns (/proc/<tid>/schedstat, first field). */
static uint64_t worker_ns(struct bench *b)
{
	char path[64], buf[128];
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < b->nworkers; i++) {
		int fd;
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/schedstat",
			 b->workers[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		sum += strtoull(buf, NULL, 10);
	}
	return sum;
}

static int pin(pid_t pid, int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(pid, sizeof(set), &set) ? -errno : 0;
}

/* ------------------------------------------------------------------------
 * The guest driver: a bare split ring over vdrv's layout
 */

static void publish(struct bench *b)
{
	__atomic_store_n(&b->vq->split.avail->idx, htole16(b->avail_idx),
			 __ATOMIC_RELEASE);
}

/* Kick if the device asked for one among the entries published since. */
static int kick_if_needed(struct bench *b)
{
	uint16_t old = b->kicked_idx, ev;
	uint64_t one = 1;

	b->kicked_idx = b->avail_idx;
	/* Our avail->idx store before reading avail_event. */
	atomic_thread_fence(memory_order_seq_cst);
	ev = le16toh(__atomic_load_n(b->vq->split.avail_event,
				     __ATOMIC_RELAXED));
	if (!vdrv_need_event(ev, b->avail_idx, old))
		return 0;
	b->now.kicks++;
	return write(b->vq->kick_fd, &one, sizeof(one)) == sizeof(one) ?
	       0 : -errno;
}

static uint16_t used_idx(struct bench *b)
{
	return le16toh(__atomic_load_n(&b->vq->split.used->idx,
				       __ATOMIC_ACQUIRE));
}

static void set_used_event(struct bench *b, uint16_t ev)
{
	__atomic_store_n(b->vq->split.used_event, htole16(ev),
			 __ATOMIC_RELAXED);
}

/* One descriptor per buffer, written once; every buffer made available. */
static int ring_fill(struct bench *b)
{
	struct vdrv_split *s = &b->vq->split;
	uint16_t flags = b->o.mode == MODE_RX ? VRING_DESC_F_WRITE : 0;
	uint32_t len = b->o.mode == MODE_RX ? BENCH_RX_BUF :
		       NET_HDR_LEN + b->o.frame;
	unsigned int i;

	for (i = 0; i < b->o.num; i++) {
		uint8_t *p = b->bufs + i * b->bufsz;

		s->desc[i].addr = htole64(vdrv_gpa(b->mem, p));
		s->desc[i].len = htole32(len);
		s->desc[i].flags = htole16(flags);
		s->desc[i].next = 0;
		s->avail->ring[i] = htole16(i);
	}
	set_used_event(b, b->last_used + BENCH_PARK);
	b->avail_idx = b->o.num;
	publish(b);
	return kick_if_needed(b);
}

/*
 * Reap every used entry and make its buffer available again. Returns the
 * number reaped, or -EPROTO if the device broke the ring.
 */
static int reap_and_refill(struct bench *b)
{
	struct vdrv_split *s = &b->vq->split;
	uint16_t used = used_idx(b), n = used - b->last_used, k;
	unsigned int mask = b->o.num - 1;
	uint32_t want_len = b->o.mode == MODE_RX ? NET_HDR_LEN + b->o.frame : 0;

	if (n > b->o.num) {
		fprintf(stderr, "net_bench: used idx %u is %u ahead\n", used, n);
		return -EPROTO;
	}
	for (k = 0; k < n; k++) {
		const struct vring_used_elem *e =
			&s->used->ring[(uint16_t)(b->last_used + k) & mask];
		uint32_t id = le32toh(e->id), len = le32toh(e->len);

		if (id >= b->o.num) {
			fprintf(stderr, "net_bench: used id %u\n", id);
			return -EPROTO;
		}
		if (b->o.mode == MODE_RX) {
			/* num_buffers of a mergeable header: a packet's head. */
			if (!b->rx_rem) {
				const uint8_t *h = b->bufs + id * b->bufsz;

				b->now.pkts++;
				b->rx_rem = (h[10] | h[11] << 8) - 1u;
				if (b->rx_rem > b->o.num)
					b->rx_rem = 0;
			} else {
				b->rx_rem--;
			}
		} else {
			b->now.pkts++;
		}
		/* AF_PACKET/pktgen frames all have the chosen size. */
		if (len != want_len && b->len_errors++ < 3)
			fprintf(stderr, "net_bench: used len %u, want %u\n",
				len, want_len);
		s->avail->ring[(uint16_t)(b->avail_idx + k) & mask] =
			htole16(id);
	}
	if (!n)
		return 0;
	b->last_used = used;
	b->avail_idx += n;
	set_used_event(b, b->last_used + BENCH_PARK);
	publish(b);
	return kick_if_needed(b) ?: n;
}

/*
 * Sleep until at least a batch of entries is used (or BENCH_WAIT_MS).
 * used_event = last_used + batch - 1: vhost signals once the used index
 * moves past it.
 */
static int wait_batch(struct bench *b)
{
	struct pollfd p[2] = {
		{ .fd = b->vq->call_fd, .events = POLLIN },
		{ .fd = b->vq->err_fd, .events = POLLIN },
	};
	uint64_t cnt;
	double until;

	if (b->o.poll) {
		if ((uint16_t)(used_idx(b) - b->last_used) >= b->o.batch)
			return 0;
		b->now.wakeups++;
		until = now_s() + BENCH_WAIT_MS / 1e3;
		while ((uint16_t)(used_idx(b) - b->last_used) < b->o.batch &&
		       now_s() < until)
			__builtin_ia32_pause();
		return 0;
	}
	set_used_event(b, b->last_used + b->o.batch - 1);
	/* used_event before re-reading the used index (vhost pairs). */
	atomic_thread_fence(memory_order_seq_cst);
	if ((uint16_t)(used_idx(b) - b->last_used) >= b->o.batch)
		return 0;
	b->now.wakeups++;
	if (poll(p, 2, BENCH_WAIT_MS) < 0)
		return errno == EINTR ? 0 : -errno;
	if (p[1].revents & POLLIN) {
		fprintf(stderr, "net_bench: the vq error eventfd fired\n");
		return -EIO;
	}
	if ((p[0].revents & POLLIN) &&
	    read(b->vq->call_fd, &cnt, sizeof(cnt)) == sizeof(cnt))
		b->now.signals += cnt;
	return 0;
}

/* ------------------------------------------------------------------------
 * Traffic for rx: pktgen, or an AF_PACKET thread
 */

static int pg_write(const char *file, const char *fmt, const char *arg)
{
	char path[128], cmd[128];
	int r;

	snprintf(path, sizeof(path), "/proc/net/pktgen/%s", file);
	snprintf(cmd, sizeof(cmd), fmt, arg);
	/* pktgen drops the last byte of what is written: end with '\n'. */
	strcat(cmd, "\n");
	r = write_str(path, cmd);
	if (r)
		fprintf(stderr, "net_bench: pktgen %s: \"%s\": %s\n", file, cmd,
			strerror(-r));
	return r;
}

/* The generator threads must not inherit the driver's SCHED_FIFO. */
static void normal_prio(void)
{
	struct sched_param sp = { .sched_priority = 0 };

	pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp);
}

static void *pktgen_run(void *arg)
{
	struct bench *b = arg;

	normal_prio();
	/* Returns when "stop" is written, or at once on an error. */
	b->gen_err = write_str("/proc/net/pktgen/pgctrl", "start\n");
	return NULL;
}

static int pktgen_start(struct bench *b)
{
	char thr[32], size[16];

	snprintf(thr, sizeof(thr), "kpktgend_%d",
		 b->o.drv_cpu < 0 ? 0 : b->o.drv_cpu);
	snprintf(size, sizeof(size), "%u", b->o.frame);
	if (pg_write(thr, "rem_device_all", NULL) ||
	    pg_write(thr, "add_device %s", b->ifname))
		return -EIO;
	/* A tap lacks IFF_TX_SKB_SHARING: clone_skb and burst must stay 0/1. */
	if (pg_write(b->ifname, "count 0", NULL) ||
	    pg_write(b->ifname, "clone_skb 0", NULL) ||
	    pg_write(b->ifname, "burst 1", NULL) ||
	    pg_write(b->ifname, "delay 0", NULL) ||
	    pg_write(b->ifname, "pkt_size %s", size) ||
	    pg_write(b->ifname, "dst_mac 02:00:00:00:00:02", NULL) ||
	    pg_write(b->ifname, "src_mac 02:00:00:00:00:01", NULL) ||
	    pg_write(b->ifname, "dst 10.254.0.2", NULL))
		return -EIO;
	atomic_store(&b->gen_stop, false);
	if (pthread_create(&b->gen_thread, NULL, pktgen_run, b))
		return -EAGAIN;
	b->gen_running = true;
	return 0;
}

static void *packet_run(void *arg)
{
	struct bench *b = arg;
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = b->ifindex,
		.sll_halen = 6,
	};
	struct mmsghdr msgs[BENCH_PKT_BATCH];
	uint8_t frame[NET_MAX_FRAME];
	struct iovec iov;
	int fd, i;

	normal_prio();
	/* Protocol 0: this socket sends only, it never sees a frame. */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		b->gen_err = -errno;
		return NULL;
	}
	pin(0, b->o.drv_cpu);
	net_frame(frame, b->o.frame, 1);
	memcpy(sll.sll_addr, frame, 6);
	iov.iov_base = frame;
	iov.iov_len = b->o.frame;
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BENCH_PKT_BATCH; i++) {
		msgs[i].msg_hdr.msg_name = &sll;
		msgs[i].msg_hdr.msg_namelen = sizeof(sll);
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (!atomic_load(&b->gen_stop)) {
		if (sendmmsg(fd, msgs, BENCH_PKT_BATCH, 0) < 0 &&
		    errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
			b->gen_err = -errno;
			break;
		}
	}
	close(fd);
	return NULL;
}

static int gen_start(struct bench *b)
{
	bool have_pktgen = !access("/proc/net/pktgen/pgctrl", W_OK);

	b->gen = b->o.gen;
	if (b->gen == GEN_AUTO)
		b->gen = have_pktgen ? GEN_PKTGEN : GEN_PACKET;
	if (b->gen == GEN_PKTGEN)
		return pktgen_start(b);
	atomic_store(&b->gen_stop, false);
	if (pthread_create(&b->gen_thread, NULL, packet_run, b))
		return -EAGAIN;
	b->gen_running = true;
	return 0;
}

static void gen_stop(struct bench *b)
{
	char thr[32];

	if (!b->gen_running)
		return;
	atomic_store(&b->gen_stop, true);
	if (b->gen == GEN_PKTGEN)
		write_str("/proc/net/pktgen/pgctrl", "stop\n");
	pthread_join(b->gen_thread, NULL);
	b->gen_running = false;
	if (b->gen == GEN_PKTGEN) {
		snprintf(thr, sizeof(thr), "kpktgend_%d",
			 b->o.drv_cpu < 0 ? 0 : b->o.drv_cpu);
		pg_write(thr, "rem_device_all", NULL);
	}
}

/* ------------------------------------------------------------------------
 * Set-up, the measurement loop, the report
 */

/* The tap's queue towards the guest holds txqueuelen frames. */
static int set_txqlen(struct bench *b, unsigned int qlen)
{
	struct ifreq ifr = { .ifr_qlen = qlen };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", b->ifname);
	if (ioctl(s, SIOCSIFTXQLEN, &ifr))
		r = -errno;
	close(s);
	return r;
}

/*
 * rx with a backlog: let the generator fill the tap's queue until it
 * overflows (or 20 s pass), then attach the RX backend, so that the worker
 * starts on a queue it cannot empty during the measurement even when it is
 * faster than the generator.
 */
static int fill_backlog(struct bench *b)
{
	uint64_t drop0 = tap_stat(b, "tx_dropped");
	double until = now_s() + 20;
	uint64_t one = 1;

	while (tap_stat(b, "tx_dropped") == drop0 && now_s() < until &&
	       !b->gen_err)
		usleep(20000);
	if (vdrv_net_set_backend(b->dev, 0, b->tap)) {
		fprintf(stderr, "net_bench: %s\n", vdrv_last_error());
		return -EIO;
	}
	/* Whether attaching looks at the ring is the device's business. */
	return write(b->vq->kick_fd, &one, sizeof(one)) == sizeof(one) ?
	       0 : -errno;
}

static int setup(struct bench *b)
{
	uint64_t want = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) |
			BIT(VIRTIO_NET_F_MRG_RXBUF), offered;
	unsigned int i;
	int r;

	b->tap = net_open_tap(NET_TAP_VNET_HDR, b->ifname, &b->ifindex, 1500);
	if (b->tap < 0) {
		fprintf(stderr, "net_bench: tap: %s\n", strerror(-b->tap));
		return b->tap;
	}
	/* Some kernels cap the queue (ERANGE): take the largest we get. */
	while (b->o.backlog) {
		r = set_txqlen(b, b->o.backlog);
		if (r == -ERANGE && b->o.backlog > 4096) {
			b->o.backlog /= 2;
			continue;
		}
		if (r) {
			fprintf(stderr, "net_bench: txqueuelen %u: %s\n",
				b->o.backlog, strerror(-r));
			return r;
		}
		break;
	}
	b->dev = vdrv_open("/dev/vhost-net");
	if (!b->dev)
		goto err;
	if (vdrv_set_owner(b->dev) || vdrv_get_features(b->dev, &offered))
		goto err;
	if (want & ~offered) {
		fprintf(stderr, "net_bench: want 0x%llx, offered 0x%llx\n",
			(unsigned long long)want, (unsigned long long)offered);
		return -ENOTSUP;
	}
	b->bufsz = b->o.mode == MODE_RX ? BENCH_RX_BUF :
		   (NET_HDR_LEN + b->o.frame + 63) & ~63u;
	b->mem = vdrv_mem_create(2 * MIB + (size_t)b->o.num * b->bufsz);
	if (!b->mem)
		goto err;
	b->rx = vdrv_vq_create(b->dev, b->mem, 0, b->o.num, 0);
	b->tx = vdrv_vq_create(b->dev, b->mem, 1, b->o.num, 0);
	if (!b->rx || !b->tx)
		goto err;
	b->vq = b->o.mode == MODE_RX ? b->rx : b->tx;
	b->bufs = vdrv_mem_alloc(b->mem, (size_t)b->o.num * b->bufsz, 64);
	if (!b->bufs)
		goto err;
	/* TX: the same frame in every buffer, after a zeroed header. */
	if (b->o.mode == MODE_TX)
		for (i = 0; i < b->o.num; i++)
			net_frame(b->bufs + i * b->bufsz + NET_HDR_LEN,
				  b->o.frame, i);
	/* rx with a backlog: the RX backend comes once the tap is full. */
	if (vdrv_dev_start(b->dev, b->mem, want) ||
	    (!b->o.backlog && vdrv_net_set_backend(b->dev, 0, b->tap)) ||
	    vdrv_net_set_backend(b->dev, 1, b->tap))
		goto err;
	find_workers(b);
	if (!b->nworkers) {
		fprintf(stderr, "net_bench: no vhost-%d worker thread\n",
			getpid());
		return -ESRCH;
	}
	for (i = 0; i < b->nworkers; i++) {
		r = pin(b->workers[i], b->o.wrk_cpu);
		if (r)
			fprintf(stderr, "net_bench: pinning worker %d: %s\n",
				b->workers[i], strerror(-r));
	}
	r = pin(0, b->o.drv_cpu);
	if (r)
		fprintf(stderr, "net_bench: pinning the driver: %s\n",
			strerror(-r));
	if (b->o.rt_prio) {
		struct sched_param sp = { .sched_priority = b->o.rt_prio };

		if (sched_setscheduler(0, SCHED_FIFO, &sp))
			fprintf(stderr, "net_bench: SCHED_FIFO %d: %s\n",
				b->o.rt_prio, strerror(errno));
	}
	return 0;
err:
	fprintf(stderr, "net_bench: %s\n", vdrv_last_error());
	return -EIO;
}

static void teardown(struct bench *b)
{
	gen_stop(b);
	if (b->dev)
		vdrv_close(b->dev);
	if (b->mem)
		vdrv_mem_destroy(b->mem);
	if (b->tap >= 0)
		close(b->tap);
}

static void snap(struct bench *b, struct bench_snap *s)
{
	b->now.t = now_s();
	if (b->o.mode == MODE_TX) {
		b->now.tap_pkts = tap_stat(b, "rx_packets");
		b->now.tap_drop = tap_stat(b, "rx_dropped");
	} else {
		b->now.tap_pkts = tap_stat(b, "tx_packets");
		b->now.tap_drop = tap_stat(b, "tx_dropped");
	}
	b->now.wrk_ns = worker_ns(b);
	*s = b->now;
}

static void print_result(struct bench *b, const struct bench_snap *s0,
			 const struct bench_snap *s1)
{
	double dt = s1->t - s0->t;
	uint64_t pkts = s1->pkts - s0->pkts;
	uint64_t tap = s1->tap_pkts - s0->tap_pkts;
	uint64_t ns = s1->wrk_ns - s0->wrk_ns;
	double kpk = pkts ? pkts / 1000.0 : 1;
	static const char *const gen_name[] = { "none", "pktgen", "packet" };

	/*
	 * pps: the tap's counter for tx (frames that reached the host), the
	 * ring's for rx (frames delivered to the guest); ring_pps and tap_pps
	 * are both, whichever the direction.
	 */
	printf("RESULT mode=%s size=%u num=%u batch=%u poll=%d backlog=%u",
	       b->o.mode == MODE_TX ? "tx" : "rx", b->o.frame, b->o.num,
	       b->o.batch, b->o.poll, b->o.backlog);
	printf(" secs=%.2f pps=%.0f ring_pps=%.0f tap_pps=%.0f tap_drop_pps=%.0f",
	       dt, (b->o.mode == MODE_TX ? tap : pkts) / dt, pkts / dt,
	       tap / dt, (s1->tap_drop - s0->tap_drop) / dt);
	printf(" wrk_ns_per_pkt=%.0f wrk_util=%.3f kicks_per_kpkt=%.3f",
	       pkts ? (double)ns / pkts : 0.0, ns / (dt * 1e9),
	       (s1->kicks - s0->kicks) / kpk);
	printf(" signals_per_kpkt=%.3f wakeups_per_kpkt=%.3f workers=%u",
	       (s1->signals - s0->signals) / kpk,
	       (s1->wakeups - s0->wakeups) / kpk, b->nworkers);
	printf(" gen=%s len_errors=%llu\n",
	       b->o.mode == MODE_RX ? gen_name[b->gen] : "none",
	       (unsigned long long)b->len_errors);
	fflush(stdout);
}

static int run(struct bench *b)
{
	struct bench_snap s0, s1;
	double t_start, t_end;
	bool measuring = false;
	int r;

	r = setup(b);
	if (r)
		return r;
	if (b->o.mode == MODE_RX) {
		r = gen_start(b);
		if (r)
			return r;
	}
	r = ring_fill(b);
	if (r)
		return r;
	if (b->o.mode == MODE_RX && b->o.backlog) {
		r = fill_backlog(b);
		if (r)
			return r;
	}
	t_start = now_s() + b->o.warmup;
	t_end = t_start + b->o.seconds;
	for (;;) {
		double t;

		r = wait_batch(b);
		if (r)
			return r;
		r = reap_and_refill(b);
		if (r < 0)
			return r;
		if (b->gen_err) {
			fprintf(stderr, "net_bench: traffic generator: %s\n",
				strerror(-b->gen_err));
			return b->gen_err;
		}
		t = now_s();
		if (!measuring && t >= t_start) {
			snap(b, &s0);
			t_end = s0.t + b->o.seconds;
			measuring = true;
		} else if (measuring && t >= t_end) {
			snap(b, &s1);
			break;
		}
	}
	print_result(b, &s0, &s1);
	if (s1.pkts == s0.pkts) {
		fprintf(stderr, "net_bench: no packet moved\n");
		return -EIO;
	}
	return b->len_errors ? -EPROTO : 0;
}

static void help(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [-m tx|rx] [-s frame_bytes] [-t seconds] [-w warmup_seconds]\n"
		"          [-q ring_size] [-b batch] [-c driver_cpu,worker_cpu]\n"
		"          [-g auto|pktgen|packet] [-r rt_prio] [-p] [-B backlog]\n"
		"defaults: -m tx -s 60 -t 3 -w 1 -q 256 -b q/2 -c 0,1 (-1 = no pinning)\n"
		"          -r 10 (SCHED_FIFO for the driver; 0 = none), -p: busy-poll,\n"
		"          -B 131072 (rx: tap queue filled before the worker starts; 0 = none)\n",
		argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	struct bench b = {
		.o = { .mode = MODE_TX, .num = 256, .frame = 60, .seconds = 3,
		       .warmup = 1, .drv_cpu = 0, .wrk_cpu = 1, .rt_prio = 10,
		       .backlog = 131072 },
		.tap = -1,
	};
	int c, r;

	while ((c = getopt(argc, argv, "m:s:t:w:q:b:c:g:r:B:ph")) != -1) {
		switch (c) {
		case 'm':
			if (!strcmp(optarg, "tx"))
				b.o.mode = MODE_TX;
			else if (!strcmp(optarg, "rx"))
				b.o.mode = MODE_RX;
			else
				help(argv[0]);
			break;
		case 's':
			b.o.frame = strtoul(optarg, NULL, 0);
			break;
		case 't':
			b.o.seconds = strtod(optarg, NULL);
			break;
		case 'w':
			b.o.warmup = strtod(optarg, NULL);
			break;
		case 'q':
			b.o.num = strtoul(optarg, NULL, 0);
			break;
		case 'b':
			b.o.batch = strtoul(optarg, NULL, 0);
			break;
		case 'c':
			if (sscanf(optarg, "%d,%d", &b.o.drv_cpu,
				   &b.o.wrk_cpu) != 2)
				help(argv[0]);
			break;
		case 'r':
			b.o.rt_prio = atoi(optarg);
			break;
		case 'p':
			b.o.poll = true;
			break;
		case 'B':
			b.o.backlog = strtoul(optarg, NULL, 0);
			break;
		case 'g':
			if (!strcmp(optarg, "auto"))
				b.o.gen = GEN_AUTO;
			else if (!strcmp(optarg, "pktgen"))
				b.o.gen = GEN_PKTGEN;
			else if (!strcmp(optarg, "packet"))
				b.o.gen = GEN_PACKET;
			else
				help(argv[0]);
			break;
		default:
			help(argv[0]);
		}
	}
	if (!b.o.batch)
		b.o.batch = b.o.num / 2;
	if (b.o.mode != MODE_RX)
		b.o.backlog = 0;
	if (optind != argc || b.o.num < 2 || b.o.num > 32768 ||
	    (b.o.num & (b.o.num - 1)) || !b.o.batch || b.o.batch > b.o.num ||
	    b.o.frame < NET_ETH_HLEN || b.o.frame > BENCH_RX_BUF - NET_HDR_LEN ||
	    b.o.seconds <= 0 || b.o.warmup < 0)
		help(argv[0]);
	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		b.o.drv_cpu = -1;
		b.o.wrk_cpu = -1;
	}
	r = run(&b);
	teardown(&b);
	return r ? 1 : 0;
}
