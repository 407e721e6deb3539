/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdrv: the VMM and the guest driver of a vhost device, in one test process.
 *
 * A kvhost selftest plays both roles QEMU and the guest normally split:
 *
 *  - VMM: open /dev/vhost-*, SET_OWNER, features, the memory table and the
 *    vring ioctls, in the order QEMU 7.2 issues them (vdrv_dev_start()).
 *  - Guest driver: lay out virtqueues in "guest memory", post buffers, kick
 *    through the kick eventfd, wait on the call eventfd, reap used entries.
 *
 * Guest memory is a set of anonymous mappings, each given a fake
 * guest-physical address (GPA) that is deliberately unrelated to its host
 * virtual address (HVA), so that the kernel really has to translate
 * descriptor addresses through the memory table. Every region is fenced by
 * PROT_NONE guard pages, so an overrun faults instead of silently reading a
 * neighbour, and two regions are never host-contiguous even when their GPAs
 * are adjacent.
 *
 * Ring layout (one fixed choice, no parameter): the tight virtio 1.x layout.
 * The descriptor table (16 * num bytes, 16-aligned), the avail ring
 * (4 + 2 * num + 2 bytes, 2-aligned, used_event last) and the used ring
 * (4 + 8 * num + 2 bytes, 4-aligned, avail_event last) are allocated back to
 * back from guest memory, with only the padding the alignment needs. This is
 * what a virtio 1.x driver may legally do and is harder on the device than
 * the legacy 4096-aligned layout: avail and used share a page, and the used
 * ring is not page aligned.
 *
 * Packed rings (VDRV_VQ_PACKED at vdrv_vq_create(), for a device that
 * negotiates VIRTIO_F_RING_PACKED) are laid out as tightly: the descriptor
 * ring (16 * num bytes, 16-aligned), then the driver event suppression area
 * (4 bytes, 4-aligned), then the device event suppression area (4 bytes,
 * 4-aligned), passed to SET_VRING_ADDR as desc, avail and used. Every
 * function below works on both formats with the same meaning; where a field
 * of struct vdrv_vq means something else for packed, it says so.
 *
 * Rings are written little-endian (VIRTIO_F_VERSION_1); on x86, the only
 * target, legacy native-endian rings are the same bytes.
 *
 * Errors: functions returning int return >= 0 on success and -errno on
 * failure, and also leave errno set, so ktap's KTAP_OK() reports them.
 * Functions returning a pointer return NULL and set errno. Nothing exits.
 * vdrv_last_error() describes the last failure of the calling thread.
 *
 * Threads: a vq is driven by one thread at a time. The other side of the
 * ring (the kernel, or an in-process fake device) may run concurrently; the
 * barriers needed for that are in vdrv.c, each with its pairing documented.
 *
 * The library does not police the driver side of the protocol beyond what
 * it needs to keep its own bookkeeping sound: hostile tests may negotiate
 * one thing and do another, and the vdrv_split_*() and vdrv_packed_*() raw
 * accessors bypass the bookkeeping altogether.
 */
#ifndef VDRV_H
#define VDRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/vhost.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#define VDRV_PAGE_SIZE		4096UL

/* GPA of the first region of vdrv_mem_create(): 4 GiB, far from any HVA. */
#define VDRV_GPA_BASE		0x100000000ULL
/* vdrv_mem_add_region(): place the region right after the highest GPA. */
#define VDRV_GPA_AUTO		(~0ULL)
/* vdrv_gpa(): the host address is not inside guest memory. */
#define VDRV_GPA_INVALID	(~0ULL)

/* More than vhost's default max_mem_regions (64), to test -E2BIG. */
#define VDRV_MEM_MAX_REGIONS	128
/*
 * Largest ring: SET_VRING_NUM takes a power of two <= 32768 for split
 * rings, any size <= 32768 for packed ones (positions are 15 bits).
 */
#define VDRV_VQ_MAX_NUM		32768
/* Largest chain vdrv_vq_add_indirect() will build. */
#define VDRV_INDIRECT_MAX	65536
/* Vring indexes a device may have vqs created for (vdrv_vq_create()). */
#define VDRV_DEV_MAX_VQS	256

