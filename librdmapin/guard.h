/* SPDX-License-Identifier: MIT */
/*
 * The truncate guard (rdmapin_guard(7)): a BPF LSM program that makes every
 * process's truncates of guarded files fail with ETXTBSY. One instance per
 * host, pinned under RDMAPIN_GUARD_DIR so that it outlives its loader and a
 * privileged daemon can own it. Functions return 0, or -1 with errno set and
 * rdmapin_error_msg() saying why and what to do.
 */
#ifndef RDMAPIN_GUARD_H
#define RDMAPIN_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

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

struct rdmapin_guard_key;

/*
 * The guard's name for the regular file open at @fd: its inode as the
 * kernel's BPF programs see it. @who names the caller in the message.
 */
int rdmapin_guard_key_of(int fd, struct rdmapin_guard_key *key, const char *who);
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

#endif
