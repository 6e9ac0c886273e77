// SPDX-License-Identifier: MIT
/*
 * Bad input through librdmapin-preload.so fails exactly as libibverbs fails
 * it: the same return and errno, or the same fatal signal. Run under
 * rdmapin-run (without --audit): the program's ibv_reg_mr() and
 * ibv_dereg_mr() bind to the preload, and dlvsym() on a handle of
 * libibverbs reaches libibverbs' own. Each call runs in a child of its own,
 * which opens its own device, since some bad input crashes libibverbs.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "guest.h"

#define ACCESS_RW (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)
#define PAGE 4096UL

static struct ibv_mr *(*verbs_reg_mr)(struct ibv_pd *, void *, size_t, int);
static struct ibv_mr *(*verbs_reg_mr_iova2)(struct ibv_pd *, void *, size_t, uint64_t,
					    unsigned int);
static int (*verbs_dereg_mr)(struct ibv_mr *);

enum path { VERBS, PRELOAD_1_1, PRELOAD_IOVA2 };
static const char *const path_name[] = { "libibverbs", "ibv_reg_mr@1.1", "ibv_reg_mr_iova2" };

struct call {
	const char *what;
	bool null_pd;
	void *addr;
	size_t length;
	int access;
	bool dereg_foreign;	/* register with libibverbs, deregister through @path */
	bool unmapped;		/* addr: a range just unmapped */
};

/* After the device's own mappings, which could otherwise land in it. */
static void *hole(size_t length)
{
	void *p = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	munmap(p, length);
	return p;
}

/* Whether the call returned what it should, and errno, as the child's exit status. */
static int call(const struct call *c, enum path path, struct ibv_pd *pd)
{
	struct ibv_pd *p = c->null_pd ? NULL : pd;
	int access = c->access;		/* not a constant: the macro takes ibv_reg_mr_iova2 */
	void *addr = c->unmapped ? hole(c->length) : c->addr;
	struct ibv_mr *mr;

	errno = 0;
	if (c->dereg_foreign) {
		mr = verbs_reg_mr(pd, c->addr, c->length, access);
		if (!mr)
			return 255;
		return path == VERBS ? verbs_dereg_mr(mr) : ibv_dereg_mr(mr);
	}
	if (path == VERBS)
		mr = verbs_reg_mr(p, addr, c->length, access);
	else if (path == PRELOAD_1_1)
		mr = (ibv_reg_mr)(p, addr, c->length, access);
	else
		mr = ibv_reg_mr(p, addr, c->length, access);
	if (mr) {
		verbs_dereg_mr(mr);
		return 0;
	}
	return errno ?: 254;
}

/* "exit N" or "signal N": how a child making the call ended. */
static void outcome(const struct call *c, enum path path, char *buf, size_t len)
{
	struct ibv_pd *pd;
	pid_t pid = fork();
	int status;

	if (!pid) {
		pd = open_pd(env.rxe0);
		_exit(pd ? call(c, path, pd) : 253);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		snprintf(buf, len, "no child: %s", strerror(errno));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal %s", sigabbrev_np(WTERMSIG(status)) ?: "?");
	else if (WEXITSTATUS(status) && WEXITSTATUS(status) < 250)
		snprintf(buf, len, "NULL/%s", strerrorname_np(WEXITSTATUS(status)) ?: "?");
	else
		snprintf(buf, len, "status %d", WEXITSTATUS(status));
}

static void compare(const struct call *c)
{
	char want[64], got[64];
	enum path p;

	outcome(c, VERBS, want, sizeof(want));
	for (p = PRELOAD_1_1; p <= (c->dereg_foreign ? PRELOAD_1_1 : PRELOAD_IOVA2); p++) {
		outcome(c, p, got, sizeof(got));
		check(!strcmp(want, got), "%s through %s: %s, as libibverbs (%s)", c->what,
		      c->dereg_foreign ? "ibv_dereg_mr" : path_name[p], got, want);
	}
}

static int find_verbs(void)
{
	void *h = dlopen("libibverbs.so.1", RTLD_NOW | RTLD_NOLOAD);

	if (!h)
		return -1;
	verbs_reg_mr = dlvsym(h, "ibv_reg_mr", "IBVERBS_1.1");
	verbs_reg_mr_iova2 = dlvsym(h, "ibv_reg_mr_iova2", "IBVERBS_1.8");
	verbs_dereg_mr = dlvsym(h, "ibv_dereg_mr", "IBVERBS_1.1");
	/* Under the preload, the global scope finds another definition first. */
	return verbs_reg_mr && verbs_dereg_mr &&
	       dlvsym(RTLD_DEFAULT, "ibv_reg_mr_iova2", "IBVERBS_1.8") != verbs_reg_mr_iova2 ? 0 : -1;
}

static void compare_all(void *anon, void *file)
{
	const struct call calls[] = {
		{ .what = "NULL pd", .null_pd = true, .addr = anon, .length = PAGE,
		  .access = ACCESS_RW },
		{ .what = "NULL pd over a file", .null_pd = true, .addr = file, .length = PAGE,
		  .access = ACCESS_RW },
		{ .what = "zero length", .addr = anon, .access = ACCESS_RW },
		{ .what = "zero length of a file", .addr = file, .access = ACCESS_RW },
		{ .what = "unmapped range", .unmapped = true, .length = 2 * PAGE,
		  .access = ACCESS_RW },
		{ .what = "a file, remote write without local write", .addr = file,
		  .length = PAGE, .access = IBV_ACCESS_REMOTE_WRITE },
		{ .what = "a foreign MR (libibverbs')", .addr = anon, .length = PAGE,
		  .access = ACCESS_RW, .dereg_foreign = true },
	};
	size_t i;

	for (i = 0; i < sizeof(calls) / sizeof(*calls); i++)
		compare(&calls[i]);
}

int main(void)
{
	struct mapping anon = unmapped, file = unmapped;

	if (read_env() || !check(!find_verbs(), "running under librdmapin-preload.so") ||
	    !check(!map_anon(&anon) && !map_pagecache_shared(&file), "set up: %s%s", anon.err,
		   file.err))
		return check_done();
	compare_all(anon.addr, file.addr);
	unmap(&file);
	unmap(&anon);
	return check_done();
}
