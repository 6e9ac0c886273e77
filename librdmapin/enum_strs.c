// SPDX-License-Identifier: MIT
/*
 * Names of the public enums, as rdma-core's ibv_wc_status_str(): the words
 * pinls prints and the man pages use. A value out of range reads "unknown",
 * so a record from a newer library never indexes past a table.
 */
#include <rdmapin/rdmapin.h>
#include "array.h"

static const char *name_of(unsigned int val, const char *const *names, size_t n)
{
	return val < n && names[val] ? names[val] : "unknown";
}

const char *rdmapin_backing_str(enum rdmapin_backing backing)
{
	static const char *const names[] = {
		[RDMAPIN_BACKING_ANON] = "anonymous",
		[RDMAPIN_BACKING_SHMEM] = "shmem",
		[RDMAPIN_BACKING_HUGETLB] = "hugetlb",
		[RDMAPIN_BACKING_PAGECACHE] = "page-cache",
		[RDMAPIN_BACKING_FSDAX] = "fsdax",
		[RDMAPIN_BACKING_DEVDAX] = "devdax",
	};

	return name_of(backing, names, ARRAY_SIZE(names));
}

const char *rdmapin_reg_mode_str(enum rdmapin_reg_mode mode)
{
	static const char *const names[] = {
		[RDMAPIN_MODE_PIN] = "pin",
		[RDMAPIN_MODE_ODP] = "odp",
	};

	return name_of(mode, names, ARRAY_SIZE(names));
}

const char *rdmapin_lease_kind_str(enum rdmapin_lease_kind kind)
{
	static const char *const names[] = {
		[RDMAPIN_LEASE_KIND_NONE] = "none",
		[RDMAPIN_LEASE_KIND_NATIVE] = "native",
		[RDMAPIN_LEASE_KIND_EMULATED] = "emulated",
	};

	return name_of(kind, names, ARRAY_SIZE(names));
}

const char *rdmapin_guard_kind_str(enum rdmapin_guard_kind kind)
{
	static const char *const names[] = {
		[RDMAPIN_GUARD_KIND_NONE] = "none",
		[RDMAPIN_GUARD_KIND_DAEMON] = "daemon",
		[RDMAPIN_GUARD_KIND_DIRECT] = "direct",
	};

	return name_of(kind, names, ARRAY_SIZE(names));
}

const char *rdmapin_event_type_str(enum rdmapin_event_type type)
{
	static const char *const names[] = {
		[RDMAPIN_EVENT_LEASE_BREAKING] = "lease-breaking",
		[RDMAPIN_EVENT_MR_REVOKED] = "mr-revoked",
	};

	return name_of(type, names, ARRAY_SIZE(names));
}
