// SPDX-License-Identifier: MIT
/*
 * The pin registry at scale, natively (no RDMA needed): PROCS processes each
 * publish PINS pins, then, side by side in one run, what reading them all
 * costs (rdmapin_registry_scan() alone, and pinls end to end), and what one
 * writer operation costs next to steps every registration takes anyway.
 * The pins are slot values, as in tests/unit/test_registry.c (the writer
 * takes nothing else), over mappings of one sparse file, as a registration's
 * range is: pinls reads each process's maps as far as them.
 *
 *	bench_pinls [--short] [-M] [-p PROCS] [-n PINS] [-x PINLS]...
 *	(default 1000 x 100; --short: 100 x 10, and fewer rounds; -M: each pin
 *	in a mapping of its own, not a process's all in one; -x again: pinls
 *	binaries timed in turn, e.g. one before a change and one after)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/netlink.h>

#include "backing.h"
#include "bench.h"
#include "fake_pin.h"
#include "guest.h"
#include "lib.h"
#include "mr_table.h"
#include "registry.h"
#include "registry_read.h"

#define SCAN_ROUNDS 5
#define OP_ROUNDS 100		/* interleaved, so noise hits every operation alike */
#define OP_BATCH 1000		/* OP_ROUNDS * OP_BATCH writer operations of each kind */
#define SLOW_OP_BATCH 100	/* classify and mmap take microseconds, not nanoseconds */
#define GOAL_MS 150.0		/* issue 13: pinls over GOAL_PINS pins, natively */
#define GOAL_PINS 100000.0
#define MAX_PINLS 4

static int op_rounds = OP_ROUNDS;

/* A 4 MiB fsdax pin with a path of realistic length: pinls prints it. */
static void pin_init(struct rdmapin_registry_pin *v, uint32_t lkey)
{
	char path[64];

	snprintf(path, sizeof(path), "/mnt/pmem0/bench_pinls/region-%08u", lkey);
	fake_pin_init(v, path, REGION_SIZE, lkey);
}

/* The file whose mappings the publishers pin: its path, as /proc/PID/maps names it. */
static char pinned_path[PATH_MAX];
/* Each pin in a mapping of its own (-M), not all in one. */
static bool mapping_per_pin;
static int pins_per_proc;

/*
 * A publisher's pins: consecutive regions of the pinned file, in one mapping
 * (an application maps a pool once and registers parts of it), or with -M
 * in one each; pinls reads each process's maps as far as its last pin, to
 * tell unlinked files.
 */
static bool map_pins(struct rdmapin_registry_pin *v, int fd, int npins)
{
	size_t len = mapping_per_pin ? REGION_SIZE : (size_t)npins * REGION_SIZE;
	struct stat st;
	char *addr = MAP_FAILED;
	int i;

	if (fstat(fd, &st))
		return false;
	for (i = 0; i < npins; i++) {
		if (i == 0 || mapping_per_pin)
			addr = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)i * REGION_SIZE);
		if (addr == MAP_FAILED)
			return false;
		fake_pin_init(&v[i], pinned_path, REGION_SIZE, i + 1);
		v[i].dev = st.st_dev;
		v[i].ino = st.st_ino;
		v[i].offset = (uint64_t)i * REGION_SIZE;
		v[i].addr = (uintptr_t)addr + (mapping_per_pin ? 0 : v[i].offset);
	}
	return true;
}

/* Publishes npins pins, says on ready whether all made it, and waits to be killed. */
static void __attribute__((noreturn)) publisher(int ready, pid_t parent, int npins)
{
	struct rdmapin_registry_pin *v = calloc(npins, sizeof(*v));
	char ok;
	int i, fd;

	/* Should the parent die, nobody else would kill us. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(1);
	fd = open(pinned_path, O_RDONLY | O_CLOEXEC);
	ok = v && fd >= 0 && map_pins(v, fd, npins);
	rdmapin_registry_open();
	rdmapin_lock();
	for (i = 0; i < npins && ok; i++)
		ok = rdmapin_registry_add(&v[i]) != 0;
	rdmapin_unlock();
	if (write(ready, &ok, 1) != 1)
		_exit(1);
	/* Our end closed, the parent sees EOF once all are in or one died. */
	close(ready);
	for (;;)
		pause();
}

struct fleet {
	pid_t *pids;
	int n;
};

