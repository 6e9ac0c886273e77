// SPDX-License-Identifier: MIT
/*
 * memfd, tmpfs and shared anonymous memory: shmem pages pin long-term on every
 * kernel (the 6.5 refusal spares shmem) and no persistent file loses data.
 */
#include "provider.h"

const struct rdmapin_provider rdmapin_provider_shmem = {
	.kind = RDMAPIN_BACKING_SHMEM,
	.prepare = rdmapin_provider_prepare_pinnable,
	.reg = rdmapin_provider_reg_verbs,
};
