// SPDX-License-Identifier: GPL-2.0
/*
 * net_bench: packets and bytes per second through /dev/vhost-net, whichever
 * module provides it (kvhost's or the in-tree one: only the standard vhost
 * uAPI is used), one direction at a time, on one or more queue pairs.
 *
 *  tx: the guest side keeps the TX ring full of the same pre-built frames
 *      (60 bytes plus the 12-byte virtio-net header by default, i.e. 64
 *      bytes on the wire with the FCS); vhost writes them to a tap that is
 *      up with no address, whose MAC they are not addressed to, so the host
 *      stack drops them at once.
 *  rx: the host transmits frames on the tap, with the in-kernel pktgen
 *      (kpktgend on the driver's CPU) or, without pktgen, an AF_PACKET
 *      sendmmsg() thread per pair; the guest side keeps the RX ring full of
 *      1536-byte mergeable buffers.
 *  -G (GSO bulk, either direction): 65214-byte Ethernet/IPv4/TCP frames (45
 *      segments of gso_size 1448) with a virtio-net header asking for TCPV4
 *      segmentation and a partial checksum (NEEDS_CSUM), on a tap with the
 *      offloads a Linux guest gets from QEMU (TUNSETOFFLOAD CSUM, TSO4,
 *      TSO6, TSO_ECN; set in every mode). tx: the guest posts them from 16
 *      buffers that the whole ring cycles through; tun takes each as one
 *      GSO skb and the host drops it unsegmented (not for this host's
 *      MAC). rx: an AF_PACKET socket with PACKET_VNET_HDR per pair sends
 *      them, the stack keeps them whole up to tun (the tap has TSO), and
 *      vhost spreads each over ~43 mergeable buffers. tx -G reaps every
 *      64 entries (-b) rather than every half ring: at a few thousand
 *      frames a second, half a ring would be a second between counts.
 *
 * Each of -p N queue pairs is what QEMU makes for queues=N: a queue of one
 * multi-queue tap (IFF_MULTI_QUEUE when N > 1), its own /dev/vhost-net
 * device and so its own vhost worker, and here its own driver thread. With
 * pktgen, pair i's frames are put on tap queue i (pktgen device
 * <tap>@i, queue_map i); with AF_PACKET, pair i's frames are one UDP (or,
 * with -G, TCP) flow whose source port was probed at set-up to hash to tap
 * queue i.
 *
 * The "guest" is made as cheap as possible so that the vhost workers are
 * the bottleneck: one descriptor per buffer, written once, so that
 * re-posting a buffer is one avail ring store; used entries are reaped only
 * in batches (-b, default half the ring) and the driver sleeps on the call
 * eventfd in between, with used_event asking for exactly that batch
 * (EVENT_IDX); kicks only when the device asks for them through
 * avail_event. Features are what QEMU 7.2 acks for a Linux guest's
 * virtio-net as far as vhost-net is concerned: VERSION_1, EVENT_IDX,
 * MRG_RXBUF (INDIRECT_DESC is not used); the tap has a 12-byte vnet header.
 *
 * CPU placement (-c D,W, default 0,1): pair i's driver thread (and its
 * traffic source: kpktgend_<cpu> or the AF_PACKET thread) runs on CPU
 * (D + i) mod ncpus, its vhost worker(s) on (W + i) mod ncpus. One pair
 * on two CPUs: the worker has CPU 1 to itself. Two pairs on two CPUs: each
 * CPU holds one worker and the other pair's driver (and source), so the
 * workers never share a CPU with each other, the drivers (which mostly
 * sleep) take little from them, and every kick and call crosses CPUs, as
 * between a vCPU thread and its vhost worker on separate host cores.
 * Leaving two pairs unpinned lets the scheduler stack both workers on one
 * CPU for a while, which makes the figure noisier, not more real. -c -1,-1
 * pins nothing.
 *
 * After -w seconds of warm-up it measures for -t seconds and prints one
 * line of key=value pairs starting with "RESULT" (see print_result()),
 * aggregated over the pairs: pps and Gbit/s (Ethernet frame bytes, no FCS,
 * no virtio header) from the ring and from the tap's counters, the vhost
 * workers' CPU time per packet and their summed busy fraction (from
 * /proc/<tid>/schedstat), kicks and call signals per thousand packets.
 *
 * It asserts nothing about speed. It exits non-zero when it could not run,
 * when the device broke the ring protocol, or when the traffic was not what
 * it claims: a pair moved no packet; a packet in the guest had another
 * length, a bad num_buffers or the wrong GSO type; the tap's packet count
 * disagrees with the rings' by more than what can be in flight between
 * them, or its bytes are not its packets times the frame size; or (tx -G)
 * a packet socket on the tap did not see the frames arrive as TCPV4 GSO.
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
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "net_common.h"

#define BENCH_MAX_PAIRS		4
#define BENCH_MAX_WORKERS	16
#define BENCH_RX_BUF		1536
#define BENCH_PARK		0x8000	/* used_event far away: no signals */
#define BENCH_WAIT_MS		100
#define BENCH_PKT_BATCH		64	/* AF_PACKET sendmmsg() batch */
#define BENCH_GSO_SIZE		1448
#define BENCH_GSO_SEGS		45
#define BENCH_GSO_FRAME		(NET_L4_OFF + NET_TCP_HLEN + \
				 BENCH_GSO_SEGS * BENCH_GSO_SIZE)
#define BENCH_GSO_TXBUFS	16	/* distinct TX super-frames */
#define BENCH_GSO_TX_BATCH	64
#define BENCH_BACKLOG		131072
#define BENCH_GSO_BACKLOG	256	/* 64 KiB frames: 16 MiB per queue */
#define BENCH_SPORT		40000	/* AF_PACKET flows' first source port */
#define BENCH_DPORT		9	/* discard */
#define BENCH_MIN_IP_FRAME	(NET_L4_OFF + NET_UDP_HLEN + 4)
#define TAP_OFFLOADS		(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | \
				 TUN_F_TSO_ECN)

enum bench_mode { MODE_TX, MODE_RX };
enum bench_gen { GEN_AUTO, GEN_PKTGEN, GEN_PACKET };

struct bench_opts {
	enum bench_mode mode;
	enum bench_gen gen;
	bool gso;		/* -G: TCPv4 super-frames */
	unsigned int pairs;	/* queue pairs */
	unsigned int num;	/* ring size */
	unsigned int batch;	/* used entries per wake-up */
	unsigned int frame;	/* Ethernet frame bytes, no FCS */
	double seconds, warmup;
	int drv_cpu, wrk_cpu;	/* pair 0's; -1: leave alone */
	int rt_prio;		/* SCHED_FIFO priority of the drivers, 0: none */
	bool poll;		/* spin on the used index, never sleep */
	int backlog;		/* rx: frames queued on the tap first; -1: auto */
};

/*
 * A pair's counters. Only its driver thread writes them (relaxed stores),
 * the main thread reads them (relaxed loads) for the snapshots.
 */
