/* SPDX-License-Identifier: MIT */
/*
 * Asynchronous events, as ibv_get_async_event(): per device context, an fd
 * that polls readable while events wait, get and ack. Break callbacks get the
 * same events on the library's thread.
 */
#ifndef RDMAPIN_ASYNC_EVENT_H
#define RDMAPIN_ASYNC_EVENT_H

#include "registration.h"

/* Queues an event for mr on its context, and its break callback if it has one. Under the lock. */
void rdmapin_event_post(enum rdmapin_event_type type, struct rdmapin_mr *mr);
/* Runs the break callbacks queued so far; whether there were any. Without the lock. */
bool rdmapin_event_run_callbacks(void);
/* Drops queued events of mr and waits until its handed-out ones are acked. Under the lock. */
void rdmapin_event_forget_mr(struct rdmapin_mr *mr);

/* On the fd keeper, under the lock: the event fds poll readable exactly while events wait. */
void rdmapin_event_sync_fds(void);
/* Under the lock: an event fd is out of step; the keeper's next wake-up syncs it. */
bool rdmapin_event_fds_stale(void);

/*
 * In a forked child: drops every event. The event fds stay: the child's
 * numbers are the application's, and the keeper's copies are not in its table.
 */
void rdmapin_event_forget_all(void);

#endif
