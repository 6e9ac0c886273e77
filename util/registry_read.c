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
/*
 * A slot caught mid-update is read again, up to SLOT_READ_TRIES times, and
 * a record's slots up to RECORD_REREADS times in all: a writer that leaves
 * its counts odd cannot make a scan read each of a million slots a hundred
 * times.
 */
#define SLOT_READ_TRIES 100
#define RECORD_REREADS 1000
#define GROUP RDMAPIN_REGISTRY_GROUP

/*
 * Where a version puts a group's counts, slots and path cells. Version 1's
 * counts are the ends of its slots: its groups are 64 of them, copied whole
 * three times.
 */
struct layout {
	uint32_t slot_size;
	uint32_t seq_size;		/* one slot's counts: begin first, end last */
	off_t group_size;
	off_t seq_off, slot_off, cell_off;	/* in a group */
	off_t head_off, path_off;	/* in a slot */
	size_t path_size;		/* the path bytes a slot holds */
	bool path_len;			/* the slot says how long its path is */
};

#define member_size(type, m) sizeof(((type *)0)->m)

/* By version. */
static const struct layout layouts[] = {
	[1] = {
		.slot_size = sizeof(struct rdmapin_registry_slot_v1),
		.seq_size = sizeof(struct rdmapin_registry_slot_v1),
		.group_size = GROUP * sizeof(struct rdmapin_registry_slot_v1),
		.head_off = offsetof(struct rdmapin_registry_slot_v1, head),
		.path_off = offsetof(struct rdmapin_registry_slot_v1, path),
		.path_size = member_size(struct rdmapin_registry_slot_v1, path),
	},
	[RDMAPIN_REGISTRY_VERSION] = {
		.slot_size = sizeof(struct rdmapin_registry_slot),
		.seq_size = sizeof(struct rdmapin_registry_seq),
		.group_size = sizeof(struct rdmapin_registry_group),
		.seq_off = offsetof(struct rdmapin_registry_group, seq),
		.slot_off = offsetof(struct rdmapin_registry_group, slot),
		.cell_off = offsetof(struct rdmapin_registry_group, cell),
		.path_off = offsetof(struct rdmapin_registry_slot, path),
		.path_size = member_size(struct rdmapin_registry_slot, path),
		.path_len = true,
	},
};

/* One group's copies: counts before and after, slots, the path cells in use. */
#define MAX_GROUP_COPY (GROUP * sizeof(struct rdmapin_registry_slot_v1))
struct copies {
	unsigned char before[MAX_GROUP_COPY];
	unsigned char after[MAX_GROUP_COPY];
	unsigned char slots[MAX_GROUP_COPY];
	char cells[GROUP][RDMAPIN_REGISTRY_PATH_SIZE];
};

struct scan {
	rdmapin_pin_fn fn;
	rdmapin_warn_fn warn;
	void *ctx;
	struct rdmapin_registry_header h;	/* the record's */
	const struct layout *l;			/* its version's */
	unsigned int rereads;			/* of its slots, so far */
	struct copies *c;
	struct rdmapin_registry_pin pin;	/* the one being listed */
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
 * The owner of /proc/PID: the process's effective uid, dumpable or not (the
 * kernel makes root own the files in it of a process that is not, but not
 * the directory); -1 if there is none. Read before the start time is compared,
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
	bool known = h->version == 1 || h->version == RDMAPIN_REGISTRY_VERSION;
	const struct layout *l = &layouts[known ? h->version : RDMAPIN_REGISTRY_VERSION];
	uint64_t need = (uint64_t)h->header_size + (uint64_t)(h->nslots / GROUP) * l->group_size;

	*why = h->magic != RDMAPIN_REGISTRY_MAGIC	       ? "bad magic" :
	       !known					       ? "unknown version" :
	       h->header_size != sizeof(*h)		       ? "bad header size" :
	       h->slot_size != l->slot_size		       ? "bad slot size" :
	       h->nslots % GROUP			       ? "slots not in whole groups" :
	       need > (uint64_t)st->st_size		       ? "shorter than its slots" :
	       h->pid != pid || h->start_time != start	       ? "names another process" :
	       h->uid != st->st_uid			       ? "owner differs from its uid" :
	       h->uid != dir_uid			       ? "not in its uid's directory" :
	       h->uid != proc_uid			       ? "its pid is not its uid's process" :
								 NULL;
	return *why ? -1 : 0;
}

