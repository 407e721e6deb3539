// SPDX-License-Identifier: GPL-2.0
/*
 * vdrv_selftest: tests of the vdrv library.
 *
 * Most cases serve the library's rings with fake devices written here, so
 * that they run anywhere and can misbehave on purpose: a small split-ring
 * consumer and a packed-ring one, each getting exactly what the kernel gets
 * (the SET_VRING_ADDR/NUM/BASE values and the memory table), walking
 * descriptors by translating GPAs through the guest memory, and deciding
 * kicks and interrupts with vhost's rules. The VMM side is checked by
 * recording the ioctls the library issues on a stand-in fd, and four cases
 * talk to /dev/vhost-net when that node exists, the last two checking the
 * library against the kernel's own ring consumer, on a split and on a
 * packed ring.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#include "ktap.h"
#include "vdrv.h"
#include "vdrv_ktap.h"

/* A vdrv call must fail with -@err. */
#define VERR(call, err)							\
	do {								\
		long vr_ = (long)(call);				\
		int ve_ = (err);					\
		if (vr_ != -ve_) {					\
			ktap_diag("%s:%d: %s = %ld, expected %d (%s)",	\
				  __FILE__, __LINE__, #call, vr_,	\
				  -ve_, strerror(ve_));			\
			return KTAP_FAIL;				\
		}							\
	} while (0)

#define BIT(n)		(1ULL << (n))
#define MIB		(1024 * 1024)

static uint32_t rng_state = 0x2545f491;

/* xorshift32: deterministic, so a failure reproduces. */
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

static void fill_random(uint8_t *p, size_t n)
{
	while (n--)
		*p++ = rnd();
}

/* ------------------------------------------------------------------------
 * The fake device
 */

#define FAKE_MAX_SEGS	128
#define FAKE_MAX_DATA	8192
/* The reply: the request XOR 0x5a, then a 3-byte trailer (a "status"). */
#define REPLY_TRAILER	3

struct fake_seg {
	uint64_t gpa;
	uint32_t len;
	bool write;
};

struct fake_req {
	uint16_t head;		/* packed: the buffer id */
	uint16_t ndesc;		/* packed: ring slots the chain took */
	unsigned int nseg;
	struct fake_seg seg[FAKE_MAX_SEGS];
	uint8_t out[FAKE_MAX_DATA];
	size_t out_len;
	uint64_t in_cap;
};

struct fake {
	const struct vdrv_mem *mem;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t *used_event;
	uint16_t *avail_event;
	unsigned int num;
	bool event_idx;
	uint16_t last_avail;
	uint16_t last_used;
	uint16_t signalled_used;
	bool signalled_valid;
	int kick_fd, call_fd;
	unsigned int signals;
};

static uint16_t ld16(const uint16_t *p)
{
	return le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

static void st16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, htole16(v), __ATOMIC_RELEASE);
}

/*
 * Attach like the kernel does: ring addresses from SET_VRING_ADDR, size
 * from SET_VRING_NUM, last_avail from SET_VRING_BASE, last_used read from
 * used->idx in guest memory.
 */
static void fake_attach(struct fake *f, const struct vdrv_vq *vq)
{
	struct vhost_vring_addr a;

	vdrv_vq_addr(vq, &a);
	memset(f, 0, sizeof(*f));
	f->mem = vq->mem;
	f->desc = (void *)(uintptr_t)a.desc_user_addr;
	f->avail = (void *)(uintptr_t)a.avail_user_addr;
	f->used = (void *)(uintptr_t)a.used_user_addr;
	f->num = vq->num;
	f->used_event = (uint16_t *)&f->avail->ring[f->num];
	f->avail_event = (uint16_t *)&f->used->ring[f->num];
	f->event_idx = vq->features & BIT(VIRTIO_RING_F_EVENT_IDX);
	f->last_avail = vq->base;
	f->last_used = ld16(&f->used->idx);
	f->kick_fd = vq->kick_fd;
	f->call_fd = vq->call_fd;
}

static int fake_bad(const char *what, unsigned int v)
{
	ktap_diag("fake device: %s (%u)", what, v);
	return -1;
}

/* Walk the chain at @head into @req: -1 if malformed. */
static int fake_walk(struct fake *f, uint16_t head, struct fake_req *req)
{
	const struct vring_desc *table = f->desc;
	unsigned int i = head, max = f->num, count = 0;
	bool indirect = false, seen_write = false;

	req->head = head;
	req->nseg = 0;
	req->out_len = 0;
	req->in_cap = 0;
	if (head >= f->num)
		return fake_bad("head out of range", head);
	for (;;) {
		struct vring_desc d = table[i];
		uint16_t fl = le16toh(d.flags);
		struct fake_seg *s;

		if (fl & VRING_DESC_F_INDIRECT) {
			uint32_t len = le32toh(d.len);

			if (indirect || count || fl & VRING_DESC_F_NEXT)
				return fake_bad("misplaced indirect", i);
			if (!len || len % sizeof(d))
				return fake_bad("indirect len", len);
			table = vdrv_hva_range(f->mem, le64toh(d.addr), len);
			if (!table)
				return fake_bad("indirect table not mapped", i);
			max = len / sizeof(d);
			indirect = true;
			i = 0;
			continue;
		}
		if (++count > max || req->nseg == FAKE_MAX_SEGS)
			return fake_bad("chain too long or looping", count);
		s = &req->seg[req->nseg++];
		s->gpa = le64toh(d.addr);
		s->len = le32toh(d.len);
		s->write = fl & VRING_DESC_F_WRITE;
		if (!s->write && seen_write)
			return fake_bad("readable after writable", i);
		if (s->write) {
			seen_write = true;
			req->in_cap += s->len;
		} else {
			if (req->out_len + s->len > FAKE_MAX_DATA)
				return fake_bad("request too big", s->len);
			if (vdrv_mem_read(f->mem, req->out + req->out_len,
					  s->gpa, s->len))
				return fake_bad("out buffer not mapped", i);
			req->out_len += s->len;
		}
		if (!(fl & VRING_DESC_F_NEXT))
			return 0;
		i = le16toh(d.next);
		if (i >= max)
			return fake_bad("next out of range", i);
	}
}

/* Take the next avail chain: 1 got one, 0 none, -1 broken. */
static int fake_pop(struct fake *f, struct fake_req *req)
{
	uint16_t avail = ld16(&f->avail->idx);	/* pairs with (A) */
	uint16_t head;

	if (avail == f->last_avail)
		return 0;
	if ((uint16_t)(avail - f->last_avail) > f->num)
		return fake_bad("avail idx jumped", avail);
	head = le16toh(f->avail->ring[f->last_avail & (f->num - 1)]);
	f->last_avail++;
	return fake_walk(f, head, req) ? -1 : 1;
}

static void fake_push_used(struct fake *f, uint32_t id, uint32_t len)
{
	struct vring_used_elem *e = &f->used->ring[f->last_used & (f->num - 1)];

	e->id = htole32(id);
	e->len = htole32(len);
	f->last_used++;
	st16(&f->used->idx, f->last_used);	/* pairs with (B) */
}

static size_t reply_len(size_t out_len, uint64_t in_cap)
{
	return out_len + REPLY_TRAILER < in_cap ? out_len + REPLY_TRAILER :
						  in_cap;
}

static uint8_t reply_byte(const uint8_t *out, size_t out_len, size_t j)
{
	return j < out_len ? out[j] ^ 0x5a : 0xee;
}

/* Write the reply into the chain's writable buffers; its length or -1. */
static long fake_write_reply(const struct vdrv_mem *mem,
			     const struct fake_req *req)
{
	size_t total = reply_len(req->out_len, req->in_cap), done = 0, j;
	uint8_t buf[FAKE_MAX_DATA + REPLY_TRAILER];
	unsigned int k;

	if (total > sizeof(buf))
		return fake_bad("reply too big", total);
	for (j = 0; j < total; j++)
		buf[j] = reply_byte(req->out, req->out_len, j);
	for (k = 0; k < req->nseg && done < total; k++) {
		const struct fake_seg *s = &req->seg[k];
		size_t n = total - done < s->len ? total - done : s->len;

		if (!s->write)
			continue;
		if (vdrv_mem_write(mem, s->gpa, buf + done, n))
			return fake_bad("in buffer not mapped", k);
		done += n;
	}
	return total;
}

/* Write the reply into the chain's writable buffers and complete it. */
static int fake_complete(struct fake *f, const struct fake_req *req)
{
	long total = fake_write_reply(f->mem, req);

	if (total < 0)
		return -1;
	fake_push_used(f, req->head, total);
	return 0;
}

