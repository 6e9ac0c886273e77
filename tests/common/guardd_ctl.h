/* SPDX-License-Identifier: MIT */
/*
 * rdmapin-guardd of this build, as the guest tests and bench_guard run it.
 * It is the truncate guard's only loader: a test loads the guard by starting
 * it, and unloads the guard as rdmapin_guard(7) tells an administrator to.
 */
#ifndef RDMAPIN_TESTS_GUARDD_CTL_H
#define RDMAPIN_TESTS_GUARDD_CTL_H

#include <stddef.h>
#include <sys/types.h>

struct guardd_run {
	pid_t pid;		/* -1: not running */
	char dir[64];		/* its --runtime-dir */
	char socket[96];	/* DIR/socket */
	char log[96];		/* its stderr is appended there; "": this process's */
	const char *const *prefix;	/* a command that runs it (valgrind, setpriv); NULL: none */
};

/* A daemon not yet started in @dir; @log as in struct guardd_run, or NULL. */
void guardd_init(struct guardd_run *g, const char *dir, const char *log);

/*
 * Starts it with @args (more options, NULL-terminated; NULL for none) and
 * waits until its socket accepts: 0, or -1 when it exited or did not listen
 * within 30 s. It gets SIGTERM should this process die.
 */
int guardd_start(struct guardd_run *g, const char *const *args);

/* Stops it with @sig: its wait status, or -1 when it was not running. */
int guardd_stop(struct guardd_run *g, int sig);

/* Prints its log on stdout, each line a TAP comment. */
void guardd_show_log(const struct guardd_run *g);

/*
 * Loads the guard unless it is loaded: a daemon in a scratch directory,
 * stopped once it listens. 0, or -1 after printing the daemon's log.
 */
int guard_load(void);

/* Unloads the guard (rm -r its pins), without a process to start: 0 or -1 with errno. */
int guard_unload(void);

/* rdmapin-guardd --probe of this build, as rdmapin_guardd_probe(). */
int guard_probe(char *line, size_t len);

#endif
