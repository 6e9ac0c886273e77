// SPDX-License-Identifier: MIT
/*
 * rdmapin_reg_mr() and friends: classify what backs the range, ask its
 * provider what the backing allows, choose the mode the kernel and device
 * really allow, lease the file, register; and the way back.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "async_event.h"
#include "device_caps.h"
#include "device_quirks.h"
#include "error.h"
#include "file_cache.h"
#include "guard_client.h"
#include "host_caps.h"
#include "lease.h"
#include "lib.h"
#include "mr_table.h"
#include "proc.h"
#include "provider.h"
#include "registry.h"
#include "str.h"
#include "vma.h"

#define INIT_ATTR_KNOWN                                                                  \
	(RDMAPIN_MR_INIT_ATTR_IOVA | RDMAPIN_MR_INIT_ATTR_FD | RDMAPIN_MR_INIT_ATTR_MODES | \
	 RDMAPIN_MR_INIT_ATTR_LEASE | RDMAPIN_MR_INIT_ATTR_BREAK | RDMAPIN_MR_INIT_ATTR_QUIRKS)
#define MODES_ALL (RDMAPIN_MODE_PIN | RDMAPIN_MODE_ODP)
#define QUIRKS_ALL RDMAPIN_QUIRK_RXE_ODP_OFFSET

static bool file_form(const struct rdmapin_mr_init_attr *a)
{
	return (a->comp_mask & RDMAPIN_MR_INIT_ATTR_FD) && !a->addr;
}

static int check_break(const struct rdmapin_mr_init_attr *a)
{
	unsigned int limit_ms = rdmapin_host()->lease_break_time * 500;

	if (!(a->comp_mask & RDMAPIN_MR_INIT_ATTR_BREAK))
		return 0;
	if (a->break_policy > RDMAPIN_BREAK_GRACE)
		return rdmapin_fail(EINVAL, "unknown break_policy %d", a->break_policy);
	if (a->break_policy == RDMAPIN_BREAK_GRACE && (!a->grace_ms || a->grace_ms > limit_ms))
		return rdmapin_fail(EINVAL, "grace_ms %u must be between 1 and %u: half of "
				    "fs.lease-break-time, after which the kernel breaks the lease "
				    "by force", a->grace_ms, limit_ms);
	return 0;
}

static int check_attr(struct ibv_pd *pd, const struct rdmapin_mr_init_attr *a)
{
	if (!pd)
		return rdmapin_fail(EINVAL, "pd is NULL; allocate one with ibv_alloc_pd()");
	if (!a)
		return rdmapin_fail(EINVAL, "attr is NULL; pass a struct rdmapin_mr_init_attr");
	if (a->comp_mask & ~INIT_ATTR_KNOWN)
		return rdmapin_fail(EINVAL, "comp_mask 0x%x has bits this librdmapin does not know "
				    "(it knows 0x%x)", a->comp_mask, INIT_ATTR_KNOWN);
	if (!a->length)
		return rdmapin_fail(EINVAL, "length is 0; register at least one byte");
	if (!a->addr && !file_form(a))
		return rdmapin_fail(EINVAL, "addr is NULL; pass the memory to register, or an "
				    "open file (rdmapin_reg_file_mr())");
	if ((a->comp_mask & RDMAPIN_MR_INIT_ATTR_MODES) && (a->modes & ~MODES_ALL))
		return rdmapin_fail(EINVAL, "modes 0x%x: only RDMAPIN_MODE_PIN and "
				    "RDMAPIN_MODE_ODP exist", a->modes);
	if ((a->access & IBV_ACCESS_ON_DEMAND) && (a->comp_mask & RDMAPIN_MR_INIT_ATTR_MODES) &&
	    a->modes && !(a->modes & RDMAPIN_MODE_ODP))
		return rdmapin_fail(EINVAL, "IBV_ACCESS_ON_DEMAND asks for On-Demand Paging but "
				    "modes allows only RDMAPIN_MODE_PIN; drop one of them");
	if ((a->comp_mask & RDMAPIN_MR_INIT_ATTR_LEASE) && a->lease > RDMAPIN_LEASE_NONE)
		return rdmapin_fail(EINVAL, "unknown lease policy %d", a->lease);
	if ((a->comp_mask & RDMAPIN_MR_INIT_ATTR_QUIRKS) && (a->allow_quirks & ~QUIRKS_ALL))
		return rdmapin_fail(EINVAL, "allow_quirks 0x%x: only RDMAPIN_QUIRK_RXE_ODP_OFFSET "
				    "exists", a->allow_quirks);
	return check_break(a);
}

/*
 * The caller's attr, as large as its comp_mask says: a program built
 * against version 1.0 passes a struct that ends before allow_quirks.
 */
