// SPDX-License-Identifier: MIT
/*
 * Correctness bugs found by trying the man pages on both kernels, one check
 * each that failed before its fix:
 * - System V shared memory is shmem, also when its id (the inode number
 *   /proc/self/maps shows) is 0, as the first segment of an IPC namespace;
 * - a read-only shared mapping (page-cache, memfd): 7.x pins it; 6.1
 *   refuses it (a forced-write pin) with EFAULT and a message naming that rule;
 * - a PROT_READ, MAP_PRIVATE page-cache mapping registers, and returns;
 * - an unlinked or renamed-over registered file reads as deleted;
 * - without the capability that /proc/self/map_files needs, a deleted file
 *   registers again while the fd its lease was taken through is open, and
 *   fails with ENOENT once that fd is closed (rdmapin_reg_mr(3)).
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
#include <sys/mman.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include <rdmapin/rdmapin.h>
#include "check.h"
#include "guest.h"

#define RO_LEN (64UL << 10)

/* In a fresh IPC namespace, so that the segment's id is 0. */
static void sysv_in_child(void *arg)
{
	struct ibv_pd *pd = arg;
	struct rdmapin_range_attr range;
	struct rdmapin_mr_attr attr = { 0 };
	struct ibv_mr *mr;
	int id;
	void *p;

	if (!check(!unshare(CLONE_NEWIPC), "SysV: a new IPC namespace"))
		return;
	id = shmget(IPC_PRIVATE, REGION_SIZE, IPC_CREAT | 0600);
	p = id < 0 ? (void *)-1 : shmat(id, NULL, 0);
	if (!check(p != (void *)-1, "SysV: shmget+shmat"))
		return;
	shmctl(id, IPC_RMID, NULL);
	check(id == 0, "SysV: the namespace's first segment has id %d", id);
	range.backing = 0;
	rdmapin_query_range(p, REGION_SIZE, &range);
	check(range.backing == RDMAPIN_BACKING_SHMEM, "SysV id %d: rdmapin_query_range says %s",
	      id, rdmapin_backing_str(range.backing));
	mr = rdmapin_reg_mr(pd, p, REGION_SIZE, IBV_ACCESS_LOCAL_WRITE);
	if (check(mr != NULL, "SysV: registers: %s", mr ? "yes" : rdmapin_last_error())) {
		rdmapin_query_mr(mr, &attr);
		check(attr.backing == RDMAPIN_BACKING_SHMEM, "SysV: registered as %s",
		      rdmapin_backing_str(attr.backing));
		rdmapin_dereg_mr(mr);
	}
	shmdt(p);
}

/* A PROT_READ shared mapping: of a page-cache file, or with @memfd of shmem. */
static void read_only_shared(struct ibv_pd *pd, bool memfd)
{
	const char *what = memfd ? "memfd" : "page-cache";
	struct mapping m = unmapped;
	struct ibv_mr *mr;
	void *ro;

	if (memfd) {
		m.fd = memfd_create("test_reg_bugs", MFD_CLOEXEC);
		if (m.fd < 0 || ftruncate(m.fd, REGION_SIZE))
			snprintf(m.err, sizeof(m.err), "memfd: %s", strerror(errno));
	} else {
		create_file(&m, env.pagecache_dir);
	}
	ro = m.fd < 0 ? MAP_FAILED : mmap(NULL, REGION_SIZE, PROT_READ, MAP_SHARED, m.fd, 0);
	if (!check(ro != MAP_FAILED, "read-only %s: set up: %s", what, m.err))
		return unmap(&m);
	mr = rdmapin_reg_mr(pd, ro, RO_LEN, IBV_ACCESS_REMOTE_READ);
	if (env.kernel == KERNEL_7)
		check(mr != NULL, "PROT_READ shared %s, remote read: registers on 7.x: %s", what,
		      mr ? "yes" : rdmapin_last_error());
	else
		check(!mr && errno == EFAULT && strstr(rdmapin_last_error(), "forced write") &&
		      strstr(rdmapin_last_error(), "PROT_WRITE"),
		      "PROT_READ shared %s on 6.1: EFAULT naming the rule: %s (%s)", what,
		      strerror(errno), rdmapin_last_error());
	if (mr)
		rdmapin_dereg_mr(mr);
	munmap(ro, REGION_SIZE);
	unmap(&m);
}

/* The call: in a child with a deadline, as a hang must fail, not stall. */
static void private_read_only_in_child(void *arg)
{
	struct ibv_pd *pd = arg;
	struct mapping m = unmapped;
	struct ibv_mr *mr;
	char *p;

	alarm(60);
	if (!check(!create_file(&m, env.pagecache_dir), "private read-only: set up: %s", m.err))
		return unmap(&m);
	p = mmap(NULL, REGION_SIZE, PROT_READ, MAP_PRIVATE, m.fd, 0);
	mr = rdmapin_reg_mr(pd, p + 8192, RO_LEN, IBV_ACCESS_REMOTE_READ);
	check(mr != NULL, "PROT_READ, MAP_PRIVATE page-cache at +8192: returns, registered: %s",
	      mr ? "yes" : rdmapin_last_error());
	if (mr)
		rdmapin_dereg_mr(mr);
	munmap(p, REGION_SIZE);
	unmap(&m);
}

