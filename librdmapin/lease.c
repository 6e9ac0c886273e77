// SPDX-License-Identifier: MIT
/* Layout leases over registered files and their revocation: see lease.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app_fd.h"
#include "async_event.h"
#include "break_thread.h"
#include "error.h"
#include "host_caps.h"
#include "lease.h"
#include "lib.h"
#include "own_fd.h"
#include "registration.h"
#include "registry.h"
#include "revoker.h"
#include "str.h"

/* The 2019 RFC's lease flag (see host_caps.c). */
#define RDMAPIN_F_LAYOUT 16
#define PIN_SWEEP_NS 1000000000ull

struct rdmapin_lease {
	dev_t dev;
	ino_t ino;
	int fd;				/* the leased file, in the thread's table; -1: no lease */
	int wd;				/* its inotify watch (break_thread.h), or -1 */
	enum rdmapin_lease_kind kind;
	struct rdmapin_mr *mrs;		/* live MRs it guards, via mr->lease_next */
	bool break_seen;		/* the keeper read its break signal */
	bool broken;			/* the revoker took the break; MRs are being revoked */
	bool changed;			/* the file changed: are its pinned pages still its own? */
	bool stale; /* attributes or links changed (deleted?): not kept */
	unsigned long idle_since; /* when it was left without MRs, in idle records */
	struct rdmapin_lease *next;
};

enum rdmapin_lease_kind rdmapin_lease_kind(const struct rdmapin_lease *lease)
{
	return lease ? lease->kind : RDMAPIN_LEASE_KIND_NONE;
}

static struct rdmapin_lease *lease_by_file(dev_t dev, ino_t ino)
{
	struct rdmapin_lease *l;

	for (l = rdmapin_lib.leases; l; l = l->next)
		if (l->dev == dev && l->ino == ino && l->fd >= 0 && !l->broken && !l->break_seen)
			return l;
	return NULL;
}

/* The record that watches @dev/@ino for pins that hold no lease (guarded, or neither). */
static struct rdmapin_lease *watch_by_file(dev_t dev, ino_t ino)
{
	struct rdmapin_lease *l;

	for (l = rdmapin_lib.leases; l; l = l->next)
		if (l->dev == dev && l->ino == ino && l->fd < 0)
			return l;
	return NULL;
}

