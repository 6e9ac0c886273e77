// SPDX-License-Identifier: MIT
/*
 * Address classification against real mappings of each kind: those the
 * host has natively, and in the test guests (RDMAPIN_VM) fsdax files and
 * device-DAX too. Every range is classified with and without its fd, with
 * and without the capability that /proc/self/map_files needs, and, where
 * PROCMAP_QUERY exists, walked by both mapping sources, which must agree.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/memfd.h>
#include <linux/mman.h>
#include <linux/seccomp.h>

#include "backing.h"
#include "check.h"
#include "guest.h"
#include "map_files.h"
#include "vma.h"

#include "array.h"
#define HUGE_2M (2UL << 20)
#define REGION (4UL << 20)
#define HUGEPAGES "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
#define HUGEPAGES_NEEDED 4

struct fixture {
	char what[64];
	enum rdmapin_backing kind;
	char *addr;
	size_t len;
	int flags;		/* of mmap() */
	int fd;			/* the mapped file, or -1 */
	off_t offset;		/* of addr in it */
	uint64_t page_size;
	bool deleted;		/* unlinked after mmap() */
	char path[256];		/* to unlink at the end */
};

static struct fixture fixtures[16];
static unsigned int nr_fixtures;
static size_t page;
static bool have_procmap;

struct vma_list {
	unsigned int n;
	struct rdmapin_vma v[8];
};

static int collect(const struct rdmapin_vma *vma, void *arg)
{
	struct vma_list *l = arg;

	if (l->n == ARRAY_SIZE(l->v))
		return 1;
	l->v[l->n++] = *vma;
	return 0;
}

/* Only PROCMAP_QUERY knows page sizes. */
static bool same_vma(const struct rdmapin_vma *q, const struct rdmapin_vma *m)
{
	return q->start == m->start && q->end == m->end && q->offset == m->offset &&
	       q->readable == m->readable && q->writable == m->writable &&
	       q->shared == m->shared && q->dev_major == m->dev_major &&
	       q->dev_minor == m->dev_minor && q->inode == m->inode && !strcmp(q->name, m->name) &&
	       q->page_size >= page && !m->page_size;
}

/* Whether the text walk finds [start, end) mapped by private anonymous memory alone. */
static bool walk_says_private_anon(uintptr_t start, uintptr_t end)
{
	static struct vma_list m;
	unsigned int i;
	bool anon;

	m.n = 0;
	anon = !rdmapin_vma_walk_maps(start, end, collect, &m);
	for (i = 0; i < m.n; i++)
		anon &= !m.v[i].inode && !m.v[i].shared;
	return anon;
}

/*
 * PROCMAP_QUERY and the maps parser must see the same mappings, or fail
 * alike; and the name-less private anonymous check must say yes exactly when
 * the walk finds only private anonymous mappings, as must the listing of
 * map_files (on every kernel: it stands in for the text walk before 6.11).
 */
static void check_sources(uintptr_t start, uintptr_t end, const char *what)
{
	static struct vma_list q, m;
	int ret_q, ret_m, err_q, err_m;
	bool same, anon;
	unsigned int i;

	anon = walk_says_private_anon(start, end);
	check(rdmapin_map_files_private_anon(start, end) == anon,
	      "%s: the map_files listing says %s, as the text walk", what, anon ? "yes" : "no");
	if (!have_procmap)
		return;
	q.n = m.n = 0;
	errno = 0;
	ret_q = rdmapin_vma_walk_procmap(start, end, collect, NULL, &q);
	err_q = errno;
	errno = 0;
	ret_m = rdmapin_vma_walk_maps(start, end, collect, &m);
	err_m = errno;
	same = ret_q == ret_m && (!ret_q || err_q == err_m) && q.n == m.n;
	for (i = 0; same && i < q.n; i++)
		same = same_vma(&q.v[i], &m.v[i]);
	check(same, "%s: both mapping sources agree (%u and %u mappings, status %d and %d)", what,
	      q.n, m.n, ret_q, ret_m);
	anon = !ret_q;
	for (i = 0; i < q.n; i++)
		anon &= !q.v[i].inode && !q.v[i].shared;
	check(rdmapin_vma_private_anon(start, end) == anon,
	      "%s: the private anonymous check says %s, as the walk", what, anon ? "yes" : "no");
}

