// SPDX-License-Identifier: GPL-2.0
/*
 * kvr: the parts of the vring library both ring layouts share: error names,
 * the translation table, the chain walk and the entry points, which
 * dispatch to vring_split.c or vring_packed.c.
 */
#include "vring_int.h"

static const char * const kvr_error_names[KVR_ERR_MAX] = {
	[KVR_OK]			= "ok",
	[KVR_ERR_ACCESS]		= "access",
	[KVR_ERR_AVAIL_IDX]		= "avail-idx",
	[KVR_ERR_HEAD]			= "head",
	[KVR_ERR_NEXT]			= "next",
	[KVR_ERR_LOOP]			= "loop",
	[KVR_ERR_INDIRECT_LEN]		= "indirect-len",
	[KVR_ERR_INDIRECT_NESTED]	= "indirect-nested",
	[KVR_ERR_INDIRECT_NEXT]		= "indirect-next",
	[KVR_ERR_INDIRECT_OFF]		= "indirect-off",
	[KVR_ERR_OUT_AFTER_IN]		= "out-after-in",
	[KVR_ERR_LEN]			= "len",
	[KVR_ERR_ADDR]			= "addr",
	[KVR_ERR_PERM]			= "perm",
	[KVR_ERR_IOV]			= "iov",
	[KVR_ERR_ID]			= "id",
	[KVR_ERR_BACKEND]		= "backend",
};

/**
 * kvr_error_name() - a short, stable name for a ring error
 * @err: the error
 *
 * Return: a static string such as "avail-idx" or "head"; "unknown" for a
 * value outside the enum.
 */
const char *kvr_error_name(enum kvr_error err)
{
	if ((unsigned int)err >= KVR_ERR_MAX || !kvr_error_names[err])
		return "unknown";
	return kvr_error_names[err];
}
EXPORT_SYMBOL_NS_GPL(kvr_error_name, KVH_NS);

/**
 * kvr_map_check() - validate a translation table
 * @map: the table
 *
 * Every range must have start <= last, its owner address range must not
 * wrap, and the ranges must be sorted by start and strictly disjoint.
 *
 * Return: 0, or -EINVAL.
 */
int kvr_map_check(const struct kvr_map *map)
{
	unsigned int i;

	for (i = 0; i < map->n; i++) {
		const struct kvr_range *r = &map->r[i];

		if (r->start > r->last)
			return -EINVAL;
		if (r->uaddr + (r->last - r->start) < r->uaddr)
			return -EINVAL;
		if (i && r->start <= map->r[i - 1].last)
			return -EINVAL;
	}
	return 0;
}

/**
 * kvr_map_find() - the range that covers a guest address
 * @map: a table that passed kvr_map_check()
 * @addr: the guest address
 *
 * Return: the range, or NULL if none covers @addr.
 */
