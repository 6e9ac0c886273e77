// SPDX-License-Identifier: MIT
/* The library's thread: see break_thread.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "break_thread.h"
#include "error.h"
#include "guardd_proto.h"
#include "lib.h"
#include "revoker.h"

struct rdmapin_thread_call {
	rdmapin_thread_fn fn;
	void *ctx;
	bool want_fd;
	int fd;				/* the file sent along, in the thread's table; or -1 */
	int ret, err;
	bool done;
	char msg[512];
	struct rdmapin_thread_call *next;
};

int rdmapin_break_signal(void)
{
	struct rdmapin_break_thread *t = &rdmapin_lib.brk;
	const char *s;
	int sig;

	if (!t->signal) {
		s = getenv("RDMAPIN_LEASE_SIGNAL");
		sig = s ? atoi(s) : 0;
		t->signal = sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : SIGRTMAX - 2;
	}
	return t->signal;
}

pid_t rdmapin_break_thread_tid(void)
{
	return rdmapin_lib.brk.tid;
}

bool rdmapin_on_break_thread(void)
{
	return gettid() == rdmapin_lib.brk.tid;
}

/*
 * A wake-up is the break signal sent to the thread itself: its signalfd reads
 * it like a break, and the application's fd table plays no part.
 */
void rdmapin_break_thread_kick(void)
{
	const struct rdmapin_break_thread *t = &rdmapin_lib.brk;

	if (t->tid)
		syscall(SYS_tgkill, getpid(), t->tid, t->signal);
}

/*
 * A file sent along with a call (send_fd()) goes to the call it names, whose
 * caller waits for it. Only this process may send: another one that found
 * the name is hung up on.
 */
static void receive_fd(int s)
{
	struct rdmapin_thread_call *c;
	struct timeval tmo = { .tv_sec = 1 };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	bool malformed;
	int fd = -1;

	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &len) || cred.pid != getpid() ||
	    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo)))
		return;
	if (rdmapin_guardd_recv(s, &c, sizeof(c), &fd, &malformed) == sizeof(c) && !malformed &&
	    fd >= 0) {
		pthread_mutex_lock(&rdmapin_lib.brk.call_lock);
		c->fd = fd;
		pthread_mutex_unlock(&rdmapin_lib.brk.call_lock);
	} else if (fd >= 0) {
		close(fd);
	}
}

static void accept_fds(const struct rdmapin_break_thread *t)
{
	int s;

	while ((s = accept4(t->listen_fd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		receive_fd(s);
		close(s);
	}
}

static struct rdmapin_thread_call *next_call(struct rdmapin_break_thread *t)
{
	struct rdmapin_thread_call *c;

	pthread_mutex_lock(&t->call_lock);
	c = t->calls;
	if (c && !(t->calls = c->next))
		t->calls_tail = &t->calls;
	pthread_mutex_unlock(&t->call_lock);
	return c;
}

static void run_calls(struct rdmapin_break_thread *t)
{
	struct rdmapin_thread_call *c;

	while ((c = next_call(t))) {
		/* Its file was sent before it was queued: it waits to be accepted. */
		if (c->want_fd && c->fd < 0)
			accept_fds(t);
		rdmapin_fail(0, "%s", "");
		c->ret = c->fn(c->ctx, c->fd);
		c->err = errno;
		if (c->fd >= 0)
			close(c->fd);
		if (c->ret < 0)
			snprintf(c->msg, sizeof(c->msg), "%s", rdmapin_error_msg());
		pthread_mutex_lock(&t->call_lock);
		c->done = true;
		pthread_cond_broadcast(&t->call_done);
		pthread_mutex_unlock(&t->call_lock);
	}
}

/*
 * The file goes over a fresh connection to the thread's socket, named by the
 * call it belongs to: SCM_RIGHTS is the one way into the thread's table that
 * needs no pidfd_getfd (which valgrind does not know). Our socket is closed
 * at once; the message and its file wait at the thread's end.
 */
static int send_fd(struct rdmapin_thread_call *c, int app_fd)
{
	const struct rdmapin_break_thread *t = &rdmapin_lib.brk;
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ret = -1, err;

	if (s < 0)
		return -1;
	if (!connect(s, (const struct sockaddr *)&t->addr, t->addr_len))
		ret = rdmapin_guardd_send(s, &c, sizeof(c), app_fd);
	err = errno;
	close(s);
	errno = err;
	return ret;
}

int rdmapin_break_thread_call(rdmapin_thread_fn fn, void *ctx, int app_fd)
{
	struct rdmapin_break_thread *t = &rdmapin_lib.brk;
	struct rdmapin_thread_call c = { .fn = fn, .ctx = ctx, .want_fd = app_fd >= 0, .fd = -1 };

	if (rdmapin_on_break_thread()) {
		if (app_fd < 0)
			return fn(ctx, -1);
		return rdmapin_fail(EDEADLK, "a break callback cannot start protecting a file (it "
				    "runs on the library's thread); register the file from another "
				    "thread");
	}
	if (app_fd >= 0 && send_fd(&c, app_fd))
		return rdmapin_fail(errno, "cannot hand a file to the library's thread: %s",
				    strerrordesc_np(errno));
	pthread_mutex_lock(&t->call_lock);
	*t->calls_tail = &c;
	t->calls_tail = &c.next;
	pthread_mutex_unlock(&t->call_lock);
	rdmapin_break_thread_kick();
	pthread_mutex_lock(&t->call_lock);
	while (!c.done)
		pthread_cond_wait(&t->call_done, &t->call_lock);
	pthread_mutex_unlock(&t->call_lock);
	if (c.ret < 0 && c.msg[0])
		return rdmapin_fail(c.err, "%s", c.msg);
	errno = c.err;
	return c.ret;
}

static void drain_signals(const struct rdmapin_break_thread *t)
{
	struct signalfd_siginfo si[16];
	ssize_t n;
	size_t i;

	n = read(t->sig_fd, si, sizeof(si));
	for (i = 0; n > 0 && i < (size_t)n / sizeof(si[0]); i++)
		if (si[i].ssi_code != SI_TKILL)
			t->handlers->signal(si[i].ssi_fd);
}

int rdmapin_break_thread_watch(int fd)
{
	char link[48];

	/* The thread's own table: the file is the one its fd names, not a path's. */
	snprintf(link, sizeof(link), "/proc/thread-self/fd/%d", fd);
	return inotify_add_watch(rdmapin_lib.brk.ino_fd, link, IN_MODIFY);
}

void rdmapin_break_thread_unwatch(int wd)
{
	inotify_rm_watch(rdmapin_lib.brk.ino_fd, wd);
}

static void drain_changes(const struct rdmapin_break_thread *t)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;

	while ((n = read(t->ino_fd, buf, sizeof(buf))) > 0)
		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if (ev->mask & IN_Q_OVERFLOW)
				t->handlers->changed(-1);
			else if (ev->mask & IN_MODIFY)
				t->handlers->changed(ev->wd);
		}
}

