// SPDX-License-Identifier: MIT
/*
 * Concurrency and fork: many threads registering and deregistering at once
 * must all succeed and leave no fd or lease behind; after fork() the child
 * owns none of its parent's MRs, leases or library fds, and the parent's
 * MRs and leases are untouched by the child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "check.h"
#include "guest.h"

#define ACCESS_RW (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)
/* 960 registrations: 1-3 s in the emulated guest, about a minute under valgrind. */
#define THREADS 16
#define ITERATIONS 20
/* Part of each REGION_SIZE mapping: a pin's cost grows with its pages. */
#define REG_LEN (256UL << 10)

static struct ibv_pd *pd;

/* check() is not thread-safe: workers record, main() checks after the join. */
struct worker {
	pthread_t thread;
	int id;
	struct mapping anon, memfd, file;
	int done; /* registrations that went right */
	int failures;
	char first_failure[512];
};

static __attribute__((format(printf, 2, 3))) void fail(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (!w->failures++) {
		va_start(ap, fmt);
		vsnprintf(w->first_failure, sizeof(w->first_failure), fmt, ap);
		va_end(ap);
	}
}

/* The file form leases the file each time; the others never lease. */
static void reg_dereg(struct worker *w, const char *what, struct ibv_mr *mr,
		      enum rdmapin_lease_kind lease)
{
	struct rdmapin_mr_attr q = { .comp_mask = 0 };
	int ret;

	if (!mr) {
		fail(w, "%s: register: %s (%s)", what, strerror(errno), rdmapin_last_error());
		return;
	}
	if (rdmapin_query_mr(mr, &q))
		fail(w, "%s: query: %s", what, rdmapin_last_error());
	else if (q.lease != lease || q.revoked)
		fail(w, "%s: lease kind %d (want %d), revoked %d", what, q.lease, lease, q.revoked);
	ret = rdmapin_dereg_mr(mr);
	if (ret)
		fail(w, "%s: dereg: %s (%s)", what, strerror(ret), rdmapin_last_error());
	else
		w->done++;
}

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < ITERATIONS; i++) {
		reg_dereg(w, "anonymous", rdmapin_reg_mr(pd, w->anon.addr, REG_LEN, ACCESS_RW),
			  RDMAPIN_LEASE_KIND_NONE);
		reg_dereg(w, "memfd", rdmapin_reg_mr(pd, w->memfd.addr, REG_LEN, ACCESS_RW),
			  RDMAPIN_LEASE_KIND_NONE);
		reg_dereg(w, "file", rdmapin_reg_file_mr(pd, w->file.fd, 0, REG_LEN, ACCESS_RW),
			  RDMAPIN_LEASE_KIND_EMULATED);
	}
	return NULL;
}

/* 7.x registers fsdax (On-Demand Paging); 6.1 cannot, so it leases page-cache files. */
static const char *leased_dir(void)
{
	return env.kernel == KERNEL_7 ? env.fsdax_dir : env.pagecache_dir;
}

static int worker_setup(struct worker *w)
{
	if (map_anon(&w->anon))
		return check(0, "thread %d: anonymous memory: %s", w->id, w->anon.err) - 1;
	if (map_memfd(&w->memfd))
		return check(0, "thread %d: memfd: %s", w->id, w->memfd.err) - 1;
	if (create_file(&w->file, leased_dir()))
		return check(0, "thread %d: file: %s", w->id, w->file.err) - 1;
	return 0;
}

/*
 * The first lease starts the library's lease-break thread and its fds, once
 * per process: take one before counting fds.
 */
static void warm_up(void)
{
	struct mapping m = unmapped;
	struct ibv_mr *mr;

	if (create_file(&m, leased_dir())) {
		check(0, "warm-up: set up: %s", m.err);
		unmap(&m);
		return;
	}
	mr = rdmapin_reg_file_mr(pd, m.fd, 0, REG_LEN, ACCESS_RW);
	if (check(mr != NULL, "warm-up: a leased registration: %s",
		  mr ? "yes" : rdmapin_last_error()))
		rdmapin_dereg_mr(mr);
	unmap(&m);
}

