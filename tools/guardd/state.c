// SPDX-License-Identifier: MIT
/*
 * rdmapin-guardd's state: its clients and their entries, in memory and in
 * DIR/private/state, so that a restarted daemon takes over. Only kept and
 * saved here: clients.c changes the guard's map to match. DIR/private is
 * root's alone (guardd.c checks it). The file is text: a snapshot, written
 * whole to a new file and renamed into place, then a journal of the changes
 * since, a line appended per change, so that a change costs the same with 1
 * entry or 4k; the snapshot is written anew when the journal outgrows it.
 *
 *	rdmapin-guardd-state 3
 *	next_id ID
 *	client PID START_TIME UID	then its entries:
 *	entry ID DEV INO BTIME_S BTIME_NS PATH
 *	+ PID START_TIME UID ID DEV INO BTIME_S BTIME_NS PATH	an entry added
 *	- PID START_TIME ID		an entry removed
 *	x PID START_TIME		a client gone
 *
 * DEV is in the kernel's encoding, as in the map; BTIME the file's birth
 * time (0 0 where the filesystem keeps none); PATH where the daemon found the
 * file, bytes outside '!'..'~' and '%' written as %XX. A last line without
 * its newline is a write the daemon died in, and is not believed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proc.h"
#include "state.h"

#define STATE "state"
#define STATE_TMP "state.tmp"
#define STATE_REJECTED "state.rejected"
#define STATE_MAGIC "rdmapin-guardd-state 3"
/* Journal lines beyond which the snapshot is written anew, at least. */
#define JOURNAL_MIN 64

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

void guardd_entry_free(struct guardd_entry *e)
{
	if (e->fd >= 0)
		close(e->fd);
	free(e->path);
}

void guardd_client_free(struct guardd_client *c)
{
	size_t i;

	if (c->sock >= 0)
		close(c->sock);
	if (c->pidfd >= 0)
		close(c->pidfd);
	for (i = 0; i < c->nentries; i++)
		guardd_entry_free(&c->entries[i]);
	free(c->entries);
	free(c);
}

int guardd_entry_add(struct guardd_client *c, const struct guardd_entry *e)
{
	struct guardd_entry *grown;

	if (c->nentries == c->cap) {
		grown = reallocarray(c->entries, c->cap * 2 + 4, sizeof(*grown));
		if (!grown)
			return -1;
		c->entries = grown;
		c->cap = c->cap * 2 + 4;
	}
	c->entries[c->nentries++] = *e;
	return 0;
}

/* Decodes entry_line()'s path @s in place; -1 if it is not one. */
static int read_path(char *s)
{
	char *in, *out;
	unsigned int c;

	for (in = out = s; *in; in++, out++) {
		if (*in != '%') {
			*out = *in;
			continue;
		}
		if (sscanf(in + 1, "%2X", &c) != 1 || !c)
			return -1;
		*out = (char)c;
		in += 2;
	}
	*out = '\0';
	return s[0] == '/' ? 0 : -1;
}

/*
 * @head, then "ID DEV INO BTIME_S BTIME_NS PATH\n", as "entry" and "+" lines
 * end; malloc()ed, its length in @len. Made by hand: open_memstream(), which
 * zeroes 8 KiB, and stdio per byte took 16k of the daemon's 18k instructions
 * for a GUARD and its UNGUARD (callgrind).
 */
static char *entry_line(const char *head, const struct guardd_entry *e, size_t *len)
{
	static const char hex[] = "0123456789ABCDEF";
	/* The numbers take at most 87 bytes with their spaces, newline and NUL. */
	char *line = malloc(strlen(head) + 96 + 3 * strlen(e->path)), *o;
	const unsigned char *p;

	if (!line)
		return NULL;
	o = line + sprintf(line, "%s%llu %u %llu %lld %u ", head, (unsigned long long)e->id,
			   e->key.dev, (unsigned long long)e->key.ino,
			   (long long)e->btime.tv_sec, e->btime.tv_nsec);
	for (p = (const unsigned char *)e->path; *p; p++) {
		if (*p <= ' ' || *p > '~' || *p == '%') {
			*o++ = '%';
			*o++ = hex[*p >> 4];
			*o++ = hex[*p & 15];
		} else {
			*o++ = *p;
		}
	}
	*o++ = '\n';
	*o = '\0';
	*len = o - line;
	return line;
}

static int write_client(FILE *f, const struct guardd_client *c)
{
	const struct guardd_entry *e;
	char *line;
	size_t len;

	fprintf(f, "client %d %llu %u\n", c->pid, (unsigned long long)c->start_time, c->uid);
	for (e = c->entries; e < c->entries + c->nentries; e++) {
		line = entry_line("entry ", e, &len);
		if (!line)
			return -1;
		fwrite(line, 1, len, f);
		free(line);
	}
	return 0;
}

