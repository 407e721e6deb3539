// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the vring library (drivers/virtio/), built in userspace from
 * the kernel's sources against vring_access_user.h.
 *
 * Each case builds a guest in plain memory: regions with guest-physical
 * addresses unrelated to their host addresses, a translation map over them,
 * split or packed rings, and a small driver side that posts buffers the way
 * a virtio driver does. Memory the library may touch is registered with the
 * user accessors, so a stray access fails instead of reading a neighbour.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ktap.h"
#include "vring_int.h"

/* Guest-physical layout. R0 and R1 are GPA-adjacent, host-apart. */
#define REGION		0x10000ULL
#define R0_GPA		0x10000ULL
#define R1_GPA		(R0_GPA + REGION)
#define RO_GPA		0x40000ULL	/* read-only */
#define WO_GPA		0x50000ULL	/* write-only */
#define HOLE_GPA	0x30000ULL	/* not mapped */
/* A huge range that is never dereferenced (length tests only). */
#define BIG_GPA		0x100000000ULL
#define BIG_LEN		0x200000000ULL
#define BIG_UADDR	0x7e0000000000ULL

/* Data buffers live above the rings in R0, and in R1. */
#define BUF_GPA		(R0_GPA + 0x8000)

#define MAX_IOV		64

struct test_log {
	unsigned int n;
	struct {
		u64 gpa;
		u64 len;
	} e[64];
};

static struct {
	u8 *r0, *r1, *ro, *wo;
	struct kvr_map *map;
	struct kvr_ring ring;
	struct kvr_chain chain;
	struct iovec iov[MAX_IOV];
	u64 gpa[MAX_IOV];
	struct test_log log;
	u64 desc_gpa, avail_gpa, used_gpa;
	/* Driver side. */
	u16 avail_idx;
	u16 next_slot;
	bool wrap;
} E;

int kvr_log_write(struct kvr_log *log, u64 gpa, u64 len)
{
	struct test_log *l = (struct test_log *)log;

	if (l->n == KTAP_ARRAY_SIZE(l->e))
		return -ENOSPC;
	l->e[l->n].gpa = gpa;
	l->e[l->n].len = len;
	l->n++;
	return 0;
}

static void *hva(u64 gpa)
{
	if (gpa >= R0_GPA && gpa < R0_GPA + REGION)
		return E.r0 + (gpa - R0_GPA);
	if (gpa >= R1_GPA && gpa < R1_GPA + REGION)
		return E.r1 + (gpa - R1_GPA);
	if (gpa >= RO_GPA && gpa < RO_GPA + 0x1000)
		return E.ro + (gpa - RO_GPA);
	if (gpa >= WO_GPA && gpa < WO_GPA + 0x1000)
		return E.wo + (gpa - WO_GPA);
	abort();
}

static void put16g(u64 gpa, u16 v)
{
	memcpy(hva(gpa), &v, 2);
}

static u16 get16g(u64 gpa)
{
	u16 v;

	memcpy(&v, hva(gpa), 2);
	return v;
}

static u32 get32g(u64 gpa)
{
	u32 v;

	memcpy(&v, hva(gpa), 4);
	return v;
}

static void set_range(unsigned int i, u64 start, u64 len, void *p, u32 perm)
{
	E.map->r[i].start = start;
	E.map->r[i].last = start + len - 1;
	E.map->r[i].uaddr = p ? kvr_uaddr(p) : BIG_UADDR;
	E.map->r[i].perm = perm;
}

static void *region(size_t len)
{
	void *p = aligned_alloc(4096, len);

	if (!p)
		abort();
	memset(p, 0, len);
	kvr_user_map(p, len);
	return p;
}

/* Guest memory, the map, and a ring of @num laid out at the start of R0. */
static void setup(unsigned int num, bool packed)
{
	memset(&E, 0, sizeof(E));
	kvr_user_unmap_all();
	E.r0 = region(REGION);
	E.r1 = region(REGION);
	E.ro = region(0x1000);
	E.wo = region(0x1000);
	E.map = calloc(1, sizeof(*E.map) + 5 * sizeof(struct kvr_range));
	E.map->n = 5;
	set_range(0, R0_GPA, REGION, E.r0, KVR_PERM_RW);
	set_range(1, R1_GPA, REGION, E.r1, KVR_PERM_RW);
	set_range(2, RO_GPA, 0x1000, E.ro, KVR_PERM_READ);
	set_range(3, WO_GPA, 0x1000, E.wo, KVR_PERM_WRITE);
	set_range(4, BIG_GPA, BIG_LEN, NULL, KVR_PERM_RW);

	E.desc_gpa = R0_GPA;
	if (packed) {
		E.avail_gpa = R0_GPA + 16 * num;
		E.used_gpa = E.avail_gpa + 4;
	} else {
		E.avail_gpa = R0_GPA + 16 * num;
		E.used_gpa = (E.avail_gpa + 6 + 2 * num + 3) & ~3ULL;
	}
	E.ring.num = num;
	E.ring.packed = packed;
	E.ring.indirect = true;
	E.ring.desc = kvr_uaddr(hva(E.desc_gpa));
	E.ring.avail = kvr_uaddr(hva(E.avail_gpa));
	E.ring.used = kvr_uaddr(hva(E.used_gpa));
	E.ring.used_gpa = E.used_gpa;
	E.ring.desc_gpa = E.desc_gpa;
	E.ring.map = E.map;
	E.chain.iov = E.iov;
	E.chain.gpa = E.gpa;
	E.chain.max_iov = MAX_IOV;
	E.wrap = true;
}

static int get(void)
{
	memset(E.iov, 0, sizeof(E.iov));
	return kvr_get_chain(&E.ring, &E.chain);
}

/* ---- split driver side ---- */

static void sd(unsigned int i, u64 addr, u32 len, u16 flags, u16 next)
{
	struct kvr_sdesc d = {
		.addr = addr, .len = len, .flags = flags, .next = next,
	};

	memcpy(hva(E.desc_gpa + 16 * i), &d, sizeof(d));
}

/* An indirect table entry at @table (GPA, possibly spanning R0 and R1). */
static void td(u64 table, unsigned int i, u64 addr, u32 len, u16 flags,
	       u16 next)
{
	struct kvr_sdesc d = {
		.addr = addr, .len = len, .flags = flags, .next = next,
	};
	u8 *src = (u8 *)&d;
	unsigned int b;

	for (b = 0; b < 16; b++)
		*(u8 *)hva(table + 16 * i + b) = src[b];
}

static void avail_add(u16 head)
{
	put16g(E.avail_gpa + 4 + 2 * (E.avail_idx % E.ring.num), head);
	E.avail_idx++;
	put16g(E.avail_gpa + 2, E.avail_idx);
}

static u16 used_idx(void)
{
	return get16g(E.used_gpa + 2);
}

static u32 used_id(unsigned int slot)
{
	return get32g(E.used_gpa + 4 + 8 * slot);
}

static u32 used_len(unsigned int slot)
{
	return get32g(E.used_gpa + 8 + 8 * slot);
}

/* ---- packed driver side ---- */

static u16 pk_bits(bool wrap)
{
	return wrap ? KVR_DESC_F_AVAIL : KVR_DESC_F_USED;
}

static void pd(unsigned int slot, u64 addr, u32 len, u16 id, u16 flags)
{
	struct kvr_pdesc d = {
		.addr = addr, .len = len, .id = id, .flags = flags,
	};

	memcpy(hva(E.desc_gpa + 16 * slot), &d, sizeof(d));
}

struct pkd {
	u64 addr;
	u32 len;
	u16 flags;
};

/*
 * Post a chain of @n descriptors with buffer id @id (in the last descriptor;
 * the others carry 0xeeee). The head's flags are written last.
 */
static void pk_add(const struct pkd *d, unsigned int n, u16 id)
{
	unsigned int i, slot = E.next_slot;
	bool wrap = E.wrap;
	u16 head_flags = 0;

	for (i = 0; i < n; i++) {
		u16 f = d[i].flags | pk_bits(wrap);

		if (i + 1 < n)
			f |= KVR_DESC_F_NEXT;
		pd(slot, d[i].addr, d[i].len, i + 1 < n ? 0xeeee : id,
		   i ? f : 0);
		if (!i)
			head_flags = f;
		if (++slot == E.ring.num) {
			slot = 0;
			wrap = !wrap;
		}
	}
	put16g(E.desc_gpa + 16 * E.next_slot + 14, head_flags);
	E.next_slot = slot;
	E.wrap = wrap;
}

static u16 pk_flags(unsigned int slot)
{
	return get16g(E.desc_gpa + 16 * slot + 14);
}

/* ---- helpers for checks ---- */

#define GET_OK()		KTAP_EXPECT_EQ(get(), 1)
#define GET_EMPTY()		KTAP_EXPECT_EQ(get(), 0)

/*
 * The fetch fails with @err, consumes nothing, and fails the same way when
 * tried again.
 */
#define EXPECT_ERR(err)							\
	do {								\
		u16 la_ = E.ring.last_avail_idx;			\
		bool aw_ = E.ring.avail_wrap;				\
		int t_;							\
		for (t_ = 0; t_ < 2; t_++) {				\
			E.ring.error = KVR_OK;				\
			KTAP_EXPECT_EQ(get(), -EIO);			\
			KTAP_CHECK(E.ring.error == (err), "got %s",	\
				   kvr_error_name(E.ring.error));	\
			KTAP_EXPECT_EQ(E.ring.last_avail_idx, la_);	\
			KTAP_EXPECT_EQ(E.ring.avail_wrap, aw_);		\
		}							\
	} while (0)