static bool expect_kind(void *addr, size_t len, int fd, enum rdmapin_backing want,
			const char *what, struct rdmapin_backing_info *info)
{
	int ret = rdmapin_backing_classify(addr, len, fd, info);

	check_sources((uintptr_t)addr, (uintptr_t)addr + len, what);
	return check(!ret && info->kind == want, "%s is %s (got %s)", what,
		     rdmapin_backing_str(want),
		     ret ? rdmapin_last_error() : rdmapin_backing_str(info->kind));
}

/* A failure's errno and message: the cause (needle) and, after a semicolon, the remedy. */
static void check_failure(int ret, int want, const char *needle, const char *what)
{
	int err = errno;
	const char *msg = rdmapin_last_error();

	check(ret == -1 && err == want && strstr(msg, needle) && strchr(msg, ';'),
	      "%s fails with %s, naming '%s' (got %d, %s: %s)", what, strerror(want), needle, ret,
	      strerror(err), msg);
}

static void expect_error(void *addr, size_t len, int fd, int want, const char *needle,
			 const char *what)
{
	struct rdmapin_backing_info info;

	errno = 0;
	check_failure(rdmapin_backing_classify(addr, len, fd, &info), want, needle, what);
	check_sources((uintptr_t)addr, (uintptr_t)addr + len, what);
}

