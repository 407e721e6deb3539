/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kvhost: ioctl interface of the vhost character devices.
 *
 * A VMM opens a vhost device (/dev/vhost-net, ...), becomes its owner,
 * describes guest memory and the virtqueues, and hands over eventfds and a
 * backend; the kernel then moves data on the virtqueues itself. Every
 * request number below equals the Linux 6.1 one (same magic, number,
 * direction and argument type), so binaries built against the upstream
 * header work unchanged. Argument structures are in <linux/vhost_types.h>.
 */
#ifndef KVHOST_UAPI_LINUX_VHOST_H
#define KVHOST_UAPI_LINUX_VHOST_H

#include <linux/vhost_types.h>
#include <linux/types.h>
#include <linux/ioctl.h>

/* ioctl magic shared by every vhost device. */
#define VHOST_VIRTIO 0xAF

/* Value of vhost_vring_file.fd that detaches the current file. */
#define VHOST_FILE_UNBIND -1

/*
 * Device-wide setup
 */

/* Features the device offers / the VMM accepted (virtio + VHOST_F_* bits). */
#define VHOST_GET_FEATURES	_IOR(VHOST_VIRTIO, 0x00, __u64)
#define VHOST_SET_FEATURES	_IOW(VHOST_VIRTIO, 0x00, __u64)

/*
 * Claim the device for the calling process (its mm is the one the rings
 * and buffers are accessed through). Most other requests need an owner.
 * A second SET_OWNER fails until RESET_OWNER tears everything down again.
 */
#define VHOST_SET_OWNER		_IO(VHOST_VIRTIO, 0x01)
#define VHOST_RESET_OWNER	_IO(VHOST_VIRTIO, 0x02)

/* Install a new guest memory map (struct vhost_memory plus its regions). */
#define VHOST_SET_MEM_TABLE	_IOW(VHOST_VIRTIO, 0x03, struct vhost_memory)

/*
 * Dirty logging for live migration: the device sets one bit per
 * VHOST_PAGE_SIZE page of guest memory it writes, using atomic 32-bit
 * updates of the bitmap at the given user address, and may signal the
 * given eventfd afterwards.
 */
#define VHOST_SET_LOG_BASE	_IOW(VHOST_VIRTIO, 0x04, __u64)
#define VHOST_SET_LOG_FD	_IOW(VHOST_VIRTIO, 0x07, int)

/*
 * Virtqueue setup. The ring size and the base index cannot be changed
 * while a backend is attached to the queue.
 */
#define VHOST_SET_VRING_NUM \
	_IOW(VHOST_VIRTIO, 0x10, struct vhost_vring_state)
#define VHOST_SET_VRING_ADDR \
	_IOW(VHOST_VIRTIO, 0x11, struct vhost_vring_addr)
/* Next available index to process; GET takes @index, returns it in @num. */
#define VHOST_SET_VRING_BASE \
	_IOW(VHOST_VIRTIO, 0x12, struct vhost_vring_state)
#define VHOST_GET_VRING_BASE \
	_IOWR(VHOST_VIRTIO, 0x12, struct vhost_vring_state)

/*
 * Byte order of a legacy (pre-VERSION_1) ring, in @num. Only some kernel
 * configurations implement these; where SET works, GET works too. Changing
 * it on a running queue gives -EBUSY. GET is declared write-only although
 * it returns a value: that is how the number was published.
 */
#define VHOST_VRING_LITTLE_ENDIAN 0
#define VHOST_VRING_BIG_ENDIAN 1
#define VHOST_SET_VRING_ENDIAN \
	_IOW(VHOST_VIRTIO, 0x13, struct vhost_vring_state)
#define VHOST_GET_VRING_ENDIAN \
	_IOW(VHOST_VIRTIO, 0x14, struct vhost_vring_state)

/*
 * Per-queue eventfds: KICK is polled for new buffers from the guest, CALL
 * is signalled when buffers were used, ERR is signalled on a queue error.
 */
#define VHOST_SET_VRING_KICK \
	_IOW(VHOST_VIRTIO, 0x20, struct vhost_vring_file)
#define VHOST_SET_VRING_CALL \
	_IOW(VHOST_VIRTIO, 0x21, struct vhost_vring_file)
#define VHOST_SET_VRING_ERR \
	_IOW(VHOST_VIRTIO, 0x22, struct vhost_vring_file)

/* Busy-polling budget of a queue in microseconds (GET is _IOW as well). */
#define VHOST_SET_VRING_BUSYLOOP_TIMEOUT \
	_IOW(VHOST_VIRTIO, 0x23, struct vhost_vring_state)
#define VHOST_GET_VRING_BUSYLOOP_TIMEOUT \
	_IOW(VHOST_VIRTIO, 0x24, struct vhost_vring_state)

