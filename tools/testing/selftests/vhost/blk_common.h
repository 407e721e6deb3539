/* SPDX-License-Identifier: GPL-2.0 */
/*
 * blk_common: what the vhost-blk selftests share. A test process plays the
 * VMM and the guest's virtio-blk driver (vdrv) and owns the backing store:
 * a regular file on tmpfs, a file opened O_DIRECT on an ext4 file system
 * (on a loop device over a tmpfs file), or a block device (brd). The
 * backend is read and written directly, with O_DIRECT where the kernel
 * bypasses the page cache, to check what the device did.
 *
 * Requests live in slots of guest memory laid out as
 *	[header 16][data cap][status 1]
 * with the data page aligned, so that every framing (header split, header
 * and data in one descriptor, data and status in one) is a choice of
 * descriptor boundaries over the same bytes.
 */
#ifndef BLK_COMMON_H
#define BLK_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vhost_blk.h>
#include <linux/virtio_blk.h>

#include "ktap.h"
#include "vdrv.h"
#include "vdrv_ktap.h"

#ifndef BIT
#define BIT(n)		(1ULL << (n))
#endif
#define MIB		(1024 * 1024)
#define BLK_SECTOR	512

#ifndef VIRTIO_F_RING_PACKED
#define VIRTIO_F_RING_PACKED	34
#endif
#ifndef VIRTIO_BLK_F_SECURE_ERASE
#define VIRTIO_BLK_F_SECURE_ERASE	16
#endif
#ifndef VIRTIO_BLK_T_SECURE_ERASE
#define VIRTIO_BLK_T_SECURE_ERASE	14
#endif
#ifndef VIRTIO_BLK_T_GET_LIFETIME
#define VIRTIO_BLK_T_GET_LIFETIME	10
#endif

/* Ring features every test acks (masked with the offer). */
#define BLK_F_RING	(BIT(VIRTIO_F_VERSION_1) | \
			 BIT(VIRTIO_RING_F_INDIRECT_DESC) | \
			 BIT(VIRTIO_RING_F_EVENT_IDX))
/* Device features every backend has, per vhost_blk.h. */
#define BLK_F_ALWAYS	(BIT(VIRTIO_BLK_F_SEG_MAX) | BIT(VIRTIO_BLK_F_BLK_SIZE) | \
			 BIT(VIRTIO_BLK_F_TOPOLOGY) | BIT(VIRTIO_BLK_F_FLUSH) | \
			 BIT(VIRTIO_BLK_F_MQ))

enum blk_ring { BLK_SPLIT, BLK_PACKED };

/* ------------------------------------------------------------------------
 * Backends
 */

enum blk_be_kind {
	BLK_BE_TMPFS,		/* regular file on tmpfs, buffered */
	BLK_BE_DIRECT,		/* regular file on ext4, opened O_DIRECT */
	BLK_BE_BDEV,		/* brd block device, /dev/ram0 */
	BLK_BE_MAX,
};

extern const char *const blk_be_name[BLK_BE_MAX];

struct blk_backend {
	enum blk_be_kind kind;
	int fd;			/* what the device gets */
	int vfd;		/* for checking: O_DIRECT unless tmpfs */
	uint64_t size;		/* bytes */
	char path[128];
	char mnt[64];		/* BLK_BE_DIRECT: mount point */
	char img[64];		/* BLK_BE_DIRECT: the loop image */
	char loop[32];		/* BLK_BE_DIRECT: the loop device */
};

/*
 * blk_be_open() - a backend of @kind with @size bytes (BLK_BE_BDEV: the
 * brd device's own size, at least @size), opened O_RDWR (O_RDONLY with
 * @ro). KTAP_SKIP with a reason when the host lacks what it needs.
 */
enum ktap_result blk_be_open(struct blk_backend *be, enum blk_be_kind kind,
			     uint64_t size, bool ro);
void blk_be_close(struct blk_backend *be);
/* Reopen the device's fd with other flags (e.g. O_RDONLY); 0 or -errno. */
int blk_be_reopen(struct blk_backend *be, int flags);
/* Read/write the backing store directly, any offset and length. */
int blk_be_pread(struct blk_backend *be, void *buf, size_t len, uint64_t off);
int blk_be_pwrite(struct blk_backend *be, const void *buf, size_t len,
		  uint64_t off);
/* Fill [off, off + len) with blk_pattern(@seed). */
int blk_be_fill(struct blk_backend *be, uint32_t seed, uint64_t off,
		uint64_t len);

/* A deterministic byte pattern: byte @off of stream @seed. */
static inline uint8_t blk_pattern(uint32_t seed, uint64_t off)
{
	uint32_t x = seed * 2654435761u ^ (uint32_t)(off >> 2) * 40503u;

	x ^= x >> 15;
	x *= 2246822519u;
	return (x >> (8 * (off & 3))) ^ (x >> 13);
}

