/* SPDX-License-Identifier: MIT */
/*
 * rdmapin-guardd(8): the privileged keeper of the truncate guard. Clients
 * (librdmapin in any process) pass it an fd of a file they have open for
 * writing; it guards the file until the client undoes that, disconnects or
 * dies. What it holds for whom is saved in its runtime directory, so that a
 * restarted daemon takes over its predecessor's entries.
 */
#ifndef RDMAPIN_GUARDD_H
#define RDMAPIN_GUARDD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/types.h>

#include "rdmapin_guard.h"

/* No client may hold the whole map: a file per MR, at most this many. */
#define GUARDD_MAX_ENTRIES 4096
/* Nor may one user, through many clients: the default of --max-entries-per-user. */
#define GUARDD_MAX_USER_ENTRIES 16384

struct guardd_entry {
	uint64_t id;
	struct rdmapin_guard_key key;
};

struct guardd_client;

/* What an epoll event is about. */
struct guardd_watch {
	enum { WATCH_LISTEN, WATCH_SIGNAL, WATCH_SOCK, WATCH_PIDFD } what;
	struct guardd_client *client;	/* WATCH_SOCK, WATCH_PIDFD */
};

struct guardd_client {
	int sock;			/* -1: restored from the state, not reconnected yet */
	int pidfd;			/* -1: a saved client that ended */
	pid_t pid;
	uid_t uid;
	uint64_t start_time;		/* /proc/PID/stat field 22: tells a reused pid */
	struct guardd_entry *entries;
	size_t nentries, cap;
	struct guardd_watch sock_watch, pid_watch;
	struct guardd_client *next;
};

struct guardd {
	int epfd;
	const char *dir;		/* the runtime directory */
	int dirfd;
	int listen_fd;
	struct guardd_watch listen_watch;
	bool accept_paused;		/* out of fds: until a client goes */
	unsigned int max_user_entries;	/* per uid but root's */
	uint64_t next_id;
	struct guardd_client *clients;
};

/* clients.c */
int guardd_watch(struct guardd *d, int fd, struct guardd_watch *w);
struct guardd_client *guardd_client_new(struct guardd *d, pid_t pid, uid_t uid, uint64_t start_time,
					int pidfd);
int guardd_client_watch(struct guardd *d, struct guardd_client *c);
void guardd_client_drop(struct guardd *d, struct guardd_client *c, const char *why);
int guardd_entry_add(struct guardd_client *c, uint64_t id, const struct rdmapin_guard_key *key);
void guardd_accept(struct guardd *d);
void guardd_serve(struct guardd *d, struct guardd_client *c);

/* state.c */
int guardd_state_save(struct guardd *d);
int guardd_state_restore(struct guardd *d);

#endif
