// SPDX-License-Identifier: MIT
/* hugetlbfs and MAP_HUGETLB memory: pins long-term like shmem. */
#include "provider.h"

const struct rdmapin_provider rdmapin_provider_hugetlb = {
	.kind = RDMAPIN_BACKING_HUGETLB,
	.prepare = rdmapin_provider_prepare_pinnable,
	.reg = rdmapin_provider_reg_verbs,
};
