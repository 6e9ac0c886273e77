/* SPDX-License-Identifier: MIT */
/* A sorted set of pids: the processes the registry lists. */
#ifndef PINLS_PID_SET_H
#define PINLS_PID_SET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct pid_set {
	pid_t *v;
	size_t n, cap;
};

void pid_set_add(struct pid_set *s, pid_t pid);
/* Sorts and deduplicates; call before pid_set_has(). */
void pid_set_sort(struct pid_set *s);
bool pid_set_has(const struct pid_set *s, pid_t pid);

#endif
