// SPDX-License-Identifier: MIT
/* Runs rdmapin-guardd --probe for pinls --caps and the tests. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "guardd_probe.h"

extern char **environ;

/*
 * The first line of what @fd gives until EOF, into @line; the rest is read
 * and dropped, so that the writer never blocks on a full pipe.
 */
static void read_line(int fd, char *line, size_t len)
{
	char rest[256];
	size_t got = 0;
	ssize_t n;

	do {
		if (got < len - 1)
			n = read(fd, line + got, len - 1 - got);
		else
			n = read(fd, rest, sizeof(rest));
		if (n > 0 && got < len - 1)
			got += n;
	} while (n > 0 || (n < 0 && errno == EINTR));
	line[got] = '\0';
	line[strcspn(line, "\n")] = '\0';
}

static int spawn_probe(const char *path, int out, pid_t *pid)
{
	char *argv[] = { (char *)path, "--probe", NULL };
	posix_spawn_file_actions_t fa;
	int err;

	err = posix_spawn_file_actions_init(&fa);
	if (err)
		return rdmapin_fail(err, "cannot run %s --probe: %s", path, strerror(err));
	err = posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO) ?:
	      posix_spawn(pid, path, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err == ENOENT)
		return rdmapin_fail(ENOENT, "rdmapin-guardd is not installed (no %s); install it, "
				    "or set RDMAPIN_GUARDD_PATH", path);
	if (err)
		return rdmapin_fail(err, "cannot run %s --probe: %s", path, strerror(err));
	return 0;
}

int rdmapin_guardd_probe(const char *path, char *line, size_t len)
{
	int pipefd[2], status, ret;
	pid_t pid;

	line[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC))
		return rdmapin_fail(errno, "cannot run %s --probe: pipe: %s", path,
				    strerror(errno));
	ret = spawn_probe(path, pipefd[1], &pid);
	close(pipefd[1]);
	if (!ret)
		read_line(pipefd[0], line, len);
	close(pipefd[0]);
	if (ret)
		return -1;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return rdmapin_fail(errno, "%s --probe: waitpid: %s", path, strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) <= 1)
		return WEXITSTATUS(status);
	return rdmapin_fail(EPROTO, "%s --probe failed (wait status 0x%x): %s; is it "
			    "rdmapin-guardd of this version?", path, status, line);
}
