/* SPDX-License-Identifier: MIT */
/*
 * Loading the truncate guard (rdmapin_guard(7)), which only rdmapin-guardd
 * does: one instance per host, pinned under RDMAPIN_GUARD_DIR so that it
 * outlives the daemon and processes can use its map (util/guard_map.h).
 * Functions return 0, or -1 with errno set and rdmapin_error_msg() saying why
 * and what to do.
 */
#ifndef RDMAPIN_GUARDD_GUARD_LOAD_H
#define RDMAPIN_GUARDD_GUARD_LOAD_H

#include <stddef.h>

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

#endif