static void copy_attr(struct rdmapin_mr_init_attr *dst, const struct rdmapin_mr_init_attr *src)
{
	size_t size = src->comp_mask & RDMAPIN_MR_INIT_ATTR_QUIRKS ?
			      sizeof(*src) :
			      offsetof(struct rdmapin_mr_init_attr, allow_quirks);

	memset(dst, 0, sizeof(*dst));
	memcpy(dst, src, size);
}

/* Fills the attributes that the caller left out, once; RDMAPIN_ALLOW_QUIRKS adds to its own. */
static int apply_defaults(struct rdmapin_mr_init_attr *a)
{
	uint32_t env_quirks;

	if (!(a->comp_mask & RDMAPIN_MR_INIT_ATTR_MODES) || !a->modes)
		a->modes = MODES_ALL;
	/* As ibv_reg_mr(): IBV_ACCESS_ON_DEMAND asks for On-Demand Paging. */
	if (a->access & IBV_ACCESS_ON_DEMAND)
		a->modes &= RDMAPIN_MODE_ODP;
	a->access &= ~IBV_ACCESS_ON_DEMAND;
	if (!(a->comp_mask & RDMAPIN_MR_INIT_ATTR_FD))
		a->fd = -1;
	if (!(a->comp_mask & RDMAPIN_MR_INIT_ATTR_LEASE))
		a->lease = RDMAPIN_LEASE_DEFAULT;
	if (!(a->comp_mask & RDMAPIN_MR_INIT_ATTR_BREAK)) {
		a->break_policy = RDMAPIN_BREAK_REVOKE;
		a->grace_ms = 0;
		a->break_cb = NULL;
		a->break_ctx = NULL;
	}
	if (!(a->comp_mask & RDMAPIN_MR_INIT_ATTR_IOVA))
		a->iova = 0;
	if (rdmapin_quirks_from_env(&env_quirks))
		return -1;
	a->allow_quirks |= env_quirks;
	return 0;
}

/*
 * The file form maps the file itself: MAP_SYNC on DAX files, so that what
 * the NIC writes is durable once it is visible, as for device-DAX.
 */
static int map_file(struct rdmapin_mr *mr)
{
	struct rdmapin_mr_init_attr *a = &mr->attr;
	struct rdmapin_backing_info *b = &mr->backing;
	bool writable = rdmapin_access_writable(a->access);
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	int flags = MAP_SHARED;
	uint64_t page = sysconf(_SC_PAGESIZE);
	void *p;

	if (rdmapin_backing_of_fd(a->fd, b))
		return -1;
	if (a->offset > INT64_MAX || a->offset % page)
		return rdmapin_fail(EINVAL, "%s: offset %" PRIu64 " is not a multiple of the page "
				    "size (%" PRIu64 ") within a file's reach", b->path, a->offset,
				    page);
	if (rdmapin_provider_get(b->kind)->map_sync && writable)
		flags = MAP_SHARED_VALIDATE | MAP_SYNC;
	p = mmap(NULL, a->length, prot, flags, a->fd, a->offset);
	if (p == MAP_FAILED)
		return rdmapin_fail(errno, "%s: cannot map %zu bytes at offset %" PRIu64 ": %s%s",
				    b->path, a->length, a->offset, strerrordesc_np(errno),
				    errno == EACCES ? " (write access needs a file opened O_RDWR)"
						    : "");
	mr->own_map = p;
	mr->own_map_len = a->length;
	a->addr = p;
	return 0;
}

static const char *what(const struct rdmapin_mr *mr)
{
	return mr->backing.path[0] ? mr->backing.path : rdmapin_backing_str(mr->backing.kind);
}

/*
 * A kernel rule over every backing: before Linux 6.2 the kernel pins a
 * read-only registration as a forced write, which a shared mapping without
 * PROT_WRITE refuses with EFAULT.
 */
