/* SPDX-License-Identifier: MIT */
/*
 * Which pins' files were unlinked: the mappings a process's maps names
 * "(deleted)", read once per process for all of its pins, not once per pin,
 * and only as far as they lie.
 */
#ifndef PINLS_DELETED_H
#define PINLS_DELETED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pins.h"

struct deleted_map {
	uint64_t start, end;
	uint64_t dev, ino;
};

/* The unlinked files of the process last read, in address order, and its maps' text. */
struct deleted_maps {
	struct deleted_map *v;
	size_t n, cap;
	char *text;
	size_t text_cap;
};

/*
 * Marks the rows of @pid's pins (@n of them at @rows: the registry lists a
 * process's pins together) whose file, mapped at the pin's address, was
 * unlinked or renamed over, as rdmapin_query_mr() tells it: only files, from
 * the mappings its maps names "(deleted)", read as far as the last pin's.
 */
void deleted_mark(struct deleted_maps *d, pid_t pid, struct pin *rows, size_t n);

void deleted_maps_free(struct deleted_maps *d);

#endif