const struct kvr_range *kvr_map_find(const struct kvr_map *map, u64 addr)
{
	unsigned int lo = 0, hi = map->n;

	/* The last range whose start is <= addr, if any. */
	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (map->r[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr > map->r[lo - 1].last)
		return NULL;
	return &map->r[lo - 1];
}

/*
 * The range that covers @addr, trying the ring's last hit first. The hint is
 * an index checked against the current map, so a swapped map never makes it
 * unsafe: at worst it misses.
 */
static const struct kvr_range *kvr_lookup(struct kvr_ring *ring, u64 addr)
{
	const struct kvr_map *map = ring->map;
	const struct kvr_range *r;

	if (unlikely(!map))
		return NULL;
	if (likely(ring->map_hint < map->n)) {
		r = &map->r[ring->map_hint];
		if (addr >= r->start && addr <= r->last)
			return r;
	}
	r = kvr_map_find(map, addr);
	if (r)
		ring->map_hint = r - map->r;
	return r;
}

/*
 * No range covers @addr. Through a device IOTLB that is a miss: the VMM is
 * asked for the translation and the caller retries, with nothing consumed.
 * Through a memory table it is a broken ring.
 */
static int kvr_miss(struct kvr_ring *ring, u64 addr, u32 perm)
{
	if (ring->map && ring->map->iotlb) {
		ring->miss_addr = addr;
		ring->miss_perm = perm;
		return -EAGAIN;
	}
	return kvr_fail(ring, KVR_ERR_ADDR, addr);
}

/*
 * Read @len bytes of guest memory at @gpa (readable, no wrap checked by the
 * caller) through the translation table, one access per range crossed.
 */
static int kvr_read_gpa(struct kvr_ring *ring, u64 gpa, void *buf, u32 len)
{
	u8 *p = buf;

	while (len) {
		const struct kvr_range *r = kvr_lookup(ring, gpa);
		u32 seg = len;

		if (unlikely(!r))
			return kvr_miss(ring, gpa, KVR_PERM_READ);
		if (unlikely(!(r->perm & KVR_PERM_READ)))
			return kvr_fail(ring, KVR_ERR_PERM, gpa);
		if (r->last - gpa < (u64)seg - 1)
			seg = r->last - gpa + 1;
		if (unlikely(kvr_copy_from(p, r->uaddr + (gpa - r->start), seg)))
			return kvr_fail(ring, KVR_ERR_ACCESS, gpa);
		p += seg;
		gpa += seg;
		len -= seg;
	}
	return 0;
}

/**
 * kvr_walk_init() - start translating a chain
 * @w: walk state
 * @ring: the ring the chain comes from
 * @chain: where the iovecs go; its storage fields are the caller's
 */
void kvr_walk_init(struct kvr_walk *w, struct kvr_ring *ring,
		   struct kvr_chain *chain)
{
	w->ring = ring;
	w->chain = chain;
	w->seen_write = false;
	chain->nout = 0;
	chain->nin = 0;
	chain->out_len = 0;
	chain->in_len = 0;
}

/**
 * kvr_walk_add() - translate one data descriptor into the chain
 * @w: walk state
 * @addr: guest address of the buffer
 * @len: its length; 0 is allowed and adds no iovec
 * @write: device-writable
 *
 * Return: 0, -EIO with the ring error set (OUT_AFTER_IN, LEN, ADDR, PERM,
 * IOV), or -EAGAIN for an IOTLB miss.
 */
int kvr_walk_add(struct kvr_walk *w, u64 addr, u32 len, bool write)
{
	struct kvr_ring *ring = w->ring;
	struct kvr_chain *c = w->chain;
	u32 perm = write ? KVR_PERM_WRITE : KVR_PERM_READ;
	unsigned int n;

	if (write) {
		if (unlikely(c->in_len + len < c->in_len))
			return kvr_fail(ring, KVR_ERR_LEN, addr);
		w->seen_write = true;
	} else {
		if (unlikely(w->seen_write))
			return kvr_fail(ring, KVR_ERR_OUT_AFTER_IN, addr);
		if (unlikely(c->out_len + len < c->out_len))
			return kvr_fail(ring, KVR_ERR_LEN, addr);
	}
	if (!len)
		return 0;
	if (unlikely(addr + (len - 1) < addr))
		return kvr_fail(ring, KVR_ERR_ADDR, addr);

	n = c->nout + c->nin;
	while (len) {
		const struct kvr_range *r = kvr_lookup(ring, addr);
		u32 seg = len;

		if (unlikely(!r))
			return kvr_miss(ring, addr, perm);
		if (unlikely((r->perm & perm) != perm))
			return kvr_fail(ring, KVR_ERR_PERM, addr);
		if (unlikely(n >= c->max_iov))
			return kvr_fail(ring, KVR_ERR_IOV, addr);
		if (r->last - addr < (u64)seg - 1)
			seg = r->last - addr + 1;
		c->iov[n].iov_base = kvr_uptr(r->uaddr + (addr - r->start));
		c->iov[n].iov_len = seg;
		c->gpa[n] = addr;
		n++;
		if (write) {
			c->nin++;
			c->in_len += seg;
		} else {
			c->nout++;
			c->out_len += seg;
		}
		addr += seg;
		len -= seg;
	}
	return 0;
}

/**
 * kvr_table_check() - validate an indirect table's address and length
 * @ring: the ring, for the error
 * @addr: guest address of the table
 * @len: its length in bytes
 *
 * Return: 0, or -EIO with KVR_ERR_INDIRECT_LEN (empty, ragged or more than
 * KVR_MAX_INDIRECT entries) or KVR_ERR_ADDR (wraps).
 */
int kvr_table_check(struct kvr_ring *ring, u64 addr, u32 len)
{
	if (unlikely(!len || len % 16 || len > KVR_MAX_INDIRECT * 16))
		return kvr_fail(ring, KVR_ERR_INDIRECT_LEN, len);
	if (unlikely(addr + (len - 1) < addr))
		return kvr_fail(ring, KVR_ERR_ADDR, addr);
	return 0;
}

/**
 * kvr_table_read() - read a batch of indirect table entries
 * @ring: the ring
 * @table: guest address of a table that passed kvr_table_check()
 * @index: first entry to read
 * @count: entries in the table; @index < @count
 * @buf: room for KVR_TABLE_BATCH entries of 16 bytes
 *
 * Return: the number of entries read (at least 1), -EIO with the ring
 * error set, or -EAGAIN for an IOTLB miss.
 */
int kvr_table_read(struct kvr_ring *ring, u64 table, unsigned int index,
		   unsigned int count, void *buf)
{
	unsigned int n = count - index;
	int ret;

	if (n > KVR_TABLE_BATCH)
		n = KVR_TABLE_BATCH;
	ret = kvr_read_gpa(ring, table + 16ULL * index, buf, n * 16);
	return ret ? ret : (int)n;
}

/**
 * kvr_log_used() - log a device write to the ring metadata
 * @ring: the ring
 * @gpa: guest address written
 * @len: bytes written
 *
 * Does nothing unless @ring->log_used is set and a log is attached. The
 * write must already be ordered before the log by a barrier.
 *
 * Return: 0, or the log's error.
 */
int kvr_log_used(struct kvr_ring *ring, u64 gpa, u64 len)
{
	if (likely(!ring->log_used || !ring->log))
		return 0;
	return kvr_log_write(ring->log, gpa, len);
}

/**
 * kvr_ring_area_size() - bytes in one area of a ring
 * @ring: the ring, with @num and @packed set
 * @area: which area
 *
 * Return: the size, which the VMM must have mapped contiguously.
 */
u64 kvr_ring_area_size(const struct kvr_ring *ring, enum kvr_area area)
{
	switch (area) {
	case KVR_AREA_DESC:
		return 16ULL * ring->num;
	case KVR_AREA_AVAIL:
		return ring->packed ? sizeof(struct kvr_event) :
		       kvr_split_avail_size(ring->num);
	default:
		return ring->packed ? sizeof(struct kvr_event) :
		       kvr_split_used_size(ring->num);
	}
}

/**
 * kvr_ring_check() - validate a ring's configuration
 * @ring: the ring, configured but not started
 *
 * Split: @num a power of two in 1..KVR_MAX_NUM, descriptor table 16-aligned,
 * avail ring 2-aligned, used ring 4-aligned. Packed: @num in 1..KVR_MAX_NUM,
 * descriptor ring 16-aligned, both event areas 4-aligned. No area may wrap
 * the address space.
 *
 * Return: 0, or -EINVAL.
 */
int kvr_ring_check(const struct kvr_ring *ring)
{
	unsigned int num = ring->num;
	u64 asize, usize;

	if (!num || num > KVR_MAX_NUM)
		return -EINVAL;
	if (ring->desc % 16)
		return -EINVAL;
	if (ring->packed) {
		if (ring->avail % 4 || ring->used % 4)
			return -EINVAL;
		asize = sizeof(struct kvr_event);
		usize = sizeof(struct kvr_event);
	} else {
		if (num & (num - 1))
			return -EINVAL;
		if (ring->avail % 2 || ring->used % 4)
			return -EINVAL;
		asize = kvr_split_avail_size(num);
		usize = kvr_split_used_size(num);
	}
	if (ring->desc + (16ULL * num - 1) < ring->desc ||
	    ring->avail + (asize - 1) < ring->avail ||
	    ring->used + (usize - 1) < ring->used)
		return -EINVAL;
	return 0;
}

/**
 * kvr_ring_start() - start serving a ring
 * @ring: a configured ring, with its base set by kvr_ring_set_base()
 *
 * Split: reads the used index from the guest (guest memory is the truth, as
 * in upstream vhost) and clears used->flags. Packed: enables the driver's
 * notifications in the device event area. Both reset the notification
 * tracking and the error.
 *
 * Return: 0, -EINVAL for a bad configuration, -EIO (KVR_ERR_ACCESS) if the
 * ring memory is not accessible.
 */
int kvr_ring_start(struct kvr_ring *ring)
{
	int ret = kvr_ring_check(ring);

	if (ret)
		return ret;
	ring->error = KVR_OK;
	ring->error_info = 0;
	ring->avail_idx = ring->last_avail_idx;
	ring->signalled_used_valid = false;
	ring->map_hint = 0;
	return ring->packed ? kvr_packed_start(ring) : kvr_split_start(ring);
}

/**
 * kvr_ring_set_base() - set where the ring resumes
 * @ring: a stopped ring, @num and @packed set
 * @base: split: the next avail index (<= 0xffff). Packed, as upstream
 *	vhost's VHOST_GET_VRING_BASE: bits 0-14 next avail slot, bit 15 the
 *	driver wrap counter, bits 16-30 next used slot, bit 31 the device
 *	wrap counter; both slots below @num.
 *
 * Return: 0, or -EINVAL.
 */
int kvr_ring_set_base(struct kvr_ring *ring, u32 base)
{
	if (!ring->packed) {
		if (base > 0xffff)
			return -EINVAL;
		ring->last_avail_idx = base;
		ring->avail_idx = base;
		return 0;
	}
	if ((base & 0x7fff) >= ring->num || ((base >> 16) & 0x7fff) >= ring->num)
		return -EINVAL;
	ring->last_avail_idx = base & 0x7fff;
	ring->avail_wrap = !!(base & 0x8000);
	ring->last_used_idx = (base >> 16) & 0x7fff;
	ring->used_wrap = !!(base & 0x80000000);
	ring->avail_idx = ring->last_avail_idx;
	return 0;
}

/**
 * kvr_ring_get_base() - where the ring stopped
 * @ring: the ring
 *
 * Return: the value kvr_ring_set_base() takes to resume here.
 */
u32 kvr_ring_get_base(const struct kvr_ring *ring)
{
	if (!ring->packed)
		return ring->last_avail_idx;
	return (u32)ring->last_avail_idx | (u32)ring->avail_wrap << 15 |
	       (u32)ring->last_used_idx << 16 | (u32)ring->used_wrap << 31;
}

/**
 * kvr_get_chain() - fetch and translate the next available chain
 * @ring: a started ring
 * @chain: @max_iov, @iov and @gpa set by the caller; the rest is filled in
 *
 * Return: 1 with @chain filled in, 0 if the ring is empty, -EIO if the guest
 * broke the ring (@ring->error says why; nothing is consumed, so the next
 * call fails the same way), or -EAGAIN if @ring->map is an IOTLB that lacks
 * an address (@ring->miss_addr and @ring->miss_perm say which; nothing is
 * consumed, and the call succeeds once the translation was added).
 */
int kvr_get_chain(struct kvr_ring *ring, struct kvr_chain *chain)
{
	if (ring->packed)
		return kvr_packed_get_chain(ring, chain);
	return kvr_split_get_chain(ring, chain);
}
EXPORT_SYMBOL_NS_GPL(kvr_get_chain, KVH_NS);

/**
 * kvr_unget_chain() - give back the chain last fetched
 * @ring: the ring
 * @chain: the chain kvr_get_chain() returned last (for several, call in
 *	reverse order)
 */
void kvr_unget_chain(struct kvr_ring *ring, const struct kvr_chain *chain)
{
	if (!ring->packed) {
		ring->last_avail_idx--;
		return;
	}
	if (ring->last_avail_idx >= chain->ndesc) {
		ring->last_avail_idx -= chain->ndesc;
	} else {
		ring->last_avail_idx += ring->num - chain->ndesc;
		ring->avail_wrap = !ring->avail_wrap;
	}
}
EXPORT_SYMBOL_NS_GPL(kvr_unget_chain, KVH_NS);

/**
 * kvr_push_used() - publish completed chains
 * @ring: the ring
 * @used: the chains, in completion order
 * @n: how many; at most @num
 *
 * The entries become visible to the guest at once (split: one used index
 * update; packed: the first entry's flags written last).
 *
 * Return: 0, -EINVAL for bad arguments, -EIO (KVR_ERR_ACCESS) if the ring is
 * not accessible, or the dirty log's error.
 */
int kvr_push_used(struct kvr_ring *ring, const struct kvr_used *used,
		  unsigned int n)
{
	if (!n)
		return 0;
	if (unlikely(n > ring->num))
		return -EINVAL;
	if (ring->packed)
		return kvr_packed_push_used(ring, used, n);
	return kvr_split_push_used(ring, used, n);
}
EXPORT_SYMBOL_NS_GPL(kvr_push_used, KVH_NS);

/**
 * kvr_log_chain() - log the guest memory the device wrote into a chain
 * @ring: the ring
 * @chain: the chain
 * @written: bytes written at the start of its writable part
 *
 * Does nothing while @ring->log is NULL.
 *
 * Return: 0, or the log's error.
 */
int kvr_log_chain(struct kvr_ring *ring, const struct kvr_chain *chain,
		  u32 written)
{
	unsigned int i, end = chain->nout + chain->nin;
	int ret;

	if (likely(!ring->log))
		return 0;
	for (i = chain->nout; i < end && written; i++) {
		u32 seg = chain->iov[i].iov_len;

		if (seg > written)
			seg = written;
		ret = kvr_log_write(ring->log, chain->gpa[i], seg);
		if (ret)
			return ret;
		written -= seg;
	}
	return 0;
}
EXPORT_SYMBOL_NS_GPL(kvr_log_chain, KVH_NS);

/**
 * kvr_should_notify() - whether the guest must be notified of used entries
 * @ring: the ring, after kvr_push_used()
 *
 * Honours NOTIFY_ON_EMPTY, NO_INTERRUPT, the used event index and, on
 * packed rings, the driver event suppression area.
 *
 * Return: true to notify (also when the ring cannot be read).
 */
bool kvr_should_notify(struct kvr_ring *ring)
{
	if (ring->packed)
		return kvr_packed_should_notify(ring);
	return kvr_split_should_notify(ring);
}
EXPORT_SYMBOL_NS_GPL(kvr_should_notify, KVH_NS);

/**
 * kvr_disable_notify() - ask the guest not to kick
 * @ring: the ring
 *
 * Return: 0, or -EIO (KVR_ERR_ACCESS).
 */
int kvr_disable_notify(struct kvr_ring *ring)
{
	if (ring->packed)
		return kvr_packed_disable_notify(ring);
	return kvr_split_disable_notify(ring);
}
EXPORT_SYMBOL_NS_GPL(kvr_disable_notify, KVH_NS);

/**
 * kvr_enable_notify() - ask the guest to kick again, race-free
 * @ring: the ring, found empty by kvr_get_chain()
 *
 * Re-arms notifications, then checks the ring again: buffers the guest made
 * available meanwhile would not be kicked for.
 *
 * Return: 1 if buffers are available (the caller must process them, usually
 * after kvr_disable_notify()), 0 if the ring is empty, -EIO on an access
 * error or a bad avail index.
 */
int kvr_enable_notify(struct kvr_ring *ring)
{
	if (ring->packed)
		return kvr_packed_enable_notify(ring);
	return kvr_split_enable_notify(ring);
}
EXPORT_SYMBOL_NS_GPL(kvr_enable_notify, KVH_NS);

/**
 * kvr_avail_mark() - where the guest's buffers ran out
 * @ring: the ring, right after kvr_get_chain() returned 0
 *
 * Return: the mark kvr_enable_notify_at() takes: split, the avail index;
 * packed, the slot found empty with the driver wrap counter in bit 15.
 */
u16 kvr_avail_mark(const struct kvr_ring *ring)
{
	if (ring->packed)
		return ring->last_avail_idx | (ring->avail_wrap ? 0x8000 : 0);
	return ring->last_avail_idx;
}
EXPORT_SYMBOL_NS_GPL(kvr_avail_mark, KVH_NS);

/**
 * kvr_enable_notify_at() - ask the guest to kick once it adds buffers
 * @ring: the ring
 * @mark: kvr_avail_mark() when kvr_get_chain() ran out; the chains fetched
 *	before that may have been given back
 *
 * For a caller that needs more buffers than the guest has made available
 * (vhost-net RX gathering a mergeable packet): kvr_enable_notify() would
 * report the buffers it gave back and ask for a kick for them, which the
 * guest, having made them available already, never sends. This asks for a
 * kick for the entry at @mark (with EVENT_IDX) and looks only there.
 *
 * Return: 1 if the guest has made buffers available at @mark, 0 if not
 * (it will kick when it does), -EIO on an access error or a bad avail
 * index, -EINVAL for a mark outside the ring.
 */
int kvr_enable_notify_at(struct kvr_ring *ring, u16 mark)
{
	if (ring->packed)
		return kvr_packed_enable_notify_at(ring, mark);
	return kvr_split_enable_notify_at(ring, mark);
}
EXPORT_SYMBOL_NS_GPL(kvr_enable_notify_at, KVH_NS);

/**
 * kvr_avail_pending() - has the guest made a chain available we have not
 *	fetched yet?
 * @ring: a started ring
 *
 * A cheap look for busy-polling loops: one 16-bit read of guest memory at
 * most, and nothing changes, neither in @ring nor in the guest's memory.
 * kvr_get_chain() does the real, checked work afterwards.
 *
 * Return: true if a chain is available, and also when the ring cannot be
 * read or its avail index is bad, so that the caller goes on to
 * kvr_get_chain(), which reports the error; false if the ring is empty.
 */
bool kvr_avail_pending(const struct kvr_ring *ring)
{
	if (ring->packed)
		return kvr_packed_avail_pending(ring);
	return kvr_split_avail_pending(ring);
}
EXPORT_SYMBOL_NS_GPL(kvr_avail_pending, KVH_NS);
