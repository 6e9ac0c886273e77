/* SPDX-License-Identifier: MIT */
/*
 * Minimal TAP-style checks for librdmapin's C tests. Each check prints
 * "ok N - what" or "not ok N - what: detail"; check_done() prints the
 * summary line "N passed, N failed" and returns the exit status.
 */
#ifndef RDMAPIN_TESTS_CHECK_H
#define RDMAPIN_TESTS_CHECK_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Shared by every file of a test program: defined in check.c. */
extern int check_passed, check_failed;

static inline __attribute__((format(printf, 2, 3))) int check(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", cond ? "ok" : "not ok", check_passed + check_failed + 1);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (cond)
		check_passed++;
	else
		check_failed++;
	return cond;
}

/* A call's outcome against an expected errno (0: expected to succeed). */
#define check_errno(ret_ok, got_errno, want_errno, what)                                    \
	check((want_errno) ? (!(ret_ok) && (got_errno) == (want_errno)) : (ret_ok),        \
	      "%s: want %s, got %s", what, (want_errno) ? strerror(want_errno) : "success", \
	      (ret_ok) ? "success" : strerror(got_errno))

static inline int check_done(void)
{
	printf("%d passed, %d failed\n", check_passed, check_failed);
	return check_failed || !check_passed ? 1 : 0;
}

#endif
