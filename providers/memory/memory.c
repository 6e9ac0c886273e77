// SPDX-License-Identifier: MIT
/*
 * Memory with no file to lose: private anonymous memory, shmem (memfd,
 * tmpfs, shared anonymous, SysV shm) and hugetlb. It pins long-term on every
 * kernel (the 6.5 refusal spares shmem and hugetlb), and needs no lease.
 */
#include "provider.h"

static int memory_policy(const struct rdmapin_range *r, const struct rdmapin_host_facts *h,
			 struct rdmapin_policy *p)
{
	p->pin_allowed = true;
	p->lease_default = RDMAPIN_LEASE_NONE;
	return 0;
}

const struct rdmapin_provider rdmapin_provider_memory = {
	.name = "memory",
	.policy = memory_policy,
};
