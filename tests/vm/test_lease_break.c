// SPDX-License-Identifier: MIT
/*
 * What happens when another process truncates or opens a registered file:
 * the MR is revoked first (deregistered, reported as an async event), then
 * the lease is released and the truncate goes on, far sooner than
 * fs.lease-break-time; remote writes after the revoke fail. The leased file
 * is on fsdax (On-Demand Paging) on 7.x, in the page cache (pinned) on 6.1.
 * All of that also when no real-time signal can be queued; and a SIGIO sent to
 * the process stays the application's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "check.h"
#include "guest.h"
#include "rdma_peer.h"
#include "remote_writer.h"

#define MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)
#define WRITE_LEN (1UL << 20)
/*
 * Far below the 45 s lease-break-time that a stuck lease would cost, and the
 * SHORT_BREAK_TIME_S that a missed break costs. Under ThreadSanitizer the
 * first break also waits while TSan symbolizes the first report that
 * tests/tsan.supp suppresses (1.3 to 1.6 s in a 7.2 guest: thousands of
 * mmaps on the revoker while the truncater waits).
 */
#ifdef __SANITIZE_THREAD__
#define UNBLOCK_LIMIT_S 4.0
#else
#define UNBLOCK_LIMIT_S 2.0
#endif
/* A break missed without queued signals then costs this, not 45 s. */
#define SHORT_BREAK_TIME_S 5
#define LEASE_BREAK_TIME "/proc/sys/fs/lease-break-time"

static struct rdma_peer peer;
/* A second context of the same device: events are per context. */
static struct ibv_context *other_ctx;

static int map_leased(struct mapping *m)
{
	return env.kernel == KERNEL_7 ? map_fsdax_shared(m) : map_pagecache_shared(m);
}

/*
 * The next event of @ctx within timeout_ms; type 0 when none came. @path
 * gets the event's path, which is valid only until the ack.
 */
static struct rdmapin_async_event next_event(struct ibv_context *ctx, int timeout_ms,
					     char *path, size_t len)
{
	struct rdmapin_async_event ev = { 0 };
	struct pollfd p = { .fd = rdmapin_get_async_fd(ctx), .events = POLLIN };

	if (poll(&p, 1, timeout_ms) == 1 && !rdmapin_get_async_event(ctx, &ev)) {
		snprintf(path, len, "%s", ev.path);
		rdmapin_ack_async_event(&ev);
	}
	return ev;
}

/* Whether @ctx has an event waiting: it must not, for another context's MR. */
static bool event_waits(struct ibv_context *ctx)
{
	struct pollfd p = { .fd = rdmapin_get_async_fd(ctx), .events = POLLIN };

	return poll(&p, 1, 0) != 0;
}

static int do_truncate(const char *path)
{
	return truncate(path, 0);
}

static int do_open_trunc(const char *path)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	return fd < 0 ? -1 : close(fd);
}

/* Forks a process that runs breaker(path); its duration comes back on *pipe_rd. */
static pid_t start_breaker(int (*breaker)(const char *), const char *path, int *pipe_rd)
{
	int pfd[2];
	double t;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		t = now_s();
		if (breaker(path))
			_exit(errno);
		t = now_s() - t;
		_exit(write(pfd[1], &t, sizeof(t)) == sizeof(t) ? 0 : EPIPE);
	}
	close(pfd[1]);
	*pipe_rd = pfd[0];
	return pid;
}

static double breaker_result(pid_t pid, int pipe_rd, const char *how)
{
	double took = -1;
	int err = child_errno(pid);

	check(!err, "%s from another process completes: %s", how, strerror(err));
	if (read(pipe_rd, &took, sizeof(took)) != sizeof(took))
		took = -1;
	close(pipe_rd);
	return took;
}

static atomic_int cb_calls, cb_type;

static void on_break(const struct rdmapin_async_event *ev, void *ctx)
{
	atomic_store(&cb_type, ev->type);
	atomic_fetch_add(&cb_calls, 1);
}

static atomic_int cb_dereg_ret;