#define EXPECT_IOV(i, g, l)						\
	do {								\
		unsigned int i_ = (i);					\
		u64 g_ = (g);						\
		KTAP_EXPECT_EQ(E.gpa[i_], g_);				\
		KTAP_EXPECT_EQ(E.iov[i_].iov_len, (l));			\
		KTAP_CHECK(E.iov[i_].iov_base == hva(g_), "iov %u", i_);	\
	} while (0)

static enum ktap_result start_split(unsigned int num)
{
	setup(num, false);
	KTAP_EXPECT_EQ(kvr_ring_set_base(&E.ring, 0), 0);
	KTAP_EXPECT_EQ(kvr_ring_start(&E.ring), 0);
	return KTAP_PASS;
}

static enum ktap_result start_packed(unsigned int num)
{
	setup(num, true);
	KTAP_EXPECT_EQ(kvr_ring_set_base(&E.ring, 1U << 15 | 1U << 31), 0);
	KTAP_EXPECT_EQ(kvr_ring_start(&E.ring), 0);
	return KTAP_PASS;
}

#define START_SPLIT(n)	KTAP_EXPECT_EQ(start_split(n), KTAP_PASS)
#define START_PACKED(n)	KTAP_EXPECT_EQ(start_packed(n), KTAP_PASS)

/* ================= map, config, base ================= */

static enum ktap_result map_check_and_find(void)
{
	struct {
		struct kvr_map m;
		struct kvr_range r[3];
	} t = { .m.n = 3 };
	struct kvr_map *m = &t.m;

	m->r[0] = (struct kvr_range){ 0x1000, 0x1fff, 0x10000, 1 };
	m->r[1] = (struct kvr_range){ 0x2000, 0x2fff, 0x50000, 3 };
	m->r[2] = (struct kvr_range){ 0x8000, ~0ULL, 0x0, 3 };
	KTAP_EXPECT_EQ(kvr_map_check(m), 0);
	KTAP_CHECK(!kvr_map_find(m, 0xfff), "below");
	KTAP_CHECK(kvr_map_find(m, 0x1000) == &m->r[0], "first byte");
	KTAP_CHECK(kvr_map_find(m, 0x1fff) == &m->r[0], "last byte");
	KTAP_CHECK(kvr_map_find(m, 0x2000) == &m->r[1], "second");
	KTAP_CHECK(!kvr_map_find(m, 0x3000), "gap");
	KTAP_CHECK(kvr_map_find(m, ~0ULL) == &m->r[2], "top");

	m->n = 0;
	KTAP_EXPECT_EQ(kvr_map_check(m), 0);
	KTAP_CHECK(!kvr_map_find(m, 0x1000), "empty");
	m->n = 3;

	/* Overlap, unsorted, start > last, uaddr wrap. */
	m->r[1].start = 0x1fff;
	KTAP_EXPECT_EQ(kvr_map_check(m), -EINVAL);
	m->r[1].start = 0x0;
	KTAP_EXPECT_EQ(kvr_map_check(m), -EINVAL);
	m->r[1].start = 0x3000;
	KTAP_EXPECT_EQ(kvr_map_check(m), -EINVAL);
	m->r[1].start = 0x2000;
	KTAP_EXPECT_EQ(kvr_map_check(m), 0);
	m->r[2].uaddr = 0x8001;
	KTAP_EXPECT_EQ(kvr_map_check(m), -EINVAL);
	m->r[2].uaddr = 0x8000;
	KTAP_EXPECT_EQ(kvr_map_check(m), 0);
	return KTAP_PASS;
}

static enum ktap_result ring_check(void)
{
	struct kvr_ring r = {
		.num = 256, .desc = 0x1000, .avail = 0x2002, .used = 0x3004,
	};

	KTAP_EXPECT_EQ(kvr_ring_check(&r), 0);
	r.num = 0;
	KTAP_EXPECT_EQ(kvr_ring_check(&r), -EINVAL);
	r.num = 100;
	KTAP_EXPECT_EQ(kvr_ring_check(&r), -EINVAL);
	r.num = 65536;
	KTAP_EXPECT_EQ(kvr_ring_check(&r), -EINVAL);
	r.num = KVR_MAX_NUM;
	KTAP_EXPECT_EQ(kvr_ring_check(&r), 0);
	r.num = 1;
	KTAP_EXPECT_EQ(kvr_ring_check(&r), 0);
	r.desc = 0x1008;
	KTAP_EXPECT_EQ(kvr_ring_check(&r), -EINVAL);
	r.desc = 0x1000;
	r.avail = 0x2001;
	KTAP_EXPECT_EQ(kvr_ring_check(&r), -EINVAL);
	r.avail = 0x2002;
	r.used = 0x3002;
	KTAP_EXPECT_EQ(kvr_ring_check(&r), -EINVAL);
	r.used = ~0ULL - 3;	/* 4-aligned, but the ring wraps */
	KTAP_EXPECT_EQ(kvr_ring_check(&r), -EINVAL);
	r.used = 0x3004;
	r.desc = ~0ULL - 15;
	r.num = 2;
	KTAP_EXPECT_EQ(kvr_ring_check(&r), -EINVAL);
	r.desc = 0x1000;
	r.avail = ~0ULL - 7;
	KTAP_EXPECT_EQ(kvr_ring_check(&r), -EINVAL);

	/* Packed: any size, 4-aligned event areas. */
	r = (struct kvr_ring){ .packed = true, .num = 100, .desc = 0x1000,
			       .avail = 0x2004, .used = 0x2008 };
	KTAP_EXPECT_EQ(kvr_ring_check(&r), 0);
	r.num = KVR_MAX_NUM + 1;
	KTAP_EXPECT_EQ(kvr_ring_check(&r), -EINVAL);
	r.num = 100;
	r.avail = 0x2002;
	KTAP_EXPECT_EQ(kvr_ring_check(&r), -EINVAL);
	r.avail = 0x2004;
	r.used = 0x200a;
	KTAP_EXPECT_EQ(kvr_ring_check(&r), -EINVAL);
	r.used = ~0ULL - 3;
	KTAP_EXPECT_EQ(kvr_ring_check(&r), 0);
	r.used = ~0ULL - 1;
	KTAP_EXPECT_EQ(kvr_ring_check(&r), -EINVAL);
	/* kvr_ring_start() refuses what kvr_ring_check() refuses. */
	r.used = 0x200a;
	KTAP_EXPECT_EQ(kvr_ring_start(&r), -EINVAL);
	return KTAP_PASS;
}

static enum ktap_result base_encodings(void)
{
	struct kvr_ring r = { .num = 256 };

	KTAP_EXPECT_EQ(kvr_ring_set_base(&r, 0x10000), -EINVAL);
	KTAP_EXPECT_EQ(kvr_ring_set_base(&r, 0xffff), 0);
	KTAP_EXPECT_EQ(r.last_avail_idx, 0xffff);
	KTAP_EXPECT_EQ(kvr_ring_get_base(&r), 0xffff);
	r.last_used_idx = 7;	/* not part of the split encoding */
	KTAP_EXPECT_EQ(kvr_ring_get_base(&r), 0xffff);

	r = (struct kvr_ring){ .num = 100, .packed = true };
	KTAP_EXPECT_EQ(kvr_ring_set_base(&r, 99 | 1U << 15 | 42U << 16), 0);
	KTAP_EXPECT_EQ(r.last_avail_idx, 99);
	KTAP_EXPECT_EQ(r.avail_wrap, true);
	KTAP_EXPECT_EQ(r.last_used_idx, 42);
	KTAP_EXPECT_EQ(r.used_wrap, false);
	KTAP_EXPECT_EQ(kvr_ring_get_base(&r), 99 | 1U << 15 | 42U << 16);
	KTAP_EXPECT_EQ(kvr_ring_set_base(&r, 5 | 1U << 31), 0);
	KTAP_EXPECT_EQ(r.used_wrap, true);
	KTAP_EXPECT_EQ(r.avail_wrap, false);
	KTAP_EXPECT_EQ(kvr_ring_get_base(&r), 5 | 1U << 31);
	KTAP_EXPECT_EQ(kvr_ring_set_base(&r, 100), -EINVAL);
	KTAP_EXPECT_EQ(kvr_ring_set_base(&r, 100U << 16), -EINVAL);
	KTAP_EXPECT_EQ(kvr_ring_get_base(&r), 5 | 1U << 31);
	return KTAP_PASS;
}

static enum ktap_result error_names(void)
{
	static const char * const want[KVR_ERR_MAX] = {
		"ok", "access", "avail-idx", "head", "next", "loop",
		"indirect-len", "indirect-nested", "indirect-next",
		"indirect-off", "out-after-in", "len", "addr", "perm", "iov",
		"id", "backend",
	};
	int i;

	for (i = 0; i < KVR_ERR_MAX; i++)
		KTAP_CHECK(!strcmp(kvr_error_name(i), want[i]), "%d: %s", i,
			   kvr_error_name(i));
	KTAP_CHECK(!strcmp(kvr_error_name(KVR_ERR_MAX), "unknown"), "max");
	return KTAP_PASS;
}

/* ================= split ring ================= */

static enum ktap_result split_start_state(void)
{
	setup(8, false);
	put16g(E.used_gpa + 2, 1234);
	put16g(E.used_gpa, 0xffff);
	E.ring.error = KVR_ERR_HEAD;
	E.ring.signalled_used_valid = true;
	KTAP_EXPECT_EQ(kvr_ring_set_base(&E.ring, 1230), 0);
	KTAP_EXPECT_EQ(kvr_ring_start(&E.ring), 0);
	KTAP_EXPECT_EQ(E.ring.last_used_idx, 1234);
	KTAP_EXPECT_EQ(E.ring.avail_idx, 1230);
	KTAP_EXPECT_EQ(get16g(E.used_gpa), 0);
	KTAP_EXPECT_EQ(E.ring.error, KVR_OK);
	KTAP_EXPECT_EQ(E.ring.signalled_used_valid, false);