/* ------------------------------------------------------------------------
 * Guest memory
 */

struct vdrv_region {
	uint8_t *hva;		/* first usable byte; guard pages either side */
	uint64_t gpa;		/* fake guest-physical address of hva[0] */
	uint64_t size;		/* usable bytes, a multiple of VDRV_PAGE_SIZE */
	uint64_t used;		/* bump allocator fill level */
};

struct vdrv_mem {
	unsigned int nregions;
	struct vdrv_region regions[VDRV_MEM_MAX_REGIONS];
};

/*
 * vdrv_mem_create() - guest memory with one region of @size bytes (rounded
 * up to a page) at VDRV_GPA_BASE; @size == 0 gives an empty set to which
 * vdrv_mem_add_region() adds regions. NULL + errno on failure.
 */
struct vdrv_mem *vdrv_mem_create(size_t size);

/*
 * vdrv_mem_add_region() - map @size more bytes (rounded up to a page) at
 * guest-physical @gpa, which must be page aligned and must not overlap an
 * existing region; VDRV_GPA_AUTO puts it right after the highest region, so
 * that a buffer can straddle the two. Returns the region index or -errno.
 */
int vdrv_mem_add_region(struct vdrv_mem *mem, uint64_t gpa, size_t size);

/* vdrv_mem_destroy() - unmap everything. Rings and vqs must be gone. */
void vdrv_mem_destroy(struct vdrv_mem *mem);

/*
 * vdrv_mem_alloc() - @size bytes aligned to @align (a power of two, at most
 * a page; GPA and HVA are then equally aligned), first fit over the regions.
 * Memory is zeroed and never reused: there is no free. NULL + errno
 * (ENOMEM when full, EINVAL for bad arguments).
 */
void *vdrv_mem_alloc(struct vdrv_mem *mem, size_t size, size_t align);

/* vdrv_mem_alloc_in() - the same, but only from region @region. */
void *vdrv_mem_alloc_in(struct vdrv_mem *mem, unsigned int region,
			size_t size, size_t align);

/* vdrv_gpa() - GPA of host address @hva, or VDRV_GPA_INVALID. */
uint64_t vdrv_gpa(const struct vdrv_mem *mem, const void *hva);

/* vdrv_hva() - host address of @gpa, or NULL if no region holds it. */
void *vdrv_hva(const struct vdrv_mem *mem, uint64_t gpa);

/*
 * vdrv_hva_range() - host address of [@gpa, @gpa + @len) if one region holds
 * all of it (so that it is host-contiguous), else NULL.
 */
void *vdrv_hva_range(const struct vdrv_mem *mem, uint64_t gpa, uint64_t len);

/*
 * vdrv_mem_read() / vdrv_mem_write() - copy guest memory by GPA, crossing
 * from one region into a GPA-adjacent one as needed. -EFAULT (and nothing
 * copied) if any byte is outside guest memory.
 */
int vdrv_mem_read(const struct vdrv_mem *mem, void *dst, uint64_t gpa,
		  size_t len);
int vdrv_mem_write(const struct vdrv_mem *mem, uint64_t gpa, const void *src,
		   size_t len);

/*
 * vdrv_mem_table() - the VHOST_SET_MEM_TABLE argument describing @mem,
 * malloc()ed (free() it). Hostile tests edit it and pass it to
 * vdrv_set_mem_table_raw().
 */
struct vhost_memory *vdrv_mem_table(const struct vdrv_mem *mem);

/* ------------------------------------------------------------------------
 * Device (the VMM side). All return 0 or -errno.
 */

struct vdrv_vq;

struct vdrv_dev {
	int fd;
	uint64_t features;	/* last value given to SET_FEATURES */
	struct vdrv_vq *vqs[VDRV_DEV_MAX_VQS];	/* by vring index */
};

/*
 * vdrv_open() - open a vhost node O_RDWR | O_NONBLOCK | O_CLOEXEC (QEMU
 * makes its vhost fd non-blocking too). NULL + errno on failure.
 */
