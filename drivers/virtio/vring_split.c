// SPDX-License-Identifier: GPL-2.0
/*
 * kvr: the split ring layout (virtio 1.x §2.7).
 *
 * The avail index is read once per batch: only when every entry seen so far
 * has been fetched. Each descriptor is one 16-byte read; indirect tables are
 * read KVR_TABLE_BATCH entries at a time through the translation table.
 * Used entries go out in batches, with one used index update per call.
 */
#include "vring_int.h"

/* Used elements staged on the stack per copy to the used ring. */
#define KVR_USED_BATCH		64

static inline kvr_uaddr_t kvr_avail_ring(const struct kvr_ring *ring,
					 u16 idx)
{
	return ring->avail + KVR_AVAIL_RING + 2 * (idx & (ring->num - 1));
}

static inline kvr_uaddr_t kvr_used_event(const struct kvr_ring *ring)
{
	return ring->avail + KVR_AVAIL_RING + 2 * ring->num;
}

static inline u64 kvr_avail_event_off(const struct kvr_ring *ring)
{
	return KVR_USED_RING + 8ULL * ring->num;
}

/**
 * kvr_split_start() - split part of kvr_ring_start()
 * @ring: the ring
 *
 * Return: 0, or -EIO (KVR_ERR_ACCESS).
 */
int kvr_split_start(struct kvr_ring *ring)
{
	u16 idx;

	if (kvr_get16(&idx, ring->used + KVR_USED_IDX))
		return kvr_fail(ring, KVR_ERR_ACCESS, ring->used + KVR_USED_IDX);
	ring->last_used_idx = idx;
	ring->signalled_used = idx;
	if (kvr_put16(ring->used + KVR_USED_FLAGS, 0))
		return kvr_fail(ring, KVR_ERR_ACCESS,
				ring->used + KVR_USED_FLAGS);
	kvr_wmb();
	return kvr_log_used(ring, ring->used_gpa + KVR_USED_FLAGS, 2);
}

/* Walk an indirect table; @d is the descriptor that points to it. */
static int kvr_split_indirect(struct kvr_walk *w, const struct kvr_sdesc *d,
			      u16 flags)
{
	struct kvr_ring *ring = w->ring;
	struct kvr_sdesc buf[KVR_TABLE_BATCH];
	u64 table = le64_to_cpu(d->addr);
	u32 len = le32_to_cpu(d->len);
	unsigned int count, i = 0, hops = 0, base = 0, nbuf = 0;
	int ret;

	if (unlikely(!ring->indirect))
		return kvr_fail(ring, KVR_ERR_INDIRECT_OFF, table);
	if (unlikely(flags & KVR_DESC_F_NEXT))
		return kvr_fail(ring, KVR_ERR_INDIRECT_NEXT, table);
	ret = kvr_table_check(ring, table, len);
	if (unlikely(ret))
		return ret;
	count = len / 16;

	for (;;) {
		const struct kvr_sdesc *e;
		u16 f;

		if (unlikely(++hops > count))
			return kvr_fail(ring, KVR_ERR_LOOP, table);
		if (i < base || i >= base + nbuf) {
			ret = kvr_table_read(ring, table, i, count, buf);
			if (unlikely(ret < 0))
				return ret;
			base = i;
			nbuf = ret;
		}
		e = &buf[i - base];
		f = le16_to_cpu(e->flags);
		if (unlikely(f & KVR_DESC_F_INDIRECT))
			return kvr_fail(ring, KVR_ERR_INDIRECT_NESTED, table);
		ret = kvr_walk_add(w, le64_to_cpu(e->addr), le32_to_cpu(e->len),
				   f & KVR_DESC_F_WRITE);
		if (unlikely(ret))
			return ret;
		if (!(f & KVR_DESC_F_NEXT))
			return 0;
		i = le16_to_cpu(e->next);
		if (unlikely(i >= count))
			return kvr_fail(ring, KVR_ERR_NEXT, i);
	}
}

/**
 * kvr_split_get_chain() - split part of kvr_get_chain()
 * @ring: the ring
 * @chain: the chain to fill in
 *
 * Return: 1, 0 (empty), -EIO or -EAGAIN (IOTLB miss).
 */
