/* SPDX-License-Identifier: MIT */
/*
 * Which pins' files were unlinked: the mappings a process's maps names
 * "(deleted)", read once per process for all of its pins, not once per pin.
 */
#ifndef PINLS_DELETED_H
#define PINLS_DELETED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "registry_read.h"

struct deleted_map {
	uint64_t start, end;
	uint64_t dev, ino;
};

/* The unlinked files one process maps, in address order. */
struct deleted_maps {
	pid_t pid;			/* whose; 0: none read yet */
	uint64_t start_time;
	struct deleted_map *v;
	size_t n, cap;
	char *text;			/* its maps, read whole */
	size_t text_cap;
};

/*
 * Whether the file of @rec's pin, mapped at its address, was unlinked or
 * renamed over, as rdmapin_proc_map_deleted() tells it; @d keeps the maps of
 * @rec's process for the next pin of the same process.
 */
bool deleted_pin(struct deleted_maps *d, const struct rdmapin_pin_record *rec);

void deleted_maps_free(struct deleted_maps *d);

#endif
