// SPDX-License-Identifier: MIT
/* What a device offers for registration: On-Demand Paging, from ibv_query_device_ex(). */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <infiniband/verbs.h>

#include <rdmapin/rdmapin.h>
#include "error.h"

#define RC_ODP_BASE \
	(IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV | IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_READ)

int rdmapin_query_device(struct ibv_context *context, struct rdmapin_device_caps *caps)
{
	struct ibv_device_attr_ex attr;
	uint32_t rc, general;
	int ret;

	if (!context || !caps)
		return rdmapin_fail(EINVAL, "rdmapin_query_device: %s is NULL",
				    context ? "caps" : "context");
	memset(caps, 0, sizeof(*caps));
	ret = ibv_query_device_ex(context, NULL, &attr);
	if (ret)
		return rdmapin_fail(ret, "%s: ibv_query_device_ex failed: %s",
				    ibv_get_device_name(context->device), strerrordesc_np(ret));
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
