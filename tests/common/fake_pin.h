/* SPDX-License-Identifier: MIT */
/*
 * A pin as the registry's writer takes it, for tests and benchmarks that
 * publish without an RDMA device.
 */
#ifndef RDMAPIN_TESTS_FAKE_PIN_H
#define RDMAPIN_TESTS_FAKE_PIN_H

#include <stdio.h>
#include <string.h>
#include <rdmapin/rdmapin.h>

#include "registry_format.h"

/*
 * An active ODP pin of len bytes of an fsdax file at path, on device "fake0",
 * under rxe's ODP quirk.
 */
static inline void fake_pin_init(struct rdmapin_registry_pin *v, const char *path, uint64_t len,
				 uint32_t lkey)
{
	memset(v, 0, sizeof(*v));
	v->state = RDMAPIN_PIN_ACTIVE;
	v->backing = RDMAPIN_BACKING_FSDAX;
	v->mode = RDMAPIN_MODE_ODP;
	v->quirks = RDMAPIN_QUIRK_RXE_ODP_OFFSET;
	v->lkey = lkey;
	v->ino = lkey;
	v->length = len;
	snprintf(v->device, sizeof(v->device), "fake0");
	snprintf(v->path, sizeof(v->path), "%.*s", (int)sizeof(v->path) - 1, path);
}

#endif
