// SPDX-License-Identifier: MIT
/*
 * Regular files in the page cache. A shared writable mapping pins long-term
 * only before Linux 6.5; after that it needs On-Demand Paging. A lease is
 * taken when the file allows it, so a truncate revokes the MR first.
 */
#include <errno.h>
#include <stdio.h>

#include "provider.h"
#include "host_caps.h"

static void pagecache_prepare(struct rdmapin_mr *mr)
{
	if (!mr->backing.shared) {
		/* Writable pins of a private mapping land on anonymous COW copies. */
		rdmapin_provider_prepare_pinnable(mr);
		return;
	}
	mr->lease_default = RDMAPIN_LEASE_IF_AVAILABLE;
	mr->pin_errno = EFAULT;
	mr->pin_allowed = !rdmapin_access_writable(mr->attr.access) ||
			  !rdmapin_host_refuses_file_pins();
	if (!mr->pin_allowed)
		snprintf(mr->pin_refusal, sizeof(mr->pin_refusal),
			 "Linux %s refuses long-term writable pins of shared page-cache "
			 "files (since 6.5)", rdmapin_host()->kernel_release);
}

const struct rdmapin_provider rdmapin_provider_pagecache = {
	.kind = RDMAPIN_BACKING_PAGECACHE,
	.prepare = pagecache_prepare,
	.reg = rdmapin_provider_reg_verbs,
};
