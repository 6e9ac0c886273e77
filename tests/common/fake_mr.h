/* SPDX-License-Identifier: MIT */
/*
 * A registration as plain data, for code that reads only its fields: the pin
 * registry's writer (unit tests and benchmarks without an RDMA device).
 * Needs the library's internal headers (link rdmapin_internal).
 */
#ifndef RDMAPIN_TESTS_FAKE_MR_H
#define RDMAPIN_TESTS_FAKE_MR_H

#include <stdio.h>
#include <string.h>

#include "registration.h"

struct fake_mr {
	struct ibv_mr ibmr;
	struct rdmapin_mr mr;
};

/* An ODP pin of len bytes of an fsdax file at path, on device "fake0". */
static inline void fake_mr_init(struct fake_mr *f, const char *path, size_t len, uint32_t lkey)
{
	static struct ibv_device dev = { .name = "fake0" };
	static struct ibv_context ctx = { .device = &dev };
	static struct ibv_pd pd = { .context = &ctx };

	memset(f, 0, sizeof(*f));
	f->ibmr.lkey = lkey;
	f->mr.ibmr = &f->ibmr;
	f->mr.pd = &pd;
	f->mr.mode = RDMAPIN_MODE_ODP;
	f->mr.attr.length = len;
	f->mr.backing.kind = RDMAPIN_BACKING_FSDAX;
	f->mr.backing.ino = lkey;
	snprintf(f->mr.backing.path, sizeof(f->mr.backing.path), "%s", path);
}

#endif
