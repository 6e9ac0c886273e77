/* SPDX-License-Identifier: MIT */
/*
 * Layout leases over registered files: the kernel's F_LAYOUT lease where it
 * exists, else an exclusive F_WRLCK lease on the open file description that
 * backs the mapping. Any open or truncate of the file elsewhere breaks it;
 * the break thread then revokes the MRs and releases the lease.
 * All functions here run under rdmapin_lock().
 */
#ifndef RDMAPIN_LEASE_H
#define RDMAPIN_LEASE_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>
#include <rdmapin/rdmapin.h>

struct rdmapin_mr;
struct rdmapin_backing_info;

struct rdmapin_lease {
	dev_t dev;
	ino_t ino;
	int fd;				/* our dup of the leased open file description */
	enum rdmapin_lease_kind kind;
	struct rdmapin_mr *mrs;		/* live MRs it guards, via mr->lease_next */
	bool broken;			/* a break arrived; MRs are being revoked */
	struct rdmapin_lease *next;
	char path[PATH_MAX];
};

/*
 * Takes (or shares) the lease over the file behind b. fd is the caller's open
 * file, or -1 to find the one this process has open.
 */
int rdmapin_lease_get(int fd, const struct rdmapin_backing_info *b, struct rdmapin_lease **out);
void rdmapin_lease_attach(struct rdmapin_lease *lease, struct rdmapin_mr *mr);
/* Drops mr from its lease; the lease is released with its last MR. */
void rdmapin_lease_detach(struct rdmapin_mr *mr);
struct rdmapin_lease *rdmapin_lease_by_fd(int fd);
struct rdmapin_lease *rdmapin_lease_first(void);
/* In a forked child: forget every lease without touching the parent's. */
void rdmapin_lease_forget_all(void);

#endif
