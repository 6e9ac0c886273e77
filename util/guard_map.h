/* SPDX-License-Identifier: MIT */
/*
 * The truncate guard's map (rdmapin_guard(7)): the inodes that the BPF LSM
 * program refuses to truncate, pinned under RDMAPIN_GUARD_DIR by
 * rdmapin-guardd(8), which alone loads the guard. Any process allowed to open
 * the pins (root) edits the map with these, through bpf(2) itself: no libbpf.
 * Functions return 0, or -1 with errno set and rdmapin_error_msg() saying why
 * and what to do.
 */
#ifndef RDMAPIN_UTIL_GUARD_MAP_H
#define RDMAPIN_UTIL_GUARD_MAP_H

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <linux/types.h>

#include "rdmapin_guard.h"

#define RDMAPIN_GUARD_DIR "/sys/fs/bpf/rdmapin"
/* Pinned last: while it exists, the instance is complete. */
#define RDMAPIN_GUARD_MAP_NAME "guarded_inodes"
#define RDMAPIN_GUARD_MAP RDMAPIN_GUARD_DIR "/" RDMAPIN_GUARD_MAP_NAME

struct statfs;
struct statx;

/*
 * 0 if the guard can see the files of the filesystem @fs describes: the key
 * is made from st_dev, the guard looks up the superblock's s_dev, and only
 * some filesystems make the two one. -1 with EOPNOTSUPP otherwise.
 */
int rdmapin_guard_fs_check(const struct statfs *fs, const char *who);
/*
 * The guard's name for the regular file open at @fd, on a filesystem that
 * rdmapin_guard_fs_check() passes: its inode as the
 * kernel's BPF programs see it. @who names the caller in the message.
 */
int rdmapin_guard_key_of(int fd, struct rdmapin_guard_key *key, const char *who);
/*
 * The same, from one statx(2) of @fd, left in @stx with what @mask asks
 * besides (STATX_TYPE and STATX_INO always): for a caller that needs more
 * of the file than its key, in the same call.
 */
int rdmapin_guard_key_statx(int fd, unsigned int mask, struct rdmapin_guard_key *key,
			    struct statx *stx, const char *who);
/*
 * The guard's rule: the kernel's for a lease (fcntl(2) F_SETLEASE), which the
 * guard stands in for and outdoes, since it refuses where a lease only
 * delays. A process may freeze a file that it owns (@fsuid is the file's
 * uid, @owner), or any file with CAP_LEASE (@cap_lease). 0, or -1 with
 * EACCES and a message that names the rule and the remedies.
 */
int rdmapin_guard_may_freeze(uid_t fsuid, bool cap_lease, uid_t owner, const char *who);
/* The same, from a file's st_dev and st_ino. */
void rdmapin_guard_key_init(struct rdmapin_guard_key *key, dev_t dev, ino_t ino);

/*
 * Guards a file, or undoes one such call: a file stays guarded until each
 * ref, from any process, has its unref. The guard must be loaded (ENOENT
 * otherwise); unref of a file not guarded fails with ENOENT too. An entry
 * outlives a process that dies holding it: rdmapin-guardd(8) is what removes
 * the entries of its clients that die.
 */
int rdmapin_guard_ref(const struct rdmapin_guard_key *key, const char *who);
int rdmapin_guard_unref(const struct rdmapin_guard_key *key, const char *who);

/* 1 if @key is guarded, 0 if not, -1 if this process cannot tell (no map, no access). */
int rdmapin_guard_holds(const struct rdmapin_guard_key *key);

/* Whether this process may edit the loaded guard's map itself. */
bool rdmapin_guard_writable(void);

/*
 * For the loader: the pinned map's fd, or -1 with errno, ENOENT without a
 * message when no guard is loaded.
 */
int rdmapin_guard_map_open(const char *who);

/*
 * For the loader and the map's edits: the pin directory, created root-only
 * if @create, open and locked until the fd is closed. The lock orders loads
 * and the map's read-modify-write refcounts between threads and processes.
 */
int rdmapin_guard_lock_dir(const char *who, bool create);

/*
 * For edits of the map: its fd, with *@dirfd the pin directory, open and
 * locked until the caller closes it, or -1 with a message (ENOENT: not
 * loaded). @pin, unless NULL, gets the stat of the map's pin as it was
 * before the map was opened: a caller that keeps the fds tells by it whether
 * the pin is still the one it holds.
 */
int rdmapin_guard_map_lock(const char *who, int *dirfd, struct stat *pin);
/*
 * rdmapin_guard_ref() and rdmapin_guard_unref() in the map @map, with the
 * pin directory's lock held (rdmapin_guard_map_lock()).
 */
int rdmapin_guard_map_ref(int map, const struct rdmapin_guard_key *key, const char *who);
int rdmapin_guard_map_unref(int map, const struct rdmapin_guard_key *key, const char *who);

#endif
