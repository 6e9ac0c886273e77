// SPDX-License-Identifier: MIT
/* The library's descriptors in the application's table: see app_fd.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "app_fd.h"

/*
 * glibc's fstat() is newfstatat(fd, "", AT_EMPTY_PATH), which kernels before
 * 6.11 handle as a path lookup: 38 us in a 6.1 TCG guest, against 7 us for
 * the fstat system call, before every use of a checked descriptor. The
 * kernel's struct stat is glibc's on these architectures. A seccomp filter
 * written for glibc may refuse the older call: glibc's then.
 */
int rdmapin_fstat(int fd, struct stat *st)
{
#if defined(SYS_fstat) && (defined(__x86_64__) || defined(__aarch64__))
	if (!syscall(SYS_fstat, fd, st))
		return 0;
	if (errno != EPERM && errno != ENOSYS)
		return -1;
#endif
	return fstat(fd, st);
}

int rdmapin_app_fd_set(struct rdmapin_app_fd *a, int fd)
{
	struct stat st;
	int err;

	if (fd >= 0 && rdmapin_fstat(fd, &st)) {
		err = errno;
		close(fd);
		errno = err;
		fd = -1;
	}
	if (fd >= 0) {
		a->dev = st.st_dev;
		a->ino = st.st_ino;
	}
	__atomic_store_n(&a->fd, fd, __ATOMIC_RELEASE);
	return fd;
}

bool rdmapin_app_fd_ours(const struct rdmapin_app_fd *a)
{
	struct stat st;

	return a->fd >= 0 && !rdmapin_fstat(a->fd, &st) && st.st_dev == a->dev &&
	       st.st_ino == a->ino;
}

void rdmapin_app_fd_forget(struct rdmapin_app_fd *a)
{
	if (rdmapin_app_fd_ours(a))
		close(a->fd);
	a->fd = -1;
}
