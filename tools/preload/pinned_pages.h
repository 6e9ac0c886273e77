/* SPDX-License-Identifier: MIT */
/* What a range the kernel has just pinned holds, from /proc/self/pagemap. */
#ifndef RDMAPIN_PRELOAD_PINNED_PAGES_H
#define RDMAPIN_PRELOAD_PINNED_PAGES_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Whether every page of [addr, addr + length) is present and neither a file's
 * page nor shared memory's (pagemap's "file-page or shared-anon" flag): only
 * then can no truncate free a page under the pin. Any doubt (an unreadable
 * pagemap, an absent page) is "no".
 */
bool preload_pinned_anonymous(const void *addr, size_t length);

#endif
