// SPDX-License-Identifier: MIT
/* The MR table and the library lock: see mr_table.h. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "mr_table.h"

#define MR_TABLE_BUCKETS 1024

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct rdmapin_mr *buckets[MR_TABLE_BUCKETS];

void rdmapin_lock(void)
{
	pthread_mutex_lock(&lock);
}

void rdmapin_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

void rdmapin_wait(void)
{
	pthread_cond_wait(&cond, &lock);
}

void rdmapin_broadcast(void)
{
	pthread_cond_broadcast(&cond);
}

static struct rdmapin_mr **bucket(const struct ibv_mr *ibmr)
{
	uintptr_t h = (uintptr_t)ibmr;

	return &buckets[(h >> 4 ^ h >> 14) % MR_TABLE_BUCKETS];
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

	for (i = 0; i < MR_TABLE_BUCKETS; i++)
		for (mr = buckets[i]; mr; mr = mr->table_next)
			fn(mr, ctx);
}

void rdmapin_mr_table_forget_all(void)
{
	struct rdmapin_mr *mr;
	size_t i;

	for (i = 0; i < MR_TABLE_BUCKETS; i++) {
		while ((mr = buckets[i])) {
			buckets[i] = mr->table_next;
			free(mr);
		}
	}
}
