/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kvr internals: the little-endian ring layouts, and what vring.c shares
 * with the split and packed ring code. Not for the device core.
 */
#ifndef KVHOST_VRING_INT_H
#define KVHOST_VRING_INT_H

#include "vring.h"

/* Descriptor flags, both layouts. */
#define KVR_DESC_F_NEXT		0x0001
#define KVR_DESC_F_WRITE	0x0002
#define KVR_DESC_F_INDIRECT	0x0004
/* Packed layout only. */
#define KVR_DESC_F_AVAIL	0x0080
#define KVR_DESC_F_USED		0x8000

/* Split: used->flags and avail->flags. */
#define KVR_USED_F_NO_NOTIFY	0x0001
#define KVR_AVAIL_F_NO_INTERRUPT 0x0001

/* Packed: event suppression flags. */
#define KVR_EVENT_ENABLE	0x0
#define KVR_EVENT_DISABLE	0x1
#define KVR_EVENT_DESC		0x2
#define KVR_EVENT_WRAP		0x8000

/* A split ring descriptor. */
struct kvr_sdesc {
	__le64 addr;
	__le32 len;
	__le16 flags;
	__le16 next;
};

/* A packed ring descriptor (also the layout of a packed indirect table). */
struct kvr_pdesc {
	__le64 addr;
	__le32 len;
	__le16 id;
	__le16 flags;
};

/* A split used ring element. */
struct kvr_used_elem {
	__le32 id;
	__le32 len;
};

/* A packed ring event suppression structure. */
struct kvr_event {
	__le16 off_wrap;
	__le16 flags;
};

/* Split ring offsets: avail {flags, idx, ring[num], used_event}. */
#define KVR_AVAIL_FLAGS		0
#define KVR_AVAIL_IDX		2
#define KVR_AVAIL_RING		4
/* used {flags, idx, ring[num], avail_event}. */
#define KVR_USED_FLAGS		0
#define KVR_USED_IDX		2
#define KVR_USED_RING		4
/* Packed descriptor field offsets. */
#define KVR_PDESC_LEN		8
#define KVR_PDESC_ID		12
#define KVR_PDESC_FLAGS		14
/* Packed event suppression field offsets. */
#define KVR_EVENT_OFF_WRAP	0
#define KVR_EVENT_FLAGS		2

/* Descriptors read in one access while walking an indirect table. */
#define KVR_TABLE_BATCH		16

static inline u64 kvr_split_avail_size(unsigned int num)
{
	return KVR_AVAIL_RING + 2ULL * num + 2;
}

static inline u64 kvr_split_used_size(unsigned int num)
{
	return KVR_USED_RING + 8ULL * num + 2;
}

/* The event index rule, as in the virtio spec and <linux/virtio_ring.h>. */
static inline bool kvr_need_event(u16 event, u16 new, u16 old)
{
	return (u16)(new - event - 1) < (u16)(new - old);
}

/* Record why the guest's ring was rejected. Return: -EIO. */
static inline int kvr_fail(struct kvr_ring *ring, enum kvr_error err,
			   u64 info)
{
	ring->error = err;
	ring->error_info = info;
	return -EIO;
}

/* Chain walk state shared by both layouts. */
struct kvr_walk {
	struct kvr_ring *ring;
	struct kvr_chain *chain;
	bool seen_write;
};

void kvr_walk_init(struct kvr_walk *w, struct kvr_ring *ring,
		   struct kvr_chain *chain);
int kvr_walk_add(struct kvr_walk *w, u64 addr, u32 len, bool write);
int kvr_table_check(struct kvr_ring *ring, u64 addr, u32 len);
int kvr_table_read(struct kvr_ring *ring, u64 table, unsigned int index,
		   unsigned int count, void *buf);
int kvr_log_used(struct kvr_ring *ring, u64 gpa, u64 len);

int kvr_split_start(struct kvr_ring *ring);
int kvr_split_get_chain(struct kvr_ring *ring, struct kvr_chain *chain);
int kvr_split_push_used(struct kvr_ring *ring, const struct kvr_used *used,
			unsigned int n);
bool kvr_split_should_notify(struct kvr_ring *ring);
int kvr_split_disable_notify(struct kvr_ring *ring);
int kvr_split_enable_notify(struct kvr_ring *ring);
int kvr_split_enable_notify_at(struct kvr_ring *ring, u16 mark);
bool kvr_split_avail_pending(const struct kvr_ring *ring);

int kvr_packed_start(struct kvr_ring *ring);
int kvr_packed_get_chain(struct kvr_ring *ring, struct kvr_chain *chain);
int kvr_packed_push_used(struct kvr_ring *ring, const struct kvr_used *used,
			 unsigned int n);
bool kvr_packed_should_notify(struct kvr_ring *ring);
int kvr_packed_disable_notify(struct kvr_ring *ring);
int kvr_packed_enable_notify(struct kvr_ring *ring);
int kvr_packed_enable_notify_at(struct kvr_ring *ring, u16 mark);
bool kvr_packed_avail_pending(const struct kvr_ring *ring);

#endif /* KVHOST_VRING_INT_H */