/* Slot @i's begin (or end) count in a copy of the counts. */
static uint64_t count(const struct layout *l, const unsigned char *copy, uint32_t i, bool end)
{
	uint64_t seq;

	memcpy(&seq, copy + (size_t)i * l->seq_size + (end ? l->seq_size - sizeof(seq) : 0),
	       sizeof(seq));
	return seq;
}

/* Whether slot @i's counts were the same, even, before its copy and after: no write under way. */
static bool at_rest(const struct scan *s, uint32_t i)
{
	uint64_t seq = count(s->l, s->c->before, i, false);

	return !(seq & 1) && count(s->l, s->c->before, i, true) == seq &&
	       count(s->l, s->c->after, i, false) == seq && count(s->l, s->c->after, i, true) == seq;
}

static const unsigned char *slot_copy(const struct scan *s, uint32_t i)
{
	return s->c->slots + (size_t)i * s->l->slot_size;
}

static uint32_t slot_state(const struct scan *s, uint32_t i)
{
	uint32_t state;

	memcpy(&state, slot_copy(s, i) + s->l->head_off + offsetof(struct rdmapin_registry_pin, state),
	       sizeof(state));
	return state;
}

static bool listed(uint32_t state)
{
	return state == RDMAPIN_PIN_ACTIVE || state == RDMAPIN_PIN_REVOKED;
}

/* The length of slot @i's path in its copy, as far as a path may be long. */
static size_t path_len(const struct scan *s, uint32_t i)
{
	const unsigned char *slot = slot_copy(s, i);
	uint32_t len;

	if (!s->l->path_len)
		return strnlen((const char *)slot + s->l->path_off, s->l->path_size - 1);
	memcpy(&len, slot + offsetof(struct rdmapin_registry_slot, path_len), sizeof(len));
	return len < RDMAPIN_REGISTRY_PATH_SIZE ? len : RDMAPIN_REGISTRY_PATH_SIZE - 1;
}

/* Whether slot @i's path is in its path cell, not in the slot. */
static bool in_cell(const struct scan *s, size_t len)
{
	return s->l->path_len && len >= s->l->path_size;
}

/* The path cells that listed slots [k, k + n) of the copy use. */
static int read_cells(const struct scan *s, int fd, off_t group, uint32_t k, uint32_t n)
{
	uint32_t i;
	size_t len;

	for (i = k; i < k + n; i++) {
		len = path_len(s, i);
		if (listed(slot_state(s, i)) && in_cell(s, len) &&
		    pread(fd, s->c->cells[i], len,
			  group + s->l->cell_off + (off_t)i * RDMAPIN_REGISTRY_PATH_SIZE) != (ssize_t)len)
			return -1;
	}
	return 0;
}

/*
 * Slots [k, k + n) of group @g: their counts, the slots, their path cells,
 * the counts again, each a pread of its own; a slot's copy is whole where
 * its counts are the same, even, in both copies of them. One pread's copy
 * does not load front to back (rep movsb on an AMD EPYC loads its cache
 * lines in any order), so a copy holding counts that agree can hold fields
 * of the writes before and after them. Separate preads are ordered: each
 * load of the slot's copy came after the first copy of the counts saw the
 * write that set begin (its last store) and before the second saw the next
 * write's end (its first). A slot caught mid-update is read again.
 */
