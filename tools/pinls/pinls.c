// SPDX-License-Identifier: MIT
/*
 * pinls: who pins which file. Lists the live registrations ("pins") that
 * processes using librdmapin publish in the pin registry, and the RDMA users
 * that map files without it, the way lslocks(8) lists locks. See pinls(1).
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include <rdmapin/rdmapin.h>
#include "backing.h"
#include "pinls.h"

/* Exit statuses, as lsof(8) and util-linux use them. */
#define EXIT_NONE_FOUND 1
#define EXIT_USAGE 2

enum {
	COL_PID,
	COL_COMMAND,
	COL_BACKING,
	COL_PATH,
	COL_OFFSET,
	COL_LENGTH,
	COL_MODE,
	COL_LEASE,
	COL_GUARD,
	COL_DEVICE,
	COL_USER,
	COL_UID,
	COL_DEVINO,
	COL_STATE,
	COL_LKEY,
	COL_RKEY,
	COL_ADDR,
	COL_REGISTERED,
	COL_CHECK,
};

static const struct colinfo {
	const char *name;
	double whint;		/* width hint: columns, or a fraction of the terminal */
	int flags;		/* SCOLS_FL_* */
	int json_type;		/* SCOLS_JSON_* */
	const char *help;
} infos[] = {
	[COL_PID] = { "PID", 5, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "process ID" },
	[COL_COMMAND] = { "COMMAND", 8, SCOLS_FL_TRUNC, SCOLS_JSON_STRING,
			  "command name of the process" },
	[COL_BACKING] = { "BACKING", 10, 0, SCOLS_JSON_STRING,
			  "fsdax, devdax, page-cache, shmem, hugetlb, anonymous; file if unmanaged" },
	/* Never cut, as in lslocks: the path is what an administrator acts on. */
	[COL_PATH] = { "PATH", 0.3, SCOLS_FL_NOEXTREMES, SCOLS_JSON_STRING, "the registered file" },
	[COL_OFFSET] = { "OFFSET", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
			 "where the registered range starts in the file" },
	[COL_LENGTH] = { "LENGTH", 6, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
			 "length of the registered range" },
	[COL_MODE] = { "MODE", 4, 0, SCOLS_JSON_STRING,
		       "pin (long-term pin), odp (On-Demand Paging) or unmanaged" },
	[COL_LEASE] = { "LEASE", 8, 0, SCOLS_JSON_STRING,
			"lease over the file: none, native or emulated" },
	[COL_GUARD] = { "GUARD", 5, 0, SCOLS_JSON_STRING, "truncate guard: none, daemon or direct" },
	[COL_DEVICE] = { "DEVICE", 6, 0, SCOLS_JSON_STRING, "RDMA device" },
	[COL_USER] = { "USER", 8, 0, SCOLS_JSON_STRING, "owner of the process" },
	[COL_UID] = { "UID", 5, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "user ID of the owner" },
	[COL_DEVINO] = { "DEVINO", 12, 0, SCOLS_JSON_STRING,
			 "identity of the file: major:minor:inode" },
	[COL_STATE] = { "STATE", 7, 0, SCOLS_JSON_STRING,
			"active, or revoked after a lease break" },
	[COL_LKEY] = { "LKEY", 10, SCOLS_FL_RIGHT, SCOLS_JSON_STRING, "local key of the MR" },
	[COL_RKEY] = { "RKEY", 10, SCOLS_FL_RIGHT, SCOLS_JSON_STRING, "remote key of the MR" },
	[COL_ADDR] = { "ADDR", 14, SCOLS_FL_RIGHT, SCOLS_JSON_STRING,
		       "address of the registered range in the process" },
	[COL_REGISTERED] = { "REGISTERED", 25, 0, SCOLS_JSON_STRING,
			     "when it was registered (ISO 8601)" },
	[COL_CHECK] = { "CHECK", 5, 0, SCOLS_JSON_STRING,
			"kernel cross-check: ok, no-lease, no-guard, no-kernel-mr; - if not possible" },
};

