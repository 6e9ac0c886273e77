/* SPDX-License-Identifier: MIT */
/* What the parts of pinls share: the rows it lists and how it filters them. */
#ifndef PINLS_H
#define PINLS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <libsmartcols.h>

#include "registry_read.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The kernel cross-check of one pin; 0 means it agrees. */
enum pin_check {
	CHECK_NOT_RUN = 1 << 0,		/* nothing to compare with: no RDMA netlink */
	CHECK_NO_LEASE = 1 << 1,	/* /proc/locks has no lease of the pid on the file */
	CHECK_NO_KERNEL_MR = 1 << 2,	/* the kernel tracks no MR of the pid with that length */
	CHECK_NO_GUARD = 1 << 3,	/* the truncate guard's map lacks the file (root only) */
};

struct pin {
	struct rdmapin_pin_record rec;
	/*
	 * Not from the registry: a shared file mapping of a process that has
	 * an RDMA device open without librdmapin; rec.slot has its dev, ino,
	 * path, offset, length and address, and the device's name.
	 */
	bool unmanaged;
	unsigned int check;		/* enum pin_check */
};

struct pin_list {
	struct pin *v;
	size_t n, cap;
};

/* A zeroed row at the end of the list. */
struct pin *pin_list_add(struct pin_list *l);

struct file_arg {
	dev_t dev;
	ino_t ino;
	char *dir;			/* canonical path of a directory argument, else NULL */
};

/* What the command line asks for; an empty list selects all. */
struct filter {
	pid_t *pids;
	size_t npids;
	bool by_uid;
	uid_t uid;
	bool by_file;			/* FILE arguments were given, even if none exists */
	struct file_arg *files;
	size_t nfiles;
};

bool filter_proc(const struct filter *f, pid_t pid, uid_t uid);
bool filter_file(const struct filter *f, dev_t dev, ino_t ino, const char *path);

/* A sorted set of pids. */
struct pid_set {
	pid_t *v;
	size_t n, cap;
};

void pid_set_add(struct pid_set *s, pid_t pid);
/* Sorts and deduplicates; call before pid_set_has(). */
void pid_set_sort(struct pid_set *s);
bool pid_set_has(const struct pid_set *s, pid_t pid);

struct output_opts {
	bool json, raw, noheadings, bytes;
};

/* An empty table in the format the options ask for; exits if out of memory. */
struct libscols_table *output_table(const struct output_opts *o, const char *name);
void *xrealloc(void *p, size_t n, size_t size);
/* v, or v reallocated to room for more than n elements, *cap updated. */
void *xgrow(void *v, size_t n, size_t *cap, size_t size);

/* unmanaged.c: adds the rows of RDMA users that are not in the registry. */
void unmanaged_scan(struct pin_list *pins, const struct pid_set *managed,
		    const struct filter *f, const char *registry_dir);

/* kcheck.c: sets each row's check from /proc/locks and RDMA resource tracking. */
void kcheck_pins(struct pin *pins, size_t n);

/* caps.c: prints what this host offers; returns the exit status. */
int print_caps(const struct output_opts *o);

#endif
