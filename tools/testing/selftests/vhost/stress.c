// SPDX-License-Identifier: GPL-2.0
/*
 * stress: a hostile guest and a hostile VMM against live vhost-net and
 * vhost-blk devices, at once, for a bounded time.
 *
 * Two threads share one device:
 *  - the guest thread writes random and adversarial content into the live
 *    rings (descriptors with wild addresses, lengths, flags and next links,
 *    loops, indirect tables that nest or overflow, avail idx jumps, used idx
 *    and event idx games, plain random bytes) interleaved with well-formed
 *    requests, and kicks;
 *  - the VMM thread issues random sequences of ioctls: full QEMU-like
 *    setups, SET_MEM_TABLE swaps (valid, shifted, shrunk, pointing at
 *    PROT_NONE or read-only memory, overlapping, oversized), SET_VRING_CALL,
 *    KICK and ERR swaps, SET_VRING_ADDR, NUM and BASE, SET_FEATURES,
 *    SET_BACKEND attach and detach (tap, packet socket, eventfd, memfd),
 *    SET_LOG_BASE and SET_LOG_FD, RESET_OWNER, and close and reopen.
 *
 * Every address handed to the kernel lies in guest memory, in a PROT_NONE
 * hole, in a read-only mapping or outside user space, never in this
 * process's heap or stack, so whatever the device writes cannot corrupt the
 * test itself.
 *
 * The main thread watches the VMM thread: an ioctl or close that does not
 * return within STUCK_S seconds fails the case. Afterwards the case asserts
 * that both threads ran, that the device really processed requests (for a
 * device with a data path), and that the last close returns in bounded time;
 * a separate case then checks that a fresh device works end to end. The
 * kernel log (KASAN, lockdep, WARN, hung tasks) is checked by the harness.
 *
 * Options: --seconds N per device type (default $KVHOST_STRESS_SECONDS, else
 * 5), --seed S to replay a run's random decisions (thread interleaving is
 * not replayed), --dev net|blk. The seed is printed at start.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/virtio_blk.h>
#include <linux/vhost_blk.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "net_common.h"
#include "stress_common.h"

#define NVQ		2	/* ring layouts per device: net rx+tx, blk 0+1 */
#define NEFD		3	/* eventfds per vq and kind, to swap between */
#define NIND		8	/* indirect tables */
#define IND_N		64	/* their entries */
#define SLOTS		32	/* data buffers for well-formed requests */
#define SLOT_SZ		4096
#define RING_NUM	64
#define STUCK_S		30	/* an ioctl or close longer than this hangs */
#define BLK_SIZE	(1024 * 1024)

static unsigned int opt_seconds = 5;
static uint64_t opt_seed;
static const char *opt_dev;
static int64_t case_deadline_ms;

/* Twice the run, for setup, the threads' joins and the closes. */
static unsigned int case_timeout(void)
{
	return 2 * opt_seconds + 90;
}

/* ------------------------------------------------------------------------
 * Random numbers: xorshift64*, one stream per thread, split from the seed.
 */

struct rnd {
	uint64_t s;
};

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static void rseed(struct rnd *r, uint64_t seed, uint64_t stream)
{
	r->s = splitmix(seed ^ splitmix(stream)) | 1;
}

static uint64_t rnext(struct rnd *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 2685821657736338717ULL;
}

static uint32_t rbelow(struct rnd *r, uint32_t n)
{
	return n ? (uint32_t)(rnext(r) % n) : 0;
}

static bool rpct(struct rnd *r, unsigned int pct)
{
	return rbelow(r, 100) < pct;
}

/* A random index into array @arr. */
#define RIDX(r, arr)	rbelow((r), KTAP_ARRAY_SIZE(arr))

/* ------------------------------------------------------------------------
 * The world a run shares between its threads.
 */

enum kind { K_NET, K_BLK };

struct ring {
	struct vdrv_vq *vq;	/* dev-less: only the layout is used */
	struct vhost_vring_addr addr;
	uint8_t *desc, *drv, *devarea;	/* host addresses */
	size_t drv_len, dev_len;
	unsigned int num;
	bool packed;
	int kick[NEFD], call[NEFD], err[NEFD];
	uint16_t seen_used;	/* split: used->idx when last looked at */
	int inflight;		/* packed: well-formed chains not yet used */
	uint16_t next_id;	/* packed: buffer id of the next one */
};

struct counters {
	/* guest thread */
	uint64_t iterations, kicks, valid_posts, used_progress, calls, errs;
	uint64_t resyncs;
	uint64_t tx_frames, rx_injected;
	/* VMM thread */
	uint64_t ioctls, ioctls_ok, setups, setups_ok, reopens, resets;
};

struct world {
	enum kind kind;
	const char *path;
	bool packed;
	uint64_t offered;
	/* What a setup acks: the offer, with RING_PACKED only if packed. */
	uint64_t features;
	struct vdrv_mem *mem;
	struct ring rings[NVQ];
	struct vring_desc *ind[NIND];
	uint8_t *slot[SLOTS];
	uint8_t *hole, *ro, *log;
	size_t hole_len, ro_len, log_len;
	int tap, pkt, ifindex;
	char ifname[IFNAMSIZ];
	int memfd, memfd_ro;
	bool backend_ok;	/* a SET_BACKEND was ever accepted */
	struct vdrv_dev *dev;	/* the VMM thread's; NULL while closed */
	uint64_t seed;
	atomic_bool stop;
	/* Set by the VMM thread to have the guest lay out clean rings. */
	atomic_bool resync;
	unsigned int sane;	/* guest: well-formed steps left */
	/* What the VMM thread is doing, and since when (ms), for the watchdog. */
	const char *_Atomic op;
	_Atomic int64_t op_start;
	struct counters c;
};

/* Final close: alarm() bounds it; the message says what hung. */
static const char *alarm_what = "the case";

static void on_alarm(int sig)
{
	char msg[160];
	int n;

	n = snprintf(msg, sizeof(msg), "# %s did not return in time\n",
		     alarm_what);
	if (n > 0 && write(STDOUT_FILENO, msg, n) < 0)
		n = 0;
	/* As ktap's own timeout: the parent reports SIGALRM as a timeout. */
	signal(sig, SIG_DFL);
	raise(sig);
}

static void alarm_for(const char *what, unsigned int s)
{
	alarm_what = what;
	alarm(s);
}

/* Back to the case's deadline. */
static void alarm_restore(void)
{
	int64_t left = (case_deadline_ms - net_now_ms()) / 1000;

	alarm_what = "the case";
	alarm(left > 1 ? left : 1);
}

static int timed_close(int fd, const char *what)
{
	int r;

	alarm_for(what, STUCK_S);
	r = close(fd);
	alarm_restore();
	return r;
}

/* ------------------------------------------------------------------------
 * Interesting values.
 */

static uint32_t pick_len(struct rnd *r)
{
	static const uint32_t lens[] = {
		0, 1, 2, 10, 11, 12, 13, 14, 15, 16, 17, 60, 511, 512, 513,
		1514, 4095, 4096, 4097, 65535, 65536, 0x100000, 0x7fffffff,
		0x80000000, 0xfffffff0, 0xffffffff,
	};

	if (rpct(r, 20))
		return rnext(r);
	if (rpct(r, 30))
		return rbelow(r, 2 * SLOT_SZ);
	return lens[RIDX(r, lens)];
}

static uint16_t pick_idx(struct rnd *r, unsigned int num)
{
	uint16_t v[] = { 0, 1, num - 1, num, num + 1, 0x7fff, 0x8000, 0xffff,
			 (uint16_t)rnext(r), (uint16_t)rbelow(r, num) };

	return v[RIDX(r, v)];
}

