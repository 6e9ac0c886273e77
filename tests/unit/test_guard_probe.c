// SPDX-License-Identifier: MIT
/*
 * The truncate guard where it cannot work: natively, on a build host whose
 * kernel refuses BPF LSM programs or does not show that bpf is an active LSM,
 * rdmapin-guardd --probe must say so and why (test_guardd_native checks that
 * the daemon then fails to load it for the same cause), and the map
 * operations of util/guard_map.c must fail saying that no guard is loaded.
 * Where the probe finds the guard usable (the test guests),
 * tests/vm/test_guard loads and uses it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/types.h>
#include <rdmapin/rdmapin.h>
#include "check.h"
#include "guard_map.h"
#include "guardd_ctl.h"
#include "guest.h"

/* Guard entries are checked before the guard is looked for. */
static void bad_files(void)
{
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct rdmapin_guard_key key;
	int ret;

	ret = rdmapin_guard_key_of(-1, &key, "test");
	check_errno(!ret, errno, EBADF, "rdmapin_guard_key_of(-1)");
	ret = rdmapin_guard_key_of(fd, &key, "test");
	check_errno(!ret, errno, EINVAL, "rdmapin_guard_key_of(a directory)");
	check(strstr(rdmapin_last_error(), "not a regular file") != NULL,
	      "message names the cause: %s", rdmapin_last_error());
	ret = rdmapin_explain_busy(-1);
	check_errno(!ret, errno, EBADF, "rdmapin_explain_busy(-1)");
	ret = rdmapin_explain_busy(fd);
	check_errno(!ret, errno, EINVAL, "rdmapin_explain_busy(a directory)");
	close(fd);
}

/*
 * Without a guard, the library must not say that files are guarded: no
 * RDMAPIN_HOST_TRUNCATE_GUARD, and the reason names both ways it looked.
 */
static void honest_host(void)
{
	struct rdmapin_host_caps caps;
	char why[512];

	check(!rdmapin_query_host(&caps), "rdmapin_query_host: %s", rdmapin_last_error());
	check(!(caps.flags & RDMAPIN_HOST_TRUNCATE_GUARD),
	      "no RDMAPIN_HOST_TRUNCATE_GUARD where no guard is loaded (flags 0x%x)", caps.flags);
	check(rdmapin_query_guard(why, sizeof(why)) == RDMAPIN_GUARD_KIND_NONE,
	      "no guard is reachable");
	check(strstr(why, "rdmapin-guardd") && strstr(why, RDMAPIN_GUARD_MAP),
	      "why names the daemon and the map: %s", why);
}

/* The map operations, without a guard: @fd is a file no one registered. */
static void no_map(int fd)
{
	struct rdmapin_guard_key key;
	int ret;

	ret = rdmapin_guard_key_of(fd, &key, "test");
	check(!ret, "rdmapin_guard_key_of(a file): %s", ret ? rdmapin_last_error() : "ok");
	check(rdmapin_guard_holds(&key) == -1, "rdmapin_guard_holds() cannot tell, with no map");
	check(!rdmapin_guard_writable(), "rdmapin_guard_writable() is false, with no map");
	ret = rdmapin_guard_ref(&key, "test");
	check_errno(!ret, errno, ENOENT, "rdmapin_guard_ref() without a guard");
	check(strstr(rdmapin_last_error(), "not loaded") != NULL, "message names the cause: %s",
	      rdmapin_last_error());
	ret = rdmapin_guard_unref(&key, "test");
	check_errno(!ret, errno, ENOENT, "rdmapin_guard_unref() without a guard");
}

static void unavailable(const char *why)
{
	struct usage before;
	char file[] = "/tmp/rdmapin-guard-XXXXXX";
	int fd, ret;

	check(strlen(why) > 20, "the probe names the cause: %s", why);
	check(access(RDMAPIN_GUARD_DIR, F_OK) && errno == ENOENT, "the probe left no %s behind",
	      RDMAPIN_GUARD_DIR);

	usage_get(&before);
	fd = mkostemp(file, O_CLOEXEC);
	if (!check(fd >= 0, "mkostemp: %s", strerror(errno)))
		return;
	unlink(file);
	ret = rdmapin_explain_busy(fd);
	check_errno(!ret, errno, ENOENT, "rdmapin_explain_busy() of a file no one registered");
	check(strstr(rdmapin_last_error(), "no registration of it is known") != NULL,
	      "message says so: %s", rdmapin_last_error());
	no_map(fd);
	close(fd);
	check_usage(&before, "map operations without a guard");
	honest_host();
}

int main(void)
{
	struct usage before;
	char why[512];
	int ret;

	bad_files();
	usage_get(&before);
	ret = guard_probe(why, sizeof(why));
	check(ret >= 0, "rdmapin-guardd --probe runs: %s", ret < 0 ? rdmapin_last_error() : why);
	check_usage(&before, "rdmapin-guardd --probe");
	if (ret == 1)
		unavailable(why);
	else if (!ret)
		printf("# the guard can work here (%s): tests/vm/test_guard covers it\n", why);
	return check_done();
}
