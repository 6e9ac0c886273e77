// SPDX-License-Identifier: MIT
/*
 * The guard's map, held by rdmapin-guardd. Only root can change what it
 * holds: unload the guard (rm -r RDMAPIN_GUARD_DIR), which leaves the held
 * map detached from any program; load it again, which pins a new map in a
 * new directory; or open the directory to others. So before each edit, with
 * the directory locked (loads take the lock too), two stats tell whether
 * the directory at RDMAPIN_GUARD_DIR is still the one held, root's and
 * closed to others, and the map's pin in it still the one whose map is held
 * (its ctime tells a pin that was replaced, or whose mode changed); if not,
 * both are opened anew, with every check of a first open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "error.h"
#include "guard_map.h"
#include "held_map.h"

#define WHO "rdmapin-guardd"

static bool same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static bool unchanged(const struct guardd_map *m)
{
	struct stat dir, pin;

	return !stat(RDMAPIN_GUARD_DIR, &dir) && same_inode(&dir, &m->dir) &&
	       dir.st_uid == m->dir.st_uid && dir.st_mode == m->dir.st_mode &&
	       !fstatat(m->dirfd, RDMAPIN_GUARD_MAP_NAME, &pin, 0) && same_inode(&pin, &m->pin) &&
	       pin.st_ctim.tv_sec == m->pin.st_ctim.tv_sec &&
	       pin.st_ctim.tv_nsec == m->pin.st_ctim.tv_nsec;
}

static void release(struct guardd_map *m)
{
	if (m->map >= 0)
		close(m->map);
	if (m->dirfd >= 0)
		close(m->dirfd);
	m->map = m->dirfd = -1;
}

/* The held map, with its directory locked; -1 with a message. */
static int lock(struct guardd_map *m)
{
	if (m->map >= 0 && !flock(m->dirfd, LOCK_EX) && unchanged(m))
		return 0;
	release(m);
	m->map = rdmapin_guard_map_lock(WHO, &m->dirfd, &m->pin);
	if (m->map < 0)
		return -1;
	if (!fstat(m->dirfd, &m->dir))
		return 0;
	rdmapin_fail(errno, WHO ": %s: %s", RDMAPIN_GUARD_DIR, strerror(errno));
	release(m);
	return -1;
}

static int edit(struct guardd_map *m, const struct rdmapin_guard_key *key,
		int (*how)(int, const struct rdmapin_guard_key *, const char *))
{
	int ret, err;

	if (lock(m))
		return -1;
	ret = how(m->map, key, WHO);
	err = errno;
	flock(m->dirfd, LOCK_UN);
	errno = err;
	return ret;
}

int guardd_map_ref(struct guardd_map *m, const struct rdmapin_guard_key *key)
{
	return edit(m, key, rdmapin_guard_map_ref);
}

int guardd_map_unref(struct guardd_map *m, const struct rdmapin_guard_key *key)
{
	return edit(m, key, rdmapin_guard_map_unref);
}
