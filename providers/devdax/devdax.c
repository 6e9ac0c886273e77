// SPDX-License-Identifier: MIT
/*
 * Device-DAX (/dev/daxX.Y): pins long-term on every kernel and has no
 * truncate, so no lease. The device maps only whole pages of its alignment
 * (libdaxctl), and a range must start and end on them.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sysmacros.h>
#include <daxctl/libdaxctl.h>

#include "provider.h"

/* Devices whose alignment is remembered; past that, each lookup scans. */
#define ALIGN_CACHE_MAX 64

/* The alignment of the dax device with this dev_t, or 0 if libdaxctl has none. */
static unsigned long align_lookup(dev_t rdev)
{
	struct daxctl_region *region;
	struct daxctl_ctx *ctx;
	struct daxctl_dev *dev;
	unsigned long align = 0;

	if (daxctl_new(&ctx))
		return 0;
	daxctl_region_foreach(ctx, region) {
		daxctl_dev_foreach(region, dev) {
			if (daxctl_dev_get_major(dev) == (int)major(rdev) &&
			    daxctl_dev_get_minor(dev) == (int)minor(rdev))
				align = daxctl_dev_get_align(dev);
		}
	}
	daxctl_unref(ctx);
	return align;
}

/*
 * A libdaxctl scan of sysfs costs milliseconds; a device's alignment cannot
 * change while it is mapped (daxctl reconfigures only unused devices), so it
 * is remembered. The list only grows, by compare-and-swap of its head, and
 * its nodes never change once published: no lock, nothing a fork can
 * inherit half-held.
 */
struct align_node {
	dev_t rdev;
	unsigned long align;
	unsigned int depth;
	struct align_node *next;
};

static struct align_node *align_cache;

static unsigned long devdax_align(dev_t rdev)
{
	struct align_node *head = __atomic_load_n(&align_cache, __ATOMIC_ACQUIRE), *n;
	unsigned long align;

	for (n = head; n; n = n->next)
		if (n->rdev == rdev)
			return n->align;
	align = align_lookup(rdev);
	if (!align || (head && head->depth >= ALIGN_CACHE_MAX) || !(n = malloc(sizeof(*n))))
		return align;
	*n = (struct align_node){ rdev, align, head ? head->depth + 1 : 1, head };
	if (!__atomic_compare_exchange_n(&align_cache, &n->next, n, false, __ATOMIC_RELEASE,
					 __ATOMIC_RELAXED))
		free(n);	/* another thread added one meanwhile: the next call may add it */
	return align;
}

static int devdax_policy(const struct rdmapin_range *r, const struct rdmapin_host_facts *h,
			 struct rdmapin_policy *p)
{
	unsigned long align = devdax_align(r->backing->rdev);

	p->pin_allowed = true;
	p->lease_default = RDMAPIN_LEASE_NONE;
	if (!align) {
		snprintf(p->refusal, sizeof(p->refusal),
			 "libdaxctl does not know this device-DAX device; check that the "
			 "daxctl tools see it (daxctl list)");
		return ENODEV;
	}
	if (r->start % align || r->length % align) {
		snprintf(p->refusal, sizeof(p->refusal),
			 "range 0x%jx+0x%zx is not aligned to the device's %lu KiB "
			 "alignment; register whole %lu KiB-aligned pages",
			 (uintmax_t)r->start, r->length, align >> 10, align >> 10);
		return EINVAL;
	}
	return 0;
}

const struct rdmapin_provider rdmapin_provider_devdax = {
	.name = "devdax",
	.policy = devdax_policy,
};
