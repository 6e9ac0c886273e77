// SPDX-License-Identifier: MIT
/*
 * The environment contract: the kernel behaviour librdmapin is built on,
 * asserted in each test guest. A kernel that changes any of it fails here,
 * naming the fact, before the library's own tests fail for reasons that
 * are hard to trace back. The expectations were measured on Debian's 6.1
 * and 7.2 kernels.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "guest.h"
#include "rdma_peer.h"
#include "remote_writer.h"

#include "array.h"
/* Page-aligned and 2 MiB sized: device-DAX maps only whole 2 MiB pages. */
#define RDMA_SIZE (2UL << 20)
#define MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)
/* The lease flag of the 2019 RDMA/FS-DAX RFC, never merged. */
#define F_LAYOUT 16
#define RC_ODP_NEEDED \
	(IBV_ODP_SUPPORT_SEND | IBV_ODP_SUPPORT_RECV | IBV_ODP_SUPPORT_WRITE | IBV_ODP_SUPPORT_READ)
/* Far below the default lease-break-time of 45 s. */
#define BREAK_LIMIT_S 5


struct region {
	const char *name;
	int (*map)(struct mapping *m);
	/* ibv_reg_mr's errno (0: success) per kernel, pinned and ON_DEMAND. */
	int want[NR_KERNELS][2];
};

/*
 * Both kernels refuse long-term pins of fsdax pages; 7.x also refuses
 * writable ones of page-cache pages. 6.1's rxe has no ODP at all.
 */
static const struct region regions[] = {
	{ "anonymous", map_anon, { { 0, EINVAL }, { 0, 0 } } },
	{ "memfd MAP_SHARED", map_memfd, { { 0, EINVAL }, { 0, 0 } } },
	{ "page-cache MAP_SHARED", map_pagecache_shared, { { 0, EINVAL }, { EFAULT, 0 } } },
	{ "fsdax MAP_SHARED", map_fsdax_shared, { { EOPNOTSUPP, EINVAL }, { EOPNOTSUPP, 0 } } },
	{ "fsdax MAP_PRIVATE, COW-copied", map_fsdax_private_copied, { { 0, EINVAL }, { 0, 0 } } },
	{ "device-DAX MAP_SHARED", map_devdax_region, { { 0, EINVAL }, { 0, 0 } } },
};

static void check_reg_mr(struct ibv_pd *pd, const struct region *r, const struct mapping *m)
{
	static const char *const mode[] = { "pinned", "ON_DEMAND" };
	struct ibv_mr *mr;
	char what[128];
	int odp, err;

	for (odp = 0; odp < 2; odp++) {
		mr = ibv_reg_mr(pd, m->addr, m->len, MR_ACCESS | (odp ? IBV_ACCESS_ON_DEMAND : 0));
		err = errno;
		snprintf(what, sizeof(what), "ibv_reg_mr %s, %s", r->name, mode[odp]);
		check_errno(mr != NULL, err, r->want[env.kernel][odp], what);
		if (mr)
			ibv_dereg_mr(mr);
	}
}

static void check_odp_caps(struct ibv_context *ctx)
{
	struct ibv_device_attr_ex attr;
	uint64_t general;
	uint32_t rc;
	int ret;

	ret = ibv_query_device_ex(ctx, NULL, &attr);
	if (ret) {
		check(0, "ibv_query_device_ex: %s", strerror(ret > 0 ? ret : errno));
		return;
	}
	general = attr.odp_caps.general_caps;
	rc = attr.odp_caps.per_transport_caps.rc_odp_caps;
	if (env.kernel == KERNEL_6_1) {
		check(!(general & IBV_ODP_SUPPORT),
		      "rxe reports no ODP (general_caps %#" PRIx64 ")", general);
		return;
	}
	check(general & IBV_ODP_SUPPORT, "rxe reports ODP (general_caps %#" PRIx64 ")", general);
	check(!(general & IBV_ODP_SUPPORT_IMPLICIT), "rxe reports no implicit ODP");
	check((rc & RC_ODP_NEEDED) == RC_ODP_NEEDED,
	      "rxe RC ODP covers SEND, RECV, WRITE and READ (rc_odp_caps %#" PRIx32 ")", rc);
}

