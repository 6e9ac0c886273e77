// SPDX-License-Identifier: MIT
/*
 * Remote RDMA WRITEs that do not start at a page boundary, from the second
 * rxe device into each backing librdmapin registers, with default settings:
 * either the registration was refused by the device-quirk rule (rxe ODP,
 * Linux 6.15 on) with EOPNOTSUPP and a message naming the defect, or every
 * byte is where it was written (files: read back through a separate open).
 * With the quirk accepted (attr or RDMAPIN_ALLOW_QUIRKS) the registration
 * goes through and rdmapin_query_mr() reports the quirk it runs under.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "array.h"
#include "check.h"
#include "guest.h"
#include "rdma_peer.h"
#include "remote_writer.h"

#define MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)
#define MAX_WRITE 9000

static const struct {
	uint64_t offset, len;
} writes[] = { { 17, 100 }, { 5096, 3000 }, { 4000, 5000 }, { 69631, 9000 } };

static const struct backing {
	const char *name;
	int (*map)(struct mapping *m);
	bool file;		/* read back through a separate open */
} backings[] = {
	{ "anonymous", map_anon, false },
	{ "page-cache", map_pagecache_shared, true },
	{ "fsdax", map_fsdax_shared, true },
	{ "device-DAX", map_devdax_region, false },
};

static uint32_t device_quirks(struct ibv_pd *pd)
{
	struct rdmapin_device_caps caps = { .comp_mask = RDMAPIN_DEVICE_CAPS_QUIRKS };

	if (!check(!rdmapin_query_device(pd->context, &caps) &&
		   (caps.comp_mask & RDMAPIN_DEVICE_CAPS_QUIRKS),
		   "rdmapin_query_device fills the quirks extension"))
		return 0;
	/* The table's rule: rxe on 6.15 and later; the guests' 7.x is 7.2. */
	check(caps.quirks == (env.kernel == KERNEL_7 ? RDMAPIN_QUIRK_RXE_ODP_OFFSET : 0),
	      "%s quirks 0x%x on this kernel", env.rxe0, caps.quirks);
	check(!strcmp(rdmapin_quirk_str(RDMAPIN_QUIRK_RXE_ODP_OFFSET), "rxe-odp-offset"),
	      "rdmapin_quirk_str names rxe-odp-offset");
	return caps.quirks;
}

/*
 * What the first SPAN bytes must hold after every write: the writes overlap,
 * and a file is read back only after the last one, since another open of a
 * leased file revokes its MR.
 */
#define SPAN (69631 + 9000)

static void expected_image(unsigned char *want)
{
	uint64_t pattern[MAX_WRITE / sizeof(uint64_t) + 1];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(pattern); i++)
		pattern[i] = remote_writer_pattern(i);
	memset(want, 0, SPAN);
	for (i = 0; i < ARRAY_SIZE(writes); i++)
		memcpy(want + writes[i].offset, pattern, writes[i].len);
}