struct bench_cnt {
	uint64_t pkts;		/* packets completed in the ring */
	uint64_t bytes;		/* their Ethernet frame bytes */
	uint64_t kicks;		/* kick eventfd writes */
	uint64_t signals;	/* call eventfd signals consumed */
	uint64_t wakeups;	/* times the driver slept (or spun) */
	uint64_t len_errors;	/* rx packets of an unexpected length */
	uint64_t hdr_errors;	/* rx headers: num_buffers or GSO type wrong */
};

static inline void cnt_add(uint64_t *cnt, uint64_t n)
{
	__atomic_store_n(cnt, *cnt + n, __ATOMIC_RELAXED);
}

static inline uint64_t cnt_get(const uint64_t *cnt)
{
	return __atomic_load_n(cnt, __ATOMIC_RELAXED);
}

struct bench;

struct bench_pair {
	struct bench *b;
	unsigned int idx;
	int tap;		/* this pair's queue of the tap */
	int drv_cpu, wrk_cpu;	/* -1: not pinned */
	struct vdrv_dev *dev;
	struct vdrv_mem *mem;
	struct vdrv_vq *rx, *tx, *vq;	/* vq: the one measured */
	uint8_t *bufs;		/* nbufs buffers of bufsz bytes */
	size_t bufsz;
	unsigned int nbufs;
	/* driver state, free-running 16-bit ring indexes */
	uint16_t avail_idx, last_used, kicked_idx;
	unsigned int rx_rem;	/* buffers left of the current RX packet */
	uint32_t rx_len;	/* bytes so far of the current RX packet */
	struct bench_cnt c;
	pthread_t drv_thread;
	bool drv_running;
	int drv_err;
	/* rx traffic source */
	uint16_t sport;		/* AF_PACKET: the flow steered to this queue */
	char pg_dev[IFNAMSIZ + 16];	/* pktgen: <tap>@<idx> */
	pthread_t gen_thread;
	bool gen_running;
	int gen_err;
};

/* Counters at one instant, summed over the pairs. */
struct bench_snap {
	double t;		/* seconds, CLOCK_MONOTONIC */
	struct bench_cnt c;
	uint64_t pair_pkts[BENCH_MAX_PAIRS];
	uint64_t tap_pkts;	/* tap rx_packets (tx) or tx_packets (rx) */
	uint64_t tap_bytes;	/* tap rx_bytes (tx) or tx_bytes (rx) */
	uint64_t tap_drop;	/* tap rx_dropped (tx) or tx_dropped (rx) */
	uint64_t wrk_ns;	/* vhost workers' CPU time */
};