static struct fixture *add_fixture(const char *what, enum rdmapin_backing kind, void *addr,
				   size_t len, int flags, int fd, off_t offset)
{
	struct fixture *f;

	if (addr == MAP_FAILED) {
		check(0, "%s: mmap: %s", what, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	f = &fixtures[nr_fixtures++];
	snprintf(f->what, sizeof(f->what), "%s", what);
	f->kind = kind;
	f->addr = addr;
	f->len = len;
	f->flags = flags;
	f->fd = fd;
	f->offset = offset;
	f->page_size = page;
	return f;
}

static struct fixture *add_anon_fixture(const char *what, enum rdmapin_backing kind, size_t len,
					int flags)
{
	return add_fixture(what, kind, mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0), len,
			   flags, -1, 0);
}

/* Maps len bytes of fd from offset, growing a regular file to cover them. */
static struct fixture *add_fd_fixture(const char *what, enum rdmapin_backing kind, int fd,
				      off_t offset, size_t len, int flags)
{
	struct stat st;

	if (fd < 0 || fstat(fd, &st) || (S_ISREG(st.st_mode) && ftruncate(fd, offset + len))) {
		check(0, "%s: cannot set up the file: %s", what, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	return add_fixture(what, kind, mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, offset),
			   len, flags, fd, offset);
}

static struct fixture *add_dir_fixture(const char *what, enum rdmapin_backing kind,
				       const char *dir, int flags)
{
	struct fixture *f;
	char path[256];

	snprintf(path, sizeof(path), "%s/rdmapin-test-XXXXXX", dir);
	f = add_fd_fixture(what, kind, mkostemp(path, O_CLOEXEC), 0, REGION, flags);
	if (f)
		snprintf(f->path, sizeof(f->path), "%s", path);
	return f;
}

static bool fs_is(const char *dir, long type)
{
	struct statfs sfs;

	return !statfs(dir, &sfs) && sfs.f_type == type;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

static void write_long(const char *path, long v)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fprintf(f, "%ld\n", v);
		fclose(f);
	}
}

static void map_hugetlb_fixtures(void)
{
	struct fixture *f;

	f = add_anon_fixture("MAP_HUGETLB anonymous", RDMAPIN_BACKING_HUGETLB, HUGE_2M,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB);
	if (f)
		f->page_size = HUGE_2M;
	f = add_fd_fixture("MFD_HUGETLB memfd", RDMAPIN_BACKING_HUGETLB,
			   memfd_create("rdmapin-huge", MFD_CLOEXEC | MFD_HUGETLB | MFD_HUGE_2MB),
			   0, HUGE_2M, MAP_SHARED);
	if (f)
		f->page_size = HUGE_2M;
}

/*
 * mmap() reserves the huge pages a mapping needs, so the pool shrinks back
 * to what it was at once, before anything can stop the test.
 */
static void add_hugetlb_fixtures(void)
{
	long saved = read_long(HUGEPAGES);
	bool grow = saved >= 0 && saved < HUGEPAGES_NEEDED;

	if (grow)
		write_long(HUGEPAGES, HUGEPAGES_NEEDED);
	if (read_long(HUGEPAGES) >= HUGEPAGES_NEEDED)
		map_hugetlb_fixtures();
	else if (getenv("RDMAPIN_VM"))
		/* The test guest reserves them: missing there means a broken guest. */
		check(0, "hugetlb: cannot reserve %d huge pages of 2 MiB", HUGEPAGES_NEEDED);
	else
		printf("# SKIP hugetlb: cannot reserve %d huge pages of 2 MiB\n", HUGEPAGES_NEEDED);
	if (grow)
		write_long(HUGEPAGES, saved);
}

static const char *need_env(const char *name)
{
	const char *v = getenv(name);

	check(v && *v, "environment: %s is set", name);
	return v && *v ? v : "/nonexistent";
}

static void add_guest_fixtures(void)
{
	const char *fsdax = need_env("RDMAPIN_FSDAX_DIR");

	add_dir_fixture("MAP_SHARED fsdax file", RDMAPIN_BACKING_FSDAX, fsdax, MAP_SHARED);
	add_dir_fixture("MAP_PRIVATE fsdax file", RDMAPIN_BACKING_FSDAX, fsdax, MAP_PRIVATE);
	struct fixture *f;

	/*
	 * Device-DAX maps only whole, aligned pages of its alignment (2 MiB in
	 * the guests), which classification gives as the page size.
	 */
	f = add_fd_fixture("device-DAX", RDMAPIN_BACKING_DEVDAX,
			   open(need_env("RDMAPIN_DEVDAX"), O_RDWR | O_CLOEXEC), 0, HUGE_2M,
			   MAP_SHARED);
	if (f)
		f->page_size = HUGE_2M;
}

static void add_fixtures(void)
{
	const char *pagecache = getenv("RDMAPIN_PAGECACHE_DIR");
	struct fixture *f;

	if (!pagecache)
		pagecache = "/var/tmp";
	add_anon_fixture("anonymous mmap", RDMAPIN_BACKING_ANON, REGION,
			 MAP_PRIVATE | MAP_ANONYMOUS);
	add_anon_fixture("MAP_SHARED|MAP_ANONYMOUS", RDMAPIN_BACKING_SHMEM, REGION,
			 MAP_SHARED | MAP_ANONYMOUS);
	add_fd_fixture("memfd mapped from 8 KiB on", RDMAPIN_BACKING_SHMEM,
		       memfd_create("rdmapin test", MFD_CLOEXEC), 2 * page, REGION, MAP_SHARED);
	if (check(fs_is("/dev/shm", TMPFS_MAGIC), "/dev/shm is tmpfs"))
		add_dir_fixture("tmpfs file", RDMAPIN_BACKING_SHMEM, "/dev/shm", MAP_SHARED);
	if (!check(!fs_is(pagecache, TMPFS_MAGIC), "%s is not tmpfs, so holds page-cache files",
		   pagecache))
		return;
	add_dir_fixture("MAP_SHARED page-cache file", RDMAPIN_BACKING_PAGECACHE, pagecache,
			MAP_SHARED);
	add_dir_fixture("MAP_PRIVATE page-cache file", RDMAPIN_BACKING_PAGECACHE, pagecache,
			MAP_PRIVATE);
	f = add_dir_fixture("deleted page-cache file", RDMAPIN_BACKING_PAGECACHE, pagecache,
			    MAP_SHARED);
	if (f) {
		unlink(f->path);
		f->path[0] = '\0';
		f->deleted = true;
	}
	add_hugetlb_fixtures();
	if (getenv("RDMAPIN_VM"))
		add_guest_fixtures();
}

static void check_info(const struct fixture *f, const struct rdmapin_backing_info *info,
		       const char *what)
{
	bool file = f->kind != RDMAPIN_BACKING_ANON;
	struct stat st = { 0 };

	/* Private anonymous memory may be classified without its protection (provider.h). */
	check(info->map_start <= (uintptr_t)f->addr &&
		      info->map_end >= (uintptr_t)f->addr + f->len &&
		      (info->writable || !info->shared) &&
		      info->shared == !!(f->flags & MAP_SHARED),
	      "%s: mapping 0x%" PRIxPTR "-0x%" PRIxPTR ", %swritable, %s", what, info->map_start,
	      info->map_end, info->writable ? "" : "not ", info->shared ? "shared" : "private");
	check(info->page_size == f->page_size && info->offset == (file ? (uint64_t)f->offset : 0),
	      "%s: page size %" PRIu64 ", offset %" PRIu64, what, info->page_size, info->offset);
	if (f->fd >= 0 && !fstat(f->fd, &st))
		check(info->dev == st.st_dev && info->ino == st.st_ino && info->path[0] &&
			      info->rdev == (S_ISCHR(st.st_mode) ? st.st_rdev : 0),
		      "%s: file %s, inode %ju as fstat says", what, info->path,
		      (uintmax_t)info->ino);
	else
		check(file == !!info->ino && file == !!info->path[0], "%s: inode %ju, path '%s'",
		      what, (uintmax_t)info->ino, info->path);
}

/* Without map_files a deleted file is reachable only through its fd. */
static void check_fixture(const struct fixture *f, bool map_files)
{
	const int fds[] = { -1, f->fd };
	struct rdmapin_backing_info info;
	char what[128];
	unsigned int i;

	for (i = 0; i < (f->fd >= 0 ? 2 : 1); i++) {
		snprintf(what, sizeof(what), "%s%s%s", f->what, fds[i] >= 0 ? ", given its fd" : "",
			 map_files ? "" : ", without map_files");
		if (f->deleted && !map_files && fds[i] < 0)
			expect_error(f->addr, f->len, -1, ENOENT, "pass the fd", what);
		else if (expect_kind(f->addr, f->len, fds[i], f->kind, what, &info))
			check_info(f, &info, what);
	}
}

static void check_fixtures(bool map_files)
{
	unsigned int i;

	for (i = 0; i < nr_fixtures; i++)
		check_fixture(&fixtures[i], map_files);
}

static void check_of_fd(const struct fixture *f)
{
	struct rdmapin_backing_info info;
	int ret = rdmapin_backing_of_fd(f->fd, &info);

	check(!ret && info.kind == f->kind && info.page_size == f->page_size,
	      "%s: its fd is %s with %" PRIu64 "-byte pages (got %s, %" PRIu64 ")", f->what,
	      rdmapin_backing_str(f->kind), f->page_size, rdmapin_backing_str(info.kind),
	      info.page_size);
}

/* Whether map_files opens a mapping's file for us (MAP_SHARED|MAP_ANONYMOUS's). */
static bool map_files_open(void)
{
	const struct fixture *f = &fixtures[1];
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/self/map_files/%" PRIxPTR "-%" PRIxPTR,
		 (uintptr_t)f->addr, (uintptr_t)f->addr + f->len);
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/*
 * map_files needs CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN; dropping both from
 * the effective set (the permitted set keeps them) shows what other users get.
 */
static bool set_map_files_caps(bool on)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	const int caps[] = { CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE };
	unsigned int i;

	if (syscall(SYS_capget, &hdr, data))
		return false;
	for (i = 0; i < ARRAY_SIZE(caps); i++) {
		data[CAP_TO_INDEX(caps[i])].effective &= ~CAP_TO_MASK(caps[i]);
		if (on)
			data[CAP_TO_INDEX(caps[i])].effective |=
				data[CAP_TO_INDEX(caps[i])].permitted & CAP_TO_MASK(caps[i]);
	}
	return !syscall(SYS_capset, &hdr, data);
}

