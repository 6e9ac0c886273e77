// SPDX-License-Identifier: MIT
/* Unlinked files of the pins: see deleted.h. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "deleted.h"
#include "proc.h"
#include "xalloc.h"

/* The whole of /proc/@pid/maps in d->text, ending in a newline; false if unreadable. */
static bool read_text(struct deleted_maps *d, pid_t pid)
{
	char path[64];
	size_t len = 0;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	/* Few reads of many pages: the kernel formats maps a read at a time. */
	do {
		while (d->text_cap - len < 4096 + 2)
			d->text = xgrow(d->text, d->text_cap, &d->text_cap, 1);
		n = read(fd, d->text + len, d->text_cap - len - 2);
		len += n > 0 ? n : 0;
	} while (n > 0);
	close(fd);
	if (len && d->text[len - 1] != '\n')
		d->text[len++] = '\n';
	d->text[len] = '\0';
	return true;
}

/* The "(deleted)" mappings of @pid; none if its maps cannot be read. */
static void read_maps(struct deleted_maps *d, pid_t pid)
{
	static const char mark[] = " (deleted)\n";
	struct rdmapin_proc_map map;
	char *line, *hit, *from;

	d->n = 0;
	if (!read_text(d, pid))
		return;
	/* Most lines name no unlinked file: parse only those whose name ends so. */
	for (from = d->text; (hit = strstr(from, mark)); from = hit + sizeof(mark) - 1) {
		/* A line parsed before ends in a NUL now. */
		for (line = hit; line > d->text && line[-1] != '\n' && line[-1]; line--)
			;
		if (rdmapin_proc_map_parse(line, &map) || !rdmapin_proc_map_unlinked(&map))
			continue;
		d->v = xgrow(d->v, d->n, &d->cap, sizeof(*d->v));
		d->v[d->n++] = (struct deleted_map){
			.start = map.start, .end = map.end, .ino = map.inode,
			.dev = makedev(map.dev_major, map.dev_minor),
		};
	}
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
	free(d->text);
}