struct bench {
	struct bench_opts o;
	int ifindex;
	char ifname[IFNAMSIZ];
	int ncpus;
	struct bench_pair pair[BENCH_MAX_PAIRS];
	pid_t workers[BENCH_MAX_WORKERS];
	unsigned int nworkers;
	atomic_bool stop;	/* the drivers and the AF_PACKET sources */
	enum bench_gen gen;	/* rx: the traffic source in use */
	pthread_t pg_thread;	/* writes "start" to pktgen's pgctrl */
	bool pg_running;
	int pg_err;
	uint64_t probe_errors;	/* tx -G: frames not seen as TCPV4 GSO */
	uint8_t frame[NET_MAX_FRAME];	/* gso_probe()'s receive buffer */
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

/*
 * The tap's counters, all from one line of /proc/net/dev (one reading of
 * the device's statistics, so that its bytes and packets agree): rx or tx
 * packets, bytes and drops.
 */
static int tap_stats(struct bench *b, bool rx, uint64_t *pkts,
		     uint64_t *bytes, uint64_t *drop)
{
	unsigned long long v[12];
	size_t nl = strlen(b->ifname);
	char line[512], *end;
	unsigned int i;
	int r = -ENOENT;
	FILE *f;

	f = fopen("/proc/net/dev", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *s = line + strspn(line, " ");

		if (strncmp(s, b->ifname, nl) || s[nl] != ':')
			continue;
		/*
		 * rx: bytes packets errs drop fifo frame compressed multicast,
		 * tx: bytes packets errs drop ...
		 */
		s += nl + 1;
		for (i = 0; i < 12; i++) {
			v[i] = strtoull(s, &end, 10);
			if (end == s)
				break;
			s = end;
		}
		if (i < 12) {
			r = -EIO;
			break;
		}
		*bytes = rx ? v[0] : v[8];
		*pkts = rx ? v[1] : v[9];
		*drop = rx ? v[3] : v[11];
		r = 0;
		break;
	}
	fclose(f);
	return r;
}

static uint64_t tap_tx_dropped(struct bench *b)
{
	uint64_t pkts = 0, bytes = 0, drop = 0;

	tap_stats(b, false, &pkts, &bytes, &drop);
	return drop;
}

static bool known_worker(struct bench *b, pid_t pid)
{
	unsigned int i;

	for (i = 0; i < b->nworkers; i++)
		if (b->workers[i] == pid)
			return true;
	return false;
}

/*
 * The devices' workers are kernel threads named vhost-<owner pid>, with a
 * -<n> suffix for further ones of a device (kvhost); they are not in our
 * thread group, so look through every process. Called after each pair's
 * SET_OWNER, it pins the workers it has not seen before, which are that
 * pair's, to the pair's worker CPU, and returns how many there were.
 */
static unsigned int find_workers(struct bench *b, struct bench_pair *p)
{
	char want[32], path[300], comm[64];
	unsigned int found = 0;
	size_t wl;
	struct dirent *d;
	DIR *dir;

	wl = snprintf(want, sizeof(want), "vhost-%d", getpid());
	dir = opendir("/proc");
	if (!dir)
		return 0;
	while ((d = readdir(dir)) && b->nworkers < BENCH_MAX_WORKERS) {
		pid_t pid;
		int fd, r;
		ssize_t n;

		if (d->d_name[0] < '0' || d->d_name[0] > '9')
			continue;
		pid = atoi(d->d_name);
		if (known_worker(b, pid))
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
		b->workers[b->nworkers++] = pid;
		found++;
		if (p->wrk_cpu >= 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(p->wrk_cpu, &set);
			r = sched_setaffinity(pid, sizeof(set), &set);
			if (r)
				fprintf(stderr, "net_bench: pinning worker %d: %s\n",
					pid, strerror(errno));
		}
	}
	closedir(dir);
	return found;
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

/* Pin the calling thread. */
static int pin_self(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -errno : 0;
}

/* ------------------------------------------------------------------------
 * The guest driver: a bare split ring over vdrv's layout, one per pair
 */

static void publish(struct bench_pair *p)
{
	__atomic_store_n(&p->vq->split.avail->idx, htole16(p->avail_idx),
			 __ATOMIC_RELEASE);
}

/* Kick if the device asked for one among the entries published since. */
static int kick_if_needed(struct bench_pair *p)
{
	uint16_t old = p->kicked_idx, ev;
	uint64_t one = 1;

	p->kicked_idx = p->avail_idx;
	/* Our avail->idx store before reading avail_event. */
	atomic_thread_fence(memory_order_seq_cst);
	ev = le16toh(__atomic_load_n(p->vq->split.avail_event,
				     __ATOMIC_RELAXED));
	if (!vdrv_need_event(ev, p->avail_idx, old))
		return 0;
	cnt_add(&p->c.kicks, 1);
	return write(p->vq->kick_fd, &one, sizeof(one)) == sizeof(one) ?
	       0 : -errno;
}

static uint16_t used_idx(struct bench_pair *p)
{
	return le16toh(__atomic_load_n(&p->vq->split.used->idx,
				       __ATOMIC_ACQUIRE));
}

static void set_used_event(struct bench_pair *p, uint16_t ev)
{
	__atomic_store_n(p->vq->split.used_event, htole16(ev),
			 __ATOMIC_RELAXED);
}

/*
 * One descriptor per ring entry, written once; every entry made available.
 * Entry i points at buffer i % nbufs (TX -G: 16 super-frames for the whole
 * ring; otherwise a buffer per entry).
 */
static int ring_fill(struct bench_pair *p)
{
	const struct bench_opts *o = &p->b->o;
	struct vdrv_split *s = &p->vq->split;
	uint16_t flags = o->mode == MODE_RX ? VRING_DESC_F_WRITE : 0;
	uint32_t len = o->mode == MODE_RX ? BENCH_RX_BUF :
		       NET_HDR_LEN + o->frame;
	unsigned int i;

	for (i = 0; i < o->num; i++) {
		uint8_t *buf = p->bufs + (i % p->nbufs) * p->bufsz;

		s->desc[i].addr = htole64(vdrv_gpa(p->mem, buf));
		s->desc[i].len = htole32(len);
		s->desc[i].flags = htole16(flags);
		s->desc[i].next = 0;
		s->avail->ring[i] = htole16(i);
	}
	set_used_event(p, p->last_used + BENCH_PARK);
	p->avail_idx = o->num;
	publish(p);
	return kick_if_needed(p);
}

static void rx_error(struct bench_pair *p, uint64_t *cnt, const char *what,
		     unsigned int v, unsigned int want)
{
	if (cnt_get(cnt) < 3)
		fprintf(stderr, "net_bench: pair %u: rx %s %u, want %u\n",
			p->idx, what, v, want);
	cnt_add(cnt, 1);
}

/*
 * An RX used entry: the head of a packet carries the mergeable header,
 * whose num_buffers says how many entries the packet spans. The header
 * must say what the host sent (TCPV4 of gso_size 1448 with NEEDS_CSUM for
 * -G, no GSO otherwise), and the packet's bytes must add up to the frame.
 */
static int rx_entry(struct bench_pair *p, const uint8_t *buf, uint32_t len)
{
	const struct bench_opts *o = &p->b->o;
	const struct virtio_net_hdr_mrg_rxbuf *h = (const void *)buf;

	if (!p->rx_rem) {
		unsigned int nb = le16toh(h->num_buffers);

		if (!nb || nb > o->num) {
			fprintf(stderr, "net_bench: pair %u: num_buffers %u\n",
				p->idx, nb);
			return -EPROTO;
		}
		if (o->gso) {
			if (h->hdr.gso_type != VIRTIO_NET_HDR_GSO_TCPV4)
				rx_error(p, &p->c.hdr_errors, "gso_type",
					 h->hdr.gso_type,
					 VIRTIO_NET_HDR_GSO_TCPV4);
			else if (le16toh(h->hdr.gso_size) != BENCH_GSO_SIZE)
				rx_error(p, &p->c.hdr_errors, "gso_size",
					 le16toh(h->hdr.gso_size),
					 BENCH_GSO_SIZE);
			else if (!(h->hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
				rx_error(p, &p->c.hdr_errors, "flags",
					 h->hdr.flags,
					 VIRTIO_NET_HDR_F_NEEDS_CSUM);
		} else if (h->hdr.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
			rx_error(p, &p->c.hdr_errors, "gso_type",
				 h->hdr.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		}
		p->rx_rem = nb;
		p->rx_len = 0;
	}
	p->rx_len += len;
	if (--p->rx_rem)
		return 0;
	cnt_add(&p->c.pkts, 1);
	if (p->rx_len < NET_HDR_LEN || p->rx_len - NET_HDR_LEN != o->frame)
		rx_error(p, &p->c.len_errors, "packet bytes",
			 p->rx_len - NET_HDR_LEN, o->frame);
	else
		cnt_add(&p->c.bytes, o->frame);
	return 0;
}

/*
 * Reap every used entry and make its buffer available again. Returns the
 * number reaped, or -EPROTO if the device broke the ring.
 */
static int reap_and_refill(struct bench_pair *p)
{
	const struct bench_opts *o = &p->b->o;
	struct vdrv_split *s = &p->vq->split;
	uint16_t used = used_idx(p), n = used - p->last_used, k;
	unsigned int mask = o->num - 1;
	int r;

	if (n > o->num) {
		fprintf(stderr, "net_bench: pair %u: used idx %u is %u ahead\n",
			p->idx, used, n);
		return -EPROTO;
	}
	for (k = 0; k < n; k++) {
		const struct vring_used_elem *e =
			&s->used->ring[(uint16_t)(p->last_used + k) & mask];
		uint32_t id = le32toh(e->id), len = le32toh(e->len);

		if (id >= o->num) {
			fprintf(stderr, "net_bench: pair %u: used id %u\n",
				p->idx, id);
			return -EPROTO;
		}
		if (o->mode == MODE_RX) {
			if (len > BENCH_RX_BUF) {
				fprintf(stderr, "net_bench: pair %u: used len %u\n",
					p->idx, len);
				return -EPROTO;
			}
			r = rx_entry(p, p->bufs + id * p->bufsz, len);
			if (r)
				return r;
		}
		s->avail->ring[(uint16_t)(p->avail_idx + k) & mask] =
			htole16(id);
	}
	if (!n)
		return 0;
	/* A TX entry is one frame sent (its used length, 0, says nothing). */
	if (o->mode == MODE_TX) {
		cnt_add(&p->c.pkts, n);
		cnt_add(&p->c.bytes, (uint64_t)n * o->frame);
	}
	p->last_used = used;
	p->avail_idx += n;
	set_used_event(p, p->last_used + BENCH_PARK);
	publish(p);
	return kick_if_needed(p) ?: n;
}

/*
 * Sleep until at least a batch of entries is used (or BENCH_WAIT_MS).
 * used_event = last_used + batch - 1: vhost signals once the used index
 * moves past it.
 */
static int wait_batch(struct bench_pair *p)
{
	const struct bench_opts *o = &p->b->o;
	struct pollfd pf[2] = {
		{ .fd = p->vq->call_fd, .events = POLLIN },
		{ .fd = p->vq->err_fd, .events = POLLIN },
	};
	uint64_t cnt;
	double until;

	if (o->poll) {
		if ((uint16_t)(used_idx(p) - p->last_used) >= o->batch)
			return 0;
		cnt_add(&p->c.wakeups, 1);
		until = now_s() + BENCH_WAIT_MS / 1e3;
		while ((uint16_t)(used_idx(p) - p->last_used) < o->batch &&
		       now_s() < until)
			__builtin_ia32_pause();
		return 0;
	}
	set_used_event(p, p->last_used + o->batch - 1);
	/* used_event before re-reading the used index (vhost pairs). */
	atomic_thread_fence(memory_order_seq_cst);
	if ((uint16_t)(used_idx(p) - p->last_used) >= o->batch)
		return 0;
	cnt_add(&p->c.wakeups, 1);
	if (poll(pf, 2, BENCH_WAIT_MS) < 0)
		return errno == EINTR ? 0 : -errno;
	if (pf[1].revents & POLLIN) {
		fprintf(stderr, "net_bench: pair %u: the vq error eventfd fired\n",
			p->idx);
		return -EIO;
	}
	if ((pf[0].revents & POLLIN) &&
	    read(p->vq->call_fd, &cnt, sizeof(cnt)) == sizeof(cnt))
		cnt_add(&p->c.signals, cnt);
	return 0;
}

/* A pair's driver thread: on its CPU, SCHED_FIFO, until told to stop. */
static void *driver_run(void *arg)
{
	struct bench_pair *p = arg;
	struct bench *b = p->b;
	int r;

	r = pin_self(p->drv_cpu);
	if (r)
		fprintf(stderr, "net_bench: pinning driver %u: %s\n", p->idx,
			strerror(-r));
	if (b->o.rt_prio) {
		struct sched_param sp = { .sched_priority = b->o.rt_prio };

		r = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
		if (r)
			fprintf(stderr, "net_bench: SCHED_FIFO %d: %s\n",
				b->o.rt_prio, strerror(r));
	}
	while (!atomic_load(&b->stop)) {
		r = wait_batch(p);
		if (!r)
			r = reap_and_refill(p);
		if (r < 0) {
			p->drv_err = r;
			break;
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * Traffic for rx: pktgen, or AF_PACKET threads
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

/* kpktgend thread of pair @p: the one on its driver's CPU. */
static void pg_thread_name(struct bench_pair *p, char *buf, size_t sz)
{
	int cpu = p->drv_cpu >= 0 ? p->drv_cpu : (int)p->idx % p->b->ncpus;

	snprintf(buf, sz, "kpktgend_%d", cpu);
}

static void *pktgen_run(void *arg)
{
	struct bench *b = arg;

	/* Returns when "stop" is written, or at once on an error. */
	b->pg_err = write_str("/proc/net/pktgen/pgctrl", "start\n");
	return NULL;
}

static void pktgen_remove(struct bench *b)
{
	char thr[32];
	unsigned int i;

	for (i = 0; i < b->o.pairs; i++) {
		pg_thread_name(&b->pair[i], thr, sizeof(thr));
		pg_write(thr, "rem_device_all", NULL);
	}
}

/*
 * Pair i's pktgen device is <tap>@i on the kpktgend of the pair's driver
 * CPU, with queue_map i: pktgen hands its frames to tun on queue i
 * directly, so they reach pair i's ring only.
 */
static int pktgen_start(struct bench *b)
{
	char thr[32], arg[16];
	unsigned int i;

	pktgen_remove(b);
	for (i = 0; i < b->o.pairs; i++) {
		struct bench_pair *p = &b->pair[i];
		const char *d = p->pg_dev;

		snprintf(p->pg_dev, sizeof(p->pg_dev), "%s@%u", b->ifname, i);
		pg_thread_name(p, thr, sizeof(thr));
		if (pg_write(thr, "add_device %s", d))
			return -EIO;
		/* A tap lacks IFF_TX_SKB_SHARING: clone_skb, burst 0/1. */
		snprintf(arg, sizeof(arg), "%u", i);
		if (pg_write(d, "count 0", NULL) ||
		    pg_write(d, "clone_skb 0", NULL) ||
		    pg_write(d, "burst 1", NULL) ||
		    pg_write(d, "delay 0", NULL) ||
		    pg_write(d, "queue_map_min %s", arg) ||
		    pg_write(d, "queue_map_max %s", arg))
			return -EIO;
		snprintf(arg, sizeof(arg), "%u", b->o.frame);
		if (pg_write(d, "pkt_size %s", arg) ||
		    pg_write(d, "dst_mac 02:00:00:00:00:02", NULL) ||
		    pg_write(d, "src_mac 02:00:00:00:00:01", NULL) ||
		    pg_write(d, "src_min 192.0.2.1", NULL) ||
		    pg_write(d, "src_max 192.0.2.1", NULL) ||
		    pg_write(d, "dst 192.0.2.2", NULL))
			return -EIO;
	}
	if (pthread_create(&b->pg_thread, NULL, pktgen_run, b))
		return -EAGAIN;
	b->pg_running = true;
	return 0;
}

/*
 * The frame an AF_PACKET source sends for flow @sport: UDP/IPv4 (TCP with
 * -G, then with its checksum left partial for NEEDS_CSUM), or a plain
 * test frame when the size leaves no room for the IP headers (one pair
 * only: such frames cannot be steered). With -G, @vh gets the header that
 * asks for TCPV4 segmentation and the checksum.
 */
static void flow_frame(struct bench *b, uint8_t *buf, uint16_t sport,
		       struct virtio_net_hdr *vh)
{
	size_t off;
	uint16_t partial;

	if (vh)
		memset(vh, 0, sizeof(*vh));
	if (!b->o.gso) {
		if (b->o.frame >= BENCH_MIN_IP_FRAME)
			net_ip_frame(buf, b->o.frame, IPPROTO_UDP, sport,
				     BENCH_DPORT, 0);
		else
			net_frame(buf, b->o.frame, 0);
		return;
	}
	net_ip_frame(buf, b->o.frame, IPPROTO_TCP, sport, BENCH_DPORT, 0);
	off = net_l4_csum_off(buf);
	partial = net_l4_pseudo_csum(buf, b->o.frame);
	buf[off] = partial >> 8;
	buf[off + 1] = partial;
	if (!vh)
		return;
	/* PACKET_VNET_HDR's header is in host order (little endian here). */
	vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	vh->hdr_len = htole16(NET_L4_OFF + NET_TCP_HLEN);
	vh->gso_size = htole16(BENCH_GSO_SIZE);
	vh->csum_start = htole16(NET_L4_OFF);
	vh->csum_offset = htole16(off - NET_L4_OFF);
}

static void *packet_run(void *arg)
{
	struct bench_pair *p = arg;
	struct bench *b = p->b;
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = b->ifindex,
		.sll_halen = 6,
	};
	struct mmsghdr msgs[BENCH_PKT_BATCH];
	struct virtio_net_hdr vh;
	struct iovec iov[2];
	uint8_t *frame;
	int fd, i, on = 1;

	frame = malloc(b->o.frame);
	/* Protocol 0: this socket sends only, it never sees a frame. */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (!frame || fd < 0 ||
	    (b->o.gso && setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &on,
				    sizeof(on)))) {
		p->gen_err = frame ? -errno : -ENOMEM;
		goto out;
	}
	pin_self(p->drv_cpu);
	flow_frame(b, frame, p->sport, &vh);
	memcpy(sll.sll_addr, frame, 6);
	iov[0].iov_base = &vh;
	iov[0].iov_len = sizeof(vh);
	iov[1].iov_base = frame;
	iov[1].iov_len = b->o.frame;
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BENCH_PKT_BATCH; i++) {
		msgs[i].msg_hdr.msg_name = &sll;
		msgs[i].msg_hdr.msg_namelen = sizeof(sll);
		msgs[i].msg_hdr.msg_iov = b->o.gso ? iov : iov + 1;
		msgs[i].msg_hdr.msg_iovlen = b->o.gso ? 2 : 1;
	}
	while (!atomic_load(&b->stop)) {
		if (sendmmsg(fd, msgs, BENCH_PKT_BATCH, 0) < 0 &&
		    errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
			p->gen_err = -errno;
			break;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(frame);
	return NULL;
}

static int gen_start(struct bench *b)
{
	unsigned int i;

	if (b->gen == GEN_PKTGEN)
		return pktgen_start(b);
	for (i = 0; i < b->o.pairs; i++) {
		struct bench_pair *p = &b->pair[i];

		if (pthread_create(&p->gen_thread, NULL, packet_run, p))
			return -EAGAIN;
		p->gen_running = true;
	}
	return 0;
}

static int gen_error(struct bench *b)
{
	unsigned int i;

	if (b->pg_err)
		return b->pg_err;
	for (i = 0; i < b->o.pairs; i++)
		if (b->pair[i].gen_err)
			return b->pair[i].gen_err;
	return 0;
}

static void gen_stop(struct bench *b)
{
	unsigned int i;

	atomic_store(&b->stop, true);
	if (b->pg_running) {
		write_str("/proc/net/pktgen/pgctrl", "stop\n");
		pthread_join(b->pg_thread, NULL);
		b->pg_running = false;
		pktgen_remove(b);
	}
	for (i = 0; i < b->o.pairs; i++) {
		if (!b->pair[i].gen_running)
			continue;
		pthread_join(b->pair[i].gen_thread, NULL);
		b->pair[i].gen_running = false;
	}
}

/*
 * AF_PACKET with more than one pair: tun puts a frame on the queue its
 * flow hash maps to. Before any RX backend is attached, send one frame of
 * each candidate flow (source port) and see on which tap queue it lands,
 * until every pair has a flow of its own. The hash covers addresses, ports
 * and protocol, not the length, so a short frame of the flow stands for
 * the GSO ones.
 */
static int steer_flows(struct bench *b)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = b->ifindex,
		.sll_halen = 6,
	};
	uint8_t frame[BENCH_MIN_IP_FRAME + 16], got[NET_HDR_LEN + 2048];
	unsigned int found = 0, i, tries;
	int fd, r = 0;

	if (b->o.pairs == 1) {
		b->pair[0].sport = BENCH_SPORT;
		return 0;
	}
	if (!b->o.gso && b->o.frame < BENCH_MIN_IP_FRAME) {
		fprintf(stderr, "net_bench: AF_PACKET on %u pairs needs -s >= %u\n",
			b->o.pairs, BENCH_MIN_IP_FRAME);
		return -EINVAL;
	}
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	for (tries = 0; found < b->o.pairs && tries < 1024; tries++) {
		uint16_t sport = BENCH_SPORT + tries;
		double until = now_s() + 1;
		int q = -1;

		net_ip_frame(frame, sizeof(frame),
			     b->o.gso ? IPPROTO_TCP : IPPROTO_UDP, sport,
			     BENCH_DPORT, 0);
		memcpy(sll.sll_addr, frame, 6);
		if (sendto(fd, frame, sizeof(frame), 0,
			   (struct sockaddr *)&sll, sizeof(sll)) < 0) {
			r = -errno;
			break;
		}
		while (q < 0 && now_s() < until) {
			for (i = 0; i < b->o.pairs; i++) {
				ssize_t n = read(b->pair[i].tap, got,
						 sizeof(got));

				/* Ours: this flow's source port. */
				if (n >= (ssize_t)(NET_HDR_LEN + NET_L4_OFF + 2) &&
				    (got[NET_HDR_LEN + NET_L4_OFF] << 8 |
				     got[NET_HDR_LEN + NET_L4_OFF + 1]) == sport)
					q = i;
			}
			if (q < 0)
				usleep(1000);
		}
		if (q >= 0 && !b->pair[q].sport) {
			b->pair[q].sport = sport;
			found++;
		}
	}
	close(fd);
	/*
	 * A probe that landed after its wait is still queued: drain them
	 * all, or a guest ring would get a frame of another length.
	 */
	usleep(100000);
	for (i = 0; i < b->o.pairs; i++)
		while (read(b->pair[i].tap, got, sizeof(got)) >= 0)
			;
	if (!r && found < b->o.pairs) {
		fprintf(stderr, "net_bench: no flow found for every tap queue\n");
		r = -EIO;
	}
	return r;
}

/* ------------------------------------------------------------------------
 * Set-up, the measurement, the report
 */

static int ifreq_ioctl(struct bench *b, unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (s < 0)
		return -errno;
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", b->ifname);
	if (ioctl(s, req, ifr))
		r = -errno;
	close(s);
	return r;
}

/*
 * The tap, opened once per pair as QEMU does (IFF_MULTI_QUEUE for more than
 * one): 12-byte vnet header, the offloads, up with no address, no IPv6, no
 * ARP; with an rx backlog, its queue lengthened.
 */
static int open_taps(struct bench *b)
{
	struct ifreq ifr;
	unsigned int i;
	int hdr = NET_HDR_LEN, r, fd;
	char path[128];

	for (i = 0; i < b->o.pairs; i++) {
		memset(&ifr, 0, sizeof(ifr));
		ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
		if (b->o.pairs > 1)
			ifr.ifr_flags |= IFF_MULTI_QUEUE;
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s",
			 i ? b->ifname : "kvhn%d");
		fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		b->pair[i].tap = fd;
		if (ioctl(fd, TUNSETIFF, &ifr))
			return -errno;
		snprintf(b->ifname, sizeof(b->ifname), "%s", ifr.ifr_name);
	}
	fd = b->pair[0].tap;
	/* Header size and offloads are the device's, shared by its queues. */
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) ||
	    ioctl(fd, TUNSETOFFLOAD, (unsigned long)TAP_OFFLOADS))
		return -errno;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 b->ifname);
	write_str(path, "1");
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_mtu = 1500;
	r = ifreq_ioctl(b, SIOCSIFMTU, &ifr);
	if (!r)
		r = ifreq_ioctl(b, SIOCGIFFLAGS, &ifr);
	if (r)
		return r;
	ifr.ifr_flags |= IFF_UP | IFF_NOARP;
	r = ifreq_ioctl(b, SIOCSIFFLAGS, &ifr);
	if (!r)
		r = ifreq_ioctl(b, SIOCGIFINDEX, &ifr);
	if (r)
		return r;
	b->ifindex = ifr.ifr_ifindex;
	/* The queue towards the guest; some kernels cap it (ERANGE). */
	while (b->o.backlog) {
		memset(&ifr, 0, sizeof(ifr));
		ifr.ifr_qlen = b->o.backlog;
		r = ifreq_ioctl(b, SIOCSIFTXQLEN, &ifr);
		if (r == -ERANGE && b->o.backlog > 4096) {
			b->o.backlog /= 2;
			continue;
		}
		if (r)
			fprintf(stderr, "net_bench: txqueuelen %d: %s\n",
				b->o.backlog, strerror(-r));
		return r;
	}
	return 0;
}

/* The TX buffers' contents: a zeroed header, or the GSO one, and a frame. */
static void tx_bufs_fill(struct bench_pair *p)
{
	struct bench *b = p->b;
	unsigned int i;

	for (i = 0; i < p->nbufs; i++) {
		uint8_t *buf = p->bufs + i * p->bufsz;
		struct virtio_net_hdr *vh = (void *)buf;
		size_t off;
		uint16_t partial;

		if (!b->o.gso) {
			net_frame(buf + NET_HDR_LEN, b->o.frame, i);
			continue;
		}
		net_ip_frame(buf + NET_HDR_LEN, b->o.frame, IPPROTO_TCP,
			     BENCH_SPORT + p->idx, BENCH_DPORT, i);
		off = net_l4_csum_off(buf + NET_HDR_LEN);
		partial = net_l4_pseudo_csum(buf + NET_HDR_LEN, b->o.frame);
		buf[NET_HDR_LEN + off] = partial >> 8;
		buf[NET_HDR_LEN + off + 1] = partial;
		/* VERSION_1: the header is little endian. */
		vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
		vh->hdr_len = htole16(NET_L4_OFF + NET_TCP_HLEN);
		vh->gso_size = htole16(BENCH_GSO_SIZE);
		vh->csum_start = htole16(NET_L4_OFF);
		vh->csum_offset = htole16(off - NET_L4_OFF);
	}
}

/* A pair's vhost-net device, started, with its backends (see setup()). */
static int pair_setup(struct bench_pair *p)
{
	const struct bench_opts *o = &p->b->o;
	uint64_t want = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) |
			BIT(VIRTIO_NET_F_MRG_RXBUF), offered;

