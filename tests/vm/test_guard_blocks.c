// SPDX-License-Identifier: MIT
/*
 * The guard refuses every way to free or move a registered file's blocks, in
 * both test guests: with rdmapin-guardd running, a file registered through
 * librdmapin (page cache; fsdax where 7.x's ODP registers it) refuses
 * fallocate's block-freeing modes, madvise(MADV_REMOVE), io_uring's
 * fallocate and madvise, clone and dedupe into it and copy_file_range into
 * it with ETXTBSY, for its owner and for another process, while the same
 * calls on a file next to it do what they always did; plain fallocate,
 * writes and cloning *from* it stay allowed, and its bytes stay as written.
 * Each call runs on an unguarded twin first: where the kernel refuses it
 * anyway (no reflink on ext4), the guarded file may fail either way.
 * On overlayfs the guard cannot see the file: the daemon refuses it, the
 * library takes a lease, and a truncate by another process revokes the MR.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "block_paths.h"
#include "check.h"
#include "guardd_ctl.h"
#include "guest.h"
#include "rdma_peer.h"
#include "remote_writer.h"

#define MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)
/* A range aligned to any block size, DAX's 2 MiB too. */
#define CHUNK (2UL << 20)
#define WRITE_LEN (1UL << 20)

/* The same punch by a 32-bit process: ia32_punch.c, on our fd as its fd 3. */
static int ia32_punch(const struct block_target *t)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (dup2(t->fd, 3) == 3)
			execl(IA32_PUNCH, IA32_PUNCH, (char *)NULL);
		_exit(ENOEXEC);
	}
	return pid < 0 ? errno : child_errno(pid);
}

struct op {
	const char *name;
	int (*run)(const struct block_target *t);
	bool refused;
};

static const struct op ops[] = {
	{ "fallocate(PUNCH_HOLE)", block_punch, true },
	{ "fallocate(COLLAPSE_RANGE)", block_collapse, true },
	{ "fallocate(ZERO_RANGE)", block_zero, true },
	{ "fallocate(ZERO_RANGE|KEEP_SIZE)", block_zero_keep, true },
	{ "fallocate(INSERT_RANGE)", block_insert, true },
	{ "fallocate(WRITE_ZEROES)", block_write_zeroes, true },
	{ "ia32 fallocate(PUNCH_HOLE)", ia32_punch, true },
	{ "madvise(MADV_REMOVE)", block_madv_remove, true },
	{ "ioctl(FICLONE) into it", block_ficlone, true },
	{ "ioctl(FICLONERANGE) into it", block_ficlonerange, true },
	{ "ioctl(FIDEDUPERANGE) into it", block_dedupe, true },
	{ "copy_file_range() into it", block_copy_into, true },
	{ "io_uring fallocate(PUNCH_HOLE)", block_uring_punch, true },
	{ "io_uring madvise(MADV_REMOVE)", block_uring_madv_remove, true },
	{ "fallocate(0)", block_alloc, false },
	{ "fallocate(KEEP_SIZE)", block_alloc_keep, false },
	{ "fallocate(UNSHARE_RANGE)", block_unshare, false },
	{ "io_uring fallocate(KEEP_SIZE)", block_uring_alloc_keep, false },
	{ "pwrite()", block_pwrite, false },
	{ "ioctl(FICLONE) from it", block_clone_from, false },
};

#define NR_OPS (sizeof(ops) / sizeof(ops[0]))

/* Distinct for every 8 bytes, so moved or zeroed bytes cannot compare equal. */
static uint64_t pattern(size_t i)
{
	return 0x9e3779b97f4a7c15ULL * (i + 1);
}

static int fill(int fd)
{
	static uint64_t buf[REGION_SIZE / 8];
	size_t i;

	for (i = 0; i < REGION_SIZE / 8; i++)
		buf[i] = pattern(i);
	if (ftruncate(fd, REGION_SIZE) ||
	    pwrite(fd, buf, REGION_SIZE, 0) != (ssize_t)REGION_SIZE)
		return -1;
	return fsync(fd);
}

