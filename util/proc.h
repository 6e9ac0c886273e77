/* SPDX-License-Identifier: MIT */
/* What /proc tells of a process, for the library, pinls and rdmapin-guardd. */
#ifndef RDMAPIN_UTIL_PROC_H
#define RDMAPIN_UTIL_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Field 22 of /proc/PID/stat (after the comm, which may hold spaces); 0 if none. */
uint64_t rdmapin_proc_start_time(pid_t pid);

/*
 * Whether @pid (0: the calling thread) may act with @cap as the kernel's
 * capable() asks: @cap in its effective set, and it lives in the initial
 * user namespace (where the set means what it says). False when /proc
 * cannot tell.
 */
bool rdmapin_proc_capable(pid_t pid, int cap);

/* Whether @pid is in group @gid: real, effective or supplementary. */
bool rdmapin_proc_in_group(pid_t pid, gid_t gid);

#endif
