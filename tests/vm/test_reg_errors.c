// SPDX-License-Identifier: MIT
/*
 * Registrations that must fail: each with the errno that rdmapin.h and
 * ibv_reg_mr() document, a message that names the cause, and nothing left
 * behind (fds, leases, file mappings). Also the other entry points' argument
 * checks, and deregistration of what the library does not own.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "check.h"
#include "guest.h"

#define ACCESS_RW (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)
#define PAGE 4096UL
#define ANY_ERRNO (-1)

static struct ibv_pd *pd;
static struct usage before;

/* Everything a case sets up comes first; then this, then the call under test. */
static void begin(void)
{
	usage_get(&before);
}

/*
 * The outcome of a call that must fail with @want (ANY_ERRNO: some errno)
 * and a message containing @cause; @failed says it did fail.
 */
static void expect_fail(const char *what, int failed, int err, int want, const char *cause)
{
	const char *msg = rdmapin_last_error();

	if (want == ANY_ERRNO)
		check(failed && err, "%s: fails (%s)", what, failed ? strerror(err) : "succeeded");
	else
		check_errno(!failed, err, want, what);
	check(failed && strstr(msg, cause), "%s: message names the cause (\"%s\"): %s", what, cause,
	      msg);
}

/*
 * A registration that must fail; one that did not is undone. The call is an
 * argument, so errno is still the call's on entry.
 */
static void expect_refused(const char *what, struct ibv_mr *mr, int want, const char *cause)
{
	int err = errno;

	expect_fail(what, !mr, err, want, cause);
	if (mr)
		rdmapin_dereg_mr(mr);
	check_usage(&before, what);
}

static struct ibv_mr *reg_ex(struct rdmapin_mr_init_attr *attr)
{
	return rdmapin_reg_mr_ex(pd, attr);
}

static void bad_arguments(void)
{
	struct rdmapin_mr_init_attr attr = { .length = PAGE, .access = ACCESS_RW };
	struct mapping m = unmapped;
	struct ibv_mr *mr;

	if (map_anon(&m)) {
		check(0, "arguments: set up: %s", m.err);
		return;
	}
	attr.addr = m.addr;
	begin();
	mr = rdmapin_reg_mr(NULL, m.addr, PAGE, ACCESS_RW);
	expect_refused("NULL pd", mr, EINVAL, "pd is NULL");
	mr = rdmapin_reg_mr_ex(pd, NULL);
	expect_refused("NULL attr", mr, EINVAL, "attr is NULL");
	mr = rdmapin_reg_mr(pd, m.addr, 0, ACCESS_RW);
	expect_refused("zero length", mr, EINVAL, "length is 0");
	mr = rdmapin_reg_mr(pd, NULL, PAGE, ACCESS_RW);
	expect_refused("addr NULL without an fd", mr, EINVAL, "addr is NULL");
	mr = rdmapin_reg_mr(pd, m.addr, SIZE_MAX - 4 * PAGE, ACCESS_RW);
	expect_refused("length past the end of the address space", mr, EINVAL, "wraps");

	attr.comp_mask = 1U << 31;
	expect_refused("unknown comp_mask bit", reg_ex(&attr), EINVAL, "does not know");
	attr.comp_mask = RDMAPIN_MR_INIT_ATTR_MODES;
	attr.modes = 1U << 7;
	expect_refused("unknown mode bit", reg_ex(&attr), EINVAL, "modes 0x80");
	attr.comp_mask = RDMAPIN_MR_INIT_ATTR_LEASE;
	attr.lease = RDMAPIN_LEASE_NONE + 1;
	expect_refused("unknown lease policy", reg_ex(&attr), EINVAL, "lease policy");
	attr.comp_mask = RDMAPIN_MR_INIT_ATTR_BREAK;
	attr.break_policy = RDMAPIN_BREAK_GRACE + 1;
	expect_refused("unknown break policy", reg_ex(&attr), EINVAL, "break_policy");
	attr.comp_mask = RDMAPIN_MR_INIT_ATTR_LEASE;
	attr.lease = RDMAPIN_LEASE_REQUIRE;
	expect_refused("RDMAPIN_LEASE_REQUIRE on anonymous memory", reg_ex(&attr), EINVAL,
		       "only shared mappings of regular files");
	attr.comp_mask = RDMAPIN_MR_INIT_ATTR_MODES;
	attr.modes = RDMAPIN_MODE_PIN;
	attr.access = ACCESS_RW | IBV_ACCESS_ON_DEMAND;
	expect_refused("IBV_ACCESS_ON_DEMAND with modes RDMAPIN_MODE_PIN", reg_ex(&attr), EINVAL,
		       "drop one of them");
	unmap(&m);
}

