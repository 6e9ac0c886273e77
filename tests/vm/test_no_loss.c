// SPDX-License-Identifier: MIT
/*
 * No silent data loss, end to end. For every path that frees or moves a
 * file's blocks, on a registered page-cache file and a registered fsdax file,
 * once leased (no guard loaded) and once guarded (rdmapin-guardd running),
 * and on a page-cache file registered with neither (open elsewhere, or not
 * open at all, so that the default policy finds no lease to take):
 * do it (from another process, through an inherited fd, or as the owner),
 * see whether the library revoked the MR, then RDMA-WRITE into the range from
 * the other rxe device and read the bytes back through an open of their own.
 * The one rule: a write that completes has its bytes in the file. Under the
 * guard every path is also refused. Each case prints a "# row" line, the
 * table in the closing notes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "block_paths.h"
#include "check.h"
#include "guardd_ctl.h"
#include "guest.h"
#include "rdma_peer.h"
#include "remote_writer.h"

#define ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)
#define OP_LEN (1UL << 20)		/* what an operation frees or moves: [0, 1 MiB) */
#define PROBE_OFF (512UL << 10)		/* the write afterwards lands inside it */
#define PROBE_LEN (64UL << 10)
#define SANITY_OFF (2UL << 20)		/* a write before, outside the range */
/* A change that no event announces is found by the library's sweep, once a second. */
#define LEASE_REVOKE_WAIT_MS 1500
#define GUARD_REVOKE_WAIT_MS 50

enum who {
	BY_OTHER,	/* another process, which opens the file itself */
	BY_INHERITED,	/* a child, through the fd it inherited */
	BY_OWNER,	/* the registering process itself */
};

static const char *const who_name[] = { "other", "inherited", "owner" };

struct op {
	const char *name;
	enum who who;
	int (*run)(const struct block_target *t);	/* 0 or an errno */
};

static int op_truncate(const struct block_target *t)
{
	return truncate(t->path, 0) ? errno : 0;
}

