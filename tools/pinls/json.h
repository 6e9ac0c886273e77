/* SPDX-License-Identifier: MIT */
/*
 * The JSON output format (-J), written directly rather than through a
 * libsmartcols table of every cell: byte for byte what libsmartcols prints,
 * an array of objects, one per row, named for the table.
 */
#ifndef PINLS_JSON_H
#define PINLS_JSON_H

#include <stdbool.h>

#include "outbuf.h"

/* Zeroed but for out.out to start. */
struct json_table {
	struct outbuf out;
	size_t rows, cells;
};

/* The table's name: a table has one row at least (pinls prints none without pins). */
void json_begin(struct json_table *t, const char *name);
/* Starts the next row. */
void json_row(struct json_table *t);
/*
 * A member of the row: name in lower case, data a string or, if number,
 * as it is; NULL or empty is null.
 */
void json_cell(struct json_table *t, const char *name, const char *data, bool number);
/* Ends the table and writes what is left. */
void json_end(struct json_table *t);

#endif
