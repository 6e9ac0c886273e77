// SPDX-License-Identifier: MIT
/*
 * The library's side of the truncate guard: see guard_client.h. One
 * connection to the daemon per process, opened when first needed; the daemon
 * ties the entries to it and drops them when it closes, so a process that
 * dies leaves nothing guarded behind it. The connection lives in the library
 * thread's fd table (break_thread.h), where the application cannot close it
 * or put a socket of its own on its number. Requests go through its alias,
 * a copy the thread sends back into the application's table (app_fd.h):
 * from the caller's thread, they spare a guarded registration two trips to
 * the library's thread and back. An application that closes the alias ends
 * no entry; one it closed or replaced is left alone and sent anew. Without
 * one, requests run on the thread. All of it under gc->lock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

#include "app_fd.h"
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

/*
 * @req on @fd, after the UNGUARDs the daemon missed, whenever the process
 * talks to it: one whose send timed out was never sent, on a connection
 * that stays. -1 with errno when one of them fails.
 */
static int call(int fd, const struct rdmapin_guardd_request *req, int pass_fd,
		struct rdmapin_guardd_reply *reply)
{
	struct rdmapin_guardd_request missed = { .op = RDMAPIN_GUARDD_UNGUARD };

	while (gc->npending) {
		missed.id = gc->pending[gc->npending - 1];
		if (rdmapin_guardd_call(fd, &missed, -1, reply))
			return -1;
		gc->npending--;
	}
	return rdmapin_guardd_call(fd, req, pass_fd, reply);
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
			gc->conn_gen++;
			gc->away_until = 0;
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
		if (!call(gc->conn, req, pass_fd, reply))
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
 * up on is no answer, and goes. The connection is sent back through *@back,
 * with its number (conn_gen): the alias.
 */
static int connect_on_thread(void *unused, int *back)
{
	(void)unused;
	if (gc->conn >= 0 && hung_up(gc->conn)) {
		close(gc->conn);
		gc->conn = -1;
	}
	if (connection() >= 0 && *back >= 0)
		rdmapin_guardd_send(*back, &gc->conn_gen, sizeof(gc->conn_gen), gc->conn);
	return gc->conn;
}

/* The alias that came on @sock, if one did: the old one goes. */
static void take_alias(int sock)
{
	unsigned int gen;
	bool malformed;
	int fd;

	if (rdmapin_guardd_recv(sock, &gen, sizeof(gen), &fd, &malformed) != sizeof(gen) ||
	    malformed || fd < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	rdmapin_app_fd_forget(&gc->alias);
	if (rdmapin_app_fd_set(&gc->alias, fd) >= 0)
		gc->alias_gen = gen;
}

/*
 * Starts the thread and connects there, and takes the alias: the
 * connection's fd (the thread's), or -1. A daemon believed away is told
 * here, without a trip to the thread.
 */
static int connect_by_thread(void)
{
	int sv[2] = { -1, -1 }, ret;
	struct stat st;

	if (gc->conn < 0 && believed_away(rdmapin_guardd_socket(), &st))
		return -1;
	rdmapin_setup_lock();
	ret = rdmapin_break_thread_start();
	rdmapin_setup_unlock();
	if (ret)
		return -1;
	/* No pair (no fd left): no alias, and requests run on the thread. */
	socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv);
	ret = rdmapin_break_thread_call(connect_on_thread, NULL, sv[1]);
	if (sv[0] >= 0) {
		if (ret >= 0)
			take_alias(sv[0]);
		close(sv[0]);
		close(sv[1]);
	}
	return ret;
}

/*
 * The alias, checked to be ours; -1 when there is none, and on the thread,
 * whose table holds the connection itself.
 */
static int alias(void)
{
	if (gc->alias.fd < 0 || rdmapin_on_break_thread())
		return -1;
	if (gc->conn >= 0 && gc->alias_gen == gc->conn_gen && rdmapin_app_fd_ours(&gc->alias))
		return gc->alias.fd;
	rdmapin_app_fd_forget(&gc->alias);
	return -1;
}

/*
 * request() from this thread, through the alias: 1 when there is none, or
 * the connection broke (the thread then asks, and connects anew).
 */
static int request_here(const struct rdmapin_guardd_request *req, int pass_fd,
			struct rdmapin_guardd_reply *reply)
{
	int fd = alias();

