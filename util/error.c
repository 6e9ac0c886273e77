// SPDX-License-Identifier: MIT
/* Per-thread error messages: errno says what, the message says why and what to do. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "str.h"

static __thread char last_error[512];

int rdmapin_fail(int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	errno = errnum;
	return -1;
}

int rdmapin_fail_str(int errnum, const char *what, const char *msg)
{
	size_t n = strnlen(what, sizeof(last_error) - 3);

	/* @msg may be the message itself: it moves before @what is written. */
	rdmapin_strscpy(last_error + n + 2, msg, sizeof(last_error) - n - 2);
	memcpy(last_error, what, n);
	memcpy(last_error + n, ": ", 2);
	errno = errnum;
	return -1;
}

void rdmapin_error_clear(void)
{
	last_error[0] = '\0';
}

const char *rdmapin_error_msg(void)
{
	return last_error;
}
