// SPDX-License-Identifier: GPL-2.0
/*
 * core_iotlb: the device IOTLB protocol (VIRTIO_F_ACCESS_PLATFORM), as QEMU
 * drives it behind a vIOMMU.
 *
 * Both devices offer ACCESS_PLATFORM and the IOTLB_MSG_V2 backend feature.
 * Writes of malformed messages fail with the documented errnos, and a
 * device without ACCESS_PLATFORM takes no translation. With it, the ring
 * addresses are IOVAs; a VMM thread answers every VHOST_IOTLB_MISS it reads
 * with a one-page VHOST_IOTLB_UPDATE, as a vIOMMU does, and vhost-blk I/O
 * through that IOTLB moves the right bytes on split and packed rings, again
 * after everything was invalidated. A queue cannot start before its used
 * ring is mapped, asks for it, and an unanswered queue has one miss out
 * however often it is kicked. A buffer mapped read-only cannot be written
 * by the device. With LOG_ALL, what the device wrote is logged at the
 * guest-physical address the memory table gives, not at the IOVA.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "blk_common.h"

#define F_ACCESS_PLATFORM	BIT(VDRV_F_ACCESS_PLATFORM)
#define BE_SIZE			(4 * MIB)
#define MEM_SIZE		(4 * MIB)
#define IO_LEN			(64 * 1024)
#define PAGE			4096ULL
/* The shifted memory table of the log case: GPA = IOVA + LOG_SHIFT. */
#define LOG_SHIFT		0x40000000ULL	/* 1 GiB */

/* ------------------------------------------------------------------------
 * The VMM side of the IOTLB
 */

struct vmm {
	int fd;
	const struct vdrv_mem *mem;
	pthread_t thread;
	atomic_bool stop;
	atomic_bool answer;		/* false: read misses, never answer */
	atomic_uint misses;		/* MISS messages read */
	atomic_uint bad;		/* messages that were not a proper MISS */
	atomic_uint framing;		/* vhost_msg type of the last one */
	atomic_ullong last_iova;
	atomic_uint last_perm;
	uint8_t ro_perm_page_set;
	uint64_t ro_page;		/* this IOVA page is mapped read-only */
};

static ssize_t iotlb_write(int fd, uint32_t framing, uint8_t type,
			   uint64_t iova, uint64_t size, uint64_t uaddr,
			   uint8_t perm)
{
	struct vhost_msg_v2 m;

	memset(&m, 0, sizeof(m));
	m.type = framing;
	m.iotlb.iova = iova;
	m.iotlb.size = size;
	m.iotlb.uaddr = uaddr;
	m.iotlb.perm = perm;
	m.iotlb.type = type;
	return write(fd, &m, sizeof(m));
}

/* Map the guest page of @iova (IOVA == GPA), as a vIOMMU would. */
static int vmm_map_page(struct vmm *v, uint64_t iova, uint8_t perm)
{
	uint64_t page = iova & ~(PAGE - 1);
	void *hva = vdrv_hva(v->mem, page);

	if (!hva)
		return -EFAULT;
	if (v->ro_perm_page_set && page == v->ro_page)
		perm = VHOST_ACCESS_RO;
	return iotlb_write(v->fd, VHOST_IOTLB_MSG_V2, VHOST_IOTLB_UPDATE, page,
			   PAGE, (uintptr_t)hva, perm) == sizeof(struct vhost_msg_v2) ?
	       0 : -errno;
}

static void *vmm_main(void *arg)
{
	struct vmm *v = arg;

	while (!atomic_load(&v->stop)) {
		struct pollfd p = { .fd = v->fd, .events = POLLIN };
		struct vhost_msg_v2 m;
		ssize_t n;

		if (poll(&p, 1, 20) <= 0)
			continue;
		n = read(v->fd, &m, sizeof(m));
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n != sizeof(m) || m.iotlb.type != VHOST_IOTLB_MISS ||
		    !m.iotlb.perm || m.iotlb.perm & ~VHOST_ACCESS_RW) {
			atomic_fetch_add(&v->bad, 1);
			continue;
		}
		atomic_store(&v->framing, m.type);
		atomic_store(&v->last_iova, m.iotlb.iova);
		atomic_store(&v->last_perm, m.iotlb.perm);
		atomic_fetch_add(&v->misses, 1);
		if (atomic_load(&v->answer) &&
		    vmm_map_page(v, m.iotlb.iova, VHOST_ACCESS_RW))
			atomic_fetch_add(&v->bad, 1);
	}
	return NULL;
}

