/* SPDX-License-Identifier: MIT */
/*
 * A mapping that only this process has, by which the text of
 * /proc/self/maps, read through the descriptor the library keeps in the
 * application's table, is known to be this process's without an fstat()
 * per walk (vma.c; kernels without PROCMAP_QUERY). The application may close
 * that descriptor and open another process's maps on its number, a forked
 * child's even, which lays out its memory as this process did: neither has
 * this line. Under the maps_walk lock.
 */
#ifndef RDMAPIN_MAPS_CANARY_H
#define RDMAPIN_MAPS_CANARY_H

#include <stdbool.h>
#include <stdint.h>

struct rdmapin_proc_map;

/* Whether @map is the canary's line. */
bool rdmapin_maps_canary_is(const struct rdmapin_proc_map *map);
/* Whether a line that starts at @start may be the canary's. */
bool rdmapin_maps_canary_at(uint64_t start);
/*
 * Maps a canary, if the process has none or the one it had lies below
 * @addr (a walk to @addr would have passed its line: the application
 * unmapped or replaced it). Failing that, walks check the descriptor.
 */
void rdmapin_maps_canary_make(uintptr_t addr);

#endif
