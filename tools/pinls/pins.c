// SPDX-License-Identifier: MIT
/* The rows pinls lists: see pins.h. */
#include <stdlib.h>
#include <string.h>

#include "pins.h"
#include "xalloc.h"

const struct pin_check_name pin_check_names[NR_PIN_CHECK_NAMES] = {
	{ CHECK_NO_LEASE, "no-lease" },
	{ CHECK_NO_GUARD, "no-guard" },
	{ CHECK_NO_KERNEL_MR, "no-kernel-mr" },
};

struct pin *pin_list_add(struct pin_list *l)
{
	l->v = xgrow_huge(l->v, l->n, &l->cap, sizeof(*l->v));
	l->v[l->n] = (struct pin){ 0 };
	return &l->v[l->n++];
}

static int cmp_rows(const struct pin *x, const struct pin *y)
{
	int d;

	if (x->proc->pid != y->proc->pid)
		return x->proc->pid < y->proc->pid ? -1 : 1;
	d = strcmp(x->path, y->path);
	if (d)
		return d;
	return (x->offset > y->offset) - (x->offset < y->offset);
}

static int cmp_pins(const void *a, const void *b)
{
	return cmp_rows(*(const struct pin *const *)a, *(const struct pin *const *)b);
}

/* Rows [first, first + n) of one process, as collected. */
struct run {
	size_t first, n;
	pid_t pid;
};

/* By pid; a pid's runs (one, unless the registry had two records of it) in their order. */
static int cmp_runs(const void *a, const void *b)
{
	const struct run *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->first > y->first) - (x->first < y->first);
}

/* The runs of rows that share a process, in pid order. */
static struct run *pid_runs(const struct pin_list *l, size_t *nruns)
{
	struct run *runs = NULL;
	size_t i, n = 0, cap = 0;

	for (i = 0; i < l->n; i++) {
		if (i && l->v[i].proc == l->v[i - 1].proc) {
			runs[n - 1].n++;
			continue;
		}
		runs = xgrow(runs, n, &cap, sizeof(*runs));
		runs[n++] = (struct run){ .first = i, .n = 1, .pid = l->v[i].proc->pid };
	}
	qsort(runs, n, sizeof(*runs), cmp_runs);
	*nruns = n;
	return runs;
}

/* Sorts the rows of each pid in order[], most often in order already (a process's slots). */
static void sort_within_pids(struct pin **order, size_t n)
{
	size_t i, first;
	bool sorted = true;

	for (first = 0, i = 1; i <= n; i++) {
		if (i < n && order[i]->proc->pid == order[first]->proc->pid) {
			sorted &= cmp_rows(order[i - 1], order[i]) <= 0;
			continue;
		}
		if (!sorted)
			qsort(order + first, i - first, sizeof(*order), cmp_pins);
		first = i;
		sorted = true;
	}
}

static bool sorted(const struct pin_list *l)
{
	size_t i;

	for (i = 1; i < l->n; i++)
		if (cmp_rows(&l->v[i - 1], &l->v[i]) > 0)
			return false;
	return true;
}

/*
 * Most often in order already: the registry is read a user's records by
 * pid, a process's slots lowest first. Else the rows of one process are
 * together still: order the processes, then each process's rows, rather
 * than compare all rows with each other. Then move each row once, following
 * the cycles of the permutation.
 */
void pin_list_sort(struct pin_list *l)
{
	struct pin **order, tmp;
	struct run *runs;
	size_t i, j, k, nruns;

	if (sorted(l))
		return;
	runs = pid_runs(l, &nruns);
	order = xrealloc(NULL, l->n, sizeof(*order));
	for (i = k = 0; i < nruns; i++)
		for (j = 0; j < runs[i].n; j++)
			order[k++] = &l->v[runs[i].first + j];
	free(runs);
	sort_within_pids(order, l->n);
	/* Row i takes the row order[i] points to; a done slot points at itself. */
	for (i = 0; i < l->n; i++) {
		if (order[i] == &l->v[i])
			continue;
		tmp = l->v[i];
		for (j = i; (k = order[j] - l->v) != i; j = k) {
			l->v[j] = l->v[k];
			order[j] = &l->v[j];
		}
		l->v[j] = tmp;
		order[j] = &l->v[j];
	}
	free(order);
}

void pin_list_free(struct pin_list *l)
{
	xfree_huge(l->v, l->cap, sizeof(*l->v));
	arena_free(&l->arena);
}