/* The grace period must end before the kernel's lease-break-time does. */
static void bad_grace(void)
{
	struct rdmapin_mr_init_attr attr = {
		.comp_mask = RDMAPIN_MR_INIT_ATTR_BREAK,
		.length = PAGE,
		.access = ACCESS_RW,
		.break_policy = RDMAPIN_BREAK_GRACE,
	};
	struct rdmapin_host_caps host;
	struct mapping m = unmapped;
	struct ibv_mr *mr;
	char what[64];

	if (rdmapin_query_host(&host) || map_anon(&m)) {
		check(0, "grace_ms: set up: %s", m.err);
		return;
	}
	attr.addr = m.addr;
	begin();
	attr.grace_ms = 0;
	expect_refused("grace_ms 0", reg_ex(&attr), EINVAL, "grace_ms");
	attr.grace_ms = host.lease_break_time * 500 + 1;
	snprintf(what, sizeof(what), "grace_ms %u (fs.lease-break-time %u s)", attr.grace_ms,
		 host.lease_break_time);
	expect_refused(what, reg_ex(&attr), EINVAL, "grace_ms");
	attr.grace_ms = UINT32_MAX;
	expect_refused("grace_ms UINT32_MAX", reg_ex(&attr), EINVAL, "grace_ms");
	/* The bound itself is allowed: the limit above is not off by one. */
	attr.grace_ms = host.lease_break_time * 500;
	mr = reg_ex(&attr);
	if (check(mr != NULL, "grace_ms %u registers: %s", attr.grace_ms,
		  mr ? "yes" : rdmapin_last_error()))
		check(rdmapin_dereg_mr(mr) == 0, "and deregisters");
	unmap(&m);
}

static void unmapped_ranges(void)
{
	char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct ibv_mr *mr;

	if (!check(p != MAP_FAILED, "unmapped: mmap two pages"))
		return;
	/* The second page first: a hole that nothing else can have taken. */
	munmap(p + PAGE, PAGE);
	begin();
	mr = rdmapin_reg_mr(pd, p, 2 * PAGE, ACCESS_RW);
	expect_refused("partly mapped range (second page unmapped)", mr, EFAULT, "not mapped");
	munmap(p, PAGE);
	begin();
	mr = rdmapin_reg_mr(pd, p, 2 * PAGE, ACCESS_RW);
	expect_refused("unmapped range", mr, EFAULT, "not mapped");
}

