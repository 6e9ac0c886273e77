/* SPDX-License-Identifier: MIT */
/*
 * rdmapin-guardd(8)'s state: what it holds for whom. Clients (librdmapin in
 * any process) pass it an fd of a file they have open for writing; it guards
 * the file until the client undoes that, disconnects or dies. The state is
 * saved in its runtime directory, so that a restarted daemon takes over its
 * predecessor's entries. This is the bottom of the daemon: clients.c changes
 * the state and drives the restore, guardd.c runs the loop.
 */
#ifndef RDMAPIN_GUARDD_STATE_H
#define RDMAPIN_GUARDD_STATE_H

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

/* A client, first in d->clients, with no connection and no entries yet. */
struct guardd_client *guardd_client_new(struct guardd *d, pid_t pid, uid_t uid, uint64_t start_time,
					int pidfd);
/* Frees a client taken out of d->clients, closing its fds. */
void guardd_client_free(struct guardd_client *c);
int guardd_entry_add(struct guardd_client *c, uint64_t id, const struct rdmapin_guard_key *key);

/* Writes DIR/state; on failure says so on stderr, and returns -1. */
int guardd_state_save(struct guardd *d);
/*
 * Reads the state a predecessor left in DIR/state into d->clients (with a
 * pidfd for each that still runs) and d->next_id; 0 when there is none. -1
 * with errno: EINVAL when it is not a state this daemon writes (what it read
 * up to there is kept), another value when it cannot be read.
 */
int guardd_state_read(struct guardd *d);

#endif
