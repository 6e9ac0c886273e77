/* SPDX-License-Identifier: MIT */
/* RDMA users without librdmapin: what they may pin. */
#ifndef PINLS_UNMANAGED_H
#define PINLS_UNMANAGED_H

#include "filter.h"
#include "pid_set.h"
#include "pins.h"

/*
 * Adds the rows of processes that have an RDMA device open and are not in
 * managed (the registry's); registry_dir (NULL: none exists) tells those
 * that use librdmapin with no pins at the moment.
 */
void unmanaged_scan(struct pin_list *pins, const struct pid_set *managed,
		    const struct filter *f, const char *registry_dir);

#endif
