// SPDX-License-Identifier: MIT
/*
 * What the truncate guard costs, measured side by side in one run:
 *
 *  - a truncate, and a 4 KiB pread, pwrite, fallocate(0) or hole punch, of a
 *    file it does NOT guard, with the guard unloaded, loaded and loaded with
 *    thousands of other inodes in its map, in interleaved rounds: every
 *    truncate, read, write and fallocate on the host pays for the BPF LSM
 *    programs (file_permission runs for each read and write);
 *  - what a refused hole punch costs, next to one of an unguarded file;
 *  - adding and removing a guard entry, directly in the map and through
 *    rdmapin-guardd, and librdmapin's registrations guarded either way or
 *    leased, each against a plain ibv_reg_mr() + ibv_dereg_mr() of the same
 *    mapping: in one table while the daemon runs (the library pointed at no
 *    socket for the direct rows), and in another once it is stopped.
 *
 * The files are sparse: their truncates free no blocks, the cheapest there
 * are, so the truncate ratios are the worst case. So are the I/O ones: the
 * reads and writes hit the page cache (or fsdax), fallocate(0) finds the
 * blocks there, and each punch frees one block. Leaves the guest as found:
 * the daemon stopped, the guard unloaded. Run inside a test guest, as root:
 * tests/vm/run-vm -- build/bench/bench_guard [--short]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <rdmapin/rdmapin.h>
#include "bench.h"
#include "guard_map.h"
#include "guardd_ctl.h"
#include "guardd_proto.h"
#include "guest.h"

#define MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)
/* Rounds load and unload the guard: the BPF verifier's work. Each order 4 times. */
#define LOAD_ROUNDS 24
/* Truncates timed together: under emulation a clock read costs about as much as one. */
#define BATCH 500
/*
 * Seconds of untimed truncates after a change of state, and before each
 * timing: the kernel goes on working for a while after an unload, though
 * the programs are gone (with no settle the first timings after it ran up
 * to 40% slower, with 0.25 s up to 12%).
 */
#define SETTLE_S 1.0
#define WARMUP_S 0.02
/* Unrelated inodes in the map: a hash lookup should not notice them. */
#define FILL 4096
/* Inode numbers that no file in the guest has. */
#define FILL_INO (1ULL << 48)
#define REG_ROUNDS 200
#define ENTRY_ROUNDS 50
/* A tmpfs, as the daemon's own /run/rdmapin-guardd: the guests' /tmp is an overlay. */
#define GUARDD_DIR "/run/bench-guardd"
#define GUARDD_SOCKET GUARDD_DIR "/" RDMAPIN_GUARDD_SOCKET_NAME

/* --short: fewer and smaller of each (bench_short()). */
static int load_rounds = LOAD_ROUNDS, batch = BATCH, reg_rounds = REG_ROUNDS;
static int entry_rounds = ENTRY_ROUNDS, entries_div = 1;
static double settle_s = SETTLE_S;

#include "array.h"

/*
 * Polls @done(), sleeping @sleep_us between, or yielding when 0: 0 once it
 * holds, -1 after @timeout_s.
 */
static int wait_for(bool (*done)(void), double timeout_s, useconds_t sleep_us)
{
	double until = now_s() + timeout_s;

	while (!done()) {
		if (now_s() > until)
			return -1;
		if (sleep_us)
			usleep(sleep_us);
		else
			sched_yield();
	}
	return 0;
}

/* Whether one of the guard's programs is in the kernel: it goes with its last link. */
static bool guard_attached(void)
{
	struct bpf_prog_info info;
	__u32 id = 0, len;
	bool found = false;
	int fd;

	while (!found && !bpf_prog_get_next_id(id, &id)) {
		fd = bpf_prog_get_fd_by_id(id);
		if (fd < 0)
			continue;	/* freed since */
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		found = !bpf_obj_get_info_by_fd(fd, &info, &len) &&
			info.type == BPF_PROG_TYPE_LSM && !strncmp(info.name, "guard_", 6);
		close(fd);
	}
	return found;
}

static bool guard_detached(void)
{
	return !guard_attached();
}

/*
 * As rdmapin_guard(7) tells an administrator to, without a process to start
 * between two timings. The kernel detaches the programs a moment later, from
 * a worker, which the polling yields to.
 */
