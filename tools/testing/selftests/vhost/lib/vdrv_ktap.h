/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Assertions for tests that drive a device through vdrv: they report what
 * the library said about the failing call.
 */
#ifndef VDRV_KTAP_H
#define VDRV_KTAP_H

#include "ktap.h"
#include "vdrv.h"

/* A vdrv call must succeed; on failure say what the library said. */
#define VOK(call)							\
	do {								\
		long vr_ = (long)(call);				\
		if (vr_ < 0) {						\
			ktap_diag("%s:%d: %s = %ld: %s", __FILE__,	\
				  __LINE__, #call, vr_,			\
				  vdrv_last_error());			\
			return KTAP_FAIL;				\
		}							\
	} while (0)

#endif /* VDRV_KTAP_H */
