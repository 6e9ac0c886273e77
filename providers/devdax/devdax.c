// SPDX-License-Identifier: MIT
/*
 * Device-DAX (/dev/daxX.Y): pins long-term on every kernel and has no
 * truncate, so no lease. The device maps only whole pages of its alignment
 * (the backing's page size, as the core read it for this registration: a
 * namespace can be recreated with another), and a range must start and end
 * on them. The core reads none (0) for a range that does, whatever the
 * alignment is.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "provider.h"

static int devdax_policy(const struct rdmapin_range *r, const struct rdmapin_host_facts *h,
			 struct rdmapin_policy *p)
{
	uint64_t align = r->backing->page_size;

	p->pin_allowed = true;
	p->lease_default = RDMAPIN_LEASE_NONE;
	if (align && (r->start % align || r->length % align)) {
		snprintf(p->refusal, sizeof(p->refusal),
			 "range 0x%jx+0x%zx is not aligned to the device's %ju KiB "
			 "alignment; register whole %ju KiB-aligned pages",
			 (uintmax_t)r->start, r->length, (uintmax_t)align >> 10,
			 (uintmax_t)align >> 10);
		return EINVAL;
	}
	return 0;
}

const struct rdmapin_provider rdmapin_provider_devdax = {
	.name = "devdax",
	.policy = devdax_policy,
};
