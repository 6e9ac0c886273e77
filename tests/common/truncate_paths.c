// SPDX-License-Identifier: MIT
/* Every truncate path that the guard covers: see truncate_paths.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "guest.h"
#include "truncate_paths.h"

const char *const how_name[NR_HOWS] = {
	[TRUNCATE_SHRINK] = "truncate(2) to 0",
	[FTRUNCATE_SHRINK] = "ftruncate(2) to 0",
	[FTRUNCATE_GROW] = "ftruncate(2) to twice the size",
	[OPEN_TRUNC] = "open(O_TRUNC)",
	[SHELL_REDIRECT] = "bash ': > file'",
	[COREUTILS_TRUNCATE] = "coreutils truncate -s 0",
};

/*
 * Runs a shell command made from @fmt. Returns 0 when it succeeds, ETXTBSY
 * when it fails saying so, EPROTO (after printing what it said) otherwise.
 */
static __attribute__((format(printf, 1, 2))) int run_tool(const char *fmt, ...)
{
	char cmd[512], out[4096];
	size_t used;
	va_list ap;
	FILE *p;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	/* Appended: the tool's message is what tells ETXTBSY from other failures. */
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	p = popen(cmd, "r");
	if (!p)
		return errno;
	used = fread(out, 1, sizeof(out) - 1, p);
	out[used] = '\0';
	status = pclose(p);
	if (status == 0)
		return 0;
	if (strstr(out, strerror(ETXTBSY)))
		return ETXTBSY;
	printf("# %s: status 0x%x: %s", cmd, status, out);
	return EPROTO;
}

int try_truncate(enum how how, const char *path, int fd)
{
	int ret = 0, tfd;

	switch (how) {
	case TRUNCATE_SHRINK:
		ret = truncate(path, 0);
		break;
	case FTRUNCATE_SHRINK:
		ret = ftruncate(fd, 0);
		break;
	case FTRUNCATE_GROW:
		ret = ftruncate(fd, 2 * REGION_SIZE);
		break;
	case OPEN_TRUNC:
		tfd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
		if (tfd >= 0)
			close(tfd);
		ret = tfd >= 0 ? 0 : -1;
		break;
	case SHELL_REDIRECT:
		return run_tool("bash -c ': > %s'", path);
	case COREUTILS_TRUNCATE:
		return run_tool("truncate -s 0 %s", path);
	case NR_HOWS:
		break;
	}
	return ret ? errno : 0;
}

void check_truncate_paths(const char *path, int fd, int want, const char *what)
{
	struct stat st = { 0 };
	int how, err;

	for (how = 0; how < NR_HOWS; how++) {
		err = try_truncate(how, path, fd);
		check(want ? err == want : !err, "%s: %s: want %s, got %s", what, how_name[how],
		      want ? strerror(want) : "success", err ? strerror(err) : "success");
		if (!err && ftruncate(fd, REGION_SIZE))
			check(0, "%s: restore the size: %s", what, strerror(errno));
	}
	if (!want)
		return;
	fstat(fd, &st);
	check(st.st_size == REGION_SIZE, "%s: the file keeps its size (%lld)", what,
	      (long long)st.st_size);
}
