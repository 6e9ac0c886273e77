// SPDX-License-Identifier: MIT
/*
 * File memory under the preload. The program does not know librdmapin, so
 * it cannot handle a revoke: the truncate guard is preferred, a lease taken
 * only where the guard cannot be had, and file memory that can be neither
 * guarded nor leased is refused or registered unprotected, as the policy
 * says (RDMAPIN_PRELOAD_UNPROTECTED, rdmapin-run(1)).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file_mr.h"

/* Which file memory may register with neither guard nor lease. */
enum unprotected { UNPROTECTED_NONE, UNPROTECTED_PAGECACHE, UNPROTECTED_ALL };

static const char *const unprotected_names[] = {
	[UNPROTECTED_NONE] = "none",
	[UNPROTECTED_PAGECACHE] = "page-cache",
	[UNPROTECTED_ALL] = "all",
};

static enum unprotected unprotected;
static bool quiet;
static pthread_once_t conf_once = PTHREAD_ONCE_INIT, notice_once = PTHREAD_ONCE_INIT;

/*
 * What the program holds is a copy of librdmapin's struct ibv_mr: should a
 * lease break revoke the MR, librdmapin frees its struct, and the program,
 * which keeps reading lkey and rkey, reads this copy, not freed memory.
 */
struct file_mr {
	struct ibv_mr shadow;		/* first: the tree's key is its address */
	struct ibv_mr *mr;
	struct held_file *file;
};

/*
 * The files our MRs are over: librdmapin gives a later MR over one the
 * guard entry or lease of the first, so it needs no descriptor of ours.
 */
struct held_file {
	dev_t dev;
	ino_t ino;
	unsigned long mrs;
	struct held_file *next;
};

/* Under tree_lock. */
static void *tree;
static unsigned long nr_file_mrs;
static struct held_file *held_files;
static pthread_mutex_t tree_lock = PTHREAD_MUTEX_INITIALIZER;

static void read_conf(void)
{
	const char *u = getenv("RDMAPIN_PRELOAD_UNPROTECTED");
	const char *q = getenv("RDMAPIN_PRELOAD_QUIET");
	unsigned int i;

	unprotected = UNPROTECTED_PAGECACHE;
	quiet = q && *q && strcmp(q, "0");
	if (!u || !*u)
		return;
	for (i = 0; i < sizeof(unprotected_names) / sizeof(*unprotected_names); i++)
		if (!strcmp(u, unprotected_names[i])) {
			unprotected = i;
			return;
		}
	unprotected = UNPROTECTED_NONE;
	fprintf(stderr, "rdmapin: RDMAPIN_PRELOAD_UNPROTECTED=%s is not none, page-cache or all; "
			"taking none\n", u);
}

/* Once, at the first file registration: which protection this host gives. */
static void say_protection(void)
{
	struct rdmapin_host_caps host;
	const char *how;

	if (quiet || rdmapin_query_host(&host))
		return;
	if (host.flags & RDMAPIN_HOST_TRUNCATE_GUARD)
		how = "under the truncate guard: truncating a registered file fails with ETXTBSY "
		      "until it is deregistered";
	else if (host.flags & RDMAPIN_HOST_FILE_LEASES)
		how = "under leases (no truncate guard: is rdmapin-guardd running?): another "
		      "process's open or truncate of a registered file revokes its MRs, and RDMA "
		      "on them fails";
	else
		how = "with neither the truncate guard nor leases";
	fprintf(stderr, "rdmapin: %s registers files %s; files that can be neither guarded nor "
			"leased register unprotected: %s (RDMAPIN_PRELOAD_QUIET=1 silences this)\n",
		program_invocation_short_name, how, unprotected_names[unprotected]);
}

static bool may_be_unprotected(enum rdmapin_backing backing)
{
	return unprotected == UNPROTECTED_ALL ||
	       (unprotected == UNPROTECTED_PAGECACHE && backing == RDMAPIN_BACKING_PAGECACHE);
}

/* The errno ibv_reg_mr() gives such memory where the kernel refuses it. */
static int verbs_errno(int err, enum rdmapin_backing backing)
{
	switch (err) {
	case EAGAIN:	/* librdmapin's lease errors: no verbs error */
	case EACCES:
	case EBADF:
	case ENOLCK:
		return backing == RDMAPIN_BACKING_FSDAX ? EOPNOTSUPP : EFAULT;
	}
	return err;
}