static int vmm_start(struct vmm *v, int fd, const struct vdrv_mem *mem,
		     bool answer)
{
	memset(v, 0, sizeof(*v));
	v->fd = fd;
	v->mem = mem;
	atomic_store(&v->answer, answer);
	return -pthread_create(&v->thread, NULL, vmm_main, v);
}

static void vmm_stop(struct vmm *v)
{
	atomic_store(&v->stop, true);
	pthread_join(v->thread, NULL);
}

/* ------------------------------------------------------------------------
 * A vhost-blk device behind the IOTLB
 */

struct env {
	struct blk_env b;
	struct blk_backend be;
	struct blk_slot slot;
	struct vmm vmm;
	bool vmm_on;
};

static void env_fini(struct env *e)
{
	if (e->vmm_on)
		vmm_stop(&e->vmm);
	blk_env_fini(&e->b);
	blk_be_close(&e->be);
}

/*
 * A one-queue vhost-blk with ACCESS_PLATFORM on a tmpfs file. The IOTLB
 * starts empty but for the used ring, which QEMU maps before it attaches a
 * backend; everything else comes through misses.
 */
static enum ktap_result env_init(struct env *e, enum blk_ring ring,
				 bool answer, bool attach)
{
	struct vhost_vring_addr a;
	enum ktap_result r;

	memset(e, 0, sizeof(*e));
	e->be.fd = -1;
	r = blk_be_open(&e->be, BLK_BE_TMPFS, BE_SIZE, false);
	if (r != KTAP_PASS)
		return r;
	r = blk_env_init(&e->b, ring, 1, 64, MEM_SIZE,
			 BLK_F_RING | BLK_F_ALWAYS | F_ACCESS_PLATFORM);
	if (r != KTAP_PASS)
		return r;
	KTAP_CHECK(e->b.features & F_ACCESS_PLATFORM, "ACCESS_PLATFORM not offered");
	KTAP_OK(blk_slot_init(&e->b, &e->slot, IO_LEN));
	VOK(vmm_start(&e->vmm, e->b.dev->fd, e->b.mem, answer));
	e->vmm_on = true;
	if (!attach)
		return KTAP_PASS;
	vdrv_vq_addr(e->b.vq[0], &a);
	KTAP_OK(vmm_map_page(&e->vmm, a.used_user_addr, VHOST_ACCESS_RW));
	VOK(blk_attach_all(&e->b, e->be.fd));
	return KTAP_PASS;
}

/* Write a pattern at @sector, read it back through a cleared buffer. */
static enum ktap_result write_read(struct env *e, uint32_t seed,
				   uint64_t sector)
{
	uint8_t status = 0xff;

	blk_fill(e->slot.data, IO_LEN, seed, 0);
	VOK(blk_rw(e->b.vq[0], &e->slot, VIRTIO_BLK_T_OUT, sector, IO_LEN,
		   &status));
	KTAP_EXPECT_EQ(status, VIRTIO_BLK_S_OK);
	memset(e->slot.data, 0, IO_LEN);
	status = 0xff;
	VOK(blk_rw(e->b.vq[0], &e->slot, VIRTIO_BLK_T_IN, sector, IO_LEN,
		   &status));
	KTAP_EXPECT_EQ(status, VIRTIO_BLK_S_OK);
	KTAP_CHECK(blk_check(e->slot.data, IO_LEN, seed, 0, "read back"),
		   "data read back through the IOTLB differs");
	return KTAP_PASS;
}

/* ------------------------------------------------------------------------
 * Cases
 */

static enum ktap_result features_offered(void)
{
	static const char *const nodes[] = { "/dev/vhost-net", "/dev/vhost-blk" };
	uint64_t f, bf, batch = BIT(VHOST_BACKEND_F_IOTLB_BATCH);
	unsigned int i;

