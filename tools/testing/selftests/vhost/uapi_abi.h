/* SPDX-License-Identifier: GPL-2.0 */
/*
 * uapi_abi: what one compilation unit sees of the vhost uAPI.
 *
 * uapi_abi_ours.c (built against kvhost's include/uapi) and uapi_abi_sys.c
 * (built against the installed system headers) each turn the list of names
 * at the end of this file into a table of (name, value) entries: ioctl
 * numbers, constants, and the size, alignment, field offsets and field
 * sizes of every structure. uapi_abi.c compares the two tables with each
 * other and with values written out by hand.
 *
 * The first part of this file is an ordinary header. The second part is
 * the list itself; a table unit includes this file once more, inside an
 * array initializer, with UAPI_ABI_LIST_VHOST or UAPI_ABI_LIST_BLK
 * defined. Nothing in this file includes a vhost header.
 */
#ifndef UAPI_ABI_H
#define UAPI_ABI_H

#include <limits.h>
#include <stddef.h>

enum uapi_abi_kind {
	UAPI_ABI_IOCTL,		/* an ioctl request number */
	UAPI_ABI_CONST,		/* any other macro with a numeric value */
	UAPI_ABI_SIZEOF,	/* sizeof a structure */
	UAPI_ABI_ALIGNOF,	/* alignment of a structure */
	UAPI_ABI_OFFSETOF,	/* offset of a field */
	UAPI_ABI_FIELDSIZE,	/* size of a field; of one element for a [] */
};

struct uapi_abi_entry {
	const char *name;
	long long value;
	enum uapi_abi_kind kind;
};

struct uapi_abi_table {
	const char *origin;
	const struct uapi_abi_entry *entries;
	size_t count;
};

/*
 * Value of an entry whose macro is not defined by the headers the unit was
 * built against. Only uapi_abi_sys.c produces it (see its fallbacks); in
 * uapi_abi_ours.c a missing name is a build error.
 */
#define UAPI_ABI_ABSENT LLONG_MIN

/* Generic vhost, vhost-net/scsi/vsock/vdpa: from our headers and system's. */
extern const struct uapi_abi_table uapi_abi_ours;
extern const struct uapi_abi_table uapi_abi_sys;
/* vhost-blk: only our headers have it. */
extern const struct uapi_abi_table uapi_abi_ours_blk;

#define UAPI_ABI_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* First and last ioctl number (_IOC_NR) set aside for vhost-blk */
#define UAPI_ABI_BLK_NR_FIRST	0x50
#define UAPI_ABI_BLK_NR_LAST	0x5f

/*
 * Entry names, built from the stringified type and member, e.g.
 * "offsetof(struct vhost_vring_addr, flags)". uapi_abi.c spells its
 * expected values with the same macros.
 */
#define UAPI_ABI_SIZEOF_NAME(ts)	"sizeof(" ts ")"
#define UAPI_ABI_ALIGNOF_NAME(ts)	"__alignof__(" ts ")"
#define UAPI_ABI_OFFSETOF_NAME(ts, ms)	"offsetof(" ts ", " ms ")"
#define UAPI_ABI_FIELDSIZE_NAME(ts, ms)	"sizeof_field(" ts ", " ms ")"
#define UAPI_ABI_ELEMSIZE_NAME(ts, ms)	"sizeof_field(" ts ", " ms "[0])"

