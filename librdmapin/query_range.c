// SPDX-License-Identifier: MIT
/*
 * rdmapin_query_range(): what backs a range before it is registered, so that
 * a caller (the preload library) can leave memory that needs nothing to the
 * verbs and send only files through registration.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rdmapin/rdmapin.h>
#include "backing.h"
#include "error.h"
#include "vma.h"

/* The fields of version 1.0 only: a caller's struct may be no larger. */
static void fill(struct rdmapin_range_attr *attr, enum rdmapin_backing kind, bool shared,
		 uint64_t dev, uint64_t ino, uint64_t offset, const char *path)
{
	attr->comp_mask = 0;
	attr->backing = kind;
	attr->flags = shared ? RDMAPIN_RANGE_SHARED : 0;
	attr->reserved = 0;
	attr->dev = dev;
	attr->ino = ino;
	attr->offset = offset;
	attr->path = path;
}

int rdmapin_query_range(const void *addr, size_t length, struct rdmapin_range_attr *attr)
{
	static __thread char path[PATH_MAX];
	struct rdmapin_backing_info info;
	uintptr_t start = (uintptr_t)addr;

	if (!attr)
		return rdmapin_fail(EINVAL, "rdmapin_query_range: attr is NULL; pass a "
					    "struct rdmapin_range_attr to fill");
	/*
	 * The preload asks this before every registration of the program's, and
	 * most are of private anonymous memory: that answer costs no more than
	 * the kernel's lookups, where the full classification below moves
	 * path-sized buffers. The full one finds the same for such a range.
	 */
	if (start + length > start && rdmapin_vma_private_anon(start, start + length)) {
		fill(attr, RDMAPIN_BACKING_ANON, false, 0, 0, 0, "");
		return 0;
	}
	if (rdmapin_backing_classify(addr, length, -1, &info))
		return -1;
	snprintf(path, sizeof(path), "%s", info.path);
	fill(attr, info.kind, info.shared, info.dev, info.ino, info.offset, path);
	return 0;
}
