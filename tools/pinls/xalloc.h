/* SPDX-License-Identifier: MIT */
/* Allocation for pinls: out of memory, it exits with a message. */
#ifndef PINLS_XALLOC_H
#define PINLS_XALLOC_H

#include <stddef.h>

/* A transparent huge page on x86-64 and arm64 with 4 KiB pages. */
#define HUGE_SIZE ((size_t)2 << 20)

void *xrealloc(void *p, size_t n, size_t size);
/* v, or v reallocated to room for more than n elements, *cap updated. */
void *xgrow(void *v, size_t n, size_t *cap, size_t size);
/* size bytes or more, in huge pages if the host gives them: few page faults; free() frees it. */
void *xalloc_huge(size_t size);
/* xgrow() for arrays that grow large: in huge pages past 256 KiB; xfree_huge() frees it. */
void *xgrow_huge(void *v, size_t n, size_t *cap, size_t size);
/* Frees v, of cap elements of size bytes, from xgrow_huge(). */
void xfree_huge(void *v, size_t cap, size_t size);

#endif