/* One entry each, as used in the list below */
#define UAPI_ABI_IOCTL(n) \
	{ .name = #n, .value = (long long)(n), .kind = UAPI_ABI_IOCTL }
#define UAPI_ABI_CONST(n) \
	{ .name = #n, .value = (long long)(n), .kind = UAPI_ABI_CONST }
#define UAPI_ABI_SIZEOF(type) \
	{ .name = UAPI_ABI_SIZEOF_NAME(#type), .value = sizeof(type), \
	  .kind = UAPI_ABI_SIZEOF }
#define UAPI_ABI_ALIGNOF(type) \
	{ .name = UAPI_ABI_ALIGNOF_NAME(#type), .value = __alignof__(type), \
	  .kind = UAPI_ABI_ALIGNOF }
#define UAPI_ABI_OFFSETOF(type, member) \
	{ .name = UAPI_ABI_OFFSETOF_NAME(#type, #member), \
	  .value = offsetof(type, member), .kind = UAPI_ABI_OFFSETOF }
#define UAPI_ABI_FIELDSIZE(type, member) \
	{ .name = UAPI_ABI_FIELDSIZE_NAME(#type, #member), \
	  .value = sizeof((*(type *)0).member), .kind = UAPI_ABI_FIELDSIZE }
/* For a flexible array member: the size of one element */
#define UAPI_ABI_ELEMSIZE(type, member) \
	{ .name = UAPI_ABI_ELEMSIZE_NAME(#type, #member), \
	  .value = sizeof((*(type *)0).member[0]), \
	  .kind = UAPI_ABI_FIELDSIZE }

#endif /* UAPI_ABI_H */

/*
 * The list. To add a name: put it here, give it an expected value in
 * uapi_abi.c and, for a macro of the generic list, a fallback in
 * uapi_abi_sys.c.
 */
#if defined(UAPI_ABI_LIST_VHOST)

/* Every ioctl of Linux 6.1's <linux/vhost.h> */
UAPI_ABI_IOCTL(VHOST_GET_FEATURES),
UAPI_ABI_IOCTL(VHOST_SET_FEATURES),
UAPI_ABI_IOCTL(VHOST_SET_OWNER),
UAPI_ABI_IOCTL(VHOST_RESET_OWNER),
UAPI_ABI_IOCTL(VHOST_SET_MEM_TABLE),
UAPI_ABI_IOCTL(VHOST_SET_LOG_BASE),
UAPI_ABI_IOCTL(VHOST_SET_LOG_FD),
UAPI_ABI_IOCTL(VHOST_SET_VRING_NUM),
UAPI_ABI_IOCTL(VHOST_SET_VRING_ADDR),
UAPI_ABI_IOCTL(VHOST_SET_VRING_BASE),
UAPI_ABI_IOCTL(VHOST_GET_VRING_BASE),
UAPI_ABI_IOCTL(VHOST_SET_VRING_ENDIAN),
UAPI_ABI_IOCTL(VHOST_GET_VRING_ENDIAN),
UAPI_ABI_IOCTL(VHOST_SET_VRING_KICK),
UAPI_ABI_IOCTL(VHOST_SET_VRING_CALL),
UAPI_ABI_IOCTL(VHOST_SET_VRING_ERR),
UAPI_ABI_IOCTL(VHOST_SET_VRING_BUSYLOOP_TIMEOUT),
UAPI_ABI_IOCTL(VHOST_GET_VRING_BUSYLOOP_TIMEOUT),
UAPI_ABI_IOCTL(VHOST_SET_BACKEND_FEATURES),
UAPI_ABI_IOCTL(VHOST_GET_BACKEND_FEATURES),
UAPI_ABI_IOCTL(VHOST_NET_SET_BACKEND),
UAPI_ABI_IOCTL(VHOST_SCSI_SET_ENDPOINT),
UAPI_ABI_IOCTL(VHOST_SCSI_CLEAR_ENDPOINT),
UAPI_ABI_IOCTL(VHOST_SCSI_GET_ABI_VERSION),
UAPI_ABI_IOCTL(VHOST_SCSI_SET_EVENTS_MISSED),
UAPI_ABI_IOCTL(VHOST_SCSI_GET_EVENTS_MISSED),
UAPI_ABI_IOCTL(VHOST_VSOCK_SET_GUEST_CID),
UAPI_ABI_IOCTL(VHOST_VSOCK_SET_RUNNING),
UAPI_ABI_IOCTL(VHOST_VDPA_GET_DEVICE_ID),
UAPI_ABI_IOCTL(VHOST_VDPA_GET_STATUS),
UAPI_ABI_IOCTL(VHOST_VDPA_SET_STATUS),
UAPI_ABI_IOCTL(VHOST_VDPA_GET_CONFIG),
UAPI_ABI_IOCTL(VHOST_VDPA_SET_CONFIG),
UAPI_ABI_IOCTL(VHOST_VDPA_SET_VRING_ENABLE),
UAPI_ABI_IOCTL(VHOST_VDPA_GET_VRING_NUM),
UAPI_ABI_IOCTL(VHOST_VDPA_SET_CONFIG_CALL),
UAPI_ABI_IOCTL(VHOST_VDPA_GET_IOVA_RANGE),
UAPI_ABI_IOCTL(VHOST_VDPA_GET_CONFIG_SIZE),
UAPI_ABI_IOCTL(VHOST_VDPA_GET_AS_NUM),
UAPI_ABI_IOCTL(VHOST_VDPA_GET_VRING_GROUP),
UAPI_ABI_IOCTL(VHOST_VDPA_SET_GROUP_ASID),
UAPI_ABI_IOCTL(VHOST_VDPA_SUSPEND),
UAPI_ABI_IOCTL(VHOST_VDPA_GET_VQS_COUNT),
UAPI_ABI_IOCTL(VHOST_VDPA_GET_GROUP_NUM),

/* Every other numeric macro of Linux 6.1's vhost.h and vhost_types.h */
UAPI_ABI_CONST(VHOST_VIRTIO),
UAPI_ABI_CONST(VHOST_FILE_UNBIND),
UAPI_ABI_CONST(VHOST_VRING_F_LOG),
UAPI_ABI_CONST(VHOST_VRING_LITTLE_ENDIAN),
UAPI_ABI_CONST(VHOST_VRING_BIG_ENDIAN),
UAPI_ABI_CONST(VHOST_PAGE_SIZE),
UAPI_ABI_CONST(VHOST_IOTLB_MSG),
UAPI_ABI_CONST(VHOST_IOTLB_MSG_V2),
UAPI_ABI_CONST(VHOST_ACCESS_RO),
UAPI_ABI_CONST(VHOST_ACCESS_WO),
UAPI_ABI_CONST(VHOST_ACCESS_RW),
UAPI_ABI_CONST(VHOST_IOTLB_MISS),
UAPI_ABI_CONST(VHOST_IOTLB_UPDATE),
UAPI_ABI_CONST(VHOST_IOTLB_INVALIDATE),
UAPI_ABI_CONST(VHOST_IOTLB_ACCESS_FAIL),
UAPI_ABI_CONST(VHOST_IOTLB_BATCH_BEGIN),
UAPI_ABI_CONST(VHOST_IOTLB_BATCH_END),
UAPI_ABI_CONST(VHOST_SCSI_ABI_VERSION),
UAPI_ABI_CONST(VHOST_F_LOG_ALL),
UAPI_ABI_CONST(VHOST_NET_F_VIRTIO_NET_HDR),
UAPI_ABI_CONST(VHOST_BACKEND_F_IOTLB_MSG_V2),
UAPI_ABI_CONST(VHOST_BACKEND_F_IOTLB_BATCH),
UAPI_ABI_CONST(VHOST_BACKEND_F_IOTLB_ASID),
UAPI_ABI_CONST(VHOST_BACKEND_F_SUSPEND),

/*
 * Every structure and every field. Members of anonymous unions are listed
 * as fields of the enclosing structure.
 */
UAPI_ABI_SIZEOF(struct vhost_vring_state),
UAPI_ABI_ALIGNOF(struct vhost_vring_state),
UAPI_ABI_OFFSETOF(struct vhost_vring_state, index),
UAPI_ABI_FIELDSIZE(struct vhost_vring_state, index),
UAPI_ABI_OFFSETOF(struct vhost_vring_state, num),
UAPI_ABI_FIELDSIZE(struct vhost_vring_state, num),

UAPI_ABI_SIZEOF(struct vhost_vring_file),
UAPI_ABI_ALIGNOF(struct vhost_vring_file),
UAPI_ABI_OFFSETOF(struct vhost_vring_file, index),
UAPI_ABI_FIELDSIZE(struct vhost_vring_file, index),
UAPI_ABI_OFFSETOF(struct vhost_vring_file, fd),
UAPI_ABI_FIELDSIZE(struct vhost_vring_file, fd),

UAPI_ABI_SIZEOF(struct vhost_vring_addr),
UAPI_ABI_ALIGNOF(struct vhost_vring_addr),
UAPI_ABI_OFFSETOF(struct vhost_vring_addr, index),
UAPI_ABI_FIELDSIZE(struct vhost_vring_addr, index),
UAPI_ABI_OFFSETOF(struct vhost_vring_addr, flags),
UAPI_ABI_FIELDSIZE(struct vhost_vring_addr, flags),
UAPI_ABI_OFFSETOF(struct vhost_vring_addr, desc_user_addr),
UAPI_ABI_FIELDSIZE(struct vhost_vring_addr, desc_user_addr),
UAPI_ABI_OFFSETOF(struct vhost_vring_addr, used_user_addr),
UAPI_ABI_FIELDSIZE(struct vhost_vring_addr, used_user_addr),
UAPI_ABI_OFFSETOF(struct vhost_vring_addr, avail_user_addr),
UAPI_ABI_FIELDSIZE(struct vhost_vring_addr, avail_user_addr),
UAPI_ABI_OFFSETOF(struct vhost_vring_addr, log_guest_addr),
UAPI_ABI_FIELDSIZE(struct vhost_vring_addr, log_guest_addr),

UAPI_ABI_SIZEOF(struct vhost_memory_region),
UAPI_ABI_ALIGNOF(struct vhost_memory_region),
UAPI_ABI_OFFSETOF(struct vhost_memory_region, guest_phys_addr),
UAPI_ABI_FIELDSIZE(struct vhost_memory_region, guest_phys_addr),
UAPI_ABI_OFFSETOF(struct vhost_memory_region, memory_size),
UAPI_ABI_FIELDSIZE(struct vhost_memory_region, memory_size),
UAPI_ABI_OFFSETOF(struct vhost_memory_region, userspace_addr),
UAPI_ABI_FIELDSIZE(struct vhost_memory_region, userspace_addr),
UAPI_ABI_OFFSETOF(struct vhost_memory_region, flags_padding),
UAPI_ABI_FIELDSIZE(struct vhost_memory_region, flags_padding),

UAPI_ABI_SIZEOF(struct vhost_memory),
UAPI_ABI_ALIGNOF(struct vhost_memory),
UAPI_ABI_OFFSETOF(struct vhost_memory, nregions),
UAPI_ABI_FIELDSIZE(struct vhost_memory, nregions),
UAPI_ABI_OFFSETOF(struct vhost_memory, padding),
UAPI_ABI_FIELDSIZE(struct vhost_memory, padding),
UAPI_ABI_OFFSETOF(struct vhost_memory, regions),
UAPI_ABI_ELEMSIZE(struct vhost_memory, regions),

UAPI_ABI_SIZEOF(struct vhost_iotlb_msg),
UAPI_ABI_ALIGNOF(struct vhost_iotlb_msg),
UAPI_ABI_OFFSETOF(struct vhost_iotlb_msg, iova),
UAPI_ABI_FIELDSIZE(struct vhost_iotlb_msg, iova),
UAPI_ABI_OFFSETOF(struct vhost_iotlb_msg, size),
UAPI_ABI_FIELDSIZE(struct vhost_iotlb_msg, size),
UAPI_ABI_OFFSETOF(struct vhost_iotlb_msg, uaddr),
UAPI_ABI_FIELDSIZE(struct vhost_iotlb_msg, uaddr),
UAPI_ABI_OFFSETOF(struct vhost_iotlb_msg, perm),
UAPI_ABI_FIELDSIZE(struct vhost_iotlb_msg, perm),
UAPI_ABI_OFFSETOF(struct vhost_iotlb_msg, type),
UAPI_ABI_FIELDSIZE(struct vhost_iotlb_msg, type),

UAPI_ABI_SIZEOF(struct vhost_msg),
UAPI_ABI_ALIGNOF(struct vhost_msg),
UAPI_ABI_OFFSETOF(struct vhost_msg, type),
UAPI_ABI_FIELDSIZE(struct vhost_msg, type),
UAPI_ABI_OFFSETOF(struct vhost_msg, iotlb),
UAPI_ABI_FIELDSIZE(struct vhost_msg, iotlb),
UAPI_ABI_OFFSETOF(struct vhost_msg, padding),
UAPI_ABI_FIELDSIZE(struct vhost_msg, padding),

UAPI_ABI_SIZEOF(struct vhost_msg_v2),
UAPI_ABI_ALIGNOF(struct vhost_msg_v2),
UAPI_ABI_OFFSETOF(struct vhost_msg_v2, type),
UAPI_ABI_FIELDSIZE(struct vhost_msg_v2, type),
UAPI_ABI_OFFSETOF(struct vhost_msg_v2, asid),
UAPI_ABI_FIELDSIZE(struct vhost_msg_v2, asid),
UAPI_ABI_OFFSETOF(struct vhost_msg_v2, iotlb),
UAPI_ABI_FIELDSIZE(struct vhost_msg_v2, iotlb),
UAPI_ABI_OFFSETOF(struct vhost_msg_v2, padding),
UAPI_ABI_FIELDSIZE(struct vhost_msg_v2, padding),

UAPI_ABI_SIZEOF(struct vhost_scsi_target),
UAPI_ABI_ALIGNOF(struct vhost_scsi_target),
UAPI_ABI_OFFSETOF(struct vhost_scsi_target, abi_version),
UAPI_ABI_FIELDSIZE(struct vhost_scsi_target, abi_version),
UAPI_ABI_OFFSETOF(struct vhost_scsi_target, vhost_wwpn),
UAPI_ABI_FIELDSIZE(struct vhost_scsi_target, vhost_wwpn),
UAPI_ABI_OFFSETOF(struct vhost_scsi_target, vhost_tpgt),
UAPI_ABI_FIELDSIZE(struct vhost_scsi_target, vhost_tpgt),
UAPI_ABI_OFFSETOF(struct vhost_scsi_target, reserved),
UAPI_ABI_FIELDSIZE(struct vhost_scsi_target, reserved),

UAPI_ABI_SIZEOF(struct vhost_vdpa_config),
UAPI_ABI_ALIGNOF(struct vhost_vdpa_config),
UAPI_ABI_OFFSETOF(struct vhost_vdpa_config, off),
UAPI_ABI_FIELDSIZE(struct vhost_vdpa_config, off),
UAPI_ABI_OFFSETOF(struct vhost_vdpa_config, len),
UAPI_ABI_FIELDSIZE(struct vhost_vdpa_config, len),
UAPI_ABI_OFFSETOF(struct vhost_vdpa_config, buf),
UAPI_ABI_ELEMSIZE(struct vhost_vdpa_config, buf),

UAPI_ABI_SIZEOF(struct vhost_vdpa_iova_range),
UAPI_ABI_ALIGNOF(struct vhost_vdpa_iova_range),
UAPI_ABI_OFFSETOF(struct vhost_vdpa_iova_range, first),
UAPI_ABI_FIELDSIZE(struct vhost_vdpa_iova_range, first),
UAPI_ABI_OFFSETOF(struct vhost_vdpa_iova_range, last),
UAPI_ABI_FIELDSIZE(struct vhost_vdpa_iova_range, last),

#undef UAPI_ABI_LIST_VHOST

#elif defined(UAPI_ABI_LIST_BLK)

/* kvhost's vhost-blk ioctls, <linux/vhost_blk.h> */
UAPI_ABI_IOCTL(VHOST_BLK_SET_BACKEND),
UAPI_ABI_IOCTL(VHOST_BLK_GET_CONFIG),
UAPI_ABI_IOCTL(VHOST_BLK_SET_SERIAL),

#undef UAPI_ABI_LIST_BLK

#endif
