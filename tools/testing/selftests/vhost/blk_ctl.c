// SPDX-License-Identifier: GPL-2.0
/*
 * blk_ctl: vhost-blk's control side and what runs across queues.
 *
 * VHOST_BLK_GET_CONFIG describes each kind of backend right (capacity,
 * block sizes, RO, BDEV and DIRECT flags); VHOST_BLK_SET_BACKEND and
 * VHOST_BLK_SET_SERIAL fail as documented. Four queues served by four
 * threads at once keep every byte where a model says it must be. Detaching
 * a backend (or GET_VRING_BASE) with requests in flight completes them all
 * first, and every acknowledged write is on the backend. With
 * VHOST_F_LOG_ALL, the pages the device writes (read data, status bytes,
 * GET_ID payloads, the used ring) are marked dirty. A driver that breaks
 * the framing or hands out bad descriptors gets its queue's error eventfd,
 * and the other queues keep working.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <endian.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include "blk_common.h"

#define BE_SIZE		(16 * MIB)

static uint32_t rnd_r(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static enum ktap_result check_backend(struct blk_backend *be,
				      const uint8_t *model, uint64_t size,
				      const char *what)
{
	enum { CHUNK = 1 * MIB };
	uint8_t *buf = malloc(CHUNK);
	uint64_t off;
	size_t i;

	KTAP_CHECK(buf, "malloc");
	for (off = 0; off < size; off += CHUNK) {
		KTAP_OK(blk_be_pread(be, buf, CHUNK, off));
		if (memcmp(buf, model + off, CHUNK)) {
			for (i = 0; buf[i] == model[off + i]; i++)
				;
			ktap_diag("%s: backend byte %llu (sector %llu) is 0x%02x, want 0x%02x",
				  what, (unsigned long long)(off + i),
				  (unsigned long long)(off + i) / 512, buf[i],
				  model[off + i]);
			free(buf);
			return KTAP_FAIL;
		}
	}
	free(buf);
	return KTAP_PASS;
}

/* ------------------------------------------------------------------------
 * Control requests
 */

static enum ktap_result get_config(void)
{
	struct vhost_blk_config cfg;
	struct blk_backend be;
	enum ktap_result r;
	uint64_t bytes;
	int dev, fd, p[2];
	unsigned int i, sz;
	char path[64];

	dev = open("/dev/vhost-blk", O_RDWR | O_CLOEXEC);
	KTAP_SKIP_IF(dev < 0 && errno == ENOENT, "no /dev/vhost-blk");
	KTAP_CHECK(dev >= 0, "open: %s", strerror(errno));

