/* SPDX-License-Identifier: MIT */
/* What backs an address range or an open file. */
#ifndef RDMAPIN_BACKING_H
#define RDMAPIN_BACKING_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <rdmapin/rdmapin.h>

struct rdmapin_backing_info {
	enum rdmapin_backing kind;
	bool shared;			/* MAP_SHARED */
	bool writable;			/* every mapping in the range has PROT_WRITE */
	uintptr_t map_start, map_end;	/* the covering mappings' union */
	uint64_t offset;		/* file offset of addr (0 for anonymous) */
	dev_t dev;			/* st_dev/st_ino of the backing file; 0 for anonymous */
	ino_t ino;
	dev_t rdev;			/* st_rdev: which device-DAX device */
	uint64_t page_size;		/* the mapping's page size (hugetlb: 2M/1G), >= 4096 */
	char path[PATH_MAX];		/* as the mapping names it; "" for anonymous */
};

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