	for (i = 0; i < KTAP_ARRAY_SIZE(nodes); i++) {
		struct vdrv_dev *dev = vdrv_open(nodes[i]);

		KTAP_CHECK(dev, "%s: %s", nodes[i], vdrv_last_error());
		VOK(vdrv_get_features(dev, &f));
		VOK(vdrv_get_backend_features(dev, &bf));
		KTAP_CHECK(f & F_ACCESS_PLATFORM, "%s: features 0x%llx",
			   nodes[i], (unsigned long long)f);
		KTAP_CHECK(bf & BIT(VHOST_BACKEND_F_IOTLB_MSG_V2),
			   "%s: backend features 0x%llx", nodes[i],
			   (unsigned long long)bf);
		/* Batching and address spaces are vDPA's, not ours. */
		KTAP_EXPECT_EQ(vdrv_set_backend_features(dev, batch),
			       -EOPNOTSUPP);
		VOK(vdrv_set_backend_features(dev, BIT(VHOST_BACKEND_F_IOTLB_MSG_V2)));
		vdrv_close(dev);
	}
	return KTAP_PASS;
}

static enum ktap_result no_iotlb_without_feature(void)
{
	struct vdrv_dev *dev = vdrv_open("/dev/vhost-blk");
	struct pollfd p;
	char buf[128];
	static char page[4096];

	KTAP_CHECK(dev, "%s", vdrv_last_error());
	VOK(vdrv_set_owner(dev));
	VOK(vdrv_set_features(dev, BIT(VIRTIO_F_VERSION_1)));
	KTAP_ERRNO(iotlb_write(dev->fd, VHOST_IOTLB_MSG_V2, VHOST_IOTLB_UPDATE,
			       0, 4096, (uintptr_t)page, VHOST_ACCESS_RW),
		   EFAULT);
	KTAP_ERRNO(read(dev->fd, buf, sizeof(buf)), EAGAIN);
	p.fd = dev->fd;
	p.events = POLLIN;
	KTAP_EXPECT_EQ(poll(&p, 1, 0), 0);
	vdrv_close(dev);
	return KTAP_PASS;
}

static enum ktap_result bad_messages(void)
{
	struct vdrv_dev *dev = vdrv_open("/dev/vhost-blk");
	static char page[4096] __attribute__((aligned(4096)));
	struct vhost_msg v1;
	struct vhost_msg_v2 v2;
	uint8_t shortmsg[20] = { VHOST_IOTLB_MSG_V2 };
	int fd;

	KTAP_CHECK(dev, "%s", vdrv_last_error());
	fd = dev->fd;
	VOK(vdrv_set_owner(dev));
	VOK(vdrv_set_features(dev, BIT(VIRTIO_F_VERSION_1) | F_ACCESS_PLATFORM));

	KTAP_ERRNO(write(fd, shortmsg, sizeof(shortmsg)), EINVAL);
	KTAP_ERRNO(iotlb_write(fd, 3, VHOST_IOTLB_UPDATE, 0, 4096,
			       (uintptr_t)page, VHOST_ACCESS_RW), EINVAL);
	/* MISS is the device's to send; BATCH needs IOTLB_BATCH. */
	KTAP_ERRNO(iotlb_write(fd, VHOST_IOTLB_MSG_V2, VHOST_IOTLB_MISS, 0, 4096,
			       (uintptr_t)page, VHOST_ACCESS_RW), EINVAL);
	KTAP_ERRNO(iotlb_write(fd, VHOST_IOTLB_MSG_V2, VHOST_IOTLB_BATCH_BEGIN,
			       0, 0, 0, 0), EINVAL);
	KTAP_ERRNO(iotlb_write(fd, VHOST_IOTLB_MSG_V2, VHOST_IOTLB_UPDATE, 0, 0,
			       (uintptr_t)page, VHOST_ACCESS_RW), EINVAL);
	KTAP_ERRNO(iotlb_write(fd, VHOST_IOTLB_MSG_V2, VHOST_IOTLB_UPDATE, 0,
			       4096, (uintptr_t)page, 0), EINVAL);
	KTAP_ERRNO(iotlb_write(fd, VHOST_IOTLB_MSG_V2, VHOST_IOTLB_UPDATE, 0,
			       4096, (uintptr_t)page, 4), EINVAL);
	KTAP_ERRNO(iotlb_write(fd, VHOST_IOTLB_MSG_V2, VHOST_IOTLB_UPDATE,
			       ~0ULL - 100, 4096, (uintptr_t)page,
			       VHOST_ACCESS_RW), EINVAL);
	/* The owner's addresses must be user addresses. */
	KTAP_ERRNO(iotlb_write(fd, VHOST_IOTLB_MSG_V2, VHOST_IOTLB_UPDATE, 0,
			       4096, 0xffff888000000000ULL, VHOST_ACCESS_RW),
		   EFAULT);
	KTAP_ERRNO(iotlb_write(fd, VHOST_IOTLB_MSG_V2, VHOST_IOTLB_UPDATE, 0,
			       4096, ~0ULL - 10, VHOST_ACCESS_RW), EFAULT);

