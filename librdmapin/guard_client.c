// SPDX-License-Identifier: MIT
/*
 * The library's side of the truncate guard: see guard_client.h. One
 * connection to the daemon per process, opened when first needed; the daemon
 * ties the entries to it and drops them when it closes, so a process that
 * dies leaves nothing guarded behind it. The connection lives in the library
 * thread's fd table (break_thread.h), where the application cannot close it
 * or put a socket of its own on its number: everything that touches it runs
 * on that thread, asked by the caller holding gc->lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>

#include "break_thread.h"
#include "error.h"
#include "guard_client.h"
#include "guard_map.h"
#include "guardd_proto.h"
#include "lib.h"
#include "own_fd.h"
#include "proc.h"
#include "registration.h"
#include "str.h"

static struct rdmapin_guard_client *const gc = &rdmapin_lib.guard;

/* Whether the daemon hung up on @fd; a late reply waiting there is no hang-up. */
static bool hung_up(int fd)
{
	int err = errno;
	ssize_t n;
	char c;

	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && errno == EWOULDBLOCK)
		n = 1;
	errno = err;
	return n <= 0;
}

static void flush_pending(void)
{
	struct rdmapin_guardd_request req = { .op = RDMAPIN_GUARDD_UNGUARD };
	struct rdmapin_guardd_reply reply;

	while (gc->npending) {
		req.id = gc->pending[gc->npending - 1];
		if (rdmapin_guardd_call(gc->conn, &req, -1, &reply))
			return;
		gc->npending--;
	}
}

/* Seconds a failed connect is believed while the socket file stays the same. */
#define AWAY_RECHECK_S 1

/* Coarse: the vDSO answers it on any clocksource, where a fine clock may be a system call. */
static uint64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

/*
 * A daemon that is away mostly stays away: no socket file, or one whose
 * daemon died. So one stat() stands in for a socket(), connect() and close()
 * per registration: a missing socket is away, and a failed connect is
 * believed for AWAY_RECHECK_S while the socket file is the same one (a
 * starting daemon binds a new one; the interval covers one caught between
 * its bind() and listen()). Under gc->lock, on any thread.
 */
static bool believed_away(const char *path, struct stat *st)
{
	if (stat(path, st)) {
		rdmapin_guardd_away(errno);
		return true;
	}
	if (st->st_ino == gc->away_ino && st->st_dev == gc->away_dev &&
	    now_s() < gc->away_until) {
		rdmapin_guardd_away(ECONNREFUSED);
		return true;
	}
	return false;
}

/* Before a connect: believed away, or stamped to be believed so if it fails. */
static bool known_away(const char *path)
{
	struct stat st;

	if (believed_away(path, &st))
		return true;
	gc->away_ino = st.st_ino;
	gc->away_dev = st.st_dev;
	gc->away_until = now_s() + AWAY_RECHECK_S;
	return false;
}

/*
 * The connection, made when there is none: request() drops one that the
 * daemon hung up on, which its send finds out, and so does
 * connect_on_thread() (a restarted daemon gives a reconnecting process its
 * entries back). Kept once made: closing it would end this process's
 * entries. On the thread.
 */
static int connection(void)
{
	const char *path = rdmapin_guardd_socket();

	if (gc->conn < 0 && !known_away(path)) {
		gc->conn = rdmapin_guardd_connect_to(path);
		if (gc->conn >= 0) {
			gc->away_until = 0;
			flush_pending();
		}
	}
	return gc->conn;
}

/*
 * Sends @req to the daemon: 0 with @reply, or -1 with errno when the daemon
 * is away or slow. A connection that broke (a daemon that hung up, or
 * restarted: the send fails with EPIPE, or the receive finds the end) is
 * made again once; one that timed out is kept, since the daemon would take
 * its end as our exit.
 */
static int request(const struct rdmapin_guardd_request *req, int pass_fd,
		   struct rdmapin_guardd_reply *reply)
{
	int tries;