static const int default_columns[] = {
	COL_PID, COL_COMMAND, COL_BACKING, COL_PATH, COL_OFFSET,
	COL_LENGTH, COL_MODE, COL_LEASE, COL_GUARD, COL_DEVICE,
};

struct columns {
	int id[ARRAY_SIZE(infos) * 2];	/* a list may name a column twice */
	size_t n;
};

void *xrealloc(void *p, size_t n, size_t size)
{
	p = reallocarray(p, n, size);
	if (!p && n && size)
		err(EXIT_FAILURE, "out of memory");
	return p;
}

void *xgrow(void *v, size_t n, size_t *cap, size_t size)
{
	if (n < *cap)
		return v;
	*cap = *cap ? 2 * *cap : 16;
	return xrealloc(v, *cap, size);
}

struct pin *pin_list_add(struct pin_list *l)
{
	l->v = xgrow(l->v, l->n, &l->cap, sizeof(*l->v));
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	return &l->v[l->n++];
}

void pid_set_add(struct pid_set *s, pid_t pid)
{
	s->v = xgrow(s->v, s->n, &s->cap, sizeof(*s->v));
	s->v[s->n++] = pid;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

void pid_set_sort(struct pid_set *s)
{
	size_t i, n = 0;

	if (!s->n)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_pid);
	for (i = 1; i < s->n; i++)
		if (s->v[i] != s->v[n])
			s->v[++n] = s->v[i];
	s->n = n + 1;
}

bool pid_set_has(const struct pid_set *s, pid_t pid)
{
	return s->n && bsearch(&pid, s->v, s->n, sizeof(*s->v), cmp_pid);
}

bool filter_proc(const struct filter *f, pid_t pid, uid_t uid)
{
	size_t i;

	if (f->by_uid && uid != f->uid)
		return false;
	for (i = 0; i < f->npids; i++)
		if (f->pids[i] == pid)
			return true;
	return !f->npids;
}

/* Canonical paths: only "/" ends in a slash. */
static bool path_under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (n == 1)
		return path[0] == '/';
	return !strncmp(path, dir, n) && path[n] == '/';
}

bool filter_file(const struct filter *f, dev_t dev, ino_t ino, const char *path)
{
	const struct file_arg *a;

	if (!f->by_file)
		return true;
	for (a = f->files; a < f->files + f->nfiles; a++)
		if (dev == a->dev && (a->dir ? path_under(path, a->dir) : ino == a->ino))
			return true;
	return false;
}

struct libscols_table *output_table(const struct output_opts *o, const char *name)
{
	struct libscols_table *tb = scols_new_table();

	if (!tb)
		err(EXIT_FAILURE, "failed to allocate the output table");
	scols_table_enable_json(tb, o->json);
	scols_table_enable_raw(tb, o->raw);
	scols_table_enable_noheadings(tb, o->noheadings);
	scols_table_set_name(tb, name);
	return tb;
}

/* "4M", "1.5G": the one-letter suffixes of lsblk(8), one decimal at most; "0" alone. */
static void human_size(uint64_t bytes, char *buf, size_t size)
{
	static const char suffix[] = "BKMGTPE";
	uint64_t div = 1, whole, tenths;
	unsigned int exp = 0;

	while (exp + 1 < sizeof(suffix) - 1 && bytes / div >= 1024) {
		div <<= 10;
		exp++;
	}
	if (!bytes) {
		snprintf(buf, size, "0");
		return;
	}
	whole = bytes / div;
	/* The remainder is below 2^60, so ten times it still fits. */
	tenths = ((bytes % div) * 10 + div / 2) / div;
	if (tenths == 10) {
		whole++;
		tenths = 0;
	}
	if (tenths)
		snprintf(buf, size, "%" PRIu64 ".%" PRIu64 "%c", whole, tenths, suffix[exp]);
	else
		snprintf(buf, size, "%" PRIu64 "%c", whole, suffix[exp]);
}

