/* SPDX-License-Identifier: MIT */
/*
 * One provider per backing kind. The core classifies the range, asks the
 * provider what the backing allows, then chooses the mode, takes the lease and
 * registers; providers hold only what differs between kinds.
 */
#ifndef RDMAPIN_PROVIDER_H
#define RDMAPIN_PROVIDER_H

#include "registration.h"

struct rdmapin_provider {
	enum rdmapin_backing kind;
	/* Checks the range against the backing's rules (e.g. alignment). */
	int (*probe)(struct rdmapin_mr *mr);
	/* Fills pin_allowed, pin_refusal and lease_default. */
	void (*prepare)(struct rdmapin_mr *mr);
	/* Registers mr->backing's range with the given verbs access flags. */
	struct ibv_mr *(*reg)(struct rdmapin_mr *mr, int access);
	/* Drops what probe() set up. */
	void (*release)(struct rdmapin_mr *mr);
};

/* The provider for a backing kind; never NULL for a classified kind. */
const struct rdmapin_provider *rdmapin_provider_get(enum rdmapin_backing kind);

/* The plain verbs registration that every kind uses unless it needs more. */
struct ibv_mr *rdmapin_provider_reg_verbs(struct rdmapin_mr *mr, int access);

/* prepare() for memory that pins long-term and needs no lease. */
void rdmapin_provider_prepare_pinnable(struct rdmapin_mr *mr);

extern const struct rdmapin_provider rdmapin_provider_anon;
extern const struct rdmapin_provider rdmapin_provider_shmem;
extern const struct rdmapin_provider rdmapin_provider_hugetlb;
extern const struct rdmapin_provider rdmapin_provider_pagecache;
extern const struct rdmapin_provider rdmapin_provider_fsdax;
extern const struct rdmapin_provider rdmapin_provider_devdax;

#endif
