/* SPDX-License-Identifier: MIT */
/*
 * What the benchmarks share. Each reports medians: one slow sample (a
 * context switch, a page fault) moves a mean a lot and a median not at all.
 */
#ifndef RDMAPIN_BENCH_H
#define RDMAPIN_BENCH_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * No bench has a peer write into its MRs, so rxe's ODP defect with writes
 * off page boundaries (rdmapin_quirk_str(3)) cannot touch them: accept it,
 * or 7.x registers no file. A setting of the caller's own is kept.
 */
static inline void bench_accept_quirks(void)
{
	setenv("RDMAPIN_ALLOW_QUIRKS", "rxe-odp-offset", 0);
}

/*
 * --short: the few rounds that CI runs in each test guest (tests/vm), enough
 * to show that every row still measures; its ratios are too noisy to judge.
 * Exits on any other argument.
 */
static inline bool bench_short(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--short"))
		return true;
	if (argc == 1)
		return false;
	fprintf(stderr, "usage: %s [--short]\n", argv[0]);
	exit(2);
}

/* Sorts v in place. */
static inline double bench_median(double *v, int n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return v[n / 2];
}

/*
 * The median of the rounds' ratios num[i] / den[i], computed in q (n of
 * them). The two sides of a round run back to back, so the guest's speed,
 * which drifts under emulation, cancels in each ratio; a slow round moves the
 * median no more than any other.
 */
static inline double bench_median_ratio(double *q, const double *num, const double *den, int n)
{
	int i;

	for (i = 0; i < n; i++)
		q[i] = num[i] / den[i];
	return bench_median(q, n);
}

/* Issue 13's "flat": within 10% from the smallest count to the largest. */
static inline bool bench_flat(double first, double last)
{
	double change = last / first - 1;

	return change >= -0.10 && change <= 0.10;
}

#endif
