// SPDX-License-Identifier: MIT
/*
 * The maps text's canary (maps_canary.h): one inaccessible page, private
 * and anonymous, at a random address in the GiB below the program, so that
 * a walk to memory above the program (the heap, mappings) reads its line
 * first (usually the text's first; under ASan, after the shadow), and so that it
 * splits none of the low 4 GiB that some programs want whole (MAP_32BIT, a
 * JVM's heap) when the program is PIE. MADV_DONTFORK keeps it out of a
 * forked child, whose own canary lies elsewhere. That leaves 2^18 pages to
 * choose from, 768 below a program at 4 MiB (not PIE).
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

#include "lib.h"
#include "maps_canary.h"
#include "proc.h"

/* Above any mmap_min_addr. */
#define CANARY_LOW (1UL << 20)
#define CANARY_SPAN (1UL << 30)
#define CANARY_TRIES 4

bool rdmapin_maps_canary_is(const struct rdmapin_proc_map *map)
{
	const uintptr_t *c = rdmapin_lib.maps_canary;

	return map->start == c[0] && map->end == c[1] && c[1] && !map->readable && !map->writable &&
	       !map->shared && !map->inode && !map->dev_major && !map->dev_minor && !map->name[0];
}

bool rdmapin_maps_canary_at(uint64_t start)
{
	return rdmapin_lib.maps_canary[1] && start == rdmapin_lib.maps_canary[0];
}

/* A page at random up to CANARY_SPAN below the program's first, not under CANARY_LOW; or 0. */
static uintptr_t pick(uintptr_t page)
{
	uintptr_t high = getauxval(AT_PHDR) & -page, low, r;

	low = high > CANARY_LOW + CANARY_SPAN ? high - CANARY_SPAN : CANARY_LOW;
	if (high <= low + page || getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		return 0;
	return low + r % ((high - low) / page) * page;
}

static bool place(uintptr_t at, size_t len)
{
	void *p = mmap((void *)at, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED)
		return false;
	/* A kernel (or valgrind) that took the flag for a hint: not where asked. */
	if ((uintptr_t)p != at || madvise(p, len, MADV_DONTFORK)) {
		munmap(p, len);
		return false;
	}
	return true;
}

void rdmapin_maps_canary_make(uintptr_t addr)
{
	uintptr_t *c = rdmapin_lib.maps_canary, page = getpagesize(), at;
	int i;

	if (c[1] && c[1] > addr)
		return;
	/* A lost canary's range is the application's now: it is left alone. */
	c[0] = c[1] = 0;
	for (i = 0; i < CANARY_TRIES; i++) {
		at = pick(page);
		if (at && place(at, page)) {
			c[0] = at;
			c[1] = at + page;
			return;
		}
	}
}
