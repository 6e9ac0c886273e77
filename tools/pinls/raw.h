/* SPDX-License-Identifier: MIT */
/*
 * The raw output format (-r), written directly: libsmartcols builds a table
 * of every cell first and prints it a byte at a time, the bulk of what pinls
 * spends on 100k pins. Byte for byte what libsmartcols prints.
 */
#ifndef PINLS_RAW_H
#define PINLS_RAW_H

#include <stdio.h>

/* One line being built; zeroed to start. */
struct raw_line {
	char *buf;
	size_t len, cap;
	size_t cells;
};

/* Appends a cell, NULL as empty; escaped as libsmartcols does (see raw.c). */
void raw_cell(struct raw_line *l, const char *data);
/* Writes the line and starts the next one. */
void raw_end(struct raw_line *l, FILE *out);
void raw_free(struct raw_line *l);

#endif
