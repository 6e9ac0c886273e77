// SPDX-License-Identifier: MIT
/* The lease-break thread: see lease_break.h. */
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

#include "error.h"
#include "lease_break.h"
#include "revoke.h"

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t thread_tid;
static int sig_fd = -1, timer_fd = -1, ep_fd = -1;
static int lease_signal;

/* Read once, when the thread starts: the signalfd watches this signal only. */
int rdmapin_break_signal(void)
{
	const char *s;
	int sig;

	if (!lease_signal) {
		s = getenv("RDMAPIN_LEASE_SIGNAL");
		sig = s ? atoi(s) : 0;
		lease_signal = sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : SIGRTMAX - 2;
	}
	return lease_signal;
}

pid_t rdmapin_break_thread_tid(void)
{
	return thread_tid;
}

void rdmapin_break_thread_arm(uint64_t deadline_ns)
{
	struct itimerspec t = {
		.it_value = { .tv_sec = deadline_ns / 1000000000,
			      .tv_nsec = deadline_ns % 1000000000 },
	};

	timerfd_settime(timer_fd, TFD_TIMER_ABSTIME, &t, NULL);
}

static void drain_signals(void)
{
	struct signalfd_siginfo si[16];
	ssize_t n;
	size_t i;

	n = read(sig_fd, si, sizeof(si));
	for (i = 0; n > 0 && i < (size_t)n / sizeof(si[0]); i++)
		rdmapin_revoke_on_break(si[i].ssi_fd);
}

static void *break_thread(void *p)
{
	sem_t *ready = p;
	struct epoll_event ev[2];
	uint64_t expirations;
	int n, i;

	thread_tid = gettid();
	sem_post(ready);
	for (;;) {
		n = epoll_wait(ep_fd, ev, 2, -1);
		for (i = 0; i < n; i++) {
			if (ev[i].data.fd == sig_fd)
				drain_signals();
			else if (read(timer_fd, &expirations, sizeof(expirations)) > 0)
				rdmapin_revoke_expired();
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

static int start_locked(void)
{
	sigset_t set;
	int err;

	sigemptyset(&set);
	sigaddset(&set, rdmapin_break_signal());
	sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (sig_fd < 0 || timer_fd < 0 || ep_fd < 0 || watch(ep_fd, sig_fd) ||
	    watch(ep_fd, timer_fd))
		err = errno;
	else
		err = spawn();
	if (!err)
		return 0;
	rdmapin_break_thread_forget();
	return rdmapin_fail(err, "cannot start the lease-break thread: %s", strerrordesc_np(err));
}

int rdmapin_break_thread_start(void)
{
	int ret = 0;

	pthread_mutex_lock(&start_lock);
	if (!thread_tid)
		ret = start_locked();
	pthread_mutex_unlock(&start_lock);
	return ret;
}

void rdmapin_break_thread_forget(void)
{
	if (sig_fd >= 0)
		close(sig_fd);
	if (timer_fd >= 0)
		close(timer_fd);
	if (ep_fd >= 0)
		close(ep_fd);
	sig_fd = timer_fd = ep_fd = -1;
	thread_tid = 0;
}
