/* SPDX-License-Identifier: MIT */
/*
 * The library's own thread: a small event loop that receives lease-break
 * signals and deadline expiries and hands them to its handlers. The signals
 * are directed at it (F_SETOWN_EX, F_OWNER_TID) and read through a signalfd,
 * so librdmapin installs no signal handler and the application's threads
 * never see them. It knows nothing of MRs or leases.
 *
 * It is also the keeper of every fd a registration's protection depends on:
 * it runs with an fd table of its own (unshare(CLONE_FILES)), so the
 * application cannot close, replace or reuse them (closefrom, close_range,
 * dup2). Other threads have work done there through rdmapin_break_thread_call()
 * and bring files in with rdmapin_break_thread_getfd(). exec ends the thread
 * and its table with it; a forked child has neither.
 */
#ifndef RDMAPIN_BREAK_THREAD_H
#define RDMAPIN_BREAK_THREAD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct rdmapin_break_handlers {
	/* The break signal arrived for the file open at @fd (si_fd, the thread's table). */
	void (*signal)(int fd);
	/* The deadline of rdmapin_break_thread_arm() passed. */
	void (*deadline)(void);
	/* After every wake-up: rdmapin_break_thread_kick() work. */
	void (*wake)(void);
};

/* Starts the thread once, under the setup lock; -1 with a message if it cannot. */
int rdmapin_break_thread_start(const struct rdmapin_break_handlers *h);
pid_t rdmapin_break_thread_tid(void);
bool rdmapin_on_break_thread(void);
/* RDMAPIN_LEASE_SIGNAL from the environment, else SIGRTMAX - 2; read once. */
int rdmapin_break_signal(void);
/* Wakes the thread at this CLOCK_MONOTONIC time. On the thread. */
void rdmapin_break_thread_arm(uint64_t deadline_ns);
/* Wakes the thread to run its wake handler; does not wait. */
void rdmapin_break_thread_kick(void);

/*
 * Runs @fn(@ctx) on the thread and returns its result, with its errno and
 * message. The caller must not hold the lock (the thread takes it).
 */
int rdmapin_break_thread_call(int (*fn)(void *ctx), void *ctx);
/*
 * On the thread: a copy, in its table, of the file the process's table has
 * open at @app_fd (pidfd_getfd). The caller checks it is the file it meant.
 */
int rdmapin_break_thread_getfd(int app_fd);

#endif
