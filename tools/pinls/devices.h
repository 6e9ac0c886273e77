/* SPDX-License-Identifier: MIT */
/* The host's RDMA devices and what each offers, for --caps and --openmetrics. */
#ifndef PINLS_DEVICES_H
#define PINLS_DEVICES_H

#include <stddef.h>

#include <rdmapin/rdmapin.h>

/* caps is NULL when the device cannot be asked; why then says why. */
typedef void (*device_fn)(const char *name, const struct rdmapin_device_caps *caps, const char *why,
			  void *ctx);

/* Calls fn for each RDMA device; returns how many there are. */
size_t for_each_device(device_fn fn, void *ctx);

#endif