static void forced_write_rule(struct rdmapin_mr *mr)
{
	struct rdmapin_policy *p = &mr->policy;

	if (!p->pin_allowed || !mr->backing.shared || mr->backing.writable ||
	    !rdmapin_host_forces_ro_pins())
		return;
	p->pin_allowed = false;
	p->pin_errno = EFAULT;
	snprintf(p->refusal, sizeof(p->refusal), "Linux %s pins even read-only registrations "
		 "as forced writes (before 6.2), which a shared mapping without PROT_WRITE "
		 "refuses; map it PROT_READ|PROT_WRITE (from an fd open O_RDWR)",
		 rdmapin_host()->kernel_release);
}

/* Classifies the range and asks its provider what the backing allows here. */
static int classify(struct rdmapin_mr *mr)
{
	const struct rdmapin_range range = {
		.backing = &mr->backing,
		.start = (uintptr_t)mr->attr.addr,
		.length = mr->attr.length,
		.writable = rdmapin_access_writable(mr->attr.access),
	};
	struct rdmapin_host_facts host = {
		.refuses_file_pins = rdmapin_host_refuses_file_pins(),
	};
	int err;

	if (file_form(&mr->attr) && map_file(mr))
		return -1;
	if (rdmapin_backing_classify(mr->attr.addr, mr->attr.length, mr->attr.fd, &mr->backing))
		return -1;
	err = rdmapin_provider_get(mr->backing.kind)->policy(&range, &host, &mr->policy);
	if (err)
		return rdmapin_fail(err, "%s: %s", what(mr), mr->policy.refusal);
	forced_write_rule(mr);
	return 0;
}

/* odp_lack: NULL if the device has the ODP needed, else what it lacks ("" for all of it). */
static int refuse(struct rdmapin_mr *mr, const char *odp_lack)
{
	const char *dev = ibv_get_device_name(mr->pd->context->device);
	const struct rdmapin_policy *p = &mr->policy;

	if (!(mr->attr.modes & RDMAPIN_MODE_PIN) && p->pin_allowed)
		/* The caller asked for ODP only; the kernel answers EINVAL for that. */
		return rdmapin_fail(EINVAL, "%s: %s has no On-Demand Paging for RC%s (asked for "
				    "by IBV_ACCESS_ON_DEMAND or modes); allow RDMAPIN_MODE_PIN",
				    what(mr), dev, odp_lack);
	if (!odp_lack)
		return rdmapin_fail(p->pin_errno, "%s: %s, and the caller allowed only "
				    "long-term pinning; allow RDMAPIN_MODE_ODP (%s has On-Demand "
				    "Paging)", what(mr), p->refusal, dev);
	return rdmapin_fail(p->pin_errno, "%s: %s, and %s has no On-Demand Paging for RC%s; "
			    "use device-DAX (/dev/daxX.Y) or anonymous/memfd memory, or an "
			    "ODP-capable device", what(mr), p->refusal, dev, odp_lack);
}

/* ODP, unless the device corrupts data there and the caller did not accept that. */
static int choose_odp(struct rdmapin_mr *mr, uint32_t device_quirks)
{
	uint32_t q = rdmapin_quirks_of_mode(device_quirks, RDMAPIN_MODE_ODP);

	if (q & ~mr->attr.allow_quirks)
		return rdmapin_quirk_refuse(q & ~mr->attr.allow_quirks, what(mr),
					    ibv_get_device_name(mr->pd->context->device));
	mr->mode = RDMAPIN_MODE_ODP;
	mr->quirks = q;
	return 0;
}

/*
 * Long-term pin where the backing allows it, else On-Demand Paging, else a
 * refusal. A pin comes first, so an ODP quirk matters only where none is allowed.
 */
static int choose_mode(struct rdmapin_mr *mr)
{
	struct rdmapin_device_caps caps;
	const char *odp_lack = NULL;

	if ((mr->attr.modes & RDMAPIN_MODE_PIN) && mr->policy.pin_allowed) {
		mr->mode = RDMAPIN_MODE_PIN;
		return 0;
	}
	if (rdmapin_device_caps(mr->pd->context, &caps))
		return -1;
	if (!(caps.flags & RDMAPIN_DEVICE_RC_ODP))
		odp_lack = "";
	else if ((mr->attr.access & IBV_ACCESS_REMOTE_ATOMIC) &&
		 !(caps.flags & RDMAPIN_DEVICE_RC_ODP_ATOMIC))
		odp_lack = " atomics, which the access flags ask for";
	if ((mr->attr.modes & RDMAPIN_MODE_ODP) && !odp_lack)
		return choose_odp(mr, caps.quirks);
	return refuse(mr, odp_lack);
}

