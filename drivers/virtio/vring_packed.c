// SPDX-License-Identifier: GPL-2.0
/*
 * kvr: the packed ring layout (VIRTIO_F_RING_PACKED, virtio 1.1 §2.8).
 *
 * Choices where drivers and devices have differed:
 *
 * - Buffer id: the spec (§2.8.6) puts it in the last descriptor of a chain,
 *   and that is where we take it from. Linux's driver writes the id into
 *   every descriptor of a chain, so it works either way; QEMU read it from
 *   the first one until 2024 and now follows the spec.
 * - Only the head's AVAIL/USED bits decide availability: the driver makes a
 *   whole chain available by writing the head's flags last (§2.8.21), so the
 *   flags of the rest of the chain are not checked.
 * - An indirect descriptor must stand alone in its chain (§2.8.7: no NEXT,
 *   and never reached through NEXT): KVR_ERR_INDIRECT_NEXT otherwise. The
 *   table's entries are all part of the buffer, in order; NEXT is ignored
 *   inside it.
 * - Used descriptors carry VIRTQ_DESC_F_WRITE when the device wrote data
 *   (len > 0); len is meaningful only then (§2.8.4).
 * - A chain of more than @num descriptors is KVR_ERR_LOOP.
 *
 * signalled_used holds the used slot at the last kvr_should_notify() with
 * the device wrap counter in bit 15, so that the distance to the current
 * slot is exact up to a full lap; kvr_packed_push_used() drops the tracking
 * (the next check notifies) once more than a lap has been published.
 */
#include "vring_int.h"

/* A used descriptor from its len field on: what the device writes. */
struct kvr_pused {
	__le32 len;
	__le16 id;
	__le16 flags;
};

static inline kvr_uaddr_t kvr_pdesc(const struct kvr_ring *ring,
				    unsigned int slot)
{
	return ring->desc + 16ULL * slot;
}

static inline bool kvr_packed_avail(u16 flags, bool wrap)
{
	return !!(flags & KVR_DESC_F_AVAIL) == wrap &&
	       !!(flags & KVR_DESC_F_USED) != wrap;
}

/* Write the device event suppression area's flags, and log it. */
static int kvr_packed_dev_flags(struct kvr_ring *ring, u16 flags)
{
	kvr_uaddr_t a = ring->used + KVR_EVENT_FLAGS;

	if (unlikely(kvr_put16(a, flags)))
		return kvr_fail(ring, KVR_ERR_ACCESS, a);
	if (likely(!ring->log_used))
		return 0;
	kvr_wmb();
	return kvr_log_used(ring, ring->used_gpa + KVR_EVENT_FLAGS, 2);
}

/**
 * kvr_packed_start() - packed part of kvr_ring_start()
 * @ring: the ring
 *
 * Return: 0, or -EIO (KVR_ERR_ACCESS).
 */
int kvr_packed_start(struct kvr_ring *ring)
{
	return kvr_packed_dev_flags(ring, KVR_EVENT_ENABLE);
}

/* Walk a packed indirect table: every entry, in order. */
static int kvr_packed_indirect(struct kvr_walk *w, u64 table, u32 len)
{
	struct kvr_ring *ring = w->ring;
	struct kvr_pdesc buf[KVR_TABLE_BATCH];
	unsigned int count, i, j, n;
	int ret;

	ret = kvr_table_check(ring, table, len);
	if (unlikely(ret))
		return ret;
	count = len / 16;
	for (i = 0; i < count; i += n) {
		ret = kvr_table_read(ring, table, i, count, buf);
		if (unlikely(ret < 0))
			return ret;
		n = ret;
		for (j = 0; j < n; j++) {
			u16 f = le16_to_cpu(buf[j].flags);
			int err;

			if (unlikely(f & KVR_DESC_F_INDIRECT))
				return kvr_fail(ring, KVR_ERR_INDIRECT_NESTED,
						table);
			err = kvr_walk_add(w, le64_to_cpu(buf[j].addr),
					   le32_to_cpu(buf[j].len),
					   f & KVR_DESC_F_WRITE);
			if (unlikely(err))
				return err;
		}
	}
	return 0;
}

