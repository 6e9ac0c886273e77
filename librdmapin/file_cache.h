/* SPDX-License-Identifier: MIT */
/*
 * The kinds of the files this process has registered, remembered while an MR
 * holds them: a later MR over one of them is classified from its mapping
 * alone, without opening and stat-ing the file again. The mapping keeps the
 * inode alive, so its (device, inode) names the same file meanwhile.
 *
 * A device-DAX node with an alignment above the base page is remembered
 * after its last MR too (a few of them), and known again only by a mapping
 * whose page size (PROCMAP_QUERY) is that alignment: only device-DAX and
 * hugetlbfs map such pages, hugetlbfs never reuses an inode number, and a
 * node recreated with another alignment no longer matches. Should a disk
 * filesystem give the number of a deleted node to another device-DAX node
 * of that alignment, the kind and page size are still right. Where no page
 * size is known (Linux before 6.11), a node on tmpfs or ramfs, which never
 * reuse inode numbers, is known again by its inode alone, and its
 * alignment read anew: its device may have been reconfigured meanwhile. A
 * range aligned as its mapping is needs none (backing.c): such a node on
 * tmpfs or ramfs is remembered with an alignment of 0, and kept idle too.
 */
#ifndef RDMAPIN_FILE_CACHE_H
#define RDMAPIN_FILE_CACHE_H

#include <stdbool.h>
#include "provider.h"

/* What is remembered of a file. */
struct rdmapin_file_kind {
	enum rdmapin_backing kind;
	dev_t rdev;
	uint64_t page_size;
	bool node_kept; /* see struct rdmapin_backing_info */
};

/*
 * Fills @k for the file @dev/@ino if known; @map_page_size: that of the
 * mapping, 0 when unknown. page_size 0: a device-DAX node known by its
 * inode alone, whose alignment the caller reads.
 */
bool rdmapin_file_cache_get(dev_t dev, ino_t ino, uint64_t map_page_size,
			    struct rdmapin_file_kind *k);
/*
 * Counts a registered MR over @info's file in, or out; none over anonymous
 * memory or the kernel's own shmem mount (memfd), known without it.
 */
void rdmapin_file_cache_hold(const struct rdmapin_backing_info *info);
void rdmapin_file_cache_release(const struct rdmapin_backing_info *info);
/* In a forked child. */
void rdmapin_file_cache_forget(void);

#endif
