// SPDX-License-Identifier: MIT
/* Memory for what rows point to: see arena.h. */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "xalloc.h"

/*
 * Pages are touched only as filled. The first chunk has small pages: a huge
 * one costs a listing of a few pins ~1 ms to clear; later ones are huge
 * where the host allows, as many rows fault far fewer times then.
 */
#define FIRST_CHUNK_SIZE (256 << 10)
#define CHUNK_SIZE (HUGE_SIZE - sizeof(struct arena_chunk))

struct arena_chunk {
	struct arena_chunk *prev;
	alignas(max_align_t) char data[];
};

/* size bytes at a multiple of align from the chunk's start, which is aligned for any type. */
static void *carve(struct arena *a, size_t size, size_t align)
{
	struct arena_chunk *c;
	size_t room, pad = -(uintptr_t)a->next & (align - 1);
	char *p;

	if (!a->chunks || (size_t)(a->end - a->next) < pad + size) {
		if (!a->chunks && size <= FIRST_CHUNK_SIZE) {
			room = FIRST_CHUNK_SIZE;
			c = xrealloc(NULL, 1, sizeof(*c) + room);
		} else {
			room = size > CHUNK_SIZE ? size : CHUNK_SIZE;
			c = xalloc_huge(sizeof(*c) + room);
		}
		c->prev = a->chunks;
		a->chunks = c;
		a->next = c->data;
		a->end = c->data + room;
		pad = 0;
	}
	p = a->next + pad;
	a->next = p + size;
	return p;
}

void *arena_alloc(struct arena *a, size_t size)
{
	return carve(a, size, alignof(max_align_t));
}

const char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p = carve(a, len + 1, 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

void arena_free(struct arena *a)
{
	struct arena_chunk *c;

	while ((c = a->chunks)) {
		a->chunks = c->prev;
		free(c);
	}
	a->next = a->end = NULL;
}