static int check_lease_policy(const struct rdmapin_mr *mr, enum rdmapin_lease_policy policy)
{
	if (policy == RDMAPIN_LEASE_NONE && mr->policy.lease_default == RDMAPIN_LEASE_REQUIRE)
		return rdmapin_fail(EINVAL, "%s: %s files are always leased or guarded, or a "
				    "truncate could free storage the NIC still writes; drop "
				    "RDMAPIN_LEASE_NONE", what(mr),
				    rdmapin_backing_str(mr->backing.kind));
	if (policy == RDMAPIN_LEASE_REQUIRE && !mr->policy.leasable)
		return rdmapin_fail(EINVAL, "%s: only shared mappings of regular files can be "
				    "leased; drop RDMAPIN_LEASE_REQUIRE", what(mr));
	return 0;
}

/* @guard_why: why the file is not guarded, for a refusal; NULL if guarding was not tried. */
static int take_lease(struct rdmapin_mr *mr, enum rdmapin_lease_policy policy,
		      const char *guard_why)
{
	char lease_why[512];
	int ret, err;

	if (policy == RDMAPIN_LEASE_NONE)
		return 0;
	err = errno;
	ret = rdmapin_lease_attach(mr);
	if (ret && policy == RDMAPIN_LEASE_REQUIRE && guard_why) {
		snprintf(lease_why, sizeof(lease_why), "%s", rdmapin_error_msg());
		return rdmapin_fail(errno, "%s; and %s", lease_why, guard_why);
	}
	if (ret && policy == RDMAPIN_LEASE_REQUIRE)
		return -1;
	/* Without a lease where one was only wanted: registration goes on. */
	errno = err;
	return 0;
}

/*
 * Keeps the file whole while it is registered: the truncate guard where it
 * can be had, since a truncate then fails instead of revoking the MR, unless
 * the caller asked for a lease by name; a lease otherwise. Guard and lease do
 * not mix: the kernel breaks leases before it asks the guard, so a truncate
 * would revoke the MR and then fail all the same.
 */
static int protect_file(struct rdmapin_mr *mr)
{
	enum rdmapin_lease_policy policy = mr->attr.lease ?: mr->policy.lease_default;
	char guard_why[512];
	int err = errno, ret;

	if (check_lease_policy(mr, policy))
		return -1;
	if (!mr->policy.leasable)
		return 0;
	/* A file leased already keeps its lease for later MRs: guard and lease never mix. */
	ret = policy != RDMAPIN_LEASE_NONE ? rdmapin_lease_attach_existing(mr) : 0;
	if (ret)
		return ret < 0 ? -1 : 0;
	if (mr->attr.lease == RDMAPIN_LEASE_REQUIRE)
		return take_lease(mr, policy, NULL);
	/*
	 * A pin whose pages leave the file must not lose writes silently, guarded
	 * or not: the guard can be unloaded, and does not cover everything. A
	 * guarded one registers without the watch if that cannot be had (the
	 * library's thread cannot start; its message stays).
	 */
	if (!rdmapin_guard_mr(mr)) {
		if (rdmapin_lease_watch_unleased(mr))
			errno = err;
		return 0;
	}
	rdmapin_strscpy(guard_why, rdmapin_error_msg(), sizeof(guard_why));
	/* A guard that could not be had is no failure of the caller's: errno stays. */
	errno = err;
	ret = take_lease(mr, policy, guard_why);
	if (!ret && !mr->lease)
		ret = rdmapin_lease_watch_unleased(mr);
	return ret;
}

/*
 * Write-faults the range, for backings whose pins must land on private
 * copies that the kernel will not make during the pin itself (fsdax.c).
 */
static int populate_copies(const struct rdmapin_mr *mr)
{
	uintptr_t page = sysconf(_SC_PAGESIZE);
	uintptr_t start = (uintptr_t)mr->attr.addr & ~(page - 1);
	uintptr_t end = ((uintptr_t)mr->attr.addr + mr->attr.length + page - 1) & ~(page - 1);

	if (madvise((void *)start, end - start, MADV_POPULATE_WRITE))
		return rdmapin_fail(errno, "%s: cannot make private copies of the pages to pin "
				    "(MADV_POPULATE_WRITE: %s); write every page first", what(mr),
				    strerrordesc_np(errno));
	return 0;
}

