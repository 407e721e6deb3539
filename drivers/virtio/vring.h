/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvr: the host side of virtio rings, shared by vhost-net and vhost-blk.
 *
 * The library knows ring formats and nothing about devices: it fetches the
 * chains the guest made available, checks every index, flag, length and
 * address in them, translates them into iovecs through the memory table,
 * publishes used entries in batches and decides when the guest must be
 * notified. It touches guest memory only through vring_access.h, so the same
 * source builds in userspace for unit tests and fuzzing.
 *
 * Nothing the guest writes is trusted. A malformed ring makes the call fail
 * with -EIO and records why in kvr_ring.error; the caller then stops the
 * queue and signals the error eventfd. No input makes the library loop more
 * than a bounded number of times: a chain visits at most num descriptors in
 * the ring plus KVR_MAX_INDIRECT in one indirect table.
 *
 * Locking: a kvr_ring belongs to one virtqueue and is used under that
 * virtqueue's lock (in the kernel, by the worker that serves it). The map
 * and log it points to must stay valid until the caller replaces them, which
 * it does with the same lock held.
 */
#ifndef KVHOST_VRING_H
#define KVHOST_VRING_H

#include "vring_access.h"

/* Largest ring: the virtio limit for split rings, and ours for packed. */
#define KVR_MAX_NUM		32768
/* Largest indirect table we walk, in descriptors. */
#define KVR_MAX_INDIRECT	1024

/* Why the guest's ring was rejected. */
enum kvr_error {
	KVR_OK = 0,
	KVR_ERR_ACCESS,		/* ring memory is not accessible */
	KVR_ERR_AVAIL_IDX,	/* avail index moved by more than num */
	KVR_ERR_HEAD,		/* head index out of range */
	KVR_ERR_NEXT,		/* next index out of range */
	KVR_ERR_LOOP,		/* chain longer than the ring: a loop */
	KVR_ERR_INDIRECT_LEN,	/* indirect table empty, ragged or too big */
	KVR_ERR_INDIRECT_NESTED, /* indirect descriptor in an indirect table */
	KVR_ERR_INDIRECT_NEXT,	/* indirect descriptor chained to another */
	KVR_ERR_INDIRECT_OFF,	/* INDIRECT_DESC was not negotiated */
	KVR_ERR_OUT_AFTER_IN,	/* readable descriptor after a writable one */
	KVR_ERR_LEN,		/* chain length overflows 32 bits */
	KVR_ERR_ADDR,		/* address outside the memory table */
	KVR_ERR_PERM,		/* mapped, but not for this access */
	KVR_ERR_IOV,		/* more segments than the chain can hold */
	KVR_ERR_ID,		/* packed: buffer id out of range */
	KVR_ERR_BACKEND,	/* the backend rejected the chain */
	KVR_ERR_MAX,
};

const char *kvr_error_name(enum kvr_error err);

/* Access rights of a translation range; the values are VHOST_ACCESS_*. */
#define KVR_PERM_READ		0x1
#define KVR_PERM_WRITE		0x2
#define KVR_PERM_RW		(KVR_PERM_READ | KVR_PERM_WRITE)

/* One range of guest addresses and where the owner has it mapped. */
struct kvr_range {
	u64 start;		/* guest-physical address (or IOVA) */
	u64 last;		/* last byte, inclusive: no overflow at 2^64 */
	kvr_uaddr_t uaddr;	/* the owner's address of @start */
	u32 perm;		/* KVR_PERM_* */
};

/*
 * A translation table: sorted by start, non-overlapping. Immutable.
 * @iotlb: a device IOTLB, which the VMM fills on demand: an address it does
 * not cover is a miss to report and retry (-EAGAIN), not a broken ring.
 */
struct kvr_map {
	unsigned int n;
	bool iotlb;
	struct kvr_range r[];
};

int kvr_map_check(const struct kvr_map *map);
const struct kvr_range *kvr_map_find(const struct kvr_map *map, u64 addr);

/* One guest buffer chain, translated. The caller provides the storage. */
struct kvr_chain {
	u16 head;		/* split: head index; packed: buffer id */
	u16 ndesc;		/* ring slots the chain takes (packed); split: 1 */
	unsigned int nout;	/* iov[0, nout) are device-readable */
	unsigned int nin;	/* iov[nout, nout + nin) are device-writable */
	u32 out_len;		/* bytes in the readable part */
	u32 in_len;		/* bytes in the writable part */
	unsigned int max_iov;	/* capacity of @iov and @gpa */
	struct iovec *iov;
	u64 *gpa;		/* guest address of each iov, for dirty logging */
};