	p->dev = vdrv_open("/dev/vhost-net");
	if (!p->dev)
		goto err;
	if (vdrv_set_owner(p->dev) || vdrv_get_features(p->dev, &offered))
		goto err;
	if (want & ~offered) {
		fprintf(stderr, "net_bench: want 0x%llx, offered 0x%llx\n",
			(unsigned long long)want, (unsigned long long)offered);
		return -ENOTSUP;
	}
	if (!find_workers(p->b, p)) {
		fprintf(stderr, "net_bench: no new vhost-%d worker for pair %u\n",
			getpid(), p->idx);
		return -ESRCH;
	}
	if (o->mode == MODE_RX) {
		p->bufsz = BENCH_RX_BUF;
		p->nbufs = o->num;
	} else {
		p->bufsz = (NET_HDR_LEN + o->frame + 63) & ~63u;
		p->nbufs = o->gso && o->num > BENCH_GSO_TXBUFS ?
			   BENCH_GSO_TXBUFS : o->num;
	}
	p->mem = vdrv_mem_create(2 * MIB + (size_t)p->nbufs * p->bufsz);
	if (!p->mem)
		goto err;
	p->rx = vdrv_vq_create(p->dev, p->mem, 0, o->num, 0);
	p->tx = vdrv_vq_create(p->dev, p->mem, 1, o->num, 0);
	if (!p->rx || !p->tx)
		goto err;
	p->vq = o->mode == MODE_RX ? p->rx : p->tx;
	p->bufs = vdrv_mem_alloc(p->mem, (size_t)p->nbufs * p->bufsz, 64);
	if (!p->bufs)
		goto err;
	if (o->mode == MODE_TX)
		tx_bufs_fill(p);
	/* rx with a backlog: the RX backend comes once the tap is full. */
	if (vdrv_dev_start(p->dev, p->mem, want) ||
	    (!o->backlog && vdrv_net_set_backend(p->dev, 0, p->tap)) ||
	    vdrv_net_set_backend(p->dev, 1, p->tap))
		goto err;
	return 0;
err:
	fprintf(stderr, "net_bench: pair %u: %s\n", p->idx, vdrv_last_error());
	return -EIO;
}

