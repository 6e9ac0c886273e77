// SPDX-License-Identifier: MIT
/* Allocation for pinls: see xalloc.h. */
#define _GNU_SOURCE
#include <err.h>
#include <stdlib.h>

#include "xalloc.h"

void *xrealloc(void *p, size_t n, size_t size)
{
	p = reallocarray(p, n, size);
	if (!p && n && size)
		err(EXIT_FAILURE, "out of memory");
	return p;
}

void *xgrow(void *v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return v;
	*cap = *cap ? 2 * *cap : 16;
	return xrealloc(v, *cap, size);
}
