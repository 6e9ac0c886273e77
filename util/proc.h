/* SPDX-License-Identifier: MIT */
/* What /proc tells of a process, for the library, pinls and rdmapin-guardd. */
#ifndef RDMAPIN_UTIL_PROC_H
#define RDMAPIN_UTIL_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* Field 22 of /proc/PID/stat (after the comm, which may hold spaces); 0 if none. */
uint64_t rdmapin_proc_start_time(pid_t pid);

#endif
