/* SPDX-License-Identifier: MIT */
/*
 * rdmapin-guardd's clients, as its event loop (guardd.c) meets them: a
 * connection to accept, a request to serve, a process that ended. Each
 * change of what a client holds goes to the guard's map and to the state.
 */
#ifndef RDMAPIN_GUARDD_CLIENTS_H
#define RDMAPIN_GUARDD_CLIENTS_H

#include "state.h"

/* Adds @fd to the daemon's epoll set, its events to be told by @w. */
int guardd_watch(struct guardd *d, int fd, struct guardd_watch *w);
/* Removes @c and its entries, and logs @why when it held any. */
void guardd_client_drop(struct guardd *d, struct guardd_client *c, const char *why);
void guardd_accept(struct guardd *d);
void guardd_serve(struct guardd *d, struct guardd_client *c);

/*
 * Takes over the state a predecessor saved: drops the entries of clients
 * that ended, and those whose files are no longer where they were; puts back
 * those of running clients that the map lost, and watches the running ones.
 * -1 with errno as guardd_state_read().
 */
int guardd_restore(struct guardd *d);

#endif
