// SPDX-License-Identifier: MIT
/*
 * rdmapin_query_range(): what backs a range before it is registered, so that
 * a caller (the preload library) can leave memory that needs nothing to the
 * verbs and send only files through registration.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include <rdmapin/rdmapin.h>
#include "backing.h"
#include "error.h"

int rdmapin_query_range(const void *addr, size_t length, struct rdmapin_range_attr *attr)
{
	static __thread char path[PATH_MAX];
	struct rdmapin_backing_info info;

	if (!attr)
		return rdmapin_fail(EINVAL, "rdmapin_query_range: attr is NULL; pass a "
					    "struct rdmapin_range_attr to fill");
	if (rdmapin_backing_classify(addr, length, -1, &info))
		return -1;
	snprintf(path, sizeof(path), "%s", info.path);
	/* The fields of version 1.0 only: a caller's struct may be no larger. */
	attr->comp_mask = 0;
	attr->backing = info.kind;
	attr->flags = info.shared ? RDMAPIN_RANGE_SHARED : 0;
	attr->reserved = 0;
	attr->dev = info.dev;
	attr->ino = info.ino;
	attr->offset = info.offset;
	attr->path = path;
	return 0;
}