/* vhost_notify(): should the driver get an interrupt now? */
static bool fake_should_signal(struct fake *f)
{
	uint16_t old, new_idx;
	bool valid;

	atomic_thread_fence(memory_order_seq_cst);	/* pairs with (D) */
	if (!f->event_idx)
		return !(ld16(&f->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT);
	old = f->signalled_used;
	valid = f->signalled_valid;
	new_idx = f->last_used;
	f->signalled_used = new_idx;
	f->signalled_valid = true;
	if (!valid)
		return true;
	return vdrv_need_event(ld16(f->used_event), new_idx, old);
}

static void fake_signal(struct fake *f)
{
	uint64_t one = 1;

	if (fake_should_signal(f) &&
	    write(f->call_fd, &one, sizeof(one)) == sizeof(one))
		f->signals++;
}

/* Serve every available chain in order, then maybe signal: count or -1. */
static int fake_serve(struct fake *f)
{
	struct fake_req *req = malloc(sizeof(*req));
	int n = 0, r;

	if (!req)
		return -1;
	while ((r = fake_pop(f, req)) > 0) {
		if (fake_complete(f, req)) {
			r = -1;
			break;
		}
		n++;
	}
	free(req);
	if (r < 0)
		return -1;
	if (n)
		fake_signal(f);
	return n;
}

/* vhost_disable_notify() / vhost_enable_notify(). */
static void fake_disable_notify(struct fake *f)
{
	if (!f->event_idx)
		st16(&f->used->flags, VRING_USED_F_NO_NOTIFY);
}

/* Returns true if the avail ring is empty once kicks are wanted again. */
static bool fake_enable_notify(struct fake *f)
{
	if (f->event_idx)
		st16(f->avail_event, f->last_avail);
	else
		st16(&f->used->flags, 0);
	atomic_thread_fence(memory_order_seq_cst);	/* pairs with (C) */
	return ld16(&f->avail->idx) == f->last_avail;
}

/* Kicks pending on the kick eventfd (the counter is consumed). */
static uint64_t kicks(int fd)
{
	uint64_t v;

	return read(fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
}

/* ------------------------------------------------------------------------
 * The fake packed-ring device: the same service over a packed ring, with
 * positions kept as (slot, wrap counter) pairs of its own.
 */

struct pfake {
	const struct vdrv_mem *mem;
	struct vring_packed_desc *desc;
	struct vring_packed_desc_event *driver;	/* the driver writes */
	struct vring_packed_desc_event *device;	/* we write */
	unsigned int num;
	bool event_idx;
	unsigned int avail_slot, used_slot;
	bool avail_wrap, used_wrap;
	unsigned int sig_slot;		/* used position at the last signal */
	bool sig_wrap, sig_valid;
	int kick_fd, call_fd;
	unsigned int signals;
};

#define PF_AVAIL	BIT(VRING_PACKED_DESC_F_AVAIL)
#define PF_USED		BIT(VRING_PACKED_DESC_F_USED)

/* Attach from what the kernel would get: addresses, NUM and the base. */
static void pfake_attach(struct pfake *f, const struct vdrv_vq *vq)
{
	struct vhost_vring_addr a;

	vdrv_vq_addr(vq, &a);
	memset(f, 0, sizeof(*f));
	f->mem = vq->mem;
	f->desc = (void *)(uintptr_t)a.desc_user_addr;
	f->driver = (void *)(uintptr_t)a.avail_user_addr;
	f->device = (void *)(uintptr_t)a.used_user_addr;
	f->num = vq->num;
	f->event_idx = vq->features & BIT(VIRTIO_RING_F_EVENT_IDX);
	f->avail_slot = vq->base & 0x7fff;
	f->avail_wrap = vq->base & 0x8000;
	f->used_slot = (vq->base >> 16) & 0x7fff;
	f->used_wrap = vq->base & 0x80000000u;
	f->kick_fd = vq->kick_fd;
	f->call_fd = vq->call_fd;
}

static bool pfake_is_avail(uint16_t flags, bool wrap)
{
	return !!(flags & PF_AVAIL) == wrap && !!(flags & PF_USED) != wrap;
}

static int pfake_seg(const struct vdrv_mem *mem, struct fake_req *req,
		     uint64_t addr, uint32_t len, bool write)
{
	struct fake_seg *s;

	if (req->nseg == FAKE_MAX_SEGS)
		return fake_bad("chain too long", req->nseg);
	if (!write && req->in_cap)
		return fake_bad("readable after writable", req->nseg);
	s = &req->seg[req->nseg++];
	s->gpa = addr;
	s->len = len;
	s->write = write;
	if (write) {
		req->in_cap += len;
		return 0;
	}
	if (req->out_len + len > FAKE_MAX_DATA)
		return fake_bad("request too big", len);
	if (vdrv_mem_read(mem, req->out + req->out_len, addr, len))
		return fake_bad("out buffer not mapped", req->nseg);
	req->out_len += len;
	return 0;
}

/* Take the next available chain: 1 got one, 0 none, -1 broken. */
static int pfake_pop(struct pfake *f, struct fake_req *req)
{
	unsigned int slot = f->avail_slot, n = 0;
	bool wrap = f->avail_wrap;
	uint16_t fl = ld16(&f->desc[slot].flags);	/* pairs with (A) */
	struct vring_packed_desc d;

	if (!pfake_is_avail(fl, wrap))
		return 0;
	req->nseg = 0;
	req->out_len = 0;
	req->in_cap = 0;
	for (;;) {
		if (n == f->num)
			return fake_bad("chain longer than the ring", n);
		d = f->desc[slot];
		if (n)
			fl = le16toh(d.flags);
		n++;
		if (fl & VRING_DESC_F_INDIRECT) {
			const struct vring_packed_desc *t;
			uint32_t len = le32toh(d.len), k;

			if (n > 1 || fl & VRING_DESC_F_NEXT)
				return fake_bad("misplaced indirect", slot);
			if (!len || len % sizeof(d))
				return fake_bad("indirect len", len);
			t = vdrv_hva_range(f->mem, le64toh(d.addr), len);
			if (!t)
				return fake_bad("indirect table not mapped",
						slot);
			for (k = 0; k < len / sizeof(d); k++) {
				uint16_t tf = le16toh(t[k].flags);

				if (tf & (VRING_DESC_F_INDIRECT |
					  VRING_DESC_F_NEXT))
					return fake_bad("table entry flags", tf);
				if (pfake_seg(f->mem, req, le64toh(t[k].addr),
					      le32toh(t[k].len),
					      tf & VRING_DESC_F_WRITE))
					return -1;
			}
		} else if (pfake_seg(f->mem, req, le64toh(d.addr),
				     le32toh(d.len), fl & VRING_DESC_F_WRITE)) {
			return -1;
		}
		if (++slot == f->num) {
			slot = 0;
			wrap = !wrap;
		}
		if (!(fl & VRING_DESC_F_NEXT))
			break;
	}
	req->head = le16toh(d.id);	/* the last descriptor's id */
	req->ndesc = n;
	if (req->head >= f->num)
		return fake_bad("buffer id out of range", req->head);
	f->avail_slot = slot;
	f->avail_wrap = wrap;
	return 1;
}

/* Write the used descriptor for chain @id, which took @ndesc slots. */
static void pfake_push_used(struct pfake *f, uint16_t id, uint32_t len,
			    unsigned int ndesc)
{
	struct vring_packed_desc *d = &f->desc[f->used_slot];
	uint16_t fl = (f->used_wrap ? PF_AVAIL | PF_USED : 0) |
		      (len ? VRING_DESC_F_WRITE : 0);

	d->id = htole16(id);
	d->len = htole32(len);
	st16(&d->flags, fl);			/* pairs with (B) */
	f->used_slot += ndesc;
	if (f->used_slot >= f->num) {
		f->used_slot -= f->num;
		f->used_wrap = !f->used_wrap;
	}
}

static int pfake_complete(struct pfake *f, const struct fake_req *req)
{
	long total = fake_write_reply(f->mem, req);

	if (total < 0)
		return -1;
	pfake_push_used(f, req->head, total, req->ndesc);
	return 0;
}

/* A position as a number that grows along the ring, modulo 2 * num. */
static unsigned int pfake_lin(const struct pfake *f, unsigned int slot,
			      bool wrap)
{
	return slot + (wrap ? f->num : 0);
}

/* The driver's wish, read from the driver area, as a device must. */
static bool pfake_should_signal(struct pfake *f)
{
	unsigned int old, new_pos, ev, m = 2 * f->num;
	uint16_t flags, off_wrap;
	bool valid = f->sig_valid;

	atomic_thread_fence(memory_order_seq_cst);	/* pairs with (D) */
	old = pfake_lin(f, f->sig_slot, f->sig_wrap);
	new_pos = pfake_lin(f, f->used_slot, f->used_wrap);
	f->sig_slot = f->used_slot;
	f->sig_wrap = f->used_wrap;
	f->sig_valid = true;
	flags = ld16(&f->driver->flags) & 3;
	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	if (flags != VRING_PACKED_EVENT_FLAG_DESC || !f->event_idx || !valid)
		return true;
	off_wrap = ld16(&f->driver->off_wrap);
	ev = pfake_lin(f, off_wrap & 0x7fff, off_wrap & 0x8000);
	/* Signal if the event slot was written in [old, new). */
	return (ev + m - old) % m < (new_pos + m - old) % m;
}

static void pfake_signal(struct pfake *f)
{
	uint64_t one = 1;

	if (pfake_should_signal(f) &&
	    write(f->call_fd, &one, sizeof(one)) == sizeof(one))
		f->signals++;
}

/* Serve every available chain in order, then maybe signal: count or -1. */
static int pfake_serve(struct pfake *f)
{
	struct fake_req *req = malloc(sizeof(*req));
	int n = 0, r;

	if (!req)
		return -1;
	while ((r = pfake_pop(f, req)) > 0) {
		if (pfake_complete(f, req)) {
			r = -1;
			break;
		}
		n++;
	}
	free(req);
	if (r < 0)
		return -1;
	if (n)
		pfake_signal(f);
	return n;
}

static void pfake_disable_notify(struct pfake *f)
{
	st16(&f->device->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
}

/* Returns true if nothing is available once kicks are wanted again. */
static bool pfake_enable_notify(struct pfake *f)
{
	if (f->event_idx) {
		st16(&f->device->off_wrap,
		     f->avail_slot | (f->avail_wrap ? 0x8000 : 0));
		st16(&f->device->flags, VRING_PACKED_EVENT_FLAG_DESC);
	} else {
		st16(&f->device->flags, VRING_PACKED_EVENT_FLAG_ENABLE);
	}
	atomic_thread_fence(memory_order_seq_cst);	/* pairs with (C) */
	return !pfake_is_avail(ld16(&f->desc[f->avail_slot].flags),
			       f->avail_wrap);
}

/* ------------------------------------------------------------------------
 * An ioctl recorder: this program's ioctl() takes the place of libc's, and
 * for one chosen fd records what the library asked instead of issuing it.
 */

struct rec {
	unsigned long req;
	union {
		uint64_t u64;
		struct vhost_vring_state state;
		struct vhost_vring_file file;
		struct vhost_vring_addr addr;
		/* struct vhost_memory with up to 4 regions */
		uint64_t mem[(sizeof(struct vhost_memory) +
			      4 * sizeof(struct vhost_memory_region)) / 8];
	};
};

static struct {
	int fd;				/* recorded fd, -1: none */
	unsigned int n;
	struct rec recs[32];
	unsigned long fail_req;		/* this request fails... */
	int fail_errno;			/* ...with this errno */
} recorder = { .fd = -1 };

int ioctl(int fd, unsigned long req, ...)
{
	struct rec *r;
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd != recorder.fd || recorder.fd < 0)
		return syscall(SYS_ioctl, fd, req, arg);
	if (recorder.n == KTAP_ARRAY_SIZE(recorder.recs)) {
		errno = E2BIG;
		return -1;
	}
	r = &recorder.recs[recorder.n++];
	memset(r, 0, sizeof(*r));
	r->req = req;
	if (req == VHOST_SET_MEM_TABLE) {
		const struct vhost_memory *m = arg;
		unsigned int n = m->nregions < 4 ? m->nregions : 4;

		memcpy(r->mem, m, sizeof(*m) + n * sizeof(m->regions[0]));
	} else if (arg && _IOC_DIR(req) & _IOC_WRITE) {
		memcpy(&r->u64, arg, _IOC_SIZE(req) < sizeof(r->addr) ?
		       _IOC_SIZE(req) : sizeof(r->addr));
	}
	if (req == recorder.fail_req) {
		errno = recorder.fail_errno;
		return -1;
	}
	/* Answers of a device offering IOTLB_MSG_V2 and a base of 1234. */
	if (req == VHOST_GET_FEATURES)
		*(uint64_t *)arg = BIT(VIRTIO_F_VERSION_1);
	else if (req == VHOST_GET_BACKEND_FEATURES)
		*(uint64_t *)arg = BIT(VHOST_BACKEND_F_IOTLB_MSG_V2);
	else if (req == VHOST_GET_VRING_BASE)
		((struct vhost_vring_state *)arg)->num = 1234;
	return 0;
}

/* Check recorded ioctl @i: request and (for the vring ones) index, value. */
static int rec_is(unsigned int i, unsigned long req, unsigned int index,
		  long long val)
{
	const struct rec *r = &recorder.recs[i];
	long long got = val;

	if (i >= recorder.n) {
		ktap_diag("ioctl %u: none recorded (%u in all)", i,
			  recorder.n);
		return -1;
	}
	if (req == VHOST_SET_VRING_NUM || req == VHOST_SET_VRING_BASE)
		got = r->state.num;
	else if (req == VHOST_SET_VRING_KICK || req == VHOST_SET_VRING_CALL ||
		 req == VHOST_SET_VRING_ERR || req == VHOST_NET_SET_BACKEND)
		got = r->file.fd;
	else if (req == VHOST_SET_FEATURES ||
		 req == VHOST_SET_BACKEND_FEATURES)
		got = r->u64;
	if (r->req != req || got != val ||
	    (index != ~0u && r->state.index != index)) {
		ktap_diag("ioctl %u: 0x%lx index %u value %lld, expected 0x%lx index %d value %lld",
			  i, r->req, r->state.index, got, req, (int)index,
			  val);
		return -1;
	}
	return 0;
}

/* Check the SET_VRING_ADDR recorded at @i against what @vq should send. */
static int rec_addr_is(unsigned int i, const struct vdrv_vq *vq,
		       unsigned int flags)
{
	const struct vhost_vring_addr *a = &recorder.recs[i].addr;

	if (rec_is(i, VHOST_SET_VRING_ADDR, vq->index, 0))
		return -1;
	if (a->flags != flags ||
	    a->desc_user_addr != (uintptr_t)vq->split.desc ||
	    a->avail_user_addr != (uintptr_t)vq->split.avail ||
	    a->used_user_addr != (uintptr_t)vq->split.used ||
	    a->log_guest_addr != vdrv_gpa(vq->mem, vq->split.used)) {
		ktap_diag("ioctl %u: SET_VRING_ADDR of vq %u is off", i,
			  vq->index);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Driver-side helpers
 */

/* Concatenate the bytes of @n buffers (by pointer or by GPA). */
static size_t gather(const struct vdrv_mem *mem, const struct vdrv_buf *b,
		     int n, uint8_t *dst, size_t cap)
{
	size_t len = 0;
	int k;

	for (k = 0; k < n; k++) {
		if (len + b[k].len > cap)
			return (size_t)-1;
		if (b[k].ptr)
			memcpy(dst + len, b[k].ptr, b[k].len);
		else if (vdrv_mem_read(mem, dst + len, b[k].gpa, b[k].len))
			return (size_t)-1;
		len += b[k].len;
	}
	return len;
}

static void randomize_bufs(const struct vdrv_mem *mem, struct vdrv_buf *b,
			   int n)
{
	uint8_t tmp[FAKE_MAX_DATA];
	int k;

	for (k = 0; k < n; k++) {
		fill_random(tmp, b[k].len);
		if (b[k].ptr)
			memcpy(b[k].ptr, tmp, b[k].len);
		else
			vdrv_mem_write(mem, b[k].gpa, tmp, b[k].len);
	}
}

/*
 * Did the device's reply to @out land in @in, and is @len what it should
 * be? Returns 0 or -1 with a diagnostic.
 */
static int check_reply(const struct vdrv_mem *mem, const struct vdrv_buf *out,
		       int n_out, const struct vdrv_buf *in, int n_in,
		       uint32_t len)
{
	static uint8_t o[FAKE_MAX_DATA], i[FAKE_MAX_DATA + REPLY_TRAILER];
	size_t ol = gather(mem, out, n_out, o, sizeof(o));
	size_t il = gather(mem, in, n_in, i, sizeof(i));
	size_t want = reply_len(ol, il), j;

	if (ol == (size_t)-1 || il == (size_t)-1) {
		ktap_diag("cannot read the buffers back");
		return -1;
	}
	if (len != want) {
		ktap_diag("used len %u, expected %zu", len, want);
		return -1;
	}
	for (j = 0; j < want; j++) {
		if (i[j] != reply_byte(o, ol, j)) {
			ktap_diag("reply byte %zu is 0x%02x, expected 0x%02x",
				  j, i[j], reply_byte(o, ol, j));
			return -1;
		}
	}
	return 0;
}

/* Guest memory, one vq with @features at @start, and a fake attached. */
struct env {
	struct vdrv_mem *mem;
	struct vdrv_vq *vq;
	struct fake f;
};

static int env_init(struct env *e, size_t size, unsigned int num,
		    uint64_t features, uint16_t start)
{
	e->mem = vdrv_mem_create(size);
	e->vq = e->mem ? vdrv_vq_create(NULL, e->mem, 0, num, 0) : NULL;
	if (!e->vq) {
		ktap_diag("%s: %s", __func__, vdrv_last_error());
		return -1;
	}
	vdrv_vq_set_features(e->vq, features);
	if (vdrv_vq_set_start_idx(e->vq, start)) {
		ktap_diag("%s: %s", __func__, vdrv_last_error());
		return -1;
	}
	fake_attach(&e->f, e->vq);
	return 0;
}

static void env_fini(struct env *e)
{
	vdrv_vq_destroy(e->vq);
	vdrv_mem_destroy(e->mem);
}

/* Allocate @n guest buffers of @len bytes each. */
static int alloc_bufs(struct vdrv_mem *mem, struct vdrv_buf *b, int n,
		      uint32_t len)
{
	while (n--) {
		b[n].ptr = vdrv_mem_alloc(mem, len, 1);
		b[n].len = len;
		if (!b[n].ptr) {
			ktap_diag("%s: %s", __func__, vdrv_last_error());
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Cases
 */

/* The permissions /proc/self/maps gives the page of @addr, e.g. "rw-p". */
static const char *maps_perms(const void *addr)
{
	static char perms[8][5];
	static unsigned int slot;
	char line[512], *p = perms[slot++ % 8];
	unsigned long lo, hi;
	FILE *f;

	strcpy(p, "none");
	f = fopen("/proc/self/maps", "r");
	if (!f)
		return p;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 &&
		    (uintptr_t)addr >= lo && (uintptr_t)addr < hi)
			break;
		strcpy(p, "none");
	}
	fclose(f);
	return p;
}

/* GPA <-> HVA translation, regions, the allocator and out-of-range input. */
static enum ktap_result mem_translate(void)
{
	struct vdrv_mem *mem = vdrv_mem_create(64 * 1024);
	uint8_t pat[16], back[16], keep[4];
	struct vdrv_region *r0, *r1;
	struct vhost_memory *tbl;
	uint8_t *p, *q, *a;
	uint64_t gpa;
	int local;

	KTAP_CHECK(mem, "%s", vdrv_last_error());
	KTAP_EXPECT_EQ(vdrv_mem_add_region(mem, VDRV_GPA_AUTO, 64 * 1024), 1);
	KTAP_EXPECT_EQ(vdrv_mem_add_region(mem, 0x200000000ULL, 5000), 2);
	r0 = &mem->regions[0];
	r1 = &mem->regions[1];
	KTAP_EXPECT_EQ(r0->gpa, VDRV_GPA_BASE);
	KTAP_EXPECT_EQ(r1->gpa, VDRV_GPA_BASE + 64 * 1024);
	KTAP_EXPECT_EQ(mem->regions[2].size, 8192);
	KTAP_CHECK(r0->hva + r0->size != r1->hva &&
		   r1->hva + r1->size != r0->hva,
		   "GPA-adjacent regions must not be host-contiguous");

	p = vdrv_mem_alloc(mem, 100, 8);
	q = vdrv_mem_alloc_in(mem, 1, 100, 64);
	KTAP_CHECK(p && q, "%s", vdrv_last_error());
	gpa = vdrv_gpa(mem, p);
	KTAP_CHECK(gpa >= VDRV_GPA_BASE && gpa < VDRV_GPA_BASE + 65536,
		   "gpa 0x%llx", (unsigned long long)gpa);
	KTAP_CHECK(gpa != (uintptr_t)p, "GPA must differ from HVA");
	KTAP_CHECK(vdrv_hva(mem, gpa) == p, "round trip of p");
	KTAP_CHECK(vdrv_hva(mem, gpa + 99) == p + 99, "round trip of p+99");
	KTAP_EXPECT_EQ(vdrv_gpa(mem, q), r1->gpa + (q - r1->hva));
	KTAP_CHECK(vdrv_hva(mem, vdrv_gpa(mem, q)) == q, "round trip of q");
	KTAP_EXPECT_EQ((uintptr_t)q % 64, 0);

	/* Outside guest memory, both ways. */
	KTAP_EXPECT_EQ(vdrv_gpa(mem, r0->hva - 1), VDRV_GPA_INVALID);
	KTAP_EXPECT_EQ(vdrv_gpa(mem, r0->hva + r0->size), VDRV_GPA_INVALID);
	KTAP_EXPECT_EQ(vdrv_gpa(mem, &local), VDRV_GPA_INVALID);
	KTAP_CHECK(!vdrv_hva(mem, VDRV_GPA_BASE - 1), "below the first region");
	KTAP_CHECK(!vdrv_hva(mem, VDRV_GPA_BASE + 128 * 1024), "in the hole");
	KTAP_CHECK(!vdrv_hva(mem, 0), "GPA 0");
	KTAP_CHECK(!vdrv_hva(mem, 0x200000000ULL + 8192), "past the end");
	KTAP_CHECK(vdrv_hva_range(mem, VDRV_GPA_BASE, 65536) == r0->hva,
		   "a whole region is one range");
	KTAP_CHECK(!vdrv_hva_range(mem, VDRV_GPA_BASE, 65537),
		   "a range crossing regions is not host-contiguous");
	KTAP_CHECK(!vdrv_hva_range(mem, VDRV_GPA_BASE + 65536 - 8, 16),
		   "straddling range");

	/* A copy straddling the two GPA-adjacent regions lands in both. */
	fill_random(pat, sizeof(pat));
	VOK(vdrv_mem_write(mem, r1->gpa - 8, pat, sizeof(pat)));
	KTAP_CHECK(!memcmp(r0->hva + r0->size - 8, pat, 8) &&
		   !memcmp(r1->hva, pat + 8, 8), "straddling write misplaced");
	VOK(vdrv_mem_read(mem, back, r1->gpa - 8, sizeof(back)));
	KTAP_CHECK(!memcmp(back, pat, sizeof(pat)), "straddling read");
	/* Running into the hole fails as a whole. */
	memcpy(keep, r1->hva + r1->size - 4, 4);
	VERR(vdrv_mem_write(mem, r1->gpa + r1->size - 4, pat, 8), EFAULT);
	KTAP_CHECK(!memcmp(keep, r1->hva + r1->size - 4, 4),
		   "a failed write must not write anything");
	VERR(vdrv_mem_read(mem, back, 0x1000, 4), EFAULT);

	/* Bad regions. */
	VERR(vdrv_mem_add_region(mem, 0x300000010ULL, 4096), EINVAL);
	VERR(vdrv_mem_add_region(mem, VDRV_GPA_BASE + 4096, 4096), EINVAL);
	VERR(vdrv_mem_add_region(mem, 0x300000000ULL, 0), EINVAL);

	/* The allocator: alignment, exhaustion, bad arguments. */
	KTAP_CHECK(vdrv_mem_alloc(mem, 1, 1), "1 byte");
	a = vdrv_mem_alloc(mem, 8, 4096);
	KTAP_CHECK(a, "%s", vdrv_last_error());
	KTAP_EXPECT_EQ((uintptr_t)a % 4096, 0);
	KTAP_EXPECT_EQ(vdrv_gpa(mem, a) % 4096, 0);
	errno = 0;
	KTAP_CHECK(!vdrv_mem_alloc(mem, 8, 3) && errno == EINVAL, "align 3");
	KTAP_CHECK(!vdrv_mem_alloc(mem, 8, 8192) && errno == EINVAL,
		   "align > page");
	KTAP_CHECK(!vdrv_mem_alloc(mem, 0, 8) && errno == EINVAL, "size 0");
	KTAP_CHECK(!vdrv_mem_alloc_in(mem, 2, 16384, 8) && errno == ENOMEM,
		   "too big for region 2");
	KTAP_CHECK(!vdrv_mem_alloc(mem, 1 << 20, 8) && errno == ENOMEM,
		   "too big for any region");
	KTAP_CHECK(!vdrv_mem_alloc_in(mem, 3, 8, 8) && errno == EINVAL,
		   "no region 3");

	/* The memory table QEMU would send. */
	tbl = vdrv_mem_table(mem);
	KTAP_CHECK(tbl, "%s", vdrv_last_error());
	KTAP_EXPECT_EQ(tbl->nregions, 3);
	KTAP_EXPECT_EQ(tbl->padding, 0);
	KTAP_EXPECT_EQ(tbl->regions[1].guest_phys_addr, r1->gpa);
	KTAP_EXPECT_EQ(tbl->regions[1].memory_size, r1->size);
	KTAP_EXPECT_EQ(tbl->regions[1].userspace_addr, (uintptr_t)r1->hva);
	KTAP_EXPECT_EQ(tbl->regions[2].memory_size, 8192);
	free(tbl);

	/* Guard pages either side of each region, as the kernel sees it. */
	KTAP_CHECK(!strcmp(maps_perms(r0->hva - 1), "---p") &&
		   !strcmp(maps_perms(r0->hva + r0->size), "---p") &&
		   !strcmp(maps_perms(r1->hva - 1), "---p") &&
		   !strcmp(maps_perms(r0->hva), "rw-p"),
		   "guard pages: below %s, above %s, region %s",
		   maps_perms(r0->hva - 1), maps_perms(r0->hva + r0->size),
		   maps_perms(r0->hva));
	vdrv_mem_destroy(mem);
	return KTAP_PASS;
}

/* The split ring's placement and the addresses given to SET_VRING_ADDR. */
static enum ktap_result ring_layout(void)
{
	static const unsigned int nums[] = { 1, 2, 256, 32768 };
	struct vdrv_mem *mem = vdrv_mem_create(4 * MIB);
	struct vhost_vring_addr a;
	unsigned int k;

	KTAP_CHECK(mem, "%s", vdrv_last_error());
	/* An odd start, so that the alignment padding is exercised. */
	KTAP_CHECK(vdrv_mem_alloc(mem, 3, 1), "%s", vdrv_last_error());
	for (k = 0; k < KTAP_ARRAY_SIZE(nums); k++) {
		unsigned int num = nums[k];
		struct vdrv_vq *vq = vdrv_vq_create(NULL, mem, k, num, 0);
		struct vdrv_split *s;
		uintptr_t desc, avail, used;

		KTAP_CHECK(vq, "num %u: %s", num, vdrv_last_error());
		s = &vq->split;
		desc = (uintptr_t)s->desc;
		avail = (uintptr_t)s->avail;
		used = (uintptr_t)s->used;
		KTAP_EXPECT_EQ(desc % 16, 0);
		KTAP_EXPECT_EQ(avail % 2, 0);
		KTAP_EXPECT_EQ(used % 4, 0);
		/* Tight: back to back, only alignment padding between. */
		KTAP_EXPECT_EQ(avail, desc + 16 * num);
		KTAP_CHECK(used >= avail + 6 + 2 * num &&
			   used < avail + 6 + 2 * num + 4,
			   "used ring at +%lu from avail",
			   (unsigned long)(used - avail));
		KTAP_CHECK((void *)s->used_event ==
			   (void *)&s->avail->ring[num],
			   "used_event placement");
		KTAP_CHECK((void *)s->avail_event ==
			   (void *)&s->used->ring[num],
			   "avail_event placement");
		KTAP_CHECK(vdrv_hva_range(mem, vdrv_gpa(mem, s->desc),
					  16 * num) &&
			   vdrv_hva_range(mem, vdrv_gpa(mem, s->avail),
					  6 + 2 * num) &&
			   vdrv_hva_range(mem, vdrv_gpa(mem, s->used),
					  6 + 8 * num),
			   "rings must lie in guest memory");

		vdrv_vq_addr(vq, &a);
		KTAP_EXPECT_EQ(a.index, k);
		KTAP_EXPECT_EQ(a.flags, 0);
		KTAP_EXPECT_EQ(a.desc_user_addr, desc);
		KTAP_EXPECT_EQ(a.avail_user_addr, avail);
		KTAP_EXPECT_EQ(a.used_user_addr, used);
		KTAP_EXPECT_EQ(a.log_guest_addr, vdrv_gpa(mem, s->used));
		KTAP_CHECK(a.log_guest_addr != used, "log address is a GPA");

		KTAP_EXPECT_EQ(vq->num_free, num);
		KTAP_CHECK(vq->kick_fd >= 0 && vq->call_fd >= 0 &&
			   vq->err_fd >= 0, "eventfds");
		KTAP_EXPECT_EQ(s->avail->idx, 0);
		KTAP_EXPECT_EQ(s->avail->flags, 0);
		vdrv_vq_destroy(vq);
	}

	/* Bad sizes and flags. */
	errno = 0;
	KTAP_CHECK(!vdrv_vq_create(NULL, mem, 0, 0, 0) && errno == EINVAL,
		   "num 0");
	KTAP_CHECK(!vdrv_vq_create(NULL, mem, 0, 3, 0) && errno == EINVAL,
		   "num 3");
	KTAP_CHECK(!vdrv_vq_create(NULL, mem, 0, 65536, 0) && errno == EINVAL,
		   "num 65536");
	KTAP_CHECK(!vdrv_vq_create(NULL, mem, 0, 8, 1u << 7) &&
		   errno == EINVAL, "unknown flag");
	{
		struct vdrv_vq *vq = vdrv_vq_create(NULL, mem, 0, 8,
						    VDRV_VQ_NO_ERR_FD);

		KTAP_CHECK(vq && vq->err_fd == -1, "NO_ERR_FD");
		vdrv_vq_destroy(vq);
	}
	vdrv_mem_destroy(mem);
	return KTAP_PASS;
}

/* Chains of out+in buffers, some straddling regions, round trip. */
static enum ktap_result chain_roundtrip(void)
{
	static const int shapes[][2] = {
		{ 1, 1 }, { 3, 2 }, { 1, 0 }, { 0, 2 }, { 4, 4 }, { 1, 5 },
	};
	struct vdrv_buf out[8], in[8];
	struct vdrv_region *r0, *r1;
	int cookies[8];
	struct env e;
	unsigned int k;
	uint32_t len;

	KTAP_CHECK(!env_init(&e, 64 * 1024, 16, 0, 0), "setup");
	KTAP_EXPECT_EQ(vdrv_mem_add_region(e.mem, VDRV_GPA_AUTO, 64 * 1024), 1);
	r0 = &e.mem->regions[0];
	r1 = &e.mem->regions[1];

	for (k = 0; k <= KTAP_ARRAY_SIZE(shapes); k++) {
		int n_out, n_in, head;

		if (k < KTAP_ARRAY_SIZE(shapes)) {
			n_out = shapes[k][0];
			n_in = shapes[k][1];
			KTAP_CHECK(!alloc_bufs(e.mem, out, n_out, 37 + k) &&
				   !alloc_bufs(e.mem, in, n_in, 29 + 3 * k),
				   "buffers");
		} else {
			/* Buffers across the region boundary, by GPA. */
			n_out = 2;
			n_in = 2;
			out[0] = (struct vdrv_buf){ .gpa = r1->gpa - 10,
						    .len = 20 };
			out[1] = (struct vdrv_buf){ .gpa = r1->gpa + 10,
						    .len = 5 };
			in[0] = (struct vdrv_buf){ .gpa = r1->gpa + 100,
						   .len = 4 };
			in[1] = (struct vdrv_buf){ .gpa = r1->gpa - 50,
						   .len = 40 };
			r0->used = r0->size;	/* keep the allocator away */
		}
		randomize_bufs(e.mem, out, n_out);
		randomize_bufs(e.mem, in, n_in);

		head = vdrv_vq_add(e.vq, out, n_out, in, n_in, &cookies[k]);
		VOK(head);
		KTAP_EXPECT_EQ(e.vq->num_free, 16 - n_out - n_in);
		KTAP_EXPECT_EQ(vdrv_vq_used_pending(e.vq), 0);
		KTAP_CHECK(!vdrv_vq_get_used(e.vq, &len) && errno == EAGAIN,
			   "nothing used yet");
		KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 1);
		KTAP_EXPECT_EQ(kicks(e.f.kick_fd), 1);

		KTAP_EXPECT_EQ(fake_serve(&e.f), 1);
		KTAP_EXPECT_EQ(vdrv_vq_used_pending(e.vq), 1);
		KTAP_CHECK(vdrv_vq_get_used(e.vq, &len) == &cookies[k],
			   "wrong cookie");
		KTAP_CHECK(!check_reply(e.mem, out, n_out, in, n_in, len),
			   "shape %u: %d out, %d in", k, n_out, n_in);
		KTAP_EXPECT_EQ(e.vq->num_free, 16);
		KTAP_EXPECT_EQ(e.f.signals, k + 1);
		KTAP_EXPECT_EQ(vdrv_vq_wait(e.vq, 0), 0);
	}
	KTAP_EXPECT_EQ(e.vq->avail_idx, KTAP_ARRAY_SIZE(shapes) + 1);
	env_fini(&e);
	return KTAP_PASS;
}

/* Indirect chains take one ring descriptor; their tables are reused. */
static enum ktap_result indirect_chain(void)
{
	struct vdrv_buf out[8], in[16], small_in[3];
	const struct vring_desc *d, *t;
	int head, h, h2, k, direct, cookies[4];
	uint64_t table_gpa;
	struct env e;
	uint32_t len;

	KTAP_CHECK(!env_init(&e, 256 * 1024, 16,
			     BIT(VIRTIO_RING_F_INDIRECT_DESC), 0), "setup");
	KTAP_CHECK(!alloc_bufs(e.mem, out, 8, 24) &&
		   !alloc_bufs(e.mem, in, 16, 16) &&
		   !alloc_bufs(e.mem, small_in, 3, 8), "buffers");
	randomize_bufs(e.mem, out, 8);

	/* 20 buffers, more than the ring has descriptors, take one. */
	head = vdrv_vq_add_indirect(e.vq, out, 8, in, 12, &cookies[0]);
	VOK(head);
	KTAP_EXPECT_EQ(e.vq->num_free, 15);
	d = &e.vq->split.desc[head];
	KTAP_EXPECT_EQ(d->flags, VRING_DESC_F_INDIRECT);
	KTAP_EXPECT_EQ(d->len, 20 * sizeof(struct vring_desc));
	table_gpa = d->addr;
	t = vdrv_hva_range(e.mem, table_gpa, d->len);
	KTAP_CHECK(t, "indirect table is not guest memory");
	KTAP_EXPECT_EQ(table_gpa % 16, 0);
	for (k = 0; k < 20; k++) {
		uint16_t want = (k < 8 ? 0 : VRING_DESC_F_WRITE) |
				(k < 19 ? VRING_DESC_F_NEXT : 0);

		KTAP_EXPECT_EQ(t[k].flags, want);
		if (k < 19)
			KTAP_EXPECT_EQ(t[k].next, k + 1);
		KTAP_EXPECT_EQ(t[k].addr, vdrv_gpa(e.mem, k < 8 ? out[k].ptr :
						   in[k - 8].ptr));
	}
	KTAP_EXPECT_EQ(fake_serve(&e.f), 1);
	KTAP_CHECK(vdrv_vq_get_used(e.vq, &len) == &cookies[0], "cookie");
	KTAP_CHECK(!check_reply(e.mem, out, 8, in, 12, len), "first data");
	KTAP_EXPECT_EQ(e.vq->num_free, 16);

	/* The head comes back first and reuses its table: it fits. */
	randomize_bufs(e.mem, out, 8);
	h = vdrv_vq_add_indirect(e.vq, out, 3, in, 4, &cookies[1]);
	KTAP_EXPECT_EQ(h, head);
	KTAP_EXPECT_EQ(e.vq->split.desc[h].addr, table_gpa);
	KTAP_EXPECT_EQ(e.vq->split.desc[h].len, 7 * 16);
	KTAP_EXPECT_EQ(fake_serve(&e.f), 1);
	KTAP_CHECK(vdrv_vq_get_used(e.vq, &len) == &cookies[1], "cookie");
	KTAP_CHECK(!check_reply(e.mem, out, 3, in, 4, len), "second data");

	/*
	 * 24 entries do not fit: a new table for the same head. With it in
	 * flight, a direct chain and another indirect one on its own head.
	 */
	randomize_bufs(e.mem, out, 8);
	h = vdrv_vq_add_indirect(e.vq, out, 8, in, 16, &cookies[2]);
	KTAP_EXPECT_EQ(h, head);
	KTAP_CHECK(e.vq->split.desc[h].addr != table_gpa, "table not replaced");
	KTAP_EXPECT_EQ(e.vq->split.desc[h].len, 24 * 16);
	direct = vdrv_vq_add(e.vq, out, 2, small_in, 2, &direct);
	VOK(direct);
	h2 = vdrv_vq_add_indirect(e.vq, out + 2, 1, small_in + 2, 1,
				  &cookies[3]);
	VOK(h2);
	KTAP_CHECK(h2 != h && e.vq->split.desc[h2].addr != table_gpa &&
		   e.vq->split.desc[h2].addr != e.vq->split.desc[h].addr,
		   "each head has its own table");
	KTAP_EXPECT_EQ(e.vq->num_free, 16 - 1 - 4 - 1);

	KTAP_EXPECT_EQ(fake_serve(&e.f), 3);
	KTAP_CHECK(vdrv_vq_get_used(e.vq, &len) == &cookies[2], "cookie 2");
	KTAP_CHECK(!check_reply(e.mem, out, 8, in, 16, len), "third data");
	KTAP_CHECK(vdrv_vq_get_used(e.vq, &len) == &direct, "direct cookie");
	KTAP_CHECK(!check_reply(e.mem, out, 2, small_in, 2, len),
		   "direct data");
	KTAP_CHECK(vdrv_vq_get_used(e.vq, &len) == &cookies[3], "cookie 3");
	KTAP_CHECK(!check_reply(e.mem, out + 2, 1, small_in + 2, 1, len),
		   "fourth data");
	KTAP_EXPECT_EQ(e.vq->num_free, 16);
	env_fini(&e);
	return KTAP_PASS;
}

struct rq {
	unsigned int serial;
	int n_out, n_in;
	unsigned int ndesc;
	int head;
	bool busy;
	struct vdrv_buf out[4], in[6];
};

/*
 * The free list must hold exactly num_free distinct descriptors, none of
 * them used by a chain in flight (read back from the descriptor table).
 */
static int check_free_list(const struct vdrv_vq *vq, const struct rq *rq,
			   unsigned int nrq)
{
	uint8_t mark[VDRV_VQ_MAX_NUM] = { 0 };
	unsigned int k, i, n;

	for (k = 0; k < nrq; k++) {
		if (!rq[k].busy)
			continue;
		for (i = rq[k].head, n = 0; n < vq->num; n++) {
			mark[i] = 1;
			if (!(vq->split.desc[i].flags & VRING_DESC_F_NEXT))
				break;
			i = vq->split.desc[i].next;
		}
	}
	for (i = vq->free_head, n = 0; n < vq->num_free; n++) {
		if (mark[i]) {
			ktap_diag("free descriptor %u is %s", i,
				  mark[i] == 1 ? "in flight" : "listed twice");
			return -1;
		}
		mark[i] = 2;
		i = vq->next[i];
	}
	return 0;
}

/*
 * Many rounds of random chains, direct and indirect, which the device
 * holds for a random while and completes out of order: every cookie comes
 * back exactly once with its own data, the free list stays sound while
 * chains are in flight, and no descriptor leaks.
 */
static enum ktap_result freelist_reuse(void)
{
	enum { NUM = 16, ROUNDS = 20000 };
	unsigned int issued = 0, completed = 0, in_use = 0, round, k;
	static struct fake_req pool[NUM];
	struct fake_req *spare[NUM], *pend[NUM];
	unsigned int nspare = NUM, npend = 0;
	struct rq rq[NUM];
	struct env e;

	KTAP_CHECK(!env_init(&e, 1 * MIB, NUM,
			     BIT(VIRTIO_RING_F_INDIRECT_DESC), 0), "setup");
	memset(rq, 0, sizeof(rq));
	for (k = 0; k < NUM; k++)
		KTAP_CHECK(!alloc_bufs(e.mem, rq[k].out, 4, 16) &&
			   !alloc_bufs(e.mem, rq[k].in, 6, 8), "buffers");

	for (k = 0; k < NUM; k++)
		spare[k] = &pool[k];

	for (round = 0; round <= ROUNDS; round++) {
		bool last = round == ROUNDS;
		unsigned int want = last ? 0 : rnd() % 6, ndone;
		uint32_t len;
		struct rq *c;
		int r = 0;

		/* Post up to @want chains. */
		while (want--) {
			bool ind = !(rnd() % 4);
			struct rq *q = NULL;

			for (k = 0; k < NUM; k++) {
				if (!rq[k].busy) {
					q = &rq[k];
					break;
				}
			}
			if (!q)
				break;
			q->n_out = rnd() % 3 + !ind;	/* 0..2 or 1..3 */
			q->n_in = rnd() % (ind ? 6 : 3) + 1;
			q->ndesc = ind ? 1 : q->n_out + q->n_in;
			q->serial = ++issued;
			randomize_bufs(e.mem, q->out, q->n_out);
			/* The serial goes out first, so it comes back. */
			if (q->n_out)
				memcpy(q->out[0].ptr, &q->serial, 4);
			r = vdrv_vq_add_flags(e.vq, q->out, q->n_out, q->in,
					      q->n_in, q,
					      ind ? VDRV_ADD_INDIRECT : 0);
			if (r == -ENOSPC) {
				KTAP_CHECK(e.vq->num_free < q->ndesc,
					   "ENOSPC with %u free, %u needed",
					   e.vq->num_free, q->ndesc);
				issued--;
				break;
			}
			VOK(r);
			q->head = r;
			q->busy = true;
			in_use += q->ndesc;
			KTAP_EXPECT_EQ(e.vq->num_free, NUM - in_use);
		}

		/* The device takes what is new... */
		while (nspare && (r = fake_pop(&e.f, spare[nspare - 1])) > 0)
			pend[npend++] = spare[--nspare];
		KTAP_CHECK(r >= 0, "fake device choked");
		/* ...and completes a random part of what it holds. */
		for (k = npend; k > 1; k--) {
			unsigned int j = rnd() % k;
			struct fake_req *tmp = pend[k - 1];

			pend[k - 1] = pend[j];
			pend[j] = tmp;
		}
		ndone = last ? npend : rnd() % (npend + 1);
		for (k = 0; k < ndone; k++) {
			KTAP_CHECK(!fake_complete(&e.f, pend[npend - 1]),
				   "complete");
			spare[nspare++] = pend[--npend];
		}

		while ((c = vdrv_vq_get_used(e.vq, &len))) {
			KTAP_CHECK(c >= rq && c < rq + NUM && c->busy,
				   "cookie %p is not an in-flight request", c);
			KTAP_CHECK(!check_reply(e.mem, c->out, c->n_out, c->in,
						c->n_in, len),
				   "request %u", c->serial);
			c->busy = false;
			in_use -= c->ndesc;
			completed++;
			KTAP_EXPECT_EQ(e.vq->num_free, NUM - in_use);
		}
		KTAP_CHECK(errno == EAGAIN, "get_used: %s", vdrv_last_error());
		KTAP_CHECK(!check_free_list(e.vq, rq, NUM), "round %u", round);
	}
	KTAP_EXPECT_EQ(completed, issued);
	KTAP_EXPECT_EQ(npend, 0);
	KTAP_EXPECT_EQ(in_use, 0);
	KTAP_EXPECT_EQ(e.vq->num_free, NUM);
	KTAP_CHECK(issued > ROUNDS, "only %u requests issued", issued);
	ktap_diag("%u chains through a %u-entry ring", issued, NUM);
	env_fini(&e);
	return KTAP_PASS;
}

/* Indexes start at 65530 and wrap past 65535. */
static enum ktap_result idx_wrap(void)
{
	enum { NUM = 8 };
	uint16_t start = 65530;
	struct vdrv_buf out[NUM], in[NUM];
	unsigned int total = 0, round, k;
	int cookies[NUM];
	struct env e;
	uint32_t len;

	KTAP_CHECK(!env_init(&e, 256 * 1024, NUM, 0, start), "setup");
	KTAP_EXPECT_EQ(e.vq->base, start);
	KTAP_EXPECT_EQ(e.vq->split.avail->idx, start);
	KTAP_EXPECT_EQ(e.vq->split.used->idx, start);
	KTAP_EXPECT_EQ(e.f.last_avail, start);
	KTAP_EXPECT_EQ(e.f.last_used, start);
	KTAP_CHECK(!alloc_bufs(e.mem, out, NUM, 8) &&
		   !alloc_bufs(e.mem, in, NUM, 16), "buffers");

	for (round = 0; round < 40; round++) {
		unsigned int n = rnd() % (NUM / 2) + 1;	/* 2 descs each */

		for (k = 0; k < n; k++) {
			randomize_bufs(e.mem, &out[k], 1);
			VOK(vdrv_vq_add(e.vq, &out[k], 1, &in[k], 1,
					&cookies[k]));
		}
		KTAP_EXPECT_EQ(e.vq->split.avail->idx,
			       (uint16_t)(start + total + n));
		KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 1);
		KTAP_EXPECT_EQ(fake_serve(&e.f), n);
		for (k = 0; k < n; k++) {
			KTAP_CHECK(vdrv_vq_get_used(e.vq, &len) == &cookies[k],
				   "round %u: completion %u out of order",
				   round, k);
			KTAP_CHECK(!check_reply(e.mem, &out[k], 1, &in[k], 1,
						len), "round %u", round);
		}
		total += n;
	}
	KTAP_CHECK(start + total > 65536 + NUM, "did not wrap");
	KTAP_EXPECT_EQ(e.vq->split.avail->idx, (uint16_t)(start + total));
	KTAP_EXPECT_EQ(e.vq->split.used->idx, (uint16_t)(start + total));
	KTAP_EXPECT_EQ(e.vq->last_used_idx, (uint16_t)(start + total));
	KTAP_EXPECT_EQ(e.f.last_avail, (uint16_t)(start + total));

	/* Changing the start with a chain in flight is refused. */
	VOK(vdrv_vq_add(e.vq, out, 1, in, 1, cookies));
	VERR(vdrv_vq_set_start_idx(e.vq, 0), EBUSY);
	env_fini(&e);
	return KTAP_PASS;
}

/* Reference for vdrv_need_event(): is @event in [@old, @new) mod 2^16? */
static bool need_event_ref(uint16_t event, uint16_t new_idx, uint16_t old)
{
	uint16_t k;

	for (k = old; k != new_idx; k++)
		if (k == event)
			return true;
	return false;
}

/* Kick suppression: avail_event with EVENT_IDX, NO_NOTIFY without. */
static enum ktap_result kick_suppression(void)
{
	struct vdrv_buf out, in;
	struct env e;
	unsigned int k;
	int cookie;

	/* The predicate itself, against a plain walk of the window. */
	for (k = 0; k < 200000; k++) {
		uint16_t old = rnd(), new_idx = old + rnd() % 300,
			 event = k & 1 ? old + rnd() % 400 - 50 : rnd();

		KTAP_CHECK(vdrv_need_event(event, new_idx, old) ==
			   need_event_ref(event, new_idx, old),
			   "need_event(%u, %u, %u)", event, new_idx, old);
	}

	KTAP_CHECK(!env_init(&e, 64 * 1024, 8,
			     BIT(VIRTIO_RING_F_EVENT_IDX), 0), "setup");
	KTAP_CHECK(!alloc_bufs(e.mem, &out, 1, 8) &&
		   !alloc_bufs(e.mem, &in, 1, 16), "buffers");
#define ADD(n)								\
	do {								\
		for (int i_ = 0; i_ < (n); i_++)			\
			VOK(vdrv_vq_add(e.vq, &out, 1, NULL, 0, &cookie)); \
	} while (0)
#define DRAIN()								\
	do {								\
		KTAP_CHECK(fake_serve(&e.f) >= 0, "serve");		\
		while (vdrv_vq_get_used(e.vq, NULL))			\
			;						\
	} while (0)

	/* avail_event 0 and 0 -> 1 passes it. */
	ADD(1);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 1);
	KTAP_EXPECT_EQ(kicks(e.f.kick_fd), 1);
	/* The device wants a kick once idx passes 5: 1 -> 3 does not. */
	st16(e.f.avail_event, 5);
	ADD(2);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 0);
	KTAP_EXPECT_EQ(kicks(e.f.kick_fd), 0);
	/* 3 -> 6 does, even though 5 was reached in the middle. */
	ADD(3);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 1);
	KTAP_EXPECT_EQ(kicks(e.f.kick_fd), 1);
	/* Kicking again with nothing new published: no. */
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 0);
	DRAIN();
	/* NO_NOTIFY is ignored with EVENT_IDX. */
	st16(&e.f.used->flags, VRING_USED_F_NO_NOTIFY);
	st16(e.f.avail_event, 6);
	ADD(1);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 1);
	/* A forced kick always notifies and restarts the window. */
	st16(e.f.avail_event, 100);
	ADD(1);
	KTAP_EXPECT_EQ(vdrv_vq_kick_force(e.vq), 0);
	KTAP_EXPECT_EQ(kicks(e.f.kick_fd), 2);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 0);
	/* Unpublished chains are not kicked for. */
	st16(e.f.avail_event, 8);
	VOK(vdrv_vq_add_flags(e.vq, &out, 1, NULL, 0, &cookie,
			      VDRV_ADD_NO_PUBLISH));
	KTAP_EXPECT_EQ(e.vq->split.avail->idx, 8);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 0);
	vdrv_vq_publish(e.vq);
	KTAP_EXPECT_EQ(e.vq->split.avail->idx, 9);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 1);
	DRAIN();
	env_fini(&e);

	/*
	 * Starting at 65533, the device has not written avail_event yet:
	 * the first chain is kicked for all the same. Then across the wrap:
	 * 65534 -> 65535 misses event 65535, -> 0 hits.
	 */
	KTAP_CHECK(!env_init(&e, 64 * 1024, 8,
			     BIT(VIRTIO_RING_F_EVENT_IDX), 65533), "setup");
	KTAP_CHECK(!alloc_bufs(e.mem, &out, 1, 8) &&
		   !alloc_bufs(e.mem, &in, 1, 16), "buffers");
	ADD(1);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 1);
	st16(e.f.avail_event, 65535);
	ADD(1);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 0);
	ADD(1);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 1);
	DRAIN();
	env_fini(&e);

	/* Without EVENT_IDX: used->flags NO_NOTIFY, avail_event ignored. */
	KTAP_CHECK(!env_init(&e, 64 * 1024, 8, 0, 0), "setup");
	KTAP_CHECK(!alloc_bufs(e.mem, &out, 1, 8) &&
		   !alloc_bufs(e.mem, &in, 1, 16), "buffers");
	st16(e.f.avail_event, 1000);
	ADD(1);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 1);
	fake_disable_notify(&e.f);
	ADD(2);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 0);
	KTAP_CHECK(!fake_enable_notify(&e.f), "entries are pending");
	ADD(1);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 1);
	KTAP_EXPECT_EQ(kicks(e.f.kick_fd), 2);
	DRAIN();
	env_fini(&e);
