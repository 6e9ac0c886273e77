// SPDX-License-Identifier: MIT
/* The rows pinls lists: see pins.h. */
#include <stdlib.h>
#include <string.h>

#include "pins.h"
#include "xalloc.h"

struct pin *pin_list_add(struct pin_list *l)
{
	l->v = xgrow(l->v, l->n, &l->cap, sizeof(*l->v));
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	return &l->v[l->n++];
}

static int cmp_pins(const void *a, const void *b)
{
	const struct pin *x = a, *y = b;
	int d;

	if (x->rec.pid != y->rec.pid)
		return x->rec.pid < y->rec.pid ? -1 : 1;
	d = strcmp(x->rec.slot.path, y->rec.slot.path);
	if (d)
		return d;
	return (x->rec.slot.offset > y->rec.slot.offset) -
	       (x->rec.slot.offset < y->rec.slot.offset);
}

void pin_list_sort(struct pin_list *l)
{
	/* No pins: v is NULL, which qsort() may not be given even with 0. */
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_pins);
}
