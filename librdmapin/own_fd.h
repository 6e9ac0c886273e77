/* SPDX-License-Identifier: MIT */
/*
 * The drop-in form gets an address, not a file: when the library needs the
 * mapped file open (to lease it, to have it guarded), it looks for an fd of
 * this process's own on it.
 */
#ifndef RDMAPIN_OWN_FD_H
#define RDMAPIN_OWN_FD_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Whether @fd is open on the regular file @dev/@ino. */
bool rdmapin_fd_is_file(int fd, dev_t dev, ino_t ino);
/* As rdmapin_fd_is_file(), and whether the file still has a name. */
bool rdmapin_fd_is_linked_file(int fd, dev_t dev, ino_t ino, bool *linked);

/*
 * The fd that last served @dev/@ino in rdmapin_own_fd_find(), if it is still
 * open on that file, with its statx in @stx; else -1. No scan: one statx.
 */
int rdmapin_own_fd_last(dev_t dev, ino_t ino, struct statx *stx);

/*
 * Calls @try with each fd of this process open on the regular file @dev/@ino
 * until one returns >= 0, and returns that. Otherwise -1 with errno: the last
 * try's, or EBADF when no fd is open on the file. A try that returns -1 with
 * errno 0 passes over its fd. The first try is the fd that served the file
 * last, which may since have been closed or opened on another file: @try
 * must check that its fd is the file.
 */
typedef int (*rdmapin_own_fd_fn)(int fd, void *ctx);
int rdmapin_own_fd_find(dev_t dev, ino_t ino, rdmapin_own_fd_fn try, void *ctx);

#endif
