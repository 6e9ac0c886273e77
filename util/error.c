// SPDX-License-Identifier: MIT
/* Per-thread error messages: errno says what, the message says why and what to do. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "error.h"

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

const char *rdmapin_error_msg(void)
{
	return last_error;
}
