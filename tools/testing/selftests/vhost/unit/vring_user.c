// SPDX-License-Identifier: GPL-2.0
/*
 * The registry behind vring_access_user.h: which host ranges the userspace
 * build of the vring library may touch.
 */
#include "vring_access_user.h"

struct kvr_user_map kvr_user_maps[KVR_USER_MAX_MAPS];
unsigned int kvr_user_nmaps;
unsigned long kvr_user_fail_countdown;
unsigned long kvr_user_reads, kvr_user_writes;

int kvr_user_map(const void *p, size_t len)
{
	if (kvr_user_nmaps == KVR_USER_MAX_MAPS)
		return -ENOSPC;
	kvr_user_maps[kvr_user_nmaps].start = kvr_uaddr(p);
	kvr_user_maps[kvr_user_nmaps].len = len;
	kvr_user_nmaps++;
	return 0;
}

void kvr_user_unmap_all(void)
{
	kvr_user_nmaps = 0;
	kvr_user_fail_countdown = 0;
}