	if (fd < 0)
		return 1;
	if (!call(fd, req, pass_fd, reply))
		return 0;
	if (errno == EAGAIN)
		return rdmapin_guardd_away(errno);
	rdmapin_app_fd_forget(&gc->alias);
	return 1;
}

struct guard_try {
	dev_t dev;
	ino_t ino;
	struct rdmapin_guardd_reply reply;
	bool answered;
};

typedef int (*request_fn)(const struct rdmapin_guardd_request *req, int pass_fd,
			  struct rdmapin_guardd_reply *reply);

/* Passes the daemon the file at @fd, once it is checked to be the file meant, by @ask. */
static int ask_guard(struct guard_try *t, int fd, request_fn ask)
{
	const struct rdmapin_guardd_request req = { .op = RDMAPIN_GUARDD_GUARD };
	int ret;

	if (fd < 0 || !rdmapin_fd_is_file(fd, t->dev, t->ino)) {
		errno = EBADF;
		return -1;
	}
	ret = ask(&req, fd, &t->reply);
	if (ret)
		return ret;
	t->answered = true;
	errno = t->reply.err;
	return t->reply.err ? -1 : 0;
}

static int guard_on_thread(void *ctx, int *fd)
{
	return ask_guard(ctx, *fd, request);
}

/*
 * Through the alias, from a copy of @app_fd on a number the application did
 * not choose: the file checked is the file passed. 1: ask the thread.
 */
static int guard_here(struct guard_try *t, int app_fd)
{
	int fd = fcntl(app_fd, F_DUPFD_CLOEXEC, 0), ret, err;

	if (fd < 0)
		return 1;
	ret = ask_guard(t, fd, request_here);
	err = errno;
	close(fd);
	errno = err;
	return ret;
}

/* Asks the daemon to guard the file open at @fd; an fd it refuses is passed over. */
static int try_daemon(int fd, void *ctx)
{
	int ret = guard_here(ctx, fd);

	return ret <= 0 ? ret : rdmapin_break_thread_call(guard_on_thread, ctx, fd);
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
	if (alias() < 0 && connect_by_thread() < 0)
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

/* An UNGUARD of @id the daemon missed, sent when it is back. */
static void unguard_later(uint64_t id)
{
	uint64_t *grown;

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
}

static int unguard_on_thread(void *ctx, int *unused)
{
	const struct rdmapin_guardd_request req = { .op = RDMAPIN_GUARDD_UNGUARD,
						    .id = *(uint64_t *)ctx };
	struct rdmapin_guardd_reply reply;

	(void)unused;
	if (request(&req, -1, &reply))
		unguard_later(req.id);
	return 0;
}

/* Through the alias, else on the thread. */
static void unguard(uint64_t id)
{
	const struct rdmapin_guardd_request req = { .op = RDMAPIN_GUARDD_UNGUARD, .id = id };
	struct rdmapin_guardd_reply reply;
	int ret = request_here(&req, -1, &reply);

	if (ret > 0)
		rdmapin_break_thread_call(unguard_on_thread, &id, -1);
	else if (ret < 0)
		unguard_later(id);
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
			unguard(f->id);
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
 * table, which the child does not have: only the memory goes, and the
 * child's copy of the alias, which would keep the connection open.
 */
void rdmapin_guard_client_forget(void)
{
	struct rdmapin_guarded_file *f;

	rdmapin_app_fd_forget(&gc->alias);
	free(gc->pending);
	while ((f = gc->files)) {
		gc->files = f->next;
		free(f);
	}
}
