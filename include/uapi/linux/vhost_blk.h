/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kvhost: ioctl interface of the vhost-blk device.
 *
 * vhost-blk serves a virtio-blk device's request queues in the kernel,
 * from a block device or a regular file. It uses the generic vhost
 * requests of <linux/vhost.h> for ownership, memory map, rings and
 * eventfds, plus the device-specific requests below.
 *
 * Numbers 0x50-0x5f of the VHOST_VIRTIO magic are set aside for vhost-blk.
 * Linux 6.1's <linux/vhost.h> leaves that range unused (vhost-net sits at
 * 0x30, vhost-scsi at 0x40-0x44, vhost-vsock at 0x60). More requests,
 * such as device config and serial number, will be added in this range.
 */
#ifndef KVHOST_UAPI_LINUX_VHOST_BLK_H
#define KVHOST_UAPI_LINUX_VHOST_BLK_H

#include <linux/vhost.h>

/*
 * Attach the backing file @fd (a block device or a regular file) to
 * virtqueue @index. With @fd == VHOST_FILE_UNBIND the queue is detached
 * instead; the call returns once all I/O it had in flight has completed.
 *
 * The number is the one of the earliest published vhost-blk interface (as
 * used by kvmtool), kept so that such users work unchanged.
 */
#define VHOST_BLK_SET_BACKEND \
	_IOW(VHOST_VIRTIO, 0x50, struct vhost_vring_file)

#endif /* KVHOST_UAPI_LINUX_VHOST_BLK_H */
