// SPDX-License-Identifier: GPL-2.0
/*
 * uapi_abi: check kvhost's vhost uAPI headers against the Linux 6.1 ABI.
 *
 * kvhost ships its own include/uapi/linux/vhost.h, vhost_types.h and
 * vhost_blk.h. VMMs compile against these names and numbers, so they must
 * match upstream exactly. This test checks
 *  - ioctl_numbers, struct_layout, constants: our values against numbers
 *    written out below by hand (x86-64), so that a mistake made in both
 *    our header and the system header would still show;
 *  - matches_system_headers: our values against those of the installed
 *    system headers, name by name;
 *  - blk_ioctls: the vhost-blk numbers, and that nothing else uses their
 *    range of the vhost ioctl space.
 * That our three headers are self-contained is proven at build time by
 * uapi_abi_ours.c, which includes <linux/vhost_blk.h> before anything else.
 *
 * BUILD NOTE: the table units need different include paths, so the
 * Makefile needs per-file flags; both check them with #error:
 *   uapi_abi_ours.c  -I <top>/include/uapi     (must see our headers)
 *   uapi_abi_sys.c   no -I <top>/include/uapi  (must see the system's)
 *   uapi_abi.c       -I lib for ktap.h; includes no vhost header, so
 *                    the uapi path does not matter
 * Link them with lib/ktap.c into one program, "uapi_abi".
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <linux/ioctl.h>

#include "ktap.h"
#include "uapi_abi.h"

/*
 * Expected values. Ioctl numbers are _IOC(dir, 0xAF, nr, size) with the
 * generic encoding (dir bits 31:30 = read:write, size bits 29:16); sizes
 * and offsets are those of the x86-64 ABI.
 */
#if defined(__x86_64__)
#define EXPECTED_ARCH_OK	true
#else
#define EXPECTED_ARCH_OK	false
#endif

struct expect_value {
	const char *name;
	long long value;
	enum uapi_abi_kind kind;
};

#define EXPECT_IOCTL(n, v)	{ #n, v, UAPI_ABI_IOCTL }
#define EXPECT_CONST(n, v)	{ #n, v, UAPI_ABI_CONST }