int kvr_split_get_chain(struct kvr_ring *ring, struct kvr_chain *chain)
{
	u16 last = ring->last_avail_idx;
	unsigned int num = ring->num, hops = 0;
	struct kvr_walk w;
	struct kvr_sdesc d;
	u16 head, i;
	int ret;

	if (last == ring->avail_idx) {
		u16 idx;

		if (unlikely(kvr_get16(&idx, ring->avail + KVR_AVAIL_IDX)))
			return kvr_fail(ring, KVR_ERR_ACCESS,
					ring->avail + KVR_AVAIL_IDX);
		if (unlikely((u16)(idx - last) > num))
			return kvr_fail(ring, KVR_ERR_AVAIL_IDX, idx);
		ring->avail_idx = idx;
		if (idx == last)
			return 0;
		/* Read the index before the entries it covers. */
		kvr_rmb();
	}

	if (unlikely(kvr_get16(&head, kvr_avail_ring(ring, last))))
		return kvr_fail(ring, KVR_ERR_ACCESS, kvr_avail_ring(ring, last));
	if (unlikely(head >= num))
		return kvr_fail(ring, KVR_ERR_HEAD, head);

	kvr_walk_init(&w, ring, chain);
	i = head;
	for (;;) {
		u16 flags;

		if (unlikely(++hops > num))
			return kvr_fail(ring, KVR_ERR_LOOP, head);
		if (unlikely(kvr_copy_from(&d, ring->desc + 16ULL * i,
					   sizeof(d))))
			return kvr_fail(ring, KVR_ERR_ACCESS,
					ring->desc + 16ULL * i);
		flags = le16_to_cpu(d.flags);
		if (unlikely(flags & KVR_DESC_F_INDIRECT))
			ret = kvr_split_indirect(&w, &d, flags);
		else
			ret = kvr_walk_add(&w, le64_to_cpu(d.addr),
					   le32_to_cpu(d.len),
					   flags & KVR_DESC_F_WRITE);
		if (unlikely(ret))
			return ret;
		if (!(flags & KVR_DESC_F_NEXT))
			break;
		i = le16_to_cpu(d.next);
		if (unlikely(i >= num))
			return kvr_fail(ring, KVR_ERR_NEXT, i);
	}

	chain->head = head;
	chain->ndesc = 1;
	ring->last_avail_idx = last + 1;
	return 1;
}

/**
 * kvr_split_push_used() - split part of kvr_push_used()
 * @ring: the ring
 * @used: completed chains
 * @n: how many, 1..num
 *
 * Return: 0, -EIO (KVR_ERR_ACCESS) or the log's error.
 */
int kvr_split_push_used(struct kvr_ring *ring, const struct kvr_used *used,
			unsigned int n)
{
	struct kvr_used_elem buf[KVR_USED_BATCH];
	unsigned int num = ring->num, done = 0, slot0, n0;
	u16 start = ring->last_used_idx, idx = start + n;
	int ret;

	while (done < n) {
		unsigned int slot = (u16)(start + done) & (num - 1);
		unsigned int k = n - done, j;
		kvr_uaddr_t dst;

		if (k > num - slot)
			k = num - slot;
		if (k > KVR_USED_BATCH)
			k = KVR_USED_BATCH;
		for (j = 0; j < k; j++) {
			buf[j].id = cpu_to_le32(used[done + j].id);
			buf[j].len = cpu_to_le32(used[done + j].len);
		}
		dst = ring->used + KVR_USED_RING + 8ULL * slot;
		if (unlikely(kvr_copy_to(dst, buf, 8 * k)))
			return kvr_fail(ring, KVR_ERR_ACCESS, dst);
		done += k;
	}

	/* The entries before the index that publishes them. */
	kvr_wmb();
	if (unlikely(kvr_put16(ring->used + KVR_USED_IDX, idx)))
		return kvr_fail(ring, KVR_ERR_ACCESS, ring->used + KVR_USED_IDX);
	ring->last_used_idx = idx;

	if (likely(!ring->log_used))
		return 0;
	/* The writes before the log bits that announce them. */
	kvr_wmb();
	slot0 = start & (num - 1);
	n0 = n < num - slot0 ? n : num - slot0;
	ret = kvr_log_used(ring, ring->used_gpa + KVR_USED_RING + 8ULL * slot0,
			   8ULL * n0);
	if (!ret && n > n0)
		ret = kvr_log_used(ring, ring->used_gpa + KVR_USED_RING,
				   8ULL * (n - n0));
	if (!ret)
		ret = kvr_log_used(ring, ring->used_gpa + KVR_USED_IDX, 2);
	return ret;
}

/**
 * kvr_split_should_notify() - split part of kvr_should_notify()
 * @ring: the ring
 *
 * Return: true to notify.
 */
