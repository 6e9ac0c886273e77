/* SPDX-License-Identifier: MIT */
/*
 * The registrations this process made, found by the struct ibv_mr pointer
 * the caller holds. Under rdmapin_lock().
 */
#ifndef RDMAPIN_MR_TABLE_H
#define RDMAPIN_MR_TABLE_H

#include "registration.h"

void rdmapin_mr_table_add(struct rdmapin_mr *mr);
struct rdmapin_mr *rdmapin_mr_table_find(const struct ibv_mr *ibmr);
void rdmapin_mr_table_del(struct rdmapin_mr *mr);
/* Calls @fn for every registration, under the lock. */
void rdmapin_mr_table_for_each(void (*fn)(const struct rdmapin_mr *mr, void *ctx), void *ctx);
/* In a forked child: frees every record, deregistering nothing. */
void rdmapin_mr_table_forget_all(void);

#endif