static struct ibv_mr *refuse(int err, const struct rdmapin_range_attr *r)
{
	fprintf(stderr, "rdmapin: %s\n", rdmapin_last_error());
	errno = verbs_errno(err, r->backing);
	return NULL;
}

/*
 * rdmapin-guardd guards a file only through a descriptor open for writing,
 * and programs may close theirs once the file is mapped (perftest does): a
 * descriptor of our own. Only when the guard can be had: a second open file
 * description rules a lease out.
 */
static int fd_for_guard(const struct rdmapin_range_attr *r)
{
	struct rdmapin_host_caps host;
	struct stat st;
	int fd;

	if (rdmapin_query_host(&host) || !(host.flags & RDMAPIN_HOST_TRUNCATE_GUARD))
		return -1;
	fd = open(r->path, O_RDWR | O_CLOEXEC);
	if (fd >= 0 && (fstat(fd, &st) || st.st_dev != r->dev || st.st_ino != r->ino)) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The program learns of a revoke only from its failing RDMA: say why. */
static void revoked(const struct rdmapin_async_event *event, void *ctx)
{
	fprintf(stderr, "rdmapin: %s was opened by another process, or truncated or punched: its "
			"MR was revoked, and RDMA on it now fails\n", event->path);
}

/* Under tree_lock. */
static struct held_file **held_file(const struct rdmapin_range_attr *r)
{
	struct held_file **p;

	for (p = &held_files; *p; p = &(*p)->next)
		if ((*p)->dev == r->dev && (*p)->ino == r->ino)
			break;
	return p;
}

static bool is_held(const struct rdmapin_range_attr *r)
{
	bool held;

	pthread_mutex_lock(&tree_lock);
	held = *held_file(r);
	pthread_mutex_unlock(&tree_lock);
	return held;
}

/* Under tree_lock: counts an MR over @r's file in. */
static struct held_file *hold(const struct rdmapin_range_attr *r)
{
	struct held_file **p = held_file(r), *f = *p;

	if (!f && (f = calloc(1, sizeof(*f)))) {
		f->dev = r->dev;
		f->ino = r->ino;
		*p = f;
	}
	if (f)
		f->mrs++;
	return f;
}

/* Under tree_lock. */
static void unhold(struct held_file *f)
{
	struct held_file **p;

	if (--f->mrs)
		return;
	for (p = &held_files; *p != f; p = &(*p)->next)
		;
	*p = f->next;
	free(f);
}

static struct ibv_mr *reg_mr_fd(struct ibv_pd *pd, void *addr, size_t length, uint64_t iova,
				unsigned int access, const struct rdmapin_range_attr *r, int fd)
{
	struct rdmapin_mr_init_attr attr = {
		.comp_mask = RDMAPIN_MR_INIT_ATTR_IOVA | RDMAPIN_MR_INIT_ATTR_LEASE |
			     RDMAPIN_MR_INIT_ATTR_BREAK,
		.access = access,
		.addr = addr,
		.length = length,
		.iova = iova,
		.lease = r->backing == RDMAPIN_BACKING_FSDAX && may_be_unprotected(r->backing) ?
				 RDMAPIN_LEASE_IF_AVAILABLE : RDMAPIN_LEASE_DEFAULT,
		.break_policy = RDMAPIN_BREAK_REVOKE,
		.break_cb = revoked,
	};

	if (fd >= 0) {
		attr.comp_mask |= RDMAPIN_MR_INIT_ATTR_FD;
		attr.fd = fd;
	}
	return rdmapin_reg_mr_ex(pd, &attr);
}

/*
 * A file held already needs no descriptor; should its last MR go meanwhile,
 * taking the guard or lease along, the registration is made as a first one.
 */
static struct ibv_mr *reg_mr_ex(struct ibv_pd *pd, void *addr, size_t length, uint64_t iova,
				unsigned int access, const struct rdmapin_range_attr *r)
{
	struct ibv_mr *mr = NULL;
	int fd, err;

	if (is_held(r)) {
		mr = reg_mr_fd(pd, addr, length, iova, access, r, -1);
		if (mr)
			return mr;
	}
	fd = fd_for_guard(r);
	mr = reg_mr_fd(pd, addr, length, iova, access, r, fd);
	err = errno;
	if (fd >= 0)
		close(fd);
	errno = err;
	return mr;
}

/* A shared mapping that got neither guard nor lease, where the policy forbids that. */
static bool unprotected_refused(struct ibv_mr *mr, const struct rdmapin_range_attr *r)
{
	struct rdmapin_mr_attr q = { .comp_mask = 0 };

	if (!(r->flags & RDMAPIN_RANGE_SHARED) || may_be_unprotected(r->backing) ||
	    rdmapin_query_mr(mr, &q) || q.guard != RDMAPIN_GUARD_KIND_NONE ||
	    q.lease != RDMAPIN_LEASE_KIND_NONE)
		return false;
	rdmapin_dereg_mr(mr);
	fprintf(stderr, "rdmapin: %s: neither the truncate guard nor a lease could be had, and "
			"RDMAPIN_PRELOAD_UNPROTECTED=%s refuses it unprotected; start "
			"rdmapin-guardd\n", r->path, unprotected_names[unprotected]);
	errno = verbs_errno(EAGAIN, r->backing);
	return true;
}

static int cmp_ptr(const void *a, const void *b)
{
	return (a > b) - (a < b);
}

struct ibv_mr *preload_reg_file(struct ibv_pd *pd, void *addr, size_t length, uint64_t iova,
				unsigned int access, const struct rdmapin_range_attr *r)
{
	struct file_mr *e = malloc(sizeof(*e));
	struct ibv_mr *mr;

	pthread_once(&conf_once, read_conf);
	pthread_once(&notice_once, say_protection);
	if (!e) {
		errno = ENOMEM;
		return NULL;
	}
	mr = reg_mr_ex(pd, addr, length, iova, access, r);
	if (!mr || unprotected_refused(mr, r)) {
		free(e);
		return mr ? NULL : refuse(errno, r);
	}
	e->shadow = *mr;
	e->mr = mr;
	pthread_mutex_lock(&tree_lock);
	e->file = hold(r);
	if (!e->file || !tsearch(e, &tree, cmp_ptr)) {
		if (e->file)
			unhold(e->file);
		pthread_mutex_unlock(&tree_lock);
		rdmapin_dereg_mr(mr);
		free(e);
		errno = ENOMEM;
		return NULL;
	}
	__atomic_add_fetch(&nr_file_mrs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&tree_lock);
	return &e->shadow;
}

/* Removes @mr from the tree, and returns its entry; NULL if it is not ours. */
static struct file_mr *take(struct ibv_mr *mr, bool remove)
{
	struct file_mr **found = NULL;
	struct file_mr *e = NULL;

	/* Programs that register no file pay one load per deregistration. */
	if (!__atomic_load_n(&nr_file_mrs, __ATOMIC_RELAXED))
		return NULL;
	pthread_mutex_lock(&tree_lock);
	found = tfind(mr, &tree, cmp_ptr);
	if (found) {
		e = *found;
		if (remove) {
			tdelete(mr, &tree, cmp_ptr);
			__atomic_sub_fetch(&nr_file_mrs, 1, __ATOMIC_RELAXED);
		}
	}
	pthread_mutex_unlock(&tree_lock);
	return e;
}

bool preload_owns(struct ibv_mr *mr)
{
	return take(mr, false);
}

bool preload_holds_files(void)
{
	return __atomic_load_n(&nr_file_mrs, __ATOMIC_RELAXED);
}

bool preload_dereg_file(struct ibv_mr *mr, int *ret)
{
	struct file_mr *e = take(mr, true);

	if (!e)
		return false;
	*ret = rdmapin_dereg_mr(e->mr);
	if (*ret) {
		/* As ibv_dereg_mr(): on failure the MR stays registered, and the program's. */
		fprintf(stderr, "rdmapin: %s\n", rdmapin_last_error());
		pthread_mutex_lock(&tree_lock);
		if (tsearch(e, &tree, cmp_ptr))
			__atomic_add_fetch(&nr_file_mrs, 1, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&tree_lock);
		return true;
	}
	pthread_mutex_lock(&tree_lock);
	unhold(e->file);
	pthread_mutex_unlock(&tree_lock);
	free(e);
	return true;
}
