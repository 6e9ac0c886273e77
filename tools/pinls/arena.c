// SPDX-License-Identifier: MIT
/* Memory for what rows point to: see arena.h. */
#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "xalloc.h"

/* Pages are touched only as filled, and are huge where the host allows. */
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
		room = size > CHUNK_SIZE ? size : CHUNK_SIZE;
		c = xalloc_huge(sizeof(*c) + room);
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
