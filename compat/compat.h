/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Everything in kvhost that depends on the kernel version lives here, so that
 * the driver sources carry no version checks. The Kbuild force-includes this
 * file into every object, and probes the kernel tree for the differences
 * (rather than comparing version numbers, which distribution backports
 * defeat), passing what it found as KVH_HAVE_* / KVH_* defines.
 *
 * Supported today: Debian 12's 6.1 LTS.
 */
#ifndef KVHOST_COMPAT_H
#define KVHOST_COMPAT_H

/*
 * Our shared module exports everything in the KVHOST symbol namespace. Up to
 * 6.12 a namespace is named by a bare identifier; from 6.13 on, by a string
 * literal (the Kbuild then sets KVH_NS_IS_STRING).
 */
#ifdef KVH_NS_IS_STRING
#define KVH_NS	"KVHOST"
#else
#define KVH_NS	KVHOST
#endif

#endif /* KVHOST_COMPAT_H */