/* NULL with the failing step's own message: the copies', or the verbs'. */
static struct ibv_mr *reg_verbs(const struct rdmapin_mr *mr, int access)
{
	const struct rdmapin_mr_init_attr *a = &mr->attr;
	struct ibv_mr *ibmr;

	if (mr->mode == RDMAPIN_MODE_PIN && mr->policy.populate_for_pin && populate_copies(mr))
		return NULL;
	if (a->comp_mask & RDMAPIN_MR_INIT_ATTR_IOVA)
		ibmr = ibv_reg_mr_iova(mr->pd, a->addr, a->length, a->iova, access);
	else
		ibmr = ibv_reg_mr(mr->pd, a->addr, a->length, access);
	if (!ibmr)
		rdmapin_fail(errno, "%s: ibv_reg_mr (%s) on %s failed: %s", what(mr),
			     mr->mode == RDMAPIN_MODE_ODP ? "On-Demand Paging" : "pinned",
			     ibv_get_device_name(mr->pd->context->device), strerrordesc_np(errno));
	return ibmr;
}

/*
 * A revoked MR's struct ibv_mr was freed by ibv_dereg_mr(), but the caller
 * holds its address until rdmapin_dereg_mr(). Should the allocator hand that
 * address to a new MR, the new MR is kept aside (freed with the revoked
 * record) and the range registered again: one address, one registration.
 * Returns with the lock held on success.
 */
static struct ibv_mr *reg_unique(struct rdmapin_mr *mr, int access)
{
	struct rdmapin_mr *old;
	struct ibv_mr *ibmr;

	for (;;) {
		ibmr = reg_verbs(mr, access);
		if (!ibmr)
			return NULL;
		rdmapin_lock();
		old = rdmapin_mr_table_find(ibmr);
		if (!old)
			return ibmr;
		old->tombstone = ibmr;
		rdmapin_unlock();
	}
}

/* Longer paths end in "..." (readers match files by dev and inode anyway). */
static void copy_path(char *dst, size_t size, const char *src)
{
	size_t len = strnlen(src, size);

	if (len < size) {
		memcpy(dst, src, len + 1);
		return;
	}
	memcpy(dst, src, size - 4);
	memcpy(dst + size - 4, "...", 4);
}

/* What the pin registry publishes of mr. */
static void mr_pin(const struct rdmapin_mr *mr, struct rdmapin_registry_pin *v)
{
	struct timespec now;

	/* The path ends at its NUL: the registry copies no further. */
	memset(v, 0, offsetof(struct rdmapin_registry_pin, path));
	/*
	 * pinls prints seconds. The coarse clock is the vDSO's whatever the
	 * clocksource; a fine one is a system call per registration where the
	 * clocksource has no vDSO reader (HPET, say, in an emulated guest that
	 * found its TSC unstable).
	 */
	clock_gettime(CLOCK_REALTIME_COARSE, &now);
	v->state = mr->revoked ? RDMAPIN_PIN_REVOKED : RDMAPIN_PIN_ACTIVE;
	v->backing = mr->backing.kind;
	v->mode = mr->mode;
	v->lease = rdmapin_lease_kind(mr->lease);
	v->guard = mr->guard;
	v->quirks = mr->quirks;
	v->lkey = mr->ibmr->lkey;
	v->rkey = mr->ibmr->rkey;
	v->dev = mr->backing.dev;
	v->ino = mr->backing.ino;
	v->offset = mr->backing.offset;
	v->length = mr->attr.length;
	v->addr = (uintptr_t)mr->attr.addr;
	v->registered_ns = mr->registered_ns ?: now.tv_sec * 1000000000ll + now.tv_nsec;
	copy_path(v->device, sizeof(v->device), ibv_get_device_name(mr->pd->context->device));
	copy_path(v->path, sizeof(v->path), mr->backing.path);
}

static int do_register(struct rdmapin_mr *mr)
{
	struct rdmapin_registry_pin pin;
	int access = mr->attr.access | (mr->mode == RDMAPIN_MODE_ODP ? IBV_ACCESS_ON_DEMAND : 0);
	struct ibv_mr *ibmr;

	rdmapin_registry_open();
	ibmr = reg_unique(mr, access);
	if (!ibmr)
		return -1;
	if (mr->revoked) {
		rdmapin_unlock();
		ibv_dereg_mr(ibmr);
		return rdmapin_fail(EAGAIN, "%s: another process opened or truncated the file "
				    "while it was being registered; register again once it is done",
				    what(mr));
	}
	mr->ibmr = ibmr;
	rdmapin_mr_table_add(mr);
	rdmapin_file_cache_hold(&mr->backing);
	mr_pin(mr, &pin);
	mr->registered_ns = pin.registered_ns;
	mr->registry_slot = rdmapin_registry_add(&pin);
	rdmapin_unlock();
	return 0;
}

