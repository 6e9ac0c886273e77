/* SPDX-License-Identifier: MIT */
/* The kernel cross-check of pins (the CHECK column). */
#ifndef PINLS_KCHECK_H
#define PINLS_KCHECK_H

#include <stddef.h>

#include "pins.h"

/* Sets each row's check from /proc/locks and RDMA resource tracking. */
void kcheck_pins(struct pin *pins, size_t n);

#endif