	for (tries = 0; tries < 2; tries++) {
		if (connection() < 0)
			return -1;
		if (!rdmapin_guardd_call(gc->conn, req, pass_fd, reply))
			return 0;
		if (errno == EAGAIN)
			break;
		close(gc->conn);
		gc->conn = -1;
	}
	return rdmapin_guardd_away(errno);
}

/*
 * Whether a daemon answers, when nothing is to be sent: a connection it hung
 * up on is no answer, and goes.
 */
static int connect_on_thread(void *unused, int *fd)
{
	(void)unused;
	(void)fd;
	if (gc->conn >= 0 && hung_up(gc->conn)) {
		close(gc->conn);
		gc->conn = -1;
	}
	return connection();
}

/*
 * Starts the thread and connects there: the connection's fd, or -1. A daemon
 * believed away is told here, without a trip to the thread. Under gc->lock.
 */
static int connect_by_thread(void)
{
	struct stat st;
	int ret;

	if (gc->conn < 0 && believed_away(rdmapin_guardd_socket(), &st))
		return -1;
	rdmapin_setup_lock();
	ret = rdmapin_break_thread_start();
	rdmapin_setup_unlock();
	return ret ? -1 : rdmapin_break_thread_call(connect_on_thread, NULL, -1);
}

struct guard_try {
	dev_t dev;
	ino_t ino;
	struct rdmapin_guardd_reply reply;
	bool answered;
};

/* On the thread: passes the daemon the file sent, once it is checked to be the file meant. */
static int guard_on_thread(void *ctx, int *fd)
{
	struct rdmapin_guardd_request req = { .op = RDMAPIN_GUARDD_GUARD };
	struct guard_try *t = ctx;
	int ret = -1, err = EBADF;

	if (*fd < 0 || !rdmapin_fd_is_file(*fd, t->dev, t->ino)) {
		err = EBADF;
	} else if (request(&req, *fd, &t->reply)) {
		err = errno;
	} else {
		t->answered = true;
		ret = t->reply.err ? -1 : 0;
		err = t->reply.err;
	}
	errno = err;
	return ret;
}

/* Asks the daemon to guard the file open at @fd; an fd it refuses is passed over. */
static int try_daemon(int fd, void *ctx)
{
	return rdmapin_break_thread_call(guard_on_thread, ctx, fd);
}

/*
 * Guards the file behind @mr through the daemon: 0, or -1 with the daemon's
 * refusal, or 1 when no daemon could be asked. A daemon believed away is
 * found out before any search for an fd to pass it. Under gc->lock.
 */
static int guard_by_daemon(const struct rdmapin_mr *mr, uint64_t *id)
{
	struct guard_try t = { .dev = mr->backing.dev, .ino = mr->backing.ino };
	int ret;

	/* Connected: a daemon that hung up since is found out by the request. */
	if (gc->conn < 0 && connect_by_thread() < 0)
		return 1;
	ret = mr->attr.fd >= 0 ?
		      try_daemon(mr->attr.fd, &t) :
		      rdmapin_own_fd_find(mr->backing.dev, mr->backing.ino, try_daemon, &t);
	if (ret < 0 && t.answered)
		return rdmapin_fail(errno, "%s: rdmapin-guardd refuses to guard it: %s",
				    mr->backing.path, t.reply.msg);
	if (ret < 0)
		return 1;
	*id = t.reply.id;
	return 0;
}

/*
 * The daemon's rule holds here too: whoever may open the map may put any key
 * in it, so the rule is all that stops this process from freezing files that
 * it could not lease.
 */
static int may_freeze(const struct rdmapin_mr *mr)
{
	const char *path = mr->backing.path;
	struct stat st;

	if (rdmapin_proc_capable(0, CAP_LEASE))
		return 0;
	if (stat(path, &st) || st.st_dev != mr->backing.dev || st.st_ino != mr->backing.ino)
		return rdmapin_fail(EACCES, "%s: its owner cannot be told (the path no longer "
				    "names the mapped file), and the truncate guard is for the "
				    "file's owner or a process with CAP_LEASE", path);
	return rdmapin_guard_may_freeze(setfsuid(-1), false, st.st_uid, path);
}

