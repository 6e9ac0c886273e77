// SPDX-License-Identifier: MIT
/* A sorted set of pids: see pid_set.h. */
#include <stdlib.h>

#include "pid_set.h"
#include "xalloc.h"

void pid_set_add(struct pid_set *s, pid_t pid)
{
	s->v = xgrow(s->v, s->n, &s->cap, sizeof(*s->v));
	s->v[s->n++] = pid;
}

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

void pid_set_sort(struct pid_set *s)
{
	size_t i, n = 0;

	if (!s->n)
		return;
	qsort(s->v, s->n, sizeof(*s->v), cmp_pid);
	for (i = 1; i < s->n; i++)
		if (s->v[i] != s->v[n])
			s->v[++n] = s->v[i];
	s->n = n + 1;
}

bool pid_set_has(const struct pid_set *s, pid_t pid)
{
	return s->n && bsearch(&pid, s->v, s->n, sizeof(*s->v), cmp_pid);
}
