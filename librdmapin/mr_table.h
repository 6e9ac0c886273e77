/* SPDX-License-Identifier: MIT */
/*
 * The registrations this process made, found by the struct ibv_mr pointer
 * the caller holds, and the one lock over all library state (MRs, leases,
 * events).
 */
#ifndef RDMAPIN_MR_TABLE_H
#define RDMAPIN_MR_TABLE_H

#include "registration.h"

void rdmapin_lock(void);
void rdmapin_unlock(void);
/* Waits for rdmapin_broadcast() with the lock held. */
void rdmapin_wait(void);
void rdmapin_broadcast(void);

void rdmapin_mr_table_add(struct rdmapin_mr *mr);
struct rdmapin_mr *rdmapin_mr_table_find(const struct ibv_mr *ibmr);
void rdmapin_mr_table_del(struct rdmapin_mr *mr);
/* Calls @fn for every registration, under the lock. */
void rdmapin_mr_table_for_each(void (*fn)(const struct rdmapin_mr *mr, void *ctx), void *ctx);
/* In a forked child: frees every record, deregistering nothing. */
void rdmapin_mr_table_forget_all(void);

#endif
