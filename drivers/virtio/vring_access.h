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

#endif /* KVHOST_VRING_ACCESS_H */
