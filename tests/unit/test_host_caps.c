// SPDX-License-Identifier: MIT
/*
 * rdmapin_query_host() against what the running kernel says of itself. Runs
 * natively and in both test guests (6.1: no PROCMAP_QUERY; 7.x: has it).
 */
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include <rdmapin/rdmapin.h>
#include "check.h"

static unsigned int sysctl_value(const char *path)
{
	unsigned int v = 0;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%u", &v) != 1)
			v = 0;
		fclose(f);
	}
	return v;
}

/* PROCMAP_QUERY arrived in Linux 6.11. */
static int kernel_has_procmap_query(const char *release)
{
	unsigned int major = 0, minor = 0;

	sscanf(release, "%u.%u", &major, &minor);
	return major > 6 || (major == 6 && minor >= 11);
}

int main(void)
{
	struct rdmapin_host_caps caps;
	struct utsname u;
	int ret;

	errno = 0;
	ret = rdmapin_query_host(NULL);
	check(ret == -1 && errno == EINVAL, "NULL caps fails with EINVAL (got %d, %s)", ret,
	      strerror(errno));
	check(strstr(rdmapin_last_error(), "caps is NULL") != NULL, "message names the cause: %s",
	      rdmapin_last_error());

	ret = rdmapin_query_host(&caps);
	check(ret == 0, "rdmapin_query_host succeeds");
	uname(&u);
	check(!strcmp(caps.kernel_release, u.release), "kernel release %s", caps.kernel_release);
	check(!!(caps.flags & RDMAPIN_HOST_FILE_LEASES) ==
		      !!sysctl_value("/proc/sys/fs/leases-enable"),
	      "file leases reported as fs.leases-enable says (flags 0x%x)", caps.flags);
	check(!(caps.flags & RDMAPIN_HOST_NATIVE_LAYOUT_LEASE),
	      "no native layout lease (no released kernel merged F_LAYOUT)");
	check(caps.lease_break_time == sysctl_value("/proc/sys/fs/lease-break-time"),
	      "lease-break-time %u s", caps.lease_break_time);
	check(!!(caps.flags & RDMAPIN_HOST_PROCMAP_QUERY) == kernel_has_procmap_query(u.release),
	      "PROCMAP_QUERY %s on %s", caps.flags & RDMAPIN_HOST_PROCMAP_QUERY ? "found" : "absent",
	      u.release);
	return check_done();
}