	/* A regular file of 1 MiB + 700 bytes, no owner needed. */
	snprintf(path, sizeof(path), "/tmp/kvhost-blk-cfg-%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	KTAP_CHECK(fd >= 0, "%s", strerror(errno));
	KTAP_OK(ftruncate(fd, MIB + 700));
	KTAP_OK(blk_get_config(dev, fd, &cfg));
	KTAP_EXPECT_EQ(cfg.capacity, (MIB + 700) / 512);
	KTAP_EXPECT_EQ(cfg.fd, fd);
	KTAP_EXPECT_EQ(cfg.flags & (VHOST_BLK_CONFIG_F_BDEV |
				    VHOST_BLK_CONFIG_F_DIRECT), 0);
	KTAP_CHECK((cfg.features & BLK_F_ALWAYS) == BLK_F_ALWAYS,
		   "features 0x%llx", (unsigned long long)cfg.features);
	KTAP_CHECK(!(cfg.features & BIT(VIRTIO_BLK_F_RO)), "RO on a rw file");
	KTAP_EXPECT_EQ(cfg.num_queues, VHOST_BLK_MAX_QUEUES);
	KTAP_CHECK(cfg.logical_block_size >= 512 &&
		   !(cfg.logical_block_size & (cfg.logical_block_size - 1)),
		   "logical block size %u", cfg.logical_block_size);
	KTAP_CHECK(cfg.physical_block_size >= cfg.logical_block_size,
		   "physical block size %u", cfg.physical_block_size);
	KTAP_CHECK(cfg.seg_max >= 1 && cfg.max_sectors >= 8,
		   "seg_max %u max_sectors %u", cfg.seg_max, cfg.max_sectors);
	for (i = 0; i < KTAP_ARRAY_SIZE(cfg.reserved); i++)
		KTAP_EXPECT_EQ(cfg.reserved[i], 0);
	if (!(cfg.features & BIT(VIRTIO_BLK_F_DISCARD)))
		KTAP_EXPECT_EQ(cfg.max_discard_seg, 0);
	ktap_diag("tmpfs: features 0x%llx flags 0x%x lbs %u pbs %u seg_max %u max_sectors %u",
		  (unsigned long long)cfg.features, cfg.flags,
		  cfg.logical_block_size, cfg.physical_block_size, cfg.seg_max,
		  cfg.max_sectors);
	/* Read-only: RO. */
	close(fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	KTAP_OK(blk_get_config(dev, fd, &cfg));
	KTAP_CHECK(cfg.features & BIT(VIRTIO_BLK_F_RO), "no RO for O_RDONLY");
	KTAP_EXPECT_EQ(cfg.capacity, (MIB + 700) / 512);
	close(fd);
	/* Sizes under a sector: capacity 0. */
	fd = open(path, O_RDWR | O_TRUNC | O_CLOEXEC);
	KTAP_OK(ftruncate(fd, 511));
	KTAP_OK(blk_get_config(dev, fd, &cfg));
	KTAP_EXPECT_EQ(cfg.capacity, 0);
	close(fd);
	unlink(path);

	/* Not a file or block device; not a file at all. */
	KTAP_OK(pipe(p));
	KTAP_EXPECT_EQ(blk_get_config(dev, p[0], &cfg), -EINVAL);
	close(p[0]);
	close(p[1]);
	fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	KTAP_EXPECT_EQ(blk_get_config(dev, fd, &cfg), -EINVAL);
	close(fd);
	KTAP_EXPECT_EQ(blk_get_config(dev, 12345, &cfg), -EBADF);
	KTAP_EXPECT_EQ(blk_get_config(dev, -1, &cfg), -EBADF);

	/* O_DIRECT on ext4: DIRECT. */
	r = blk_be_open(&be, BLK_BE_DIRECT, 4 * MIB + 4096, false);
	if (r == KTAP_PASS) {
		KTAP_OK(blk_get_config(dev, be.fd, &cfg));
		KTAP_EXPECT_EQ(cfg.capacity, (4 * MIB + 4096) / 512);
		KTAP_EXPECT_EQ(cfg.flags & (VHOST_BLK_CONFIG_F_BDEV |
					    VHOST_BLK_CONFIG_F_DIRECT),
			       VHOST_BLK_CONFIG_F_DIRECT);
		ktap_diag("direct: features 0x%llx flags 0x%x lbs %u pbs %u",
			  (unsigned long long)cfg.features, cfg.flags,
			  cfg.logical_block_size, cfg.physical_block_size);
	} else if (r == KTAP_SKIP) {
		ktap_diag("no O_DIRECT file backend here");
	} else {
		return r;
	}
	blk_be_close(&be);

	/* A block device: BDEV, its size and block sizes. */
	r = blk_be_open(&be, BLK_BE_BDEV, 4 * MIB, false);
	if (r == KTAP_PASS) {
		KTAP_OK(ioctl(be.fd, BLKGETSIZE64, &bytes));
		KTAP_OK(blk_get_config(dev, be.fd, &cfg));
		KTAP_EXPECT_EQ(cfg.capacity, bytes / 512);
		KTAP_EXPECT_EQ(cfg.flags & (VHOST_BLK_CONFIG_F_BDEV |
					    VHOST_BLK_CONFIG_F_DIRECT) &
			       VHOST_BLK_CONFIG_F_BDEV, VHOST_BLK_CONFIG_F_BDEV);
		KTAP_OK(ioctl(be.fd, BLKSSZGET, &sz));
		KTAP_EXPECT_EQ(cfg.logical_block_size, sz);
		KTAP_OK(ioctl(be.fd, BLKPBSZGET, &sz));
		KTAP_EXPECT_EQ(cfg.physical_block_size, sz);
		KTAP_CHECK(!(cfg.features & BIT(VIRTIO_BLK_F_RO)), "RO on rw bdev");
		ktap_diag("bdev: features 0x%llx flags 0x%x lbs %u pbs %u",
			  (unsigned long long)cfg.features, cfg.flags,
			  cfg.logical_block_size, cfg.physical_block_size);
		KTAP_OK(blk_be_reopen(&be, O_RDONLY));
		KTAP_OK(blk_get_config(dev, be.fd, &cfg));
		KTAP_CHECK(cfg.features & BIT(VIRTIO_BLK_F_RO), "no RO, ro bdev");
	} else if (r == KTAP_SKIP) {
		ktap_diag("no block device backend here");
	} else {
		return r;
	}
	blk_be_close(&be);
	close(dev);
	return KTAP_PASS;
}

static enum ktap_result features_offered(void)
{
	uint64_t want = BIT(VIRTIO_F_VERSION_1) | BIT(VIRTIO_RING_F_INDIRECT_DESC) |
			BIT(VIRTIO_RING_F_EVENT_IDX) | BIT(VIRTIO_F_RING_PACKED) |
			BIT(VHOST_F_LOG_ALL) | BLK_F_ALWAYS | BIT(VIRTIO_BLK_F_RO) |
			BIT(VIRTIO_BLK_F_DISCARD) | BIT(VIRTIO_BLK_F_WRITE_ZEROES) |
			BIT(VIRTIO_BLK_F_SECURE_ERASE) | BIT(VIRTIO_F_RING_RESET);
	struct vdrv_dev *dev;
	uint64_t f;

	dev = vdrv_open("/dev/vhost-blk");
	KTAP_SKIP_IF(!dev && errno == ENOENT, "no /dev/vhost-blk");
	KTAP_CHECK(dev, "%s", vdrv_last_error());
	VOK(vdrv_get_features(dev, &f));
	KTAP_CHECK((f & want) == want, "offered 0x%llx, missing 0x%llx",
		   (unsigned long long)f, (unsigned long long)(want & ~f));
	vdrv_close(dev);
	return KTAP_PASS;
}

static enum ktap_result backend_errors(void)
{
	struct vhost_blk_serial ser = { .id = "x" };
	struct blk_backend be;
	struct blk_slot s;
	struct blk_env e;
	struct vdrv_dev *dev;
	enum ktap_result r;
	struct vhost_vring_file f;
	int p[2], fd2;
	uint8_t st;

	r = blk_be_open(&be, BLK_BE_TMPFS, MIB, false);
	if (r != KTAP_PASS)
		return r;
	/* Not the owner: EPERM, for SET_BACKEND and SET_SERIAL. */
	dev = vdrv_open("/dev/vhost-blk");
	KTAP_SKIP_IF(!dev && errno == ENOENT, "no /dev/vhost-blk");
	KTAP_CHECK(dev, "%s", vdrv_last_error());
	f = (struct vhost_vring_file){ .index = 0, .fd = be.fd };
	KTAP_EXPECT_EQ(vdrv_ioctl(dev, VHOST_BLK_SET_BACKEND, &f), -EPERM);
	KTAP_EXPECT_EQ(vdrv_ioctl(dev, VHOST_BLK_SET_SERIAL, &ser), -EPERM);
	/* Owner, but the queue has no ring yet: EINVAL. */
	VOK(vdrv_set_owner(dev));
	KTAP_EXPECT_EQ(vdrv_ioctl(dev, VHOST_BLK_SET_BACKEND, &f), -EINVAL);
	vdrv_close(dev);

	r = blk_env_init(&e, BLK_SPLIT, 1, 64, MIB, BLK_F_RING | BLK_F_ALWAYS);
	if (r != KTAP_PASS)
		return r;
	KTAP_OK(blk_slot_init(&e, &s, 4096));
	KTAP_EXPECT_EQ(blk_set_backend(&e, VHOST_BLK_MAX_QUEUES, be.fd), -ENOBUFS);
	KTAP_EXPECT_EQ(blk_set_backend(&e, 1, be.fd), -EINVAL);
	KTAP_EXPECT_EQ(blk_set_backend(&e, 0, 12345), -EBADF);
	KTAP_OK(pipe(p));
	KTAP_EXPECT_EQ(blk_set_backend(&e, 0, p[0]), -EINVAL);
	VOK(blk_set_backend(&e, 0, be.fd));
	/* The same file again changes nothing; another one is refused. */
	VOK(blk_set_backend(&e, 0, be.fd));
	fd2 = open(be.path, O_RDWR | O_CLOEXEC);
	KTAP_CHECK(fd2 >= 0, "%s", strerror(errno));
	KTAP_EXPECT_EQ(blk_set_backend(&e, 0, fd2), -EBUSY);
	close(fd2);
	VOK(blk_set_backend(&e, 0, -1));
	VOK(blk_set_backend(&e, 0, -1));
	VOK(blk_set_backend(&e, 0, be.fd));
	VOK(blk_rw(e.vq[0], &s, VIRTIO_BLK_T_IN, 0, 4096, &st));
	KTAP_EXPECT_EQ(st, VIRTIO_BLK_S_OK);
	/* The device keeps its own reference: closing ours changes nothing. */
	close(be.fd);
	be.fd = -1;
	VOK(blk_rw(e.vq[0], &s, VIRTIO_BLK_T_OUT, 8, 4096, &st));
	KTAP_EXPECT_EQ(st, VIRTIO_BLK_S_OK);
	close(p[0]);
	close(p[1]);
	blk_env_fini(&e);
	blk_be_close(&be);
	return KTAP_PASS;
}

/* ------------------------------------------------------------------------
 * Four queues, four threads
 */

#define MQ_QUEUES	4
#define MQ_QD		8
#define MQ_CHUNK	128		/* sectors a thread owns at a time */
#define MQ_MAXLEN	(16 * 1024)

struct mq_thread {
	struct vdrv_vq *vq;
	uint8_t *model;
	uint64_t cap;
	unsigned int id, ops;
	uint32_t seed;
	struct blk_slot slot[MQ_QD];
	struct blk_req req[MQ_QD];
	int64_t chunk[MQ_QD];	/* -1: slot free */
	enum ktap_result res;
	unsigned int reads, writes, flushes;
};

static bool chunk_busy(struct mq_thread *m, int64_t c)
{
	unsigned int i;

	for (i = 0; i < MQ_QD; i++)
		if (m->chunk[i] == c)
			return true;
	return false;
}

static enum ktap_result mq_post(struct mq_thread *m, unsigned int i)
{
	uint64_t nchunks = m->cap / MQ_CHUNK, c;
	uint32_t x = rnd_r(&m->seed), len, off;
	struct blk_req *r = &m->req[i];

	do {
		c = rnd_r(&m->seed) % (nchunks / MQ_QUEUES) * MQ_QUEUES + m->id;
	} while (chunk_busy(m, c));
	len = 512 * (1 + rnd_r(&m->seed) % (MQ_MAXLEN / 512));
	off = rnd_r(&m->seed) % (MQ_CHUNK - len / 512 + 1);
	*r = (struct blk_req){ .sector = c * MQ_CHUNK + off, .len = len,
			       .layout = x % BLK_L_MAX, .indirect = x & 64 };
	if (x % 20 == 0) {
		r->type = VIRTIO_BLK_T_FLUSH;
		r->len = 0;
		r->sector = 0;
		c = -2;
	} else if (x & 1) {
		r->type = VIRTIO_BLK_T_OUT;
		blk_fill(m->slot[i].data, len, m->seed, 0);
	} else {
		r->type = VIRTIO_BLK_T_IN;
		memset(m->slot[i].data, 0xcc, len);
	}
	m->chunk[i] = c;
	VOK(blk_post(m->vq, &m->slot[i], r, &m->slot[i]));
	return KTAP_PASS;
}

static enum ktap_result mq_run(struct mq_thread *m)
{
	unsigned int posted = 0, done = 0, i;
	struct blk_req *r;
	uint32_t ul;
	uint8_t st;
	void *c;

	for (i = 0; i < MQ_QD; i++)
		m->chunk[i] = -1;
	while (done < m->ops) {
		for (i = 0; i < MQ_QD && posted < m->ops; i++) {
			if (m->chunk[i] != -1)
				continue;
			if (mq_post(m, i))
				return KTAP_FAIL;
			posted++;
		}
		VOK(vdrv_vq_kick(m->vq));
		c = vdrv_vq_wait_used(m->vq, &ul, 20000);
		KTAP_CHECK(c, "queue %u: %u/%u done: %s", m->id, done, m->ops,
			   vdrv_last_error());
		i = (struct blk_slot *)c - m->slot;
		KTAP_CHECK(i < MQ_QD && m->chunk[i] != -1, "queue %u: bad cookie",
			   m->id);
		r = &m->req[i];
		st = blk_status(&m->slot[i], r);
		KTAP_CHECK(st == VIRTIO_BLK_S_OK, "queue %u: type %u %u@%llu: status %u",
			   m->id, r->type, r->len,
			   (unsigned long long)r->sector, st);
		if (r->type == VIRTIO_BLK_T_IN) {
			KTAP_CHECK(ul == r->len + 1, "queue %u: used.len %u for %u",
				   m->id, ul, r->len);
			KTAP_CHECK(!memcmp(m->slot[i].data,
					   m->model + r->sector * 512, r->len),
				   "queue %u: read %u@%llu differs from the model",
				   m->id, r->len, (unsigned long long)r->sector);
			m->reads++;
		} else {
			KTAP_CHECK(ul == 1, "queue %u: used.len %u for type %u",
				   m->id, ul, r->type);
			if (r->type == VIRTIO_BLK_T_OUT) {
				memcpy(m->model + r->sector * 512,
				       m->slot[i].data, r->len);
				m->writes++;
			} else {
				m->flushes++;
			}
		}
		m->chunk[i] = -1;
		done++;
	}
	KTAP_EXPECT_EQ(m->vq->err_count, 0);
	return KTAP_PASS;
}

static void *mq_thread_fn(void *arg)
{
	struct mq_thread *m = arg;

	m->res = mq_run(m);
	return NULL;
}

static enum ktap_result mq_one(enum blk_ring ring, enum blk_be_kind kind)
{
	struct mq_thread m[MQ_QUEUES];
	pthread_t th[MQ_QUEUES];
	struct blk_backend be;
	struct blk_env e;
	enum ktap_result r;
	uint8_t *model;
	unsigned int q, j;
	int64_t t0;

	r = blk_env_init(&e, ring, MQ_QUEUES, 256, 4 * MIB, BLK_F_RING | BLK_F_ALWAYS);
	if (r != KTAP_PASS)
		return r;
	r = blk_be_open(&be, kind, BE_SIZE, false);
	if (r != KTAP_PASS)
		return r;
	model = malloc(BE_SIZE);
	KTAP_CHECK(model, "malloc");
	blk_fill(model, BE_SIZE, 7, 0);
	KTAP_OK(blk_be_fill(&be, 7, 0, BE_SIZE));
	VOK(blk_attach_all(&e, be.fd));
	for (q = 0; q < MQ_QUEUES; q++) {
		memset(&m[q], 0, sizeof(m[q]));
		m[q].vq = e.vq[q];
		m[q].model = model;
		m[q].cap = BE_SIZE / 512;
		m[q].id = q;
		m[q].ops = 1500;
		m[q].seed = 0x1234567 * (q + 1);
		for (j = 0; j < MQ_QD; j++)
			KTAP_OK(blk_slot_init(&e, &m[q].slot[j], MQ_MAXLEN));
	}
	t0 = blk_now_us();
	for (q = 0; q < MQ_QUEUES; q++)
		KTAP_CHECK(!pthread_create(&th[q], NULL, mq_thread_fn, &m[q]),
			   "pthread_create");
	for (q = 0; q < MQ_QUEUES; q++)
		pthread_join(th[q], NULL);
	for (q = 0; q < MQ_QUEUES; q++) {
		KTAP_CHECK(m[q].res == KTAP_PASS, "queue %u failed", q);
		ktap_diag("queue %u: %u reads, %u writes, %u flushes", q,
			  m[q].reads, m[q].writes, m[q].flushes);
	}
	ktap_diag("%u requests in %lld ms", MQ_QUEUES * m[0].ops,
		  (long long)(blk_now_us() - t0) / 1000);
	/* Detach (drains), then the backend must equal the model. */
	for (q = 0; q < MQ_QUEUES; q++)
		VOK(blk_set_backend(&e, q, -1));
	if (check_backend(&be, model, BE_SIZE, blk_be_name[kind]))
		return KTAP_FAIL;
	free(model);
	blk_env_fini(&e);
	blk_be_close(&be);
	return KTAP_PASS;
}

static enum ktap_result mq_tmpfs(enum blk_ring ring)
{
	return mq_one(ring, BLK_BE_TMPFS);
}

static enum ktap_result mq_bdev(enum blk_ring ring)
{
	return mq_one(ring, BLK_BE_BDEV);
}

/* ------------------------------------------------------------------------
 * Detach and GET_VRING_BASE with requests in flight
 */

enum drain_how { DRAIN_DETACH, DRAIN_GET_BASE };

static enum ktap_result drain_one(enum blk_ring ring, enum blk_be_kind kind,
				  enum drain_how how)
{
	enum { N = 80, LEN = 65536, SECT = LEN / 512 };
	struct blk_slot slot[N];
	struct blk_req req[N];
	bool done[N];
	struct blk_backend be;
	struct blk_env e;
	enum ktap_result r;
	unsigned int i, round, ndone, after;
	unsigned int base;
	uint8_t *model, *buf;
	uint32_t ul;
	void *c;

	r = blk_be_open(&be, kind, BE_SIZE, false);
	if (r != KTAP_PASS)
		return r;
	model = malloc(BE_SIZE);
	buf = malloc(LEN);
	KTAP_CHECK(model && buf, "malloc");
	blk_fill(model, BE_SIZE, 3, 0);
	KTAP_OK(blk_be_fill(&be, 3, 0, BE_SIZE));
	for (round = 0; round < 4; round++) {
		int64_t t0;

		r = blk_env_init(&e, ring, 1, 256, N * (LEN + 8192) + MIB,
				 BLK_F_RING | BLK_F_ALWAYS);
		if (r != KTAP_PASS)
			return r;
		VOK(blk_attach_all(&e, be.fd));
		for (i = 0; i < N; i++) {
			KTAP_OK(blk_slot_init(&e, &slot[i], LEN));
			req[i] = (struct blk_req){ .type = VIRTIO_BLK_T_OUT,
						   .sector = (uint64_t)(i * 2 + round % 2) * SECT,
						   .len = LEN };
			blk_fill(slot[i].data, LEN, 1000 * round + i, 0);
			done[i] = false;
			VOK(blk_post(e.vq[0], &slot[i], &req[i], &slot[i]));
		}
		VOK(vdrv_vq_kick_force(e.vq[0]));
		usleep(round * 700);
		t0 = blk_now_us();
		if (how == DRAIN_DETACH)
			VOK(blk_set_backend(&e, 0, -1));
		else
			VOK(vdrv_vq_get_base(e.vq[0], &base));
		t0 = blk_now_us() - t0;
		ndone = 0;
		while ((c = vdrv_vq_get_used(e.vq[0], &ul))) {
			i = (struct blk_slot *)c - slot;
			KTAP_CHECK(i < N && !done[i], "bad cookie");
			KTAP_CHECK(slot[i].data[LEN] == VIRTIO_BLK_S_OK,
				   "write %u: status %u", i, slot[i].data[LEN]);
			KTAP_EXPECT_EQ(ul, 1);
			done[i] = true;
			ndone++;
		}
		if (how == DRAIN_GET_BASE) {
			/* Everything taken before it returned is used. */
			if (ring == BLK_SPLIT)
				KTAP_CHECK(ndone >= (uint16_t)base,
					   "GET_VRING_BASE %u, only %u used",
					   base, ndone);
			VOK(blk_set_backend(&e, 0, -1));
			while ((c = vdrv_vq_get_used(e.vq[0], &ul))) {
				i = (struct blk_slot *)c - slot;
				KTAP_CHECK(i < N && !done[i], "bad cookie");
				KTAP_CHECK(slot[i].data[LEN] == VIRTIO_BLK_S_OK,
					   "write %u: status %u", i,
					   slot[i].data[LEN]);
				done[i] = true;
				ndone++;
			}
		}
		/* Detached: nothing more completes. */
		usleep(300 * 1000);
		KTAP_CHECK(!vdrv_vq_get_used(e.vq[0], NULL),
			   "a request completed after the detach returned");
		VOK(vdrv_vq_get_base(e.vq[0], &base));
		if (ring == BLK_SPLIT)
			KTAP_CHECK((uint16_t)base == ndone,
				   "round %u: %u taken, %u completed", round,
				   base, ndone);
		ktap_diag("round %u: %u of %u writes done at the detach (%lld us)",
			  round, ndone, N, (long long)t0);
		/* Acknowledged writes are on the backend, others are not. */
		for (i = 0; i < N; i++) {
			uint64_t off = req[i].sector * 512;

			KTAP_OK(blk_be_pread(&be, buf, LEN, off));
			if (done[i]) {
				KTAP_CHECK(!memcmp(buf, slot[i].data, LEN),
					   "round %u: acknowledged write %u is not on the backend",
					   round, i);
				memcpy(model + off, slot[i].data, LEN);
			} else {
				KTAP_CHECK(!memcmp(buf, model + off, LEN),
					   "round %u: write %u not taken but on the backend",
					   round, i);
			}
		}
		/* Resume where it stopped: the rest completes. */
		VOK(vdrv_vq_start(e.vq[0]));
		VOK(blk_set_backend(&e, 0, be.fd));
		VOK(vdrv_vq_kick_force(e.vq[0]));
		for (after = ndone; after < N; after++) {
			c = vdrv_vq_wait_used(e.vq[0], &ul, 20000);
			KTAP_CHECK(c, "round %u: resumed %u/%u: %s", round, after,
				   N, vdrv_last_error());
			i = (struct blk_slot *)c - slot;
			KTAP_CHECK(i < N && !done[i], "bad cookie");
			KTAP_CHECK(slot[i].data[LEN] == VIRTIO_BLK_S_OK,
				   "write %u: status %u", i, slot[i].data[LEN]);
			done[i] = true;
			memcpy(model + req[i].sector * 512, slot[i].data, LEN);
		}
		VOK(blk_set_backend(&e, 0, -1));
		if (check_backend(&be, model, BE_SIZE, "after resume"))
			return KTAP_FAIL;
		KTAP_EXPECT_EQ(e.vq[0]->err_count, 0);
		blk_env_fini(&e);
	}
	free(model);
	free(buf);
	blk_be_close(&be);
	return KTAP_PASS;
}

static enum ktap_result detach_inflight_direct(enum blk_ring ring)
{
	return drain_one(ring, BLK_BE_DIRECT, DRAIN_DETACH);
}

static enum ktap_result detach_inflight_bdev(enum blk_ring ring)
{
	return drain_one(ring, BLK_BE_BDEV, DRAIN_DETACH);
}

static enum ktap_result detach_inflight_tmpfs(enum blk_ring ring)
{
	return drain_one(ring, BLK_BE_TMPFS, DRAIN_DETACH);
}

static enum ktap_result get_base_inflight(enum blk_ring ring)
{
	return drain_one(ring, BLK_BE_BDEV, DRAIN_GET_BASE);
}

/* ------------------------------------------------------------------------
 * Dirty log
 */

static bool log_bit(const uint8_t *bitmap, uint64_t gpa)
{
	uint64_t pfn = gpa >> 12;

	return bitmap[pfn / 8] & (1u << (pfn % 8));
}

static enum ktap_result log_covers(const uint8_t *bitmap, uint64_t gpa,
				   uint64_t len, const char *what)
{
	uint64_t p;

	for (p = gpa & ~4095ULL; p < gpa + len; p += 4096)
		KTAP_CHECK(log_bit(bitmap, p), "%s: page 0x%llx not logged",
			   what, (unsigned long long)p);
	return KTAP_PASS;
}

/* Post IN/GET_ID with data at @data (@len) and status at @status. */
static enum ktap_result log_req(struct blk_env *e, uint8_t *hdr, uint32_t type,
				uint64_t sector, uint8_t *data, uint32_t len,
				uint8_t *status)
{
	struct vdrv_buf out = { .ptr = hdr, .len = 16 };
	struct vdrv_buf in[2] = { { .ptr = data, .len = len },
				  { .ptr = status, .len = 1 } };
	uint32_t t = htole32(type), ul;
	uint64_t s = htole64(sector);

	memcpy(hdr, &t, 4);
	memset(hdr + 4, 0, 4);
	memcpy(hdr + 8, &s, 8);
	*status = 0xee;
	VOK(vdrv_vq_add(e->vq[0], &out, 1, in, 2, hdr));
	VOK(vdrv_vq_kick(e->vq[0]));
	KTAP_CHECK(vdrv_vq_wait_used(e->vq[0], &ul, 10000) == hdr, "%s",
		   vdrv_last_error());
	KTAP_CHECK(*status == VIRTIO_BLK_S_OK, "type %u: status %u", type,
		   *status);
	return KTAP_PASS;
}

static enum ktap_result dirty_log(enum blk_ring ring)
{
	size_t memsize = 4 * MIB;
	size_t bmsize = ((VDRV_GPA_BASE + memsize + 2 * MIB) >> 12) / 8;
	struct vhost_vring_addr a;
	struct blk_backend be;
	struct blk_env e;
	enum ktap_result r;
	uint8_t *bitmap, *area, *hdr, *stat, *idpage, *cmp;
	unsigned int used;
	uint64_t ring_len;

	r = blk_env_init(&e, ring, 1, 64, memsize, BLK_F_RING | BLK_F_ALWAYS);
	if (r != KTAP_PASS)
		return r;
	KTAP_CHECK(e.offered & BIT(VHOST_F_LOG_ALL), "LOG_ALL not offered");
	r = blk_be_open(&be, BLK_BE_TMPFS, BE_SIZE, false);
	if (r != KTAP_PASS)
		return r;
	KTAP_OK(blk_be_fill(&be, 9, 0, BE_SIZE));
	VOK(blk_attach_all(&e, be.fd));
	bitmap = mmap(NULL, bmsize, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	KTAP_CHECK(bitmap != MAP_FAILED, "mmap");
	area = vdrv_mem_alloc(e.mem, 4 * 4096, 4096);
	hdr = vdrv_mem_alloc(e.mem, 4096, 4096);
	stat = vdrv_mem_alloc(e.mem, 4096, 4096);
	idpage = vdrv_mem_alloc(e.mem, 4096, 4096);
	cmp = malloc(8192);
	KTAP_CHECK(area && hdr && stat && idpage && cmp, "%s",
		   vdrv_last_error());

	VOK(vdrv_set_log_base(e.dev, (uintptr_t)bitmap));
	VOK(vdrv_set_features(e.dev, e.features | BIT(VHOST_F_LOG_ALL)));
	VOK(vdrv_vq_set_log(e.vq[0], true));
	memset(bitmap, 0, bmsize);

	/* 8 KiB over pages 0 and 1 of area; the status on its own page. */
	if (log_req(&e, hdr, VIRTIO_BLK_T_IN, 16, area, 8192, stat + 100))
		return KTAP_FAIL;
	KTAP_OK(blk_be_pread(&be, cmp, 8192, 16 * 512));
	KTAP_CHECK(!memcmp(cmp, area, 8192), "read data wrong");
	if (log_covers(bitmap, vdrv_gpa(e.mem, area), 8192, "read data") ||
	    log_covers(bitmap, vdrv_gpa(e.mem, stat + 100), 1, "status byte"))
		return KTAP_FAIL;
	KTAP_CHECK(!log_bit(bitmap, vdrv_gpa(e.mem, area + 2 * 4096)) &&
		   !log_bit(bitmap, vdrv_gpa(e.mem, area + 3 * 4096)),
		   "pages nothing was written to are logged");
	/* 512 bytes in the middle of page 3 (crossing nothing). */
	if (log_req(&e, hdr, VIRTIO_BLK_T_IN, 3, area + 3 * 4096 + 1024, 512,
		    stat + 200) ||
	    log_covers(bitmap, vdrv_gpa(e.mem, area + 3 * 4096 + 1024), 512,
		       "small read"))
		return KTAP_FAIL;
	KTAP_CHECK(!log_bit(bitmap, vdrv_gpa(e.mem, area + 2 * 4096)),
		   "page 2 logged");
	/* 4 KiB straddling pages 1 and 2 after clearing. */
	memset(bitmap, 0, bmsize);
	if (log_req(&e, hdr, VIRTIO_BLK_T_IN, 40, area + 4096 + 2048, 4096,
		    stat + 300) ||
	    log_covers(bitmap, vdrv_gpa(e.mem, area + 4096 + 2048), 4096,
		       "straddling read") ||
	    log_covers(bitmap, vdrv_gpa(e.mem, stat + 300), 1, "status 3"))
		return KTAP_FAIL;
	KTAP_CHECK(!log_bit(bitmap, vdrv_gpa(e.mem, area)), "page 0 logged");
	/* GET_ID's payload. */
	if (log_req(&e, hdr, VIRTIO_BLK_T_GET_ID, 0, idpage + 64, 20,
		    stat + 400) ||
	    log_covers(bitmap, vdrv_gpa(e.mem, idpage + 64), 20, "GET_ID"))
		return KTAP_FAIL;

	/* The used ring (after a clear, so these are the last two). */
	vdrv_vq_addr(e.vq[0], &a);
	used = 4;
	if (ring == BLK_SPLIT)
		ring_len = 4 + 8 * (uint64_t)used;
	else
		ring_len = 16 * (uint64_t)used;
	if (log_covers(bitmap, a.log_guest_addr, ring_len, "used ring"))
		return KTAP_FAIL;
	KTAP_EXPECT_EQ(e.vq[0]->err_count, 0);
	munmap(bitmap, bmsize);
	free(cmp);
	blk_env_fini(&e);
	blk_be_close(&be);
	return KTAP_PASS;
}

/* ------------------------------------------------------------------------
 * Hostile drivers
 */

struct hostile {
	struct blk_env e;
	struct blk_backend be;
	struct blk_slot s;
	uint64_t hdr_gpa, data_gpa, status_gpa;
};

static enum ktap_result hostile_init(struct hostile *h, enum blk_ring ring)
{
	enum ktap_result r;
	uint32_t t = htole32(VIRTIO_BLK_T_IN);

	r = blk_env_init(&h->e, ring, 2, 64, 2 * MIB, BLK_F_RING | BLK_F_ALWAYS);
	if (r != KTAP_PASS)
		return r;
	r = blk_be_open(&h->be, BLK_BE_TMPFS, MIB, false);
	if (r != KTAP_PASS)
		return r;
	VOK(blk_attach_all(&h->e, h->be.fd));
	KTAP_OK(blk_slot_init(&h->e, &h->s, 4096));
	memset(h->s.hdr, 0, 16);
	memcpy(h->s.hdr, &t, 4);
	h->hdr_gpa = vdrv_gpa(h->e.mem, h->s.hdr);
	h->data_gpa = vdrv_gpa(h->e.mem, h->s.data);
	h->status_gpa = h->data_gpa + 4096;
	return KTAP_PASS;
}

/* Queue 0 reported an error, completed nothing; queue 1 still works. */
static enum ktap_result hostile_check(struct hostile *h, bool again)
{
	struct vdrv_vq *bad = h->e.vq[0];
	struct blk_slot s;
	uint8_t st;

	VOK(vdrv_vq_kick_force(bad));
	KTAP_EXPECT_EQ(vdrv_vq_wait(bad, 5000), -EIO);
	KTAP_CHECK(bad->err_count >= 1, "no error signalled");
	usleep(100 * 1000);
	KTAP_EXPECT_EQ(vdrv_vq_used_pending(bad), 0);
	KTAP_OK(blk_slot_init(&h->e, &s, 4096));
	blk_fill(s.data, 4096, 5, 0);
	VOK(blk_rw(h->e.vq[1], &s, VIRTIO_BLK_T_OUT, 8, 4096, &st));
	KTAP_EXPECT_EQ(st, VIRTIO_BLK_S_OK);
	memset(s.data, 0, 4096);
	VOK(blk_rw(h->e.vq[1], &s, VIRTIO_BLK_T_IN, 8, 4096, &st));
	KTAP_EXPECT_EQ(st, VIRTIO_BLK_S_OK);
	KTAP_CHECK(blk_check(s.data, 4096, 5, 0, "queue 1"), "queue 1 data");
	if (again) {
		/* The bad chain is still there: a kick reports it again. */
		VOK(vdrv_vq_kick_force(bad));
		KTAP_EXPECT_EQ(vdrv_vq_wait(bad, 5000), -EIO);
		KTAP_EXPECT_EQ(vdrv_vq_used_pending(bad), 0);
	}
	KTAP_EXPECT_EQ(h->e.vq[1]->err_count, 0);
	blk_env_fini(&h->e);
	blk_be_close(&h->be);
	return KTAP_PASS;
}

enum hostile_kind { H_DATA_OOB, H_HDR_OOB, H_LOOP, H_WRITE_LOOP,
		    H_INDIRECT_NEXT, H_INDIRECT_LEN };

static enum ktap_result hostile_one(enum hostile_kind k)
{
	struct vring_desc *tbl;
	struct hostile h;
	struct vdrv_vq *vq;
	enum ktap_result r;
	uint64_t tgpa;

	r = hostile_init(&h, BLK_SPLIT);
	if (r != KTAP_PASS)
		return r;
	vq = h.e.vq[0];
	switch (k) {
	case H_DATA_OOB:
		/* Data below VDRV_GPA_BASE: in no region. */
		VOK(vdrv_split_set_desc(vq, 0, h.hdr_gpa, 16, VRING_DESC_F_NEXT, 1));
		VOK(vdrv_split_set_desc(vq, 1, 0x10000, 4096,
					VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 2));
		VOK(vdrv_split_set_desc(vq, 2, h.status_gpa, 1, VRING_DESC_F_WRITE, 0));
		break;
	case H_HDR_OOB:
		VOK(vdrv_split_set_desc(vq, 0, 0x10000, 16, VRING_DESC_F_NEXT, 1));
		VOK(vdrv_split_set_desc(vq, 1, h.status_gpa, 1, VRING_DESC_F_WRITE, 0));
		break;
	case H_LOOP:
		VOK(vdrv_split_set_desc(vq, 0, h.hdr_gpa, 16, VRING_DESC_F_NEXT, 1));
		VOK(vdrv_split_set_desc(vq, 1, h.hdr_gpa, 16, VRING_DESC_F_NEXT, 0));
		break;
	case H_WRITE_LOOP:
		VOK(vdrv_split_set_desc(vq, 0, h.hdr_gpa, 16, VRING_DESC_F_NEXT, 1));
		VOK(vdrv_split_set_desc(vq, 1, h.data_gpa, 512,
					VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1));
		break;
	case H_INDIRECT_NEXT:
	case H_INDIRECT_LEN:
		tbl = vdrv_mem_alloc(h.e.mem, 4 * sizeof(*tbl), 16);
		KTAP_CHECK(tbl, "%s", vdrv_last_error());
		tgpa = vdrv_gpa(h.e.mem, tbl);
		tbl[0] = (struct vring_desc){ .addr = htole64(h.hdr_gpa),
					      .len = htole32(16),
					      .flags = htole16(VRING_DESC_F_NEXT),
					      .next = htole16(k == H_INDIRECT_NEXT ? 9 : 1) };
		tbl[1] = (struct vring_desc){ .addr = htole64(h.status_gpa),
					      .len = htole32(1),
					      .flags = htole16(VRING_DESC_F_WRITE) };
		VOK(vdrv_split_set_desc(vq, 0, tgpa,
					k == H_INDIRECT_LEN ? 2 * sizeof(*tbl) - 3 :
							      2 * sizeof(*tbl),
					VRING_DESC_F_INDIRECT, 0));
		break;
	}
	VOK(vdrv_split_push_avail(vq, 0));
	return hostile_check(&h, true);
}

static enum ktap_result hostile_data_oob(void)
{
	return hostile_one(H_DATA_OOB);
}

static enum ktap_result hostile_hdr_oob(void)
{
	return hostile_one(H_HDR_OOB);
}

static enum ktap_result hostile_loop(void)
{
	return hostile_one(H_LOOP);
}

static enum ktap_result hostile_write_loop(void)
{
	return hostile_one(H_WRITE_LOOP);
}

static enum ktap_result hostile_indirect_next(void)
{
	return hostile_one(H_INDIRECT_NEXT);
}

static enum ktap_result hostile_indirect_len(void)
{
	return hostile_one(H_INDIRECT_LEN);
}

/* No writable byte, so nowhere to put a status: the queue stops. */
static enum ktap_result no_status(enum blk_ring ring)
{
	static const uint32_t types[] = { VIRTIO_BLK_T_FLUSH, VIRTIO_BLK_T_OUT };
	unsigned int i;

	for (i = 0; i < KTAP_ARRAY_SIZE(types); i++) {
		struct blk_req r = { .type = types[i], .no_status = true,
				     .len = types[i] == VIRTIO_BLK_T_OUT ? 512 : 0 };
		struct hostile h;
		enum ktap_result res;

		res = hostile_init(&h, ring);
		if (res != KTAP_PASS)
			return res;
		VOK(blk_post(h.e.vq[0], &h.s, &r, &h.s));
		if (hostile_check(&h, false))
			return KTAP_FAIL;
	}
	return KTAP_PASS;
}

static enum ktap_result mq_tmpfs_split(void)
{
	return mq_tmpfs(BLK_SPLIT);
}

static enum ktap_result mq_tmpfs_packed(void)
{
	return mq_tmpfs(BLK_PACKED);
}

static enum ktap_result mq_bdev_split(void)
{
	return mq_bdev(BLK_SPLIT);
}

static enum ktap_result mq_bdev_packed(void)
{
	return mq_bdev(BLK_PACKED);
}

static enum ktap_result detach_inflight_tmpfs_split(void)
{
	return detach_inflight_tmpfs(BLK_SPLIT);
}

static enum ktap_result detach_inflight_tmpfs_packed(void)
{
	return detach_inflight_tmpfs(BLK_PACKED);
}

static enum ktap_result detach_inflight_direct_split(void)
{
	return detach_inflight_direct(BLK_SPLIT);
}

static enum ktap_result detach_inflight_direct_packed(void)
{
	return detach_inflight_direct(BLK_PACKED);
}

static enum ktap_result detach_inflight_bdev_split(void)
{
	return detach_inflight_bdev(BLK_SPLIT);
}

static enum ktap_result detach_inflight_bdev_packed(void)
{
	return detach_inflight_bdev(BLK_PACKED);
}

static enum ktap_result get_base_inflight_split(void)
{
	return get_base_inflight(BLK_SPLIT);
}

static enum ktap_result get_base_inflight_packed(void)
{
	return get_base_inflight(BLK_PACKED);
}

static enum ktap_result dirty_log_split(void)
{
	return dirty_log(BLK_SPLIT);
}

static enum ktap_result dirty_log_packed(void)
{
	return dirty_log(BLK_PACKED);
}

static enum ktap_result no_status_split(void)
{
	return no_status(BLK_SPLIT);
}

static enum ktap_result no_status_packed(void)
{
	return no_status(BLK_PACKED);
}

static const struct ktap_case cases[] = {
	KTAP_CASE(features_offered),
	KTAP_CASE_T(get_config, 120),
	KTAP_CASE(backend_errors),
	KTAP_CASE_T(mq_tmpfs_split, 300),
	KTAP_CASE_T(mq_tmpfs_packed, 300),
	KTAP_CASE_T(mq_bdev_split, 300),
	KTAP_CASE_T(mq_bdev_packed, 300),
	KTAP_CASE_T(detach_inflight_tmpfs_split, 180),
	KTAP_CASE_T(detach_inflight_tmpfs_packed, 180),
	KTAP_CASE_T(detach_inflight_direct_split, 240),
	KTAP_CASE_T(detach_inflight_direct_packed, 240),
	KTAP_CASE_T(detach_inflight_bdev_split, 180),
	KTAP_CASE_T(detach_inflight_bdev_packed, 180),
	KTAP_CASE_T(get_base_inflight_split, 180),
	KTAP_CASE_T(get_base_inflight_packed, 180),
	KTAP_CASE_T(dirty_log_split, 60),
	KTAP_CASE_T(dirty_log_packed, 60),
	KTAP_CASE_T(no_status_split, 60),
	KTAP_CASE_T(no_status_packed, 60),
	KTAP_CASE(hostile_data_oob),
	KTAP_CASE(hostile_hdr_oob),
	KTAP_CASE(hostile_loop),
	KTAP_CASE(hostile_write_loop),
	KTAP_CASE(hostile_indirect_next),
	KTAP_CASE(hostile_indirect_len),
};

/* With arguments, run only the cases named. */
int main(int argc, char **argv)
{
	return ktap_main(cases, KTAP_ARRAY_SIZE(cases), argc, argv);
}