static int setup(struct bench *b)
{
	unsigned int i;
	int r;

	for (i = 0; i < b->o.pairs; i++) {
		struct bench_pair *p = &b->pair[i];

		p->b = b;
		p->idx = i;
		p->drv_cpu = b->o.drv_cpu < 0 ? -1 :
			     (b->o.drv_cpu + (int)i) % b->ncpus;
		p->wrk_cpu = b->o.wrk_cpu < 0 ? -1 :
			     (b->o.wrk_cpu + (int)i) % b->ncpus;
	}
	r = open_taps(b);
	if (r) {
		fprintf(stderr, "net_bench: tap: %s\n", strerror(-r));
		return r;
	}
	if (b->o.mode == MODE_RX) {
		bool have_pktgen = !access("/proc/net/pktgen/pgctrl", W_OK);

		b->gen = b->o.gen;
		if (b->gen == GEN_AUTO)
			b->gen = have_pktgen && !b->o.gso ? GEN_PKTGEN :
							    GEN_PACKET;
		if (b->gen == GEN_PKTGEN && b->o.gso) {
			fprintf(stderr, "net_bench: pktgen cannot send GSO frames\n");
			return -EINVAL;
		}
		/* Before any RX backend takes frames off the tap. */
		if (b->gen == GEN_PACKET) {
			r = steer_flows(b);
			if (r)
				return r;
		}
	}
	for (i = 0; i < b->o.pairs; i++) {
		r = pair_setup(&b->pair[i]);
		if (r)
			return r;
	}
	return 0;
}

