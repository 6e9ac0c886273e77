/* SPDX-License-Identifier: MIT */
/*
 * The test guest's world as tests/vm/guest-init exports it (RDMAPIN_*
 * variables), and the kinds of memory that guest tests register.
 */
#ifndef RDMAPIN_TESTS_GUEST_H
#define RDMAPIN_TESTS_GUEST_H

#include <limits.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <infiniband/verbs.h>

#define REGION_SIZE (4UL << 20)

enum kernel { KERNEL_6_1, KERNEL_7, NR_KERNELS };

struct guest_env {
	enum kernel kernel;
	const char *rxe0, *rxe1, *devdax, *fsdax_dir, *fsdax_fs, *pagecache_dir;
	int gid_index;
};

extern struct guest_env env;

/* Reads the environment; a missing variable is a failed check. */
int read_env(void);

struct mapping {
	void *addr;
	size_t len;
	int fd;
	char path[PATH_MAX];
	char err[PATH_MAX + 128];
};

extern const struct mapping unmapped;

void unmap(struct mapping *m);
int create_file(struct mapping *m, const char *dir);
/* A fresh REGION_SIZE file in dir, mapped with flags. */
int map_file(struct mapping *m, const char *dir, int flags);
int map_devdax(struct mapping *m, size_t len);
int map_anon(struct mapping *m);
int map_memfd(struct mapping *m);
/* MAP_HUGETLB anonymous memory; the guest reserves 2 MiB pages for it. */
int map_hugetlb(struct mapping *m);
int map_pagecache_shared(struct mapping *m);
int map_fsdax_shared(struct mapping *m);
int map_fsdax_private_copied(struct mapping *m);
/* A private fsdax mapping none of whose pages were written yet. */
int map_fsdax_private(struct mapping *m);
int map_devdax_region(struct mapping *m);

/* Opens the RDMA device @name and allocates a PD on it; NULL on failure. */
struct ibv_pd *open_pd(const char *name);
/* Deallocates @pd and closes its device. */
void close_pd(struct ibv_pd *pd);
/* read_env(), then a PD on rxe0: where most guest tests start. NULL: a failed check. */
struct ibv_pd *start_guest_test(void);

/*
 * This process's open fds: those open on @file (NULL: any file) whose
 * /proc/self/fd link starts with @link (NULL: any link).
 */
int count_fds(const struct stat *file, const char *link);
/* The highest of those fds, or -1. */
int find_fd(const struct stat *file, const char *link);
/* Leases in /proc/locks set by @pid (0: any), on @file (NULL: any file). */
int count_leases(pid_t pid, const struct stat *file);

/* What a failed or undone registration must leave as it found it. */
/* What librdmapin keeps at most: a maps fd, a map_files directory, four align attributes. */
#define LIBRARY_KEPT_MAX 6

struct usage {
	int fds;	/* but those the library keeps */
	int kept;	/* those: see count_app_fds() */
	int leases;	/* of this process */
	int maps;	/* mappings of files */
};

/*
 * The open fds but those librdmapin opens once and keeps in the
 * application's table (rdmapin(7)), which it counts in @kept.
 */
int count_app_fds(int *kept);
void usage_get(struct usage *u);
/* A check that nothing in @before grew (or shrank) since; @what names the case. */
int check_usage(const struct usage *before, const char *what);

/*
 * Forks a child that only waits, until @wake (set to a pipe's end) is
 * closed; its pid, or -1. The second runs @fn, if not NULL, in the child
 * first.
 */
pid_t fork_idle(int *wake);
pid_t fork_idle_after(void (*fn)(void), int *wake);

/*
 * Runs @fn in a forked child. Its checks number on from the caller's and
 * count in the caller's totals; a child that dies before it reports is a
 * failed check. Returns 0 once the child exited cleanly, else -1.
 */
int check_in_child(void (*fn)(void *arg), void *arg);

/* Writes @value to /proc/sys file @path; its old value first to @old, if not NULL. */
int write_sysctl(const char *path, const char *value, char *old, size_t len);
/* A child's errno comes back as its exit status; ECHILD stands for a crash. */
int child_errno(pid_t pid);
/* CLOCK_MONOTONIC in seconds. */
double now_s(void);

#endif
