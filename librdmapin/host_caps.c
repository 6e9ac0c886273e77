// SPDX-License-Identifier: MIT
/* Probes, once per process, what the running kernel offers librdmapin. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "host_caps.h"
#include "lib.h"
#include "procmap_query.h"

/* The 2019 "RDMA/FS DAX truncate" RFC's lease flag; no mainline kernel has it. */
#define RDMAPIN_F_LAYOUT 16

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
		.query_addr = (uintptr_t)&rdmapin_lib,
	};
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return 0;
	ret = ioctl(fd, PROCMAP_QUERY, &q);
	close(fd);
	return ret == 0 ? RDMAPIN_HOST_PROCMAP_QUERY : 0;
}

static void probe_host(struct rdmapin_host_caps *host)
{
	struct utsname u;

	host->flags = probe_leases() | probe_procmap_query();
	host->lease_break_time = read_sysctl("/proc/sys/fs/lease-break-time", 45);
	if (!read_sysctl("/proc/sys/fs/leases-enable", 1))
		host->flags &= ~RDMAPIN_HOST_FILE_LEASES;
	if (uname(&u) == 0)
		snprintf(host->kernel_release, sizeof(host->kernel_release), "%s", u.release);
}

static dev_t probe_shm_dev(void)
{
	int fd = memfd_create("rdmapin-shm-probe", MFD_CLOEXEC);
	struct stat st;
	dev_t dev;

	if (fd < 0)
		return 0;
	dev = fstat(fd, &st) ? 0 : st.st_dev;
	close(fd);
	return dev;
}

/* Every registration asks: parsed once, not per call. */
static unsigned int parse_version(const char *release)
{
	unsigned int major = 0, minor = 0;

	sscanf(release, "%u.%u", &major, &minor);
	return major << 16 | (minor & 0xffff);
}

/* Probed once, under the setup lock; the flag is published after the facts. */
const struct rdmapin_host_caps *rdmapin_host(void)
{
	struct rdmapin_lib *l = &rdmapin_lib;

	if (__atomic_load_n(&l->host_probed, __ATOMIC_ACQUIRE))
		return &l->host;
	rdmapin_setup_lock();
	if (!l->host_probed) {
		probe_host(&l->host);
		l->host_version = parse_version(l->host.kernel_release);
		l->host_shm_dev = probe_shm_dev();
		__atomic_store_n(&l->host_probed, true, __ATOMIC_RELEASE);
	}
	rdmapin_setup_unlock();
	return &l->host;
}

bool rdmapin_host_kernel_at_least(unsigned int want_major, unsigned int want_minor)
{
	rdmapin_host();
	return rdmapin_lib.host_version >= (want_major << 16 | want_minor);
}

dev_t rdmapin_host_shm_dev(void)
{
	rdmapin_host();
	return rdmapin_lib.host_shm_dev;
}

bool rdmapin_host_refuses_file_pins(void)
{
	return rdmapin_host_kernel_at_least(6, 5);
}

bool rdmapin_host_forces_ro_pins(void)
{
	return !rdmapin_host_kernel_at_least(6, 2);
}
