// SPDX-License-Identifier: MIT
/* Starts and stops rdmapin-guardd of this build (GUARDD_PATH) for tests. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guard_map.h"
#include "guardd_ctl.h"
#include "guardd_probe.h"
#include "guardd_proto.h"
#include "guest.h"

/*
 * Loading the guard runs the BPF verifier, which took over 30 s in a TCG
 * guest under ThreadSanitizer while the host was loaded; a daemon that
 * exits ends the wait at once.
 */
#define START_TIMEOUT_S 120
#define MAX_ARGS 8

void guardd_init(struct guardd_run *g, const char *dir, const char *log)
{
	g->pid = -1;
	g->prefix = NULL;
	snprintf(g->dir, sizeof(g->dir), "%s", dir);
	snprintf(g->socket, sizeof(g->socket), "%s/" RDMAPIN_GUARDD_SOCKET_NAME, dir);
	snprintf(g->log, sizeof(g->log), "%s", log ? log : "");
}

/* In the forked child. */
static void guardd_exec(const struct guardd_run *g, const char *const *args)
{
	const char *argv[2 * MAX_ARGS + 4];
	int i, n = 0, log;

	for (i = 0; g->prefix && g->prefix[i] && i < MAX_ARGS; i++)
		argv[n++] = g->prefix[i];
	argv[n++] = GUARDD_PATH;
	argv[n++] = "-d";
	argv[n++] = g->dir;
	for (i = 0; args && args[i] && i < MAX_ARGS; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (g->log[0]) {
		log = open(g->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (log < 0 || dup2(log, STDERR_FILENO) < 0)
			_exit(errno);
	}
	if (prctl(PR_SET_PDEATHSIG, SIGTERM))
		_exit(errno);
	execvp(argv[0], (char **)argv);
	_exit(errno);
}

/*
 * Whether it accepts a connection; false, with g->pid -1, once it has exited.
 * It is asked from a child: a restarted daemon hands a connection from a
 * process it restored that process's entries, and the probe's close would
 * then drop them.
 */
static bool listens(struct guardd_run *g)
{
	pid_t pid = fork();
	int status = -1;

	if (pid == 0)
		_exit(rdmapin_guardd_connect_to(g->socket) < 0);
	if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	    !WEXITSTATUS(status))
		return true;
	if (waitpid(g->pid, NULL, WNOHANG))
		g->pid = -1;
	return false;
}

int guardd_start(struct guardd_run *g, const char *const *args)
{
	double until = now_s() + START_TIMEOUT_S;

	fflush(stdout);
	fflush(stderr);
	g->pid = fork();
	if (g->pid == 0)
		guardd_exec(g, args);
	while (g->pid > 0 && !listens(g)) {
		if (now_s() > until) {
			guardd_stop(g, SIGTERM);
			break;
		}
		usleep(20000);
	}
	return g->pid > 0 ? 0 : -1;
}

int guardd_stop(struct guardd_run *g, int sig)
{
	int status = -1;

	if (g->pid > 0 && !kill(g->pid, sig))
		waitpid(g->pid, &status, 0);
	g->pid = -1;
	return status;
}

void guardd_show_log(const struct guardd_run *g)
{
	FILE *f = fopen(g->log, "re");
	char line[1024];

	while (f && fgets(line, sizeof(line), f))
		printf("#   %s", line);
	if (f)
		fclose(f);
}

int guard_load(void)
{
	char dir[] = "/tmp/guard_load.XXXXXX", path[sizeof(dir) + 32];
	struct guardd_run g;
	int ret = -1;

	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/run", dir);
	guardd_init(&g, path, NULL);
	snprintf(g.log, sizeof(g.log), "%s/log", dir);
	if (!guardd_start(&g, NULL) && guardd_stop(&g, SIGTERM) == 0)
		ret = 0;
	else
		guardd_show_log(&g);
	/* A stopped daemon leaves its (empty) state behind, for its successor. */
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	if (system(path))
		ret = -1;
	return ret;
}

int guard_unload(void)
{
	DIR *dir = opendir(RDMAPIN_GUARD_DIR);
	struct dirent *e;

	if (!dir)
		return errno == ENOENT ? 0 : -1;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.' && unlinkat(dirfd(dir), e->d_name, 0))
			break;
	closedir(dir);
	return rmdir(RDMAPIN_GUARD_DIR);
}

int guard_probe(char *line, size_t len)
{
	return rdmapin_guardd_probe(GUARDD_PATH, line, len);
}
