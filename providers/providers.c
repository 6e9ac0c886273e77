// SPDX-License-Identifier: MIT
/* The ops table: which provider serves which backing kind. */
#include "provider.h"

static const struct rdmapin_provider *const providers[] = {
	[RDMAPIN_BACKING_ANON] = &rdmapin_provider_anon,
	[RDMAPIN_BACKING_SHMEM] = &rdmapin_provider_shmem,
	[RDMAPIN_BACKING_HUGETLB] = &rdmapin_provider_hugetlb,
	[RDMAPIN_BACKING_PAGECACHE] = &rdmapin_provider_pagecache,
	[RDMAPIN_BACKING_FSDAX] = &rdmapin_provider_fsdax,
	[RDMAPIN_BACKING_DEVDAX] = &rdmapin_provider_devdax,
};

const struct rdmapin_provider *rdmapin_provider_get(enum rdmapin_backing kind)
{
	return providers[kind];
}

struct ibv_mr *rdmapin_provider_reg_verbs(struct rdmapin_mr *mr, int access)
{
	if (mr->attr.comp_mask & RDMAPIN_MR_INIT_ATTR_IOVA)
		return ibv_reg_mr_iova(mr->pd, mr->attr.addr, mr->attr.length, mr->attr.iova,
				       access);
	return ibv_reg_mr(mr->pd, mr->attr.addr, mr->attr.length, access);
}

void rdmapin_provider_prepare_pinnable(struct rdmapin_mr *mr)
{
	mr->pin_allowed = true;
	mr->lease_default = RDMAPIN_LEASE_NONE;
}
