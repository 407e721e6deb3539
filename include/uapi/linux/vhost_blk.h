/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kvhost: ioctl interface of the vhost-blk device.
 *
 * vhost-blk serves a virtio-blk device's request queues in the kernel,
 * from a block device or a regular file. It uses the generic vhost
 * requests of <linux/vhost.h> for ownership, memory map, rings and
 * eventfds, plus the device-specific requests below.
 *
 * The VMM emulates the virtio-blk configuration space itself. It builds it
 * from VHOST_BLK_GET_CONFIG, and offers the guest only the feature bits
 * that both VHOST_GET_FEATURES and VHOST_BLK_GET_CONFIG report.
 *
 * Numbers 0x50-0x5f of the VHOST_VIRTIO magic are set aside for vhost-blk.
 * Linux 6.1's <linux/vhost.h> leaves that range unused (vhost-net sits at
 * 0x30, vhost-scsi at 0x40-0x44, vhost-vsock at 0x60).
 */
#ifndef KVHOST_UAPI_LINUX_VHOST_BLK_H
#define KVHOST_UAPI_LINUX_VHOST_BLK_H

#include <linux/types.h>
#include <linux/vhost.h>

/* Request queues one vhost-blk device can have, each with its own worker. */
#define VHOST_BLK_MAX_QUEUES	16

/* Length of the serial number that VIRTIO_BLK_T_GET_ID returns. */
#define VHOST_BLK_SERIAL_LEN	20

/*
 * Attach the backing file @fd (a block device or a regular file) to
 * virtqueue @index. With @fd == VHOST_FILE_UNBIND the queue is detached
 * instead; the call returns once all I/O it had in flight has completed
 * and its used entries are in the ring. A file opened read-only makes
 * every write fail with VIRTIO_BLK_S_IOERR. A file opened with O_DIRECT
 * is read and written with direct I/O, bypassing the host page cache.
 *
 * Errors: EFAULT, ENOBUFS (no such queue), EBADF (@fd is not open),
 * EINVAL (@fd is neither a block device nor a regular file, or the queue
 * is not fully configured), EBUSY (another file is attached; detach it
 * first), EPERM (not the owner).
 *
 * The number is the one of the earliest published vhost-blk interface (as
 * used by kvmtool), kept so that such users work unchanged.
 */
#define VHOST_BLK_SET_BACKEND \
	_IOW(VHOST_VIRTIO, 0x50, struct vhost_vring_file)

/* vhost_blk_config.flags */
/* The backend is a block device (else a regular file). */
#define VHOST_BLK_CONFIG_F_BDEV		(1U << 0)
/* I/O bypasses the host page cache (the file was opened O_DIRECT). */
#define VHOST_BLK_CONFIG_F_DIRECT	(1U << 1)
/* WRITE_ZEROES with the UNMAP flag may deallocate the range. */
#define VHOST_BLK_CONFIG_F_WZ_MAY_UNMAP	(1U << 2)

/**
 * struct vhost_blk_config - what a VMM needs for the virtio-blk config space
 * @fd: in: the backing file to describe (it need not be attached)
 * @flags: out: VHOST_BLK_CONFIG_F_*
 * @features: out: the VIRTIO_BLK_F_* bits this backend supports:
 *	SIZE_MAX, SEG_MAX, BLK_SIZE, TOPOLOGY, FLUSH and MQ always; RO for a read-only
 *	file or device; DISCARD, WRITE_ZEROES and SECURE_ERASE where the
 *	backend can do them
 * @capacity: out: size in 512-byte sectors (a partial last sector is not
 *	usable)
 * @logical_block_size: out: bytes (blk_size in the config space)
 * @physical_block_size: out: bytes (physical_block_exp is derived from it)
 * @min_io_size: out: bytes
 * @opt_io_size: out: bytes
 * @seg_max: out: largest number of data segments in one request
 * @size_max: out: largest data segment, in bytes
 * @max_sectors: out: largest data length of one request, in 512-byte
 *	sectors; longer requests fail with VIRTIO_BLK_S_IOERR
 * @max_discard_sectors: out: per DISCARD segment
 * @max_discard_seg: out: segments per DISCARD request
 * @discard_sector_alignment: out: in 512-byte sectors
 * @max_write_zeroes_sectors: out: per WRITE_ZEROES segment
 * @max_write_zeroes_seg: out: segments per WRITE_ZEROES request
 * @max_secure_erase_sectors: out: per SECURE_ERASE segment
 * @max_secure_erase_seg: out: segments per SECURE_ERASE request
 * @secure_erase_sector_alignment: out: in 512-byte sectors
 * @num_queues: out: VHOST_BLK_MAX_QUEUES
 * @reserved: out: zero
 */
struct vhost_blk_config {
	__s32 fd;
	__u32 flags;
	__u64 features;
	__u64 capacity;
	__u32 logical_block_size;
	__u32 physical_block_size;
	__u32 min_io_size;
	__u32 opt_io_size;
	__u32 seg_max;
	__u32 size_max;
	__u32 max_sectors;
	__u32 max_discard_sectors;
	__u32 max_discard_seg;
	__u32 discard_sector_alignment;
	__u32 max_write_zeroes_sectors;
	__u32 max_write_zeroes_seg;
	__u32 max_secure_erase_sectors;
	__u32 max_secure_erase_seg;
	__u32 secure_erase_sector_alignment;
	__u32 num_queues;
	__u32 reserved[8];
};

/*
 * Describe the backing file vhost_blk_config.fd. Needs no owner and
 * changes nothing. Errors: EFAULT, EBADF, EINVAL (neither a block device
 * nor a regular file).
 */
#define VHOST_BLK_GET_CONFIG \
	_IOWR(VHOST_VIRTIO, 0x51, struct vhost_blk_config)

/**
 * struct vhost_blk_serial - the device's serial number
 * @id: returned by VIRTIO_BLK_T_GET_ID, padded with NUL bytes; a serial of
 *	exactly VHOST_BLK_SERIAL_LEN bytes has no terminating NUL
 */
struct vhost_blk_serial {
	char id[VHOST_BLK_SERIAL_LEN];
};

/*
 * Set the serial number for GET_ID; until then GET_ID returns 20 NUL bytes.
 * Owner only. Errors: EFAULT, EPERM.
 */
#define VHOST_BLK_SET_SERIAL \
	_IOW(VHOST_VIRTIO, 0x52, struct vhost_blk_serial)

#endif /* KVHOST_UAPI_LINUX_VHOST_BLK_H */