/*
 * rx with a backlog: let the sources fill the tap's queues until one
 * overflows (or 20 s pass), then attach the RX backends, so that the
 * workers start on queues they cannot empty at once even when they are
 * faster than the sources.
 */
static int fill_backlog(struct bench *b)
{
	uint64_t drop0 = tap_tx_dropped(b);
	double until = now_s() + 20;
	uint64_t one = 1;
	unsigned int i;

	while (tap_tx_dropped(b) == drop0 && now_s() < until &&
	       !gen_error(b))
		usleep(20000);
	for (i = 0; i < b->o.pairs; i++) {
		struct bench_pair *p = &b->pair[i];

		if (vdrv_net_set_backend(p->dev, 0, p->tap)) {
			fprintf(stderr, "net_bench: %s\n", vdrv_last_error());
			return -EIO;
		}
		/* Whether attaching looks at the ring is the device's business. */
		if (write(p->vq->kick_fd, &one, sizeof(one)) != sizeof(one))
			return -errno;
	}
	return 0;
}

/*
 * tx -G: a packet socket on the tap (it costs a clone per frame, so only
 * for a moment, before the measurement) must see the guest's frames arrive
 * whole, as TCPV4 GSO of gso_size 1448.
 */
static int gso_probe(struct bench *b)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = b->ifindex,
	};
	struct virtio_net_hdr vh;
	struct iovec iov[2] = {
		{ .iov_base = &vh, .iov_len = sizeof(vh) },
		{ .iov_base = b->frame, .iov_len = sizeof(b->frame) },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	double until = now_s() + 5;
	unsigned int seen = 0;
	int fd, on = 1, r = 0;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    htons(ETH_P_ALL));
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &on, sizeof(on)) ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		r = -errno;
		goto out;
	}
	while (seen < 4 && now_s() < until) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t n = recvmsg(fd, &mh, MSG_TRUNC);

		if (n < 0) {
			if (errno != EAGAIN) {
				r = -errno;
				break;
			}
			poll(&pf, 1, 100);
			continue;
		}
		n -= sizeof(vh);
		seen++;
		if (n != b->o.frame ||
		    vh.gso_type != VIRTIO_NET_HDR_GSO_TCPV4 ||
		    le16toh(vh.gso_size) != BENCH_GSO_SIZE) {
			fprintf(stderr, "net_bench: tap: %zd bytes, gso %u/%u; want %u, %u/%u\n",
				n, vh.gso_type, le16toh(vh.gso_size),
				b->o.frame, VIRTIO_NET_HDR_GSO_TCPV4,
				BENCH_GSO_SIZE);
			b->probe_errors++;
		}
	}
	if (!r && seen < 4) {
		fprintf(stderr, "net_bench: the tap got %u GSO frames in 5 s\n",
			seen);
		r = -EIO;
	}