	/* Used ring not accessible. */
	setup(8, false);
	E.ring.used = kvr_uaddr(&E) & ~3ULL;
	KTAP_EXPECT_EQ(kvr_ring_start(&E.ring), -EIO);
	KTAP_EXPECT_EQ(E.ring.error, KVR_ERR_ACCESS);
	return KTAP_PASS;
}

static enum ktap_result split_basic(void)
{
	START_SPLIT(8);
	GET_EMPTY();
	sd(3, BUF_GPA, 100, KVR_DESC_F_NEXT, 5);
	sd(5, BUF_GPA + 0x100, 200, KVR_DESC_F_NEXT | KVR_DESC_F_WRITE, 1);
	sd(1, BUF_GPA + 0x400, 300, KVR_DESC_F_WRITE, 0);
	avail_add(3);
	sd(0, BUF_GPA + 0x1000, 10, 0, 0);
	avail_add(0);

	GET_OK();
	KTAP_EXPECT_EQ(E.chain.head, 3);
	KTAP_EXPECT_EQ(E.chain.ndesc, 1);
	KTAP_EXPECT_EQ(E.chain.nout, 1);
	KTAP_EXPECT_EQ(E.chain.nin, 2);
	KTAP_EXPECT_EQ(E.chain.out_len, 100);
	KTAP_EXPECT_EQ(E.chain.in_len, 500);
	EXPECT_IOV(0, BUF_GPA, 100);
	EXPECT_IOV(1, BUF_GPA + 0x100, 200);
	EXPECT_IOV(2, BUF_GPA + 0x400, 300);
	GET_OK();
	KTAP_EXPECT_EQ(E.chain.head, 0);
	KTAP_EXPECT_EQ(E.chain.nout, 1);
	KTAP_EXPECT_EQ(E.chain.nin, 0);
	GET_EMPTY();
	KTAP_EXPECT_EQ(E.ring.last_avail_idx, 2);

	struct kvr_used u[2] = { { .id = 3, .len = 77, .ndesc = 1 },
				 { .id = 0, .len = 0, .ndesc = 1 } };
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u, 2), 0);
	KTAP_EXPECT_EQ(used_idx(), 2);
	KTAP_EXPECT_EQ(used_id(0), 3);
	KTAP_EXPECT_EQ(used_len(0), 77);
	KTAP_EXPECT_EQ(used_id(1), 0);
	KTAP_EXPECT_EQ(used_len(1), 0);
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u, 0), 0);
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u, 9), -EINVAL);
	KTAP_EXPECT_EQ(used_idx(), 2);
	return KTAP_PASS;
}

/* The avail index is read once per batch, not once per chain. */
static enum ktap_result split_one_idx_read_per_batch(void)
{
	int i;

	START_SPLIT(8);
	for (i = 0; i < 4; i++) {
		sd(i, BUF_GPA + 0x100 * i, 16, 0, 0);
		avail_add(i);
	}
	GET_OK();
	/* A bogus index now would fail any fetch that re-read it. */
	put16g(E.avail_gpa + 2, 100);
	for (i = 1; i < 4; i++) {
		GET_OK();
		KTAP_EXPECT_EQ(E.chain.head, i);
	}
	EXPECT_ERR(KVR_ERR_AVAIL_IDX);
	KTAP_EXPECT_EQ(E.ring.error_info, 100);
	put16g(E.avail_gpa + 2, 4);
	GET_EMPTY();
	return KTAP_PASS;
}

static enum ktap_result split_span_ranges(void)
{
	START_SPLIT(8);
	sd(0, R1_GPA - 100, 300, KVR_DESC_F_WRITE, 0);
	avail_add(0);
	GET_OK();
	KTAP_EXPECT_EQ(E.chain.nin, 2);
	KTAP_EXPECT_EQ(E.chain.in_len, 300);
	EXPECT_IOV(0, R1_GPA - 100, 100);
	EXPECT_IOV(1, R1_GPA, 200);
	return KTAP_PASS;
}

static enum ktap_result split_zero_len(void)
{
	START_SPLIT(8);
	sd(0, BUF_GPA, 0, KVR_DESC_F_NEXT, 1);
	sd(1, BUF_GPA, 8, KVR_DESC_F_NEXT, 2);
	sd(2, HOLE_GPA, 0, KVR_DESC_F_WRITE, 0);	/* never translated */
	avail_add(0);
	GET_OK();
	KTAP_EXPECT_EQ(E.chain.nout, 1);
	KTAP_EXPECT_EQ(E.chain.nin, 0);
	KTAP_EXPECT_EQ(E.chain.out_len, 8);
	KTAP_EXPECT_EQ(E.chain.in_len, 0);
	return KTAP_PASS;
}

static enum ktap_result split_indirect(void)
{
	u64 t = BUF_GPA + 0x2000;

	START_SPLIT(8);
	/* A direct header, then an indirect table walked out of order. */
	sd(2, BUF_GPA, 12, KVR_DESC_F_NEXT, 6);
	sd(6, t, 4 * 16, KVR_DESC_F_INDIRECT, 0);
	td(t, 0, BUF_GPA + 0x100, 10, KVR_DESC_F_NEXT, 3);
	td(t, 3, BUF_GPA + 0x200, 20, KVR_DESC_F_WRITE | KVR_DESC_F_NEXT, 1);
	td(t, 1, BUF_GPA + 0x300, 30, KVR_DESC_F_WRITE, 0);
	td(t, 2, 0xdead0000, 1, KVR_DESC_F_INDIRECT, 0);	/* unreached */
	avail_add(2);
	GET_OK();
	KTAP_EXPECT_EQ(E.chain.head, 2);
	KTAP_EXPECT_EQ(E.chain.nout, 2);
	KTAP_EXPECT_EQ(E.chain.nin, 2);
	KTAP_EXPECT_EQ(E.chain.out_len, 22);
	KTAP_EXPECT_EQ(E.chain.in_len, 50);
	EXPECT_IOV(0, BUF_GPA, 12);
	EXPECT_IOV(1, BUF_GPA + 0x100, 10);
	EXPECT_IOV(2, BUF_GPA + 0x200, 20);
	EXPECT_IOV(3, BUF_GPA + 0x300, 30);
	return KTAP_PASS;
}

/* A table across two ranges, with one entry split between them. */
static enum ktap_result split_indirect_span(void)
{
	u64 t = R1_GPA - 16 * 20 - 8;
	unsigned int i, n = 40;

	START_SPLIT(8);
	sd(0, t, n * 16, KVR_DESC_F_INDIRECT, 0);
	for (i = 0; i < n; i++)
		td(t, i, BUF_GPA + 0x10 * i, 8,
		   (i < n - 1 ? KVR_DESC_F_NEXT : 0) |
		   (i >= 30 ? KVR_DESC_F_WRITE : 0), i + 1);
	avail_add(0);
	GET_OK();
	KTAP_EXPECT_EQ(E.chain.nout, 30);
	KTAP_EXPECT_EQ(E.chain.nin, 10);
	for (i = 0; i < n; i++)
		EXPECT_IOV(i, BUF_GPA + 0x10 * i, 8);

	/* The largest table. */
	START_SPLIT(8);
	t = R1_GPA;
	sd(0, t, KVR_MAX_INDIRECT * 16, KVR_DESC_F_INDIRECT, 0);
	for (i = 0; i < KVR_MAX_INDIRECT; i++)
		td(t, i, BUF_GPA, 0, i + 1 < KVR_MAX_INDIRECT ?
		   KVR_DESC_F_NEXT : 0, i + 1);
	avail_add(0);
	GET_OK();
	KTAP_EXPECT_EQ(E.chain.nout + E.chain.nin, 0);
	return KTAP_PASS;
}

static enum ktap_result split_used_batch_wrap(void)
{
	struct kvr_used u[8];
	int i;

	START_SPLIT(8);
	for (i = 0; i < 8; i++)
		u[i] = (struct kvr_used){ .id = i, .len = 100 + i, .ndesc = 1 };
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u, 5), 0);
	KTAP_EXPECT_EQ(used_idx(), 5);
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u + 5, 3), 0);
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u, 6), 0);
	KTAP_EXPECT_EQ(used_idx(), 14);
	for (i = 0; i < 6; i++) {
		KTAP_EXPECT_EQ(used_id(i), i);
		KTAP_EXPECT_EQ(used_len(i), 100 + i);
	}
	for (i = 6; i < 8; i++)
		KTAP_EXPECT_EQ(used_id(i), i);

	/* A fault publishes nothing. */
	kvr_user_fail_countdown = 1;
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u, 2), -EIO);
	KTAP_EXPECT_EQ(E.ring.error, KVR_ERR_ACCESS);
	KTAP_EXPECT_EQ(used_idx(), 14);
	KTAP_EXPECT_EQ(E.ring.last_used_idx, 14);
	return KTAP_PASS;
}

/* A batch larger than the library's staging buffer, across the ring end. */
static enum ktap_result split_used_big_batch(void)
{
	static struct kvr_used u[256];
	int i;

	START_SPLIT(256);
	for (i = 0; i < 256; i++)
		u[i] = (struct kvr_used){ .id = i, .len = 1000 + i, .ndesc = 1 };
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u, 56), 0);
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u, 256), 0);
	KTAP_EXPECT_EQ(used_idx(), 312);
	for (i = 0; i < 256; i++) {
		unsigned int slot = (56 + i) % 256;

		KTAP_EXPECT_EQ(used_id(slot), i);
		KTAP_EXPECT_EQ(used_len(slot), 1000 + i);
	}
	return KTAP_PASS;
}

/* Indices wrap at 65535 on both sides. */
static enum ktap_result split_wrap_65535(void)
{
	struct kvr_used u[4];
	int i;

