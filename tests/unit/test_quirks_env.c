// SPDX-License-Identifier: MIT
/*
 * RDMAPIN_ALLOW_QUIRKS is read at every registration from what each thread
 * found last (device_quirks.c): every way the environment changes must be
 * seen at the next call, never a value that is gone (but for another
 * entry's string edited into this name, which device_quirks.c leaves).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "check.h"
#include "device_quirks.h"

#define QUIRK "rxe-odp-offset"

/* What a registration would accept now: the bits, or -1 for EINVAL. */
static long accepted(void)
{
	uint32_t allowed = 0;

	if (rdmapin_quirks_from_env(&allowed))
		return errno == EINVAL ? -1 : -2;
	return allowed;
}

static void expect(long want, const char *what)
{
	long got = accepted();

	check(got == want, "%s: want %ld, got %ld (twice: %ld)", what, want, got, accepted());
}

static void *from_thread(void *unused)
{
	(void)unused;
	return (void *)accepted();
}

static long on_new_thread(void)
{
	pthread_t t;
	void *ret = (void *)-3L;

	if (pthread_create(&t, NULL, from_thread, NULL) || pthread_join(t, &ret))
		return -3;
	return (long)ret;
}

/*
 * In the environment the process started with, which the library reads
 * without looking at the slots before the entry: changes made in place.
 */
static int started_with(char **envp)
{
	char *value = getenv("RDMAPIN_ALLOW_QUIRKS");

	check(environ == envp && value, "exec'd: environ is the array the process started with");
	expect(RDMAPIN_QUIRK_RXE_ODP_OFFSET, "exec'd: set at exec");
	unsetenv("RDMAPIN_TEST_BEFORE");
	check(environ == envp, "exec'd: unsetenv moves entries down in place");
	expect(RDMAPIN_QUIRK_RXE_ODP_OFFSET, "exec'd: moved down by an unsetenv before it");
	value[0] = 'X';
	expect(-1, "exec'd: its string edited in place to an unknown name");
	value[0] = QUIRK[0];
	expect(RDMAPIN_QUIRK_RXE_ODP_OFFSET, "exec'd: edited back");
	setenv("RDMAPIN_ALLOW_QUIRKS", "no-such-quirk", 1);
	check(environ == envp, "exec'd: setenv replaces an entry in place");
	expect(-1, "exec'd: replaced by setenv with an unknown name");
	unsetenv("RDMAPIN_ALLOW_QUIRKS");
	expect(0, "exec'd: unset by unsetenv");
	setenv("RDMAPIN_ALLOW_QUIRKS", QUIRK, 1);
	check(environ != envp, "exec'd: setenv adds in a new array");
	expect(RDMAPIN_QUIRK_RXE_ODP_OFFSET, "exec'd: set again by setenv");
	return check_done();
}

/*
 * Absent from the environment the process started with, which the library
 * then does not search again while nothing is added: what is added must
 * still be seen.
 */
static int started_without(char **envp)
{
	char *own[] = { "RDMAPIN_ALLOW_QUIRKS=" QUIRK, NULL };

	check(environ == envp && !getenv("RDMAPIN_ALLOW_QUIRKS"),
	      "exec'd without it: environ is the array the process started with");
	expect(0, "exec'd without it: absent");
	expect(0, "exec'd without it: still absent");
	environ = own;
	expect(RDMAPIN_QUIRK_RXE_ODP_OFFSET, "exec'd without it: in an array of the program's own");
	environ = envp;
	expect(0, "exec'd without it: that array left");
	unsetenv("RDMAPIN_TEST_BEFORE");
	check(environ == envp, "exec'd without it: unsetenv moves entries down in place");
	expect(0, "exec'd without it: absent after an unsetenv");
	unsetenv("RDMAPIN_TEST_LAST");
	expect(0, "exec'd without it: absent after its last entry went");
	setenv("RDMAPIN_ALLOW_QUIRKS", "no-such-quirk", 1);
	check(environ != envp, "exec'd without it: setenv adds in a new array");
	expect(-1, "exec'd without it: added by setenv with an unknown name");
	setenv("RDMAPIN_ALLOW_QUIRKS", QUIRK, 1);
	expect(RDMAPIN_QUIRK_RXE_ODP_OFFSET, "exec'd without it: replaced by setenv");
	clearenv();
	expect(0, "exec'd without it: clearenv");
	return check_done();
}

/* Too long a value to keep a copy of, from the start: read every time, never taken for absent. */
static int started_long(void)
{
	expect(RDMAPIN_QUIRK_RXE_ODP_OFFSET, "exec'd with a long value");
	expect(RDMAPIN_QUIRK_RXE_ODP_OFFSET, "exec'd with a long value, again");
	return check_done();
}

/* This program again, with @mode and @envp as the environment it starts with. */
static void exec_case(char *self, char *mode, char **envp)
{
	char *argv[] = { self, mode, NULL };
	int status = -1;
	bool passed;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execve(self, argv, envp);
		_exit(127);
	}
	passed = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		 !WEXITSTATUS(status);
	check(passed, "%s: every case above passed (status %d)", mode, status);
}

