// SPDX-License-Identifier: GPL-2.0
/*
 * vdrv: VMM and guest-driver library for the kvhost selftests; see vdrv.h.
 *
 * Memory ordering. The device (the kernel's vhost worker, or a fake device
 * thread in a selftest) shares the rings with us, so every ring field the
 * other side writes is read with an atomic load, and the publishing stores
 * carry the barriers virtio requires:
 *
 *  (A) avail publish: descriptors and avail->ring[] are written with plain
 *      stores, then avail->idx with a RELEASE store. Pairs with the device's
 *      read of avail->idx followed by a read barrier (smp_rmb() in vhost,
 *      an ACQUIRE load in a fake device) before it reads the entries.
 *  (B) used reap: used->idx is read with an ACQUIRE load before used->ring[]
 *      and the data the device wrote into our buffers. Pairs with the
 *      device's write barrier (smp_wmb()) between filling the used entry
 *      and storing used->idx.
 *  (C) kick suppression: after publishing avail->idx, a full fence, then the
 *      read of avail_event / used->flags. Pairs with the device writing
 *      avail_event (or clearing NO_NOTIFY), a full barrier (smp_mb()), then
 *      re-reading avail->idx. One of the two sides is guaranteed to see the
 *      other's store, so a buffer is never left without a kick.
 *  (D) notification enable: used_event (or the NO_INTERRUPT flag) is
 *      written, then a full fence, then used->idx is re-read. Pairs with the
 *      device storing used->idx, smp_mb(), then reading used_event / flags.
 *
 * Packed rings have no indexes: a descriptor's flags say whether it is
 * available or used, so the same four pairings are on the flags.
 *  (A) a chain's descriptors with plain stores, its head's flags last with
 *      a RELEASE store; the device reads the head flags, then a read barrier.
 *  (B) the flags of the next used slot with an ACQUIRE load, before its id
 *      and length and the data; the device writes the used descriptor, a
 *      write barrier, then (for the first of a batch) its flags.
 *  (C) head flags stored, a full fence, then the device area read; the
 *      device writes its area, smp_mb(), and re-reads the head flags.
 *  (D) driver area written, a full fence, then the next used slot's flags
 *      re-read; the device writes used flags, smp_mb(), reads our area.
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "vdrv.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "vdrv writes VERSION_1 (little-endian) rings with native stores"
#endif

/* Per-head state of a chain; lives outside guest memory so that a test
 * scribbling on the rings cannot corrupt it.
 */
struct vdrv_chain {
	void *cookie;			/* NULL while the head is free */
	uint64_t in_len;		/* bytes the device may write */
	uint16_t ndesc;			/* ring descriptors taken */
	uint16_t last;			/* last ring descriptor of the chain */
	void *indir;			/* this head's indirect table, kept */
	uint32_t indir_cap;		/* entries in indir */
	uint16_t head_slot;		/* packed: where the chain starts */
	uint16_t head_flags;		/* packed: its head's flags */
};

/* What a ring format implements. */
struct vdrv_ring_ops {
	int (*init)(struct vdrv_vq *vq);
	void (*addr)(const struct vdrv_vq *vq, struct vhost_vring_addr *addr);
	void (*set_start_idx)(struct vdrv_vq *vq, uint16_t idx);
	int (*add)(struct vdrv_vq *vq, const struct vdrv_buf *out, int n_out,
		   const struct vdrv_buf *in, int n_in, void *cookie,
		   unsigned int flags);
	void (*publish)(struct vdrv_vq *vq);
	bool (*kick_prepare)(struct vdrv_vq *vq);
	void *(*get_used)(struct vdrv_vq *vq, uint32_t *len);
	unsigned int (*used_pending)(const struct vdrv_vq *vq);
	bool (*enable_cb)(struct vdrv_vq *vq);
	void (*disable_cb)(struct vdrv_vq *vq);
};

/* ------------------------------------------------------------------------
 * Errors
 */

static __thread char vdrv_errbuf[256];

const char *vdrv_last_error(void)
{
	return vdrv_errbuf[0] ? vdrv_errbuf : "no error";
}

/* Record why, set errno and return -@err (a positive errno value). */
static int __attribute__((format(printf, 2, 3)))
vdrv_fail(int err, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(vdrv_errbuf, sizeof(vdrv_errbuf), fmt, ap);
	va_end(ap);
	if (len >= 0 && (size_t)len < sizeof(vdrv_errbuf) - 3)
		snprintf(vdrv_errbuf + len, sizeof(vdrv_errbuf) - len, ": %s",
			 strerror(err));
	errno = err;
	return -err;
}

static void *vdrv_fail_ptr(int err, const char *what)
{
	vdrv_fail(err, "%s", what);
	return NULL;
}

/* ------------------------------------------------------------------------
 * Guest memory
 */

static bool vdrv_is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static uint64_t vdrv_align_up(uint64_t x, uint64_t align)
{
	return (x + align - 1) & ~(align - 1);
}

struct vdrv_mem *vdrv_mem_create(size_t size)
{
	struct vdrv_mem *mem;
	int r;

	mem = calloc(1, sizeof(*mem));
	if (!mem)
		return vdrv_fail_ptr(ENOMEM, "vdrv_mem_create");
	if (size) {
		r = vdrv_mem_add_region(mem, VDRV_GPA_BASE, size);
		if (r < 0) {
			free(mem);
			errno = -r;
			return NULL;
		}
	}
	return mem;
}

