// SPDX-License-Identifier: GPL-2.0
/*
 * blk_common: backends, device set-up and request framing for the
 * vhost-blk selftests; see blk_common.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <endian.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "blk_common.h"

const char *const blk_be_name[BLK_BE_MAX] = { "tmpfs", "direct", "bdev" };
const char *const blk_layout_name[BLK_L_MAX] = {
	"std", "hdr-8+8", "hdr-4x4", "hdr+data", "data+status", "scatter",
};

int64_t blk_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

void blk_fill(uint8_t *buf, size_t len, uint32_t seed, uint64_t off)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = blk_pattern(seed, off + i);
}

bool blk_check(const uint8_t *buf, size_t len, uint32_t seed, uint64_t off,
	       const char *what)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] != blk_pattern(seed, off + i)) {
			ktap_diag("%s: byte %zu (offset %llu) is 0x%02x, want 0x%02x (seed %u)",
				  what, i, (unsigned long long)(off + i), buf[i],
				  blk_pattern(seed, off + i), seed);
			return false;
		}
	}
	return true;
}

bool blk_is_zero(const uint8_t *buf, size_t len, const char *what)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i]) {
			ktap_diag("%s: byte %zu is 0x%02x, want 0", what, i,
				  buf[i]);
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------------------
 * Backends
 */

static int run(const char *cmd)
{
	int r = system(cmd);

	if (r == -1)
		return -errno;
	if (!WIFEXITED(r) || WEXITSTATUS(r)) {
		ktap_diag("'%s' failed (status 0x%x)", cmd, r);
		return -EIO;
	}
	return 0;
}

