// SPDX-License-Identifier: MIT
/*
 * An application that closes or replaces every fd above 2 (closefrom,
 * close_range, dup2: what daemonizing helpers do) while MRs live must not
 * take their protection away, nor find library bytes in the fds it opens
 * next on the freed numbers. For a leased and for a guarded page-cache
 * file: after the application's table is emptied and refilled with pipes,
 * sockets and eventfds, another process's truncate still breaks the lease
 * (the MR is revoked and the event delivered) or still fails with ETXTBSY
 * (guard); dereg returns at once; the new fds got no byte and are still
 * open. A restart of rdmapin-guardd keeps the file guarded, and the library
 * reconnects. Only the verbs context's own fds are spared the closing: they
 * are libibverbs', not librdmapin's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "check.h"
#include "guardd_ctl.h"
#include "guest.h"

#define MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)
/* The break callback runs on the library's thread after the lease goes: time for it. */
#define CALLBACK_WAIT_MS 1000
/* A dereg that waits on a foreign socket never returns: anything near a second is a hang. */
#define DEREG_LIMIT_MS 1000.0
#define NEW_FDS 48

enum closer { CLOSE_RANGE, DUP2, NR_CLOSERS };
static const char *const closer_name[] = { "close_range(3, ~0U)", "dup2 over every fd" };

static struct ibv_pd *pd;
static struct guardd_run guardd = { .pid = -1 };
static char work[32];

static bool spared(int fd)
{
	return fd == pd->context->cmd_fd || fd == pd->context->async_fd;
}

/* close_range(3, ~0U, 0) around the verbs context's fds. */
static int close_all(void)
{
	unsigned int from = 3, fd;

	for (fd = 3; fd < 1024; fd++) {
		if (!spared(fd))
			continue;
		if (fd > from && close_range(from, fd - 1, 0))
			return -1;
		from = fd + 1;
	}
	return close_range(from, ~0U, 0);
}

/* Puts a pipe's read end over every fd above 2 but the verbs context's. */
static int dup2_all(void)
{
	int p[2], fd, ret = 0;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	for (fd = 3; fd < 1024 && !ret; fd++)
		if (!spared(fd) && fd != p[0] && fd != p[1] && fcntl(fd, F_GETFD) >= 0)
			ret = dup2(p[0], fd) < 0;
	close(p[0]);
	close(p[1]);
	return ret ? -1 : 0;
}

struct new_fds {
	int fd[NEW_FDS];
	struct stat st[NEW_FDS];
	int n;
};

/* Pipes, socket pairs and eventfds on the lowest free numbers, as an application opens them. */
static void open_new_fds(struct new_fds *f)
{
	int p[2], i;

	f->n = 0;
	for (i = 0; f->n + 2 <= NEW_FDS; i++) {
		if (i % 3 == 0 && !pipe2(p, O_NONBLOCK)) {
			f->fd[f->n++] = p[0];
			f->fd[f->n++] = p[1];
		} else if (i % 3 == 1 && !socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, p)) {
			f->fd[f->n++] = p[0];
			f->fd[f->n++] = p[1];
		} else if (i % 3 == 2) {
			f->fd[f->n++] = eventfd(0, EFD_NONBLOCK);
		}
	}
	for (i = 0; i < f->n; i++)
		fstat(f->fd[i], &f->st[i]);
}

/* None got a byte, none was closed or replaced; then they are closed. */
static void check_new_fds(struct new_fds *f, const char *how)
{
	int i, got = 0, gone = 0;
	struct stat st;
	char buf[64];

	for (i = 0; i < f->n; i++) {
		if (fstat(f->fd[i], &st) || st.st_ino != f->st[i].st_ino ||
		    st.st_dev != f->st[i].st_dev) {
			gone++;
			continue;
		}
		/* A pipe's write end reads EBADF; everything else must have nothing to read. */
		if (read(f->fd[i], buf, sizeof(buf)) > 0)
			got++;
	}
	check(!gone, "%s: the %d fds opened after it are all still open and the same (%d not)",
	      how, f->n, gone);
	check(!got, "%s: none of them received a byte (%d did)", how, got);
	for (i = 0; i < f->n; i++)
		close(f->fd[i]);
}

/* A truncate of @path to 0 from another process: 0 or its errno; when it began and ended. */
static int truncate_elsewhere(const char *path, double *start, double *end)
{
	pid_t pid;
	int err;

	*start = now_s();
	pid = fork();
	if (pid == 0)
		_exit(truncate(path, 0) ? errno : 0);
	err = child_errno(pid);
	*end = now_s();
	return err;
}

