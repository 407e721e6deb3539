// SPDX-License-Identifier: GPL-2.0
/*
 * blk_io: vhost-blk's request path, as a virtio-blk driver sees it (virtio
 * 1.2 section 5.2). Every case runs on a split ring and on a packed ring.
 *
 * What must hold: data written comes back byte for byte, through the
 * device and straight from the backing file or device, whatever the
 * descriptor framing (header split 8+8 or 4x4, header and data in one
 * descriptor, data and status in one, data scattered, indirect tables);
 * used.len is what the device wrote (data + 1 for IN, 1 otherwise, id
 * bytes + 1 for GET_ID); out-of-range, misaligned, short-header, unknown
 * and read-only requests fail with the right status and change nothing;
 * FLUSH, GET_ID, DISCARD and WRITE_ZEROES do what the spec says; with and
 * without EVENT_IDX, one request at a time and 64 at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <endian.h>

#include "blk_common.h"

#define BE_SIZE		(16 * MIB)
#define MEMSIZE		(8 * MIB)
#define SLOT_CAP	(128 * 1024)

static uint32_t rng = 0x2545f491;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* Everything one case needs: a device with one queue and a backend. */
struct io {
	struct blk_env e;
	struct blk_backend be;
	struct blk_slot s;
	struct vdrv_vq *vq;
	uint8_t *model;		/* what the backend must hold */
	uint64_t cap;		/* sectors the model covers */
	uint64_t devcap;	/* sectors the device has (brd: more) */
};

static enum ktap_result io_init(struct io *t, enum blk_ring ring,
				enum blk_be_kind kind, uint64_t want, bool ro)
{
	enum ktap_result r;

	memset(t, 0, sizeof(*t));
	r = blk_env_init(&t->e, ring, 1, 256, MEMSIZE, want);
	if (r != KTAP_PASS)
		return r;
	t->vq = t->e.vq[0];
	r = blk_be_open(&t->be, kind, BE_SIZE, false);
	if (r != KTAP_PASS)
		return r;
	t->cap = BE_SIZE / BLK_SECTOR;
	t->devcap = t->be.size / BLK_SECTOR;
	t->model = malloc(BE_SIZE);
	KTAP_CHECK(t->model, "malloc");
	blk_fill(t->model, BE_SIZE, 1, 0);
	KTAP_OK(blk_be_fill(&t->be, 1, 0, BE_SIZE));
	if (ro)
		KTAP_OK(blk_be_reopen(&t->be, O_RDONLY));
	KTAP_OK(blk_slot_init(&t->e, &t->s, SLOT_CAP));
	VOK(blk_attach_all(&t->e, t->be.fd));
	return KTAP_PASS;
}

static void io_fini(struct io *t)
{
	blk_env_fini(&t->e);
	blk_be_close(&t->be);
	free(t->model);
}

/* The whole backend equals the model, read directly. */
static enum ktap_result check_backend(struct io *t, const char *what)
{
	enum { CHUNK = 1 * MIB };
	uint8_t *buf = malloc(CHUNK);
	uint64_t off;
	size_t i;

	KTAP_CHECK(buf, "malloc");
	for (off = 0; off < BE_SIZE; off += CHUNK) {
		KTAP_OK(blk_be_pread(&t->be, buf, CHUNK, off));
		if (memcmp(buf, t->model + off, CHUNK)) {
			for (i = 0; buf[i] == t->model[off + i]; i++)
				;
			ktap_diag("%s: backend byte %llu is 0x%02x, want 0x%02x",
				  what, (unsigned long long)(off + i), buf[i],
				  t->model[off + i]);
			free(buf);
			return KTAP_FAIL;
		}
	}
	free(buf);
	return KTAP_PASS;
}

/* Read [sector, +len) through the device and compare with the model. */
static enum ktap_result read_check(struct io *t, uint64_t sector, uint32_t len,
				   enum blk_layout l, bool indirect,
				   const char *what)
{
	struct blk_req r = { .type = VIRTIO_BLK_T_IN, .sector = sector,
			     .len = len, .layout = l, .indirect = indirect };
	uint32_t ul;
	uint8_t st;

	memset(t->s.data, 0x5c, len);
	VOK(blk_do(t->vq, &t->s, &r, &st, &ul));
	KTAP_CHECK(st == VIRTIO_BLK_S_OK, "%s: read %u@%llu (%s%s): status %u",
		   what, len, (unsigned long long)sector, blk_layout_name[l],
		   indirect ? ", indirect" : "", st);
	KTAP_CHECK(ul == len + 1, "%s: read %u (%s): used.len %u", what, len,
		   blk_layout_name[l], ul);
	if (memcmp(t->s.data, t->model + sector * BLK_SECTOR, len)) {
		uint32_t i;

		for (i = 0; t->s.data[i] == t->model[sector * BLK_SECTOR + i]; i++)
			;
		ktap_diag("%s: read %u@%llu (%s%s): byte %u is 0x%02x, want 0x%02x",
			  what, len, (unsigned long long)sector,
			  blk_layout_name[l], indirect ? ", indirect" : "", i,
			  t->s.data[i], t->model[sector * BLK_SECTOR + i]);
		return KTAP_FAIL;
	}
	return KTAP_PASS;
}

