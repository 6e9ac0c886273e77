/* SPDX-License-Identifier: MIT */
/*
 * How registrations use the truncate guard (rdmapin_guard(7)): through
 * rdmapin-guardd(8) when it listens, which lets any process guard a file it
 * has open for writing and cleans up after clients that die; else directly
 * in the guard's map, when this process may edit it.
 */
#ifndef RDMAPIN_GUARD_CLIENT_H
#define RDMAPIN_GUARD_CLIENT_H

#include <stddef.h>
#include <rdmapin/rdmapin.h>

struct rdmapin_mr;

/*
 * Guards the file behind @mr, through mr->attr.fd or an fd of this process's
 * own on it, and sets mr->guard. -1 with errno and a message when no guard
 * could be had: the caller falls back to a lease.
 */
int rdmapin_guard_mr(struct rdmapin_mr *mr);
/* Undoes rdmapin_guard_mr(); a daemon that is away is told when it is back. */
void rdmapin_unguard_mr(struct rdmapin_mr *mr);

/* How a registration made now would be guarded; @why says why not, or by what. */
enum rdmapin_guard_kind rdmapin_guard_reachable(char *why, size_t len);

/* In a forked child: the connection and its entries are the parent's. */
void rdmapin_guard_client_forget(void);

#endif
