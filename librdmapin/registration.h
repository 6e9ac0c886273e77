/* SPDX-License-Identifier: MIT */
/*
 * The object model: a registration (struct rdmapin_mr) is one MR the library
 * made, with what backs it, what its provider allows, how it was registered
 * and what keeps its file whole (a lease or the truncate guard).
 */
#ifndef RDMAPIN_REGISTRATION_H
#define RDMAPIN_REGISTRATION_H

#include <stdbool.h>
#include <rdmapin/rdmapin.h>
#include "backing.h"
#include "provider.h"

struct rdmapin_lease;

struct rdmapin_mr {
	struct ibv_mr *ibmr;			/* the MR handed to the caller */
	struct ibv_pd *pd;
	struct rdmapin_mr_init_attr attr;	/* as the caller asked, defaults filled */
	struct rdmapin_policy policy;		/* what the backing allows on this host */

	enum rdmapin_reg_mode mode;
	uint32_t quirks;		/* enum rdmapin_quirk it runs under, as accepted */
	enum rdmapin_guard_kind guard;	/* the truncate guard, instead of a lease */
	struct rdmapin_lease *lease;
	struct rdmapin_mr *lease_next;	/* the other MRs over the same lease */
	void *own_map;			/* the file form's mapping, unmapped at dereg */
	size_t own_map_len;
	bool revoked;
	bool deregistering;		/* rdmapin_dereg_mr() waits for event acks */
	uint64_t grace_deadline_ns;	/* CLOCK_MONOTONIC; 0: no grace period runs */
	unsigned int events_out;	/* events handed out and not yet acked */
	uint32_t registry_slot;		/* 1 + its slot in the pin registry; 0: none */
	int64_t registered_ns;		/* CLOCK_REALTIME, as published */
	struct ibv_mr *tombstone;	/* see rdmapin_mr_table_add() callers */
	struct rdmapin_mr *table_next;	/* hash chain in the MR table */
	/* Last: a new record is zeroed up to its path (see mr_alloc()). */
	struct rdmapin_backing_info backing;
};

/* The access flags for which the kernel pins with FOLL_WRITE (ib_access_writable). */
static inline bool rdmapin_access_writable(int access)
{
	return access & (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |
			 IBV_ACCESS_REMOTE_ATOMIC | IBV_ACCESS_MW_BIND);
}

#endif
