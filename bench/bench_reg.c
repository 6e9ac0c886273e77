// SPDX-License-Identifier: MIT
/*
 * Registration cost of librdmapin against plain verbs, measured side by side
 * in one run (interleaved, so machine noise hits both alike), and the time a
 * truncating process waits for a registered file: break -> revoke -> release.
 * Run inside a test guest: tests/vm/run-vm -- build/bench/bench_reg [--short | --breaks N]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "bench.h"
#include "guest.h"
#include "lib.h"
#include "mr_table.h"
#include "registry.h"
#include "rdma_peer.h"

#define MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)
#define ROUNDS 200
#define BREAKS 20
#define MAX_BREAKS 200

static int rounds = ROUNDS, breaks = BREAKS;

/* Seconds for one register + deregister; -1 if it failed. */
static double time_verbs(struct ibv_pd *pd, void *addr, size_t len, int access)
{
	double t = now_s();
	struct ibv_mr *mr = ibv_reg_mr(pd, addr, len, access);

	if (!mr)
		return -1;
	ibv_dereg_mr(mr);
	return now_s() - t;
}

static double time_rdmapin(struct ibv_pd *pd, void *addr, size_t len, int access)
{
	double t = now_s();
	struct ibv_mr *mr = rdmapin_reg_mr(pd, addr, len, access);

	if (!mr)
		return -1;
	rdmapin_dereg_mr(mr);
	return now_s() - t;
}

static void compare(struct ibv_pd *pd, const char *what, void *addr, size_t len, int verbs_access)
{
	double v[ROUNDS], r[ROUNDS], mv, mr;
	int i;

	for (i = 0; i < rounds; i++) {
		v[i] = time_verbs(pd, addr, len, verbs_access);
		r[i] = time_rdmapin(pd, addr, len, MR_ACCESS);
		if (v[i] < 0 || r[i] < 0) {
			printf("%-34s failed: %s %s\n", what, strerror(errno), rdmapin_last_error());
			return;
		}
	}
	mv = bench_median(v, rounds);
	mr = bench_median(r, rounds);
	printf("%-34s %10.1f %10.1f %8.1f %7.2fx\n", what, mv * 1e6, mr * 1e6, (mr - mv) * 1e6,
	       mr / mv);
}

/*
 * What publishing a pin adds to a registration: the registry's add + del of
 * the pin of a real MR, against that MR's own reg + dereg, in the same run.
 */
static void bench_registry(struct ibv_pd *pd)
{
	struct rdmapin_registry_pin v = { .state = RDMAPIN_PIN_ACTIVE };
	double reg[ROUNDS], pub[ROUNDS], t;
	struct mapping m = unmapped;
	struct rdmapin_mr_attr a = { .comp_mask = 0 };
	struct ibv_mr *mr;
	uint32_t slot;
	int i;

	if (map_anon(&m))
		return;
	for (i = 0; i < rounds; i++)
		reg[i] = time_rdmapin(pd, m.addr, m.len, MR_ACCESS);
	mr = rdmapin_reg_mr(pd, m.addr, m.len, MR_ACCESS);
	if (!mr || rdmapin_query_mr(mr, &a))
		goto out;
	v.backing = a.backing;
	v.mode = a.mode;
	v.lkey = mr->lkey;
	v.rkey = mr->rkey;
	v.length = m.len;
	v.addr = (uintptr_t)m.addr;
	snprintf(v.device, sizeof(v.device), "%s", a.device);
	rdmapin_lock();
	for (i = 0; i < rounds; i++) {
		t = now_s();
		slot = rdmapin_registry_add(&v);
		rdmapin_registry_del(slot);
		pub[i] = now_s() - t;
	}
	rdmapin_unlock();
	printf("registry add+del per pin: %.2f us, %.4f of a 4 MiB reg+dereg (%.1f us)\n",
	       bench_median(pub, rounds) * 1e6,
	       bench_median(pub, rounds) / bench_median(reg, rounds),
	       bench_median(reg, rounds) * 1e6);
out:
	if (mr)
		rdmapin_dereg_mr(mr);
	unmap(&m);
}

