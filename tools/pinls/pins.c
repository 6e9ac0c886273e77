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
	l->v = xgrow(l->v, l->n, &l->cap, sizeof(*l->v));
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	return &l->v[l->n++];
}

static int cmp_pins(const void *a, const void *b)
{
	const struct pin *x = *(const struct pin *const *)a, *y = *(const struct pin *const *)b;
	int d;

	if (x->rec.pid != y->rec.pid)
		return x->rec.pid < y->rec.pid ? -1 : 1;
	d = strcmp(x->rec.slot.path, y->rec.slot.path);
	if (d)
		return d;
	return (x->rec.slot.offset > y->rec.slot.offset) -
	       (x->rec.slot.offset < y->rec.slot.offset);
}

/*
 * A pin is over 1 KiB: sort pointers, then move each row once, following the
 * cycles of the permutation, rather than have qsort() swap whole rows.
 */
void pin_list_sort(struct pin_list *l)
{
	struct pin **order, tmp;
	size_t i, j, k;

	if (l->n < 2)
		return;
	order = xrealloc(NULL, l->n, sizeof(*order));
	for (i = 0; i < l->n; i++)
		order[i] = &l->v[i];
	qsort(order, l->n, sizeof(*order), cmp_pins);
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