/* A callback may deregister the MR it hears of: dereg must not wait for itself. */
static void on_break_dereg(const struct rdmapin_async_event *ev, void *ctx)
{
	if (ev->type == RDMAPIN_EVENT_LEASE_BREAKING)
		atomic_store(&cb_dereg_ret, rdmapin_dereg_mr(ev->mr));
	on_break(ev, ctx);
}

/* Callbacks run on the library's thread, just after the event is queued. */
static int wait_cb_calls(int n)
{
	double until = now_s() + 5;

	while (atomic_load(&cb_calls) < n && now_s() < until)
		usleep(1000);
	return atomic_load(&cb_calls);
}

/* Maps a leased file and registers it; grace_ms 0: revoked at once on a break. */
static struct ibv_mr *reg_leased(struct ibv_pd *pd, struct mapping *m, unsigned int grace_ms,
				 rdmapin_break_cb cb, const char *how)
{
	struct rdmapin_mr_init_attr a = {
		.comp_mask = grace_ms ? RDMAPIN_MR_INIT_ATTR_BREAK : 0,
		.access = MR_ACCESS,
		.break_policy = RDMAPIN_BREAK_GRACE,
		.grace_ms = grace_ms,
		.break_cb = cb,
	};
	struct ibv_mr *mr = NULL;

	atomic_store(&cb_calls, 0);
	if (!map_leased(m)) {
		a.addr = m->addr;
		a.length = m->len;
		mr = rdmapin_reg_mr_ex(pd, &a);
	}
	if (!mr) {
		check(0, "%s: register a leased file: %s%s", how, m->err, rdmapin_last_error());
		unmap(m);
	}
	return mr;
}

static void check_revoked(struct ibv_mr *mr, const struct mapping *m, const char *how)
{
	struct rdmapin_mr_attr attr = { .comp_mask = 0 };
	struct stat st;

	check(rdmapin_query_mr(mr, &attr) == 0 && attr.revoked &&
		      attr.lease == RDMAPIN_LEASE_KIND_NONE,
	      "%s: rdmapin_query_mr reports the MR revoked and no lease", how);
	check(fstat(m->fd, &st) == 0 && st.st_size == 0, "%s: the file is now empty", how);
	check(rdmapin_dereg_mr(mr) == 0, "%s: rdmapin_dereg_mr of the revoked MR", how);
}

static void check_break(const char *how, int (*breaker)(const char *))
{
	struct rdmapin_async_event ev;
	struct mapping m = unmapped;
	char path[PATH_MAX] = "";
	struct ibv_mr *mr;
	double took;
	int rd;
	pid_t pid;

	mr = reg_leased(peer.pd, &m, 0, on_break, how);
	if (!mr)
		return;
	pid = start_breaker(breaker, m.path, &rd);
	ev = next_event(peer.ctx, 10000, path, sizeof(path));
	check(ev.type == RDMAPIN_EVENT_MR_REVOKED && ev.mr == mr,
	      "%s: RDMAPIN_EVENT_MR_REVOKED for the MR (got type %d)", how, ev.type);
	check(!strcmp(path, m.path), "%s: the event names the file (%s)", how, path);
	check(!event_waits(other_ctx), "%s: another context of the device has no event", how);
	took = breaker_result(pid, rd, how);
	check(took >= 0 && took < UNBLOCK_LIMIT_S,
	      "%s: unblocked %.1f ms after it started (break -> revoke -> release)", how,
	      took * 1e3);
	check_revoked(mr, &m, how);
	unmap(&m);
}

/* Reads the file back through an open of its own, which breaks the lease. */
static pid_t start_verifier(const char *path)
{
	static char buf[WRITE_LEN];
	pid_t pid = fork();
	int fd;

	if (pid == 0) {
		fd = open(path, O_RDONLY);
		if (fd < 0 || pread(fd, buf, WRITE_LEN, 0) != WRITE_LEN)
			_exit(errno ?: EIO);
		_exit(remote_writer_verify(buf, WRITE_LEN) == WRITE_LEN ? 0 : EILSEQ);
	}
	return pid;
}