static atomic_int revoked;
static _Atomic double revoked_at;

static void on_revoke(const struct rdmapin_async_event *ev, void *ctx)
{
	(void)ctx;
	if (ev->type == RDMAPIN_EVENT_MR_REVOKED) {
		atomic_store(&revoked_at, now_s());
		atomic_fetch_add(&revoked, 1);
	}
}

static struct ibv_mr *reg(struct mapping *m, bool lease, const char *how)
{
	struct rdmapin_mr_init_attr a = {
		.comp_mask = RDMAPIN_MR_INIT_ATTR_BREAK | (lease ? RDMAPIN_MR_INIT_ATTR_LEASE : 0),
		.access = MR_ACCESS,
		.lease = RDMAPIN_LEASE_REQUIRE,
		.break_policy = RDMAPIN_BREAK_REVOKE,
		.break_cb = on_revoke,
	};
	struct rdmapin_mr_attr attr = { .comp_mask = 0 };
	struct ibv_mr *mr = NULL;

	if (!map_pagecache_shared(m)) {
		a.addr = m->addr;
		a.length = m->len;
		mr = rdmapin_reg_mr_ex(pd, &a);
	}
	if (!check(mr != NULL, "%s: register a page-cache file: %s%s", how, m->err,
		   rdmapin_last_error())) {
		unmap(m);
		return NULL;
	}
	rdmapin_query_mr(mr, &attr);
	check(lease ? attr.lease != RDMAPIN_LEASE_KIND_NONE :
		      attr.guard == RDMAPIN_GUARD_KIND_DAEMON,
	      "%s: protected by %s (lease %d, guard %d)", how,
	      lease ? "a lease" : "rdmapin-guardd", attr.lease, attr.guard);
	return mr;
}

/*
 * The application's table holds the file once (its own fd), and of the
 * library's fds only the socket that sends files to its fd keeper and, once
 * it talks to rdmapin-guardd, its connection's alias (rdmapin(7)).
 */
static void check_table(const struct mapping *m, bool lease, const char *how)
{
	int sockets = lease ? 1 : 2;
	struct stat st;

	fstat(m->fd, &st);
	check(count_fds(&st, NULL) == 1, "%s: the application's fd table holds the file only "
	      "at its own fd (%d fds)", how, count_fds(&st, NULL));
	check(count_fds(NULL, "socket:") == sockets &&
		      count_fds(NULL, "anon_inode:[eventpoll]") == 0 &&
		      count_fds(NULL, "anon_inode:[signalfd]") == 0 &&
		      count_fds(NULL, "anon_inode:[timerfd]") == 0,
	      "%s: and of the library's, %d socket%s (one sends files to the fd keeper%s), no "
	      "epoll, signalfd or timerfd (%d sockets)",
	      how, sockets, lease ? "" : "s",
	      lease ? "" : ", one is the alias of the connection to rdmapin-guardd",
	      count_fds(NULL, "socket:"));
}

static int empty_table(enum closer c)
{
	return c == CLOSE_RANGE ? close_all() : dup2_all();
}

static void check_dereg(struct ibv_mr *mr, const char *how)
{
	double t = now_s();
	int ret = rdmapin_dereg_mr(mr);

	t = (now_s() - t) * 1e3;
	check(!ret && t < DEREG_LIMIT_MS, "%s: rdmapin_dereg_mr returns 0 at once (%d, %.2f ms)",
	      how, ret, t);
}

/*
 * Another process's truncate breaks the lease: the MR is revoked, the event
 * delivered. The lease goes before the callbacks run (rdmapin_reg_mr_ex(3)
 * promises no order), so the truncate may return before the callback does.
 */
static void lease_holds(struct ibv_mr *mr, const struct mapping *m, const char *how)
{
	struct rdmapin_mr_attr attr = { .comp_mask = 0 };
	double start, end;
	int err = truncate_elsewhere(m->path, &start, &end), i;

	check(!err, "%s: another process's truncate breaks the lease and completes (%s, %.1f ms)",
	      how, strerror(err), (end - start) * 1e3);
	check(!rdmapin_query_mr(mr, &attr) && attr.revoked,
	      "%s: rdmapin_query_mr says revoked once the truncate returned", how);
	for (i = 0; i < CALLBACK_WAIT_MS && !atomic_load(&revoked); i++)
		usleep(1000);
	check(atomic_load(&revoked) == 1,
	      "%s: its event delivered (%.2f ms after the truncating child was forked)", how,
	      (atomic_load(&revoked_at) - start) * 1e3);
}

