/* SPDX-License-Identifier: MIT */
/*
 * One provider per backing kind, as policy: given what backs a range (read
 * only) and facts about the host, a provider answers what that backing
 * allows: whether a long-term pin works and what the kernel answers if not,
 * whether a lease or guard must hold the file, how the file form maps it.
 * The core classifies, chooses the mode, protects the file and registers.
 * Providers see nothing but this header (and their own folder).
 */
#ifndef RDMAPIN_PROVIDER_H
#define RDMAPIN_PROVIDER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>
#include <rdmapin/rdmapin.h>

/* What backs an address range or an open file, as the core classified it. */
struct rdmapin_backing_info {
	enum rdmapin_backing kind;
	bool shared;			/* MAP_SHARED */
	/*
	 * Of shared mappings, every one in the range has PROT_WRITE. The
	 * covering mappings' union, or, for private anonymous memory
	 * classified without reading its mappings, the range itself.
	 */
	bool writable;
	uintptr_t map_start, map_end;
	uint64_t offset;		/* file offset of addr (0 for anonymous) */
	dev_t dev;			/* st_dev/st_ino of the backing file; 0 for anonymous */
	ino_t ino;
	dev_t rdev;			/* st_rdev: which device-DAX device */
	bool node_kept; /* device-DAX node on tmpfs or ramfs: inode never reused */
	/*
	 * The mapping's page size (hugetlb: 2M/1G), >= 4096; 0 for device-DAX
	 * whose alignment was not read, the range being aligned to it already.
	 */
	uint64_t page_size;
	char path[PATH_MAX];		/* as the mapping names it; "" for anonymous */
};

/* The registration asked for. */
struct rdmapin_range {
	const struct rdmapin_backing_info *backing;
	uintptr_t start;
	size_t length;
	bool writable;			/* the kernel pins it with FOLL_WRITE */
};

/* What providers decide by. */
struct rdmapin_host_facts {
	bool refuses_file_pins;		/* Linux >= 6.5: no writable pins of page-cache files */
};

/* A provider's answer. */
struct rdmapin_policy {
	bool pin_allowed;		/* a long-term pin (plain ibv_reg_mr()) works */
	int pin_errno;			/* what ibv_reg_mr() answers such a pin otherwise */
	bool populate_for_pin;		/* write-fault the range before pinning it */
	bool leasable;			/* a lease or the guard can keep the file whole */
	enum rdmapin_lease_policy lease_default;
	char refusal[256];		/* why no pin, or no registration; the core names the file */
};

/* A refusal that needs no formatting: every file registration fills one. */
static inline void rdmapin_policy_refusal(struct rdmapin_policy *p, const char *why)
{
	size_t n = strnlen(why, sizeof(p->refusal) - 1);

	memcpy(p->refusal, why, n);
	p->refusal[n] = '\0';
}

struct rdmapin_provider {
	const char *name;
	bool map_sync;			/* the file form maps it writable with MAP_SYNC */
	/*
	 * Fills @p. Returns 0, or an errno value when the range cannot be
	 * registered at all, with @p->refusal naming the cause and the remedy.
	 */
	int (*policy)(const struct rdmapin_range *r, const struct rdmapin_host_facts *h,
		      struct rdmapin_policy *p);
};

/* The provider for a backing kind; never NULL for a classified kind. */
const struct rdmapin_provider *rdmapin_provider_get(enum rdmapin_backing kind);

#endif