static int unload_guard(void)
{
	if (guard_unload()) {
		fprintf(stderr, "bench_guard: rm -r %s: %s\n", RDMAPIN_GUARD_DIR, strerror(errno));
		return -1;
	}
	if (wait_for(guard_detached, 10, 0)) {
		fprintf(stderr, "bench_guard: the guard's programs stay attached\n");
		return -1;
	}
	return 0;
}

/* rdmapin-guardd loads it, and says why not on stderr. */
static int load_guard(void)
{
	if (!guard_load())
		return 0;
	fprintf(stderr, "bench_guard: rdmapin-guardd could not load the guard\n");
	return -1;
}

/*
 * Guards FILL inodes that no file has, as other registrations on the host
 * would, or (@add false) removes them again.
 */
static int fill_map(dev_t dev, bool add)
{
	struct rdmapin_guard_value val = { .refs = 1 };
	struct rdmapin_guard_key key;
	int map = bpf_obj_get(RDMAPIN_GUARD_MAP), i, ret = 0;

	for (i = 0; map >= 0 && !ret && i < FILL; i++) {
		rdmapin_guard_key_init(&key, dev, FILL_INO + i);
		ret = add ? bpf_map_update_elem(map, &key, &val, BPF_ANY) :
			    bpf_map_delete_elem(map, &key);
	}
	if (map >= 0)
		close(map);
	return map < 0 ? -1 : ret;
}

enum guard_state { UNLOADED, LOADED, FILLED, NR_STATES };

/*
 * Each round visits the states in another order, so that what entering a
 * state leaves behind, and any drift within a round, falls on each alike.
 */
static const enum guard_state orders[][NR_STATES] = {
	{ UNLOADED, LOADED, FILLED }, { LOADED, FILLED, UNLOADED },
	{ FILLED, UNLOADED, LOADED }, { UNLOADED, FILLED, LOADED },
	{ FILLED, LOADED, UNLOADED }, { LOADED, UNLOADED, FILLED },
};

enum file_op { FTRUNCATE, TRUNCATE, OPEN_TRUNC, PREAD, PWRITE, FALLOCATE, PUNCH, NR_OPS };

static const char *const op_name[NR_OPS] = {
	[FTRUNCATE] = "ftruncate(2) shrink/grow",
	[TRUNCATE] = "truncate(2) shrink/grow",
	[OPEN_TRUNC] = "open(O_TRUNC)+close",
	[PREAD] = "pread(2) 4 KiB",
	[PWRITE] = "pwrite(2) 4 KiB",
	[FALLOCATE] = "fallocate(0) 4 KiB",
	[PUNCH] = "fallocate(PUNCH_HOLE) 4 KiB",
};

#define IO_SIZE 4096
#define PUNCH_MODE (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)

/* The I/O ops go through the file's 4 KiB blocks in turn. */
static int io_once(enum file_op op, const struct mapping *f, int i)
{
	static char buf[IO_SIZE];
	off_t at = (off_t)(i % (REGION_SIZE / IO_SIZE)) * IO_SIZE;

	switch (op) {
	case PREAD:
		return pread(f->fd, buf, IO_SIZE, at) == IO_SIZE ? 0 : -1;
	case PWRITE:
		return pwrite(f->fd, buf, IO_SIZE, at) == IO_SIZE ? 0 : -1;
	case FALLOCATE:
		return fallocate(f->fd, 0, at, IO_SIZE);
	default:
		return fallocate(f->fd, PUNCH_MODE, at, IO_SIZE);
	}
}

/*
 * Odd @i grow the file back, even ones shrink it to 0; open(O_TRUNC) only
 * shrinks. The I/O ops get a file of their own that keeps its size.
 */
