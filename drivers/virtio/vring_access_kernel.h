/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vring library's door to guest memory, inside the kernel.
 *
 * Rings and buffers live in the owner's address space, so inside the kernel
 * every access is a user access on the owner's mm (the worker runs with it
 * adopted). The library source never touches guest memory any other way: it
 * includes vring_access.h and calls kvr_copy_from(), kvr_copy_to(),
 * kvr_get16() and kvr_put16(), and the kvr_*mb() barriers. A userspace build
 * (unit tests, the fuzzer) provides vring_access_user.h with the same
 * functions over plain memory, and can make any access fail the way an
 * unmapped user page does.
 *
 * Rings are little-endian: VIRTIO_F_VERSION_1 says so, and legacy rings on
 * x86, our only target, are native-endian, which is the same thing. Cross-
 * endian legacy rings are not supported (VHOST_SET_VRING_ENDIAN is ENOTTY,
 * as in a 6.1 kernel built without CONFIG_VHOST_CROSS_ENDIAN_LEGACY).
 */
#ifndef KVHOST_VRING_ACCESS_KERNEL_H
#define KVHOST_VRING_ACCESS_KERNEL_H

#include <linux/compiler.h>
#include <linux/export.h>
#include <linux/types.h>
#include <linux/uaccess.h>
#include <linux/uio.h>
#include <asm/barrier.h>

/*
 * Ring barriers. Both sides of the ring are CPUs of this host (the guest's
 * vCPUs are host threads), so SMP barriers are what pairs with the guest's.
 */
#define kvr_rmb()	smp_rmb()	/* pairs with the guest's write barrier */
#define kvr_wmb()	smp_wmb()	/* pairs with the guest's read barrier */
#define kvr_mb()	smp_mb()	/* pairs with the guest's full barrier */

/* A guest-memory address as the owner process sees it. */
typedef u64 kvr_uaddr_t;

static inline void __user *kvr_uptr(kvr_uaddr_t a)
{
	return (void __user *)(uintptr_t)a;
}

/* Return: 0, or -EFAULT when the owner's memory is not there. */
static inline int kvr_copy_from(void *dst, kvr_uaddr_t src, size_t len)
{
	return copy_from_user(dst, kvr_uptr(src), len) ? -EFAULT : 0;
}

static inline int kvr_copy_to(kvr_uaddr_t dst, const void *src, size_t len)
{
	return copy_to_user(kvr_uptr(dst), src, len) ? -EFAULT : 0;
}

static inline int kvr_get16(u16 *v, kvr_uaddr_t src)
{
	__le16 x;

	if (get_user(x, (__le16 __user *)kvr_uptr(src)))
		return -EFAULT;
	*v = le16_to_cpu(x);
	return 0;
}

static inline int kvr_put16(kvr_uaddr_t dst, u16 v)
{
	return put_user(cpu_to_le16(v), (__le16 __user *)kvr_uptr(dst)) ?
	       -EFAULT : 0;
}

/*
 * Dirty logging: the library reports every guest-physical range the device
 * wrote; the environment (drivers/vhost/log.c in the kernel, a bitmap in the
 * unit tests) marks it. @log is opaque to the library.
 */
struct kvr_log;
int kvr_log_write(struct kvr_log *log, u64 gpa, u64 len);

#endif /* KVHOST_VRING_ACCESS_KERNEL_H */
