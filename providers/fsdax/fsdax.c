// SPDX-License-Identifier: MIT
/*
 * Files on a filesystem mounted -o dax. No kernel pins a shared fsdax mapping
 * long-term (the NIC would write to storage the filesystem may reallocate), so
 * only On-Demand Paging registers it, always under a lease. Writable pins of a
 * private mapping land on anonymous COW copies, which pin anywhere.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "provider.h"

static void fsdax_prepare(struct rdmapin_mr *mr)
{
	if (!mr->backing.shared) {
		mr->pin_allowed = rdmapin_access_writable(mr->attr.access);
		mr->pin_errno = EOPNOTSUPP;
		mr->lease_default = RDMAPIN_LEASE_NONE;
		if (!mr->pin_allowed)
			snprintf(mr->pin_refusal, sizeof(mr->pin_refusal),
				 "read-only pins of a private fsdax mapping reach the file's "
				 "own pages, which no kernel pins long-term");
		return;
	}
	mr->pin_allowed = false;
	mr->pin_errno = EOPNOTSUPP;
	mr->lease_default = RDMAPIN_LEASE_REQUIRE;
	snprintf(mr->pin_refusal, sizeof(mr->pin_refusal),
		 "fsdax memory cannot be pinned long-term on any kernel");
}

/*
 * The kernel will not copy fsdax pages during a long-term pin (measured: an
 * untouched private mapping fails with EOPNOTSUPP on 6.1 and 7.2), so
 * write-fault the range first: the COW copies it makes hold the same bytes.
 */
static int populate_copies(struct rdmapin_mr *mr)
{
	uintptr_t page = sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)mr->attr.addr & ~(page - 1);
	uintptr_t end = ((uintptr_t)mr->attr.addr + mr->attr.length + page - 1) & ~(page - 1);

	if (madvise((void *)start, end - start, MADV_POPULATE_WRITE))
		return rdmapin_fail(errno, "%s: cannot make private copies of the fsdax pages "
				    "to pin (MADV_POPULATE_WRITE: %s); write every page first",
				    mr->backing.path, strerrordesc_np(errno));
	return 0;
}

static struct ibv_mr *fsdax_reg(struct rdmapin_mr *mr, int access)
{
	if (!mr->backing.shared && mr->mode == RDMAPIN_MODE_PIN && populate_copies(mr))
		return NULL;
	return rdmapin_provider_reg_verbs(mr, access);
}

const struct rdmapin_provider rdmapin_provider_fsdax = {
	.kind = RDMAPIN_BACKING_FSDAX,
	.prepare = fsdax_prepare,
	.reg = fsdax_reg,
};
