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

#include <linux/types.h>
#include <rdmapin/rdmapin.h>
#include "check.h"
#include "guard.h"
#include "guard_client.h"
#include "rdmapin_guard.h"
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
	check(rdmapin_guard_reachable(why, sizeof(why)) == RDMAPIN_GUARD_KIND_NONE,
	      "no guard is reachable");
	check(strstr(why, "rdmapin-guardd") && strstr(why, RDMAPIN_GUARD_MAP),
	      "why names the daemon and the map: %s", why);
}

static void unavailable(const char *why, int probe_errno)
{
	struct rdmapin_guard_key key;
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
	ret = rdmapin_guard_key_of(fd, &key, "test");
	check(!ret, "rdmapin_guard_key_of(a file): %s", ret ? rdmapin_last_error() : "ok");
	ret = rdmapin_explain_busy(fd);
	check_errno(!ret, errno, ENOENT, "rdmapin_explain_busy() of a file no one registered");
	check(strstr(rdmapin_last_error(), "no registration of it is known") != NULL,
	      "message says so: %s", rdmapin_last_error());
	ret = rdmapin_guard_ref(&key, "test");
	check_errno(!ret, errno, ENOENT, "rdmapin_guard_ref() without a guard");
	check(strstr(rdmapin_last_error(), "not loaded") != NULL, "message names the cause: %s",
	      rdmapin_last_error());
	close(fd);
	honest_host();
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