static void remote_writes(struct rdma_peer *p, struct ibv_mr *mr, const struct mapping *m)
{
	struct rdmapin_async_event ev;
	char path[PATH_MAX];
	struct rdma_peer_info remote;
	int sock, status, err;
	pid_t pid;

	sock = remote_writer_start(env.rxe1, env.gid_index, WRITE_LEN, &pid);
	if (!check(sock >= 0 && !rdma_peer_connect(p, sock, mr, &remote),
		   "a writer on %s connects to the MR", env.rxe1))
		return;
	status = remote_writer_write(sock, 0, WRITE_LEN);
	check(status == IBV_WC_SUCCESS, "RDMA WRITE of 1 MiB into the leased file: %s",
	      status < 0 ? "no completion" : ibv_wc_status_str(status));
	err = child_errno(start_verifier(m->path));
	check(!err, "another process's open + pread sees the written bytes: %s", strerror(err));
	ev = next_event(p->ctx, 10000, path, sizeof(path));
	check(ev.type == RDMAPIN_EVENT_MR_REVOKED, "that open revoked the MR (event type %d)",
	      ev.type);
	status = remote_writer_write(sock, 0, WRITE_LEN);
	check(status != IBV_WC_SUCCESS && status >= 0,
	      "an RDMA WRITE after the revoke fails cleanly: %s",
	      status < 0 ? "no completion" : ibv_wc_status_str(status));
	remote_writer_stop(sock, pid);
}

static void check_remote_writes(void)
{
	struct mapping m = unmapped;
	struct rdma_peer p;
	struct ibv_mr *mr;

	if (rdma_peer_open(&p, env.rxe0, env.gid_index)) {
		check(0, "open %s for the remote write test", env.rxe0);
		return;
	}
	mr = reg_leased(p.pd, &m, 0, on_break, "remote writes");
	if (mr) {
		remote_writes(&p, mr, &m);
		check(rdmapin_dereg_mr(mr) == 0, "rdmapin_dereg_mr after remote writes");
		unmap(&m);
	}
	rdma_peer_close(&p);
}

/*
 * Registers a leased file with a grace period and has another process
 * truncate it; the MR once it heard of the break, NULL if it could not be
 * registered. The truncater comes back for breaker_result().
 */
static struct ibv_mr *reg_and_break(struct mapping *m, unsigned int grace_ms, const char *how,
				    pid_t *pid, int *rd)
{
	struct ibv_mr *mr = reg_leased(peer.pd, m, grace_ms, on_break, how);
	struct rdmapin_async_event ev;
	char path[PATH_MAX];

	if (!mr)
		return NULL;
	*pid = start_breaker(do_truncate, m->path, rd);
	ev = next_event(peer.ctx, 10000, path, sizeof(path));
	check(ev.type == RDMAPIN_EVENT_LEASE_BREAKING && ev.mr == mr,
	      "%s: RDMAPIN_EVENT_LEASE_BREAKING first (got %d)", how, ev.type);
	return mr;
}

/*
 * With a grace period the application hears of the break first; if it
 * deregisters in time the truncate goes on then, and nothing is revoked.
 */
static void check_grace(unsigned int grace_ms, bool dereg_in_time)
{
	const char *how = dereg_in_time ? "grace, deregistered in time" : "grace expired";
	struct rdmapin_async_event ev;
	char path[PATH_MAX];
	struct mapping m = unmapped;
	struct ibv_mr *mr;
	double took;
	int rd;
	pid_t pid;

	mr = reg_and_break(&m, grace_ms, how, &pid, &rd);
	if (!mr)
		return;
	wait_cb_calls(1);
	if (dereg_in_time)
		check(rdmapin_dereg_mr(mr) == 0, "%s: rdmapin_dereg_mr within the grace", how);
	ev = next_event(peer.ctx, dereg_in_time ? 300 : grace_ms + 5000, path, sizeof(path));
	check(ev.type == (dereg_in_time ? 0 : RDMAPIN_EVENT_MR_REVOKED),
	      "%s: then %s (got %d)", how, dereg_in_time ? "no event" : "MR_REVOKED", ev.type);
	took = breaker_result(pid, rd, how);
	check(dereg_in_time ? took < grace_ms / 1e3 : took >= grace_ms / 1e3 - 0.05,
	      "%s: truncate took %.1f ms with a %u ms grace", how, took * 1e3, grace_ms);
	check(wait_cb_calls(dereg_in_time ? 1 : 2) == (dereg_in_time ? 1 : 2) &&
		      atomic_load(&cb_type) == (int)(dereg_in_time ? RDMAPIN_EVENT_LEASE_BREAKING :
							     RDMAPIN_EVENT_MR_REVOKED),
	      "%s: break_cb saw the same events (%d calls)", how, atomic_load(&cb_calls));
	if (!dereg_in_time)
		check_revoked(mr, &m, how);
	unmap(&m);
}