static void storm(void)
{
	static struct worker workers[THREADS];
	int i, started = 0, fds, kept, done = 0, failures = 0;
	double start;

	warm_up();
	for (i = 0; i < THREADS; i++) {
		workers[i].id = i;
		workers[i].anon = workers[i].memfd = workers[i].file = unmapped;
		if (worker_setup(&workers[i]))
			goto out;
	}
	fds = count_app_fds(&kept);
	start = now_s();
	for (started = 0; started < THREADS; started++) {
		errno = pthread_create(&workers[started].thread, NULL, worker_run,
				       &workers[started]);
		if (errno) {
			check(0, "start thread %d: %s", started, strerror(errno));
			break;
		}
	}
	for (i = 0; i < started; i++) {
		pthread_join(workers[i].thread, NULL);
		done += workers[i].done;
		failures += workers[i].failures;
		if (workers[i].failures)
			check(0, "thread %d: %d failures, the first: %s", i, workers[i].failures,
			      workers[i].first_failure);
	}
	printf("# %d threads x %d iterations x 3 registrations took %.1f s\n", started, ITERATIONS,
	       now_s() - start);
	check(done == THREADS * ITERATIONS * 3 && !failures,
	      "storm: %d of %d registrations and deregistrations succeeded", done,
	      THREADS * ITERATIONS * 3);
	check(count_leases(getpid(), NULL) == 0, "storm: /proc/locks lists no lease of pid %d",
	      getpid());
	check(count_app_fds(&kept) == fds && kept <= LIBRARY_KEPT_MAX,
	      "storm: fd count back to %d (now %d, and %d the library keeps)", fds,
	      count_app_fds(&kept), kept);
out:
	for (i = 0; i < THREADS; i++) {
		unmap(&workers[i].anon);
		unmap(&workers[i].memfd);
		unmap(&workers[i].file);
	}
}

struct forked {
	struct ibv_mr *anon_mr, *file_mr;
	const struct mapping *leased;
	struct stat file;
};

/*
 * The parent's lease belongs to the open file description that the child
 * shares through the inherited fd: the child must not take it over, or its
 * F_UNLCK would release the parent's lease. fsdax needs the lease (EBUSY);
 * page-cache files go on without one.
 */
static void child_shares_leased_file(struct ibv_pd *own, const struct mapping *m)
{
	struct rdmapin_mr_attr q = { 0 };
	struct ibv_mr *mr;
	int err;

	mr = rdmapin_reg_mr(own, m->addr, m->len, ACCESS_RW);
	err = errno;
	if (env.kernel == KERNEL_7) {
		check(!mr && err == EBUSY, "child: registering the parent's leased fsdax file: %s",
		      mr ? "registered" : strerror(err));
		check(!mr && strstr(rdmapin_last_error(), "leased already"),
		      "child: message names the cause: %s", rdmapin_last_error());
	} else if (check(mr != NULL, "child: registers the parent's leased page-cache file: %s",
			 mr ? "yes" : rdmapin_last_error())) {
		rdmapin_query_mr(mr, &q);
		check(q.lease == RDMAPIN_LEASE_KIND_NONE,
		      "child: without a lease of its own (kind %d)", q.lease);
	}
	if (mr)
		check(rdmapin_dereg_mr(mr) == 0, "child: and deregisters it");
}

/* What the child may still do: register and lease on its own. */
static void child_registers(const struct mapping *leased)
{
	struct rdmapin_mr_attr q = { 0 };
	struct mapping m = unmapped, f = unmapped;
	struct ibv_pd *own = open_pd(env.rxe0);
	struct ibv_mr *mr;

	if (!check(own != NULL, "child: opens %s and allocates its own PD", env.rxe0))
		return;
	if (map_anon(&m) == 0) {
		mr = rdmapin_reg_mr(own, m.addr, m.len, ACCESS_RW);
		if (check(mr != NULL, "child: registers its own anonymous memory: %s",
			  mr ? "yes" : rdmapin_last_error()))
			check(rdmapin_dereg_mr(mr) == 0, "child: and deregisters it");
	}
	child_shares_leased_file(own, leased);
	/* The library must start a lease-break thread of its own for this. */
	if (create_file(&f, leased_dir()) == 0) {
		mr = rdmapin_reg_file_mr(own, f.fd, 0, REG_LEN, ACCESS_RW);
		if (check(mr != NULL, "child: registers a file of its own: %s",
			  mr ? "yes" : rdmapin_last_error())) {
			rdmapin_query_mr(mr, &q);
			check(q.lease == RDMAPIN_LEASE_KIND_EMULATED,
			      "child: its file is leased (kind %d)", q.lease);
			check(rdmapin_dereg_mr(mr) == 0, "child: and deregisters it");
		}
	}
	unmap(&f);
	unmap(&m);
	close_pd(own);
}

