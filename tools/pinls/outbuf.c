// SPDX-License-Identifier: MIT
/* Output written in large blocks: see outbuf.h. */
#include <stdlib.h>
#include <string.h>

#include "outbuf.h"
#include "xalloc.h"

#define FLUSH_AT (64 << 10)

static void flush(struct outbuf *b)
{
	if (b->len)
		fwrite(b->buf, 1, b->len, b->out);
	b->len = 0;
}

char *outbuf_room(struct outbuf *b, size_t n)
{
	if (b->len >= FLUSH_AT)
		flush(b);
	while (b->cap - b->len < n)
		b->buf = xgrow(b->buf, b->cap, &b->cap, 1);
	return b->buf + b->len;
}

void outbuf_add(struct outbuf *b, const char *s, size_t n)
{
	memcpy(outbuf_room(b, n), s, n);
	b->len += n;
}

void outbuf_end(struct outbuf *b)
{
	flush(b);
	free(b->buf);
	b->buf = NULL;
	b->cap = 0;
}

char *outbuf_hex(char *o, unsigned char c)
{
	static const char hex[] = "0123456789abcdef";

	*o++ = '\\';
	*o++ = 'x';
	*o++ = hex[c >> 4];
	*o++ = hex[c & 15];
	return o;
}
