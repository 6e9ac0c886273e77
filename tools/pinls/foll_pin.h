/* SPDX-License-Identifier: MIT */
/*
 * Pinned pages as the kernel counts them and as the registry explains them:
 * a host whose kernel pins far more than librdmapin's records account for
 * has RDMA users (or others) pinning memory that pinls cannot attribute.
 */
#ifndef PINLS_FOLL_PIN_H
#define PINLS_FOLL_PIN_H

#include <stdbool.h>
#include <stdint.h>

#include "pins.h"

/*
 * Pages pinned with FOLL_PIN now, by anyone: nr_foll_pin_acquired minus
 * nr_foll_pin_released in /proc/vmstat (Linux 5.7 and later). False if
 * the kernel does not say.
 */
bool kernel_pinned_pages(uint64_t *pages);

/*
 * Pages that the active long-term pins (MODE pin) of the registry's rows
 * cover. ODP registrations pin nothing; unmanaged rows are not known to be
 * registered at all.
 */
uint64_t registry_pinned_pages(const struct pin_list *pins);

#endif