static enum ktap_result write_one(struct io *t, uint64_t sector, uint32_t len,
				  uint32_t seed, enum blk_layout l,
				  bool indirect)
{
	struct blk_req r = { .type = VIRTIO_BLK_T_OUT, .sector = sector,
			     .len = len, .layout = l, .indirect = indirect };
	uint32_t ul;
	uint8_t st;

	blk_fill(t->s.data, len, seed, 0);
	VOK(blk_do(t->vq, &t->s, &r, &st, &ul));
	KTAP_CHECK(st == VIRTIO_BLK_S_OK, "write %u@%llu (%s%s): status %u",
		   len, (unsigned long long)sector, blk_layout_name[l],
		   indirect ? ", indirect" : "", st);
	KTAP_CHECK(ul == 1, "write %u (%s): used.len %u, want 1", len,
		   blk_layout_name[l], ul);
	memcpy(t->model + sector * BLK_SECTOR, t->s.data, len);
	return KTAP_PASS;
}

/*
 * Pattern write, read back and verify, in every framing, direct and
 * indirect, then 64 requests at once, then FLUSH, then the backend read
 * directly.
 */
static enum ktap_result rw_one(enum blk_ring ring, enum blk_be_kind kind,
			       uint64_t want)
{
	static const uint32_t sizes[] = { 512, 1024, 4096, 4608, 8192, 65536,
					  SLOT_CAP };
	unsigned int l, s, ind, n = 0;
	struct io t;
	enum ktap_result r;
	uint32_t seed = 100;

	r = io_init(&t, ring, kind, want, false);
	if (r != KTAP_PASS)
		return r;
	/* The initial contents are readable. */
	if (read_check(&t, 0, 4096, BLK_L_STD, false, "initial") ||
	    read_check(&t, t.cap - 8, 4096, BLK_L_STD, false, "initial end"))
		return KTAP_FAIL;
	for (l = 0; l < BLK_L_MAX; l++) {
		for (ind = 0; ind < 2; ind++) {
			if (ind && !(t.e.features & BIT(VIRTIO_RING_F_INDIRECT_DESC)))
				continue;
			for (s = 0; s < KTAP_ARRAY_SIZE(sizes); s++) {
				uint32_t len = sizes[s];
				uint64_t sector = rnd() % (t.cap - len / 512 + 1);

				/* Odd sectors too: not 4 KiB aligned. */
				if (write_one(&t, sector, len, seed++, l, ind) ||
				    read_check(&t, sector, len, l, ind, "after write") ||
				    read_check(&t, sector, len, BLK_L_STD, false,
					       "std read"))
					return KTAP_FAIL;
				n++;
			}
		}
	}
	/* Sectors 0 and the last one. */
	if (write_one(&t, 0, 512, seed++, BLK_L_STD, false) ||
	    write_one(&t, t.cap - 1, 512, seed++, BLK_L_STD, false) ||
	    read_check(&t, 0, 512, BLK_L_STD, false, "sector 0") ||
	    read_check(&t, t.cap - 1, 512, BLK_L_STD, false, "last sector"))
		return KTAP_FAIL;

	/* Batches: 64 requests posted, one kick, all reaped. */
	{
		enum { QD = 64, LEN = 8192 };
		struct blk_slot slots[QD];
		struct blk_req reqs[QD];
		uint32_t ul, k, round, done;
		uint64_t busy[QD];
		uint8_t st;
		void *c;
		/* Without indirect tables 64 chains do not fit in 256. */
		uint32_t qd = t.e.features & BIT(VIRTIO_RING_F_INDIRECT_DESC) ?
			      QD : 24;

		for (k = 0; k < QD; k++)
			KTAP_OK(blk_slot_init(&t.e, &slots[k], LEN));
		for (round = 0; round < 4; round++) {
			for (k = 0; k < qd; k++) {
				/* Disjoint 8 KiB blocks: no ordering games. */
				uint64_t blk = (round * 997 + k * 131) %
					       (t.cap / 16);

				busy[k] = blk * 16;
				reqs[k] = (struct blk_req){
					.type = k % 3 ? VIRTIO_BLK_T_OUT :
							VIRTIO_BLK_T_IN,
					.sector = busy[k], .len = LEN,
					.layout = k % BLK_L_MAX,
					.indirect = k % 5 == 0 &&
						(t.e.features &
						 BIT(VIRTIO_RING_F_INDIRECT_DESC)),
				};
				if (reqs[k].type == VIRTIO_BLK_T_OUT)
					blk_fill(slots[k].data, LEN, seed + k, 0);
				VOK(blk_post(t.vq, &slots[k], &reqs[k], &slots[k]));
			}
			VOK(vdrv_vq_kick(t.vq));
			for (done = 0; done < qd; done++) {
				c = vdrv_vq_wait_used(t.vq, &ul, 10000);
				KTAP_CHECK(c, "batch %u: %u/%u done: %s", round,
					   done, qd, vdrv_last_error());
				k = (struct blk_slot *)c - slots;
				KTAP_CHECK(k < qd, "bad cookie");
				st = blk_status(&slots[k], &reqs[k]);
				KTAP_CHECK(st == VIRTIO_BLK_S_OK,
					   "batch req %u: status %u", k, st);
				if (reqs[k].type == VIRTIO_BLK_T_OUT) {
					KTAP_EXPECT_EQ(ul, 1);
					memcpy(t.model + busy[k] * 512,
					       slots[k].data, LEN);
				} else {
					KTAP_EXPECT_EQ(ul, LEN + 1);
					KTAP_CHECK(!memcmp(slots[k].data,
							   t.model + busy[k] * 512,
							   LEN),
						   "batch read %u wrong", k);
				}
			}
			seed += qd;
		}
	}

	/* FLUSH: sector 0, no data; then everything is on the backend. */
	{
		struct blk_req f = { .type = VIRTIO_BLK_T_FLUSH };
		uint32_t ul;
		uint8_t st;

		VOK(blk_do(t.vq, &t.s, &f, &st, &ul));
		KTAP_EXPECT_EQ(st, VIRTIO_BLK_S_OK);
		KTAP_EXPECT_EQ(ul, 1);
	}
	if (check_backend(&t, blk_be_name[kind]))
		return KTAP_FAIL;
	KTAP_EXPECT_EQ(t.vq->err_count, 0);
	ktap_diag("%s, %s ring, features 0x%llx: %u write/read pairs checked",
		  blk_be_name[kind], ring == BLK_SPLIT ? "split" : "packed",
		  (unsigned long long)t.e.features, n);
	io_fini(&t);
	return KTAP_PASS;
}

