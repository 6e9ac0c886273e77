// SPDX-License-Identifier: MIT
/*
 * Files on a filesystem mounted -o dax. No kernel pins a shared fsdax mapping
 * long-term (the NIC would write to storage the filesystem may reallocate), so
 * only On-Demand Paging registers it, always under a lease or the guard.
 * Writable pins of a private mapping land on anonymous COW copies, which pin
 * anywhere once made: the kernel will not copy fsdax pages during a long-term
 * pin (an untouched private mapping fails with EOPNOTSUPP on 6.1 and 7.2), so
 * the range is write-faulted first. The file form maps it MAP_SYNC, so that
 * what the NIC writes is durable once it is visible, as for device-DAX.
 */
#include <errno.h>

#include "provider.h"

static int fsdax_policy(const struct rdmapin_range *r, const struct rdmapin_host_facts *h,
			struct rdmapin_policy *p)
{
	p->pin_errno = EOPNOTSUPP;
	if (!r->backing->shared) {
		p->pin_allowed = r->writable;
		p->populate_for_pin = true;
		p->lease_default = RDMAPIN_LEASE_NONE;
		if (!p->pin_allowed)
			rdmapin_policy_refusal(p, "read-only pins of a private fsdax mapping "
						  "reach the file's own pages, which no kernel "
						  "pins long-term");
		return 0;
	}
	p->leasable = true;
	p->lease_default = RDMAPIN_LEASE_REQUIRE;
	rdmapin_policy_refusal(p, "fsdax memory cannot be pinned long-term on any kernel");
	return 0;
}

const struct rdmapin_provider rdmapin_provider_fsdax = {
	.name = "fsdax",
	.map_sync = true,
	.policy = fsdax_policy,
};
