/* SPDX-License-Identifier: MIT */
/*
 * Output gathered in memory and written in large blocks: a write per line
 * costs more than the line's bytes, a hundred thousand lines over.
 */
#ifndef PINLS_OUTBUF_H
#define PINLS_OUTBUF_H

#include <stdio.h>

/* Zeroed but for out to start. */
struct outbuf {
	FILE *out;
	char *buf;
	size_t len, cap;
};

/*
 * Room for n more bytes at buf + len, which the caller fills and adds to
 * len; what the buffer held may have been written out first.
 */
char *outbuf_room(struct outbuf *b, size_t n);
void outbuf_add(struct outbuf *b, const char *s, size_t n);
/* c as \\xNN at o, as libsmartcols escapes a byte; past it. */
char *outbuf_hex(char *o, unsigned char c);
/* Writes what is left and frees the buffer. */
void outbuf_end(struct outbuf *b);

#endif
