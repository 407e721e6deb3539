/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which guest-memory accessors the vring library is built with: the kernel's
 * (user accesses on the owner's mm), or a userspace build's, which puts its
 * vring_access_user.h on the include path.
 */
#ifndef KVHOST_VRING_ACCESS_H
#define KVHOST_VRING_ACCESS_H

#ifdef __KERNEL__
#include "vring_access_kernel.h"
#else
#include "vring_access_user.h"
#endif

/* The kernel build exports the entry points; a userspace build has none. */
#ifndef EXPORT_SYMBOL_NS_GPL
#define EXPORT_SYMBOL_NS_GPL(sym, ns)	_Static_assert(1, #sym)
#endif

#endif /* KVHOST_VRING_ACCESS_H */
