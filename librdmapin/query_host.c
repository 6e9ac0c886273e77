// SPDX-License-Identifier: MIT
/*
 * rdmapin_query_host() and rdmapin_query_guard(): what the host offers, as
 * probed once, plus whether the truncate guard protects registrations made
 * now, which can change.
 */
#include <errno.h>
#include <stdio.h>

#include <rdmapin/rdmapin.h>
#include "error.h"
#include "guard_client.h"
#include "host_caps.h"

/* Looking for the guard is no failure: errno and the last error stay. */
enum rdmapin_guard_kind rdmapin_query_guard(char *why, size_t len)
{
	enum rdmapin_guard_kind kind;
	char last[512], buf[1];
	int err = errno;

	snprintf(last, sizeof(last), "%s", rdmapin_error_msg());
	kind = rdmapin_guard_reachable(why ? why : buf, why ? len : sizeof(buf));
	rdmapin_fail(err, "%s", last);
	return kind;
}

int rdmapin_query_host(struct rdmapin_host_caps *caps)
{
	const struct rdmapin_host_caps *host;

	if (!caps)
		return rdmapin_fail(EINVAL, "rdmapin_query_host: caps is NULL; pass a "
					    "struct rdmapin_host_caps to fill");
	host = rdmapin_host();
	/* The fields of version 1.0 only: a caller's struct may be no larger. */
	caps->comp_mask = 0;
	caps->flags = host->flags;
	caps->lease_break_time = host->lease_break_time;
	caps->reserved = 0;
	snprintf(caps->kernel_release, sizeof(caps->kernel_release), "%s", host->kernel_release);
	if (rdmapin_query_guard(NULL, 0) != RDMAPIN_GUARD_KIND_NONE)
		caps->flags |= RDMAPIN_HOST_TRUNCATE_GUARD;
	return 0;
}
