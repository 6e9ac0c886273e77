/* SPDX-License-Identifier: MIT */
/*
 * The library's fd keeper: a small event loop that receives lease-break
 * signals and hands them to its handlers. The signals are directed at it
 * (F_SETOWN_EX, F_OWNER_TID) and read through a signalfd, so librdmapin
 * installs no signal handler and the application's threads never see them;
 * when the kernel cannot queue one, its plain SIGIO to the thread is taken
 * (never the process's).
 * It knows nothing of MRs or leases, and makes no verbs call: those need the
 * application's table, and run on the revoker (revoker.h).
 *
 * It keeps every fd a registration's protection depends on:
 * it runs with an fd table of its own (unshare(CLONE_FILES)), so the
 * application cannot close, replace or reuse them (closefrom, close_range,
 * dup2). Other threads have work done there, and bring files in, through
 * rdmapin_break_thread_call(). exec ends the thread and its table with it; a
 * forked child has neither.
 */
#ifndef RDMAPIN_BREAK_THREAD_H
#define RDMAPIN_BREAK_THREAD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct rdmapin_break_handlers {
	/*
	 * The break signal arrived for the file open at @fd (si_fd, the thread's
	 * table); -1: a SIGIO, for any of them.
	 */
	void (*signal)(int fd);
	/* The revoker's work (revoker.h). */
	void (*revoke)(void);
	/* After every wake-up, under the lock: rdmapin_break_thread_kick() work. */
	void (*wake)(void);
	/*
	 * A watched file changed (rdmapin_break_thread_watch()); -1: maybe any of
	 * them. @attrib: its attributes or links (IN_ATTRIB; a deletion too).
	 */
	void (*changed)(int wd, bool attrib);
	/*
	 * A watch is gone (IN_IGNORED): its filesystem was unmounted, or its
	 * file deleted and then closed and unmapped everywhere.
	 */
	void (*gone)(int wd);
};

/* Sets the handlers, once, before any start (lease.c's constructor). */
void rdmapin_break_thread_init(const struct rdmapin_break_handlers *h);
/*
 * Starts the thread and the revoker once, under the setup lock; -1 with a
 * message if it cannot.
 */
int rdmapin_break_thread_start(void);
pid_t rdmapin_break_thread_tid(void);
bool rdmapin_on_break_thread(void);
/* RDMAPIN_LEASE_SIGNAL from the environment, else SIGRTMAX - 2; read once. */
int rdmapin_break_signal(void);
/* Wakes the thread to run its wake handler; does not wait. */
void rdmapin_break_thread_kick(void);
/*
 * Under the lock: whether the thread is awake and its wake handler, which
 * takes the lock, still to run. Work left to it now gets done then, and a
 * kick would wake it once more for nothing (a break's revoker, on one CPU:
 * a tgkill and a wake-up ahead of the truncater it released).
 */
bool rdmapin_break_thread_waking(void);

/*
 * Runs @fn(@ctx, @fd) on the thread and returns its result, with its errno
 * and message. *@fd is a copy, in the thread's table, of the caller's @app_fd
 * (-1 when @app_fd is -1), closed when @fn returns unless @fn kept it (and
 * set *@fd to -1); @fn checks it is the file it meant. The caller must not
 * hold the lock (the thread takes it).
 */
typedef int (*rdmapin_thread_fn)(void *ctx, int *fd);
int rdmapin_break_thread_call(rdmapin_thread_fn fn, void *ctx, int app_fd);

/*
 * On the thread: have the changed handler hear of every change of the data or
 * size of the file open at @fd (inotify IN_MODIFY: writes, truncates,
 * fallocate, remaps), and of its attributes and links (IN_ATTRIB: a chmod,
 * a link, its deletion). Returns the watch's number, the same for every fd of one
 * file, or -1 with errno (ENOSPC: fs.inotify.max_user_watches reached).
 */
int rdmapin_break_thread_watch(int fd);
/* On the thread: no more of that file's changes. */
void rdmapin_break_thread_unwatch(int wd);
/*
 * On the thread, without the lock: hands every event queued for the watches
 * to the handlers now, rather than at the next wake-up.
 */
void rdmapin_break_thread_read_changes(void);

/* In a forked child: the socket that sends files is the parent's. */
void rdmapin_break_thread_forget(void);

#endif