/*
 * A second MR over the file while its lease breaks, through the same open
 * file: the truncate holds the file open for writing, so no lease can be
 * taken (had it been, it would be the breaking lease itself, released with
 * the first MR). An fsdax file is then refused with EAGAIN; a page-cache one
 * registers without lease or guard, as rdmapin(7) says ("leased if a lease
 * can be had"), and says so; the truncate then takes its pinned pages out of
 * the file, and the library revokes it for that (rdmapin_guard(7)).
 */
static void check_reg_while_breaking(unsigned int grace_ms)
{
	const char *how = "a second MR while the lease breaks";
	bool fsdax = env.kernel == KERNEL_7;
	struct rdmapin_mr_attr attr = { .comp_mask = 0 };
	struct ibv_mr *mr, *second;
	struct rdmapin_async_event ev;
	struct mapping m = unmapped;
	char path[PATH_MAX];
	pid_t pid;
	double took;
	int rd;

	mr = reg_and_break(&m, grace_ms, how, &pid, &rd);
	if (!mr)
		return;
	errno = 0;
	second = rdmapin_reg_mr(peer.pd, m.addr, m.len, MR_ACCESS);
	if (fsdax)
		check(!second && errno == EAGAIN && strstr(rdmapin_last_error(), "being truncated"),
		      "%s: fsdax: refused with EAGAIN, naming the truncate (%s: %s)", how,
		      strerror(errno), rdmapin_last_error());
	else
		check(second && rdmapin_query_mr(second, &attr) == 0 &&
			      attr.lease == RDMAPIN_LEASE_KIND_NONE &&
			      attr.guard == RDMAPIN_GUARD_KIND_NONE,
		      "%s: page-cache: registered with no lease and no guard, and says so (%s)",
		      how, rdmapin_last_error());
	ev = next_event(peer.ctx, grace_ms + 5000, path, sizeof(path));
	check(ev.type == RDMAPIN_EVENT_MR_REVOKED && ev.mr == mr,
	      "%s: the first MR is revoked after its grace (%d)", how, ev.type);
	took = breaker_result(pid, rd, how);
	check(took >= grace_ms / 1e3 - 0.05, "%s: the truncate went on after %.1f ms", how,
	      took * 1e3);
	if (second) {
		ev = next_event(peer.ctx, 2000, path, sizeof(path));
		check(ev.type == RDMAPIN_EVENT_MR_REVOKED && ev.mr == second,
		      "%s: page-cache: the truncate took the second MR's pinned pages, which "
		      "revoked it (%d)",
		      how, ev.type);
		rdmapin_dereg_mr(second);
	}
	rdmapin_dereg_mr(mr);
	unmap(&m);
}

/* The break callback itself deregisters its MR: no hang, and the truncate goes on at once. */
static void check_dereg_in_callback(unsigned int grace_ms)
{
	const char *how = "break_cb deregisters its MR";
	struct mapping m = unmapped;
	struct ibv_mr *mr;
	double took;
	int rd;
	pid_t pid;

	atomic_store(&cb_dereg_ret, -1);
	mr = reg_leased(peer.pd, &m, grace_ms, on_break_dereg, how);
	if (!mr)
		return;
	pid = start_breaker(do_truncate, m.path, &rd);
	wait_cb_calls(1);
	took = breaker_result(pid, rd, how);
	check(atomic_load(&cb_dereg_ret) == 0, "%s: rdmapin_dereg_mr in the callback returns 0 "
	      "(%d)", how, atomic_load(&cb_dereg_ret));
	check(took >= 0 && took < grace_ms / 1e3, "%s: the truncate took %.1f ms, within the "
	      "%u ms grace", how, took * 1e3, grace_ms);
	unmap(&m);
}

