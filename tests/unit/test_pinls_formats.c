// SPDX-License-Identifier: MIT
/*
 * pinls writes its raw and JSON formats, and its table when not to a
 * terminal, itself (tools/pinls/raw.c, json.c, table.c) instead of through
 * libsmartcols: byte for byte what libsmartcols prints of the same table,
 * for cells of every byte value, alone and together, multibyte, wide,
 * zero-width and invalid characters, empty and missing cells, and cells of
 * every width about the columns' headings and hints, in columns flagged as
 * pinls's are, in several orders, in the C and a UTF-8 locale.
 */
#define _GNU_SOURCE
#include <libsmartcols.h>
#include <locale.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "array.h"
#include "check.h"
#include "json.h"
#include "raw.h"
#include "table.h"

#define MAX_COLS 5
#define NROWS (255 + 3)
#define LADDER 13 /* tables of 1 to 13 rows: cells 0 to 12 wide */

/* As pinls's columns: headings narrower and wider than their hints; a fraction. */
static const struct column {
	const char *name;
	double whint;
	int flags;
	bool number; /* in JSON */
} columns[] = {
	{ "PATH", 0.3, SCOLS_FL_NOEXTREMES, false },
	{ "OFFSET", 6, SCOLS_FL_RIGHT, true },
	{ "COMMAND", 8, SCOLS_FL_TRUNC, false },
	{ "LKEY", 10, SCOLS_FL_RIGHT, true },
};

/* The columns a table prints, as pinls -o. */
static const struct order {
	int n;
	int col[MAX_COLS]; /* in columns[] */
} orders[] = {
	{ 2, { 0, 1 } }, /* ending right-aligned */
	{ 2, { 1, 0 } }, /* ending left-aligned */
	{ 4, { 0, 1, 2, 3 } }, /* all four */
	{ 5, { 3, 2, 0, 1, 2 } }, /* one twice */
	{ 1, { 2 } }, /* one alone */
};

/*
 * What a UTF-8 locale holds wide (CJK, an emoji, and wider than the hint),
 * of no width (a combining acute after an e and alone, a zero-width space,
 * a right-to-left override), non-printable (a C1 control), printable but
 * not ASCII (a no-break space), invalid (bytes no UTF-8 has, a character
 * cut short inside and at the end, overlong, a surrogate, past U+10FFFF);
 * and backslashes, one before an x, and a terminal's escape.
 */
static const char *const multibyte[] = {
	"\xe4\xb8\xad\xe6\x96\x87",
	"\xf0\x9f\x98\x80",
	"\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad\xe4\xb8\xad",
	"e\xcc\x81",
	"\xcc\x81",
	"\xe2\x80\x8b",
	"\xe2\x80\xae",
	"\xc2\x85",
	"\xc2\xa0x",
	"\xff\xfe",
	"a\xe4\xb8z",
	"\xe4\xb8",
	"\xc0\xaf",
	"\xed\xa0\x80",
	"\xf4\x90\x80\x80",
	"a\\xb\\",
	"\x1b[31mred",
};

/*
 * Row b < 255: byte b + 1 between two letters, and a multibyte sample; then
 * all bytes; then empty and missing cells.
 */
static const char *hostile(int row, int col)
{
	static char bytes[256][260];
	int b;

	if (row > 255)
		return (row + col) % 2 ? NULL : "";
	if (columns[col].number)
		return col == 1 ? "18446744073709551615" : "4294967295";
	if (col == 2)
		return multibyte[row % ARRAY_SIZE(multibyte)];
	if (row == 255) {
		for (b = 1; b < 256; b++)
			bytes[row][b - 1] = b;
		return bytes[row];
	}
	snprintf(bytes[row], sizeof(bytes[row]), "a%cz", row + 1);
	return bytes[row];
}

/* Row r: r columns wide. */
static const char *ladder(int row, int col)
{
	static const char text[] = "abcdefghijklmnop";

	return text + sizeof(text) - 1 - row;
}

enum format { RAW, JSON, TABLE };

/* A table, and how to print it. */
struct job {
	const char *(*cell)(int row, int col); /* col in columns[] */
	int nrows;
	const struct order *order;
	enum format format;
	bool noheadings;
};

static const struct column *column_at(const struct job *j, int c)
{
	return &columns[j->order->col[c]];
}

static const char *cell_at(const struct job *j, int row, int c)
{
	return j->cell(row, j->order->col[c]);
}

static void scols_write(FILE *f, const struct job *j)
{
	struct libscols_table *tb = scols_new_table();
	const struct column *col;
	struct libscols_column *cl;
	struct libscols_line *ln;
	int r, c;

	scols_table_enable_json(tb, j->format == JSON);
	scols_table_enable_raw(tb, j->format == RAW);
	scols_table_enable_noheadings(tb, j->noheadings);
	/* libsmartcols looks at the test's stdout, not f: pinls's table is not on a terminal. */
	scols_table_set_termforce(tb, SCOLS_TERMFORCE_NEVER);
	scols_table_set_name(tb, "pins");
	scols_table_set_stream(tb, f);
	for (c = 0; c < j->order->n; c++) {
		col = column_at(j, c);
		cl = scols_table_new_column(tb, col->name, col->whint, col->flags);
		scols_column_set_json_type(cl, col->number ? SCOLS_JSON_NUMBER : SCOLS_JSON_STRING);
	}
	for (r = 0; r < j->nrows; r++) {
		ln = scols_table_new_line(tb, NULL);
		for (c = 0; c < j->order->n; c++)
			if (cell_at(j, r, c))
				scols_line_set_data(ln, c, cell_at(j, r, c));
	}
	scols_print_table(tb);
	scols_unref_table(tb);
}

