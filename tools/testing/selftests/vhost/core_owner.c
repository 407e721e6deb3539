// SPDX-License-Identifier: GPL-2.0
/*
 * core_owner: the ownership and feature-query contract of the vhost core,
 * checked on every kvhost device node.
 *
 * Upstream's rules, which QEMU and libvirt depend on:
 *  - VHOST_GET_FEATURES needs no owner;
 *  - VHOST_SET_OWNER binds the caller's address space; again gives EBUSY;
 *  - any other ioctl from another address space gives EPERM, even an
 *    unknown one; threads of the owner share its address space;
 *  - an unknown ioctl from the owner gives ENOTTY;
 *  - VHOST_RESET_OWNER lets another process take the device over.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <linux/vhost.h>

#include "ktap.h"
#include "nodes.h"

/* An ioctl in vhost's space that no kernel defines. */
#define VHOST_UNKNOWN	_IO(VHOST_VIRTIO, 0xfe)

static int open_node(const struct vhost_node *n)
{
	int fd = open(n->path, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		ktap_diag("open %s: %s", n->path, strerror(errno));
	return fd;
}

/* Run @fn(@fd) in a child process, which has an address space of its own. */
static int in_child(int (*fn)(int fd), int fd)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return KTAP_FAIL;
	if (pid == 0)
		_exit(fn(fd));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return KTAP_FAIL;
	return WEXITSTATUS(status);
}

static enum ktap_result nodes_present_one(const struct vhost_node *n)
{
	KTAP_CHECK(access(n->path, R_OK | W_OK) == 0, "%s: %s", n->path,
		   strerror(errno));
	return KTAP_PASS;
}

NODE_CASE(nodes_present)

static enum ktap_result get_features_without_owner_one(const struct vhost_node *n)
{
	uint64_t a = ~0ULL, b = 0;
	int fd = open_node(n);

	KTAP_CHECK(fd >= 0, "%s", n->path);
	KTAP_OK(ioctl(fd, VHOST_GET_FEATURES, &a));
	KTAP_OK(ioctl(fd, VHOST_GET_FEATURES, &b));
	KTAP_CHECK(a == b, "%s: 0x%llx then 0x%llx", n->path,
		   (unsigned long long)a, (unsigned long long)b);
	KTAP_CHECK(!(a & ~n->known), "%s offers unplanned bits 0x%llx",
		   n->path, (unsigned long long)(a & ~n->known));
	ktap_diag("%s offers 0x%llx", n->path, (unsigned long long)a);
	close(fd);
	return KTAP_PASS;
}

NODE_CASE(get_features_without_owner)

static enum ktap_result get_features_bad_pointer_one(const struct vhost_node *n)
{
	int fd = open_node(n);

	KTAP_CHECK(fd >= 0, "%s", n->path);
	KTAP_ERRNO(ioctl(fd, VHOST_GET_FEATURES, (void *)8), EFAULT);
	close(fd);
	return KTAP_PASS;
}

NODE_CASE(get_features_bad_pointer)

static enum ktap_result set_features_checks_bits_one(const struct vhost_node *n)
{
	uint64_t offered, bad = 1ULL << 63;
	int fd = open_node(n);

	KTAP_CHECK(fd >= 0, "%s", n->path);
	KTAP_OK(ioctl(fd, VHOST_GET_FEATURES, &offered));
	/* Upstream needs no owner for SET_FEATURES either. */
	KTAP_OK(ioctl(fd, VHOST_SET_FEATURES, &offered));
	KTAP_ERRNO(ioctl(fd, VHOST_SET_FEATURES, &bad), EOPNOTSUPP);
	close(fd);
	return KTAP_PASS;
}

NODE_CASE(set_features_checks_bits)

static enum ktap_result set_owner_twice_ebusy_one(const struct vhost_node *n)
{
	int fd = open_node(n);

	KTAP_CHECK(fd >= 0, "%s", n->path);
	KTAP_OK(ioctl(fd, VHOST_SET_OWNER));
	KTAP_ERRNO(ioctl(fd, VHOST_SET_OWNER), EBUSY);
	close(fd);
	return KTAP_PASS;
}

NODE_CASE(set_owner_twice_ebusy)

static int child_is_not_owner(int fd)
{
	uint64_t features;

	/* Feature queries stay open to everyone. */
	if (ioctl(fd, VHOST_GET_FEATURES, &features))
		return 10;
	if (ioctl(fd, VHOST_RESET_OWNER) != -1 || errno != EPERM)
		return 11;
	if (ioctl(fd, VHOST_UNKNOWN) != -1 || errno != EPERM)
		return 12;
	if (ioctl(fd, VHOST_SET_OWNER) != -1 || errno != EBUSY)
		return 13;
	return 0;
}

static enum ktap_result non_owner_eperm_one(const struct vhost_node *n)
{
	int fd = open_node(n), r;

	KTAP_CHECK(fd >= 0, "%s", n->path);
	KTAP_OK(ioctl(fd, VHOST_SET_OWNER));
	r = in_child(child_is_not_owner, fd);
	KTAP_CHECK(r == 0, "%s: child step %d misbehaved", n->path, r);
	/* The owner itself is unaffected. */
	KTAP_ERRNO(ioctl(fd, VHOST_UNKNOWN), ENOTTY);
	close(fd);
	return KTAP_PASS;
}