/* ISO 8601 with the local offset, as util-linux prints times: 2026-11-21T10:00:00+01:00. */
static bool iso_time(int64_t ns, char *buf, size_t size)
{
	time_t t = ns / 1000000000;
	char zone[8];
	struct tm tm;
	size_t len;

	if (ns < 0 || !localtime_r(&t, &tm))
		return false;
	len = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!len || !strftime(zone, sizeof(zone), "%z", &tm))
		return false;
	snprintf(buf + len, size - len, "%.3s:%s", zone, zone + 3);
	return true;
}

static const char *user_name(uid_t uid)
{
	static char name[64];
	static uid_t cached = (uid_t)-1;
	struct passwd *pw;

	if (uid != cached) {
		pw = getpwuid(uid);
		if (pw)
			snprintf(name, sizeof(name), "%s", pw->pw_name);
		else
			snprintf(name, sizeof(name), "%u", uid);
		cached = uid;
	}
	return name;
}

/* A state the record may hold out of range reads "unknown", as the library's names do. */
static const char *state_name(uint32_t state)
{
	static const char *const names[] = {
		[RDMAPIN_PIN_ACTIVE] = "active",
		[RDMAPIN_PIN_REVOKED] = "revoked",
	};

	return state < ARRAY_SIZE(names) && names[state] ? names[state] : "unknown";
}