/* The file's bytes and size as a separate open of @path reads them. */
static bool intact(const char *path)
{
	static uint64_t buf[REGION_SIZE / 8];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	bool ok;
	size_t i;

	ok = fd >= 0 && !fstat(fd, &st) && st.st_size == (off_t)REGION_SIZE &&
	     pread(fd, buf, REGION_SIZE, 0) == (ssize_t)REGION_SIZE;
	for (i = 0; ok && i < REGION_SIZE / 8; i++)
		ok = buf[i] == pattern(i);
	if (fd >= 0)
		close(fd);
	return ok;
}

/* What an op does to an unguarded file: the guarded one is measured against it. */
static int baseline[NR_OPS];

static const char *errname(int err)
{
	return err ? strerrorname_np(err) : "ok";
}

/* The kernel's answer for the twin, and ETXTBSY where it would have acted. */
static bool as_expected(size_t i, int got)
{
	if (!ops[i].refused)
		return got == baseline[i];
	return got == ETXTBSY || (baseline[i] && got == baseline[i]);
}

struct place {
	const char *dir, *name;
	struct mapping m, twin, same, dst;
	struct io_uring ring;
};

static void run_ops(const struct place *p, const struct block_target *t, const char *who)
{
	size_t i;
	int got;

	for (i = 0; i < NR_OPS; i++) {
		got = ops[i].run(t);
		check(as_expected(i, got), "%s, %s: %s of the registered file: %s (unguarded: %s)",
		      p->name, who, ops[i].name, errname(got), errname(baseline[i]));
		printf("# table %s %s %s | %s | unguarded %s | guarded %s\n",
		       env.kernel == KERNEL_7 ? "7" : "6.1", env.fsdax_fs, p->name, ops[i].name,
		       errname(baseline[i]), errname(got));
	}
}

/* The twin, whole again before each call, so every call meets the same file. */
static void measure_baselines(struct place *p)
{
	struct block_target t = { .fd = p->twin.fd, .map = p->twin.addr, .src = p->same.fd,
				  .dst = p->dst.fd, .len = CHUNK, .ring = &p->ring };
	size_t i;

	for (i = 0; i < NR_OPS; i++) {
		if (fill(p->twin.fd)) {
			baseline[i] = errno;
			continue;
		}
		baseline[i] = ops[i].run(&t);
	}
}

/* Another process: its own open, mapping and ring, the owner's other files. */
static void other_process(void *arg)
{
	const struct place *p = arg;
	struct io_uring ring;
	struct block_target t = { .src = p->same.fd, .dst = p->dst.fd, .len = CHUNK,
				  .ring = &ring };

	t.fd = open(p->m.path, O_RDWR | O_CLOEXEC);
	t.map = t.fd < 0 ? MAP_FAILED : mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE,
					     MAP_SHARED, t.fd, 0);
	if (!check(t.map != MAP_FAILED && !io_uring_queue_init(8, &ring, 0),
		   "%s, another process: open, map and a ring", p->name))
		return;
	run_ops(p, &t, "another process");
	io_uring_queue_exit(&ring);
}

static void check_guarded(struct ibv_mr *mr, const char *name)
{
	struct rdmapin_mr_attr a = { .guard = RDMAPIN_GUARD_KIND_NONE };
	int ret = rdmapin_query_mr(mr, &a);

	check(!ret && a.guard == RDMAPIN_GUARD_KIND_DAEMON && !a.revoked,
	      "%s: guarded by the daemon (%s), not revoked", name, rdmapin_guard_kind_str(a.guard));
}

static int open_place(struct place *p)
{
	if (map_file(&p->m, p->dir, MAP_SHARED) || map_file(&p->twin, p->dir, MAP_SHARED) ||
	    create_file(&p->same, p->dir) || create_file(&p->dst, p->dir))
		return -1;
	if (fill(p->m.fd) || fill(p->same.fd) || io_uring_queue_init(8, &p->ring, 0))
		return -1;
	return 0;
}

static void close_place(struct place *p)
{
	unmap(&p->m);
	unmap(&p->twin);
	unmap(&p->same);
	unmap(&p->dst);
	if (p->ring.ring_fd > 0)
		io_uring_queue_exit(&p->ring);
	memset(&p->ring, 0, sizeof(p->ring));
}

