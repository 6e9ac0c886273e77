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
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "break_thread.h"
#include "error.h"
#include "lib.h"

struct rdmapin_thread_call {
	int (*fn)(void *ctx);
	void *ctx;
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

void rdmapin_break_thread_arm(uint64_t deadline_ns)
{
	struct itimerspec t = {
		.it_value = { .tv_sec = deadline_ns / 1000000000,
			      .tv_nsec = deadline_ns % 1000000000 },
	};

	timerfd_settime(rdmapin_lib.brk.timer_fd, TFD_TIMER_ABSTIME, &t, NULL);
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

int rdmapin_break_thread_getfd(int app_fd)
{
	return syscall(SYS_pidfd_getfd, rdmapin_lib.brk.pidfd, app_fd, 0);
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
		rdmapin_fail(0, "%s", "");
		c->ret = c->fn(c->ctx);
		c->err = errno;
		if (c->ret < 0)
			snprintf(c->msg, sizeof(c->msg), "%s", rdmapin_error_msg());
		pthread_mutex_lock(&t->call_lock);
		c->done = true;
		pthread_cond_broadcast(&t->call_done);
		pthread_mutex_unlock(&t->call_lock);
	}
}

int rdmapin_break_thread_call(int (*fn)(void *ctx), void *ctx)
{
	struct rdmapin_break_thread *t = &rdmapin_lib.brk;
	struct rdmapin_thread_call c = { .fn = fn, .ctx = ctx };

	if (rdmapin_on_break_thread())
		return fn(ctx);
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

static int watch(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
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
	t->pidfd = syscall(SYS_pidfd_open, getpid(), 0);
	t->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	t->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	t->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (t->pidfd < 0 || t->sig_fd < 0 || t->timer_fd < 0 || t->ep_fd < 0 ||
	    watch(t->ep_fd, t->sig_fd) || watch(t->ep_fd, t->timer_fd))
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
	struct epoll_event ev[2];
	uint64_t expirations;
	int n, i;

	start->err = private_table(t) ? errno : 0;
	if (!start->err)
		t->tid = gettid();
	sem_post(&start->ready);
	if (!t->tid)
		return NULL;
	for (;;) {
		n = epoll_wait(t->ep_fd, ev, 2, -1);
		for (i = 0; i < n; i++) {
			if (ev[i].data.fd == t->sig_fd)
				drain_signals(t);
			else if (read(t->timer_fd, &expirations, sizeof(expirations)) > 0)
				t->handlers->deadline();
		}
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

int rdmapin_break_thread_start(const struct rdmapin_break_handlers *h)
{
	struct rdmapin_break_thread *t = &rdmapin_lib.brk;
	int err;

	if (t->tid)
		return 0;
	t->handlers = h;
	rdmapin_break_signal();
	err = spawn();
	if (!err)
		return 0;
	return rdmapin_fail(err, "cannot start the library's thread (it needs unshare(CLONE_FILES), "
			    "close_range, pidfd_open, signalfd, timerfd and epoll): %s",
			    strerrordesc_np(err));
}