/* Forks the publishers and waits until each has published; -1 if one failed. */
static int fleet_start(struct fleet *fl, int nprocs, int npins)
{
	pid_t parent = getpid(), pid;
	int pfd[2], ok = 0;
	char c;

	if (pipe2(pfd, O_CLOEXEC))
		return -1;
	for (fl->n = 0; fl->n < nprocs; fl->n++) {
		pid = fork();
		if (pid < 0) {
			perror("bench_pinls: fork");
			break;
		}
		if (pid == 0) {
			close(pfd[0]);
			publisher(pfd[1], parent, npins);
		}
		fl->pids[fl->n] = pid;
	}
	close(pfd[1]);
	while (read(pfd[0], &c, 1) == 1)
		ok += c;
	close(pfd[0]);
	return fl->n == nprocs && ok == nprocs ? 0 : -1;
}

static void fleet_stop(struct fleet *fl)
{
	int i;

	for (i = 0; i < fl->n; i++)
		kill(fl->pids[i], SIGKILL);
	for (i = 0; i < fl->n; i++)
		waitpid(fl->pids[i], NULL, 0);
	fl->n = 0;
}

static int count_pin(const struct rdmapin_pin_record *rec, void *ctx)
{
	(*(long *)ctx)++;
	return 0;
}

static void print_warning(const char *msg, void *ctx)
{
	fprintf(stderr, "bench_pinls: %s\n", msg);
}

/* Seconds for one scan of the whole registry, listing *pins; -1 if it failed. */
static double time_scan(const char *dir, long *pins)
{
	double t = now_s();

	*pins = 0;
	if (rdmapin_registry_scan(dir, count_pin, print_warning, pins))
		return -1;
	return now_s() - t;
}

/* Seconds for one pinls run, its table sent to /dev/null; -1 if it failed. */
static double time_pinls(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	double t = -1, start;
	int status;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	start = now_s();
	errno = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	if (!errno && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status))
		t = now_s() - start;
	posix_spawn_file_actions_destroy(&fa);
	return t;
}

/* Whether pinls's CHECK column can ask the kernel anything here (see kcheck.c). */
static bool rdma_netlink(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_RDMA);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void print_read(const char *what, double s, long pins, double base)
{
	printf("%-36s %9.1f %8.2f %10.0f %7.2fx\n", what, s * 1e3, s * 1e6 / pins, pins / s,
	       s / base);
}

/* The outputs of pinls timed: raw first, which the goal is about. */
#define NR_RUNS 4
static const char *const run_args[NR_RUNS][4] = {
	{ "-r", "-n" },
	{ "-r", "-n", "-o", "+CHECK" },
	{ "-n" },
	{ "-J" },
};

struct pinls_bins {
	const char *path[MAX_PINLS];
	int n;
};

/* "pinls -r -n >/dev/null", "[2] pinls ..." when several binaries are timed. */
static void run_title(char *title, size_t size, const struct pinls_bins *bins, int b, int r)
{
	int a, len = 0;

	if (bins->n > 1)
		len = snprintf(title, size, "[%d] ", b + 1);
	len += snprintf(title + len, size - len, "pinls");
	for (a = 0; a < 4 && run_args[r][a]; a++)
		len += snprintf(title + len, size - len, " %s", run_args[r][a]);
	snprintf(title + len, size - len, " >/dev/null");
}

/* Every run of every binary once a round, in turn, so that noise hits all alike. */
static int time_rounds(const char *dir, const struct pinls_bins *bins, long want,
		       double s[SCAN_ROUNDS], double t[MAX_PINLS][NR_RUNS][SCAN_ROUNDS])
{
	char *argv[6];
	long pins;
	int i, r, a, b;

	for (i = 0; i < SCAN_ROUNDS; i++) {
		s[i] = time_scan(dir, &pins);
		if (s[i] < 0 || pins != want) {
			printf("rdmapin_registry_scan() failed: listed %ld of %ld pins\n", pins,
			       want);
			return -1;
		}
		for (r = 0; r < NR_RUNS; r++)
			for (b = 0; b < bins->n; b++) {
				argv[0] = (char *)bins->path[b];
				for (a = 0; a < 4; a++)
					argv[a + 1] = (char *)run_args[r][a];
				argv[5] = NULL;
				if ((t[b][r][i] = time_pinls(argv)) < 0) {
					printf("%s failed: %s\n", argv[0],
					       errno ? strerror(errno) : "exit status");
					return -1;
				}
			}
	}
	return 0;
}

