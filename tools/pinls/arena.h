/* SPDX-License-Identifier: MIT */
/*
 * Memory for what rows point to (paths, device names, processes): carved
 * from large chunks that never move and are freed together, so that 100k
 * rows cost neither 100k allocations nor a copy of the registry's 1 KiB
 * path field each.
 */
#ifndef PINLS_ARENA_H
#define PINLS_ARENA_H

#include <stddef.h>

struct arena_chunk;

/* Zeroed to start. */
struct arena {
	struct arena_chunk *chunks;
	char *next, *end;
};

/* Size bytes, aligned for any type; exits if out of memory. */
void *arena_alloc(struct arena *a, size_t size);
/* A copy of the len bytes at s, NUL-terminated. */
const char *arena_strndup(struct arena *a, const char *s, size_t len);
void arena_free(struct arena *a);

#endif