#define F_ALL	(BLK_F_RING | BLK_F_ALWAYS)

static enum ktap_result rw_tmpfs(enum blk_ring ring)
{
	return rw_one(ring, BLK_BE_TMPFS, F_ALL);
}

static enum ktap_result rw_direct(enum blk_ring ring)
{
	return rw_one(ring, BLK_BE_DIRECT, F_ALL);
}

static enum ktap_result rw_bdev(enum blk_ring ring)
{
	return rw_one(ring, BLK_BE_BDEV, F_ALL);
}

/* EVENT_IDX and INDIRECT_DESC off: flags-based notification only. */
static enum ktap_result rw_no_event_idx(enum blk_ring ring)
{
	return rw_one(ring, BLK_BE_TMPFS, F_ALL & ~BIT(VIRTIO_RING_F_EVENT_IDX) &
		      ~BIT(VIRTIO_RING_F_INDIRECT_DESC));
}

/* Buffers at 512-byte but not page alignment, as Linux guests send. */
static enum ktap_result rw_unaligned_buffers(enum blk_ring ring)
{
	enum blk_be_kind k;

	for (k = 0; k < BLK_BE_MAX; k++) {
		struct vdrv_buf out[2], in[2];
		uint8_t *area, st;
		uint32_t ul;
		struct io t;
		enum ktap_result r;
		uint64_t sector = 77;

		r = io_init(&t, ring, k, F_ALL, false);
		if (r == KTAP_SKIP) {
			ktap_diag("%s: skipped", blk_be_name[k]);
			blk_env_fini(&t.e);
			blk_be_close(&t.be);
			continue;
		}
		if (r != KTAP_PASS)
			return r;
		area = vdrv_mem_alloc(t.e.mem, 3 * 4096, 4096);
		KTAP_CHECK(area, "%s", vdrv_last_error());
		/* Header, then 4 KiB of data starting 512 bytes into a page. */
		blk_fill(area + 512, 4096, 555, 0);
		{
			uint32_t type = htole32(VIRTIO_BLK_T_OUT);
			uint64_t sec = htole64(sector);

			memset(area, 0, 16);
			memcpy(area, &type, 4);
			memcpy(area + 8, &sec, 8);
		}
		out[0] = (struct vdrv_buf){ .ptr = area, .len = 16 };
		out[1] = (struct vdrv_buf){ .ptr = area + 512, .len = 4096 };
		in[0] = (struct vdrv_buf){ .ptr = area + 2 * 4096 + 4095, .len = 1 };
		area[2 * 4096 + 4095] = 0xee;
		VOK(vdrv_vq_add(t.vq, out, 2, in, 1, area));
		VOK(vdrv_vq_kick(t.vq));
		KTAP_CHECK(vdrv_vq_wait_used(t.vq, &ul, 10000) == area, "%s",
			   vdrv_last_error());
		st = area[2 * 4096 + 4095];
		KTAP_CHECK(st == VIRTIO_BLK_S_OK, "%s: unaligned write status %u",
			   blk_be_name[k], st);
		memcpy(t.model + sector * 512, area + 512, 4096);
		/* Read it back into a buffer at offset 1536 of a page. */
		{
			uint32_t type = htole32(VIRTIO_BLK_T_IN);

			memcpy(area, &type, 4);
		}
		memset(area + 4096 + 1536, 0, 4096);
		out[0] = (struct vdrv_buf){ .ptr = area, .len = 16 };
		in[0] = (struct vdrv_buf){ .ptr = area + 4096 + 1536, .len = 4096 };
		in[1] = (struct vdrv_buf){ .ptr = area + 2 * 4096 + 4095, .len = 1 };
		VOK(vdrv_vq_add(t.vq, out, 1, in, 2, area));
		VOK(vdrv_vq_kick(t.vq));
		KTAP_CHECK(vdrv_vq_wait_used(t.vq, &ul, 10000) == area, "%s",
			   vdrv_last_error());
		st = area[2 * 4096 + 4095];
		KTAP_CHECK(st == VIRTIO_BLK_S_OK, "%s: unaligned read status %u",
			   blk_be_name[k], st);
		KTAP_EXPECT_EQ(ul, 4097);
		KTAP_CHECK(blk_check(area + 4096 + 1536, 4096, 555, 0,
				     blk_be_name[k]), "unaligned read back");
		if (check_backend(&t, blk_be_name[k]))
			return KTAP_FAIL;
		io_fini(&t);
	}
	return KTAP_PASS;
}