	setup(8, false);
	put16g(E.used_gpa + 2, 65534);
	E.avail_idx = 65534;
	KTAP_EXPECT_EQ(kvr_ring_set_base(&E.ring, 65534), 0);
	KTAP_EXPECT_EQ(kvr_ring_start(&E.ring), 0);
	for (i = 0; i < 4; i++) {
		sd(i, BUF_GPA + 0x100 * i, 16, KVR_DESC_F_WRITE, 0);
		avail_add(i);
	}
	KTAP_EXPECT_EQ(get16g(E.avail_gpa + 2), 2);
	for (i = 0; i < 4; i++) {
		GET_OK();
		KTAP_EXPECT_EQ(E.chain.head, i);
		u[i] = (struct kvr_used){ .id = i, .len = i, .ndesc = 1 };
	}
	GET_EMPTY();
	KTAP_EXPECT_EQ(E.ring.last_avail_idx, 2);
	KTAP_EXPECT_EQ(kvr_ring_get_base(&E.ring), 2);
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u, 4), 0);
	KTAP_EXPECT_EQ(used_idx(), 2);
	KTAP_EXPECT_EQ(used_id(6), 0);
	KTAP_EXPECT_EQ(used_id(7), 1);
	KTAP_EXPECT_EQ(used_id(0), 2);
	KTAP_EXPECT_EQ(used_id(1), 3);
	return KTAP_PASS;
}

static enum ktap_result split_unget(void)
{
	START_SPLIT(8);
	sd(4, BUF_GPA, 16, 0, 0);
	sd(5, BUF_GPA, 16, 0, 0);
	avail_add(4);
	avail_add(5);
	GET_OK();
	struct kvr_chain c1 = E.chain;

	GET_OK();
	kvr_unget_chain(&E.ring, &E.chain);
	kvr_unget_chain(&E.ring, &c1);
	KTAP_EXPECT_EQ(E.ring.last_avail_idx, 0);
	GET_OK();
	KTAP_EXPECT_EQ(E.chain.head, 4);
	GET_OK();
	KTAP_EXPECT_EQ(E.chain.head, 5);
	GET_EMPTY();

	/* Across the 16-bit wrap. */
	setup(8, false);
	E.avail_idx = 0;
	KTAP_EXPECT_EQ(kvr_ring_set_base(&E.ring, 0), 0);
	KTAP_EXPECT_EQ(kvr_ring_start(&E.ring), 0);
	sd(1, BUF_GPA, 16, 0, 0);
	avail_add(1);
	GET_OK();
	kvr_unget_chain(&E.ring, &E.chain);
	KTAP_EXPECT_EQ(E.ring.last_avail_idx, 0);
	kvr_unget_chain(&E.ring, &E.chain);
	KTAP_EXPECT_EQ(E.ring.last_avail_idx, 65535);
	return KTAP_PASS;
}

static enum ktap_result split_notify_flags(void)
{
	START_SPLIT(8);
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), true);
	put16g(E.avail_gpa, KVR_AVAIL_F_NO_INTERRUPT);
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), false);

	/* NOTIFY_ON_EMPTY overrides NO_INTERRUPT once the ring is drained. */
	E.ring.notify_on_empty = true;
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), true);
	sd(0, BUF_GPA, 16, 0, 0);
	avail_add(0);
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), false);
	GET_OK();
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), true);

	/* Unreadable avail ring: notify. */
	E.ring.notify_on_empty = false;
	kvr_user_fail_countdown = 1;
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), true);
	return KTAP_PASS;
}

static enum ktap_result split_notify_event_idx(void)
{
	struct kvr_used u = { .id = 0, .len = 1, .ndesc = 1 };
	u64 used_event;

	START_SPLIT(8);
	E.ring.event_idx = true;
	used_event = E.avail_gpa + 4 + 2 * 8;
	/* NO_INTERRUPT is ignored with EVENT_IDX. */
	put16g(E.avail_gpa, KVR_AVAIL_F_NO_INTERRUPT);
	put16g(used_event, 0);
	/* The first call after start always notifies. */
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), true);
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, &u, 1), 0);	/* 0 -> 1 */
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), true);
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, &u, 1), 0);	/* 1 -> 2 */
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), false);
	put16g(used_event, 5);
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, &u, 1), 0);
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, &u, 1), 0);
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, &u, 1), 0);	/* 2 -> 5 */
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), false);
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, &u, 1), 0);	/* 5 -> 6 */
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), true);
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), false);	/* no news */
	/* A batch that passes the event notifies once. */
	put16g(used_event, 7);
	struct kvr_used b[3] = { u, u, u };

	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, b, 3), 0);	/* 6 -> 9 */
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), true);
	/* Unreadable used_event: notify. */
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, &u, 1), 0);
	kvr_user_fail_countdown = 1;
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), true);
	return KTAP_PASS;
}

static enum ktap_result split_enable_disable(void)
{
	START_SPLIT(8);
	KTAP_EXPECT_EQ(kvr_disable_notify(&E.ring), 0);
	KTAP_EXPECT_EQ(get16g(E.used_gpa), KVR_USED_F_NO_NOTIFY);
	KTAP_EXPECT_EQ(kvr_enable_notify(&E.ring), 0);
	KTAP_EXPECT_EQ(get16g(E.used_gpa), 0);

	/* A buffer slipped in before the re-arm: the caller must look. */
	KTAP_EXPECT_EQ(kvr_disable_notify(&E.ring), 0);
	sd(0, BUF_GPA, 16, 0, 0);
	avail_add(0);
	KTAP_EXPECT_EQ(kvr_enable_notify(&E.ring), 1);
	GET_OK();
	KTAP_EXPECT_EQ(kvr_enable_notify(&E.ring), 0);

	/* A bad index found by the re-check. */
	put16g(E.avail_gpa + 2, 1 + 9);
	KTAP_EXPECT_EQ(kvr_enable_notify(&E.ring), -EIO);
	KTAP_EXPECT_EQ(E.ring.error, KVR_ERR_AVAIL_IDX);
	put16g(E.avail_gpa + 2, 1);

	/* Faults. */
	kvr_user_fail_countdown = 1;
	KTAP_EXPECT_EQ(kvr_disable_notify(&E.ring), -EIO);
	KTAP_EXPECT_EQ(E.ring.error, KVR_ERR_ACCESS);
	kvr_user_fail_countdown = 2;
	KTAP_EXPECT_EQ(kvr_enable_notify(&E.ring), -EIO);
	KTAP_EXPECT_EQ(E.ring.error, KVR_ERR_ACCESS);

	/* EVENT_IDX: avail_event carries the re-arm; flags stay alone. */
	START_SPLIT(8);
	E.ring.event_idx = true;
	put16g(E.used_gpa, 0x5a5a);
	KTAP_EXPECT_EQ(kvr_disable_notify(&E.ring), 0);
	KTAP_EXPECT_EQ(get16g(E.used_gpa), 0x5a5a);
	sd(0, BUF_GPA, 16, 0, 0);
	avail_add(0);
	avail_add(0);
	GET_OK();
	GET_OK();
	GET_EMPTY();
	KTAP_EXPECT_EQ(kvr_enable_notify(&E.ring), 0);
	KTAP_EXPECT_EQ(get16g(E.used_gpa + 4 + 8 * 8), 2);
	KTAP_EXPECT_EQ(get16g(E.used_gpa), 0x5a5a);
	avail_add(0);
	KTAP_EXPECT_EQ(kvr_enable_notify(&E.ring), 1);
	KTAP_EXPECT_EQ(get16g(E.used_gpa + 4 + 8 * 8), 2);
	GET_OK();
	return KTAP_PASS;
}

static enum ktap_result split_dirty_log(void)
{
	struct kvr_used u[3] = { { 1, 1, 10 }, { 2, 1, 20 }, { 3, 1, 30 } };

	START_SPLIT(4);
	E.ring.log = (struct kvr_log *)&E.log;
	E.ring.log_used = true;

	/* 3 entries from slot 3: slots 3, 0, 1. */
	E.ring.last_used_idx = 3;
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u, 3), 0);
	KTAP_EXPECT_EQ(E.log.n, 3);
	KTAP_EXPECT_EQ(E.log.e[0].gpa, E.used_gpa + 4 + 8 * 3);
	KTAP_EXPECT_EQ(E.log.e[0].len, 8);
	KTAP_EXPECT_EQ(E.log.e[1].gpa, E.used_gpa + 4);
	KTAP_EXPECT_EQ(E.log.e[1].len, 16);
	KTAP_EXPECT_EQ(E.log.e[2].gpa, E.used_gpa + 2);
	KTAP_EXPECT_EQ(E.log.e[2].len, 2);

	E.log.n = 0;
	KTAP_EXPECT_EQ(kvr_disable_notify(&E.ring), 0);
	KTAP_EXPECT_EQ(kvr_enable_notify(&E.ring), 0);
	KTAP_EXPECT_EQ(E.log.n, 2);
	KTAP_EXPECT_EQ(E.log.e[1].gpa, E.used_gpa);
	KTAP_EXPECT_EQ(E.log.e[1].len, 2);
	E.log.n = 0;
	E.ring.event_idx = true;
	KTAP_EXPECT_EQ(kvr_enable_notify(&E.ring), 0);
	KTAP_EXPECT_EQ(E.log.n, 1);
	KTAP_EXPECT_EQ(E.log.e[0].gpa, E.used_gpa + 4 + 8 * 4);
	KTAP_EXPECT_EQ(E.log.e[0].len, 2);

	/* Not logging the used ring: nothing. */
	E.log.n = 0;
	E.ring.log_used = false;
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u, 1), 0);
	KTAP_EXPECT_EQ(E.log.n, 0);

	/* Data: the first @written bytes of the writable part. */
	sd(0, BUF_GPA, 50, KVR_DESC_F_NEXT, 1);
	sd(1, R1_GPA - 100, 300, KVR_DESC_F_WRITE | KVR_DESC_F_NEXT, 2);
	sd(2, BUF_GPA + 0x800, 64, KVR_DESC_F_WRITE, 0);
	avail_add(0);
	GET_OK();
	KTAP_EXPECT_EQ(E.chain.nin, 3);
	KTAP_EXPECT_EQ(kvr_log_chain(&E.ring, &E.chain, 150), 0);
	KTAP_EXPECT_EQ(E.log.n, 2);
	KTAP_EXPECT_EQ(E.log.e[0].gpa, R1_GPA - 100);
	KTAP_EXPECT_EQ(E.log.e[0].len, 100);
	KTAP_EXPECT_EQ(E.log.e[1].gpa, R1_GPA);
	KTAP_EXPECT_EQ(E.log.e[1].len, 50);
	E.log.n = 0;
	KTAP_EXPECT_EQ(kvr_log_chain(&E.ring, &E.chain, 1000), 0);
	KTAP_EXPECT_EQ(E.log.n, 3);
	KTAP_EXPECT_EQ(E.log.e[2].gpa, BUF_GPA + 0x800);
	KTAP_EXPECT_EQ(E.log.e[2].len, 64);
	E.log.n = 0;
	KTAP_EXPECT_EQ(kvr_log_chain(&E.ring, &E.chain, 0), 0);
	KTAP_EXPECT_EQ(E.log.n, 0);
	E.ring.log = NULL;
	KTAP_EXPECT_EQ(kvr_log_chain(&E.ring, &E.chain, 100), 0);
	return KTAP_PASS;
}

