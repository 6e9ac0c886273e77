// SPDX-License-Identifier: MIT
/*
 * pinls writes its raw and JSON formats itself (tools/pinls/raw.c, json.c)
 * instead of through libsmartcols: byte for byte what libsmartcols prints of
 * the same table, for cells of every byte value, alone and together, and
 * for empty and missing cells, in the C and a UTF-8 locale.
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

#include "check.h"
#include "json.h"
#include "raw.h"

#define NCOLS 2
#define NROWS (255 + 3)

static const char *const names[NCOLS] = { "PATH", "OFFSET" };
static char cells[NROWS][NCOLS][260];

/* Row b < 255: byte b + 1 between two letters; then all bytes; then empty and missing cells. */
static const char *cell(int row, int col)
{
	int b;

	if (row == 255 + 1)
		return col ? NULL : "";
	if (row == 255 + 2)
		return col ? "" : NULL;
	if (col)
		return "18446744073709551615";
	if (row == 255) {
		for (b = 1; b < 256; b++)
			cells[row][col][b - 1] = b;
		return cells[row][col];
	}
	snprintf(cells[row][col], sizeof(cells[row][col]), "a%cz", row + 1);
	return cells[row][col];
}

static char *scols_text(bool json, bool noheadings)
{
	struct libscols_table *tb = scols_new_table();
	struct libscols_column *cl;
	struct libscols_line *ln;
	char *text = NULL;
	size_t size;
	FILE *f = open_memstream(&text, &size);
	int r, c;

	scols_table_enable_json(tb, json);
	scols_table_enable_raw(tb, !json);
	scols_table_enable_noheadings(tb, noheadings);
	scols_table_set_name(tb, "pins");
	scols_table_set_stream(tb, f);
	for (c = 0; c < NCOLS; c++) {
		cl = scols_table_new_column(tb, names[c], 5, c ? SCOLS_FL_RIGHT : 0);
		scols_column_set_json_type(cl, c ? SCOLS_JSON_NUMBER : SCOLS_JSON_STRING);
	}
	for (r = 0; r < NROWS; r++) {
		ln = scols_table_new_line(tb, NULL);
		for (c = 0; c < NCOLS; c++)
			if (cell(r, c))
				scols_line_set_data(ln, c, cell(r, c));
	}
	scols_print_table(tb);
	scols_unref_table(tb);
	fclose(f);
	return text;
}

static char *raw_text(bool noheadings)
{
	char *text = NULL;
	size_t size;
	struct raw_line l = { .out.out = open_memstream(&text, &size) };
	int r, c;

	if (!noheadings) {
		for (c = 0; c < NCOLS; c++)
			raw_cell(&l, names[c]);
		raw_end(&l);
	}
	for (r = 0; r < NROWS; r++) {
		for (c = 0; c < NCOLS; c++)
			raw_cell(&l, cell(r, c));
		raw_end(&l);
	}
	outbuf_end(&l.out);
	fclose(l.out.out);
	return text;
}

static char *json_text(void)
{
	char *text = NULL;
	size_t size;
	struct json_table t = { .out.out = open_memstream(&text, &size) };
	int r, c;

	json_begin(&t, "pins");
	for (r = 0; r < NROWS; r++) {
		json_row(&t);
		for (c = 0; c < NCOLS; c++)
			json_cell(&t, names[c], cell(r, c), c == 1);
	}
	json_end(&t);
	fclose(t.out.out);
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

static void compare(const char *what, char *ours, char *theirs)
{
	check(!strcmp(ours, theirs), "%s: as libsmartcols prints it (%zu bytes; they part at %zu)",
	      what, strlen(theirs), differ_at(ours, theirs));
	free(ours);
	free(theirs);
}

/* In a process of its own: raw.c reads the locale's classes once. */
static int run(const char *locale)
{
	char what[64];

	if (!setlocale(LC_ALL, locale)) {
		printf("# no locale %s here\n", locale);
		return 0;
	}
	snprintf(what, sizeof(what), "%s: raw", locale);
	compare(what, raw_text(false), scols_text(false, false));
	snprintf(what, sizeof(what), "%s: raw, no headings", locale);
	compare(what, raw_text(true), scols_text(false, true));
	snprintf(what, sizeof(what), "%s: JSON", locale);
	compare(what, json_text(), scols_text(true, false));
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