static const char *check_name(unsigned int check, char *buf, size_t size)
{
	static const struct {
		unsigned int bit;
		const char *name;
	} names[] = {
		{ CHECK_NO_LEASE, "no-lease" },
		{ CHECK_NO_GUARD, "no-guard" },
		{ CHECK_NO_KERNEL_MR, "no-kernel-mr" },
	};
	size_t i, used = 0;

	if (check & CHECK_NOT_RUN)
		return "-";
	if (!check)
		return "ok";
	buf[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (check & names[i].bit)
			used += snprintf(buf + used, size - used, "%s%s", used ? "," : "",
					 names[i].name);
	return buf;
}

/*
 * The text of one cell, in buf or static; NULL leaves the cell empty (null
 * in JSON): what an unmanaged row cannot know. Sizes are exact in JSON and
 * raw output, which scripts read.
 */
static const char *cell(const struct pin *p, int col, const struct output_opts *o, char *buf,
			size_t size)
{
	const struct rdmapin_registry_slot *s = &p->rec.slot;
	bool exact = o->bytes || o->json || o->raw;

	switch (col) {
	case COL_PID:
		snprintf(buf, size, "%d", p->rec.pid);
		return buf;
	case COL_COMMAND:
		return p->rec.comm;
	case COL_BACKING:
		if (p->unmanaged)
			return s->backing == RDMAPIN_BACKING_DEVDAX ? "devdax" : "file";
		return rdmapin_backing_str(s->backing);
	case COL_PATH:
		return s->path;
	case COL_OFFSET:
	case COL_LENGTH:
		if (exact)
			snprintf(buf, size, "%" PRIu64, col == COL_OFFSET ? s->offset : s->length);
		else
			human_size(col == COL_OFFSET ? s->offset : s->length, buf, size);
		return buf;
	case COL_MODE:
		return p->unmanaged ? "unmanaged" : rdmapin_reg_mode_str(s->mode);
	case COL_LEASE:
		return p->unmanaged ? NULL : rdmapin_lease_kind_str(s->lease);
	case COL_GUARD:
		return p->unmanaged ? NULL : rdmapin_guard_kind_str(s->guard);
	case COL_DEVICE:
		return s->device;
	case COL_USER:
		return user_name(p->rec.uid);
	case COL_UID:
		snprintf(buf, size, "%u", p->rec.uid);
		return buf;
	case COL_DEVINO:
		snprintf(buf, size, "%u:%u:%" PRIu64, major(s->dev), minor(s->dev), s->ino);
		return buf;
	case COL_STATE:
		return p->unmanaged ? NULL : state_name(s->state);
	case COL_LKEY:
	case COL_RKEY:
		if (p->unmanaged)
			return NULL;
		snprintf(buf, size, "0x%x", col == COL_LKEY ? s->lkey : s->rkey);
		return buf;
	case COL_ADDR:
		snprintf(buf, size, "0x%" PRIx64, s->addr);
		return buf;
	case COL_REGISTERED:
		return !p->unmanaged && iso_time(s->registered_ns, buf, size) ? buf : NULL;
	case COL_CHECK:
		return check_name(p->check, buf, size);
	}
	return NULL;
}

/*
 * libsmartcols encodes what a terminal would interpret: control and
 * non-printable bytes of a hostile path or command name come out as \xNN in
 * the table and raw formats, and JSON escapes them.
 */
static void print_pins(const struct pin_list *pins, const struct columns *cols,
		       const struct output_opts *o)
{
	struct libscols_table *tb = output_table(o, "pins");
	char buf[64];
	size_t i, c;

	for (c = 0; c < cols->n; c++) {
		const struct colinfo *ci = &infos[cols->id[c]];
		struct libscols_column *cl;

		cl = scols_table_new_column(tb, ci->name, ci->whint, ci->flags);
		if (!cl)
			err(EXIT_FAILURE, "failed to allocate an output column");
		scols_column_set_json_type(cl, ci->json_type);
	}
	for (i = 0; i < pins->n; i++) {
		struct libscols_line *ln = scols_table_new_line(tb, NULL);

		if (!ln)
			err(EXIT_FAILURE, "failed to allocate an output line");
		for (c = 0; c < cols->n; c++) {
			const char *data = cell(&pins->v[i], cols->id[c], o, buf, sizeof(buf));

			if (data && scols_line_set_data(ln, c, data))
				err(EXIT_FAILURE, "failed to add output data");
		}
	}
	scols_print_table(tb);
	scols_unref_table(tb);
}

/* The rows sorted by pid, so -t needs no set to print each pid once. */
static int cmp_pins(const void *a, const void *b)
{
	const struct pin *x = a, *y = b;
	int d;

	if (x->rec.pid != y->rec.pid)
		return x->rec.pid < y->rec.pid ? -1 : 1;
	d = strcmp(x->rec.slot.path, y->rec.slot.path);
	if (d)
		return d;
	return (x->rec.slot.offset > y->rec.slot.offset) -
	       (x->rec.slot.offset < y->rec.slot.offset);
}

static void print_pids(const struct pin_list *pins)
{
	size_t i;

	for (i = 0; i < pins->n; i++)
		if (!i || pins->v[i].rec.pid != pins->v[i - 1].rec.pid)
			printf("%d\n", pins->v[i].rec.pid);
}

struct collect {
	const struct filter *filter;
	struct pin_list *pins;
	struct pid_set *managed;
};

static int collect_pin(const struct rdmapin_pin_record *rec, void *ctx)
{
	struct collect *c = ctx;

	pid_set_add(c->managed, rec->pid);
	if (filter_proc(c->filter, rec->pid, rec->uid) &&
	    filter_file(c->filter, rec->slot.dev, rec->slot.ino, rec->slot.path))
		pin_list_add(c->pins)->rec = *rec;
	return 0;
}

static void registry_warning(const char *msg, void *ctx)
{
	warnx("%s", msg);
}

static void collect(struct pin_list *pins, const struct filter *f)
{
	const char *dir = rdmapin_registry_dir();
	struct pid_set managed = { 0 };
	struct collect c = { .filter = f, .pins = pins, .managed = &managed };
	char *real;

	/* No registry directory is a host where nothing registered yet: not an error. */
	if (rdmapin_registry_scan(dir, collect_pin, registry_warning, &c) && errno != ENOENT)
		warn("cannot read the registry %s", dir);
	pid_set_sort(&managed);
	/* As /proc/PID/maps names its records, if it exists. */
	real = realpath(dir, NULL);
	unmanaged_scan(pins, &managed, f, real);
	free(real);
	free(managed.v);
}

static void __attribute__((noreturn)) errtryhelp(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", program_invocation_short_name);
	exit(EXIT_USAGE);
}

static void __attribute__((noreturn)) usage(void)
{
	size_t i;

	printf("Usage:\n"
	       " %s [options] [FILE|DIR...]\n"
	       "\n"
	       "List the RDMA registrations (pins) of files by processes using librdmapin,\n"
	       "and RDMA users that map files without it; with FILE or DIR, those of FILE\n"
	       "or of the files under DIR.\n"
	       "\n"
	       "Options:\n"
	       " -b, --bytes            print OFFSET and LENGTH in bytes\n"
	       " -J, --json             use JSON output format\n"
	       " -n, --noheadings       don't print headings\n"
	       " -o, --output <list>    output columns; +<list> adds to the default\n"
	       "     --output-all       output all columns\n"
	       " -p, --pid <pid,...>    only pins of these processes\n"
	       " -r, --raw              use the raw output format\n"
	       " -t, --terse            print only the pids, one per line, each once\n"
	       " -u, --user <user>      only pins of processes of this user (name or uid)\n"
	       "     --caps             show what this host and its RDMA devices offer\n"
	       " -h, --help             display this help\n"
	       " -V, --version          display version\n"
	       "\n"
	       "Available output columns:\n",
	       program_invocation_short_name);
	for (i = 0; i < ARRAY_SIZE(infos); i++)
		printf(" %11s  %s\n", infos[i].name, infos[i].help);
	printf("\nExit status: 0 if anything is listed, 1 if nothing, 2 on usage errors.\n"
	       "For more details see pinls(1).\n");
	exit(EXIT_SUCCESS);
}

static int column_id(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(infos); i++)
		if (strlen(infos[i].name) == len && !strncasecmp(infos[i].name, name, len))
			return i;
	return -1;
}