/* The map can be swapped between calls; the range hint stays safe. */
static enum ktap_result split_map_swap(void)
{
	struct {
		struct kvr_map m;
		struct kvr_range r[1];
	} small = { .m.n = 1 };

	START_SPLIT(8);
	sd(0, BIG_GPA + 0x1000, 16, 0, 0);	/* hits range 4 */
	avail_add(0);
	GET_OK();
	KTAP_EXPECT_EQ(E.ring.map_hint, 4);
	small.r[0] = E.map->r[0];
	E.ring.map = &small.m;
	sd(1, BUF_GPA, 16, 0, 0);
	avail_add(1);
	GET_OK();
	sd(2, BIG_GPA, 16, 0, 0);
	avail_add(2);
	EXPECT_ERR(KVR_ERR_ADDR);
	E.ring.map = NULL;
	EXPECT_ERR(KVR_ERR_ADDR);
	return KTAP_PASS;
}

/* ---- split: every invalid input ---- */

static enum ktap_result split_err_access(void)
{
	START_SPLIT(8);
	sd(0, BUF_GPA, 16, 0, 0);
	avail_add(0);
	/* Avail index, then the head, then the descriptor. */
	kvr_user_unmap_all();
	EXPECT_ERR(KVR_ERR_ACCESS);
	KTAP_EXPECT_EQ(E.ring.error_info, E.ring.avail + 2);
	kvr_user_map(E.r0, REGION);
	kvr_user_fail_countdown = 2;
	KTAP_EXPECT_EQ(get(), -EIO);
	KTAP_EXPECT_EQ(E.ring.error, KVR_ERR_ACCESS);
	KTAP_EXPECT_EQ(E.ring.error_info, E.ring.avail + 4);
	KTAP_EXPECT_EQ(E.ring.last_avail_idx, 0);
	kvr_user_fail_countdown = 2;	/* the index is cached now */
	KTAP_EXPECT_EQ(get(), -EIO);
	KTAP_EXPECT_EQ(E.ring.error_info, E.ring.desc);
	KTAP_EXPECT_EQ(E.ring.last_avail_idx, 0);
	GET_OK();
	return KTAP_PASS;
}

static enum ktap_result split_err_avail_idx(void)
{
	START_SPLIT(8);
	put16g(E.avail_gpa + 2, 9);
	EXPECT_ERR(KVR_ERR_AVAIL_IDX);
	KTAP_EXPECT_EQ(E.ring.error_info, 9);
	put16g(E.avail_gpa + 2, 0xffff);	/* backwards */
	EXPECT_ERR(KVR_ERR_AVAIL_IDX);
	put16g(E.avail_gpa + 2, 8);		/* a full ring is fine */
	GET_OK();
	return KTAP_PASS;
}

static enum ktap_result split_err_head(void)
{
	START_SPLIT(8);
	avail_add(8);
	EXPECT_ERR(KVR_ERR_HEAD);
	KTAP_EXPECT_EQ(E.ring.error_info, 8);
	return KTAP_PASS;
}

static enum ktap_result split_err_next(void)
{
	START_SPLIT(8);
	sd(0, BUF_GPA, 16, KVR_DESC_F_NEXT, 8);
	avail_add(0);
	EXPECT_ERR(KVR_ERR_NEXT);
	KTAP_EXPECT_EQ(E.ring.error_info, 8);
	return KTAP_PASS;
}

static enum ktap_result split_err_loop(void)
{
	int i;

	START_SPLIT(8);
	sd(0, BUF_GPA, 16, KVR_DESC_F_NEXT, 1);
	sd(1, BUF_GPA, 16, KVR_DESC_F_NEXT, 0);
	avail_add(0);
	EXPECT_ERR(KVR_ERR_LOOP);
	/* A chain of exactly num descriptors is fine. */
	START_SPLIT(8);
	for (i = 0; i < 8; i++)
		sd(i, BUF_GPA, 1, i < 7 ? KVR_DESC_F_NEXT : 0, i + 1);
	avail_add(0);
	GET_OK();
	KTAP_EXPECT_EQ(E.chain.nout, 8);
	return KTAP_PASS;
}

static enum ktap_result split_err_indirect_len(void)
{
	u64 t = BUF_GPA + 0x2000;

	START_SPLIT(8);
	td(t, 0, BUF_GPA, 8, 0, 0);
	sd(0, t, 0, KVR_DESC_F_INDIRECT, 0);
	avail_add(0);
	EXPECT_ERR(KVR_ERR_INDIRECT_LEN);
	sd(0, t, 24, KVR_DESC_F_INDIRECT, 0);
	EXPECT_ERR(KVR_ERR_INDIRECT_LEN);
	sd(0, t, (KVR_MAX_INDIRECT + 1) * 16, KVR_DESC_F_INDIRECT, 0);
	EXPECT_ERR(KVR_ERR_INDIRECT_LEN);
	sd(0, t, 16, KVR_DESC_F_INDIRECT, 0);
	GET_OK();
	return KTAP_PASS;
}

static enum ktap_result split_err_indirect_nested(void)
{
	u64 t = BUF_GPA + 0x2000;

	START_SPLIT(8);
	td(t, 0, BUF_GPA, 8, KVR_DESC_F_NEXT, 1);
	td(t, 1, t, 32, KVR_DESC_F_INDIRECT, 0);
	sd(0, t, 32, KVR_DESC_F_INDIRECT, 0);
	avail_add(0);
	EXPECT_ERR(KVR_ERR_INDIRECT_NESTED);
	return KTAP_PASS;
}

static enum ktap_result split_err_indirect_next(void)
{
	u64 t = BUF_GPA + 0x2000;

	START_SPLIT(8);
	td(t, 0, BUF_GPA, 8, 0, 0);
	sd(0, t, 16, KVR_DESC_F_INDIRECT | KVR_DESC_F_NEXT, 1);
	sd(1, BUF_GPA, 8, 0, 0);
	avail_add(0);
	EXPECT_ERR(KVR_ERR_INDIRECT_NEXT);
	return KTAP_PASS;
}

static enum ktap_result split_err_indirect_off(void)
{
	u64 t = BUF_GPA + 0x2000;

	START_SPLIT(8);
	E.ring.indirect = false;
	td(t, 0, BUF_GPA, 8, 0, 0);
	sd(0, t, 16, KVR_DESC_F_INDIRECT, 0);
	avail_add(0);
	EXPECT_ERR(KVR_ERR_INDIRECT_OFF);
	return KTAP_PASS;
}

/* Loops and bad next indices inside a table, and unmapped tables. */
static enum ktap_result split_err_indirect_table(void)
{
	u64 t = BUF_GPA + 0x2000;

	START_SPLIT(8);
	td(t, 0, BUF_GPA, 8, KVR_DESC_F_NEXT, 1);
	td(t, 1, BUF_GPA, 8, KVR_DESC_F_NEXT, 0);
	sd(0, t, 32, KVR_DESC_F_INDIRECT, 0);
	avail_add(0);
	EXPECT_ERR(KVR_ERR_LOOP);
	td(t, 1, BUF_GPA, 8, KVR_DESC_F_NEXT, 2);
	EXPECT_ERR(KVR_ERR_NEXT);
	KTAP_EXPECT_EQ(E.ring.error_info, 2);
	sd(0, HOLE_GPA, 32, KVR_DESC_F_INDIRECT, 0);
	EXPECT_ERR(KVR_ERR_ADDR);
	KTAP_EXPECT_EQ(E.ring.error_info, HOLE_GPA);
	sd(0, R1_GPA + REGION - 16, 32, KVR_DESC_F_INDIRECT, 0);
	EXPECT_ERR(KVR_ERR_ADDR);
	sd(0, ~0ULL - 15, 32, KVR_DESC_F_INDIRECT, 0);
	EXPECT_ERR(KVR_ERR_ADDR);
	/* A table the device may not read. */
	sd(0, WO_GPA, 32, KVR_DESC_F_INDIRECT, 0);
	EXPECT_ERR(KVR_ERR_PERM);
	/* A table in memory that faults. */
	sd(0, t, 32, KVR_DESC_F_INDIRECT, 0);
	td(t, 1, BUF_GPA, 8, 0, 0);
	GET_OK();
	kvr_unget_chain(&E.ring, &E.chain);
	E.map->r[0].uaddr = BIG_UADDR;
	E.map->r[1].uaddr = BIG_UADDR + REGION;
	EXPECT_ERR(KVR_ERR_ACCESS);
	return KTAP_PASS;
}