/* A guest-physical address: mostly valid, often at or past an edge. */
static uint64_t pick_gpa(struct world *w, struct rnd *r)
{
	const struct vdrv_region *g;

	g = &w->mem->regions[rbelow(r, w->mem->nregions)];
	switch (rbelow(r, 12)) {
	case 0: case 1: case 2: case 3:
		return g->gpa + rbelow(r, g->size);
	case 4:
		return g->gpa + g->size - rbelow(r, 64);	/* runs off */
	case 5:
		return g->gpa + g->size;			/* just past */
	case 6:
		return g->gpa - 1 - rbelow(r, 4096);		/* just before */
	case 7:
		return 0;
	case 8:
		return ~0ULL - rbelow(r, 4096);			/* wraps */
	case 9:
		return 1ULL << (32 + rbelow(r, 32));
	case 10:
		/* A well-formed slot. */
		return vdrv_gpa(w->mem, w->slot[rbelow(r, SLOTS)]);
	default:
		return rnext(r);
	}
}

/*
 * A host address for the kernel: guest memory, a hole, read-only memory,
 * or not a user address at all. Never this process's heap or stack.
 */
static uint64_t pick_hva(struct world *w, struct rnd *r)
{
	const struct vdrv_region *g;

	g = &w->mem->regions[rbelow(r, w->mem->nregions)];
	switch (rbelow(r, 11)) {
	case 0: case 1:
		return (uintptr_t)g->hva + (rbelow(r, g->size) & ~7u);
	case 2:
		return (uintptr_t)g->hva + rbelow(r, g->size);	/* unaligned */
	case 3:
		return (uintptr_t)g->hva - 4096;		/* guard page */
	case 4:
		return (uintptr_t)w->hole + (rbelow(r, w->hole_len) & ~7u);
	case 5:
		return (uintptr_t)w->ro + (rbelow(r, w->ro_len) & ~7u);
	case 6:
		return 0;
	case 7:
		return 0xffff888000000000ULL + (rbelow(r, 1 << 20) << 12);
	case 8:
		return 0x8000000000000000ULL;			/* non-canonical */
	case 9:
		return (1ULL << 47) - 4096;
	default:
		return ~0ULL & ~0xfffULL;
	}
}

/* ------------------------------------------------------------------------
 * The guest thread.
 */

/* Split ring accessors; callers check !ring->packed. */
static struct vring_avail *ravail(struct ring *g)
{
	return (struct vring_avail *)g->drv;
}

static struct vring_used *rused(struct ring *g)
{
	return (struct vring_used *)g->devarea;
}