struct vdrv_dev *vdrv_open(const char *path);

/* vdrv_close() - destroy the device's vqs, then close the fd. */
void vdrv_close(struct vdrv_dev *dev);

/* vdrv_ioctl() - any ioctl on the device fd, as 0 (or > 0) / -errno. */
int vdrv_ioctl(struct vdrv_dev *dev, unsigned long req, void *arg);

int vdrv_set_owner(struct vdrv_dev *dev);
int vdrv_reset_owner(struct vdrv_dev *dev);
int vdrv_get_features(struct vdrv_dev *dev, uint64_t *features);
int vdrv_set_features(struct vdrv_dev *dev, uint64_t features);
int vdrv_get_backend_features(struct vdrv_dev *dev, uint64_t *features);
int vdrv_set_backend_features(struct vdrv_dev *dev, uint64_t features);
int vdrv_set_mem_table(struct vdrv_dev *dev, const struct vdrv_mem *mem);
int vdrv_set_mem_table_raw(struct vdrv_dev *dev, const struct vhost_memory *m);
/* @base: host address of the dirty bitmap (VHOST_SET_LOG_BASE). */
int vdrv_set_log_base(struct vdrv_dev *dev, uint64_t base);
/* VHOST_NET_SET_BACKEND; @fd == -1 detaches, which is how QEMU stops. */
int vdrv_net_set_backend(struct vdrv_dev *dev, unsigned int index, int fd);

/*
 * Single vring ioctls with caller-chosen values, for tests that go step by
 * step or feed bad values; nothing is checked on this side.
 */
int vdrv_vring_set_num(struct vdrv_dev *dev, unsigned int index,
		       unsigned int num);
int vdrv_vring_set_base(struct vdrv_dev *dev, unsigned int index,
			unsigned int base);
int vdrv_vring_get_base(struct vdrv_dev *dev, unsigned int index,
			unsigned int *base);
int vdrv_vring_set_addr(struct vdrv_dev *dev,
			const struct vhost_vring_addr *addr);
int vdrv_vring_set_kick(struct vdrv_dev *dev, unsigned int index, int fd);
int vdrv_vring_set_call(struct vdrv_dev *dev, unsigned int index, int fd);
int vdrv_vring_set_err(struct vdrv_dev *dev, unsigned int index, int fd);
int vdrv_vring_set_busyloop_timeout(struct vdrv_dev *dev, unsigned int index,
				    unsigned int usecs);

/*
 * vdrv_dev_start() - what QEMU's vhost_dev_start() does, minus the backend:
 * SET_FEATURES(@features); GET_BACKEND_FEATURES and, if IOTLB_MSG_V2 is
 * offered, SET_BACKEND_FEATURES(IOTLB_MSG_V2) (failures ignored, as QEMU
 * does); SET_MEM_TABLE(@mem); then, for every vq of @dev in index order,
 * vdrv_vq_set_features(@features) and vdrv_vq_start(). The caller then
 * attaches the backend (e.g. vdrv_net_set_backend()).
 */
int vdrv_dev_start(struct vdrv_dev *dev, const struct vdrv_mem *mem,
		   uint64_t features);

/* ------------------------------------------------------------------------
 * Virtqueues
 */

enum vdrv_ring_format {
	VDRV_RING_SPLIT = 0,
	VDRV_RING_PACKED,
};

/* vdrv_vq_create() flags */
#define VDRV_VQ_NO_ERR_FD	0x1u	/* no err eventfd: QEMU < 7.1 */
#define VDRV_VQ_PACKED		0x2u	/* packed ring (VIRTIO_F_RING_PACKED) */

/* Where a split ring lives; all pointers are into guest memory. */
struct vdrv_split {
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t *used_event;	/* written by the driver: avail->ring[num] */
	uint16_t *avail_event;	/* written by the device: used->ring[num] */
};

