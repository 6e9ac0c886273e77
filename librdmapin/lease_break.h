/* SPDX-License-Identifier: MIT */
/*
 * The library's own thread that receives lease-break signals. They are
 * directed at it (F_SETOWN_EX, F_OWNER_TID) and read through a signalfd, so
 * librdmapin installs no signal handler and the application's threads never
 * see the signal.
 */
#ifndef RDMAPIN_LEASE_BREAK_H
#define RDMAPIN_LEASE_BREAK_H

#include <stdint.h>
#include <sys/types.h>

/* Starts the thread once; -1 with a message if it cannot. */
int rdmapin_break_thread_start(void);
pid_t rdmapin_break_thread_tid(void);
/* RDMAPIN_LEASE_SIGNAL from the environment, else SIGRTMAX - 2. */
int rdmapin_break_signal(void);
/* Wakes the thread at this CLOCK_MONOTONIC time to end grace periods. */
void rdmapin_break_thread_arm(uint64_t deadline_ns);
/* In a forked child, which has no such thread. */
void rdmapin_break_thread_forget(void);

#endif
