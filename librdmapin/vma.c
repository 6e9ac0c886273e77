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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "app_fd.h"
#include "error.h"
#include "host_caps.h"
#include "lib.h"
#include "map_files.h"
#include "maps_canary.h"
#include "procmap_query.h"
#include "proc.h"
#include "str.h"
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
	rdmapin_vma_trust_fn trust;
	void *ctx;
	int fd;
	/* The maps text, read a buffer at a time. */
	char *buf;
	size_t len, pos, want;
	off_t off;
	bool vouched;			/* the text is this process's (maps_canary.h) */
};

/*
 * seq_file makes as many lines as a read asks for, each costing a path
 * lookup. A process registers the same regions again, so a walk's first
 * read asks for the text the last walk parsed, which ends with the last line
 * it needed. Asking for 1 KiB more, as this did, made ~10 lines more on
 * every walk: 134-139 us against 93-97 us for the read in a 6.1 TCG guest,
 * where reading it is most of what an anonymous registration adds. Later
 * reads ask MAPS_STEP bytes, doubling up to the buffer (~600 mappings), so
 * a far range costs few reads.
 */
#define MAPS_BUF_SIZE (64 << 10)
#define MAPS_STEP 512

static size_t maps_first_read(void)
{
	size_t used = __atomic_load_n(&rdmapin_lib.maps_text_used, __ATOMIC_RELAXED);

	if (!used)
		return MAPS_STEP;
	return used < MAPS_BUF_SIZE ? used : MAPS_BUF_SIZE - 1;
}

/* The text up to the end of the last line parsed. */
static void maps_remember_used(const struct vma_source *src)
{
	size_t used = src->off - (src->len - src->pos);

	__atomic_store_n(&rdmapin_lib.maps_text_used, used, __ATOMIC_RELAXED);
}

static int open_maps(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return rdmapin_fail(errno, "cannot open /proc/self/maps: %s; mount procfs on "
					   "/proc", strerror(errno));
	return fd;
}

/* Under the lock. */
static int maps_fd_open(void)
{
	return rdmapin_app_fd_set(&rdmapin_lib.maps, open_maps());
}

/* The process's maps fd, checked to be still ours, else a new one; -1 if none. Under the lock. */
static int maps_fd_checked(void)
{
	return rdmapin_app_fd_ours(&rdmapin_lib.maps) ? rdmapin_lib.maps.fd : maps_fd_open();
}

/*
 * PROCMAP_QUERY needs no read position, so one fd serves the process (and
 * the text walk, one at a time: rdmapin_vma_walk_maps()), opened when first
 * needed, and again in a forked child (its /proc/self was the parent's). Its
 * ioctl is quick. It sits in the application's table, which may close it
 * and put another file on its number (closefrom), even another process's
 * maps, which answers for that process. Anonymous memory at the
 * address, and what @trust vouches for, is believed as it comes, keeping the
 * common registration at one syscall (see rdmapin_vma_maps_replaced() for
 * why that is safe); any other answer (a file, a hole) or failure checks
 * that the fd is still ours and, if not, forgets the number (never closing
 * it) and asks again through a new one.
 */
static int procmap_query(struct procmap_query *q, rdmapin_vma_trust_fn trust, void *ctx)
{
	int ret = -1, err = EBADF, fd = __atomic_load_n(&rdmapin_lib.maps.fd, __ATOMIC_ACQUIRE);
	/* The one input the kernel overwrites (build IDs are never asked for). */
	uint32_t name_size = q->vma_name_size;

	if (fd >= 0) {
		ret = ioctl(fd, PROCMAP_QUERY, q);
		if (!ret && q->vma_start <= q->query_addr &&
		    (!q->inode || (trust && trust(q->dev_major, q->dev_minor, q->inode,
						  q->vma_page_size, ctx))))
			return 0;
		err = errno;
	}
	rdmapin_lock();
	if (fd < 0 || fd != rdmapin_lib.maps.fd || !rdmapin_app_fd_ours(&rdmapin_lib.maps)) {
		/* Another thread may have opened it meanwhile. */
		fd = maps_fd_checked();
		q->vma_name_size = name_size;
		ret = fd < 0 ? -1 : ioctl(fd, PROCMAP_QUERY, q);
		err = errno;
	}
	rdmapin_unlock();
	errno = err;
	return ret;
}

bool rdmapin_vma_maps_replaced(void)
{
	bool replaced;

	rdmapin_lock();
	replaced = rdmapin_lib.maps.fd >= 0 && !rdmapin_app_fd_ours(&rdmapin_lib.maps);
	if (replaced)
		maps_fd_open();
	rdmapin_unlock();
	return replaced;
}

/*
 * The kernel allocates and copies as many bytes as it is offered for a name:
 * offered all of PATH_MAX, a file's query took 1.4 us more than a nameless
 * one in a TCG guest, offered NAME_FIRST_TRY 1.0 us. Longer names are asked
 * for again.
 */
