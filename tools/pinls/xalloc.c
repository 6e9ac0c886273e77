// SPDX-License-Identifier: MIT
/* Allocation for pinls: see xalloc.h. */
#define _GNU_SOURCE
#include <err.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

/*
 * Every first touch of a page faults, and under a hypervisor a fault costs
 * tens of microseconds: 100k rows touch thousands of pages. Memory aligned
 * to and sized in huge pages, and asked for them, faults once per 2 MiB
 * where the host gives transparent huge pages on request (madvise mode);
 * elsewhere the hint changes nothing, so its failure is ignored.
 */
void *xalloc_huge(size_t size)
{
	void *p = NULL;

	if (size <= SIZE_MAX - HUGE_SIZE) {
		size = (size + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
		p = aligned_alloc(HUGE_SIZE, size);
	}
	if (!p)
		err(EXIT_FAILURE, "out of memory");
	madvise(p, size, MADV_HUGEPAGE);
	return p;
}

void *xgrow_huge(void *v, size_t n, size_t *cap, size_t size)
{
	size_t old = *cap;
	void *p;

	if (n < *cap)
		return v;
	*cap = *cap ? 2 * *cap : 16;
	if (*cap > SIZE_MAX / size || *cap * size < HUGE_SIZE)
		return xrealloc(v, *cap, size);
	/* realloc would lose the alignment: a copy costs less than the faults it saves. */
	p = xalloc_huge(*cap * size);
	memcpy(p, v, old * size);
	free(v);
	return p;
}