static int read_group(const struct scan *s, int fd, uint32_t g, uint32_t k, uint32_t n, bool *whole)
{
	const struct layout *l = s->l;
	off_t group = s->h.header_size + (off_t)g * l->group_size;
	off_t seq_at = group + l->seq_off + (off_t)k * l->seq_size;
	size_t seqs = (size_t)n * l->seq_size, slots = (size_t)n * l->slot_size;
	unsigned char *before = s->c->before + (size_t)k * l->seq_size;
	uint32_t i;

	if (pread(fd, before, seqs, seq_at) != (ssize_t)seqs ||
	    pread(fd, s->c->slots + (size_t)k * l->slot_size, slots,
		  group + l->slot_off + (off_t)k * l->slot_size) != (ssize_t)slots ||
	    read_cells(s, fd, group, k, n) ||
	    pread(fd, s->c->after + (size_t)k * l->seq_size, seqs, seq_at) != (ssize_t)seqs)
		return -1;
	for (i = k; i < k + n; i++)
		whole[i] = at_rest(s, i);
	return 0;
}

static int reread_slot(struct scan *s, int fd, uint32_t g, uint32_t k, bool *whole)
{
	int tries;

	for (tries = 0; tries < SLOT_READ_TRIES && !whole[k] && s->rereads < RECORD_REREADS;
	     tries++, s->rereads++)
		if (read_group(s, fd, g, k, 1, whole))
			return -1;
	return whole[k] ? 0 : -1;
}

/* Slot @i's copy, read whole, as a pin whose strings end where the reader says. */
static void emit(struct scan *s, struct rdmapin_pin_record *r, uint32_t i)
{
	struct rdmapin_registry_pin *p = &s->pin;
	size_t len = path_len(s, i);

	if (!listed(slot_state(s, i)))
		return;
	memcpy(p, slot_copy(s, i) + s->l->head_off, RDMAPIN_REGISTRY_PIN_HEAD);
	memcpy(p->path, in_cell(s, len) ? s->c->cells[i] :
		       (const char *)slot_copy(s, i) + s->l->path_off, len);
	p->path[len] = '\0';
	p->device[sizeof(p->device) - 1] = '\0';
	r->pin = p;
	s->fn(r, s->ctx);
}

/* Lists the live slots; a slot that never reads back whole is counted, not listed. */
static void scan_slots(struct scan *s, int fd, const char *where)
{
	struct rdmapin_pin_record r = { .pid = s->h.pid, .uid = s->h.uid,
					.start_time = s->h.start_time };
	uint32_t g, i, bad = 0, groups = s->h.nslots / GROUP;
	bool whole[GROUP];

	memcpy(r.comm, s->h.comm, sizeof(r.comm));
	r.comm[sizeof(r.comm) - 1] = '\0';
	s->rereads = 0;
	for (g = 0; g < groups; g++) {
		if (read_group(s, fd, g, 0, GROUP, whole)) {
			bad += (groups - g) * GROUP;
			break;
		}
		for (i = 0; i < GROUP; i++) {
			if (whole[i] || !reread_slot(s, fd, g, i, whole))
				emit(s, &r, i);
			else
				bad++;
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
static void scan_record(struct scan *s, int dir, uid_t dir_uid, const char *user,
			const char *name)
{
	const struct rdmapin_registry_header *h = &s->h;
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
	} else if (pread(fd, &s->h, sizeof(*h), 0) != sizeof(*h)) {
		warn(s, "skipping %s: shorter than a record header", where);
	} else if (check_header(h, &st, dir_uid, proc_uid, pid, start, &why)) {
		warn(s, "skipping %s: %s", where, why);
	} else {
		s->l = &layouts[h->version];
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
static void scan_user_dir(struct scan *s, int top, const char *name)
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

	s.c = malloc(sizeof(*s.c));
	if (!s.c) {
		errno = ENOMEM;
	} else if ((d = opendir(dir))) {
		while ((e = readdir(d)))
			if (!strncmp(e->d_name, "uid-", 4))
				scan_user_dir(&s, dirfd(d), e->d_name);
		closedir(d);
		ret = 0;
	}
	free(s.c);
	return ret;
}
