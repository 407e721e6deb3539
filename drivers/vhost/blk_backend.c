// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-blk backends: what a backing file can do, and the requests that are
 * not plain reads and writes (FLUSH, DISCARD, WRITE_ZEROES, SECURE_ERASE).
 *
 * Block devices and regular files go through the same file operations
 * wherever one exists (vfs_fsync(), vfs_fallocate()), because those also
 * keep the host page cache coherent with what reaches the device. These
 * requests are rare and synchronous: they run in the queue's worker.
 */
#include <linux/blkdev.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/pagemap.h>
#include <linux/uio.h>
#include <linux/virtio_blk.h>

#include "blk.h"

/* The feature bits every backend gets. */
#define VHOST_BLK_BASE_FEATURES						\
	(BIT_ULL(VIRTIO_BLK_F_SIZE_MAX) | BIT_ULL(VIRTIO_BLK_F_SEG_MAX) |	\
	 BIT_ULL(VIRTIO_BLK_F_BLK_SIZE) | BIT_ULL(VIRTIO_BLK_F_TOPOLOGY) |	\
	 BIT_ULL(VIRTIO_BLK_F_FLUSH) | BIT_ULL(VIRTIO_BLK_F_MQ) |		\
	 BIT_ULL(VIRTIO_BLK_F_WRITE_ZEROES))

static void vhost_blk_describe_bdev(struct block_device *bdev,
				    struct vhost_blk_config *cfg)
{
	unsigned int gran = bdev_discard_granularity(bdev) >> SECTOR_SHIFT;

	cfg->flags |= VHOST_BLK_CONFIG_F_BDEV;
	cfg->capacity = bdev_nr_sectors(bdev);
	cfg->logical_block_size = bdev_logical_block_size(bdev);
	cfg->physical_block_size = bdev_physical_block_size(bdev);
	cfg->min_io_size = bdev_io_min(bdev);
	cfg->opt_io_size = bdev_io_opt(bdev);
	if (bdev_read_only(bdev))
		cfg->features |= BIT_ULL(VIRTIO_BLK_F_RO);
	if (bdev_max_discard_sectors(bdev)) {
		cfg->features |= BIT_ULL(VIRTIO_BLK_F_DISCARD);
		cfg->max_discard_sectors = min(bdev_max_discard_sectors(bdev),
					       VHOST_BLK_MAX_RANGE_SECTORS);
		cfg->max_discard_seg = VHOST_BLK_MAX_RANGE_SEG;
		cfg->discard_sector_alignment = max(gran, 1U);
	}
	/* Without hardware support the block layer writes zeroes itself. */
	if (bdev_write_zeroes_sectors(bdev))
		cfg->flags |= VHOST_BLK_CONFIG_F_WZ_MAY_UNMAP;
	if (bdev_max_secure_erase_sectors(bdev)) {
		cfg->features |= BIT_ULL(VIRTIO_BLK_F_SECURE_ERASE);
		cfg->max_secure_erase_sectors =
			min(bdev_max_secure_erase_sectors(bdev),
			    VHOST_BLK_MAX_RANGE_SECTORS);
		cfg->max_secure_erase_seg = VHOST_BLK_MAX_RANGE_SEG;
		cfg->secure_erase_sector_alignment = max(gran, 1U);
	}
}

static void vhost_blk_describe_reg(struct file *file,
				   struct vhost_blk_config *cfg)
{
	struct inode *inode = file_inode(file);
	struct block_device *sb_bdev = inode->i_sb->s_bdev;
	unsigned int blksize = i_blocksize(inode);

	cfg->capacity = i_size_read(inode) >> SECTOR_SHIFT;
	/* Direct I/O needs what the filesystem's device needs. */
	cfg->logical_block_size = sb_bdev && (file->f_flags & O_DIRECT) ?
				  bdev_logical_block_size(sb_bdev) :
				  SECTOR_SIZE;
	cfg->physical_block_size = max(blksize, cfg->logical_block_size);
	cfg->min_io_size = cfg->logical_block_size;
	cfg->opt_io_size = 0;
	/* Punching holes deallocates, and the hole reads back as zeroes. */
	if (file->f_op->fallocate) {
		cfg->features |= BIT_ULL(VIRTIO_BLK_F_DISCARD);
		cfg->flags |= VHOST_BLK_CONFIG_F_WZ_MAY_UNMAP;
		cfg->max_discard_sectors = VHOST_BLK_MAX_RANGE_SECTORS;
		cfg->max_discard_seg = VHOST_BLK_MAX_RANGE_SEG;
		cfg->discard_sector_alignment = max(blksize >> SECTOR_SHIFT,
						    1U);
	}
}

/**
 * vhost_blk_describe() - what a VMM needs to know about a backing file
 * @file: a block device or a regular file
 * @cfg: filled in, except @cfg->fd
 *
 * Return: 0, or -EINVAL for any other kind of file.
 */
