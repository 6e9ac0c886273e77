/* SPDX-License-Identifier: MIT */
/*
 * The kinds of the files this process has registered, remembered while an MR
 * holds them: a later MR over one of them is classified from its mapping
 * alone, without opening and stat-ing the file again. The mapping keeps the
 * inode alive, so its (device, inode) names the same file meanwhile.
 */
#ifndef RDMAPIN_FILE_CACHE_H
#define RDMAPIN_FILE_CACHE_H

#include <stdbool.h>
#include "provider.h"

/* Fills kind, rdev and page_size of the file @info->dev/@info->ino if held. */
bool rdmapin_file_cache_get(struct rdmapin_backing_info *info);
/* Counts a registered MR over @info's file in, or out. */
void rdmapin_file_cache_hold(const struct rdmapin_backing_info *info);
void rdmapin_file_cache_release(const struct rdmapin_backing_info *info);
/* In a forked child. */
void rdmapin_file_cache_forget(void);

#endif