static enum ktap_result split_err_out_after_in(void)
{
	u64 t = BUF_GPA + 0x2000;

	START_SPLIT(8);
	sd(0, BUF_GPA, 8, KVR_DESC_F_WRITE | KVR_DESC_F_NEXT, 1);
	sd(1, BUF_GPA, 8, 0, 0);
	avail_add(0);
	EXPECT_ERR(KVR_ERR_OUT_AFTER_IN);
	/* Also with a zero-length writable descriptor. */
	sd(0, BUF_GPA, 0, KVR_DESC_F_WRITE | KVR_DESC_F_NEXT, 1);
	EXPECT_ERR(KVR_ERR_OUT_AFTER_IN);
	/* And from the ring into a table. */
	td(t, 0, BUF_GPA, 8, 0, 0);
	sd(0, BUF_GPA, 8, KVR_DESC_F_WRITE | KVR_DESC_F_NEXT, 1);
	sd(1, t, 16, KVR_DESC_F_INDIRECT, 0);
	EXPECT_ERR(KVR_ERR_OUT_AFTER_IN);
	return KTAP_PASS;
}

static enum ktap_result split_err_len(void)
{
	START_SPLIT(8);
	sd(0, BIG_GPA, 0xffffffff, KVR_DESC_F_NEXT, 1);
	sd(1, BIG_GPA, 1, 0, 0);
	avail_add(0);
	EXPECT_ERR(KVR_ERR_LEN);
	sd(0, BIG_GPA, 0xffffffff, KVR_DESC_F_WRITE | KVR_DESC_F_NEXT, 1);
	sd(1, BIG_GPA, 1, KVR_DESC_F_WRITE, 0);
	EXPECT_ERR(KVR_ERR_LEN);
	/* Exactly 2^32 - 1 is fine. */
	sd(0, BIG_GPA, 0xfffffffe, KVR_DESC_F_WRITE | KVR_DESC_F_NEXT, 1);
	GET_OK();
	KTAP_EXPECT_EQ(E.chain.in_len, 0xffffffff);
	return KTAP_PASS;
}

static enum ktap_result split_err_addr(void)
{
	START_SPLIT(8);
	sd(0, HOLE_GPA + 8, 8, 0, 0);
	avail_add(0);
	EXPECT_ERR(KVR_ERR_ADDR);
	KTAP_EXPECT_EQ(E.ring.error_info, HOLE_GPA + 8);
	/* Runs off the end of R1 into the hole. */
	sd(0, R1_GPA + REGION - 4, 8, 0, 0);
	EXPECT_ERR(KVR_ERR_ADDR);
	KTAP_EXPECT_EQ(E.ring.error_info, R1_GPA + REGION);
	/* Wraps the address space. */
	sd(0, ~0ULL - 3, 8, 0, 0);
	EXPECT_ERR(KVR_ERR_ADDR);
	return KTAP_PASS;
}

/*
 * Behind a device IOTLB a hole is a miss: -EAGAIN with the address and the
 * access wanted, no ring error and nothing consumed; once the table covers
 * the address the same chain comes out. A lacking permission is still an
 * error.
 */
#define EXPECT_MISS(addr, perm)						\
	do {								\
		u16 la_ = E.ring.last_avail_idx;			\
		KTAP_EXPECT_EQ(get(), -EAGAIN);				\
		KTAP_EXPECT_EQ(E.ring.error, KVR_OK);			\
		KTAP_EXPECT_EQ(E.ring.miss_addr, (addr));		\
		KTAP_EXPECT_EQ(E.ring.miss_perm, (perm));		\
		KTAP_EXPECT_EQ(E.ring.last_avail_idx, la_);		\
	} while (0)

static enum ktap_result split_iotlb_miss(void)
{
	u64 t = BUF_GPA + 0x2000;

	START_SPLIT(8);
	E.map->iotlb = true;
	sd(0, BUF_GPA, 8, KVR_DESC_F_NEXT, 1);
	sd(1, HOLE_GPA + 8, 8, KVR_DESC_F_WRITE, 0);
	avail_add(0);
	EXPECT_MISS(HOLE_GPA + 8, KVR_PERM_WRITE);
	/* Running off a range into the hole misses where the hole starts. */
	sd(1, R1_GPA + REGION - 4, 8, KVR_DESC_F_WRITE, 0);
	EXPECT_MISS(R1_GPA + REGION, KVR_PERM_WRITE);
	/* An indirect table in the hole. */
	sd(1, HOLE_GPA, 32, KVR_DESC_F_INDIRECT, 0);
	EXPECT_MISS(HOLE_GPA, KVR_PERM_READ);
	/* Mapped at last: the same chain, whole. */
	td(t, 0, BUF_GPA + 64, 16, KVR_DESC_F_WRITE, 0);
	sd(1, t, 16, KVR_DESC_F_INDIRECT, 0);
	KTAP_EXPECT_EQ(get(), 1);
	KTAP_EXPECT_EQ(E.chain.head, 0);
	KTAP_EXPECT_EQ(E.chain.out_len, 8);
	KTAP_EXPECT_EQ(E.chain.in_len, 16);
	/* Mapped without the access wanted: still a broken ring. */
	sd(2, RO_GPA, 8, KVR_DESC_F_WRITE, 0);
	avail_add(2);
	EXPECT_ERR(KVR_ERR_PERM);
	return KTAP_PASS;
}

static enum ktap_result packed_iotlb_miss(void)
{
	struct pkd d[2] = { { BUF_GPA, 8, 0 },
			    { HOLE_GPA, 8, KVR_DESC_F_WRITE } };

	START_PACKED(4);
	E.map->iotlb = true;
	pk_add(d, 2, 0);
	EXPECT_MISS(HOLE_GPA, KVR_PERM_WRITE);
	/* Once the address is mapped, the chain comes out. */
	d[1] = (struct pkd){ BUF_GPA + 64, 8, KVR_DESC_F_WRITE };
	START_PACKED(4);
	E.map->iotlb = true;
	pk_add(d, 2, 0);
	KTAP_EXPECT_EQ(get(), 1);
	KTAP_EXPECT_EQ(E.chain.ndesc, 2);
	KTAP_EXPECT_EQ(E.chain.in_len, 8);
	return KTAP_PASS;
}

static enum ktap_result split_err_perm(void)
{
	START_SPLIT(8);
	sd(0, RO_GPA, 8, KVR_DESC_F_WRITE, 0);
	avail_add(0);
	EXPECT_ERR(KVR_ERR_PERM);
	KTAP_EXPECT_EQ(E.ring.error_info, RO_GPA);
	sd(0, WO_GPA, 8, 0, 0);
	EXPECT_ERR(KVR_ERR_PERM);
	sd(0, RO_GPA, 8, 0, 0);
	GET_OK();
	sd(1, WO_GPA, 8, KVR_DESC_F_WRITE, 0);
	avail_add(1);
	GET_OK();
	return KTAP_PASS;
}

static enum ktap_result split_err_iov(void)
{
	START_SPLIT(8);
	E.chain.max_iov = 1;
	sd(0, R1_GPA - 4, 8, 0, 0);	/* two ranges, two iovecs */
	avail_add(0);
	EXPECT_ERR(KVR_ERR_IOV);
	sd(0, BUF_GPA, 8, KVR_DESC_F_NEXT, 1);
	sd(1, BUF_GPA, 8, KVR_DESC_F_WRITE, 0);
	EXPECT_ERR(KVR_ERR_IOV);
	E.chain.max_iov = 2;
	GET_OK();
	return KTAP_PASS;
}

/* ================= packed ring ================= */

static enum ktap_result packed_basic(void)
{
	struct pkd c1[3] = {
		{ BUF_GPA, 10, 0 },
		{ BUF_GPA + 0x100, 20, KVR_DESC_F_WRITE },
		{ R1_GPA - 8, 16, KVR_DESC_F_WRITE },
	};
	struct pkd c2[1] = { { BUF_GPA + 0x200, 5, 0 } };

	START_PACKED(5);
	KTAP_EXPECT_EQ(get16g(E.used_gpa + 2), KVR_EVENT_ENABLE);
	GET_EMPTY();
	pk_add(c1, 3, 4);
	pk_add(c2, 1, 0);
	GET_OK();
	KTAP_EXPECT_EQ(E.chain.head, 4);	/* from the last descriptor */
	KTAP_EXPECT_EQ(E.chain.ndesc, 3);
	KTAP_EXPECT_EQ(E.chain.nout, 1);
	KTAP_EXPECT_EQ(E.chain.nin, 3);
	KTAP_EXPECT_EQ(E.chain.out_len, 10);
	KTAP_EXPECT_EQ(E.chain.in_len, 36);
	EXPECT_IOV(0, BUF_GPA, 10);
	EXPECT_IOV(1, BUF_GPA + 0x100, 20);
	EXPECT_IOV(2, R1_GPA - 8, 8);
	EXPECT_IOV(3, R1_GPA, 8);
	GET_OK();
	KTAP_EXPECT_EQ(E.chain.head, 0);
	KTAP_EXPECT_EQ(E.chain.ndesc, 1);
	GET_EMPTY();
	KTAP_EXPECT_EQ(E.ring.last_avail_idx, 4);

	/* A chain across the end of the ring flips the wrap counter. */
	pk_add(c1, 3, 2);
	GET_OK();
	KTAP_EXPECT_EQ(E.chain.head, 2);
	KTAP_EXPECT_EQ(E.ring.last_avail_idx, 2);
	KTAP_EXPECT_EQ(E.ring.avail_wrap, false);
	GET_EMPTY();
	KTAP_EXPECT_EQ(kvr_ring_get_base(&E.ring) & 0xffff, 2);
	return KTAP_PASS;
}

