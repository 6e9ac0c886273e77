// SPDX-License-Identifier: MIT
/*
 * util/error.c and util/str.h, natively: the printf-free message and copy
 * that registrations use on their way to success write what printf would,
 * cut short where it would, and read a message that is their own output.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "str.h"

#define MSG_MAX 511 /* the per-thread message holds 512 bytes */

static void check_fail_str(void)
{
	char want[600];
	int ret;

	errno = 0;
	ret = rdmapin_fail_str(EOPNOTSUPP, "/mnt/f", "no truncate guard: why");
	check(ret == -1 && errno == EOPNOTSUPP &&
		      !strcmp(rdmapin_error_msg(), "/mnt/f: no truncate guard: why"),
	      "rdmapin_fail_str() writes 'WHAT: MSG', sets errno, returns -1 (got '%s')",
	      rdmapin_error_msg());
	rdmapin_fail(EIO, "inner %d", 5);
	rdmapin_fail_str(EINVAL, "outer", rdmapin_error_msg());
	check(!strcmp(rdmapin_error_msg(), "outer: inner 5"),
	      "a message made of the message itself moves whole (got '%s')", rdmapin_error_msg());
	memset(want, 'm', sizeof(want) - 1);
	want[sizeof(want) - 1] = '\0';
	rdmapin_fail_str(EINVAL, "w", want);
	check(strlen(rdmapin_error_msg()) == MSG_MAX && !strncmp(rdmapin_error_msg(), "w: mmm", 6),
	      "a long MSG is cut short at %d bytes, as rdmapin_fail() cuts (got %zu)", MSG_MAX,
	      strlen(rdmapin_error_msg()));
	rdmapin_fail_str(EINVAL, want, "msg");
	check(strlen(rdmapin_error_msg()) == MSG_MAX &&
		      !strcmp(rdmapin_error_msg() + MSG_MAX - 2, ": "),
	      "a WHAT too long for the message keeps its ': ' and a NUL (got %zu bytes)",
	      strlen(rdmapin_error_msg()));
	rdmapin_error_clear();
	check(!rdmapin_error_msg()[0], "rdmapin_error_clear() empties the message");
}

static void check_strscpy(void)
{
	char buf[8], over[16] = "abcdefgh";

	rdmapin_strscpy(buf, "abc", sizeof(buf));
	check(!strcmp(buf, "abc"), "a short string is copied whole");
	rdmapin_strscpy(buf, "abcdefg", sizeof(buf));
	check(!strcmp(buf, "abcdefg"), "a string that just fits is copied whole");
	rdmapin_strscpy(buf, "abcdefghij", sizeof(buf));
	check(!strcmp(buf, "abcdefg"), "a longer one is cut to size - 1 bytes and a NUL");
	rdmapin_strscpy(buf, "", 1);
	check(!buf[0], "size 1 leaves an empty string");
	rdmapin_strscpy(over + 2, over, sizeof(over) - 2);
	check(!strcmp(over, "ababcdefgh"), "source and destination may overlap (got '%s')", over);
}

int main(void)
{
	check_fail_str();
	check_strscpy();
	return check_done();
}