#undef ADD
#undef DRAIN
	return KTAP_PASS;
}

/*
 * Used buffer notification suppression, with and without EVENT_IDX, as the
 * fake device (vhost's rules) sees it.
 */
static enum ktap_result intr_suppression(void)
{
	static struct fake_req reqbuf;
	struct fake_req *req = &reqbuf;
	struct vdrv_buf out, in;
	unsigned int mode, k;
	struct env e;
	int cookie;

	for (mode = 0; mode < 2; mode++) {
		bool ev = mode;
		unsigned int before;

		KTAP_CHECK(!env_init(&e, 64 * 1024, 8,
				     ev ? BIT(VIRTIO_RING_F_EVENT_IDX) : 0,
				     65000), "setup");
		KTAP_CHECK(!alloc_bufs(e.mem, &out, 1, 8) &&
			   !alloc_bufs(e.mem, &in, 1, 16), "buffers");
		KTAP_EXPECT_EQ(e.vq->split.avail->flags, 0);
		if (ev)
			KTAP_EXPECT_EQ(*e.vq->split.used_event, 65000);

		/* Enabled: each completion signals. */
		VOK(vdrv_vq_add(e.vq, &out, 1, &in, 1, &cookie));
		KTAP_EXPECT_EQ(fake_serve(&e.f), 1);
		KTAP_EXPECT_EQ(e.f.signals, 1);
		KTAP_EXPECT_EQ(vdrv_vq_wait(e.vq, 0), 0);
		KTAP_CHECK(vdrv_vq_get_used(e.vq, NULL) == &cookie, "reap");
		if (ev)
			KTAP_EXPECT_EQ(*e.vq->split.used_event, 65001);

		/*
		 * Disabled: no signal over several ring-fulls, reaping in
		 * between, and across the index wrap.
		 */
		vdrv_vq_disable_cb(e.vq);
		KTAP_EXPECT_EQ(e.vq->split.avail->flags,
			       ev ? 0 : VRING_AVAIL_F_NO_INTERRUPT);
		before = e.f.signals;
		for (k = 0; k < 300; k++) {
			unsigned int n = rnd() % e.vq->num_free + 1, i;

			for (i = 0; i < n; i++)
				VOK(vdrv_vq_add(e.vq, NULL, 0, &in, 1,
						&cookie));
			KTAP_EXPECT_EQ(fake_serve(&e.f), n);
			/* Every third round, leave half for the next. */
			n = vdrv_vq_used_pending(e.vq);
			for (i = 0; i < (k % 3 ? n : n / 2); i++)
				KTAP_CHECK(vdrv_vq_get_used(e.vq, NULL),
					   "reap");
		}
		/*
		 * What a real device racing with us can do: we reap in the
		 * middle of its batch, so its window [old, new) starts before
		 * our last_used.
		 */
		for (k = 0; k < 4; k++)
			VOK(vdrv_vq_add(e.vq, NULL, 0, &in, 1, &cookie));
		for (k = 0; k < 4; k++) {
			KTAP_EXPECT_EQ(fake_pop(&e.f, req), 1);
			KTAP_CHECK(!fake_complete(&e.f, req), "complete");
			if (k == 1)
				KTAP_CHECK(vdrv_vq_get_used(e.vq, NULL),
					   "reap mid-batch");
		}
		fake_signal(&e.f);
		KTAP_EXPECT_EQ(e.f.signals, before);
		KTAP_EXPECT_EQ(vdrv_vq_wait(e.vq, 0), -ETIMEDOUT);
		KTAP_CHECK(e.vq->last_used_idx < 65000,
			   "the indexes should have wrapped");

		/* Enabling with entries pending says so. */
		KTAP_CHECK(vdrv_vq_used_pending(e.vq) > 0, "want leftovers");
		KTAP_CHECK(!vdrv_vq_enable_cb(e.vq),
			   "enable_cb must report pending entries");
		KTAP_EXPECT_EQ(e.vq->split.avail->flags, 0);
		while (vdrv_vq_get_used(e.vq, NULL))
			;
		KTAP_CHECK(vdrv_vq_enable_cb(e.vq), "nothing pending now");
		if (ev)
			KTAP_EXPECT_EQ(*e.vq->split.used_event,
				       e.vq->last_used_idx);

		/* And the next completion signals again. */
		VOK(vdrv_vq_add(e.vq, &out, 1, &in, 1, &cookie));
		KTAP_EXPECT_EQ(fake_serve(&e.f), 1);
		KTAP_EXPECT_EQ(e.f.signals, before + 1);
		KTAP_CHECK(vdrv_vq_wait_used(e.vq, NULL, 1000) == &cookie,
			   "%s", vdrv_last_error());
		env_fini(&e);
	}
	return KTAP_PASS;
}