NODE_CASE(non_owner_eperm)

static enum ktap_result no_owner_eperm_one(const struct vhost_node *n)
{
	int fd = open_node(n);

	KTAP_CHECK(fd >= 0, "%s", n->path);
	KTAP_ERRNO(ioctl(fd, VHOST_UNKNOWN), EPERM);
	KTAP_ERRNO(ioctl(fd, VHOST_RESET_OWNER), EPERM);
	close(fd);
	return KTAP_PASS;
}

NODE_CASE(no_owner_eperm)

static void *thread_unknown_ioctl(void *arg)
{
	int fd = *(int *)arg;
	long r = ioctl(fd, VHOST_UNKNOWN);

	return (void *)(long)(r == -1 ? errno : 0);
}

static enum ktap_result owner_thread_is_owner_one(const struct vhost_node *n)
{
	int fd = open_node(n);
	pthread_t t;
	void *err;

	KTAP_CHECK(fd >= 0, "%s", n->path);
	KTAP_OK(ioctl(fd, VHOST_SET_OWNER));
	KTAP_CHECK(pthread_create(&t, NULL, thread_unknown_ioctl, &fd) == 0,
		   "pthread_create");
	pthread_join(t, &err);
	KTAP_CHECK((long)err == ENOTTY,
		   "%s: a thread of the owner got %s, not ENOTTY",
		   n->path, strerror((int)(long)err));
	close(fd);
	return KTAP_PASS;
}

NODE_CASE(owner_thread_is_owner)

static enum ktap_result unknown_ioctl_enotty_one(const struct vhost_node *n)
{
	struct termios tio;
	int fd = open_node(n);

	KTAP_CHECK(fd >= 0, "%s", n->path);
	KTAP_OK(ioctl(fd, VHOST_SET_OWNER));
	KTAP_ERRNO(ioctl(fd, VHOST_UNKNOWN), ENOTTY);
	KTAP_ERRNO(ioctl(fd, _IOW(VHOST_VIRTIO, 0xfd, uint64_t), &tio),
		   ENOTTY);
	/* Another subsystem's ioctl: the node is not a terminal. */
	KTAP_ERRNO(tcgetattr(fd, &tio), ENOTTY);
	close(fd);
	return KTAP_PASS;
}

NODE_CASE(unknown_ioctl_enotty)

static int child_takes_over(int fd)
{
	if (ioctl(fd, VHOST_SET_OWNER))
		return 20;
	if (ioctl(fd, VHOST_UNKNOWN) != -1 || errno != ENOTTY)
		return 21;
	return 0;
}

static enum ktap_result reset_owner_hands_over_one(const struct vhost_node *n)
{
	int fd = open_node(n), r;

	KTAP_CHECK(fd >= 0, "%s", n->path);
	KTAP_OK(ioctl(fd, VHOST_SET_OWNER));
	KTAP_OK(ioctl(fd, VHOST_RESET_OWNER));
	/* Without an owner, nobody passes the owner check. */
	KTAP_ERRNO(ioctl(fd, VHOST_UNKNOWN), EPERM);
	r = in_child(child_takes_over, fd);
	KTAP_CHECK(r == 0, "%s: child step %d misbehaved", n->path, r);
	/* The child owns it now, even though it has exited. */
	KTAP_ERRNO(ioctl(fd, VHOST_UNKNOWN), EPERM);
	KTAP_ERRNO(ioctl(fd, VHOST_SET_OWNER), EBUSY);
	close(fd);
	return KTAP_PASS;
}

NODE_CASE(reset_owner_hands_over)

static enum ktap_result many_opens_one(const struct vhost_node *n)
{
	int fds[64];
	size_t i;

	for (i = 0; i < KTAP_ARRAY_SIZE(fds); i++) {
		fds[i] = open_node(n);
		KTAP_CHECK(fds[i] >= 0, "open %zu", i);
		/* Each open is a device of its own. */
		KTAP_OK(ioctl(fds[i], VHOST_SET_OWNER));
	}
	for (i = 0; i < KTAP_ARRAY_SIZE(fds); i++)
		KTAP_OK(close(fds[i]));
	return KTAP_PASS;
}

NODE_CASE(many_opens)

static const struct ktap_case cases[] = {
	KTAP_CASE(nodes_present),
	KTAP_CASE(get_features_without_owner),
	KTAP_CASE(get_features_bad_pointer),
	KTAP_CASE(set_features_checks_bits),
	KTAP_CASE(set_owner_twice_ebusy),
	KTAP_CASE(non_owner_eperm),
	KTAP_CASE(no_owner_eperm),
	KTAP_CASE(owner_thread_is_owner),
	KTAP_CASE(unknown_ioctl_enotty),
	KTAP_CASE(reset_owner_hands_over),
	KTAP_CASE(many_opens),
};

int main(void)
{
	return ktap_run(cases, KTAP_ARRAY_SIZE(cases));
}
