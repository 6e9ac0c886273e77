/* SPDX-License-Identifier: MIT */
#ifndef RDMAPIN_ERROR_H
#define RDMAPIN_ERROR_H

/*
 * Records a message for rdmapin_last_error() and sets errno to errnum.
 * Returns -1 so that callers can write "return rdmapin_fail(...)".
 */
int rdmapin_fail(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
