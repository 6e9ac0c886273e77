/* SPDX-License-Identifier: MIT */
/* Reading the pin registry (registry_format.h), for pinls and the library. */
#ifndef RDMAPIN_REGISTRY_READ_H
#define RDMAPIN_REGISTRY_READ_H

#include <sys/types.h>

#include "registry_format.h"

/* One live pin, as a reader sees it. */
struct rdmapin_pin_record {
	pid_t pid;
	uid_t uid;
	uint64_t start_time;
	char comm[16];
	/* Its path and device end in a NUL. Valid during the call. */
	const struct rdmapin_registry_pin *pin;
};

/*
 * Calls fn for every live pin in the record files under dir that the caller
 * may read (root: all users; others: their own), a user's records by pid. Stale files of dead
 * processes are removed when the caller may. warn gets one line per file
 * that is skipped (corrupt, truncated, foreign owner...). Returns 0, or -1 if
 * dir itself cannot be read (ENOENT: no registry) or memory for the reads is
 * short (ENOMEM).
 */
typedef int (*rdmapin_pin_fn)(const struct rdmapin_pin_record *rec, void *ctx);
typedef void (*rdmapin_warn_fn)(const char *msg, void *ctx);
int rdmapin_registry_scan(const char *dir, rdmapin_pin_fn fn, rdmapin_warn_fn warn, void *ctx);

#endif
