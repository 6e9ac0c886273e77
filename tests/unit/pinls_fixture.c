// SPDX-License-Identifier: MIT
/*
 * pinls_fixture CMD: publishes pins whose paths carry what an output
 * format must escape (spaces, backslashes, quotes, non-ASCII, control
 * bytes) in a registry of its own, then runs sh -c CMD with
 * RDMAPIN_RUNTIME_DIR naming it and FIXTURE_PID its pid, and exits with
 * CMD's status. test_pinls_output compares what pinls prints of them.
 */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "array.h"
#include "fake_pin.h"
#include "lib.h"
#include "registry.h"

static const char *const paths[] = {
	"/mnt/pmem0/plain",
	"/mnt/pmem0/with space",
	"/mnt/pmem0/back\\slash",
	"/mnt/pmem0/\"quoted\" 'too'",
	"/mnt/pmem0/caf\xc3\xa9-\xe2\x82\xac",
	"/mnt/pmem0/ctl\t\n\r\x01\x1b[31m\x7f",
	"/mnt/pmem0/latin1-\xe9\xff",
	"/mnt/pmem0/json/\b\f<>&",
	"/mnt/pmem0/gone (deleted)",
};

/* Pins that differ in every field a column prints. */
static void pin(struct rdmapin_registry_pin *v, unsigned int i)
{
	fake_pin_init(v, paths[i % ARRAY_SIZE(paths)], (4096ULL << i) + i * 512, 0x100 + i);
	v->rkey = 0xabc000 + i;
	v->offset = i * 1536ULL << (i % 4 * 10);
	v->addr = 0x7f0000000000ULL + i * 0x200000;
	v->dev = makedev(259, i % 3);
	v->backing = i % 7;
	v->mode = i % 2;
	v->lease = i % 3;
	v->guard = i % 4;
	v->state = i % 7 == 3 ? RDMAPIN_PIN_REVOKED : RDMAPIN_PIN_ACTIVE;
	v->quirks = i % 2 ? RDMAPIN_QUIRK_RXE_ODP_OFFSET : 0;
	v->registered_ns = i == 5 ? -1 : 1795000000000000000LL + i * 86400000000000LL;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/pinls_fixture-XXXXXX", pid[16];
	struct rdmapin_registry_pin v;
	int status = -1;
	unsigned int i;
	pid_t child;

	if (argc != 2 || !mkdtemp(dir)) {
		fprintf(stderr, "usage: %s CMD\n", argv[0]);
		return 2;
	}
	setenv("RDMAPIN_RUNTIME_DIR", dir, 1);
	snprintf(pid, sizeof(pid), "%d", getpid());
	setenv("FIXTURE_PID", pid, 1);
	rdmapin_registry_open();
	rdmapin_lock();
	for (i = 0; i < 2 * ARRAY_SIZE(paths); i++) {
		pin(&v, i);
		if (!rdmapin_registry_add(&v))
			fprintf(stderr, "pin %u not published\n", i);
	}
	rdmapin_unlock();
	child = fork();
	if (child == 0) {
		execl("/bin/sh", "sh", "-c", argv[1], (char *)NULL);
		_exit(127);
	}
	waitpid(child, &status, 0);
	rdmapin_registry_forget();
	nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