/**
 * kvr_packed_get_chain() - packed part of kvr_get_chain()
 * @ring: the ring
 * @chain: the chain to fill in
 *
 * Return: 1, 0 (empty), -EIO or -EAGAIN (IOTLB miss).
 */
int kvr_packed_get_chain(struct kvr_ring *ring, struct kvr_chain *chain)
{
	unsigned int num = ring->num, slot = ring->last_avail_idx, n = 0;
	bool wrap = ring->avail_wrap;
	struct kvr_walk w;
	struct kvr_pdesc d;
	u16 flags, id = 0;
	int ret;

	if (unlikely(kvr_get16(&flags, kvr_pdesc(ring, slot) +
			       KVR_PDESC_FLAGS)))
		return kvr_fail(ring, KVR_ERR_ACCESS, kvr_pdesc(ring, slot));
	if (!kvr_packed_avail(flags, wrap))
		return 0;
	/* The flags before the rest of the chain they make available. */
	kvr_rmb();

	kvr_walk_init(&w, ring, chain);
	for (;;) {
		if (unlikely(n == num))
			return kvr_fail(ring, KVR_ERR_LOOP, ring->last_avail_idx);
		if (unlikely(kvr_copy_from(&d, kvr_pdesc(ring, slot),
					   sizeof(d))))
			return kvr_fail(ring, KVR_ERR_ACCESS,
					kvr_pdesc(ring, slot));
		/* The head's flags are the ones we checked. */
		if (n)
			flags = le16_to_cpu(d.flags);
		n++;
		id = le16_to_cpu(d.id);

		if (unlikely(flags & KVR_DESC_F_INDIRECT)) {
			if (unlikely(!ring->indirect))
				return kvr_fail(ring, KVR_ERR_INDIRECT_OFF,
						le64_to_cpu(d.addr));
			if (unlikely(n > 1 || (flags & KVR_DESC_F_NEXT)))
				return kvr_fail(ring, KVR_ERR_INDIRECT_NEXT,
						le64_to_cpu(d.addr));
			ret = kvr_packed_indirect(&w, le64_to_cpu(d.addr),
						  le32_to_cpu(d.len));
		} else {
			ret = kvr_walk_add(&w, le64_to_cpu(d.addr),
					   le32_to_cpu(d.len),
					   flags & KVR_DESC_F_WRITE);
		}
		if (unlikely(ret))
			return ret;

		if (++slot == num) {
			slot = 0;
			wrap = !wrap;
		}
		if (!(flags & KVR_DESC_F_NEXT))
			break;
	}
	if (unlikely(id >= num))
		return kvr_fail(ring, KVR_ERR_ID, id);

	chain->head = id;
	chain->ndesc = n;
	ring->last_avail_idx = slot;
	ring->avail_wrap = wrap;
	return 1;
}

/* Slots published since the last kvr_should_notify(); > num if unknown. */
static unsigned int kvr_packed_used_dist(const struct kvr_ring *ring)
{
	unsigned int sig = ring->signalled_used & 0x7fff;
	bool sig_wrap = ring->signalled_used & 0x8000;
	unsigned int cur = ring->last_used_idx;

	if (sig_wrap == ring->used_wrap)
		return cur >= sig ? cur - sig : 2 * ring->num;
	return cur + ring->num - sig;
}

/**
 * kvr_packed_push_used() - packed part of kvr_push_used()
 * @ring: the ring
 * @used: completed chains, each with the ndesc kvr_get_chain() gave it
 * @n: how many, 1..num
 *
 * Every entry but the first is written whole (id, len, flags); the first's
 * flags go last, after a write barrier, so the guest, which looks at the
 * first slot first, sees the whole batch at once.
 *
 * Return: 0, -EINVAL (an ndesc of 0 or more than num), -EIO
 * (KVR_ERR_ACCESS) or the log's error.
 */