static void check_reg_mr_matrix(struct ibv_pd *pd)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(regions); i++) {
		struct mapping m = unmapped;

		if (regions[i].map(&m))
			check(0, "ibv_reg_mr %s: set up: %s", regions[i].name, m.err);
		else
			check_reg_mr(pd, &regions[i], &m);
		unmap(&m);
	}
}

static void test_rxe0(void)
{
	struct ibv_context *ctx;
	struct ibv_pd *pd = NULL;

	if (!env.rxe0)
		return;
	ctx = rdma_peer_open_device(env.rxe0);
	if (ctx)
		pd = ibv_alloc_pd(ctx);
	if (check(pd != NULL, "open %s and allocate a PD", env.rxe0)) {
		check_odp_caps(ctx);
		check_reg_mr_matrix(pd);
		ibv_dealloc_pd(pd);
	}
	if (ctx)
		ibv_close_device(ctx);
}

static void check_dax_attr(const char *dir, int want, const char *what)
{
	struct mapping m = unmapped;
	struct statx stx;

	if (create_file(&m, dir))
		check(0, "statx of a %s file: set up: %s", what, m.err);
	else if (statx(m.fd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx))
		check(0, "statx of a %s file: %s", what, strerror(errno));
	else
		check(!(stx.stx_attributes & STATX_ATTR_DAX) == !want,
		      "statx: a %s file %s STATX_ATTR_DAX", what, want ? "has" : "lacks");
	unmap(&m);
}

static int set_lease(int fd, int type)
{
	return fcntl(fd, F_SETLEASE, type) ? errno : 0;
}

static int wait_lease_signal(siginfo_t *si, int secs)
{
	struct timespec ts = { .tv_sec = secs };
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	return sigtimedwait(&set, si, &ts);
}

/* Releasing a lease clears F_SETSIG, so every lease must set it anew. */
static int take_lease(int fd)
{
	return fcntl(fd, F_SETSIG, SIGRTMIN) ? errno : set_lease(fd, F_WRLCK);
}

/* Leaves the write lease held on @m->fd. */
static void check_lease_second_open(const struct mapping *m)
{
	int err, fd2, sig;

	err = set_lease(m->fd, F_LAYOUT | F_WRLCK);
	check_errno(!err, err, EINVAL, "F_SETLEASE F_LAYOUT|F_WRLCK (never merged)");
	err = take_lease(m->fd);
	check_errno(!err, err, 0, "F_SETLEASE F_WRLCK on the fd backing a MAP_SHARED mapping");
	set_lease(m->fd, F_UNLCK);
	sig = fcntl(m->fd, F_GETSIG);
	check(sig == 0, "F_SETLEASE F_UNLCK resets F_SETSIG (F_GETSIG %d)", sig);
	fd2 = open(m->path, O_RDONLY | O_CLOEXEC);
	if (fd2 < 0) {
		check(0, "second open of the lease file: %s", strerror(errno));
		return;
	}
	err = set_lease(m->fd, F_WRLCK);
	check_errno(!err, err, EAGAIN, "F_SETLEASE F_WRLCK while a second fd of the file is open");
	close(fd2);
	err = take_lease(m->fd);
	check_errno(!err, err, 0, "F_SETLEASE F_WRLCK again once the second fd is closed");
}

/* The gap the library must close itself: no break for an fd already open. */
static void check_inherited_ftruncate(const struct mapping *m)
{
	siginfo_t si;
	pid_t pid;
	int err;

	pid = fork();
	if (pid == 0)
		_exit(ftruncate(m->fd, m->len / 2) ? errno : 0);
	err = pid < 0 ? errno : child_errno(pid);
	check(!err, "ftruncate in a child through the inherited lease fd: %s", strerror(err));
	check(wait_lease_signal(&si, 1) < 0 && errno == EAGAIN,
	      "that ftruncate does not break the lease (no signal within 1 s)");
	check(fcntl(m->fd, F_GETLEASE) == F_WRLCK, "the lease is still F_WRLCK after it");
}