/* Out of descriptors, bad arguments: errors, and nothing changes. */
static enum ktap_result enospc_einval(void)
{
	struct vdrv_buf out[9], in, bad;
	struct env e;
	int k, local;
	uint16_t free_head;

	KTAP_CHECK(!env_init(&e, 64 * 1024, 8, 0, 0), "setup");
	KTAP_CHECK(!alloc_bufs(e.mem, out, 9, 8) &&
		   !alloc_bufs(e.mem, &in, 1, 8), "buffers");

	VERR(vdrv_vq_add(e.vq, out, 9, NULL, 0, &e), EINVAL);	/* > num */
	VERR(vdrv_vq_add(e.vq, out, 0, &in, 0, &e), EINVAL);	/* empty */
	VERR(vdrv_vq_add(e.vq, out, 1, &in, 1, NULL), EINVAL);	/* cookie */
	VERR(vdrv_vq_add(e.vq, out, -1, &in, 1, &e), EINVAL);
	VERR(vdrv_vq_add_flags(e.vq, out, 1, &in, 1, &e, 1u << 9), EINVAL);
	bad = (struct vdrv_buf){ .ptr = &local, .len = 4 };
	VERR(vdrv_vq_add(e.vq, &bad, 1, &in, 1, &e), EFAULT);
	/* Runs off the end of its region. */
	bad = (struct vdrv_buf){ .ptr = e.mem->regions[0].hva +
				 e.mem->regions[0].size - 4, .len = 8 };
	VERR(vdrv_vq_add(e.vq, out, 1, &bad, 1, &e), EFAULT);
	KTAP_EXPECT_EQ(e.vq->num_free, 8);
	KTAP_EXPECT_EQ(e.vq->avail_idx, 0);
	KTAP_EXPECT_EQ(e.vq->split.avail->idx, 0);

	/* 3 + 3 descriptors in use, 2 left. */
	VOK(vdrv_vq_add(e.vq, out, 2, &in, 1, &out[0]));
	VOK(vdrv_vq_add(e.vq, out, 3, NULL, 0, &out[1]));
	free_head = e.vq->free_head;
	VERR(vdrv_vq_add(e.vq, out, 3, NULL, 0, &e), ENOSPC);
	KTAP_CHECK(strstr(vdrv_last_error(), "3 descriptors needed, 2 free"),
		   "last_error: %s", vdrv_last_error());
	KTAP_EXPECT_EQ(e.vq->num_free, 2);
	KTAP_EXPECT_EQ(e.vq->free_head, free_head);
	KTAP_EXPECT_EQ(e.vq->split.avail->idx, 2);
	VOK(vdrv_vq_add(e.vq, out, 1, &in, 1, &out[2]));
	KTAP_EXPECT_EQ(e.vq->num_free, 0);
	VERR(vdrv_vq_add(e.vq, out, 1, NULL, 0, &e), ENOSPC);
	VERR(vdrv_vq_add_indirect(e.vq, out, 1, NULL, 0, &e), ENOSPC);

	/* One completion frees exactly its descriptors. */
	KTAP_EXPECT_EQ(fake_serve(&e.f), 3);
	KTAP_CHECK(vdrv_vq_get_used(e.vq, NULL) == &out[0], "first");
	KTAP_EXPECT_EQ(e.vq->num_free, 3);
	VOK(vdrv_vq_add(e.vq, out, 3, NULL, 0, &out[3]));
	KTAP_EXPECT_EQ(e.vq->num_free, 0);
	for (k = 0; k < 2; k++)
		KTAP_CHECK(vdrv_vq_get_used(e.vq, NULL) == &out[1 + k], "next");
	KTAP_EXPECT_EQ(e.vq->num_free, 5);
	env_fini(&e);
	return KTAP_PASS;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* vdrv_vq_wait(): call, err and timeout are told apart. */
static enum ktap_result wait_call_err(void)
{
	uint64_t one = 1;
	struct vdrv_buf out, in;
	struct vdrv_vq *noerr;
	struct env e;
	int64_t t0;
	int cookie;