static void bench_registration(struct ibv_pd *pd, bool odp)
{
	struct mapping m = unmapped;

	printf("reg+dereg, median of %d, us:       ibv_reg_mr  rdmapin   overhead  ratio\n",
	       rounds);
	if (!map_anon(&m))
		compare(pd, "anonymous 4 MiB (pin)", m.addr, m.len, MR_ACCESS);
	unmap(&m);
	if (!map_memfd(&m))
		compare(pd, "memfd 4 MiB (pin)", m.addr, m.len, MR_ACCESS);
	unmap(&m);
	if (!map_devdax_region(&m))
		compare(pd, "device-DAX 4 MiB (pin)", m.addr, m.len, MR_ACCESS);
	unmap(&m);
	if (odp && !map_fsdax_shared(&m))
		compare(pd, "fsdax 4 MiB (ODP + lease)", m.addr, m.len,
			MR_ACCESS | IBV_ACCESS_ON_DEMAND);
	unmap(&m);
	if (!map_pagecache_shared(&m))
		compare(pd, odp ? "page-cache 4 MiB (ODP + lease)" : "page-cache 4 MiB (pin + lease)",
			m.addr, m.len, MR_ACCESS | (odp ? IBV_ACCESS_ON_DEMAND : 0));
	unmap(&m);
}

enum holder { NOBODY, LIBRARY, THIS_THREAD };

#define PLAIN_LEASE_SIGNAL (SIGRTMIN + 1)

static sigset_t plain_lease_set(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, PLAIN_LEASE_SIGNAL);
	return set;
}

/* The kernel's part alone: a lease this thread holds, released as soon as it breaks. */
static int plain_lease(int fd)
{
	struct f_owner_ex owner = { .type = F_OWNER_TID, .pid = gettid() };
	sigset_t set = plain_lease_set();

	if (sigprocmask(SIG_BLOCK, &set, NULL) || fcntl(fd, F_SETSIG, PLAIN_LEASE_SIGNAL) ||
	    fcntl(fd, F_SETOWN_EX, &owner))
		return -1;
	return fcntl(fd, F_SETLEASE, F_WRLCK);
}

static void plain_release(int fd)
{
	sigset_t set = plain_lease_set();

	sigwaitinfo(&set, NULL);
	fcntl(fd, F_SETLEASE, F_UNLCK);
}

/*
 * A child truncates the file; how long did it wait? Held by the LIBRARY (the
 * file registered), the wait is the break: the library revokes and releases.
 * Held by NOBODY, it is the floor: the same truncate of the same kind of
 * file, mapped and written alike, with no MR and no lease. Held by
 * THIS_THREAD, it is a lease and no MR: what any lease costs. The child
 * starts once fork() returned in the parent: on one CPU it would otherwise
 * run first, while the parent's fork handler still holds the library's locks
 * (fork.c), and the break would wait for the fork.
 */
static double one_truncate(struct ibv_pd *pd, int (*map)(struct mapping *), enum holder h)
{
	struct rdmapin_async_event ev;
	struct mapping m = unmapped;
	struct ibv_mr *mr = NULL;
	double took = -1, t;
	int pfd[2], go[2];
	pid_t pid;
	char c = 0;

	if (map(&m) || pipe(pfd)) {
		unmap(&m);
		return -1;
	}
	if (pipe(go)) {
		close(pfd[0]);
		close(pfd[1]);
		unmap(&m);
		return -1;
	}
	memset(m.addr, 0x5a, m.len);
	if (h == LIBRARY && !(mr = rdmapin_reg_mr(pd, m.addr, m.len, MR_ACCESS)))
		goto out;
	if (h == THIS_THREAD && plain_lease(m.fd))
		goto out;
	pid = fork();
	if (pid == 0) {
		if (read(go[0], &c, 1) != 1)
			_exit(1);
		t = now_s();
		truncate(m.path, 0);
		t = now_s() - t;
		_exit(write(pfd[1], &t, sizeof(t)) != sizeof(t));
	}
	if (write(go[1], &c, 1) != 1)
		kill(pid, SIGKILL);
	if (mr && !rdmapin_get_async_event(pd->context, &ev))
		rdmapin_ack_async_event(&ev);
	if (h == THIS_THREAD)
		plain_release(m.fd);
	if (read(pfd[0], &took, sizeof(took)) != sizeof(took))
		took = -1;
	child_errno(pid);
	if (mr)
		rdmapin_dereg_mr(mr);
out:
	close(pfd[0]);
	close(pfd[1]);
	close(go[0]);
	close(go[1]);
	unmap(&m);
	return took;
}

