// SPDX-License-Identifier: MIT
/*
 * rdmapin_reg_mr() and rdmapin_reg_file_mr() over every kind of memory the
 * test guest has, on its kernel: the mode chosen and the lease held, or the
 * errno and a message that names the cause and the remedy.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "check.h"
#include "guest.h"
#include "rdma_peer.h"

#include "array.h"
#define MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)

struct expect {
	int err;			/* 0: registers */
	enum rdmapin_reg_mode mode;
	enum rdmapin_lease_kind lease;
};

#define PIN_NOLEASE { 0, RDMAPIN_MODE_PIN, RDMAPIN_LEASE_KIND_NONE }
#define PIN_LEASED { 0, RDMAPIN_MODE_PIN, RDMAPIN_LEASE_KIND_EMULATED }
#define ODP_LEASED { 0, RDMAPIN_MODE_ODP, RDMAPIN_LEASE_KIND_EMULATED }
#define REFUSED(e) { e, 0, 0 }

static const struct row {
	const char *name;
	int (*map)(struct mapping *m);
	enum rdmapin_backing backing;
	struct expect want[NR_KERNELS];
} rows[] = {
	{ "anonymous", map_anon, RDMAPIN_BACKING_ANON, { PIN_NOLEASE, PIN_NOLEASE } },
	{ "memfd", map_memfd, RDMAPIN_BACKING_SHMEM, { PIN_NOLEASE, PIN_NOLEASE } },
	{ "hugetlb", map_hugetlb, RDMAPIN_BACKING_HUGETLB, { PIN_NOLEASE, PIN_NOLEASE } },
	{ "page-cache shared", map_pagecache_shared, RDMAPIN_BACKING_PAGECACHE,
	  { PIN_LEASED, ODP_LEASED } },
	{ "fsdax shared", map_fsdax_shared, RDMAPIN_BACKING_FSDAX,
	  { REFUSED(EOPNOTSUPP), ODP_LEASED } },
	{ "fsdax private, copied", map_fsdax_private_copied, RDMAPIN_BACKING_FSDAX,
	  { PIN_NOLEASE, PIN_NOLEASE } },
	{ "fsdax private, untouched", map_fsdax_private, RDMAPIN_BACKING_FSDAX,
	  { PIN_NOLEASE, PIN_NOLEASE } },
	{ "device-DAX", map_devdax_region, RDMAPIN_BACKING_DEVDAX, { PIN_NOLEASE, PIN_NOLEASE } },
};

/* Whether /proc/locks lists a lease on the file behind fd (any holder). */
static bool lease_listed(int fd)
{
	struct stat st;

	return !fstat(fd, &st) && count_leases(0, &st) > 0;
}

static void check_registered(struct ibv_mr *mr, const struct row *r, const struct mapping *m,
			     const char *form)
{
	const struct expect *want = &r->want[env.kernel];
	struct rdmapin_mr_attr attr = { .comp_mask = 0 };

	if (!check(rdmapin_query_mr(mr, &attr) == 0, "%s %s: rdmapin_query_mr", form, r->name))
		return;
	check(attr.backing == r->backing, "%s %s: backing %d (want %d)", form, r->name,
	      attr.backing, r->backing);
	check(attr.mode == want->mode, "%s %s: mode %s", form, r->name,
	      attr.mode == RDMAPIN_MODE_ODP ? "ODP" : "pin");
	check(attr.lease == want->lease, "%s %s: lease kind %d (want %d)", form, r->name,
	      attr.lease, want->lease);
	check(!strcmp(attr.device, env.rxe0), "%s %s: device %s", form, r->name, attr.device);
	if (m->path[0])
		check(!strcmp(attr.path, m->path), "%s %s: path %s", form, r->name, attr.path);
	if (m->fd >= 0 && r->backing != RDMAPIN_BACKING_SHMEM)
		check(lease_listed(m->fd) == (want->lease != RDMAPIN_LEASE_KIND_NONE),
		      "%s %s: /proc/locks %s", form, r->name,
		      want->lease ? "lists its lease" : "lists no lease");
}

