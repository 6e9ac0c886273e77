// SPDX-License-Identifier: MIT
/* The MR table: see mr_table.h. */
#include <stdint.h>
#include <stdlib.h>

#include "lib.h"
#include "mr_table.h"

static struct rdmapin_mr **bucket(const struct ibv_mr *ibmr)
{
	uintptr_t h = (uintptr_t)ibmr;

	return &rdmapin_lib.mrs[(h >> 4 ^ h >> 14) % RDMAPIN_MR_TABLE_BUCKETS];
}

void rdmapin_mr_table_add(struct rdmapin_mr *mr)
{
	struct rdmapin_mr **b = bucket(mr->ibmr);

	mr->table_next = *b;
	*b = mr;
}

struct rdmapin_mr *rdmapin_mr_table_find(const struct ibv_mr *ibmr)
{
	struct rdmapin_mr *mr;

	for (mr = *bucket(ibmr); mr; mr = mr->table_next)
		if (mr->ibmr == ibmr)
			return mr;
	return NULL;
}

void rdmapin_mr_table_del(struct rdmapin_mr *mr)
{
	struct rdmapin_mr **p;

	for (p = bucket(mr->ibmr); *p; p = &(*p)->table_next) {
		if (*p == mr) {
			*p = mr->table_next;
			return;
		}
	}
}

void rdmapin_mr_table_for_each(void (*fn)(const struct rdmapin_mr *mr, void *ctx), void *ctx)
{
	struct rdmapin_mr *mr;
	size_t i;

	for (i = 0; i < RDMAPIN_MR_TABLE_BUCKETS; i++)
		for (mr = rdmapin_lib.mrs[i]; mr; mr = mr->table_next)
			fn(mr, ctx);
}

void rdmapin_mr_table_forget_all(void)
{
	struct rdmapin_mr *mr;
	size_t i;

	for (i = 0; i < RDMAPIN_MR_TABLE_BUCKETS; i++) {
		while ((mr = rdmapin_lib.mrs[i])) {
			rdmapin_lib.mrs[i] = mr->table_next;
			free(mr);
		}
	}
}
