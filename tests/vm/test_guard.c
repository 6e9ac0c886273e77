// SPDX-License-Identifier: MIT
/*
 * The truncate guard in both test guests: while a file is guarded, every way
 * to truncate it fails with ETXTBSY, from its owner and from other processes,
 * while a file next to it truncates as before; guards count across processes
 * through the pinned instance; once the last is removed, the truncates
 * succeed again. Hole punching and range collapsing are refused too. What
 * the guard does not cover is recorded as well: a lease on a guarded file
 * still breaks before the guard refuses a truncate.
 * Registrations by a privileged process with no daemon are guarded directly;
 * an unprivileged one's fall back to a lease (test_guardd covers the daemon).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/types.h>
#include <rdmapin/rdmapin.h>
#include "check.h"
#include "guard_map.h"
#include "guardd_ctl.h"
#include "guest.h"
#include "truncate_paths.h"

#define MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)

/* The guard's own calls, on an open file. */
static int guard_add(int fd)
{
	struct rdmapin_guard_key key;

	return rdmapin_guard_key_of(fd, &key, "test") ?: rdmapin_guard_ref(&key, "test");
}

static int guard_del(int fd)
{
	struct rdmapin_guard_key key;

	return rdmapin_guard_key_of(fd, &key, "test") ?: rdmapin_guard_unref(&key, "test");
}

struct files {
	struct mapping guarded, other;
	const char *where;
};

static off_t size_of(int fd)
{
	struct stat st;

	return fstat(fd, &st) ? -1 : st.st_size;
}

/* Every path against the guarded file (@want: its errno) and the other file. */
/* Every path against the guarded file (@want: its errno) and the other file. */
static void check_paths(const struct files *f, int want, const char *who)
{
	char what[256];

	snprintf(what, sizeof(what), "%s, %s: the file", f->where, who);
	check_truncate_paths(f->guarded.path, f->guarded.fd, want, what);
	snprintf(what, sizeof(what), "%s, %s: a file next to it", f->where, who);
	check_truncate_paths(f->other.path, f->other.fd, 0, what);
}

/* In a forked child, on the fds it inherited: the lease-free ftruncate case. */
static void child_paths(void *arg)
{
	check_paths(arg, ETXTBSY, "a child");
}

/* This program, as started: under valgrind, /proc/self/exe is valgrind. */
static const char *self;

/*
 * Runs this program as another process that opens the pinned guard and adds
 * or removes a guard of @path: the process's errno, or ECHILD.
 */
static int other_process(const char *op, const char *path)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execl(self, self, op, path, (char *)NULL);
		_exit(ECHILD);
	}
	return pid < 0 ? errno : child_errno(pid);
}

static int other_process_main(const char *op, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return errno;
	ret = strcmp(op, "add") ? guard_del(fd) : guard_add(fd);
	if (ret)
		fprintf(stderr, "test_guard %s: %s\n", op, rdmapin_last_error());
	return ret ? errno : 0;
}

/*
 * Block-freeing fallocate() modes are refused too, for the owner as for
 * anyone (test_guard_blocks covers every such path); writes are not.
 */
static void check_fallocate(const struct files *f)
{
	const off_t chunk = 2UL << 20;	/* aligned to any block size, DAX's 2 MiB too */
	char byte = 1;
	int ret;

	ret = fallocate(f->guarded.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, chunk);
	check_errno(!ret, errno, ETXTBSY, "fallocate(PUNCH_HOLE) of the guarded file");
	ret = fallocate(f->guarded.fd, FALLOC_FL_COLLAPSE_RANGE, 0, chunk);
	check_errno(!ret, errno, ETXTBSY, "fallocate(COLLAPSE_RANGE) of the guarded file");
	check(size_of(f->guarded.fd) == (off_t)REGION_SIZE,
	      "%s: the guarded file keeps its size, %lld", f->where,
	      (long long)size_of(f->guarded.fd));
	check(pwrite(f->guarded.fd, &byte, 1, REGION_SIZE - 1) == 1,
	      "%s: writes to the guarded file go through", f->where);
}