int kvr_packed_push_used(struct kvr_ring *ring, const struct kvr_used *used,
			 unsigned int n)
{
	unsigned int num = ring->num, slot = ring->last_used_idx, total = 0;
	unsigned int slot0 = slot, i;
	bool wrap = ring->used_wrap;
	u16 flags0 = 0;
	int ret;

	for (i = 0; i < n; i++) {
		struct kvr_pused e;
		u16 f = wrap ? KVR_DESC_F_AVAIL | KVR_DESC_F_USED : 0;
		kvr_uaddr_t dst = kvr_pdesc(ring, slot) + KVR_PDESC_LEN;

		if (unlikely(!used[i].ndesc || used[i].ndesc > num))
			return -EINVAL;
		if (used[i].len)
			f |= KVR_DESC_F_WRITE;
		e.len = cpu_to_le32(used[i].len);
		e.id = cpu_to_le16(used[i].id);
		e.flags = cpu_to_le16(f);
		/* The first entry without its flags: they publish the batch. */
		if (unlikely(kvr_copy_to(dst, &e, i ? sizeof(e) :
					 KVR_PDESC_FLAGS - KVR_PDESC_LEN)))
			return kvr_fail(ring, KVR_ERR_ACCESS, dst);
		if (!i)
			flags0 = f;
		total += used[i].ndesc;
		slot += used[i].ndesc;
		if (slot >= num) {
			slot -= num;
			wrap = !wrap;
		}
	}

	/* Everything else before the first entry's flags. */
	kvr_wmb();
	if (unlikely(kvr_put16(kvr_pdesc(ring, slot0) + KVR_PDESC_FLAGS,
			       flags0)))
		return kvr_fail(ring, KVR_ERR_ACCESS, kvr_pdesc(ring, slot0));

	if (ring->signalled_used_valid &&
	    kvr_packed_used_dist(ring) + total > num)
		ring->signalled_used_valid = false;
	ring->last_used_idx = slot;
	ring->used_wrap = wrap;

	if (likely(!ring->log_used))
		return 0;
	kvr_wmb();
	slot = slot0;
	for (i = 0; i < n; i++) {
		ret = kvr_log_used(ring, ring->desc_gpa + 16ULL * slot +
				   KVR_PDESC_LEN, sizeof(struct kvr_pused));
		if (ret)
			return ret;
		slot += used[i].ndesc;
		if (slot >= num)
			slot -= num;
	}
	return 0;
}

/**
 * kvr_packed_should_notify() - packed part of kvr_should_notify()
 * @ring: the ring
 *
 * Return: true to notify.
 */
bool kvr_packed_should_notify(struct kvr_ring *ring)
{
	unsigned int dist = 0;
	struct kvr_event ev;
	u16 event, new, old;
	bool valid;

	/* Used descriptor writes before the read of the guest's wishes. */
	kvr_mb();

	valid = ring->signalled_used_valid;
	if (valid)
		dist = kvr_packed_used_dist(ring);
	ring->signalled_used = ring->last_used_idx |
			       (ring->used_wrap ? 0x8000 : 0);
	ring->signalled_used_valid = true;

	if (kvr_copy_from(&ev, ring->avail, sizeof(ev)))
		return true;
	switch (le16_to_cpu(ev.flags) & 0x3) {
	case KVR_EVENT_DISABLE:
		return false;
	case KVR_EVENT_DESC:
		if (ring->event_idx)
			break;
		fallthrough;
	default:
		return true;
	}
	if (unlikely(!valid || dist > ring->num))
		return true;

	/*
	 * Slots of the current lap are 0..num-1; the event is in the previous
	 * lap if its wrap counter is not ours, and old may be there too.
	 */
	event = le16_to_cpu(ev.off_wrap) & 0x7fff;
	if (!!(le16_to_cpu(ev.off_wrap) & KVR_EVENT_WRAP) != ring->used_wrap)
		event -= ring->num;
	new = ring->last_used_idx;
	old = new - dist;
	return kvr_need_event(event, new, old);
}

