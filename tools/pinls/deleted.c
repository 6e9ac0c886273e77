// SPDX-License-Identifier: MIT
/* Unlinked files of the pins: see deleted.h. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "deleted.h"
#include "proc.h"
#include "xalloc.h"

/* The "(deleted)" mappings of @pid; none if its maps cannot be read. */
static void read_maps(struct deleted_maps *d, pid_t pid)
{
	struct rdmapin_proc_map map;
	char path[64], *line = NULL;
	size_t size = 0;
	FILE *f;

	d->n = 0;
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	while (f && getline(&line, &size, f) > 0) {
		/* Most lines name no unlinked file: skip them before the costly parse. */
		if (!strstr(line, " (deleted)") || rdmapin_proc_map_parse(line, &map) ||
		    !rdmapin_proc_map_unlinked(&map))
			continue;
		d->v = xgrow(d->v, d->n, &d->cap, sizeof(*d->v));
		d->v[d->n++] = (struct deleted_map){
			.start = map.start, .end = map.end, .ino = map.inode,
			.dev = makedev(map.dev_major, map.dev_minor),
		};
	}
	free(line);
	if (f)
		fclose(f);
}

/* The mapping covering @addr, or NULL; maps lists them in address order. */
static const struct deleted_map *covering(const struct deleted_maps *d, uint64_t addr)
{
	size_t lo = 0, hi = d->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (addr < d->v[mid].start)
			hi = mid;
		else if (addr >= d->v[mid].end)
			lo = mid + 1;
		else
			return &d->v[mid];
	}
	return NULL;
}

bool deleted_pin(struct deleted_maps *d, const struct rdmapin_pin_record *rec)
{
	const struct deleted_map *m;

	/* The registry lists a process's pins together: one read serves them all. */
	if (d->pid != rec->pid || d->start_time != rec->start_time) {
		read_maps(d, rec->pid);
		d->pid = rec->pid;
		d->start_time = rec->start_time;
	}
	m = covering(d, rec->slot.addr);
	return m && m->dev == rec->slot.dev && m->ino == rec->slot.ino;
}

void deleted_maps_free(struct deleted_maps *d)
{
	free(d->v);
}