int main(int argc, char **argv)
{
	static char put[] = "RDMAPIN_ALLOW_QUIRKS=" QUIRK;
	char before[] = "RDMAPIN_TEST_BEFORE=1", longer[200];
	char *with[] = { "RDMAPIN_TEST_BEFORE=1", "RDMAPIN_ALLOW_QUIRKS=" QUIRK, NULL };
	char *without[] = { "RDMAPIN_TEST_BEFORE=1", "RDMAPIN_TEST_LAST=1", NULL };

	if (argc == 2 && !strcmp(argv[1], "--started-with"))
		return started_with(argv + argc + 1);
	if (argc == 2 && !strcmp(argv[1], "--started-without"))
		return started_without(argv + argc + 1);
	if (argc == 2 && !strcmp(argv[1], "--started-long"))
		return started_long();
	exec_case(argv[0], "--started-with", with);
	exec_case(argv[0], "--started-without", without);
	snprintf(longer, sizeof(longer), "RDMAPIN_ALLOW_QUIRKS=%0*d" QUIRK, 150, 0);
	memset(longer + strlen("RDMAPIN_ALLOW_QUIRKS="), ',', 150);
	exec_case(argv[0], "--started-long", (char *[]){ longer, NULL });

	unsetenv("RDMAPIN_ALLOW_QUIRKS");
	expect(0, "unset");
	setenv("RDMAPIN_ALLOW_QUIRKS", QUIRK, 1);
	expect(RDMAPIN_QUIRK_RXE_ODP_OFFSET, "set by setenv");
	setenv("RDMAPIN_ALLOW_QUIRKS", "no-such-quirk", 1);
	expect(-1, "replaced by setenv with an unknown name");
	check(strstr(rdmapin_last_error(), "no-such-quirk") != NULL, "message names it: %s",
	      rdmapin_last_error());
	setenv("RDMAPIN_ALLOW_QUIRKS", QUIRK, 1);
	expect(RDMAPIN_QUIRK_RXE_ODP_OFFSET, "set again");
	unsetenv("RDMAPIN_ALLOW_QUIRKS");
	expect(0, "unset by unsetenv");

	/* An entry before it goes: it moves down a slot, and its old slot holds another. */
	putenv(before);
	setenv("RDMAPIN_ALLOW_QUIRKS", QUIRK, 1);
	expect(RDMAPIN_QUIRK_RXE_ODP_OFFSET, "set after another");
	unsetenv("RDMAPIN_TEST_BEFORE");
	expect(RDMAPIN_QUIRK_RXE_ODP_OFFSET, "moved down by an unsetenv before it");
	setenv("RDMAPIN_TEST_AFTER", "1", 1);
	expect(RDMAPIN_QUIRK_RXE_ODP_OFFSET, "another variable added after it");

	/* putenv's string is the environment: an edit of it in place is a change. */
	putenv(put);
	expect(RDMAPIN_QUIRK_RXE_ODP_OFFSET, "set by putenv");
	put[strlen("RDMAPIN_ALLOW_QUIRKS=")] = 'X';
	expect(-1, "putenv's string edited in place to an unknown name");
	put[strlen("RDMAPIN_ALLOW_QUIRKS=")] = '\0';
	expect(0, "putenv's string edited in place to empty");
	memcpy(put + strlen("RDMAPIN_ALLOW_QUIRKS="), QUIRK, strlen(QUIRK));
	expect(RDMAPIN_QUIRK_RXE_ODP_OFFSET, "putenv's string edited back");

	check(on_new_thread() == RDMAPIN_QUIRK_RXE_ODP_OFFSET, "another thread reads it too");
	unsetenv("RDMAPIN_ALLOW_QUIRKS");
	check(on_new_thread() == 0, "another thread sees it unset");
	expect(0, "this thread sees it unset");

	/* A whole new array, maybe at the old one's address, and shorter. */
	setenv("RDMAPIN_ALLOW_QUIRKS", QUIRK, 1);
	expect(RDMAPIN_QUIRK_RXE_ODP_OFFSET, "set before clearenv");
	clearenv();
	expect(0, "clearenv");
	setenv("RDMAPIN_ALLOW_QUIRKS", "," QUIRK ",", 1);
	expect(RDMAPIN_QUIRK_RXE_ODP_OFFSET, "set alone after clearenv, with empty names");

	/* Too long to keep a copy of: read every time. */
	snprintf(longer, sizeof(longer), "%0*d" QUIRK, 150, 0);
	memset(longer, ',', 150);
	setenv("RDMAPIN_ALLOW_QUIRKS", longer, 1);
	expect(RDMAPIN_QUIRK_RXE_ODP_OFFSET, "a value longer than the kept copy");
	longer[0] = 'x';
	setenv("RDMAPIN_ALLOW_QUIRKS", longer, 1);
	expect(-1, "a long value changed");
	return check_done();
}