	KTAP_CHECK(!env_init(&e, 64 * 1024, 8, 0, 0), "setup");
	KTAP_CHECK(!alloc_bufs(e.mem, &out, 1, 8) &&
		   !alloc_bufs(e.mem, &in, 1, 16), "buffers");

	VERR(vdrv_vq_wait(e.vq, 0), ETIMEDOUT);
	t0 = now_ms();
	VERR(vdrv_vq_wait(e.vq, 100), ETIMEDOUT);
	KTAP_CHECK(now_ms() - t0 >= 90, "returned after %lld ms",
		   (long long)(now_ms() - t0));

	KTAP_OK(write(e.vq->call_fd, &one, 8));
	KTAP_OK(write(e.vq->call_fd, &one, 8));
	KTAP_EXPECT_EQ(vdrv_vq_wait(e.vq, 1000), 0);
	VERR(vdrv_vq_wait(e.vq, 0), ETIMEDOUT);	/* consumed, both */

	KTAP_OK(write(e.vq->err_fd, &one, 8));
	VERR(vdrv_vq_wait(e.vq, 1000), EIO);
	KTAP_EXPECT_EQ(e.vq->err_count, 1);
	KTAP_OK(write(e.vq->err_fd, &one, 8));
	KTAP_OK(write(e.vq->call_fd, &one, 8));
	VERR(vdrv_vq_wait(e.vq, 1000), EIO);	/* err wins over call */
	KTAP_EXPECT_EQ(e.vq->err_count, 2);
	VERR(vdrv_vq_wait(e.vq, 0), ETIMEDOUT);

	/* wait_used: times out, then finds an entry with no call at all. */
	VOK(vdrv_vq_add(e.vq, &out, 1, &in, 1, &cookie));
	errno = 0;
	KTAP_CHECK(!vdrv_vq_wait_used(e.vq, NULL, 50) && errno == ETIMEDOUT,
		   "errno %d", errno);
	vdrv_vq_disable_cb(e.vq);
	KTAP_EXPECT_EQ(fake_serve(&e.f), 1);
	KTAP_EXPECT_EQ(e.f.signals, 0);
	KTAP_CHECK(vdrv_vq_wait_used(e.vq, NULL, 1000) == &cookie, "%s",
		   vdrv_last_error());
	/* An err during wait_used is reported as EIO. */
	KTAP_OK(write(e.vq->err_fd, &one, 8));
	errno = 0;
	KTAP_CHECK(!vdrv_vq_wait_used(e.vq, NULL, 1000) && errno == EIO,
		   "errno %d", errno);

	noerr = vdrv_vq_create(NULL, e.mem, 1, 8, VDRV_VQ_NO_ERR_FD);
	KTAP_CHECK(noerr, "%s", vdrv_last_error());
	VERR(vdrv_vq_wait(noerr, 10), ETIMEDOUT);
	KTAP_OK(write(noerr->call_fd, &one, 8));
	KTAP_EXPECT_EQ(vdrv_vq_wait(noerr, 1000), 0);
	vdrv_vq_destroy(noerr);
	env_fini(&e);
	return KTAP_PASS;
}

/*
 * A device that breaks the protocol is caught; the raw accessors write and
 * read the rings with no bookkeeping.
 */
static enum ktap_result broken_and_raw(void)
{
	struct vdrv_buf out, in;
	uint32_t id, len;
	struct env e;
	struct fake_req *req = malloc(sizeof(*req));
	unsigned int kind;
	int cookie, head;
	uint64_t gpa;

	KTAP_CHECK(req, "malloc");
	for (kind = 0; kind < 3; kind++) {
		KTAP_CHECK(!env_init(&e, 64 * 1024, 8, 0, 0), "setup");
		KTAP_CHECK(!alloc_bufs(e.mem, &out, 1, 8) &&
			   !alloc_bufs(e.mem, &in, 1, 16), "buffers");
		VOK(vdrv_vq_add(e.vq, &out, 1, &in, 1, &cookie));
		KTAP_EXPECT_EQ(fake_pop(&e.f, req), 1);
		if (kind == 0)
			fake_push_used(&e.f, req->head + 1, 0);
		else if (kind == 1)
			fake_push_used(&e.f, req->head, 17);
		else
			st16(&e.f.used->idx, e.f.last_used + 9);
		errno = 0;
		KTAP_CHECK(!vdrv_vq_get_used(e.vq, NULL) && errno == EPROTO,
			   "kind %u: errno %d", kind, errno);
		KTAP_CHECK(e.vq->broken, "kind %u: not broken", kind);
		ktap_diag("kind %u: %s", kind, vdrv_last_error());
		/* Sticky, even once the ring looks sane again. */
		st16(&e.f.used->idx, e.vq->last_used_idx);
		errno = 0;
		KTAP_CHECK(!vdrv_vq_get_used(e.vq, NULL) && errno == EPROTO,
			   "kind %u: broken must stay", kind);
		errno = 0;
		KTAP_CHECK(!vdrv_vq_wait_used(e.vq, NULL, 10) &&
			   errno == EPROTO, "wait_used on a broken vq");
		env_fini(&e);
	}

	/* Raw: a hand-made chain with a loop, pushed and reaped raw. */
	KTAP_CHECK(!env_init(&e, 64 * 1024, 8, 0, 0), "setup");
	KTAP_CHECK(!alloc_bufs(e.mem, &out, 1, 8), "buffers");
	gpa = vdrv_gpa(e.mem, out.ptr);
	VOK(vdrv_split_set_desc(e.vq, 5, gpa, 8, VRING_DESC_F_NEXT, 6));
	VOK(vdrv_split_set_desc(e.vq, 6, gpa, 8, VRING_DESC_F_NEXT, 5));
	VERR(vdrv_split_set_desc(e.vq, 8, 0, 0, 0, 0), EINVAL);
	KTAP_EXPECT_EQ(e.vq->split.desc[6].next, 5);
	KTAP_EXPECT_EQ(e.vq->split.desc[5].addr, gpa);
	VOK(vdrv_split_push_avail(e.vq, 5));
	KTAP_EXPECT_EQ(e.vq->split.avail->idx, 1);
	KTAP_EXPECT_EQ(e.vq->split.avail->ring[0], 5);
	KTAP_EXPECT_EQ(e.vq->num_free, 8);
	ktap_diag("the fake device must now refuse a looping chain:");
	KTAP_EXPECT_EQ(fake_pop(&e.f, req), -1);
	fake_push_used(&e.f, 5, 0);
	fake_push_used(&e.f, 4242, 77);
	KTAP_EXPECT_EQ(vdrv_split_pop_used(e.vq, &id, &len), 1);
	KTAP_CHECK(id == 5 && len == 0, "id %u len %u", id, len);
	KTAP_EXPECT_EQ(vdrv_split_pop_used(e.vq, &id, &len), 1);
	KTAP_CHECK(id == 4242 && len == 77, "id %u len %u", id, len);
	KTAP_EXPECT_EQ(vdrv_split_pop_used(e.vq, &id, &len), 0);
	KTAP_CHECK(!e.vq->broken, "raw pops are not checked");

	/* An avail idx jump, then normal adds carry on from there. */
	VOK(vdrv_split_set_avail_idx(e.vq, 1000));
	KTAP_EXPECT_EQ(e.vq->split.avail->idx, 1000);
	ktap_diag("and an avail idx that jumped by more than num:");
	KTAP_EXPECT_EQ(fake_pop(&e.f, req), -1);
	head = vdrv_vq_add(e.vq, &out, 1, NULL, 0, &cookie);
	VOK(head);
	KTAP_EXPECT_EQ(e.vq->split.avail->idx, 1001);
	KTAP_EXPECT_EQ(e.vq->split.avail->ring[1000 % 8], head);
	env_fini(&e);
	free(req);
	return KTAP_PASS;
}

/* A fake device thread driven only by kicks, like a vhost worker. */
struct tdev {
	struct fake f;
	atomic_bool stop;
	atomic_int errors;
};

static void *tdev_main(void *arg)
{
	struct tdev *t = arg;
	struct fake *f = &t->f;

	while (!atomic_load(&t->stop)) {
		struct pollfd p = { .fd = f->kick_fd, .events = POLLIN };

		/* No kick, no work: a missed kick hangs the driver. */
		if (poll(&p, 1, 20) <= 0)
			continue;
		kicks(f->kick_fd);
		for (;;) {
			fake_disable_notify(f);
			if (fake_serve(f) < 0) {
				atomic_fetch_add(&t->errors, 1);
				return NULL;
			}
			if (fake_enable_notify(f))
				break;
		}
	}
	return NULL;
}

/*
 * Driver and device on two threads with notifications suppressed where
 * they may be: a lost kick or a lost interrupt shows up as a timeout.
 */
static enum ktap_result threaded(uint64_t features)
{
	enum { NUM = 16, REQS = 20000 };
	unsigned int sent = 0, done = 0, kicked = 0, waits = 0;
	struct vdrv_buf out[NUM], in[NUM];
	uint16_t expect = 0;
	struct tdev t;
	pthread_t th;
	struct env e;
	uint32_t len;

	KTAP_CHECK(!env_init(&e, 256 * 1024, NUM, features, 0), "setup");
	KTAP_CHECK(!alloc_bufs(e.mem, out, NUM, 4) &&
		   !alloc_bufs(e.mem, in, NUM, 8), "buffers");
	t.f = e.f;
	atomic_init(&t.stop, false);
	atomic_init(&t.errors, 0);
	KTAP_CHECK(!pthread_create(&th, NULL, tdev_main, &t), "thread");

	while (done < REQS) {
		void *c;

		while (sent < REQS && e.vq->num_free >= 2) {
			unsigned int slot = sent % NUM;

			memcpy(out[slot].ptr, &sent, 4);
			VOK(vdrv_vq_add(e.vq, &out[slot], 1, &in[slot], 1,
					&out[slot]));
			sent++;
			if (rnd() % 4 == 0)
				break;
		}
		kicked += vdrv_vq_kick(e.vq) == 1;
		c = vdrv_vq_wait_used(e.vq, &len, 5000);
		waits++;
		while (c) {
			unsigned int slot = done % NUM, got;

			KTAP_CHECK(c == &out[slot],
				   "completion %u out of order", done);
			memcpy(&got, in[slot].ptr, 4);
			KTAP_CHECK(len == 7 && (got ^ 0x5a5a5a5a) == done,
				   "request %u: len %u data 0x%x", done, len,
				   got);
			done++;
			expect++;
			c = vdrv_vq_get_used(e.vq, &len);
		}
		if (errno != EAGAIN) {
			ktap_diag("after %u of %u: %s (device errors %d)",
				  done, REQS, vdrv_last_error(),
				  atomic_load(&t.errors));
			atomic_store(&t.stop, true);
			pthread_join(th, NULL);
			return KTAP_FAIL;
		}
	}
	atomic_store(&t.stop, true);
	pthread_join(th, NULL);
	KTAP_EXPECT_EQ(atomic_load(&t.errors), 0);
	KTAP_EXPECT_EQ(e.vq->num_free, NUM);
	KTAP_EXPECT_EQ(e.vq->split.used->idx, expect);
	ktap_diag("%u requests, %u kicks, %u interrupts, %u waits", REQS,
		  kicked, t.f.signals, waits);
	env_fini(&e);
	return KTAP_PASS;
}

static enum ktap_result threaded_event_idx(void)
{
	return threaded(BIT(VIRTIO_RING_F_EVENT_IDX));
}

static enum ktap_result threaded_flags(void)
{
	return threaded(0);
}

/* ------------------------------------------------------------------------
 * Packed rings, against the fake packed device
 */

struct penv {
	struct vdrv_mem *mem;
	struct vdrv_vq *vq;
	struct pfake f;
};

/* Like env_init(); @start < 0 keeps the fresh ring's positions. */
static int penv_init(struct penv *e, size_t size, unsigned int num,
		     uint64_t features, int start)
{
	e->mem = vdrv_mem_create(size);
	e->vq = e->mem ? vdrv_vq_create(NULL, e->mem, 0, num, VDRV_VQ_PACKED) :
			 NULL;
	if (!e->vq) {
		ktap_diag("%s: %s", __func__, vdrv_last_error());
		return -1;
	}
	vdrv_vq_set_features(e->vq, features);
	if (start >= 0 && vdrv_vq_set_start_idx(e->vq, start)) {
		ktap_diag("%s: %s", __func__, vdrv_last_error());
		return -1;
	}
	pfake_attach(&e->f, e->vq);
	return 0;
}

static void penv_fini(struct penv *e)
{
	vdrv_vq_destroy(e->vq);
	vdrv_mem_destroy(e->mem);
}

/* The flags a slot has when the driver made it available in lap @wrap. */
static uint16_t avail_bits(bool wrap)
{
	return wrap ? PF_AVAIL : PF_USED;
}

/* Packed layout, positions, SET_VRING_ADDR values and bad arguments. */
static enum ktap_result packed_layout(void)
{
	static const unsigned int nums[] = { 1, 3, 256, 1000, 32768 };
	struct vdrv_mem *mem = vdrv_mem_create(4 * MIB);
	struct vdrv_vq *vq, *split;
	struct vhost_vring_addr a;
	unsigned int k, i;

	KTAP_CHECK(mem, "%s", vdrv_last_error());
	KTAP_CHECK(vdrv_mem_alloc(mem, 3, 1), "%s", vdrv_last_error());
	for (k = 0; k < KTAP_ARRAY_SIZE(nums); k++) {
		unsigned int num = nums[k];
		struct vdrv_packed *p;
		uintptr_t desc, drv, dev;

		vq = vdrv_vq_create(NULL, mem, k, num, VDRV_VQ_PACKED);
		KTAP_CHECK(vq, "num %u: %s", num, vdrv_last_error());
		KTAP_EXPECT_EQ(vq->format, VDRV_RING_PACKED);
		p = &vq->packed;
		desc = (uintptr_t)p->desc;
		drv = (uintptr_t)p->driver;
		dev = (uintptr_t)p->device;
		KTAP_EXPECT_EQ(desc % 16, 0);
		KTAP_EXPECT_EQ(drv, desc + 16 * num);	/* tight */
		KTAP_EXPECT_EQ(dev, drv + 4);
		KTAP_CHECK(vdrv_hva_range(mem, vdrv_gpa(mem, p->desc),
					  16 * num + 8),
			   "rings must lie in guest memory");
		vdrv_vq_addr(vq, &a);
		KTAP_EXPECT_EQ(a.index, k);
		KTAP_EXPECT_EQ(a.flags, 0);
		KTAP_EXPECT_EQ(a.desc_user_addr, desc);
		KTAP_EXPECT_EQ(a.avail_user_addr, drv);
		KTAP_EXPECT_EQ(a.used_user_addr, dev);
		KTAP_EXPECT_EQ(a.log_guest_addr, vdrv_gpa(mem, p->device));
		/* Both wrap counters start at 1; the base says so. */
		KTAP_EXPECT_EQ(vq->base, 0x80008000u);
		KTAP_EXPECT_EQ(vq->avail_idx, 0x8000);
		KTAP_EXPECT_EQ(vq->last_used_idx, 0x8000);
		KTAP_EXPECT_EQ(vq->num_free, num);
		for (i = 0; i < num; i++)
			KTAP_EXPECT_EQ(p->desc[i].flags, 0);
		KTAP_EXPECT_EQ(p->driver->flags,
			       VRING_PACKED_EVENT_FLAG_ENABLE);
		KTAP_EXPECT_EQ(p->device->flags,
			       VRING_PACKED_EVENT_FLAG_ENABLE);
		vdrv_vq_destroy(vq);
	}

	errno = 0;
	KTAP_CHECK(!vdrv_vq_create(NULL, mem, 0, 0, VDRV_VQ_PACKED) &&
		   errno == EINVAL, "num 0");
	KTAP_CHECK(!vdrv_vq_create(NULL, mem, 0, 32769, VDRV_VQ_PACKED) &&
		   errno == EINVAL, "num 32769");
	KTAP_CHECK(!vdrv_vq_create(NULL, mem, 0, 3, 0) && errno == EINVAL,
		   "split num 3");

	/* A start position: this lap's bits before it, the last lap's after. */
	vq = vdrv_vq_create(NULL, mem, 0, 5, VDRV_VQ_PACKED);
	KTAP_CHECK(vq, "%s", vdrv_last_error());
	VERR(vdrv_vq_set_start_idx(vq, 5), EINVAL);
	VERR(vdrv_vq_set_start_idx(vq, 0x8005), EINVAL);
	VOK(vdrv_vq_set_start_idx(vq, 2));		/* slot 2, wrap 0 */
	KTAP_EXPECT_EQ(vq->base, 0x00020002u);
	for (i = 0; i < 5; i++)
		KTAP_EXPECT_EQ(vq->packed.desc[i].flags,
			       i < 2 ? 0 : PF_AVAIL | PF_USED);
	VOK(vdrv_vq_set_start_idx(vq, 0x8003));	/* slot 3, wrap 1 */
	KTAP_EXPECT_EQ(vq->base, 0x80038003u);
	for (i = 0; i < 5; i++)
		KTAP_EXPECT_EQ(vq->packed.desc[i].flags,
			       i < 3 ? PF_AVAIL | PF_USED : 0);

