// SPDX-License-Identifier: MIT
/* The pin registry's writer: see registry_format.h for the layout and the rules. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib.h"
#include "proc.h"
#include "registry.h"

#define MAX_SLOTS (1u << 20)

static struct rdmapin_registry_record *const rec = &rdmapin_lib.registry;

static struct rdmapin_registry_group *group_of(uint32_t i)
{
	return (struct rdmapin_registry_group *)(rec->hdr + 1) + i / RDMAPIN_REGISTRY_GROUP;
}

/*
 * A seqlock with the count at both ends: end turns odd before anything else
 * changes, and begin even after everything else. A reader's copy (pread)
 * does not load in order, so it takes a slot from a copy read between two
 * copies of its counts that agree (registry_read.c).
 */
static void slot_begin(struct rdmapin_registry_seq *q)
{
	uint64_t seq = q->begin + 1;

	__atomic_store_n(&q->end, seq, __ATOMIC_RELEASE);
	__atomic_store_n(&q->begin, seq, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void slot_end(struct rdmapin_registry_seq *q)
{
	uint64_t seq = q->begin + 1;

	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&q->end, seq, __ATOMIC_RELEASE);
	__atomic_store_n(&q->begin, seq, __ATOMIC_RELEASE);
}

/*
 * The path is copied up to its NUL only, into the slot if it fits, else
 * into the slot's path cell: readers stop there, and a whole path's worth
 * of copying per registration is most of the registry's cost under
 * emulation.
 */
static void slot_store(uint32_t i, const struct rdmapin_registry_pin *v)
{
	uint32_t k = i % RDMAPIN_REGISTRY_GROUP;
	struct rdmapin_registry_group *g = group_of(i);
	struct rdmapin_registry_slot *s = &g->slot[k];
	size_t len = strnlen(v->path, sizeof(v->path) - 1);
	char *path = len < sizeof(s->path) ? s->path : g->cell[k];

	slot_begin(&g->seq[k]);
	memcpy(s->head, v, sizeof(s->head));
	s->path_len = len;
	memcpy(path, v->path, len);
	path[len] = '\0';
	slot_end(&g->seq[k]);
}

static void slot_set_state(uint32_t i, enum rdmapin_pin_state state)
{
	uint32_t k = i % RDMAPIN_REGISTRY_GROUP, v = state;
	struct rdmapin_registry_group *g = group_of(i);

	slot_begin(&g->seq[k]);
	memcpy(g->slot[k].head + offsetof(struct rdmapin_registry_pin, state), &v, sizeof(v));
	slot_end(&g->seq[k]);
}

/*
 * The shared top directory must not be a place others can swap files in
 * under us: if anyone else may write to it, it must be sticky (like /tmp).
 */
static int open_top_dir(const char *dir)
{
	struct stat st;
	int fd;

	if (mkdir(dir, 01777) == 0)
		chmod(dir, 01777);	/* the umask narrowed it */
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Our own directory: made by us, 0700, or refused (someone else made it). */
static int open_user_dir(int top)
{
	uid_t uid = geteuid();
	char name[32];
	struct stat st;
	int fd;

	snprintf(name, sizeof(name), "uid-%u", uid);
	mkdirat(top, name, 0700);
	fd = openat(top, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || st.st_uid != uid || (st.st_mode & 077)) {
		close(fd);
		return -1;
	}
	return fd;
}

static size_t record_len(uint32_t nslots)
{
	return sizeof(struct rdmapin_registry_header) +
	       (size_t)nslots / RDMAPIN_REGISTRY_GROUP * sizeof(struct rdmapin_registry_group);
}

/*
 * Grows the record @r to @nslots, whole groups; the new slots go on the free
 * list, lowest first out, so the file stays dense, and path cells never
 * written stay holes. The first mapping comes from @fd; later ones grow it
 * by its path in our own directory, so that no fd of ours stays in the
 * application's table, where it could be closed and its number reused by a
 * file we would then truncate.
 */
static int map_record(struct rdmapin_registry_record *r, int fd, uint32_t nslots)
{
	size_t len = record_len(nslots);
	uint32_t *free, i;
	void *p;

	free = reallocarray(r->free, nslots, sizeof(*free));
	if (!free)
		return -1;
	r->free = free;
	if (fd >= 0 ? ftruncate(fd, len) : truncate(r->path, len))
		return -1;
	if (fd >= 0)
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	else
		p = mremap(r->hdr, r->map_len, len, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return -1;
	r->hdr = p;
	r->map_len = len;
	for (i = nslots; i-- > r->hdr->nslots;)
		r->free[r->nfree++] = i;
	__atomic_store_n(&r->hdr->nslots, nslots, __ATOMIC_RELEASE);
	return 0;
}

static void fill_header(struct rdmapin_registry_header *h, uint64_t start)
{
	rdmapin_proc_comm(getpid(), h->comm, sizeof(h->comm));
	h->version = RDMAPIN_REGISTRY_VERSION;
	h->header_size = sizeof(*h);
	h->slot_size = sizeof(struct rdmapin_registry_slot);
	h->pid = getpid();
	h->uid = geteuid();
	h->start_time = start;
	/* Last: a reader trusts nothing before the magic. */
	__atomic_store_n(&h->magic, RDMAPIN_REGISTRY_MAGIC, __ATOMIC_RELEASE);
}

static void record_free(struct rdmapin_registry_record *r)
{
	if (r->hdr)
		munmap(r->hdr, r->map_len);
	free(r->free);
	*r = (struct rdmapin_registry_record){ .hdr = NULL };
}

/*
 * The record is built unnamed (O_TMPFILE) and linked in whole, so no reader
 * ever finds it half made, and installed under the lock, so no registration
 * finds it half made either. The OFD lock lives as long as our open file
 * description, which the mapping holds after the fd is closed: it marks us
 * alive.
 */
static void create_record(int dir)
{
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct rdmapin_registry_record r = { .hdr = NULL };
	uint64_t start = rdmapin_proc_start_time(getpid());
	char name[64], self[64];
	int fd, ret = -1;

	snprintf(name, sizeof(name), "%d-%llu", getpid(), (unsigned long long)start);
	snprintf(r.path, sizeof(r.path), "%s/uid-%u/%s", rdmapin_registry_dir(), geteuid(), name);
	unlinkat(dir, name, 0);	/* a stale one can only be ours: same pid, same start */
	fd = openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (!fcntl(fd, F_OFD_SETLK, &lk) && !map_record(&r, fd, RDMAPIN_REGISTRY_GROUP)) {
		fill_header(r.hdr, start);
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		ret = linkat(AT_FDCWD, self, dir, name, AT_SYMLINK_FOLLOW);
	}
	close(fd);
	if (ret) {
		record_free(&r);
		return;
	}
	rdmapin_lock();
	*rec = r;
	rdmapin_unlock();
}

/* A normal exit removes the record; readers clean up after crashes. */
static __attribute__((destructor)) void remove_record(void)
{
	if (rec->hdr)
		unlink(rec->path);
}

/*
 * Creates this process's record, once: it scans and creates files, so it
 * runs under the setup lock only, which later registrations skip. A process
 * that cannot make one registers all the same, unlisted, and does not try
 * again.
 */
void rdmapin_registry_open(void)
{
	int top, dir = -1;

	if (__atomic_load_n(&rdmapin_lib.registry_tried, __ATOMIC_ACQUIRE))
		return;
	rdmapin_setup_lock();
	if (!rdmapin_lib.registry_tried) {
		top = open_top_dir(rdmapin_registry_dir());
		if (top >= 0)
			dir = open_user_dir(top);
		if (dir >= 0) {
			create_record(dir);
			close(dir);
		}
		if (top >= 0)
			close(top);
		__atomic_store_n(&rdmapin_lib.registry_tried, true, __ATOMIC_RELEASE);
	}
	rdmapin_setup_unlock();
}

/* A free slot, growing the file by a group when all are taken. */
static int free_slot(void)
{
	uint32_t n = rec->hdr->nslots + RDMAPIN_REGISTRY_GROUP;

	if (!rec->nfree && (n > MAX_SLOTS || map_record(rec, -1, n)))
		return -1;
	return rec->free[--rec->nfree];
}

uint32_t rdmapin_registry_add(const struct rdmapin_registry_pin *v)
{
	int i;

	if (!rec->hdr || (i = free_slot()) < 0)
		return 0;
	slot_store(i, v);
	return i + 1;
}

void rdmapin_registry_update(uint32_t slot, const struct rdmapin_registry_pin *v)
{
	if (slot)
		slot_store(slot - 1, v);
}

/* Our own slot, read back: nobody else writes it, and we hold the lock. */
void rdmapin_registry_set_state(uint32_t slot, enum rdmapin_pin_state state)
{
	if (slot)
		slot_set_state(slot - 1, state);
}

void rdmapin_registry_del(uint32_t slot)
{
	if (!slot)
		return;
	slot_set_state(slot - 1, RDMAPIN_PIN_FREE);
	rec->free[rec->nfree++] = slot - 1;
}

/*
 * The child's mapping shares the parent's open file description, so dropping
 * it keeps the parent's lock; it must go so we cannot write its record.
 */
void rdmapin_registry_forget(void)
{
	record_free(rec);
	rdmapin_lib.registry_tried = false;
}
