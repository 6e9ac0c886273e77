/* SPDX-License-Identifier: MIT */
/*
 * The table format when it goes to a pipe or a file, written directly:
 * libsmartcols takes every character of every cell through the locale's
 * conversions, twice, the bulk of what pinls spends on a table of 100k pins.
 * Byte for byte what libsmartcols prints off a terminal; on one, it cuts
 * the table to the terminal's width, and pinls leaves that to it.
 */
#ifndef PINLS_TABLE_H
#define PINLS_TABLE_H

#include <stdbool.h>

#include "outbuf.h"

/*
 * A column of the table format, as libsmartcols's: its heading, its width
 * hint (below 1, a fraction of the terminal's width: none here) and
 * alignment. Truncation and "extremes" apply on a terminal only, which this
 * writer never writes to.
 */
struct table_column {
	const char *name;
	double whint;
	bool right;
	size_t width; /* zeroed: then the widest cell measured */
};

/* A table; zeroed but for out.out, cols and ncols to start. */
struct table {
	struct outbuf out;
	struct table_column *cols;
	size_t ncols, cell; /* the next cell's column */
};

/* First pass: each cell of the column, NULL as empty, to find its width. */
void table_measure(struct table_column *col, const char *data);
/*
 * Then: the columns' widths from what they measured, and the heading line
 * if wanted. A table has one row at least: libsmartcols prints no headings
 * without (pinls prints no table without pins).
 */
void table_begin(struct table *t, bool headings);
/* Appends a cell, NULL as empty; encoded and aligned as libsmartcols does. */
void table_cell(struct table *t, const char *data);
/* Ends the line; outbuf_end(&t->out) writes what is left. */
void table_line_end(struct table *t);

#endif
