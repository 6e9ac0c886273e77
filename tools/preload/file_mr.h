/* SPDX-License-Identifier: MIT */
/*
 * The registrations of librdmapin-preload.so (rdmapin-run(1)) that go
 * through librdmapin: file memory. preload.c holds the entry points.
 */
#ifndef RDMAPIN_PRELOAD_FILE_MR_H
#define RDMAPIN_PRELOAD_FILE_MR_H

#include <stdbool.h>
#include <stdint.h>
#include <infiniband/verbs.h>
#include <rdmapin/rdmapin.h>

/* Registers file memory through librdmapin, under the preload's policy. */
struct ibv_mr *preload_reg_file(struct ibv_pd *pd, void *addr, size_t length, uint64_t iova,
				unsigned int access, const struct rdmapin_range_attr *r);

/*
 * If @mr is one that preload_reg_file() returned: deregisters it through
 * librdmapin, sets *ret as ibv_dereg_mr() would return, and returns true.
 */
bool preload_dereg_file(struct ibv_mr *mr, int *ret);

/* Whether @mr is one that preload_reg_file() returned. */
bool preload_owns(struct ibv_mr *mr);

/* Whether the program holds any MR that preload_reg_file() returned. */
bool preload_holds_files(void);

#endif