static void check_truncate_breaks_lease(const struct mapping *m)
{
	double start = now_s(), took;
	siginfo_t si;
	pid_t pid;
	int err;

	pid = fork();
	if (pid == 0)
		_exit(truncate(m->path, 0) ? errno : 0);
	if (pid < 0) {
		check(0, "fork: %s", strerror(errno));
		return;
	}
	if (wait_lease_signal(&si, 2 * BREAK_LIMIT_S) < 0)
		check(0, "truncate(2) in another process signals the lease holder: %s",
		      strerror(errno));
	else
		check(si.si_fd == m->fd,
		      "truncate(2) in another process signals the lease holder (si_fd %d, lease fd %d)",
		      si.si_fd, m->fd);
	err = set_lease(m->fd, F_UNLCK);
	check_errno(!err, err, 0, "F_SETLEASE F_UNLCK after the break signal");
	err = child_errno(pid);
	took = now_s() - start;
	check(!err, "the truncate(2) completes after the release: %s", strerror(err));
	check(took < BREAK_LIMIT_S, "it took %.3f s (limit %d s)", took, BREAK_LIMIT_S);
}

static void test_leases(void)
{
	struct mapping m = unmapped;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (map_file(&m, env.fsdax_dir, MAP_SHARED)) {
		check(0, "leases: set up: %s", m.err);
	} else {
		check_lease_second_open(&m);
		check_inherited_ftruncate(&m);
		check_truncate_breaks_lease(&m);
	}
	set_lease(m.fd, F_UNLCK);
	unmap(&m);
}

/* Exposes a pinned device-DAX MR on rxe0 to a writer on rxe1; its WC status. */
static int serve_target(int sock)
{
	struct mapping m = unmapped;
	struct rdma_peer_info remote;
	struct ibv_mr *mr = NULL;
	struct rdma_peer p;
	int status = -1;

	if (map_devdax(&m, RDMA_SIZE)) {
		fprintf(stderr, "env_contract: target: %s\n", m.err);
		return -1;
	}
	memset(m.addr, 0, m.len);
	if (!rdma_peer_open(&p, env.rxe0, env.gid_index)) {
		mr = ibv_reg_mr(p.pd, m.addr, m.len, MR_ACCESS);
		if (!mr)
			perror("env_contract: target: ibv_reg_mr");
		else if (!rdma_peer_connect(&p, sock, mr, &remote))
			status = remote_writer_write(sock, 0, RDMA_SIZE);
		if (mr)
			ibv_dereg_mr(mr);
		rdma_peer_close(&p);
	}
	unmap(&m);
	return status;
}

/* Through a mapping of its own, so only what reached the device counts. */
static void check_devdax_pattern(void)
{
	struct mapping m = unmapped;
	size_t diff;

	if (map_devdax(&m, RDMA_SIZE)) {
		check(0, "read back %s: %s", env.devdax, m.err);
		return;
	}
	diff = remote_writer_verify(m.addr, RDMA_SIZE);
	check(diff == RDMA_SIZE, "%s read back through a new mapping: %s%#zx", env.devdax,
	      diff == RDMA_SIZE ? "all bytes match, " : "first difference at byte ", diff);
	unmap(&m);
}

static void test_remote_write(void)
{
	int sock, status, err;
	pid_t pid;

	if (!env.rxe0 || !env.rxe1 || !env.devdax || env.gid_index < 0)
		return;
	sock = remote_writer_start(env.rxe1, env.gid_index, RDMA_SIZE, &pid);
	if (!check(sock >= 0, "remote writer on %s starts", env.rxe1))
		return;
	status = serve_target(sock);
	check(status == IBV_WC_SUCCESS, "RDMA WRITE of 2 MiB %s -> device-DAX MR on %s: %s",
	      env.rxe1, env.rxe0, status < 0 ? "no completion" : ibv_wc_status_str(status));
	err = remote_writer_stop(sock, pid);
	check(!err, "the writer process exits cleanly: %s", strerror(err));
	check_devdax_pattern();
}

int main(void)
{
	if (read_env())
		return check_done();
	check_dax_attr(env.fsdax_dir, 1, "fsdax");
	check_dax_attr(env.pagecache_dir, 0, "page-cache");
	test_rxe0();
	test_leases();
	test_remote_write();
	return check_done();
}