/* The daemon checks the filesystem of the fd it is given; the direct path, here. */
static int fs_guardable(const struct rdmapin_mr *mr)
{
	struct statfs fs;

	if (statfs(mr->backing.path, &fs))
		return rdmapin_fail(errno, "%s: statfs: %s; the truncate guard cannot tell "
				    "the file's filesystem", mr->backing.path, strerror(errno));
	return rdmapin_guard_fs_check(&fs, mr->backing.path);
}

/*
 * Neither a daemon nor a map this process may edit: believed for
 * AWAY_RECHECK_S, so that registrations meanwhile go to the lease without
 * the socket's stat() and the map's BPF_OBJ_GET, failed path walks that
 * cost a first MR a fifth of its time in a TCG guest. A daemon that is away
 * is what no request tells: it lost its connection, or never had one. A
 * socket named anew (RDMAPIN_GUARDD_SOCKET) is asked at once.
 */
static bool believed_unguarded(const struct rdmapin_mr *mr)
{
	if (gc->conn >= 0 || now_s() >= gc->none_until ||
	    strcmp(gc->none_socket, rdmapin_guardd_socket()))
		return false;
	rdmapin_fail_str(EOPNOTSUPP, mr->backing.path, gc->none_msg);
	return true;
}

/* The daemon's reason is cut short rather than the remedy after it. */
static int unguarded(const struct rdmapin_mr *mr, const char *daemon_why)
{
	snprintf(gc->none_msg, sizeof(gc->none_msg),
		 "no truncate guard: %.400s, and this process may not edit the "
		 "guard's map (" RDMAPIN_GUARD_MAP ")",
		 daemon_why);
	rdmapin_strscpy(gc->none_socket, rdmapin_guardd_socket(), sizeof(gc->none_socket));
	gc->none_until = gc->conn < 0 ? now_s() + AWAY_RECHECK_S : 0;
	return rdmapin_fail_str(EOPNOTSUPP, mr->backing.path, gc->none_msg);
}

/* The guard for @mr's file, from the daemon or the map itself. Under gc->lock. */
static int guard_file(const struct rdmapin_mr *mr, struct rdmapin_guarded_file *f)
{
	struct rdmapin_guard_key key;
	char daemon_why[512];
	int ret;

	ret = guard_by_daemon(mr, &f->id);
	if (ret <= 0) {
		f->kind = RDMAPIN_GUARD_KIND_DAEMON;
		return ret;
	}
	snprintf(daemon_why, sizeof(daemon_why), "%s",
		 errno == EBADF ? "this process has no fd open on it to pass to rdmapin-guardd" :
				  rdmapin_error_msg());
	if (!rdmapin_guard_writable())
		return unguarded(mr, daemon_why);
	if (fs_guardable(mr) || may_freeze(mr))
		return -1;
	rdmapin_guard_key_init(&key, mr->backing.dev, mr->backing.ino);
	f->kind = RDMAPIN_GUARD_KIND_DIRECT;
	return rdmapin_guard_ref(&key, mr->backing.path);
}

static struct rdmapin_guarded_file **find_file(dev_t dev, ino_t ino)
{
	struct rdmapin_guarded_file **p;

	for (p = &gc->files; *p; p = &(*p)->next)
		if ((*p)->dev == dev && (*p)->ino == ino)
			break;
	return p;
}

/*
 * One guard entry serves every MR over a file: later MRs only count
 * themselves in, with no daemon request and no search for an fd.
 */
