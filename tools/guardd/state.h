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
#include <time.h>
#include <sys/types.h>
#include <linux/stat.h>
#include <linux/types.h>

#include "config.h"
#include "held_map.h"
#include "rdmapin_guard.h"

/* No client may hold the whole map: a file per MR, at most this many. */
#define GUARDD_MAX_ENTRIES 4096
/* Nor may one user, through many clients: the default of --max-entries-per-user. */
#define GUARDD_MAX_USER_ENTRIES 16384
/* Nor open connections without end: the default of --max-connections-per-user. */
#define GUARDD_MAX_USER_CONNS 256

/*
 * The daemon holds each guarded file open (O_PATH: no access to its data,
 * and no effect on leases or exec): while the entry lives, the inode cannot
 * be freed, so its number cannot come to name another file.
 */
struct guardd_entry {
	uint64_t id;
	struct rdmapin_guard_key key;
	int fd;				/* O_PATH; -1 while restored from the state */
	struct statx_timestamp btime;	/* 0 where the filesystem keeps none */
	char *path;			/* where a successor finds the file again */
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
	const char *dir;		/* the runtime directory: the socket */
	int dirfd;
	int privfd;			/* DIR/private: the state */
	int listen_fd;
	struct guardd_watch listen_watch;
	bool accept_paused;		/* out of fds: until a client goes */
	unsigned int max_user_entries;	/* per uid but root's */
	unsigned int max_user_conns;	/* per uid but root's */
	size_t fd_budget;		/* what users but root may hold; the rest is root's */
	time_t turned_away_at;		/* when that was last logged (CLOCK_MONOTONIC) */
	struct guardd_config config;
	struct guardd_map map;		/* the guard's, held across requests */
	uint64_t next_id;
	struct guardd_client *clients;
	int journal_fd;			/* DIR/private/state, O_APPEND; -1: none yet */
	size_t journal_lines;		/* appended since the snapshot */
	size_t journal_limit;		/* then the snapshot is written anew */
};

/* A client, first in d->clients, with no connection and no entries yet. */
struct guardd_client *guardd_client_new(struct guardd *d, pid_t pid, uid_t uid, uint64_t start_time,
					int pidfd);
/* Frees a client taken out of d->clients, closing its fds. */
void guardd_client_free(struct guardd_client *c);
/*
 * Frees every client, in memory only: their entries stay in the guard's map
 * and in the state, for the next daemon.
 */
void guardd_clients_free(struct guardd *d);
/* Adds @e to @c, which then owns its fd and path; -1 (ENOMEM) leaves them to the caller. */
int guardd_entry_add(struct guardd_client *c, const struct guardd_entry *e);
/* Closes @e's fd and frees its path. */
void guardd_entry_free(struct guardd_entry *e);

/* Writes DIR/private/state whole; on failure says so on stderr, and returns -1. */
int guardd_state_save(struct guardd *d);
/*
 * Record one change, made already in d->clients: an entry added to or
 * removed from @c, or @c gone (taken out of d->clients). A line appended to
 * the state, or the state written whole; -1 as guardd_state_save().
 */
int guardd_state_added(struct guardd *d, const struct guardd_client *c,
		       const struct guardd_entry *e);
int guardd_state_removed(struct guardd *d, const struct guardd_client *c, uint64_t id);
int guardd_state_gone(struct guardd *d, const struct guardd_client *c);
/*
 * Reads the state a predecessor left in DIR/private/state into d->clients
 * (with a pidfd for each that still runs) and d->next_id; 0 when there is
 * none, or when it is not a state this daemon writes: that one is set aside
 * as state.rejected, with a line on stderr, and nothing of it is believed.
 * -1 with errno when it cannot be read.
 */
int guardd_state_read(struct guardd *d);

#endif