static const struct expect_value expect_macros[] = {
	/* Device-wide */
	EXPECT_IOCTL(VHOST_GET_FEATURES,		0x8008AF00u),
	EXPECT_IOCTL(VHOST_SET_FEATURES,		0x4008AF00u),
	EXPECT_IOCTL(VHOST_SET_OWNER,			0x0000AF01u),
	EXPECT_IOCTL(VHOST_RESET_OWNER,			0x0000AF02u),
	EXPECT_IOCTL(VHOST_SET_MEM_TABLE,		0x4008AF03u),
	EXPECT_IOCTL(VHOST_SET_LOG_BASE,		0x4008AF04u),
	EXPECT_IOCTL(VHOST_SET_LOG_FD,			0x4004AF07u),
	/* Virtqueues */
	EXPECT_IOCTL(VHOST_SET_VRING_NUM,		0x4008AF10u),
	EXPECT_IOCTL(VHOST_SET_VRING_ADDR,		0x4028AF11u),
	EXPECT_IOCTL(VHOST_SET_VRING_BASE,		0x4008AF12u),
	EXPECT_IOCTL(VHOST_GET_VRING_BASE,		0xC008AF12u),
	EXPECT_IOCTL(VHOST_SET_VRING_ENDIAN,		0x4008AF13u),
	EXPECT_IOCTL(VHOST_GET_VRING_ENDIAN,		0x4008AF14u),
	EXPECT_IOCTL(VHOST_SET_VRING_KICK,		0x4008AF20u),
	EXPECT_IOCTL(VHOST_SET_VRING_CALL,		0x4008AF21u),
	EXPECT_IOCTL(VHOST_SET_VRING_ERR,		0x4008AF22u),
	EXPECT_IOCTL(VHOST_SET_VRING_BUSYLOOP_TIMEOUT,	0x4008AF23u),
	EXPECT_IOCTL(VHOST_GET_VRING_BUSYLOOP_TIMEOUT,	0x4008AF24u),
	EXPECT_IOCTL(VHOST_SET_BACKEND_FEATURES,	0x4008AF25u),
	EXPECT_IOCTL(VHOST_GET_BACKEND_FEATURES,	0x8008AF26u),
	/* vhost-net */
	EXPECT_IOCTL(VHOST_NET_SET_BACKEND,		0x4008AF30u),
	/* vhost-scsi: struct vhost_scsi_target is 232 = 0xe8 bytes */
	EXPECT_IOCTL(VHOST_SCSI_SET_ENDPOINT,		0x40E8AF40u),
	EXPECT_IOCTL(VHOST_SCSI_CLEAR_ENDPOINT,		0x40E8AF41u),
	EXPECT_IOCTL(VHOST_SCSI_GET_ABI_VERSION,	0x4004AF42u),
	EXPECT_IOCTL(VHOST_SCSI_SET_EVENTS_MISSED,	0x4004AF43u),
	EXPECT_IOCTL(VHOST_SCSI_GET_EVENTS_MISSED,	0x4004AF44u),
	/* vhost-vsock */
	EXPECT_IOCTL(VHOST_VSOCK_SET_GUEST_CID,		0x4008AF60u),
	EXPECT_IOCTL(VHOST_VSOCK_SET_RUNNING,		0x4004AF61u),
	/* vhost-vdpa */
	EXPECT_IOCTL(VHOST_VDPA_GET_DEVICE_ID,		0x8004AF70u),
	EXPECT_IOCTL(VHOST_VDPA_GET_STATUS,		0x8001AF71u),
	EXPECT_IOCTL(VHOST_VDPA_SET_STATUS,		0x4001AF72u),
	EXPECT_IOCTL(VHOST_VDPA_GET_CONFIG,		0x8008AF73u),
	EXPECT_IOCTL(VHOST_VDPA_SET_CONFIG,		0x4008AF74u),
	EXPECT_IOCTL(VHOST_VDPA_SET_VRING_ENABLE,	0x4008AF75u),
	EXPECT_IOCTL(VHOST_VDPA_GET_VRING_NUM,		0x8002AF76u),
	EXPECT_IOCTL(VHOST_VDPA_SET_CONFIG_CALL,	0x4004AF77u),
	EXPECT_IOCTL(VHOST_VDPA_GET_IOVA_RANGE,		0x8010AF78u),
	EXPECT_IOCTL(VHOST_VDPA_GET_CONFIG_SIZE,	0x8004AF79u),
	EXPECT_IOCTL(VHOST_VDPA_GET_AS_NUM,		0x8004AF7Au),
	EXPECT_IOCTL(VHOST_VDPA_GET_VRING_GROUP,	0xC008AF7Bu),
	EXPECT_IOCTL(VHOST_VDPA_SET_GROUP_ASID,		0x4008AF7Cu),
	EXPECT_IOCTL(VHOST_VDPA_SUSPEND,		0x0000AF7Du),
	EXPECT_IOCTL(VHOST_VDPA_GET_VQS_COUNT,		0x8004AF80u),
	EXPECT_IOCTL(VHOST_VDPA_GET_GROUP_NUM,		0x8004AF81u),

	EXPECT_CONST(VHOST_VIRTIO,			0xAF),
	EXPECT_CONST(VHOST_FILE_UNBIND,			-1),
	EXPECT_CONST(VHOST_VRING_F_LOG,			0),
	EXPECT_CONST(VHOST_VRING_LITTLE_ENDIAN,		0),
	EXPECT_CONST(VHOST_VRING_BIG_ENDIAN,		1),
	EXPECT_CONST(VHOST_PAGE_SIZE,			0x1000),
	EXPECT_CONST(VHOST_IOTLB_MSG,			1),
	EXPECT_CONST(VHOST_IOTLB_MSG_V2,		2),
	EXPECT_CONST(VHOST_ACCESS_RO,			1),
	EXPECT_CONST(VHOST_ACCESS_WO,			2),
	EXPECT_CONST(VHOST_ACCESS_RW,			3),
	EXPECT_CONST(VHOST_IOTLB_MISS,			1),
	EXPECT_CONST(VHOST_IOTLB_UPDATE,		2),
	EXPECT_CONST(VHOST_IOTLB_INVALIDATE,		3),
	EXPECT_CONST(VHOST_IOTLB_ACCESS_FAIL,		4),
	EXPECT_CONST(VHOST_IOTLB_BATCH_BEGIN,		5),
	EXPECT_CONST(VHOST_IOTLB_BATCH_END,		6),
	EXPECT_CONST(VHOST_SCSI_ABI_VERSION,		1),
	EXPECT_CONST(VHOST_F_LOG_ALL,			26),
	EXPECT_CONST(VHOST_NET_F_VIRTIO_NET_HDR,	27),
	EXPECT_CONST(VHOST_BACKEND_F_IOTLB_MSG_V2,	1),
	EXPECT_CONST(VHOST_BACKEND_F_IOTLB_BATCH,	2),
	EXPECT_CONST(VHOST_BACKEND_F_IOTLB_ASID,	3),
	EXPECT_CONST(VHOST_BACKEND_F_SUSPEND,		4),
};