/*
 * Where a packed ring lives; the pointers are into guest memory.
 *
 * Ring positions (the driver's next avail slot, its next used slot) are
 * kept encoded as the kernel's GET/SET_VRING_BASE halves and the event
 * suppression off_wrap are: slot in bits 0-14, wrap counter in bit 15. A
 * fresh ring starts at VDRV_PACKED_POS(0, 1) = 0x8000 for both.
 */
struct vdrv_packed {
	struct vring_packed_desc *desc;
	/* Driver event suppression: written by the driver (SET_VRING_ADDR avail). */
	struct vring_packed_desc_event *driver;
	/* Device event suppression: written by the device (SET_VRING_ADDR used). */
	struct vring_packed_desc_event *device;
	uint16_t *pending;	/* private: ids added with NO_PUBLISH */
	unsigned int npending;	/* private */
};

#define VDRV_PACKED_WRAP	0x8000u
#define VDRV_PACKED_POS(slot, wrap)	\
	((uint16_t)((slot) | ((wrap) ? VDRV_PACKED_WRAP : 0)))
#define VDRV_PACKED_SLOT(pos)	((pos) & 0x7fffu)
#define VDRV_PACKED_POS_WRAP(pos)	(!!((pos) & VDRV_PACKED_WRAP))
/*
 * Descriptor flag masks: bits VRING_PACKED_DESC_F_AVAIL (7) and
 * VRING_PACKED_DESC_F_USED (15); the uAPI header gives bit numbers only.
 */
#define VDRV_PDESC_F_AVAIL	0x0080u
#define VDRV_PDESC_F_USED	0x8000u

struct vdrv_ring_ops;
struct vdrv_chain;

/*
 * A virtqueue. Tests read any field; they write only through the functions
 * below, or into guest memory through the ring pointers (hostile tests).
 */
struct vdrv_vq {
	struct vdrv_dev *dev;		/* NULL: served by an in-process fake */
	struct vdrv_mem *mem;
	enum vdrv_ring_format format;
	const struct vdrv_ring_ops *ops;
	unsigned int index;		/* vring index on the device */
	unsigned int num;		/* ring size, a power of two */
	unsigned int flags;		/* VDRV_VQ_* */
	uint64_t features;		/* as negotiated, guest side */
	bool event_idx;			/* VIRTIO_RING_F_EVENT_IDX is on */
	bool log;			/* SET_VRING_ADDR with F_LOG */

	union {				/* by format */
		struct vdrv_split split;
		struct vdrv_packed packed;
	};

	/* EFD_NONBLOCK | EFD_CLOEXEC eventfds; err_fd is -1 with NO_ERR_FD. */
	int kick_fd, call_fd, err_fd;
	uint64_t err_count;		/* err signals seen by vdrv_vq_wait() */

	/*
	 * Value for SET_VRING_BASE; vdrv_vq_get_base() refreshes it. Split:
	 * the avail index. Packed: the avail position in bits 0-15, the used
	 * position in bits 16-31 (see struct vdrv_packed).
	 */
	uint32_t base;

	/*
	 * Driver state. Split: free-running 16-bit indexes. Packed: encoded
	 * positions (slot | wrap counter << 15, see struct vdrv_packed).
	 */
	/* avail_idx runs ahead of avail_pub while NO_PUBLISH adds wait. */
	uint16_t avail_idx;		/* next avail slot */
	uint16_t avail_pub;		/* last idx published */
	uint16_t kicked_idx;		/* avail_pub at the last kick check */
	uint16_t last_used_idx;		/* next used entry to reap */
	bool cb_enabled;		/* used buffer notifications wanted */
	bool broken;			/* the device broke the protocol */
	unsigned int num_free;		/* free descriptors (packed: slots) */
	/* Split: free descriptor list; packed: free buffer id list. */
	uint16_t free_head;
	uint16_t *next;			/* private descriptor (packed: id) links */
	struct vdrv_chain *chains;	/* private per-head state */
};

