// SPDX-License-Identifier: MIT
/* Probes, once per process, what the running kernel offers librdmapin. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "error.h"
#include "guard_client.h"
#include "host_caps.h"
#include "procmap_query.h"

/* The 2019 "RDMA/FS DAX truncate" RFC's lease flag; no mainline kernel has it. */
#define RDMAPIN_F_LAYOUT 16

static struct rdmapin_host_caps host_caps;
static pthread_once_t host_caps_once = PTHREAD_ONCE_INIT;

static unsigned int read_sysctl(const char *path, unsigned int fallback)
{
	unsigned int val;
	FILE *f = fopen(path, "re");

	if (!f)
		return fallback;
	if (fscanf(f, "%u", &val) != 1)
		val = fallback;
	fclose(f);
	return val;
}

/*
 * A read lease needs a file with no writers, owned by us: a memfd reopened
 * read-only. Plain F_RDLCK succeeding on it proves leases work here, so an
 * EINVAL for F_LAYOUT|F_RDLCK on the same fd can only mean "no such flag".
 */
static uint32_t probe_leases(void)
{
	uint32_t flags = 0;
	char path[64];
	int wfd, fd;

	wfd = memfd_create("rdmapin-lease-probe", MFD_CLOEXEC);
	if (wfd < 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", wfd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	close(wfd);
	if (fd < 0)
		return 0;
	if (fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
		flags |= RDMAPIN_HOST_FILE_LEASES;
		fcntl(fd, F_SETLEASE, F_UNLCK);
		if (fcntl(fd, F_SETLEASE, RDMAPIN_F_LAYOUT | F_RDLCK) == 0) {
			flags |= RDMAPIN_HOST_NATIVE_LAYOUT_LEASE;
			fcntl(fd, F_SETLEASE, F_UNLCK);
		}
	}
	close(fd);
	return flags;
}

static uint32_t probe_procmap_query(void)
{
	struct procmap_query q = {
		.size = sizeof(q),
		.query_addr = (uintptr_t)&host_caps,
	};
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return 0;
	ret = ioctl(fd, PROCMAP_QUERY, &q);
	close(fd);
	return ret == 0 ? RDMAPIN_HOST_PROCMAP_QUERY : 0;
}

static void probe_host(void)
{
	struct utsname u;

	host_caps.flags = probe_leases() | probe_procmap_query();
	host_caps.lease_break_time = read_sysctl("/proc/sys/fs/lease-break-time", 45);
	if (!read_sysctl("/proc/sys/fs/leases-enable", 1))
		host_caps.flags &= ~RDMAPIN_HOST_FILE_LEASES;
	if (uname(&u) == 0)
		snprintf(host_caps.kernel_release, sizeof(host_caps.kernel_release), "%s",
			 u.release);
}

const struct rdmapin_host_caps *rdmapin_host(void)
{
	pthread_once(&host_caps_once, probe_host);
	return &host_caps;
}

bool rdmapin_host_refuses_file_pins(void)
{
	unsigned int major = 0, minor = 0;

	sscanf(rdmapin_host()->kernel_release, "%u.%u", &major, &minor);
	return major > 6 || (major == 6 && minor >= 5);
}

int rdmapin_query_host(struct rdmapin_host_caps *caps)
{
	if (!caps)
		return rdmapin_fail(EINVAL, "rdmapin_query_host: caps is NULL; pass a "
					    "struct rdmapin_host_caps to fill");
	char why[512], last[512];
	int err = errno;

	*caps = *rdmapin_host();
	/* Looking for the guard is no failure: errno and the last error stay. */
	snprintf(last, sizeof(last), "%s", rdmapin_error_msg());
	if (rdmapin_guard_reachable(why, sizeof(why)) != RDMAPIN_GUARD_KIND_NONE)
		caps->flags |= RDMAPIN_HOST_TRUNCATE_GUARD;
	rdmapin_fail(err, "%s", last);
	return 0;
}