/* The kernel refuses FOLL_WRITE pins of a read-only mapping; the library passes that on. */
static void read_only(void)
{
	void *p = mmap(NULL, 4 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct ibv_mr *mr;

	if (!check(p != MAP_FAILED, "read-only: mmap"))
		return;
	begin();
	/* Expected: EFAULT from the kernel, which the check prints. */
	mr = rdmapin_reg_mr(pd, p, 4 * PAGE, IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE);
	expect_refused("PROT_READ mapping with IBV_ACCESS_REMOTE_WRITE", mr, ANY_ERRNO,
		       "ibv_reg_mr");
	munmap(p, 4 * PAGE);
}

static void devdax_misaligned(void)
{
	struct mapping m = unmapped;
	struct ibv_mr *mr;

	if (map_devdax(&m, REGION_SIZE)) {
		check(0, "device-DAX: set up: %s", m.err);
		return;
	}
	begin();
	mr = rdmapin_reg_mr(pd, (char *)m.addr + PAGE, 2UL << 20, ACCESS_RW);
	expect_refused("device-DAX at +4 KiB, 2 MiB", mr, EINVAL, "alignment");
	mr = rdmapin_reg_mr(pd, m.addr, (2UL << 20) + PAGE, ACCESS_RW);
	expect_refused("device-DAX 2 MiB + 4 KiB long", mr, EINVAL, "alignment");
	unmap(&m);
}

static void file_form(void)
{
	struct mapping m = unmapped;
	struct ibv_mr *mr;
	int fd;

	if (create_file(&m, env.pagecache_dir)) {
		check(0, "file form: set up: %s", m.err);
		unmap(&m);
		return;
	}
	fd = dup(m.fd);
	close(fd);
	begin();
	mr = rdmapin_reg_file_mr(pd, fd, 0, PAGE, ACCESS_RW);
	expect_refused("rdmapin_reg_file_mr with a closed fd", mr, EBADF, "cannot stat");
	mr = rdmapin_reg_file_mr(pd, m.fd, 512, PAGE, ACCESS_RW);
	expect_refused("rdmapin_reg_file_mr at offset 512", mr, EINVAL, "page size");
	mr = rdmapin_reg_file_mr(pd, m.fd, -(uint64_t)PAGE, PAGE, ACCESS_RW);
	expect_refused("rdmapin_reg_file_mr at offset 2^64 - 4096", mr, EINVAL, "page size");
	/* A writable MR needs a writable shared mapping, so a file opened for writing. */
	fd = open(m.path, O_RDONLY | O_CLOEXEC);
	if (check(fd >= 0, "file form: open %s read-only", m.path)) {
		begin();
		mr = rdmapin_reg_file_mr(pd, fd, 0, PAGE, ACCESS_RW);
		expect_refused("rdmapin_reg_file_mr, O_RDONLY fd, writable access", mr, EACCES,
			       "O_RDWR");
		close(fd);
	}
	unmap(&m);
}

/* rdmapin_mr_init_attr.fd must be the file that addr maps. */
static void wrong_fd(void)
{
	struct rdmapin_mr_init_attr attr = {
		.comp_mask = RDMAPIN_MR_INIT_ATTR_FD,
		.access = ACCESS_RW,
		.length = PAGE,
	};
	struct mapping a = unmapped, f = unmapped;

	if (map_anon(&a) || create_file(&f, env.pagecache_dir)) {
		check(0, "wrong fd: set up: %s", a.addr == MAP_FAILED ? a.err : f.err);
		goto out;
	}
	attr.addr = a.addr;
	attr.fd = f.fd;
	begin();
	expect_refused("anonymous memory with an fd of a file", reg_ex(&attr), EINVAL,
		       "is not the file mapped");
out:
	unmap(&f);
	unmap(&a);
}

/*
 * No fd of the process is open on the mapped file, so no lease can be
 * taken. 6.1 has no On-Demand Paging: fsdax is refused before any lease.
 */
static void fsdax_fd_closed(void)
{
	struct mapping m = unmapped;
	struct ibv_mr *mr;

	if (map_fsdax_shared(&m)) {
		check(0, "fsdax, fd closed: set up: %s", m.err);
		unmap(&m);
		return;
	}
	close(m.fd);
	m.fd = -1;
	begin();
	mr = rdmapin_reg_mr(pd, m.addr, m.len, ACCESS_RW);
	if (env.kernel == KERNEL_7)
		expect_refused("fsdax mapping whose fd was closed", mr, EBADF, "no open file");
	else
		expect_refused("fsdax mapping whose fd was closed (6.1: no ODP)", mr, EOPNOTSUPP,
			       "On-Demand Paging");
	unmap(&m);
}

/* A mapping of @map's kind whose file this process opened a second time. */
static int map_opened_twice(struct mapping *m, int (*map)(struct mapping *), int *fd2)
{
	if (map(m))
		return -1;
	*fd2 = open(m->path, O_RDWR | O_CLOEXEC);
	if (*fd2 < 0)
		snprintf(m->err, sizeof(m->err), "second open of %s: %s", m->path, strerror(errno));
	return *fd2 < 0 ? -1 : 0;
}

static void fsdax_open_elsewhere(void)
{
	struct mapping m = unmapped;
	int fd2 = -1;

	if (map_opened_twice(&m, map_fsdax_shared, &fd2)) {
		check(0, "fsdax opened twice: set up: %s", m.err);
	} else {
		begin();
		expect_refused("fsdax file opened a second time",
			       rdmapin_reg_mr(pd, m.addr, m.len, ACCESS_RW), EAGAIN,
			       "open elsewhere");
	}
	if (fd2 >= 0)
		close(fd2);
	unmap(&m);
}

/* Page-cache files are leased only if they can be: a second open costs the lease, not the MR. */
static void pagecache_open_elsewhere(void)
{
	struct rdmapin_mr_init_attr attr = {
		.comp_mask = RDMAPIN_MR_INIT_ATTR_LEASE,
		.access = ACCESS_RW,
		.lease = RDMAPIN_LEASE_REQUIRE,
	};
	struct rdmapin_mr_attr q = { 0 };
	struct mapping m = unmapped;
	struct ibv_mr *mr;
	int fd2 = -1, ret;

	if (map_opened_twice(&m, map_pagecache_shared, &fd2)) {
		check(0, "page-cache opened twice: set up: %s", m.err);
		goto out;
	}
	begin();
	mr = rdmapin_reg_mr(pd, m.addr, m.len, ACCESS_RW);
	if (check(mr != NULL, "page-cache file opened twice: registers without a lease: %s",
		  mr ? "yes" : rdmapin_last_error())) {
		ret = rdmapin_query_mr(mr, &q);
		check(!ret && q.lease == RDMAPIN_LEASE_KIND_NONE &&
			      q.backing == RDMAPIN_BACKING_PAGECACHE,
		      "page-cache file opened twice: query says lease kind %d (want NONE)",
		      q.lease);
		check(count_leases(getpid(), NULL) == before.leases,
		      "page-cache file opened twice: /proc/locks lists no lease");
		check(rdmapin_dereg_mr(mr) == 0, "page-cache file opened twice: dereg");
	}
	check_usage(&before, "page-cache file opened twice, registered and deregistered");
	attr.addr = m.addr;
	attr.length = m.len;
	expect_refused("page-cache file opened twice, RDMAPIN_LEASE_REQUIRE", reg_ex(&attr), EAGAIN,
		       "open elsewhere");
out:
	if (fd2 >= 0)
		close(fd2);
	unmap(&m);
}

/* fsdax files are always leased; 6.1 refuses fsdax before it looks at the policy. */
static void fsdax_lease_none(void)
{
	struct rdmapin_mr_init_attr attr = {
		.comp_mask = RDMAPIN_MR_INIT_ATTR_LEASE,
		.access = ACCESS_RW,
		.lease = RDMAPIN_LEASE_NONE,
	};
	struct mapping m = unmapped;

	if (map_fsdax_shared(&m)) {
		check(0, "fsdax, RDMAPIN_LEASE_NONE: set up: %s", m.err);
		unmap(&m);
		return;
	}
	attr.addr = m.addr;
	attr.length = m.len;
	begin();
	if (env.kernel == KERNEL_7)
		expect_refused("fsdax with RDMAPIN_LEASE_NONE", reg_ex(&attr), EINVAL,
			       "always leased");
	else
		expect_refused("fsdax with RDMAPIN_LEASE_NONE (6.1: no ODP)", reg_ex(&attr),
			       EOPNOTSUPP, "On-Demand Paging");
	unmap(&m);
}

/*
 * ibv_reg_mr() is the last step, after the lease: its failure must give the
 * lease back (and the file form its mapping). The kernel refuses remote
 * write without local write (ib_check_mr_access()) in either mode.
 */
static void fails_after_lease(void)
{
	struct rdmapin_mr_attr q = { 0 };
	struct mapping m = unmapped;
	struct ibv_mr *mr;

	if (env.kernel == KERNEL_7 ? map_fsdax_shared(&m) : map_pagecache_shared(&m)) {
		check(0, "failure after the lease: set up: %s", m.err);
		unmap(&m);
		return;
	}
	begin();
	/* With sound access flags the same file registers leased: the lease step is reached. */
	mr = rdmapin_reg_mr(pd, m.addr, m.len, ACCESS_RW);
	if (check(mr != NULL, "failure after the lease: %s registers with sound flags: %s", m.path,
		  mr ? "yes" : rdmapin_last_error())) {
		rdmapin_query_mr(mr, &q);
		check(q.lease == RDMAPIN_LEASE_KIND_EMULATED,
		      "failure after the lease: it is leased then (kind %d)", q.lease);
		rdmapin_dereg_mr(mr);
	}
	mr = rdmapin_reg_mr(pd, m.addr, m.len, IBV_ACCESS_REMOTE_WRITE);
	expect_refused("leased file, IBV_ACCESS_REMOTE_WRITE without LOCAL_WRITE", mr, EINVAL,
		       "ibv_reg_mr");
	mr = rdmapin_reg_file_mr(pd, m.fd, 0, m.len, IBV_ACCESS_REMOTE_WRITE);
	expect_refused("file form, IBV_ACCESS_REMOTE_WRITE without LOCAL_WRITE", mr, EINVAL,
		       "ibv_reg_mr");
	unmap(&m);
}

/* As ibv_reg_mr(): IBV_ACCESS_ON_DEMAND where the device has no ODP is EINVAL. */
static void on_demand(void)
{
	struct rdmapin_mr_attr q = { 0 };
	struct mapping m = unmapped;
	struct ibv_mr *mr;

	if (map_anon(&m)) {
		check(0, "IBV_ACCESS_ON_DEMAND: set up: %s", m.err);
		return;
	}
	begin();
	mr = rdmapin_reg_mr(pd, m.addr, m.len, ACCESS_RW | IBV_ACCESS_ON_DEMAND);
	if (env.kernel == KERNEL_6_1) {
		expect_refused("IBV_ACCESS_ON_DEMAND on 6.1's rxe", mr, EINVAL, "On-Demand Paging");
	} else if (check(mr != NULL, "IBV_ACCESS_ON_DEMAND on 7.x's rxe registers: %s",
			 mr ? "yes" : rdmapin_last_error())) {
		rdmapin_query_mr(mr, &q);
		check(q.mode == RDMAPIN_MODE_ODP, "IBV_ACCESS_ON_DEMAND: mode %d (want ODP, %d)",
		      q.mode, RDMAPIN_MODE_ODP);
		check(rdmapin_dereg_mr(mr) == 0, "IBV_ACCESS_ON_DEMAND: dereg");
		check_usage(&before, "IBV_ACCESS_ON_DEMAND");
	}
	unmap(&m);
}

/* rdmapin_dereg_mr() answers as ibv_dereg_mr(): an errno value, with errno set too. */
static void expect_dereg_einval(const char *what, struct ibv_mr *mr)
{
	int ret;

	errno = 0;
	ret = rdmapin_dereg_mr(mr);
	check(ret == EINVAL && errno == EINVAL, "%s: returns %d, errno %s (want EINVAL)", what, ret,
	      strerror(errno));
	expect_fail(what, ret != 0, ret, EINVAL, "not an MR that librdmapin registered");
}

static void bad_dereg(void)
{
	struct mapping m = unmapped;
	struct ibv_mr *mr;

	if (map_anon(&m)) {
		check(0, "dereg: set up: %s", m.err);
		return;
	}
	begin();
	mr = rdmapin_reg_mr(pd, m.addr, m.len, ACCESS_RW);
	if (check(mr != NULL, "dereg: register anonymous memory: %s",
		  mr ? "yes" : rdmapin_last_error())) {
		check(rdmapin_dereg_mr(mr) == 0, "first rdmapin_dereg_mr");
		/* Only the address is compared: nothing behind it is read. */
		expect_dereg_einval("second rdmapin_dereg_mr of the same MR", mr);
	}
	expect_dereg_einval("rdmapin_dereg_mr(NULL)", NULL);
	check_usage(&before, "double dereg");

	mr = ibv_reg_mr(pd, m.addr, m.len, ACCESS_RW);
	if (check(mr != NULL, "plain ibv_reg_mr: %s", mr ? "yes" : strerror(errno))) {
		expect_dereg_einval("rdmapin_dereg_mr of a plain ibv_reg_mr MR", mr);
		/* Still registered: its own dereg succeeds, which it would not twice. */
		check(ibv_dereg_mr(mr) == 0, "that MR still deregisters with ibv_dereg_mr");
	}
	unmap(&m);
}

static void null_arguments(void)
{
	struct rdmapin_async_event ev;
	struct rdmapin_device_caps caps;
	struct rdmapin_mr_attr q = { .comp_mask = 0 };
	struct mapping m = unmapped;
	struct ibv_mr *mr;
	int ret;

	if (map_anon(&m)) {
		check(0, "NULL arguments: set up: %s", m.err);
		return;
	}
	mr = rdmapin_reg_mr(pd, m.addr, m.len, ACCESS_RW);
	check(mr != NULL, "NULL arguments: register an MR to query");
	begin();
	ret = rdmapin_query_mr(mr, NULL);
	expect_fail("rdmapin_query_mr(mr, NULL)", ret == -1, errno, EINVAL, "attr is NULL");
	ret = rdmapin_query_mr(NULL, &q);
	expect_fail("rdmapin_query_mr(NULL, attr)", ret == -1, errno, EINVAL, "not an MR");
	ret = rdmapin_query_device(NULL, &caps);
	expect_fail("rdmapin_query_device(NULL, caps)", ret == -1, errno, EINVAL,
		    "context is NULL");
	ret = rdmapin_query_device(pd->context, NULL);
	expect_fail("rdmapin_query_device(context, NULL)", ret == -1, errno, EINVAL,
		    "caps is NULL");
	ret = rdmapin_get_async_event(pd->context, NULL);
	expect_fail("rdmapin_get_async_event(context, NULL)", ret == -1, errno, EINVAL,
		    "event is NULL");
	ret = rdmapin_get_async_event(NULL, &ev);
	expect_fail("rdmapin_get_async_event(NULL, event)", ret == -1, errno, EINVAL,
		    "context is NULL");
	ret = rdmapin_get_async_fd(NULL);
	expect_fail("rdmapin_get_async_fd(NULL)", ret == -1, errno, EINVAL, "context is NULL");
	ret = rdmapin_query_host(NULL);
	expect_fail("rdmapin_query_host(NULL)", ret == -1, errno, EINVAL, "caps is NULL");
	check_usage(&before, "NULL arguments");
	if (mr)
		rdmapin_dereg_mr(mr);
	unmap(&m);
}

/*
 * The first lease starts the library's lease-break thread and its fds, once
 * per process: take one before any case compares fd counts.
 */
static void warm_up(void)
{
	struct rdmapin_mr_attr q = { 0 };
	struct mapping m = unmapped;
	struct ibv_mr *mr;

	if (create_file(&m, env.pagecache_dir)) {
		check(0, "warm-up: set up: %s", m.err);
		unmap(&m);
		return;
	}
	mr = rdmapin_reg_file_mr(pd, m.fd, 0, REGION_SIZE, ACCESS_RW);
	if (check(mr != NULL, "warm-up: a leased page-cache registration: %s",
		  mr ? "yes" : rdmapin_last_error())) {
		rdmapin_query_mr(mr, &q);
		check(q.lease == RDMAPIN_LEASE_KIND_EMULATED, "warm-up: it holds a lease (kind %d)",
		      q.lease);
		rdmapin_dereg_mr(mr);
	}
	unmap(&m);
}

int main(void)
{
	pd = start_guest_test();
	if (!pd)
		return check_done();
	warm_up();
	bad_arguments();
	bad_grace();
	unmapped_ranges();
	read_only();
	devdax_misaligned();
	file_form();
	wrong_fd();
	fsdax_fd_closed();
	if (env.kernel == KERNEL_7)
		fsdax_open_elsewhere();
	pagecache_open_elsewhere();
	fsdax_lease_none();
	fails_after_lease();
	on_demand();
	bad_dereg();
	null_arguments();
	close_pd(pd);
	return check_done();
}