/*
 * vdrv_vq_create() - allocate a ring of @num entries in @mem (split: a power
 * of two, 1..VDRV_VQ_MAX_NUM; with VDRV_VQ_PACKED a packed ring of any size
 * 1..VDRV_VQ_MAX_NUM), create its kick, call and err eventfds and register
 * it with @dev as vring @index. @dev may be NULL for a vq served by an
 * in-process fake device. NULL + errno on failure (EBUSY if @index is
 * taken, EINVAL for a bad size or flag).
 *
 * A packed vq is for a device that negotiated VIRTIO_F_RING_PACKED: the
 * caller includes that bit in the features it gives vdrv_dev_start(), and
 * the driver side follows virtio 1.1 §2.8: buffer ids from a free list, the
 * id written into every descriptor of a chain, a chain's head flags written
 * last (one release store publishes it), indirect tables of packed
 * descriptors with only WRITE set, event suppression through the driver and
 * device areas (off_wrap with EVENT_IDX, else ENABLE/DISABLE), and one used
 * descriptor per chain, the next one ndesc slots further on.
 */
struct vdrv_vq *vdrv_vq_create(struct vdrv_dev *dev, struct vdrv_mem *mem,
			       unsigned int index, unsigned int num,
			       unsigned int flags);

/* vdrv_vq_destroy() - close the eventfds; the ring stays in guest memory. */
void vdrv_vq_destroy(struct vdrv_vq *vq);

/*
 * vdrv_vq_set_features() - tell the driver side what was negotiated; only
 * VIRTIO_RING_F_EVENT_IDX changes its behaviour. vdrv_dev_start() calls it.
 */
void vdrv_vq_set_features(struct vdrv_vq *vq, uint64_t features);

/*
 * vdrv_vq_set_start_idx() - start the ring at avail/used index @idx instead
 * of 0, as after a migration: sets the driver's indexes, avail->idx,
 * used->idx (the kernel reads it from guest memory when the backend is
 * attached), avail_event = @idx (a kick is due for the next entry, as in a
 * zeroed ring at 0) and the SET_VRING_BASE value. -EBUSY while chains are
 * in flight.
 *
 * Packed: @idx is a position (slot | wrap counter << 15, slot < num, else
 * -EINVAL) where both the driver's avail and used positions start, as in a
 * ring whose every buffer was used: descriptors before the slot carry the
 * AVAIL/USED bits of this lap, the rest those of the previous one, the
 * device area says ENABLE, and SET_VRING_BASE gets @idx | @idx << 16.
 */
int vdrv_vq_set_start_idx(struct vdrv_vq *vq, uint16_t idx);

/* VIRTIO_F_ACCESS_PLATFORM: the device translates through a device IOTLB. */
#define VDRV_F_ACCESS_PLATFORM	33

/*
 * vdrv_vq_addr() - the SET_VRING_ADDR argument for @vq: ring addresses are
 * this process's own virtual addresses (QEMU passes its VAs), the log
 * address is the used ring's GPA (packed: the device area's). Once the
 * device acked VIRTIO_F_ACCESS_PLATFORM the ring addresses are IOVAs, as
 * QEMU passes them behind a vIOMMU; vdrv's are the GPAs, so the caller
 * fills the device IOTLB with IOVA == GPA.
 */
void vdrv_vq_addr(const struct vdrv_vq *vq, struct vhost_vring_addr *addr);

/*
 * vdrv_vq_start() - in QEMU's order: SET_VRING_CALL, SET_VRING_ERR (unless
 * VDRV_VQ_NO_ERR_FD), SET_VRING_NUM, SET_VRING_BASE(vq->base),
 * SET_VRING_ADDR, SET_VRING_KICK. Stops at the first failure.
 */
int vdrv_vq_start(struct vdrv_vq *vq);

/*
 * vdrv_vq_get_base() - VHOST_GET_VRING_BASE, the second half of QEMU's stop
 * (after the caller detached the backend). Stores the result in vq->base,
 * so a later vdrv_vq_start() resumes from it, and in *@base if non-NULL.
 */
int vdrv_vq_get_base(struct vdrv_vq *vq, unsigned int *base);

/* vdrv_vq_set_log() - re-issue SET_VRING_ADDR with/without F_LOG. */
int vdrv_vq_set_log(struct vdrv_vq *vq, bool enable);

