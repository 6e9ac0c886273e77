/* SPDX-License-Identifier: MIT */
/* What backs an address range or an open file. */
#ifndef RDMAPIN_BACKING_H
#define RDMAPIN_BACKING_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <rdmapin/rdmapin.h>
#include "provider.h"

/*
 * Classifies [addr, addr + length), which must be mapped without holes by
 * one object: anonymous memory, or one file mapped at contiguous offsets
 * (one mmap() that mprotect() or madvise() split). fd is an open fd that
 * the caller says backs the range, or -1.
 */
int rdmapin_backing_classify(const void *addr, size_t length, int fd,
			     struct rdmapin_backing_info *info);

/* The kind of an open file; fills kind, dev, ino, rdev, page_size and path only. */
int rdmapin_backing_of_fd(int fd, struct rdmapin_backing_info *info);

#endif
