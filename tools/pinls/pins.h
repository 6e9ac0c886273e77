/* SPDX-License-Identifier: MIT */
/* The rows pinls lists: one per pin. */
#ifndef PINLS_PINS_H
#define PINLS_PINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "arena.h"
#include "registry_format.h"

/* A path's bytes at most, with its NUL: what a registry pin holds, and unmanaged rows keep. */
#define PIN_PATH_SIZE RDMAPIN_REGISTRY_PATH_SIZE

/* The kernel cross-check of one pin; 0 means it agrees. */
enum pin_check {
	CHECK_NOT_RUN = 1 << 0,		/* nothing to compare with: no RDMA netlink */
	CHECK_NO_LEASE = 1 << 1,	/* /proc/locks has no lease of the pid on the file */
	CHECK_NO_KERNEL_MR = 1 << 2,	/* the kernel tracks no MR of the pid with that length */
	CHECK_NO_GUARD = 1 << 3,	/* the truncate guard's map lacks the file (root only) */
};

/* The names of the problems a check finds, as the CHECK column prints them, in its order. */
struct pin_check_name {
	enum pin_check bit;
	const char *name;
};
#define NR_PIN_CHECK_NAMES 3
extern const struct pin_check_name pin_check_names[NR_PIN_CHECK_NAMES];

/* What the rows of one process share. */
struct pin_proc {
	pid_t pid;
	uid_t uid;
	char comm[16];
};

/*
 * One row: what a column, the check or a metric reads of a registry slot,
 * its strings in the list's arena. An unmanaged row is not from the
 * registry: a shared file mapping of a process that has an RDMA device open
 * without librdmapin; it has a dev, ino, path, offset, length and address,
 * and the device's name.
 */
struct pin {
	const struct pin_proc *proc;
	const char *path;
	const char *device;
	uint64_t dev, ino, offset, length, addr;
	int64_t registered_ns;
	uint32_t state, backing, mode, lease, guard, lkey, rkey, quirks;	/* as in the slot */
	bool unmanaged;
	bool deleted;			/* the file was unlinked or renamed over */
	unsigned int check;		/* enum pin_check */
};

/* The rows; what they point to lives as long as the list. */
struct pin_list {
	struct pin *v;
	size_t n, cap;
	struct arena arena;
};

/* A zeroed row at the end of the list. */
struct pin *pin_list_add(struct pin_list *l);
/* By pid, then path and offset: -t then prints each pid once without a set. */
void pin_list_sort(struct pin_list *l);
void pin_list_free(struct pin_list *l);

#endif
