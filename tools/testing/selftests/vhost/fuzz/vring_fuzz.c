// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target for the vring library (drivers/virtio/), built in
 * userspace from the kernel's sources with ASan and UBSan.
 *
 * The input is the whole world: ring configuration, the translation map,
 * the guest memory image and a short script of device operations (fetch,
 * complete, notify checks, re-arm, unget, stop/start, guest writes between
 * operations). After every operation the target checks what the library
 * promises: the iovecs add up to out_len and in_len, every iovec lies in
 * one mapped range with the right permission at the right host address, a
 * failed fetch consumes nothing and names a real error, and a fetch makes a
 * bounded number of guest-memory accesses.
 *
 * Input layout (little-endian), see struct fz_hdr:
 *   header, nranges range records, nops 4-byte operations, memory image.
 */
#include <stdio.h>
#include <stdlib.h>

#include "vring_int.h"

#define MEM_SIZE	16384
#define MAX_RANGES	4
#define MAX_OPS		64
#define MAX_IOV		64
#define MAX_OUTSTANDING	64

struct fz_hdr {
	u8 flags;	/* bit 0 packed, 1 event_idx, 2 indirect, 3 notify
			 * on empty, 4 dirty logging, 5 the map is a device
			 * IOTLB (a hole is a miss, not an error)
			 */
	u8 num;		/* split: 1 << (num % 9); packed: 1 + num % 128 */
	u8 max_iov;	/* 1 + max_iov % MAX_IOV */
	u8 nranges;	/* 1 + nranges % MAX_RANGES */
	u8 nops;	/* nops % (MAX_OPS + 1) */
	u8 fail_at;	/* if not 0, guest-memory access number fail_at faults */
	u8 pad[2];
	__le32 base;	/* kvr_ring_set_base() argument */
	__le16 desc;	/* ring offsets in the memory image */
	__le16 avail;
	__le16 used;
	__le16 pad2;
};

struct fz_range {
	__le16 gap;	/* GPA gap after the previous range (or from 0) */
	__le16 len;	/* length - 1 */
	__le16 off;	/* offset in the memory image */
	u8 perm;	/* KVR_PERM_* in bits 0-1 */
	u8 kind;	/* bit 0: not backed by the image; bit 1: 4 GiB long */
};

enum fz_op {
	FZ_GET,
	FZ_PUSH,
	FZ_NOTIFY,
	FZ_ENABLE,
	FZ_DISABLE,
	FZ_UNGET,
	FZ_POKE,
	FZ_RESTART,
	FZ_LOG,
	FZ_MAPSWAP,
	FZ_NR_OPS,
};

struct fz_out {
	u16 id;
	u16 ndesc;
	u32 in_len;
};

static u8 *mem;
static struct kvr_map *map;
/* The same ranges without the last one: what the owner may swap in. */
static struct kvr_map *map2;
static struct kvr_ring ring;
static struct iovec iov[MAX_IOV];
static u64 gpa[MAX_IOV];
static struct kvr_chain chain;
static bool have_chain;		/* @chain came from the last operation */
static bool chain_recorded;	/* ... and is the last of @out */
static struct fz_out out[MAX_OUTSTANDING];
static unsigned int nout;
static int logged;
/* FZ_VERBOSE=1 in the environment: trace the fetches (replaying seeds). */
static int verbose = -1;