/* "A,B" replaces the columns, "+A,B" appends to them (lsblk's -o). */
static void parse_columns(const char *list, struct columns *cols)
{
	const char *p, *arg = list;
	size_t len;
	int id;

	if (*arg == '+')
		arg++;
	else
		cols->n = 0;
	if (!*arg) {
		warnx("no columns in '%s'", list);
		errtryhelp();
	}
	for (p = arg; *p; p += len + !!p[len]) {
		len = strcspn(p, ",");
		id = column_id(p, len);
		if (id < 0) {
			warnx("unknown column: %.*s", (int)len, p);
			errtryhelp();
		}
		if (cols->n == ARRAY_SIZE(cols->id)) {
			warnx("too many columns: %s", list);
			errtryhelp();
		}
		cols->id[cols->n++] = id;
	}
}

static void parse_pids(const char *arg, struct filter *f)
{
	const char *p = arg;
	char *end;
	long pid;

	do {
		errno = 0;
		pid = strtol(p, &end, 10);
		if (errno || end == p || pid <= 0 || pid > INT_MAX || (*end && *end != ',')) {
			warnx("invalid PID argument: '%s'", arg);
			errtryhelp();
		}
		f->pids = xrealloc(f->pids, f->npids + 1, sizeof(*f->pids));
		f->pids[f->npids++] = pid;
		p = end + 1;
	} while (*end);
}

static void parse_user(const char *arg, struct filter *f)
{
	struct passwd *pw = getpwnam(arg);
	unsigned long uid;
	char *end;

	f->by_uid = true;
	if (pw) {
		f->uid = pw->pw_uid;
		return;
	}
	errno = 0;
	uid = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || uid >= (uid_t)-1) {
		warnx("unknown user: '%s'", arg);
		errtryhelp();
	}
	f->uid = uid;
}

