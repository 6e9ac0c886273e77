/* SPDX-License-Identifier: MIT */
/*
 * Every way to truncate a file that the truncate guard covers, for the tests
 * that check it refuses them all: system calls, and the tools that people
 * truncate files with.
 */
#ifndef RDMAPIN_TESTS_TRUNCATE_PATHS_H
#define RDMAPIN_TESTS_TRUNCATE_PATHS_H

/* Every truncate path that the guard covers. */
enum how {
	TRUNCATE_SHRINK,
	FTRUNCATE_SHRINK,
	FTRUNCATE_GROW,
	OPEN_TRUNC,
	SHELL_REDIRECT,
	COREUTILS_TRUNCATE,
	NR_HOWS
};

extern const char *const how_name[NR_HOWS];

/* Truncates @path (open at @fd) as @how says: 0 or an errno. */
int try_truncate(enum how how, const char *path, int fd);

/*
 * A check per path that truncating @path (a REGION_SIZE file open at @fd)
 * fails with @want (0: succeeds, and the size is put back); when it should
 * fail, one more that the file kept its size. @what names the case in each.
 */
void check_truncate_paths(const char *path, int fd, int want, const char *what);

#endif
