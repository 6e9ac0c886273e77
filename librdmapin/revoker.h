/* SPDX-License-Identifier: MIT */
/*
 * The library's second thread: it revokes MRs (ibv_dereg_mr), runs break
 * callbacks and keeps grace deadlines. Those use the application's verbs
 * context and the application's own fds, so this thread shares the
 * application's fd table, unlike the fd keeper (break_thread.h); it holds no
 * fd of its own, and waits on a condition variable with the lock, so nothing
 * the application does to its fds can stop it. It knows nothing of leases.
 */
#ifndef RDMAPIN_REVOKER_H
#define RDMAPIN_REVOKER_H

#include <stdbool.h>
#include <stdint.h>

/* Starts it once, under the setup lock, to run @work; -1 with a message if it cannot. */
int rdmapin_revoker_start(void (*work)(void));
bool rdmapin_on_revoker(void);
/* Under the lock: the thread runs its work soon. */
void rdmapin_revoker_wake(void);
/* Under the lock: the thread runs its work at this CLOCK_MONOTONIC time, if not sooner. */
void rdmapin_revoker_arm(uint64_t deadline_ns);

#endif