/* A completed chain, for kvr_push_used(). */
struct kvr_used {
	u16 id;			/* kvr_chain.head */
	u16 ndesc;		/* kvr_chain.ndesc */
	u32 len;		/* bytes written into the chain's writable part */
};

/**
 * struct kvr_ring - one virtqueue's ring
 *
 * Configuration, set before kvr_ring_start() and left alone while the ring
 * runs, except @map, @log and @log_used, which the owner may swap between
 * calls:
 * @num: ring size; a power of two up to KVR_MAX_NUM for split rings
 * @packed: VIRTIO_F_RING_PACKED layout
 * @event_idx: VIRTIO_RING_F_EVENT_IDX negotiated
 * @indirect: VIRTIO_RING_F_INDIRECT_DESC negotiated
 * @notify_on_empty: VIRTIO_F_NOTIFY_ON_EMPTY negotiated
 * @desc: descriptor table
 * @avail: split: avail ring; packed: driver event suppression area
 * @used: split: used ring; packed: device event suppression area
 * @map: guest memory (or the IOTLB) as the owner sees it
 * @log: where data writes are logged; NULL while not logging
 * @log_used: log the device's writes to the used ring at @used_gpa
 * @used_gpa: guest-physical address of the used ring (device area)
 * @desc_gpa: packed: guest-physical address of the descriptor ring, where
 *	the device writes used descriptors (logged when @log_used is set)
 *
 * State, owned by the library:
 * @last_avail_idx: split: next avail entry to fetch; packed: next slot
 * @avail_idx: split: last avail index read from the guest
 * @last_used_idx: split: the used index as published; packed: next slot
 * @avail_wrap: packed: the driver's wrap counter at @last_avail_idx
 * @used_wrap: packed: the device's wrap counter at @last_used_idx
 * @signalled_used: used index at the last notification
 * @signalled_used_valid: @signalled_used may be trusted
 * @error: why the ring was last rejected (KVR_OK while healthy)
 * @error_info: the offending index or address, for diagnostics
 * @map_hint: index in @map of the last range hit, tried first (a hint
 *	checked against the current @map, so swapping @map needs no reset)
 * @miss_addr: after -EAGAIN, the address @map (an IOTLB) lacked
 * @miss_perm: and the access wanted there (KVR_PERM_*)
 */
struct kvr_ring {
	unsigned int num;
	bool packed;
	bool event_idx;
	bool indirect;
	bool notify_on_empty;
	kvr_uaddr_t desc;
	kvr_uaddr_t avail;
	kvr_uaddr_t used;
	const struct kvr_map *map;
	struct kvr_log *log;
	bool log_used;
	u64 used_gpa;
	u64 desc_gpa;

	u16 last_avail_idx;
	u16 avail_idx;
	u16 last_used_idx;
	bool avail_wrap;
	bool used_wrap;
	u16 signalled_used;
	bool signalled_used_valid;
	enum kvr_error error;
	u64 error_info;
	unsigned int map_hint;
	u64 miss_addr;
	u32 miss_perm;
};

/* The three areas of a ring, for translating each as a whole. */
enum kvr_area {
	KVR_AREA_DESC,		/* descriptor table (packed: descriptor ring) */
	KVR_AREA_AVAIL,		/* avail ring (packed: driver event area) */
	KVR_AREA_USED,		/* used ring (packed: device event area) */
};

u64 kvr_ring_area_size(const struct kvr_ring *ring, enum kvr_area area);
int kvr_ring_check(const struct kvr_ring *ring);
int kvr_ring_start(struct kvr_ring *ring);
int kvr_ring_set_base(struct kvr_ring *ring, u32 base);
u32 kvr_ring_get_base(const struct kvr_ring *ring);

int kvr_get_chain(struct kvr_ring *ring, struct kvr_chain *chain);
void kvr_unget_chain(struct kvr_ring *ring, const struct kvr_chain *chain);
int kvr_push_used(struct kvr_ring *ring, const struct kvr_used *used,
		  unsigned int n);
int kvr_log_chain(struct kvr_ring *ring, const struct kvr_chain *chain,
		  u32 written);

bool kvr_should_notify(struct kvr_ring *ring);
int kvr_disable_notify(struct kvr_ring *ring);
int kvr_enable_notify(struct kvr_ring *ring);
u16 kvr_avail_mark(const struct kvr_ring *ring);
bool kvr_avail_pending(const struct kvr_ring *ring);
int kvr_enable_notify_at(struct kvr_ring *ring, u16 mark);

#endif /* KVHOST_VRING_H */
