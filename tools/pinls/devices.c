// SPDX-License-Identifier: MIT
/* The host's RDMA devices: see devices.h. */
#include <infiniband/verbs.h>

#include "devices.h"

size_t for_each_device(device_fn fn, void *ctx)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct rdmapin_device_caps caps;
	struct ibv_context *dev;
	size_t i;

	for (i = 0; list && list[i]; i++) {
		caps.comp_mask = RDMAPIN_DEVICE_CAPS_QUIRKS;
		dev = ibv_open_device(list[i]);
		if (!dev)
			fn(ibv_get_device_name(list[i]), NULL, "cannot open it", ctx);
		else if (rdmapin_query_device(dev, &caps))
			fn(ibv_get_device_name(list[i]), NULL, rdmapin_last_error(), ctx);
		else
			fn(ibv_get_device_name(list[i]), &caps, NULL, ctx);
		if (dev)
			ibv_close_device(dev);
	}
	if (list)
		ibv_free_device_list(list);
	return i;
}
