/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kvhost: data types shared by the vhost character devices and userspace.
 *
 * These are the argument structures of the ioctls in <linux/vhost.h>, the
 * messages exchanged through read()/write() on a vhost fd for the device
 * IOTLB, and the vhost-specific feature bits. Names, values and memory
 * layout match the Linux 6.1 uAPI exactly, so that existing VMMs (QEMU,
 * DPDK, kvmtool, ...) build and run unchanged against this header.
 */
#ifndef KVHOST_UAPI_LINUX_VHOST_TYPES_H
#define KVHOST_UAPI_LINUX_VHOST_TYPES_H

#include <linux/types.h>

/*
 * Not needed by anything below. Kept because users of the vhost headers
 * have long picked up the virtio feature and ring definitions through them.
 */
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

/*
 * Virtqueue parameters
 */

/*
 * A (queue index, number) pair. What @num means depends on the ioctl: ring
 * size, next avail index, byte order, busy-poll budget in microseconds, ...
 */
struct vhost_vring_state {
	unsigned int index;
	unsigned int num;
};

/*
 * A (queue index, file descriptor) pair: an eventfd for kick/call/err, or
 * a backend file. @fd == VHOST_FILE_UNBIND (-1) detaches what was set.
 */
struct vhost_vring_file {
	unsigned int index;
	int fd;
};

/*
 * Where the three parts of a split ring live, as addresses in the VMM's
 * address space (IOVAs when a device IOTLB is in use). @log_guest_addr is
 * a guest-physical address and is only meaningful with VHOST_VRING_F_LOG.
 */
struct vhost_vring_addr {
	unsigned int index;
	/* Bit numbers of @flags: LOG logs used ring writes (see below) */
#define VHOST_VRING_F_LOG 0
	unsigned int flags;
	__u64 desc_user_addr;	/* descriptor table */
	__u64 used_user_addr;	/* used ring, 4-byte aligned */
	__u64 avail_user_addr;	/* available ring, 2-byte aligned */
	__u64 log_guest_addr;	/* used ring in guest RAM, 4-byte aligned */
};

/*
 * Guest memory map
 */

/*
 * Page size of the interface: memory regions are meant to be multiples of
 * it, and the dirty log holds one bit per such page.
 */
#define VHOST_PAGE_SIZE 0x1000

/* One contiguous range of guest-physical memory and where it is mapped. */
struct vhost_memory_region {
	__u64 guest_phys_addr;
	__u64 memory_size;		/* in bytes */
	__u64 userspace_addr;
	__u64 flags_padding;		/* no flags defined; set to 0 */
};

/* Header of VHOST_SET_MEM_TABLE's argument, followed by @nregions regions. */
struct vhost_memory {
	__u32 nregions;
	__u32 padding;			/* must be 0 */
	struct vhost_memory_region regions[];
};

/*
 * Device IOTLB messages, read from and written to the vhost fd
 */

/* Framing of a message: the value of vhost_msg.type / vhost_msg_v2.type */
#define VHOST_IOTLB_MSG 0x1
#define VHOST_IOTLB_MSG_V2 0x2

/*
 * One IOTLB request or reply. Messages are copied in and out of user
 * memory, so they need no particular alignment there. On 64-bit the
 * structure is 32 bytes, the last 6 of them padding.
 */
struct vhost_iotlb_msg {
	__u64 iova;
	__u64 size;
	__u64 uaddr;
	/* Values of @perm */
#define VHOST_ACCESS_RO 0x1
#define VHOST_ACCESS_WO 0x2
#define VHOST_ACCESS_RW 0x3
	__u8 perm;
	/*
	 * Values of @type. A run of UPDATE messages may be bracketed by
	 * BATCH_BEGIN and BATCH_END (needs VHOST_BACKEND_F_IOTLB_BATCH) so
	 * the device can apply the whole set in one step; the other fields
	 * of the two bracket messages are not looked at.
	 */
#define VHOST_IOTLB_MISS 1		/* device -> VMM: no translation */
#define VHOST_IOTLB_UPDATE 2		/* VMM -> device: add a mapping */
#define VHOST_IOTLB_INVALIDATE 3	/* VMM -> device: drop mappings */
#define VHOST_IOTLB_ACCESS_FAIL 4	/* access not permitted */
#define VHOST_IOTLB_BATCH_BEGIN 5
#define VHOST_IOTLB_BATCH_END 6
	__u8 type;
};

/*
 * Original framing (VHOST_IOTLB_MSG). On 64-bit, @type is followed by a
 * 4-byte hole, as the union is 8-byte aligned.
 */
struct vhost_msg {
	int type;
	union {
		struct vhost_iotlb_msg iotlb;
		__u8 padding[64];
	};
};

/*
 * Framing negotiated with VHOST_BACKEND_F_IOTLB_MSG_V2. @asid selects the
 * address space (only with VHOST_BACKEND_F_IOTLB_ASID, otherwise 0).
 */
struct vhost_msg_v2 {
	__u32 type;
	__u32 asid;
	union {
		struct vhost_iotlb_msg iotlb;
		__u8 padding[64];
	};
};

/*
 * vhost-scsi
 */

/* Revision of the vhost-scsi interface reported by GET_ABI_VERSION. */
#define VHOST_SCSI_ABI_VERSION 1

/* Target endpoint; @vhost_wwpn holds a TRANSPORT_IQN_LEN-sized name. */
struct vhost_scsi_target {
	int abi_version;
	char vhost_wwpn[224];
	unsigned short vhost_tpgt;	/* ignored since ABI revision 1 */
	unsigned short reserved;
};

/*
 * vhost-vdpa
 */

/* A window into the device config space: @len bytes at @off in @buf. */
struct vhost_vdpa_config {
	__u32 off;
	__u32 len;
	__u8 buf[];
};

/* Inclusive range of IOVAs the vDPA device is able to map. */
struct vhost_vdpa_iova_range {
	__u64 first;
	__u64 last;
};

/*
 * Feature bits. The following two are bit numbers within the word of
 * VHOST_GET_FEATURES / VHOST_SET_FEATURES, next to the virtio ones.
 */

/* Log every guest memory write; may be toggled while the device runs. */
#define VHOST_F_LOG_ALL 26
/*
 * vhost-net itself adds a struct virtio_net_hdr to packets going to the
 * guest and strips it from packets coming from the guest (for backends
 * that carry no such header).
 */
#define VHOST_NET_F_VIRTIO_NET_HDR 27

/*
 * Bit numbers within the word of VHOST_GET_BACKEND_FEATURES /
 * VHOST_SET_BACKEND_FEATURES (the values are bit positions, not masks).
 */

/* IOTLB messages use struct vhost_msg_v2 framing. */
#define VHOST_BACKEND_F_IOTLB_MSG_V2 0x1
/* IOTLB UPDATEs may be grouped between BATCH_BEGIN and BATCH_END. */
#define VHOST_BACKEND_F_IOTLB_BATCH 0x2
/* vhost_msg_v2.asid is honoured. */
#define VHOST_BACKEND_F_IOTLB_ASID 0x3
/* VHOST_VDPA_SUSPEND is supported. */
#define VHOST_BACKEND_F_SUSPEND 0x4

#endif /* KVHOST_UAPI_LINUX_VHOST_TYPES_H */
