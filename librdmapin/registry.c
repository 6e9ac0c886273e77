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

#include "proc.h"
#include "registry.h"

#define GROW_SLOTS 64
#define MAX_SLOTS (1u << 20)

/* This process's record: created with its first pin, kept until exit. */
static struct {
	int fd;
	struct rdmapin_registry_header *hdr;
	size_t map_len;
	bool failed;		/* cannot publish here; do not retry each call */
	char path[PATH_MAX];	/* to remove it at exit; our 0700 directory */
} rec = { .fd = -1 };

static struct rdmapin_registry_slot *slot_at(uint32_t i)
{
	return (struct rdmapin_registry_slot *)((char *)rec.hdr + sizeof(*rec.hdr)) + i;
}

/*
 * A seqlock with the count at both ends: seq_end turns odd before anything
 * else changes, so a reader copying the slot front to back sees begin and
 * end differ whenever its copy overlaps a write.
 */
static void slot_store(struct rdmapin_registry_slot *s, const struct rdmapin_registry_slot *v)
{
	uint64_t seq = s->seq_begin + 1;
	size_t off = offsetof(struct rdmapin_registry_slot, state);
	size_t len = offsetof(struct rdmapin_registry_slot, seq_end) - off;

	__atomic_store_n(&s->seq_end, seq, __ATOMIC_RELEASE);
	__atomic_store_n(&s->seq_begin, seq, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	memcpy((char *)s + off, (const char *)v + off, len);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&s->seq_end, seq + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&s->seq_begin, seq + 1, __ATOMIC_RELEASE);
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

static int map_record(uint32_t nslots)
{
	size_t len = sizeof(*rec.hdr) + (size_t)nslots * sizeof(struct rdmapin_registry_slot);
	void *p;

	if (ftruncate(rec.fd, len))
		return -1;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, rec.fd, 0);
	if (p == MAP_FAILED)
		return -1;
	if (rec.hdr)
		munmap(rec.hdr, rec.map_len);
	rec.hdr = p;
	rec.map_len = len;
	__atomic_store_n(&rec.hdr->nslots, nslots, __ATOMIC_RELEASE);
	return 0;
}

static void fill_header(uint64_t start)
{
	struct rdmapin_registry_header *h = rec.hdr;

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

/*
 * The record is built unnamed (O_TMPFILE) and linked in whole, so no reader
 * ever finds it half made. The OFD lock lives as long as our open file
 * description: it marks us alive.
 */
static int create_record(int dir)
{
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	uint64_t start = rdmapin_proc_start_time(getpid());
	char name[64], self[64];

	snprintf(name, sizeof(name), "%d-%llu", getpid(), (unsigned long long)start);
	unlinkat(dir, name, 0);	/* a stale one can only be ours: same pid, same start */
	rec.fd = openat(dir, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (rec.fd < 0 || fcntl(rec.fd, F_OFD_SETLK, &lk) || map_record(GROW_SLOTS))
		return -1;
	fill_header(start);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", rec.fd);
	if (linkat(AT_FDCWD, self, dir, name, AT_SYMLINK_FOLLOW))
		return -1;
	snprintf(rec.path, sizeof(rec.path), "%s/uid-%u/%s", rdmapin_registry_dir(), geteuid(),
		 name);
	return 0;
}

/* A normal exit removes the record; readers clean up after crashes. */
static __attribute__((destructor)) void remove_record(void)
{
	if (rec.hdr)
		unlink(rec.path);
}

static bool record_open(void)
{
	int top, dir = -1;

	if (rec.hdr || rec.failed)
		return rec.hdr;
	top = open_top_dir(rdmapin_registry_dir());
	if (top >= 0)
		dir = open_user_dir(top);
	if (dir < 0 || create_record(dir)) {
		rdmapin_registry_forget();
		rec.failed = true;
	}
	if (dir >= 0)
		close(dir);
	if (top >= 0)
		close(top);
	return rec.hdr;
}

/* A free slot, growing the file by GROW_SLOTS when all are taken. */
static int free_slot(void)
{
	uint32_t i, n = rec.hdr->nslots;

	for (i = 0; i < n; i++)
		if (slot_at(i)->state == RDMAPIN_PIN_FREE)
			return i;
	if (n + GROW_SLOTS > MAX_SLOTS || map_record(n + GROW_SLOTS))
		return -1;
	return n;
}

uint32_t rdmapin_registry_add(const struct rdmapin_registry_slot *v)
{
	int i;

	if (!record_open() || (i = free_slot()) < 0)
		return 0;
	slot_store(slot_at(i), v);
	return i + 1;
}

void rdmapin_registry_update(uint32_t slot, const struct rdmapin_registry_slot *v)
{
	if (slot)
		slot_store(slot_at(slot - 1), v);
}

/* Our own slot, read back: nobody else writes it, and we hold the lock. */
void rdmapin_registry_set_state(uint32_t slot, enum rdmapin_pin_state state)
{
	struct rdmapin_registry_slot v;

	if (!slot)
		return;
	v = *slot_at(slot - 1);
	v.state = state;
	rdmapin_registry_update(slot, &v);
}

void rdmapin_registry_del(uint32_t slot)
{
	struct rdmapin_registry_slot v = { .state = RDMAPIN_PIN_FREE };

	rdmapin_registry_update(slot, &v);
}

/*
 * The child shares the parent's open file description, so closing our copy
 * keeps the parent's lock; the mapping must go so we cannot write its record.
 */
void rdmapin_registry_forget(void)
{
	if (rec.hdr)
		munmap(rec.hdr, rec.map_len);
	if (rec.fd >= 0)
		close(rec.fd);
	rec.fd = -1;
	rec.hdr = NULL;
	rec.failed = false;
	rec.path[0] = '\0';
}
