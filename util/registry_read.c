// SPDX-License-Identifier: MIT
/*
 * Reading the pin registry (pinls): every record file is checked before it
 * is believed, read with pread (a hostile owner can truncate its file, and a
 * mapping would then SIGBUS the reader), and its owner's liveness decided by
 * the OFD lock and the start time of its pid. Anyone can read a pid's start
 * time and name a record after it: a record speaks for its process only if
 * its uid owns both /proc/PID and the uid directory it lies in.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "registry_read.h"

#define MAX_RECORD_SIZE (1ull << 31)
#define SLOT_READ_TRIES 100

/*
 * Slots are read SLOT_CHUNK at a time, three times (see read_chunk()): a
 * record of up to SLOT_CHUNK slots (the library grows them by 64) costs four
 * preads.
 */
#define SLOT_CHUNK 256

struct scan {
	rdmapin_pin_fn fn;
	rdmapin_warn_fn warn;
	void *ctx;
	/* The record's header; a chunk's first and third copies, then its second (b). */
	struct chunk {
		struct rdmapin_registry_header h;
		struct rdmapin_registry_slot s[SLOT_CHUNK];
	} *a;
	struct rdmapin_registry_slot *b;
};

static __attribute__((format(printf, 2, 3))) void warn(const struct scan *s, const char *fmt,
							 ...)
{
	char msg[512];
	va_list ap;

	if (!s->warn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s->warn(msg, s->ctx);
}

/* Whether a process still holds the record's OFD lock: a dead one cannot. */
static bool record_locked(int fd)
{
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };

	return fcntl(fd, F_OFD_GETLK, &lk) == 0 && lk.l_type != F_UNLCK;
}

/*
 * The owner of /proc/PID: the process's effective uid (root, if it is not
 * dumpable); -1 if there is none. Read before the start time is compared,
 * so that a pid reused in between cannot lend its owner to a record of the
 * process before.
 */
static uid_t proc_owner(pid_t pid)
{
	char path[32];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d", pid);
	return stat(path, &st) ? (uid_t)-1 : st.st_uid;
}

static int check_header(const struct rdmapin_registry_header *h, const struct stat *st,
			uid_t dir_uid, uid_t proc_uid, pid_t pid, unsigned long long start,
			const char **why)
{
	uint64_t need = (uint64_t)h->header_size + (uint64_t)h->nslots * h->slot_size;

	*why = h->magic != RDMAPIN_REGISTRY_MAGIC	       ? "bad magic" :
	       h->version != RDMAPIN_REGISTRY_VERSION	       ? "unknown version" :
	       h->header_size != sizeof(*h)		       ? "bad header size" :
	       h->slot_size != sizeof(struct rdmapin_registry_slot) ? "bad slot size" :
	       need > (uint64_t)st->st_size		       ? "shorter than its slots" :
	       h->pid != pid || h->start_time != start	       ? "names another process" :
	       h->uid != st->st_uid			       ? "owner differs from its uid" :
	       h->uid != dir_uid			       ? "not in its uid's directory" :
	       h->uid != proc_uid			       ? "its pid is not its uid's process" :
								 NULL;
	return *why ? -1 : 0;
}

/* Whether both of the slot's counts are @seq, even: no write was under way. */
static bool slot_at_rest(const struct rdmapin_registry_slot *s, uint64_t seq)
{
	return s->seq_begin == seq && s->seq_end == seq && !(seq & 1);
}

/*
 * Slots [first, first + n) read three times, into @a, @b, then @a again;
 * @b's copy of a slot is whole where its counts are those of the first copy
 * and the third, even. One pread's copy does not load a slot front to back
 * (rep movsb on an AMD EPYC loads its cache lines in any order), so a copy
 * whose counts agree can hold fields of the writes before and after them;
 * and two such copies can agree when a write puts back what the one before
 * replaced (X, Y, X): the first tears at the end of a write, the second at
 * the start of the next. Separate preads are ordered: each load of the middle
 * copy came after the first copy saw the write that set the count end
 * (seq_begin is its last store) and before the third saw the next begin
 * (seq_end is its first). A slot caught mid-update is read again.
 */