static enum ktap_result packed_indirect(void)
{
	u64 t = R1_GPA - 16 * 3;	/* spans R0 and R1 */
	struct pkd c = { t, 5 * 16, KVR_DESC_F_INDIRECT };
	struct kvr_pdesc e[5] = {
		{ BUF_GPA, 1, 0, KVR_DESC_F_NEXT },
		{ BUF_GPA + 0x10, 2, 0, 0 },	/* no NEXT: still walked */
		{ BUF_GPA + 0x20, 3, 0, KVR_DESC_F_WRITE },
		{ BUF_GPA + 0x30, 0, 0, KVR_DESC_F_WRITE },
		{ BUF_GPA + 0x40, 5, 0, KVR_DESC_F_WRITE },
	};
	unsigned int i, b;

	START_PACKED(4);
	for (i = 0; i < 5; i++)
		for (b = 0; b < 16; b++)
			*(u8 *)hva(t + 16 * i + b) = ((u8 *)&e[i])[b];
	pk_add(&c, 1, 3);
	GET_OK();
	KTAP_EXPECT_EQ(E.chain.head, 3);
	KTAP_EXPECT_EQ(E.chain.ndesc, 1);
	KTAP_EXPECT_EQ(E.chain.nout, 2);
	KTAP_EXPECT_EQ(E.chain.nin, 2);
	KTAP_EXPECT_EQ(E.chain.out_len, 3);
	KTAP_EXPECT_EQ(E.chain.in_len, 8);
	EXPECT_IOV(3, BUF_GPA + 0x40, 5);
	return KTAP_PASS;
}

static enum ktap_result packed_used_batch(void)
{
	struct pkd d[3] = { { BUF_GPA, 8, 0 }, { BUF_GPA, 8, 0 },
			    { BUF_GPA, 8, 0 } };
	struct kvr_used u[3] = {
		{ .id = 1, .ndesc = 2, .len = 0 },
		{ .id = 2, .ndesc = 1, .len = 9 },
		{ .id = 0, .ndesc = 3, .len = 4 },
	};
	const u16 both = KVR_DESC_F_AVAIL | KVR_DESC_F_USED;

	START_PACKED(5);
	pk_add(d, 2, 1);
	pk_add(d, 1, 2);
	GET_OK();
	GET_OK();
	pk_add(d, 2, 0);	/* slots 3, 4 */
	GET_OK();
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u, 2), 0);
	KTAP_EXPECT_EQ(pk_flags(0), both);
	KTAP_EXPECT_EQ(get16g(E.desc_gpa + 12), 1);
	KTAP_EXPECT_EQ(pk_flags(2), both | KVR_DESC_F_WRITE);
	KTAP_EXPECT_EQ(get16g(E.desc_gpa + 16 * 2 + 12), 2);
	KTAP_EXPECT_EQ(get32g(E.desc_gpa + 16 * 2 + 8), 9);
	KTAP_EXPECT_EQ(E.ring.last_used_idx, 3);
	/* Three slots from 3: 3, 4, then 0 of the next lap. */
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u + 2, 1), 0);
	KTAP_EXPECT_EQ(pk_flags(3), both | KVR_DESC_F_WRITE);
	KTAP_EXPECT_EQ(E.ring.last_used_idx, 1);
	KTAP_EXPECT_EQ(E.ring.used_wrap, false);
	KTAP_EXPECT_EQ(kvr_ring_get_base(&E.ring) >> 16, 1);

	/* Entries after a wrap carry the new counter: both bits clear. */
	u[0] = (struct kvr_used){ .id = 4, .ndesc = 1, .len = 0 };
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u, 1), 0);
	KTAP_EXPECT_EQ(pk_flags(1), 0);

	/* Bad ndesc. */
	u[0].ndesc = 0;
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u, 1), -EINVAL);
	u[0].ndesc = 6;
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u, 1), -EINVAL);
	/* A fault publishes nothing. */
	u[0].ndesc = 1;
	kvr_user_fail_countdown = 1;
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u, 1), -EIO);
	KTAP_EXPECT_EQ(E.ring.error, KVR_ERR_ACCESS);
	KTAP_EXPECT_EQ(E.ring.last_used_idx, 2);
	return KTAP_PASS;
}

static enum ktap_result packed_unget(void)
{
	struct pkd d[3] = { { BUF_GPA, 8, 0 }, { BUF_GPA, 8, 0 },
			    { BUF_GPA, 8, 0 } };
	struct kvr_chain c1;

	START_PACKED(8);
	pk_add(d, 3, 1);
	pk_add(d, 2, 2);
	GET_OK();
	c1 = E.chain;
	GET_OK();
	kvr_unget_chain(&E.ring, &E.chain);
	kvr_unget_chain(&E.ring, &c1);
	KTAP_EXPECT_EQ(E.ring.last_avail_idx, 0);
	KTAP_EXPECT_EQ(E.ring.avail_wrap, true);
	GET_OK();
	KTAP_EXPECT_EQ(E.chain.head, 1);
	GET_OK();
	KTAP_EXPECT_EQ(E.chain.head, 2);
	GET_EMPTY();

	/* Across the end of the ring: slots 3 and 0. */
	START_PACKED(4);
	pk_add(d, 3, 1);
	GET_OK();
	pk_add(d, 2, 2);
	GET_OK();
	KTAP_EXPECT_EQ(E.ring.last_avail_idx, 1);
	KTAP_EXPECT_EQ(E.ring.avail_wrap, false);
	kvr_unget_chain(&E.ring, &E.chain);
	KTAP_EXPECT_EQ(E.ring.last_avail_idx, 3);
	KTAP_EXPECT_EQ(E.ring.avail_wrap, true);
	GET_OK();
	KTAP_EXPECT_EQ(E.chain.head, 2);
	KTAP_EXPECT_EQ(E.chain.ndesc, 2);
	return KTAP_PASS;
}

static void drv_event(u16 off_wrap, u16 flags)
{
	put16g(E.avail_gpa, off_wrap);
	put16g(E.avail_gpa + 2, flags);
}

static enum ktap_result packed_notify(void)
{
	struct kvr_used u = { .id = 0, .ndesc = 1, .len = 1 };
	int i;

	START_PACKED(8);
	drv_event(0, KVR_EVENT_ENABLE);
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), true);
	drv_event(0, KVR_EVENT_DISABLE);
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), false);
	/* DESC without EVENT_IDX: treated as enabled. */
	drv_event(0, KVR_EVENT_DESC);
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), true);

	START_PACKED(8);
	E.ring.event_idx = true;
	drv_event(2 | KVR_EVENT_WRAP, KVR_EVENT_DESC);
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), true);	/* first */
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, &u, 1), 0);
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, &u, 1), 0);	/* slots 0,1 */
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), false);
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, &u, 1), 0);	/* slot 2 */
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), true);
	/* The event at slot 6 of this lap, passed across the wrap. */
	drv_event(6 | KVR_EVENT_WRAP, KVR_EVENT_DESC);
	for (i = 0; i < 5; i++)
		KTAP_EXPECT_EQ(kvr_push_used(&E.ring, &u, 1), 0);
	KTAP_EXPECT_EQ(E.ring.used_wrap, false);
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), true);
	/* An event in the new lap, not reached yet, then reached. */
	drv_event(2, KVR_EVENT_DESC);
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, &u, 1), 0);
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, &u, 1), 0);
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), false);
	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, &u, 1), 0);
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), true);
	/* More than a lap without a check: notify. */
	drv_event(7 | KVR_EVENT_WRAP, KVR_EVENT_DESC);
	for (i = 0; i < 9; i++)
		KTAP_EXPECT_EQ(kvr_push_used(&E.ring, &u, 1), 0);
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), true);
	/* Unreadable area: notify. */
	drv_event(0, KVR_EVENT_DISABLE);
	kvr_user_fail_countdown = 1;
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), true);
	KTAP_EXPECT_EQ(kvr_should_notify(&E.ring), false);
	return KTAP_PASS;
}

static enum ktap_result packed_enable_disable(void)
{
	struct pkd d = { BUF_GPA, 8, 0 };

	START_PACKED(4);
	E.ring.log = (struct kvr_log *)&E.log;
	E.ring.log_used = true;
	KTAP_EXPECT_EQ(kvr_disable_notify(&E.ring), 0);
	KTAP_EXPECT_EQ(get16g(E.used_gpa + 2), KVR_EVENT_DISABLE);
	KTAP_EXPECT_EQ(E.log.n, 1);
	KTAP_EXPECT_EQ(E.log.e[0].gpa, E.used_gpa + 2);
	KTAP_EXPECT_EQ(kvr_enable_notify(&E.ring), 0);
	KTAP_EXPECT_EQ(get16g(E.used_gpa + 2), KVR_EVENT_ENABLE);
	pk_add(&d, 1, 0);
	KTAP_EXPECT_EQ(kvr_enable_notify(&E.ring), 1);
	GET_OK();
	KTAP_EXPECT_EQ(kvr_enable_notify(&E.ring), 0);

	E.ring.event_idx = true;
	E.log.n = 0;
	KTAP_EXPECT_EQ(kvr_enable_notify(&E.ring), 0);
	KTAP_EXPECT_EQ(get16g(E.used_gpa + 2), KVR_EVENT_DESC);
	KTAP_EXPECT_EQ(get16g(E.used_gpa), 1 | KVR_EVENT_WRAP);
	KTAP_EXPECT_EQ(E.log.n, 1);
	KTAP_EXPECT_EQ(E.log.e[0].gpa, E.used_gpa);
	KTAP_EXPECT_EQ(E.log.e[0].len, 4);

