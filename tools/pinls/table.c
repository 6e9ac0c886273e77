// SPDX-License-Identifier: MIT
/* The table output format, off a terminal: see table.h. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <wctype.h>

#include "table.h"

/*
 * A character of one byte that encode() below copies, one column wide: a
 * cell of such bytes alone goes out as it is, and is as wide as it is long,
 * without a conversion per character. A backslash is not, as encode() looks
 * at what follows it; nor is NUL, which ends a scan.
 */
static bool plain(unsigned char c)
{
	char s = c;
	mbstate_t st;
	wchar_t wc;

	memset(&st, 0, sizeof(st));
	return c != '\\' && !iscntrl(c) && mbrtowc(&wc, &s, 1, &st) == 1 && iswprint(wc) &&
	       wcwidth(wc) == 1;
}

/* The locale is set before any output, and never changes. */
static const bool *plain_table(void)
{
	static bool table[256], ready;
	int c;

	if (!ready) {
		for (c = 0; c < 256; c++)
			table[c] = plain(c);
		ready = true;
	}
	return table;
}

/* n bytes from p at *o, as they are or as \xNN each, unless o is NULL; their width. */
static size_t put(char **o, const unsigned char *p, size_t n, bool hex)
{
	size_t i;

	for (i = 0; o && i < n; i++) {
		if (hex)
			*o = outbuf_hex(*o, p[i]);
		else
			*(*o)++ = p[i];
	}
	return hex ? 4 * n : n;
}

/*
 * libsmartcols's mbs_safe_encode_to_buffer() (util-linux's lib/mbsalign.c),
 * the same calls in the same order, for a cell with a byte that is not
 * plain: a control byte, or a backslash before an x, reads \xNN; so does
 * each byte of a character the locale holds non-printable, and a byte that
 * starts no valid character unless the locale prints it alone. Writes at
 * *o unless o is NULL; returns the width in columns.
 */
static size_t encode(const char *s, char **o)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t width = 0, len;
	mbstate_t st;
	wchar_t wc;

	memset(&st, 0, sizeof(st));
	for (; *p; p += len) {
		len = 1;
		if ((p[0] == '\\' && p[1] == 'x') || iscntrl(*p)) {
			width += put(o, p, 1, true);
			continue;
		}
		len = mbrtowc(&wc, (const char *)p, MB_CUR_MAX, &st);
		if (!len)
			break;
		if (len == (size_t)-1 || len == (size_t)-2) {
			len = 1;
			width += put(o, p, 1, !isprint(*p));
		} else if (!iswprint(wc)) {
			width += put(o, p, len, true);
		} else {
			put(o, p, len, false);
			width += wcwidth(wc);
		}
	}
	return width;
}

/* A cell's text, as the table shows it. */
struct text {
	const char *s;
	size_t bytes, width;
	bool plain; /* goes out as it is */
};

static struct text text_of(const char *data)
{
	const bool *is_plain = plain_table();
	struct text x = { .s = data ? data : "" };

	while (is_plain[(unsigned char)x.s[x.bytes]])
		x.bytes++;
	x.plain = !x.s[x.bytes];
	if (x.plain) {
		x.width = x.bytes;
	} else {
		x.bytes += strlen(x.s + x.bytes);
		x.width = encode(x.s, NULL);
	}
	return x;
}

void table_measure(struct table_column *col, const char *data)
{
	size_t width = text_of(data).width;

	if (width > col->width)
		col->width = width;
}

/*
 * libsmartcols's count_column_width() off a terminal: the widest cell, or
 * the heading (one column at least) if that is wider; then the hint if it
 * is wider still, but only for a column whose cells are as wide as its
 * heading or wider.
 */
static size_t column_width(const struct table_column *col)
{
	size_t min = text_of(col->name).width;

	if (!min)
		min = 1;
	if (col->width < min)
		return min;
	if (col->whint >= 1 && col->width < (size_t)col->whint)
		return (size_t)col->whint;
	return col->width;
}

void table_begin(struct table *t, bool headings)
{
	size_t c;

	for (c = 0; c < t->ncols; c++)
		t->cols[c].width = column_width(&t->cols[c]);
	if (!headings)
		return;
	for (c = 0; c < t->ncols; c++)
		table_cell(t, t->cols[c].name);
	table_line_end(t);
}

static char *spaces(char *o, size_t n)
{
	memset(o, ' ', n);
	return o + n;
}

/*
 * libsmartcols's print_data(): a cell padded to its column's width and a
 * space after it, but the last of a line, which a left-aligned cell ends
 * unpadded. A cell of no width (a lone combining mark) it leaves out.
 */
void table_cell(struct table *t, const char *data)
{
	const struct table_column *col = &t->cols[t->cell];
	bool last = ++t->cell == t->ncols;
	struct text x = text_of(data);
	size_t fill = x.width < col->width ? col->width - x.width : 0;
	char *start, *o;

	/* The padding, four bytes out per byte in at most, and the separator. */
	start = o = outbuf_room(&t->out, col->width + 4 * x.bytes + 1);
	if (col->right && x.width) {
		o = spaces(o, fill);
		fill = 0;
	}
	if (x.plain) {
		memcpy(o, x.s, x.bytes);
		o += x.bytes;
	} else if (x.width) {
		encode(x.s, &o);
	}
	if (!last) {
		o = spaces(o, fill);
		*o++ = ' ';
	}
	t->out.len += o - start;
}

void table_line_end(struct table *t)
{
	outbuf_add(&t->out, "\n", 1);
	t->cell = 0;
}
