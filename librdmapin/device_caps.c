// SPDX-License-Identifier: MIT
/*
 * What a device offers for registration: On-Demand Paging, from
 * ibv_query_device_ex(), and its known defects on this kernel (device_quirks.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <infiniband/verbs.h>

#include <rdmapin/rdmapin.h>
#include "array.h"
#include "device_caps.h"
#include "device_quirks.h"
#include "error.h"
#include "lib.h"

#define RC_ODP_BASE \
	(IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV | IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_READ)

int rdmapin_query_device(struct ibv_context *context, struct rdmapin_device_caps *caps)
{
	struct ibv_device_attr_ex attr;
	uint32_t rc, general, mask;
	int ret;

	if (!context || !caps)
		return rdmapin_fail(EINVAL, "rdmapin_query_device: %s is NULL",
				    context ? "caps" : "context");
	ret = ibv_query_device_ex(context, NULL, &attr);
	if (ret)
		return rdmapin_fail(ret, "%s: ibv_query_device_ex failed: %s",
				    ibv_get_device_name(context->device), strerrordesc_np(ret));
	/* Version 1.0's fields, and only the extensions the caller knows. */
	mask = caps->comp_mask & RDMAPIN_DEVICE_CAPS_QUIRKS;
	memset(caps, 0, offsetof(struct rdmapin_device_caps, quirks));
	caps->comp_mask = mask;
	if (mask & RDMAPIN_DEVICE_CAPS_QUIRKS)
		caps->quirks = rdmapin_device_quirks(&attr);
	general = attr.odp_caps.general_caps;
	rc = attr.odp_caps.per_transport_caps.rc_odp_caps;
	caps->rc_odp_caps = general & IBV_ODP_SUPPORT ? rc : 0;
	if ((caps->rc_odp_caps & RC_ODP_BASE) == RC_ODP_BASE)
		caps->flags |= RDMAPIN_DEVICE_RC_ODP;
	if (caps->flags && (rc & IBV_ODP_SUPPORT_ATOMIC))
		caps->flags |= RDMAPIN_DEVICE_RC_ODP_ATOMIC;
	if (general & IBV_ODP_SUPPORT_IMPLICIT)
		caps->flags |= RDMAPIN_DEVICE_IMPLICIT_ODP;
	return 0;
}

/*
 * A device's capabilities do not change while a context is open; the device
 * pointer guards against a closed context's address being reused by another.
 * The query runs outside the lock.
 */
int rdmapin_device_caps(struct ibv_context *context, struct rdmapin_device_caps *caps)
{
	struct rdmapin_lib *l = &rdmapin_lib;
	struct rdmapin_device_entry *e;
	bool found = false;

	rdmapin_lock();
	for (e = l->devices; e < l->devices + ARRAY_SIZE(l->devices) && !found; e++) {
		found = e->context == context && e->device == context->device;
		if (found)
			*caps = e->caps;
	}
	rdmapin_unlock();
	if (found)
		return 0;
	caps->comp_mask = RDMAPIN_DEVICE_CAPS_QUIRKS;
	if (rdmapin_query_device(context, caps))
		return -1;
	rdmapin_lock();
	e = &l->devices[l->devices_next++ % ARRAY_SIZE(l->devices)];
	*e = (struct rdmapin_device_entry){ context, context->device, *caps };
	rdmapin_unlock();
	return 0;
}
