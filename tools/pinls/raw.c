// SPDX-License-Identifier: MIT
/* The raw output format: see raw.h. */
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "raw.h"
#include "xalloc.h"

/*
 * libsmartcols's raw format (util-linux's fputs_nonblank()): a blank, a
 * backslash, or what the locale holds non-printable or a control byte reads
 * \xNN, so that a cell is one word a script can split on, and a terminal
 * interprets nothing.
 */
static bool must_escape(unsigned char c)
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
			table[c] = must_escape(c);
		ready = true;
	}
	return table;
}

void raw_cell(struct raw_line *l, const char *data)
{
	static const char hex[] = "0123456789abcdef";
	const bool *esc = escape_table();
	const unsigned char *p = (const unsigned char *)(data ? data : "");
	char *o;

	/* Four bytes out per byte in at most, the separator and a newline. */
	while (l->cap - l->len < 4 * strlen((const char *)p) + 2)
		l->buf = xgrow(l->buf, l->cap, &l->cap, 1);
	o = l->buf + l->len;
	if (l->cells++)
		*o++ = ' ';
	for (; *p; p++) {
		if (!esc[*p]) {
			*o++ = *p;
			continue;
		}
		*o++ = '\\';
		*o++ = 'x';
		*o++ = hex[*p >> 4];
		*o++ = hex[*p & 15];
	}
	l->len = o - l->buf;
}

void raw_end(struct raw_line *l, FILE *out)
{
	l->buf[l->len++] = '\n';
	fwrite(l->buf, 1, l->len, out);
	l->len = 0;
	l->cells = 0;
}

void raw_free(struct raw_line *l)
{
	free(l->buf);
}