static int watch(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* An abstract name: nothing to clean up, and it goes with the thread's table. */
static int listen_socket(struct rdmapin_break_thread *t)
{
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int n;

	if (s < 0)
		return -1;
	t->addr.sun_family = AF_UNIX;
	n = snprintf(t->addr.sun_path + 1, sizeof(t->addr.sun_path) - 1, "rdmapin.%d.%d",
		     getpid(), gettid());
	t->addr_len = offsetof(struct sockaddr_un, sun_path) + 1 + n;
	if (bind(s, (struct sockaddr *)&t->addr, t->addr_len) || listen(s, 16))
		return -1;
	return s;
}

/*
 * Whatever the application does to its fd table (closefrom, close_range,
 * dup2) cannot reach a table the thread does not share: it leaves the
 * process's, drops its copies of the application's fds (a copy would keep
 * a pipe or socket open after the application closed it) and opens its own.
 */
static int private_table(struct rdmapin_break_thread *t)
{
	sigset_t set;

	if (unshare(CLONE_FILES) || close_range(0, ~0U, 0))
		return -1;
	sigemptyset(&set);
	sigaddset(&set, t->signal);
	t->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	t->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	t->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	t->listen_fd = listen_socket(t);
	if (t->sig_fd < 0 || t->ep_fd < 0 || t->ino_fd < 0 || t->listen_fd < 0 ||
	    watch(t->ep_fd, t->sig_fd) || watch(t->ep_fd, t->ino_fd) ||
	    watch(t->ep_fd, t->listen_fd))
		return -1;
	return 0;
}

struct start {
	sem_t ready;
	int err;
};

static void *break_thread(void *p)
{
	struct rdmapin_break_thread *t = &rdmapin_lib.brk;
	struct start *start = p;
	struct epoll_event ev[3];
	int n, i;

	start->err = private_table(t) ? errno : 0;
	if (!start->err)
		t->tid = gettid();
	sem_post(&start->ready);
	if (!t->tid)
		return NULL;
	for (;;) {
		n = epoll_wait(t->ep_fd, ev, 3, -1);
		for (i = 0; i < n; i++)
			if (ev[i].data.fd == t->sig_fd)
				drain_signals(t);
			else if (ev[i].data.fd == t->ino_fd)
				drain_changes(t);
		accept_fds(t);
		run_calls(t);
		t->handlers->wake();
	}
	return NULL;
}

/* The thread inherits a mask that blocks every signal: none of the app's land on it. */
static int spawn(void)
{
	struct start start = { .err = 0 };
	sigset_t all, old;
	pthread_t t;
	int err;

	sem_init(&start.ready, 0, 0);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&t, NULL, break_thread, &start);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!err) {
		pthread_detach(t);
		while (sem_wait(&start.ready) && errno == EINTR)
			;
		err = start.err;
	}
	sem_destroy(&start.ready);
	return err;
}

static const struct rdmapin_break_handlers *handlers;

void rdmapin_break_thread_init(const struct rdmapin_break_handlers *h)
{
	handlers = h;
}

int rdmapin_break_thread_start(void)
{
	struct rdmapin_break_thread *t = &rdmapin_lib.brk;
	int err;

	if (t->tid)
		return rdmapin_revoker_start(handlers->revoke);
	t->handlers = handlers;
	rdmapin_break_signal();
	err = spawn();
	if (!err)
		return rdmapin_revoker_start(handlers->revoke);
	return rdmapin_fail(err, "cannot start the library's thread (it needs unshare(CLONE_FILES), "
			    "close_range, signalfd, epoll and an abstract unix socket): %s",
			    strerrordesc_np(err));
}
