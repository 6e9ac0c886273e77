// SPDX-License-Identifier: MIT
/*
 * rdmapin-guardd's saved state, DIR/state: what it holds for whom, so that a
 * restarted daemon takes over. Text, rewritten whole and renamed into place:
 *
 *	rdmapin-guardd-state 1
 *	next_id ID
 *	client PID START_TIME UID	then its entries:
 *	entry ID DEV INO		DEV in the kernel's encoding, as in the map
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "error.h"
#include "guard.h"
#include "guardd.h"
#include "proc.h"

#define STATE "state"
#define STATE_TMP "state.tmp"
#define STATE_MAGIC "rdmapin-guardd-state 1"

static void write_client(FILE *f, const struct guardd_client *c)
{
	size_t i;

	fprintf(f, "client %d %llu %u\n", c->pid, (unsigned long long)c->start_time, c->uid);
	for (i = 0; i < c->nentries; i++)
		fprintf(f, "entry %llu %u %llu\n", (unsigned long long)c->entries[i].id,
			c->entries[i].key.dev, (unsigned long long)c->entries[i].key.ino);
}

int guardd_state_save(struct guardd *d)
{
	const struct guardd_client *c;
	FILE *f;
	int fd;

	fd = openat(d->dirfd, STATE_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	fprintf(f, STATE_MAGIC "\nnext_id %llu\n", (unsigned long long)d->next_id);
	for (c = d->clients; c; c = c->next)
		write_client(f, c);
	if (fclose(f) || renameat(d->dirfd, STATE_TMP, d->dirfd, STATE))
		goto fail;
	return 0;
fail:
	fprintf(stderr,
		"rdmapin-guardd: cannot save its state: %s; a restart would "
		"leave files guarded until the guard is unloaded\n",
		strerror(errno));
	return -1;
}

/*
 * The process that a saved client names, if it still runs: its pidfd, taken
 * before the start time is compared so that the pid cannot be reused between.
 */
static int alive(pid_t pid, uint64_t start_time)
{
	int pidfd = syscall(SYS_pidfd_open, pid, 0);

	if (pidfd >= 0 && rdmapin_proc_start_time(pid) == start_time)
		return pidfd;
	if (pidfd >= 0)
		close(pidfd);
	return -1;
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
	if (guardd_client_watch(d, c))
		guardd_client_drop(d, c, "could not be watched");
}

/* Reads the state; the clients it names, live or not, are in d->clients. */
static int read_state(struct guardd *d, FILE *f)
{
	unsigned long long a, b, id;
	struct rdmapin_guard_key key;
	struct guardd_client *c = NULL;
	char line[256];
	unsigned int u;
	int pid;

	if (!fgets(line, sizeof(line), f) || strcmp(line, STATE_MAGIC "\n"))
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "next_id %llu", &id) == 1) {
			d->next_id = id;
		} else if (sscanf(line, "client %d %llu %u", &pid, &a, &u) == 3) {
			c = guardd_client_new(d, pid, u, a, alive(pid, a));
			if (!c)
				return -1;
		} else if (c && sscanf(line, "entry %llu %u %llu", &id, &u, &b) == 3) {
			key = (struct rdmapin_guard_key){ .dev = u, .ino = b };
			if (guardd_entry_add(c, id, &key))
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

/*
 * Ended clients go first: a running client's entry that is put back must not
 * be taken for an ended client's entry on the same file.
 */
int guardd_state_restore(struct guardd *d)
{
	struct guardd_client *c, *next;
	int fd = openat(d->dirfd, STATE, O_RDONLY | O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	int ret;

	if (!f && fd >= 0)
		close(fd);
	if (!f)
		return errno == ENOENT ? 0 : -1;
	ret = read_state(d, f);
	fclose(f);
	if (ret) {
		fprintf(stderr, "rdmapin-guardd: %s/" STATE " is not a state it wrote; what it "
			"held past its last readable line stays guarded until the guard is "
			"unloaded\n", d->dir);
		errno = EINVAL;
	}
	for (c = d->clients; c; c = next) {
		next = c->next;
		if (c->pidfd < 0)
			restore_ended(d, c);
	}
	for (c = d->clients; c; c = c->next)
		restore_running(d, c);
	guardd_state_save(d);
	return ret;
}