/* As root, then as other users get it; other users get only the second. */
static void check_with_and_without_map_files(void)
{
	if (!map_files_open()) {
		printf("# SKIP map_files: closed without CAP_CHECKPOINT_RESTORE\n");
		check_fixtures(false);
		return;
	}
	check_fixtures(true);
	if (!check(set_map_files_caps(false), "drop CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE"))
		return;
	check(!map_files_open(), "map_files is closed to us now");
	check_fixtures(false);
	check(set_map_files_caps(true), "restore the capabilities");
}

static void free_fixtures(void)
{
	unsigned int i;

	for (i = 0; i < nr_fixtures; i++) {
		munmap(fixtures[i].addr, fixtures[i].len);
		if (fixtures[i].fd >= 0)
			close(fixtures[i].fd);
		if (fixtures[i].path[0])
			unlink(fixtures[i].path);
	}
}

/* Maps len bytes at addr over an earlier reservation. */
static void place(char *addr, size_t len, int prot, int flags, int fd, off_t offset)
{
	char *p = mmap(addr, len, prot, flags | MAP_FIXED, fd, offset);

	check(p == addr, "mmap at %p: %s", addr, p == addr ? "placed" : strerror(errno));
}

static void check_malloc(void)
{
	struct rdmapin_backing_info info;
	char *small = malloc(64), *big = malloc(REGION);

	expect_kind(small, 64, -1, RDMAPIN_BACKING_ANON, "a small malloc() buffer", &info);
	expect_kind(big, REGION, -1, RDMAPIN_BACKING_ANON, "a large malloc() buffer", &info);
	free(big);
	free(small);
	expect_kind(&info, sizeof(info), -1, RDMAPIN_BACKING_ANON, "the stack", &info);
}