static void registered(struct ibv_pd *pd, struct place *p)
{
	struct block_target t = { .ring = &p->ring };
	struct ibv_mr *mr = NULL;

	if (!check(!open_place(p), "%s: create, fill and map files, and a ring: %s", p->name,
		   p->m.err[0] ? p->m.err : strerror(errno)))
		goto out;
	measure_baselines(p);
	mr = rdmapin_reg_mr(pd, p->m.addr, p->m.len, MR_ACCESS);
	if (!check(mr != NULL, "%s: rdmapin_reg_mr%s%s", p->name, mr ? "" : ": ",
		   mr ? "" : rdmapin_last_error()))
		goto out;
	check_guarded(mr, p->name);
	t = (struct block_target){ .fd = p->m.fd, .map = p->m.addr, .src = p->same.fd,
				   .dst = p->dst.fd, .len = CHUNK, .ring = &p->ring };
	run_ops(p, &t, "its owner");
	check_in_child(other_process, p);
	check(intact(p->m.path), "%s: a separate open reads the file's bytes and size unchanged",
	      p->name);
	check_guarded(mr, p->name);
	check(!rdmapin_dereg_mr(mr), "%s: rdmapin_dereg_mr", p->name);
	check(!block_punch(&t), "%s: deregistered, the file's hole punches again", p->name);
out:
	close_place(p);
}

/*
 * Cloning *from* a registered file shares its blocks with the clone: safe
 * only if a later write into the MR still lands in the file and the clone
 * keeps the bytes it was made with. The write is a remote RDMA WRITE, as a
 * peer's would be; both files are read through opens of their own.
 */
static void clone_then_write(struct rdma_peer *peer, struct ibv_mr *mr, const struct place *p)
{
	struct rdma_peer_info remote;
	int sock, status, err, n;
	char *buf = malloc(WRITE_LEN);
	pid_t pid;

	err = block_clone_from(&(struct block_target){ .fd = p->m.fd, .dst = p->dst.fd });
	printf("# table %s %s %s | clone from it, then remote write | %s\n",
	       env.kernel == KERNEL_7 ? "7" : "6.1", env.fsdax_fs, p->name, errname(err));
	if (err) {
		check(err == EOPNOTSUPP || err == EINVAL || err == EXDEV,
		      "%s: the kernel refuses to clone from a registered file: %s", p->name,
		      errname(err));
		goto out;
	}
	sock = remote_writer_start(env.rxe1, env.gid_index, WRITE_LEN, &pid);
	if (!check(sock >= 0, "%s: start a writer on %s", p->name, env.rxe1))
		goto out;
	if (check(!rdma_peer_connect(peer, sock, mr, &remote), "%s: the writer connects",
		  p->name)) {
		status = remote_writer_write(sock, 0, WRITE_LEN);
		check(status == IBV_WC_SUCCESS, "%s: RDMA WRITE after the clone: %s", p->name,
		      status < 0 ? "no completion" : ibv_wc_status_str(status));
	}
	check(!remote_writer_stop(sock, pid), "%s: the writer exits cleanly", p->name);
	n = buf ? pread(p->m.fd, buf, WRITE_LEN, 0) : -1;
	check(n == (int)WRITE_LEN && remote_writer_verify(buf, WRITE_LEN) == WRITE_LEN,
	      "%s: cloned from, the file still gets the remote write", p->name);
	n = buf ? pread(p->dst.fd, buf, WRITE_LEN, 0) : -1;
	check(n == (int)WRITE_LEN && ((uint64_t *)buf)[1] == pattern(1),
	      "%s: the clone keeps the bytes it was made with", p->name);
out:
	free(buf);
}

static void clone_source(struct place *p)
{
	struct rdma_peer peer;
	struct ibv_mr *mr;

	if (!check(!rdma_peer_open(&peer, env.rxe0, env.gid_index), "%s: open %s", p->name,
		   env.rxe0))
		return;
	if (!check(!open_place(p), "%s: create and fill files", p->name))
		goto out;
	mr = rdmapin_reg_file_mr(peer.pd, p->m.fd, 0, REGION_SIZE, MR_ACCESS);
	if (check(mr != NULL, "%s: rdmapin_reg_file_mr%s%s", p->name, mr ? "" : ": ",
		  mr ? "" : rdmapin_last_error())) {
		clone_then_write(&peer, mr, p);
		check(!rdmapin_dereg_mr(mr), "%s: rdmapin_dereg_mr", p->name);
	}
out:
	close_place(p);
	rdma_peer_close(&peer);
}