int vdrv_mem_add_region(struct vdrv_mem *mem, uint64_t gpa, size_t size)
{
	struct vdrv_region *r;
	uint64_t end;
	uint8_t *map;
	unsigned int i;

	if (mem->nregions >= VDRV_MEM_MAX_REGIONS)
		return vdrv_fail(ENOSPC, "add_region: %u regions already",
				 mem->nregions);
	if (!size || size > (1ULL << 46))
		return vdrv_fail(EINVAL, "add_region: size %zu", size);
	size = vdrv_align_up(size, VDRV_PAGE_SIZE);
	if (gpa == VDRV_GPA_AUTO) {
		gpa = mem->nregions ? 0 : VDRV_GPA_BASE;
		for (i = 0; i < mem->nregions; i++) {
			end = mem->regions[i].gpa + mem->regions[i].size;
			if (end > gpa)
				gpa = end;
		}
	}
	if (gpa & (VDRV_PAGE_SIZE - 1) || gpa + size < gpa)
		return vdrv_fail(EINVAL, "add_region: gpa 0x%llx size 0x%zx",
				 (unsigned long long)gpa, size);
	for (i = 0; i < mem->nregions; i++) {
		r = &mem->regions[i];
		if (gpa < r->gpa + r->size && r->gpa < gpa + size)
			return vdrv_fail(EINVAL,
					 "add_region: 0x%llx overlaps region %u",
					 (unsigned long long)gpa, i);
	}

	/*
	 * A guard page on each side: overruns fault, and no two regions are
	 * ever host-contiguous, so a straddling buffer really needs the
	 * translation to switch regions.
	 */
	map = mmap(NULL, size + 2 * VDRV_PAGE_SIZE, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (map == MAP_FAILED)
		return vdrv_fail(errno, "add_region: mmap %zu bytes", size);
	if (mprotect(map + VDRV_PAGE_SIZE, size, PROT_READ | PROT_WRITE)) {
		int err = errno;

		munmap(map, size + 2 * VDRV_PAGE_SIZE);
		return vdrv_fail(err, "add_region: mprotect");
	}
	r = &mem->regions[mem->nregions];
	r->hva = map + VDRV_PAGE_SIZE;
	r->gpa = gpa;
	r->size = size;
	r->used = 0;
	return mem->nregions++;
}

void vdrv_mem_destroy(struct vdrv_mem *mem)
{
	unsigned int i;

	if (!mem)
		return;
	for (i = 0; i < mem->nregions; i++)
		munmap(mem->regions[i].hva - VDRV_PAGE_SIZE,
		       mem->regions[i].size + 2 * VDRV_PAGE_SIZE);
	free(mem);
}

static void *vdrv_region_alloc(struct vdrv_region *r, size_t size,
			       size_t align)
{
	uint64_t off = vdrv_align_up(r->used, align);

	if (off > r->size || size > r->size - off)
		return NULL;
	r->used = off + size;
	return r->hva + off;
}

static bool vdrv_alloc_args_ok(size_t size, size_t align)
{
	return size && vdrv_is_pow2(align) && align <= VDRV_PAGE_SIZE;
}

void *vdrv_mem_alloc(struct vdrv_mem *mem, size_t size, size_t align)
{
	unsigned int i;
	void *p;

	if (!vdrv_alloc_args_ok(size, align))
		return vdrv_fail_ptr(EINVAL, "mem_alloc: bad size or align");
	for (i = 0; i < mem->nregions; i++) {
		p = vdrv_region_alloc(&mem->regions[i], size, align);
		if (p)
			return p;
	}
	vdrv_fail(ENOMEM, "mem_alloc: no room for %zu bytes", size);
	return NULL;
}

void *vdrv_mem_alloc_in(struct vdrv_mem *mem, unsigned int region,
			size_t size, size_t align)
{
	void *p;

	if (region >= mem->nregions || !vdrv_alloc_args_ok(size, align))
		return vdrv_fail_ptr(EINVAL, "mem_alloc_in: bad arguments");
	p = vdrv_region_alloc(&mem->regions[region], size, align);
	if (!p)
		vdrv_fail(ENOMEM, "mem_alloc_in: no room for %zu bytes in %u",
			  size, region);
	return p;
}

static const struct vdrv_region *vdrv_region_of_hva(const struct vdrv_mem *mem,
						    const void *hva)
{
	uintptr_t p = (uintptr_t)hva;
	unsigned int i;

	for (i = 0; i < mem->nregions; i++) {
		const struct vdrv_region *r = &mem->regions[i];

		if (p >= (uintptr_t)r->hva && p - (uintptr_t)r->hva < r->size)
			return r;
	}
	return NULL;
}

static const struct vdrv_region *vdrv_region_of_gpa(const struct vdrv_mem *mem,
						    uint64_t gpa)
{
	unsigned int i;

	for (i = 0; i < mem->nregions; i++) {
		const struct vdrv_region *r = &mem->regions[i];

		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

uint64_t vdrv_gpa(const struct vdrv_mem *mem, const void *hva)
{
	const struct vdrv_region *r = vdrv_region_of_hva(mem, hva);

	if (!r)
		return VDRV_GPA_INVALID;
	return r->gpa + ((const uint8_t *)hva - r->hva);
}

void *vdrv_hva(const struct vdrv_mem *mem, uint64_t gpa)
{
	const struct vdrv_region *r = vdrv_region_of_gpa(mem, gpa);

	return r ? r->hva + (gpa - r->gpa) : NULL;
}

void *vdrv_hva_range(const struct vdrv_mem *mem, uint64_t gpa, uint64_t len)
{
	const struct vdrv_region *r = vdrv_region_of_gpa(mem, gpa);

	if (!r || len > r->size - (gpa - r->gpa))
		return NULL;
	return r->hva + (gpa - r->gpa);
}

/*
 * Walk [gpa, gpa + len) region by region. With @copy false only check that
 * every byte is mapped, so that a failing copy copies nothing.
 */
static int vdrv_mem_xfer(const struct vdrv_mem *mem, uint64_t gpa, void *buf,
			 size_t len, bool to_guest, bool copy)
{
	uint8_t *b = buf;

	while (len) {
		const struct vdrv_region *r = vdrv_region_of_gpa(mem, gpa);
		uint64_t off, n;

		if (!r)
			return vdrv_fail(EFAULT, "0x%llx is not guest memory",
					 (unsigned long long)gpa);
		off = gpa - r->gpa;
		n = r->size - off < len ? r->size - off : len;
		if (copy && to_guest)
			memcpy(r->hva + off, b, n);
		else if (copy)
			memcpy(b, r->hva + off, n);
		gpa += n;
		b += n;
		len -= n;
	}
	return 0;
}

int vdrv_mem_read(const struct vdrv_mem *mem, void *dst, uint64_t gpa,
		  size_t len)
{
	int r = vdrv_mem_xfer(mem, gpa, dst, len, false, false);

	return r ? r : vdrv_mem_xfer(mem, gpa, dst, len, false, true);
}

int vdrv_mem_write(const struct vdrv_mem *mem, uint64_t gpa, const void *src,
		   size_t len)
{
	int r = vdrv_mem_xfer(mem, gpa, (void *)src, len, true, false);

	return r ? r : vdrv_mem_xfer(mem, gpa, (void *)src, len, true, true);
}

struct vhost_memory *vdrv_mem_table(const struct vdrv_mem *mem)
{
	struct vhost_memory *m;
	unsigned int i;

	m = calloc(1, sizeof(*m) + mem->nregions * sizeof(m->regions[0]));
	if (!m)
		return vdrv_fail_ptr(ENOMEM, "mem_table");
	m->nregions = mem->nregions;
	for (i = 0; i < mem->nregions; i++) {
		m->regions[i].guest_phys_addr = mem->regions[i].gpa;
		m->regions[i].memory_size = mem->regions[i].size;
		m->regions[i].userspace_addr = (uintptr_t)mem->regions[i].hva;
	}
	return m;
}

/* ------------------------------------------------------------------------
 * Device
 */

struct vdrv_dev *vdrv_open(const char *path)
{
	struct vdrv_dev *dev;

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return vdrv_fail_ptr(ENOMEM, "vdrv_open");
	dev->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (dev->fd < 0) {
		int err = errno;

		free(dev);
		vdrv_fail(err, "open %s", path);
		return NULL;
	}
	return dev;
}

void vdrv_close(struct vdrv_dev *dev)
{
	unsigned int i;

	if (!dev)
		return;
	for (i = 0; i < VDRV_DEV_MAX_VQS; i++)
		vdrv_vq_destroy(dev->vqs[i]);
	close(dev->fd);
	free(dev);
}

static int vdrv_do_ioctl(struct vdrv_dev *dev, unsigned long req,
			 const char *name, void *arg)
{
	int r;

	if (!dev)
		return vdrv_fail(ENODEV, "%s: vq has no device", name);
	r = ioctl(dev->fd, req, arg);
	if (r < 0)
		return vdrv_fail(errno, "%s", name);
	return r;
}

/* The ioctl's own name goes into vdrv_last_error(). */
#define VDRV_IOCTL(dev, req, arg)	vdrv_do_ioctl(dev, req, #req, arg)

int vdrv_ioctl(struct vdrv_dev *dev, unsigned long req, void *arg)
{
	return vdrv_do_ioctl(dev, req, "ioctl", arg);
}

int vdrv_set_owner(struct vdrv_dev *dev)
{
	return VDRV_IOCTL(dev, VHOST_SET_OWNER, NULL);
}

int vdrv_reset_owner(struct vdrv_dev *dev)
{
	return VDRV_IOCTL(dev, VHOST_RESET_OWNER, NULL);
}

int vdrv_get_features(struct vdrv_dev *dev, uint64_t *features)
{
	__u64 f;
	int r = VDRV_IOCTL(dev, VHOST_GET_FEATURES, &f);

	if (!r)
		*features = f;
	return r;
}

int vdrv_set_features(struct vdrv_dev *dev, uint64_t features)
{
	__u64 f = features;
	int r = VDRV_IOCTL(dev, VHOST_SET_FEATURES, &f);

	if (!r)
		dev->features = features;
	return r;
}

int vdrv_get_backend_features(struct vdrv_dev *dev, uint64_t *features)
{
	__u64 f;
	int r = VDRV_IOCTL(dev, VHOST_GET_BACKEND_FEATURES, &f);

	if (!r)
		*features = f;
	return r;
}

int vdrv_set_backend_features(struct vdrv_dev *dev, uint64_t features)
{
	__u64 f = features;

	return VDRV_IOCTL(dev, VHOST_SET_BACKEND_FEATURES, &f);
}

int vdrv_set_mem_table_raw(struct vdrv_dev *dev, const struct vhost_memory *m)
{
	return VDRV_IOCTL(dev, VHOST_SET_MEM_TABLE, (void *)m);
}

int vdrv_set_mem_table(struct vdrv_dev *dev, const struct vdrv_mem *mem)
{
	struct vhost_memory *m = vdrv_mem_table(mem);
	int r;

	if (!m)
		return -errno;
	r = vdrv_set_mem_table_raw(dev, m);
	free(m);
	return r;
}

int vdrv_set_log_base(struct vdrv_dev *dev, uint64_t base)
{
	__u64 b = base;

	return VDRV_IOCTL(dev, VHOST_SET_LOG_BASE, &b);
}

int vdrv_net_set_backend(struct vdrv_dev *dev, unsigned int index, int fd)
{
	struct vhost_vring_file f = { .index = index, .fd = fd };

	return VDRV_IOCTL(dev, VHOST_NET_SET_BACKEND, &f);
}

int vdrv_vring_set_num(struct vdrv_dev *dev, unsigned int index,
		       unsigned int num)
{
	struct vhost_vring_state s = { .index = index, .num = num };

	return VDRV_IOCTL(dev, VHOST_SET_VRING_NUM, &s);
}

int vdrv_vring_set_base(struct vdrv_dev *dev, unsigned int index,
			unsigned int base)
{
	struct vhost_vring_state s = { .index = index, .num = base };

	return VDRV_IOCTL(dev, VHOST_SET_VRING_BASE, &s);
}

int vdrv_vring_get_base(struct vdrv_dev *dev, unsigned int index,
			unsigned int *base)
{
	struct vhost_vring_state s = { .index = index };
	int r = VDRV_IOCTL(dev, VHOST_GET_VRING_BASE, &s);

	if (!r)
		*base = s.num;
	return r;
}

int vdrv_vring_set_addr(struct vdrv_dev *dev,
			const struct vhost_vring_addr *addr)
{
	return VDRV_IOCTL(dev, VHOST_SET_VRING_ADDR, (void *)addr);
}

int vdrv_vring_set_kick(struct vdrv_dev *dev, unsigned int index, int fd)
{
	struct vhost_vring_file f = { .index = index, .fd = fd };

	return VDRV_IOCTL(dev, VHOST_SET_VRING_KICK, &f);
}

int vdrv_vring_set_call(struct vdrv_dev *dev, unsigned int index, int fd)
{
	struct vhost_vring_file f = { .index = index, .fd = fd };

	return VDRV_IOCTL(dev, VHOST_SET_VRING_CALL, &f);
}

int vdrv_vring_set_err(struct vdrv_dev *dev, unsigned int index, int fd)
{
	struct vhost_vring_file f = { .index = index, .fd = fd };

	return VDRV_IOCTL(dev, VHOST_SET_VRING_ERR, &f);
}

int vdrv_vring_set_busyloop_timeout(struct vdrv_dev *dev, unsigned int index,
				    unsigned int usecs)
{
	struct vhost_vring_state s = { .index = index, .num = usecs };

	return VDRV_IOCTL(dev, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, &s);
}

int vdrv_dev_start(struct vdrv_dev *dev, const struct vdrv_mem *mem,
		   uint64_t features)
{
	uint64_t backend;
	unsigned int i;
	int r;

	r = vdrv_set_features(dev, features);
	if (r)
		return r;
	/* QEMU tries this and carries on whatever happens; so do we. */
	if (!vdrv_get_backend_features(dev, &backend) &&
	    backend & (1ULL << VHOST_BACKEND_F_IOTLB_MSG_V2))
		vdrv_set_backend_features(dev,
					  1ULL << VHOST_BACKEND_F_IOTLB_MSG_V2);
	r = vdrv_set_mem_table(dev, mem);
	if (r)
		return r;
	for (i = 0; i < VDRV_DEV_MAX_VQS; i++) {
		if (!dev->vqs[i])
			continue;
		vdrv_vq_set_features(dev->vqs[i], features);
		r = vdrv_vq_start(dev->vqs[i]);
		if (r)
			return r;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Split ring
 */

/* Ring fields the device writes, read without tearing or caching. */
static uint16_t vdrv_load16(const uint16_t *p, int order)
{
	return le16toh(__atomic_load_n(p, order));
}

static void vdrv_store16(uint16_t *p, uint16_t v, int order)
{
	__atomic_store_n(p, htole16(v), order);
}

static int split_init(struct vdrv_vq *vq)
{
	struct vdrv_split *s = &vq->split;
	unsigned int num = vq->num;

	s->desc = vdrv_mem_alloc(vq->mem, 16 * num, VRING_DESC_ALIGN_SIZE);
	if (!s->desc)
		return -errno;
	s->avail = vdrv_mem_alloc(vq->mem, 4 + 2 * num + 2,
				  VRING_AVAIL_ALIGN_SIZE);
	if (!s->avail)
		return -errno;
	s->used = vdrv_mem_alloc(vq->mem, 4 + 8 * num + 2,
				 VRING_USED_ALIGN_SIZE);
	if (!s->used)
		return -errno;
	s->used_event = (uint16_t *)&s->avail->ring[num];
	s->avail_event = (uint16_t *)&s->used->ring[num];
	return 0;
}

static void split_addr(const struct vdrv_vq *vq, struct vhost_vring_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->index = vq->index;
	a->flags = vq->log ? 1u << VHOST_VRING_F_LOG : 0;
	a->desc_user_addr = (uintptr_t)vq->split.desc;
	a->avail_user_addr = (uintptr_t)vq->split.avail;
	a->used_user_addr = (uintptr_t)vq->split.used;
	a->log_guest_addr = vdrv_gpa(vq->mem, vq->split.used);
}

/*
 * With EVENT_IDX and notifications off, used_event is kept half the index
 * space ahead of what we reaped. vhost signals when used_event lies in
 * [old, new), the used idx before and after its latest batch. Since at most
 * num <= 32768 entries are outstanding, old >= last_used - num and
 * new <= last_used + num, and last_used + 0x8000 is never inside.
 */
#define VDRV_EVENT_PARK	0x8000

static void split_write_used_event(struct vdrv_vq *vq)
{
	uint16_t ev = vq->last_used_idx;

	if (!vq->cb_enabled)
		ev += VDRV_EVENT_PARK;
	vdrv_store16(vq->split.used_event, ev, __ATOMIC_RELAXED);
}

/*
 * The ring as a device left it at @idx: besides the indexes, avail_event
 * says "kick me for the next entry", as zeroed memory does at 0. Without
 * it a fresh device (which writes avail_event only once it has looked at
 * the ring) would be owed a kick that vdrv_need_event() declines to send.
 */
static void split_set_start_idx(struct vdrv_vq *vq, uint16_t idx)
{
	vq->avail_idx = idx;
	vq->avail_pub = idx;
	vq->kicked_idx = idx;
	vq->last_used_idx = idx;
	vdrv_store16(&vq->split.avail->idx, idx, __ATOMIC_RELEASE);
	vdrv_store16(&vq->split.used->idx, idx, __ATOMIC_RELEASE);
	vdrv_store16(vq->split.avail_event, idx, __ATOMIC_RELEASE);
	split_write_used_event(vq);
}

/* Where a buffer goes in a descriptor; -EFAULT if @ptr isn't guest memory. */
static int vdrv_buf_gpa(const struct vdrv_mem *mem, const struct vdrv_buf *b,
			uint64_t *gpa)
{
	if (!b->ptr) {
		*gpa = b->gpa;
		return 0;
	}
	*gpa = vdrv_gpa(mem, b->ptr);
	if (*gpa == VDRV_GPA_INVALID ||
	    (b->len && !vdrv_hva_range(mem, *gpa, b->len)))
		return vdrv_fail(EFAULT,
				 "add: buffer %p+%u is not in one guest region",
				 b->ptr, b->len);
	return 0;
}

/*
 * Indirect table for @head with room for @n entries, reused when it fits.
 * Split and packed descriptors are both 16 bytes.
 */
static void *vdrv_indirect_table(struct vdrv_vq *vq, uint16_t head,
				 uint32_t n)
{
	struct vdrv_chain *c = &vq->chains[head];
	uint32_t cap = n < 8 ? 8 : n;

	if (c->indir_cap >= n)
		return c->indir;
	/* The old table is left behind: guest memory is never freed. */
	c->indir = vdrv_mem_alloc(vq->mem, cap * sizeof(struct vring_desc),
				  VRING_DESC_ALIGN_SIZE);
	c->indir_cap = c->indir ? cap : 0;
	return c->indir;
}

static void split_fill_desc(struct vring_desc *d, uint64_t gpa, uint32_t len,
			    uint16_t flags, uint16_t next)
{
	d->addr = htole64(gpa);
	d->len = htole32(len);
	d->flags = htole16(flags);
	d->next = htole16(next);
}

static void split_publish(struct vdrv_vq *vq)
{
	/* (A): entries and descriptors before the index that exposes them. */
	vdrv_store16(&vq->split.avail->idx, vq->avail_idx, __ATOMIC_RELEASE);
	vq->avail_pub = vq->avail_idx;
}

static int split_add(struct vdrv_vq *vq, const struct vdrv_buf *out, int n_out,
		     const struct vdrv_buf *in, int n_in, void *cookie,
		     unsigned int flags)
{
	bool indirect = flags & VDRV_ADD_INDIRECT;
	struct vring_desc *table = NULL;
	unsigned int total, need, k, i;
	struct vdrv_chain *c;
	uint64_t gpa, in_len = 0;
	uint16_t head, last = 0;
	int r;

	if (n_out < 0 || n_in < 0 || !cookie ||
	    flags & ~(VDRV_ADD_INDIRECT | VDRV_ADD_NO_PUBLISH))
		return vdrv_fail(EINVAL, "add: bad arguments");
	total = (unsigned int)n_out + (unsigned int)n_in;
	if (!total || total > (indirect ? VDRV_INDIRECT_MAX : vq->num))
		return vdrv_fail(EINVAL, "add: chain of %u buffers", total);
	need = indirect ? 1 : total;
	if (vq->num_free < need)
		return vdrv_fail(ENOSPC, "add: %u descriptors needed, %u free",
				 need, vq->num_free);
	/* Validate everything first: a failed add must change nothing. */
	for (k = 0; k < total; k++) {
		const struct vdrv_buf *b = k < (unsigned int)n_out ?
					   &out[k] : &in[k - n_out];

		r = vdrv_buf_gpa(vq->mem, b, &gpa);
		if (r)
			return r;
		if (k >= (unsigned int)n_out)
			in_len += b->len;
	}
	head = vq->free_head;
	if (indirect) {
		table = vdrv_indirect_table(vq, head, total);
		if (!table)
			return -errno;
	}

	i = head;
	for (k = 0; k < total; k++) {
		bool is_in = k >= (unsigned int)n_out;
		const struct vdrv_buf *b = is_in ? &in[k - n_out] : &out[k];
		uint16_t dflags = is_in ? VRING_DESC_F_WRITE : 0;
		bool more = k + 1 < total;

		vdrv_buf_gpa(vq->mem, b, &gpa);
		if (more)
			dflags |= VRING_DESC_F_NEXT;
		if (indirect) {
			split_fill_desc(&table[k], gpa, b->len, dflags,
					more ? k + 1 : 0);
			continue;
		}
		/* The free list already links the descriptors we take. */
		split_fill_desc(&vq->split.desc[i], gpa, b->len, dflags,
				more ? vq->next[i] : 0);
		last = i;
		i = vq->next[i];
	}
	if (indirect) {
		split_fill_desc(&vq->split.desc[head], vdrv_gpa(vq->mem, table),
				total * sizeof(struct vring_desc),
				VRING_DESC_F_INDIRECT, 0);
		last = head;
	}
	vq->free_head = vq->next[last];
	vq->num_free -= need;

	c = &vq->chains[head];
	c->cookie = cookie;
	c->in_len = in_len;
	c->ndesc = need;
	c->last = last;

	vq->split.avail->ring[vq->avail_idx & (vq->num - 1)] = htole16(head);
	vq->avail_idx++;
	if (!(flags & VDRV_ADD_NO_PUBLISH))
		split_publish(vq);
	return head;
}

static bool split_kick_prepare(struct vdrv_vq *vq)
{
	uint16_t old = vq->kicked_idx, new_idx = vq->avail_pub;

	vq->kicked_idx = new_idx;
	/* (C): our avail->idx store before reading what the device wants. */
	atomic_thread_fence(memory_order_seq_cst);
	if (vq->event_idx)
		return vdrv_need_event(vdrv_load16(vq->split.avail_event,
						   __ATOMIC_RELAXED),
				       new_idx, old);
	return !(vdrv_load16(&vq->split.used->flags, __ATOMIC_RELAXED) &
		 VRING_USED_F_NO_NOTIFY);
}

static unsigned int split_used_pending(const struct vdrv_vq *vq)
{
	uint16_t used = vdrv_load16(&vq->split.used->idx, __ATOMIC_ACQUIRE);

	return (uint16_t)(used - vq->last_used_idx);
}

static void *vdrv_broken(struct vdrv_vq *vq, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Mark @vq broken (sticky) and say why; returns NULL for get_used. */
static void *vdrv_broken(struct vdrv_vq *vq, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	vq->broken = true;
	vdrv_fail(EPROTO, "vq %u: %s", vq->index, what);
	return NULL;
}

static void *split_get_used(struct vdrv_vq *vq, uint32_t *len)
{
	const struct vring_used_elem *e;
	unsigned int pending;
	struct vdrv_chain *c;
	uint32_t id, l;
	void *cookie;

	/* (B): the acquire in split_used_pending() orders the reads below. */
	pending = split_used_pending(vq);
	if (!pending) {
		errno = EAGAIN;
		return NULL;
	}
	if (pending > vq->num)
		return vdrv_broken(vq, "used idx %u is %u ahead of reaped %u",
				    (uint16_t)(vq->last_used_idx + pending),
				    pending, vq->last_used_idx);
	e = &vq->split.used->ring[vq->last_used_idx & (vq->num - 1)];
	id = le32toh(e->id);
	l = le32toh(e->len);
	if (id >= vq->num || !vq->chains[id].cookie)
		return vdrv_broken(vq, "used id %u not in flight (len %u)",
				    id, l);
	c = &vq->chains[id];
	if (l > c->in_len)
		return vdrv_broken(vq, "used id %u len %u > %llu writable",
				    id, l, (unsigned long long)c->in_len);

	cookie = c->cookie;
	c->cookie = NULL;
	vq->next[c->last] = vq->free_head;
	vq->free_head = id;
	vq->num_free += c->ndesc;
	vq->last_used_idx++;
	if (vq->event_idx) {
		/* (D): keep the device's view of what we want current. */
		split_write_used_event(vq);
		if (vq->cb_enabled)
			atomic_thread_fence(memory_order_seq_cst);
	}
	if (len)
		*len = l;
	return cookie;
}

/*
 * With EVENT_IDX the spec wants avail->flags at 0 and the device ignores it,
 * so it is only ever set without; clearing it in both modes also covers a
 * switch of features while notifications were off.
 */
static bool split_enable_cb(struct vdrv_vq *vq)
{
	vq->cb_enabled = true;
	vdrv_store16(&vq->split.avail->flags, 0, __ATOMIC_RELAXED);
	if (vq->event_idx)
		split_write_used_event(vq);
	/* (D): the request before looking for entries we would miss. */
	atomic_thread_fence(memory_order_seq_cst);
	return !split_used_pending(vq);
}

static void split_disable_cb(struct vdrv_vq *vq)
{
	vq->cb_enabled = false;
	vdrv_store16(&vq->split.avail->flags,
		     vq->event_idx ? 0 : VRING_AVAIL_F_NO_INTERRUPT,
		     __ATOMIC_RELAXED);
	if (vq->event_idx)
		split_write_used_event(vq);
}

static const struct vdrv_ring_ops vdrv_split_ops = {
	.init		= split_init,
	.addr		= split_addr,
	.set_start_idx	= split_set_start_idx,
	.add		= split_add,
	.publish	= split_publish,
	.kick_prepare	= split_kick_prepare,
	.get_used	= split_get_used,
	.used_pending	= split_used_pending,
	.enable_cb	= split_enable_cb,
	.disable_cb	= split_disable_cb,
};

/* ------------------------------------------------------------------------
 * Packed ring
 */

/* The descriptor flags that make slot @slot available in lap @wrap. */
static uint16_t packed_avail_bits(bool wrap)
{
	return wrap ? VDRV_PDESC_F_AVAIL : VDRV_PDESC_F_USED;
}

/* Is a descriptor with @flags used by the device in lap @wrap? */
static bool packed_is_used(uint16_t flags, bool wrap)
{
	return !!(flags & VDRV_PDESC_F_AVAIL) == wrap &&
	       !!(flags & VDRV_PDESC_F_USED) == wrap;
}

/* Move position @pos on by @n slots (n <= num). */
static uint16_t packed_advance(const struct vdrv_vq *vq, uint16_t pos,
			       unsigned int n)
{
	unsigned int slot = VDRV_PACKED_SLOT(pos) + n;
	bool wrap = VDRV_PACKED_POS_WRAP(pos);

	if (slot >= vq->num) {
		slot -= vq->num;
		wrap = !wrap;
	}
	return VDRV_PACKED_POS(slot, wrap);
}

/* Position as a number in [0, 2 * num), increasing along the ring. */
static unsigned int packed_linear(const struct vdrv_vq *vq, uint16_t pos)
{
	return VDRV_PACKED_SLOT(pos) + (VDRV_PACKED_POS_WRAP(pos) ? vq->num : 0);
}

/* Slots from @from to @to going forward, modulo two laps. */
static unsigned int packed_dist(const struct vdrv_vq *vq, uint16_t from,
				uint16_t to)
{
	unsigned int a = packed_linear(vq, from), b = packed_linear(vq, to);

	return b >= a ? b - a : b + 2 * vq->num - a;
}

static uint16_t packed_load_flags(const struct vdrv_vq *vq, unsigned int slot,
				  int order)
{
	return vdrv_load16(&vq->packed.desc[slot].flags, order);
}

static int packed_init(struct vdrv_vq *vq)
{
	struct vdrv_packed *p = &vq->packed;

	p->desc = vdrv_mem_alloc(vq->mem, 16ULL * vq->num,
				 VRING_DESC_ALIGN_SIZE);
	if (!p->desc)
		return -errno;
	p->driver = vdrv_mem_alloc(vq->mem, sizeof(*p->driver), 4);
	if (!p->driver)
		return -errno;
	p->device = vdrv_mem_alloc(vq->mem, sizeof(*p->device), 4);
	if (!p->device)
		return -errno;
	p->pending = calloc(vq->num, sizeof(*p->pending));
	if (!p->pending)
		return vdrv_fail(ENOMEM, "vq_create: pending ids");
	p->npending = 0;
	return 0;
}

static void packed_addr(const struct vdrv_vq *vq, struct vhost_vring_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->index = vq->index;
	a->flags = vq->log ? 1u << VHOST_VRING_F_LOG : 0;
	a->desc_user_addr = (uintptr_t)vq->packed.desc;
	a->avail_user_addr = (uintptr_t)vq->packed.driver;
	a->used_user_addr = (uintptr_t)vq->packed.device;
	a->log_guest_addr = vdrv_gpa(vq->mem, vq->packed.device);
}

/* Say what we want in the driver area: cb_enabled and event_idx. */
static void packed_write_driver_event(struct vdrv_vq *vq)
{
	struct vring_packed_desc_event *ev = vq->packed.driver;
	uint16_t flags;

	if (!vq->cb_enabled) {
		flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	} else if (vq->event_idx) {
		vdrv_store16(&ev->off_wrap, vq->last_used_idx,
			     __ATOMIC_RELAXED);
		flags = VRING_PACKED_EVENT_FLAG_DESC;
	} else {
		flags = VRING_PACKED_EVENT_FLAG_ENABLE;
	}
	/* off_wrap before the flags that make the device look at it. */
	vdrv_store16(&ev->flags, flags, __ATOMIC_RELEASE);
}

static void packed_set_start_idx(struct vdrv_vq *vq, uint16_t pos)
{
	unsigned int slot = VDRV_PACKED_SLOT(pos), i;
	bool wrap = VDRV_PACKED_POS_WRAP(pos);

	/* Every slot used: this lap's before @slot, the last lap's after. */
	for (i = 0; i < vq->num; i++) {
		bool w = i < slot ? wrap : !wrap;

		vdrv_store16(&vq->packed.desc[i].flags,
			     w ? VDRV_PDESC_F_AVAIL | VDRV_PDESC_F_USED : 0,
			     __ATOMIC_RELAXED);
	}
	vq->avail_idx = pos;
	vq->avail_pub = pos;
	vq->kicked_idx = pos;
	vq->last_used_idx = pos;
	vq->packed.npending = 0;
	vdrv_store16(&vq->packed.device->off_wrap, pos, __ATOMIC_RELAXED);
	vdrv_store16(&vq->packed.device->flags, VRING_PACKED_EVENT_FLAG_ENABLE,
		     __ATOMIC_RELEASE);
	packed_write_driver_event(vq);
}

static void packed_fill_desc(struct vring_packed_desc *d, uint64_t addr,
			     uint32_t len, uint16_t id)
{
	d->addr = htole64(addr);
	d->len = htole32(len);
	d->id = htole16(id);
}

/* Expose the chains added with NO_PUBLISH: the first one's head last. */
static void packed_publish(struct vdrv_vq *vq)
{
	struct vdrv_packed *p = &vq->packed;
	const struct vdrv_chain *c;
	unsigned int i;

	for (i = 1; i < p->npending; i++) {
		c = &vq->chains[p->pending[i]];
		vdrv_store16(&p->desc[c->head_slot].flags, c->head_flags,
			     __ATOMIC_RELAXED);
	}
	if (p->npending) {
		c = &vq->chains[p->pending[0]];
		/* (A): everything else before the flags that expose it. */
		vdrv_store16(&p->desc[c->head_slot].flags, c->head_flags,
			     __ATOMIC_RELEASE);
	}
	p->npending = 0;
	vq->avail_pub = vq->avail_idx;
}

static int packed_add(struct vdrv_vq *vq, const struct vdrv_buf *out,
		      int n_out, const struct vdrv_buf *in, int n_in,
		      void *cookie, unsigned int flags)
{
	bool indirect = flags & VDRV_ADD_INDIRECT;
	struct vring_packed_desc *table = NULL;
	unsigned int total, need, k;
	uint16_t id, pos, head_flags = 0;
	uint64_t gpa, in_len = 0;
	struct vdrv_chain *c;
	int r;

	if (n_out < 0 || n_in < 0 || !cookie ||
	    flags & ~(VDRV_ADD_INDIRECT | VDRV_ADD_NO_PUBLISH))
		return vdrv_fail(EINVAL, "add: bad arguments");
	total = (unsigned int)n_out + (unsigned int)n_in;
	if (!total || total > (indirect ? VDRV_INDIRECT_MAX : vq->num))
		return vdrv_fail(EINVAL, "add: chain of %u buffers", total);
	need = indirect ? 1 : total;
	/* Each chain in flight holds a slot, so a free slot means a free id. */
	if (vq->num_free < need)
		return vdrv_fail(ENOSPC, "add: %u descriptors needed, %u free",
				 need, vq->num_free);
	for (k = 0; k < total; k++) {
		const struct vdrv_buf *b = k < (unsigned int)n_out ?
					   &out[k] : &in[k - n_out];

		r = vdrv_buf_gpa(vq->mem, b, &gpa);
		if (r)
			return r;
		if (k >= (unsigned int)n_out)
			in_len += b->len;
	}
	id = vq->free_head;
	if (indirect) {
		table = vdrv_indirect_table(vq, id, total);
		if (!table)
			return -errno;
	}

	pos = vq->avail_idx;
	for (k = 0; k < total; k++) {
		bool is_in = k >= (unsigned int)n_out;
		const struct vdrv_buf *b = is_in ? &in[k - n_out] : &out[k];
		uint16_t dflags = is_in ? VRING_DESC_F_WRITE : 0;
		struct vring_packed_desc *d;

		vdrv_buf_gpa(vq->mem, b, &gpa);
		if (indirect) {
			/* Table entries are in order; NEXT is not used. */
			packed_fill_desc(&table[k], gpa, b->len, id);
			table[k].flags = htole16(dflags);
			continue;
		}
		if (k + 1 < total)
			dflags |= VRING_DESC_F_NEXT;
		dflags |= packed_avail_bits(VDRV_PACKED_POS_WRAP(pos));
		d = &vq->packed.desc[VDRV_PACKED_SLOT(pos)];
		packed_fill_desc(d, gpa, b->len, id);
		if (k)
			vdrv_store16(&d->flags, dflags, __ATOMIC_RELAXED);
		else
			head_flags = dflags;
		pos = packed_advance(vq, pos, 1);
	}
	if (indirect) {
		struct vring_packed_desc *d =
			&vq->packed.desc[VDRV_PACKED_SLOT(pos)];

		packed_fill_desc(d, vdrv_gpa(vq->mem, table),
				 total * sizeof(*table), id);
		head_flags = VRING_DESC_F_INDIRECT |
			     packed_avail_bits(VDRV_PACKED_POS_WRAP(pos));
		pos = packed_advance(vq, pos, 1);
	}
	vq->free_head = vq->next[id];
	vq->num_free -= need;

	c = &vq->chains[id];
	c->cookie = cookie;
	c->in_len = in_len;
	c->ndesc = need;
	c->head_slot = VDRV_PACKED_SLOT(vq->avail_idx);
	c->head_flags = head_flags;

	vq->packed.pending[vq->packed.npending++] = id;
	vq->avail_idx = pos;
	if (!(flags & VDRV_ADD_NO_PUBLISH))
		packed_publish(vq);
	return id;
}

static bool packed_kick_prepare(struct vdrv_vq *vq)
{
	uint16_t old = vq->kicked_idx, new_pos = vq->avail_pub, off_wrap;
	unsigned int ev_flags;

	vq->kicked_idx = new_pos;
	/* (C): our head flags before reading what the device wants. */
	atomic_thread_fence(memory_order_seq_cst);
	ev_flags = vdrv_load16(&vq->packed.device->flags, __ATOMIC_RELAXED) &
		   0x3;
	if (ev_flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	if (ev_flags != VRING_PACKED_EVENT_FLAG_DESC || !vq->event_idx)
		return true;
	off_wrap = vdrv_load16(&vq->packed.device->off_wrap, __ATOMIC_RELAXED);
	if (VDRV_PACKED_SLOT(off_wrap) >= vq->num)
		return true;	/* nonsense from the device: kick anyway */
	/* Is the slot it waits for among those published since @old? */
	return packed_dist(vq, old, off_wrap) < packed_dist(vq, old, new_pos);
}

/*
 * The used descriptor at position @pos, if the device has written one:
 * true with its id, flags and (raw) length. The flags are loaded with
 * ACQUIRE before the rest (B).
 */
static bool packed_peek_used(const struct vdrv_vq *vq, uint16_t pos,
			     uint16_t *id, uint32_t *len, uint16_t *flags)
{
	const struct vring_packed_desc *d =
		&vq->packed.desc[VDRV_PACKED_SLOT(pos)];

	*flags = packed_load_flags(vq, VDRV_PACKED_SLOT(pos),
				   __ATOMIC_ACQUIRE);
	if (!packed_is_used(*flags, VDRV_PACKED_POS_WRAP(pos)))
		return false;
	*id = le16toh(__atomic_load_n(&d->id, __ATOMIC_RELAXED));
	*len = le32toh(__atomic_load_n(&d->len, __ATOMIC_RELAXED));
	return true;
}

static unsigned int packed_used_pending(const struct vdrv_vq *vq)
{
	uint16_t pos = vq->last_used_idx, id, flags;
	unsigned int n = 0, slots = 0;
	uint32_t len;

	/* Follow the chain of used descriptors while the ids make sense. */
	while (slots < vq->num && packed_peek_used(vq, pos, &id, &len, &flags)) {
		n++;
		if (id >= vq->num || !vq->chains[id].cookie)
			break;
		slots += vq->chains[id].ndesc;
		pos = packed_advance(vq, pos, vq->chains[id].ndesc);
	}
	return n;
}

static void *packed_get_used(struct vdrv_vq *vq, uint32_t *len)
{
	uint16_t id, flags;
	struct vdrv_chain *c;
	void *cookie;
	uint32_t l;

	if (!packed_peek_used(vq, vq->last_used_idx, &id, &l, &flags)) {
		errno = EAGAIN;
		return NULL;
	}
	if (!(flags & VRING_DESC_F_WRITE))
		l = 0;
	if (id >= vq->num || !vq->chains[id].cookie)
		return vdrv_broken(vq, "used id %u at slot %u not in flight",
				    id, VDRV_PACKED_SLOT(vq->last_used_idx));
	c = &vq->chains[id];
	if (l > c->in_len)
		return vdrv_broken(vq, "used id %u len %u > %llu writable",
				    id, l, (unsigned long long)c->in_len);

	cookie = c->cookie;
	c->cookie = NULL;
	vq->next[id] = vq->free_head;
	vq->free_head = id;
	vq->num_free += c->ndesc;
	vq->last_used_idx = packed_advance(vq, vq->last_used_idx, c->ndesc);
	if (vq->event_idx && vq->cb_enabled) {
		/* (D): keep the device's view of what we want current. */
		packed_write_driver_event(vq);
		atomic_thread_fence(memory_order_seq_cst);
	}
	if (len)
		*len = l;
	return cookie;
}

static bool packed_enable_cb(struct vdrv_vq *vq)
{
	uint16_t id, flags;
	uint32_t l;

	vq->cb_enabled = true;
	packed_write_driver_event(vq);
	/* (D): the request before looking for entries we would miss. */
	atomic_thread_fence(memory_order_seq_cst);
	return !packed_peek_used(vq, vq->last_used_idx, &id, &l, &flags);
}

static void packed_disable_cb(struct vdrv_vq *vq)
{
	vq->cb_enabled = false;
	packed_write_driver_event(vq);
}

static const struct vdrv_ring_ops vdrv_packed_ops = {
	.init		= packed_init,
	.addr		= packed_addr,
	.set_start_idx	= packed_set_start_idx,
	.add		= packed_add,
	.publish	= packed_publish,
	.kick_prepare	= packed_kick_prepare,
	.get_used	= packed_get_used,
	.used_pending	= packed_used_pending,
	.enable_cb	= packed_enable_cb,
	.disable_cb	= packed_disable_cb,
};

/* ------------------------------------------------------------------------
 * Virtqueue, format independent
 */

static int vdrv_eventfd(void)
{
	return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

struct vdrv_vq *vdrv_vq_create(struct vdrv_dev *dev, struct vdrv_mem *mem,
			       unsigned int index, unsigned int num,
			       unsigned int flags)
{
	struct vdrv_vq *vq;
	unsigned int i;
	int r;

	if (flags & ~(VDRV_VQ_NO_ERR_FD | VDRV_VQ_PACKED) || !num ||
	    (!(flags & VDRV_VQ_PACKED) && !vdrv_is_pow2(num)) ||
	    num > VDRV_VQ_MAX_NUM || !mem) {
		vdrv_fail(EINVAL, "vq_create: num %u flags 0x%x", num, flags);
		return NULL;
	}
	if (dev && index >= VDRV_DEV_MAX_VQS) {
		vdrv_fail(EINVAL, "vq_create: index %u", index);
		return NULL;
	}
	if (dev && dev->vqs[index]) {
		vdrv_fail(EBUSY, "vq_create: vq %u exists", index);
		return NULL;
	}

	vq = calloc(1, sizeof(*vq));
	if (!vq)
		return vdrv_fail_ptr(ENOMEM, "vq_create");
	vq->dev = dev;
	vq->mem = mem;
	if (flags & VDRV_VQ_PACKED) {
		vq->format = VDRV_RING_PACKED;
		vq->ops = &vdrv_packed_ops;
	} else {
		vq->format = VDRV_RING_SPLIT;
		vq->ops = &vdrv_split_ops;
	}
	vq->index = index;
	vq->num = num;
	vq->flags = flags;
	vq->kick_fd = -1;
	vq->call_fd = -1;
	vq->err_fd = -1;
	vq->next = calloc(num, sizeof(*vq->next));
	vq->chains = calloc(num, sizeof(*vq->chains));
	if (!vq->next || !vq->chains) {
		vdrv_fail(ENOMEM, "vq_create: %u entries", num);
		goto out_free;
	}
	r = vq->ops->init(vq);
	if (r)
		goto out_free;

	vq->kick_fd = vdrv_eventfd();
	vq->call_fd = vdrv_eventfd();
	if (!(flags & VDRV_VQ_NO_ERR_FD))
		vq->err_fd = vdrv_eventfd();
	if (vq->kick_fd < 0 || vq->call_fd < 0 ||
	    (!(flags & VDRV_VQ_NO_ERR_FD) && vq->err_fd < 0)) {
		vdrv_fail(errno, "vq_create: eventfd");
		goto out_free;
	}

	for (i = 0; i < num; i++)
		vq->next[i] = (i + 1) % num;
	vq->free_head = 0;
	vq->num_free = num;
	vq->cb_enabled = true;
	if (vq->format == VDRV_RING_PACKED) {
		/* Both wrap counters start at 1 (virtio 1.1 §2.8.1). */
		vq->ops->set_start_idx(vq, VDRV_PACKED_POS(0, 1));
		vq->base = VDRV_PACKED_POS(0, 1) * 0x10001u;
	} else {
		vq->ops->set_start_idx(vq, 0);
	}
	if (dev)
		dev->vqs[index] = vq;
	return vq;

out_free:
	r = errno;
	vdrv_vq_destroy(vq);
	errno = r;
	return NULL;
}

void vdrv_vq_destroy(struct vdrv_vq *vq)
{
	if (!vq)
		return;
	if (vq->dev && vq->dev->vqs[vq->index] == vq)
		vq->dev->vqs[vq->index] = NULL;
	if (vq->kick_fd >= 0)
		close(vq->kick_fd);
	if (vq->call_fd >= 0)
		close(vq->call_fd);
	if (vq->err_fd >= 0)
		close(vq->err_fd);
	if (vq->format == VDRV_RING_PACKED)
		free(vq->packed.pending);
	free(vq->next);
	free(vq->chains);
	free(vq);
}

void vdrv_vq_set_features(struct vdrv_vq *vq, uint64_t features)
{
	vq->features = features;
	vq->event_idx = features & (1ULL << VIRTIO_RING_F_EVENT_IDX);
	/* Re-state the notification wish in the form the device now reads. */
	if (vq->cb_enabled)
		vq->ops->enable_cb(vq);
	else
		vq->ops->disable_cb(vq);
}

int vdrv_vq_set_start_idx(struct vdrv_vq *vq, uint16_t idx)
{
	if (vq->num_free != vq->num)
		return vdrv_fail(EBUSY, "set_start_idx: %u chains in flight",
				 vq->num - vq->num_free);
	if (vq->format == VDRV_RING_PACKED) {
		if (VDRV_PACKED_SLOT(idx) >= vq->num)
			return vdrv_fail(EINVAL, "set_start_idx: slot %u of %u",
					 VDRV_PACKED_SLOT(idx), vq->num);
		if (vq->packed.npending)
			return vdrv_fail(EBUSY, "set_start_idx: unpublished");
		vq->ops->set_start_idx(vq, idx);
		vq->base = (uint32_t)idx | (uint32_t)idx << 16;
		return 0;
	}
	vq->ops->set_start_idx(vq, idx);
	vq->base = idx;
	return 0;
}

static void *vdrv_ptr(uint64_t addr)
{
	return (void *)(uintptr_t)addr;
}

void vdrv_vq_addr(const struct vdrv_vq *vq, struct vhost_vring_addr *addr)
{
	vq->ops->addr(vq, addr);
	/*
	 * Behind a vIOMMU the rings are where the guest's driver put them,
	 * in I/O virtual addresses; ours are the GPAs (an identity vIOMMU).
	 */
	if (vq->dev && vq->dev->features & (1ULL << VDRV_F_ACCESS_PLATFORM)) {
		const struct vdrv_mem *m = vq->mem;

		addr->desc_user_addr = vdrv_gpa(m, vdrv_ptr(addr->desc_user_addr));
		addr->avail_user_addr = vdrv_gpa(m, vdrv_ptr(addr->avail_user_addr));
		addr->used_user_addr = vdrv_gpa(m, vdrv_ptr(addr->used_user_addr));
	}
}

int vdrv_vq_start(struct vdrv_vq *vq)
{
	struct vhost_vring_addr addr;
	int r;

	r = vdrv_vring_set_call(vq->dev, vq->index, vq->call_fd);
	if (!r && vq->err_fd >= 0)
		r = vdrv_vring_set_err(vq->dev, vq->index, vq->err_fd);
	if (!r)
		r = vdrv_vring_set_num(vq->dev, vq->index, vq->num);
	if (!r)
		r = vdrv_vring_set_base(vq->dev, vq->index, vq->base);
	if (!r) {
		vdrv_vq_addr(vq, &addr);
		r = vdrv_vring_set_addr(vq->dev, &addr);
	}
	if (!r)
		r = vdrv_vring_set_kick(vq->dev, vq->index, vq->kick_fd);
	return r;
}

int vdrv_vq_get_base(struct vdrv_vq *vq, unsigned int *base)
{
	unsigned int b;
	int r;

	r = vdrv_vring_get_base(vq->dev, vq->index, &b);
	if (r)
		return r;
	vq->base = b;
	if (base)
		*base = b;
	return 0;
}

int vdrv_vq_set_log(struct vdrv_vq *vq, bool enable)
{
	struct vhost_vring_addr addr;
	bool was = vq->log;
	int r;

	vq->log = enable;
	vdrv_vq_addr(vq, &addr);
	r = vdrv_vring_set_addr(vq->dev, &addr);
	if (r)
		vq->log = was;
	return r;
}

int vdrv_vq_add_flags(struct vdrv_vq *vq, const struct vdrv_buf *out,
		      int n_out, const struct vdrv_buf *in, int n_in,
		      void *cookie, unsigned int flags)
{
	return vq->ops->add(vq, out, n_out, in, n_in, cookie, flags);
}

int vdrv_vq_add(struct vdrv_vq *vq, const struct vdrv_buf *out, int n_out,
		const struct vdrv_buf *in, int n_in, void *cookie)
{
	return vq->ops->add(vq, out, n_out, in, n_in, cookie, 0);
}

int vdrv_vq_add_indirect(struct vdrv_vq *vq, const struct vdrv_buf *out,
			 int n_out, const struct vdrv_buf *in, int n_in,
			 void *cookie)
{
	return vq->ops->add(vq, out, n_out, in, n_in, cookie,
			    VDRV_ADD_INDIRECT);
}

void vdrv_vq_publish(struct vdrv_vq *vq)
{
	vq->ops->publish(vq);
}

bool vdrv_vq_kick_prepare(struct vdrv_vq *vq)
{
	return vq->ops->kick_prepare(vq);
}

static int vdrv_eventfd_signal(int fd, const char *what)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		return vdrv_fail(errno, "%s: eventfd write", what);
	return 0;
}

int vdrv_vq_kick_force(struct vdrv_vq *vq)
{
	/* Still a decision point: the next kick_prepare starts from here. */
	vq->ops->kick_prepare(vq);
	return vdrv_eventfd_signal(vq->kick_fd, "kick");
}

int vdrv_vq_kick(struct vdrv_vq *vq)
{
	int r;

	if (!vq->ops->kick_prepare(vq))
		return 0;
	r = vdrv_eventfd_signal(vq->kick_fd, "kick");
	return r ? r : 1;
}

void *vdrv_vq_get_used(struct vdrv_vq *vq, uint32_t *len)
{
	if (vq->broken) {
		errno = EPROTO;
		return NULL;
	}
	return vq->ops->get_used(vq, len);
}

unsigned int vdrv_vq_used_pending(const struct vdrv_vq *vq)
{
	return vq->ops->used_pending(vq);
}

bool vdrv_vq_enable_cb(struct vdrv_vq *vq)
{
	return vq->ops->enable_cb(vq);
}

void vdrv_vq_disable_cb(struct vdrv_vq *vq)
{
	vq->ops->disable_cb(vq);
}

static int64_t vdrv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read an eventfd's counter; 0 if it was not signalled. */
static uint64_t vdrv_eventfd_drain(int fd)
{
	uint64_t v;

	if (fd < 0 || read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

int vdrv_vq_wait(struct vdrv_vq *vq, int timeout_ms)
{
	int64_t deadline = vdrv_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
	struct pollfd pfd[2] = {
		{ .fd = vq->call_fd, .events = POLLIN },
		{ .fd = vq->err_fd, .events = POLLIN },	/* -1: ignored */
	};
	uint64_t errs;
	bool called;
	int left = timeout_ms, r;

	for (;;) {
		r = poll(pfd, 2, left);
		if (r > 0)
			break;
		if (r == 0)
			return vdrv_fail(ETIMEDOUT, "vq %u: no call in %d ms",
					 vq->index, timeout_ms);
		if (errno != EINTR)
			return vdrv_fail(errno, "vq %u: poll", vq->index);
		if (timeout_ms >= 0) {
			left = deadline - vdrv_now_ms();
			if (left < 0)
				left = 0;
		}
	}
	called = vdrv_eventfd_drain(vq->call_fd);
	errs = vdrv_eventfd_drain(vq->err_fd);
	if (errs) {
		vq->err_count += errs;
		return vdrv_fail(EIO, "vq %u: err eventfd fired%s", vq->index,
				 called ? " (and call)" : "");
	}
	return 0;
}

void *vdrv_vq_wait_used(struct vdrv_vq *vq, uint32_t *len, int timeout_ms)
{
	int64_t deadline = vdrv_now_ms() + timeout_ms;
	void *cookie;
	int r, left;

	for (;;) {
		cookie = vdrv_vq_get_used(vq, len);
		if (cookie || errno != EAGAIN)
			return cookie;
		if (!vdrv_vq_enable_cb(vq))
			continue;
		left = -1;
		if (timeout_ms >= 0) {
			int64_t l = deadline - vdrv_now_ms();

			left = l > 0 ? (int)l : 0;
		}
		r = vdrv_vq_wait(vq, left);
		if (r < 0 && (r != -ETIMEDOUT || !vdrv_vq_used_pending(vq)))
			return NULL;
	}
}

/* ------------------------------------------------------------------------
 * Raw split-ring access
 */

int vdrv_split_set_desc(struct vdrv_vq *vq, unsigned int i, uint64_t addr,
			uint32_t len, uint16_t flags, uint16_t next)
{
	if (vq->format != VDRV_RING_SPLIT || i >= vq->num)
		return vdrv_fail(EINVAL, "split_set_desc: %u", i);
	split_fill_desc(&vq->split.desc[i], addr, len, flags, next);
	return 0;
}

int vdrv_split_push_avail(struct vdrv_vq *vq, uint16_t head)
{
	if (vq->format != VDRV_RING_SPLIT)
		return vdrv_fail(EINVAL, "split_push_avail: not split");
	vq->split.avail->ring[vq->avail_idx & (vq->num - 1)] = htole16(head);
	vq->avail_idx++;
	split_publish(vq);
	return 0;
}

int vdrv_split_set_avail_idx(struct vdrv_vq *vq, uint16_t idx)
{
	if (vq->format != VDRV_RING_SPLIT)
		return vdrv_fail(EINVAL, "split_set_avail_idx: not split");
	vq->avail_idx = idx;
	split_publish(vq);
	return 0;
}

int vdrv_split_pop_used(struct vdrv_vq *vq, uint32_t *id, uint32_t *len)
{
	const struct vring_used_elem *e;

	if (vq->format != VDRV_RING_SPLIT)
		return vdrv_fail(EINVAL, "split_pop_used: not split");
	if (!split_used_pending(vq))
		return 0;
	e = &vq->split.used->ring[vq->last_used_idx & (vq->num - 1)];
	*id = le32toh(e->id);
	*len = le32toh(e->len);
	vq->last_used_idx++;
	return 1;
}

/* ------------------------------------------------------------------------
 * Raw packed-ring access
 */

int vdrv_packed_set_desc(struct vdrv_vq *vq, unsigned int i, uint64_t addr,
			 uint32_t len, uint16_t id, uint16_t flags)
{
	if (vq->format != VDRV_RING_PACKED || i >= vq->num)
		return vdrv_fail(EINVAL, "packed_set_desc: %u", i);
	packed_fill_desc(&vq->packed.desc[i], addr, len, id);
	vdrv_store16(&vq->packed.desc[i].flags, flags, __ATOMIC_RELEASE);
	return 0;
}

int vdrv_packed_push(struct vdrv_vq *vq, const struct vring_packed_desc *d,
		     unsigned int n)
{
	uint16_t pos, head_flags = 0;
	unsigned int k;

	if (vq->format != VDRV_RING_PACKED || !n || n > vq->num)
		return vdrv_fail(EINVAL, "packed_push: %u descriptors", n);
	pos = vq->avail_idx;
	for (k = 0; k < n; k++) {
		struct vring_packed_desc *r =
			&vq->packed.desc[VDRV_PACKED_SLOT(pos)];
		uint16_t f = (le16toh(d[k].flags) &
			      ~(VDRV_PDESC_F_AVAIL | VDRV_PDESC_F_USED)) |
			     packed_avail_bits(VDRV_PACKED_POS_WRAP(pos));

		packed_fill_desc(r, le64toh(d[k].addr), le32toh(d[k].len),
				 le16toh(d[k].id));
		if (k)
			vdrv_store16(&r->flags, f, __ATOMIC_RELAXED);
		else
			head_flags = f;
		pos = packed_advance(vq, pos, 1);
	}
	/* (A) */
	vdrv_store16(&vq->packed.desc[VDRV_PACKED_SLOT(vq->avail_idx)].flags,
		     head_flags, __ATOMIC_RELEASE);
	vq->avail_idx = pos;
	vq->avail_pub = pos;
	return 0;
}

int vdrv_packed_pop_used(struct vdrv_vq *vq, unsigned int ndesc,
			 uint16_t *id, uint32_t *len, uint16_t *flags)
{
	if (vq->format != VDRV_RING_PACKED || !ndesc || ndesc > vq->num)
		return vdrv_fail(EINVAL, "packed_pop_used: ndesc %u", ndesc);
	if (!packed_peek_used(vq, vq->last_used_idx, id, len, flags))
		return 0;
	vq->last_used_idx = packed_advance(vq, vq->last_used_idx, ndesc);
	return 1;
}