	/* Raw accessors of the other format refuse. */
	split = vdrv_vq_create(NULL, mem, 1, 8, 0);
	KTAP_CHECK(split, "%s", vdrv_last_error());
	VERR(vdrv_packed_set_desc(split, 0, 0, 0, 0, 0), EINVAL);
	VERR(vdrv_split_set_desc(vq, 0, 0, 0, 0, 0), EINVAL);
	VERR(vdrv_split_push_avail(vq, 0), EINVAL);
	VERR(vdrv_packed_set_desc(vq, 5, 0, 0, 0, 0), EINVAL);
	vdrv_vq_destroy(split);
	vdrv_vq_destroy(vq);
	vdrv_mem_destroy(mem);
	return KTAP_PASS;
}

/*
 * Chains of every shape, direct and indirect, many times round a 5-slot
 * ring (not a power of two) so that both wrap counters flip often; the
 * descriptors carry the chain's id and the lap's AVAIL/USED bits.
 */
static enum ktap_result packed_roundtrip(void)
{
	static const int shapes[][2] = {
		{ 1, 1 }, { 3, 2 }, { 1, 0 }, { 0, 2 }, { 2, 3 }, { 1, 4 },
	};
	enum { NUM = 5 };
	struct vdrv_buf out[8], in[8];
	unsigned int round, slots = 0, k;
	int cookie, id;
	struct penv e;
	uint32_t len;

	KTAP_CHECK(!penv_init(&e, 256 * 1024,  NUM,
			      BIT(VIRTIO_RING_F_INDIRECT_DESC), -1), "setup");
	KTAP_CHECK(!alloc_bufs(e.mem, out, 8, 24) &&
		   !alloc_bufs(e.mem, in, 8, 16), "buffers");
	for (round = 0; round < 60; round++) {
		const int *sh = shapes[round % KTAP_ARRAY_SIZE(shapes)];
		bool ind = round % 3 == 2;
		unsigned int n = sh[0] + sh[1], ndesc = ind ? 1 : n;
		uint16_t pos = e.vq->avail_idx;
		unsigned int slot = pos & 0x7fff;
		bool wrap = pos & 0x8000;

		randomize_bufs(e.mem, out, sh[0]);
		randomize_bufs(e.mem, in, sh[1]);
		id = vdrv_vq_add_flags(e.vq, out, sh[0], in, sh[1], &cookie,
				       ind ? VDRV_ADD_INDIRECT : 0);
		VOK(id);
		KTAP_CHECK(id < NUM, "id %d", id);
		KTAP_EXPECT_EQ(e.vq->num_free, NUM - ndesc);
		for (k = 0; k < ndesc; k++) {
			const struct vring_packed_desc *d =
				&e.vq->packed.desc[slot];
			uint16_t want = avail_bits(wrap);

			if (ind)
				want |= VRING_DESC_F_INDIRECT;
			else if ((int)k >= sh[0])
				want |= VRING_DESC_F_WRITE;
			if (k + 1 < ndesc)
				want |= VRING_DESC_F_NEXT;
			KTAP_EXPECT_EQ(d->flags, want);
			KTAP_EXPECT_EQ(d->id, id);
			if (ind)
				KTAP_EXPECT_EQ(d->len, n * 16);
			if (++slot == NUM) {
				slot = 0;
				wrap = !wrap;
			}
		}
		KTAP_EXPECT_EQ(e.vq->avail_idx, slot | (wrap ? 0x8000 : 0));
		KTAP_EXPECT_EQ(vdrv_vq_used_pending(e.vq), 0);
		KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 1);
		KTAP_EXPECT_EQ(kicks(e.f.kick_fd), 1);
		KTAP_EXPECT_EQ(pfake_serve(&e.f), 1);
		KTAP_EXPECT_EQ(vdrv_vq_used_pending(e.vq), 1);
		KTAP_CHECK(vdrv_vq_get_used(e.vq, &len) == &cookie, "cookie");
		KTAP_CHECK(!check_reply(e.mem, out, sh[0], in, sh[1], len),
			   "round %u", round);
		KTAP_EXPECT_EQ(e.vq->num_free, NUM);
		KTAP_EXPECT_EQ(e.vq->last_used_idx, e.vq->avail_idx);
		slots += ndesc;
	}
	KTAP_CHECK(slots > 10 * NUM, "only %u slots", slots);
	KTAP_EXPECT_EQ(e.f.signals, 60);
	penv_fini(&e);
	return KTAP_PASS;
}

/*
 * Out-of-order completion with chains of different lengths: the device
 * writes one used descriptor per chain, the next one as many slots on as
 * the chain took, whatever its id. And NO_PUBLISH batches: nothing is
 * visible until vdrv_vq_publish(), which exposes them all at once.
 */
static enum ktap_result packed_out_of_order(void)
{
	static struct fake_req reqs[3];
	struct vdrv_buf out[3], in[3];
	int cookie[3], ids[3], k;
	uint16_t head_slot;
	struct penv e;
	uint32_t len;

	KTAP_CHECK(!penv_init(&e, 256 * 1024, 7, 0, -1), "setup");
	KTAP_CHECK(!alloc_bufs(e.mem, out, 3, 8) &&
		   !alloc_bufs(e.mem, in, 3, 32), "buffers");
	/* A: 3 slots, B: 1, C: 2; the ring is 7, so the third round wraps. */
	for (int round = 0; round < 4; round++) {
		randomize_bufs(e.mem, out, 3);
		ids[0] = vdrv_vq_add(e.vq, out, 2, in, 1, &cookie[0]);
		ids[1] = vdrv_vq_add(e.vq, NULL, 0, in + 1, 1, &cookie[1]);
		ids[2] = vdrv_vq_add(e.vq, out + 2, 1, in + 2, 1, &cookie[2]);
		VOK(ids[0]);
		VOK(ids[1]);
		VOK(ids[2]);
		KTAP_CHECK(ids[0] != ids[1] && ids[1] != ids[2] &&
			   ids[0] != ids[2], "ids must differ");
		KTAP_EXPECT_EQ(e.vq->num_free, 1);
		VERR(vdrv_vq_add(e.vq, out, 1, in, 1, &cookie[0]), ENOSPC);
		for (k = 0; k < 3; k++)
			KTAP_EXPECT_EQ(pfake_pop(&e.f, &reqs[k]), 1);
		KTAP_EXPECT_EQ(reqs[0].ndesc, 3);
		KTAP_EXPECT_EQ(reqs[2].head, ids[2]);
		/* Completed B, C, A. */
		KTAP_CHECK(!pfake_complete(&e.f, &reqs[1]), "B");
		KTAP_CHECK(!pfake_complete(&e.f, &reqs[2]), "C");
		KTAP_EXPECT_EQ(vdrv_vq_used_pending(e.vq), 2);
		KTAP_CHECK(vdrv_vq_get_used(e.vq, &len) == &cookie[1], "B");
		KTAP_CHECK(!check_reply(e.mem, NULL, 0, in + 1, 1, len), "B");
		KTAP_EXPECT_EQ(e.vq->num_free, 2);
		KTAP_CHECK(!pfake_complete(&e.f, &reqs[0]), "A");
		KTAP_CHECK(vdrv_vq_get_used(e.vq, &len) == &cookie[2], "C");
		KTAP_CHECK(!check_reply(e.mem, out + 2, 1, in + 2, 1, len),
			   "C");
		KTAP_CHECK(vdrv_vq_get_used(e.vq, &len) == &cookie[0], "A");
		KTAP_CHECK(!check_reply(e.mem, out, 2, in, 1, len), "A");
		KTAP_CHECK(!vdrv_vq_get_used(e.vq, &len) && errno == EAGAIN,
			   "nothing more");
		KTAP_EXPECT_EQ(e.vq->num_free, 7);
		KTAP_EXPECT_EQ(e.vq->last_used_idx, e.vq->avail_idx);
	}

	/* NO_PUBLISH: three chains, invisible, then all at once. */
	head_slot = e.vq->avail_idx & 0x7fff;
	for (k = 0; k < 3; k++)
		VOK(vdrv_vq_add_flags(e.vq, out + k, 1, in + k, 1, &cookie[k],
				      VDRV_ADD_NO_PUBLISH));
	KTAP_EXPECT_EQ(e.vq->avail_pub, e.f.avail_slot |
		       (e.f.avail_wrap ? 0x8000 : 0));
	KTAP_EXPECT_EQ(pfake_pop(&e.f, &reqs[0]), 0);
	KTAP_CHECK(!pfake_is_avail(e.vq->packed.desc[head_slot].flags,
				   e.f.avail_wrap), "first head exposed");
	vdrv_vq_publish(e.vq);
	KTAP_EXPECT_EQ(e.vq->avail_pub, e.vq->avail_idx);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 1);
	KTAP_EXPECT_EQ(pfake_serve(&e.f), 3);
	for (k = 0; k < 3; k++) {
		KTAP_CHECK(vdrv_vq_get_used(e.vq, &len) == &cookie[k], "%d", k);
		KTAP_CHECK(!check_reply(e.mem, out + k, 1, in + k, 1, len),
			   "batch %d", k);
	}
	penv_fini(&e);
	return KTAP_PASS;
}

/*
 * Many rounds of random chains, direct and indirect, held by the device
 * for a while and completed out of order: every cookie comes back once
 * with its data, no slot or id leaks, the free id list stays sound.
 */
static enum ktap_result packed_random(void)
{
	enum { NUM = 13, ROUNDS = 20000 };
	unsigned int issued = 0, completed = 0, in_use = 0, round, k;
	static struct fake_req pool[NUM];
	struct fake_req *spare[NUM], *pend[NUM];
	unsigned int nspare = NUM, npend = 0;
	struct rq rq[NUM];
	struct penv e;

	KTAP_CHECK(!penv_init(&e, 1 * MIB, NUM,
			      BIT(VIRTIO_RING_F_INDIRECT_DESC), -1), "setup");
	memset(rq, 0, sizeof(rq));
	for (k = 0; k < NUM; k++)
		KTAP_CHECK(!alloc_bufs(e.mem, rq[k].out, 4, 16) &&
			   !alloc_bufs(e.mem, rq[k].in, 6, 8), "buffers");
	for (k = 0; k < NUM; k++)
		spare[k] = &pool[k];

	for (round = 0; round <= ROUNDS; round++) {
		bool last = round == ROUNDS;
		unsigned int want = last ? 0 : rnd() % 6, ndone, busy = 0;
		uint8_t seen[NUM] = { 0 };
		uint32_t len;
		struct rq *c;
		int r = 0;
		uint16_t i;

		while (want--) {
			bool ind = !(rnd() % 4);
			struct rq *q = NULL;

			for (k = 0; k < NUM; k++) {
				if (!rq[k].busy) {
					q = &rq[k];
					break;
				}
			}
			if (!q)
				break;
			q->n_out = rnd() % 3 + !ind;
			q->n_in = rnd() % (ind ? 6 : 3) + 1;
			q->ndesc = ind ? 1 : q->n_out + q->n_in;
			q->serial = ++issued;
			randomize_bufs(e.mem, q->out, q->n_out);
			r = vdrv_vq_add_flags(e.vq, q->out, q->n_out, q->in,
					      q->n_in, q,
					      ind ? VDRV_ADD_INDIRECT : 0);
			if (r == -ENOSPC) {
				KTAP_CHECK(e.vq->num_free < q->ndesc,
					   "ENOSPC with %u free, %u needed",
					   e.vq->num_free, q->ndesc);
				issued--;
				break;
			}
			VOK(r);
			q->head = r;
			q->busy = true;
			in_use += q->ndesc;
			KTAP_EXPECT_EQ(e.vq->num_free, NUM - in_use);
		}

		while (nspare && (r = pfake_pop(&e.f, spare[nspare - 1])) > 0)
			pend[npend++] = spare[--nspare];
		KTAP_CHECK(r >= 0, "fake device choked");
		for (k = npend; k > 1; k--) {
			unsigned int j = rnd() % k;
			struct fake_req *tmp = pend[k - 1];

			pend[k - 1] = pend[j];
			pend[j] = tmp;
		}
		ndone = last ? npend : rnd() % (npend + 1);
		for (k = 0; k < ndone; k++) {
			KTAP_CHECK(!pfake_complete(&e.f, pend[npend - 1]),
				   "complete");
			spare[nspare++] = pend[--npend];
		}

		while ((c = vdrv_vq_get_used(e.vq, &len))) {
			KTAP_CHECK(c >= rq && c < rq + NUM && c->busy,
				   "cookie %p is not an in-flight request", c);
			KTAP_CHECK(!check_reply(e.mem, c->out, c->n_out, c->in,
						c->n_in, len),
				   "request %u", c->serial);
			c->busy = false;
			in_use -= c->ndesc;
			completed++;
			KTAP_EXPECT_EQ(e.vq->num_free, NUM - in_use);
		}
		KTAP_CHECK(errno == EAGAIN, "get_used: %s", vdrv_last_error());

		/* The free ids: distinct, none in flight, all the others. */
		for (k = 0; k < NUM; k++) {
			if (rq[k].busy) {
				seen[rq[k].head] = 1;
				busy++;
			}
		}
		for (i = e.vq->free_head, k = 0; k < NUM - busy; k++) {
			KTAP_CHECK(!seen[i], "round %u: free id %u is %s",
				   round, i, seen[i] == 1 ? "in flight" :
				   "listed twice");
			seen[i] = 2;
			i = e.vq->next[i];
		}
	}
	KTAP_EXPECT_EQ(completed, issued);
	KTAP_EXPECT_EQ(npend, 0);
	KTAP_EXPECT_EQ(in_use, 0);
	KTAP_EXPECT_EQ(e.vq->num_free, NUM);
	KTAP_CHECK(issued > ROUNDS, "only %u requests issued", issued);
	ktap_diag("%u chains through a %u-slot packed ring", issued, NUM);
	penv_fini(&e);
	return KTAP_PASS;
}

/* Kick suppression through the device event suppression area. */
static enum ktap_result packed_kick_suppression(void)
{
	struct vring_packed_desc_event *dev;
	struct vdrv_buf out;
	struct penv e;
	int cookie;

	KTAP_CHECK(!penv_init(&e, 64 * 1024, 8, BIT(VIRTIO_RING_F_EVENT_IDX),
			      -1), "setup");
	KTAP_CHECK(!alloc_bufs(e.mem, &out, 1, 8), "buffers");
	dev = e.vq->packed.device;
#define ADD(n)								\
	do {								\
		for (int i_ = 0; i_ < (n); i_++)			\
			VOK(vdrv_vq_add(e.vq, &out, 1, NULL, 0, &cookie)); \
	} while (0)
#define DRAIN()								\
	do {								\
		KTAP_CHECK(pfake_serve(&e.f) >= 0, "serve");		\
		while (vdrv_vq_get_used(e.vq, NULL))			\
			;						\
	} while (0)
#define EVENT(slot, wrap)						\
	do {								\
		st16(&dev->off_wrap, (slot) | ((wrap) ? 0x8000 : 0));	\
		st16(&dev->flags, VRING_PACKED_EVENT_FLAG_DESC);	\
	} while (0)

	/* A fresh ring's area says ENABLE: kick. */
	ADD(1);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 1);
	KTAP_EXPECT_EQ(kicks(e.f.kick_fd), 1);
	/* DISABLE: no kick, even a full ring later. */
	st16(&dev->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
	ADD(1);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 0);
	DRAIN();
	/* DESC at slot 5: publishing 2..3 misses it, 4..6 hits it. */
	EVENT(5, 1);
	ADD(2);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 0);
	ADD(3);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 1);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 0);	/* nothing new */
	DRAIN();
	/*
	 * Across the wrap: the driver is at slot 7 of lap 1; the device
	 * wants slot 1 of the next lap (wrap 0). 7, 0 miss it; 1 hits.
	 */
	EVENT(1, 0);
	ADD(2);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 0);
	ADD(1);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 1);
	DRAIN();
	/* An event a lap behind (slot 0, wrap 1 again) is not hit. */
	EVENT(0, 1);
	ADD(1);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 0);
	/* A forced kick always notifies. */
	KTAP_EXPECT_EQ(vdrv_vq_kick_force(e.vq), 0);
	KTAP_EXPECT_EQ(kicks(e.f.kick_fd), 3);
	DRAIN();
	/* The fake's own enable: asks for the slot it will read next. */
	KTAP_CHECK(pfake_enable_notify(&e.f), "ring empty");
	ADD(1);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 1);
	DRAIN();
	penv_fini(&e);

	/* Without EVENT_IDX, DESC means nothing to the driver: kick. */
	KTAP_CHECK(!penv_init(&e, 64 * 1024, 8, 0, -1), "setup");
	KTAP_CHECK(!alloc_bufs(e.mem, &out, 1, 8), "buffers");
	dev = e.vq->packed.device;
	EVENT(6, 1);
	ADD(1);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 1);
	pfake_disable_notify(&e.f);
	ADD(1);
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 0);
	KTAP_CHECK(!pfake_enable_notify(&e.f), "entries are pending");
	KTAP_EXPECT_EQ(vdrv_vq_kick(e.vq), 1);
	DRAIN();
	penv_fini(&e);
