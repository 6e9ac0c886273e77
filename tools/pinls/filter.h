/* SPDX-License-Identifier: MIT */
/* Which pins the command line asks for. */
#ifndef PINLS_FILTER_H
#define PINLS_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

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

/*
 * Adds a FILE or DIR argument. One that does not exist warns and matches
 * nothing, as with lsof(8).
 */
void filter_add_file(struct filter *f, const char *arg);
void filter_free(struct filter *f);

bool filter_proc(const struct filter *f, pid_t pid, uid_t uid);
/* A FILE matches pins of the same inode; a DIR, pins under it on its filesystem. */
bool filter_file(const struct filter *f, dev_t dev, ino_t ino, const char *path);

#endif