/* [addr, addr + 1) in the maps text: one mapping, covering it, with a file only if @file. */
static bool text_finds(uintptr_t addr, bool file)
{
	struct vma_list l = { 0 };

	return !rdmapin_vma_walk_maps(addr, addr + 1, collect, &l) && l.n == 1 &&
	       l.v[0].start <= addr && addr < l.v[0].end && !!l.v[0].inode == file;
}

struct text_ends {
	uintptr_t first, last;	/* the test's own code, its stack */
	int misses;
};

static void *walk_text_ends(void *arg)
{
	struct text_ends *e = arg;
	int i;

	for (i = 0; i < 100; i++)
		e->misses += !text_finds(e->first, true) + !text_finds(e->last, false);
	return NULL;
}

/* Puts a file on @fd's number whose text says @addr's page is file /fake. */
static int fake_maps_on(int fd, uintptr_t addr)
{
	int f = memfd_create("fake-maps", MFD_CLOEXEC);
	uintptr_t start = addr & ~(page - 1);
	char line[128];
	int ret;

	snprintf(line, sizeof(line), "%" PRIxPTR "-%" PRIxPTR " rw-s 00000000 fd:01 4242 /fake\n",
		 start, start + page);
	ret = f >= 0 && write(f, line, strlen(line)) == (ssize_t)strlen(line) &&
	      dup3(f, fd, O_CLOEXEC) == fd ? 0 : -1;
	if (f >= 0)
		close(f);
	return ret;
}

/*
 * The maps text walk shares the process's maps fd among walkers, one at a
 * time (the others read through fds of their own), sizes its first read by
 * the last walk's, and believes the fd only while fstat() says it is still
 * the file opened: ranges at both ends of the text, in turn and from threads
 * at once, are found, and a file put on the fd's number, whose text names
 * the range as a file, is not believed.
 */
static void check_text_walk(void)
{
	struct text_ends e[4];
	pthread_t t[ARRAY_SIZE(e)];
	unsigned int i, n = 0;
	char path[48];
	int misses = 0, fd;

	e[0] = (struct text_ends){ .first = (uintptr_t)&check_text_walk, .last = (uintptr_t)&e[0] };
	for (i = 0; i < 3; i++)
		misses += !text_finds(e[0].last, false) + !text_finds(e[0].first, true);
	check(!misses, "the maps text walk finds its own code and stack in turn (%d misses)",
	      misses);
	for (i = 1; i < ARRAY_SIZE(e); i++)
		e[i] = e[0];
	for (i = 0; i < ARRAY_SIZE(e) && !pthread_create(&t[i], NULL, walk_text_ends, &e[i]); i++)
		n++;
	for (i = 0, misses = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		misses += e[i].misses;
	}
	check(n == ARRAY_SIZE(e) && !misses, "%u threads walking the text at once miss %d times",
	      n, misses);
	snprintf(path, sizeof(path), "/proc/%d/maps", getpid());
	fd = find_fd(NULL, path);
	if (!check(fd >= 0 && !fake_maps_on(fd, e[0].last),
		   "a file that names the stack as /fake is put on the walk's maps fd %d", fd))
		return;
	check(text_finds(e[0].last, false), "the walk does not believe it: the stack is anonymous");
	check(text_finds(e[0].last, false), "nor the next walk, through a new fd");
	close(fd);
}