/*
 * A FILE matches pins of the same inode; a DIR, pins whose path lies under
 * it on the same filesystem. One that does not exist warns and matches
 * nothing, as with lsof(8).
 */
static void add_file_arg(const char *arg, struct filter *f)
{
	struct file_arg *a;
	struct stat st;

	f->by_file = true;
	if (stat(arg, &st)) {
		warn("%s", arg);
		return;
	}
	f->files = xrealloc(f->files, f->nfiles + 1, sizeof(*f->files));
	a = &f->files[f->nfiles];
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	a->dir = NULL;
	if (S_ISDIR(st.st_mode)) {
		a->dir = realpath(arg, NULL);
		if (!a->dir) {
			warn("%s", arg);
			return;
		}
	}
	f->nfiles++;
}

static bool wants_check(const struct columns *cols)
{
	size_t i;

	for (i = 0; i < cols->n; i++)
		if (cols->id[i] == COL_CHECK)
			return true;
	return false;
}

int main(int argc, char **argv)
{
	enum { OPT_OUTPUT_ALL = CHAR_MAX + 1, OPT_CAPS };
	static const struct option longopts[] = {
		{ "bytes", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'J' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "output-all", no_argument, NULL, OPT_OUTPUT_ALL },
		{ "pid", required_argument, NULL, 'p' },
		{ "raw", no_argument, NULL, 'r' },
		{ "terse", no_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "caps", no_argument, NULL, OPT_CAPS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct columns cols = { .n = ARRAY_SIZE(default_columns) };
	struct output_opts o = { 0 };
	struct pin_list pins = { 0 };
	struct filter f = { 0 };
	bool terse = false, caps = false;
	size_t i;
	int c;

	setlocale(LC_ALL, "");
	memcpy(cols.id, default_columns, sizeof(default_columns));
	while ((c = getopt_long(argc, argv, "bJno:p:rtu:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o.bytes = true;
			break;
		case 'J':
			o.json = true;
			break;
		case 'n':
			o.noheadings = true;
			break;
		case 'o':
			parse_columns(optarg, &cols);
			break;
		case OPT_OUTPUT_ALL:
			for (cols.n = 0; cols.n < ARRAY_SIZE(infos); cols.n++)
				cols.id[cols.n] = cols.n;
			break;
		case 'p':
			parse_pids(optarg, &f);
			break;
		case 'r':
			o.raw = true;
			break;
		case 't':
			terse = true;
			break;
		case 'u':
			parse_user(optarg, &f);
			break;
		case OPT_CAPS:
			caps = true;
			break;
		case 'h':
			usage();
		case 'V':
			printf("%s from librdmapin %s\n", program_invocation_short_name,
			       PINLS_VERSION);
			return EXIT_SUCCESS;
		default:
			errtryhelp();
		}
	}
	if (o.json && o.raw) {
		warnx("--json and --raw are mutually exclusive");
		errtryhelp();
	}
	if (caps) {
		if (optind < argc) {
			warnx("--caps takes no FILE");
			errtryhelp();
		}
		return print_caps(&o);
	}
	for (; optind < argc; optind++)
		add_file_arg(argv[optind], &f);

	collect(&pins, &f);
	/* No pins: pins.v is NULL, which qsort() may not be given even with 0. */
	if (pins.n)
		qsort(pins.v, pins.n, sizeof(*pins.v), cmp_pins);
	if (terse)
		print_pids(&pins);
	else if (pins.n) {
		if (wants_check(&cols))
			kcheck_pins(pins.v, pins.n);
		print_pins(&pins, &cols, &o);
	}

	for (i = 0; i < f.nfiles; i++)
		free(f.files[i].dir);
	free(f.files);
	free(f.pids);
	free(pins.v);
	return pins.n ? EXIT_SUCCESS : EXIT_NONE_FOUND;
}