/* ------------------------------------------------------------------------
 * Guest driver side of a virtqueue
 */

/*
 * One buffer of a chain. Normally @ptr points into guest memory and @len
 * bytes from it must lie in one region. With @ptr == NULL, @gpa is put in
 * the descriptor as is: for buffers straddling GPA-adjacent regions and for
 * deliberately bad addresses. Initialise by name, e.g.
 * { .ptr = p, .len = n } (-Wextra objects to a partial positional list).
 */
struct vdrv_buf {
	void *ptr;
	uint32_t len;
	uint64_t gpa;
};

/* vdrv_vq_add_flags() flags */
#define VDRV_ADD_INDIRECT	0x1u	/* chain in an indirect table */
/* Leave avail->idx alone: vdrv_vq_publish() exposes the chain later. */
#define VDRV_ADD_NO_PUBLISH	0x2u

/*
 * vdrv_vq_add() - post a chain of @n_out device-readable buffers followed by
 * @n_in device-writable ones, and publish it in the avail ring. @cookie
 * (non-NULL) comes back from vdrv_vq_get_used(). Returns the head
 * descriptor index (packed: the buffer id), or -ENOSPC (not enough free
 * descriptors), -EFAULT (a @ptr outside guest memory) or -EINVAL; on failure
 * nothing changed.
 */
int vdrv_vq_add(struct vdrv_vq *vq, const struct vdrv_buf *out, int n_out,
		const struct vdrv_buf *in, int n_in, void *cookie);

/*
 * vdrv_vq_add_indirect() - the same, but the chain (up to VDRV_INDIRECT_MAX
 * buffers) goes into an indirect table that takes one ring descriptor. The
 * table is allocated in guest memory once per head and reused. Whether
 * VIRTIO_RING_F_INDIRECT_DESC was negotiated is the caller's business.
 */
int vdrv_vq_add_indirect(struct vdrv_vq *vq, const struct vdrv_buf *out,
			 int n_out, const struct vdrv_buf *in, int n_in,
			 void *cookie);

int vdrv_vq_add_flags(struct vdrv_vq *vq, const struct vdrv_buf *out,
		      int n_out, const struct vdrv_buf *in, int n_in,
		      void *cookie, unsigned int flags);

/* vdrv_vq_publish() - make chains added with NO_PUBLISH visible at once. */
void vdrv_vq_publish(struct vdrv_vq *vq);

/*
 * vdrv_vq_kick_prepare() - does the device want a kick for what was
 * published since the last decision? With EVENT_IDX: vdrv_need_event() on
 * the device's avail_event; without: used->flags lacks NO_NOTIFY. Packed:
 * the device area's flags: DISABLE no, ENABLE yes, DESC (with EVENT_IDX)
 * if its off_wrap lies among the slots published since the last decision.
 */
bool vdrv_vq_kick_prepare(struct vdrv_vq *vq);

/* vdrv_vq_kick() - kick if vdrv_vq_kick_prepare(): 1 kicked, 0 not, -errno. */
int vdrv_vq_kick(struct vdrv_vq *vq);

/* vdrv_vq_kick_force() - kick whatever the device asked: 0 or -errno. */
int vdrv_vq_kick_force(struct vdrv_vq *vq);

/*
 * vdrv_vq_get_used() - reap the next used entry: returns its cookie and
 * stores the written length in *@len (if non-NULL). NULL with errno EAGAIN
 * when there is none, EPROTO once the device broke the protocol (used id
 * not in flight, length larger than the chain's writable bytes, used idx
 * more than num ahead); the vq then stays broken, see vdrv_last_error().
 * Packed: the length is the descriptor's when it has WRITE set, else 0.
 */
void *vdrv_vq_get_used(struct vdrv_vq *vq, uint32_t *len);

/* vdrv_vq_used_pending() - used entries the device published, not reaped. */
unsigned int vdrv_vq_used_pending(const struct vdrv_vq *vq);

/*
 * vdrv_vq_enable_cb() - ask for used buffer notifications again. Returns
 * true if nothing is pending (safe to sleep on the call eventfd), false if
 * used entries arrived meanwhile (reap them first).
 */