static int bench_read(const char *dir, const struct pinls_bins *bins, long want)
{
	double s[SCAN_ROUNDS], t[MAX_PINLS][NR_RUNS][SCAN_ROUNDS], ms, raw;
	char title[64];
	int r, b;

	if (time_rounds(dir, bins, want, s, t))
		return -1;
	snprintf(title, sizeof(title), "reading %ld pins, median of %d", want, SCAN_ROUNDS);
	printf("%-36s %9s %8s %10s %8s\n", title, "ms", "us/pin", "pins/s", "vs scan");
	ms = bench_median(s, SCAN_ROUNDS);
	print_read("rdmapin_registry_scan()", ms, want, ms);
	for (r = 0; r < NR_RUNS; r++)
		for (b = 0; b < bins->n; b++) {
			run_title(title, sizeof(title), bins, b, r);
			print_read(title, bench_median(t[b][r], SCAN_ROUNDS), want, ms);
		}
	/* Issue 13's goal, scaled to the pins listed here. */
	for (b = 0; b < bins->n; b++) {
		raw = bench_median(t[b][0], SCAN_ROUNDS);
		if (bins->n > 1)
			printf("# [%d] is %s\n", b + 1, bins->path[b]);
		printf("# goal: pinls -r -n <= %.0f ms for %.0f pins in 1000 processes "
		       "(%.2f us/pin); measured %.2fx of it%s\n", GOAL_MS, GOAL_PINS,
		       GOAL_MS * 1e3 / GOAL_PINS, raw * 1e3 / (GOAL_MS * want / GOAL_PINS),
		       pins_per_proc < 100 ? " (fewer pins a process than the goal's 100: "
					     "what pinls pays per process weighs more)" : "");
	}
	/* Only the CHECK column runs the cross-check; without RDMA netlink it asks nothing. */
	printf("# CHECK: kernel cross-check %s\n",
	       rdma_netlink() ? "ran (RDMA netlink present)" : "skipped (no RDMA netlink here)");
	return 0;
}

struct op {
	const char *name;
	int (*fn)(void *arg);
	void *arg;
	int batch;
	bool writer;	/* the library calls the writer under its lock */
	double ns[OP_ROUNDS];
};

static int add_del(void *arg)
{
	uint32_t slot = rdmapin_registry_add(arg);

	if (!slot)
		return -1;
	rdmapin_registry_del(slot);
	return 0;
}

struct published {
	uint32_t slot;
	struct rdmapin_registry_pin v;
};

static int update(void *arg)
{
	const struct published *p = arg;

	rdmapin_registry_update(p->slot, &p->v);
	return 0;
}

/* Not a writer op: classification may take the library's lock itself (its maps fd). */
static int classify(void *arg)
{
	static struct rdmapin_backing_info info;	/* PATH_MAX inside: not on the stack */
	const struct mapping *m = arg;

	return rdmapin_backing_classify(m->addr, m->len, -1, &info);
}

static int map_unmap(void *arg)
{
	struct mapping m = unmapped;
	int ret = map_anon(&m);

	unmap(&m);
	return ret;
}

/*
 * Nanoseconds per call of op over one batch; -1 if a call failed. A writer's
 * batch runs under the library's lock, taken once, so that the lock's own
 * cost is not counted; classify takes the lock itself (its maps fd).
 */
static double time_batch(const struct op *op)
{
	int i, ret = 0;
	double t;

	if (op->writer)
		rdmapin_lock();
	t = now_s();
	for (i = 0; i < op->batch; i++)
		ret |= op->fn(op->arg);
	t = now_s() - t;
	if (op->writer)
		rdmapin_unlock();
	return ret ? -1 : t * 1e9 / op->batch;
}