/* A filter that refuses the fstat system call with @err, as one written for newfstatat might. */
static int refuse_fstat(int err)
{
#ifdef __NR_fstat
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_fstat, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | err),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(f), .filter = f };

	return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	       prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
#else
	(void)err;
	return 0;
#endif
}

/*
 * The walk checks its maps fd with the fstat system call where there is one;
 * refused it (EPERM, ENOSYS), it asks glibc's fstat() instead. In a child,
 * whose walks open a maps fd of their own.
 */
static void check_text_walk_without_fstat(void)
{
	static const int errs[] = { EPERM, ENOSYS };
	uintptr_t code = (uintptr_t)&check_text_walk_without_fstat, stack = (uintptr_t)&code;
	int status;
	unsigned int i;
	pid_t pid;

	for (i = 0; i < ARRAY_SIZE(errs); i++) {
		fflush(stdout);
		pid = fork();
		if (pid == 0)
			_exit(refuse_fstat(errs[i]) ? 2 :
			      !(text_finds(stack, false) && text_finds(code, true) &&
				text_finds(stack, false)));
		status = -1;
		if (pid > 0)
			waitpid(pid, &status, 0);
		check(WIFEXITED(status) && !WEXITSTATUS(status),
		      "the maps text walk works with the fstat system call refused (%s): wait "
		      "status 0x%x", strerrorname_np(errs[i]), status);
	}
}

/* mprotect() splits one mapping in three: still one object. */
static void check_split(const struct fixture *f)
{
	struct rdmapin_backing_info info;

	mprotect(f->addr + page, page, PROT_READ);
	if (expect_kind(f->addr, 3 * page, -1, f->kind, "a mapping split by mprotect()", &info))
		check(!(info.shared && info.writable) && info.map_end - info.map_start >= 3 * page &&
			      info.offset == (uint64_t)f->offset,
		      "split: not writable, 0x%" PRIxPTR "-0x%" PRIxPTR ", offset %" PRIu64,
		      info.map_start, info.map_end, info.offset);
	if (expect_kind(f->addr + 2 * page + 1, page, -1, f->kind, "past the split", &info))
		check((info.writable || !info.shared) &&
			      info.offset == (f->fd >= 0 ? f->offset + 2 * page + 1 : 0),
		      "past the split: writable, offset %" PRIu64, info.offset);
	mprotect(f->addr + page, page, PROT_READ | PROT_WRITE);
}