#undef ADD
#undef DRAIN
#undef EVENT
	return KTAP_PASS;
}

/* Used buffer notification suppression through the driver area. */
static enum ktap_result packed_intr_suppression(void)
{
	static struct fake_req reqbuf;
	struct fake_req *req = &reqbuf;
	struct vring_packed_desc_event *drv;
	struct vdrv_buf out, in;
	unsigned int mode, k;
	struct penv e;
	int cookie;

	for (mode = 0; mode < 2; mode++) {
		bool ev = mode;
		unsigned int before;

		KTAP_CHECK(!penv_init(&e, 64 * 1024, 6,
				      ev ? BIT(VIRTIO_RING_F_EVENT_IDX) : 0,
				      0x8004), "setup");
		KTAP_CHECK(!alloc_bufs(e.mem, &out, 1, 8) &&
			   !alloc_bufs(e.mem, &in, 1, 16), "buffers");
		drv = e.vq->packed.driver;
		KTAP_EXPECT_EQ(drv->flags, ev ? VRING_PACKED_EVENT_FLAG_DESC :
				VRING_PACKED_EVENT_FLAG_ENABLE);
		if (ev)
			KTAP_EXPECT_EQ(drv->off_wrap, 0x8004);

		VOK(vdrv_vq_add(e.vq, &out, 1, &in, 1, &cookie));
		KTAP_EXPECT_EQ(pfake_serve(&e.f), 1);
		KTAP_EXPECT_EQ(e.f.signals, 1);
		KTAP_EXPECT_EQ(vdrv_vq_wait(e.vq, 0), 0);
		KTAP_CHECK(vdrv_vq_get_used(e.vq, NULL) == &cookie, "reap");
		if (ev)	/* two slots on, across the wrap */
			KTAP_EXPECT_EQ(drv->off_wrap, 0x0000);

		vdrv_vq_disable_cb(e.vq);
		KTAP_EXPECT_EQ(drv->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
		before = e.f.signals;
		for (k = 0; k < 300; k++) {
			unsigned int n = rnd() % e.vq->num_free + 1, i;

			for (i = 0; i < n; i++)
				VOK(vdrv_vq_add(e.vq, NULL, 0, &in, 1,
						&cookie));
			KTAP_EXPECT_EQ(pfake_serve(&e.f), n);
			n = vdrv_vq_used_pending(e.vq);
			for (i = 0; i < (k % 3 ? n : n / 2); i++)
				KTAP_CHECK(vdrv_vq_get_used(e.vq, NULL),
					   "reap");
		}
		/* One more left unreaped. */
		VOK(vdrv_vq_add(e.vq, NULL, 0, &in, 1, &cookie));
		KTAP_EXPECT_EQ(pfake_serve(&e.f), 1);
		KTAP_EXPECT_EQ(e.f.signals, before);
		KTAP_EXPECT_EQ(vdrv_vq_wait(e.vq, 0), -ETIMEDOUT);

		KTAP_CHECK(vdrv_vq_used_pending(e.vq) > 0, "want leftovers");
		KTAP_CHECK(!vdrv_vq_enable_cb(e.vq),
			   "enable_cb must report pending entries");
		while (vdrv_vq_get_used(e.vq, NULL))
			;
		KTAP_CHECK(vdrv_vq_enable_cb(e.vq), "nothing pending now");
		KTAP_EXPECT_EQ(drv->flags, ev ? VRING_PACKED_EVENT_FLAG_DESC :
				VRING_PACKED_EVENT_FLAG_ENABLE);
		if (ev)
			KTAP_EXPECT_EQ(drv->off_wrap, e.vq->last_used_idx);

		/*
		 * Two completions in one device batch: with EVENT_IDX the
		 * first is the event, one signal; without, one signal too
		 * (the fake signals once per batch).
		 */
		for (k = 0; k < 2; k++)
			VOK(vdrv_vq_add(e.vq, &out, 1, &in, 1, &cookie));
		for (k = 0; k < 2; k++) {
			KTAP_EXPECT_EQ(pfake_pop(&e.f, req), 1);
			KTAP_CHECK(!pfake_complete(&e.f, req), "complete");
		}
		pfake_signal(&e.f);
		KTAP_EXPECT_EQ(e.f.signals, before + 1);
		/* Reaping one moves the event past the other: no signal. */
		KTAP_CHECK(vdrv_vq_wait_used(e.vq, NULL, 1000) == &cookie,
			   "%s", vdrv_last_error());
		if (ev) {
			pfake_signal(&e.f);
			KTAP_EXPECT_EQ(e.f.signals, before + 1);
		}
		KTAP_CHECK(vdrv_vq_get_used(e.vq, NULL) == &cookie, "second");
		penv_fini(&e);
	}
	return KTAP_PASS;
}

/* A device breaking the packed protocol is caught; raw access works. */
static enum ktap_result packed_broken_and_raw(void)
{
	struct vring_packed_desc d[8];
	struct fake_req *req = malloc(sizeof(*req));
	struct vdrv_buf out, in;
	unsigned int kind, k;
	uint16_t id, flags;
	struct penv e;
	uint32_t len;
	int cookie;
	uint64_t gpa;

	KTAP_CHECK(req, "malloc");
	for (kind = 0; kind < 2; kind++) {
		KTAP_CHECK(!penv_init(&e, 64 * 1024, 8, 0, -1), "setup");
		KTAP_CHECK(!alloc_bufs(e.mem, &out, 1, 8) &&
			   !alloc_bufs(e.mem, &in, 1, 16), "buffers");
		VOK(vdrv_vq_add(e.vq, &out, 1, &in, 1, &cookie));
		KTAP_EXPECT_EQ(pfake_pop(&e.f, req), 1);
		if (kind == 0)
			pfake_push_used(&e.f, req->head + 1, 0, req->ndesc);
		else
			pfake_push_used(&e.f, req->head, 17, req->ndesc);
		errno = 0;
		KTAP_CHECK(!vdrv_vq_get_used(e.vq, NULL) && errno == EPROTO,
			   "kind %u: errno %d", kind, errno);
		KTAP_CHECK(e.vq->broken, "kind %u: not broken", kind);
		ktap_diag("kind %u: %s", kind, vdrv_last_error());
		errno = 0;
		KTAP_CHECK(!vdrv_vq_wait_used(e.vq, NULL, 10) &&
			   errno == EPROTO, "wait_used on a broken vq");
		penv_fini(&e);
	}

	/* Raw: a three-descriptor chain, popped by the fake. */
	KTAP_CHECK(!penv_init(&e, 64 * 1024, 8, 0, -1), "setup");
	KTAP_CHECK(!alloc_bufs(e.mem, &out, 1, 8), "buffers");
	gpa = vdrv_gpa(e.mem, out.ptr);
	for (k = 0; k < 8; k++)
		d[k] = (struct vring_packed_desc){
			.addr = gpa, .len = 8, .id = 6,
			.flags = VRING_DESC_F_NEXT | PF_USED };
	d[2].flags = 0;
	VOK(vdrv_packed_push(e.vq, d, 3));
	for (k = 0; k < 3; k++)
		KTAP_EXPECT_EQ(e.vq->packed.desc[k].flags,
			       (k < 2 ? VRING_DESC_F_NEXT : 0) | PF_AVAIL);
	KTAP_EXPECT_EQ(e.vq->avail_idx, 0x8003);
	KTAP_EXPECT_EQ(e.vq->num_free, 8);
	KTAP_EXPECT_EQ(pfake_pop(&e.f, req), 1);
	KTAP_EXPECT_EQ(req->head, 6);
	KTAP_EXPECT_EQ(req->ndesc, 3);
	/* All NEXT through the whole ring: the fake refuses the loop. */
	d[2].flags = VRING_DESC_F_NEXT;
	VOK(vdrv_packed_push(e.vq, d, 8));
	KTAP_EXPECT_EQ(e.vq->avail_idx, 0x0003);	/* wrapped */
	KTAP_EXPECT_EQ(e.vq->packed.desc[0].flags,
		       VRING_DESC_F_NEXT | PF_USED);	/* lap 2 bits */
	ktap_diag("the fake device must now refuse a looping chain:");
	KTAP_EXPECT_EQ(pfake_pop(&e.f, req), -1);
	/* Raw pops take what is there, checked by nothing. */
	pfake_push_used(&e.f, 4242, 77, 3);
	KTAP_EXPECT_EQ(vdrv_packed_pop_used(e.vq, 3, &id, &len, &flags), 1);
	KTAP_CHECK(id == 4242 && len == 77 &&
		   flags == (PF_AVAIL | PF_USED | VRING_DESC_F_WRITE),
		   "id %u len %u flags 0x%x", id, len, flags);
	KTAP_EXPECT_EQ(vdrv_packed_pop_used(e.vq, 1, &id, &len, &flags), 0);
	KTAP_EXPECT_EQ(e.vq->last_used_idx, 0x8003);
	KTAP_CHECK(!e.vq->broken, "raw pops are not checked");
	VERR(vdrv_packed_push(e.vq, d, 9), EINVAL);
	VERR(vdrv_packed_pop_used(e.vq, 0, &id, &len, &flags), EINVAL);
	VOK(vdrv_packed_set_desc(e.vq, 7, 0x1234, 5, 9, PF_AVAIL));
	KTAP_EXPECT_EQ(e.vq->packed.desc[7].addr, 0x1234);
	KTAP_EXPECT_EQ(e.vq->packed.desc[7].id, 9);
	KTAP_EXPECT_EQ(e.vq->packed.desc[7].flags, PF_AVAIL);
	penv_fini(&e);
	free(req);
	return KTAP_PASS;
}

/* A fake packed device thread driven only by kicks. */
struct ptdev {
	struct pfake f;
	atomic_bool stop;
	atomic_int errors;
};

static void *ptdev_main(void *arg)
{
	struct ptdev *t = arg;
	struct pfake *f = &t->f;

	while (!atomic_load(&t->stop)) {
		struct pollfd p = { .fd = f->kick_fd, .events = POLLIN };

		if (poll(&p, 1, 20) <= 0)
			continue;
		kicks(f->kick_fd);
		for (;;) {
			pfake_disable_notify(f);
			if (pfake_serve(f) < 0) {
				atomic_fetch_add(&t->errors, 1);
				return NULL;
			}
			if (pfake_enable_notify(f))
				break;
		}
	}
	return NULL;
}

/* Driver and packed device on two threads: lost kicks or calls hang. */
static enum ktap_result packed_threaded(uint64_t features)
{
	enum { NUM = 10, REQS = 20000 };
	unsigned int sent = 0, done = 0, kicked = 0, waits = 0;
	struct vdrv_buf out[NUM], in[NUM];
	struct ptdev t;
	pthread_t th;
	struct penv e;
	uint32_t len;

	KTAP_CHECK(!penv_init(&e, 256 * 1024, NUM, features, -1), "setup");
	KTAP_CHECK(!alloc_bufs(e.mem, out, NUM, 4) &&
		   !alloc_bufs(e.mem, in, NUM, 8), "buffers");
	t.f = e.f;
	atomic_init(&t.stop, false);
	atomic_init(&t.errors, 0);
	KTAP_CHECK(!pthread_create(&th, NULL, ptdev_main, &t), "thread");

	while (done < REQS) {
		void *c;

		while (sent < REQS && e.vq->num_free >= 2) {
			unsigned int slot = sent % NUM;

			memcpy(out[slot].ptr, &sent, 4);
			VOK(vdrv_vq_add(e.vq, &out[slot], 1, &in[slot], 1,
					&out[slot]));
			sent++;
			if (rnd() % 4 == 0)
				break;
		}
		kicked += vdrv_vq_kick(e.vq) == 1;
		c = vdrv_vq_wait_used(e.vq, &len, 5000);
		waits++;
		while (c) {
			unsigned int slot = done % NUM, got;

			KTAP_CHECK(c == &out[slot],
				   "completion %u out of order", done);
			memcpy(&got, in[slot].ptr, 4);
			KTAP_CHECK(len == 7 && (got ^ 0x5a5a5a5a) == done,
				   "request %u: len %u data 0x%x", done, len,
				   got);
			done++;
			c = vdrv_vq_get_used(e.vq, &len);
		}
		if (errno != EAGAIN) {
			ktap_diag("after %u of %u: %s (device errors %d)",
				  done, REQS, vdrv_last_error(),
				  atomic_load(&t.errors));
			atomic_store(&t.stop, true);
			pthread_join(th, NULL);
			return KTAP_FAIL;
		}
	}
	atomic_store(&t.stop, true);
	pthread_join(th, NULL);
	KTAP_EXPECT_EQ(atomic_load(&t.errors), 0);
	KTAP_EXPECT_EQ(e.vq->num_free, NUM);
	KTAP_EXPECT_EQ(e.vq->last_used_idx, e.vq->avail_idx);
	ktap_diag("%u requests, %u kicks, %u interrupts, %u waits", REQS,
		  kicked, t.f.signals, waits);
	penv_fini(&e);
	return KTAP_PASS;
}

static enum ktap_result packed_threaded_event_idx(void)
{
	return packed_threaded(BIT(VIRTIO_RING_F_EVENT_IDX));
}

static enum ktap_result packed_threaded_flags(void)
{
	return packed_threaded(0);
}

/*
 * The VMM side without a device: the ioctls vdrv_dev_start() and friends
 * issue, in QEMU's order and with QEMU's values, and how failures surface.
 */
static enum ktap_result ioctl_sequence(void)
{
	uint64_t features = BIT(VIRTIO_F_VERSION_1) |
			    BIT(VIRTIO_RING_F_EVENT_IDX);
	const struct vhost_memory *m;
	struct vdrv_vq *vq0, *vq1, *lone;
	struct vdrv_dev *dev;
	struct vdrv_mem *mem;
	unsigned int i = 0, base;
	uint64_t f;

	dev = vdrv_open("/dev/null");
	KTAP_CHECK(dev, "%s", vdrv_last_error());
	KTAP_CHECK(fcntl(dev->fd, F_GETFL) & O_NONBLOCK, "fd not O_NONBLOCK");
	KTAP_CHECK(fcntl(dev->fd, F_GETFD) & FD_CLOEXEC, "fd not CLOEXEC");
	recorder.fd = dev->fd;
	mem = vdrv_mem_create(256 * 1024);
	KTAP_CHECK(mem, "%s", vdrv_last_error());
	KTAP_EXPECT_EQ(vdrv_mem_add_region(mem, VDRV_GPA_AUTO, 64 * 1024), 1);
	vq1 = vdrv_vq_create(dev, mem, 1, 64, VDRV_VQ_NO_ERR_FD);
	vq0 = vdrv_vq_create(dev, mem, 0, 256, 0);
	KTAP_CHECK(vq0 && vq1, "%s", vdrv_last_error());
	VOK(vdrv_vq_set_start_idx(vq1, 65530));

	VOK(vdrv_set_owner(dev));
	VOK(vdrv_get_features(dev, &f));
	KTAP_EXPECT_EQ(f, BIT(VIRTIO_F_VERSION_1));
	VOK(vdrv_dev_start(dev, mem, features));
	KTAP_EXPECT_EQ(dev->features, features);
	KTAP_CHECK(vq0->event_idx && vq1->event_idx, "features reach the vqs");

	KTAP_CHECK(!rec_is(i++, VHOST_SET_OWNER, ~0u, 0) &&
		   !rec_is(i++, VHOST_GET_FEATURES, ~0u, 0) &&
		   !rec_is(i++, VHOST_SET_FEATURES, ~0u, features) &&
		   !rec_is(i++, VHOST_GET_BACKEND_FEATURES, ~0u, 0) &&
		   !rec_is(i++, VHOST_SET_BACKEND_FEATURES, ~0u,
			   BIT(VHOST_BACKEND_F_IOTLB_MSG_V2)) &&
		   !rec_is(i++, VHOST_SET_MEM_TABLE, ~0u, 0), "device part");
	m = (const struct vhost_memory *)recorder.recs[i - 1].mem;
	KTAP_EXPECT_EQ(m->nregions, 2);
	KTAP_EXPECT_EQ(m->padding, 0);
	KTAP_EXPECT_EQ(m->regions[0].guest_phys_addr, VDRV_GPA_BASE);
	KTAP_EXPECT_EQ(m->regions[0].memory_size, 256 * 1024);
	KTAP_EXPECT_EQ(m->regions[0].userspace_addr,
		       (uintptr_t)mem->regions[0].hva);
	KTAP_EXPECT_EQ(m->regions[1].guest_phys_addr,
		       VDRV_GPA_BASE + 256 * 1024);
	KTAP_EXPECT_EQ(m->regions[1].flags_padding, 0);
	/* Then each vq in index order; vq 1 has no err eventfd. */
	KTAP_CHECK(!rec_is(i++, VHOST_SET_VRING_CALL, 0, vq0->call_fd) &&
		   !rec_is(i++, VHOST_SET_VRING_ERR, 0, vq0->err_fd) &&
		   !rec_is(i++, VHOST_SET_VRING_NUM, 0, 256) &&
		   !rec_is(i++, VHOST_SET_VRING_BASE, 0, 0) &&
		   !rec_addr_is(i++, vq0, 0) &&
		   !rec_is(i++, VHOST_SET_VRING_KICK, 0, vq0->kick_fd),
		   "vq 0");
	KTAP_CHECK(!rec_is(i++, VHOST_SET_VRING_CALL, 1, vq1->call_fd) &&
		   !rec_is(i++, VHOST_SET_VRING_NUM, 1, 64) &&
		   !rec_is(i++, VHOST_SET_VRING_BASE, 1, 65530) &&
		   !rec_addr_is(i++, vq1, 0) &&
		   !rec_is(i++, VHOST_SET_VRING_KICK, 1, vq1->kick_fd),
		   "vq 1");
	KTAP_EXPECT_EQ(recorder.n, i);

