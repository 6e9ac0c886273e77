// SPDX-License-Identifier: MIT
/*
 * The JSON output format: see json.h. Layout and escapes are those of
 * util-linux's JSON writer, three spaces a level: a quote and a backslash
 * take a backslash, a control byte its short escape or \u00XX, and every
 * other byte, UTF-8 or not, goes out as it is.
 */
#include <string.h>

#include "json.h"

static void put_string(struct outbuf *b, const char *s, bool lower)
{
	static const char short_escape[0x20] = {
		['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f', ['\r'] = 'r',
	};
	static const char hex[] = "0123456789abcdef";
	size_t len = strlen(s);
	char *start, *o;
	unsigned char c;

	/* Six bytes out per byte in at most, and the quotes. */
	start = o = outbuf_room(b, 6 * len + 2);
	*o++ = '"';
	for (; (c = *s); s++) {
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = c;
		} else if (c >= 0x20) {
			*o++ = lower && c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
		} else if (short_escape[c]) {
			*o++ = '\\';
			*o++ = short_escape[c];
		} else {
			memcpy(o, "\\u00", 4);
			o += 4;
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o++ = '"';
	b->len += o - start;
}

void json_begin(struct json_table *t, const char *name)
{
	outbuf_add(&t->out, "{\n   ", 5);
	put_string(&t->out, name, true);
	outbuf_add(&t->out, ": [\n", 4);
}

/* A row closes when the next opens, or the table ends. */
void json_row(struct json_table *t)
{
	if (t->rows++)
		outbuf_add(&t->out, "\n      },{\n", 11);
	else
		outbuf_add(&t->out, "      {\n", 8);
	t->cells = 0;
}

void json_cell(struct json_table *t, const char *name, const char *data, bool number)
{
	if (t->cells++)
		outbuf_add(&t->out, ",\n", 2);
	outbuf_add(&t->out, "         ", 9);
	put_string(&t->out, name, true);
	outbuf_add(&t->out, ": ", 2);
	if (!data || !*data)
		outbuf_add(&t->out, "null", 4);
	else if (number)
		outbuf_add(&t->out, data, strlen(data));
	else
		put_string(&t->out, data, false);
}

void json_end(struct json_table *t)
{
	if (t->rows)
		outbuf_add(&t->out, "\n      }", 8);
	outbuf_add(&t->out, "\n   ]\n}\n", 8);
	outbuf_end(&t->out);
}