/*
 * The kernel consults leases before LSM hooks: an open(O_TRUNC) of a file
 * that is guarded and leased breaks the lease before the guard refuses it.
 * O_NONBLOCK shows it without waiting for the holder: EAGAIN, not ETXTBSY.
 */
static void open_trunc_child(void *arg)
{
	const struct files *f = arg;
	int fd = open(f->guarded.path, O_WRONLY | O_TRUNC | O_NONBLOCK | O_CLOEXEC);

	check_errno(fd >= 0, errno, EAGAIN,
		    "a child: open(O_TRUNC | O_NONBLOCK) of the guarded file under a lease");
	if (fd >= 0)
		close(fd);
}

static void check_lease_first(const struct files *f)
{
	const struct timespec timeout = { .tv_sec = 5 };
	sigset_t sigio, old;

	sigemptyset(&sigio);
	sigaddset(&sigio, SIGIO);
	sigprocmask(SIG_BLOCK, &sigio, &old);
	if (fcntl(f->guarded.fd, F_SETLEASE, F_WRLCK)) {
		check(0, "%s: take a lease on the guarded file: %s", f->where, strerror(errno));
		goto out;
	}
	check_in_child(open_trunc_child, (void *)f);
	check(sigtimedwait(&sigio, NULL, &timeout) == SIGIO,
	      "%s: the lease holder is told to release the lease", f->where);
	fcntl(f->guarded.fd, F_SETLEASE, F_UNLCK);
out:
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static void guarded_dir(const char *dir, const char *where)
{
	struct files f = { .guarded = unmapped, .other = unmapped, .where = where };
	int ret;

	if (create_file(&f.guarded, dir) || create_file(&f.other, dir)) {
		check(0, "%s: create files: %s%s", where, f.guarded.err, f.other.err);
		goto out;
	}
	check_paths(&f, 0, "before the guard");
	ret = guard_add(f.guarded.fd);
	if (!check(!ret, "%s: rdmapin_guard_add: %s", where, ret ? rdmapin_last_error() : "ok"))
		goto out;
	check_paths(&f, ETXTBSY, "its owner");
	check_in_child(child_paths, &f);
	check_lease_first(&f);
	check_fallocate(&f);

	/* A second guard from another process: it holds after the owner's is gone. */
	ret = other_process("add", f.guarded.path);
	check(!ret, "%s: another process adds a guard: %s", where, strerror(ret));
	ret = guard_del(f.guarded.fd);
	check(!ret, "%s: the owner removes its guard: %s", where,
	      ret ? rdmapin_last_error() : "ok");
	ret = try_truncate(TRUNCATE_SHRINK, f.guarded.path, f.guarded.fd);
	check_errno(!ret, ret, ETXTBSY, "the other process's guard still holds");
	ret = other_process("del", f.guarded.path);
	check(!ret, "%s: the other process removes its guard: %s", where, strerror(ret));

	check_paths(&f, 0, "after the last guard is removed");
	errno = 0;
	ret = guard_del(f.guarded.fd);
	check_errno(!ret, errno, ENOENT, "guard_del() of an unguarded file");
out:
	unmap(&f.guarded);
	unmap(&f.other);
}

/* How many programs the guard attaches, at most. */
#define MAX_PROGS 3

/* The guard's pins are root's alone: anyone who can open the map edits it. */
static void check_pins(void)
{
	static const char *const progs[NR_KERNELS][MAX_PROGS] = {
		[KERNEL_6_1] = { "guard_path_truncate", "guard_setattr_dentry" },
		[KERNEL_7] = { "guard_path_truncate", "guard_file_truncate",
			       "guard_setattr_idmap" },
	};
	struct stat st = { 0 };
	char path[PATH_MAX];
	int i, ret;

	ret = stat(RDMAPIN_GUARD_DIR, &st);
	check(!ret && !st.st_uid && (st.st_mode & 0777) == 0700, "%s is root's, mode 0700 (%03o)",
	      RDMAPIN_GUARD_DIR, st.st_mode & 0777);
	ret = stat(RDMAPIN_GUARD_MAP, &st);
	check(!ret && (st.st_mode & 0777) == 0600, "%s has mode 0600 (%03o)", RDMAPIN_GUARD_MAP,
	      st.st_mode & 0777);
	for (i = 0; i < MAX_PROGS && progs[env.kernel][i]; i++) {
		snprintf(path, sizeof(path), "%s/%s", RDMAPIN_GUARD_DIR, progs[env.kernel][i]);
		check(!access(path, F_OK), "%s is pinned", path);
	}
}

/* A process without privilege can neither load nor edit the guard. */
static void unprivileged(void *arg)
{
	char why[512];
	int fd = *(int *)arg, ret;

	if (setgid(65534) || setuid(65534)) {
		check(0, "become nobody: %s", strerror(errno));
		return;
	}
	ret = guard_probe(why, sizeof(why));
	check(ret == 1 && strstr(why, "root-only"),
	      "nobody: rdmapin-guardd --probe: the guard is root's (%d: %s)", ret,
	      ret < 0 ? rdmapin_last_error() : why);
	ret = guard_add(fd);
	check_errno(!ret, errno, EPERM, "nobody: guard_add()");
	printf("# nobody: %s\n", rdmapin_last_error());
}

/* The kernel detaches the programs a moment after their last pin goes. */
static int ftruncate_once_unguarded(int fd, off_t len)
{
	double until = now_s() + 5;
	int ret;

	while ((ret = ftruncate(fd, len)) && errno == ETXTBSY && now_s() < until)
		usleep(10000);
	return ret;
}

/* Unloading lifts every guard; loading again starts afresh. */
static void check_unload(const struct mapping *m)
{
	char why[512];
	int ret;

	if (!check(!guard_add(m->fd), "guard a file: %s", rdmapin_last_error()))
		return;
	check(!guard_unload(), "unload the guard: rm -r %s", RDMAPIN_GUARD_DIR);
	ret = ftruncate_once_unguarded(m->fd, 0);
	check_errno(!ret, errno, 0, "after unloading, ftruncate(2) of the file it guarded");
	ret = guard_probe(why, sizeof(why));
	check(!ret && strstr(why, "not loaded"), "rdmapin-guardd --probe: %s", why);
	ret = guard_add(m->fd);
	check_errno(!ret, errno, ENOENT, "guard_add() with no guard loaded");
	check(!guard_load(), "rdmapin-guardd loads it again");
	ret = ftruncate(m->fd, REGION_SIZE);
	check_errno(!ret, errno, 0, "the new instance guards nothing yet: ftruncate(2)");
}

/*
 * A privileged process with no daemon to ask edits the map itself: its
 * registrations are guarded directly, and not leased.
 */
static void library_direct(struct ibv_pd *pd, struct mapping *m)
{
	struct rdmapin_host_caps host;
	struct rdmapin_guard_key key;
	struct rdmapin_mr_attr a = { .comp_mask = 0 };
	struct ibv_mr *mr;

	rdmapin_query_host(&host);
	check(host.flags & RDMAPIN_HOST_TRUNCATE_GUARD, "root, guard loaded, no daemon: "
	      "rdmapin_query_host() has RDMAPIN_HOST_TRUNCATE_GUARD");
	mr = rdmapin_reg_file_mr(pd, m->fd, 0, m->len, MR_ACCESS);
	if (!check(mr != NULL, "register %s: %s", m->path, mr ? "ok" : rdmapin_last_error()))
		return;
	rdmapin_query_mr(mr, &a);
	check(a.guard == RDMAPIN_GUARD_KIND_DIRECT && a.lease == RDMAPIN_LEASE_KIND_NONE,
	      "guarded directly, not leased (guard %d, lease %d)", a.guard, a.lease);
	rdmapin_guard_key_of(m->fd, &key, "test");
	check(rdmapin_guard_holds(&key) == 1, "the map holds the registered file");
	check_truncate_paths(m->path, m->fd, ETXTBSY, "registered, guarded directly");
	check(!rdmapin_dereg_mr(mr), "deregister: %s", rdmapin_last_error());
	check(rdmapin_guard_holds(&key) == 0, "after dereg the map no longer holds the file");
	check_truncate_paths(m->path, m->fd, 0, "deregistered");
}

/* Registers @m's file, which the guard (loaded, no daemon) must pin and guard directly. */
static struct ibv_mr *reg_pinned_guarded(struct ibv_pd *pd, struct mapping *m)
{
	struct rdmapin_mr_attr a = { .comp_mask = 0 };
	struct ibv_mr *mr = rdmapin_reg_file_mr(pd, m->fd, 0, m->len, MR_ACCESS);

	if (!check(mr != NULL, "register %s: %s", m->path, mr ? "ok" : rdmapin_last_error()))
		return NULL;
	rdmapin_query_mr(mr, &a);
	check(a.guard == RDMAPIN_GUARD_KIND_DIRECT && a.mode == RDMAPIN_MODE_PIN,
	      "pinned and guarded directly (guard %d, mode %d)", a.guard, a.mode);
	return mr;
}

/* Whether @mr is revoked within 3 s: the library looks at pinned pages once a second. */
static bool revoked_soon(struct ibv_mr *mr)
{
	struct rdmapin_mr_attr a = { .comp_mask = 0 };
	double until;

	for (until = now_s() + 3; !a.revoked && now_s() < until; usleep(10000))
		rdmapin_query_mr(mr, &a);
	return a.revoked;
}

/*
 * The loop driver's discard punches holes in its backing file through the
 * filesystem's fallocate, past every hook (rdmapin_guard(7), NOT COVERED),
 * and raises no inotify event: the guard lets it through, and the library's
 * look once a second revokes the pin whose pages it took (6.1).
 */
static void loop_discard_revokes(struct ibv_pd *pd)
{
	char cmd[PATH_MAX + 64], dev[64] = "";
	struct mapping m = unmapped;
	struct ibv_mr *mr = NULL;
	FILE *p;

	if (!check(!map_pagecache_shared(&m), "loop: map a file: %s", m.err))
		goto out;
	mr = reg_pinned_guarded(pd, &m);
	snprintf(cmd, sizeof(cmd), "losetup -f --show %s", m.path);
	p = mr ? popen(cmd, "r") : NULL;
	if (p && !fgets(dev, sizeof(dev), p))
		dev[0] = '\0';
	if (p)
		pclose(p);
	dev[strcspn(dev, "\n")] = '\0';
	if (!check(dev[0], "loop: %s", cmd))
		goto out;
	snprintf(cmd, sizeof(cmd), "blkdiscard -f %s", dev);
	check(!system(cmd), "loop: %s, over the registered file", cmd);
	check(revoked_soon(mr), "loop: the pin whose pages the discard took is revoked");
	snprintf(cmd, sizeof(cmd), "losetup -d %s", dev);
	check(!system(cmd), "loop: %s", cmd);
out:
	if (mr)
		rdmapin_dereg_mr(mr);
	unlink(m.path);
	unmap(&m);
}

/*
 * 6.1 pins page-cache files: a guarded pin is watched all the same, so that
 * once the guard is unloaded, a truncate that takes its pages out of the
 * file revokes the MR instead of leaving the NIC writing into lost pages.
 * The guard is loaded again for the checks after this.
 */
static void unloaded_guard_revokes(struct ibv_pd *pd, struct mapping *m)
{
	struct ibv_mr *mr = reg_pinned_guarded(pd, m);
	int ret;

	if (!mr)
		return;
	check(!guard_unload(), "unload the guard with the MR registered");
	ret = ftruncate_once_unguarded(m->fd, 0);
	check_errno(!ret, errno, 0, "the guard unloaded, ftruncate(2) of the registered file");
	check(revoked_soon(mr), "the pin whose pages left the file is revoked");
	check(!rdmapin_dereg_mr(mr), "deregister the revoked MR: %s", rdmapin_last_error());
	check(!ftruncate(m->fd, m->len), "the file takes its size back: %s", strerror(errno));
	check(!guard_load(), "rdmapin-guardd loads the guard again");
}

/* Where nothing may guard: no daemon, and nobody cannot edit the map. A lease. */
static void library_fallback(void *arg)
{
	struct rdmapin_host_caps host;
	struct rdmapin_mr_attr a = { .comp_mask = 0 };
	struct mapping m = unmapped;
	struct ibv_pd *pd;
	struct ibv_mr *mr;

	/* Made by root, where nobody may not create files, and given to nobody. */
	if (map_pagecache_shared(&m) || fchown(m.fd, 65534, 65534) || setgid(65534) ||
	    setuid(65534)) {
		check(0, "nobody maps a file of its own: %s %s", strerror(errno), m.err);
		unmap(&m);
		return;
	}
	rdmapin_query_host(&host);
	check(!(host.flags & RDMAPIN_HOST_TRUNCATE_GUARD),
	      "nobody, no daemon: no RDMAPIN_HOST_TRUNCATE_GUARD");
	pd = open_pd(env.rxe0);
	mr = pd ? rdmapin_reg_file_mr(pd, m.fd, 0, m.len, MR_ACCESS) : NULL;
	if (check(mr != NULL, "nobody registers %s: %s", m.path, mr ? "ok" : rdmapin_last_error())) {
		rdmapin_query_mr(mr, &a);
		check(a.guard == RDMAPIN_GUARD_KIND_NONE && a.lease == RDMAPIN_LEASE_KIND_EMULATED,
		      "not guarded, leased instead (guard %d, lease %d)", a.guard, a.lease);
		rdmapin_dereg_mr(mr);
	}
	if (pd)
		close_pd(pd);
	unmap(&m);
}

static void library(void)
{
	struct mapping m = unmapped;
	struct ibv_pd *pd = open_pd(env.rxe0);
	int ret;

	/* 6.1 registers no shared fsdax mapping: its page-cache files pin instead. */
	ret = env.kernel == KERNEL_6_1 ? map_pagecache_shared(&m) : map_fsdax_shared(&m);
	if (check(pd && !ret, "a PD and a mapped file: %s", m.err)) {
		library_direct(pd, &m);
		if (env.kernel == KERNEL_6_1) {
			loop_discard_revokes(pd);
			unloaded_guard_revokes(pd, &m);
		}
	}
	check_in_child(library_fallback, NULL);
	if (pd)
		close_pd(pd);
	unmap(&m);
}

int main(int argc, char **argv)
{
	struct stat pinned, again;
	struct mapping m = unmapped;
	char why[512];
	int ret;

	if (argc == 3)
		return other_process_main(argv[1], argv[2]);
	self = argv[0];
	if (read_env())
		return check_done();
	if (create_file(&m, env.pagecache_dir)) {
		check(0, "create a file: %s", m.err);
		return check_done();
	}
	ret = guard_probe(why, sizeof(why));
	check(!ret, "rdmapin-guardd --probe: %s", why);
	if (!check(!guard_load(), "rdmapin-guardd loads the guard"))
		goto out;
	check(!stat(RDMAPIN_GUARD_MAP, &pinned) && !guard_load() &&
	      !stat(RDMAPIN_GUARD_MAP, &again) && again.st_ino == pinned.st_ino,
	      "a second rdmapin-guardd finds the pinned instance");
	ret = guard_probe(why, sizeof(why));
	check(!ret && !strncmp(why, "loaded", 6), "rdmapin-guardd --probe: %s", why);
	check_pins();
	check_in_child(unprivileged, &m.fd);

	guarded_dir(env.fsdax_dir, "fsdax");
	guarded_dir(env.pagecache_dir, "page cache");
	library();
	check_unload(&m);
out:
	unmap(&m);
	return check_done();
}