	/* Both framings are taken, and say they took the whole message. */
	memset(&v1, 0, sizeof(v1));
	v1.type = VHOST_IOTLB_MSG;
	v1.iotlb.iova = 0x10000;
	v1.iotlb.size = 4096;
	v1.iotlb.uaddr = (uintptr_t)page;
	v1.iotlb.perm = VHOST_ACCESS_RO;
	v1.iotlb.type = VHOST_IOTLB_UPDATE;
	KTAP_EXPECT_EQ(write(fd, &v1, sizeof(v1)), sizeof(v1));
	memset(&v2, 0, sizeof(v2));
	v2.type = VHOST_IOTLB_MSG_V2;
	v2.iotlb = v1.iotlb;
	v2.iotlb.type = VHOST_IOTLB_INVALIDATE;
	KTAP_EXPECT_EQ(write(fd, &v2, sizeof(v2)), sizeof(v2));
	/* Everything, as QEMU flushes: iova 0, size 0. */
	KTAP_EXPECT_EQ(iotlb_write(fd, VHOST_IOTLB_MSG_V2,
				   VHOST_IOTLB_INVALIDATE, 0, 0, 0, 0),
		       sizeof(v2));
	/* Too small a buffer reads nothing, as upstream. */
	KTAP_EXPECT_EQ(read(fd, shortmsg, sizeof(shortmsg)), 0);
	KTAP_ERRNO(read(fd, &v2, sizeof(v2)), EAGAIN);
	vdrv_close(dev);
	return KTAP_PASS;
}

static enum ktap_result io_on_demand(enum blk_ring ring)
{
	enum ktap_result r;
	struct env e;
	unsigned int before;

	r = env_init(&e, ring, true, true);
	if (r != KTAP_PASS)
		goto out;
	r = write_read(&e, 11, 8);
	if (r != KTAP_PASS)
		goto out;
	before = atomic_load(&e.vmm.misses);
	r = KTAP_FAIL;
	if (!before) {
		ktap_diag("I/O worked without a single miss");
		goto out;
	}
	if (atomic_load(&e.vmm.framing) != VHOST_IOTLB_MSG_V2) {
		ktap_diag("misses came in framing %u, not v2",
			  atomic_load(&e.vmm.framing));
		goto out;
	}
	/* Forget everything: the same I/O asks again, and still works. */
	if (iotlb_write(e.b.dev->fd, VHOST_IOTLB_MSG_V2, VHOST_IOTLB_INVALIDATE,
			0, 0, 0, 0) != sizeof(struct vhost_msg_v2)) {
		ktap_diag("invalidate: %s", strerror(errno));
		goto out;
	}
	r = write_read(&e, 12, 64);
	if (r != KTAP_PASS)
		goto out;
	r = KTAP_FAIL;
	if (atomic_load(&e.vmm.misses) <= before) {
		ktap_diag("no miss after the IOTLB was flushed");
		goto out;
	}
	if (atomic_load(&e.vmm.bad)) {
		ktap_diag("%u malformed messages", atomic_load(&e.vmm.bad));
		goto out;
	}
	ktap_diag("%u misses answered", atomic_load(&e.vmm.misses));
	r = KTAP_PASS;
out:
	env_fini(&e);
	return r;
}

static enum ktap_result io_split(void)
{
	return io_on_demand(BLK_SPLIT);
}

static enum ktap_result io_packed(void)
{
	return io_on_demand(BLK_PACKED);
}

/* Without v2 negotiated, misses come in the original framing. */
static enum ktap_result v1_framing(void)
{
	enum ktap_result r;
	struct env e;

