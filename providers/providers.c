// SPDX-License-Identifier: MIT
/* The ops table: which provider serves which backing kind. */
#include "provider.h"

extern const struct rdmapin_provider rdmapin_provider_memory;
extern const struct rdmapin_provider rdmapin_provider_pagecache;
extern const struct rdmapin_provider rdmapin_provider_fsdax;
extern const struct rdmapin_provider rdmapin_provider_devdax;

static const struct rdmapin_provider *const providers[] = {
	[RDMAPIN_BACKING_ANON] = &rdmapin_provider_memory,
	[RDMAPIN_BACKING_SHMEM] = &rdmapin_provider_memory,
	[RDMAPIN_BACKING_HUGETLB] = &rdmapin_provider_memory,
	[RDMAPIN_BACKING_PAGECACHE] = &rdmapin_provider_pagecache,
	[RDMAPIN_BACKING_FSDAX] = &rdmapin_provider_fsdax,
	[RDMAPIN_BACKING_DEVDAX] = &rdmapin_provider_devdax,
};

const struct rdmapin_provider *rdmapin_provider_get(enum rdmapin_backing kind)
{
	return providers[kind];
}