/**
 * kvr_packed_disable_notify() - packed part of kvr_disable_notify()
 * @ring: the ring
 *
 * Return: 0 or -EIO.
 */
int kvr_packed_disable_notify(struct kvr_ring *ring)
{
	return kvr_packed_dev_flags(ring, KVR_EVENT_DISABLE);
}

/*
 * Ask for a kick once the driver makes the slot at position @pos (slot in
 * bits 0-14, wrap counter in bit 15) available with EVENT_IDX, otherwise
 * for every kick; then re-read that slot's flags.
 *
 * Return: 1 (available), 0 (not) or -EIO.
 */
static int kvr_packed_rearm(struct kvr_ring *ring, u16 pos)
{
	unsigned int slot = pos & 0x7fff;
	u16 flags;
	int ret;

	if (ring->event_idx) {
		struct kvr_event ev = {
			.off_wrap = cpu_to_le16(pos),
			.flags = cpu_to_le16(KVR_EVENT_DESC),
		};

		if (unlikely(kvr_copy_to(ring->used, &ev, sizeof(ev))))
			return kvr_fail(ring, KVR_ERR_ACCESS, ring->used);
		if (unlikely(ring->log_used)) {
			kvr_wmb();
			ret = kvr_log_used(ring, ring->used_gpa, sizeof(ev));
			if (ret)
				return ret;
		}
	} else {
		ret = kvr_packed_dev_flags(ring, KVR_EVENT_ENABLE);
		if (ret)
			return ret;
	}

	/* The re-arm before the re-check: pairs with the driver's mb. */
	kvr_mb();
	if (unlikely(kvr_get16(&flags, kvr_pdesc(ring, slot) +
			       KVR_PDESC_FLAGS)))
		return kvr_fail(ring, KVR_ERR_ACCESS, kvr_pdesc(ring, slot));
	return kvr_packed_avail(flags, pos & KVR_EVENT_WRAP);
}

/**
 * kvr_packed_enable_notify() - packed part of kvr_enable_notify()
 * @ring: the ring
 *
 * With EVENT_IDX, asks for a kick when the driver makes the next slot we
 * will fetch available; otherwise for every kick.
 *
 * Return: 1 (buffers available), 0 (empty) or -EIO.
 */
int kvr_packed_enable_notify(struct kvr_ring *ring)
{
	return kvr_packed_rearm(ring, ring->last_avail_idx |
				(ring->avail_wrap ? KVR_EVENT_WRAP : 0));
}

/**
 * kvr_packed_enable_notify_at() - packed part of kvr_enable_notify_at()
 * @ring: the ring
 * @mark: the position (slot | driver wrap counter << 15) found empty
 *
 * Return: 1 (the slot at @mark is now available), 0 (not) or -EIO.
 */
int kvr_packed_enable_notify_at(struct kvr_ring *ring, u16 mark)
{
	if (unlikely((mark & 0x7fff) >= ring->num))
		return -EINVAL;
	return kvr_packed_rearm(ring, mark);
}

/**
 * kvr_packed_avail_pending() - packed part of kvr_avail_pending()
 * @ring: the ring
 *
 * Return: true if the descriptor at the next slot to fetch is available
 * in the driver's current lap, or cannot be read; false if not.
 */
bool kvr_packed_avail_pending(const struct kvr_ring *ring)
{
	u16 flags;

	if (unlikely(kvr_get16(&flags, kvr_pdesc(ring, ring->last_avail_idx) +
			       KVR_PDESC_FLAGS)))
		return true;
	return kvr_packed_avail(flags, ring->avail_wrap);
}
