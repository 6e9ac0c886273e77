// SPDX-License-Identifier: MIT
/* Private anonymous memory from the listing of /proc/self/map_files: see map_files.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "app_fd.h"
#include "lib.h"
#include "map_files.h"
#include "proc.h"

/* msync() is how a hole is found; valgrind takes the hole for a bad argument. */
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#else
#define VALGRIND_DISABLE_ERROR_REPORTING ((void)0)
#define VALGRIND_ENABLE_ERROR_REPORTING ((void)0)
#endif

/* A file mapping, as the listing names it: "start-end" in hex. */
struct span {
	uintptr_t start, end;
};

/* The listing's position of the file mapping at @index: "." and ".." come first. */
#define DOTS 2
/* Room for the three entries that bracket a range, at most 56 bytes each. */
#define PROBE_BUF 168

enum probe { IN_GAP, OVERLAPS, ELSEWHERE };

/* The maps text's parser: strtoull() took 450 instructions a name. */
static bool span_of(const struct dirent64 *d, struct span *s)
{
	uint64_t start, end;

	if (rdmapin_proc_map_bounds((char *)d->d_name, &start, &end))
		return false;
	s->start = start;
	s->end = end;
	return true;
}

static unsigned short reclen_at(const char *rec)
{
	unsigned short len;

	memcpy(&len, rec + offsetof(struct dirent64, d_reclen), sizeof(len));
	return len;
}

/* Up to @max file mappings from @index on, as one read of the listing gives them; -1 on error. */
static int list_at(int fd, long index, struct span *s, int max)
{
	char buf[PROBE_BUF] __attribute__((aligned(8)));
	ssize_t n, off;
	int got = 0;

	if (lseek(fd, DOTS + index, SEEK_SET) < 0)
		return -1;
	n = getdents64(fd, buf, sizeof(buf));
	/* Each record fits in what was read; GCC cannot know it (-Warray-bounds). */
	for (off = 0; off < n && got < max; off += reclen_at(buf + off))
		got += span_of((struct dirent64 *)(buf + off), &s[got]);
	return n < 0 ? -1 : got;
}

/*
 * Where [start, end) lies against the file mappings at @below (the last one
 * that ends at or before start; -1: none does) and after it, from one read
 * of the listing, so that no mapping can come between them.
 */
static enum probe probe(int fd, long below, uintptr_t start, uintptr_t end)
{
	struct span s[3];
	int n = list_at(fd, below < 0 ? 0 : below, s, 3), i = 0;

	if (n < 0)
		return ELSEWHERE;
	if (below >= 0) {
		if (!n || s[0].end > start)
			return n && s[0].start < end ? OVERLAPS : ELSEWHERE;
		i = 1;
	}
	if (i == n || s[i].start >= end)
		return IN_GAP;
	return s[i].end > start ? OVERLAPS : ELSEWHERE;
}

/* The index of the last file mapping that ends at or before @start: -1 if none, -2 on error. */
static long index_below(int fd, uintptr_t start)
{
	char buf[4096] __attribute__((aligned(8)));
	const struct dirent64 *d;
	struct span s;
	long index = 0;
	ssize_t n, off;

	if (lseek(fd, DOTS, SEEK_SET) < 0)
		return -2;
	while ((n = getdents64(fd, buf, sizeof(buf))) > 0) {
		for (off = 0; off < n; off += d->d_reclen) {
			d = (const struct dirent64 *)(buf + off);
			if (span_of(d, &s) && s.end > start)
				return index - 1;
			index++;
		}
	}
	return n < 0 ? -2 : index - 1;
}

/* The directory, checked to be still the library's (app_fd.h), else opened anew; -1 if none. */
static int dir_fd(void)
{
	struct rdmapin_app_fd *a = &rdmapin_lib.map_files;

	if (rdmapin_app_fd_ours(a))
		return a->fd;
	a->fd = -1;
	return rdmapin_app_fd_set(a,
				  open("/proc/self/map_files", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

/*
 * The gap of the last range is tried first: a process registers the same
 * regions again. Otherwise the listing is read up to the range (a few
 * microseconds an entry) and the gap found is checked in one read.
 */
static enum probe locate(int fd, uintptr_t start, uintptr_t end)
{
	enum probe p = probe(fd, rdmapin_lib.map_files_below, start, end);
	long below;

	if (p == ELSEWHERE) {
		below = index_below(fd, start);
		p = below < -1 ? ELSEWHERE : probe(fd, below, start, end);
		if (p == IN_GAP)
			rdmapin_lib.map_files_below = below;
	}
	if (p == OVERLAPS) {
		rdmapin_lib.map_files_file[0] = start;
		rdmapin_lib.map_files_file[1] = end;
	}
	return p;
}

/* Whether [page, end) has no hole: msync(MS_ASYNC) looks only at the mappings. */
static bool mapped(uintptr_t page, uintptr_t end)
{
	int ret;

	VALGRIND_DISABLE_ERROR_REPORTING;
	ret = msync((void *)page, end - page, MS_ASYNC);
	VALGRIND_ENABLE_ERROR_REPORTING;
	return !ret;
}

/*
 * A range where a file was found last time goes to the text walk at once:
 * a process registers the same file regions again. (Should anonymous
 * memory replace that file, its registrations are only walked, as before.)
 */
bool rdmapin_map_files_private_anon(uintptr_t start, uintptr_t end)
{
	uintptr_t page = start & -(uintptr_t)getpagesize();
	const uintptr_t *file = rdmapin_lib.map_files_file;
	enum probe p = ELSEWHERE;
	int fd;

	if (start >= end || pthread_mutex_trylock(&rdmapin_lib.maps_walk))
		return false;
	fd = start < file[1] && end > file[0] ? -1 : dir_fd();
	if (fd >= 0)
		p = locate(fd, start, end);
	pthread_mutex_unlock(&rdmapin_lib.maps_walk);
	return p == IN_GAP && mapped(page, end);
}

void rdmapin_map_files_forget(void)
{
	rdmapin_app_fd_forget(&rdmapin_lib.map_files);
}