/* A page-cache xfs with reflink, which the guest's own page-cache fs (ext4) lacks. */
#define REFLINK_IMG "/run/test_guard_blocks.xfs"
#define REFLINK_DIR "/run/test_guard_blocks.mnt"

static int mount_reflink_xfs(void)
{
	/* xfsprogs wants 300 MB at least; the image is sparse, on tmpfs. */
	return system("truncate -s 320M " REFLINK_IMG " && mkfs.xfs -q -f -m reflink=1 "
		      REFLINK_IMG " && mkdir -p " REFLINK_DIR " && mount -o loop " REFLINK_IMG
		      " " REFLINK_DIR) ? -1 : 0;
}

static void umount_reflink_xfs(void)
{
	if (system("umount " REFLINK_DIR "; rm -rf " REFLINK_DIR " " REFLINK_IMG))
		printf("# could not remove " REFLINK_DIR "\n");
}

/* Overlayfs reports its own st_dev, so the guard's key would name nothing. */
struct overlay {
	char base[PATH_MAX], merged[PATH_MAX + 8];
	bool mounted;
};

static int mount_overlay(struct overlay *o)
{
	char cmd[4 * PATH_MAX + 128];

	snprintf(o->base, sizeof(o->base), "%s/overlay-XXXXXX", env.pagecache_dir);
	if (!mkdtemp(o->base))
		return -1;
	snprintf(o->merged, sizeof(o->merged), "%s/merged", o->base);
	snprintf(cmd, sizeof(cmd), "cd %s && mkdir lower upper work merged && mount -t overlay "
		 "overlay -o lowerdir=lower,upperdir=upper,workdir=work merged", o->base);
	o->mounted = !system(cmd);
	return o->mounted ? 0 : -1;
}

static void umount_overlay(const struct overlay *o)
{
	char cmd[2 * PATH_MAX + 64];

	snprintf(cmd, sizeof(cmd), "%s%s; rm -rf %s", o->mounted ? "umount " : "true ",
		 o->merged, o->base);
	if (system(cmd))
		printf("# could not remove %s\n", o->base);
}

static void truncate_child(void *arg)
{
	const struct mapping *m = arg;

	int err = truncate(m->path, REGION_SIZE / 2) ? errno : 0;

	check(!err, "overlayfs: another process truncates the leased file once the lease is "
	      "released: %s", errname(err));
}

static bool revoked_within(struct ibv_mr *mr, double s)
{
	struct rdmapin_mr_attr a = { .revoked = 0 };
	double end = now_s() + s;

	while (!rdmapin_query_mr(mr, &a) && !a.revoked && now_s() < end)
		usleep(1000);
	return a.revoked;
}

/*
 * Either form of registration: the file form with the fd, the drop-in form
 * with the mapping. 6.1 maps an overlay file's real inode, which is not the
 * one the fd or the path names, so there the library refuses both forms:
 * never guarded, then.
 */
static struct ibv_mr *reg_overlay(struct ibv_pd *pd, const struct mapping *m, bool drop_in)
{
	struct ibv_mr *mr = drop_in ? rdmapin_reg_mr(pd, m->addr, m->len, MR_ACCESS) :
				      rdmapin_reg_file_mr(pd, m->fd, 0, REGION_SIZE, MR_ACCESS);

	printf("# overlayfs, %s: %s\n", drop_in ? "rdmapin_reg_mr" : "rdmapin_reg_file_mr",
	       rdmapin_last_error());
	return mr;
}