out:
	close(fd);
	return r;
}

static int snap(struct bench *b, struct bench_snap *s)
{
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->t = now_s();
	for (i = 0; i < b->o.pairs; i++) {
		struct bench_cnt *c = &b->pair[i].c;

		s->pair_pkts[i] = cnt_get(&c->pkts);
		s->c.pkts += s->pair_pkts[i];
		s->c.bytes += cnt_get(&c->bytes);
		s->c.kicks += cnt_get(&c->kicks);
		s->c.signals += cnt_get(&c->signals);
		s->c.wakeups += cnt_get(&c->wakeups);
		s->c.len_errors += cnt_get(&c->len_errors);
		s->c.hdr_errors += cnt_get(&c->hdr_errors);
	}
	s->wrk_ns = worker_ns(b);
	return tap_stats(b, b->o.mode == MODE_TX, &s->tap_pkts, &s->tap_bytes,
			 &s->tap_drop);
}

/* Gbit/s of @bytes in @dt seconds. */
static double gbit(uint64_t bytes, double dt)
{
	return bytes * 8 / (dt * 1e9);
}

static void print_result(struct bench *b, const struct bench_snap *s0,
			 const struct bench_snap *s1)
{
	static const char *const gen_name[] = { "none", "pktgen", "packet" };
	bool tx = b->o.mode == MODE_TX;
	double dt = s1->t - s0->t;
	uint64_t pkts = s1->c.pkts - s0->c.pkts;
	uint64_t bytes = s1->c.bytes - s0->c.bytes;
	uint64_t tap = s1->tap_pkts - s0->tap_pkts;
	uint64_t tap_bytes = s1->tap_bytes - s0->tap_bytes;
	uint64_t ns = s1->wrk_ns - s0->wrk_ns;
	double kpk = pkts ? pkts / 1000.0 : 1;
	unsigned int i;

	/*
	 * pps and gbps: the tap's counters for tx (frames that reached the
	 * host), the ring's for rx (frames delivered to the guest); ring_*
	 * and tap_* are both, whichever the direction. Bytes are Ethernet
	 * frame bytes: no FCS, no virtio-net header.
	 */
	printf("RESULT mode=%s size=%u gso=%d pairs=%u num=%u batch=%u poll=%d backlog=%d",
	       tx ? "tx" : "rx", b->o.frame, b->o.gso, b->o.pairs, b->o.num,
	       b->o.batch, b->o.poll, b->o.backlog);
	printf(" secs=%.2f pps=%.0f gbps=%.4f ring_pps=%.0f ring_gbps=%.4f",
	       dt, (tx ? tap : pkts) / dt, gbit(tx ? tap_bytes : bytes, dt),
	       pkts / dt, gbit(bytes, dt));
	printf(" tap_pps=%.0f tap_gbps=%.4f tap_drop_pps=%.0f", tap / dt,
	       gbit(tap_bytes, dt), (s1->tap_drop - s0->tap_drop) / dt);
	printf(" pair_pps=");
	for (i = 0; i < b->o.pairs; i++)
		printf("%s%.0f", i ? "," : "",
		       (s1->pair_pkts[i] - s0->pair_pkts[i]) / dt);
	printf(" wrk_ns_per_pkt=%.0f wrk_util=%.3f kicks_per_kpkt=%.3f",
	       pkts ? (double)ns / pkts : 0.0, ns / (dt * 1e9),
	       (s1->c.kicks - s0->c.kicks) / kpk);
	printf(" signals_per_kpkt=%.3f wakeups_per_kpkt=%.3f workers=%u",
	       (s1->c.signals - s0->c.signals) / kpk,
	       (s1->c.wakeups - s0->c.wakeups) / kpk, b->nworkers);
	printf(" gen=%s len_errors=%llu hdr_errors=%llu\n",
	       tx ? "none" : gen_name[b->gen],
	       (unsigned long long)s1->c.len_errors,
	       (unsigned long long)(s1->c.hdr_errors + b->probe_errors));
	fflush(stdout);
}

/*
 * Is the traffic real? Every pair moved packets; the tap counted as many
 * packets as the rings, give or take what can be between the two at either
 * snapshot (a ring's worth not yet reaped, a batch sent but not yet used);
 * and its bytes are exactly its packets' frames.
 */
