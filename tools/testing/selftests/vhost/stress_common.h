/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stress_common: what the stress and failslab selftests share: one
 * virtio-blk request end to end, and a close that must return in time.
 */
#ifndef STRESS_COMMON_H
#define STRESS_COMMON_H

#include <stdint.h>

#include "vdrv.h"

/*
 * stress_blk_rw() - one virtio-blk request on @vq: the header at @hdrbuf
 * (128 bytes of guest memory; the status byte goes at offset 64), @len
 * bytes of data at @data (guest memory) written (VIRTIO_BLK_T_OUT) or read
 * (any other @type) at @sector. Kicks and waits up to @timeout_ms. Returns
 * the status byte, or -1 if the request did not complete (vdrv_last_error()
 * says why).
 */
int stress_blk_rw(struct vdrv_vq *vq, uint8_t *hdrbuf, uint8_t *data,
		  uint32_t type, uint64_t sector, uint32_t len, int timeout_ms);

/*
 * stress_blk_roundtrip() - write a pattern of @len bytes at @sector through
 * @vq, read it back into zeroed memory, compare, and check that the backing
 * file @fd holds it. @buf is guest memory of at least 128 + @len bytes.
 * 0, or -1 with a diagnostic printed.
 */
int stress_blk_roundtrip(struct vdrv_vq *vq, uint8_t *buf, int fd,
			 uint64_t sector, uint32_t len, uint8_t seed);

#endif /* STRESS_COMMON_H */
