// SPDX-License-Identifier: MIT
/*
 * rdmapin-guardd's clients: who they are, what they ask, and the guard's map
 * kept in step with what they hold (state.c keeps and saves that).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/capability.h>

#include "clients.h"
#include "error.h"
#include "guard_map.h"
#include "guardd_proto.h"
#include "proc.h"
#include "state.h"

/* Linux 6.5; the kernel headers of Debian 12 lack it. */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

int guardd_watch(struct guardd *d, int fd, struct guardd_watch *w)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = w };

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* A pidfd turns readable when its process exits: the client's entries go then. */
static int client_watch(struct guardd *d, struct guardd_client *c)
{
	if (guardd_watch(d, c->pidfd, &c->pid_watch))
		return -1;
	return c->sock >= 0 ? guardd_watch(d, c->sock, &c->sock_watch) : 0;
}

/*
 * The state forgets the client before the map loses its entries: a daemon
 * killed in between leaves files guarded too long, never too short.
 */
void guardd_client_drop(struct guardd *d, struct guardd_client *c, const char *why)
{
	struct guardd_client **p;
	size_t i;

	for (p = &d->clients; *p != c; p = &(*p)->next)
		;
	*p = c->next;
	guardd_state_gone(d, c);
	for (i = 0; i < c->nentries; i++)
		if (guardd_map_unref(&d->map, &c->entries[i].key))
			fprintf(stderr, "rdmapin-guardd: %s\n", rdmapin_error_msg());
	if (c->nentries)
		fprintf(stderr, "rdmapin-guardd: pid %d (uid %u) %s: %zu entries removed\n", c->pid,
			c->uid, why, c->nentries);
	guardd_client_free(c);
	if (d->accept_paused && !guardd_watch(d, d->listen_fd, &d->listen_watch))
		d->accept_paused = false;
}

/*
 * The peer's pidfd. Where SO_PEERPIDFD is missing (before 6.5), pidfd_open()
 * of the pid it connected with, believed only while the connection is still
 * open: the peer cannot have died and had its pid reused before hanging up.
 */
static int peer_pidfd(int sock, pid_t pid)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	socklen_t len = sizeof(int);
	int pidfd;

	if (!getsockopt(sock, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len))
		return pidfd;
	pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -1;
	if (poll(&p, 1, 0) == 1 && (p.revents & (POLLHUP | POLLERR))) {
		close(pidfd);
		errno = ESRCH;
		return -1;
	}
	return pidfd;
}

/* A client restored from the state takes its new connection. */
static struct guardd_client *restored(struct guardd *d, pid_t pid, uint64_t start_time)
{
	struct guardd_client *c;

	for (c = d->clients; c; c = c->next)
		if (c->sock < 0 && c->pid == pid && c->start_time == start_time)
			return c;
	return NULL;
}

/*
 * Out of file descriptors, the pending connection stays and the listening
 * socket stays readable: stop watching it, or the loop spins, until a client
 * goes and frees some.
 */
static void pause_accepting(struct guardd *d, int err)
{
	fprintf(stderr, "rdmapin-guardd: out of file descriptors (%s): new clients wait until "
		"one goes\n", strerror(err));
	if (!epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->listen_fd, NULL))
		d->accept_paused = true;
}

/* What the clients of @uid hold: connections (with their pidfds) and entries. */
static void user_usage(const struct guardd *d, uid_t uid, size_t *conns, size_t *entries)
{
	const struct guardd_client *c;

	*conns = *entries = 0;
	for (c = d->clients; c; c = c->next) {
		if (c->uid != uid)
			continue;
		*conns += c->sock >= 0;
		*entries += c->nentries;
	}
}

/* The fds that clients other than root's hold in the daemon: socket, pidfd, entries. */
static size_t others_fds(const struct guardd *d)
{
	const struct guardd_client *c;
	size_t n = 0;

	for (c = d->clients; c; c = c->next)
		if (c->uid)
			n += (c->sock >= 0) + (c->pidfd >= 0) + c->nentries;
	return n;
}

/* Whether a new connection of @uid (not root) would pass a limit; @why says which. */
static bool over_conn_limit(const struct guardd *d, uid_t uid, char *why, size_t len)
{
	size_t conns, entries;

	user_usage(d, uid, &conns, &entries);
	if (conns >= d->max_user_conns)
		snprintf(why, len, "uid %u has %zu connections, the most one user may "
			 "(--max-connections-per-user)", uid, conns);
	else if (others_fds(d) + 2 > d->fd_budget)
		snprintf(why, len, "users other than root hold %zu file descriptors, all that "
			 "is theirs (LimitNOFILE, less a quarter kept for root)", d->fd_budget);
	else
		return false;
	return true;
}

