// SPDX-License-Identifier: MIT
/* This process's own fds on a file: see own_fd.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "own_fd.h"

/*
 * The attributes the kernel holds do (a file's device and inode number never
 * change): an fd on NFS or FUSE is then not asked of its server, which may
 * be slow or hung, when all that is wanted is whether it is this file (9p
 * asks all the same).
 */
static bool statx_is_file(int fd, dev_t dev, ino_t ino, struct statx *stx)
{
	return !statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC,
		      STATX_TYPE | STATX_INO | STATX_NLINK, stx) &&
	       S_ISREG(stx->stx_mode) && stx->stx_ino == ino &&
	       makedev(stx->stx_dev_major, stx->stx_dev_minor) == dev;
}

bool rdmapin_fd_is_file(int fd, dev_t dev, ino_t ino)
{
	struct statx stx;

	return statx_is_file(fd, dev, ino, &stx);
}

bool rdmapin_fd_is_linked_file(int fd, dev_t dev, ino_t ino, bool *linked)
{
	struct statx stx;

	if (!statx_is_file(fd, dev, ino, &stx))
		return false;
	*linked = stx.stx_nlink > 0;
	return true;
}

/*
 * The fd that served a file last, plus one, by a hash of the file: a file
 * registered, deregistered and registered again is usually still open on
 * the same number, which is then tried before the scan of /proc/self/fd
 * (three syscalls and a stat per fd below it). A hint of another file, or
 * one since closed or reused, only fails the check.
 */
static int hints[8];

static int *hint(dev_t dev, ino_t ino)
{
	return &hints[(dev ^ ino ^ ino >> 7) % (sizeof(hints) / sizeof(hints[0]))];
}

static int scan(dev_t dev, ino_t ino, rdmapin_own_fd_fn try, void *ctx, int *err, int *used)
{
	DIR *d = opendir("/proc/self/fd");
	int fd, found = -1;
	struct dirent *e;

	if (!d) {
		*err = errno;
		return -1;
	}
	while (found < 0 && (e = readdir(d))) {
		fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd == dirfd(d) || !rdmapin_fd_is_file(fd, dev, ino))
			continue;
		found = try(fd, ctx);
		if (found < 0 && errno)
			*err = errno;
		*used = fd;
	}
	closedir(d);
	return found;
}

int rdmapin_own_fd_last(dev_t dev, ino_t ino, struct statx *stx)
{
	int fd = __atomic_load_n(hint(dev, ino), __ATOMIC_RELAXED) - 1;

	return fd >= 0 && statx_is_file(fd, dev, ino, stx) ? fd : -1;
}

/* The hint goes to @try unchecked: @try checks its fd anyway, on the library's thread. */
int rdmapin_own_fd_find(dev_t dev, ino_t ino, rdmapin_own_fd_fn try, void *ctx)
{
	int fd = __atomic_load_n(hint(dev, ino), __ATOMIC_RELAXED) - 1, found = -1, err = EBADF;

	if (fd >= 0) {
		found = try(fd, ctx);
		if (found < 0 && errno)
			err = errno;
	}
	if (found < 0)
		found = scan(dev, ino, try, ctx, &err, &fd);
	if (found >= 0)
		__atomic_store_n(hint(dev, ino), fd + 1, __ATOMIC_RELAXED);
	errno = err;
	return found;
}
