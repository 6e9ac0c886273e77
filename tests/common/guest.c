// SPDX-License-Identifier: MIT
/* The test guest's world and the memory that guest tests register: see guest.h. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "guest.h"
#include "rdma_peer.h"

struct guest_env env;

/* A missing variable is a failed check: a broken harness must not pass. */
static const char *need_env(const char *name)
{
	const char *v = getenv(name);

	if (v && *v)
		return v;
	check(0, "environment: %s is not set", name);
	return NULL;
}

int read_env(void)
{
	const char *k = getenv("RDMAPIN_VM_KERNEL");
	const char *gid;
	char *end;

	if (k && !strcmp(k, "6.1")) {
		env.kernel = KERNEL_6_1;
	} else if (k && !strcmp(k, "7")) {
		env.kernel = KERNEL_7;
	} else {
		check(0, "the contract has no expectations for kernel '%s' (RDMAPIN_VM_KERNEL)",
		      k ? k : "(unset)");
		return -1;
	}
	env.rxe0 = need_env("RDMAPIN_RXE0");
	env.rxe1 = need_env("RDMAPIN_RXE1");
	env.devdax = need_env("RDMAPIN_DEVDAX");
	env.fsdax_dir = need_env("RDMAPIN_FSDAX_DIR");
	env.fsdax_fs = need_env("RDMAPIN_FSDAX_FS");
	env.pagecache_dir = need_env("RDMAPIN_PAGECACHE_DIR");
	env.gid_index = -1;
	gid = need_env("RDMAPIN_GID_INDEX");
	if (gid) {
		env.gid_index = strtol(gid, &end, 10);
		if (*end || env.gid_index < 0)
			check(0, "environment: RDMAPIN_GID_INDEX '%s' is not an index", gid);
	}
	printf("# kernel %s, fsdax on %s\n", k, env.fsdax_fs ? env.fsdax_fs : "?");
	return 0;
}

const struct mapping unmapped = { .addr = MAP_FAILED, .fd = -1 };

static int map_fail(struct mapping *m, const char *what)
{
	snprintf(m->err, sizeof(m->err), "%s: %s", what, strerror(errno));
	return -1;
}

void unmap(struct mapping *m)
{
	if (m->addr != MAP_FAILED)
		munmap(m->addr, m->len);
	if (m->fd >= 0)
		close(m->fd);
	if (m->path[0])
		unlink(m->path);
}

static int map_fd(struct mapping *m, size_t len, int flags)
{
	m->len = len;
	m->addr = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, m->fd, 0);
	return m->addr == MAP_FAILED ? map_fail(m, "mmap") : 0;
}

/* A fresh REGION_SIZE file in @dir, removed again by unmap(). */
int create_file(struct mapping *m, const char *dir)
{
	if (!dir) {
		snprintf(m->err, sizeof(m->err), "its directory is not in the environment");
		return -1;
	}
	snprintf(m->path, sizeof(m->path), "%s/rdmapin-test-XXXXXX", dir);
	m->fd = mkostemp(m->path, O_CLOEXEC);
	if (m->fd < 0) {
		map_fail(m, m->path);
		m->path[0] = '\0';
		return -1;
	}
	return ftruncate(m->fd, REGION_SIZE) ? map_fail(m, "ftruncate") : 0;
}

int map_file(struct mapping *m, const char *dir, int flags)
{
	return create_file(m, dir) ?: map_fd(m, REGION_SIZE, flags);
}

int map_devdax(struct mapping *m, size_t len)
{
	if (!env.devdax) {
		snprintf(m->err, sizeof(m->err), "RDMAPIN_DEVDAX is not in the environment");
		return -1;
	}
	m->fd = open(env.devdax, O_RDWR | O_CLOEXEC);
	if (m->fd < 0)
		return map_fail(m, env.devdax);
	return map_fd(m, len, MAP_SHARED);
}

int map_anon(struct mapping *m)
{
	return map_fd(m, REGION_SIZE, MAP_PRIVATE | MAP_ANONYMOUS);
}

int map_hugetlb(struct mapping *m)
{
	return map_fd(m, REGION_SIZE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB);
}