	/* Stop: detach, GET_VRING_BASE; a restart sends the new base. */
	VOK(vdrv_net_set_backend(dev, 1, -1));
	VOK(vdrv_vq_get_base(vq1, &base));
	KTAP_EXPECT_EQ(base, 1234);
	KTAP_EXPECT_EQ(vq1->base, 1234);
	KTAP_CHECK(!rec_is(i++, VHOST_NET_SET_BACKEND, 1, -1) &&
		   !rec_is(i++, VHOST_GET_VRING_BASE, 1, 0), "stop");
	VOK(vdrv_vq_start(vq1));
	i++;
	KTAP_CHECK(!rec_is(i++, VHOST_SET_VRING_NUM, 1, 64) &&
		   !rec_is(i++, VHOST_SET_VRING_BASE, 1, 1234), "restart");
	i += 2;

	/* Dirty logging: the same addresses, flag set. */
	VOK(vdrv_vq_set_log(vq0, true));
	KTAP_CHECK(!rec_addr_is(i++, vq0, 1u << VHOST_VRING_F_LOG), "log");

	/* A failing step stops the sequence and names itself. */
	recorder.fail_req = VHOST_SET_VRING_ADDR;
	recorder.fail_errno = EINVAL;
	recorder.n = 0;
	i = 0;
	VERR(vdrv_vq_start(vq0), EINVAL);
	KTAP_CHECK(strstr(vdrv_last_error(), "VHOST_SET_VRING_ADDR"),
		   "last_error: %s", vdrv_last_error());
	KTAP_EXPECT_EQ(recorder.n, 5);		/* no KICK after it */
	VERR(vdrv_vq_set_log(vq0, false), EINVAL);
	KTAP_CHECK(vq0->log, "a failed set_log must not change vq->log");
	recorder.fail_req = VHOST_SET_FEATURES;
	VERR(vdrv_dev_start(dev, mem, 0), EINVAL);
	KTAP_EXPECT_EQ(dev->features, features);
	recorder.fail_req = VHOST_GET_BACKEND_FEATURES;	/* ignored */
	recorder.n = 0;
	VOK(vdrv_dev_start(dev, mem, 0));
	KTAP_CHECK(!rec_is(2, VHOST_SET_MEM_TABLE, ~0u, 0), "carried on");
	KTAP_CHECK(!vq0->event_idx, "features reach the vqs");

	/* A vq with no device has nothing to start. */
	lone = vdrv_vq_create(NULL, mem, 0, 8, 0);
	KTAP_CHECK(lone, "%s", vdrv_last_error());
	VERR(vdrv_vq_start(lone), ENODEV);
	vdrv_vq_destroy(lone);

	recorder.fd = -1;
	vdrv_close(dev);	/* takes vq0 and vq1 with it */
	vdrv_mem_destroy(mem);
	return KTAP_PASS;
}

/* Open /dev/vhost-net: KTAP_PASS, or skip with the reason, or fail. */
static enum ktap_result open_vhost_net(struct vdrv_dev **devp)
{
	*devp = vdrv_open("/dev/vhost-net");
	if (*devp)
		return KTAP_PASS;
	if (errno == ENOENT || errno == ENODEV || errno == ENXIO ||
	    errno == EACCES || errno == EPERM) {
		ktap_skip_reason("/dev/vhost-net: %s", strerror(errno));
		return KTAP_SKIP;
	}
	ktap_diag("%s", vdrv_last_error());
	return KTAP_FAIL;
}

/*
 * Cases that move data need a device with a ring data path, which offers
 * VERSION_1. Every vhost-net we run against (ours and in-tree) has one, so a
 * device without it fails these cases rather than skipping them.
 */
static enum ktap_result open_vhost_net_data_path(struct vdrv_dev **devp)
{
	enum ktap_result res = open_vhost_net(devp);
	uint64_t f;

	if (res != KTAP_PASS)
		return res;
	if (vdrv_get_features(*devp, &f)) {
		ktap_diag("%s", vdrv_last_error());
		res = KTAP_FAIL;
	} else if (!(f & BIT(VIRTIO_F_VERSION_1))) {
		ktap_diag("/dev/vhost-net offers no VERSION_1 (0x%llx)",
			  (unsigned long long)f);
		res = KTAP_FAIL;
	}
	if (res != KTAP_PASS)
		vdrv_close(*devp);
	return res;
}

/* The library against a real vhost device: SET_OWNER, GET_FEATURES. */
static enum ktap_result vhost_net_owner(void)
{
	enum ktap_result res;
	struct vdrv_dev *dev;
	uint64_t f0, f1;

	res = open_vhost_net(&dev);
	if (res != KTAP_PASS)
		return res;
	VOK(vdrv_get_features(dev, &f0));	/* no owner needed */
	VOK(vdrv_set_owner(dev));
	VOK(vdrv_get_features(dev, &f1));
	KTAP_EXPECT_EQ(f0, f1);
	VERR(vdrv_set_owner(dev), EBUSY);
	KTAP_CHECK(strstr(vdrv_last_error(), "VHOST_SET_OWNER"),
		   "last_error: %s", vdrv_last_error());
	ktap_diag("vhost-net features 0x%llx", (unsigned long long)f1);
	vdrv_close(dev);
	return KTAP_PASS;
}

/* QEMU's start sequence through the library, then the stop half. */
static enum ktap_result vhost_net_start(void)
{
	struct vdrv_vq *rx, *tx;
	enum ktap_result res;
	struct vdrv_dev *dev;
	struct vdrv_mem *mem;
	uint64_t f, *bitmap;
	unsigned int base;

	res = open_vhost_net_data_path(&dev);
	if (res != KTAP_PASS)
		return res;
	mem = vdrv_mem_create(1 * MIB);
	KTAP_CHECK(mem, "%s", vdrv_last_error());
	VOK(vdrv_set_owner(dev));
	VOK(vdrv_get_features(dev, &f));
	f &= BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) |
	     BIT(VIRTIO_RING_F_INDIRECT_DESC);
	rx = vdrv_vq_create(dev, mem, 0, 256, 0);
	tx = vdrv_vq_create(dev, mem, 1, 256, 0);
	KTAP_CHECK(rx && tx, "%s", vdrv_last_error());
	errno = 0;
	KTAP_CHECK(!vdrv_vq_create(dev, mem, 1, 256, 0) && errno == EBUSY,
		   "a second vq 1");
	VOK(vdrv_vq_set_start_idx(tx, 65530));
	VOK(vdrv_dev_start(dev, mem, f));
	KTAP_EXPECT_EQ(dev->features, f);
	KTAP_EXPECT_EQ(tx->event_idx, !!(f & BIT(VIRTIO_RING_F_EVENT_IDX)));

	/* No backend attached: the bases read back as set. */
	VOK(vdrv_vq_get_base(rx, &base));
	KTAP_EXPECT_EQ(base, 0);
	VOK(vdrv_vq_get_base(tx, &base));
	KTAP_EXPECT_EQ(base, 65530);
	KTAP_EXPECT_EQ(tx->base, 65530);
	/* And a restart re-issues NUM/BASE/ADDR/KICK. */
	VOK(vdrv_vq_start(tx));

	/* Errors come back as -errno with the ioctl named. */
	VERR(vdrv_vring_set_num(dev, 2, 256), ENOBUFS);
	KTAP_CHECK(strstr(vdrv_last_error(), "VHOST_SET_VRING_NUM"),
		   "last_error: %s", vdrv_last_error());

	/* Dirty logging of the used ring can be switched on. */
	bitmap = calloc(4096, sizeof(*bitmap));
	KTAP_CHECK(bitmap, "calloc");
	VOK(vdrv_set_log_base(dev, (uintptr_t)bitmap));
	VOK(vdrv_vq_set_log(rx, true));
	KTAP_CHECK(rx->log, "log flag");
	vdrv_close(dev);
	vdrv_mem_destroy(mem);
	free(bitmap);
	return KTAP_PASS;
}

/* A tap fd as QEMU opens it (vnet header of 12 bytes), or -errno. */
static int open_tap(void)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int fd, hdr = sizeof(struct virtio_net_hdr_mrg_rxbuf), err;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	strcpy(ifr.ifr_name, "vdrv%d");
	if (ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETVNETHDRSZ, &hdr)) {
		err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

/*
 * The library against the kernel's ring consumer: vhost-net's TX queue,
 * started at index 65530 so that the kernel crosses the wrap, takes frames
 * in direct, indirect and batched chains from GPAs it must translate, and
 * completes them through the used ring and the call eventfd. Packed: the
 * same, started at slot 250 of 256 so that both wrap counters flip.
 */
static enum ktap_result vhost_net_tx(bool packed)
{
	enum { FRAMES = 40, BATCH = 8 };
	static const uint8_t eth[14] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					 0x02, 0, 0, 0, 0, 1, 0x88, 0xb5 };
	uint16_t start = packed ? 0x8000 | 250 : 65530;
	unsigned int vq_flags = packed ? VDRV_VQ_PACKED : 0;
	struct vdrv_buf out[3];
	unsigned int sent = 0, slots = 0, base, k;
	struct vdrv_vq *rx, *tx;
	enum ktap_result res;
	struct vdrv_dev *dev;
	struct vdrv_mem *mem;
	uint8_t *hdr, frame[60];
	int tap, cookie[BATCH];
	uint32_t len;
	uint64_t f;

	tap = open_tap();
	KTAP_SKIP_IF(tap == -ENOENT || tap == -ENODEV || tap == -EPERM,
		     "no tap device: %s", strerror(-tap));
	KTAP_CHECK(tap >= 0, "tap: %s", strerror(-tap));
	res = open_vhost_net_data_path(&dev);
	if (res != KTAP_PASS)
		return res;
	mem = vdrv_mem_create(1 * MIB);
	KTAP_CHECK(mem, "%s", vdrv_last_error());
	KTAP_EXPECT_EQ(vdrv_mem_add_region(mem, VDRV_GPA_AUTO, 64 * 1024), 1);
	VOK(vdrv_set_owner(dev));
	VOK(vdrv_get_features(dev, &f));
	KTAP_CHECK(!packed || f & BIT(VIRTIO_F_RING_PACKED),
		   "no RING_PACKED offered (0x%llx)", (unsigned long long)f);
	f &= BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_EVENT_IDX) |
	     BIT(VIRTIO_RING_F_INDIRECT_DESC) |
	     (packed ? BIT(VIRTIO_F_RING_PACKED) : 0);
	rx = vdrv_vq_create(dev, mem, 0, 256, vq_flags);
	tx = vdrv_vq_create(dev, mem, 1, 256, vq_flags);
	KTAP_CHECK(rx && tx, "%s", vdrv_last_error());
	VOK(vdrv_vq_set_start_idx(tx, start));
	VOK(vdrv_dev_start(dev, mem, f));
	VOK(vdrv_net_set_backend(dev, 1, tap));

	/*
	 * A zeroed header, then a 60-byte frame whose first 40 bytes
	 * straddle the two regions: 30 at the end of region 0, 10 at the
	 * start of region 1, where the last 20 follow.
	 */
	hdr = vdrv_mem_alloc(mem, sizeof(struct virtio_net_hdr_mrg_rxbuf), 2);
	KTAP_CHECK(hdr, "%s", vdrv_last_error());
	mem->regions[0].used = mem->regions[0].size;
	memcpy(frame, eth, sizeof(eth));
	memset(frame + sizeof(eth), 0x5a, sizeof(frame) - sizeof(eth));
	VOK(vdrv_mem_write(mem, mem->regions[1].gpa - 30, frame,
			   sizeof(frame)));
	out[0] = (struct vdrv_buf){ .ptr = hdr, .len = 12 };
	out[1] = (struct vdrv_buf){ .gpa = mem->regions[1].gpa - 30,
				    .len = 40 };
	out[2] = (struct vdrv_buf){ .ptr = mem->regions[1].hva + 10,
				    .len = 20 };

	for (k = 0; k < FRAMES; k++) {
		bool ind = (f & BIT(VIRTIO_RING_F_INDIRECT_DESC)) && k % 2;

		VOK(vdrv_vq_add_flags(tx, out, 3, NULL, 0, &cookie[0],
				      ind ? VDRV_ADD_INDIRECT : 0));
		sent++;
		slots += ind ? 1 : 3;
		VOK(vdrv_vq_kick(tx));
		KTAP_CHECK(vdrv_vq_wait_used(tx, &len, 5000) == &cookie[0],
			   "frame %u: %s", k, vdrv_last_error());
		KTAP_EXPECT_EQ(len, 0);
	}
	/* A batch published at once, one kick. */
	for (k = 0; k < BATCH; k++)
		VOK(vdrv_vq_add_flags(tx, out, 3, NULL, 0, &cookie[k],
				      VDRV_ADD_NO_PUBLISH));
	sent += BATCH;
	slots += 3 * BATCH;
	vdrv_vq_publish(tx);
	KTAP_EXPECT_EQ(vdrv_vq_kick(tx), 1);
	for (k = 0; k < BATCH; k++)
		KTAP_CHECK(vdrv_vq_wait_used(tx, &len, 5000) == &cookie[k],
			   "batch %u: %s", k, vdrv_last_error());
	KTAP_EXPECT_EQ(tx->num_free, 256);
	KTAP_EXPECT_EQ(tx->err_count, 0);

	/* QEMU's stop: detach, then the base is where the kernel got to. */
	VOK(vdrv_net_set_backend(dev, 1, -1));
	VOK(vdrv_vq_get_base(tx, &base));
	if (packed) {
		/* 250 + slots, the wrap counter flipped once a lap. */
		unsigned int end = 250 + slots, pos;

		pos = end % 256 | ((end / 256) % 2 ? 0 : 0x8000);
		KTAP_CHECK(end > 256, "no wrap: only %u slots", slots);
		KTAP_EXPECT_EQ(base, pos | pos << 16);
		KTAP_EXPECT_EQ(tx->last_used_idx, pos);
	} else {
		KTAP_EXPECT_EQ(base, (uint16_t)(65530 + sent));
		KTAP_EXPECT_EQ(tx->split.used->idx, (uint16_t)(65530 + sent));
	}
	ktap_diag("%u frames in %u slots, features 0x%llx", sent, slots,
		  (unsigned long long)f);
	vdrv_close(dev);
	vdrv_mem_destroy(mem);
	close(tap);
	return KTAP_PASS;
}

static enum ktap_result vhost_net_tx_split(void)
{
	return vhost_net_tx(false);
}

static enum ktap_result vhost_net_tx_packed(void)
{
	return vhost_net_tx(true);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(mem_translate),
	KTAP_CASE(ring_layout),
	KTAP_CASE(chain_roundtrip),
	KTAP_CASE(indirect_chain),
	KTAP_CASE_T(freelist_reuse, 120),
	KTAP_CASE(idx_wrap),
	KTAP_CASE(kick_suppression),
	KTAP_CASE(intr_suppression),
	KTAP_CASE(enospc_einval),
	KTAP_CASE(wait_call_err),
	KTAP_CASE(broken_and_raw),
	KTAP_CASE_T(threaded_event_idx, 120),
	KTAP_CASE_T(threaded_flags, 120),
	KTAP_CASE(packed_layout),
	KTAP_CASE(packed_roundtrip),
	KTAP_CASE(packed_out_of_order),
	KTAP_CASE_T(packed_random, 120),
	KTAP_CASE(packed_kick_suppression),
	KTAP_CASE(packed_intr_suppression),
	KTAP_CASE(packed_broken_and_raw),
	KTAP_CASE_T(packed_threaded_event_idx, 120),
	KTAP_CASE_T(packed_threaded_flags, 120),
	KTAP_CASE(ioctl_sequence),
	KTAP_CASE(vhost_net_owner),
	KTAP_CASE(vhost_net_start),
	KTAP_CASE(vhost_net_tx_split),
	KTAP_CASE(vhost_net_tx_packed),
};

/*
 * --host: the cases that run against in-process fake devices, which make
 * check runs on the host, where they take a second instead of a minute and
 * a half under TCG; --device: the ones that need our /dev/vhost-net, which
 * run in the VM (vdrv_device.sh). No option: all of them.
 */
int main(int argc, char **argv)
{
	static struct ktap_case some[KTAP_ARRAY_SIZE(cases)];
	size_t i, n = 0;
	bool device;

	if (argc < 2)
		return ktap_run(cases, KTAP_ARRAY_SIZE(cases));
	if (argc > 2 || (strcmp(argv[1], "--host") &&
			 strcmp(argv[1], "--device"))) {
		fprintf(stderr, "usage: %s [--host | --device]\n", argv[0]);
		return KSFT_FAIL;
	}
	device = !strcmp(argv[1], "--device");
	for (i = 0; i < KTAP_ARRAY_SIZE(cases); i++)
		if (!strncmp(cases[i].name, "vhost_net_", 10) == device)
			some[n++] = cases[i];
	return ktap_run(some, n);
}
