// SPDX-License-Identifier: MIT
/*
 * The truncate guard where it cannot work: natively, on a build host whose
 * kernel refuses BPF LSM programs or does not show that bpf is an active LSM,
 * rdmapin_guard_probe() must say so and why, and rdmapin_guard_load() must
 * fail with the same cause and leave nothing behind. Where the probe finds
 * the guard usable (the test guests), tests/vm/test_guard loads and uses it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "check.h"
#include "guard.h"
#include "guest.h"

/* Guard entries are checked before the guard is looked for. */
static void bad_files(void)
{
	int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret;

	ret = rdmapin_guard_add(-1);
	check_errno(!ret, errno, EBADF, "rdmapin_guard_add(-1)");
	ret = rdmapin_guard_add(fd);
	check_errno(!ret, errno, EINVAL, "rdmapin_guard_add(a directory)");
	check(strstr(rdmapin_last_error(), "not a regular file") != NULL,
	      "message names the cause: %s", rdmapin_last_error());
	ret = rdmapin_guard_del(fd);
	check_errno(!ret, errno, EINVAL, "rdmapin_guard_del(a directory)");
	close(fd);
}

static void unavailable(const char *why, int probe_errno)
{
	struct usage before;
	char file[] = "/tmp/rdmapin-guard-XXXXXX";
	int fd, ret;

	check(probe_errno == EOPNOTSUPP || probe_errno == EPERM,
	      "unavailable: probe fails with EOPNOTSUPP or EPERM (got %s)",
	      strerror(probe_errno));
	check(strlen(why) > 20, "the probe names the cause: %s", why);

	usage_get(&before);
	errno = 0;
	ret = rdmapin_guard_load();
	check_errno(!ret, errno, probe_errno, "rdmapin_guard_load() fails as the probe said");
	check(strstr(rdmapin_last_error(), why) != NULL,
	      "load's message carries the probe's cause: %s", rdmapin_last_error());
	check_usage(&before, "failed load");
	check(access(RDMAPIN_GUARD_DIR, F_OK) && errno == ENOENT, "no %s left behind",
	      RDMAPIN_GUARD_DIR);

	fd = mkostemp(file, O_CLOEXEC);
	if (!check(fd >= 0, "mkostemp: %s", strerror(errno)))
		return;
	unlink(file);
	ret = rdmapin_guard_add(fd);
	check_errno(!ret, errno, ENOENT, "rdmapin_guard_add() without a guard");
	check(strstr(rdmapin_last_error(), "not loaded") != NULL, "message names the cause: %s",
	      rdmapin_last_error());
	close(fd);
}

int main(void)
{
	char why[256] = "";
	int ret;

	bad_files();
	errno = 0;
	ret = rdmapin_guard_probe(why, sizeof(why));
	if (ret)
		unavailable(why, errno);
	else
		printf("# the guard can work here (%s): tests/vm/test_guard covers it\n", why);
	return check_done();
}