static size_t count_entries(const struct guardd *d)
{
	const struct guardd_client *c;
	size_t n = 0;

	for (c = d->clients; c; c = c->next)
		n += c->nentries;
	return n;
}

/* The snapshot just renamed into place takes the journal's lines from now on. */
static void journal_open(struct guardd *d)
{
	if (d->journal_fd >= 0)
		close(d->journal_fd);
	d->journal_fd = openat(d->privfd, STATE, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	d->journal_lines = 0;
	d->journal_limit = JOURNAL_MIN + 2 * count_entries(d);
}

/*
 * O_EXCL: the file written is one this daemon created, never a link or a
 * file planted where the temporary goes (DIR/private is root's, and this is
 * a second wall).
 */
int guardd_state_save(struct guardd *d)
{
	const struct guardd_client *c;
	FILE *f;
	int fd;

	if (unlinkat(d->privfd, STATE_TMP, 0) && errno != ENOENT)
		goto fail;
	fd = openat(d->privfd, STATE_TMP, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
		    0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		goto fail;
	}
	fprintf(f, STATE_MAGIC "\nnext_id %llu\n", (unsigned long long)d->next_id);
	for (c = d->clients; c && !write_client(f, c); c = c->next)
		;
	if (c) {
		fclose(f);
		errno = ENOMEM;
		goto fail;
	}
	if (fclose(f) || renameat(d->privfd, STATE_TMP, d->privfd, STATE))
		goto fail;
	journal_open(d);
	return 0;
fail:
	fprintf(stderr,
		"rdmapin-guardd: cannot save its state: %s; a restart would "
		"leave files guarded until the guard is unloaded\n",
		strerror(errno));
	return -1;
}

/* One write per line: a daemon killed meanwhile leaves at most a torn last line. */
static int journal(struct guardd *d, const char *line, size_t len)
{
	if (d->journal_fd < 0 || d->journal_lines >= d->journal_limit ||
	    write(d->journal_fd, line, len) != (ssize_t)len)
		return guardd_state_save(d);
	d->journal_lines++;
	return 0;
}

int guardd_state_added(struct guardd *d, const struct guardd_client *c,
		       const struct guardd_entry *e)
{
	char head[64], *line;
	size_t len;
	int ret;

	snprintf(head, sizeof(head), "+ %d %llu %u ", c->pid, (unsigned long long)c->start_time,
		 c->uid);
	line = entry_line(head, e, &len);
	if (!line)
		return guardd_state_save(d);
	ret = journal(d, line, len);
	free(line);
	return ret;
}

int guardd_state_removed(struct guardd *d, const struct guardd_client *c, uint64_t id)
{
	char line[80];
	int len = snprintf(line, sizeof(line), "- %d %llu %llu\n", c->pid,
			   (unsigned long long)c->start_time, (unsigned long long)id);

	return journal(d, line, len);
}

int guardd_state_gone(struct guardd *d, const struct guardd_client *c)
{
	char line[64];
	int len = snprintf(line, sizeof(line), "x %d %llu\n", c->pid,
			   (unsigned long long)c->start_time);

	return journal(d, line, len);
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

/* ID DEV INO BTIME_S BTIME_NS PATH, into @c. */
static int read_entry(struct guardd_client *c, const char *fields)
{
	struct guardd_entry e = { .fd = -1 };
	unsigned long long id, ino;
	char path[3 * 4096 + 1];
	long long sec;

	if (sscanf(fields, "%llu %u %llu %lld %u %12288s", &id, &e.key.dev, &ino, &sec,
		   &e.btime.tv_nsec, path) != 6 || read_path(path))
		return -1;
	e.id = id;
	e.key.ino = ino;
	e.btime.tv_sec = sec;
	e.path = strdup(path);
	if (e.path && !guardd_entry_add(c, &e))
		return 0;
	free(e.path);
	return -1;
}

static struct guardd_client *find_client(struct guardd *d, pid_t pid, uint64_t start_time)
{
	struct guardd_client *c;

	for (c = d->clients; c; c = c->next)
		if (c->pid == pid && c->start_time == start_time)
			return c;
	return NULL;
}

static struct guardd_client *read_client(struct guardd *d, pid_t pid, uint64_t start_time,
					 uid_t uid)
{
	return guardd_client_new(d, pid, uid, start_time, alive(pid, start_time));
}

/* "+ PID START_TIME UID " and an entry: a client's first entry brings the client. */
static int replay_added(struct guardd *d, const char *line)
{
	struct guardd_client *c;
	unsigned long long a;
	unsigned int u;
	int pid, n;

	if (sscanf(line, "+ %d %llu %u %n", &pid, &a, &u, &n) != 3)
		return -1;
	c = find_client(d, pid, a) ?: read_client(d, pid, a, u);
	if (!c || c->uid != u || read_entry(c, line + n))
		return -1;
	if (c->entries[c->nentries - 1].id >= d->next_id)
		d->next_id = c->entries[c->nentries - 1].id + 1;
	return 0;
}

/* "- PID START_TIME ID": only an entry the state holds can go. */
static int replay_removed(struct guardd *d, const char *line)
{
	unsigned long long a, id;
	struct guardd_client *c;
	size_t i;
	int pid;

	if (sscanf(line, "- %d %llu %llu", &pid, &a, &id) != 3 || !(c = find_client(d, pid, a)))
		return -1;
	for (i = 0; i < c->nentries && c->entries[i].id != id; i++)
		;
	if (i == c->nentries)
		return -1;
	guardd_entry_free(&c->entries[i]);
	c->entries[i] = c->entries[--c->nentries];
	return 0;
}

/* "x PID START_TIME": a client that never held an entry was never written. */
static int replay_gone(struct guardd *d, const char *line)
{
	struct guardd_client **p, *c;
	unsigned long long a;
	int pid;

	if (sscanf(line, "x %d %llu", &pid, &a) != 2)
		return -1;
	c = find_client(d, pid, a);
	if (!c)
		return 0;
	for (p = &d->clients; *p != c; p = &(*p)->next)
		;
	*p = c->next;
	guardd_client_free(c);
	return 0;
}

static int read_line(struct guardd *d, struct guardd_client **c, const char *line)
{
	unsigned long long a, id;
	unsigned int u;
	int pid;

	switch (line[0]) {
	case '+':
		return replay_added(d, line);
	case '-':
		return replay_removed(d, line);
	case 'x':
		return replay_gone(d, line);
	}
	if (sscanf(line, "next_id %llu", &id) == 1) {
		d->next_id = id;
	} else if (sscanf(line, "client %d %llu %u", &pid, &a, &u) == 3) {
		*c = read_client(d, pid, a, u);
		if (!*c)
			return -1;
	} else if (!*c || strncmp(line, "entry ", 6) || read_entry(*c, line + 6)) {
		return -1;
	}
	return 0;
}

/*
 * Reads the state; the clients it names, live or not, are in d->clients. A
 * client line is the snapshot's, and the entry lines after it are its own.
 */
static int read_state(struct guardd *d, FILE *f)
{
	struct guardd_client *c = NULL;
	char line[3 * 4096 + 128];

	if (!fgets(line, sizeof(line), f) || strcmp(line, STATE_MAGIC "\n"))
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strchr(line, '\n'))
			return feof(f) ? 0 : -1;
		if (read_line(d, &c, line))
			return -1;
	}
	return 0;
}

