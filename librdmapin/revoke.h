/* SPDX-License-Identifier: MIT */
/*
 * What the break thread does when a lease breaks: notify and start grace
 * periods, or deregister the MRs over the file at once; then release the
 * lease, which lets the truncate or open that broke it go on.
 */
#ifndef RDMAPIN_REVOKE_H
#define RDMAPIN_REVOKE_H

/* The lease taken through lease_fd was broken by another open or a truncate. */
void rdmapin_revoke_on_break(int lease_fd);
/* Ends the grace periods that are over. */
void rdmapin_revoke_expired(void);

#endif