static int op_once(enum file_op op, const struct mapping *f, int i)
{
	off_t len = i & 1 ? REGION_SIZE : 0;
	int fd;

	switch (op) {
	case FTRUNCATE:
		return ftruncate(f->fd, len);
	case TRUNCATE:
		return truncate(f->path, len);
	case OPEN_TRUNC:
		break;
	default:
		return io_once(op, f, i);
	}
	fd = open(f->path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	return fd < 0 ? -1 : close(fd);
}

/* µs per op: @n of them timed together. */
static double op_us(enum file_op op, const struct mapping *f, int n)
{
	double t = now_s();
	int i;

	for (i = 0; i < n; i++)
		if (op_once(op, f, i))
			return -1;
	return (now_s() - t) / n * 1e6;
}

enum { PAGECACHE, FSDAX, NR_FILES };

static const char *const file_name[NR_FILES] = { "page-cache", "fsdax" };

struct trunc_bench {
	struct mapping file[NR_FILES];
	struct mapping io[NR_FILES];	/* for the I/O ops: never truncated */
	enum guard_state now;
	double us[NR_FILES][NR_OPS][NR_STATES][LOAD_ROUNDS];
};

/*
 * From any state to any other: unloading empties the map, a load starts
 * with an empty one, and the FILL inodes go in on the way to FILLED, out on
 * the way from it to LOADED.
 */
static int enter_state(struct trunc_bench *b, enum guard_state to)
{
	enum guard_state from = b->now;
	struct stat st;
	int ret = 0;

	if (fstat(b->file[PAGECACHE].fd, &st))
		return -1;
	if (to == UNLOADED)
		ret = unload_guard();
	else if (from == UNLOADED)
		ret = load_guard();
	if (!ret && (to == FILLED || from == FILLED) && to != UNLOADED)
		ret = fill_map(st.st_dev, to == FILLED);
	if (!ret)
		b->now = to;
	return ret;
}

/* Untimed ops for @s seconds. */
static int warm_up(enum file_op op, const struct mapping *f, double s)
{
	double until = now_s() + s;
	int i;

	for (i = 0; now_s() < until; i++)
		if (op_once(op, f, i))
			return -1;
	return 0;
}

static const struct mapping *file_for(const struct trunc_bench *b, int f, enum file_op op)
{
	return op < PREAD ? &b->file[f] : &b->io[f];
}

static int truncate_state(struct trunc_bench *b, int r)
{
	const struct mapping *m;
	int f, op;

	if (warm_up(FTRUNCATE, &b->file[PAGECACHE], settle_s))
		return -1;
	for (f = 0; f < NR_FILES; f++)
		for (op = 0; op < NR_OPS; op++) {
			m = file_for(b, f, op);
			if (warm_up(op, m, WARMUP_S) ||
			    (b->us[f][op][b->now][r] = op_us(op, m, batch)) < 0)
				return -1;
		}
	return 0;
}

static int truncate_round(struct trunc_bench *b, int r)
{
	const enum guard_state *order = orders[r % ARRAY_SIZE(orders)];
	int i;

	for (i = 0; i < NR_STATES; i++)
		if (enter_state(b, order[i]) || truncate_state(b, r))
			return -1;
	return 0;
}

/* Median over the rounds of @s's time over @base's, each pair timed close together. */
static double ratio(double *s, double *base)
{
	double q[LOAD_ROUNDS];

	return bench_median_ratio(q, s, base, load_rounds);
}

static void truncate_report(struct trunc_bench *b)
{
	double q[NR_STATES], m[NR_STATES];
	int f, op, st;

	printf("ops on an unguarded 4 MiB file, us per op, median of %d rounds of %d\n"
	       "(ratio: the median of the rounds' ratios to no guard):\n"
	       "%-36s %9s %9s %6s %9s %6s\n", load_rounds, batch, "", "no guard", "guard",
	       "ratio", "+inodes", "ratio");
	for (f = 0; f < NR_FILES; f++)
		for (op = 0; op < NR_OPS; op++) {
			double (*us)[LOAD_ROUNDS] = b->us[f][op];

			for (st = 0; st < NR_STATES; st++)
				q[st] = ratio(us[st], us[UNLOADED]);
			/* Last: bench_median() sorts in place. */
			for (st = 0; st < NR_STATES; st++)
				m[st] = bench_median(us[st], load_rounds);
			printf("%-10s %-25s %9.2f %9.2f %5.2fx %9.2f %5.2fx\n", file_name[f],
			       op_name[op], m[UNLOADED], m[LOADED], q[LOADED], m[FILLED],
			       q[FILLED]);
		}
	printf("(+inodes: the guard loaded, with %d unrelated inodes in its map)\n", FILL);
}

/* Leaves the guard unloaded. */
static void bench_truncates(void)
{
	struct trunc_bench *b = calloc(1, sizeof(*b));
	int r = 0;

	if (!b)
		return;
	b->file[PAGECACHE] = b->file[FSDAX] = b->io[PAGECACHE] = b->io[FSDAX] = unmapped;
	/* Whatever was loaded goes first: the rounds start from a known state. */
	if (unload_guard())
		goto out;
	b->now = UNLOADED;
	if (create_file(&b->file[PAGECACHE], env.pagecache_dir) ||
	    create_file(&b->file[FSDAX], env.fsdax_dir) ||
	    create_file(&b->io[PAGECACHE], env.pagecache_dir) ||
	    create_file(&b->io[FSDAX], env.fsdax_dir)) {
		printf("truncates: cannot create the files: %s%s%s%s\n", b->file[PAGECACHE].err,
		       b->file[FSDAX].err, b->io[PAGECACHE].err, b->io[FSDAX].err);
		goto out;
	}
	for (r = 0; r < load_rounds; r++)
		if (truncate_round(b, r))
			break;
	if (r == load_rounds)
		truncate_report(b);
	else
		printf("truncates: round %d failed: %s\n", r, strerror(errno));
out:
	unload_guard();
	unmap(&b->file[PAGECACHE]);
	unmap(&b->file[FSDAX]);
	unmap(&b->io[PAGECACHE]);
	unmap(&b->io[FSDAX]);
	free(b);
}

/* µs per hole punch of @f: @n timed together; each must fail with @want (0: succeed). */
static double punch_us(const struct mapping *f, int n, int want)
{
	double t = now_s();
	int i;

	for (i = 0; i < n; i++)
		if (io_once(PUNCH, f, i) ? errno != want : want != 0)
			return -1;
	return (now_s() - t) / n * 1e6;
}

/*
 * A refused punch (ETXTBSY) of a guarded file, next to an allowed one of an
 * unguarded file, in alternating order, the guard loaded. Leaves it loaded.
 */
static void bench_refused_punch(void)
{
	struct mapping guarded = unmapped, other = unmapped;
	double us[2][LOAD_ROUNDS];
	struct rdmapin_guard_key key;
	int r, k;

	if (load_guard() || create_file(&guarded, env.pagecache_dir) ||
	    create_file(&other, env.pagecache_dir) ||
	    rdmapin_guard_key_of(guarded.fd, &key, "bench_guard") ||
	    rdmapin_guard_ref(&key, "bench_guard")) {
		printf("refused punch: cannot set up: %s%s%s\n", guarded.err, other.err,
		       rdmapin_last_error());
		goto out;
	}
	for (r = 0; r < load_rounds; r++)
		for (k = 0; k < 2; k++) {
			bool refused = (r + k) & 1;

			us[refused][r] = punch_us(refused ? &guarded : &other, batch,
						  refused ? ETXTBSY : 0);
			if (us[refused][r] < 0) {
				printf("refused punch: round %d: %s\n", r, strerror(errno));
				goto unref;
			}
		}
	printf("hole punch, 4 KiB, page-cache, the guard loaded, us per op (median of %d rounds "
	       "of %d):\n  of an unguarded file %.2f, refused (ETXTBSY) %.2f: %.2fx\n",
	       load_rounds, batch, bench_median(us[0], load_rounds),
	       bench_median(us[1], load_rounds), ratio(us[1], us[0]));
unref:
	rdmapin_guard_unref(&key, "bench_guard");
out:
	unmap(&guarded);
	unmap(&other);
}

/*
 * One request and its reply, as librdmapin sends them, the file's fd in
 * SCM_RIGHTS when @pass_fd >= 0: 0, or -1 with errno (the daemon's, if it
 * refused).
 */
static int guardd_call(int sock, const struct rdmapin_guardd_request *req, int pass_fd,
		       struct rdmapin_guardd_reply *reply)
{
	if (rdmapin_guardd_call(sock, req, pass_fd, reply))
		return -1;
	errno = reply->err;
	return reply->err ? -1 : 0;
}

static struct guardd_run guardd = { .pid = -1 };

/* In a fresh runtime directory: a saved state would hand back entries of a run before. */
static int start_guardd(void)
{
	guardd_init(&guardd, GUARDD_DIR, NULL);
	if (!system("rm -rf " GUARDD_DIR) && !guardd_start(&guardd, NULL))
		return 0;
	fprintf(stderr, "bench_guard: rdmapin-guardd did not listen on %s\n", guardd.socket);
	return -1;
}

/* SIGTERM keeps the map's entries and the state file: both are this run's. */
static void stop_guardd(void)
{
	if (guardd_stop(&guardd, SIGTERM) == -1)
		return;
	if (system("rm -rf " GUARDD_DIR))
		fprintf(stderr, "bench_guard: cannot remove %s\n", GUARDD_DIR);
}

struct reg_bench {
	struct ibv_pd *pd;
	struct mapping m;
	int verbs_access;
	struct rdmapin_guard_key key;
	int sock;		/* this benchmark's own connection to rdmapin-guardd */
};

struct variant {
	const char *what;
	/* Seconds for one register + deregister, or guard + unguard; -1 if it failed. */
	double (*time)(struct reg_bench *b, const struct variant *v);
	/* librdmapin's variants: how they register, and what they must get. */
	struct ibv_mr *(*reg)(struct reg_bench *b);
	enum rdmapin_guard_kind guard;
	enum rdmapin_lease_kind lease;
	double s[REG_ROUNDS];
};

/* The most that one compare() runs. */
#define MAX_VARIANTS 8

#define TIMED(what_, time_) { .what = (what_), .time = (time_) }
#define REG(what_, reg_, guard_, lease_) \
	{ .what = (what_), .time = time_rdmapin, .reg = (reg_), .guard = (guard_), \
	  .lease = (lease_) }

static double time_verbs(struct reg_bench *b, const struct variant *v)
{
	double t = now_s();
	struct ibv_mr *mr = ibv_reg_mr(b->pd, b->m.addr, b->m.len, b->verbs_access);

	if (!mr)
		return -1;
	ibv_dereg_mr(mr);
	return now_s() - t;
}

static double time_direct(struct reg_bench *b, const struct variant *v)
{
	double t = now_s();

	if (rdmapin_guard_ref(&b->key, "bench_guard") ||
	    rdmapin_guard_unref(&b->key, "bench_guard"))
		return -1;
	return now_s() - t;
}

static double time_guardd(struct reg_bench *b, const struct variant *v)
{
	struct rdmapin_guardd_request req = { .op = RDMAPIN_GUARDD_GUARD };
	struct rdmapin_guardd_reply reply = { .err = 0 };
	double t = now_s();

	if (guardd_call(b->sock, &req, b->m.fd, &reply))
		goto fail;
	req = (struct rdmapin_guardd_request){ .op = RDMAPIN_GUARDD_UNGUARD, .id = reply.id };
	if (guardd_call(b->sock, &req, -1, &reply))
		goto fail;
	return now_s() - t;
fail:
	fprintf(stderr, "bench_guard: rdmapin-guardd: %s %s\n", strerror(errno), reply.msg);
	return -1;
}

/* A request that the daemon refuses at once: UNGUARD of no entry. */
static int guardd_noop(int sock)
{
	const struct rdmapin_guardd_request req = { .op = RDMAPIN_GUARDD_UNGUARD };
	struct rdmapin_guardd_reply reply = { .err = 0 };

	if (!guardd_call(sock, &req, -1, &reply) || errno != ENOENT) {
		fprintf(stderr, "bench_guard: rdmapin-guardd: UNGUARD of no entry: %s %s\n",
			strerror(errno), reply.msg);
		return -1;
	}
	return 0;
}

/* What GUARD + UNGUARD cost besides the daemon's work: its map edits and state saves. */
static double time_guardd_noop(struct reg_bench *b, const struct variant *v)
{
	double t = now_s();

	if (guardd_noop(b->sock) || guardd_noop(b->sock))
		return -1;
	return now_s() - t;
}

/* The fd given: the daemon is passed this one. */
static struct ibv_mr *reg_fd(struct reg_bench *b)
{
	struct rdmapin_mr_init_attr attr = {
		.comp_mask = RDMAPIN_MR_INIT_ATTR_FD,
		.access = MR_ACCESS,
		.addr = b->m.addr,
		.length = b->m.len,
		.fd = b->m.fd,
	};

	return rdmapin_reg_mr_ex(b->pd, &attr);
}

/* No fd given: librdmapin finds one of the process's own in /proc/self/fd. */
static struct ibv_mr *reg_nofd(struct reg_bench *b)
{
	return rdmapin_reg_mr(b->pd, b->m.addr, b->m.len, MR_ACCESS);
}

static struct ibv_mr *reg_leased(struct reg_bench *b)
{
	struct rdmapin_mr_init_attr attr = {
		.comp_mask = RDMAPIN_MR_INIT_ATTR_FD | RDMAPIN_MR_INIT_ATTR_LEASE,
		.access = MR_ACCESS,
		.addr = b->m.addr,
		.length = b->m.len,
		.fd = b->m.fd,
		.lease = RDMAPIN_LEASE_REQUIRE,
	};

	return rdmapin_reg_mr_ex(b->pd, &attr);
}

/* Registers as @v says, and hands back what the MR got; NULL if it failed. */
static struct ibv_mr *reg_variant(struct reg_bench *b, const struct variant *v,
				  struct rdmapin_mr_attr *attr)
{
	struct ibv_mr *mr;

	mr = v->reg(b);
	if (mr && rdmapin_query_mr(mr, attr)) {
		rdmapin_dereg_mr(mr);
		mr = NULL;
	}
	return mr;
}

static double time_rdmapin(struct reg_bench *b, const struct variant *v)
{
	struct ibv_mr *mr;
	double t;

	t = now_s();
	mr = v->reg(b);
	if (mr)
		rdmapin_dereg_mr(mr);
	t = now_s() - t;
	return mr ? t : -1;
}

/* A ratio means nothing unless each variant protects the file as its name says. */
static int check_kind(struct reg_bench *b, const struct variant *v)
{
	struct rdmapin_mr_attr attr = { .comp_mask = 0 };
	struct ibv_mr *mr;
	int ret;

	if (!v->reg)
		return 0;
	mr = reg_variant(b, v, &attr);
	if (!mr) {
		printf("%s: failed: %s\n", v->what, rdmapin_last_error());
		return -1;
	}
	ret = attr.guard == v->guard && attr.lease == v->lease ? 0 : -1;
	if (ret)
		printf("%s: got guard kind %d and lease kind %d, not %d and %d\n", v->what,
		       attr.guard, attr.lease, v->guard, v->lease);
	rdmapin_dereg_mr(mr);
	return ret;
}

/*
 * Under emulation a switch to another process flushes the TLB: while the
 * daemon runs, each timing starts right after one, as those that talk to it
 * do anyway, so that no row gets a warm start that the others miss.
 */
static int level_start(struct reg_bench *b)
{
	return b->sock >= 0 ? guardd_noop(b->sock) : 0;
}

/* A fresh order of @n variants (Fisher-Yates, from a fixed seed). */
static void shuffle(int *order, int n, unsigned int *seed)
{
	int i, j, t;

	for (i = 0; i < n; i++)
		order[i] = i;
	for (i = n - 1; i > 0; i--) {
		j = rand_r(seed) % (i + 1);
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
}

/*
 * Runs @v[0..n) once each round, in an order drawn anew, so that every
 * variant follows every other about as often: in a fixed order, the row after
 * the guard entry's add and remove was the dearer of the two registrations
 * guarded directly, whichever came there (by 160-270 us in a TCG guest).
 * v[0] is the baseline the others are set against.
 */
static void compare(struct reg_bench *b, struct variant *v, int n)
{
	unsigned int seed = 1;
	int order[MAX_VARIANTS];
	double base;
	int r, k, i;

	for (i = 0; i < n; i++)
		if (check_kind(b, &v[i]))
			return;
	for (r = 0; r < reg_rounds; r++) {
		shuffle(order, n, &seed);
		for (k = 0; k < n; k++) {
			i = order[k];
			if (level_start(b) || (v[i].s[r] = v[i].time(b, &v[i])) < 0) {
				printf("%s: failed: %s %s\n", v[i].what, strerror(errno),
				       rdmapin_last_error());
				return;
			}
		}
	}
	base = bench_median(v[0].s, reg_rounds);
	for (i = 0; i < n; i++) {
		double m = bench_median(v[i].s, reg_rounds);

		printf("%-62s %9.1f %6.2fx\n", v[i].what, m * 1e6, m / base);
	}
}

/* Entries this client holds besides: @n GUARDs of the same file, their ids in @ids. */
static int hold_entries(struct reg_bench *b, uint64_t *ids, int have, int n)
{
	struct rdmapin_guardd_request req = { .op = RDMAPIN_GUARDD_GUARD };
	struct rdmapin_guardd_reply reply = { .err = 0 };

	for (; have < n; have++) {
		if (guardd_call(b->sock, &req, b->m.fd, &reply))
			return -1;
		ids[have] = reply.id;
	}
	return 0;
}

static void drop_entries(struct reg_bench *b, const uint64_t *ids, int n)
{
	struct rdmapin_guardd_request req = { .op = RDMAPIN_GUARDD_UNGUARD };
	struct rdmapin_guardd_reply reply = { .err = 0 };

	while (n--) {
		req.id = ids[n];
		guardd_call(b->sock, &req, -1, &reply);
	}
}

/* Holds @want entries of those in @ids, from @have: adds or drops the last ones. */
static int hold_count(struct reg_bench *b, uint64_t *ids, int have, int want)
{
	if (want >= have)
		return hold_entries(b, ids, have, want);
	drop_entries(b, ids + want, have - want);
	return 0;
}

/*
 * The daemon's cost per change must not grow with what it holds: GUARD +
 * UNGUARD with 0, 1023 and 3999 other entries held (filling up between, so
 * that a daemon that rewrites its state per change stays measurable). Each
 * count is timed on the way up and again on the way down, so that a guest
 * slowing down or speeding up over the minutes this takes (seen here: 2x
 * within one run) weighs on every count alike, not on the last one timed.
 * The daemon holds an fd per entry: main() gave it room for 4k.
 */
static void bench_daemon_entries(struct reg_bench *b)
{
	static const int full[] = { 0, 1023, 3999 }, order[] = { 0, 1, 2, 2, 1, 0 };
	enum { N = ARRAY_SIZE(full) };
	static uint64_t ids[3999];
	double t[N][2 * ENTRY_ROUNDS], med[N];
	int held[N], n[N] = { 0 }, have = 0, i, k, r;

	for (i = 0; i < N; i++)
		held[i] = full[i] / entries_div;
	printf("-- GUARD + UNGUARD to rdmapin-guardd by the number of entries it holds "
	       "(median of %d, us, half timed filling up, half emptying; flat is the goal):\n",
	       2 * entry_rounds);
	for (k = 0; k < (int)ARRAY_SIZE(order); k++) {
		i = order[k];
		if (hold_count(b, ids, have, held[i])) {
			printf("daemon entries: cannot hold %d: %s\n", held[i], strerror(errno));
			drop_entries(b, ids, have);
			return;
		}
		have = held[i];
		for (r = 0; r < entry_rounds; r++) {
			/* A failed round would enter the medians, and the verdict, as -1 us. */
			if ((t[i][n[i]++] = time_guardd(b, NULL)) < 0) {
				printf("daemon entries: GUARD + UNGUARD with %d held failed\n",
				       held[i] + 1);
				drop_entries(b, ids, have);
				return;
			}
		}
	}
	for (i = 0; i < N; i++) {
		med[i] = bench_median(t[i], n[i]);
		printf("  %4d entries held: %8.1f us  %.2fx\n", held[i] + 1, med[i] * 1e6,
		       med[i] / med[0]);
	}
	printf("  %d -> %d: %+.0f%% %s (flat: within 10%%)\n", held[0] + 1, held[N - 1] + 1,
	       (med[N - 1] / med[0] - 1) * 100, bench_flat(med[0], med[N - 1]) ? "ok" : "OVER");
	drop_entries(b, ids, have);
}

static void bench_with_daemon(struct reg_bench *b)
{
	struct variant v[] = {
		TIMED("ibv_reg_mr + ibv_dereg_mr", time_verbs),
		TIMED("guard entry: rdmapin_guard_ref + unref (direct)", time_direct),
		TIMED("guard entry: GUARD + UNGUARD to rdmapin-guardd", time_guardd),
		TIMED("  of which IPC: 2 requests rdmapin-guardd refuses at once",
		      time_guardd_noop),
		REG("rdmapin reg+dereg, guarded via rdmapin-guardd (attr.fd)", reg_fd,
		    RDMAPIN_GUARD_KIND_DAEMON, RDMAPIN_LEASE_KIND_NONE),
		REG("rdmapin reg+dereg, guarded via rdmapin-guardd (own fd found)", reg_nofd,
		    RDMAPIN_GUARD_KIND_DAEMON, RDMAPIN_LEASE_KIND_NONE),
		REG("rdmapin reg+dereg, leased (RDMAPIN_LEASE_REQUIRE)", reg_leased,
		    RDMAPIN_GUARD_KIND_NONE, RDMAPIN_LEASE_KIND_EMULATED),
	};

	b->sock = rdmapin_guardd_connect();
	if (b->sock < 0) {
		printf("%s\n", rdmapin_last_error());
		return;
	}
	_Static_assert(ARRAY_SIZE(v) <= MAX_VARIANTS, "compare() runs up to MAX_VARIANTS");
	printf("-- rdmapin-guardd running:\n");
	compare(b, v, ARRAY_SIZE(v));
	bench_daemon_entries(b);
	close(b->sock);
	b->sock = -1;
}

/* The library tries the daemon's socket, finds none, and edits the map itself. */
static void bench_without_daemon(struct reg_bench *b)
{
	struct variant v[] = {
		TIMED("ibv_reg_mr + ibv_dereg_mr", time_verbs),
		TIMED("guard entry: rdmapin_guard_ref + unref (direct)", time_direct),
		REG("rdmapin reg+dereg, guarded directly (attr.fd)", reg_fd,
		    RDMAPIN_GUARD_KIND_DIRECT, RDMAPIN_LEASE_KIND_NONE),
		REG("rdmapin reg+dereg, guarded directly (own fd found)", reg_nofd,
		    RDMAPIN_GUARD_KIND_DIRECT, RDMAPIN_LEASE_KIND_NONE),
		REG("rdmapin reg+dereg, leased (RDMAPIN_LEASE_REQUIRE)", reg_leased,
		    RDMAPIN_GUARD_KIND_NONE, RDMAPIN_LEASE_KIND_EMULATED),
	};

	_Static_assert(ARRAY_SIZE(v) <= MAX_VARIANTS, "compare() runs up to MAX_VARIANTS");
	printf("-- rdmapin-guardd stopped, guard loaded (root edits the map):\n");
	compare(b, v, ARRAY_SIZE(v));
}

/* 6.1 pins page-cache files; 7.x registers fsdax files with ODP. */
static void bench_guard_entries(void)
{
	bool odp = env.kernel == KERNEL_7;
	struct reg_bench b = {
		.m = unmapped,
		.verbs_access = MR_ACCESS | (odp ? IBV_ACCESS_ON_DEMAND : 0),
		.sock = -1,
	};

	b.pd = open_pd(env.rxe0);
	if (!b.pd || (odp ? map_fsdax_shared(&b.m) : map_pagecache_shared(&b.m)) ||
	    rdmapin_guard_key_of(b.m.fd, &b.key, "bench_guard")) {
		printf("registrations: cannot set up: %s %s\n", b.m.err, strerror(errno));
		goto out;
	}
	printf("reg+dereg of a 4 MiB %s file (%s) on %s, or a guard entry added and removed,\n"
	       "median of %d, us, and the ratio to ibv_reg_mr + ibv_dereg_mr:\n",
	       odp ? "fsdax" : "page-cache", odp ? "ODP" : "pinned", env.rxe0, reg_rounds);
	setenv("RDMAPIN_GUARDD_SOCKET", GUARDD_SOCKET, 1);
	if (start_guardd())
		goto out;
	bench_with_daemon(&b);
	stop_guardd();
	bench_without_daemon(&b);
out:
	stop_guardd();
	unmap(&b.m);
	if (b.pd)
		close_pd(b.pd);
}

/* The daemon it starts inherits the limit: as its systemd unit, room for an fd per entry. */
static int raise_fd_limit(void)
{
	struct rlimit l;

	if (getrlimit(RLIMIT_NOFILE, &l))
		return -1;
	l.rlim_cur = l.rlim_max;
	if (!setrlimit(RLIMIT_NOFILE, &l))
		return 0;
	perror("bench_guard: setrlimit(RLIMIT_NOFILE)");
	return -1;
}

int main(int argc, char **argv)
{
	if (bench_short(argc, argv)) {
		load_rounds = 2;
		batch = 100;
		settle_s = 0.1;
		reg_rounds = 20;
		entry_rounds = 10;
		entries_div = 16;
	}
	/* Lines in order with those that rdmapin-guardd writes to the same stderr. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	bench_accept_quirks();
	if (read_env() || raise_fd_limit())
		return 1;
	printf("# Linux %s, %s, fsdax on %s\n", env.kernel == KERNEL_7 ? "7.x" : "6.1", env.rxe0,
	       env.fsdax_fs);
	bench_truncates();
	bench_refused_punch();
	bench_guard_entries();
	return unload_guard() ? 1 : 0;
}
