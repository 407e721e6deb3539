// SPDX-License-Identifier: GPL-2.0
/*
 * stress_common: helpers of the stress and failslab selftests; see
 * stress_common.h.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_blk.h>

#include "ktap.h"
#include "stress_common.h"

int stress_blk_rw(struct vdrv_vq *vq, uint8_t *hdrbuf, uint8_t *data,
		  uint32_t type, uint64_t sector, uint32_t len, int timeout_ms)
{
	struct virtio_blk_outhdr *oh = (void *)hdrbuf;
	uint8_t *status = hdrbuf + 64;
	struct vdrv_buf out[2], in[2];
	int n_out = 1, n_in = 0, cookie;
	uint32_t used;

	oh->type = type;
	oh->ioprio = 0;
	oh->sector = sector;
	*status = 0xff;
	out[0] = (struct vdrv_buf){ .ptr = oh, .len = sizeof(*oh) };
	if (type == VIRTIO_BLK_T_OUT)
		out[n_out++] = (struct vdrv_buf){ .ptr = data, .len = len };
	else
		in[n_in++] = (struct vdrv_buf){ .ptr = data, .len = len };
	in[n_in++] = (struct vdrv_buf){ .ptr = status, .len = 1 };
	if (vdrv_vq_add(vq, out, n_out, in, n_in, &cookie) < 0 ||
	    vdrv_vq_kick_force(vq) < 0)
		return -1;
	if (vdrv_vq_wait_used(vq, &used, timeout_ms) != &cookie)
		return -1;
	return *status;
}

int stress_blk_roundtrip(struct vdrv_vq *vq, uint8_t *buf, int fd,
			 uint64_t sector, uint32_t len, uint8_t seed)
{
	uint8_t *hdr = buf, *data = buf + 128, *back;
	uint32_t i;
	int st;

	back = malloc(len);
	if (!back)
		return -1;
	for (i = 0; i < len; i++)
		data[i] = i * 7 + seed;
	st = stress_blk_rw(vq, hdr, data, VIRTIO_BLK_T_OUT, sector, len, 10000);
	if (st != VIRTIO_BLK_S_OK) {
		ktap_diag("blk write: status %d: %s", st, vdrv_last_error());
		goto fail;
	}
	memset(data, 0, len);
	st = stress_blk_rw(vq, hdr, data, VIRTIO_BLK_T_IN, sector, len, 10000);
	if (st != VIRTIO_BLK_S_OK) {
		ktap_diag("blk read: status %d: %s", st, vdrv_last_error());
		goto fail;
	}
	for (i = 0; i < len; i++) {
		if (data[i] != (uint8_t)(i * 7 + seed)) {
			ktap_diag("blk: byte %u read back as 0x%02x", i, data[i]);
			goto fail;
		}
	}
	if (pread(fd, back, len, sector * 512) != (ssize_t)len ||
	    memcmp(back, data, len)) {
		ktap_diag("blk: the backing file does not hold the write");
		goto fail;
	}
	free(back);
	return 0;
fail:
	free(back);
	return -1;
}