/* rxe ODP's quirk spares writes from the CPU: accepting it costs nothing here. */
static struct ibv_mr *reg_odp_allowed(struct ibv_pd *pd, const struct mapping *m)
{
	struct ibv_mr *mr;

	setenv("RDMAPIN_ALLOW_QUIRKS", "rxe-odp-offset", 1);
	mr = rdmapin_reg_mr(pd, m->addr, m->len, IBV_ACCESS_LOCAL_WRITE);
	unsetenv("RDMAPIN_ALLOW_QUIRKS");
	return mr;
}

static bool deleted(struct ibv_mr *mr)
{
	struct rdmapin_mr_attr attr = { .comp_mask = RDMAPIN_MR_ATTR_FLAGS };

	return !rdmapin_query_mr(mr, &attr) && attr.comp_mask & RDMAPIN_MR_ATTR_FLAGS &&
	       attr.flags & RDMAPIN_MR_ATTR_FILE_DELETED;
}

/* @rename_over: another file renamed onto its name, else unlink(). */
static void deleted_file(struct ibv_pd *pd, const char *dir, bool rename_over)
{
	const char *how = rename_over ? "renamed over" : "unlinked";
	struct mapping m = unmapped;
	char other[PATH_MAX + 8];
	struct ibv_mr *mr;
	int fd;

	if (!check(!map_file(&m, dir, MAP_SHARED), "deleted: set up: %s", m.err))
		return unmap(&m);
	mr = reg_odp_allowed(pd, &m);
	if (!mr) {
		/* fsdax on 6.1: no ODP, refused; nothing to delete under an MR. */
		check(env.kernel == KERNEL_6_1 && errno == EOPNOTSUPP, "%s: refused, as 6.1 does "
		      "without ODP: %s", dir, rdmapin_last_error());
		return unmap(&m);
	}
	check(!deleted(mr), "%s file in %s: not deleted yet", how, dir);
	snprintf(other, sizeof(other), "%s.new", m.path);
	fd = rename_over ? open(other, O_CREAT | O_WRONLY | O_CLOEXEC, 0600) : -1;
	if (rename_over && fd >= 0)
		close(fd);
	check(rename_over ? !rename(other, m.path) : !unlink(m.path), "%s", how);
	check(deleted(mr), "%s file in %s: rdmapin_query_mr says RDMAPIN_MR_ATTR_FILE_DELETED",
	      how, dir);
	rdmapin_dereg_mr(mr);
	unmap(&m);
}

/* Drops @cap from this process's effective set. */
static int drop_cap(unsigned int cap)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[cap / 32].effective &= ~(1u << cap % 32);
	return syscall(SYS_capset, &h, d);
}

/* Root's own file, but neither CAP_SYS_ADMIN nor CAP_CHECKPOINT_RESTORE. */
static void deleted_refound_in_child(void *arg)
{
	struct ibv_pd *pd = arg;
	struct mapping m = unmapped;
	struct ibv_mr *mr;

	if (!check(!map_file(&m, env.pagecache_dir, MAP_SHARED), "deleted, no map_files: set up: %s",
		   m.err) ||
	    !check(!drop_cap(CAP_SYS_ADMIN) && !drop_cap(CAP_CHECKPOINT_RESTORE),
		   "deleted, no map_files: drop CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE: %s",
		   strerror(errno)))
		return unmap(&m);
	mr = reg_odp_allowed(pd, &m);
	check(mr != NULL, "deleted, no map_files: registers before the unlink: %s",
	      mr ? "yes" : rdmapin_last_error());
	if (mr)
		rdmapin_dereg_mr(mr);
	check(!unlink(m.path), "deleted, no map_files: unlink");
	mr = reg_odp_allowed(pd, &m);
	check(mr != NULL, "deleted, no map_files: registers again while the leased fd is open: %s",
	      mr ? "yes" : rdmapin_last_error());
	if (mr)
		rdmapin_dereg_mr(mr);
	close(m.fd);
	m.fd = -1;
	mr = reg_odp_allowed(pd, &m);
	check(!mr && errno == ENOENT, "deleted, no map_files: ENOENT once that fd is closed: %s",
	      mr ? "registered" : rdmapin_last_error());
	if (mr)
		rdmapin_dereg_mr(mr);
	unmap(&m);
}

int main(void)
{
	struct ibv_pd *pd = start_guest_test();

	if (!pd)
		return check_done();
	unsetenv("RDMAPIN_ALLOW_QUIRKS");
	check_in_child(sysv_in_child, pd);
	read_only_shared(pd, false);
	read_only_shared(pd, true);
	check_in_child(private_read_only_in_child, pd);
	deleted_file(pd, env.pagecache_dir, false);
	deleted_file(pd, env.pagecache_dir, true);
	deleted_file(pd, env.fsdax_dir, false);
	deleted_file(pd, env.fsdax_dir, true);
	check_in_child(deleted_refound_in_child, pd);
	close_pd(pd);
	return check_done();
}
