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
 * Whether the answer that the file (dev_major:dev_minor, inode) is mapped,
 * with pages of page_size, may be believed without checking that the cached
 * maps fd is still ours: see rdmapin_vma_maps_replaced().
 */
typedef bool (*rdmapin_vma_trust_fn)(uint32_t dev_major, uint32_t dev_minor, uint64_t inode,
				     uint64_t page_size, void *ctx);

/*
 * Both call fn for each mapping intersecting [start, end), in address order.
 * An unmapped byte fails with EFAULT, naming the first unmapped address.
 * fn returning nonzero stops the walk and is returned. The first asks the
 * kernel with PROCMAP_QUERY (Linux 6.11), the second parses /proc/self/maps:
 * the caller picks by RDMAPIN_HOST_PROCMAP_QUERY, so that this file needs no
 * host facts (and tests compare the two). trust, which may be NULL, gets
 * ctx too.
 */
int rdmapin_vma_walk_procmap(uintptr_t start, uintptr_t end, rdmapin_vma_fn fn,
			     rdmapin_vma_trust_fn trust, void *ctx);
int rdmapin_vma_walk_maps(uintptr_t start, uintptr_t end, rdmapin_vma_fn fn, void *ctx);
/*
 * Whether [start, end) is mapped, without holes, by private anonymous memory
 * alone (no file, not even shmem): the common case, known on Linux 6.11 and
 * later for the cost of one name-less PROCMAP_QUERY per mapping. Before,
 * asked of /proc/self/map_files only when the text would be read far
 * (vma.c): false means "walk the mappings", not "not anonymous".
 */
bool rdmapin_vma_private_anon(uintptr_t start, uintptr_t end);
/*
 * Whether the cached /proc/self/maps fd had been replaced by another file
 * (it is then opened anew). An anonymous answer through it is not checked,
 * nor one the trust function vouches for, so that a file could be taken for
 * anonymous memory, for shmem, or for another file: only the application
 * itself can put another process's maps on the number. The kernel refuses
 * writable pins of such a file (fsdax always, page cache since 6.5; answers
 * go unchecked from 6.11 on, where PROCMAP_QUERY is: the text walk of older
 * kernels checks the fd first), and a failed registration asks this before
 * it tries again. A read-only pin of a page-cache file is not refused, nor is
 * On-Demand Paging: such a registration stays misclassified.
 */
bool rdmapin_vma_maps_replaced(void);
/* In a forked child: the cached /proc/self/maps is the parent's. */
void rdmapin_vma_forget(void);

#endif