	r = env_init(&e, BLK_SPLIT, true, false);
	if (r != KTAP_PASS)
		goto out;
	r = KTAP_FAIL;
	if (vdrv_set_backend_features(e.b.dev, 0)) {
		ktap_diag("SET_BACKEND_FEATURES(0): %s", vdrv_last_error());
		goto out;
	}
	/* Attaching with nothing mapped asks for the used ring. */
	if (blk_attach_all(&e.b, e.be.fd) != -EFAULT) {
		ktap_diag("attach with an unmapped used ring did not fail");
		goto out;
	}
	for (int i = 0; i < 200 && !atomic_load(&e.vmm.misses); i++)
		usleep(10000);
	if (atomic_load(&e.vmm.framing) != VHOST_IOTLB_MSG) {
		ktap_diag("framing %u, want %u", atomic_load(&e.vmm.framing),
			  VHOST_IOTLB_MSG);
		goto out;
	}
	/* The thread answered: attaching works now, and so does I/O. */
	if (blk_attach_all(&e.b, e.be.fd)) {
		ktap_diag("attach after the update: %s", strerror(errno));
		goto out;
	}
	r = write_read(&e, 13, 0);
out:
	env_fini(&e);
	return r;
}

/*
 * An unanswered queue has one miss out, whatever the guest does, and a
 * read that faults does not lose it.
 */
static enum ktap_result unanswered_bounded(void)
{
	struct vhost_vring_addr a;
	struct vhost_msg_v2 m;
	enum ktap_result r;
	struct env e;
	int i, n = 0;
	void *bad;

	r = env_init(&e, BLK_SPLIT, false, false);
	if (r != KTAP_PASS)
		goto out;
	vmm_stop(&e.vmm);
	e.vmm_on = false;
	e.vmm.fd = e.b.dev->fd;
	e.vmm.mem = e.b.mem;
	vdrv_vq_addr(e.b.vq[0], &a);
	r = KTAP_FAIL;
	if (vmm_map_page(&e.vmm, a.used_user_addr, VHOST_ACCESS_RW) ||
	    blk_attach_all(&e.b, e.be.fd)) {
		ktap_diag("attach: %s", strerror(errno));
		goto out;
	}
	blk_fill(e.slot.data, 4096, 1, 0);
	{
		struct blk_req req = { .type = VIRTIO_BLK_T_OUT, .len = 4096 };

		if (blk_post(e.b.vq[0], &e.slot, &req, &e) < 0) {
			ktap_diag("post failed");
			goto out;
		}
	}
	for (i = 0; i < 50; i++) {
		vdrv_vq_kick_force(e.b.vq[0]);
		usleep(2000);
	}
	usleep(200000);
	/* A read into a buffer that faults loses nothing. */
	bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (bad == MAP_FAILED) {
		ktap_diag("mmap: %s", strerror(errno));
		goto out;
	}
	i = read(e.b.dev->fd, bad, sizeof(m));
	munmap(bad, 4096);
	if (i != -1 || errno != EFAULT) {
		ktap_diag("read into a PROT_NONE page: %d (%s), want EFAULT",
			  i, strerror(errno));
		goto out;
	}
	while (read(e.b.dev->fd, &m, sizeof(m)) == sizeof(m)) {
		if (m.iotlb.type != VHOST_IOTLB_MISS) {
			ktap_diag("read a message of type %u", m.iotlb.type);
			goto out;
		}
		n++;
	}
	if (errno != EAGAIN || n != 1) {
		ktap_diag("%d misses queued after 50 kicks (%s), want 1", n,
			  strerror(errno));
		goto out;
	}
	/* Read and unanswered, it is withdrawn when the queue stops. */
	vdrv_vq_kick_force(e.b.vq[0]);
	usleep(100000);
	if (blk_set_backend(&e.b, 0, -1)) {
		ktap_diag("detach: %s", strerror(errno));
		goto out;
	}
	if (read(e.b.dev->fd, &m, sizeof(m)) != -1 || errno != EAGAIN) {
		ktap_diag("a miss outlived its queue's detach");
		goto out;
	}
	r = KTAP_PASS;
out:
	env_fini(&e);
	return r;
}

/* A page the vIOMMU maps read-only is not the device's to write. */
static enum ktap_result read_only_page(void)
{
	uint8_t status = 0xff;
	enum ktap_result r;
	struct env e;
	int ret;

	r = env_init(&e, BLK_SPLIT, true, false);
	if (r != KTAP_PASS)
		goto out;
	e.vmm.ro_page = vdrv_gpa(e.b.mem, e.slot.data);
	e.vmm.ro_perm_page_set = 1;
	r = KTAP_FAIL;
	{
		struct vhost_vring_addr a;

		vdrv_vq_addr(e.b.vq[0], &a);
		if (vmm_map_page(&e.vmm, a.used_user_addr, VHOST_ACCESS_RW) ||
		    blk_attach_all(&e.b, e.be.fd)) {
			ktap_diag("attach: %s", strerror(errno));
			goto out;
		}
	}
	/* Reading into it needs write access: the queue reports an error. */
	ret = blk_rw(e.b.vq[0], &e.slot, VIRTIO_BLK_T_IN, 0, 4096, &status);
	if (ret != -EIO) {
		ktap_diag("IN into a read-only page: %d (status %u), want -EIO",
			  ret, status);
		goto out;
	}
	r = KTAP_PASS;
out:
	env_fini(&e);
	return r;
}