static int sysctl_swap(const char *path, int value)
{
	FILE *f = fopen(path, "r+");
	int old = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &old) != 1 || fseek(f, 0, SEEK_SET) || fprintf(f, "%d\n", value) < 0)
		old = -1;
	return fclose(f) ? -1 : old;
}

/* Whether a real-time signal can be queued to this process now. */
static bool rt_signal_queues(void)
{
	const struct timespec none = { 0, 0 };
	sigset_t set;
	int ret;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, NULL);
	ret = sigqueue(getpid(), SIGRTMIN, (union sigval){ 0 });
	sigtimedwait(&set, NULL, &none);
	return ret == 0;
}

/*
 * The library's thread takes only a SIGIO sent to itself: one sent to the
 * whole process, while every thread blocks it, stays for the application.
 */
static void check_process_sigio_kept(void)
{
	const struct timespec none = { 0, 0 };
	struct mapping m = unmapped;
	struct ibv_mr *mr;
	sigset_t set;

	mr = reg_leased(peer.pd, &m, 0, on_break, "a SIGIO to the process");
	if (!mr)
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGIO);
	sigprocmask(SIG_BLOCK, &set, NULL);
	kill(getpid(), SIGIO);
	usleep(100000);
	check(sigtimedwait(&set, NULL, &none) == SIGIO,
	      "a SIGIO sent to the process is still pending for the application");
	check(rdmapin_dereg_mr(mr) == 0, "a SIGIO to the process: rdmapin_dereg_mr");
	unmap(&m);
}

/*
 * RLIMIT_SIGPENDING reached: the kernel sends a plain SIGIO for a break
 * instead of the lease signal (fs/fcntl.c, send_sigio_to_task()), and the
 * library's wake-ups by that signal fail with EAGAIN. A break must still
 * revoke at once, and a deregistration (which wakes the library's thread to
 * release the lease) must still return. A wake-up lost for good would hang:
 * the alarm ends the test instead.
 */
static void check_without_queued_signals(void)
{
	const char *how = "truncate(2), RLIMIT_SIGPENDING 0";
	struct rlimit old, none;
	struct mapping m = unmapped;
	struct ibv_mr *mr;
	int break_time, ret;
	double t;

	break_time = sysctl_swap(LEASE_BREAK_TIME, SHORT_BREAK_TIME_S);
	if (!check(break_time > 0 && !getrlimit(RLIMIT_SIGPENDING, &old),
		   "set fs.lease-break-time to %d s", SHORT_BREAK_TIME_S))
		return;
	none = (struct rlimit){ .rlim_cur = 0, .rlim_max = old.rlim_max };
	alarm(30);
	if (check(!setrlimit(RLIMIT_SIGPENDING, &none) && !rt_signal_queues(),
		  "RLIMIT_SIGPENDING 0: a real-time signal cannot be queued")) {
		check_break(how, do_truncate);
		mr = reg_leased(peer.pd, &m, 0, on_break, "RLIMIT_SIGPENDING 0");
		if (mr) {
			t = now_s();
			ret = rdmapin_dereg_mr(mr);
			t = now_s() - t;
			check(!ret && t < UNBLOCK_LIMIT_S,
			      "RLIMIT_SIGPENDING 0: deregistered in %.1f ms", t * 1e3);
			unmap(&m);
		}
	}
	alarm(0);
	setrlimit(RLIMIT_SIGPENDING, &old);
	sysctl_swap(LEASE_BREAK_TIME, break_time);
}

int main(void)
{
	if (read_env())
		return check_done();
	if (!check(!rdma_peer_open(&peer, env.rxe0, env.gid_index), "open %s", env.rxe0))
		return check_done();
	other_ctx = rdma_peer_open_device(env.rxe0);
	if (!check(other_ctx != NULL, "a second context of %s", env.rxe0))
		return check_done();
	check_break("truncate(2)", do_truncate);
	check_break("open(O_TRUNC)", do_open_trunc);
	check_remote_writes();
	check_grace(2000, true);
	check_grace(500, false);
	check_dereg_in_callback(2000);
	check_reg_while_breaking(500);
	check_process_sigio_kept();
	check_without_queued_signals();
	rdma_peer_close(&peer);
	ibv_close_device(other_ctx);
	return check_done();
}