#define NAME_FIRST_TRY 256

static int procmap_next(struct vma_source *src, uintptr_t addr, struct rdmapin_vma *vma)
{
	struct procmap_query q = {
		.size = sizeof(q),
		.query_flags = PROCMAP_QUERY_COVERING_OR_NEXT_VMA,
		.query_addr = addr,
		.vma_name_addr = (uintptr_t)vma->name,
		.vma_name_size = NAME_FIRST_TRY,
	};
	int ret = procmap_query(&q, src->trust, src->ctx);

	if (ret && errno == ENAMETOOLONG) {
		q.vma_name_size = sizeof(vma->name);
		ret = procmap_query(&q, src->trust, src->ctx);
	}
	if (ret) {
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
	rdmapin_strscpy(vma->name, map->name, sizeof(vma->name));
}

static int maps_unreadable(void)
{
	return rdmapin_fail(errno, "reading /proc/self/maps failed: %s; retry when more memory "
				   "is free", strerror(errno));
}

/* The next line of the text, NUL-terminated; NULL at its end (errno 0) or on error. */
static char *maps_line(struct vma_source *src)
{
	char *line = src->buf + src->pos, *nl;
	size_t room;
	ssize_t n;

	for (;;) {
		nl = memchr(line, '\n', src->len - src->pos);
		if (nl) {
			*nl = '\0';
			src->pos = nl + 1 - src->buf;
			return line;
		}
		memmove(src->buf, line, src->len - src->pos);
		src->len -= src->pos;
		src->pos = 0;
		line = src->buf;
		room = MAPS_BUF_SIZE - 1 - src->len;
		n = pread(src->fd, src->buf + src->len, room < src->want ? room : src->want,
			  src->off);
		/* Nothing read before: this was the first read, the last walk's size. */
		src->want = src->off ? src->want * 2 : MAPS_STEP;
		if (src->want > MAPS_BUF_SIZE)
			src->want = MAPS_BUF_SIZE;
		if (n <= 0) {
			errno = n ? errno : 0;
			return NULL;
		}
		src->off += n;
		src->len += n;
	}
}

/*
 * Reads up to the line of the mapping that covers @addr, or of the first
 * above it: 0, 1 at the end of the text, -1 with errno (@bad: the line that
 * did not parse, else NULL). Of a line below @addr only the bounds are
 * parsed, unless it may be the canary's: parsing each whole was most of
 * the instructions of an anonymous registration on 6.1.
 */
static int maps_find(struct vma_source *src, uintptr_t addr, struct rdmapin_proc_map *map,
		     char **bad)
{
	char *line;

	*bad = NULL;
	do {
		line = maps_line(src);
		if (!line)
			return errno ? -1 : 1;
		/* The canary is looked at only under maps_walk: by a walk not vouched for yet. */
		if (!rdmapin_proc_map_bounds(line, &map->start, &map->end) && map->end <= addr &&
		    (src->vouched || !rdmapin_maps_canary_at(map->start)))
			continue;
		if (rdmapin_proc_map_parse(line, map)) {
			*bad = line;
			return -1;
		}
		if (!src->vouched && rdmapin_maps_canary_is(map))
			src->vouched = true;
	} while (map->end <= addr);
	return 0;
}

/*
 * A walk through the process's fd that reached its first answer without
 * passing the canary: the fd is checked (app_fd.h). 0: it is ours; 1: it
 * was not (or another thread had replaced it meanwhile), and the walk
 * starts again through the process's current one; -1: none to be had.
 */
static int vouch(struct vma_source *src, uintptr_t addr)
{
	bool ours;
	int fd;

	rdmapin_lock();
	ours = src->fd == rdmapin_lib.maps.fd && rdmapin_app_fd_ours(&rdmapin_lib.maps);
	fd = ours ? src->fd : maps_fd_checked();
	rdmapin_unlock();
	if (fd < 0)
		return -1;
	src->vouched = true;
	rdmapin_maps_canary_make(ours ? addr : 0);
	if (ours)
		return 0;
	src->fd = fd;
	src->len = src->pos = 0;
	src->off = 0;
	src->want = MAPS_STEP;
	return 1;
}

static int maps_next(struct vma_source *src, uintptr_t addr, struct rdmapin_vma *vma)
{
	struct rdmapin_proc_map map;
	int ret, err, again;
	char *bad;

	do {
		ret = maps_find(src, addr, &map, &bad);
		err = errno;
		again = src->vouched ? 0 : vouch(src, addr);
		if (again < 0)
			return -1;
	} while (again);
	if (bad)
		return rdmapin_fail(EIO, "cannot parse the /proc/self/maps line '%.100s'; "
					 "report it with the kernel version", bad);
	errno = err;
	if (ret < 0)
		return maps_unreadable();
	if (ret)
		return 1;
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

static int check_range(uintptr_t start, uintptr_t end)
{
	if (start < end)
		return 0;
	return rdmapin_fail(EINVAL, "0x%" PRIxPTR "-0x%" PRIxPTR ": empty range; pass start "
				    "below end", start, end);
}

int rdmapin_vma_walk_procmap(uintptr_t start, uintptr_t end, rdmapin_vma_fn fn,
			     rdmapin_vma_trust_fn trust, void *ctx)
{
	struct vma_source src = { .next = procmap_next, .trust = trust, .ctx = ctx };

	if (check_range(start, end))
		return -1;
	return walk_range(&src, start, end, fn, ctx);
}

/*
 * No name is asked for: the kernel then skips building the path, and only a
 * mapping's inode and flags are looked at. A hole, or any error, is "no";
 * the full walk then says why. Without the ioctl, the listing of file
 * mappings (map_files.h) is asked where the last walk read the text far,
 * past MAPS_FAR bytes: in a 6.1 TCG guest it costs ~70 us wherever the
 * range lies, as much as ~10 lines of text.
 */
#define MAPS_FAR 1024

bool rdmapin_vma_private_anon(uintptr_t start, uintptr_t end)
{
	struct procmap_query q = { .size = sizeof(q) };
	uintptr_t addr = start;

	if (!(rdmapin_host()->flags & RDMAPIN_HOST_PROCMAP_QUERY))
		return __atomic_load_n(&rdmapin_lib.maps_text_used, __ATOMIC_RELAXED) > MAPS_FAR &&
		       rdmapin_map_files_private_anon(start, end);
	while (addr < end) {
		q.query_addr = addr;
		if (procmap_query(&q, NULL, NULL) || q.inode || q.vma_flags & PROCMAP_QUERY_VMA_SHARED)
			return false;
		addr = q.vma_end;
	}
	return start < end;
}

/*
 * The fd a walk reads: the process's, if it has it to itself, else its own.
 * A new one is believed as it is; the process's has its text vouched for
 * by the canary, or is checked (vouch()).
 */
static int walk_fd(struct vma_source *src, bool shared)
{
	int fd;

	if (!shared) {
		src->vouched = true;
		return open_maps();
	}
	rdmapin_lock();
	fd = rdmapin_lib.maps.fd;
	if (fd < 0) {
		fd = maps_fd_open();
		src->vouched = true;
	}
	rdmapin_unlock();
	if (src->vouched && fd >= 0)
		rdmapin_maps_canary_make(0);	/* under maps_walk */
	return fd;
}

/*
 * The buffer a walk reads into: the process's, kept with its fd (a malloc()
 * and free() of 64 KiB each walk cost as much as parsing the lines), if the
 * walk has them to itself, else its own.
 */
static char *walk_buf(bool shared)
{
	if (!shared)
		return malloc(MAPS_BUF_SIZE);
	if (!rdmapin_lib.maps_buf)
		rdmapin_lib.maps_buf = malloc(MAPS_BUF_SIZE);
	return rdmapin_lib.maps_buf;
}

/*
 * The text is read from its start on each walk, up to the end of the range.
 * A seq_file's read position is the open file's, and walkers sharing one
 * would restart each other's reads: the process's maps fd serves one walk at
 * a time, and a walk that finds it busy reads through an fd of its own. The
 * shared one's text is vouched for before its first answer, by the canary
 * or else an fstat() (app_fd.h), unlike PROCMAP_QUERY's answers
 * (rdmapin_vma_maps_replaced()): on the kernels that lack the ioctl, a
 * page-cache file taken for anonymous memory would be pinned unleased.
 */
int rdmapin_vma_walk_maps(uintptr_t start, uintptr_t end, rdmapin_vma_fn fn, void *ctx)
{
	struct vma_source src = { .next = maps_next, .want = maps_first_read() };
	bool shared;
	int ret, err;

	if (check_range(start, end))
		return -1;
	shared = !pthread_mutex_trylock(&rdmapin_lib.maps_walk);
	src.buf = walk_buf(shared);
	if (!src.buf) {
		if (shared)
			pthread_mutex_unlock(&rdmapin_lib.maps_walk);
		return rdmapin_fail(ENOMEM, "out of memory to read /proc/self/maps");
	}
	src.fd = walk_fd(&src, shared);
	ret = src.fd < 0 ? -1 : walk_range(&src, start, end, fn, ctx);
	err = errno;
	if (!ret)
		maps_remember_used(&src);
	if (shared) {
		pthread_mutex_unlock(&rdmapin_lib.maps_walk);
	} else {
		if (src.fd >= 0)
			close(src.fd);
		free(src.buf);
	}
	errno = err;
	return ret;
}

void rdmapin_vma_forget(void)
{
	rdmapin_app_fd_forget(&rdmapin_lib.maps);
	free(rdmapin_lib.maps_buf);
}