/* ------------------------------------------------------------------------
 * Errors
 */

static enum ktap_result expect(struct io *t, const struct blk_req *r,
			       uint8_t want_st, uint32_t want_len,
			       const char *what)
{
	uint32_t ul;
	uint8_t st;
	int ret;

	ret = blk_do(t->vq, &t->s, r, &st, &ul);
	KTAP_CHECK(ret == 0, "%s: %s (%s)", what, strerror(-ret),
		   vdrv_last_error());
	KTAP_CHECK(st == want_st, "%s: status %u, want %u", what, st, want_st);
	KTAP_CHECK(ul == want_len, "%s: used.len %u, want %u", what, ul,
		   want_len);
	return KTAP_PASS;
}

/* Requests beyond the capacity or of a bad length: IOERR, nothing moved. */
static enum ktap_result out_of_range(enum blk_ring ring)
{
	struct blk_req r = { .len = 512 };
	struct io t;
	enum ktap_result res;
	uint64_t c;

	res = io_init(&t, ring, BLK_BE_TMPFS, F_ALL, false);
	if (res != KTAP_PASS)
		return res;
	c = t.devcap;
	blk_fill(t.s.data, SLOT_CAP, 999, 0);
#define X(type_, sector_, len_, st_, ul_, what_)			\
	do {								\
		r.type = (type_);					\
		r.sector = (sector_);					\
		r.len = (len_);						\
		if (expect(&t, &r, (st_), (ul_), (what_)))		\
			return KTAP_FAIL;				\
	} while (0)
	X(VIRTIO_BLK_T_IN, c, 512, VIRTIO_BLK_S_IOERR, 1, "read at capacity");
	X(VIRTIO_BLK_T_IN, c - 1, 1024, VIRTIO_BLK_S_IOERR, 1,
	  "read across the end");
	X(VIRTIO_BLK_T_IN, ~0ULL, 512, VIRTIO_BLK_S_IOERR, 1, "read at 2^64-1");
	X(VIRTIO_BLK_T_IN, ~0ULL / 512, 1024, VIRTIO_BLK_S_IOERR, 1,
	  "read whose byte offset overflows");
	X(VIRTIO_BLK_T_OUT, c, 512, VIRTIO_BLK_S_IOERR, 1, "write at capacity");
	X(VIRTIO_BLK_T_OUT, c - 1, 1024, VIRTIO_BLK_S_IOERR, 1,
	  "write across the end");
	X(VIRTIO_BLK_T_OUT, (1ULL << 63) - 1, 1024, VIRTIO_BLK_S_IOERR, 1,
	  "write at 2^63-1");
	X(VIRTIO_BLK_T_IN, 8, 100, VIRTIO_BLK_S_IOERR, 1, "read of 100 bytes");
	X(VIRTIO_BLK_T_IN, 8, 513, VIRTIO_BLK_S_IOERR, 1, "read of 513 bytes");
	X(VIRTIO_BLK_T_OUT, 8, 1000, VIRTIO_BLK_S_IOERR, 1,
	  "write of 1000 bytes");
	X(VIRTIO_BLK_T_OUT, 8, 4095, VIRTIO_BLK_S_IOERR, 1,
	  "write of 4095 bytes");
	/* The last sector itself is fine. */
	X(VIRTIO_BLK_T_IN, c - 1, 512, VIRTIO_BLK_S_OK, 513, "last sector");
	/* A read or write of no data at all is not an error. */
#undef X
	if (check_backend(&t, "after failed writes"))
		return KTAP_FAIL;
	KTAP_EXPECT_EQ(t.vq->err_count, 0);
	io_fini(&t);
	return KTAP_PASS;
}

/* A header shorter than 16 bytes: IOERR, used.len 1, the queue goes on. */
static enum ktap_result short_header(enum blk_ring ring)
{
	static const uint32_t lens[] = { 1, 4, 8, 12, 15 };
	struct blk_req r = { .type = VIRTIO_BLK_T_IN };
	struct io t;
	enum ktap_result res;
	unsigned int i;

	res = io_init(&t, ring, BLK_BE_TMPFS, F_ALL, false);
	if (res != KTAP_PASS)
		return res;
	for (i = 0; i < KTAP_ARRAY_SIZE(lens); i++) {
		char what[64];

		snprintf(what, sizeof(what), "%u-byte header", lens[i]);
		r.hdr_len = lens[i];
		r.type = i % 2 ? VIRTIO_BLK_T_FLUSH : VIRTIO_BLK_T_IN;
		r.len = 0;
		if (expect(&t, &r, VIRTIO_BLK_S_IOERR, 1, what))
			return KTAP_FAIL;
		/* With writable data: nothing may be read into it. */
		r.type = VIRTIO_BLK_T_IN;
		r.len = 512;
		memset(t.s.data, 0x77, 512);
		if (expect(&t, &r, VIRTIO_BLK_S_IOERR, 1, what))
			return KTAP_FAIL;
		KTAP_CHECK(t.s.data[0] == 0x77 && t.s.data[511] == 0x77,
			   "%s: data was written", what);
	}
	r.hdr_len = 0;
	if (read_check(&t, 16, 4096, BLK_L_STD, false, "after short headers"))
		return KTAP_FAIL;
	KTAP_EXPECT_EQ(t.vq->err_count, 0);
	io_fini(&t);
	return KTAP_PASS;
}