static const struct expect_value expect_blk[] = {
	EXPECT_IOCTL(VHOST_BLK_SET_BACKEND,		0x4008AF50u),
	/* 120-byte struct vhost_blk_config, 20-byte serial. */
	EXPECT_IOCTL(VHOST_BLK_GET_CONFIG,		0xC078AF51u),
	EXPECT_IOCTL(VHOST_BLK_SET_SERIAL,		0x4014AF52u),
};

/* Size and alignment of a structure */
struct expect_struct {
	const char *size_name;
	const char *align_name;
	long long size;
	long long align;
};

#define EXPECT_STRUCT(type, size, align) \
	{ UAPI_ABI_SIZEOF_NAME(#type), UAPI_ABI_ALIGNOF_NAME(#type), \
	  size, align }

static const struct expect_struct expect_structs[] = {
	EXPECT_STRUCT(struct vhost_vring_state,		8,	4),
	EXPECT_STRUCT(struct vhost_vring_file,		8,	4),
	EXPECT_STRUCT(struct vhost_vring_addr,		40,	8),
	EXPECT_STRUCT(struct vhost_memory_region,	32,	8),
	EXPECT_STRUCT(struct vhost_memory,		8,	8),
	EXPECT_STRUCT(struct vhost_iotlb_msg,		32,	8),
	EXPECT_STRUCT(struct vhost_msg,			72,	8),
	EXPECT_STRUCT(struct vhost_msg_v2,		72,	8),
	EXPECT_STRUCT(struct vhost_scsi_target,		232,	4),
	EXPECT_STRUCT(struct vhost_vdpa_config,		8,	4),
	EXPECT_STRUCT(struct vhost_vdpa_iova_range,	16,	8),
};

/* Offset and size of a field (for a flexible array: of one element) */
struct expect_field {
	const char *offset_name;
	const char *size_name;
	long long offset;
	long long size;
};

#define EXPECT_FIELD(type, member, offset, size) \
	{ UAPI_ABI_OFFSETOF_NAME(#type, #member), \
	  UAPI_ABI_FIELDSIZE_NAME(#type, #member), offset, size }
#define EXPECT_FLEX(type, member, offset, size) \
	{ UAPI_ABI_OFFSETOF_NAME(#type, #member), \
	  UAPI_ABI_ELEMSIZE_NAME(#type, #member), offset, size }

static const struct expect_field expect_fields[] = {
	EXPECT_FIELD(struct vhost_vring_state, index,		0,	4),
	EXPECT_FIELD(struct vhost_vring_state, num,		4,	4),

	EXPECT_FIELD(struct vhost_vring_file, index,		0,	4),
	EXPECT_FIELD(struct vhost_vring_file, fd,		4,	4),

	EXPECT_FIELD(struct vhost_vring_addr, index,		0,	4),
	EXPECT_FIELD(struct vhost_vring_addr, flags,		4,	4),
	EXPECT_FIELD(struct vhost_vring_addr, desc_user_addr,	8,	8),
	EXPECT_FIELD(struct vhost_vring_addr, used_user_addr,	16,	8),
	EXPECT_FIELD(struct vhost_vring_addr, avail_user_addr,	24,	8),
	EXPECT_FIELD(struct vhost_vring_addr, log_guest_addr,	32,	8),

	EXPECT_FIELD(struct vhost_memory_region, guest_phys_addr, 0,	8),
	EXPECT_FIELD(struct vhost_memory_region, memory_size,	8,	8),
	EXPECT_FIELD(struct vhost_memory_region, userspace_addr, 16,	8),
	EXPECT_FIELD(struct vhost_memory_region, flags_padding,	24,	8),

	EXPECT_FIELD(struct vhost_memory, nregions,		0,	4),
	EXPECT_FIELD(struct vhost_memory, padding,		4,	4),
	EXPECT_FLEX(struct vhost_memory, regions,		8,	32),

	EXPECT_FIELD(struct vhost_iotlb_msg, iova,		0,	8),
	EXPECT_FIELD(struct vhost_iotlb_msg, size,		8,	8),
	EXPECT_FIELD(struct vhost_iotlb_msg, uaddr,		16,	8),
	EXPECT_FIELD(struct vhost_iotlb_msg, perm,		24,	1),
	EXPECT_FIELD(struct vhost_iotlb_msg, type,		25,	1),

	/* 4 bytes of hole after type: the union is 8-byte aligned */
	EXPECT_FIELD(struct vhost_msg, type,			0,	4),
	EXPECT_FIELD(struct vhost_msg, iotlb,			8,	32),
	EXPECT_FIELD(struct vhost_msg, padding,			8,	64),

	EXPECT_FIELD(struct vhost_msg_v2, type,			0,	4),
	EXPECT_FIELD(struct vhost_msg_v2, asid,			4,	4),
	EXPECT_FIELD(struct vhost_msg_v2, iotlb,		8,	32),
	EXPECT_FIELD(struct vhost_msg_v2, padding,		8,	64),

	EXPECT_FIELD(struct vhost_scsi_target, abi_version,	0,	4),
	EXPECT_FIELD(struct vhost_scsi_target, vhost_wwpn,	4,	224),
	EXPECT_FIELD(struct vhost_scsi_target, vhost_tpgt,	228,	2),
	EXPECT_FIELD(struct vhost_scsi_target, reserved,	230,	2),

	EXPECT_FIELD(struct vhost_vdpa_config, off,		0,	4),
	EXPECT_FIELD(struct vhost_vdpa_config, len,		4,	4),
	EXPECT_FLEX(struct vhost_vdpa_config, buf,		8,	1),

	EXPECT_FIELD(struct vhost_vdpa_iova_range, first,	0,	8),
	EXPECT_FIELD(struct vhost_vdpa_iova_range, last,	8,	8),
};

/*
 * All expectations of the generic list as one table, in the same shape as
 * the ones uapi_abi_ours.c and uapi_abi_sys.c export. Filled by main().
 */
#define EXPECTED_MAX					\
	(KTAP_ARRAY_SIZE(expect_macros) +		\
	 2 * KTAP_ARRAY_SIZE(expect_structs) +		\
	 2 * KTAP_ARRAY_SIZE(expect_fields))

static struct uapi_abi_entry expected_entries[EXPECTED_MAX];
static struct uapi_abi_table expected = {
	.origin = "expected values",
	.entries = expected_entries,
};

static struct uapi_abi_entry expected_blk_entries[KTAP_ARRAY_SIZE(expect_blk)];
static struct uapi_abi_table expected_blk = {
	.origin = "expected values",
	.entries = expected_blk_entries,
};

static void expected_add(struct uapi_abi_entry *table, size_t *count,
			 const char *name, long long value,
			 enum uapi_abi_kind kind)
{
	struct uapi_abi_entry *e = &table[(*count)++];

	e->name = name;
	e->value = value;
	e->kind = kind;
}

static void expected_init(void)
{
	struct uapi_abi_entry *t = expected_entries;
	size_t i, n = 0;

	for (i = 0; i < KTAP_ARRAY_SIZE(expect_macros); i++)
		expected_add(t, &n, expect_macros[i].name,
			     expect_macros[i].value, expect_macros[i].kind);
	for (i = 0; i < KTAP_ARRAY_SIZE(expect_structs); i++) {
		expected_add(t, &n, expect_structs[i].size_name,
			     expect_structs[i].size, UAPI_ABI_SIZEOF);
		expected_add(t, &n, expect_structs[i].align_name,
			     expect_structs[i].align, UAPI_ABI_ALIGNOF);
	}
	for (i = 0; i < KTAP_ARRAY_SIZE(expect_fields); i++) {
		expected_add(t, &n, expect_fields[i].offset_name,
			     expect_fields[i].offset, UAPI_ABI_OFFSETOF);
		expected_add(t, &n, expect_fields[i].size_name,
			     expect_fields[i].size, UAPI_ABI_FIELDSIZE);
	}
	expected.count = n;

	t = expected_blk_entries;
	n = 0;
	for (i = 0; i < KTAP_ARRAY_SIZE(expect_blk); i++)
		expected_add(t, &n, expect_blk[i].name, expect_blk[i].value,
			     expect_blk[i].kind);
	expected_blk.count = n;
}

#define KIND(k)		(1u << (k))
#define KINDS_LAYOUT	(KIND(UAPI_ABI_SIZEOF) | KIND(UAPI_ABI_ALIGNOF) | \
			 KIND(UAPI_ABI_OFFSETOF) | KIND(UAPI_ABI_FIELDSIZE))
#define KINDS_ALL	(KIND(UAPI_ABI_IOCTL) | KIND(UAPI_ABI_CONST) | \
			 KINDS_LAYOUT)

static const struct uapi_abi_entry *lookup(const struct uapi_abi_table *t,
					   const char *name)
{
	size_t i;

	for (i = 0; i < t->count; i++)
		if (!strcmp(t->entries[i].name, name))
			return &t->entries[i];
	return NULL;
}

static void print_mismatch(const struct uapi_abi_entry *got,
			   long long want)
{
	if (got->kind == UAPI_ABI_IOCTL)
		ktap_diag("%s: got 0x%llx want 0x%llx", got->name,
			  (unsigned long long)got->value,
			  (unsigned long long)want);
	else
		ktap_diag("%s: got %lld want %lld", got->name, got->value,
			  want);
}

/*
 * Compare the entries of the given kinds in @got with those in @want:
 * each name must be in both tables, with the same value. An entry of @want
 * whose value is UAPI_ABI_ABSENT is counted in *@absent (when non-NULL)
 * instead. Prints one diagnostic per problem and returns their number.
 */
static unsigned int compare(const struct uapi_abi_table *got,
			    const struct uapi_abi_table *want,
			    unsigned int kinds, unsigned int *absent)
{
	const struct uapi_abi_entry *g, *w;
	unsigned int bad = 0, checked = 0;
	size_t i;

	for (i = 0; i < got->count; i++) {
		g = &got->entries[i];
		if (!(kinds & KIND(g->kind)))
			continue;
		w = lookup(want, g->name);
		if (!w) {
			ktap_diag("%s: not in %s", g->name, want->origin);
			bad++;
		} else if (absent && w->value == UAPI_ABI_ABSENT) {
			ktap_diag("%s: not defined by %s, skipped", g->name,
				  want->origin);
			(*absent)++;
		} else if (g->value != w->value || g->kind != w->kind) {
			print_mismatch(g, w->value);
			bad++;
		} else {
			checked++;
		}
	}
	for (i = 0; i < want->count; i++) {
		w = &want->entries[i];
		if ((kinds & KIND(w->kind)) && !lookup(got, w->name)) {
			ktap_diag("%s: in %s but not in %s", w->name,
				  want->origin, got->origin);
			bad++;
		}
	}
	if (!checked && !bad) {
		ktap_diag("no entries of %s to check", got->origin);
		bad++;
	}
	ktap_diag("%s vs %s: %u equal, %u wrong", got->origin,
		  want->origin, checked, bad);
	return bad;
}

static enum ktap_result compare_with_expected(unsigned int kinds)
{
	KTAP_SKIP_IF(!EXPECTED_ARCH_OK,
		     "expected values are written for x86-64 only");
	return compare(&uapi_abi_ours, &expected, kinds, NULL) ?
		KTAP_FAIL : KTAP_PASS;
}

static enum ktap_result ioctl_numbers(void)
{
	return compare_with_expected(KIND(UAPI_ABI_IOCTL));
}

static enum ktap_result struct_layout(void)
{
	return compare_with_expected(KINDS_LAYOUT);
}

static enum ktap_result constants(void)
{
	return compare(&uapi_abi_ours, &expected, KIND(UAPI_ABI_CONST),
		       NULL) ? KTAP_FAIL : KTAP_PASS;
}

static enum ktap_result matches_system_headers(void)
{
	unsigned int absent = 0;

	if (compare(&uapi_abi_ours, &uapi_abi_sys, KINDS_ALL, &absent))
		return KTAP_FAIL;
	KTAP_SKIP_IF(absent, "%u names missing from the system headers",
		     absent);
	return KTAP_PASS;
}

static bool in_blk_range(long long value)
{
	return _IOC_TYPE(value) == 0xAF &&
	       _IOC_NR(value) >= UAPI_ABI_BLK_NR_FIRST &&
	       _IOC_NR(value) <= UAPI_ABI_BLK_NR_LAST;
}

/* Report every ioctl of @t that uses a number of the vhost-blk range. */
static unsigned int blk_range_intruders(const struct uapi_abi_table *t)
{
	const struct uapi_abi_entry *e;
	unsigned int bad = 0;
	size_t i;

	for (i = 0; i < t->count; i++) {
		e = &t->entries[i];
		if (e->kind != UAPI_ABI_IOCTL || e->value == UAPI_ABI_ABSENT ||
		    !in_blk_range(e->value))
			continue;
		ktap_diag("%s (%s): nr 0x%02llx is reserved for vhost-blk",
			  e->name, t->origin,
			  (unsigned long long)_IOC_NR(e->value));
		bad++;
	}
	return bad;
}

static enum ktap_result blk_ioctls(void)
{
	const struct uapi_abi_entry *e;
	unsigned int bad = 0;
	size_t i;

	if (EXPECTED_ARCH_OK)
		bad += compare(&uapi_abi_ours_blk, &expected_blk,
			       KIND(UAPI_ABI_IOCTL), NULL);
	for (i = 0; i < uapi_abi_ours_blk.count; i++) {
		e = &uapi_abi_ours_blk.entries[i];
		if (in_blk_range(e->value))
			continue;
		ktap_diag("%s: got 0x%llx want type 0xaf nr 0x%02x..0x%02x",
			  e->name, (unsigned long long)e->value,
			  UAPI_ABI_BLK_NR_FIRST, UAPI_ABI_BLK_NR_LAST);
		bad++;
	}
	bad += blk_range_intruders(&uapi_abi_ours);
	bad += blk_range_intruders(&uapi_abi_sys);
	return bad ? KTAP_FAIL : KTAP_PASS;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(ioctl_numbers),
	KTAP_CASE(struct_layout),
	KTAP_CASE(constants),
	KTAP_CASE(matches_system_headers),
	KTAP_CASE(blk_ioctls),
};

int main(void)
{
	expected_init();
	return ktap_run(cases, KTAP_ARRAY_SIZE(cases));
}
