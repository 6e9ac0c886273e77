// SPDX-License-Identifier: MIT
/* This process's own fds on a file: see own_fd.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "own_fd.h"

bool rdmapin_fd_is_file(int fd, dev_t dev, ino_t ino)
{
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == dev && st.st_ino == ino;
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