/*
 * Under the lock: drops @mr from its lease; true when that leaves a lease
 * to release before returning (the last MR over its file, or a revoked one,
 * whose broken lease is waited for).
 */
static bool leave_lease(struct rdmapin_mr *mr)
{
	return rdmapin_lease_detach(mr) || mr->revoked;
}

/*
 * Deregistration of a file's last MR returns with its lease released; others
 * have none to release, and skip the lock and the look at every lease.
 */
static void mr_free(struct rdmapin_mr *mr, bool release)
{
	if (release)
		rdmapin_lease_release_idle();
	rdmapin_unguard_mr(mr);
	if (mr->own_map)
		munmap(mr->own_map, mr->own_map_len);
	/* One record is kept for the next registration. */
	free(__atomic_exchange_n(&rdmapin_lib.spare_mr, mr, __ATOMIC_ACQ_REL));
}

/*
 * Zeroed but for the path's bytes after its NUL: under emulation, clearing
 * PATH_MAX bytes cost more than the rest of an anonymous registration. A
 * record of 4.5 KiB is past malloc's fast bins, so the last one freed is
 * taken again when there is one: malloc and free of it were a quarter of an
 * anonymous registration's instructions.
 */
static struct rdmapin_mr *mr_alloc(void)
{
	struct rdmapin_mr *mr = __atomic_exchange_n(&rdmapin_lib.spare_mr, NULL, __ATOMIC_ACQ_REL);

	if (!mr)
		mr = malloc(sizeof(*mr));
	if (!mr) {
		rdmapin_fail(ENOMEM, "out of memory for a registration record");
		return NULL;
	}
	memset(mr, 0, offsetof(struct rdmapin_mr, backing.path));
	mr->backing.path[0] = '\0';
	return mr;
}

/* @classified: whether the range was classified, before a failure. */
static struct ibv_mr *reg_once(struct ibv_pd *pd, const struct rdmapin_mr_init_attr *attr,
			       bool *classified)
{
	struct rdmapin_mr *mr;
	bool release;
	int err;

	mr = mr_alloc();
	if (!mr)
		return NULL;
	mr->pd = pd;
	copy_attr(&mr->attr, attr);
	*classified = false;
	if (apply_defaults(&mr->attr) || classify(mr))
		goto fail;
	*classified = true;
	if (choose_mode(mr) || protect_file(mr) || do_register(mr))
		goto fail;
	return mr->ibmr;
fail:
	err = errno;
	rdmapin_lock();
	release = leave_lease(mr);
	rdmapin_unlock();
	mr_free(mr, release);
	errno = err;
	return NULL;
}

/*
 * A file mapped where the application had replaced the library's maps fd by
 * another process's may be taken for memory or another file, and the kernel
 * refuses its pin (vma.h): checked only then, and tried again.
 */
struct ibv_mr *rdmapin_reg_mr_ex(struct ibv_pd *pd, const struct rdmapin_mr_init_attr *attr)
{
	struct ibv_mr *ibmr;
	bool classified;

	if (check_attr(pd, attr))
		return NULL;
	ibmr = reg_once(pd, attr, &classified);
	if (!ibmr && classified && rdmapin_vma_maps_replaced())
		ibmr = reg_once(pd, attr, &classified);
	return ibmr;
}

struct ibv_mr *rdmapin_reg_mr(struct ibv_pd *pd, void *addr, size_t length, int access)
{
	struct rdmapin_mr_init_attr attr = { .addr = addr, .length = length, .access = access };

	return rdmapin_reg_mr_ex(pd, &attr);
}

struct ibv_mr *rdmapin_reg_mr_iova(struct ibv_pd *pd, void *addr, size_t length, uint64_t iova,
				   int access)
{
	struct rdmapin_mr_init_attr attr = {
		.comp_mask = RDMAPIN_MR_INIT_ATTR_IOVA,
		.addr = addr,
		.length = length,
		.iova = iova,
		.access = access,
	};

	return rdmapin_reg_mr_ex(pd, &attr);
}