/* Closes a connection over a limit; logs that once in a while, not once each. */
static void turn_away(struct guardd *d, int sock, const char *why)
{
	struct timespec now;

	close(sock);
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (d->turned_away_at && now.tv_sec < d->turned_away_at + 10)
		return;
	d->turned_away_at = now.tv_sec;
	fprintf(stderr, "rdmapin-guardd: turning away connections: %s (said at most every "
		"10 s)\n", why);
}

/*
 * Root's clients pass no limit: a quarter of the daemon's fds is kept for
 * them, so that no user can keep root from being answered.
 */
void guardd_accept(struct guardd *d)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct guardd_client *c;
	char why[256];
	uint64_t start;
	int sock, pidfd, err;

	sock = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (sock < 0 && (errno == EMFILE || errno == ENFILE))
		pause_accepting(d, errno);
	if (sock < 0)
		return;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len)) {
		close(sock);
		return;
	}
	if (cred.uid && over_conn_limit(d, cred.uid, why, sizeof(why))) {
		turn_away(d, sock, why);
		return;
	}
	pidfd = peer_pidfd(sock, cred.pid);
	if (pidfd < 0) {
		err = errno;
		close(sock);
		if (err == EMFILE || err == ENFILE)
			pause_accepting(d, err);
		else
			fprintf(stderr, "rdmapin-guardd: a client cannot be tracked, so it is "
				"turned away: %s\n", strerror(err));
		return;
	}
	start = rdmapin_proc_start_time(cred.pid);
	c = restored(d, cred.pid, start);
	if (c) {
		close(pidfd);
		c->sock = sock;
		if (!guardd_watch(d, sock, &c->sock_watch))
			return;
		guardd_client_drop(d, c, "could not be watched");
		return;
	}
	c = guardd_client_new(d, cred.pid, cred.uid, start, pidfd);
	if (!c) {
		close(pidfd);
		close(sock);
		return;
	}
	c->sock = sock;
	if (client_watch(d, c))
		guardd_client_drop(d, c, "could not be watched");
}

/* Fills the reply with a refusal; returns -1. */
static __attribute__((format(printf, 3, 4))) int refuse(struct rdmapin_guardd_reply *r, int err,
							const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	r->err = err;
	return -1;
}

/*
 * Whether the process behind @c still runs: then its pid is still its own.
 * Signal 0 sends nothing; EPERM (another user's, and no CAP_KILL) says it runs.
 */
static bool still_runs(const struct guardd_client *c)
{
	return !syscall(SYS_pidfd_send_signal, c->pidfd, 0, NULL, 0) || errno == EPERM;
}

/*
 * The lease rule (rdmapin_guard_may_freeze()), or the config's widening.
 * /proc/PID speaks for the client only if the client still runs afterwards.
 */
static int permitted(const struct guardd *d, const struct guardd_client *c,
		     const struct statx *stx, struct rdmapin_guardd_reply *r)
{
	bool beyond = c->uid != stx->stx_uid &&
		      (guardd_config_allows(&d->config, c->pid, stx->stx_gid) ||
		       rdmapin_proc_capable(c->pid, CAP_LEASE)) &&
		      still_runs(c);

	if (!rdmapin_guard_may_freeze(c->uid, beyond, stx->stx_uid, "rdmapin-guardd"))
		return 0;
	return refuse(r, errno, "%s", rdmapin_error_msg());
}

/* No user fills the map, or the daemon's fds; root's clients pass. */
static int within_limits(const struct guardd *d, const struct guardd_client *c,
			 struct rdmapin_guardd_reply *r)
{
	size_t conns, entries;

	if (c->nentries >= GUARDD_MAX_ENTRIES)
		return refuse(r, ENOSPC, "pid %d holds %d entries, the most a client may", c->pid,
			      GUARDD_MAX_ENTRIES);
	if (!c->uid)
		return 0;
	user_usage(d, c->uid, &conns, &entries);
	if (entries >= d->max_user_entries)
		return refuse(r, ENOSPC, "uid %u holds %u entries, the most one user may "
			      "(rdmapin-guardd --max-entries-per-user)", c->uid,
			      d->max_user_entries);
	if (others_fds(d) >= d->fd_budget)
		return refuse(r, ENOSPC, "users other than root hold %zu file descriptors in "
			      "rdmapin-guardd, all that is theirs; raise its LimitNOFILE",
			      d->fd_budget);
	return 0;
}

