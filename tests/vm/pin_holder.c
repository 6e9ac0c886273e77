// SPDX-License-Identifier: MIT
/*
 * A process that holds pins for test_pinls: registers each FILE LENGTH pair
 * on $RDMAPIN_RXE0 with rdmapin_reg_file_mr() (with -u: maps it and uses
 * plain ibv_reg_mr(), as an RDMA user without librdmapin would), prints what
 * it got, one line per pin, then "ready", and sleeps until killed.
 *
 *	pin <n> <backing> <mode> <lease> <guard> <device> <offset> <length>
 *
 * n counts the FILE arguments from 0; the test knows their paths. The names
 * are the library's, which pinls prints too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "guest.h"

#define MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)

static int report(int n, struct ibv_mr *mr)
{
	struct rdmapin_mr_attr a = { .comp_mask = 0 };

	if (rdmapin_query_mr(mr, &a)) {
		fprintf(stderr, "pin_holder: rdmapin_query_mr: %s\n", rdmapin_last_error());
		return -1;
	}
	printf("pin %d %s %s %s %s %s %llu %zu\n", n, rdmapin_backing_str(a.backing),
	       rdmapin_reg_mode_str(a.mode), rdmapin_lease_kind_str(a.lease),
	       rdmapin_guard_kind_str(a.guard), a.device,
	       (unsigned long long)a.offset, mr->length);
	return 0;
}

static int hold(struct ibv_pd *pd, int n, const char *path, size_t len, bool unmanaged)
{
	struct ibv_mr *mr;
	void *addr;
	int fd;

	/* The fd stays open: a second open of a leased file would break its lease. */
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "pin_holder: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!unmanaged) {
		mr = rdmapin_reg_file_mr(pd, fd, 0, len, MR_ACCESS);
		if (!mr) {
			fprintf(stderr, "pin_holder: %s: %s\n", path, rdmapin_last_error());
			return -1;
		}
		return report(n, mr);
	}
	addr = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	mr = addr == MAP_FAILED ? NULL : ibv_reg_mr(pd, addr, len, MR_ACCESS);
	if (!mr) {
		fprintf(stderr, "pin_holder: %s: mmap or ibv_reg_mr: %s\n", path, strerror(errno));
		return -1;
	}
	printf("pin %d unmanaged\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	bool unmanaged = argc > 1 && !strcmp(argv[1], "-u");
	const char *dev = getenv("RDMAPIN_RXE0");
	struct ibv_pd *pd;
	int i, first = unmanaged ? 2 : 1;

	if ((argc - first) % 2 || argc == first) {
		fprintf(stderr, "usage: pin_holder [-u] FILE LENGTH [FILE LENGTH...]\n");
		return 2;
	}
	pd = open_pd(dev);
	if (!pd) {
		fprintf(stderr, "pin_holder: cannot open %s and allocate a PD\n",
			dev ? dev : "$RDMAPIN_RXE0");
		return 1;
	}
	for (i = first; i < argc; i += 2)
		if (hold(pd, (i - first) / 2, argv[i], strtoul(argv[i + 1], NULL, 0), unmanaged))
			return 1;
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