int map_memfd(struct mapping *m)
{
	m->fd = memfd_create("env_contract", MFD_CLOEXEC);
	if (m->fd < 0)
		return map_fail(m, "memfd_create");
	if (ftruncate(m->fd, REGION_SIZE))
		return map_fail(m, "ftruncate");
	return map_fd(m, REGION_SIZE, MAP_SHARED);
}

int map_pagecache_shared(struct mapping *m)
{
	return map_file(m, env.pagecache_dir, MAP_SHARED);
}

int map_fsdax_shared(struct mapping *m)
{
	return map_file(m, env.fsdax_dir, MAP_SHARED);
}

int map_fsdax_private(struct mapping *m)
{
	return map_file(m, env.fsdax_dir, MAP_PRIVATE);
}

/*
 * Writing every page replaces it by an anonymous COW copy, which the pin
 * takes without looking at the fsdax VMA behind it.
 */
int map_fsdax_private_copied(struct mapping *m)
{
	if (map_file(m, env.fsdax_dir, MAP_PRIVATE))
		return -1;
	memset(m->addr, 0x5a, m->len);
	return 0;
}

int map_devdax_region(struct mapping *m)
{
	return map_devdax(m, REGION_SIZE);
}

/* A child's errno comes back as its exit status; ECHILD stands for a crash. */
int write_sysctl(const char *path, const char *value, char *old, size_t len)
{
	FILE *f = fopen(path, "r+e");
	int ok;

	if (!f)
		return -1;
	ok = (!old || fgets(old, len, f)) && !fseek(f, 0, SEEK_SET) && fputs(value, f) >= 0;
	return fclose(f) || !ok ? -1 : 0;
}

int child_errno(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return ECHILD;
	return WEXITSTATUS(status);
}

double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct ibv_pd *open_pd(const char *name)
{
	struct ibv_context *ctx = name ? rdma_peer_open_device(name) : NULL;
	struct ibv_pd *pd = ctx ? ibv_alloc_pd(ctx) : NULL;

	if (ctx && !pd)
		ibv_close_device(ctx);
	return pd;
}

void close_pd(struct ibv_pd *pd)
{
	struct ibv_context *ctx = pd->context;

	ibv_dealloc_pd(pd);
	ibv_close_device(ctx);
}

struct ibv_pd *start_guest_test(void)
{
	struct ibv_pd *pd;

	if (read_env())
		return NULL;
	pd = open_pd(env.rxe0);
	check(pd != NULL, "open %s and allocate a PD", env.rxe0);
	return pd;
}

/* Where /proc/self/fd/@fd links to, in @target; false if nowhere. */
static bool fd_link(int fd, char *target, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, size - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return true;
}

/*
 * Whether an fd linking to @target is one that librdmapin opens when first
 * needed and keeps in the application's table (rdmapin(7), LIBRARY THREADS
 * AND DESCRIPTORS): its /proc/self/maps, its /proc/self/map_files, a
 * device-DAX align attribute. A registration that opens one is not leaking.
 */
static bool library_kept(const char *target)
{
	size_t n = strlen(target), len;
	char self[32];

	len = snprintf(self, sizeof(self), "/proc/%d/", getpid());
	if (!strncmp(target, self, len))
		return !strcmp(target + len, "maps") || !strcmp(target + len, "map_files");
	return !strncmp(target, "/sys/", 5) && n > 6 && !strcmp(target + n - 6, "/align");
}

/* Which fds to count: of @file, linking to @link..., kept by the library or not (-1: either). */
struct fd_filter {
	const struct stat *file;
	const char *link;
	int kept;
};

static bool fd_matches(int fd, const struct fd_filter *f)
{
	char target[PATH_MAX];
	struct stat st;

	if (f->file && (fstat(fd, &st) || st.st_dev != f->file->st_dev ||
			st.st_ino != f->file->st_ino))
		return false;
	if (!f->link && f->kept < 0)
		return true;
	if (!fd_link(fd, target, sizeof(target)))
		return false;
	if (f->kept >= 0 && library_kept(target) != f->kept)
		return false;
	return !f->link || !strncmp(target, f->link, strlen(f->link));
}

