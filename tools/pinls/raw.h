/* SPDX-License-Identifier: MIT */
/*
 * The raw output format (-r), written directly: libsmartcols builds a table
 * of every cell first and prints it a byte at a time, the bulk of what pinls
 * spends on 100k pins. Byte for byte what libsmartcols prints.
 */
#ifndef PINLS_RAW_H
#define PINLS_RAW_H

#include "outbuf.h"

/* The lines being written; zeroed but for out.out to start. */
struct raw_line {
	struct outbuf out;
	size_t cells;			/* in the current line */
};

/* Appends a cell, NULL as empty; escaped as libsmartcols does (see raw.c). */
void raw_cell(struct raw_line *l, const char *data);
/* Ends the line; outbuf_end(&l->out) writes what is left. */
void raw_end(struct raw_line *l);

#endif
