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
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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
	guardd_state_save(d);
	for (i = 0; i < c->nentries; i++)
		if (rdmapin_guard_unref(&c->entries[i].key, "rdmapin-guardd"))
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
static void pause_accepting(struct guardd *d)
{
	fprintf(stderr, "rdmapin-guardd: out of file descriptors (%s): new clients wait until "
		"one goes\n", strerror(errno));
	if (!epoll_ctl(d->epfd, EPOLL_CTL_DEL, d->listen_fd, NULL))
		d->accept_paused = true;
}

void guardd_accept(struct guardd *d)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct guardd_client *c;
	uint64_t start;
	int sock, pidfd;

	sock = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (sock < 0 && (errno == EMFILE || errno == ENFILE))
		pause_accepting(d);
	if (sock < 0)
		return;
	if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
	    (pidfd = peer_pidfd(sock, cred.pid)) < 0) {
		fprintf(stderr, "rdmapin-guardd: a client cannot be tracked, so it is turned "
			"away: %s\n", strerror(errno));
		close(sock);
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

static size_t user_entries(const struct guardd *d, uid_t uid)
{
	const struct guardd_client *c;
	size_t n = 0;

	for (c = d->clients; c; c = c->next)
		if (c->uid == uid)
			n += c->nentries;
	return n;
}

/* No one may freeze a file that they may not modify: the fd must be open for writing. */
static int guard(struct guardd *d, struct guardd_client *c, int fd, struct rdmapin_guardd_reply *r)
{
	struct rdmapin_guard_key key;
	int mode = fd >= 0 ? fcntl(fd, F_GETFL) & (O_ACCMODE | O_PATH) : -1;

	if (fd < 0)
		return refuse(r, EINVAL, "GUARD needs the file's fd in SCM_RIGHTS");
	if (mode != O_WRONLY && mode != O_RDWR)
		return refuse(r, EACCES,
			      "the fd is not open for writing: only a file its "
			      "client may modify is guarded; open it O_RDWR");
	if (c->uid && user_entries(d, c->uid) >= d->max_user_entries)
		return refuse(r, ENOSPC, "uid %u holds %u entries, the most one user may "
			      "(rdmapin-guardd --max-entries-per-user)", c->uid,
			      d->max_user_entries);
	if (c->nentries >= GUARDD_MAX_ENTRIES)
		return refuse(r, ENOSPC, "pid %d holds %d entries, the most a client may", c->pid,
			      GUARDD_MAX_ENTRIES);
	if (rdmapin_guard_key_of(fd, &key, "rdmapin-guardd") ||
	    guardd_entry_add(c, d->next_id, &key))
		return refuse(r, errno, "%s",
			      errno == ENOMEM ? "out of memory" : rdmapin_error_msg());
	if (rdmapin_guard_ref(&key, "rdmapin-guardd")) {
		c->nentries--;
		return refuse(r, errno, "%s", rdmapin_error_msg());
	}
	r->id = d->next_id++;
	return guardd_state_save(d);
}

static int unguard(struct guardd *d, struct guardd_client *c, uint64_t id,
		   struct rdmapin_guardd_reply *r)
{
	struct rdmapin_guard_key key;
	size_t i;

	for (i = 0; i < c->nentries && c->entries[i].id != id; i++)
		;
	if (i == c->nentries)
		return refuse(r, ENOENT, "pid %d holds no entry %llu", c->pid,
			      (unsigned long long)id);
	key = c->entries[i].key;
	c->entries[i] = c->entries[--c->nentries];
	guardd_state_save(d);
	if (rdmapin_guard_unref(&key, "rdmapin-guardd"))
		return refuse(r, errno, "%s", rdmapin_error_msg());
	return 0;
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

	for (i = 0; i < c->nentries; i++)
		if (rdmapin_guard_holds(&c->entries[i].key) == 1)
			c->entries[kept++] = c->entries[i];
	c->nentries = kept;
	guardd_client_drop(d, c, "ended while the daemon was away");
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
		    rdmapin_guard_ref(&c->entries[i].key, "rdmapin-guardd"))
			fprintf(stderr, "rdmapin-guardd: %s\n", rdmapin_error_msg());
	if (client_watch(d, c))
		guardd_client_drop(d, c, "could not be watched");
}

/*
 * Ended clients go first: a running client's entry that is put back must not
 * be taken for an ended client's entry on the same file.
 */
int guardd_restore(struct guardd *d)
{
	struct guardd_client *c, *next;
	int ret = guardd_state_read(d);

	if (ret && errno != EINVAL)
		return -1;
	for (c = d->clients; c; c = next) {
		next = c->next;
		if (c->pidfd < 0)
			restore_ended(d, c);
	}
	for (c = d->clients; c; c = c->next)
		restore_running(d, c);
	guardd_state_save(d);
	if (ret)
		errno = EINVAL;
	return ret;
}