#define FZ_ASSERT(c)							\
	do {								\
		if (!(c)) {						\
			fprintf(stderr, "%s:%d: %s\n", __FILE__,	\
				__LINE__, #c);				\
			abort();					\
		}							\
	} while (0)

int kvr_log_write(struct kvr_log *log, u64 g, u64 len)
{
	FZ_ASSERT(log == (struct kvr_log *)&logged);
	FZ_ASSERT(len > 0);
	FZ_ASSERT(g + len - 1 >= g);
	logged++;
	return 0;
}

/* Every iovec lies in one mapped range, with the right permission. */
static void check_chain(void)
{
	u64 o = 0, i_len = 0;
	unsigned int i;

	FZ_ASSERT(chain.nout + chain.nin <= chain.max_iov);
	FZ_ASSERT(chain.head < ring.num);
	FZ_ASSERT(chain.ndesc >= 1 && chain.ndesc <= ring.num);
	for (i = 0; i < chain.nout + chain.nin; i++) {
		const struct kvr_range *r = kvr_map_find(ring.map, gpa[i]);
		u32 need = i < chain.nout ? KVR_PERM_READ : KVR_PERM_WRITE;

		FZ_ASSERT(iov[i].iov_len > 0);
		FZ_ASSERT(r);
		FZ_ASSERT((r->perm & need) == need);
		FZ_ASSERT(r->last - gpa[i] >= iov[i].iov_len - 1);
		FZ_ASSERT(iov[i].iov_base ==
			  kvr_uptr(r->uaddr + (gpa[i] - r->start)));
		if (i < chain.nout)
			o += iov[i].iov_len;
		else
			i_len += iov[i].iov_len;
	}
	FZ_ASSERT(o == chain.out_len);
	FZ_ASSERT(i_len == chain.in_len);
}

static void op_get(void)
{
	u16 la = ring.last_avail_idx;
	bool aw = ring.avail_wrap;
	unsigned long reads = kvr_user_reads;
	unsigned long bound;
	int ret;

	ret = kvr_get_chain(&ring, &chain);
	if (verbose)
		fprintf(stderr, "get: %d %s head %u ndesc %u out %u/%u in %u/%u\n",
			ret, ret < 0 ? kvr_error_name(ring.error) : "",
			ret > 0 ? chain.head : 0, ret > 0 ? chain.ndesc : 0,
			ret > 0 ? chain.nout : 0, ret > 0 ? chain.out_len : 0,
			ret > 0 ? chain.nin : 0, ret > 0 ? chain.in_len : 0);
	/*
	 * Avail index, head or flags, every descriptor in the ring, and one
	 * indirect table hop at a time, each read split over the ranges.
	 */
	bound = 2 + ring.num + (unsigned long)KVR_MAX_INDIRECT *
		(MAX_RANGES + 1);
	FZ_ASSERT(kvr_user_reads - reads <= bound);
	if (ret == -EAGAIN) {
		/* A miss: only through an IOTLB, at a hole, nothing taken. */
		FZ_ASSERT(ring.map->iotlb);
		FZ_ASSERT(!kvr_map_find(ring.map, ring.miss_addr));
		FZ_ASSERT(ring.miss_perm == KVR_PERM_READ ||
			  ring.miss_perm == KVR_PERM_WRITE);
		FZ_ASSERT(ring.last_avail_idx == la && ring.avail_wrap == aw);
		have_chain = false;
		return;
	}
	if (ret < 0) {
		FZ_ASSERT(ret == -EIO);
		FZ_ASSERT(ring.error > KVR_OK && ring.error < KVR_ERR_MAX &&
			  ring.error != KVR_ERR_BACKEND);
		FZ_ASSERT(ring.last_avail_idx == la && ring.avail_wrap == aw);
		have_chain = false;
		return;
	}
	if (ret == 0) {
		FZ_ASSERT(ring.last_avail_idx == la && ring.avail_wrap == aw);
		have_chain = false;
		return;
	}
	FZ_ASSERT(ret == 1);
	check_chain();
	if (!ring.packed)
		FZ_ASSERT(ring.last_avail_idx == (u16)(la + 1));
	have_chain = true;
	chain_recorded = nout < MAX_OUTSTANDING;
	if (chain_recorded) {
		out[nout].id = chain.head;
		out[nout].ndesc = chain.ndesc;
		out[nout].in_len = chain.in_len;
		nout++;
	}
}

static void op_push(unsigned int k, u32 len)
{
	struct kvr_used u[MAX_OUTSTANDING];
	unsigned int i;
	u16 lu;
	int ret;

	if (k > nout)
		k = nout;
	if (!k)
		return;
	for (i = 0; i < k; i++) {
		u[i].id = out[i].id;
		u[i].ndesc = out[i].ndesc;
		u[i].len = out[i].in_len < len ? out[i].in_len : len;
	}
	lu = ring.last_used_idx;
	ret = kvr_push_used(&ring, u, k);
	FZ_ASSERT(ret == 0 || ret == -EIO || ret == -EINVAL);
	if (!ring.packed && !ret)
		FZ_ASSERT(ring.last_used_idx == (u16)(lu + k));
	if (ring.packed)
		FZ_ASSERT(ring.last_used_idx < ring.num);
	memmove(out, out + k, (nout - k) * sizeof(out[0]));
	nout -= k;
	have_chain = false;
}

static void run_op(const u8 *o)
{
	int ret;

	switch (o[0] % FZ_NR_OPS) {
	case FZ_GET:
		op_get();
		break;
	case FZ_PUSH:
		op_push(1 + o[1] % 8, o[2] | o[3] << 8);
		break;
	case FZ_NOTIFY:
		(void)kvr_should_notify(&ring);
		break;
	case FZ_ENABLE:
		ret = kvr_enable_notify(&ring);
		FZ_ASSERT(ret == 0 || ret == 1 || ret == -EIO);
		break;
	case FZ_DISABLE:
		ret = kvr_disable_notify(&ring);
		FZ_ASSERT(ret == 0 || ret == -EIO);
		break;
	case FZ_UNGET:
		if (have_chain) {
			kvr_unget_chain(&ring, &chain);
			if (chain_recorded)
				nout--;
			have_chain = false;
		}
		break;
	case FZ_POKE:
		/* The guest writes a byte between two device operations. */
		mem[(o[1] | o[2] << 8) % MEM_SIZE] = o[3];
		break;
	case FZ_RESTART: {
		u32 base = kvr_ring_get_base(&ring);

		FZ_ASSERT(kvr_ring_set_base(&ring, base) == 0);
		FZ_ASSERT(kvr_ring_get_base(&ring) == base);
		ret = kvr_ring_start(&ring);
		FZ_ASSERT(ret == 0 || ret == -EIO);
		nout = 0;
		have_chain = false;
		break;
	}
	case FZ_MAPSWAP:
		/* The chain in hand stays valid only for the map it used. */
		ring.map = ring.map == map ? map2 : map;
		have_chain = false;
		break;
	case FZ_LOG:
		if (have_chain)
			FZ_ASSERT(kvr_log_chain(&ring, &chain,
						o[1] | o[2] << 8) == 0);
		break;
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct fz_hdr h;
	u64 next_gpa = 0;
	unsigned int i, nr, nops;
	size_t need;

	if (!mem) {
		mem = aligned_alloc(4096, MEM_SIZE);
		map = malloc(sizeof(*map) +
			     MAX_RANGES * sizeof(struct kvr_range));
		map2 = malloc(sizeof(*map2) +
			      MAX_RANGES * sizeof(struct kvr_range));
		if (!mem || !map || !map2)
			abort();
	}
	if (verbose < 0)
		verbose = !!getenv("FZ_VERBOSE");
	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	data += sizeof(h);
	size -= sizeof(h);
	nr = 1 + h.nranges % MAX_RANGES;
	nops = h.nops % (MAX_OPS + 1);
	need = nr * sizeof(struct fz_range) + nops * 4;
	if (size < need)
		return 0;

	memset(map, 0, sizeof(*map) + MAX_RANGES * sizeof(struct kvr_range));
	map->n = nr;
	for (i = 0; i < nr; i++) {
		struct fz_range fr;
		struct kvr_range *r = &map->r[i];
		u64 len;

		memcpy(&fr, data + i * sizeof(fr), sizeof(fr));
		len = (fr.kind & 2) ? 1ULL << 32 : (u64)fr.len + 1;
		r->start = next_gpa + fr.gap;
		r->last = r->start + len - 1;
		r->perm = fr.perm & KVR_PERM_RW;
		if (fr.kind & 1 || (fr.kind & 2)) {
			r->uaddr = 0x7e0000000000ULL + r->start;
		} else {
			u64 off = fr.off % MEM_SIZE;

			if (off + len > MEM_SIZE)
				off = MEM_SIZE - (len > MEM_SIZE ? MEM_SIZE : len);
			if (len > MEM_SIZE)
				r->last = r->start + MEM_SIZE - 1;
			r->uaddr = kvr_uaddr(mem + off);
		}
		next_gpa = r->last + 1;
	}
	FZ_ASSERT(kvr_map_check(map) == 0);
	map->iotlb = h.flags & 0x20;
	memcpy(map2, map, sizeof(*map) + MAX_RANGES * sizeof(struct kvr_range));
	map2->n = nr - 1;
	data += nr * sizeof(struct fz_range);
	size -= nr * sizeof(struct fz_range);

	memset(mem, 0, MEM_SIZE);
	memcpy(mem, data + nops * 4,
	       size - nops * 4 > MEM_SIZE ? MEM_SIZE : size - nops * 4);
	kvr_user_unmap_all();
	kvr_user_map(mem, MEM_SIZE);
	kvr_user_reads = 0;
	kvr_user_writes = 0;
	kvr_user_fail_countdown = h.fail_at;

	memset(&ring, 0, sizeof(ring));
	ring.packed = h.flags & 1;
	ring.event_idx = h.flags & 2;
	ring.indirect = h.flags & 4;
	ring.notify_on_empty = h.flags & 8;
	if (h.flags & 16) {
		ring.log = (struct kvr_log *)&logged;
		ring.log_used = true;
	}
	ring.num = ring.packed ? 1 + h.num % 128 : 1U << (h.num % 9);
	ring.desc = kvr_uaddr(mem) + (le16_to_cpu(h.desc) % MEM_SIZE & ~15U);
	ring.avail = kvr_uaddr(mem) + (le16_to_cpu(h.avail) % MEM_SIZE & ~3U);
	ring.used = kvr_uaddr(mem) + (le16_to_cpu(h.used) % MEM_SIZE & ~3U);
	ring.used_gpa = 0x1000;
	ring.desc_gpa = 0x2000;
	ring.map = map;
	chain.iov = iov;
	chain.gpa = gpa;
	chain.max_iov = 1 + h.max_iov % MAX_IOV;
	nout = 0;
	have_chain = false;

	FZ_ASSERT(kvr_ring_check(&ring) == 0);
	if (kvr_ring_set_base(&ring, le32_to_cpu(h.base)))
		return 0;
	if (kvr_ring_start(&ring))
		return 0;

	for (i = 0; i < nops; i++)
		run_op(data + 4 * i);
	/* Drain what is left, bounded by the ring size. */
	for (i = 0; i <= ring.num + 1; i++) {
		if (nout == MAX_OUTSTANDING)
			op_push(MAX_OUTSTANDING, 0);
		op_get();
		if (!have_chain)
			break;
	}
	op_push(nout, 1);
	(void)kvr_should_notify(&ring);
	return 0;
}
