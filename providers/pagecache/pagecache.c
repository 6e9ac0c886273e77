// SPDX-License-Identifier: MIT
/*
 * Regular files in the page cache. A shared writable mapping pins long-term
 * only before Linux 6.5; after that it needs On-Demand Paging. A lease is
 * taken when the file allows it, so a truncate revokes the MR first.
 * Writable pins of a private mapping land on anonymous COW copies.
 */
#include <errno.h>

#include "provider.h"

static int pagecache_policy(const struct rdmapin_range *r, const struct rdmapin_host_facts *h,
			    struct rdmapin_policy *p)
{
	if (!r->backing->shared) {
		p->pin_allowed = true;
		p->lease_default = RDMAPIN_LEASE_NONE;
		return 0;
	}
	p->leasable = true;
	p->lease_default = RDMAPIN_LEASE_IF_AVAILABLE;
	p->pin_errno = EFAULT;
	p->pin_allowed = !r->writable || !h->refuses_file_pins;
	if (!p->pin_allowed)
		rdmapin_policy_refusal(p, "Linux 6.5 and later refuse long-term writable pins "
					  "of shared page-cache files");
	return 0;
}

const struct rdmapin_provider rdmapin_provider_pagecache = {
	.name = "page-cache",
	.policy = pagecache_policy,
};