/* Unknown and unnegotiated types: UNSUPP, used.len 1, data untouched. */
static enum ktap_result unsupported(enum blk_ring ring)
{
	static const uint32_t types[] = {
		VIRTIO_BLK_T_SCSI_CMD, 3, 6, 7, 9, VIRTIO_BLK_T_GET_LIFETIME,
		12, 15 /* ZONE_APPEND */, 16 /* ZONE_REPORT */, 18, 20, 22,
		24, 26, 27, 100, 0x7fffffff, 0xffffffff,
		/* Not negotiated below. */
		VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES,
		VIRTIO_BLK_T_SECURE_ERASE,
	};
	struct blk_req r = { 0 };
	struct io t;
	enum ktap_result res;
	unsigned int i;

	/* Ack no DISCARD, WRITE_ZEROES or SECURE_ERASE. */
	res = io_init(&t, ring, BLK_BE_TMPFS, F_ALL, false);
	if (res != KTAP_PASS)
		return res;
	for (i = 0; i < KTAP_ARRAY_SIZE(types); i++) {
		char what[64];

		snprintf(what, sizeof(what), "type %u, no data", types[i]);
		r.type = types[i];
		r.len = 0;
		if (expect(&t, &r, VIRTIO_BLK_S_UNSUPP, 1, what))
			return KTAP_FAIL;
		snprintf(what, sizeof(what), "type %u, 512 bytes", types[i]);
		r.len = 512;
		if (blk_type_out(r.type)) {
			/* One valid segment of the range. */
			struct blk_dwz seg = { .sector = 8, .num_sectors = 8 };

			r.len = 16;
			blk_put_dwz(&t.s, &seg, 1);
		} else {
			memset(t.s.data, 0x66, 512);
		}
		if (expect(&t, &r, VIRTIO_BLK_S_UNSUPP, 1, what))
			return KTAP_FAIL;
		if (!blk_type_out(r.type))
			KTAP_CHECK(t.s.data[0] == 0x66 && t.s.data[511] == 0x66,
				   "%s: data written", what);
	}
	if (check_backend(&t, "after UNSUPP requests"))
		return KTAP_FAIL;
	KTAP_EXPECT_EQ(t.vq->err_count, 0);
	io_fini(&t);
	return KTAP_PASS;
}

/* A read-only backend: reads work, every write is IOERR and lands nowhere. */
static enum ktap_result read_only(enum blk_ring ring)
{
	enum blk_be_kind k;

	for (k = 0; k < BLK_BE_MAX; k++) {
		struct vhost_blk_config cfg;
		struct blk_req r = { .type = VIRTIO_BLK_T_OUT, .sector = 40,
				     .len = 4096 };
		struct blk_dwz seg = { .sector = 100, .num_sectors = 16 };
		uint64_t want = F_ALL | BIT(VIRTIO_BLK_F_RO) |
				BIT(VIRTIO_BLK_F_DISCARD) |
				BIT(VIRTIO_BLK_F_WRITE_ZEROES);
		struct io t;
		enum ktap_result res;

		res = io_init(&t, ring, k, want, true);
		if (res == KTAP_SKIP) {
			ktap_diag("%s: skipped", blk_be_name[k]);
			blk_env_fini(&t.e);
			blk_be_close(&t.be);
			continue;
		}
		if (res != KTAP_PASS)
			return res;
		KTAP_OK(blk_get_config(t.e.dev->fd, t.be.fd, &cfg));
		KTAP_CHECK(cfg.features & BIT(VIRTIO_BLK_F_RO),
			   "%s: RO not reported (0x%llx)", blk_be_name[k],
			   (unsigned long long)cfg.features);
		blk_fill(t.s.data, 4096, 31337, 0);
		if (expect(&t, &r, VIRTIO_BLK_S_IOERR, 1, "write to RO") ||
		    read_check(&t, 40, 4096, BLK_L_STD, false, "RO read"))
			return KTAP_FAIL;
		r.type = VIRTIO_BLK_T_WRITE_ZEROES;
		r.len = 16;
		blk_put_dwz(&t.s, &seg, 1);
		if (t.e.features & BIT(VIRTIO_BLK_F_WRITE_ZEROES) &&
		    expect(&t, &r, VIRTIO_BLK_S_IOERR, 1, "write zeroes to RO"))
			return KTAP_FAIL;
		r.type = VIRTIO_BLK_T_DISCARD;
		if (t.e.features & BIT(VIRTIO_BLK_F_DISCARD) &&
		    cfg.features & BIT(VIRTIO_BLK_F_DISCARD) &&
		    expect(&t, &r, VIRTIO_BLK_S_IOERR, 1, "discard on RO"))
			return KTAP_FAIL;
		if (check_backend(&t, "RO backend"))
			return KTAP_FAIL;
		io_fini(&t);
	}
	return KTAP_PASS;
}

/* GET_ID: 20 NULs by default, then the serial, NUL padded, clipped. */
static enum ktap_result get_id(enum blk_ring ring)
{
	struct vhost_blk_serial ser;
	struct blk_req r = { .type = VIRTIO_BLK_T_GET_ID, .len = 20 };
	struct io t;
	enum ktap_result res;
	char want[20];
	unsigned int l;