/* Counts the fds @f matches; @last: the highest of them, -1 for none. */
static int scan_fds(const struct fd_filter *f, int *last)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int fd, n = 0;

	*last = -1;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		fd = atoi(e->d_name);
		if (e->d_name[0] != '.' && fd != dirfd(d) && fd_matches(fd, f)) {
			n++;
			*last = fd > *last ? fd : *last;
		}
	}
	closedir(d);
	return n;
}

int count_app_fds(int *kept)
{
	int last;

	*kept = scan_fds(&(struct fd_filter){ .kept = 1 }, &last);
	return scan_fds(&(struct fd_filter){ .kept = 0 }, &last);
}

int count_fds(const struct stat *file, const char *link)
{
	int last;

	return scan_fds(&(struct fd_filter){ file, link, -1 }, &last);
}

int find_fd(const struct stat *file, const char *link)
{
	int last;

	scan_fds(&(struct fd_filter){ file, link, -1 }, &last);
	return last;
}

/* "1: LEASE  ACTIVE    WRITE 1234 103:00:12 0 EOF"; a blocked waiter's line has "->". */
int count_leases(pid_t pid, const struct stat *file)
{
	FILE *f = fopen("/proc/locks", "re");
	unsigned int maj, min;
	char line[256], type[16];
	unsigned long ino;
	int n = 0, owner;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%lu", type, &owner, &maj, &min,
			   &ino) != 5 || strcmp(type, "LEASE"))
			continue;
		if (pid > 0 && owner != pid)
			continue;
		if (file && (maj != major(file->st_dev) || min != minor(file->st_dev) ||
			     ino != file->st_ino))
			continue;
		n++;
	}
	fclose(f);
	return n;
}

/*
 * Mappings of files: what a registration could leave mapped (the file form
 * maps its file). Anonymous ones are the allocator's, or valgrind's own.
 */
static int count_file_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[PATH_MAX + 128];
	unsigned long ino;
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += sscanf(line, "%*s %*s %*s %*s %lu", &ino) == 1 && ino;
	fclose(f);
	return n;
}

void usage_get(struct usage *u)
{
	u->fds = count_app_fds(&u->kept);
	u->leases = count_leases(getpid(), NULL);
	u->maps = count_file_maps();
}

int check_usage(const struct usage *before, const char *what)
{
	struct usage now;

	usage_get(&now);
	return check(now.fds == before->fds && now.kept <= LIBRARY_KEPT_MAX &&
		     now.leases == before->leases && now.maps == before->maps,
		     "%s: nothing leaked (fds %d -> %d, and %d -> %d the library keeps, leases "
		     "%d -> %d, file mappings %d -> %d)", what, before->fds, now.fds,
		     before->kept, now.kept, before->leases, now.leases, before->maps, now.maps);
}

pid_t fork_idle(int *wake)
{
	return fork_idle_after(NULL, wake);
}

pid_t fork_idle_after(void (*fn)(void), int *wake)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[1]);
		if (fn)
			fn();
		_exit(read(p[0], &c, 1) < 0);
	}
	close(p[0]);
	if (pid < 0)
		close(p[1]);
	*wake = p[1];
	return pid;
}

int check_in_child(void (*fn)(void *arg), void *arg)
{
	int counts[2], p[2], status = -1;
	ssize_t n = -1;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return check(0, "pipe2: %s", strerror(errno)) - 1;
	/* Whatever stdio still buffers would be printed twice. */
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		fn(arg);
		fflush(stdout);
		counts[0] = check_passed;
		counts[1] = check_failed;
		_exit(write(p[1], counts, sizeof(counts)) == sizeof(counts) ? 0 : 1);
	}
	close(p[1]);
	if (pid > 0) {
		do
			n = read(p[0], counts, sizeof(counts));
		while (n < 0 && errno == EINTR);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	close(p[0]);
	/* The child counted on from our totals: its totals are the new ones. */
	if (n == sizeof(counts)) {
		check_passed = counts[0];
		check_failed = counts[1];
	}
	return check(n == sizeof(counts) && WIFEXITED(status) && !WEXITSTATUS(status),
		     "the child reported and exited cleanly (wait status 0x%x)", status) ? 0 : -1;
}