	/* Used descriptors are logged in the descriptor ring. */
	E.log.n = 0;
	struct kvr_used u = { .id = 0, .ndesc = 1, .len = 8 };

	KTAP_EXPECT_EQ(kvr_push_used(&E.ring, &u, 1), 0);
	KTAP_EXPECT_EQ(E.log.n, 1);
	KTAP_EXPECT_EQ(E.log.e[0].gpa, E.desc_gpa + 8);
	KTAP_EXPECT_EQ(E.log.e[0].len, 8);

	kvr_user_fail_countdown = 1;
	KTAP_EXPECT_EQ(kvr_disable_notify(&E.ring), -EIO);
	KTAP_EXPECT_EQ(E.ring.error, KVR_ERR_ACCESS);
	kvr_user_fail_countdown = 2;
	KTAP_EXPECT_EQ(kvr_enable_notify(&E.ring), -EIO);
	return KTAP_PASS;
}

/* A ring that a driver has filled completely, then the wrap. */
static enum ktap_result packed_full_ring_wrap(void)
{
	struct pkd d = { BUF_GPA, 8, KVR_DESC_F_WRITE };
	struct kvr_used u[3];
	int lap, i;

	START_PACKED(3);
	for (lap = 0; lap < 4; lap++) {
		for (i = 0; i < 3; i++)
			pk_add(&d, 1, i);
		for (i = 0; i < 3; i++) {
			GET_OK();
			KTAP_EXPECT_EQ(E.chain.head, i);
			u[i] = (struct kvr_used){ .id = i, .ndesc = 1,
						  .len = 8 };
		}
		GET_EMPTY();
		KTAP_EXPECT_EQ(kvr_push_used(&E.ring, u, 3), 0);
		for (i = 0; i < 3; i++)
			KTAP_EXPECT_EQ(!!(pk_flags(i) & KVR_DESC_F_USED),
				       !(lap & 1));
		GET_EMPTY();
	}
	return KTAP_PASS;
}

/* ---- packed: every invalid input ---- */

static enum ktap_result packed_err_access(void)
{
	struct pkd d = { BUF_GPA, 8, 0 };

	START_PACKED(4);
	pk_add(&d, 1, 0);
	kvr_user_unmap_all();
	EXPECT_ERR(KVR_ERR_ACCESS);
	kvr_user_map(E.r0, REGION);
	kvr_user_fail_countdown = 2;	/* the descriptor after its flags */
	KTAP_EXPECT_EQ(get(), -EIO);
	KTAP_EXPECT_EQ(E.ring.error, KVR_ERR_ACCESS);
	KTAP_EXPECT_EQ(E.ring.error_info, E.ring.desc);
	KTAP_EXPECT_EQ(E.ring.last_avail_idx, 0);
	GET_OK();
	return KTAP_PASS;
}

static enum ktap_result packed_err_loop(void)
{
	struct pkd d[4] = { { BUF_GPA, 8, 0 }, { BUF_GPA, 8, 0 },
			    { BUF_GPA, 8, 0 }, { BUF_GPA, 8, 0 } };

	START_PACKED(4);
	pk_add(d, 4, 0);
	GET_OK();	/* exactly num descriptors */
	KTAP_EXPECT_EQ(E.chain.ndesc, 4);
	KTAP_EXPECT_EQ(E.ring.avail_wrap, false);
	pk_add(d, 4, 0);
	/* Make the last one claim a successor: the chain never ends. */
	put16g(E.desc_gpa + 16 * 3 + 14, KVR_DESC_F_NEXT | pk_bits(false));
	EXPECT_ERR(KVR_ERR_LOOP);
	return KTAP_PASS;
}

static enum ktap_result packed_err_id(void)
{
	struct pkd d[2] = { { BUF_GPA, 8, 0 }, { BUF_GPA, 8, 0 } };

	START_PACKED(4);
	pk_add(d, 2, 4);
	EXPECT_ERR(KVR_ERR_ID);
	KTAP_EXPECT_EQ(E.ring.error_info, 4);
	return KTAP_PASS;
}

static enum ktap_result packed_err_indirect(void)
{
	u64 t = BUF_GPA + 0x2000;
	struct pkd ind = { t, 32, KVR_DESC_F_INDIRECT };
	struct pkd two[2] = { { BUF_GPA, 8, 0 }, { t, 32, KVR_DESC_F_INDIRECT } };
	struct kvr_pdesc e[2] = { { BUF_GPA, 1, 0, 0 }, { BUF_GPA, 1, 0, 0 } };

	/* Not negotiated. */
	START_PACKED(4);
	memcpy(hva(t), e, sizeof(e));
	E.ring.indirect = false;
	pk_add(&ind, 1, 0);
	EXPECT_ERR(KVR_ERR_INDIRECT_OFF);

	/* Reached through NEXT. */
	START_PACKED(4);
	memcpy(hva(t), e, sizeof(e));
	pk_add(two, 2, 0);
	EXPECT_ERR(KVR_ERR_INDIRECT_NEXT);

	/* With NEXT itself. */
	START_PACKED(4);
	memcpy(hva(t), e, sizeof(e));
	pk_add(two + 1, 1, 0);
	put16g(E.desc_gpa + 14, KVR_DESC_F_INDIRECT | KVR_DESC_F_NEXT |
	       pk_bits(true));
	EXPECT_ERR(KVR_ERR_INDIRECT_NEXT);

	/* Nested, ragged, out after in. */
	START_PACKED(4);
	e[1].flags = KVR_DESC_F_INDIRECT;
	memcpy(hva(t), e, sizeof(e));
	pk_add(&ind, 1, 0);
	EXPECT_ERR(KVR_ERR_INDIRECT_NESTED);
	e[1].flags = 0;
	e[0].flags = KVR_DESC_F_WRITE;
	memcpy(hva(t), e, sizeof(e));
	EXPECT_ERR(KVR_ERR_OUT_AFTER_IN);
	e[0].flags = 0;
	memcpy(hva(t), e, sizeof(e));
	{
		u32 len = 40;

		memcpy(hva(E.desc_gpa + 8), &len, 4);
	}
	EXPECT_ERR(KVR_ERR_INDIRECT_LEN);
	return KTAP_PASS;
}

static enum ktap_result packed_err_desc(void)
{
	struct pkd d[2] = { { BUF_GPA, 8, KVR_DESC_F_WRITE },
			    { BUF_GPA, 8, 0 } };

	START_PACKED(4);
	pk_add(d, 2, 0);
	EXPECT_ERR(KVR_ERR_OUT_AFTER_IN);

	START_PACKED(4);
	d[0] = (struct pkd){ HOLE_GPA, 8, 0 };
	pk_add(d, 1, 0);
	EXPECT_ERR(KVR_ERR_ADDR);

	START_PACKED(4);
	d[0] = (struct pkd){ RO_GPA, 8, KVR_DESC_F_WRITE };
	pk_add(d, 1, 0);
	EXPECT_ERR(KVR_ERR_PERM);

	START_PACKED(4);
	d[0] = (struct pkd){ BIG_GPA, 0xffffffff, 0 };
	d[1] = (struct pkd){ BIG_GPA, 1, 0 };
	pk_add(d, 2, 0);
	EXPECT_ERR(KVR_ERR_LEN);

	START_PACKED(4);
	E.chain.max_iov = 1;
	d[0] = (struct pkd){ R1_GPA - 4, 8, 0 };
	pk_add(d, 1, 0);
	EXPECT_ERR(KVR_ERR_IOV);
	return KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(map_check_and_find),
	KTAP_CASE(ring_check),
	KTAP_CASE(base_encodings),
	KTAP_CASE(error_names),
	KTAP_CASE(split_start_state),
	KTAP_CASE(split_basic),
	KTAP_CASE(split_one_idx_read_per_batch),
	KTAP_CASE(split_span_ranges),
	KTAP_CASE(split_zero_len),
	KTAP_CASE(split_indirect),
	KTAP_CASE(split_indirect_span),
	KTAP_CASE(split_used_batch_wrap),
	KTAP_CASE(split_used_big_batch),
	KTAP_CASE(split_wrap_65535),
	KTAP_CASE(split_unget),
	KTAP_CASE(split_notify_flags),
	KTAP_CASE(split_notify_event_idx),
	KTAP_CASE(split_enable_disable),
	KTAP_CASE(split_dirty_log),
	KTAP_CASE(split_map_swap),
	KTAP_CASE(split_err_access),
	KTAP_CASE(split_err_avail_idx),
	KTAP_CASE(split_err_head),
	KTAP_CASE(split_err_next),
	KTAP_CASE(split_err_loop),
	KTAP_CASE(split_err_indirect_len),
	KTAP_CASE(split_err_indirect_nested),
	KTAP_CASE(split_err_indirect_next),
	KTAP_CASE(split_err_indirect_off),
	KTAP_CASE(split_err_indirect_table),
	KTAP_CASE(split_err_out_after_in),
	KTAP_CASE(split_err_len),
	KTAP_CASE(split_err_addr),
	KTAP_CASE(split_err_perm),
	KTAP_CASE(split_err_iov),
	KTAP_CASE(split_iotlb_miss),
	KTAP_CASE(packed_basic),
	KTAP_CASE(packed_indirect),
	KTAP_CASE(packed_used_batch),
	KTAP_CASE(packed_unget),
	KTAP_CASE(packed_notify),
	KTAP_CASE(packed_enable_disable),
	KTAP_CASE(packed_full_ring_wrap),
	KTAP_CASE(packed_err_access),
	KTAP_CASE(packed_err_loop),
	KTAP_CASE(packed_err_id),
	KTAP_CASE(packed_err_indirect),
	KTAP_CASE(packed_err_desc),
	KTAP_CASE(packed_iotlb_miss),
};

int main(void)
{
	return ktap_run(cases, KTAP_ARRAY_SIZE(cases));
}
