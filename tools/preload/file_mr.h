/* SPDX-License-Identifier: MIT */
/*
 * librdmapin-preload.so: the ibv_reg_mr family interposed for unmodified
 * programs (rdmapin-run(1)). preload.c holds the entry points, file_mr.c the
 * registrations that go through librdmapin.
 */
#ifndef RDMAPIN_PRELOAD_H
#define RDMAPIN_PRELOAD_H

#include <stdbool.h>
#include <stdint.h>
#include <infiniband/verbs.h>
#include <rdmapin/rdmapin.h>

/* libibverbs' own functions, resolved past this library. */
struct preload_real {
	struct ibv_mr *(*reg_mr_1_0)(void *pd, void *addr, size_t length, int access);
	int (*dereg_mr_1_0)(void *mr);
	struct ibv_mr *(*reg_mr_iova2)(struct ibv_pd *pd, void *addr, size_t length,
				       uint64_t iova, unsigned int access);
	int (*dereg_mr)(struct ibv_mr *mr);
	int (*rereg_mr)(struct ibv_mr *mr, int flags, struct ibv_pd *pd, void *addr,
			size_t length, int access);
	struct ibv_mr *(*reg_dmabuf_mr)(struct ibv_pd *pd, uint64_t offset, size_t length,
					uint64_t iova, int fd, int access);
};

const struct preload_real *preload_real(void);

/* Whether @r is memory that librdmapin registers differently from the verbs: a file. */
bool preload_is_file(const struct rdmapin_range_attr *r);

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

#endif