/* Interleaved with the floor, so that noise hits all alike. */
static void bench_breaks(struct ibv_pd *pd, int (*map)(struct mapping *), const char *what)
{
	double v[MAX_BREAKS], f[MAX_BREAKS], k[MAX_BREAKS], lib[MAX_BREAKS], over, lease_over;
	int i;

	for (i = 0; i < breaks; i++)
		if ((v[i] = one_truncate(pd, map, LIBRARY)) < 0 ||
		    (f[i] = one_truncate(pd, map, NOBODY)) < 0 ||
		    (k[i] = one_truncate(pd, map, THIS_THREAD)) < 0) {
			printf("break -> truncate unblocked (%s): failed: %s; %s\n", what,
			       strerror(errno), rdmapin_last_error());
			return;
		}
	/* Paired before the sort: rounds that ran side by side share their noise. */
	for (i = 0; i < breaks; i++)
		lib[i] = v[i] - k[i];
	bench_median(lib, breaks);
	bench_median(v, breaks);
	bench_median(f, breaks);
	bench_median(k, breaks);
	over = v[breaks / 2] - f[breaks / 2];
	lease_over = k[breaks / 2] - f[breaks / 2];
	printf("break -> truncate unblocked (%s), %d runs: median %.2f ms, max %.2f ms "
	       "(%.5f of lease-break-time 45 s)\n", what, breaks, v[breaks / 2] * 1e3,
	       v[breaks - 1] * 1e3, v[breaks / 2] / 45);
	printf("floor: the same truncate, no MR, no lease: median %.2f ms, max %.2f ms\n",
	       f[breaks / 2] * 1e3, f[breaks - 1] * 1e3);
	printf("break over floor: %.2f ms (goal <= 0.50 ms: %s)\n", over * 1e3,
	       over <= 0.5e-3 ? "met" : "missed");
	printf("for reference, a lease and no MR, released from sigwaitinfo by the thread that "
	       "holds it: median %.2f ms, %.2f ms over floor%s\n", k[breaks / 2] * 1e3,
	       lease_over * 1e3, lease_over > 0.5e-3 ? " (over the goal by itself)" : "");
	printf("the library's part: break over that lease, median of the rounds' differences: "
	       "%.2f ms\n", lib[breaks / 2] * 1e3);
}

/*
 * --breaks N: only the break rows, over N truncates each, to compare two
 * builds of the library run one after the other in one guest.
 */
static bool breaks_only(int *argc, char **argv)
{
	if (*argc != 3 || strcmp(argv[1], "--breaks"))
		return false;
	breaks = atoi(argv[2]);
	if (breaks < 1 || breaks > MAX_BREAKS) {
		fprintf(stderr, "%s: --breaks takes 1 to %d\n", argv[0], MAX_BREAKS);
		exit(2);
	}
	*argc = 1;
	return true;
}

int main(int argc, char **argv)
{
	struct rdma_peer p;
	bool only_breaks = breaks_only(&argc, argv), odp;

	if (bench_short(argc, argv)) {
		rounds = 20;
		breaks = 5;
	}
	bench_accept_quirks();
	if (read_env() || rdma_peer_open(&p, env.rxe0, env.gid_index))
		return 1;
	odp = env.kernel == KERNEL_7;
	printf("# Linux %s, %s, fsdax on %s\n", env.kernel == KERNEL_7 ? "7.x" : "6.1", env.rxe0,
	       env.fsdax_fs);
	if (!only_breaks) {
		bench_registration(p.pd, odp);
		bench_registry(p.pd);
	}
	bench_breaks(p.pd, odp ? map_fsdax_shared : map_pagecache_shared,
		     odp ? "fsdax, ODP" : "page-cache, pinned");
	rdma_peer_close(&p);
	return 0;
}
