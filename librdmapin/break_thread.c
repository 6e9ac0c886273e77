// SPDX-License-Identifier: MIT
/* The library's thread: see break_thread.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "break_thread.h"
#include "error.h"
#include "lib.h"

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

void rdmapin_break_thread_arm(uint64_t deadline_ns)
{
	struct itimerspec t = {
		.it_value = { .tv_sec = deadline_ns / 1000000000,
			      .tv_nsec = deadline_ns % 1000000000 },
	};

	timerfd_settime(rdmapin_lib.brk.timer_fd, TFD_TIMER_ABSTIME, &t, NULL);
}

static void drain_signals(const struct rdmapin_break_thread *t)
{
	struct signalfd_siginfo si[16];
	ssize_t n;
	size_t i;

	n = read(t->sig_fd, si, sizeof(si));
	for (i = 0; n > 0 && i < (size_t)n / sizeof(si[0]); i++)
		t->handlers->signal(si[i].ssi_fd);
}

static void *break_thread(void *p)
{
	struct rdmapin_break_thread *t = &rdmapin_lib.brk;
	sem_t *ready = p;
	struct epoll_event ev[2];
	uint64_t expirations;
	int n, i;

	t->tid = gettid();
	sem_post(ready);
	for (;;) {
		n = epoll_wait(t->ep_fd, ev, 2, -1);
		for (i = 0; i < n; i++) {
			if (ev[i].data.fd == t->sig_fd)
				drain_signals(t);
			else if (read(t->timer_fd, &expirations, sizeof(expirations)) > 0)
				t->handlers->deadline();
		}
	}
	return NULL;
}

static int watch(int ep, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* The thread inherits a mask that blocks every signal: none of the app's land on it. */
static int spawn(void)
{
	sigset_t all, old;
	sem_t ready;
	pthread_t t;
	int err;

	sem_init(&ready, 0, 0);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&t, NULL, break_thread, &ready);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!err) {
		pthread_detach(t);
		while (sem_wait(&ready) && errno == EINTR)
			;
	}
	sem_destroy(&ready);
	return err;
}

int rdmapin_break_thread_start(const struct rdmapin_break_handlers *h)
{
	struct rdmapin_break_thread *t = &rdmapin_lib.brk;
	sigset_t set;
	int err;

	if (t->tid)
		return 0;
	t->handlers = h;
	sigemptyset(&set);
	sigaddset(&set, rdmapin_break_signal());
	t->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	t->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	t->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (t->sig_fd < 0 || t->timer_fd < 0 || t->ep_fd < 0 || watch(t->ep_fd, t->sig_fd) ||
	    watch(t->ep_fd, t->timer_fd))
		err = errno;
	else
		err = spawn();
	if (!err)
		return 0;
	rdmapin_break_thread_forget();
	return rdmapin_fail(err, "cannot start the lease-break thread: %s", strerrordesc_np(err));
}

void rdmapin_break_thread_forget(void)
{
	struct rdmapin_break_thread *t = &rdmapin_lib.brk;

	if (t->sig_fd >= 0)
		close(t->sig_fd);
	if (t->timer_fd >= 0)
		close(t->timer_fd);
	if (t->ep_fd >= 0)
		close(t->ep_fd);
	t->sig_fd = t->timer_fd = t->ep_fd = -1;
	t->tid = 0;
}