static void raw_write(FILE *f, const struct job *j)
{
	struct raw_line l = { .out.out = f };
	int r, c;

	if (!j->noheadings) {
		for (c = 0; c < j->order->n; c++)
			raw_cell(&l, column_at(j, c)->name);
		raw_end(&l);
	}
	for (r = 0; r < j->nrows; r++) {
		for (c = 0; c < j->order->n; c++)
			raw_cell(&l, cell_at(j, r, c));
		raw_end(&l);
	}
	outbuf_end(&l.out);
}

static void json_write(FILE *f, const struct job *j)
{
	struct json_table t = { .out.out = f };
	int r, c;

	json_begin(&t, "pins");
	for (r = 0; r < j->nrows; r++) {
		json_row(&t);
		for (c = 0; c < j->order->n; c++)
			json_cell(&t, column_at(j, c)->name, cell_at(j, r, c),
				  column_at(j, c)->number);
	}
	json_end(&t);
}

static void table_write(FILE *f, const struct job *j)
{
	struct table_column cols[MAX_COLS];
	struct table t = { .out.out = f, .cols = cols, .ncols = j->order->n };
	const struct column *col;
	int r, c;

	for (c = 0; c < j->order->n; c++) {
		col = column_at(j, c);
		cols[c] = (struct table_column){ .name = col->name,
						 .whint = col->whint,
						 .right = col->flags & SCOLS_FL_RIGHT };
	}
	for (r = 0; r < j->nrows; r++)
		for (c = 0; c < j->order->n; c++)
			table_measure(&cols[c], cell_at(j, r, c));
	table_begin(&t, !j->noheadings);
	for (r = 0; r < j->nrows; r++) {
		for (c = 0; c < j->order->n; c++)
			table_cell(&t, cell_at(j, r, c));
		table_line_end(&t);
	}
	outbuf_end(&t.out);
}

static void ours_write(FILE *f, const struct job *j)
{
	static void (*const writers[])(FILE * f, const struct job *j) = {
		[RAW] = raw_write,
		[JSON] = json_write,
		[TABLE] = table_write,
	};

	writers[j->format](f, j);
}

static char *text(void (*write)(FILE *f, const struct job *j), const struct job *j)
{
	char *text = NULL;
	size_t size;
	FILE *f = open_memstream(&text, &size);

	write(f, j);
	fclose(f);
	return text;
}

/* Where two texts part, for the message. */
static size_t differ_at(const char *a, const char *b)
{
	size_t i;

	for (i = 0; a[i] && a[i] == b[i]; i++)
		;
	return i;
}

static void compare(const char *locale, const char *cells, const struct job *j)
{
	static const char *const formats[] = { [RAW] = "raw", [JSON] = "JSON", [TABLE] = "table" };
	char *ours = text(ours_write, j), *theirs = text(scols_write, j);
	char names[64] = "";
	int c;

	for (c = 0; c < j->order->n; c++)
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", c ? "," : "",
			 column_at(j, c)->name);
	check(!strcmp(ours, theirs),
	      "%s: %s%s, -o %s, %s: as libsmartcols prints it (%zu bytes; they part at %zu)",
	      locale, formats[j->format], j->noheadings ? ", no headings" : "", names, cells,
	      strlen(theirs), differ_at(ours, theirs));
	free(ours);
	free(theirs);
}

/* With headings and without, but in JSON, which has none. */
static void compare_headings(const char *locale, const char *cells, struct job *j)
{
	j->noheadings = false;
	compare(locale, cells, j);
	if (j->format == JSON)
		return;
	j->noheadings = true;
	compare(locale, cells, j);
}

static void compare_formats(const char *locale, struct job *j)
{
	for (j->format = RAW; j->format <= TABLE; j->format++)
		compare_headings(locale, "hostile cells", j);
}

/* Tables of cells narrower than, as wide as and wider than headings and hints. */
static void compare_widths(const char *locale, struct job *j)
{
	char cells[32];

	j->cell = ladder;
	j->format = TABLE;
	for (j->nrows = 1; j->nrows <= LADDER; j->nrows++) {
		snprintf(cells, sizeof(cells), "cells 0 to %d wide", j->nrows - 1);
		compare_headings(locale, cells, j);
	}
}

/* In a process of its own: raw.c and table.c read the locale's classes once. */
static int run(const char *locale)
{
	struct job j;
	size_t i;

	if (!setlocale(LC_ALL, locale)) {
		printf("# no locale %s here\n", locale);
		return 0;
	}
	for (i = 0; i < ARRAY_SIZE(orders); i++) {
		j = (struct job){ .cell = hostile, .nrows = NROWS, .order = &orders[i] };
		compare_formats(locale, &j);
		compare_widths(locale, &j);
	}
	return check_done();
}

int main(void)
{
	static const char *const locales[] = { "C", "C.UTF-8" };
	int status, failed = 0;
	unsigned int i;
	pid_t pid;

	for (i = 0; i < 2; i++) {
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			exit(run(locales[i]));
		failed |= pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
			  WEXITSTATUS(status);
	}
	return failed;
}
