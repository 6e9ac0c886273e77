/* SPDX-License-Identifier: MIT */
/* Printing the rows: the columns pinls knows and the text of each cell. */
#ifndef PINLS_ROWS_H
#define PINLS_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "output.h"
#include "pins.h"

enum column {
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
	NR_COLUMNS
};

/* The columns to print, in order. */
struct columns {
	int id[NR_COLUMNS * 2];		/* a list may name a column twice */
	size_t n;
};

void columns_default(struct columns *cols);
void columns_all(struct columns *cols);
bool columns_have(const struct columns *cols, int id);
/* The column named by the len bytes at name, in any case; -1 if none. */
int column_id(const char *name, size_t len);
/* One line per column, its name and what it shows, for --help. */
void print_column_help(void);
/* The names of @quirks (enum rdmapin_quirk), comma-separated; "" for none. */
const char *quirk_list(uint32_t quirks, char *buf, size_t size);

void print_pins(const struct pin_list *pins, const struct columns *cols,
		const struct output_opts *o);
/* The name of a user, or its uid as text if it has none; valid until the next call. */
const char *user_name(uid_t uid);

/* The pids of sorted rows, one per line, each once (-t). */
void print_pids(const struct pin_list *pins);

#endif