static void child(void *arg)
{
	struct forked *c = arg;
	struct rdmapin_mr_attr q = { .comp_mask = 0 };
	int ret;

	ret = rdmapin_dereg_mr(c->anon_mr);
	check(ret == EINVAL, "child: rdmapin_dereg_mr(parent's anonymous MR) is EINVAL (%s)",
	      strerror(ret));
	ret = rdmapin_dereg_mr(c->file_mr);
	check(ret == EINVAL, "child: rdmapin_dereg_mr(parent's leased MR) is EINVAL (%s)",
	      strerror(ret));
	ret = rdmapin_query_mr(c->file_mr, &q);
	check(ret == -1 && errno == EINVAL, "child: rdmapin_query_mr(parent's MR) is EINVAL");
	/* Through a copy of the library's lease fd, an ftruncate would not break the lease. */
	ret = count_fds(&c->file, NULL);
	check(ret == 1, "child: %d fds on the leased file (want 1: the test's own)", ret);
	ret = count_fds(NULL, "anon_inode:[signalfd]") + count_fds(NULL, "anon_inode:[timerfd]") +
	      count_fds(NULL, "anon_inode:[eventpoll]");
	check(ret == 0, "child: none of the lease-break thread's fds (%d)", ret);
	child_registers(c->leased);
}

static void fork_after_registration(void)
{
	struct mapping anon = unmapped, file = unmapped;
	struct rdmapin_mr_attr q = { .comp_mask = 0 };
	struct forked c = { .leased = &file };
	int ret;

	if (map_anon(&anon) ||
	    (env.kernel == KERNEL_7 ? map_fsdax_shared(&file) : map_pagecache_shared(&file)) ||
	    fstat(file.fd, &c.file)) {
		check(0, "fork: set up: %s", anon.addr == MAP_FAILED ? anon.err : file.err);
		goto out;
	}
	c.anon_mr = rdmapin_reg_mr(pd, anon.addr, anon.len, ACCESS_RW);
	c.file_mr = rdmapin_reg_mr(pd, file.addr, file.len, ACCESS_RW);
	if (!check(c.anon_mr && c.file_mr, "fork: parent registers anonymous memory and %s: %s",
		   file.path, c.anon_mr && c.file_mr ? "yes" : rdmapin_last_error()))
		goto out;
	check(rdmapin_query_mr(c.file_mr, &q) == 0 && q.lease == RDMAPIN_LEASE_KIND_EMULATED,
	      "fork: the file is leased");
	/* The library's copies are in its fd keeper's own table (rdmapin(7)). */
	ret = count_fds(&c.file, NULL);
	check(ret == 1, "fork: parent's table has %d fds on the file (the test's only)", ret);
	ret = count_fds(NULL, "anon_inode:[signalfd]");
	check(ret == 0, "fork: parent's table has no signalfd of the library (%d)", ret);

	check_in_child(child, &c);

	ret = rdmapin_query_mr(c.anon_mr, &q);
	check(ret == 0 && !q.revoked, "fork: parent's anonymous MR is intact");
	ret = rdmapin_query_mr(c.file_mr, &q);
	check(ret == 0 && !q.revoked && q.lease == RDMAPIN_LEASE_KIND_EMULATED,
	      "fork: parent's leased MR is not revoked and still leased");
	ret = count_leases(getpid(), &c.file);
	check(ret == 1, "fork: /proc/locks still lists the parent's lease (%d)", ret);
	check(rdmapin_dereg_mr(c.anon_mr) == 0, "fork: parent deregisters its anonymous MR");
	check(rdmapin_dereg_mr(c.file_mr) == 0, "fork: parent deregisters its leased MR");
	c.anon_mr = c.file_mr = NULL;
	ret = count_leases(getpid(), &c.file);
	check(ret == 0, "fork: the lease is gone after dereg (%d)", ret);
	ret = count_fds(&c.file, NULL);
	check(ret == 1, "fork: the test's fd on the file is left alone (%d left)", ret);
out:
	if (c.anon_mr)
		rdmapin_dereg_mr(c.anon_mr);
	if (c.file_mr)
		rdmapin_dereg_mr(c.file_mr);
	unmap(&file);
	unmap(&anon);
}

int main(void)
{
	pd = start_guest_test();
	if (!pd)
		return check_done();
	storm();
	fork_after_registration();
	close_pd(pd);
	return check_done();
}