static bool log_bit(const uint8_t *log, uint64_t gpa)
{
	uint64_t pfn = gpa / PAGE;

	return log[pfn / 8] & (1u << (pfn % 8));
}

/*
 * With LOG_ALL, the device's writes are logged at the memory table's GPAs.
 * The table here puts guest memory LOG_SHIFT above the IOVAs the IOTLB
 * uses, so logging an IOVA as if it were a GPA shows.
 */
static enum ktap_result dirty_log(void)
{
	const struct vdrv_region *reg;
	struct vhost_memory *table;
	uint64_t data_iova, used_iova, log_size;
	struct vhost_vring_addr a;
	uint8_t status = 0xff;
	enum ktap_result r;
	uint8_t *log = NULL;
	struct env e;
	unsigned int i;

	r = env_init(&e, BLK_SPLIT, true, false);
	if (r != KTAP_PASS)
		goto out;
	r = KTAP_FAIL;
	reg = &e.b.mem->regions[0];
	log_size = ((reg->gpa + reg->size + LOG_SHIFT) / PAGE + 7) / 8;
	log = calloc(1, log_size);
	table = vdrv_mem_table(e.b.mem);
	if (!log || !table)
		goto out;
	for (i = 0; i < table->nregions; i++)
		table->regions[i].guest_phys_addr += LOG_SHIFT;
	if (vdrv_set_mem_table_raw(e.b.dev, table) ||
	    vdrv_set_log_base(e.b.dev, (uintptr_t)log) ||
	    vdrv_set_features(e.b.dev, e.b.features | BIT(VHOST_F_LOG_ALL))) {
		free(table);
		ktap_diag("log set-up: %s", vdrv_last_error());
		goto out;
	}
	free(table);
	if (vdrv_vq_set_log(e.b.vq[0], true)) {
		ktap_diag("F_LOG: %s", vdrv_last_error());
		goto out;
	}
	vdrv_vq_addr(e.b.vq[0], &a);
	if (vmm_map_page(&e.vmm, a.used_user_addr, VHOST_ACCESS_RW) ||
	    blk_attach_all(&e.b, e.be.fd)) {
		ktap_diag("attach: %s", strerror(errno));
		goto out;
	}
	if (blk_rw(e.b.vq[0], &e.slot, VIRTIO_BLK_T_IN, 0, 3 * 4096, &status) ||
	    status != VIRTIO_BLK_S_OK) {
		ktap_diag("IN failed (status %u)", status);
		goto out;
	}
	data_iova = vdrv_gpa(e.b.mem, e.slot.data);
	used_iova = a.used_user_addr;
	for (i = 0; i < 3; i++) {
		if (!log_bit(log, data_iova + i * PAGE + LOG_SHIFT)) {
			ktap_diag("data page %u not logged at its GPA", i);
			goto out;
		}
		if (log_bit(log, data_iova + i * PAGE)) {
			ktap_diag("data page %u logged at its IOVA", i);
			goto out;
		}
	}
	/* The status byte follows the data; the used ring was written too. */
	if (!log_bit(log, data_iova + 3 * 4096 + LOG_SHIFT) ||
	    !log_bit(log, used_iova + LOG_SHIFT)) {
		ktap_diag("status byte or used ring not logged");
		goto out;
	}
	r = KTAP_PASS;
out:
	free(log);
	env_fini(&e);
	return r;
}

static const struct ktap_case cases[] = {
	KTAP_CASE(features_offered),
	KTAP_CASE(no_iotlb_without_feature),
	KTAP_CASE(bad_messages),
	KTAP_CASE(io_split),
	KTAP_CASE(io_packed),
	KTAP_CASE(v1_framing),
	KTAP_CASE(unanswered_bounded),
	KTAP_CASE(read_only_page),
	KTAP_CASE(dirty_log),
};

int main(int argc, char **argv)
{
	return ktap_main(cases, KTAP_ARRAY_SIZE(cases), argc, argv);
}
