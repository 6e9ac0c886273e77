// SPDX-License-Identifier: MIT
/* Which pins the command line asks for: see filter.h. */
#define _GNU_SOURCE
#include <err.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "filter.h"
#include "xalloc.h"

void filter_add_file(struct filter *f, const char *arg)
{
	struct file_arg *a;
	struct stat st;

	f->by_file = true;
	if (stat(arg, &st)) {
		warn("%s", arg);
		return;
	}
	f->files = xrealloc(f->files, f->nfiles + 1, sizeof(*f->files));
	a = &f->files[f->nfiles];
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	a->dir = NULL;
	if (S_ISDIR(st.st_mode)) {
		a->dir = realpath(arg, NULL);
		if (!a->dir) {
			warn("%s", arg);
			return;
		}
	}
	f->nfiles++;
}

void filter_free(struct filter *f)
{
	size_t i;

	for (i = 0; i < f->nfiles; i++)
		free(f->files[i].dir);
	free(f->files);
	free(f->pids);
}

bool filter_proc(const struct filter *f, pid_t pid, uid_t uid)
{
	size_t i;

	if (f->by_uid && uid != f->uid)
		return false;
	for (i = 0; i < f->npids; i++)
		if (f->pids[i] == pid)
			return true;
	return !f->npids;
}

/* Canonical paths: only "/" ends in a slash. */
static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1)
		return path[0] == '/';
	return !strncmp(path, dir, n) && path[n] == '/';
}

bool filter_file(const struct filter *f, dev_t dev, ino_t ino, const char *path)
{
	const struct file_arg *a;

	if (!f->by_file)
		return true;
	for (a = f->files; a < f->files + f->nfiles; a++)
		if (dev == a->dev && (a->dir ? path_under(path, a->dir) : ino == a->ino))
			return true;
	return false;
}
