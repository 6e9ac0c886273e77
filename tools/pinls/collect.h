/* SPDX-License-Identifier: MIT */
/* Gathering the rows: the registry's pins, then RDMA users without librdmapin. */
#ifndef PINLS_COLLECT_H
#define PINLS_COLLECT_H

#include "filter.h"
#include "pins.h"

/* Adds the rows f selects; problems with the registry are warnings. */
void collect_pins(struct pin_list *pins, const struct filter *f);

#endif
