// SPDX-License-Identifier: MIT
/* Revocation on lease break: see revoke.h. */
#include <time.h>
#include <infiniband/verbs.h>

#include "async_event.h"
#include "lease.h"
#include "lease_break.h"
#include "mr_table.h"
#include "registry.h"
#include "revoke.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * The NIC must lose access before the lease goes: deregister first, and keep
 * the lease if that fails (the kernel then breaks it after lease-break-time).
 * The record stays, marked revoked, until the application deregisters it.
 * An MR still being registered has no ibv_mr yet: do_register() sees revoked.
 */
static bool revoke_mr(struct rdmapin_mr *mr)
{
	if (mr->ibmr && ibv_dereg_mr(mr->ibmr))
		return false;
	mr->revoked = true;
	mr->grace_deadline_ns = 0;
	/* Published before the lease goes, so whoever broke it sees it revoked. */
	if (mr->ibmr) {
		rdmapin_registry_set_state(mr->registry_slot, RDMAPIN_PIN_REVOKED);
		rdmapin_event_post(RDMAPIN_EVENT_MR_REVOKED, mr);
	}
	rdmapin_lease_detach(mr);
	return true;
}

static size_t lease_mr_count(const struct rdmapin_lease *lease)
{
	const struct rdmapin_mr *mr;
	size_t n = 0;

	for (mr = lease->mrs; mr; mr = mr->lease_next)
		n++;
	return n;
}

/*
 * Revokes the MRs of the lease whose time has come; the last detach releases
 * the lease itself, so stop touching it then.
 */
static void revoke_due(struct rdmapin_lease *lease, uint64_t now)
{
	struct rdmapin_mr *mr, *next;
	size_t left = lease_mr_count(lease);

	for (mr = lease->mrs; mr; mr = next) {
		next = mr->lease_next;
		if (mr->grace_deadline_ns > now)
			continue;
		if (revoke_mr(mr) && !--left)
			return;
	}
}

/* MRs that asked for a grace period hear of the break and get one; others get none. */
static void start_grace(struct rdmapin_lease *lease, uint64_t now)
{
	struct rdmapin_mr *mr;

	for (mr = lease->mrs; mr; mr = mr->lease_next) {
		if (!mr->ibmr || mr->attr.break_policy != RDMAPIN_BREAK_GRACE)
			continue;
		mr->grace_deadline_ns = now + mr->attr.grace_ms * 1000000ull;
		rdmapin_event_post(RDMAPIN_EVENT_LEASE_BREAKING, mr);
	}
}

static void arm_next_deadline(void)
{
	const struct rdmapin_lease *l;
	const struct rdmapin_mr *mr;
	uint64_t next = 0;

	for (l = rdmapin_lease_first(); l; l = l->next)
		for (mr = l->mrs; mr; mr = mr->lease_next)
			if (mr->grace_deadline_ns && (!next || mr->grace_deadline_ns < next))
				next = mr->grace_deadline_ns;
	if (next)
		rdmapin_break_thread_arm(next);
}

void rdmapin_revoke_on_break(int lease_fd)
{
	struct rdmapin_lease *lease;
	uint64_t now = now_ns();

	rdmapin_lock();
	lease = rdmapin_lease_by_fd(lease_fd);
	if (lease && !lease->broken) {
		lease->broken = true;
		start_grace(lease, now);
		revoke_due(lease, now);
		arm_next_deadline();
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
		if (l->broken)
			revoke_due(l, now);
	}
	arm_next_deadline();
	rdmapin_unlock();
	rdmapin_event_run_callbacks();
}
