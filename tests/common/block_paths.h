/* SPDX-License-Identifier: MIT */
/*
 * Every call that frees or moves a file's blocks (rdmapin_guard(7) lists
 * them), and the neighbours that must stay allowed, for the tests that check
 * the guard refuses them and that no registration loses data to them. Each
 * acts on [0, len) of its target and returns 0 or an errno.
 */
#ifndef RDMAPIN_TESTS_BLOCK_PATHS_H
#define RDMAPIN_TESTS_BLOCK_PATHS_H

#include <liburing.h>
#include <sys/types.h>

#ifndef FALLOC_FL_WRITE_ZEROES
#define FALLOC_FL_WRITE_ZEROES 0x80	/* Linux 6.17; Debian 12's headers lack it */
#endif

struct block_target {
	const char *path;	/* the file acted on */
	int fd;
	void *map;		/* a shared mapping of it, at least len long */
	int src;		/* same filesystem, never guarded: what a remap brings in */
	int dst;		/* where a clone *from* fd goes */
	off_t len;
	struct io_uring *ring;	/* NULL: each io_uring call sets up its own */
};

/* Freeing or moving blocks: refused on a guarded file. */
int block_punch(const struct block_target *t);
int block_collapse(const struct block_target *t);
int block_zero(const struct block_target *t);
int block_zero_keep(const struct block_target *t);
int block_insert(const struct block_target *t);
int block_write_zeroes(const struct block_target *t);
int block_madv_remove(const struct block_target *t);
int block_ficlone(const struct block_target *t);
int block_ficlonerange(const struct block_target *t);
/* EBADE when the ranges differ, as the kernel's per-file status says. */
int block_dedupe(const struct block_target *t);
int block_copy_into(const struct block_target *t);
int block_uring_punch(const struct block_target *t);
int block_uring_madv_remove(const struct block_target *t);

/* Allowed on a guarded file. */
int block_alloc(const struct block_target *t);
int block_alloc_keep(const struct block_target *t);
int block_unshare(const struct block_target *t);
int block_uring_alloc_keep(const struct block_target *t);
int block_pwrite(const struct block_target *t);
int block_clone_from(const struct block_target *t);

#endif