int rdmapin_guard_mr(struct rdmapin_mr *mr)
{
	struct rdmapin_guarded_file *f;
	int ret = 0;

	pthread_mutex_lock(&gc->lock);
	f = *find_file(mr->backing.dev, mr->backing.ino);
	if (!f && believed_unguarded(mr)) {
		ret = -1;
	} else if (!f && (f = calloc(1, sizeof(*f)))) {
		f->dev = mr->backing.dev;
		f->ino = mr->backing.ino;
		ret = guard_file(mr, f);
		if (ret) {
			free(f);
			f = NULL;
		} else {
			f->next = gc->files;
			gc->files = f;
		}
	} else if (!f) {
		ret = rdmapin_fail(ENOMEM, "out of memory for a guard record");
	}
	if (f) {
		f->refs++;
		mr->guard = f->kind;
	}
	pthread_mutex_unlock(&gc->lock);
	return ret;
}

/* On the thread, asked under gc->lock. */
static int unguard_on_thread(void *ctx, int *unused)
{
	struct rdmapin_guardd_request req = { .op = RDMAPIN_GUARDD_UNGUARD };
	struct rdmapin_guardd_reply reply;
	uint64_t *grown, id = *(uint64_t *)ctx;

	req.id = id;
	if (!request(&req, -1, &reply))
		return 0;
	if (gc->npending == gc->pending_cap) {
		grown = reallocarray(gc->pending, gc->pending_cap * 2 + 8, sizeof(*gc->pending));
		if (grown) {
			gc->pending = grown;
			gc->pending_cap = gc->pending_cap * 2 + 8;
		}
	}
	/* Out of memory: the entry stays until this process ends. */
	if (gc->npending < gc->pending_cap)
		gc->pending[gc->npending++] = id;
	return 0;
}

/* The last MR over the file lifts its guard. */
void rdmapin_unguard_mr(struct rdmapin_mr *mr)
{
	struct rdmapin_guarded_file **p, *f;
	struct rdmapin_guard_key key;
	int err = errno;

	if (mr->guard == RDMAPIN_GUARD_KIND_NONE)
		return;
	pthread_mutex_lock(&gc->lock);
	p = find_file(mr->backing.dev, mr->backing.ino);
	f = *p;
	if (f && !--f->refs) {
		*p = f->next;
		if (f->kind == RDMAPIN_GUARD_KIND_DAEMON) {
			rdmapin_break_thread_call(unguard_on_thread, &f->id, -1);
		} else {
			/* Fails only when the guard was unloaded: then nothing is left to undo. */
			rdmapin_guard_key_init(&key, f->dev, f->ino);
			rdmapin_guard_unref(&key, mr->backing.path);
		}
		free(f);
	}
	pthread_mutex_unlock(&gc->lock);
	mr->guard = RDMAPIN_GUARD_KIND_NONE;
	errno = err;
}

enum rdmapin_guard_kind rdmapin_guard_reachable(char *why, size_t len)
{
	int fd;

	pthread_mutex_lock(&gc->lock);
	fd = connect_by_thread();
	pthread_mutex_unlock(&gc->lock);
	if (fd >= 0) {
		snprintf(why, len, "through rdmapin-guardd on %s", rdmapin_guardd_socket());
		return RDMAPIN_GUARD_KIND_DAEMON;
	}
	if (rdmapin_guard_writable()) {
		snprintf(why, len, "directly in " RDMAPIN_GUARD_MAP " (no rdmapin-guardd)");
		return RDMAPIN_GUARD_KIND_DIRECT;
	}
	snprintf(why, len, "%s, and this process may not edit " RDMAPIN_GUARD_MAP,
		 rdmapin_error_msg());
	return RDMAPIN_GUARD_KIND_NONE;
}

/*
 * The entries are the parent's, and so is the connection, in its thread's
 * table, which the child does not have: only the memory goes.
 */
void rdmapin_guard_client_forget(void)
{
	struct rdmapin_guarded_file *f;

	free(gc->pending);
	while ((f = gc->files)) {
		gc->files = f->next;
		free(f);
	}
}
