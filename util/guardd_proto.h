/* SPDX-License-Identifier: MIT */
/*
 * What librdmapin and rdmapin-guardd(8) say to each other over the daemon's
 * unix socket (SOCK_SEQPACKET: one message per request, one per reply).
 *
 *	GUARD	with the file's fd in SCM_RIGHTS: guard it for this client;
 *		the reply's id names the entry.
 *	UNGUARD	id: undo that entry.
 *
 * A client's entries end with its connection: when it closes it, or dies.
 * They survive a restart of the daemon, which then keeps them for the client
 * (the same pid and start time) until it reconnects or dies.
 */
#ifndef RDMAPIN_UTIL_GUARDD_PROTO_H
#define RDMAPIN_UTIL_GUARDD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define RDMAPIN_GUARDD_DEFAULT_DIR "/run/rdmapin-guardd"
#define RDMAPIN_GUARDD_SOCKET_NAME "socket"

enum rdmapin_guardd_op {
	RDMAPIN_GUARDD_GUARD = 1,
	RDMAPIN_GUARDD_UNGUARD,
};

struct rdmapin_guardd_request {
	uint32_t op;			/* enum rdmapin_guardd_op */
	uint32_t seq;			/* echoed in the reply */
	uint64_t id;			/* UNGUARD: the entry */
};

/*
 * A client that gave up waiting for a reply (a slow daemon) keeps its
 * connection, and its entries with it: the late reply is told from the one
 * it waits for by seq, and dropped.
 */
struct rdmapin_guardd_reply {
	int32_t err;			/* 0 or an errno value */
	uint32_t seq;			/* the request's */
	uint64_t id;			/* GUARD: the new entry */
	char msg[512];			/* err: cause and remedy */
};

/* The daemon's socket: RDMAPIN_GUARDD_SOCKET, or the default. */
const char *rdmapin_guardd_socket(void);

/* A connection to the daemon, with send and receive timeouts; -1 with a message. */
int rdmapin_guardd_connect(void);
/* The same, to the socket at @path. */
int rdmapin_guardd_connect_to(const char *path);

/* -1 with errno @err, and a message that the daemon does not listen, and what to do. */
int rdmapin_guardd_away(int err);

/* Sends @len bytes of @buf as one message, with @pass_fd in SCM_RIGHTS unless it is -1. */
int rdmapin_guardd_send(int sock, const void *buf, size_t len, int pass_fd);

/*
 * The daemon's side (and the library's, for the connection's copy that its
 * fd keeper sends back): one message of at most @len bytes, as recvmsg()
 * returns, and the fd that came with it in *@fd (close-on-exec), else -1.
 * *@malformed when more fds came, the message was cut short, or it is empty
 * but for an fd (0 without an fd is a hang-up): the fds past the first are
 * closed, and the caller closes the first, as for any message.
 */
ssize_t rdmapin_guardd_recv(int sock, void *buf, size_t len, int *fd, bool *malformed);

/*
 * One request, with @pass_fd in SCM_RIGHTS unless it is -1, and its reply;
 * the call numbers it (req->seq is ignored). 0, or -1 with errno: EAGAIN when
 * no reply came in time, another value when the connection failed.
 */
int rdmapin_guardd_call(int sock, const struct rdmapin_guardd_request *req, int pass_fd,
			struct rdmapin_guardd_reply *reply);

#endif