static int read_chunk(int fd, uint32_t first, uint32_t n, struct rdmapin_registry_slot *a,
		      struct rdmapin_registry_slot *b, bool *whole)
{
	off_t off = sizeof(struct rdmapin_registry_header) + (off_t)first * sizeof(*a);
	ssize_t len = (ssize_t)n * sizeof(*a);
	uint64_t seq[SLOT_CHUNK];
	uint32_t i;

	if (pread(fd, a, len, off) != len)
		return -1;
	for (i = 0; i < n; i++)
		seq[i] = a[i].seq_begin;
	if (pread(fd, b, len, off) != len || pread(fd, a, len, off) != len)
		return -1;
	for (i = 0; i < n; i++)
		whole[i] = slot_at_rest(&b[i], seq[i]) && slot_at_rest(&a[i], seq[i]);
	return 0;
}

static int reread_slot(int fd, uint32_t i, struct rdmapin_registry_slot *a,
		       struct rdmapin_registry_slot *b)
{
	bool whole = false;
	int tries;

	for (tries = 0; tries < SLOT_READ_TRIES && !whole; tries++)
		if (read_chunk(fd, i, 1, a, b, &whole))
			return -1;
	return whole ? 0 : -1;
}

/* The slot is our copy, read whole: its strings end where the reader says. */
static void emit(const struct scan *s, struct rdmapin_pin_record *r,
		 struct rdmapin_registry_slot *slot)
{
	if (slot->state != RDMAPIN_PIN_ACTIVE && slot->state != RDMAPIN_PIN_REVOKED)
		return;
	slot->path[sizeof(slot->path) - 1] = '\0';
	slot->device[sizeof(slot->device) - 1] = '\0';
	r->slot = slot;
	s->fn(r, s->ctx);
}

/* Lists the live slots; a slot that never reads back whole is counted, not listed. */
static void scan_slots(const struct scan *s, int fd, const char *where)
{
	const struct rdmapin_registry_header *h = &s->a->h;
	struct rdmapin_pin_record r = { .pid = h->pid, .uid = h->uid, .start_time = h->start_time };
	struct rdmapin_registry_slot *a = s->a->s, *b = s->b;
	bool whole[SLOT_CHUNK];
	uint32_t first, n, i, bad = 0;

	memcpy(r.comm, h->comm, sizeof(r.comm));
	r.comm[sizeof(r.comm) - 1] = '\0';
	for (first = 0; first < h->nslots; first += n) {
		n = h->nslots - first < SLOT_CHUNK ? h->nslots - first : SLOT_CHUNK;
		if (read_chunk(fd, first, n, a, b, whole)) {
			bad += h->nslots - first;
			break;
		}
		for (i = 0; i < n; i++) {
			if (!whole[i] && reread_slot(fd, first + i, &a[i], &b[i]))
				bad++;
			else
				emit(s, &r, &b[i]);
		}
	}
	if (bad)
		warn(s, "skipping %u slots of %s: they do not read back consistently", bad, where);
}

/*
 * One PID-START file. Liveness first: a file whose process is gone (or whose
 * pid now names another process) is removed, whatever is in it; a live one
 * is believed only if well-formed.
 */