static void check_refused(const struct row *r, int err, const char *form)
{
	const char *msg = rdmapin_last_error();

	check(err == r->want[env.kernel].err, "%s %s: refused with %s (want %s)", form, r->name,
	      strerror(err), strerror(r->want[env.kernel].err));
	check(strstr(msg, "On-Demand Paging") && strstr(msg, "device-DAX"),
	      "%s %s: message names cause and remedy: %s", form, r->name, msg);
}

static void check_row(struct ibv_pd *pd, const struct row *r)
{
	struct mapping m = unmapped;
	struct ibv_mr *mr;
	int err;

	if (r->map(&m)) {
		check(0, "%s: set up: %s", r->name, m.err);
		return;
	}
	mr = rdmapin_reg_mr(pd, m.addr, m.len, MR_ACCESS);
	err = errno;
	if (r->want[env.kernel].err || !mr) {
		if (check(!mr, "rdmapin_reg_mr %s: %s", r->name, mr ? "registered" : "refused"))
			check_refused(r, err, "rdmapin_reg_mr");
	} else {
		check_registered(mr, r, &m, "rdmapin_reg_mr");
		check(rdmapin_dereg_mr(mr) == 0, "rdmapin_dereg_mr %s", r->name);
		if (m.fd >= 0)
			check(!lease_listed(m.fd), "%s: no lease after dereg", r->name);
	}
	unmap(&m);
}

/*
 * A name longer than the first PROCMAP_QUERY asks room for (vma.c) comes
 * whole from the second.
 */
static void check_long_path(struct ibv_pd *pd)
{
	struct mapping m = unmapped;
	struct rdmapin_mr_attr attr = { .comp_mask = 0 };
	char dir[PATH_MAX];
	size_t len = snprintf(dir, sizeof(dir), "%s", env.pagecache_dir), ends[3];
	struct ibv_mr *mr;
	int made = 0;

	/* Three nested directories, each name 200 bytes long. */
	while (made < 3 && len + 202 < sizeof(dir)) {
		dir[len++] = '/';
		memset(dir + len, 'd', 200);
		len += 200;
		dir[len] = '\0';
		if (mkdir(dir, 0700) && errno != EEXIST)
			break;
		ends[made++] = len;
	}
	if (!check(made == 3 && !map_file(&m, dir, MAP_SHARED),
		   "long path: set up under %s: %s", env.pagecache_dir, m.err))
		goto out;
	mr = rdmapin_reg_mr(pd, m.addr, m.len, MR_ACCESS);
	if (check(mr != NULL, "long path: %zu-byte path registers: %s", strlen(m.path),
		  mr ? "" : rdmapin_last_error())) {
		if (check(!rdmapin_query_mr(mr, &attr), "long path: rdmapin_query_mr"))
			check(!strcmp(attr.path, m.path), "long path: rdmapin_query_mr gives the "
			      "whole %zu-byte path (%zu bytes)", strlen(m.path), strlen(attr.path));
		rdmapin_dereg_mr(mr);
	}
	unmap(&m);
out:
	while (made--) {
		dir[ends[made]] = '\0';
		rmdir(dir);
	}
}

int main(void)
{
	struct ibv_context *ctx;
	struct ibv_pd *pd = NULL;
	size_t i;

	if (read_env())
		return check_done();
	ctx = rdma_peer_open_device(env.rxe0);
	if (ctx)
		pd = ibv_alloc_pd(ctx);
	if (!check(pd != NULL, "open %s and allocate a PD", env.rxe0))
		return check_done();
	for (i = 0; i < ARRAY_SIZE(rows); i++)
		check_row(pd, &rows[i]);
	check_long_path(pd);
	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
	return check_done();
}
