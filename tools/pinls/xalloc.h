/* SPDX-License-Identifier: MIT */
/* Allocation for pinls: out of memory, it exits with a message. */
#ifndef PINLS_XALLOC_H
#define PINLS_XALLOC_H

#include <stddef.h>

void *xrealloc(void *p, size_t n, size_t size);
/* v, or v reallocated to room for more than n elements, *cap updated. */
void *xgrow(void *v, size_t n, size_t *cap, size_t size);

#endif
