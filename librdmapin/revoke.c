// SPDX-License-Identifier: MIT
/* Revocation on lease break: see revoke.h. */
#include <time.h>
#include <infiniband/verbs.h>

#include "async_event.h"
#include "lease.h"
#include "lease_break.h"
#include "mr_table.h"
#include "revoke.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * The NIC must lose access before the lease goes: deregister first. The
 * record stays, marked revoked, until the application deregisters it.
 */
static void revoke_mr(struct rdmapin_mr *mr)
{
	mr->revoked = true;
	mr->breaking = false;
	/* Still registering: do_register() sees revoked and fails with EAGAIN. */
	if (mr->ibmr) {
		ibv_dereg_mr(mr->ibmr);
		rdmapin_event_post(RDMAPIN_EVENT_MR_REVOKED, mr);
	}
	rdmapin_lease_detach(mr);
}

/* Revokes every MR of the lease; the last detach releases the lease itself. */
static void revoke_lease(struct rdmapin_lease *lease)
{
	struct rdmapin_mr *mr;
	bool last;

	do {
		mr = lease->mrs;
		last = !mr->lease_next;
		revoke_mr(mr);
	} while (!last);
}

/* Starts the grace periods of the MRs that asked for one; the earliest deadline. */
static uint64_t start_grace(struct rdmapin_lease *lease)
{
	uint64_t now = now_ns(), deadline = 0, d;
	struct rdmapin_mr *mr;

	for (mr = lease->mrs; mr; mr = mr->lease_next) {
		if (mr->attr.break_policy != RDMAPIN_BREAK_GRACE)
			continue;
		mr->breaking = true;
		rdmapin_event_post(RDMAPIN_EVENT_LEASE_BREAKING, mr);
		d = now + mr->attr.grace_ms * 1000000ull;
		if (!deadline || d < deadline)
			deadline = d;
	}
	return deadline;
}

static void arm_next_deadline(void)
{
	uint64_t next = 0;
	struct rdmapin_lease *l;

	for (l = rdmapin_lease_first(); l; l = l->next)
		if (l->grace_deadline_ns && (!next || l->grace_deadline_ns < next))
			next = l->grace_deadline_ns;
	if (next)
		rdmapin_break_thread_arm(next);
}

void rdmapin_revoke_on_break(int lease_fd)
{
	struct rdmapin_lease *lease;

	rdmapin_lock();
	lease = rdmapin_lease_by_fd(lease_fd);
	if (lease && !lease->broken && lease->mrs) {
		lease->broken = true;
		lease->grace_deadline_ns = start_grace(lease);
		if (lease->grace_deadline_ns)
			arm_next_deadline();
		else
			revoke_lease(lease);
	}
	rdmapin_unlock();
	rdmapin_event_run_callbacks();
}

void rdmapin_revoke_expired(void)
{
	struct rdmapin_lease *l, *next;
	uint64_t now = now_ns();

	rdmapin_lock();
	for (l = rdmapin_lease_first(); l; l = next) {
		next = l->next;
		if (l->grace_deadline_ns && l->grace_deadline_ns <= now)
			revoke_lease(l);
	}
	arm_next_deadline();
	rdmapin_unlock();
	rdmapin_event_run_callbacks();
}
