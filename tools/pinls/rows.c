// SPDX-License-Identifier: MIT
/* Printing the rows: see rows.h. */
#define _GNU_SOURCE
#include <err.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "array.h"
#include "json.h"
#include "raw.h"
#include "rows.h"
#include "table.h"

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
	[COL_PATH] = { "PATH", 0.3, SCOLS_FL_NOEXTREMES, SCOLS_JSON_STRING,
		       "the registered file; \" (deleted)\" once unlinked or renamed over" },
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
	[COL_LKEY] = { "LKEY", 10, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "local key of the MR" },
	[COL_RKEY] = { "RKEY", 10, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER, "remote key of the MR" },
	[COL_ADDR] = { "ADDR", 14, SCOLS_FL_RIGHT, SCOLS_JSON_NUMBER,
		       "address of the registered range in the process" },
	[COL_REGISTERED] = { "REGISTERED", 25, 0, SCOLS_JSON_STRING,
			     "when it was registered (ISO 8601)" },
	[COL_CHECK] = { "CHECK", 5, 0, SCOLS_JSON_STRING,
			"kernel cross-check: ok, no-lease, no-guard, no-kernel-mr; - if not "
			"possible; then the quirks the MR runs under (rxe-odp-offset)" },
};

static const int default_columns[] = {
	COL_PID, COL_COMMAND, COL_BACKING, COL_PATH, COL_OFFSET,
	COL_LENGTH, COL_MODE, COL_LEASE, COL_GUARD, COL_DEVICE,
};

_Static_assert(ARRAY_SIZE(infos) == NR_COLUMNS, "a column without its info");

void columns_default(struct columns *cols)
{
	memcpy(cols->id, default_columns, sizeof(default_columns));
	cols->n = ARRAY_SIZE(default_columns);
}

void columns_all(struct columns *cols)
{
	for (cols->n = 0; cols->n < NR_COLUMNS; cols->n++)
		cols->id[cols->n] = cols->n;
}

bool columns_have(const struct columns *cols, int id)
{
	size_t i;

	for (i = 0; i < cols->n; i++)
		if (cols->id[i] == id)
			return true;
	return false;
}

int column_id(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(infos); i++)
		if (strlen(infos[i].name) == len && !strncasecmp(infos[i].name, name, len))
			return i;
	return -1;
}

void print_column_help(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(infos); i++)
		printf(" %11s  %s\n", infos[i].name, infos[i].help);
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

const char *user_name(uid_t uid)
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

const char *quirk_list(uint32_t quirks, char *buf, size_t size)
{
	size_t used = 0;
	uint32_t q;

	buf[0] = '\0';
	for (; quirks && used < size; quirks &= quirks - 1) {
		q = quirks & -quirks;
		used += snprintf(buf + used, size - used, "%s%s", used ? "," : "",
				 rdmapin_quirk_str(q));
	}
	return buf;
}

/* The check's findings, then the quirks a live MR runs under, which no check clears. */
static const char *check_name(const struct pin *p, char *buf, size_t size)
{
	const struct pin_check_name *names = pin_check_names;
	char quirks[128];
	size_t i, used = 0;

	if (p->check & CHECK_NOT_RUN)
		used = snprintf(buf, size, "-");
	else if (!p->check)
		used = snprintf(buf, size, "ok");
	else
		for (i = 0; i < NR_PIN_CHECK_NAMES; i++)
			if (p->check & names[i].bit)
				used += snprintf(buf + used, size - used, "%s%s", used ? "," : "",
						 names[i].name);
	if (p->state == RDMAPIN_PIN_ACTIVE && *quirk_list(p->quirks, quirks, sizeof(quirks)))
		snprintf(buf + used, size - used, ",%s", quirks);
	return buf;
}

/* Deleted files read as lsof shows them, unless the path said so already. */
static const char *path_name(const struct pin *p, char *buf, size_t size)
{
	const char *path = p->path;
	size_t len = strlen(path);

	if (!p->deleted || (len >= 10 && !strcmp(path + len - 10, " (deleted)")))
		return path;
	snprintf(buf, size, "%s (deleted)", path);
	return buf;
}

/* Decimal without snprintf(): the commonest cells, a hundred thousand times over. */
static const char *decimal(uint64_t v, char *buf, size_t size)
{
	char *p = buf + size;

	*--p = '\0';
	do
		*--p = '0' + v % 10;
	while (v /= 10);
	return p;
}

/*
 * The text of one cell, in buf or static; NULL leaves the cell empty (null
 * in JSON): what an unmanaged row cannot know. Sizes are exact in JSON and
 * raw output, which scripts read.
 */