static void put_desc(struct ring *g, unsigned int i, uint64_t addr,
		     uint32_t len, uint16_t flags, uint16_t next)
{
	struct vring_desc *d = (struct vring_desc *)g->desc + i % g->num;

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/* Publish @head in the next avail slot, as the driver would. */
static void push_avail(struct ring *g, uint16_t head)
{
	struct vring_avail *a = ravail(g);
	uint16_t idx = __atomic_load_n(&a->idx, __ATOMIC_RELAXED);

	a->ring[idx % g->num] = head;
	__atomic_store_n(&a->idx, (uint16_t)(idx + 1), __ATOMIC_RELEASE);
}

static uint16_t pick_flags(struct rnd *r)
{
	if (rpct(r, 5))
		return rnext(r);
	return rbelow(r, 8);	/* NEXT, WRITE, INDIRECT in any mix */
}

static void random_desc(struct world *w, struct ring *g, struct rnd *r,
			unsigned int i)
{
	put_desc(g, i, pick_gpa(w, r), pick_len(r), pick_flags(r),
		 rpct(r, 20) ? i : pick_idx(r, g->num));
}

/* Descriptors a well-formed request takes: blk header, data and status. */
static unsigned int chain_len(const struct world *w)
{
	return w->kind == K_BLK ? 3 : 1;
}

/*
 * Fill @d with a well-formed request for queue @qi: a TX frame on net's
 * queue 1, an RX buffer on its queue 0, a virtio-blk request of a random
 * type on blk. Returns the descriptors used; next links are relative.
 */
static unsigned int valid_chain(struct world *w, unsigned int qi,
				struct rnd *r, uint32_t seq,
				struct vring_desc *d)
{
	static const uint32_t types[] = {
		VIRTIO_BLK_T_IN, VIRTIO_BLK_T_IN, VIRTIO_BLK_T_OUT,
		VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_GET_ID,
		VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES, 77,
	};
	uint8_t *s = w->slot[rbelow(r, SLOTS)];
	uint64_t sg = vdrv_gpa(w->mem, s);
	struct virtio_blk_outhdr *oh = (void *)s;
	uint32_t type, dlen;

	if (w->kind == K_NET && qi == 1) {
		size_t len = 60 + rbelow(r, 1400);

		memset(s, 0, NET_HDR_LEN);
		net_frame(s + NET_HDR_LEN, len, seq);
		d[0] = (struct vring_desc){ .addr = sg,
					    .len = NET_HDR_LEN + len };
		return 1;
	}
	if (w->kind == K_NET) {
		d[0] = (struct vring_desc){ .addr = sg, .len = SLOT_SZ,
					    .flags = VRING_DESC_F_WRITE };
		return 1;
	}
	type = types[RIDX(r, types)];
	dlen = 512 * (1 + rbelow(r, 4));
	oh->type = type;
	oh->ioprio = 0;
	oh->sector = rpct(r, 95) ? rbelow(r, BLK_SIZE / 512 - 4) : rnext(r);
	if (type == VIRTIO_BLK_T_DISCARD || type == VIRTIO_BLK_T_WRITE_ZEROES) {
		struct virtio_blk_discard_write_zeroes *dz = (void *)(s + 64);

		dz->sector = rbelow(r, BLK_SIZE / 512 - 8);
		dz->num_sectors = 1 + rbelow(r, 8);
		dz->flags = rbelow(r, 2);
		dlen = sizeof(*dz);
	}
	d[0] = (struct vring_desc){ .addr = sg, .len = sizeof(*oh),
				    .flags = VRING_DESC_F_NEXT, .next = 1 };
	d[1] = (struct vring_desc){
		.addr = sg + 64, .len = dlen, .flags = VRING_DESC_F_NEXT |
		(type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID ?
		 VRING_DESC_F_WRITE : 0), .next = 2 };
	d[2] = (struct vring_desc){ .addr = sg + SLOT_SZ - 1, .len = 1,
				    .flags = VRING_DESC_F_WRITE };
	return 3;
}

/*
 * Post a well-formed request the way a correct driver would: only into
 * free slots (fixed-size chains, so the device completes them in slot
 * order or not, it never sees a head that is still in flight). Returns
 * false when the ring is full.
 */
static bool post_valid(struct world *w, struct ring *g, unsigned int qi,
		       struct rnd *r, uint32_t seq)
{
	unsigned int per = chain_len(w), slots = g->num / per, n, k;
	struct vring_desc d[3];

	if (g->packed) {
		struct vring_packed_desc p[3];

		if (g->inflight >= (int)slots)
			return false;
		n = valid_chain(w, qi, r, seq, d);
		for (k = 0; k < n; k++)
			p[k] = (struct vring_packed_desc){
				.addr = d[k].addr, .len = d[k].len,
				.id = g->next_id, .flags = d[k].flags &
				(VRING_DESC_F_NEXT | VRING_DESC_F_WRITE) };
		g->next_id = (g->next_id + 1) % g->num;
		if (vdrv_packed_push(g->vq, p, n))
			return false;
		g->inflight++;
	} else {
		uint16_t ai = __atomic_load_n(&ravail(g)->idx, __ATOMIC_RELAXED);
		uint16_t ui = __atomic_load_n(&rused(g)->idx, __ATOMIC_ACQUIRE);
		unsigned int h = (ai % slots) * per;

		if ((uint16_t)(ai - ui) >= slots)
			return false;
		n = valid_chain(w, qi, r, seq, d);
		for (k = 0; k < n; k++)
			put_desc(g, h + k, d[k].addr, d[k].len, d[k].flags,
				 h + d[k].next);
		push_avail(g, h);
	}
	w->c.valid_posts++;
	return true;
}

/* A clean ring at a random start index (wrap-around included). */
static void ring_resync(struct ring *g, struct rnd *r)
{
	uint16_t start;

	memset(g->desc, 0, 16 * g->num);
	memset(g->drv, 0, g->drv_len);
	memset(g->devarea, 0, g->dev_len);
	if (g->packed)
		start = VDRV_PACKED_POS(rpct(r, 50) ? 0 : rbelow(r, g->num),
					rpct(r, 70));
	else if (rpct(r, 50))
		start = 0;
	else
		start = rpct(r, 50) ? 0x10000 - rbelow(r, 2 * g->num) :
			rnext(r);
	vdrv_vq_set_start_idx(g->vq, start);
	g->seen_used = start;
	g->inflight = 0;
	g->next_id = 0;
}

static void guest_kick(struct ring *g, struct rnd *r, struct counters *c)
{
	uint64_t one = 1;
	int i;

	for (i = 0; i < NEFD; i++) {
		if (i && rpct(r, 50))
			continue;
		if (write(g->kick[i], &one, sizeof(one)) == sizeof(one))
			c->kicks++;
	}
}

/* Consume calls and errs; count what the device completed. */
static void guest_drain(struct world *w, struct ring *g)
{
	uint16_t id, flags;
	uint32_t len;
	uint64_t v;
	int i;

	for (i = 0; i < NEFD; i++) {
		if (read(g->call[i], &v, sizeof(v)) == sizeof(v))
			w->c.calls++;
		if (read(g->err[i], &v, sizeof(v)) == sizeof(v))
			w->c.errs++;
	}
	if (g->packed) {
		for (i = 0; i < (int)g->num &&
		     vdrv_packed_pop_used(g->vq, chain_len(w), &id, &len,
					  &flags) == 1; i++) {
			w->c.used_progress++;
			if (g->inflight > 0)
				g->inflight--;
		}
	} else {
		uint16_t u = __atomic_load_n(&rused(g)->idx, __ATOMIC_ACQUIRE);

		if (u != g->seen_used)
			w->c.used_progress++;
		g->seen_used = u;
	}
}

static void net_traffic(struct world *w, struct rnd *r, uint32_t seq)
{
	static uint8_t buf[NET_MAX_FRAME];
	struct sockaddr_ll sll;
	socklen_t sl;
	ssize_t n;
	int i;

	for (i = 0; i < 64; i++) {
		sl = sizeof(sll);
		n = recvfrom(w->pkt, buf, sizeof(buf), MSG_TRUNC | MSG_DONTWAIT,
			     (struct sockaddr *)&sll, &sl);
		if (n < 0)
			break;
		if (sll.sll_pkttype != PACKET_OUTGOING &&
		    net_frame_seq(buf, n) >= 0)
			w->c.tx_frames++;
	}
	if (rpct(r, 50)) {
		struct sockaddr_ll to = {
			.sll_family = AF_PACKET,
			.sll_ifindex = w->ifindex,
			.sll_halen = 6,
		};
		size_t len = 60 + rbelow(r, 1500);

		net_frame(buf, len, seq);
		memcpy(to.sll_addr, buf, 6);
		if (sendto(w->pkt, buf, len, MSG_DONTWAIT,
			   (struct sockaddr *)&to, sizeof(to)) == (ssize_t)len)
			w->c.rx_injected++;
	}
}

/* Fill indirect table @t: partly sane, partly wild, maybe nested. */
static void random_table(struct world *w, struct rnd *r, struct vring_desc *t)
{
	unsigned int n;

	for (n = 0; n < IND_N; n++) {
		if (rpct(r, 60))
			t[n] = (struct vring_desc){
				.addr = vdrv_gpa(w->mem,
						 w->slot[rbelow(r, SLOTS)]),
				.len = rbelow(r, SLOT_SZ),
				.flags = rbelow(r, 4),
				.next = n + 1 };
		else
			t[n] = (struct vring_desc){
				.addr = pick_gpa(w, r),
				.len = pick_len(r),
				.flags = pick_flags(r),
				.next = pick_idx(r, IND_N) };
	}
}

/* Random bytes over up to 64 bytes of one of the ring's three areas. */
static void scribble(struct ring *g, struct rnd *r)
{
	unsigned int a = rbelow(r, 3);
	uint8_t *base = a == 0 ? g->desc : a == 1 ? g->drv : g->devarea;
	size_t len = a == 0 ? 16 * g->num : a == 1 ? g->drv_len : g->dev_len;
	size_t off = rbelow(r, len), k;

	for (k = off; k < len && k < off + 64; k++)
		base[k] = rnext(r);
}

static void hostile_split(struct world *w, struct ring *g, struct rnd *r)
{
	struct vring_desc *t;
	unsigned int i, n;

	switch (rbelow(r, 10)) {
	case 0:
		/* A chain of random descriptors, maybe looping. */
		n = 1 + rbelow(r, 8);
		i = rbelow(r, g->num);
		push_avail(g, i);
		while (n--) {
			random_desc(w, g, r, i);
			i = (i + 1) % g->num;
		}
		break;
	case 1:
		/* Random descriptors anywhere in the table. */
		for (n = 1 + rbelow(r, 16); n; n--)
			random_desc(w, g, r, rbelow(r, g->num));
		break;
	case 2:
		scribble(g, r);
		break;
	case 3:
		/* An indirect table: random, nested, looping or wild length. */
		t = w->ind[rbelow(r, NIND)];
		random_table(w, r, t);
		i = rbelow(r, g->num);
		put_desc(g, i, rpct(r, 80) ? vdrv_gpa(w->mem, t) : pick_gpa(w, r),
			 rpct(r, 70) ? 16 * (1 + rbelow(r, IND_N)) : pick_len(r),
			 VRING_DESC_F_INDIRECT | (rpct(r, 20) ? pick_flags(r) : 0),
			 pick_idx(r, g->num));
		push_avail(g, i);
		break;
	case 4:
		/* Heads out of range, or many at once. */
		for (n = 1 + rbelow(r, 4); n; n--)
			push_avail(g, pick_idx(r, g->num));
		break;
	case 5:
		/* avail idx jumps: beyond num, backwards, half the space. */
		{
			uint16_t idx = ravail(g)->idx;
			uint16_t d[] = { g->num, g->num + 1, 0x8000, 0xffff,
					 (uint16_t)rnext(r), 2 * g->num };

			__atomic_store_n(&ravail(g)->idx,
					 (uint16_t)(idx + d[RIDX(r, d)]),
					 __ATOMIC_RELEASE);
		}
		break;
	case 6:
		/* used idx games: the device's own index, rewritten. */
		{
			struct vring_used *u = rused(g);

			u->idx = rpct(r, 50) ? (uint16_t)rnext(r) :
				 (uint16_t)(u->idx + pick_idx(r, g->num));
			u->ring[rbelow(r, g->num)].id = rnext(r);
			u->ring[rbelow(r, g->num)].len = rnext(r);
			g->seen_used = u->idx;
		}
		break;
	case 7:
		/* Flags and event indexes. */
		ravail(g)->flags = rpct(r, 50) ? rbelow(r, 2) : rnext(r);
		rused(g)->flags = rnext(r);
		ravail(g)->ring[g->num] = pick_idx(r, g->num);	/* used_event */
		/* avail_event, after the used ring's entries */
		memcpy(g->devarea + 4 + 8 * g->num,
		       &(uint16_t){ pick_idx(r, g->num) }, 2);
		break;
	case 8:
		/* A chain that runs through the whole table, in a circle. */
		for (i = 0; i < g->num; i++)
			put_desc(g, i, pick_gpa(w, r), rbelow(r, 64),
				 VRING_DESC_F_NEXT | (rpct(r, 50) ?
				 VRING_DESC_F_WRITE : 0), (i + 1) % g->num);
		push_avail(g, rbelow(r, g->num));
		break;
	default:
		/* A well-formed chain whose head is already in flight. */
		i = rbelow(r, g->num);
		push_avail(g, i);
		push_avail(g, i);
		break;
	}
}

static void hostile_packed(struct world *w, struct ring *g, struct rnd *r)
{
	struct vring_packed_desc p[16];
	unsigned int i, n;

	switch (rbelow(r, 6)) {
	case 0:
		/* Random descriptors the device will take as available. */
		n = 1 + rbelow(r, 8);
		for (i = 0; i < n; i++)
			p[i] = (struct vring_packed_desc){
				.addr = pick_gpa(w, r), .len = pick_len(r),
				.id = pick_idx(r, g->num),
				.flags = pick_flags(r) };
		vdrv_packed_push(g->vq, p, n);
		break;
	case 1:
		/* Descriptors with the wrong lap's bits, anywhere. */
		for (n = 1 + rbelow(r, 16); n; n--)
			vdrv_packed_set_desc(g->vq, rbelow(r, g->num),
					     pick_gpa(w, r), pick_len(r),
					     pick_idx(r, g->num), rnext(r));
		break;
	case 2:
		scribble(g, r);
		break;
	case 3:
		/* An indirect table, maybe nested or of a wild length. */
		random_table(w, r, w->ind[i = rbelow(r, NIND)]);
		p[0] = (struct vring_packed_desc){
			.addr = rpct(r, 80) ? vdrv_gpa(w->mem, w->ind[i]) :
				pick_gpa(w, r),
			.len = rpct(r, 70) ? 16 * (1 + rbelow(r, IND_N)) :
			       pick_len(r),
			.id = pick_idx(r, g->num),
			.flags = VRING_DESC_F_INDIRECT |
				 (rpct(r, 20) ? pick_flags(r) : 0) };
		vdrv_packed_push(g->vq, p, 1);
		break;
	case 4:
		/* A chain as long as the ring, that never ends. */
		for (i = 0; i < g->num && i < 16; i++)
			p[i] = (struct vring_packed_desc){
				.addr = pick_gpa(w, r), .len = rbelow(r, 64),
				.id = i, .flags = VRING_DESC_F_NEXT };
		for (n = g->num; n >= 16; n -= 16)
			vdrv_packed_push(g->vq, p, 16);
		if (n)
			vdrv_packed_push(g->vq, p, n);
		break;
	default:
		/* Event suppression: random flags and off_wrap. */
		for (i = 0; i < 4; i++)
			g->drv[i] = rnext(r);
		if (rpct(r, 50))
			for (i = 0; i < 4; i++)
				g->devarea[i] = rnext(r);
		break;
	}
}

static void guest_step(struct world *w, struct rnd *r, uint32_t it)
{
	unsigned int qi = rbelow(r, NVQ), i, n;
	struct ring *g = &w->rings[qi];
	bool posted = true;

	if (atomic_load(&w->resync)) {
		/* The VMM is restarting the device: start over, cleanly. */
		for (i = 0; i < NVQ; i++)
			ring_resync(&w->rings[i], r);
		w->sane = 20 + rbelow(r, 400);
		w->c.resyncs++;
		atomic_store(&w->resync, false);
	}
	if (w->sane || rpct(r, 30)) {
		/* Well-formed requests: the device must stay live. */
		if (w->sane)
			w->sane--;
		for (n = 1 + rbelow(r, 4); n && posted; n--)
			posted = post_valid(w, g, qi, r, it);
	} else if (g->packed) {
		hostile_packed(w, g, r);
	} else {
		hostile_split(w, g, r);
	}
	if (rpct(r, 90))
		guest_kick(g, r, &w->c);
	if (w->sane || it % 4 == 0) {
		for (i = 0; i < NVQ; i++)
			guest_drain(w, &w->rings[i]);
		if (w->kind == K_NET)
			net_traffic(w, r, it);
	}
	/* A full ring: let the worker run, it shares two CPUs with us. */
	if (!posted)
		usleep(200);
}

static void *guest_thread(void *arg)
{
	struct world *w = arg;
	struct rnd r;
	uint32_t it = 0;

	rseed(&r, w->seed, 1000 + w->kind * 10 + w->packed);
	while (!atomic_load(&w->stop)) {
		guest_step(w, &r, it++);
		w->c.iterations++;
		/* Let the worker run: it shares two CPUs with us. */
		if (it % 64 == 0)
			usleep(rbelow(&r, 2000));
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * The VMM thread.
 */

static long vmm_ioctl(struct world *w, const char *name, unsigned long req,
		      void *arg)
{
	long ret;

	if (!w->dev)
		return -EBADF;
	atomic_store(&w->op, name);
	atomic_store(&w->op_start, net_now_ms());
	ret = ioctl(w->dev->fd, req, arg);
	atomic_store(&w->op, NULL);
	w->c.ioctls++;
	if (ret >= 0)
		w->c.ioctls_ok++;
	return ret < 0 ? -errno : ret;
}

static int vring_file(struct world *w, const char *name, unsigned long req,
		      unsigned int idx, int fd)
{
	struct vhost_vring_file f = { .index = idx, .fd = fd };

	return vmm_ioctl(w, name, req, &f);
}

static int vring_state(struct world *w, const char *name, unsigned long req,
		       unsigned int idx, unsigned int num)
{
	struct vhost_vring_state s = { .index = idx, .num = num };

	return vmm_ioctl(w, name, req, &s);
}

static unsigned long backend_req(struct world *w)
{
	return w->kind == K_NET ? VHOST_NET_SET_BACKEND : VHOST_BLK_SET_BACKEND;
}

static int pick_efd(struct world *w, struct rnd *r, int *pool)
{
	int v[] = { pool[0], pool[1], pool[2], -1, w->memfd, w->tap,
		    w->pkt, 1000 };

	return rpct(r, 80) ? pool[rbelow(r, NEFD)] : v[RIDX(r, v)];
}

static int pick_backend(struct world *w, struct rnd *r)
{
	if (w->kind == K_NET) {
		int v[] = { w->tap, w->tap, w->tap, -1, -1, w->pkt,
			    w->rings[0].kick[0], w->memfd, 1000 };

		return v[RIDX(r, v)];
	}
	{
		int v[] = { w->memfd, w->memfd, w->memfd, -1, -1, w->memfd_ro,
			    w->tap, w->rings[0].kick[0], 1000 };

		return v[RIDX(r, v)];
	}
}

static uint64_t pick_features(struct world *w, struct rnd *r)
{
	uint64_t base = w->features & ~BIT(VHOST_F_LOG_ALL);

	switch (rbelow(r, 6)) {
	case 0:
		return w->offered;
	case 1:
		return rnext(r);
	case 2:
		return rnext(r) & w->offered;
	case 3:
		return 0;
	default:
		return base;
	}
}

static struct vhost_memory *table_new(unsigned int n)
{
	struct vhost_memory *m;

	m = calloc(1, sizeof(*m) + n * sizeof(m->regions[0]));
	if (m)
		m->nregions = n;
	return m;
}

/* A memory table: the real one, or one of many twisted variants. */
static struct vhost_memory *pick_table(struct world *w, struct rnd *r,
				       bool real)
{
	struct vhost_memory *m = vdrv_mem_table(w->mem);
	unsigned int i, n;

	if (!m || real || rpct(r, 40))
		return m;
	n = m->nregions;
	switch (rbelow(r, 10)) {
	case 0:		/* all regions moved: descriptors resolve elsewhere */
		for (i = 0; i < n; i++)
			m->regions[i].guest_phys_addr += 4096ULL *
							 (1 + rbelow(r, 16));
		break;
	case 1:		/* one region fewer */
		m->nregions = rbelow(r, n);
		break;
	case 2:		/* a region whose memory is PROT_NONE */
		m->regions[0].userspace_addr = (uintptr_t)w->hole;
		m->regions[0].memory_size = w->hole_len;
		break;
	case 3:		/* a region whose memory is read-only */
		i = rbelow(r, n);
		m->regions[i].userspace_addr = (uintptr_t)w->ro;
		m->regions[i].memory_size = w->ro_len;
		break;
	case 4:		/* overlapping guest ranges */
		m->regions[1].guest_phys_addr = m->regions[0].guest_phys_addr +
						4096;
		break;
	case 5:		/* empty */
		m->nregions = 0;
		break;
	case 6:		/* too many */
		free(m);
		m = table_new(600);
		if (m)
			for (i = 0; i < 600; i++)
				m->regions[i] = (struct vhost_memory_region){
					.guest_phys_addr = i * 4096ULL,
					.memory_size = 4096,
					.userspace_addr = (uintptr_t)w->hole };
		break;
	case 7:		/* wrapping or zero sizes, wild addresses */
		for (i = 0; i < n; i++) {
			struct vhost_memory_region *g = &m->regions[i];

			g->guest_phys_addr = rpct(r, 50) ? pick_gpa(w, r) :
					     g->guest_phys_addr;
			g->memory_size = rpct(r, 50) ? pick_len(r) :
					 rpct(r, 50) ? ~0ULL - rbelow(r, 8192) : 0;
			g->userspace_addr = rpct(r, 50) ? pick_hva(w, r) :
					    g->userspace_addr;
		}
		break;
	case 8:		/* unaligned */
		m->regions[rbelow(r, n)].userspace_addr += 1 + rbelow(r, 4095);
		m->regions[rbelow(r, n)].guest_phys_addr += 1 + rbelow(r, 4095);
		break;
	default:	/* padding and flags must be zero */
		m->padding = rnext(r);
		m->regions[0].flags_padding = rnext(r);
		break;
	}
	return m;
}

static int set_mem_table(struct world *w, struct rnd *r, bool real)
{
	struct vhost_memory *m = pick_table(w, r, real);
	int ret;

	if (!m)
		return -ENOMEM;
	ret = vmm_ioctl(w, "SET_MEM_TABLE", VHOST_SET_MEM_TABLE, m);
	free(m);
	return ret;
}

static void pick_addr(struct world *w, struct rnd *r, unsigned int qi,
		      struct vhost_vring_addr *a)
{
	*a = w->rings[qi].addr;
	if (rpct(r, 30))
		a->flags |= 1u << VHOST_VRING_F_LOG;
	if (rpct(r, 50))
		return;
	switch (rbelow(r, 5)) {
	case 0:
		a->desc_user_addr = pick_hva(w, r);
		break;
	case 1:
		a->avail_user_addr = pick_hva(w, r);
		break;
	case 2:
		a->used_user_addr = pick_hva(w, r);
		break;
	case 3:
		a->log_guest_addr = pick_gpa(w, r);
		break;
	default:
		a->index = rpct(r, 50) ? rnext(r) : NVQ + rbelow(r, 4);
		a->flags = rnext(r);
		break;
	}
}

/* Everything QEMU does to start the device, with the real values. */
static bool vmm_setup(struct world *w, struct rnd *r)
{
	uint64_t features = rpct(r, 80) ? w->features &
			    ~BIT(VHOST_F_LOG_ALL) : w->features;
	bool ok = true;
	unsigned int q;
	int64_t t;

	w->c.setups++;
	/* EBUSY when the device is already ours. */
	vmm_ioctl(w, "SET_OWNER", VHOST_SET_OWNER, NULL);
	if (features & BIT(VHOST_F_LOG_ALL)) {
		uint64_t base = (uintptr_t)w->log;
		int lfd = w->rings[0].call[NEFD - 1];

		ok &= !vmm_ioctl(w, "SET_LOG_BASE", VHOST_SET_LOG_BASE, &base);
		ok &= !vmm_ioctl(w, "SET_LOG_FD", VHOST_SET_LOG_FD, &lfd);
	}
	ok &= !set_mem_table(w, r, true);
	ok &= !vmm_ioctl(w, "SET_FEATURES", VHOST_SET_FEATURES, &features);
	/* Stop, as QEMU does: NUM and BASE are EBUSY with a backend. */
	for (q = 0; q < NVQ; q++)
		vring_file(w, "SET_BACKEND", backend_req(w), q, -1);
	/* Have the guest lay out clean rings, and wait for it. */
	atomic_store(&w->resync, true);
	t = net_now_ms() + 1000;
	while (atomic_load(&w->resync) && net_now_ms() < t)
		usleep(100);
	for (q = 0; q < NVQ; q++) {
		struct ring *g = &w->rings[q];
		struct vhost_vring_addr a = g->addr;

		if (features & BIT(VHOST_F_LOG_ALL))
			a.flags |= 1u << VHOST_VRING_F_LOG;
		/* A queue the device lacks is no failure. */
		if (vring_file(w, "SET_VRING_CALL", VHOST_SET_VRING_CALL, q,
			       g->call[0]) == -ENOBUFS)
			continue;
		vring_file(w, "SET_VRING_ERR", VHOST_SET_VRING_ERR, q, g->err[0]);
		ok &= !vring_state(w, "SET_VRING_NUM", VHOST_SET_VRING_NUM, q,
				   g->num);
		/* Mostly where the guest starts; sometimes elsewhere. */
		ok &= !vring_state(w, "SET_VRING_BASE", VHOST_SET_VRING_BASE, q,
				   rpct(r, 90) ? g->vq->base :
				   pick_idx(r, g->num));
		ok &= !vmm_ioctl(w, "SET_VRING_ADDR", VHOST_SET_VRING_ADDR, &a);
		ok &= !vring_file(w, "SET_VRING_KICK", VHOST_SET_VRING_KICK, q,
				  g->kick[0]);
		if (!vring_file(w, "SET_BACKEND", backend_req(w), q,
				w->kind == K_NET ? w->tap : w->memfd)) {
			w->backend_ok = true;
		} else {
			ok = false;
		}
	}
	if (ok)
		w->c.setups_ok++;
	return ok;
}

static void vmm_reopen(struct world *w)
{
	atomic_store(&w->op, "close");
	atomic_store(&w->op_start, net_now_ms());
	/* vdrv_close() has no vqs to destroy: ours are dev-less. */
	vdrv_close(w->dev);
	atomic_store(&w->op, "open");
	w->dev = vdrv_open(w->path);
	atomic_store(&w->op, NULL);
	w->c.reopens++;
}

/*
 * The device IOTLB (ACCESS_PLATFORM, which SET_FEATURES now and then acks):
 * map a guest region both at its GPAs (what descriptors carry) and at its
 * HVAs (what our ring addresses are), or map, unmap and read at random.
 */
static void vmm_iotlb(struct world *w, struct rnd *r)
{
	const struct vdrv_region *g;
	struct vhost_msg_v2 m;
	ssize_t n;

	if (!w->dev)
		return;
	g = &w->mem->regions[rbelow(r, w->mem->nregions)];
	memset(&m, 0, sizeof(m));
	m.type = rpct(r, 90) ? VHOST_IOTLB_MSG_V2 :
		 rpct(r, 50) ? VHOST_IOTLB_MSG : (uint32_t)rnext(r);
	m.iotlb.type = VHOST_IOTLB_UPDATE;
	m.iotlb.perm = VHOST_ACCESS_RW;
	switch (rbelow(r, 5)) {
	case 0: case 1:
		m.iotlb.iova = g->gpa;
		m.iotlb.size = g->size;
		m.iotlb.uaddr = (uintptr_t)g->hva;
		atomic_store(&w->op, "IOTLB_UPDATE");
		n = write(w->dev->fd, &m, sizeof(m));
		m.iotlb.iova = (uintptr_t)g->hva;
		n = write(w->dev->fd, &m, sizeof(m));
		break;
	case 2:
		m.iotlb.type = rpct(r, 80) ? VHOST_IOTLB_UPDATE : rnext(r);
		m.iotlb.iova = rpct(r, 50) ? g->gpa + rbelow(r, g->size) :
			       rnext(r);
		m.iotlb.size = rpct(r, 50) ? 1 + rbelow(r, 65536) : rnext(r);
		m.iotlb.uaddr = pick_hva(w, r);
		m.iotlb.perm = rnext(r);
		atomic_store(&w->op, "IOTLB_WRITE");
		n = write(w->dev->fd, &m, sizeof(m) - rbelow(r, 2) * rbelow(r, 40));
		break;
	case 3:
		m.iotlb.type = VHOST_IOTLB_INVALIDATE;
		m.iotlb.iova = rpct(r, 30) ? 0 : g->gpa + rbelow(r, g->size);
		m.iotlb.size = rpct(r, 30) ? 0 : rbelow(r, 1 << 20);
		atomic_store(&w->op, "IOTLB_INVALIDATE");
		n = write(w->dev->fd, &m, sizeof(m));
		break;
	default:
		/* Drain the misses (the fd is non-blocking). */
		atomic_store(&w->op, "IOTLB_READ");
		do {
			n = read(w->dev->fd, &m, sizeof(m));
		} while (n == sizeof(m));
		break;
	}
	(void)n;
	atomic_store(&w->op, NULL);
	w->c.ioctls++;
}

static void vmm_step(struct world *w, struct rnd *r)
{
	/* Now and then a queue the device does not have. */
	unsigned int qi = rpct(r, 5) ? NVQ + rbelow(r, 64) : rbelow(r, NVQ);
	struct ring *g = &w->rings[qi < NVQ ? qi : 0];
	struct vhost_vring_addr a;
	uint64_t v;
	int fd;

	switch (rbelow(r, 23)) {
	case 0: case 1: case 2:
		if (vmm_setup(w, r) && rpct(r, 50))
			usleep(1000 * (1 + rbelow(r, 20)));
		break;
	case 3: case 4:
		set_mem_table(w, r, false);
		break;
	case 5:
		vring_file(w, "SET_VRING_CALL", VHOST_SET_VRING_CALL, qi,
			   pick_efd(w, r, g->call));
		break;
	case 6:
		vring_file(w, "SET_VRING_KICK", VHOST_SET_VRING_KICK, qi,
			   pick_efd(w, r, g->kick));
		break;
	case 7:
		vring_file(w, "SET_VRING_ERR", VHOST_SET_VRING_ERR, qi,
			   pick_efd(w, r, g->err));
		break;
	case 8:
		pick_addr(w, r, qi < NVQ ? qi : 0, &a);
		vmm_ioctl(w, "SET_VRING_ADDR", VHOST_SET_VRING_ADDR, &a);
		break;
	case 9:
		vring_state(w, "SET_VRING_NUM", VHOST_SET_VRING_NUM, qi,
			    rpct(r, 50) ? g->num : rpct(r, 50) ?
			    1u << rbelow(r, 17) : (uint32_t)rnext(r));
		break;
	case 10:
		vring_state(w, "SET_VRING_BASE", VHOST_SET_VRING_BASE, qi,
			    rpct(r, 50) ? pick_idx(r, g->num) :
			    (uint32_t)rnext(r));
		break;
	case 11:
		vring_state(w, "GET_VRING_BASE", VHOST_GET_VRING_BASE, qi, 0);
		break;
	case 12:
		v = pick_features(w, r);
		vmm_ioctl(w, "SET_FEATURES", VHOST_SET_FEATURES, &v);
		break;
	case 13: case 14:
		fd = pick_backend(w, r);
		vring_file(w, "SET_BACKEND", backend_req(w), qi, fd);
		break;
	case 15:
		if (!vmm_ioctl(w, "RESET_OWNER", VHOST_RESET_OWNER, NULL))
			w->c.resets++;
		if (rpct(r, 80))
			vmm_ioctl(w, "SET_OWNER", VHOST_SET_OWNER, NULL);
		break;
	case 16:
		vmm_reopen(w);
		break;
	case 17:
		v = rpct(r, 60) ? (uintptr_t)w->log : pick_hva(w, r);
		vmm_ioctl(w, "SET_LOG_BASE", VHOST_SET_LOG_BASE, &v);
		fd = pick_efd(w, r, g->call);
		vmm_ioctl(w, "SET_LOG_FD", VHOST_SET_LOG_FD, &fd);
		break;
	case 18:
		vring_state(w, "SET_VRING_BUSYLOOP_TIMEOUT",
			    VHOST_SET_VRING_BUSYLOOP_TIMEOUT, qi,
			    rpct(r, 50) ? rbelow(r, 100) : (uint32_t)rnext(r));
		break;
	case 19:
		v = rpct(r, 50) ? 0 : rnext(r);
		vmm_ioctl(w, "SET_BACKEND_FEATURES", VHOST_SET_BACKEND_FEATURES,
			  &v);
		vmm_ioctl(w, "GET_FEATURES", VHOST_GET_FEATURES, &v);
		break;
	case 20:
		if (w->kind == K_BLK) {
			struct vhost_blk_config cfg = { .fd = pick_backend(w, r) };
			struct vhost_blk_serial ser;
			unsigned int i;

			vmm_ioctl(w, "BLK_GET_CONFIG", VHOST_BLK_GET_CONFIG, &cfg);
			for (i = 0; i < sizeof(ser.id); i++)
				ser.id[i] = rnext(r);
			vmm_ioctl(w, "BLK_SET_SERIAL", VHOST_BLK_SET_SERIAL, &ser);
		} else {
			vmm_ioctl(w, "SET_OWNER", VHOST_SET_OWNER, NULL);
		}
		break;
	case 21:
		vmm_iotlb(w, r);
		break;
	default:
		/* A pause, so that the guest meets a stable device. */
		usleep(1000 * rbelow(r, 10));
		break;
	}
}

static void *vmm_thread(void *arg)
{
	struct world *w = arg;
	struct rnd r;

	rseed(&r, w->seed, 2000 + w->kind * 10 + w->packed);
	while (!atomic_load(&w->stop)) {
		if (!w->dev) {
			/* A failed reopen: try again, it must work. */
			w->dev = vdrv_open(w->path);
			if (!w->dev) {
				usleep(10000);
				continue;
			}
		}
		vmm_step(w, &r);
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * Setting up and tearing down a run.
 */

static enum ktap_result ring_init(struct world *w, struct ring *g,
				  unsigned int index)
{
	int i;

	/* Packed rings need not be a power of two: take one that is not. */
	g->vq = vdrv_vq_create(NULL, w->mem, index,
			       w->packed ? RING_NUM - 16 : RING_NUM,
			       w->packed ? VDRV_VQ_PACKED : 0);
	KTAP_SKIP_IF(!g->vq && w->packed && errno == EOPNOTSUPP,
		     "vdrv has no packed rings: %s", vdrv_last_error());
	KTAP_CHECK(g->vq, "%s", vdrv_last_error());
	vdrv_vq_addr(g->vq, &g->addr);
	g->addr.index = index;
	g->num = g->vq->num;
	g->packed = g->vq->format != VDRV_RING_SPLIT;
	g->desc = (uint8_t *)(uintptr_t)g->addr.desc_user_addr;
	g->drv = (uint8_t *)(uintptr_t)g->addr.avail_user_addr;
	g->devarea = (uint8_t *)(uintptr_t)g->addr.used_user_addr;
	g->drv_len = g->packed ? 4 : 4 + 2 * g->num + 2;
	g->dev_len = g->packed ? 4 : 4 + 8 * g->num + 2;
	for (i = 0; i < NEFD; i++) {
		g->kick[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		g->call[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		g->err[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		KTAP_CHECK(g->kick[i] >= 0 && g->call[i] >= 0 && g->err[i] >= 0,
			   "eventfd: %s", strerror(errno));
	}
	return KTAP_PASS;
}

static void *map(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static enum ktap_result world_init(struct world *w, enum kind k, bool packed)
{
	unsigned int i, j;
	enum ktap_result r;

	memset(w, 0, sizeof(*w));
	for (i = 0; i < NVQ; i++) {
		for (j = 0; j < NEFD; j++) {
			w->rings[i].kick[j] = -1;
			w->rings[i].call[j] = -1;
			w->rings[i].err[j] = -1;
		}
	}
	w->kind = k;
	w->packed = packed;
	w->path = k == K_NET ? "/dev/vhost-net" : "/dev/vhost-blk";
	w->tap = -1;
	w->pkt = -1;
	w->memfd = -1;
	w->memfd_ro = -1;
	w->seed = opt_seed;

	w->dev = vdrv_open(w->path);
	KTAP_SKIP_IF(!w->dev && errno == ENOENT, "no %s", w->path);
	KTAP_CHECK(w->dev, "%s", vdrv_last_error());
	VOK(vdrv_get_features(w->dev, &w->offered));
	KTAP_SKIP_IF(packed && !(w->offered & BIT(VIRTIO_F_RING_PACKED)),
		     "%s does not offer VIRTIO_F_RING_PACKED", w->path);
	/* Mostly on the memory table; SET_FEATURES may ack the IOTLB. */
	w->features = packed ? w->offered :
		      w->offered & ~BIT(VIRTIO_F_RING_PACKED);
	w->features &= ~BIT(VDRV_F_ACCESS_PLATFORM);

	if (k == K_NET) {
		w->tap = net_open_tap(NET_TAP_VNET_HDR, w->ifname, &w->ifindex,
				      1500);
		KTAP_SKIP_IF(w->tap == -ENOENT || w->tap == -ENODEV,
			     "no tap: %s", strerror(-w->tap));
		KTAP_CHECK(w->tap >= 0, "tap: %s", strerror(-w->tap));
		w->pkt = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK |
				SOCK_CLOEXEC, htons(ETH_P_ALL));
		KTAP_CHECK(w->pkt >= 0, "packet socket: %s", strerror(errno));
		{
			struct sockaddr_ll sll = {
				.sll_family = AF_PACKET,
				.sll_protocol = htons(ETH_P_ALL),
				.sll_ifindex = w->ifindex,
			};

			KTAP_OK(bind(w->pkt, (struct sockaddr *)&sll,
				     sizeof(sll)));
		}
	}
	/* The blk backend, and a bogus one for net: tmpfs files. */
	w->memfd = memfd_create("kvhost-stress", MFD_CLOEXEC);
	KTAP_CHECK(w->memfd >= 0, "memfd: %s", strerror(errno));
	KTAP_OK(ftruncate(w->memfd, BLK_SIZE));
	{
		char p[64];

		snprintf(p, sizeof(p), "/proc/self/fd/%d", w->memfd);
		w->memfd_ro = open(p, O_RDONLY | O_CLOEXEC);
		KTAP_CHECK(w->memfd_ro >= 0, "%s: %s", p, strerror(errno));
	}

	/* Three regions: two GPA-adjacent, one far away. */
	w->mem = vdrv_mem_create(2 * MIB);
	KTAP_CHECK(w->mem, "%s", vdrv_last_error());
	VOK(vdrv_mem_add_region(w->mem, VDRV_GPA_AUTO, MIB));
	VOK(vdrv_mem_add_region(w->mem, 0x200000000ULL, 256 * 1024));
	w->hole_len = 64 * 1024;
	w->ro_len = 64 * 1024;
	w->hole = map(w->hole_len, PROT_NONE);
	w->ro = map(w->ro_len, PROT_READ);
	/* A dirty bitmap that covers every GPA we use: 1 bit per page. */
	w->log_len = (0x200000000ULL + 256 * 1024) / 4096 / 8 + 4096;
	w->log = map(w->log_len, PROT_READ | PROT_WRITE);
	KTAP_CHECK(w->hole && w->ro && w->log, "mmap: %s", strerror(errno));

	for (i = 0; i < NVQ; i++) {
		r = ring_init(w, &w->rings[i], i);
		if (r != KTAP_PASS)
			return r;
	}
	KTAP_CHECK(!packed || w->rings[0].packed,
		   "vdrv made a split ring for VDRV_VQ_PACKED");
	for (i = 0; i < NIND; i++) {
		w->ind[i] = vdrv_mem_alloc(w->mem, 16 * IND_N, 16);
		KTAP_CHECK(w->ind[i], "%s", vdrv_last_error());
	}
	for (i = 0; i < SLOTS; i++) {
		/* Alternate regions, so requests land in both. */
		w->slot[i] = vdrv_mem_alloc_in(w->mem, i % 2, SLOT_SZ, 4096);
		KTAP_CHECK(w->slot[i], "%s", vdrv_last_error());
	}
	return KTAP_PASS;
}

static void world_fini(struct world *w)
{
	unsigned int i, j;

	if (w->dev)
		vdrv_close(w->dev);
	for (i = 0; i < NVQ; i++) {
		struct ring *g = &w->rings[i];

		for (j = 0; j < NEFD; j++) {
			if (g->kick[j] >= 0)
				close(g->kick[j]);
			if (g->call[j] >= 0)
				close(g->call[j]);
			if (g->err[j] >= 0)
				close(g->err[j]);
		}
		vdrv_vq_destroy(g->vq);
	}
	if (w->mem)
		vdrv_mem_destroy(w->mem);
	if (w->hole)
		munmap(w->hole, w->hole_len);
	if (w->ro)
		munmap(w->ro, w->ro_len);
	if (w->log)
		munmap(w->log, w->log_len);
	for (i = 0; i < 4; i++) {
		int fd = i == 0 ? w->tap : i == 1 ? w->pkt : i == 2 ? w->memfd :
			 w->memfd_ro;

		if (fd >= 0)
			close(fd);
	}
}

static enum ktap_result stress(enum kind kind, bool packed)
{
	static struct world w;
	pthread_t gt, vt;
	unsigned int secs = opt_seconds;
	int64_t start, end, now;
	enum ktap_result r;
	struct sigaction sa = { .sa_handler = on_alarm };
	const char *op, *fmt = packed ? "packed" : "split";

	case_deadline_ms = net_now_ms() + case_timeout() * 1000LL;
	sigaction(SIGALRM, &sa, NULL);
	r = world_init(&w, kind, packed);
	if (r != KTAP_PASS) {
		world_fini(&w);
		return r;
	}
	/* Packed rings share the device type's time with split ones. */
	if (w.offered & BIT(VIRTIO_F_RING_PACKED))
		secs = (secs + 1) / 2;
	ktap_diag("%s %s: %u s, seed %" PRIu64 " (replay: --seed %" PRIu64
		  " --dev %s), features offered 0x%" PRIx64, w.path,
		  packed ? "packed" : "split", secs, w.seed, w.seed,
		  kind == K_NET ? "net" : "blk", w.offered);

	start = net_now_ms();
	end = start + secs * 1000LL;
	KTAP_OK(-pthread_create(&gt, NULL, guest_thread, &w));
	KTAP_OK(-pthread_create(&vt, NULL, vmm_thread, &w));
	while ((now = net_now_ms()) < end) {
		int64_t since = atomic_load(&w.op_start);

		op = atomic_load(&w.op);
		if (op && now - since > STUCK_S * 1000) {
			ktap_diag("%s has not returned after %lld ms", op,
				  (long long)(now - since));
			_exit(KTAP_FAIL);
		}
		usleep(100 * 1000);
	}
	atomic_store(&w.stop, true);
	alarm_for("the guest thread", STUCK_S);
	pthread_join(gt, NULL);
	alarm_for("the VMM thread (its last ioctl)", STUCK_S);
	pthread_join(vt, NULL);
	alarm_restore();

	/* The device as the run left it: its close must return. */
	if (w.dev) {
		KTAP_OK(timed_close(w.dev->fd, "the last close of the device"));
		w.dev->fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	now = net_now_ms();
	ktap_diag("%s %s: %.1f s, guest: %" PRIu64 " iterations, %" PRIu64
		  " kicks, %" PRIu64 " well-formed requests, %" PRIu64
		  " completions seen, %" PRIu64 " calls, %" PRIu64 " errs, %"
		  PRIu64 " ring resyncs", w.path, fmt, (now - start) / 1000.0,
		  w.c.iterations, w.c.kicks, w.c.valid_posts,
		  w.c.used_progress, w.c.calls, w.c.errs, w.c.resyncs);
	ktap_diag("%s %s: VMM: %" PRIu64 " ioctls (%" PRIu64 " succeeded), %"
		  PRIu64 " setups (%" PRIu64 " clean), %" PRIu64 " resets, %"
		  PRIu64 " reopens", w.path, fmt, w.c.ioctls, w.c.ioctls_ok,
		  w.c.setups, w.c.setups_ok, w.c.resets, w.c.reopens);
	if (kind == K_NET)
		ktap_diag("%s %s: %" PRIu64 " TX frames reached the tap, %" PRIu64
			  " RX frames injected", w.path, fmt, w.c.tx_frames,
			  w.c.rx_injected);

	KTAP_CHECK(w.c.iterations > 0, "the guest thread never ran");
	KTAP_CHECK(w.c.ioctls > 0, "the VMM thread never ran");
	KTAP_CHECK(w.c.setups_ok > 0, "no setup ever succeeded: %" PRIu64
		   " tried", w.c.setups);
	/* Not vacuous: the device really served the rings meanwhile. */
	if (kind == K_NET) {
		KTAP_CHECK(w.backend_ok, "vhost-net never accepted the tap");
		KTAP_CHECK(w.c.used_progress > 0 && w.c.tx_frames > 0,
			   "vhost-net never completed a request");
	} else if (w.backend_ok) {
		KTAP_CHECK(w.c.used_progress > 0,
			   "vhost-blk never completed a request");
	} else {
		ktap_diag("vhost-blk took no backend: ioctls stressed only");
	}
	world_fini(&w);
	return KTAP_PASS;
}

static enum ktap_result net_split(void)
{
	return stress(K_NET, false);
}

static enum ktap_result net_packed(void)
{
	return stress(K_NET, true);
}

static enum ktap_result blk_split(void)
{
	return stress(K_BLK, false);
}

static enum ktap_result blk_packed(void)
{
	return stress(K_BLK, true);
}

/* ------------------------------------------------------------------------
 * After the stress: a fresh device works end to end.
 */

static enum ktap_result net_fresh_device_works(void)
{
	static uint8_t rbuf[NET_MAX_FRAME];
	struct net_env e;
	enum ktap_result r;
	uint8_t *buf;
	uint32_t len;
	int cookie, got, i;

	r = net_env_init(&e, NET_TAP_VNET_HDR, NET_F_BASE, 256, MIB, 1500,
			 false);
	if (r != KTAP_PASS) {
		net_env_fini(&e);
		return r;
	}
	buf = vdrv_mem_alloc(e.mem, NET_HDR_LEN + 1500, 8);
	KTAP_CHECK(buf, "%s", vdrv_last_error());
	for (i = 0; i < 8; i++) {
		struct vdrv_buf out = { .ptr = buf, .len = NET_HDR_LEN + 600 };

		memset(buf, 0, NET_HDR_LEN);
		net_frame(buf + NET_HDR_LEN, 600, 7000 + i);
		VOK(vdrv_vq_add(e.tx, &out, 1, NULL, 0, &cookie));
		VOK(vdrv_vq_kick(e.tx));
		KTAP_CHECK(vdrv_vq_wait_used(e.tx, &len, 10000) == &cookie,
			   "TX %d: %s", i, vdrv_last_error());
		got = net_pkt_recv(&e, rbuf, 10000);
		KTAP_CHECK(got == 600, "TX %d: %s", i,
			   got < 0 ? strerror(-got) : "wrong length");
		KTAP_CHECK(net_frame_ok(rbuf, got, 7000 + i), "TX %d", i);
	}
	KTAP_EXPECT_EQ(e.tx->err_count, 0);
	net_env_fini(&e);
	return KTAP_PASS;
}

static enum ktap_result blk_fresh_device_works(void)
{
	struct vdrv_dev *dev;
	struct vdrv_mem *mem;
	struct vdrv_vq *vq;
	uint64_t offered, want;
	uint8_t *buf;
	int memfd, i, ret;

	dev = vdrv_open("/dev/vhost-blk");
	KTAP_SKIP_IF(!dev && errno == ENOENT, "no /dev/vhost-blk");
	KTAP_CHECK(dev, "%s", vdrv_last_error());
	mem = vdrv_mem_create(MIB);
	KTAP_CHECK(mem, "%s", vdrv_last_error());
	VOK(vdrv_set_owner(dev));
	VOK(vdrv_get_features(dev, &offered));
	want = offered & (BIT(VIRTIO_F_VERSION_1) |
			  BIT(VIRTIO_RING_F_EVENT_IDX) |
			  BIT(VIRTIO_RING_F_INDIRECT_DESC));
	vq = vdrv_vq_create(dev, mem, 0, 128, 0);
	KTAP_CHECK(vq, "%s", vdrv_last_error());
	VOK(vdrv_dev_start(dev, mem, want));
	memfd = memfd_create("kvhost-blk", MFD_CLOEXEC);
	KTAP_CHECK(memfd >= 0, "memfd: %s", strerror(errno));
	KTAP_OK(ftruncate(memfd, BLK_SIZE));
	{
		struct vhost_vring_file f = { .index = 0, .fd = memfd };

		ret = vdrv_ioctl(dev, VHOST_BLK_SET_BACKEND, &f);
	}
	if (ret == -ENOTTY) {
		/* The request path has not landed: setup is all there is. */
		ktap_diag("VHOST_BLK_SET_BACKEND: %s: no request path, setup checked only",
			  strerror(-ret));
		vdrv_close(dev);
		vdrv_mem_destroy(mem);
		close(memfd);
		return KTAP_PASS;
	}
	VOK(ret);
	buf = vdrv_mem_alloc(mem, 128 + 8192, 4096);
	KTAP_CHECK(buf, "%s", vdrv_last_error());
	for (i = 0; i < 4; i++)
		KTAP_OK(stress_blk_roundtrip(vq, buf, memfd, 8 * i, 4096 * (1 + i % 2),
					     i));
	KTAP_EXPECT_EQ(vq->err_count, 0);
	vdrv_close(dev);
	vdrv_mem_destroy(mem);
	close(memfd);
	return KTAP_PASS;
}

static void usage(const char *prog)
{
	printf("Usage: %s [--seconds N] [--seed S] [--dev net|blk]\n", prog);
}

int main(int argc, char **argv)
{
	struct ktap_case all[] = {
		KTAP_CASE(net_split), KTAP_CASE(net_packed),
		KTAP_CASE(net_fresh_device_works),
		KTAP_CASE(blk_split), KTAP_CASE(blk_packed),
		KTAP_CASE(blk_fresh_device_works),
	};
	struct ktap_case cases[KTAP_ARRAY_SIZE(all)];
	const char *env = getenv("KVHOST_STRESS_SECONDS");
	struct timespec ts;
	size_t i, n = 0;
	int a;

	if (env && atoi(env) > 0)
		opt_seconds = atoi(env);
	clock_gettime(CLOCK_REALTIME, &ts);
	opt_seed = splitmix(ts.tv_sec ^ ((uint64_t)ts.tv_nsec << 20) ^ getpid());
	for (a = 1; a < argc; a++) {
		if (!strcmp(argv[a], "--seconds") && a + 1 < argc) {
			opt_seconds = strtoul(argv[++a], NULL, 0);
		} else if (!strcmp(argv[a], "--seed") && a + 1 < argc) {
			opt_seed = strtoull(argv[++a], NULL, 0);
		} else if (!strcmp(argv[a], "--dev") && a + 1 < argc) {
			opt_dev = argv[++a];
		} else {
			usage(argv[0]);
			return strcmp(argv[a], "--help") ? KSFT_FAIL : KSFT_PASS;
		}
	}
	if (!opt_seconds)
		opt_seconds = 1;
	printf("# stress: seed %" PRIu64 ", %u s per device type\n", opt_seed,
	       opt_seconds);
	for (i = 0; i < KTAP_ARRAY_SIZE(all); i++) {
		if (opt_dev && strncmp(all[i].name, opt_dev, strlen(opt_dev)))
			continue;
		cases[n] = all[i];
		cases[n].timeout = case_timeout();
		n++;
	}
	return ktap_run(cases, n);
}