bool kvr_split_should_notify(struct kvr_ring *ring)
{
	u16 old, new, v16;
	bool valid;

	/* Used index writes before the reads of the guest's wishes. */
	kvr_mb();

	if (ring->notify_on_empty) {
		if (kvr_get16(&v16, ring->avail + KVR_AVAIL_IDX))
			return true;
		if (v16 == ring->last_avail_idx)
			return true;
	}

	if (!ring->event_idx) {
		if (kvr_get16(&v16, ring->avail + KVR_AVAIL_FLAGS))
			return true;
		return !(v16 & KVR_AVAIL_F_NO_INTERRUPT);
	}

	old = ring->signalled_used;
	valid = ring->signalled_used_valid;
	new = ring->last_used_idx;
	ring->signalled_used = new;
	ring->signalled_used_valid = true;
	if (unlikely(!valid))
		return true;
	if (kvr_get16(&v16, kvr_used_event(ring)))
		return true;
	return kvr_need_event(v16, new, old);
}

/* Write used->flags, and log it. */
static int kvr_split_used_flags(struct kvr_ring *ring, u16 flags)
{
	if (unlikely(kvr_put16(ring->used + KVR_USED_FLAGS, flags)))
		return kvr_fail(ring, KVR_ERR_ACCESS,
				ring->used + KVR_USED_FLAGS);
	if (likely(!ring->log_used))
		return 0;
	kvr_wmb();
	return kvr_log_used(ring, ring->used_gpa + KVR_USED_FLAGS, 2);
}

/**
 * kvr_split_disable_notify() - split part of kvr_disable_notify()
 * @ring: the ring
 *
 * With EVENT_IDX there is nothing to write: the guest kicks only when it
 * passes avail_event, which stays where kvr_split_enable_notify() put it.
 *
 * Return: 0 or -EIO.
 */
int kvr_split_disable_notify(struct kvr_ring *ring)
{
	if (ring->event_idx)
		return 0;
	return kvr_split_used_flags(ring, KVR_USED_F_NO_NOTIFY);
}

/*
 * Ask for a kick once the guest publishes avail entry @event (EVENT_IDX),
 * or for every kick, then re-read the avail index into ring->avail_idx.
 */
static int kvr_split_rearm(struct kvr_ring *ring, u16 event)
{
	u64 off = kvr_avail_event_off(ring);
	u16 idx;
	int ret;

	if (!ring->event_idx) {
		ret = kvr_split_used_flags(ring, 0);
		if (ret)
			return ret;
	} else {
		if (unlikely(kvr_put16(ring->used + off, event)))
			return kvr_fail(ring, KVR_ERR_ACCESS, ring->used + off);
		if (unlikely(ring->log_used)) {
			kvr_wmb();
			ret = kvr_log_used(ring, ring->used_gpa + off, 2);
			if (ret)
				return ret;
		}
	}

	/* The re-arm before the re-check: pairs with the guest's mb. */
	kvr_mb();
	if (unlikely(kvr_get16(&idx, ring->avail + KVR_AVAIL_IDX)))
		return kvr_fail(ring, KVR_ERR_ACCESS,
				ring->avail + KVR_AVAIL_IDX);
	if (unlikely((u16)(idx - ring->last_avail_idx) > ring->num))
		return kvr_fail(ring, KVR_ERR_AVAIL_IDX, idx);
	ring->avail_idx = idx;
	/* The index before the entries kvr_get_chain() will read. */
	kvr_rmb();
	return 0;
}

/**
 * kvr_split_enable_notify() - split part of kvr_enable_notify()
 * @ring: the ring
 *
 * Return: 1 (buffers available), 0 (empty) or -EIO.
 */
int kvr_split_enable_notify(struct kvr_ring *ring)
{
	int ret = kvr_split_rearm(ring, ring->avail_idx);

	return ret ? ret : ring->avail_idx != ring->last_avail_idx;
}

/**
 * kvr_split_enable_notify_at() - split part of kvr_enable_notify_at()
 * @ring: the ring
 * @mark: the avail index where the ring ran out
 *
 * Return: 1 (entries at or past @mark), 0 (none) or -EIO.
 */
int kvr_split_enable_notify_at(struct kvr_ring *ring, u16 mark)
{
	int ret = kvr_split_rearm(ring, mark);

	return ret ? ret : ring->avail_idx != mark;
}

/**
 * kvr_split_avail_pending() - split part of kvr_avail_pending()
 * @ring: the ring
 *
 * Return: true if the avail index (as last read, or as read now) is past
 * the next entry to fetch, or cannot be read; false if not.
 */
bool kvr_split_avail_pending(const struct kvr_ring *ring)
{
	u16 idx;

	if (ring->avail_idx != ring->last_avail_idx)
		return true;
	if (unlikely(kvr_get16(&idx, ring->avail + KVR_AVAIL_IDX)))
		return true;
	return idx != ring->last_avail_idx;
}
