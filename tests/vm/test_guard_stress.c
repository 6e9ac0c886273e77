// SPDX-License-Identifier: MIT
/*
 * The guard lets no hole punch through, however many race: 8 threads x
 * 20,000 fallocate(PUNCH_HOLE) calls, and as many through io_uring (run by
 * io-wq workers), on a guarded file all fail with ETXTBSY, while on an
 * unguarded file next to it all succeed. A design that records the call in
 * fentry/fexit programs let ~20 of 160,000 through on 7.x, whose lazy
 * preemption makes the kernel skip re-entered tracing programs; the
 * guard's one LSM program is never skipped. The guard programs' counters
 * (bpftool prog show: recursion_misses) are printed for the record.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/types.h>

#include <rdmapin/rdmapin.h>
#include "check.h"
#include "guard_map.h"
#include "guardd_ctl.h"
#include "guest.h"

#define THREADS 8
#define PUNCHES 20000
#define BATCH 64
#define PUNCH (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)
/* Each thread punches its own 4 KiB, so the file's blocks come and go. */
#define SPAN 4096

struct worker {
	pthread_t thread;
	int fd, index;
	bool uring;
	long succeeded, refused, other;
	int other_err;
};

static void count(struct worker *w, int err)
{
	if (!err)
		w->succeeded++;
	else if (err == ETXTBSY)
		w->refused++;
	else if (!w->other++)
		w->other_err = err;
}

static void punch_syscalls(struct worker *w)
{
	int i;

	for (i = 0; i < PUNCHES; i++)
		count(w, fallocate(w->fd, PUNCH, (off_t)w->index * SPAN, SPAN) ? errno : 0);
}

static void punch_uring(struct worker *w)
{
	struct io_uring_cqe *cqe;
	struct io_uring ring;
	int i, n, ret;

	ret = io_uring_queue_init(BATCH, &ring, 0);
	if (ret) {
		w->other = PUNCHES;
		w->other_err = -ret;
		return;
	}
	for (i = 0; i < PUNCHES; i += n) {
		for (n = 0; n < BATCH && i + n < PUNCHES; n++)
			io_uring_prep_fallocate(io_uring_get_sqe(&ring), w->fd, PUNCH,
						(off_t)w->index * SPAN, SPAN);
		ret = io_uring_submit_and_wait(&ring, n);
		for (ret = 0; ret < n && !io_uring_wait_cqe(&ring, &cqe); ret++) {
			count(w, cqe->res < 0 ? -cqe->res : 0);
			io_uring_cqe_seen(&ring, cqe);
		}
		w->other += n - ret;
	}
	io_uring_queue_exit(&ring);
}

static void *run(void *arg)
{
	struct worker *w = arg;

	if (w->uring)
		punch_uring(w);
	else
		punch_syscalls(w);
	return NULL;
}

/* THREADS x PUNCHES punches of @fd: how many succeeded, were refused, or failed else. */
static void stress(int fd, bool uring, bool guarded, const char *what)
{
	struct worker w[THREADS];
	long ok = 0, refused = 0, other = 0;
	int i, other_err = 0;
	double t0 = now_s();

	for (i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ .fd = fd, .index = i, .uring = uring };
		if (pthread_create(&w[i].thread, NULL, run, &w[i]))
			w[i].other = PUNCHES;
	}
	for (i = 0; i < THREADS; i++) {
		if (!w[i].other)
			pthread_join(w[i].thread, NULL);
		ok += w[i].succeeded;
		refused += w[i].refused;
		other += w[i].other;
		other_err = other_err ?: w[i].other_err;
	}
	printf("# stress %s %s %s: %ld succeeded, %ld refused, %ld other (%s) in %.1f s\n",
	       env.kernel == KERNEL_7 ? "7" : "6.1", env.fsdax_fs, what, ok, refused, other,
	       other_err ? strerrorname_np(other_err) : "-", now_s() - t0);
	if (guarded)
		check(!ok && refused == THREADS * PUNCHES,
		      "%s: %d x %d punches of a guarded file: %ld succeeded, %ld refused, %ld "
		      "failed otherwise", what, THREADS, PUNCHES, ok, refused, other);
	else
		check(ok == THREADS * PUNCHES,
		      "%s: %d x %d punches of an unguarded file: %ld succeeded, %ld failed", what,
		      THREADS, PUNCHES, ok, refused + other);
}

static int guard_file(int fd, bool on)
{
	struct rdmapin_guard_key key;

	if (rdmapin_guard_key_of(fd, &key, "test"))
		return -1;
	return on ? rdmapin_guard_ref(&key, "test") : rdmapin_guard_unref(&key, "test");
}

int main(void)
{
	struct mapping guarded = unmapped, other = unmapped;
	int ret;

	if (read_env())
		return check_done();
	if (!check(!guard_load(), "load the guard"))
		return check_done();
	if (!check(!create_file(&guarded, env.pagecache_dir) &&
		   !create_file(&other, env.pagecache_dir) &&
		   !fallocate(guarded.fd, 0, 0, REGION_SIZE) && !fallocate(other.fd, 0, 0, REGION_SIZE),
		   "create two files: %s%s", guarded.err, other.err))
		goto out;
	ret = guard_file(guarded.fd, true);
	if (!check(!ret, "guard one%s%s", ret ? ": " : "", ret ? rdmapin_last_error() : ""))
		goto out;
	stress(guarded.fd, false, true, "fallocate(2)");
	stress(guarded.fd, true, true, "io_uring");
	stress(other.fd, false, false, "fallocate(2)");
	stress(other.fd, true, false, "io_uring");
	fflush(stdout);
	if (system("bpftool prog show | grep -A2 ' name guard_' | sed 's/^/# /'"))
		printf("# bpftool prog show failed\n");
	ret = guard_file(guarded.fd, false);
	check(!ret, "unguard it%s%s", ret ? ": " : "", ret ? rdmapin_last_error() : "");
out:
	unmap(&guarded);
	unmap(&other);
	check(!guard_unload(), "unload the guard");
	return check_done();
}
