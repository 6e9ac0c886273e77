/* SPDX-License-Identifier: MIT */
/*
 * The truncate guard (rdmapin_guard(7)): a BPF LSM program that makes every
 * process's truncates of guarded files fail with ETXTBSY. One instance per
 * host, pinned under RDMAPIN_GUARD_DIR so that it outlives its loader and a
 * privileged daemon can own it. Functions return 0, or -1 with errno set and
 * rdmapin_last_error() saying why and what to do.
 */
#ifndef RDMAPIN_GUARD_H
#define RDMAPIN_GUARD_H

#include <stddef.h>

#define RDMAPIN_GUARD_DIR "/sys/fs/bpf/rdmapin"
/* Pinned last: while it exists, the instance is complete. */
#define RDMAPIN_GUARD_MAP RDMAPIN_GUARD_DIR "/guarded_inodes"

/*
 * Whether the guard can work for this process, without loading it: 0 when it
 * is loaded and usable, or when this process may load it; -1 when not, with
 * errno EOPNOTSUPP (the kernel cannot run it) or EPERM (this process may
 * not). @why says which and why either way. Only rdmapin_guard_load() can
 * prove the second case (kernel lockdown, user namespaces).
 */
int rdmapin_guard_probe(char *why, size_t len);

/* Loads and pins the guard unless an instance is pinned already. */
int rdmapin_guard_load(void);

/*
 * Guards the regular file open at @fd, or undoes one such call: a file stays
 * guarded until each add, from any process, has its del. The guard must be
 * loaded (ENOENT otherwise). An entry outlives a process that dies holding it.
 */
int rdmapin_guard_add(int fd);
int rdmapin_guard_del(int fd);

#endif
