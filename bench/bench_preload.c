// SPDX-License-Identifier: MIT
/*
 * What librdmapin-preload.so (rdmapin-run(1)) costs, side by side in one run
 * (interleaved, so machine noise hits both alike):
 *  - reg+dereg of 2 MiB of anonymous memory through the preload's
 *    ibv_reg_mr_iova2() and ibv_dereg_mr() (its fast path) against
 *    libibverbs' own; the issue allows 1.05x;
 *  - for a file, the first registration (nothing else registered over the
 *    file: classification, lease) and a later one while the first is held,
 *    through the preload against rdmapin_reg_mr() called directly.
 * The preload is dlopen()ed, not preloaded, so that both sides run in one
 * process: its functions come from its handle, libibverbs' from the link.
 * No rdmapin-guardd: files are leased through the descriptor the mapping
 * keeps open.
 * Run inside a test guest: tests/vm/run-vm -- build/bench/bench_preload [--short]
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rdmapin/rdmapin.h>
#include "bench.h"
#include "guest.h"

#define MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)
#define ANON_SIZE (2UL << 20)
#define ROUNDS 200
#define FILE_ROUNDS 40

static int rounds = ROUNDS, file_rounds = FILE_ROUNDS;

struct side {
	struct ibv_mr *(*reg)(struct ibv_pd *pd, void *addr, size_t length, int access);
	int (*dereg)(struct ibv_mr *mr);
};

static struct ibv_mr *(*preload_reg_mr_iova2)(struct ibv_pd *pd, void *addr, size_t length,
					      uint64_t iova, unsigned int access);

static struct ibv_mr *verbs_reg(struct ibv_pd *pd, void *addr, size_t length, int access)
{
	return ibv_reg_mr(pd, addr, length, access);
}

static struct ibv_mr *preload_reg(struct ibv_pd *pd, void *addr, size_t length, int access)
{
	return preload_reg_mr_iova2(pd, addr, length, (uintptr_t)addr, access);
}

static const struct side verbs = { verbs_reg, ibv_dereg_mr };
static struct side preload = { .reg = preload_reg };	/* .dereg: load_preload() */
static const struct side direct = { rdmapin_reg_mr, rdmapin_dereg_mr };

static int load_preload(void)
{
	void *h = dlopen(PRELOAD_PATH, RTLD_NOW);

	if (h) {
		preload_reg_mr_iova2 = dlvsym(h, "ibv_reg_mr_iova2", "IBVERBS_1.8");
		preload.dereg = dlvsym(h, "ibv_dereg_mr", "IBVERBS_1.1");
	}
	if (!preload_reg_mr_iova2 || !preload.dereg) {
		printf("cannot load %s: %s\n", PRELOAD_PATH, dlerror());
		return -1;
	}
	return 0;
}

/* Seconds for one register + deregister; -1 if it failed. */
static double time_reg_dereg(const struct side *s, struct ibv_pd *pd, void *addr, size_t len)
{
	double t = now_s();
	struct ibv_mr *mr = s->reg(pd, addr, len, MR_ACCESS);

	if (!mr)
		return -1;
	s->dereg(mr);
	return now_s() - t;
}

static void bench_anon(struct ibv_pd *pd)
{
	double v[ROUNDS], p[ROUNDS], mv, mp;
	struct mapping m = unmapped;
	int i;

	if (map_anon(&m)) {
		printf("anonymous memory: %s\n", m.err);
		return;
	}
	for (i = 0; i < rounds; i++) {
		v[i] = time_reg_dereg(&verbs, pd, m.addr, ANON_SIZE);
		p[i] = time_reg_dereg(&preload, pd, m.addr, ANON_SIZE);
		if (v[i] < 0 || p[i] < 0) {
			printf("anonymous 2 MiB: failed: %s\n", strerror(errno));
			goto out;
		}
	}
	mv = bench_median(v, rounds);
	mp = bench_median(p, rounds);
	printf("reg+dereg, median of %d, us:  ibv_reg_mr  preload  overhead  ratio\n", rounds);
	printf("%-30s %10.1f %8.1f %9.1f %6.3fx (allowed: 1.05x)\n", "anonymous 2 MiB (fast path)",
	       mv * 1e6, mp * 1e6, (mp - mv) * 1e6, mp / mv);
out:
	unmap(&m);
}

/* The first registration over a file, then a later one while it is held; -1: failed. */
static int time_file(const struct side *s, struct ibv_pd *pd, const struct mapping *m,
		     double *first, double *later)
{
	struct ibv_mr *a, *b = NULL;
	double t = now_s();

	a = s->reg(pd, m->addr, m->len, MR_ACCESS);
	*first = now_s() - t;
	if (a) {
		t = now_s();
		b = s->reg(pd, m->addr, m->len, MR_ACCESS);
		*later = now_s() - t;
	}
	if (b)
		s->dereg(b);
	if (a)
		s->dereg(a);
	return a && b ? 0 : -1;
}

static void bench_file(struct ibv_pd *pd, const char *what, int (*map)(struct mapping *))
{
	double df[FILE_ROUNDS], dl[FILE_ROUNDS], pf[FILE_ROUNDS], pl[FILE_ROUNDS], d, p;
	struct mapping m = unmapped;
	int i;

	if (map(&m)) {
		printf("%s: %s\n", what, m.err);
		return;
	}
	for (i = 0; i < file_rounds; i++)
		if (time_file(&direct, pd, &m, &df[i], &dl[i]) ||
		    time_file(&preload, pd, &m, &pf[i], &pl[i])) {
			printf("%s: failed: %s; %s\n", what, strerror(errno), rdmapin_last_error());
			goto out;
		}
	d = bench_median(df, file_rounds);
	p = bench_median(pf, file_rounds);
	printf("%-30s %10.1f %8.1f %9.1f %6.3fx\n", what, d * 1e6, p * 1e6, (p - d) * 1e6, p / d);
	d = bench_median(dl, file_rounds);
	p = bench_median(pl, file_rounds);
	printf("%-30s %10.1f %8.1f %9.1f %6.3fx\n", "  a later one, first held", d * 1e6, p * 1e6,
	       (p - d) * 1e6, p / d);
out:
	unmap(&m);
}

int main(int argc, char **argv)
{
	struct ibv_pd *pd;

	if (bench_short(argc, argv)) {
		rounds = 20;
		file_rounds = 5;
	}
	bench_accept_quirks();
	if (read_env() || load_preload() || !(pd = open_pd(env.rxe0)))
		return 1;
	printf("# Linux %s, %s, fsdax on %s\n", env.kernel == KERNEL_7 ? "7.x" : "6.1", env.rxe0,
	       env.fsdax_fs);
	bench_anon(pd);
	printf("reg of 4 MiB, median of %d, us: rdmapin  preload  overhead  ratio\n", file_rounds);
	/* 6.1's rxe has no On-Demand Paging, which shared fsdax mappings need. */
	if (env.kernel == KERNEL_7)
		bench_file(pd, "fsdax, first registration", map_fsdax_shared);
	bench_file(pd, "page-cache, first registration", map_pagecache_shared);
	close_pd(pd);
	return 0;
}
