// SPDX-License-Identifier: MIT
/* Unlinked files of the pins: see deleted.h. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "deleted.h"
#include "proc.h"
#include "xalloc.h"

/* The start of the last whole line of maps text[0, len), and where it ends; 0 if none. */
static uint64_t last_line_start(const char *text, size_t len, size_t *end)
{
	const char *nl = memrchr(text, '\n', len), *line;

	if (!nl)
		return 0;
	*end = nl + 1 - text;
	line = memrchr(text, '\n', nl - text);
	return strtoull(line ? line + 1 : text, NULL, 16);
}

/*
 * /proc/@pid/maps in d->text, ending in a newline, as far as the first
 * mapping that starts above @last; false if unreadable. The lines are in
 * address order, and a read has the kernel format lines until it has the
 * bytes asked for or a page: the first reads ask for less, as a process's
 * pins tend to lie a few lines in, after its executable and heap and before
 * its libraries.
 */
static bool read_text(struct deleted_maps *d, pid_t pid, uint64_t last)
{
	size_t len = 0, end, ask = 1024;
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	do {
		while (d->text_cap - len < 4096 + 2)
			d->text = xgrow(d->text, d->text_cap, &d->text_cap, 1);
		n = read(fd, d->text + len, ask);
		ask = ask < 4096 ? 2 * ask : 4096;
		len += n > 0 ? n : 0;
		if (n > 0 && last_line_start(d->text, len, &end) > last) {
			len = end;
			break;
		}
	} while (n > 0);
	close(fd);
	if (len && d->text[len - 1] != '\n')
		d->text[len++] = '\n';
	d->text[len] = '\0';
	return true;
}

/* The "(deleted)" mappings of @pid as far as the one covering @last; none if unreadable. */
static void read_maps(struct deleted_maps *d, pid_t pid, uint64_t last)
{
	static const char mark[] = " (deleted)\n";
	struct rdmapin_proc_map map;
	char *line, *hit, *from;

	d->n = 0;
	if (!read_text(d, pid, last))
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

/* As the library's rdmapin_query_mr() tells it: only files, as the kernel names them. */
static bool file_pin(const struct pin *p)
{
	return p->backing == RDMAPIN_BACKING_PAGECACHE || p->backing == RDMAPIN_BACKING_FSDAX;
}

void deleted_mark(struct deleted_maps *d, pid_t pid, struct pin *rows, size_t n)
{
	const struct deleted_map *m;
	uint64_t last = 0;
	bool files = false;
	size_t i;

	for (i = 0; i < n; i++)
		if (file_pin(&rows[i])) {
			files = true;
			last = rows[i].addr > last ? rows[i].addr : last;
		}
	if (!files)
		return;
	read_maps(d, pid, last);
	for (i = 0; i < n; i++) {
		if (!file_pin(&rows[i]))
			continue;
		m = covering(d, rows[i].addr);
		rows[i].deleted = m && m->dev == rows[i].dev && m->ino == rows[i].ino;
	}
}

void deleted_maps_free(struct deleted_maps *d)
{
	free(d->v);
	free(d->text);
}
