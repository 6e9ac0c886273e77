// SPDX-License-Identifier: MIT
/*
 * Files on a filesystem mounted -o dax. No kernel pins a shared fsdax mapping
 * long-term (the NIC would write to storage the filesystem may reallocate), so
 * only On-Demand Paging registers it, always under a lease. Writable pins of a
 * private mapping land on anonymous COW copies, which pin anywhere.
 */
#include <errno.h>
#include <stdio.h>

#include "provider.h"

static void fsdax_prepare(struct rdmapin_mr *mr)
{
	if (!mr->backing.shared) {
		mr->pin_allowed = rdmapin_access_writable(mr->attr.access);
		mr->pin_errno = EOPNOTSUPP;
		mr->lease_default = RDMAPIN_LEASE_NONE;
		if (!mr->pin_allowed)
			snprintf(mr->pin_refusal, sizeof(mr->pin_refusal),
				 "read-only pins of a private fsdax mapping reach the file's "
				 "own pages, which no kernel pins long-term");
		return;
	}
	mr->pin_allowed = false;
	mr->pin_errno = EOPNOTSUPP;
	mr->lease_default = RDMAPIN_LEASE_REQUIRE;
	snprintf(mr->pin_refusal, sizeof(mr->pin_refusal),
		 "fsdax memory cannot be pinned long-term on any kernel");
}

const struct rdmapin_provider rdmapin_provider_fsdax = {
	.kind = RDMAPIN_BACKING_FSDAX,
	.prepare = fsdax_prepare,
	.reg = rdmapin_provider_reg_verbs,
};