static const char *cell(const struct pin *p, int col, const struct output_opts *o, char *buf,
			size_t size)
{
	bool exact = o->bytes || o->json || o->raw;

	switch (col) {
	case COL_PID:
		/* Positive: the registry's reader and /proc give no other. */
		return decimal(p->proc->pid, buf, size);
	case COL_COMMAND:
		return p->proc->comm;
	case COL_BACKING:
		if (p->unmanaged)
			return p->backing == RDMAPIN_BACKING_DEVDAX ? "devdax" : "file";
		return rdmapin_backing_str(p->backing);
	case COL_PATH:
		return path_name(p, buf, size);
	case COL_OFFSET:
	case COL_LENGTH:
		if (exact)
			return decimal(col == COL_OFFSET ? p->offset : p->length, buf, size);
		human_size(col == COL_OFFSET ? p->offset : p->length, buf, size);
		return buf;
	case COL_MODE:
		return p->unmanaged ? "unmanaged" : rdmapin_reg_mode_str(p->mode);
	case COL_LEASE:
		return p->unmanaged ? NULL : rdmapin_lease_kind_str(p->lease);
	case COL_GUARD:
		return p->unmanaged ? NULL : rdmapin_guard_kind_str(p->guard);
	case COL_DEVICE:
		return p->device;
	case COL_USER:
		return user_name(p->proc->uid);
	case COL_UID:
		return decimal(p->proc->uid, buf, size);
	case COL_DEVINO:
		snprintf(buf, size, "%u:%u:%" PRIu64, major(p->dev), minor(p->dev), p->ino);
		return buf;
	case COL_STATE:
		return p->unmanaged ? NULL : state_name(p->state);
	case COL_LKEY:
	case COL_RKEY:
		if (p->unmanaged)
			return NULL;
		/* JSON has no hex numbers: decimal there, hex as the verbs print keys. */
		snprintf(buf, size, o->json ? "%u" : "0x%x", col == COL_LKEY ? p->lkey : p->rkey);
		return buf;
	case COL_ADDR:
		snprintf(buf, size, o->json ? "%" PRIu64 : "0x%" PRIx64, p->addr);
		return buf;
	case COL_REGISTERED:
		return !p->unmanaged && iso_time(p->registered_ns, buf, size) ? buf : NULL;
	case COL_CHECK:
		return check_name(p, buf, size);
	}
	return NULL;
}

/* Raw output skips libsmartcols, which costs most of pinls's time on many pins. */
static void print_raw(const struct pin_list *pins, const struct columns *cols,
		      const struct output_opts *o)
{
	char buf[PIN_PATH_SIZE + 16];
	struct raw_line l = { .out.out = stdout };
	size_t i, c;

	if (!o->noheadings) {
		for (c = 0; c < cols->n; c++)
			raw_cell(&l, infos[cols->id[c]].name);
		raw_end(&l);
	}
	for (i = 0; i < pins->n; i++) {
		for (c = 0; c < cols->n; c++)
			raw_cell(&l, cell(&pins->v[i], cols->id[c], o, buf, sizeof(buf)));
		raw_end(&l);
	}
	outbuf_end(&l.out);
}

/* So does JSON output: it has no headings, and escapes nothing for a terminal. */
static void print_json(const struct pin_list *pins, const struct columns *cols,
		       const struct output_opts *o)
{
	char buf[PIN_PATH_SIZE + 16];
	struct json_table t = { .out.out = stdout };
	const struct colinfo *ci;
	size_t i, c;

	json_begin(&t, "pins");
	for (i = 0; i < pins->n; i++) {
		json_row(&t);
		for (c = 0; c < cols->n; c++) {
			ci = &infos[cols->id[c]];
			json_cell(&t, ci->name, cell(&pins->v[i], cols->id[c], o, buf, sizeof(buf)),
				  ci->json_type == SCOLS_JSON_NUMBER);
		}
	}
	json_end(&t);
}

/*
 * So does the table written to a pipe or a file: libsmartcols then sizes
 * each column to its widest cell (see table.c), as this does in a first pass.
 */
static void print_table(const struct pin_list *pins, const struct columns *cols,
			const struct output_opts *o)
{
	struct table_column tc[ARRAY_SIZE(cols->id)];
	struct table t = { .out.out = stdout, .cols = tc, .ncols = cols->n };
	char buf[PIN_PATH_SIZE + 16];
	const struct colinfo *ci;
	size_t i, c;

	for (c = 0; c < cols->n; c++) {
		ci = &infos[cols->id[c]];
		tc[c] = (struct table_column){ .name = ci->name,
					       .whint = ci->whint,
					       .right = ci->flags & SCOLS_FL_RIGHT };
	}
	for (i = 0; i < pins->n; i++)
		for (c = 0; c < cols->n; c++)
			table_measure(&tc[c], cell(&pins->v[i], cols->id[c], o, buf, sizeof(buf)));
	table_begin(&t, !o->noheadings);
	for (i = 0; i < pins->n; i++) {
		for (c = 0; c < cols->n; c++)
			table_cell(&t, cell(&pins->v[i], cols->id[c], o, buf, sizeof(buf)));
		table_line_end(&t);
	}
	outbuf_end(&t.out);
}

/* The table through libsmartcols. */
static void print_scols(const struct pin_list *pins, const struct columns *cols,
			const struct output_opts *o)
{
	struct libscols_table *tb;
	char buf[PIN_PATH_SIZE + 16];
	size_t i, c;

	tb = output_table(o, "pins");
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

/*
 * Every format encodes what a terminal would interpret, as libsmartcols
 * does: control and non-printable bytes of a hostile path or command name
 * come out as \xNN in the table and raw formats, and JSON escapes them.
 */
void print_pins(const struct pin_list *pins, const struct columns *cols,
		const struct output_opts *o)
{
	if (o->raw)
		print_raw(pins, cols, o);
	else if (o->json)
		print_json(pins, cols, o);
	/*
	 * libsmartcols looks at the same stdout: on a terminal, it cuts the
	 * table to the terminal's width; debugging, it may draw padding as dots.
	 */
	else if (isatty(STDOUT_FILENO) || getenv("LIBSMARTCOLS_DEBUG_PADDING"))
		print_scols(pins, cols, o);
	else
		print_table(pins, cols, o);
}

void print_pids(const struct pin_list *pins)
{
	size_t i;

	for (i = 0; i < pins->n; i++)
		if (!i || pins->v[i].proc->pid != pins->v[i - 1].proc->pid)
			printf("%d\n", pins->v[i].proc->pid);
}
