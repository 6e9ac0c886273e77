/* SPDX-License-Identifier: MIT */
/*
 * Layout leases over registered files, and their revocation: the kernel's
 * F_LAYOUT lease where it exists, else an exclusive F_WRLCK lease on the open
 * file description that backs the mapping. Any open or truncate of the file
 * elsewhere breaks it; the lease then revokes its MRs (deregisters them, at
 * once or after their grace period) and releases itself, which lets the open
 * or truncate go on. One lease serves every MR over the same file. A pin of
 * page-cache pages that could be neither leased nor guarded is still watched
 * here, and revoked when its pages leave the file.
 */
#ifndef RDMAPIN_LEASE_H
#define RDMAPIN_LEASE_H

#include <stdbool.h>
#include <rdmapin/rdmapin.h>

struct rdmapin_mr;
struct rdmapin_lease;

/*
 * Takes (or shares) the lease over the file behind @mr, through mr->attr.fd
 * or, when that is -1, an fd of this process's own on the file, and attaches
 * @mr to it. Takes the locks itself. 0, or -1 with errno and a message.
 */
int rdmapin_lease_attach(struct rdmapin_mr *mr);
/*
 * Attaches @mr to the live lease of its file, if this process holds one;
 * takes the lock. 1 if attached, 0 if there is none, -1 with errno and a
 * message if the lease cannot serve @mr (its file cannot be watched).
 */
int rdmapin_lease_attach_existing(struct rdmapin_mr *mr);
/*
 * Drops @mr from its lease, under the lock; true if that left the lease
 * without MRs. Such a lease is released by rdmapin_lease_release_idle(), or
 * at the fd keeper's next wake-up.
 */
bool rdmapin_lease_detach(struct rdmapin_mr *mr);
/*
 * For a long-term pin of page-cache pages that holds no lease (guarded, or
 * neither guarded nor leased): watches its file as a leased one's (a record
 * with no lease), so that the MR is revoked when its pages leave the file
 * all the same (the guard unloaded, or what it does not cover). Takes the
 * locks itself; nothing for other MRs. 0, or -1 with errno and a message.
 */
int rdmapin_lease_watch_unleased(struct rdmapin_mr *mr);
/* Without the lock: releases the leases left without MRs before it returns. */
void rdmapin_lease_release_idle(void);
enum rdmapin_lease_kind rdmapin_lease_kind(const struct rdmapin_lease *lease);
/* In a forked child: forget every lease without touching the parent's. */
void rdmapin_lease_forget_all(void);

#endif
