// SPDX-License-Identifier: MIT
/* The raw output format: see raw.h. */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "raw.h"

/*
 * libsmartcols's raw format (util-linux's fputs_nonblank()): a blank, a
 * backslash, or what the locale holds non-printable or a control byte reads
 * \xNN, so that a cell is one word a script can split on, and a terminal
 * interprets nothing.
 */
static bool raw_escape(unsigned char c)
{
	return isblank(c) || c == '\\' || !isprint(c) || iscntrl(c);
}

/* The locale is set before any output, and never changes. */
static const bool *escape_table(void)
{
	static bool table[256], ready;
	int c;

	if (!ready) {
		for (c = 0; c < 256; c++)
			table[c] = raw_escape(c);
		ready = true;
	}
	return table;
}

void raw_cell(struct raw_line *l, const char *data)
{
	const bool *esc = escape_table();
	const unsigned char *p = (const unsigned char *)(data ? data : "");
	size_t len = strlen((const char *)p);
	char *start, *o;

	/* Four bytes out per byte in at most, and the separator. */
	start = o = outbuf_room(&l->out, 4 * len + 1);
	if (l->cells++)
		*o++ = ' ';
	for (; len--; p++) {
		if (esc[*p])
			o = outbuf_hex(o, *p);
		else
			*o++ = *p;
	}
	l->out.len += o - start;
}

void raw_end(struct raw_line *l)
{
	outbuf_add(&l->out, "\n", 1);
	l->cells = 0;
}