	res = io_init(&t, ring, BLK_BE_TMPFS, F_ALL, false);
	if (res != KTAP_PASS)
		return res;
	memset(t.s.data, 0x55, 20);
	if (expect(&t, &r, VIRTIO_BLK_S_OK, 21, "default id"))
		return KTAP_FAIL;
	KTAP_CHECK(blk_is_zero(t.s.data, 20, "default id"), "default id");

	memset(&ser, 0, sizeof(ser));
	strcpy(ser.id, "kvhost-blk-0042");
	VOK(vdrv_ioctl(t.e.dev, VHOST_BLK_SET_SERIAL, &ser));
	memset(want, 0, sizeof(want));
	strcpy(want, "kvhost-blk-0042");
	for (l = 0; l < BLK_L_MAX; l++) {
		r.layout = l;
		memset(t.s.data, 0x55, 20);
		if (expect(&t, &r, VIRTIO_BLK_S_OK, 21, blk_layout_name[l]))
			return KTAP_FAIL;
		KTAP_CHECK(!memcmp(t.s.data, want, 20), "%s: id '%.20s'",
			   blk_layout_name[l], (char *)t.s.data);
	}
	r.layout = BLK_L_STD;
	/* A short buffer gets the first bytes. */
	r.len = 8;
	memset(t.s.data, 0x55, 20);
	if (expect(&t, &r, VIRTIO_BLK_S_OK, 9, "8-byte buffer"))
		return KTAP_FAIL;
	KTAP_CHECK(!memcmp(t.s.data, want, 8), "8-byte id");
	/* A long one: 20 bytes and the status at its end. */
	r.len = 512;
	memset(t.s.data, 0x55, 512);
	if (expect(&t, &r, VIRTIO_BLK_S_OK, 21, "512-byte buffer"))
		return KTAP_FAIL;
	KTAP_CHECK(!memcmp(t.s.data, want, 20), "512-byte id");
	/* Exactly 20 characters: no NUL. */
	memcpy(ser.id, "ABCDEFGHIJKLMNOPQRST", 20);
	VOK(vdrv_ioctl(t.e.dev, VHOST_BLK_SET_SERIAL, &ser));
	r.len = 20;
	if (expect(&t, &r, VIRTIO_BLK_S_OK, 21, "20-char serial"))
		return KTAP_FAIL;
	KTAP_CHECK(!memcmp(t.s.data, "ABCDEFGHIJKLMNOPQRST", 20),
		   "20-char serial: '%.20s'", (char *)t.s.data);
	KTAP_EXPECT_EQ(t.vq->err_count, 0);
	io_fini(&t);
	return KTAP_PASS;
}

/* ------------------------------------------------------------------------
 * DISCARD, WRITE_ZEROES, SECURE_ERASE
 */

static enum ktap_result dwz_read_zero(struct io *t, uint64_t sector,
				      uint32_t nsec, const char *what)
{
	uint8_t *buf = malloc(nsec * 512);

	KTAP_CHECK(buf, "malloc");
	memset(t->model + sector * 512, 0, nsec * 512);
	KTAP_OK(blk_be_pread(&t->be, buf, nsec * 512, sector * 512));
	KTAP_CHECK(blk_is_zero(buf, nsec * 512, what), "%s: backend not zero",
		   what);
	free(buf);
	return read_check(t, sector, nsec * 512 < SLOT_CAP ? nsec * 512 : SLOT_CAP,
			  BLK_L_STD, false, what);
}

static enum ktap_result dwz_one(enum blk_ring ring, enum blk_be_kind k)
{
	uint64_t want = F_ALL | BIT(VIRTIO_BLK_F_DISCARD) |
			BIT(VIRTIO_BLK_F_WRITE_ZEROES) |
			BIT(VIRTIO_BLK_F_SECURE_ERASE);
	struct vhost_blk_config cfg;
	struct blk_req r = { .len = 32 };
	struct blk_dwz seg[2];
	struct io t;
	enum ktap_result res;
	bool file = k != BLK_BE_BDEV;

	res = io_init(&t, ring, k, want, false);
	if (res != KTAP_PASS)
		return res;
	KTAP_OK(blk_get_config(t.e.dev->fd, t.be.fd, &cfg));
	ktap_diag("%s: features 0x%llx, flags 0x%x, discard %u/%u/%u, wz %u/%u",
		  blk_be_name[k], (unsigned long long)cfg.features, cfg.flags,
		  cfg.max_discard_sectors, cfg.max_discard_seg,
		  cfg.discard_sector_alignment, cfg.max_write_zeroes_sectors,
		  cfg.max_write_zeroes_seg);