static int op_open_trunc(const struct block_target *t)
{
	int fd = open(t->path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static int op_ftruncate(const struct block_target *t)
{
	return ftruncate(t->fd, 0) ? errno : 0;
}

static const struct op ops[] = {
	{ "truncate", BY_OTHER, op_truncate },
	{ "open(O_TRUNC)", BY_OTHER, op_open_trunc },
	{ "ftruncate", BY_INHERITED, op_ftruncate },
	{ "ftruncate", BY_OWNER, op_ftruncate },
	{ "punch", BY_OTHER, block_punch },
	{ "punch", BY_INHERITED, block_punch },
	{ "punch", BY_OWNER, block_punch },
	{ "collapse", BY_INHERITED, block_collapse },
	{ "zero-range", BY_INHERITED, block_zero },
	{ "insert-range", BY_INHERITED, block_insert },
	{ "MADV_REMOVE", BY_OWNER, block_madv_remove },
	{ "MADV_REMOVE", BY_OTHER, block_madv_remove },
	{ "io_uring punch", BY_INHERITED, block_uring_punch },
	{ "FICLONE", BY_INHERITED, block_ficlone },
	{ "FICLONERANGE", BY_INHERITED, block_ficlonerange },
	{ "FIDEDUPERANGE", BY_INHERITED, block_dedupe },
	{ "copy_file_range", BY_INHERITED, block_copy_into },
};

/* Another process's view of the file: its own open and mapping. */
static int run_as_other(const struct op *op, struct block_target t)
{
	t.fd = open(t.path, O_RDWR | O_CLOEXEC);
	if (t.fd < 0)
		return errno;
	t.map = mmap(NULL, OP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, t.fd, 0);
	if (t.map == MAP_FAILED)
		return errno;
	return op->run(&t);
}

/* A file of written zeros beside the target, on its filesystem: what a remap brings in. */
static int source_file(const char *target)
{
	static char zeros[OP_LEN];
	char path[PATH_MAX + 8];
	int fd;

	snprintf(path, sizeof(path), "%s.src", target);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	unlink(path);
	if (pwrite(fd, zeros, OP_LEN, 0) == (ssize_t)OP_LEN && !fsync(fd))
		return fd;
	close(fd);
	return -1;
}

/* The operation's result: 0 or an errno (ETIMEDOUT: it hung for 30 s). */
static int run_op(const struct op *op, const struct mapping *m)
{
	struct block_target t = {
		.path = m->path, .fd = m->fd, .map = m->addr, .dst = -1, .len = OP_LEN,
	};
	pid_t pid;
	int err;

	t.src = source_file(m->path);
	if (t.src < 0)
		return errno;
	if (op->who == BY_OWNER) {
		err = op->run(&t);
		close(t.src);
		return err;
	}
	pid = fork();
	if (pid == 0) {
		alarm(30);
		_exit(op->who == BY_OTHER ? run_as_other(op, t) : op->run(&t));
	}
	close(t.src);
	err = child_errno(pid);
	return err == ECHILD ? ETIMEDOUT : err;
}

static bool revoked(struct ibv_mr *mr)
{
	struct rdmapin_mr_attr attr = { 0 };

	return !rdmapin_query_mr(mr, &attr) && attr.revoked;
}

/* Revocation runs on the library's thread: give it time to land. */
static bool wait_revoked(struct ibv_mr *mr, int wait_ms)
{
	const struct timespec step = { .tv_nsec = 5000000 };
	int i;

	for (i = 0; i < wait_ms / 5; i++) {
		if (revoked(mr))
			return true;
		nanosleep(&step, NULL);
	}
	return revoked(mr);
}

/* Whether another process's open + pread finds the probe's bytes: 0 or an errno. */
static int bytes_in_file(const char *path)
{
	static char buf[PROBE_LEN];
	pid_t pid = fork();
	int fd;

	if (pid == 0) {
		alarm(30);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || pread(fd, buf, PROBE_LEN, PROBE_OFF) != (ssize_t)PROBE_LEN)
			_exit(errno ?: ENODATA);
		_exit(remote_writer_verify(buf, PROBE_LEN) == PROBE_LEN ? 0 : EILSEQ);
	}
	return child_errno(pid);
}

enum protection { LEASED, GUARDED, UNPROTECTED, UNPROTECTED_NO_FD };

static const char *const protection_name[] = { "lease", "guard", "none", "none, no fd" };

/*
 * The default policy, with no guard loaded for the unprotected ones.
 * UNPROTECTED: with a second open of the file, which leaves no lease to
 * take. UNPROTECTED_NO_FD: its fd closed, as perftest does once the file is
 * mapped, which leaves the library no fd to lease or watch the file through.
 */
static struct ibv_mr *reg_as(struct ibv_pd *pd, struct mapping *m, enum protection prot)
{
	int other = -1;
	struct ibv_mr *mr;

	if (prot == UNPROTECTED_NO_FD) {
		close(m->fd);
		m->fd = -1;
	} else if (prot == UNPROTECTED) {
		other = open(m->path, O_RDONLY | O_CLOEXEC);
		if (other < 0)
			return NULL;
	}
	mr = rdmapin_reg_mr(pd, m->addr, m->len, ACCESS);
	if (other >= 0)
		close(other);
	return mr;
}

struct place {
	const char *backing, *dir;
};

struct row {
	int op_err, status, bytes_err;
	bool revoked;
};

static void print_row(const struct place *at, enum protection prot, const struct op *op,
		      const struct row *r)
{
	struct utsname u;

	uname(&u);
	printf("# row | %s | %s | %s | %s | %s (%s) | %s | %s | %s | %s |\n", u.release,
	       env.fsdax_fs, at->backing, protection_name[prot], op->name, who_name[op->who],
	       r->op_err ? strerrorname_np(r->op_err) : "done", r->revoked ? "revoked" : "kept",
	       r->status < 0 ? "no completion" : ibv_wc_status_str(r->status),
	       r->status != IBV_WC_SUCCESS ? "-" : r->bytes_err ? "LOST" : "in file");
}

static void check_row(const struct place *at, enum protection prot, const struct op *op,
		      const struct row *r)
{
	char what[160];

	snprintf(what, sizeof(what), "%s, %s: %s (%s)", at->backing, protection_name[prot],
		 op->name, who_name[op->who]);
	print_row(at, prot, op, r);
	check(r->status != IBV_WC_SUCCESS || !r->bytes_err,
	      "%s: the RDMA WRITE after it completed and its bytes are in the file (%s)", what,
	      strerror(r->bytes_err));
	if (prot == GUARDED)
		check(r->op_err && !r->revoked, "%s: refused (%s), the MR kept", what,
		      r->op_err ? strerror(r->op_err) : "it succeeded");
}

/* The MR lives in the peer's PD, where the QP that the writer reaches is. */
static void run_case(const struct place *at, enum protection prot, const struct op *op)
{
	struct rdma_peer_info remote;
	struct mapping m = unmapped;
	struct row r = { .status = -1 };
	struct rdma_peer peer;
	struct ibv_mr *mr;
	int sock = -1;
	pid_t pid;

	if (!check(!rdma_peer_open(&peer, env.rxe0, env.gid_index), "open %s", env.rxe0))
		return;
	if (!check(!map_file(&m, at->dir, MAP_SHARED), "%s: map a file: %s", at->backing, m.err))
		goto out_peer;
	mr = reg_as(peer.pd, &m, prot);
	if (!check(mr != NULL, "%s, %s: register: %s", at->backing, protection_name[prot],
		   rdmapin_last_error()))
		goto out_unmap;
	sock = remote_writer_start(env.rxe1, env.gid_index, PROBE_LEN, &pid);
	if (!check(sock >= 0 && !rdma_peer_connect(&peer, sock, mr, &remote) &&
			   remote_writer_write(sock, SANITY_OFF, 4096) == IBV_WC_SUCCESS,
		   "%s: a writer on %s writes into the MR", at->backing, env.rxe1))
		goto out_writer;
	r.op_err = run_op(op, &m);
	r.revoked = wait_revoked(mr, prot == GUARDED ? GUARD_REVOKE_WAIT_MS : LEASE_REVOKE_WAIT_MS);
	r.status = remote_writer_write(sock, PROBE_OFF, PROBE_LEN);
	if (r.status == IBV_WC_SUCCESS)
		r.bytes_err = bytes_in_file(m.path);
	check_row(at, prot, op, &r);
out_writer:
	if (sock >= 0)
		remote_writer_stop(sock, pid);
	rdmapin_dereg_mr(mr);
out_unmap:
	unlink(m.path);
	unmap(&m);
out_peer:
	rdma_peer_close(&peer);
}

/* Registration's protection is what the case is about: check it first. */
static bool protected_as(struct ibv_pd *pd, const struct place *at, enum protection prot)
{
	struct rdmapin_mr_attr attr = { 0 };
	struct mapping m = unmapped;
	bool ok = false, leased;
	struct ibv_mr *mr;

	if (map_file(&m, at->dir, MAP_SHARED)) {
		check(0, "%s: map a file: %s", at->backing, m.err);
		return false;
	}
	mr = reg_as(pd, &m, prot);
	if (!mr) {
		/* Only 6.1's fsdax has no mode: rxe there has no ODP, and nothing pins fsdax. */
		check(env.kernel == KERNEL_6_1 && !strcmp(at->backing, "fsdax") && errno == EOPNOTSUPP,
		      "%s, %s: not registered, as only on 6.1's fsdax: %s", at->backing,
		      protection_name[prot], rdmapin_last_error());
	} else {
		rdmapin_query_mr(mr, &attr);
		leased = attr.lease != RDMAPIN_LEASE_KIND_NONE;
		ok = check(prot == GUARDED ? attr.guard != RDMAPIN_GUARD_KIND_NONE :
					     leased == (prot == LEASED) &&
						     attr.guard == RDMAPIN_GUARD_KIND_NONE,
			   "%s, %s: registered as %s, lease %s, guard %s (last error: %s)",
			   at->backing, protection_name[prot], rdmapin_reg_mode_str(attr.mode),
			   rdmapin_lease_kind_str(attr.lease), rdmapin_guard_kind_str(attr.guard),
			   rdmapin_last_error());
		rdmapin_dereg_mr(mr);
	}
	unlink(m.path);
	unmap(&m);
	return ok;
}

static void run_place(struct ibv_pd *pd, const struct place *at, enum protection prot)
{
	size_t i;

	if (!protected_as(pd, at, prot))
		return;
	/* With no fd of the registering process's, only another process's ops. */
	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (prot != UNPROTECTED_NO_FD || ops[i].who == BY_OTHER)
			run_case(at, prot, &ops[i]);
}

static enum rdmapin_reg_mode mode_of(struct ibv_mr *mr)
{
	struct rdmapin_mr_attr attr = { 0 };

	return mr && !rdmapin_query_mr(mr, &attr) ? attr.mode : 0;
}

/* Leased, not guarded; pinned read-only, which every kernel allows page-cache pages. */
static struct ibv_mr *reg_leased(struct ibv_pd *pd, const struct mapping *m, bool pinned)
{
	return rdmapin_reg_mr_ex(pd, &(struct rdmapin_mr_init_attr){
		.comp_mask = RDMAPIN_MR_INIT_ATTR_LEASE | RDMAPIN_MR_INIT_ATTR_MODES,
		.access = pinned ? IBV_ACCESS_REMOTE_READ : ACCESS, .addr = m->addr,
		.length = m->len, .lease = RDMAPIN_LEASE_REQUIRE,
		.modes = pinned ? RDMAPIN_MODE_PIN : 0 });
}

static void check_enospc(struct ibv_mr *mr, const char *what)
{
	int err = errno;

	check(!mr && err == ENOSPC && strstr(rdmapin_last_error(), "max_user_watches"),
	      "watch limit: %s fails with ENOSPC and says why: %s", what,
	      mr ? "registered" : rdmapin_last_error());
}

/*
 * Only a long-term pin of page-cache pages needs its leased file watched
 * (rdmapin_guard(7)): where none can be had, such a pin fails with ENOSPC and
 * says why, whether its file is leased already or not; an MR under On-Demand
 * Paging needs none. Limit 0: the MR over a, if pinned, keeps the watch it has.
 */
static void check_watch_limit(struct ibv_pd *pd)
{
	static const char limit[] = "/proc/sys/fs/inotify/max_user_watches";
	struct mapping a = unmapped, b = unmapped;
	struct ibv_mr *ma = NULL, *mb = NULL, *ma2 = NULL;
	char old[32] = "";

	if (!check(!map_file(&a, env.pagecache_dir, MAP_SHARED) &&
			   !map_file(&b, env.pagecache_dir, MAP_SHARED),
		   "watch limit: map two files"))
		goto out;
	ma = reg_leased(pd, &a, false);
	if (!check(ma && !write_sysctl(limit, "0", old, sizeof(old)),
		   "watch limit: one leased file, and fs.inotify.max_user_watches = 0"))
		goto out;
	mb = reg_leased(pd, &b, true);
	check_enospc(mb, "a long-term pin of a second file");
	ma2 = reg_leased(pd, &a, true);
	if (mode_of(ma) == RDMAPIN_MODE_ODP)
		check_enospc(ma2, "a long-term pin joining an ODP MR's lease");
	else
		check(ma2 != NULL, "watch limit: a pin joins a pinned MR's lease, watched already: %s",
		      ma2 ? "registered" : rdmapin_last_error());
	if (mb)
		rdmapin_dereg_mr(mb);
	mb = reg_leased(pd, &b, false);
	if (mode_of(ma) == RDMAPIN_MODE_ODP)
		check(mode_of(mb) == RDMAPIN_MODE_ODP,
		      "watch limit: an MR under On-Demand Paging needs no watch: %s",
		      mb ? "registered" : rdmapin_last_error());
	else
		check_enospc(mb, "a second file pinned by default");
	write_sysctl(limit, old, NULL, 0);
	if (!ma2)
		ma2 = reg_leased(pd, &a, true);
	check(ma2 != NULL, "watch limit: restored, a long-term pin joins the lease: %s",
	      ma2 ? "registered" : rdmapin_last_error());
out:
	if (old[0])
		write_sysctl(limit, old, NULL, 0);
	if (ma2)
		rdmapin_dereg_mr(ma2);
	if (mb)
		rdmapin_dereg_mr(mb);
	if (ma)
		rdmapin_dereg_mr(ma);
	unlink(a.path);
	unlink(b.path);
	unmap(&a);
	unmap(&b);
}

int main(void)
{
	struct ibv_pd *pd = start_guest_test();
	const struct place at[] = {
		{ "page-cache", env.pagecache_dir },
		{ "fsdax", env.fsdax_dir },
	};
	struct guardd_run guardd;
	char why[256];
	size_t i;

	if (!pd)
		return check_done();
	/* Every write below starts at a page boundary: see rdmapin_query_device(3). */
	setenv("RDMAPIN_ALLOW_QUIRKS", "rxe-odp-offset", 1);
	guardd_init(&guardd, "/run/test_no_loss-guardd", NULL);
	setenv("RDMAPIN_GUARDD_SOCKET", guardd.socket, 1);
	check(!guard_unload(), "the lease cases run without the guard");
	check_watch_limit(pd);
	for (i = 0; i < sizeof(at) / sizeof(at[0]); i++)
		run_place(pd, &at[i], LEASED);
	/* fsdax files are leased or refused by default. */
	run_place(pd, &at[0], UNPROTECTED);
	run_place(pd, &at[0], UNPROTECTED_NO_FD);
	/*
	 * The lease cases left the belief that no guard is to be had, for up to
	 * a second (rdmapin_guard(7)), and the daemon may start within it.
	 */
	if (check(!guardd_start(&guardd, NULL), "start rdmapin-guardd") &&
	    check(rdmapin_query_guard(why, sizeof(why)) == RDMAPIN_GUARD_KIND_DAEMON,
		  "rdmapin_query_guard() reaches it: %s", why))
		for (i = 0; i < sizeof(at) / sizeof(at[0]); i++)
			run_place(pd, &at[i], GUARDED);
	if (guardd.pid > 0)
		guardd_stop(&guardd, SIGTERM);
	check(!guard_unload(), "later tests find no guard");
	close_pd(pd);
	return check_done();
}