void blk_fill(uint8_t *buf, size_t len, uint32_t seed, uint64_t off);
/* Is @buf the pattern? Diag and false at the first wrong byte. */
bool blk_check(const uint8_t *buf, size_t len, uint32_t seed, uint64_t off,
	       const char *what);
bool blk_is_zero(const uint8_t *buf, size_t len, const char *what);

/* ------------------------------------------------------------------------
 * Device and queues
 */

struct blk_env {
	struct vdrv_dev *dev;
	struct vdrv_mem *mem;
	struct vdrv_vq *vq[VHOST_BLK_MAX_QUEUES];
	unsigned int nvq;
	enum blk_ring ring;
	uint64_t offered;
	uint64_t features;	/* as acked */
};

/*
 * blk_env_init() - open /dev/vhost-blk, own it, create @nvq queues of @num
 * entries in @memsize bytes of guest memory, ack @want & offered (plus
 * VIRTIO_F_RING_PACKED for BLK_PACKED) and start them. No backend yet.
 * KTAP_SKIP without vhost-blk or, for BLK_PACKED, when vdrv cannot do
 * packed rings yet.
 */
enum ktap_result blk_env_init(struct blk_env *e, enum blk_ring ring,
			      unsigned int nvq, unsigned int num,
			      size_t memsize, uint64_t want);
void blk_env_fini(struct blk_env *e);
/* VHOST_BLK_SET_BACKEND on queue @index; 0 or -errno. */
int blk_set_backend(struct blk_env *e, unsigned int index, int fd);
/* The same on every queue. */
int blk_attach_all(struct blk_env *e, int fd);
int blk_get_config(int devfd, int fd, struct vhost_blk_config *cfg);

/* ------------------------------------------------------------------------
 * Requests
 */

struct blk_slot {
	uint8_t *hdr;		/* 16 bytes right before data */
	uint8_t *data;		/* page aligned, cap bytes, then 1 status */
	uint32_t cap;
};

/* Framings of one request over the slot's bytes. */
enum blk_layout {
	BLK_L_STD,		/* hdr | data | status */
	BLK_L_HDR_8_8,		/* hdr split 8 + 8 */
	BLK_L_HDR_4X4,		/* hdr split 4 + 4 + 4 + 4 */
	BLK_L_HDR_DATA,		/* hdr and readable data in one descriptor */
	BLK_L_DATA_STATUS,	/* writable data and status in one descriptor */
	BLK_L_SCATTER,		/* data in 512-byte multiples, several descs */
	BLK_L_ONE_IN,		/* hdr | data+status; IN/GET_ID with both */
	BLK_L_MAX,
};

extern const char *const blk_layout_name[BLK_L_MAX];

struct blk_req {
	uint32_t type;
	uint32_t ioprio;
	uint64_t sector;
	uint32_t len;		/* data bytes at slot->data */
	enum blk_layout layout;
	bool indirect;
	uint32_t hdr_len;	/* readable header bytes; 0 means 16 */
	bool no_status;		/* no writable byte at all */
};

/* Is the data of @type device-readable? */
bool blk_type_out(uint32_t type);

int blk_slot_init(struct blk_env *e, struct blk_slot *s, uint32_t cap);
/* Build @r over @s and add it to @vq (no kick); head or -errno. */
int blk_post(struct vdrv_vq *vq, struct blk_slot *s, const struct blk_req *r,
	     void *cookie);
/* The status byte of a request posted with @r. */
static inline uint8_t blk_status(const struct blk_slot *s,
				 const struct blk_req *r)
{
	return s->data[r->len];
}

/*
 * blk_do() - post, kick, wait up to 10 s for the used entry: 0 with
 * *@status and *@used_len set, or -errno (EIO: err eventfd).
 */
int blk_do(struct vdrv_vq *vq, struct blk_slot *s, const struct blk_req *r,
	   uint8_t *status, uint32_t *used_len);

/* One IN or OUT of @len bytes at @sector in the standard layout. */
int blk_rw(struct vdrv_vq *vq, struct blk_slot *s, uint32_t type,
	   uint64_t sector, uint32_t len, uint8_t *status);

/* A DISCARD/WRITE_ZEROES/SECURE_ERASE segment. */
struct blk_dwz {
	uint64_t sector;
	uint32_t num_sectors;
	uint32_t flags;
};

void blk_put_dwz(struct blk_slot *s, const struct blk_dwz *seg,
		 unsigned int n);

int64_t blk_now_us(void);

#endif /* BLK_COMMON_H */
