// SPDX-License-Identifier: MIT
/*
 * Before Linux 6.11 nothing answers "what maps this address" but the text
 * of /proc/self/maps, read from its start: costing more the further the
 * range lies. A long-term pin makes every page of its range present, and
 * pagemap then tells per page whether a file (or shmem) owns it, for 8 bytes
 * read at the range's own offset: the preload registers first and asks after.
 *
 * The fd stays open in the program's table, where the program may close it
 * and reuse its number (closefrom()): each read first checks that the number
 * is still our pagemap. A forked child's copy reads its parent's pages: the
 * child opens its own.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pinned_pages.h"

#define PM_PRESENT (1ULL << 63)
#define PM_FILE (1ULL << 61)	/* a file's page, or shared anonymous memory's */
#define CHUNK 512		/* entries per read: 2 MiB of 4 KiB pages */

static struct {
	pthread_mutex_t lock;
	int fd;
	dev_t dev;
	ino_t ino;
} pagemap = { PTHREAD_MUTEX_INITIALIZER, -1, 0, 0 };

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* Under the lock. */
static bool still_ours(void)
{
	struct stat st;

	return pagemap.fd >= 0 && !fstat(pagemap.fd, &st) && st.st_dev == pagemap.dev &&
	       st.st_ino == pagemap.ino;
}

/* The child's copy of our number is closed only if the number was still ours. */
static void forget_in_child(void)
{
	if (still_ours())
		close(pagemap.fd);
	pthread_mutex_init(&pagemap.lock, NULL);
	pagemap.fd = -1;
}

static void init(void)
{
	pthread_atfork(NULL, NULL, forget_in_child);
}

/* Under the lock. */
static int open_pagemap(void)
{
	struct stat st;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd >= 0 && fstat(fd, &st)) {
		close(fd);
		fd = -1;
	}
	pagemap.fd = fd;
	if (fd >= 0) {
		pagemap.dev = st.st_dev;
		pagemap.ino = st.st_ino;
	}
	return fd;
}

static bool all_anonymous(const uint64_t *e, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((e[i] & (PM_PRESENT | PM_FILE)) != PM_PRESENT)
			return false;
	return true;
}

bool preload_pinned_anonymous(const void *addr, size_t length)
{
	uint64_t e[CHUNK];
	uintptr_t page = sysconf(_SC_PAGESIZE);
	uintptr_t first = (uintptr_t)addr / page;
	uintptr_t last = ((uintptr_t)addr + length - 1) / page;
	size_t n = CHUNK;
	bool anon = length && (uintptr_t)addr + length > (uintptr_t)addr;

	pthread_once(&once, init);
	pthread_mutex_lock(&pagemap.lock);
	if (anon && !still_ours())
		anon = open_pagemap() >= 0;
	for (; anon && first <= last; first += n) {
		if (last - first + 1 < n)
			n = last - first + 1;
		anon = pread(pagemap.fd, e, n * sizeof(*e), first * sizeof(*e)) ==
			       (ssize_t)(n * sizeof(*e)) && all_anonymous(e, n);
	}
	pthread_mutex_unlock(&pagemap.lock);
	return anon;
}
