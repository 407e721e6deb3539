/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vring library's door to guest memory, in userspace: the unit tests and
 * the fuzzer compile the drivers/virtio/ sources unchanged against this file (with
 * -I unit -I drivers/virtio, and without __KERNEL__).
 *
 * Guest memory is plain process memory; a kvr_uaddr_t holds a host pointer.
 * Every access is checked against a registry of "mapped" host ranges
 * (kvr_user_map()) and fails with -EFAULT outside them, the way a user
 * access fails on an unmapped page. kvr_user_fail_countdown makes the Nth
 * access from now fail too.
 *
 * Rings are little-endian; this build supports little-endian hosts only.
 */
#ifndef KVHOST_VRING_ACCESS_USER_H
#define KVHOST_VRING_ACCESS_USER_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the userspace vring build assumes a little-endian host"
#endif

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef uint16_t __le16;
typedef uint32_t __le32;
typedef uint64_t __le64;

#define __user
#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define fallthrough	__attribute__((__fallthrough__))

#define le16_to_cpu(x)	((u16)(x))
#define le32_to_cpu(x)	((u32)(x))
#define le64_to_cpu(x)	((u64)(x))
#define cpu_to_le16(x)	((__le16)(x))
#define cpu_to_le32(x)	((__le32)(x))
#define cpu_to_le64(x)	((__le64)(x))

#define kvr_rmb()	__atomic_thread_fence(__ATOMIC_ACQUIRE)
#define kvr_wmb()	__atomic_thread_fence(__ATOMIC_RELEASE)
#define kvr_mb()	__atomic_thread_fence(__ATOMIC_SEQ_CST)

typedef u64 kvr_uaddr_t;

static inline void *kvr_uptr(kvr_uaddr_t a)
{
	return (void *)(uintptr_t)a;
}

static inline kvr_uaddr_t kvr_uaddr(const void *p)
{
	return (kvr_uaddr_t)(uintptr_t)p;
}

/* The registry of accessible host memory. */
#define KVR_USER_MAX_MAPS	16

struct kvr_user_map {
	u64 start;
	u64 len;
};

extern struct kvr_user_map kvr_user_maps[KVR_USER_MAX_MAPS];
extern unsigned int kvr_user_nmaps;
/* When non-zero, counts accesses down; the one that reaches zero fails. */
extern unsigned long kvr_user_fail_countdown;
/* Accesses made so far (reads and writes). */
extern unsigned long kvr_user_reads, kvr_user_writes;

/* Make [p, p + len) accessible. Return: 0, or -ENOSPC. */
int kvr_user_map(const void *p, size_t len);
/* Forget every range. */
void kvr_user_unmap_all(void);

static inline bool kvr_user_ok(kvr_uaddr_t a, size_t len)
{
	unsigned int i;

	if (kvr_user_fail_countdown && !--kvr_user_fail_countdown)
		return false;
	if (!len)
		return true;
	if (a + len < a)
		return false;
	for (i = 0; i < kvr_user_nmaps; i++) {
		const struct kvr_user_map *m = &kvr_user_maps[i];

		if (a >= m->start && a - m->start <= m->len &&
		    len <= m->len - (a - m->start))
			return true;
	}
	return false;
}

static inline int kvr_copy_from(void *dst, kvr_uaddr_t src, size_t len)
{
	kvr_user_reads++;
	if (!kvr_user_ok(src, len))
		return -EFAULT;
	memcpy(dst, kvr_uptr(src), len);
	return 0;
}

static inline int kvr_copy_to(kvr_uaddr_t dst, const void *src, size_t len)
{
	kvr_user_writes++;
	if (!kvr_user_ok(dst, len))
		return -EFAULT;
	memcpy(kvr_uptr(dst), src, len);
	return 0;
}

static inline int kvr_get16(u16 *v, kvr_uaddr_t src)
{
	__le16 x;

	if (kvr_copy_from(&x, src, sizeof(x)))
		return -EFAULT;
	*v = le16_to_cpu(x);
	return 0;
}

static inline int kvr_put16(kvr_uaddr_t dst, u16 v)
{
	__le16 x = cpu_to_le16(v);

	return kvr_copy_to(dst, &x, sizeof(x));
}

/* Provided by the test program. */
struct kvr_log;
int kvr_log_write(struct kvr_log *log, u64 gpa, u64 len);

#endif /* KVHOST_VRING_ACCESS_USER_H */
