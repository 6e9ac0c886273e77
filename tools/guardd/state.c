// SPDX-License-Identifier: MIT
/*
 * rdmapin-guardd's state: its clients and their entries, in memory and in
 * DIR/state, so that a restarted daemon takes over. Only kept and saved
 * here: clients.c changes the guard's map to match. The file is text,
 * rewritten whole and renamed into place:
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

#include "proc.h"
#include "state.h"

#define STATE "state"
#define STATE_TMP "state.tmp"
#define STATE_MAGIC "rdmapin-guardd-state 1"

struct guardd_client *guardd_client_new(struct guardd *d, pid_t pid, uid_t uid, uint64_t start_time,
					int pidfd)
{
	struct guardd_client *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->sock = -1;
	c->pidfd = pidfd;
	c->pid = pid;
	c->uid = uid;
	c->start_time = start_time;
	c->sock_watch = (struct guardd_watch){ .what = WATCH_SOCK, .client = c };
	c->pid_watch = (struct guardd_watch){ .what = WATCH_PIDFD, .client = c };
	c->next = d->clients;
	d->clients = c;
	return c;
}

void guardd_client_free(struct guardd_client *c)
{
	if (c->sock >= 0)
		close(c->sock);
	if (c->pidfd >= 0)
		close(c->pidfd);
	free(c->entries);
	free(c);
}

int guardd_entry_add(struct guardd_client *c, uint64_t id, const struct rdmapin_guard_key *key)
{
	struct guardd_entry *grown;

	if (c->nentries == c->cap) {
		grown = reallocarray(c->entries, c->cap * 2 + 4, sizeof(*grown));
		if (!grown)
			return -1;
		c->entries = grown;
		c->cap = c->cap * 2 + 4;
	}
	c->entries[c->nentries++] = (struct guardd_entry){ .id = id, .key = *key };
	return 0;
}

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

int guardd_state_read(struct guardd *d)
{
	int fd = openat(d->dirfd, STATE, O_RDONLY | O_CLOEXEC);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	int ret;

	if (!f && fd >= 0)
		close(fd);
	if (!f)
		return errno == ENOENT ? 0 : -1;
	ret = read_state(d, f);
	fclose(f);
	if (!ret)
		return 0;
	fprintf(stderr, "rdmapin-guardd: %s/" STATE " is not a state it wrote; what it held "
		"past its last readable line stays guarded until the guard is unloaded\n", d->dir);
	errno = EINVAL;
	return -1;
}