/* The first SPAN bytes: files through a separate open, the rest through the mapping. */
static int read_back(const struct backing *b, const struct mapping *m, unsigned char *got)
{
	int fd;
	ssize_t n;

	if (!b->file) {
		memcpy(got, m->addr, SPAN);
		return 0;
	}
	fd = open(m->path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : pread(fd, got, SPAN, 0);
	if (fd >= 0)
		close(fd);
	return n == SPAN ? 0 : -1;
}

/* The first byte of [offset, offset + len) that differs, or len. */
static size_t first_difference(const unsigned char *got, const unsigned char *want,
			       uint64_t offset, uint64_t len)
{
	size_t i;

	for (i = 0; i < len && got[offset + i] == want[offset + i]; i++)
		;
	return i;
}

/*
 * @quirk: the MR runs under rxe-odp-offset, whose defect must show (else the
 * quirk table claims a defect this kernel does not have); else every byte
 * must be where it was written.
 */
static void verify(const struct backing *b, const struct mapping *m, bool quirk)
{
	static unsigned char want[SPAN], got[SPAN];
	size_t i, same, misplaced = 0;

	expected_image(want);
	if (!check(!read_back(b, m, got), "%s: read back%s", b->name,
		   b->file ? " through a separate open" : ""))
		return;
	for (i = 0; i < ARRAY_SIZE(writes); i++) {
		same = first_difference(got, want, writes[i].offset, writes[i].len);
		misplaced += same != writes[i].len;
		if (!quirk)
			check(same == writes[i].len, "%s: %" PRIu64 " B at %" PRIu64 " are where "
			      "written (first difference at byte %zu)", b->name, writes[i].len,
			      writes[i].offset, same);
	}
	if (quirk)
		check(misplaced, "%s under rxe-odp-offset: the defect shows, %zu of %zu writes "
		      "misplaced", b->name, misplaced, ARRAY_SIZE(writes));
	else
		check(!memcmp(got, want, SPAN), "%s: no byte elsewhere in the first %d changed",
		      b->name, SPAN);
}

/* The writer on the second device, connected to @p, which holds @mr. */
static void write_and_verify(const struct backing *b, const struct mapping *m,
			     struct rdma_peer *p, struct ibv_mr *mr, bool quirk)
{
	struct rdma_peer_info remote;
	int sock, status;
	size_t i;
	pid_t pid;

	memset(m->addr, 0, SPAN);
	sock = remote_writer_start(env.rxe1, env.gid_index, MAX_WRITE, &pid);
	if (!check(sock >= 0 && !rdma_peer_connect(p, sock, mr, &remote),
		   "%s: connect the writer on %s", b->name, env.rxe1))
		return;
	for (i = 0; i < ARRAY_SIZE(writes); i++) {
		status = remote_writer_write(sock, writes[i].offset, writes[i].len);
		check(status == IBV_WC_SUCCESS, "%s: write %" PRIu64 " B at %" PRIu64
		      " completes: %s", b->name, writes[i].len, writes[i].offset,
		      status < 0 ? "no completion" : ibv_wc_status_str(status));
	}
	check(!remote_writer_stop(sock, pid), "%s: the writer exits cleanly", b->name);
	verify(b, m, quirk);
}

/*
 * A refusal this test accepts: the quirk rule's, where the device has the
 * quirk; else (fsdax on 6.1) the device's lack of On-Demand Paging.
 */
static bool refused_as_documented(uint32_t quirks)
{
	const char *msg = rdmapin_last_error();

	if (errno != EOPNOTSUPP)
		return false;
	if (!quirks)
		return strstr(msg, "no On-Demand Paging");
	return strstr(msg, "rxe-odp-offset") && strstr(msg, "page boundary") &&
	       strstr(msg, "RDMAPIN_ALLOW_QUIRKS") && strstr(msg, "device-DAX");
}

/*
 * Default settings: refused by the quirk rule, or every byte in place. The
 * MR is registered on the PD of the QP the writer writes through.
 */
static void by_default(const struct backing *b, uint32_t quirks)
{
	struct rdmapin_mr_attr attr = { .comp_mask = RDMAPIN_MR_ATTR_QUIRKS };
	struct mapping m = unmapped;
	struct rdma_peer p;
	struct ibv_mr *mr;

	if (!check(!rdma_peer_open(&p, env.rxe0, env.gid_index), "%s: open the local QP", b->name))
		return;
	if (!check(!b->map(&m), "%s: set up: %s", b->name, m.err))
		goto out;
	mr = rdmapin_reg_mr(p.pd, m.addr, m.len, MR_ACCESS);
	if (!mr) {
		check(refused_as_documented(quirks), "%s: refused (%s): %s", b->name,
		      strerror(errno), rdmapin_last_error());
		goto out;
	}
	if (check(!rdmapin_query_mr(mr, &attr), "%s: query", b->name))
		check(attr.comp_mask & RDMAPIN_MR_ATTR_QUIRKS && !attr.quirks,
		      "%s: registered as %s, under no quirk", b->name,
		      rdmapin_reg_mode_str(attr.mode));
	write_and_verify(b, &m, &p, mr, false);
	check(!rdmapin_dereg_mr(mr), "%s: dereg", b->name);
out:
	unmap(&m);
	rdma_peer_close(&p);
}

/*
 * Accepted through the attr: registers, says under which quirk, and the
 * defect is really there (the table claims no defect the kernel lacks).
 */
static void accepted(const struct backing *b, uint32_t quirks)
{
	struct rdmapin_mr_init_attr in = {
		.comp_mask = RDMAPIN_MR_INIT_ATTR_QUIRKS,
		.access = MR_ACCESS,
		.allow_quirks = RDMAPIN_QUIRK_RXE_ODP_OFFSET,
	};
	struct rdmapin_mr_attr attr = { .comp_mask = RDMAPIN_MR_ATTR_QUIRKS };
	struct mapping m = unmapped;
	struct ibv_mr *mr = NULL;
	struct rdma_peer p;
	uint32_t want;

	if (!check(!rdma_peer_open(&p, env.rxe0, env.gid_index), "%s: open the local QP", b->name))
		return;
	if (!check(!b->map(&m), "%s: set up: %s", b->name, m.err))
		goto out;
	in.addr = m.addr;
	in.length = m.len;
	mr = rdmapin_reg_mr_ex(p.pd, &in);
	if (!mr && !quirks) {
		check(refused_as_documented(0), "%s, quirk accepted: refused for lack of ODP: %s",
		      b->name, rdmapin_last_error());
		goto out;
	}
	if (!check(mr != NULL, "%s, quirk accepted: registers: %s", b->name,
		   mr ? "yes" : rdmapin_last_error()) ||
	    !check(!rdmapin_query_mr(mr, &attr), "%s: query", b->name))
		goto out;
	want = attr.mode == RDMAPIN_MODE_ODP ? quirks : 0;
	check(attr.quirks == want, "%s, quirk accepted: %s, runs under quirks 0x%x (want 0x%x)",
	      b->name, rdmapin_reg_mode_str(attr.mode), attr.quirks, want);
	if (attr.quirks)
		write_and_verify(b, &m, &p, mr, true);
out:
	if (mr)
		rdmapin_dereg_mr(mr);
	unmap(&m);
	rdma_peer_close(&p);
}

/* The variable: accepted by name, and an unknown name is an error, not ignored. */
static void by_environment(struct ibv_pd *pd)
{
	struct mapping m = unmapped;
	struct ibv_mr *mr;

	if (!check(!map_fsdax_shared(&m), "environment: set up: %s", m.err))
		return unmap(&m);
	setenv("RDMAPIN_ALLOW_QUIRKS", "no-such-quirk", 1);
	mr = rdmapin_reg_mr(pd, m.addr, m.len, MR_ACCESS);
	check(!mr && errno == EINVAL && strstr(rdmapin_last_error(), "no-such-quirk"),
	      "RDMAPIN_ALLOW_QUIRKS=no-such-quirk: EINVAL: %s", rdmapin_last_error());
	if (mr)
		rdmapin_dereg_mr(mr);
	setenv("RDMAPIN_ALLOW_QUIRKS", "rxe-odp-offset", 1);
	mr = rdmapin_reg_mr(pd, m.addr, m.len, MR_ACCESS);
	check(mr || env.kernel == KERNEL_6_1, "RDMAPIN_ALLOW_QUIRKS=rxe-odp-offset: fsdax "
	      "registers: %s", mr ? "yes" : rdmapin_last_error());
	if (mr)
		rdmapin_dereg_mr(mr);
	unsetenv("RDMAPIN_ALLOW_QUIRKS");
	unmap(&m);
}

int main(void)
{
	struct ibv_pd *pd = start_guest_test();
	uint32_t quirks;
	size_t i;

	if (!pd)
		return check_done();
	unsetenv("RDMAPIN_ALLOW_QUIRKS");
	quirks = device_quirks(pd);
	for (i = 0; i < ARRAY_SIZE(backings); i++)
		by_default(&backings[i], quirks);
	for (i = 0; i < ARRAY_SIZE(backings); i++)
		accepted(&backings[i], quirks);
	by_environment(pd);
	close_pd(pd);
	return check_done();
}
