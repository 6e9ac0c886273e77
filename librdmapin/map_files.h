/* SPDX-License-Identifier: MIT */
/*
 * Private anonymous memory told without the text of /proc/self/maps, on
 * kernels without PROCMAP_QUERY: the directory /proc/self/map_files lists
 * every file mapping by its range, in address order, and a listing read
 * from a position (lseek) costs the same wherever the range lies, where
 * the text is made line by line from its start, a path lookup each.
 */
#ifndef RDMAPIN_MAP_FILES_H
#define RDMAPIN_MAP_FILES_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Whether [start, end) lies between two consecutive file mappings of one
 * listing (so no file, shmem included, maps any of it) and has no hole
 * (msync MS_ASYNC, which only looks at the mappings): private anonymous
 * memory, as the text walk would say. false when it is not, or when that
 * could not be told (the listing busy in another thread, or unreadable).
 */
bool rdmapin_map_files_private_anon(uintptr_t start, uintptr_t end);
/* In a forked child: closes its copy of the directory if it is still the library's. */
void rdmapin_map_files_forget(void);

#endif
