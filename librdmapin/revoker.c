// SPDX-License-Identifier: MIT
/* The revoking thread: see revoker.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "lib.h"
#include "revoker.h"

static struct rdmapin_revoker *const rv = &rdmapin_lib.revoker;

/* As the break thread's flag (break_thread.c): a forked child has no revoker. */
static __thread bool on_revoker;

bool rdmapin_on_revoker(void)
{
	return on_revoker && rv->tid;
}

void rdmapin_revoker_wake(void)
{
	rv->pending = true;
	pthread_cond_signal(&rv->cond);
}

void rdmapin_revoker_arm(uint64_t deadline_ns)
{
	if (rv->deadline_ns && rv->deadline_ns <= deadline_ns)
		return;
	rv->deadline_ns = deadline_ns;
	pthread_cond_signal(&rv->cond);
}

static bool due(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return rv->deadline_ns &&
	       rv->deadline_ns <= now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

/* Under the lock. */
static void wait_work(void)
{
	struct timespec at;

	while (!rv->pending && !due()) {
		if (!rv->deadline_ns) {
			rdmapin_wait_on(&rv->cond);
			continue;
		}
		at.tv_sec = rv->deadline_ns / 1000000000;
		at.tv_nsec = rv->deadline_ns % 1000000000;
		rdmapin_timedwait_on(&rv->cond, &at);
	}
	rv->pending = false;
	if (due())
		rv->deadline_ns = 0;
}

static void *revoker(void *p)
{
	sem_t *ready = p;

	on_revoker = true;
	rv->tid = gettid();
	sem_post(ready);
	rdmapin_lock();
	for (;;) {
		wait_work();
		rdmapin_unlock();
		rv->work();
		rdmapin_lock();
	}
	return NULL;
}

/* The thread inherits a mask that blocks every signal: none of the app's land on it. */
int rdmapin_revoker_start(void (*work)(void))
{
	pthread_condattr_t attr;
	sigset_t all, old;
	sem_t ready;
	pthread_t t;
	int err;

	if (rv->tid)
		return 0;
	rv->work = work;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&rv->cond, &attr);
	pthread_condattr_destroy(&attr);
	sem_init(&ready, 0, 0);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&t, NULL, revoker, &ready);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!err) {
		pthread_detach(t);
		while (sem_wait(&ready) && errno == EINTR)
			;
	}
	sem_destroy(&ready);
	if (!err)
		return 0;
	return rdmapin_fail(err, "cannot start the library's revoking thread: %s",
			    strerrordesc_np(err));
}
