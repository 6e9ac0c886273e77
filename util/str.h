/* SPDX-License-Identifier: MIT */
/* String copies for paths that run on every registration. */
#ifndef RDMAPIN_UTIL_STR_H
#define RDMAPIN_UTIL_STR_H

#include <string.h>

/*
 * snprintf(dst, size, "%s", src) without printf's cost: a few hundred
 * instructions of formatting per copy, on paths that copy a message or a
 * name on every registration. @size is > 0; @src and @dst may overlap.
 */
static inline void rdmapin_strscpy(char *dst, const char *src, size_t size)
{
	size_t n = strnlen(src, size - 1);

	memmove(dst, src, n);
	dst[n] = '\0';
}

#endif