int vhost_blk_describe(struct file *file, struct vhost_blk_config *cfg)
{
	struct inode *inode = file_inode(file);
	s32 fd = cfg->fd;

	memset(cfg, 0, sizeof(*cfg));
	cfg->fd = fd;
	cfg->features = VHOST_BLK_BASE_FEATURES;
	if (S_ISBLK(inode->i_mode))
		vhost_blk_describe_bdev(I_BDEV(file->f_mapping->host), cfg);
	else if (S_ISREG(inode->i_mode))
		vhost_blk_describe_reg(file, cfg);
	else
		return -EINVAL;
	if (!(file->f_mode & FMODE_WRITE))
		cfg->features |= BIT_ULL(VIRTIO_BLK_F_RO);
	if (file->f_flags & O_DIRECT)
		cfg->flags |= VHOST_BLK_CONFIG_F_DIRECT;
	cfg->seg_max = VHOST_BLK_SEG_MAX;
	cfg->size_max = VHOST_BLK_SIZE_MAX;
	cfg->max_sectors = VHOST_BLK_MAX_SECTORS;
	cfg->max_write_zeroes_sectors = VHOST_BLK_MAX_RANGE_SECTORS;
	cfg->max_write_zeroes_seg = VHOST_BLK_MAX_RANGE_SEG;
	cfg->num_queues = VHOST_BLK_MAX_QUEUES;
	return 0;
}

/**
 * vhost_blk_flush() - make every completed write durable
 * @bq: the queue, with its mutex held
 *
 * Return: 0 or a negative errno.
 */
int vhost_blk_flush(struct vhost_blk_queue *bq)
{
	return vfs_fsync(bq->file, 0);
}

static int vhost_blk_fallocate(struct vhost_blk_queue *bq, int mode,
			       u64 sector, u32 nsect)
{
	return vfs_fallocate(bq->file, mode | FALLOC_FL_KEEP_SIZE,
			     sector << SECTOR_SHIFT,
			     (u64)nsect << SECTOR_SHIFT);
}

/**
 * vhost_blk_discard() - deallocate a range the guest no longer needs
 * @bq: the queue, with its mutex held
 * @sector: first sector, checked against the capacity
 * @nsect: sectors
 *
 * A block device discards (NO_HIDE_STALE: what reads back is the device's
 * business); a file punches a hole.
 *
 * Return: 0 or a negative errno.
 */
int vhost_blk_discard(struct vhost_blk_queue *bq, u64 sector, u32 nsect)
{
	int mode = FALLOC_FL_PUNCH_HOLE;

	if (bq->bdev)
		mode |= FALLOC_FL_NO_HIDE_STALE;
	return vhost_blk_fallocate(bq, mode, sector, nsect);
}

/* The fallback: write zeroes from the zero page, synchronously. */
static int vhost_blk_write_zero_pages(struct vhost_blk_queue *bq, u64 sector,
				      u32 nsect)
{
	loff_t pos = sector << SECTOR_SHIFT;
	u64 left = (u64)nsect << SECTOR_SHIFT;
	struct bio_vec bvec[16];
	struct iov_iter iter;
	unsigned int i, n;
	ssize_t ret;

	while (left) {
		n = min_t(u64, ARRAY_SIZE(bvec), DIV_ROUND_UP(left, PAGE_SIZE));
		for (i = 0; i < n; i++) {
			bvec[i].bv_page = ZERO_PAGE(0);
			bvec[i].bv_offset = 0;
			bvec[i].bv_len = PAGE_SIZE;
		}
		iov_iter_bvec(&iter, ITER_SOURCE, bvec, n,
			      min_t(u64, left, (u64)n * PAGE_SIZE));
		ret = vfs_iter_write(bq->file, &iter, &pos, 0);
		if (ret <= 0)
			return ret ? ret : -EIO;
		left -= ret;
		cond_resched();
	}
	return 0;
}

/**
 * vhost_blk_write_zeroes() - make a range read back as zeroes
 * @bq: the queue, with its mutex held
 * @sector: first sector, checked against the capacity
 * @nsect: sectors
 * @unmap: the guest allows deallocating the range
 *
 * Tries the cheapest way the backend offers and falls back to writing
 * zeroes, so that the request succeeds on every backend.
 *
 * Return: 0 or a negative errno.
 */
int vhost_blk_write_zeroes(struct vhost_blk_queue *bq, u64 sector, u32 nsect,
			   bool unmap)
{
	int ret = -EOPNOTSUPP;

	if (unmap && bq->wz_may_unmap)
		ret = vhost_blk_fallocate(bq, FALLOC_FL_PUNCH_HOLE, sector,
					  nsect);
	if (ret == -EOPNOTSUPP)
		ret = vhost_blk_fallocate(bq, FALLOC_FL_ZERO_RANGE, sector,
					  nsect);
	if (ret == -EOPNOTSUPP)
		ret = vhost_blk_write_zero_pages(bq, sector, nsect);
	return ret;
}

/**
 * vhost_blk_secure_erase() - erase a range so that it cannot be recovered
 * @bq: the queue, with its mutex held
 * @sector: first sector, checked against the capacity
 * @nsect: sectors
 *
 * Only block devices that support it; the feature is not offered for
 * others. The page cache over the range is dropped afterwards, as
 * fallocate() does for the other range requests.
 *
 * Return: 0 or a negative errno.
 */
int vhost_blk_secure_erase(struct vhost_blk_queue *bq, u64 sector, u32 nsect)
{
	struct block_device *bdev;
	loff_t start = sector << SECTOR_SHIFT;
	int ret;

	if (!bq->bdev)
		return -EOPNOTSUPP;
	bdev = I_BDEV(bq->file->f_mapping->host);
	ret = blkdev_issue_secure_erase(bdev, sector, nsect, GFP_KERNEL);
	if (ret)
		return ret;
	return invalidate_inode_pages2_range(bq->file->f_mapping,
			start >> PAGE_SHIFT,
			(start + ((u64)nsect << SECTOR_SHIFT) - 1) >> PAGE_SHIFT);
}