struct ibv_mr *rdmapin_reg_file_mr(struct ibv_pd *pd, int fd, uint64_t offset, size_t length,
				   int access)
{
	struct rdmapin_mr_init_attr attr = {
		.comp_mask = RDMAPIN_MR_INIT_ATTR_FD,
		.fd = fd,
		.offset = offset,
		.length = length,
		.access = access,
	};

	return rdmapin_reg_mr_ex(pd, &attr);
}

/*
 * Returns 0 or an errno value, as ibv_dereg_mr(); errno is set too. The MR
 * leaves the device and its lease first, so no break can post events for it
 * while we wait for the acks of those already handed out.
 */
int rdmapin_dereg_mr(struct ibv_mr *ibmr)
{
	struct rdmapin_mr *mr;
	bool release;
	int ret = 0;

	rdmapin_lock();
	mr = ibmr ? rdmapin_mr_table_find(ibmr) : NULL;
	if (!mr || mr->deregistering) {
		rdmapin_unlock();
		rdmapin_fail(EINVAL, "%p is not an MR that librdmapin registered in this process, "
			     "or it was deregistered already (MRs do not survive fork)", ibmr);
		return EINVAL;
	}
	if (!mr->revoked)
		ret = ibv_dereg_mr(ibmr);
	if (ret) {
		rdmapin_unlock();
		rdmapin_fail(ret, "%s: ibv_dereg_mr failed: %s; the MR stays registered", what(mr),
			     strerrordesc_np(ret));
		return ret;
	}
	mr->deregistering = true;
	rdmapin_registry_del(mr->registry_slot);
	rdmapin_file_cache_release(&mr->backing);
	release = leave_lease(mr);
	rdmapin_event_forget_mr(mr);
	if (mr->tombstone)
		ibv_dereg_mr(mr->tombstone);
	rdmapin_mr_table_del(mr);
	rdmapin_unlock();
	mr_free(mr, release);
	return 0;
}

/* Flags that ask the kernel: without the lock, from the fields copied under it. */
static uint32_t mr_flags(const struct rdmapin_mr_attr *attr, uintptr_t addr)
{
	int err = errno;
	bool deleted;

	/* memfd, SysV shm and the like are always named "(deleted)": only files count. */
	if (attr->backing != RDMAPIN_BACKING_PAGECACHE && attr->backing != RDMAPIN_BACKING_FSDAX)
		return 0;
	deleted = rdmapin_proc_map_deleted(0, addr, attr->dev, attr->ino);
	errno = err;
	return deleted ? RDMAPIN_MR_ATTR_FILE_DELETED : 0;
}

int rdmapin_query_mr(struct ibv_mr *ibmr, struct rdmapin_mr_attr *attr)
{
	struct rdmapin_mr *mr;
	uintptr_t addr = 0;

	if (!attr)
		return rdmapin_fail(EINVAL, "rdmapin_query_mr: attr is NULL");
	rdmapin_lock();
	mr = ibmr ? rdmapin_mr_table_find(ibmr) : NULL;
	if (mr) {
		/* Version 1.0's fields, and only the extensions the caller knows. */
		attr->comp_mask &= RDMAPIN_MR_ATTR_QUIRKS | RDMAPIN_MR_ATTR_FLAGS;
		if (attr->comp_mask & RDMAPIN_MR_ATTR_QUIRKS)
			attr->quirks = mr->quirks;
		attr->backing = mr->backing.kind;
		attr->mode = mr->mode;
		attr->lease = rdmapin_lease_kind(mr->lease);
		attr->guard = mr->guard;
		attr->revoked = mr->revoked;
		attr->dev = mr->backing.dev;
		attr->ino = mr->backing.ino;
		attr->offset = mr->backing.offset;
		attr->path = mr->backing.path;
		snprintf(attr->device, sizeof(attr->device), "%s",
			 ibv_get_device_name(mr->pd->context->device));
		addr = (uintptr_t)mr->attr.addr;
	}
	rdmapin_unlock();
	if (!mr)
		return rdmapin_fail(EINVAL, "%p is not an MR that librdmapin registered in this "
				    "process", ibmr);
	if (attr->comp_mask & RDMAPIN_MR_ATTR_FLAGS)
		attr->flags = mr_flags(attr, addr);
	return 0;
}
