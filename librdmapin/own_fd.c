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
 * change): an fd on NFS, 9p or FUSE is then not asked of its server, which
 * may be slow or hung, when all that is wanted is whether it is this file.
 */
bool rdmapin_fd_is_file(int fd, dev_t dev, ino_t ino)
{
	struct statx stx;

	return !statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_TYPE | STATX_INO, &stx) &&
	       S_ISREG(stx.stx_mode) && stx.stx_ino == ino &&
	       makedev(stx.stx_dev_major, stx.stx_dev_minor) == dev;
}

int rdmapin_own_fd_find(dev_t dev, ino_t ino, rdmapin_own_fd_fn try, void *ctx)
{
	DIR *d = opendir("/proc/self/fd");
	int fd, found = -1, err = EBADF;
	struct dirent *e;

	if (!d)
		return -1;
	while (found < 0 && (e = readdir(d))) {
		fd = atoi(e->d_name);
		if (e->d_name[0] == '.' || fd == dirfd(d) || !rdmapin_fd_is_file(fd, dev, ino))
			continue;
		found = try(fd, ctx);
		if (found < 0 && errno)
			err = errno;
	}
	closedir(d);
	errno = err;
	return found;
}
