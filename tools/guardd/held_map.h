/* SPDX-License-Identifier: MIT */
/*
 * The guard's map as rdmapin-guardd edits it: held open across requests,
 * with its pin directory (util/guard_map.c opens both afresh per edit, which
 * costs a client's request more than the edit itself), and checked before
 * each edit to be still the guard's.
 */
#ifndef RDMAPIN_GUARDD_HELD_MAP_H
#define RDMAPIN_GUARDD_HELD_MAP_H

#include <sys/stat.h>

#include "rdmapin_guard.h"

struct guardd_map {
	int map;		/* -1: not open */
	int dirfd;		/* RDMAPIN_GUARD_DIR, locked during an edit */
	struct stat dir;	/* the directory and the map's pin, as opened */
	struct stat pin;
};

#define GUARDD_MAP_INIT { .map = -1, .dirfd = -1 }

/*
 * rdmapin_guard_ref() and rdmapin_guard_unref(), with their errors and
 * messages, in the held map: opened anew when the guard was unloaded,
 * loaded again or its directory changed since.
 */
int guardd_map_ref(struct guardd_map *m, const struct rdmapin_guard_key *key);
int guardd_map_unref(struct guardd_map *m, const struct rdmapin_guard_key *key);

#endif