	if (cfg.features & BIT(VIRTIO_BLK_F_WRITE_ZEROES)) {
		KTAP_CHECK(cfg.max_write_zeroes_sectors && cfg.max_write_zeroes_seg,
			   "WRITE_ZEROES with zero limits");
		/* Without UNMAP: two segments, odd-sized. */
		seg[0] = (struct blk_dwz){ .sector = 1001, .num_sectors = 37 };
		seg[1] = (struct blk_dwz){ .sector = 5000, .num_sectors = 8 };
		r.type = VIRTIO_BLK_T_WRITE_ZEROES;
		r.len = cfg.max_write_zeroes_seg >= 2 ? 32 : 16;
		blk_put_dwz(&t.s, seg, 2);
		if (expect(&t, &r, VIRTIO_BLK_S_OK, 1, "write zeroes") ||
		    dwz_read_zero(&t, 1001, 37, "write zeroes") ||
		    (r.len == 32 && dwz_read_zero(&t, 5000, 8, "write zeroes 2")))
			return KTAP_FAIL;
		/* With UNMAP, aligned and large. */
		seg[0] = (struct blk_dwz){ .sector = 8192, .num_sectors = 2048,
					   .flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP };
		if (seg[0].num_sectors > cfg.max_write_zeroes_sectors)
			seg[0].num_sectors = cfg.max_write_zeroes_sectors;
		r.len = 16;
		blk_put_dwz(&t.s, seg, 1);
		if (expect(&t, &r, VIRTIO_BLK_S_OK, 1, "write zeroes unmap") ||
		    dwz_read_zero(&t, 8192, seg[0].num_sectors,
				  "write zeroes unmap"))
			return KTAP_FAIL;
		/* An unknown flag bit: UNSUPP, nothing zeroed. */
		seg[0] = (struct blk_dwz){ .sector = 3000, .num_sectors = 8,
					   .flags = 2 };
		blk_put_dwz(&t.s, seg, 1);
		if (expect(&t, &r, VIRTIO_BLK_S_UNSUPP, 1, "write zeroes flag 2"))
			return KTAP_FAIL;
		/* Beyond the end: IOERR. */
		seg[0] = (struct blk_dwz){ .sector = t.devcap - 4, .num_sectors = 8 };
		blk_put_dwz(&t.s, seg, 1);
		if (expect(&t, &r, VIRTIO_BLK_S_IOERR, 1, "write zeroes past end"))
			return KTAP_FAIL;
		/* A payload that is not whole segments. */
		r.len = 24;
		if (expect(&t, &r, VIRTIO_BLK_S_IOERR, 1, "24-byte payload"))
			return KTAP_FAIL;
	} else {
		ktap_diag("%s: no WRITE_ZEROES", blk_be_name[k]);
	}

	if (cfg.features & BIT(VIRTIO_BLK_F_DISCARD)) {
		uint64_t s0 = 12288;

		r.type = VIRTIO_BLK_T_DISCARD;
		seg[0] = (struct blk_dwz){ .sector = s0, .num_sectors = 256 };
		if (seg[0].num_sectors > cfg.max_discard_sectors)
			seg[0].num_sectors = cfg.max_discard_sectors;
		r.len = 16;
		blk_put_dwz(&t.s, seg, 1);
		if (expect(&t, &r, VIRTIO_BLK_S_OK, 1, "discard"))
			return KTAP_FAIL;
		if (file) {
			/* A punched hole reads back as zeroes. */
			if (dwz_read_zero(&t, s0, seg[0].num_sectors, "discard"))
				return KTAP_FAIL;
		} else {
			/* Contents undefined: keep the model in step. */
			KTAP_OK(blk_be_pread(&t.be, t.model + s0 * 512,
					     seg[0].num_sectors * 512, s0 * 512));
		}
		/* UNMAP is not a DISCARD flag: UNSUPP. */
		seg[0].flags = VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP;
		seg[0].sector = 100;
		blk_put_dwz(&t.s, seg, 1);
		if (expect(&t, &r, VIRTIO_BLK_S_UNSUPP, 1, "discard with unmap"))
			return KTAP_FAIL;
		seg[0] = (struct blk_dwz){ .sector = t.devcap, .num_sectors = 8 };
		blk_put_dwz(&t.s, seg, 1);
		if (expect(&t, &r, VIRTIO_BLK_S_IOERR, 1, "discard past end"))
			return KTAP_FAIL;
	} else {
		ktap_diag("%s: no DISCARD", blk_be_name[k]);
	}

	if (cfg.features & BIT(VIRTIO_BLK_F_SECURE_ERASE)) {
		r.type = VIRTIO_BLK_T_SECURE_ERASE;
		seg[0] = (struct blk_dwz){ .sector = 20000, .num_sectors = 8 };
		r.len = 16;
		blk_put_dwz(&t.s, seg, 1);
		if (expect(&t, &r, VIRTIO_BLK_S_OK, 1, "secure erase"))
			return KTAP_FAIL;
		KTAP_OK(blk_be_pread(&t.be, t.model + 20000 * 512, 8 * 512,
				     20000 * 512));
	} else {
		/* Negotiated but the backend cannot: not OK. */
		r.type = VIRTIO_BLK_T_SECURE_ERASE;
		seg[0] = (struct blk_dwz){ .sector = 20000, .num_sectors = 8 };
		r.len = 16;
		blk_put_dwz(&t.s, seg, 1);
		{
			uint32_t ul;
			uint8_t st;

			VOK(blk_do(t.vq, &t.s, &r, &st, &ul));
			KTAP_CHECK(st == VIRTIO_BLK_S_UNSUPP ||
				   st == VIRTIO_BLK_S_IOERR,
				   "secure erase without support: status %u", st);
			KTAP_EXPECT_EQ(ul, 1);
		}
	}
	/* Nothing outside the ranges changed. */
	if (check_backend(&t, "after discard/write zeroes"))
		return KTAP_FAIL;
	KTAP_EXPECT_EQ(t.vq->err_count, 0);
	io_fini(&t);
	return KTAP_PASS;
}