/* Capabilities of the vhost layer itself (VHOST_BACKEND_F_* bit numbers). */
#define VHOST_SET_BACKEND_FEATURES	_IOW(VHOST_VIRTIO, 0x25, __u64)
#define VHOST_GET_BACKEND_FEATURES	_IOR(VHOST_VIRTIO, 0x26, __u64)

/*
 * vhost-net
 *
 * Connect a queue to a tap/macvtap fd or a bound raw packet socket. With
 * fd VHOST_FILE_UNBIND the queue is disconnected and stops, which is how a
 * VMM quiesces it (e.g. before migration).
 */
#define VHOST_NET_SET_BACKEND \
	_IOW(VHOST_VIRTIO, 0x30, struct vhost_vring_file)

/*
 * vhost-scsi (0x40-0x44)
 */
#define VHOST_SCSI_SET_ENDPOINT	\
	_IOW(VHOST_VIRTIO, 0x40, struct vhost_scsi_target)
#define VHOST_SCSI_CLEAR_ENDPOINT \
	_IOW(VHOST_VIRTIO, 0x41, struct vhost_scsi_target)
/* Reports VHOST_SCSI_ABI_VERSION; this number must never change. */
#define VHOST_SCSI_GET_ABI_VERSION	_IOW(VHOST_VIRTIO, 0x42, int)
/* The "events were dropped" flag of the event queue (both are _IOW). */
#define VHOST_SCSI_SET_EVENTS_MISSED	_IOW(VHOST_VIRTIO, 0x43, __u32)
#define VHOST_SCSI_GET_EVENTS_MISSED	_IOW(VHOST_VIRTIO, 0x44, __u32)

/*
 * vhost-vsock (0x60-0x61)
 */
#define VHOST_VSOCK_SET_GUEST_CID	_IOW(VHOST_VIRTIO, 0x60, __u64)
#define VHOST_VSOCK_SET_RUNNING		_IOW(VHOST_VIRTIO, 0x61, int)

/*
 * vhost-vdpa (0x70-0x7d, 0x80-0x81)
 */
/* Virtio device ID and device status byte, as defined by the virtio spec. */
#define VHOST_VDPA_GET_DEVICE_ID	_IOR(VHOST_VIRTIO, 0x70, __u32)
#define VHOST_VDPA_GET_STATUS		_IOR(VHOST_VIRTIO, 0x71, __u8)
#define VHOST_VDPA_SET_STATUS		_IOW(VHOST_VIRTIO, 0x72, __u8)
/* Access the device config space through struct vhost_vdpa_config. */
#define VHOST_VDPA_GET_CONFIG \
	_IOR(VHOST_VIRTIO, 0x73, struct vhost_vdpa_config)
#define VHOST_VDPA_SET_CONFIG \
	_IOW(VHOST_VIRTIO, 0x74, struct vhost_vdpa_config)
/* Start or stop queue @index (@num != 0 enables). */
#define VHOST_VDPA_SET_VRING_ENABLE \
	_IOW(VHOST_VIRTIO, 0x75, struct vhost_vring_state)
/* Largest ring size the device supports. */
#define VHOST_VDPA_GET_VRING_NUM	_IOR(VHOST_VIRTIO, 0x76, __u16)
/* Eventfd signalled on a config space change. */
#define VHOST_VDPA_SET_CONFIG_CALL	_IOW(VHOST_VIRTIO, 0x77, int)
/* IOVA window the device can map. */
#define VHOST_VDPA_GET_IOVA_RANGE \
	_IOR(VHOST_VIRTIO, 0x78, struct vhost_vdpa_iova_range)
/* Size of the device config space. */
#define VHOST_VDPA_GET_CONFIG_SIZE	_IOR(VHOST_VIRTIO, 0x79, __u32)
/* Number of address spaces. */
#define VHOST_VDPA_GET_AS_NUM \
	_IOR(VHOST_VIRTIO, 0x7A, unsigned int)
/* Group of queue @index, returned in @num. */
#define VHOST_VDPA_GET_VRING_GROUP \
	_IOWR(VHOST_VIRTIO, 0x7B, struct vhost_vring_state)
/* Bind queue group @index to address space @num. */
#define VHOST_VDPA_SET_GROUP_ASID \
	_IOW(VHOST_VIRTIO, 0x7C, struct vhost_vring_state)
/*
 * Stop processing all queues while keeping their state (ring bases and
 * device state) so that it can be read back and restored later; the
 * config space no longer changes. Needs VHOST_BACKEND_F_SUSPEND.
 */
#define VHOST_VDPA_SUSPEND		_IO(VHOST_VIRTIO, 0x7D)
/* Number of virtqueues, and of virtqueue groups. */
#define VHOST_VDPA_GET_VQS_COUNT	_IOR(VHOST_VIRTIO, 0x80, __u32)
#define VHOST_VDPA_GET_GROUP_NUM	_IOR(VHOST_VIRTIO, 0x81, __u32)

#endif /* KVHOST_UAPI_LINUX_VHOST_H */
