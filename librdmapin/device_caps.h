/* SPDX-License-Identifier: MIT */
#ifndef RDMAPIN_DEVICE_CAPS_H
#define RDMAPIN_DEVICE_CAPS_H

#include <rdmapin/rdmapin.h>

/* rdmapin_query_device(), remembered per context for the registration path. */
int rdmapin_device_caps(struct ibv_context *context, struct rdmapin_device_caps *caps);

#endif