/* Another process's truncate fails with @want: ETXTBSY while guarded, 0 after dereg. */
static void guard_says(const struct mapping *m, int want, const char *how, const char *what)
{
	double start, end;
	int err = truncate_elsewhere(m->path, &start, &end);

	check(err == want, "%s: %s: another process's truncate: want %s, got %s", how, what,
	      strerror(want), strerror(err));
}

/*
 * Registers a file, empties the application's table with @c, opens new fds
 * on the freed numbers, and checks that protection held, that dereg returns
 * at once and that the new fds saw nothing of the library.
 */
static void closer_case(bool lease, enum closer c)
{
	struct mapping m = unmapped;
	struct new_fds f;
	struct ibv_mr *mr;
	char how[96];

	snprintf(how, sizeof(how), "%s, %s", lease ? "lease" : "guard", closer_name[c]);
	mr = reg(&m, lease, how);
	if (!mr)
		return;
	check_table(&m, lease, how);
	/* Its number is closed with the rest: the revoke's event must not reach its successor. */
	check(rdmapin_get_async_fd(pd->context) >= 0, "%s: the application has the async event fd",
	      how);
	atomic_store(&revoked, 0);
	if (!check(!empty_table(c), "%s: the application empties its fd table", how))
		return;
	m.fd = -1;			/* its number is gone with the rest */
	open_new_fds(&f);
	if (lease) {
		lease_holds(mr, &m, how);
	} else {
		usleep(20000);		/* a daemon that saw a hang-up drops entries at once */
		guard_says(&m, ETXTBSY, how, "still guarded");
	}
	check_dereg(mr, how);
	check_new_fds(&f, how);
	if (!lease)
		guard_says(&m, 0, how, "after dereg the daemon lifted the guard");
	unmap(&m);
}

/* The daemon keeps a running client's entries over its restart; the library reconnects. */
static void restart_case(void)
{
	static const char *const how = "guard, rdmapin-guardd restarted";
	struct mapping m = unmapped, m2 = unmapped;
	struct ibv_mr *mr, *mr2;

	mr = reg(&m, false, how);
	if (!mr)
		return;
	guardd_stop(&guardd, SIGKILL);
	check(!guardd_start(&guardd, NULL), "%s: rdmapin-guardd starts again", how);
	guard_says(&m, ETXTBSY, how, "the file stays guarded");
	mr2 = reg(&m2, false, "guard, after the restart, a second file (the library reconnects)");
	guard_says(&m, ETXTBSY, how, "after the reconnection the first file stays guarded");
	if (mr2) {
		check_dereg(mr2, how);
		guard_says(&m2, 0, how, "the second file's UNGUARD reached the new daemon");
		unmap(&m2);
	}
	guard_says(&m, ETXTBSY, how, "the first file stays guarded");
	check_dereg(mr, how);
	guard_says(&m, 0, how, "the first file's UNGUARD reached the new daemon");
	unmap(&m);
}

static int start_daemon(void)
{
	char dir[48], log[48];

	snprintf(work, sizeof(work), "/tmp/test_failsafe.XXXXXX");
	if (!check(mkdtemp(work) && !chmod(work, 0755), "create %s", work))
		return -1;
	snprintf(dir, sizeof(dir), "%s/guardd", work);
	snprintf(log, sizeof(log), "%s/guardd.log", work);
	guardd_init(&guardd, dir, log);
	setenv("RDMAPIN_GUARDD_SOCKET", guardd.socket, 1);
	return check(!guardd_start(&guardd, NULL), "rdmapin-guardd listens on %s", guardd.socket) ?
		       0 : -1;
}

static void stop_daemon(void)
{
	char cmd[64];

	guardd_show_log(&guardd);
	if (guardd.pid > 0)
		guardd_stop(&guardd, SIGTERM);
	check(!guard_unload(), "unload the guard");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", work);
	if (system(cmd))
		printf("# could not remove %s\n", work);
}

int main(void)
{
	enum closer c;

	/* 7.x registers page-cache files with ODP; these tests do no remote writes. */
	setenv("RDMAPIN_ALLOW_QUIRKS", "rxe-odp-offset", 1);
	pd = start_guest_test();
	if (!pd)
		return check_done();
	for (c = 0; c < NR_CLOSERS; c++)
		closer_case(true, c);
	if (!start_daemon()) {
		for (c = 0; c < NR_CLOSERS; c++)
			closer_case(false, c);
		restart_case();
	}
	stop_daemon();
	close_pd(pd);
	return check_done();
}