static void overlay_form(struct ibv_pd *pd, const char *dir, bool drop_in)
{
	const char *form = drop_in ? "rdmapin_reg_mr" : "rdmapin_reg_file_mr";
	struct rdmapin_mr_attr a = { .guard = RDMAPIN_GUARD_KIND_NONE };
	struct mapping m = unmapped;
	struct ibv_mr *mr;
	int ret;

	if (!check(!map_file(&m, dir, MAP_SHARED), "overlayfs: map a file: %s", m.err))
		goto out;
	mr = reg_overlay(pd, &m, drop_in);
	if (!mr) {
		check(env.kernel == KERNEL_6_1 && errno == EOPNOTSUPP &&
			      strstr(rdmapin_last_error(), "overlayfs"),
		      "overlayfs, %s: refused on 6.1 only, with EOPNOTSUPP, naming overlayfs: %s",
		      form, rdmapin_last_error());
		goto out;
	}
	ret = rdmapin_query_mr(mr, &a);
	check(!ret && a.guard == RDMAPIN_GUARD_KIND_NONE && a.lease != RDMAPIN_LEASE_KIND_NONE,
	      "overlayfs, %s: not guarded (%s) but leased (%s)", form,
	      rdmapin_guard_kind_str(a.guard), rdmapin_lease_kind_str(a.lease));
	check_in_child(truncate_child, &m);
	check(revoked_within(mr, 5), "overlayfs, %s: the truncate revoked the MR", form);
	rdmapin_dereg_mr(mr);
out:
	unmap(&m);
}

static void overlay(struct ibv_pd *pd)
{
	struct overlay o = { .mounted = false };

	if (check(!mount_overlay(&o), "overlayfs: mount one on %s", env.pagecache_dir)) {
		overlay_form(pd, o.merged, false);
		overlay_form(pd, o.merged, true);
	}
	umount_overlay(&o);
}

static struct guardd_run guardd = { .pid = -1 };

static int start_guardd(char *work)
{
	char dir[64], log[64];

	if (!mkdtemp(work) || chmod(work, 0755))
		return check(0, "create %s: %s", work, strerror(errno)) - 1;
	snprintf(dir, sizeof(dir), "%s/guardd", work);
	snprintf(log, sizeof(log), "%s/guardd.log", work);
	guardd_init(&guardd, dir, log);
	setenv("RDMAPIN_GUARDD_SOCKET", guardd.socket, 1);
	if (check(!guardd_start(&guardd, NULL), "rdmapin-guardd listens on %s", guardd.socket))
		return 0;
	guardd_show_log(&guardd);
	return -1;
}

static void stop_guardd(const char *work)
{
	char cmd[64];

	if (guardd.pid > 0)
		check(!guardd_stop(&guardd, SIGTERM), "rdmapin-guardd stops cleanly");
	check(!guard_unload(), "unload the guard");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", work);
	if (system(cmd))
		printf("# could not remove %s\n", work);
}

int main(void)
{
	struct place pagecache = { .name = "page cache", .m = unmapped, .twin = unmapped,
				   .same = unmapped, .dst = unmapped };
	struct place fsdax = { .name = "fsdax", .m = unmapped, .twin = unmapped,
			       .same = unmapped, .dst = unmapped };
	struct place reflink = { .dir = REFLINK_DIR, .name = "page cache (xfs reflink)",
				 .m = unmapped, .twin = unmapped, .same = unmapped,
				 .dst = unmapped };
	char work[] = "/tmp/test_guard_blocks.XXXXXX";
	struct ibv_pd *pd;

	/* 7.x's rxe ODP misplaces unaligned writes; these tests write page-aligned. */
	setenv("RDMAPIN_ALLOW_QUIRKS", "rxe-odp-offset", 1);
	pd = start_guest_test();
	if (!pd)
		return check_done();
	pagecache.dir = env.pagecache_dir;
	fsdax.dir = env.fsdax_dir;
	if (start_guardd(work))
		goto out;
	registered(pd, &pagecache);
	/* 6.1's rxe has no ODP, which a shared fsdax mapping needs. */
	if (env.kernel == KERNEL_7) {
		registered(pd, &fsdax);
		clone_source(&fsdax);
	}
	clone_source(&pagecache);
	if (check(!mount_reflink_xfs(), "mount a page-cache xfs with reflink on " REFLINK_DIR)) {
		registered(pd, &reflink);
		clone_source(&reflink);
	}
	umount_reflink_xfs();
	overlay(pd);
out:
	stop_guardd(work);
	close_pd(pd);
	return check_done();
}
