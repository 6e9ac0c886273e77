// SPDX-License-Identifier: MIT
/*
 * Walks the mappings over an address range. PROCMAP_QUERY (Linux 6.11)
 * answers for one address per ioctl; older kernels leave only the text of
 * /proc/self/maps, read up to the end of the range and no further.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "error.h"
#include "procmap_query.h"
#include "proc.h"
#include "vma.h"

/* valgrind cannot know that PROCMAP_QUERY writes through vma_name_addr. */
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#else
#define VALGRIND_MAKE_MEM_DEFINED(addr, len) ((void)0)
#endif

/*
 * Both sources read /proc/self/maps. next() fills in the mapping that covers
 * addr or, if none does, the first one above it; it returns 1 when there is
 * none at all.
 */
struct vma_source {
	int (*next)(struct vma_source *src, uintptr_t addr, struct rdmapin_vma *vma);
	int fd;
	FILE *maps;		/* the parser's stream over fd */
	char *line;
	size_t line_size;
};

static int procmap_next(struct vma_source *src, uintptr_t addr, struct rdmapin_vma *vma)
{
	struct procmap_query q = {
		.size = sizeof(q),
		.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA,
		.query_addr = addr,
		.vma_name_addr = (uintptr_t)vma->name,
		.vma_name_size = sizeof(vma->name),
	};

	if (ioctl(src->fd, PROCMAP_QUERY, &q)) {
		if (errno == ENOENT)
			return 1;
		return rdmapin_fail(errno, "PROCMAP_QUERY for 0x%" PRIxPTR " failed: %s; retry, "
					   "or report it with the kernel version", addr,
				    strerror(errno));
	}
	vma->start = q.vma_start;
	vma->end = q.vma_end;
	vma->offset = q.vma_offset;
	vma->readable = q.vma_flags & PROCMAP_QUERY_VMA_READABLE;
	vma->writable = q.vma_flags & PROCMAP_QUERY_VMA_WRITABLE;
	vma->shared = q.vma_flags & PROCMAP_QUERY_VMA_SHARED;
	vma->dev_major = q.dev_major;
	vma->dev_minor = q.dev_minor;
	vma->inode = q.inode;
	vma->page_size = q.vma_page_size;
	/* The kernel writes no name, not even a NUL, for a nameless mapping. */
	if (!q.vma_name_size)
		vma->name[0] = '\0';
	VALGRIND_MAKE_MEM_DEFINED(vma->name, q.vma_name_size);
	return 0;
}

static void vma_of_map(struct rdmapin_vma *vma, const struct rdmapin_proc_map *map)
{
	vma->start = map->start;
	vma->end = map->end;
	vma->offset = map->offset;
	vma->readable = map->readable;
	vma->writable = map->writable;
	vma->shared = map->shared;
	vma->dev_major = map->dev_major;
	vma->dev_minor = map->dev_minor;
	vma->inode = map->inode;
	vma->page_size = 0;
	snprintf(vma->name, sizeof(vma->name), "%s", map->name);
}

static int maps_unreadable(void)
{
	return rdmapin_fail(errno, "reading /proc/self/maps failed: %s; retry when more memory "
				   "is free", strerror(errno));
}

static int maps_next(struct vma_source *src, uintptr_t addr, struct rdmapin_vma *vma)
{
	struct rdmapin_proc_map map;

	if (!src->maps) {
		src->maps = fdopen(src->fd, "r");
		if (!src->maps)
			return maps_unreadable();
	}
	do {
		if (getline(&src->line, &src->line_size, src->maps) < 0)
			return ferror(src->maps) ? maps_unreadable() : 1;
		if (rdmapin_proc_map_parse(src->line, &map))
			return rdmapin_fail(EIO, "cannot parse the /proc/self/maps line '%.100s'; "
						 "report it with the kernel version", src->line);
	} while (map.end <= addr);
	vma_of_map(vma, &map);
	return 0;
}

static int walk_range(struct vma_source *src, uintptr_t start, uintptr_t end, rdmapin_vma_fn fn,
		      void *ctx)
{
	struct rdmapin_vma vma;
	uintptr_t addr;
	int ret;

	for (addr = start; addr < end; addr = vma.end) {
		ret = src->next(src, addr, &vma);
		if (ret < 0)
			return ret;
		if (ret > 0 || vma.start > addr)
			return rdmapin_fail(EFAULT, "0x%" PRIxPTR "-0x%" PRIxPTR ": range is not "
						    "mapped at 0x%" PRIxPTR "; register only mapped memory",
					    start, end, addr);
		ret = fn(&vma, ctx);
		if (ret)
			return ret;
	}
	return 0;
}

static int walk(int (*next)(struct vma_source *, uintptr_t, struct rdmapin_vma *),
		uintptr_t start, uintptr_t end, rdmapin_vma_fn fn, void *ctx)
{
	struct vma_source src = { .next = next };
	int ret, err;

	if (start >= end)
		return rdmapin_fail(EINVAL, "0x%" PRIxPTR "-0x%" PRIxPTR ": empty range; pass "
					    "start below end", start, end);
	src.fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (src.fd < 0)
		return rdmapin_fail(errno, "cannot open /proc/self/maps: %s; mount procfs on "
					   "/proc", strerror(errno));
	ret = walk_range(&src, start, end, fn, ctx);
	err = errno;
	if (src.maps)
		fclose(src.maps);
	else
		close(src.fd);
	free(src.line);
	errno = err;
	return ret;
}

int rdmapin_vma_walk_procmap(uintptr_t start, uintptr_t end, rdmapin_vma_fn fn, void *ctx)
{
	return walk(procmap_next, start, end, fn, ctx);
}

int rdmapin_vma_walk_maps(uintptr_t start, uintptr_t end, rdmapin_vma_fn fn, void *ctx)
{
	return walk(maps_next, start, end, fn, ctx);
}