static int bench_write(void)
{
	struct rdmapin_registry_pin added;
	struct published u;
	struct mapping m = unmapped;
	enum { ADD_DEL, UPDATE, CLASSIFY, MAP_UNMAP, NR_OPS };
	struct op ops[NR_OPS] = {
		[ADD_DEL] = { "rdmapin_registry_add + _del", add_del, &added, OP_BATCH, true },
		[UPDATE] = { "rdmapin_registry_update", update, &u, OP_BATCH, true },
		[CLASSIFY] = { "rdmapin_backing_classify(4 MiB anon)", classify, &m,
			       SLOW_OP_BATCH },
		[MAP_UNMAP] = { "mmap + munmap 4 MiB anon (untouched)", map_unmap, NULL,
				SLOW_OP_BATCH },
	};
	double med[NR_OPS];
	char title[64];
	int r, i, ret = -1;

	pin_init(&added, 1);
	pin_init(&u.v, 2);
	rdmapin_registry_open();
	rdmapin_lock();
	u.slot = rdmapin_registry_add(&u.v);
	rdmapin_unlock();
	if (!u.slot || map_anon(&m)) {
		printf("registry writer: cannot set up: %s\n", strerror(errno));
		goto out;
	}
	for (r = 0; r < op_rounds; r++)
		for (i = 0; i < NR_OPS; i++)
			if ((ops[i].ns[r] = time_batch(&ops[i])) < 0) {
				printf("%s failed: %s %s\n", ops[i].name, strerror(errno),
				       rdmapin_last_error());
				goto out;
			}
	snprintf(title, sizeof(title), "registry writer, median of %d rounds", op_rounds);
	printf("%-40s %10s %11s\n", title, "ns/op", "vs classify");
	for (i = 0; i < NR_OPS; i++)
		med[i] = bench_median(ops[i].ns, op_rounds);
	for (i = 0; i < NR_OPS; i++)
		printf("%-40s %10.1f %10.4fx\n", ops[i].name, med[i], med[i] / med[CLASSIFY]);
	printf("# %d add+del and %d updates; for scale, a whole registration costs ~130-600 us\n"
	       "# under emulation (bench_reg in a test guest; another run, so no ratio to it)\n",
	       op_rounds * OP_BATCH, op_rounds * OP_BATCH);
	ret = 0;
out:
	rdmapin_lock();
	rdmapin_registry_del(u.slot);
	rdmapin_unlock();
	unmap(&m);
	return ret;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) && errno != ENOENT ? -1 : 0;
}

/* A sparse file of npins regions in dir, beside the registry's uid-* directories. */
static int make_pinned(const char *dir, int npins)
{
	int fd;

	snprintf(pinned_path, sizeof(pinned_path), "%s/pinned", dir);
	fd = open(pinned_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, (off_t)npins * REGION_SIZE)) {
		perror("bench_pinls: the pinned file");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int positive(const char *arg)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	return errno || end == arg || *end || v <= 0 || v > INT_MAX ? -1 : (int)v;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/bench_pinls-XXXXXX";
	struct pinls_bins bins = { 0 };
	static const struct option longopts[] = { { "short", no_argument, NULL, 's' }, { 0 } };
	int nprocs = 0, npins = 0, c, ret = 1;
	bool short_run = false;
	struct fleet fl = { 0 };
	double t;
	long pins;

	while ((c = getopt_long(argc, argv, "p:n:x:M", longopts, NULL)) != -1) {
		if (c == 's' || c == 'M') {
			*(c == 's' ? &short_run : &mapping_per_pin) = true;
			continue;
		}
		if (c == 'p' && (nprocs = positive(optarg)) > 0)
			continue;
		if (c == 'n' && (npins = positive(optarg)) > 0)
			continue;
		if (c == 'x' && bins.n < MAX_PINLS) {
			bins.path[bins.n++] = optarg;
			continue;
		}
		fprintf(stderr, "usage: %s [--short] [-M] [-p PROCS] [-n PINS] [-x PINLS]... "
			"(%d at most)\n", argv[0], MAX_PINLS);
		return 2;
	}
	if (!bins.n)
		bins.path[bins.n++] = PINLS_PATH;
	if (short_run)
		op_rounds = 10;
	if (!nprocs)
		nprocs = short_run ? 100 : 1000;
	if (!npins)
		npins = short_run ? 10 : 100;
	pins_per_proc = npins;
	fl.pids = calloc(nprocs, sizeof(*fl.pids));
	if (!fl.pids || !mkdtemp(dir)) {
		perror("bench_pinls");
		return 1;
	}
	setenv("RDMAPIN_RUNTIME_DIR", dir, 1);
	if (make_pinned(dir, npins))
		goto out;

	t = now_s();
	if (fleet_start(&fl, nprocs, npins)) {
		fprintf(stderr, "bench_pinls: %d of %d processes started, not all published\n",
			fl.n, nprocs);
		goto out;
	}
	t = now_s() - t;
	printf("# %d processes x %d pins = %ld pins in %s, published in %.2f s; each process's "
	       "in %s\n", nprocs, npins, (long)nprocs * npins, dir, t,
	       mapping_per_pin ? "a mapping each" : "one mapping");
	/* A first, untimed scan: later ones find the directory entries cached. */
	time_scan(dir, &pins);
	if (bench_read(dir, &bins, (long)nprocs * npins))
		goto out;
	fleet_stop(&fl);
	if (bench_write())
		goto out;
	ret = 0;
out:
	fleet_stop(&fl);
	/* Our record goes with the directory; forgotten, exit does not look for it. */
	rdmapin_registry_forget();
	if (nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS))
		fprintf(stderr, "bench_pinls: could not remove %s\n", dir);
	free(fl.pids);
	return ret;
}
