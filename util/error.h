/* SPDX-License-Identifier: MIT */
#ifndef RDMAPIN_UTIL_ERROR_H
#define RDMAPIN_UTIL_ERROR_H

/*
 * Records a message for rdmapin_error_msg() (rdmapin_last_error() in the
 * library) and sets errno to errnum. Returns -1 so that callers can write
 * "return rdmapin_fail(...)". Each program that links util/ has its own
 * per-thread message.
 */
int rdmapin_fail(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * As rdmapin_fail(errnum, "%s: %s", what, msg), without printf: for a
 * message recorded on a path that usually goes on to succeed.
 */
int rdmapin_fail_str(int errnum, const char *what, const char *msg);

/* Empties the calling thread's message. */
void rdmapin_error_clear(void);

/* The calling thread's last message from rdmapin_fail(). */
const char *rdmapin_error_msg(void);

#endif