/*
 * An O_PATH fd of the file open at @fd: open_tree(2) without
 * OPEN_TREE_CLONE is openat(O_PATH) of an fd, with no walk through /proc,
 * which a seccomp filter without it (EPERM) or a kernel before 5.2 still
 * takes.
 */
static int reopen_path(int fd, const char *link)
{
	int path_fd = open_tree(fd, "", AT_EMPTY_PATH | OPEN_TREE_CLOEXEC);

	if (path_fd >= 0 || (errno != EPERM && errno != ENOSYS))
		return path_fd;
	return open(link, O_PATH | O_CLOEXEC);
}

/*
 * The file, held open by the daemon for as long as the entry lives, and where
 * it is: a restarted daemon finds it again there (guardd_restore()).
 */
static int hold(int fd, const struct statx *stx, struct guardd_entry *e,
		struct rdmapin_guardd_reply *r)
{
	char link[64], path[4096];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	e->fd = reopen_path(fd, link);
	if (e->fd < 0)
		return refuse(r, errno, "rdmapin-guardd cannot hold the file: %s%s",
			      strerror(errno), errno == EMFILE ? "; raise its LimitNOFILE" : "");
	n = readlink(link, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	if (stx->stx_mask & STATX_BTIME)
		e->btime = stx->stx_btime;
	e->path = strdup(path);
	if (e->path)
		return 0;
	close(e->fd);
	return refuse(r, ENOMEM, "out of memory");
}

/* Only a file that its client may modify, and may lease, is guarded. */
static int guard(struct guardd *d, struct guardd_client *c, int fd, struct rdmapin_guardd_reply *r)
{
	int mode = fd >= 0 ? fcntl(fd, F_GETFL) & (O_ACCMODE | O_PATH) : -1;
	struct guardd_entry e = { .id = d->next_id, .fd = -1 };
	struct statx stx;

	if (fd < 0)
		return refuse(r, EINVAL, "GUARD needs the file's fd in SCM_RIGHTS");
	if (mode != O_WRONLY && mode != O_RDWR)
		return refuse(r, EACCES,
			      "the fd is not open for writing: only a file its "
			      "client may modify is guarded; open it O_RDWR");
	if (rdmapin_guard_key_statx(fd, STATX_UID | STATX_GID | STATX_BTIME, &e.key, &stx,
				    "rdmapin-guardd"))
		return refuse(r, errno, "%s", rdmapin_error_msg());
	if (permitted(d, c, &stx, r) || within_limits(d, c, r) || hold(fd, &stx, &e, r))
		return -1;
	if (guardd_entry_add(c, &e)) {
		guardd_entry_free(&e);
		return refuse(r, ENOMEM, "out of memory");
	}
	if (guardd_map_ref(&d->map, &e.key)) {
		guardd_entry_free(&c->entries[--c->nentries]);
		return refuse(r, errno, "%s", rdmapin_error_msg());
	}
	r->id = d->next_id++;
	return guardd_state_added(d, c, &c->entries[c->nentries - 1]);
}

/* The file is let go only after the map forgot it: its inode stays the one guarded. */
static int unguard(struct guardd *d, struct guardd_client *c, uint64_t id,
		   struct rdmapin_guardd_reply *r)
{
	struct guardd_entry e;
	size_t i;
	int ret = 0;

	for (i = 0; i < c->nentries && c->entries[i].id != id; i++)
		;
	if (i == c->nentries)
		return refuse(r, ENOENT, "pid %d holds no entry %llu", c->pid,
			      (unsigned long long)id);
	e = c->entries[i];
	c->entries[i] = c->entries[--c->nentries];
	guardd_state_removed(d, c, id);
	if (guardd_map_unref(&d->map, &e.key))
		ret = refuse(r, errno, "%s", rdmapin_error_msg());
	guardd_entry_free(&e);
	return ret;
}

void guardd_serve(struct guardd *d, struct guardd_client *c)
{
	struct rdmapin_guardd_reply r = { .err = 0 };
	struct rdmapin_guardd_request req;
	bool malformed;
	ssize_t n;
	int fd;

	n = rdmapin_guardd_recv(c->sock, &req, sizeof(req), &fd, &malformed);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0 || (n == 0 && !malformed)) {
		guardd_client_drop(d, c, "hung up");
		return;
	}
	r.seq = n >= (ssize_t)sizeof(req) ? req.seq : 0;
	if (malformed || n != sizeof(req))
		refuse(&r, EINVAL, "malformed request (%zd bytes)", n);
	else if (req.op == RDMAPIN_GUARDD_GUARD)
		guard(d, c, fd, &r);
	else if (req.op == RDMAPIN_GUARDD_UNGUARD)
		unguard(d, c, req.id, &r);
	else
		refuse(&r, EINVAL, "unknown request %u", req.op);
	if (fd >= 0)
		close(fd);
	/* The socket does not block: a client that reads no replies loses them. */
	rdmapin_guardd_send(c->sock, &r, sizeof(r), -1);
}