static int check_traffic(struct bench *b, const struct bench_snap *s0,
			 const struct bench_snap *s1)
{
	uint64_t pkts = s1->c.pkts - s0->c.pkts;
	uint64_t tap = s1->tap_pkts - s0->tap_pkts;
	uint64_t tap_bytes = s1->tap_bytes - s0->tap_bytes;
	uint64_t slack = 2ULL * b->o.pairs * (b->o.num + BENCH_PKT_BATCH);
	unsigned int i;
	int r = 0;

	for (i = 0; i < b->o.pairs; i++)
		if (s1->pair_pkts[i] == s0->pair_pkts[i]) {
			fprintf(stderr, "net_bench: pair %u moved no packet\n",
				i);
			r = -EIO;
		}
	if (pkts > tap + slack || tap > pkts + slack) {
		fprintf(stderr, "net_bench: the rings did %llu packets, the tap %llu\n",
			(unsigned long long)pkts, (unsigned long long)tap);
		r = -EIO;
	}
	if (tap_bytes != tap * b->o.frame) {
		fprintf(stderr, "net_bench: the tap counted %llu bytes in %llu packets of %u\n",
			(unsigned long long)tap_bytes,
			(unsigned long long)tap, b->o.frame);
		r = -EIO;
	}
	if (s1->c.len_errors || s1->c.hdr_errors || b->probe_errors)
		r = -EPROTO;
	return r;
}

/* Sleep @secs, or less if a driver or a source fails. */
static int wait_running(struct bench *b, double secs)
{
	double until = now_s() + secs;
	unsigned int i;
	int r;

	for (;;) {
		for (i = 0; i < b->o.pairs; i++)
			if (b->pair[i].drv_err)
				return b->pair[i].drv_err;
		r = gen_error(b);
		if (r) {
			fprintf(stderr, "net_bench: traffic source: %s\n",
				strerror(-r));
			return r;
		}
		if (now_s() >= until)
			return 0;
		usleep(20000);
	}
}

static int run(struct bench *b)
{
	struct bench_snap s0, s1;
	unsigned int i;
	int r;

	r = setup(b);
	if (r)
		return r;
	if (b->o.mode == MODE_RX) {
		r = gen_start(b);
		if (r)
			return r;
	}
	for (i = 0; i < b->o.pairs; i++) {
		r = ring_fill(&b->pair[i]);
		if (r)
			return r;
	}
	if (b->o.mode == MODE_RX && b->o.backlog) {
		r = fill_backlog(b);
		if (r)
			return r;
	}
	for (i = 0; i < b->o.pairs; i++) {
		struct bench_pair *p = &b->pair[i];

		if (pthread_create(&p->drv_thread, NULL, driver_run, p))
			return -EAGAIN;
		p->drv_running = true;
	}
	if (b->o.mode == MODE_TX && b->o.gso) {
		r = gso_probe(b);
		if (r)
			return r;
	}
	r = wait_running(b, b->o.warmup);
	if (r)
		return r;
	r = snap(b, &s0);
	if (!r)
		r = wait_running(b, b->o.seconds);
	if (!r)
		r = snap(b, &s1);
	if (r) {
		fprintf(stderr, "net_bench: %s\n", strerror(-r));
		return r;
	}
	print_result(b, &s0, &s1);
	return check_traffic(b, &s0, &s1);
}

static void teardown(struct bench *b)
{
	unsigned int i;

	atomic_store(&b->stop, true);
	for (i = 0; i < b->o.pairs; i++)
		if (b->pair[i].drv_running)
			pthread_join(b->pair[i].drv_thread, NULL);
	gen_stop(b);
	for (i = 0; i < b->o.pairs; i++) {
		struct bench_pair *p = &b->pair[i];

		if (p->dev)
			vdrv_close(p->dev);
		if (p->mem)
			vdrv_mem_destroy(p->mem);
		if (p->tap >= 0)
			close(p->tap);
	}
}

static void help(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [-m tx|rx] [-s frame_bytes] [-G] [-p pairs] [-t seconds]\n"
		"          [-w warmup_seconds] [-q ring_size] [-b batch]\n"
		"          [-c driver_cpu,worker_cpu] [-g auto|pktgen|packet]\n"
		"          [-r rt_prio] [-P] [-B backlog]\n"
		"defaults: -m tx -s 60 (64 bytes on the wire) -p 1 -t 3 -w 1 -q 256\n"
		"          -b q/2 (%u for tx -G)\n"
		"          -c 0,1 (pair i: CPUs +i mod ncpus; -1 = no pinning)\n"
		"          -r 10 (SCHED_FIFO for the drivers; 0 = none), -P: busy-poll,\n"
		"          -G: GSO bulk, TCPv4 frames of -s bytes (default %u, gso_size %u)\n"
		"          -B %u, %u with -G (rx: tap queue filled before the workers\n"
		"          start; 0 = none), -p 1 to %u queue pairs\n",
		argv0, BENCH_GSO_TX_BATCH, BENCH_GSO_FRAME, BENCH_GSO_SIZE,
		BENCH_BACKLOG,
		BENCH_GSO_BACKLOG, BENCH_MAX_PAIRS);
	exit(2);
}

int main(int argc, char **argv)
{
	static struct bench b = {
		.o = { .mode = MODE_TX, .num = 256, .pairs = 1, .seconds = 3,
		       .warmup = 1, .drv_cpu = 0, .wrk_cpu = 1, .rt_prio = 10,
		       .backlog = -1 },
	};
	unsigned int i, max_frame;
	int c, r;

	for (i = 0; i < BENCH_MAX_PAIRS; i++)
		b.pair[i].tap = -1;
	while ((c = getopt(argc, argv, "m:s:t:w:q:b:c:g:r:B:p:PGh")) != -1) {
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
		case 'G':
			b.o.gso = true;
			break;
		case 'p':
			b.o.pairs = strtoul(optarg, NULL, 0);
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
		case 'P':
			b.o.poll = true;
			break;
		case 'B':
			b.o.backlog = atoi(optarg);
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
	if (!b.o.frame)
		b.o.frame = b.o.gso ? BENCH_GSO_FRAME : 60;
	/* tx -G: a 64 KiB frame is slow; reap often enough to count well. */
	if (!b.o.batch)
		b.o.batch = b.o.gso && b.o.mode == MODE_TX && b.o.num > 128 ?
			    BENCH_GSO_TX_BATCH : b.o.num / 2;
	if (b.o.backlog < 0)
		b.o.backlog = b.o.gso ? BENCH_GSO_BACKLOG : BENCH_BACKLOG;
	if (b.o.mode != MODE_RX)
		b.o.backlog = 0;
	/* One RX buffer per frame; -G frames need room for the IP headers. */
	max_frame = b.o.gso ? NET_MAX_FRAME : BENCH_RX_BUF - NET_HDR_LEN;
	if (optind != argc || b.o.num < 2 || b.o.num > 32768 ||
	    (b.o.num & (b.o.num - 1)) || !b.o.batch || b.o.batch > b.o.num ||
	    b.o.frame < (b.o.gso ? NET_L4_OFF + NET_TCP_HLEN + 4 :
			 NET_ETH_HLEN) ||
	    b.o.frame > max_frame || !b.o.pairs ||
	    b.o.pairs > BENCH_MAX_PAIRS || b.o.seconds <= 0 ||
	    b.o.warmup < 0)
		help(argv[0]);
	b.ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (b.ncpus < 2) {
		b.ncpus = 1;
		b.o.drv_cpu = -1;
		b.o.wrk_cpu = -1;
	}
	r = run(&b);
	teardown(&b);
	return r ? 1 : 0;
}