static bool have_tool(const char *name)
{
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

static enum ktap_result be_bdev(struct blk_backend *be, uint64_t size, bool ro)
{
	uint64_t bytes;
	char cmd[128];

	snprintf(be->path, sizeof(be->path), "/dev/ram0");
	if (access(be->path, F_OK)) {
		snprintf(cmd, sizeof(cmd),
			 "modprobe brd rd_nr=1 rd_size=%llu >/dev/null 2>&1",
			 (unsigned long long)(size < 64 * MIB ? 64 * MIB : size) / 1024);
		KTAP_SKIP_IF(system(cmd) != 0, "no brd module");
	}
	be->fd = open(be->path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	KTAP_SKIP_IF(be->fd < 0 && errno == ENOENT, "no %s", be->path);
	KTAP_CHECK(be->fd >= 0, "%s: %s", be->path, strerror(errno));
	be->vfd = open(be->path, O_RDWR | O_DIRECT | O_CLOEXEC);
	KTAP_CHECK(be->vfd >= 0, "%s: %s", be->path, strerror(errno));
	KTAP_OK(ioctl(be->fd, BLKGETSIZE64, &bytes));
	KTAP_CHECK(bytes >= size, "%s has %llu bytes, need %llu", be->path,
		   (unsigned long long)bytes, (unsigned long long)size);
	be->size = bytes;
	return KTAP_PASS;
}

static enum ktap_result be_direct(struct blk_backend *be, uint64_t size,
				  bool ro)
{
	char cmd[512];
	int fd;

	KTAP_SKIP_IF(!have_tool("mkfs.ext4"), "no mkfs.ext4");
	snprintf(be->img, sizeof(be->img), "/tmp/kvhost-blk-%d.img", getpid());
	snprintf(be->mnt, sizeof(be->mnt), "/tmp/kvhost-blk-%d.mnt", getpid());
	snprintf(be->path, sizeof(be->path), "%s/disk", be->mnt);
	fd = open(be->img, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	KTAP_CHECK(fd >= 0, "%s: %s", be->img, strerror(errno));
	KTAP_OK(ftruncate(fd, size + 32 * MIB));
	close(fd);
	KTAP_CHECK(mkdir(be->mnt, 0700) == 0 || errno == EEXIST, "mkdir: %s",
		   strerror(errno));
	system("modprobe loop >/dev/null 2>&1");
	system("modprobe ext4 >/dev/null 2>&1");
	snprintf(cmd, sizeof(cmd),
		 "mkfs.ext4 -q -F -E nodiscard %s >/dev/null 2>&1 && mount -o loop %s %s",
		 be->img, be->img, be->mnt);
	if (run(cmd)) {
		rmdir(be->mnt);
		unlink(be->img);
		be->mnt[0] = '\0';
		be->img[0] = '\0';
		ktap_skip_reason("cannot make an ext4 file system on a loop device");
		return KTAP_SKIP;
	}
	fd = open(be->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	KTAP_CHECK(fd >= 0, "%s: %s", be->path, strerror(errno));
	KTAP_OK(ftruncate(fd, size));
	close(fd);
	be->fd = open(be->path, (ro ? O_RDONLY : O_RDWR) | O_DIRECT | O_CLOEXEC);
	KTAP_CHECK(be->fd >= 0, "%s O_DIRECT: %s", be->path, strerror(errno));
	be->vfd = open(be->path, O_RDWR | O_DIRECT | O_CLOEXEC);
	KTAP_CHECK(be->vfd >= 0, "%s: %s", be->path, strerror(errno));
	be->size = size;
	return KTAP_PASS;
}

static enum ktap_result be_tmpfs(struct blk_backend *be, uint64_t size,
				 bool ro)
{
	int fd;

	snprintf(be->path, sizeof(be->path), "/tmp/kvhost-blk-%d.raw",
		 getpid());
	fd = open(be->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	KTAP_CHECK(fd >= 0, "%s: %s", be->path, strerror(errno));
	KTAP_OK(ftruncate(fd, size));
	close(fd);
	be->fd = open(be->path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	be->vfd = open(be->path, O_RDWR | O_CLOEXEC);
	KTAP_CHECK(be->fd >= 0 && be->vfd >= 0, "%s: %s", be->path,
		   strerror(errno));
	be->size = size;
	return KTAP_PASS;
}

enum ktap_result blk_be_open(struct blk_backend *be, enum blk_be_kind kind,
			     uint64_t size, bool ro)
{
	memset(be, 0, sizeof(*be));
	be->kind = kind;
	be->fd = -1;
	be->vfd = -1;
	switch (kind) {
	case BLK_BE_TMPFS:
		return be_tmpfs(be, size, ro);
	case BLK_BE_DIRECT:
		return be_direct(be, size, ro);
	case BLK_BE_BDEV:
		return be_bdev(be, size, ro);
	default:
		return KTAP_FAIL;
	}
}

void blk_be_close(struct blk_backend *be)
{
	char cmd[160];

	if (be->fd >= 0)
		close(be->fd);
	if (be->vfd >= 0)
		close(be->vfd);
	be->fd = -1;
	be->vfd = -1;
	if (be->kind != BLK_BE_BDEV && be->path[0])
		unlink(be->path);
	if (be->mnt[0]) {
		snprintf(cmd, sizeof(cmd), "umount %s", be->mnt);
		run(cmd);
		rmdir(be->mnt);
	}
	if (be->img[0])
		unlink(be->img);
	memset(be->path, 0, sizeof(be->path));
}

int blk_be_reopen(struct blk_backend *be, int flags)
{
	int fd;

	if (be->kind == BLK_BE_DIRECT)
		flags |= O_DIRECT;
	fd = open(be->path, flags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(be->fd);
	be->fd = fd;
	return 0;
}

/* Aligned [start, end) around [off, off + len), in a bounce buffer. */
static int bounce(struct blk_backend *be, uint64_t off, size_t len,
		  uint64_t *start, size_t *blen, uint8_t **buf)
{
	*start = off & ~4095ULL;
	*blen = ((off + len + 4095) & ~4095ULL) - *start;
	if (posix_memalign((void **)buf, 4096, *blen))
		return -ENOMEM;
	if (pread(be->vfd, *buf, *blen, *start) != (ssize_t)*blen) {
		int err = errno ? -errno : -EIO;

		free(*buf);
		return err;
	}
	return 0;
}

int blk_be_pread(struct blk_backend *be, void *dst, size_t len, uint64_t off)
{
	uint64_t start;
	size_t blen;
	uint8_t *buf;
	int r;

	errno = 0;
	r = bounce(be, off, len, &start, &blen, &buf);
	if (r)
		return r;
	memcpy(dst, buf + (off - start), len);
	free(buf);
	return 0;
}

int blk_be_pwrite(struct blk_backend *be, const void *src, size_t len,
		  uint64_t off)
{
	uint64_t start;
	size_t blen;
	uint8_t *buf;
	int r;

	errno = 0;
	r = bounce(be, off, len, &start, &blen, &buf);
	if (r)
		return r;
	memcpy(buf + (off - start), src, len);
	if (pwrite(be->vfd, buf, blen, start) != (ssize_t)blen)
		r = errno ? -errno : -EIO;
	free(buf);
	return r;
}

int blk_be_fill(struct blk_backend *be, uint32_t seed, uint64_t off,
		uint64_t len)
{
	enum { CHUNK = 1 * MIB };
	uint8_t *buf = malloc(CHUNK);
	int r = 0;

	if (!buf)
		return -ENOMEM;
	while (len && !r) {
		size_t n = len < CHUNK ? len : CHUNK;

		blk_fill(buf, n, seed, off);
		r = blk_be_pwrite(be, buf, n, off);
		off += n;
		len -= n;
	}
	free(buf);
	return r;
}

/* ------------------------------------------------------------------------
 * Device
 */

enum ktap_result blk_env_init(struct blk_env *e, enum blk_ring ring,
			      unsigned int nvq, unsigned int num,
			      size_t memsize, uint64_t want)
{
	unsigned int i, flags = ring == BLK_PACKED ? VDRV_VQ_PACKED : 0;

	memset(e, 0, sizeof(*e));
	e->ring = ring;
	e->nvq = nvq;
	e->dev = vdrv_open("/dev/vhost-blk");
	KTAP_SKIP_IF(!e->dev && errno == ENOENT, "no /dev/vhost-blk");
	KTAP_CHECK(e->dev, "%s", vdrv_last_error());
	e->mem = vdrv_mem_create(memsize);
	KTAP_CHECK(e->mem, "%s", vdrv_last_error());
	VOK(vdrv_set_owner(e->dev));
	VOK(vdrv_get_features(e->dev, &e->offered));
	if (ring == BLK_PACKED) {
		KTAP_CHECK(e->offered & BIT(VIRTIO_F_RING_PACKED),
			   "RING_PACKED not offered (0x%llx)",
			   (unsigned long long)e->offered);
		want |= BIT(VIRTIO_F_RING_PACKED);
	}
	e->features = want & e->offered;
	for (i = 0; i < nvq; i++) {
		e->vq[i] = vdrv_vq_create(e->dev, e->mem, i, num, flags);
		if (!e->vq[i] && errno == EOPNOTSUPP && ring == BLK_PACKED) {
			ktap_skip_reason("vdrv has no packed rings yet");
			return KTAP_SKIP;
		}
		KTAP_CHECK(e->vq[i], "vq %u: %s", i, vdrv_last_error());
	}
	VOK(vdrv_dev_start(e->dev, e->mem, e->features));
	return KTAP_PASS;
}

void blk_env_fini(struct blk_env *e)
{
	if (e->dev)
		vdrv_close(e->dev);
	if (e->mem)
		vdrv_mem_destroy(e->mem);
	memset(e, 0, sizeof(*e));
}

int blk_set_backend(struct blk_env *e, unsigned int index, int fd)
{
	struct vhost_vring_file f = { .index = index, .fd = fd };

	return vdrv_ioctl(e->dev, VHOST_BLK_SET_BACKEND, &f);
}

int blk_attach_all(struct blk_env *e, int fd)
{
	unsigned int i;
	int r;

	for (i = 0; i < e->nvq; i++) {
		r = blk_set_backend(e, i, fd);
		if (r < 0)
			return r;
	}
	return 0;
}

int blk_get_config(int devfd, int fd, struct vhost_blk_config *cfg)
{
	memset(cfg, 0xa5, sizeof(*cfg));
	cfg->fd = fd;
	return ioctl(devfd, VHOST_BLK_GET_CONFIG, cfg) ? -errno : 0;
}

/* ------------------------------------------------------------------------
 * Requests
 */

bool blk_type_out(uint32_t type)
{
	return type == VIRTIO_BLK_T_OUT || type == VIRTIO_BLK_T_DISCARD ||
	       type == VIRTIO_BLK_T_WRITE_ZEROES ||
	       type == VIRTIO_BLK_T_SECURE_ERASE;
}

int blk_slot_init(struct blk_env *e, struct blk_slot *s, uint32_t cap)
{
	uint8_t *p = vdrv_mem_alloc(e->mem, 4096 + cap + 4096, 4096);

	if (!p)
		return -ENOMEM;
	s->data = p + 4096;
	s->hdr = s->data - 16;
	s->cap = cap;
	return 0;
}

void blk_put_dwz(struct blk_slot *s, const struct blk_dwz *seg,
		 unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint64_t sector = htole64(seg[i].sector);
		uint32_t num = htole32(seg[i].num_sectors);
		uint32_t flags = htole32(seg[i].flags);

		memcpy(s->data + 16 * i, &sector, 8);
		memcpy(s->data + 16 * i + 8, &num, 4);
		memcpy(s->data + 16 * i + 12, &flags, 4);
	}
}

#define BLK_MAX_BUFS	160

int blk_post(struct vdrv_vq *vq, struct blk_slot *s, const struct blk_req *r,
	     void *cookie)
{
	struct vdrv_buf out[BLK_MAX_BUFS], in[BLK_MAX_BUFS];
	uint32_t hl = r->hdr_len ? r->hdr_len : 16, type = htole32(r->type);
	uint32_t prio = htole32(r->ioprio);
	uint64_t sector = htole64(r->sector);
	bool dout = blk_type_out(r->type);
	int nout = 0, nin = 0, i;
	uint32_t off;

	if (r->len > s->cap)
		return -EINVAL;
	memcpy(s->hdr, &type, 4);
	memcpy(s->hdr + 4, &prio, 4);
	memcpy(s->hdr + 8, &sector, 8);
	s->data[r->len] = 0xee;		/* status sentinel */

	switch (r->layout) {
	case BLK_L_HDR_8_8:
		out[nout++] = (struct vdrv_buf){ .ptr = s->hdr, .len = 8 };
		out[nout++] = (struct vdrv_buf){ .ptr = s->hdr + 8, .len = 8 };
		break;
	case BLK_L_HDR_4X4:
		for (i = 0; i < 4; i++)
			out[nout++] = (struct vdrv_buf){ .ptr = s->hdr + 4 * i,
							 .len = 4 };
		break;
	default:
		if (r->layout == BLK_L_HDR_DATA && dout && r->len) {
			out[nout++] = (struct vdrv_buf){ .ptr = s->hdr,
							 .len = 16 + r->len };
			goto status;
		}
		out[nout++] = (struct vdrv_buf){ .ptr = s->hdr, .len = hl };
		break;
	}
	if (r->len) {
		struct vdrv_buf *b = dout ? out : in;
		int *n = dout ? &nout : &nin;

		if (r->layout == BLK_L_SCATTER) {
			for (off = 0, i = 0; off < r->len; i++) {
				uint32_t c = 512 * (1 + i % 3);

				if (c > r->len - off)
					c = r->len - off;
				b[(*n)++] = (struct vdrv_buf){ .ptr = s->data + off,
							       .len = c };
				off += c;
				if (*n >= BLK_MAX_BUFS - 1)
					return -E2BIG;
			}
		} else if (r->layout == BLK_L_DATA_STATUS && !dout &&
			   !r->no_status) {
			in[nin++] = (struct vdrv_buf){ .ptr = s->data,
						       .len = r->len + 1 };
			goto add;
		} else {
			b[(*n)++] = (struct vdrv_buf){ .ptr = s->data,
						       .len = r->len };
		}
	}
status:
	if (!r->no_status)
		in[nin++] = (struct vdrv_buf){ .ptr = s->data + r->len, .len = 1 };
add:
	if (r->indirect)
		return vdrv_vq_add_indirect(vq, out, nout, in, nin, cookie);
	return vdrv_vq_add(vq, out, nout, in, nin, cookie);
}

int blk_do(struct vdrv_vq *vq, struct blk_slot *s, const struct blk_req *r,
	   uint8_t *status, uint32_t *used_len)
{
	uint32_t len = 0;
	void *c;
	int h;

	h = blk_post(vq, s, r, s);
	if (h < 0)
		return h;
	h = vdrv_vq_kick(vq);
	if (h < 0)
		return h;
	c = vdrv_vq_wait_used(vq, &len, 10000);
	if (!c)
		return -errno;
	if (c != s)
		return -EPROTO;
	*status = blk_status(s, r);
	if (used_len)
		*used_len = len;
	return 0;
}

int blk_rw(struct vdrv_vq *vq, struct blk_slot *s, uint32_t type,
	   uint64_t sector, uint32_t len, uint8_t *status)
{
	struct blk_req r = { .type = type, .sector = sector, .len = len };
	uint32_t ul;
	int ret = blk_do(vq, s, &r, status, &ul);

	if (ret)
		return ret;
	/* used.len: data + status for a good IN, the status alone else. */
	if (*status == VIRTIO_BLK_S_OK &&
	    ul != (type == VIRTIO_BLK_T_IN ? len + 1 : 1)) {
		ktap_diag("type %u len %u: used.len %u", type, len, ul);
		return -EPROTO;
	}
	return 0;
}