static enum ktap_result dwz_tmpfs(enum blk_ring ring)
{
	return dwz_one(ring, BLK_BE_TMPFS);
}

static enum ktap_result dwz_direct(enum blk_ring ring)
{
	return dwz_one(ring, BLK_BE_DIRECT);
}

static enum ktap_result dwz_bdev(enum blk_ring ring)
{
	return dwz_one(ring, BLK_BE_BDEV);
}

static enum ktap_result rw_tmpfs_split(void)
{
	return rw_tmpfs(BLK_SPLIT);
}

static enum ktap_result rw_tmpfs_packed(void)
{
	return rw_tmpfs(BLK_PACKED);
}

static enum ktap_result rw_direct_split(void)
{
	return rw_direct(BLK_SPLIT);
}

static enum ktap_result rw_direct_packed(void)
{
	return rw_direct(BLK_PACKED);
}

static enum ktap_result rw_bdev_split(void)
{
	return rw_bdev(BLK_SPLIT);
}

static enum ktap_result rw_bdev_packed(void)
{
	return rw_bdev(BLK_PACKED);
}

static enum ktap_result rw_no_event_idx_split(void)
{
	return rw_no_event_idx(BLK_SPLIT);
}

static enum ktap_result rw_no_event_idx_packed(void)
{
	return rw_no_event_idx(BLK_PACKED);
}

static enum ktap_result rw_unaligned_buffers_split(void)
{
	return rw_unaligned_buffers(BLK_SPLIT);
}

static enum ktap_result rw_unaligned_buffers_packed(void)
{
	return rw_unaligned_buffers(BLK_PACKED);
}

static enum ktap_result out_of_range_split(void)
{
	return out_of_range(BLK_SPLIT);
}

static enum ktap_result out_of_range_packed(void)
{
	return out_of_range(BLK_PACKED);
}

static enum ktap_result short_header_split(void)
{
	return short_header(BLK_SPLIT);
}

static enum ktap_result short_header_packed(void)
{
	return short_header(BLK_PACKED);
}

static enum ktap_result unsupported_split(void)
{
	return unsupported(BLK_SPLIT);
}

static enum ktap_result unsupported_packed(void)
{
	return unsupported(BLK_PACKED);
}

static enum ktap_result read_only_split(void)
{
	return read_only(BLK_SPLIT);
}

static enum ktap_result read_only_packed(void)
{
	return read_only(BLK_PACKED);
}

static enum ktap_result get_id_split(void)
{
	return get_id(BLK_SPLIT);
}

static enum ktap_result get_id_packed(void)
{
	return get_id(BLK_PACKED);
}

static enum ktap_result dwz_tmpfs_split(void)
{
	return dwz_tmpfs(BLK_SPLIT);
}

static enum ktap_result dwz_tmpfs_packed(void)
{
	return dwz_tmpfs(BLK_PACKED);
}

static enum ktap_result dwz_direct_split(void)
{
	return dwz_direct(BLK_SPLIT);
}

static enum ktap_result dwz_direct_packed(void)
{
	return dwz_direct(BLK_PACKED);
}

static enum ktap_result dwz_bdev_split(void)
{
	return dwz_bdev(BLK_SPLIT);
}

static enum ktap_result dwz_bdev_packed(void)
{
	return dwz_bdev(BLK_PACKED);
}

static const struct ktap_case cases[] = {
	KTAP_CASE_T(rw_tmpfs_split, 180),
	KTAP_CASE_T(rw_tmpfs_packed, 180),
	KTAP_CASE_T(rw_direct_split, 240),
	KTAP_CASE_T(rw_direct_packed, 240),
	KTAP_CASE_T(rw_bdev_split, 180),
	KTAP_CASE_T(rw_bdev_packed, 180),
	KTAP_CASE_T(rw_no_event_idx_split, 180),
	KTAP_CASE_T(rw_no_event_idx_packed, 180),
	KTAP_CASE_T(rw_unaligned_buffers_split, 240),
	KTAP_CASE_T(rw_unaligned_buffers_packed, 240),
	KTAP_CASE_T(out_of_range_split, 60),
	KTAP_CASE_T(out_of_range_packed, 60),
	KTAP_CASE_T(short_header_split, 60),
	KTAP_CASE_T(short_header_packed, 60),
	KTAP_CASE_T(unsupported_split, 60),
	KTAP_CASE_T(unsupported_packed, 60),
	KTAP_CASE_T(read_only_split, 240),
	KTAP_CASE_T(read_only_packed, 240),
	KTAP_CASE_T(get_id_split, 60),
	KTAP_CASE_T(get_id_packed, 60),
	KTAP_CASE_T(dwz_tmpfs_split, 120),
	KTAP_CASE_T(dwz_tmpfs_packed, 120),
	KTAP_CASE_T(dwz_direct_split, 180),
	KTAP_CASE_T(dwz_direct_packed, 180),
	KTAP_CASE_T(dwz_bdev_split, 120),
	KTAP_CASE_T(dwz_bdev_packed, 120),
};

/* With arguments, run only the cases named. */
int main(int argc, char **argv)
{
	return ktap_main(cases, KTAP_ARRAY_SIZE(cases), argc, argv);
}
