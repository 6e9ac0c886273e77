/* SPDX-License-Identifier: MIT */
/* The calling process's memory mappings over an address range. */
#ifndef RDMAPIN_VMA_H
#define RDMAPIN_VMA_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

struct rdmapin_vma {
	uintptr_t start, end;
	uint64_t offset;		/* file offset of start */
	bool readable, writable, shared;
	uint32_t dev_major, dev_minor;
	uint64_t inode;			/* 0: anonymous */
	uint64_t page_size;		/* from PROCMAP_QUERY; 0 when unknown (maps parser) */
	char name[PATH_MAX];		/* path or [heap]/[stack]/..., "" for none */
};

typedef int (*rdmapin_vma_fn)(const struct rdmapin_vma *vma, void *ctx);

/*
 * Both call fn for each mapping intersecting [start, end), in address order.
 * An unmapped byte fails with EFAULT, naming the first unmapped address.
 * fn returning nonzero stops the walk and is returned. The first asks the
 * kernel with PROCMAP_QUERY (Linux 6.11), the second parses /proc/self/maps:
 * the caller picks by RDMAPIN_HOST_PROCMAP_QUERY, so that this file needs no
 * host facts (and tests compare the two).
 */
int rdmapin_vma_walk_procmap(uintptr_t start, uintptr_t end, rdmapin_vma_fn fn, void *ctx);
int rdmapin_vma_walk_maps(uintptr_t start, uintptr_t end, rdmapin_vma_fn fn, void *ctx);
/*
 * Whether [start, end) is mapped, without holes, by private anonymous memory
 * alone (no file, not even shmem): the common case, known for the cost of
 * one name-less PROCMAP_QUERY per mapping. Linux 6.11 and later only.
 */
bool rdmapin_vma_private_anon(uintptr_t start, uintptr_t end);
/*
 * Whether the cached /proc/self/maps fd had been replaced by another file
 * (it is then opened anew). An anonymous answer through it is not checked,
 * so a file could be called anonymous; the kernel refuses writable pins of
 * such a file (fsdax always, page cache since 6.5; the fd is cached from
 * 6.11 on), and a failed anonymous registration asks this before it tries
 * again. A read-only pin of a page-cache file is not refused, and stays
 * misclassified.
 */
bool rdmapin_vma_maps_replaced(void);
/* In a forked child: the cached /proc/self/maps is the parent's. */
void rdmapin_vma_forget(void);

#endif
