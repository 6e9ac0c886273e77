// SPDX-License-Identifier: MIT
/*
 * The wire protocol of rdmapin-guardd(8), both sides: librdmapin (and the
 * tests) connect, send and call; the daemon receives and replies.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "guardd_proto.h"

/* A daemon that does not answer in this time is taken to be away. */
#define GUARDD_TIMEOUT_S 5

const char *rdmapin_guardd_socket(void)
{
	const char *s = secure_getenv("RDMAPIN_GUARDD_SOCKET");

	return s && *s ? s : RDMAPIN_GUARDD_DEFAULT_DIR "/" RDMAPIN_GUARDD_SOCKET_NAME;
}

int rdmapin_guardd_away(int err)
{
	return rdmapin_fail(err,
			    "rdmapin-guardd does not listen on %s (%s); start it "
			    "(systemctl start rdmapin-guardd) or set RDMAPIN_GUARDD_SOCKET",
			    rdmapin_guardd_socket(), strerror(err));
}

int rdmapin_guardd_connect_to(const char *path)
{
	const struct timeval timeout = { .tv_sec = GUARDD_TIMEOUT_S };
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(addr.sun_path))
		return rdmapin_guardd_away(ENAMETOOLONG);
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return rdmapin_guardd_away(errno);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)) ||
	    connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		err = errno;
		close(fd);
		return rdmapin_guardd_away(err);
	}
	return fd;
}

int rdmapin_guardd_connect(void)
{
	return rdmapin_guardd_connect_to(rdmapin_guardd_socket());
}

/* Coarse (a tick): the vDSO answers it on any clocksource. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

/*
 * A socket call with a timeout that a signal handler interrupted (EINTR) is
 * never restarted, SA_RESTART or not; neither is one tried again without
 * blocking (EWOULDBLOCK, with @retrying). Waits for @events on @sock until
 * @deadline: 0 to try again without blocking, else -1 (time is up, or
 * another error) with errno as the call left it.
 */
static int wait_again(int sock, short events, bool retrying, int64_t deadline)
{
	struct pollfd p = { .fd = sock, .events = events };
	int err = errno;
	int64_t left;

	if (err != EINTR && !(retrying && err == EWOULDBLOCK))
		return -1;
	left = deadline - now_ms();
	if (left <= 0) {
		errno = EWOULDBLOCK;
		return -1;
	}
	poll(&p, 1, (int)left);
	return 0;
}

static int send_until(int sock, const void *buf, size_t len, int pass_fd, int64_t deadline)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control = { .buf = { 0 } };	/* the padding after the fd is sent too */
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cmsg;
	int flags = MSG_NOSIGNAL;
	ssize_t n;

	if (pass_fd >= 0) {
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &pass_fd, sizeof(int));
	}
	while ((n = sendmsg(sock, &msg, flags)) < 0 &&
	       !wait_again(sock, POLLOUT, flags & MSG_DONTWAIT, deadline))
		flags |= MSG_DONTWAIT;
	return n == (ssize_t)len ? 0 : -1;
}

int rdmapin_guardd_send(int sock, const void *buf, size_t len, int pass_fd)
{
	return send_until(sock, buf, len, pass_fd, now_ms() + GUARDD_TIMEOUT_S * 1000);
}

/* The reply to @seq; those to requests that timed out earlier come first, and go. */
static ssize_t recv_until(int sock, uint32_t seq, struct rdmapin_guardd_reply *reply,
			  int64_t deadline)
{
	int flags = 0;
	ssize_t n;

	for (;;) {
		n = recv(sock, reply, sizeof(*reply), flags);
		if (n == sizeof(*reply) && reply->seq != seq)
			continue;
		if (n >= 0 || wait_again(sock, POLLIN, flags, deadline))
			return n;
		flags = MSG_DONTWAIT;
	}
}

int rdmapin_guardd_call(int fd, const struct rdmapin_guardd_request *req, int pass_fd,
			struct rdmapin_guardd_reply *reply)
{
	static uint32_t last_seq;
	struct rdmapin_guardd_request r = *req;
	int64_t deadline = now_ms() + GUARDD_TIMEOUT_S * 1000;
	ssize_t n;

	r.seq = __atomic_add_fetch(&last_seq, 1, __ATOMIC_RELAXED);
	if (send_until(fd, &r, sizeof(r), pass_fd, deadline))
		return -1;
	n = recv_until(fd, r.seq, reply, deadline);
	if (n == sizeof(*reply)) {
		reply->msg[sizeof(reply->msg) - 1] = '\0';
		return 0;
	}
	if (n < 0 && errno == EWOULDBLOCK)
		errno = EAGAIN;
	else if (n >= 0)
		errno = ECONNRESET;
	return -1;
}

/*
 * Room for one fd more than a request may carry: a message with two is told
 * from one with one, and refused.
 */
ssize_t rdmapin_guardd_recv(int sock, void *buf, size_t len, int *fd, bool *malformed)
{
	union {
		char buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cmsg;
	ssize_t n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	size_t i, nfds;
	int fds[2];

	*fd = -1;
	*malformed = n >= 0 && (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC));
	for (cmsg = CMSG_FIRSTHDR(&msg); n >= 0 && cmsg; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(cmsg), nfds * sizeof(int));
		for (i = 0; i < nfds; i++) {
			if (*fd < 0)
				*fd = fds[i];
			else
				close(fds[i]);
		}
		*malformed |= nfds > 1;
	}
	/* An empty message is a hang-up only without fds: one with an fd is a request. */
	*malformed |= n == 0 && *fd >= 0;
	return n;
}
