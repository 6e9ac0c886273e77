// SPDX-License-Identifier: MIT
/* Allocation for pinls: see xalloc.h. */
#define _GNU_SOURCE
#include <err.h>
#include <stdbool.h>
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

/*
 * Past this, an array takes huge pages: below it, a listing of a few pins
 * clears no 2 MiB page; above it, a large one pays few 4 KiB faults (each
 * ~20 us under a hypervisor) before its first huge page.
 */
#define MAP_FROM ((size_t)256 << 10)

/* Whether an array of cap elements lives in a mapping of its own (see xgrow_huge()). */
static bool mapped(size_t cap, size_t size)
{
	return cap * size >= MAP_FROM;
}

/* The whole huge pages that hold cap elements. */
static size_t mapped_size(size_t cap, size_t size)
{
	return (cap * size + HUGE_SIZE - 1) & ~(HUGE_SIZE - 1);
}

/* size bytes (whole huge pages) of untouched memory at a huge page boundary. */
static void *map_huge(size_t size)
{
	size_t head;
	char *p;

	p = mmap(NULL, size + HUGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (p == MAP_FAILED)
		err(EXIT_FAILURE, "out of memory");
	head = -(uintptr_t)p & (HUGE_SIZE - 1);
	if (head)
		munmap(p, head);
	munmap(p + head + size, HUGE_SIZE - head);
	madvise(p + head, size, MADV_HUGEPAGE);
	return p + head;
}

/*
 * Once past MAP_FROM, the array is a mapping of its own, all of which it
 * uses, and grows by moving its pages to a larger one (mremap), aligned so
 * that huge pages move whole: no copy, and no page cleared twice, which a
 * copy to new memory costs at every doubling.
 */
void *xgrow_huge(void *v, size_t n, size_t *cap, size_t size)
{
	size_t old = *cap, bytes;
	void *p;

	if (n < *cap)
		return v;
	if (*cap > SIZE_MAX / 4 / size)
		err(EXIT_FAILURE, "out of memory");
	*cap = *cap ? 2 * *cap : 16;
	if (!mapped(*cap, size))
		return xrealloc(v, *cap, size);
	bytes = mapped_size(*cap, size);
	*cap = bytes / size;
	p = map_huge(bytes);
	if (!mapped(old, size)) {
		memcpy(p, v, old * size);
		free(v);
		return p;
	}
	if (mremap(v, mapped_size(old, size), bytes, MREMAP_MAYMOVE | MREMAP_FIXED, p) ==
	    MAP_FAILED)
		err(EXIT_FAILURE, "out of memory");
	return p;
}

void xfree_huge(void *v, size_t cap, size_t size)
{
	if (mapped(cap, size))
		munmap(v, mapped_size(cap, size));
	else
		free(v);
}