/*
 * A client of the previous daemon that ended meanwhile: its entries go, but
 * only those the map holds (a guard loaded anew holds none of them).
 */
static void restore_ended(struct guardd *d, struct guardd_client *c)
{
	size_t i, kept = 0;

	for (i = 0; i < c->nentries; i++) {
		if (rdmapin_guard_holds(&c->entries[i].key) == 1)
			c->entries[kept++] = c->entries[i];
		else
			guardd_entry_free(&c->entries[i]);
	}
	c->nentries = kept;
	guardd_client_drop(d, c, "ended while the daemon was away");
}

static bool same_time(const struct statx_timestamp *a, const struct statx_timestamp *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/*
 * The file a saved entry names, held again, if it is still where it was:
 * the same device, inode and birth time. While no daemon held it, its inode
 * may have been freed and its number given to another file.
 */
static int find_again(const struct guardd_entry *e)
{
	const struct statx_timestamp none = { 0 };
	struct rdmapin_guard_key key;
	struct statx stx;
	int fd = open(e->path, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (!statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_INO | STATX_BTIME, &stx) &&
	    S_ISREG(stx.stx_mode)) {
		rdmapin_guard_key_init(&key, makedev(stx.stx_dev_major, stx.stx_dev_minor),
				       stx.stx_ino);
		if (key.dev == e->key.dev && key.ino == e->key.ino &&
		    same_time(stx.stx_mask & STATX_BTIME ? &stx.stx_btime : &none, &e->btime))
			return fd;
	}
	close(fd);
	return -1;
}

/* A running client's entries whose files cannot be found again go, logged. */
static void restore_found(struct guardd *d, struct guardd_client *c)
{
	struct guardd_entry *e;
	size_t i, kept = 0;

	for (i = 0; i < c->nentries; i++) {
		e = &c->entries[i];
		e->fd = find_again(e);
		if (e->fd >= 0) {
			c->entries[kept++] = *e;
			continue;
		}
		fprintf(stderr, "rdmapin-guardd: pid %d (uid %u): %s is not where it was "
			"(renamed, deleted, or out of the daemon's sight): its entry is removed\n",
			c->pid, c->uid, e->path);
		if (rdmapin_guard_holds(&e->key) == 1)
			guardd_map_unref(&d->map, &e->key);
		guardd_entry_free(e);
	}
	c->nentries = kept;
}

/*
 * A client that still runs is watched until it reconnects or ends. An entry
 * the map lacks was lost with a guard unloaded meanwhile: it is put back.
 */
static void restore_running(struct guardd *d, struct guardd_client *c)
{
	size_t i;

	for (i = 0; i < c->nentries; i++)
		if (!rdmapin_guard_holds(&c->entries[i].key) &&
		    guardd_map_ref(&d->map, &c->entries[i].key))
			fprintf(stderr, "rdmapin-guardd: %s\n", rdmapin_error_msg());
	if (client_watch(d, c))
		guardd_client_drop(d, c, "could not be watched");
}

/*
 * Ended clients go first, then the entries that lost their files: an entry
 * that is put back must not be taken for one of those on the same file.
 */
int guardd_restore(struct guardd *d)
{
	struct guardd_client *c, *next;

	if (guardd_state_read(d))
		return -1;
	for (c = d->clients; c; c = next) {
		next = c->next;
		if (c->pidfd < 0)
			restore_ended(d, c);
	}
	for (c = d->clients; c; c = c->next)
		restore_found(d, c);
	for (c = d->clients; c; c = next) {
		next = c->next;
		restore_running(d, c);
	}
	guardd_state_save(d);
	return 0;
}