void guardd_clients_free(struct guardd *d)
{
	struct guardd_client *c;

	while ((c = d->clients)) {
		d->clients = c->next;
		guardd_client_free(c);
	}
}

/* A state that does not parse is believed in nothing: not one of its clients. */
static void reject(struct guardd *d, const char *why)
{
	guardd_clients_free(d);
	d->next_id = 1;
	renameat(d->privfd, STATE, d->privfd, STATE_REJECTED);
	fprintf(stderr, "rdmapin-guardd: %s/private/" STATE " %s: set aside as " STATE_REJECTED
		" and not believed; the files it named stay guarded until the guard is "
		"unloaded\n", d->dir, why);
}

/* Only a regular file of this daemon's user, closed to others, can be its state. */
static FILE *open_state(struct guardd *d)
{
	int fd = openat(d->privfd, STATE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	FILE *f;

	if (fd < 0 && errno == ELOOP) {
		reject(d, "is a symbolic link");
		errno = ENOENT;
	}
	if (fd < 0)
		return NULL;
	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
	    !(st.st_mode & 077)) {
		f = fdopen(fd, "r");
		if (!f)
			close(fd);
		return f;
	}
	close(fd);
	reject(d, "is not a file of root's closed to others");
	errno = ENOENT;
	return NULL;
}

int guardd_state_read(struct guardd *d)
{
	FILE *f = open_state(d);
	int ret;

	if (!f)
		return errno == ENOENT ? 0 : -1;
	ret = read_state(d, f);
	fclose(f);
	if (ret)
		reject(d, "is not a state this daemon writes");
	return 0;
}