/* Ranges over several objects, and over holes, fail naming them. */
static void check_layouts(const struct fixture *file)
{
	char *res = mmap(NULL, 3 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int memfd = memfd_create("rdmapin-mixed", MFD_CLOEXEC);
	char needle[160];

	if (!check(res != MAP_FAILED && memfd >= 0 && !ftruncate(memfd, page), "reserve 3 pages"))
		return;
	place(res, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	place(res + page, page, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	snprintf(needle, sizeof(needle), "spans 2 mappings of different kinds or files (anonymous "
		 "at %p, shmem /memfd:rdmapin-mixed (deleted) at %p)", res, res + page);
	expect_error(res, 2 * page, -1, EINVAL, needle, "anonymous memory then a memfd");
	place(res, page, PROT_READ, MAP_SHARED, file->fd, 0);
	place(res + page, page, PROT_READ, MAP_SHARED, file->fd, 0);
	expect_error(res, 2 * page, -1, EINVAL, "register each mapping separately",
		     "one file twice at the same offset");
	munmap(res + page, page);
	snprintf(needle, sizeof(needle), "not mapped at %p", res + page);
	expect_error(res, 3 * page, -1, EFAULT, needle, "a range with a hole");
	expect_error(res + page, 1, -1, EFAULT, needle, "an unmapped byte");
	expect_error(res, 1, memfd, EINVAL, "is not the file mapped at", "a file with another fd");
	expect_error(fixtures[0].addr, 1, memfd, EINVAL, "anonymous memory",
		     "anonymous memory with an fd");
	munmap(res, 3 * page);
	close(memfd);
}

static void check_arguments(void)
{
	struct rdmapin_backing_info info;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	expect_error(fixtures[0].addr, 0, -1, EINVAL, "length is 0", "length 0");
	expect_error((void *)(UINTPTR_MAX - page), 2 * page, -1, EINVAL, "wraps",
		     "a range past the end of the address space");
	errno = 0;
	check_failure(rdmapin_backing_of_fd(fd, &info), EOPNOTSUPP, "not device-DAX", "/dev/null");
	close(fd);
	errno = 0;
	check_failure(rdmapin_backing_of_fd(-1, &info), EBADF, "cannot stat", "fd -1");
	check(!strcmp(rdmapin_backing_str(RDMAPIN_BACKING_PAGECACHE), "page-cache") &&
		      !strcmp(rdmapin_backing_str(RDMAPIN_BACKING_DEVDAX), "devdax") &&
		      !strcmp(rdmapin_backing_str(0), "unknown"),
	      "backing names");
}

/*
 * The listing is read through a directory the library keeps in the
 * application's table (map_files.h). With a child's listing on its number
 * (the child has anonymous memory at A, where this process maps the file
 * of @f), A must not be taken for anonymous memory.
 */
static void check_map_files_replaced(const struct fixture *f)
{
	size_t len = 4 * page;
	char *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int fds[64], n = 0, fd = -1, dir, wake;
	char path[48];
	pid_t child = -1;

	if (!check(a != MAP_FAILED && (child = fork_idle(&wake)) > 0, "map_files replaced: set up"))
		return;
	check(mmap(a, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, f->fd, 0) == a &&
		      !rdmapin_map_files_private_anon((uintptr_t)a, (uintptr_t)a + len),
	      "map_files replaced: the file now at A is not anonymous memory");
	/* A file found last elsewhere, so that A is asked of the listing again. */
	rdmapin_map_files_private_anon((uintptr_t)f->addr, (uintptr_t)f->addr + f->len);
	snprintf(path, sizeof(path), "/proc/%d/map_files", getpid());
	dir = find_fd(NULL, path);
	if (check(dir >= 0, "map_files replaced: the library keeps the directory (fd %d)", dir)) {
		close(dir);
		snprintf(path, sizeof(path), "/proc/%d/map_files", child);
		while (n < 64 && (fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
			fds[n++] = fd;
			if (fd >= dir)
				break;
		}
		check(fd == dir && !rdmapin_map_files_private_anon((uintptr_t)a, (uintptr_t)a + len),
		      "map_files replaced: with %s on fd %d, A is still not anonymous memory", path,
		      fd);
		while (n)
			close(fds[--n]);
	}
	close(wake);
	waitpid(child, NULL, 0);
	munmap(a, len);
}

int main(void)
{
	struct rdmapin_host_caps caps;
	unsigned int i;

	page = sysconf(_SC_PAGESIZE);
	rdmapin_query_host(&caps);
	have_procmap = caps.flags & RDMAPIN_HOST_PROCMAP_QUERY;
	printf("# kernel %s: %s\n", caps.kernel_release,
	       have_procmap ? "PROCMAP_QUERY and the maps parser" : "the maps parser only");
	add_fixtures();
	check_arguments();
	check_malloc();
	for (i = 0; i < nr_fixtures; i++)
		if (fixtures[i].fd >= 0)
			check_of_fd(&fixtures[i]);
	check_with_and_without_map_files();
	check_text_walk();
	check_text_walk_without_fstat();
	check_split(&fixtures[0]);
	for (i = 0; i < nr_fixtures; i++)
		if (fixtures[i].kind == RDMAPIN_BACKING_PAGECACHE && !fixtures[i].deleted)
			break;
	if (check(i < nr_fixtures, "a page-cache file to split and to map twice")) {
		check_split(&fixtures[i]);
		check_layouts(&fixtures[i]);
		check_map_files_replaced(&fixtures[i]);
	}
	free_fixtures();
	return check_done();
}