bool vdrv_vq_enable_cb(struct vdrv_vq *vq);

/*
 * vdrv_vq_disable_cb() - ask for no used buffer notifications: without
 * EVENT_IDX by VRING_AVAIL_F_NO_INTERRUPT, with it by parking used_event
 * half the index space away (the flag must then stay 0, per the spec).
 * Packed: the driver area's flags say DISABLE, in both modes (with
 * notifications on they say DESC, off_wrap the next used position, with
 * EVENT_IDX, else ENABLE). Advisory: the device may still notify.
 */
void vdrv_vq_disable_cb(struct vdrv_vq *vq);

/*
 * vdrv_vq_wait() - wait up to @timeout_ms (< 0: forever) for the call or err
 * eventfd and consume it. 0: call fired; -EIO: err fired (the kernel hit a
 * vq error; counted in err_count, and reported even if call fired too);
 * -ETIMEDOUT; other -errno.
 */
int vdrv_vq_wait(struct vdrv_vq *vq, int timeout_ms);

/*
 * vdrv_vq_wait_used() - vdrv_vq_get_used(), sleeping on the call eventfd
 * (with notifications enabled) until an entry arrives. NULL + errno
 * ETIMEDOUT, EIO (err eventfd) or EPROTO (broken).
 */
void *vdrv_vq_wait_used(struct vdrv_vq *vq, uint32_t *len, int timeout_ms);

/*
 * vdrv_need_event() - virtio's event index test: having moved an index from
 * @old to @new_idx, has it passed @event, i.e. is @event in [@old, @new_idx)
 * modulo 2^16?
 */
static inline bool vdrv_need_event(uint16_t event, uint16_t new_idx,
				   uint16_t old)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

/* ------------------------------------------------------------------------
 * Raw split-ring access for hostile tests. These bypass the free list and
 * the cookies; -EINVAL on a vq of another format.
 */

/* Write descriptor @i (< num) of the ring's table. */
int vdrv_split_set_desc(struct vdrv_vq *vq, unsigned int i, uint64_t addr,
			uint32_t len, uint16_t flags, uint16_t next);
/* Put @head (any value) in the next avail slot and publish it. */
int vdrv_split_push_avail(struct vdrv_vq *vq, uint16_t head);
/* Publish avail->idx = @idx (e.g. a jump); later adds continue from it. */
int vdrv_split_set_avail_idx(struct vdrv_vq *vq, uint16_t idx);
/* Take the next used entry as is: 1 and *@id, *@len set; 0 if none. */
int vdrv_split_pop_used(struct vdrv_vq *vq, uint32_t *id, uint32_t *len);

/* ------------------------------------------------------------------------
 * Raw packed-ring access for hostile tests: the same contract as the split
 * ones (no free list, no cookies, no checks); -EINVAL on a split vq.
 */

/* Write descriptor slot @i (< num) exactly as given, flags included. */
int vdrv_packed_set_desc(struct vdrv_vq *vq, unsigned int i, uint64_t addr,
			 uint32_t len, uint16_t id, uint16_t flags);
/*
 * Make @n (1..num) descriptors available at the driver's next slots, as
 * given but with the AVAIL/USED bits of their lap ORed in (so a chain must
 * say NEXT itself), the first one's flags written last; the avail position
 * moves on by @n. Kicking is the caller's business.
 */
int vdrv_packed_push(struct vdrv_vq *vq, const struct vring_packed_desc *d,
		     unsigned int n);
/*
 * Take the used descriptor at the driver's next used slot as is: 1 with
 * *@id, *@len (raw), *@flags set and the used position moved on by @ndesc
 * (the slots the chain took); 0 if the slot is not used.
 */
int vdrv_packed_pop_used(struct vdrv_vq *vq, unsigned int ndesc,
			 uint16_t *id, uint32_t *len, uint16_t *flags);

/* vdrv_last_error() - what the calling thread's last failure was. */
const char *vdrv_last_error(void);

#endif /* VDRV_H */
