// SPDX-License-Identifier: MIT
/* What a device offers for registration: On-Demand Paging, from ibv_query_device_ex(). */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <infiniband/verbs.h>

#include <rdmapin/rdmapin.h>
#include "device_caps.h"
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

/*
 * A device's capabilities do not change while a context is open; the device
 * pointer guards against a closed context's address being reused by another.
 */
int rdmapin_device_caps(struct ibv_context *context, struct rdmapin_device_caps *caps)
{
	static struct {
		struct ibv_context *context;
		struct ibv_device *device;
		struct rdmapin_device_caps caps;
	} cache[8];
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static unsigned int next;
	unsigned int i;
	int found = 0;

	pthread_mutex_lock(&lock);
	for (i = 0; i < sizeof(cache) / sizeof(cache[0]) && !found; i++) {
		found = cache[i].context == context && cache[i].device == context->device;
		if (found)
			*caps = cache[i].caps;
	}
	pthread_mutex_unlock(&lock);
	if (found)
		return 0;
	if (rdmapin_query_device(context, caps))
		return -1;
	pthread_mutex_lock(&lock);
	i = next++ % (sizeof(cache) / sizeof(cache[0]));
	cache[i].context = context;
	cache[i].device = context->device;
	cache[i].caps = *caps;
	pthread_mutex_unlock(&lock);
	return 0;
}