static void scan_record(const struct scan *s, int dir, uid_t dir_uid, const char *user,
			const char *name)
{
	const struct rdmapin_registry_header *h = &s->a->h;
	unsigned long long start;
	char where[2 * NAME_MAX + 2];
	const char *why;
	struct stat st;
	int pid, n, fd;
	uid_t proc_uid;

	snprintf(where, sizeof(where), "%s/%s", user, name);
	if (sscanf(name, "%d-%llu%n", &pid, &start, &n) != 2 || name[n] || pid <= 0) {
		warn(s, "skipping %s: not a record name (PID-START)", where);
		return;
	}
	fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	proc_uid = proc_owner(pid);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_RECORD_SIZE) {
		warn(s, "skipping %s: not a regular record file", where);
	} else if (!record_locked(fd) || rdmapin_proc_start_time(pid) != start) {
		unlinkat(dir, name, 0);	/* if we may */
	} else if (pread(fd, &s->a->h, sizeof(*h), 0) != sizeof(*h)) {
		warn(s, "skipping %s: shorter than a record header", where);
	} else if (check_header(h, &st, dir_uid, proc_uid, pid, start, &why)) {
		warn(s, "skipping %s: %s", where, why);
	} else {
		scan_slots(s, fd, where);
	}
	close(fd);
}

/* A record file's name, and the pid it starts with. */
struct record_name {
	long pid;
	char *name;
};

static int cmp_record_names(const void *a, const void *b)
{
	const struct record_name *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static void free_record_names(struct record_name *v, size_t n)
{
	while (n--)
		free(v[n].name);
	free(v);
}

/*
 * The names in d by pid, which pinls lists by: then it finds its rows in
 * order. Each is checked when read, not here. NULL if out of memory.
 */
static struct record_name *sorted_records(DIR *d, size_t *n)
{
	struct record_name *v = NULL, *grown;
	struct dirent *e;
	size_t cap = 0;

	*n = 0;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			grown = reallocarray(v, cap, sizeof(*v));
			if (!grown)
				goto fail;
			v = grown;
		}
		v[*n].pid = strtol(e->d_name, NULL, 10);
		v[*n].name = strdup(e->d_name);
		if (!v[*n].name)
			goto fail;
		(*n)++;
	}
	/* None read: v is still NULL, which qsort() must not be given. */
	if (*n)
		qsort(v, *n, sizeof(*v), cmp_record_names);
	return v;
fail:
	free_record_names(v, *n);
	*n = 0;
	return NULL;
}

/* uid-UID must be UID's: records in another's directory cannot be UID's. */
static void scan_user_dir(const struct scan *s, int top, const char *name)
{
	struct record_name *names;
	struct dirent *e;
	struct stat st;
	unsigned int uid;
	size_t i, nnames;
	int fd, n;
	DIR *d;

	fd = openat(top, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return;		/* another user's: not ours to see */
	if (sscanf(name, "uid-%u%n", &uid, &n) != 1 || name[n] || fstat(fd, &st) ||
	    st.st_uid != uid) {
		warn(s, "skipping %s: not a directory of the uid it names", name);
		close(fd);
		return;
	}
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	names = sorted_records(d, &nnames);
	for (i = 0; i < nnames; i++)
		scan_record(s, dirfd(d), uid, name, names[i].name);
	/* Out of memory, in the directory's order: every record is listed anyway. */
	if (!names) {
		rewinddir(d);
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				scan_record(s, dirfd(d), uid, name, e->d_name);
	}
	free_record_names(names, nnames);
	closedir(d);
}

int rdmapin_registry_scan(const char *dir, rdmapin_pin_fn fn, rdmapin_warn_fn warn_fn, void *ctx)
{
	struct scan s = { .fn = fn, .warn = warn_fn, .ctx = ctx };
	struct dirent *e;
	int ret = -1;
	DIR *d;

	s.a = malloc(sizeof(*s.a));
	s.b = malloc(sizeof(s.a->s));
	if (!s.a || !s.b) {
		errno = ENOMEM;
	} else if ((d = opendir(dir))) {
		while ((e = readdir(d)))
			if (!strncmp(e->d_name, "uid-", 4))
				scan_user_dir(&s, dirfd(d), e->d_name);
		closedir(d);
		ret = 0;
	}
	free(s.a);
	free(s.b);
	return ret;
}
