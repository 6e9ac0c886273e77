/* SPDX-License-Identifier: MIT */
/*
 * The library's own thread: a small event loop that receives lease-break
 * signals and deadline expiries and hands them to its handlers. The signals
 * are directed at it (F_SETOWN_EX, F_OWNER_TID) and read through a signalfd,
 * so librdmapin installs no signal handler and the application's threads
 * never see them. It knows nothing of MRs or leases.
 */
#ifndef RDMAPIN_BREAK_THREAD_H
#define RDMAPIN_BREAK_THREAD_H

#include <stdint.h>
#include <sys/types.h>

struct rdmapin_break_handlers {
	/* The break signal arrived for the file open at @fd (si_fd). */
	void (*signal)(int fd);
	/* The deadline of rdmapin_break_thread_arm() passed. */
	void (*deadline)(void);
};

/* Starts the thread once, under the setup lock; -1 with a message if it cannot. */
int rdmapin_break_thread_start(const struct rdmapin_break_handlers *h);
pid_t rdmapin_break_thread_tid(void);
/* RDMAPIN_LEASE_SIGNAL from the environment, else SIGRTMAX - 2; read once. */
int rdmapin_break_signal(void);
/* Wakes the thread at this CLOCK_MONOTONIC time. */
void rdmapin_break_thread_arm(uint64_t deadline_ns);
/* In a forked child, which has no such thread: closes its fds. */
void rdmapin_break_thread_forget(void);

#endif
