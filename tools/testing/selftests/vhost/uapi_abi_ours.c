// SPDX-License-Identifier: GPL-2.0
/*
 * uapi_abi: the vhost uAPI as kvhost's own headers define it.
 *
 * Build with -I <kvhost>/include/uapi so that <linux/vhost*.h> resolve to
 * our headers; the #error checks below catch a wrong command line.
 *
 * <linux/vhost_blk.h> comes first, before any other header, so that this
 * unit also proves it self-contained. It starts by including
 * <linux/vhost.h>, which starts by including <linux/vhost_types.h>, so
 * each of the three is in turn parsed with nothing of ours before it.
 */
#include <linux/vhost_blk.h>

#include <stddef.h>

#include "uapi_abi.h"

#ifndef KVHOST_UAPI_LINUX_VHOST_H
#error "<linux/vhost.h> is not kvhost's: build with -I include/uapi"
#endif
#ifndef KVHOST_UAPI_LINUX_VHOST_TYPES_H
#error "<linux/vhost_types.h> is not kvhost's: build with -I include/uapi"
#endif
#if defined(_LINUX_VHOST_H) || defined(_LINUX_VHOST_TYPES_H)
#error "a system vhost header was pulled in next to kvhost's"
#endif

static const struct uapi_abi_entry ours_entries[] = {
#define UAPI_ABI_LIST_VHOST
#include "uapi_abi.h"
};

static const struct uapi_abi_entry ours_blk_entries[] = {
#define UAPI_ABI_LIST_BLK
#include "uapi_abi.h"
};

const struct uapi_abi_table uapi_abi_ours = {
	.origin = "kvhost include/uapi",
	.entries = ours_entries,
	.count = UAPI_ABI_ARRAY_SIZE(ours_entries),
};

const struct uapi_abi_table uapi_abi_ours_blk = {
	.origin = "kvhost include/uapi (vhost-blk)",
	.entries = ours_blk_entries,
	.count = UAPI_ABI_ARRAY_SIZE(ours_blk_entries),
};
