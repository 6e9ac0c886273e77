// SPDX-License-Identifier: MIT
/*
 * Device-DAX (/dev/daxX.Y): pins long-term on every kernel and has no
 * truncate, so no lease. The device maps only whole pages of its alignment
 * (libdaxctl), and a range must start and end on them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/sysmacros.h>
#include <daxctl/libdaxctl.h>

#include "error.h"
#include "provider.h"

#include "array.h"

/* The alignment of the dax device with this dev_t, or 0 if libdaxctl has none. */
static unsigned long devdax_align_lookup(dev_t rdev)
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
 * change while it is mapped (daxctl reconfigures only unused devices), so
 * remember it per device.
 */
static unsigned long devdax_align(dev_t rdev)
{
	static struct {
		dev_t rdev;
		unsigned long align;
	} cache[16];
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static unsigned int next;
	unsigned long align = 0;
	unsigned int i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < ARRAY_SIZE(cache) && !align; i++)
		if (cache[i].align && cache[i].rdev == rdev)
			align = cache[i].align;
	pthread_mutex_unlock(&lock);
	if (align)
		return align;
	align = devdax_align_lookup(rdev);
	if (align) {
		pthread_mutex_lock(&lock);
		cache[next++ % ARRAY_SIZE(cache)] = (typeof(cache[0])){ rdev, align };
		pthread_mutex_unlock(&lock);
	}
	return align;
}

static int devdax_probe(struct rdmapin_mr *mr)
{
	struct rdmapin_backing_info *b = &mr->backing;
	uintptr_t start = (uintptr_t)mr->attr.addr;
	unsigned long align = devdax_align(b->rdev);

	if (!align)
		return rdmapin_fail(ENODEV, "%s: libdaxctl does not know this device-DAX device; "
				    "check that the daxctl tools see it (daxctl list)", b->path);
	b->page_size = align;
	if (start % align || mr->attr.length % align)
		return rdmapin_fail(EINVAL, "%s: range 0x%jx+0x%zx is not aligned to the device's "
				    "%lu KiB alignment; register whole %lu KiB-aligned pages",
				    b->path, (uintmax_t)start, mr->attr.length, align >> 10,
				    align >> 10);
	return 0;
}

const struct rdmapin_provider rdmapin_provider_devdax = {
	.kind = RDMAPIN_BACKING_DEVDAX,
	.probe = devdax_probe,
	.prepare = rdmapin_provider_prepare_pinnable,
	.reg = rdmapin_provider_reg_verbs,
};