/* Long-term pins of page-cache pages: the NIC keeps them when the file lets them go. */
static bool pins_page_cache(const struct rdmapin_mr *mr)
{
	return mr->mode == RDMAPIN_MODE_PIN && mr->backing.shared &&
	       mr->backing.kind == RDMAPIN_BACKING_PAGECACHE;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * Some changes raise no inotify event (FIDEDUPERANGE; a kernel thread's
 * fallocate): while page-cache pages are pinned, the revoker also looks at
 * them every PIN_SWEEP_NS. Under the lock.
 */
static void arm_sweep(uint64_t now)
{
	if (rdmapin_lib.pin_sweep_ns <= now)
		rdmapin_lib.pin_sweep_ns = now + PIN_SWEEP_NS;
	rdmapin_revoker_arm(rdmapin_lib.pin_sweep_ns);
}

/*
 * A record that shares @l's watch, other than @l: a broken lease and its
 * successor on the same file do, and so do a file's lease and its record for
 * pins without one (an inode has one watch).
 */
static struct rdmapin_lease *wd_user(const struct rdmapin_lease *l)
{
	struct rdmapin_lease *o;

	for (o = rdmapin_lib.leases; l->wd >= 0 && o; o = o->next)
		if (o != l && o->wd == l->wd)
			return o;
	return NULL;
}

static void attach(struct rdmapin_lease *lease, struct rdmapin_mr *mr)
{
	mr->lease = lease;
	mr->lease_next = lease->mrs;
	lease->mrs = mr;
	if (pins_page_cache(mr))
		arm_sweep(now_ns());
}

/*
 * Idle records: a file's record left without MRs keeps its watch for the
 * file's next registration, as a record with no lease (fd -1), which a pin
 * without a lease joins from any thread (join_watched()) and a new lease takes
 * the watch of (take_idle()). Adding a watch walks /proc/thread-self/fd/N, and
 * removing one wakes the keeper again with IN_IGNORED: together ~0.6 ms of a
 * 4 ms first MR on 6.1 in a TCG guest; and a pin without a lease then needs
 * no trip to the keeper at all. A watch holds its inode: so an idle record
 * goes at its file's first change (IN_MODIFY, and IN_ATTRIB, which its
 * deletion raises too), with its filesystem (IN_IGNORED), beyond
 * RDMAPIN_IDLE_WATCHES (the oldest first), and before a new watch would fail
 * for the lack of room. One whose file changed its links or attributes
 * while registered, or had none when first watched, is not kept.
 */
static bool kept_idle(const struct rdmapin_lease *l)
{
	return !l->mrs && l->fd < 0 && l->wd >= 0 && !l->stale;
}

/* Under the lock, @l out of the list: its watch goes unless another record shares it. */
static void drop_record(struct rdmapin_lease *l, bool unwatch)
{
	if (unwatch && l->wd >= 0 && !wd_user(l))
		rdmapin_break_thread_unwatch(l->wd);
	free(l);
}

/*
 * On the thread, under the lock: drops the idle records with watch @wd (-1:
 * any watch). One with none waits for release_idle(): the thread may hold it
 * across an unlocked watch_file() (watch_new_on_thread()).
 */
static bool drop_idle(int wd, bool unwatch)
{
	struct rdmapin_lease **p = &rdmapin_lib.leases, *l;
	bool any = false;

	while ((l = *p)) {
		if (l->mrs || l->fd >= 0 || l->wd < 0 || (wd >= 0 && l->wd != wd)) {
			p = &l->next;
			continue;
		}
		*p = l->next;
		drop_record(l, unwatch);
		any = true;
	}
	return any;
}

/* On the thread, under the lock: the oldest idle records past RDMAPIN_IDLE_WATCHES go. */
static void trim_idle(void)
{
	struct rdmapin_lease **p, **oldest, *l;
	unsigned int n;

	for (;;) {
		oldest = NULL;
		n = 0;
		for (p = &rdmapin_lib.leases; (l = *p); p = &l->next) {
			if (!kept_idle(l))
				continue;
			n++;
			if (!oldest || l->idle_since < (*oldest)->idle_since)
				oldest = p;
		}
		if (n <= RDMAPIN_IDLE_WATCHES)
			return;
		l = *oldest;
		*oldest = l->next;
		drop_record(l, true);
	}
}

/*
 * A lease's watch is kept unless its file was deleted, whose inode the watch
 * would keep from being freed, or the lease broke: its truncate or writer
 * would wake the keeper to drop it.
 */
static bool keeps_watch(const struct rdmapin_lease *l)
{
	struct stat st;

	return l->wd >= 0 && !l->break_seen && !l->stale && !wd_user(l) &&
	       !rdmapin_fstat(l->fd, &st) && st.st_nlink;
}

/*
 * On the thread, under the lock: releases the leases left without MRs. Their
 * fds are the thread's, so other threads only ask for this (detach). A lease
 * still waiting here serves a new MR over its file again.
 */
static void release_idle(void)
{
	struct rdmapin_lease **p = &rdmapin_lib.leases, *l;

	while ((l = *p)) {
		if (l->mrs || kept_idle(l)) {
			p = &l->next;
			continue;
		}
		if (l->fd >= 0) {
			/* First: a broken lease's opener or truncater waits for this alone. */
			fcntl(l->fd, F_SETLEASE, F_UNLCK);
			if (keeps_watch(l)) {
				/* An idle record now (unbroken, so never revoking). */
				close(l->fd);
				l->fd = -1;
				l->kind = RDMAPIN_LEASE_KIND_NONE;
				p = &l->next;
				continue;
			}
			close(l->fd);
		}
		*p = l->next;
		drop_record(l, true);
	}
	trim_idle();
}

/* Whether release_idle() has work: a lease to release, or a record to drop. */
static bool any_idle(void)
{
	const struct rdmapin_lease *l;
	unsigned int kept = 0;

	for (l = rdmapin_lib.leases; l; l = l->next)
		if (!l->mrs && (!kept_idle(l) || ++kept > RDMAPIN_IDLE_WATCHES))
			return true;
	return false;
}

static int release_on_keeper(void *unused, int *fd)
{
	(void)unused;
	(void)fd;
	rdmapin_lock();
	release_idle();
	rdmapin_unlock();
	return 0;
}

void rdmapin_lease_release_idle(void)
{
	bool idle;

	rdmapin_lock();
	idle = any_idle();
	rdmapin_unlock();
	if (idle)
		rdmapin_break_thread_call(release_on_keeper, NULL, -1);
}

static void on_wake(void)
{
	release_idle();
	rdmapin_event_sync_fds();
}

bool rdmapin_lease_detach(struct rdmapin_mr *mr)
{
	struct rdmapin_lease *lease = mr->lease;
	struct rdmapin_mr **p;

	if (!lease)
		return false;
	for (p = &lease->mrs; *p; p = &(*p)->lease_next) {
		if (*p == mr) {
			*p = mr->lease_next;
			break;
		}
	}
	mr->lease = NULL;
	if (lease->mrs)
		return false;
	lease->idle_since = ++rdmapin_lib.idle_records;
	return true;
}

/*
 * The leases are the parent's, their fds in its thread's table, which a child
 * does not have: only the memory goes.
 */
void rdmapin_lease_forget_all(void)
{
	struct rdmapin_lease *l;

	while ((l = rdmapin_lib.leases)) {
		rdmapin_lib.leases = l->next;
		free(l);
	}
}

/*
 * The NIC must lose access before the lease goes: deregister first, and keep
 * the lease if that fails (the kernel then breaks it after lease-break-time).
 * The record stays, marked revoked, until the application deregisters it.
 * An MR still being registered has no ibv_mr yet: its registration sees
 * revoked and fails.
 */
static bool revoke_mr(struct rdmapin_mr *mr)
{
	if (mr->ibmr && ibv_dereg_mr(mr->ibmr))
		return false;
	mr->revoked = true;
	mr->grace_deadline_ns = 0;
	/* Its file's watch is not kept: the file changed, or another opened it. */
	mr->lease->stale = true;
	/* Published before the lease goes, so whoever broke it sees it revoked. */
	if (mr->ibmr) {
		rdmapin_registry_set_state(mr->registry_slot, RDMAPIN_PIN_REVOKED);
		rdmapin_event_post(RDMAPIN_EVENT_MR_REVOKED, mr);
	}
	rdmapin_lease_detach(mr);
	return true;
}

/* Revokes the MRs of the lease whose time has come; on_wake() releases it after. */
static void revoke_due(struct rdmapin_lease *lease, uint64_t now)
{
	struct rdmapin_mr *mr, *next;

	for (mr = lease->mrs; mr; mr = next) {
		next = mr->lease_next;
		if (mr->grace_deadline_ns <= now)
			revoke_mr(mr);
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
	bool pinned = false;

	for (l = rdmapin_lib.leases; l; l = l->next)
		for (mr = l->mrs; mr; mr = mr->lease_next) {
			if (mr->grace_deadline_ns && (!next || mr->grace_deadline_ns < next))
				next = mr->grace_deadline_ns;
			pinned |= pins_page_cache(mr);
		}
	if (next)
		rdmapin_revoker_arm(next);
	if (pinned)
		arm_sweep(now_ns());
}

/* Under the lock. */
static void lease_broken(struct rdmapin_lease *lease)
{
	uint64_t now = now_ns();

	if (lease->broken)
		return;
	lease->broken = true;
	start_grace(lease, now);
	revoke_due(lease, now);
}

/*
 * On the keeper, under the lock: a lease whose break is pending reads as the
 * type it is breaking to (F_GETLEASE), one the kernel dropped as F_UNLCK.
 */
static bool breaking(const struct rdmapin_lease *l)
{
	return l->fd >= 0 && fcntl(l->fd, F_GETLEASE) != F_WRLCK;
}

/*
 * On the keeper: the revoker deregisters, in the application's table. @fd -1
 * (a SIGIO, which names no file): every lease that is breaking.
 */
static void on_break_signal(int fd)
{
	struct rdmapin_lease *l;
	bool any = false;

	rdmapin_lock();
	for (l = rdmapin_lib.leases; l; l = l->next)
		if (fd < 0 ? !l->break_seen && breaking(l) : l->fd == fd)
			any = l->break_seen = true;
	rdmapin_unlock();
	if (any)
		rdmapin_revoker_wake();
}

/*
 * On the keeper. A lease does not break for what is done through an fd that
 * was open before it (an inherited one, or the owner's own): ftruncate,
 * fallocate, MADV_REMOVE, a remap. Those change the file, and the revoker
 * looks whether the pinned pages left it. An idle record goes at the first
 * change.
 */
static void on_file_changed(int wd, bool attrib)
{
	struct rdmapin_lease *l;
	bool any = false;

	rdmapin_lock();
	drop_idle(wd, true);
	for (l = rdmapin_lib.leases; l; l = l->next) {
		if (wd >= 0 && l->wd != wd)
			continue;
		any = l->changed = true;
		/* An overflow may have lost an IN_ATTRIB. */
		l->stale |= attrib || wd < 0;
	}
	if (any)
		rdmapin_revoker_wake();
	rdmapin_unlock();
}

/*
 * A watch went with its filesystem (or with its file, deleted and closed
 * everywhere: never a leased file's, which the keeper holds open).
 */
static void on_watch_gone(int wd)
{
	struct rdmapin_lease *l;

	rdmapin_lock();
	drop_idle(wd, false);
	for (l = rdmapin_lib.leases; l; l = l->next) {
		if (l->wd != wd)
			continue;
		l->wd = -1;
		l->stale = true;
	}
	rdmapin_unlock();
}

/*
 * Whether every page under the MR is still in the file's page cache: one
 * that was punched, truncated, collapsed, zeroed or remapped away is not,
 * until something faults it in anew. A range the application unmapped
 * cannot be looked at, and is taken as intact.
 */
static bool pages_in_file(const struct rdmapin_mr *mr)
{
	uintptr_t start = (uintptr_t)mr->ibmr->addr & ~(uintptr_t)4095;
	uintptr_t end = (uintptr_t)mr->ibmr->addr + mr->ibmr->length;
	unsigned char vec[1024];
	size_t n, i;

	for (; start < end; start += n * 4096) {
		n = (end - start + 4095) / 4096;
		if (n > sizeof(vec))
			n = sizeof(vec);
		if (mincore((void *)start, n * 4096, vec))
			return true;
		for (i = 0; i < n; i++)
			if (!(vec[i] & 1))
				return false;
	}
	return true;
}

static void check_pages(struct rdmapin_lease *lease)
{
	struct rdmapin_mr *mr, *next;

	lease->changed = false;
	for (mr = lease->mrs; mr; mr = next) {
		next = mr->lease_next;
		if (mr->ibmr && pins_page_cache(mr) && !pages_in_file(mr))
			revoke_mr(mr);
	}
}

/*
 * On the revoker, under the lock, which it drops right after: the keeper has
 * a lease to release or an event fd to bring in step, and is not about to.
 * Woken while the lock is held, it would only wait for it (on one CPU:
 * preempt, block, switch back).
 */
static bool keeper_owed(void)
{
	return !rdmapin_break_thread_waking() && (any_idle() || rdmapin_event_fds_stale());
}

static void kick_keeper_if_owed(void)
{
	bool owed;

	rdmapin_lock();
	owed = keeper_owed();
	rdmapin_unlock();
	if (owed)
		rdmapin_break_thread_kick();
}

/*
 * On the revoker: new breaks, changed files, and grace periods that ended.
 * The keeper releases the leases left without MRs as soon as the lock is
 * free, before the break callbacks run.
 */
static void revoke_work(void)
{
	struct rdmapin_lease *l;
	uint64_t now = now_ns();
	bool sweep, owed;

	rdmapin_lock();
	sweep = rdmapin_lib.pin_sweep_ns && rdmapin_lib.pin_sweep_ns <= now;
	for (l = rdmapin_lib.leases; l; l = l->next) {
		if (l->break_seen && !l->broken)
			lease_broken(l);
		else if (l->broken)
			revoke_due(l, now);
		else if (l->changed || sweep)
			check_pages(l);
	}
	arm_next_deadline();
	owed = keeper_owed();
	rdmapin_unlock();
	if (owed)
		rdmapin_break_thread_kick();
	if (rdmapin_event_run_callbacks())
		kick_keeper_if_owed();
}

static const struct rdmapin_break_handlers break_handlers = {
	.signal = on_break_signal,
	.wake = on_wake,
	.revoke = revoke_work,
	.changed = on_file_changed,
	.gone = on_watch_gone,
};

static __attribute__((constructor)) void init_break_handlers(void)
{
	rdmapin_break_thread_init(&break_handlers);
}

/*
 * The break signal goes to the library's thread, never to the application's.
 * F_UNLCK clears F_SETSIG (measured on 6.1, 7.2 and 6.18), so set it anew
 * before every lease.
 */
static int lease_set(int fd, enum rdmapin_lease_kind kind)
{
	struct f_owner_ex owner = { .type = F_OWNER_TID, .pid = rdmapin_break_thread_tid() };
	int arg = F_WRLCK | (kind == RDMAPIN_LEASE_KIND_NATIVE ? RDMAPIN_F_LAYOUT : 0);

	if (fcntl(fd, F_SETSIG, rdmapin_break_signal()) || fcntl(fd, F_SETOWN_EX, &owner))
		return -1;
	return fcntl(fd, F_SETLEASE, arg);
}

struct lease_take {
	enum rdmapin_lease_kind kind;
	struct rdmapin_mr *mr;
};

/*
 * Leases belong to the open file description: the thread takes it through a
 * copy in its own table, so the break signal names a descriptor that the
 * application cannot close or reuse. A description leased already is someone
 * else's lease (a parent's, shared across fork): re-owning it would let our
 * F_UNLCK release theirs.
 */
static int lease_take(const struct lease_take *t, int *sent_fd)
{
	const struct rdmapin_backing_info *b = &t->mr->backing;
	int fd = *sent_fd;

	if (fd < 0 || !rdmapin_fd_is_file(fd, b->dev, b->ino)) {
		errno = EBADF;
		return -1;
	}
	if (fcntl(fd, F_GETLEASE) != F_UNLCK) {
		errno = EBUSY;
		return -1;
	}
	if (lease_set(fd, t->kind))
		return -1;
	*sent_fd = -1;
	return fd;
}

/* On the thread, without the lock: whether an idle record of the file keeps a watch. */
static bool idle_of(dev_t dev, ino_t ino)
{
	const struct rdmapin_lease *l;
	bool found = false;

	rdmapin_lock();
	for (l = rdmapin_lib.leases; l && !found; l = l->next)
		found = kept_idle(l) && l->dev == dev && l->ino == ino;
	rdmapin_unlock();
	return found;
}

/*
 * On the thread, without the lock: the watch of the file's idle record, which
 * goes; -1 if none. The queued events are read first, so that a watch whose
 * file was deleted (or its filesystem unmounted) is not taken for a new file
 * on the same inode number.
 */
static int take_idle(dev_t dev, ino_t ino)
{
	struct rdmapin_lease **p, *l;
	int wd = -1;

	if (!idle_of(dev, ino))
		return -1;
	rdmapin_break_thread_read_changes();
	rdmapin_lock();
	for (p = &rdmapin_lib.leases; (l = *p); p = &l->next) {
		if (kept_idle(l) && l->dev == dev && l->ino == ino) {
			*p = l->next;
			wd = l->wd;
			free(l);
			break;
		}
	}
	rdmapin_unlock();
	return wd;
}

/* On the thread, without the lock: drops every idle record; whether there was any. */
static bool flush_idle(void)
{
	bool any;

	rdmapin_lock();
	any = drop_idle(-1, true);
	rdmapin_unlock();
	return any;
}

/*
 * On the thread, without the lock. Only a long-term pin of page-cache pages
 * loses data when the file changes through an fd open before the lease
 * (check_pages()): its lease is watched from the first such MR on, with the
 * watch kept from the file's last registration if there is one. Under ODP the
 * device faults the file's new pages, and a watch would cost two syscalls,
 * and a kworker to free it, per first MR.
 */
static int watch_file(const struct rdmapin_mr *mr, int fd)
{
	int wd = take_idle(mr->backing.dev, mr->backing.ino);

	if (wd < 0)
		wd = rdmapin_break_thread_watch(fd);
	/* Idle records never make a new watch fail for the lack of room. */
	if (wd < 0 && errno == ENOSPC && flush_idle())
		wd = rdmapin_break_thread_watch(fd);
	return wd;
}

/*
 * On the thread: no break can be read before this returns, so one that came
 * right after F_SETLEASE finds the lease inserted.
 */
static int lease_new_on_thread(void *ctx, int *fd)
{
	struct lease_take *t = ctx;
	struct rdmapin_lease *l = calloc(1, sizeof(*l));
	int err;

	if (!l)
		return rdmapin_fail(ENOMEM, "out of memory for a lease record");
	l->wd = -1;
	l->fd = lease_take(t, fd);
	if (l->fd >= 0 && pins_page_cache(t->mr))
		l->wd = watch_file(t->mr, l->fd);
	if (l->fd < 0 || (l->wd < 0 && pins_page_cache(t->mr))) {
		err = errno;
		if (l->fd >= 0) {
			fcntl(l->fd, F_SETLEASE, F_UNLCK);
			close(l->fd);
		}
		free(l);
		errno = err;
		return -1;
	}
	l->dev = t->mr->backing.dev;
	l->ino = t->mr->backing.ino;
	l->kind = t->kind;
	rdmapin_lock();
	l->next = rdmapin_lib.leases;
	rdmapin_lib.leases = l;
	attach(l, t->mr);
	rdmapin_unlock();
	return 0;
}

static int lease_take_own(int fd, void *ctx)
{
	return rdmapin_break_thread_call(lease_new_on_thread, ctx, fd);
}

static int lease_fail(const struct rdmapin_backing_info *b, int err)
{
	switch (err) {
	case EAGAIN:
		return rdmapin_fail(EAGAIN, "%s: the file is open elsewhere (another open in this "
				    "process or another process) or being truncated; a layout "
				    "lease needs the only open: close the other opens, or map and "
				    "register it with rdmapin_reg_file_mr(); after a truncate, "
				    "register again", b->path);
	case EACCES:
		return rdmapin_fail(EACCES, "%s: only the file's owner (or CAP_LEASE) may lease it; "
				    "register as its owner or grant CAP_LEASE", b->path);
	case EBUSY:
		return rdmapin_fail(EBUSY, "%s: this open file is leased already, by another process "
				    "that shares it (a parent across fork?); open the file anew and "
				    "register that", b->path);
	case ENOSPC:
		return rdmapin_fail(ENOSPC, "%s: cannot watch the leased file for changes made "
				    "through fds open before the lease: this user has "
				    "fs.inotify.max_user_watches watches; raise it", b->path);
	case EBADF:
		return rdmapin_fail(EBADF, "%s: this process has no open file for the mapping (was "
				    "its fd closed?); keep the fd open and pass it in "
				    "rdmapin_mr_init_attr.fd, or use rdmapin_reg_file_mr()", b->path);
	default:
		return rdmapin_fail(err, "%s: cannot take a layout lease: %s", b->path,
				    strerrordesc_np(err));
	}
}

static int lease_kind_here(enum rdmapin_lease_kind *kind, const struct rdmapin_backing_info *b)
{
	const struct rdmapin_host_caps *host = rdmapin_host();

	if (!(host->flags & RDMAPIN_HOST_FILE_LEASES))
		return rdmapin_fail(ENOLCK, "%s: file leases are disabled on this host "
				    "(fs.leases-enable=0); enable them to register this file safely",
				    b->path);
	*kind = host->flags & RDMAPIN_HOST_NATIVE_LAYOUT_LEASE ? RDMAPIN_LEASE_KIND_NATIVE :
								  RDMAPIN_LEASE_KIND_EMULATED;
	return 0;
}

/*
 * On the thread, which alone releases leases and sets their watches: the
 * lease found outlives the unlocked watch_file(). 1 if @ctx joined its
 * file's lease.
 */
static int attach_watched(void *ctx, int *unused)
{
	struct rdmapin_mr *mr = ctx;
	struct rdmapin_lease *l;
	int wd = -1;

	(void)unused;
	rdmapin_lock();
	l = lease_by_file(mr->backing.dev, mr->backing.ino);
	rdmapin_unlock();
	if (!l)
		return 0;
	if (l->wd < 0 && pins_page_cache(mr)) {
		wd = watch_file(mr, l->fd);
		if (wd < 0)
			return -1;
	}
	rdmapin_lock();
	if (wd >= 0)
		l->wd = wd;
	attach(l, mr);
	rdmapin_unlock();
	return 1;
}

int rdmapin_lease_attach_existing(struct rdmapin_mr *mr)
{
	struct rdmapin_lease *l;
	bool unwatched;
	int ret;

	rdmapin_lock();
	l = lease_by_file(mr->backing.dev, mr->backing.ino);
	unwatched = l && l->wd < 0 && pins_page_cache(mr);
	if (l && !unwatched)
		attach(l, mr);
	rdmapin_unlock();
	if (!unwatched)
		return l ? 1 : 0;
	ret = rdmapin_break_thread_call(attach_watched, mr, -1);
	return ret < 0 ? lease_fail(&mr->backing, errno) : ret;
}

/* Under the setup lock: the /proc/self/fd scan and the thread start stay off the lock. */
static int lease_new(struct rdmapin_mr *mr)
{
	const struct rdmapin_backing_info *b = &mr->backing;
	struct lease_take t = { .mr = mr };
	int ret;

	if (lease_kind_here(&t.kind, b) || rdmapin_break_thread_start())
		return -1;
	ret = rdmapin_lease_attach_existing(mr);
	if (ret)
		return ret < 0 ? -1 : 0;
	ret = mr->attr.fd >= 0 ? lease_take_own(mr->attr.fd, &t) :
			      rdmapin_own_fd_find(b->dev, b->ino, lease_take_own, &t);
	if (ret < 0)
		return errno == ENOMEM ? -1 : lease_fail(b, errno);
	return 0;
}

/*
 * On the thread, which alone sets watches and frees records (so @l outlives
 * the unlocked watch_file()): a record with no lease (fd -1) for @ctx's
 * file, watched through @fd when that is the file, so that the revoker looks
 * at the pin's pages after each change; unwatched, once a second alone. -1
 * with errno 0 passes over another file's fd.
 */
static int watch_new_on_thread(void *ctx, int *fd)
{
	struct rdmapin_mr *mr = ctx;
	const struct rdmapin_backing_info *b = &mr->backing;
	struct rdmapin_lease *l, *fresh = NULL;
	bool linked = false;
	int wd = -1;

	if (*fd >= 0 && !rdmapin_fd_is_linked_file(*fd, b->dev, b->ino, &linked)) {
		errno = 0;
		return -1;
	}
	rdmapin_lock();
	l = watch_by_file(b->dev, b->ino);
	rdmapin_unlock();
	if (!l && !(l = fresh = calloc(1, sizeof(*l))))
		return rdmapin_fail(ENOMEM, "out of memory for a watch record");
	if (fresh)
		*l = (struct rdmapin_lease){ .dev = b->dev, .ino = b->ino, .fd = -1, .wd = -1,
					     .kind = RDMAPIN_LEASE_KIND_NONE };
	if (l->wd < 0 && *fd >= 0)
		wd = watch_file(mr, *fd);
	rdmapin_lock();
	if (wd >= 0) {
		l->wd = wd;
		/* Deleted already: no IN_ATTRIB would tell, and the watch would keep it. */
		l->stale |= !linked;
	}
	if (fresh) {
		l->next = rdmapin_lib.leases;
		rdmapin_lib.leases = l;
	}
	attach(l, mr);
	rdmapin_unlock();
	return 0;
}

static int watch_take_own(int fd, void *mr)
{
	return rdmapin_break_thread_call(watch_new_on_thread, mr, fd);
}

/* A later MR over a watched file joins its record without a trip to the thread. */
static bool join_watched(struct rdmapin_mr *mr)
{
	struct rdmapin_lease *l;

	rdmapin_lock();
	l = watch_by_file(mr->backing.dev, mr->backing.ino);
	if (l && l->wd >= 0)
		attach(l, mr);
	rdmapin_unlock();
	return l && l->wd >= 0;
}

int rdmapin_lease_watch_unleased(struct rdmapin_mr *mr)
{
	const struct rdmapin_backing_info *b = &mr->backing;
	int err = errno, ret;
	char why[512];

	if (!pins_page_cache(mr) || join_watched(mr))
		return 0;
	rdmapin_strscpy(why, rdmapin_error_msg(), sizeof(why));
	rdmapin_setup_lock();
	ret = rdmapin_break_thread_start();
	if (!ret) {
		ret = mr->attr.fd >= 0 ? watch_take_own(mr->attr.fd, mr) :
					 rdmapin_own_fd_find(b->dev, b->ino, watch_take_own, mr);
		/* No fd of the file's to watch it through, or none that could be sent. */
		if (ret < 0 && errno != ENOMEM)
			ret = rdmapin_break_thread_call(watch_new_on_thread, mr, -1);
	}
	rdmapin_setup_unlock();
	if (ret < 0)
		return -1;
	/* The caller learns why the pin has no lease, not of an fd passed over. */
	rdmapin_fail(err, "%s", why);
	return 0;
}

/* The caller looked for a lease just before (protect_file()): lease_new() looks again. */
int rdmapin_lease_attach(struct rdmapin_mr *mr)
{
	int ret;

	rdmapin_setup_lock();
	ret = lease_new(mr);
	rdmapin_setup_unlock();
	return ret;
}
