// SPDX-License-Identifier: GPL-2.0
/*
 * core_vring: the device core's ioctl contract, on both device nodes.
 *
 * What QEMU relies on and what a hostile or buggy VMM must get back:
 * ENOBUFS for a queue the device does not have, EINVAL for ring sizes that
 * are not powers of two and for misaligned rings, E2BIG for too many memory
 * regions, EOPNOTSUPP for unknown flags and features, EPERM for non-owners,
 * EBADF/EINVAL for file descriptors that are not eventfds. Also: the worker
 * thread an admin looks for exists exactly while the device has an owner,
 * and runs in the owner's cgroups. With VIRTIO_F_RING_PACKED negotiated:
 * ring sizes need not be powers of two, and GET/SET_VRING_BASE carry both
 * positions with their wrap counters (vhost-net must offer packed rings).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>

#include "ktap.h"
#include "nodes.h"

/* Open a node and become its owner; -1 on failure (with a diagnostic). */
static int open_owned(const struct vhost_node *n)
{
	int fd = open(n->path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		ktap_diag("open %s: %s", n->path, strerror(errno));
		return -1;
	}
	if (ioctl(fd, VHOST_SET_OWNER)) {
		ktap_diag("SET_OWNER %s: %s", n->path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Memory for rings and a memory table: a page-aligned anonymous mapping. */
static void *map_pages(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static enum ktap_result bad_index_enobufs_one(const struct vhost_node *n)
{
	struct vhost_vring_state s = { .num = 256 };
	struct vhost_vring_file f = { .fd = -1 };
	struct vhost_vring_addr a = { 0 };
	unsigned int bad[] = { n->nvqs, n->nvqs + 1, 0x80000000u, ~0u };
	int fd = open_owned(n);
	size_t i;

	KTAP_CHECK(fd >= 0, "%s", n->path);
	for (i = 0; i < KTAP_ARRAY_SIZE(bad); i++) {
		s.index = bad[i];
		f.index = bad[i];
		a.index = bad[i];
		KTAP_ERRNO(ioctl(fd, VHOST_SET_VRING_NUM, &s), ENOBUFS);
		KTAP_ERRNO(ioctl(fd, VHOST_SET_VRING_BASE, &s), ENOBUFS);
		KTAP_ERRNO(ioctl(fd, VHOST_GET_VRING_BASE, &s), ENOBUFS);
		KTAP_ERRNO(ioctl(fd, VHOST_SET_VRING_ADDR, &a), ENOBUFS);
		KTAP_ERRNO(ioctl(fd, VHOST_SET_VRING_KICK, &f), ENOBUFS);
		KTAP_ERRNO(ioctl(fd, VHOST_SET_VRING_CALL, &f), ENOBUFS);
		KTAP_ERRNO(ioctl(fd, VHOST_SET_VRING_ERR, &f), ENOBUFS);
		KTAP_ERRNO(ioctl(fd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, &s),
			   ENOBUFS);
		KTAP_ERRNO(ioctl(fd, VHOST_GET_VRING_BUSYLOOP_TIMEOUT, &s),
			   ENOBUFS);
	}
	/* The last valid index works. */
	s.index = n->nvqs - 1;
	s.num = 256;
	KTAP_OK(ioctl(fd, VHOST_SET_VRING_NUM, &s));
	close(fd);
	return KTAP_PASS;
}

NODE_CASE(bad_index_enobufs)

static enum ktap_result ring_size_one(const struct vhost_node *n)
{
	static const unsigned int bad[] = { 0, 3, 100, 255, 257, 32769, 65536,
					    0x80000000u, ~0u };
	static const unsigned int good[] = { 1, 2, 256, 1024, 32768 };
	struct vhost_vring_state s = { .index = 0 };
	int fd = open_owned(n);
	size_t i;

	KTAP_CHECK(fd >= 0, "%s", n->path);
	for (i = 0; i < KTAP_ARRAY_SIZE(bad); i++) {
		s.num = bad[i];
		errno = 0;
		KTAP_CHECK(ioctl(fd, VHOST_SET_VRING_NUM, &s) == -1 &&
			   errno == EINVAL, "num %u: %s", bad[i], strerror(errno));
	}
	for (i = 0; i < KTAP_ARRAY_SIZE(good); i++) {
		s.num = good[i];
		KTAP_CHECK(ioctl(fd, VHOST_SET_VRING_NUM, &s) == 0,
			   "num %u: %s", good[i], strerror(errno));
	}
	close(fd);
	return KTAP_PASS;
}

NODE_CASE(ring_size)

static enum ktap_result ring_addr_alignment_one(const struct vhost_node *n)
{
	uint8_t *mem = map_pages(4 * 4096);
	struct vhost_vring_addr good, a;
	int fd = open_owned(n);

	KTAP_CHECK(fd >= 0 && mem, "%s", n->path);
	good = (struct vhost_vring_addr) {
		.index = 0,
		.desc_user_addr = (uintptr_t)mem,
		.avail_user_addr = (uintptr_t)mem + 4096,
		.used_user_addr = (uintptr_t)mem + 8192,
		.log_guest_addr = 0x10000,
	};
	KTAP_OK(ioctl(fd, VHOST_SET_VRING_ADDR, &good));

	a = good;
	a.desc_user_addr += 8;		/* descriptors: 16 bytes */
	KTAP_ERRNO(ioctl(fd, VHOST_SET_VRING_ADDR, &a), EINVAL);
	a = good;
	a.avail_user_addr += 1;		/* avail ring: 2 bytes */
	KTAP_ERRNO(ioctl(fd, VHOST_SET_VRING_ADDR, &a), EINVAL);
	a = good;
	a.used_user_addr += 2;		/* used ring: 4 bytes */
	KTAP_ERRNO(ioctl(fd, VHOST_SET_VRING_ADDR, &a), EINVAL);
	a = good;
	a.log_guest_addr += 2;		/* the log of the used ring: 4 bytes */
	KTAP_ERRNO(ioctl(fd, VHOST_SET_VRING_ADDR, &a), EINVAL);
	a = good;
	a.flags = 1u << 5;		/* only VHOST_VRING_F_LOG exists */
	KTAP_ERRNO(ioctl(fd, VHOST_SET_VRING_ADDR, &a), EOPNOTSUPP);
	a = good;
	a.flags = 1u << VHOST_VRING_F_LOG;
	KTAP_OK(ioctl(fd, VHOST_SET_VRING_ADDR, &a));
	close(fd);
	munmap(mem, 4 * 4096);
	return KTAP_PASS;
}

NODE_CASE(ring_addr_alignment)

static enum ktap_result vring_base_roundtrip_one(const struct vhost_node *n)
{
	struct vhost_vring_state s = { .index = 0 };
	static const unsigned int vals[] = { 0, 1, 1234, 65535 };
	int fd = open_owned(n);
	size_t i;

	KTAP_CHECK(fd >= 0, "%s", n->path);
	for (i = 0; i < KTAP_ARRAY_SIZE(vals); i++) {
		s.num = vals[i];
		KTAP_OK(ioctl(fd, VHOST_SET_VRING_BASE, &s));
		s.num = ~0u;
		KTAP_OK(ioctl(fd, VHOST_GET_VRING_BASE, &s));
		KTAP_EXPECT_EQ(s.num, vals[i]);
		KTAP_EXPECT_EQ(s.index, 0);
	}
	/* A split ring's index has 16 bits. */
	s.num = 0x10000;
	KTAP_ERRNO(ioctl(fd, VHOST_SET_VRING_BASE, &s), EINVAL);
	close(fd);
	return KTAP_PASS;
}

NODE_CASE(vring_base_roundtrip)

/*
 * Negotiate VERSION_1 | RING_PACKED on @fd: 1 done, 0 the node does not
 * offer packed rings (and refuses them: checked), -1 failure (diagnosed).
 */
static int set_packed(const struct vhost_node *n, int fd)
{
	__u64 f, want = 1ULL << VIRTIO_F_VERSION_1 |
			1ULL << VIRTIO_F_RING_PACKED;

	if (ioctl(fd, VHOST_GET_FEATURES, &f)) {
		ktap_diag("%s: GET_FEATURES: %s", n->path, strerror(errno));
		return -1;
	}
	if (!strcmp(n->path, "/dev/vhost-net") &&
	    !(f & 1ULL << VIRTIO_F_RING_PACKED)) {
		ktap_diag("vhost-net offers no RING_PACKED (0x%llx)",
			  (unsigned long long)f);
		return -1;
	}
	if (!(f & 1ULL << VIRTIO_F_RING_PACKED)) {
		errno = 0;
		if (ioctl(fd, VHOST_SET_FEATURES, &want) != -1 ||
		    errno != EOPNOTSUPP) {
			ktap_diag("%s: packed rings taken though not offered",
				  n->path);
			return -1;
		}
		ktap_diag("%s: no packed rings offered, and refused", n->path);
		return 0;
	}
	want &= f;
	if (ioctl(fd, VHOST_SET_FEATURES, &want)) {
		ktap_diag("%s: SET_FEATURES: %s", n->path, strerror(errno));
		return -1;
	}
	return 1;
}

/* Packed: any size up to 32768, powers of two or not. */
static enum ktap_result ring_size_packed_one(const struct vhost_node *n)
{
	static const unsigned int bad[] = { 0, 32769, 65536, ~0u };
	static const unsigned int good[] = { 1, 3, 100, 255, 257, 1000, 32768 };
	struct vhost_vring_state s = { .index = 0 };
	int fd = open_owned(n), r;
	size_t i;

	KTAP_CHECK(fd >= 0, "%s", n->path);
	r = set_packed(n, fd);
	KTAP_CHECK(r >= 0, "%s", n->path);
	for (i = 0; r && i < KTAP_ARRAY_SIZE(bad); i++) {
		s.num = bad[i];
		errno = 0;
		KTAP_CHECK(ioctl(fd, VHOST_SET_VRING_NUM, &s) == -1 &&
			   errno == EINVAL, "num %u: %s", bad[i], strerror(errno));
	}
	for (i = 0; r && i < KTAP_ARRAY_SIZE(good); i++) {
		s.num = good[i];
		KTAP_CHECK(ioctl(fd, VHOST_SET_VRING_NUM, &s) == 0,
			   "num %u: %s", good[i], strerror(errno));
	}
	close(fd);
	return KTAP_PASS;
}

NODE_CASE(ring_size_packed)

/*
 * Packed GET/SET_VRING_BASE: bits 0-14 the next avail slot, bit 15 the
 * driver's wrap counter, bits 16-30 the next used slot, bit 31 the
 * device's wrap counter, each slot below the ring size. Every combination
 * of wrap counters survives the round trip, on every queue.
 */
static enum ktap_result vring_base_packed_one(const struct vhost_node *n)
{
	static const unsigned int vals[] = {
		0x80008000u,	/* a fresh ring: slot 0, both counters 1 */
		0x00000000u,	/* slot 0 of the second lap, both */
		0x000503e7u,	/* avail at 999 wrap 0, used at 5 wrap 0 */
		0x83e78005u,	/* avail at 5 wrap 1, used at 999 wrap 1 */
		0x800003e7u,	/* avail at 999 wrap 0, used at 0 wrap 1 */
		0x00018001u,	/* avail at 1 wrap 1, used at 1 wrap 0 */
	};
	static const unsigned int bad[] = {
		0x000003e8u,	/* avail slot 1000 of 1000 */
		0x03e80000u,	/* used slot 1000 */
		0x00007fffu,	/* avail slot 32767 */
		0x7fff8000u,	/* used slot 32767 */
	};
	struct vhost_vring_state s;
	unsigned int q;
	int fd = open_owned(n), r;
	size_t i;

	KTAP_CHECK(fd >= 0, "%s", n->path);
	r = set_packed(n, fd);
	KTAP_CHECK(r >= 0, "%s", n->path);
	for (q = 0; r && q < n->nvqs; q++) {
		s = (struct vhost_vring_state){ .index = q, .num = 1000 };
		KTAP_OK(ioctl(fd, VHOST_SET_VRING_NUM, &s));
		for (i = 0; i < KTAP_ARRAY_SIZE(vals); i++) {
			s.num = vals[i];
			KTAP_OK(ioctl(fd, VHOST_SET_VRING_BASE, &s));
			s.num = 0x12345678;
			KTAP_OK(ioctl(fd, VHOST_GET_VRING_BASE, &s));
			KTAP_CHECK(s.num == vals[i] && s.index == q,
				   "%s vq %u: base 0x%x back as 0x%x", n->path,
				   q, vals[i], s.num);
		}
		for (i = 0; i < KTAP_ARRAY_SIZE(bad); i++) {
			s.num = bad[i];
			KTAP_ERRNO(ioctl(fd, VHOST_SET_VRING_BASE, &s), EINVAL);
		}
		/* A refused base leaves the last good one. */
		KTAP_OK(ioctl(fd, VHOST_GET_VRING_BASE, &s));
		KTAP_EXPECT_EQ(s.num, vals[KTAP_ARRAY_SIZE(vals) - 1]);
	}
	close(fd);
	return KTAP_PASS;
}

NODE_CASE(vring_base_packed)

static enum ktap_result eventfds_checked_one(const struct vhost_node *n)
{
	struct vhost_vring_file f = { .index = 0 };
	static const unsigned long cmds[] = { VHOST_SET_VRING_KICK,
					      VHOST_SET_VRING_CALL,
					      VHOST_SET_VRING_ERR };
	int fd = open_owned(n), efd = eventfd(0, EFD_CLOEXEC), pipefd[2];
	size_t i;

	KTAP_CHECK(fd >= 0 && efd >= 0 && !pipe(pipefd), "%s", n->path);
	for (i = 0; i < KTAP_ARRAY_SIZE(cmds); i++) {
		f.fd = efd;
		KTAP_OK(ioctl(fd, cmds[i], &f));
		/* The same eventfd again, then swapped out, then back. */
		KTAP_OK(ioctl(fd, cmds[i], &f));
		f.fd = -1;
		KTAP_OK(ioctl(fd, cmds[i], &f));
		f.fd = efd;
		KTAP_OK(ioctl(fd, cmds[i], &f));
		f.fd = 9999;
		KTAP_ERRNO(ioctl(fd, cmds[i], &f), EBADF);
		f.fd = -2;
		KTAP_ERRNO(ioctl(fd, cmds[i], &f), EBADF);
		/* A file that is not an eventfd. */
		f.fd = pipefd[0];
		KTAP_ERRNO(ioctl(fd, cmds[i], &f), EINVAL);
	}
	/* Closing with every eventfd installed releases them. */
	close(fd);
	close(efd);
	close(pipefd[0]);
	close(pipefd[1]);
	return KTAP_PASS;
}

NODE_CASE(eventfds_checked)

static enum ktap_result busyloop_roundtrip_one(const struct vhost_node *n)
{
	struct vhost_vring_state s = { .index = n->nvqs - 1, .num = 50 };
	int fd = open_owned(n);

	KTAP_CHECK(fd >= 0, "%s", n->path);
	KTAP_OK(ioctl(fd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, &s));
	s.num = 0;
	KTAP_OK(ioctl(fd, VHOST_GET_VRING_BUSYLOOP_TIMEOUT, &s));
	KTAP_EXPECT_EQ(s.num, 50);
	close(fd);
	return KTAP_PASS;
}

NODE_CASE(busyloop_roundtrip)

/* A vhost_memory with @n regions, each one page of @mem at GPA i * 2 MiB. */
static struct vhost_memory *mem_table(unsigned int nregions, uint8_t *mem)
{
	struct vhost_memory *m;
	unsigned int i;

	m = calloc(1, sizeof(*m) + nregions * sizeof(m->regions[0]));
	if (!m)
		return NULL;
	m->nregions = nregions;
	for (i = 0; i < nregions; i++) {
		m->regions[i].guest_phys_addr = (uint64_t)i << 21;
		m->regions[i].memory_size = 4096;
		m->regions[i].userspace_addr = (uintptr_t)mem;
	}
	return m;
}

static unsigned int read_max_mem_regions(void)
{
	unsigned int v = 0;
	FILE *f = fopen("/sys/module/kvhost/parameters/max_mem_regions", "r");

	if (f) {
		if (fscanf(f, "%u", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

static enum ktap_result mem_table_checked_one(const struct vhost_node *n)
{
	unsigned int max = read_max_mem_regions();
	uint8_t *mem = map_pages(4096);
	struct vhost_memory *m;
	int fd = open_owned(n);

	KTAP_CHECK(fd >= 0 && mem, "%s", n->path);
	KTAP_CHECK(max >= 64, "max_mem_regions is %u, QEMU assumes 64", max);

	m = mem_table(max, mem);
	KTAP_CHECK(m, "calloc");
	KTAP_OK(ioctl(fd, VHOST_SET_MEM_TABLE, m));
	free(m);
	m = mem_table(max + 1, mem);
	KTAP_CHECK(m, "calloc");
	KTAP_ERRNO(ioctl(fd, VHOST_SET_MEM_TABLE, m), E2BIG);
	free(m);

	m = mem_table(2, mem);
	KTAP_CHECK(m, "calloc");
	KTAP_OK(ioctl(fd, VHOST_SET_MEM_TABLE, m));
	/* Replacing the table again and again is fine. */
	KTAP_OK(ioctl(fd, VHOST_SET_MEM_TABLE, m));
	m->padding = 1;
	KTAP_ERRNO(ioctl(fd, VHOST_SET_MEM_TABLE, m), EOPNOTSUPP);
	m->padding = 0;
	/* Overlapping guest ranges would make translation ambiguous. */
	m->regions[1].guest_phys_addr = 2048;
	KTAP_ERRNO(ioctl(fd, VHOST_SET_MEM_TABLE, m), EINVAL);
	/* Empty, and wrapping past 2^64. */
	m->regions[1].guest_phys_addr = 1 << 21;
	m->regions[1].memory_size = 0;
	KTAP_ERRNO(ioctl(fd, VHOST_SET_MEM_TABLE, m), EINVAL);
	m->regions[1].guest_phys_addr = ~0ULL - 100;
	m->regions[1].memory_size = 4096;
	KTAP_ERRNO(ioctl(fd, VHOST_SET_MEM_TABLE, m), EINVAL);
	/* Memory the owner cannot address: a kernel address. */
	m->regions[1].guest_phys_addr = 1 << 21;
	m->regions[1].userspace_addr = 0xffff888000000000ULL;
	KTAP_ERRNO(ioctl(fd, VHOST_SET_MEM_TABLE, m), EFAULT);
	free(m);
	/* A header the kernel cannot read. */
	KTAP_ERRNO(ioctl(fd, VHOST_SET_MEM_TABLE, (void *)8), EFAULT);
	/* An empty table is allowed (QEMU sends one at reset). */
	m = mem_table(0, mem);
	KTAP_CHECK(m, "calloc");
	KTAP_OK(ioctl(fd, VHOST_SET_MEM_TABLE, m));
	free(m);
	close(fd);
	munmap(mem, 4096);
	return KTAP_PASS;
}

NODE_CASE(mem_table_checked)

static enum ktap_result log_ioctls_one(const struct vhost_node *n)
{
	uint64_t *bitmap = map_pages(4096), base = (uintptr_t)bitmap;
	int fd = open_owned(n), efd = eventfd(0, EFD_CLOEXEC), none = -1, bad;

	KTAP_CHECK(fd >= 0 && bitmap && efd >= 0, "%s", n->path);
	KTAP_OK(ioctl(fd, VHOST_SET_LOG_BASE, &base));
	KTAP_OK(ioctl(fd, VHOST_SET_LOG_FD, &efd));
	KTAP_OK(ioctl(fd, VHOST_SET_LOG_FD, &none));
	bad = 9999;
	KTAP_ERRNO(ioctl(fd, VHOST_SET_LOG_FD, &bad), EBADF);
	KTAP_OK(ioctl(fd, VHOST_SET_LOG_FD, &efd));
	close(fd);
	close(efd);
	munmap(bitmap, 4096);
	return KTAP_PASS;
}

NODE_CASE(log_ioctls)

static enum ktap_result backend_features_one(const struct vhost_node *n)
{
	uint64_t f = ~0ULL, zero = 0, v2 = 1ULL << 1 /* IOTLB_MSG_V2 */;
	int fd = open(n->path, O_RDWR | O_CLOEXEC);

	KTAP_CHECK(fd >= 0, "%s", n->path);
	/* No owner needed, as upstream. */
	KTAP_OK(ioctl(fd, VHOST_GET_BACKEND_FEATURES, &f));
	ktap_diag("%s backend features 0x%llx", n->path, (unsigned long long)f);
	KTAP_OK(ioctl(fd, VHOST_SET_BACKEND_FEATURES, &f));
	KTAP_OK(ioctl(fd, VHOST_SET_BACKEND_FEATURES, &zero));
	if (!(f & v2))
		KTAP_ERRNO(ioctl(fd, VHOST_SET_BACKEND_FEATURES, &v2),
			   EOPNOTSUPP);
	close(fd);
	return KTAP_PASS;
}

NODE_CASE(backend_features)

static int child_vring_ioctls(int fd)
{
	struct vhost_vring_state s = { .index = 0, .num = 256 };
	uint64_t base = 0;

	if (ioctl(fd, VHOST_SET_VRING_NUM, &s) != -1 || errno != EPERM)
		return 30;
	if (ioctl(fd, VHOST_GET_VRING_BASE, &s) != -1 || errno != EPERM)
		return 31;
	if (ioctl(fd, VHOST_SET_LOG_BASE, &base) != -1 || errno != EPERM)
		return 32;
	/* Even a bad queue index is EPERM first: ownership is checked first. */
	s.index = 99;
	if (ioctl(fd, VHOST_SET_VRING_NUM, &s) != -1 || errno != EPERM)
		return 33;
	return 0;
}

static enum ktap_result non_owner_vring_eperm_one(const struct vhost_node *n)
{
	int fd = open_owned(n), status;
	pid_t pid;

	KTAP_CHECK(fd >= 0, "%s", n->path);
	fflush(stdout);
	pid = fork();
	KTAP_CHECK(pid >= 0, "fork");
	if (pid == 0)
		_exit(child_vring_ioctls(fd));
	KTAP_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status),
		   "child");
	KTAP_CHECK(WEXITSTATUS(status) == 0, "%s: child step %d", n->path,
		   WEXITSTATUS(status));
	close(fd);
	return KTAP_PASS;
}

NODE_CASE(non_owner_vring_eperm)

/* Thread ids of this process's vhost workers: comm "vhost-<pid>[-n]". */
static int count_workers(int *tid)
{
	char want[32], path[300], comm[64];
	struct dirent *de;
	int found = 0;
	DIR *d;

	snprintf(want, sizeof(want), "vhost-%d", getpid());
	d = opendir("/proc");
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		FILE *f;
		size_t len;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(comm, sizeof(comm), f)) {
			comm[strcspn(comm, "\n")] = '\0';
			len = strlen(want);
			if (!strncmp(comm, want, len) &&
			    (comm[len] == '\0' || comm[len] == '-')) {
				found++;
				*tid = atoi(de->d_name);
			}
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

/*
 * An exited worker may linger in /proc until it is reaped, which happens
 * asynchronously: give it a second to disappear.
 */
static int workers_after_exit(void)
{
	int tid, n = -1, i;

	for (i = 0; i < 100; i++) {
		n = count_workers(&tid);
		if (n == 0)
			break;
		usleep(10000);
	}
	return n;
}

static int read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t got;

	if (!f)
		return -1;
	got = fread(buf, 1, len - 1, f);
	buf[got] = '\0';
	fclose(f);
	return 0;
}

static enum ktap_result worker_lifecycle_one(const struct vhost_node *n)
{
	char path[64], ours[512], theirs[512];
	int fd, tid = 0, before;

	before = count_workers(&tid);
	KTAP_CHECK(before == 0, "%d workers before SET_OWNER", before);
	fd = open(n->path, O_RDWR | O_CLOEXEC);
	KTAP_CHECK(fd >= 0, "%s", n->path);
	KTAP_EXPECT_EQ(count_workers(&tid), 0);
	KTAP_OK(ioctl(fd, VHOST_SET_OWNER));
	KTAP_CHECK(count_workers(&tid) >= 1, "no vhost-%d thread", getpid());
	/* The worker is charged to our cgroups. */
	snprintf(path, sizeof(path), "/proc/%d/cgroup", tid);
	KTAP_CHECK(!read_file(path, theirs, sizeof(theirs)), "%s", path);
	KTAP_CHECK(!read_file("/proc/self/cgroup", ours, sizeof(ours)), "self");
	KTAP_CHECK(!strcmp(ours, theirs), "worker cgroup %s, ours %s", theirs,
		   ours);
	/* RESET_OWNER stops it, SET_OWNER starts another. */
	KTAP_OK(ioctl(fd, VHOST_RESET_OWNER));
	KTAP_EXPECT_EQ(workers_after_exit(), 0);
	KTAP_OK(ioctl(fd, VHOST_SET_OWNER));
	KTAP_CHECK(count_workers(&tid) >= 1, "no worker after re-owning");
	close(fd);
	KTAP_EXPECT_EQ(workers_after_exit(), 0);
	return KTAP_PASS;
}

NODE_CASE(worker_lifecycle)

/* Path of this process's stats file for @n, or "" if there is none. */
static void find_stats(const struct vhost_node *n, char *path, size_t len)
{
	const char *kind = strstr(n->path, "-") + 1;
	char prefix[64];
	struct dirent *de;
	DIR *d;

	path[0] = '\0';
	snprintf(prefix, sizeof(prefix), "%s-%d-", kind, getpid());
	d = opendir("/sys/kernel/debug/kvhost");
	if (!d)
		return;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			snprintf(path, len, "/sys/kernel/debug/kvhost/%s/stats",
				 de->d_name);
	closedir(d);
}

static enum ktap_result debugfs_stats_one(const struct vhost_node *n)
{
	char path[300], buf[4096], want[64];
	int fd, tid = 0;

	KTAP_SKIP_IF(access("/sys/kernel/debug/kvhost", F_OK),
		     "no /sys/kernel/debug/kvhost (debugfs not mounted?)");
	fd = open_owned(n);
	KTAP_CHECK(fd >= 0, "%s", n->path);
	find_stats(n, path, sizeof(path));
	KTAP_CHECK(path[0], "no stats directory for %s", n->path);
	KTAP_CHECK(!read_file(path, buf, sizeof(buf)), "%s", path);
	snprintf(want, sizeof(want), "owner: %d\n", getpid());
	KTAP_CHECK(strstr(buf, want), "%s lacks '%s'", path, want);
	/* The worker an admin would pin is listed by its thread id. */
	KTAP_CHECK(count_workers(&tid) >= 1, "no worker");
	snprintf(want, sizeof(want), " %d", tid);
	KTAP_CHECK(strstr(strstr(buf, "workers:"), want), "workers line lacks %d",
		   tid);
	KTAP_CHECK(strstr(buf, "vq0: kicks 0 calls 0"), "vq0 line: %s", buf);
	close(fd);
	/* Gone with the owner. */
	find_stats(n, path, sizeof(path));
	KTAP_CHECK(!path[0], "%s outlived its device", path);
	return KTAP_PASS;
}

NODE_CASE(debugfs_stats)

/* QEMU's stop/start cycle on one fd keeps working, and so does a reset. */
static enum ktap_result reconfigure_after_reset_one(const struct vhost_node *n)
{
	uint8_t *mem = map_pages(4 * 4096);
	struct vhost_vring_state s = { .index = 0, .num = 256 };
	struct vhost_vring_addr a = { .index = 0 };
	struct vhost_vring_file f = { .index = 0 };
	struct vhost_memory *m;
	int fd = open_owned(n), efd = eventfd(0, EFD_CLOEXEC), round;

	KTAP_CHECK(fd >= 0 && mem && efd >= 0, "%s", n->path);
	m = mem_table(1, mem);
	KTAP_CHECK(m, "calloc");
	a.desc_user_addr = (uintptr_t)mem;
	a.avail_user_addr = (uintptr_t)mem + 4096;
	a.used_user_addr = (uintptr_t)mem + 8192;
	for (round = 0; round < 3; round++) {
		f.fd = efd;
		KTAP_OK(ioctl(fd, VHOST_SET_MEM_TABLE, m));
		KTAP_OK(ioctl(fd, VHOST_SET_VRING_NUM, &s));
		s.num = 42 + round;
		KTAP_OK(ioctl(fd, VHOST_SET_VRING_BASE, &s));
		s.num = 256;
		KTAP_OK(ioctl(fd, VHOST_SET_VRING_ADDR, &a));
		KTAP_OK(ioctl(fd, VHOST_SET_VRING_KICK, &f));
		KTAP_OK(ioctl(fd, VHOST_SET_VRING_CALL, &f));
		KTAP_OK(ioctl(fd, VHOST_SET_VRING_ERR, &f));
		KTAP_OK(ioctl(fd, VHOST_GET_VRING_BASE, &s));
		KTAP_EXPECT_EQ(s.num, 42 + round);
		s.num = 256;
		KTAP_OK(ioctl(fd, VHOST_RESET_OWNER));
		/* After a reset the queue state is gone. */
		KTAP_OK(ioctl(fd, VHOST_SET_OWNER));
		KTAP_OK(ioctl(fd, VHOST_GET_VRING_BASE, &s));
		KTAP_EXPECT_EQ(s.num, 0);
		s.num = 256;
	}
	free(m);
	close(fd);
	close(efd);
	munmap(mem, 4 * 4096);
	return KTAP_PASS;
}

NODE_CASE(reconfigure_after_reset)

static const struct ktap_case cases[] = {
	KTAP_CASE(bad_index_enobufs),
	KTAP_CASE(ring_size),
	KTAP_CASE(ring_addr_alignment),
	KTAP_CASE(vring_base_roundtrip),
	KTAP_CASE(ring_size_packed),
	KTAP_CASE(vring_base_packed),
	KTAP_CASE(eventfds_checked),
	KTAP_CASE(busyloop_roundtrip),
	KTAP_CASE(mem_table_checked),
	KTAP_CASE(log_ioctls),
	KTAP_CASE(backend_features),
	KTAP_CASE(non_owner_vring_eperm),
	KTAP_CASE(worker_lifecycle),
	KTAP_CASE(reconfigure_after_reset),
	KTAP_CASE(debugfs_stats),
};

int main(void)
{
	return ktap_run(cases, KTAP_ARRAY_SIZE(cases));
}
