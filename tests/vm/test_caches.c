// SPDX-License-Identifier: MIT
/*
 * What librdmapin remembers between registrations must follow the world as
 * it changes, and a registration after each change gets the right answer:
 * - remapped address: anonymous memory, a page-cache file (and an fsdax file
 *   on 7.x) mapped in turn at one address, and part of a registered file
 *   remapped while its MR lives, are each classified as what is there now;
 * - replaced fd: the application closes every fd it did not open and opens
 *   another process's /proc/PID/maps (or its own) on the freed numbers: the
 *   maps fd the library keeps (for PROCMAP_QUERY, and on 6.1 for the text
 *   walk) must not answer for another process, nor its map_files directory
 *   (on 6.1, for anonymous memory the text reaches late). On 6.1 the text
 *   is believed without a check when it has the process's canary line: a
 *   child's maps with a canary of its own, and the text after the
 *   application unmapped the canary, must not be. (test_failsafe
 *   covers the lease's and the guard's fds.) The socket that hands files to
 *   the fd keeper, replaced by a connected one, must not send through it; a
 *   thread moved to another network namespace still hands files over;
 * - absent guard: with no daemon and no guard, the library believes none is
 *   to be had for up to a second; a registration in that second is leased
 *   though the daemon is reachable, one after rdmapin_query_guard() is
 *   guarded through it, and so is one a second later after the daemon
 *   started;
 * - restarted daemon: test_failsafe restarts rdmapin-guardd (SIGKILL) between
 *   two registrations; here it is stopped with SIGTERM, a registration is
 *   made while it is away (protected otherwise), and one right after it
 *   starts again must be guarded through the new daemon, not believed away;
 * - reconfigured device-DAX: /dev/dax1.0 recreated with a 4 KiB alignment
 *   takes 4 KiB-aligned ranges and refuses misaligned ones, and again after
 *   the 2 MiB alignment is restored. A node of the test's own keeps its
 *   inode across the recreation, so the device the library remembers from
 *   a registration at 2 MiB must not be believed at 4 KiB. The descriptor
 *   of the device's align attribute the library keeps, replaced by a file
 *   saying 4096, must not answer for the device. A node of the device on a
 *   disk filesystem, registered and deleted: a regular file made on its
 *   inode number must be classified as that file, not as the device.
 * - kept inotify watch: the fd keeper keeps a pinned file's watch after its
 *   last MR, leased or not; a new file on the deleted file's inode number
 *   must get its own, the watch goes at the idle file's first change of data
 *   or mode, and a file deleted while registered or before, or whose lease
 *   broke, must not have its watch kept. After an unmount, a file on a fresh filesystem mounted
 *   from the same device, on the same inode number, must get its own too.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "check.h"
#include "guard_map.h"
#include "guardd_ctl.h"
#include "guardd_proto.h"
#include "array.h"
#include "guest.h"

#define MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)
#define HALF (REGION_SIZE / 2)

static struct ibv_pd *pd;

/* What a registration must report. */
struct want {
	enum rdmapin_backing backing;
	const char *path;		/* NULL: anonymous, "" path, no lease, no guard */
};

static struct ibv_mr *reg_checked(void *addr, size_t len, const struct want *w, const char *how)
{
	struct rdmapin_mr_attr attr = { .comp_mask = 0 };
	struct ibv_mr *mr = rdmapin_reg_mr(pd, addr, len, MR_ACCESS);
	bool guarded;

	if (!check(mr != NULL, "%s: registers: %s", how, mr ? "yes" : rdmapin_last_error()))
		return NULL;
	if (!check(!rdmapin_query_mr(mr, &attr), "%s: rdmapin_query_mr", how))
		return mr;
	check(attr.backing == w->backing, "%s: backing %s (want %s)", how,
	      rdmapin_backing_str(attr.backing), rdmapin_backing_str(w->backing));
	check(!strcmp(attr.path, w->path ?: ""), "%s: path '%s' (want '%s')", how, attr.path,
	      w->path ?: "");
	guarded = attr.lease != RDMAPIN_LEASE_KIND_NONE || attr.guard != RDMAPIN_GUARD_KIND_NONE;
	check(guarded == (w->path != NULL), "%s: lease %d, guard %d (want %s)", how, attr.lease,
	      attr.guard, w->path ? "either" : "neither");
	return mr;
}

static void reg_dereg(void *addr, size_t len, const struct want *w, const char *how)
{
	struct ibv_mr *mr = reg_checked(addr, len, w, how);

	if (mr)
		check(!rdmapin_dereg_mr(mr), "%s: dereg", how);
}

/* A fresh file in @dir mapped MAP_FIXED over @m->addr (REGION_SIZE), or -1. */
static int map_file_at(struct mapping *m, void *addr, const char *dir)
{
	*m = unmapped;
	if (create_file(m, dir))
		return -1;
	m->len = REGION_SIZE;
	m->addr = mmap(addr, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, m->fd, 0);
	if (m->addr == MAP_FAILED)
		return -1;
	return 0;
}

static bool map_anon_at(void *addr, size_t len)
{
	return mmap(addr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		    -1, 0) == addr;
}

/* Drops a file mapped by map_file_at() but not its address range: anonymous memory stays. */
static void drop_file(struct mapping *m, void *addr)
{
	map_anon_at(addr, REGION_SIZE);
	m->addr = MAP_FAILED;
	unmap(m);
}

/* Anonymous, page-cache, anonymous, fsdax (7.x), page-cache, anonymous at one address. */
static void remap_case(void)
{
	static const struct want anon = { RDMAPIN_BACKING_ANON, NULL };
	struct mapping a = unmapped, f = unmapped;
	struct want file;
	void *addr;

	if (!check(!map_anon(&a), "remap: map anonymous memory: %s", a.err))
		return;
	addr = a.addr;
	reg_dereg(addr, REGION_SIZE, &anon, "remap: anonymous at A");
	if (!check(!map_file_at(&f, addr, env.pagecache_dir), "remap: page-cache file at A: %s",
		   f.err))
		goto out;
	file = (struct want){ RDMAPIN_BACKING_PAGECACHE, f.path };
	reg_dereg(addr, REGION_SIZE, &file, "remap: page-cache file at A after anonymous");
	drop_file(&f, addr);
	reg_dereg(addr, REGION_SIZE, &anon, "remap: anonymous at A after a file");
	if (env.kernel == KERNEL_7) {
		if (!check(!map_file_at(&f, addr, env.fsdax_dir), "remap: fsdax file at A: %s",
			   f.err))
			goto out;
		file = (struct want){ RDMAPIN_BACKING_FSDAX, f.path };
		reg_dereg(addr, REGION_SIZE, &file, "remap: fsdax file at A after anonymous");
		drop_file(&f, addr);
	}
	/* One file, then another over it: the second file is what is there. */
	if (!check(!map_file_at(&f, addr, env.pagecache_dir), "remap: page-cache file at A: %s",
		   f.err))
		goto out;
	file = (struct want){ RDMAPIN_BACKING_PAGECACHE, f.path };
	reg_dereg(addr, REGION_SIZE, &file, "remap: page-cache file at A again");
	{
		struct mapping g;

		if (check(!map_file_at(&g, addr, env.pagecache_dir),
			  "remap: another page-cache file over the first: %s", g.err)) {
			file = (struct want){ RDMAPIN_BACKING_PAGECACHE, g.path };
			reg_dereg(addr, REGION_SIZE, &file, "remap: the second file at A");
			drop_file(&g, addr);
		}
	}
	drop_file(&f, addr);
	reg_dereg(addr, REGION_SIZE, &anon, "remap: anonymous at A at the end");
out:
	unmap(&a);
}

/*
 * While an MR holds a file at A, its upper half is remapped: anonymous
 * memory, then another file. The lower half is still the first file (its
 * lease reused), the upper half is what was mapped there.
 */
static void remap_live_case(void)
{
	static const struct want anon = { RDMAPIN_BACKING_ANON, NULL };
	struct mapping a = unmapped, f = unmapped, g = unmapped;
	struct want file;
	struct ibv_mr *mr;
	char *addr;

	if (!check(!map_anon(&a), "remap live: map anonymous memory: %s", a.err))
		return;
	addr = a.addr;
	if (!check(!map_file_at(&f, addr, env.pagecache_dir), "remap live: file at A: %s", f.err))
		goto out;
	file = (struct want){ RDMAPIN_BACKING_PAGECACHE, f.path };
	mr = reg_checked(addr, REGION_SIZE, &file, "remap live: the whole file at A");
	if (!mr)
		goto out_f;
	check(map_anon_at(addr + HALF, HALF), "remap live: anonymous over its upper half");
	reg_dereg(addr + HALF, HALF, &anon, "remap live: the upper half is anonymous now");
	reg_dereg(addr, HALF, &file, "remap live: the lower half is still the file");
	g = unmapped;
	if (check(!create_file(&g, env.pagecache_dir) &&
			  mmap(addr + HALF, HALF, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
			       g.fd, 0) == addr + HALF,
		  "remap live: another file over the upper half: %s", g.err)) {
		file = (struct want){ RDMAPIN_BACKING_PAGECACHE, g.path };
		reg_dereg(addr + HALF, HALF, &file, "remap live: the upper half is the other file");
	}
	map_anon_at(addr + HALF, HALF);
	unmap(&g);
	check(!rdmapin_dereg_mr(mr), "remap live: dereg the first MR");
out_f:
	drop_file(&f, addr);
out:
	unmap(&a);
}

static bool kept(int fd, const int *keep, int nkeep)
{
	int i;

	for (i = 0; i < nkeep; i++)
		if (fd == keep[i])
			return true;
	return false;
}

/* close_range(3, ~0U, 0) around the fds the application opened itself (@keep). */
static int close_others(const int *keep, int nkeep)
{
	unsigned int from = 3, fd;

	for (fd = 3; fd < 1024; fd++) {
		if (!kept(fd, keep, nkeep))
			continue;
		if (fd > from && close_range(from, fd - 1, 0))
			return -1;
		from = fd + 1;
	}
	return close_range(from, ~0U, 0);
}

/*
 * Opens @path on the lowest free numbers up to and including @at (or 8 of
 * them when @at is -1), so that a number the library had is now @path.
 * The fds opened are returned in @fds (at most 64).
 */
static int fill_fds(const char *path, int at, int *fds)
{
	int n = 0, fd;

	do {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			break;
		fds[n++] = fd;
	} while (n < 64 && (at >= 0 ? fd < at : n < 8));
	return n;
}

/*
 * A child forked while A was anonymous keeps anonymous memory there; this
 * process then maps a file at A. The child runs child_fn (if not NULL),
 * then waits until wake is closed.
 */
struct split_world {
	struct mapping a, f;		/* f maps A, a no longer */
	struct want file;		/* what A must register as */
	pid_t child;
	int wake;
};

static int split_world_make(struct split_world *w, const char *how, void (*child_fn)(void))
{
	w->a = w->f = unmapped;
	w->child = -1;
	if (!check(!map_anon(&w->a) && (w->child = fork_idle_after(child_fn, &w->wake)) > 0,
		   "%s: set up: %s", how, w->a.err))
		return -1;
	if (!check(!map_file_at(&w->f, w->a.addr, env.pagecache_dir), "%s: a file at A: %s", how,
		   w->f.err))
		return -1;
	w->a.addr = MAP_FAILED;
	w->file = (struct want){ RDMAPIN_BACKING_PAGECACHE, w->f.path };
	return 0;
}

static void split_world_end(struct split_world *w)
{
	if (w->child > 0) {
		close(w->wake);
		waitpid(w->child, NULL, 0);
	}
	unmap(&w->f);
	unmap(&w->a);
}

/*
 * The application closes every fd it did not open and opens @path on the
 * lowest numbers up to @at (see fill_fds()); returns how many.
 */
static int replace_fds(const struct split_world *w, const char *path, int at, int *fds,
		       const char *how)
{
	int keep[] = { pd->context->cmd_fd, pd->context->async_fd, w->f.fd, w->wake };
	int n;

	check(!close_others(keep, ARRAY_SIZE(keep)), "%s: the application closes every fd it "
	      "did not open", how);
	n = fill_fds(path, at, fds);
	check(n > 0 && (at < 0 || fds[n - 1] == at), "%s: %s opened on %d numbers, up to %d", how,
	      path, n, at);
	return n;
}

/*
 * With the child's /proc/PID/maps (or this process's own maps) on the
 * numbers the library's fds had, A must still be the file and leased, and B
 * (anonymous here, nothing in the child) anonymous.
 */
static void replaced_fd_case(bool foreign)
{
	static const struct want anon = { RDMAPIN_BACKING_ANON, NULL };
	const char *how = foreign ? "replaced fd, another process's maps" :
				    "replaced fd, this process's maps reopened";
	struct split_world w;
	struct mapping b = unmapped;
	int fds[64], nfds, i, maps_fd;
	char path[48];

	if (split_world_make(&w, how, NULL) ||
	    !check(!map_anon(&b), "%s: anonymous memory at B: %s", how, b.err))
		goto out;
	reg_dereg(b.addr, b.len, &anon, "replaced fd: B before");
	reg_dereg(w.f.addr, w.f.len, &w.file, "replaced fd: A before");
	snprintf(path, sizeof(path), "/proc/%d/maps", getpid());
	maps_fd = find_fd(NULL, path);
	printf("# the library's /proc/self/maps fd: %d\n", maps_fd);
	/* Else this case would pass without testing the cache at all. */
	check(maps_fd >= 0, "%s: the library keeps a /proc/self/maps fd (fd %d)", how, maps_fd);
	snprintf(path, sizeof(path), "/proc/%d/maps", foreign ? w.child : getpid());
	nfds = replace_fds(&w, path, maps_fd, fds, how);
	reg_dereg(b.addr, b.len, &anon, foreign ? "replaced fd, another process's maps: B" :
						  "replaced fd, own maps reopened: B");
	reg_dereg(w.f.addr, w.f.len, &w.file, foreign ? "replaced fd, another process's maps: A" :
							"replaced fd, own maps reopened: A");
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	reg_dereg(b.addr, b.len, &anon, "replaced fd: B after those fds are closed");
	reg_dereg(w.f.addr, w.f.len, &w.file, "replaced fd: A after those fds are closed");
out:
	split_world_end(&w);
	unmap(&b);
}

/*
 * The lowest maps canary of @pid (the library's maps_canary.h): one
 * inaccessible anonymous page that a forked child does not get (VmFlags
 * "dc" in smaps). Its bounds in @c; false if there is none.
 */
static bool canary_of(pid_t pid, uintptr_t c[2])
{
	unsigned long long start = 0, end = 0, s, e, ino;
	char path[48], perms[8], *text, *line, *save;
	bool maybe = false;
	size_t size = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", pid);
	f = fopen(path, "re");
	text = f ? malloc(1 << 22) : NULL;
	if (text)
		size = fread(text, 1, (1 << 22) - 1, f);
	if (f)
		fclose(f);
	if (!text)
		return false;
	text[size] = '\0';
	c[0] = c[1] = 0;
	for (line = strtok_r(text, "\n", &save); line && !c[1]; line = strtok_r(NULL, "\n", &save)) {
		/* A header line; others may match in part, so start and end are set only here. */
		if (sscanf(line, "%llx-%llx %7s %*x %*x:%*x %llu", &s, &e, perms, &ino) == 4) {
			start = s;
			end = e;
			maybe = e - s == (unsigned long long)getpagesize() &&
				!strcmp(perms, "---p") && !ino;
		} else if (maybe && !strncmp(line, "VmFlags:", 8) && strstr(line, " dc")) {
			c[0] = start;
			c[1] = end;
		}
	}
	free(text);
	return c[1] != 0;
}

/* In the child: asks the library about its memory, which makes the child a canary of its own. */
static void child_asks(void)
{
	struct rdmapin_range_attr attr;
	static char byte;

	rdmapin_query_range(&byte, 1, &attr);
}

/*
 * Before 6.11, the text of the maps fd the library keeps is believed as it
 * reads without an fstat() when it has this process's canary line (see
 * canary_of()). The text of a child whose library made a canary of its own,
 * on the library's number, must not be believed, nor, after the
 * application unmapped the canary, the text without it: A must still be
 * the file, leased, B anonymous. The library then makes another canary.
 */
static void canary_case(void)
{
	static const char *const how = "maps canary";
	static const struct want anon = { RDMAPIN_BACKING_ANON, NULL };
	uintptr_t mine[2], theirs[2] = { 0, 0 }, again[2];
	bool made;
	struct mapping b = unmapped;
	struct rdmapin_host_caps caps;
	struct split_world w;
	int fds[64], nfds, i, maps_fd, tries;
	char path[48];

	if (!rdmapin_query_host(&caps) && caps.flags & RDMAPIN_HOST_PROCMAP_QUERY) {
		printf("# SKIP %s: PROCMAP_QUERY answers instead\n", how);
		return;
	}
	if (!check(!map_anon(&b), "%s: anonymous memory at B: %s", how, b.err))
		return;
	reg_dereg(b.addr, b.len, &anon, "maps canary: B");
	made = canary_of(getpid(), mine);
	check(made, "%s: this process has a canary "
	      "(0x%" PRIxPTR "-0x%" PRIxPTR ")", how, mine[0], mine[1]);
	if (split_world_make(&w, how, child_asks))
		goto out;
	for (tries = 0; tries < 500 && !canary_of(w.child, theirs); tries++)
		usleep(10000);
	check(theirs[1] && theirs[0] != mine[0], "%s: the child has a canary of its own "
	      "(0x%" PRIxPTR "-0x%" PRIxPTR "), not this process's", how, theirs[0], theirs[1]);
	check(!munmap((void *)mine[0], mine[1] - mine[0]), "%s: the application unmaps it", how);
	snprintf(path, sizeof(path), "/proc/%d/maps", getpid());
	maps_fd = find_fd(NULL, path);
	check(maps_fd >= 0, "%s: the library keeps a /proc/self/maps fd (fd %d)", how, maps_fd);
	snprintf(path, sizeof(path), "/proc/%d/maps", w.child);
	nfds = replace_fds(&w, path, maps_fd, fds, how);
	reg_dereg(b.addr, b.len, &anon, "maps canary, the child's maps on its fd: B");
	reg_dereg(w.f.addr, w.f.len, &w.file, "maps canary, the child's maps on its fd: A");
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	reg_dereg(w.f.addr, w.f.len, &w.file, "maps canary: A after those fds are closed");
	made = canary_of(getpid(), again);
	check(made && again[0] != mine[0], "%s: the library made another "
	      "(0x%" PRIxPTR "-0x%" PRIxPTR ")", how, again[0], again[1]);
out:
	split_world_end(&w);
	unmap(&b);
}

/*
 * Before 6.11, anonymous memory that the maps text reaches late (a 4 KiB
 * mapping among the shared libraries', D) is found from the listing of
 * /proc/self/map_files, read through a directory the library keeps in the
 * application's table. With the child's listing on its number, registrations
 * must still find A the file, leased, and D anonymous, and leave the
 * application's fds open. (Whether A is asked of the listing depends on
 * what the library found last: test_backing checks the listing itself
 * against a replaced directory.)
 */
static void map_files_case(void)
{
	static const char *const how = "replaced map_files";
	static const struct want anon = { RDMAPIN_BACKING_ANON, NULL };
	struct mapping d = unmapped;
	struct rdmapin_host_caps caps;
	struct split_world w;
	int fds[64], nfds, i, dir;
	char path[48];

	if (!rdmapin_query_host(&caps) && caps.flags & RDMAPIN_HOST_PROCMAP_QUERY) {
		printf("# SKIP %s: PROCMAP_QUERY answers instead\n", how);
		return;
	}
	d.len = 4096;
	d.addr = mmap(NULL, d.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (split_world_make(&w, how, NULL) || !check(d.addr != MAP_FAILED, "%s: map D", how))
		goto out;
	/* The first reads the text up to D; the second then asks the listing. */
	reg_dereg(d.addr, d.len, &anon, "replaced map_files: D, read from the text");
	reg_dereg(d.addr, d.len, &anon, "replaced map_files: D, from the listing");
	snprintf(path, sizeof(path), "/proc/%d/map_files", getpid());
	dir = find_fd(NULL, path);
	if (!check(dir >= 0, "%s: the library keeps a map_files descriptor (fd %d)", how, dir))
		goto out;
	snprintf(path, sizeof(path), "/proc/%d/map_files", w.child);
	nfds = replace_fds(&w, path, dir, fds, how);
	reg_dereg(d.addr, d.len, &anon, "replaced map_files: D");
	reg_dereg(w.f.addr, w.f.len, &w.file, "replaced map_files: A");
	for (i = 0; i < nfds; i++)
		check(!close(fds[i]), "%s: the application's fd %d is still open", how, fds[i]);
	reg_dereg(w.f.addr, w.f.len, &w.file, "replaced map_files: A after those fds are closed");
out:
	split_world_end(&w);
	unmap(&d);
}

/* Whether @fd is a socket. */
static bool is_socket(int fd)
{
	struct stat st;

	return !fstat(fd, &st) && S_ISSOCK(st.st_mode);
}

/* The sockets in this process's table, those numbered below 1024. */
static void sockets_open(bool *open)
{
	int fd;

	for (fd = 0; fd < 1024; fd++)
		open[fd] = is_socket(fd);
}

/* A file's first registration, leased, in a thread that left the network namespace. */
static void *reg_elsewhere(void *m)
{
	const struct mapping *f = m;
	struct want file = { RDMAPIN_BACKING_PAGECACHE, f->path };

	if (check(!unshare(CLONE_NEWNET), "sender: a thread moves to a new network namespace: %s",
		  strerror(errno)))
		reg_dereg(f->addr, f->len, &file, "sender: a file registers from that thread");
	return NULL;
}

/*
 * A forked child closes its copy of the library's new sender, and keeps the
 * application's socket on the old one's number @app (rdmapin(7) FORK).
 */
static void fork_case(const bool *before, int app)
{
	bool now[1024];
	int fd, sender = -1;
	pid_t pid;

	sockets_open(now);
	for (fd = 0; fd < 1024; fd++)
		if (now[fd] && !before[fd] && fd != app)
			sender = fd;
	if (!check(sender >= 0, "sender: the library made a new one (fd %d)", sender))
		return;
	pid = fork();
	if (pid == 0)
		_exit(is_socket(sender) ? 1 : !is_socket(app) ? 2 : 0);
	check(child_errno(pid) == 0, "sender: a forked child has no copy of the library's sender "
	      "(fd %d), and the application's socket (fd %d)", sender, app);
}

/*
 * Files reach the fd keeper from a socket that the library keeps in the
 * application's table. Replaced by one end of a connected SEQPACKET pair, it
 * must be left alone: a datagram sent through it would go to the other end,
 * with the file, and never reach the keeper (the registration would hang).
 * Made in the keeper's network namespace, it serves a thread that moved out.
 */
static void sender_case(const bool *before)
{
	struct mapping f = unmapped, g = unmapped, h = unmapped;
	struct want file = { RDMAPIN_BACKING_PAGECACHE, NULL };
	int sp[2] = { -1, -1 }, n = -1, fd;
	bool now[1024];
	pthread_t t;
	ssize_t got;
	char c;

	if (!check(!map_file(&f, env.pagecache_dir, MAP_SHARED) &&
			   !map_file(&g, env.pagecache_dir, MAP_SHARED) &&
			   !map_file(&h, env.pagecache_dir, MAP_SHARED),
		   "sender: map three files: %s%s%s", f.err, g.err, h.err))
		goto out;
	file.path = f.path;
	reg_dereg(f.addr, f.len, &file, "sender: a first file registers");
	sockets_open(now);
	for (fd = 0; fd < 1024; fd++)
		if (now[fd] && !before[fd])
			n = fd;
	if (!check(n >= 0, "sender: the library keeps a socket in the application's table "
		   "(fd %d)", n))
		goto out;
	if (!check(!socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) &&
			   dup3(sp[0], n, O_CLOEXEC) == n,
		   "sender: the application puts a connected SEQPACKET socket on fd %d", n))
		goto out;
	file.path = g.path;
	alarm(60);
	reg_dereg(g.addr, g.len, &file, "sender: a second file registers");
	alarm(0);
	got = recv(sp[1], &c, 1, MSG_DONTWAIT);
	check(got < 0 && errno == EAGAIN, "sender: nothing went through the application's socket "
	      "(recv: %zd)", got);
	fork_case(before, n);
	check(is_socket(n) && !pthread_create(&t, NULL, reg_elsewhere, &h) &&
		      !pthread_join(t, NULL),
	      "sender: the application's socket stays; a thread registers a third file");
out:
	if (n >= 0 && sp[0] >= 0)
		close(n);
	if (sp[0] >= 0) {
		close(sp[0]);
		close(sp[1]);
	}
	unmap(&h);
	unmap(&g);
	unmap(&f);
}

static struct ibv_mr *reg_leased(const struct mapping *m)
{
	return rdmapin_reg_mr_ex(pd, &(struct rdmapin_mr_init_attr){
		.comp_mask = RDMAPIN_MR_INIT_ATTR_LEASE, .access = MR_ACCESS, .addr = m->addr,
		.length = m->len, .lease = RDMAPIN_LEASE_REQUIRE });
}

/*
 * The fd that served a file last is tried first (own_fd.c): once that number
 * names another file, the lease must land on the file's own fd elsewhere, and
 * with none left, fail; the other file is never leased.
 */
static void fd_hint_case(void)
{
	struct mapping f = unmapped, g = unmapped;
	struct ibv_mr *mr;
	int moved = -1, n;

	if (!check(!map_file(&f, env.pagecache_dir, MAP_SHARED) &&
			   !create_file(&g, env.pagecache_dir),
		   "fd hint: map a file, create another: %s%s", f.err, g.err))
		goto out;
	mr = reg_leased(&f);
	if (!check(mr && !rdmapin_dereg_mr(mr), "fd hint: register and deregister the file "
		   "through fd %d: %s", f.fd, mr ? "yes" : rdmapin_last_error()))
		goto out;
	n = f.fd;
	moved = dup(n);
	if (!check(moved >= 0 && dup2(g.fd, n) == n, "fd hint: the file moves to fd %d, fd %d "
		   "now names another file", moved, n))
		goto out;
	mr = reg_leased(&f);
	check(mr && fcntl(moved, F_GETLEASE) == F_WRLCK && fcntl(n, F_GETLEASE) == F_UNLCK,
	      "fd hint: registers again, leased through fd %d, the other file not: %s", moved,
	      mr ? "yes" : rdmapin_last_error());
	if (mr)
		rdmapin_dereg_mr(mr);
	close(moved);
	moved = -1;
	mr = reg_leased(&f);
	check(!mr && errno == EBADF && fcntl(n, F_GETLEASE) == F_UNLCK,
	      "fd hint: with no fd left on the file, fails with EBADF, the other file not "
	      "leased: %s", mr ? "registered" : rdmapin_last_error());
	if (mr)
		rdmapin_dereg_mr(mr);
out:
	if (moved >= 0)
		close(moved);
	unlink(g.path);
	unlink(f.path);
	unmap(&g);
	unmap(&f);
}

/* Pinned read-only, which every kernel allows page-cache pages, under @lease. */
static struct ibv_mr *reg_pinned_as(enum rdmapin_lease_policy lease, const struct mapping *m)
{
	return rdmapin_reg_mr_ex(
		pd, &(struct rdmapin_mr_init_attr){ .comp_mask = RDMAPIN_MR_INIT_ATTR_LEASE |
								 RDMAPIN_MR_INIT_ATTR_MODES,
						    .access = IBV_ACCESS_REMOTE_READ,
						    .addr = m->addr,
						    .length = m->len,
						    .lease = lease,
						    .modes = RDMAPIN_MODE_PIN });
}

/* Leased, and pinned read-only. */
static struct ibv_mr *reg_pinned(const struct mapping *m)
{
	return reg_pinned_as(RDMAPIN_LEASE_REQUIRE, m);
}

/* One fdinfo file's inotify watches on @file, or all of them when NULL. */
static int fdinfo_watches(const char *path, const struct stat *file)
{
	unsigned int sdev = file ? major(file->st_dev) << 20 | minor(file->st_dev) : 0, dev;
	unsigned long ino;
	char line[512];
	FILE *f = fopen(path, "re");
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "inotify wd:%*x ino:%lx sdev:%x", &ino, &dev) == 2 &&
		    (!file || (ino == file->st_ino && dev == sdev)))
			n++;
	if (f)
		fclose(f);
	return n;
}

/*
 * The fd keeper's inotify watches, from the fdinfo of every thread's table:
 * the keeper's table is its own, and the application's has no inotify fd.
 * @tid, if not NULL: the thread that has them (the keeper), or 0.
 */
static int keeper_scan(const struct stat *file, pid_t *tid)
{
	char path[PATH_MAX];
	struct dirent *t, *d;
	DIR *tasks = opendir("/proc/self/task"), *fds;
	int n = 0, here;

	if (tid)
		*tid = 0;
	while (tasks && (t = readdir(tasks))) {
		snprintf(path, sizeof(path), "/proc/self/task/%s/fdinfo", t->d_name);
		fds = t->d_name[0] != '.' ? opendir(path) : NULL;
		while (fds && (d = readdir(fds))) {
			snprintf(path, sizeof(path), "/proc/self/task/%s/fdinfo/%s", t->d_name,
				 d->d_name);
			here = d->d_name[0] != '.' ? fdinfo_watches(path, file) : 0;
			if (here && tid)
				*tid = atoi(t->d_name);
			n += here;
		}
		if (fds)
			closedir(fds);
	}
	if (tasks)
		closedir(tasks);
	return n;
}

static int keeper_watches(const struct stat *file)
{
	return keeper_scan(file, NULL);
}

/* How often thread @tid of this process was switched out so far; -1 if unknown. */
static long switches(pid_t tid)
{
	char path[64], line[128];
	long n = 0, v;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%d/status", (int)tid);
	f = tid > 0 ? fopen(path, "re") : NULL;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "voluntary_ctxt_switches: %ld", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %ld", &v) == 1) {
			n += v;
			found++;
		}
	if (f)
		fclose(f);
	return found == 2 ? n : -1;
}

/* Whether the keeper drops its watch on @file within 5 s: it reads its events when it wakes. */
static bool watch_goes(const struct stat *file)
{
	int i;

	for (i = 0; i < 500 && keeper_watches(file); i++)
		usleep(10000);
	return !keeper_watches(file);
}

/* Syncs the filesystem of @dir, then lets its workers run. */
static int settle(const char *dir_path)
{
	int dir = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ret;

	ret = dir < 0 ? -1 : syncfs(dir);
	if (dir >= 0)
		close(dir);
	usleep(20000);
	return ret;
}

/*
 * Maps fresh files in @dir until one has inode number @ino (at most @max
 * tries). xfs frees a deleted inode from a worker, later: the filesystem is
 * synced and the worker given 20 ms before the first try and every 8th (on
 * 6.1, 32 tries in a row after one sync once missed it).
 */
static int map_on_inode(struct mapping *m, struct mapping *tried, int max, ino_t ino)
{
	struct stat st;
	int i;

	for (i = 0; i < max; i++) {
		if (i % 8 == 0 && settle(env.pagecache_dir))
			return -1;
		if (map_file(&tried[i], env.pagecache_dir, MAP_SHARED) || fstat(tried[i].fd, &st))
			return -1;
		if (st.st_ino == ino) {
			*m = tried[i];
			tried[i] = unmapped;
			return 0;
		}
	}
	return -1;
}

/*
 * rdmapin.7: a pin without a lease takes its file's kept watch without waking
 * the fd keeper; its deregistration leaves the watch kept, without waking it
 * either.
 */
static void kept_watch_no_wake(const struct mapping *f, const struct stat *st)
{
	struct ibv_mr *mr;
	long before, after;
	pid_t tid;
	int i;

	keeper_scan(st, &tid);
	before = switches(tid);
	for (i = 0; i < 5; i++) {
		mr = reg_pinned_as(RDMAPIN_LEASE_NONE, f);
		if (!mr || rdmapin_dereg_mr(mr))
			break;
	}
	after = switches(tid);
	check(i == 5 && before >= 0 && after == before && keeper_watches(st) == 1,
	      "kept watch, no lease: 5 more reg+dereg, the fd keeper (thread %d) switched "
	      "in %ld times (want 0)",
	      (int)tid, after - before);
}

/*
 * A long-term pin of page-cache pages has its file watched (inotify,
 * rdmapin.7), leased or not: the watch stays after the file's last MR for
 * its next one, up to 16 files, but not beyond the file: it goes when the
 * file is deleted or changed, and a file made on a deleted one's inode number
 * gets a watch of its own. Kept watches go before a new one fails for the
 * lack of room.
 */
static void kept_watch_case(enum rdmapin_lease_policy lease)
{
	const char *k = lease == RDMAPIN_LEASE_NONE ? "kept watch, no lease" : "kept watch";
	static const char limit[] = "/proc/sys/fs/inotify/max_user_watches";
	struct mapping f = unmapped, g = unmapped, h = unmapped, tried[64], many[20];
	struct stat st, gst, mst[ARRAY_SIZE(many)];
	struct ibv_mr *mr;
	char old[32] = "";
	int n, err;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tried); i++)
		tried[i] = unmapped;
	for (i = 0; i < ARRAY_SIZE(many); i++)
		many[i] = unmapped;
	if (!check(!map_file(&f, env.pagecache_dir, MAP_SHARED) && !fstat(f.fd, &st),
		   "%s: map a file: %s", k, f.err))
		goto out;
	mr = reg_pinned_as(lease, &f);
	check(mr && keeper_watches(&st) == 1, "%s: a pinned file is watched: %s", k,
	      mr ? "registered" : rdmapin_last_error());
	check(mr && !rdmapin_dereg_mr(mr) && keeper_watches(&st) == 1,
	      "%s: the watch stays after the file's last MR", k);
	if (lease == RDMAPIN_LEASE_NONE)
		kept_watch_no_wake(&f, &st);
	mr = reg_pinned_as(lease, &f);
	check(mr && keeper_watches(&st) == 1, "%s: registered again, with that watch: %s", k,
	      mr ? "registered" : rdmapin_last_error());
	if (mr)
		rdmapin_dereg_mr(mr);
	check(!unlink(f.path) && watch_goes(&st), "%s: goes when its idle file is deleted", k);
	unmap(&f);
	if (!check(!map_on_inode(&g, tried, ARRAY_SIZE(tried), st.st_ino) && !fstat(g.fd, &gst),
		   "%s: a new file on the deleted file's inode number %lu, in %zu tries", k,
		   (unsigned long)st.st_ino, ARRAY_SIZE(tried)))
		goto out;
	mr = reg_pinned_as(lease, &g);
	check(mr && keeper_watches(&gst) == 1,
	      "%s: a file on the deleted file's inode number %lu gets a watch of "
	      "its own: %s",
	      k, (unsigned long)gst.st_ino, mr ? "registered" : rdmapin_last_error());
	if (mr)
		rdmapin_dereg_mr(mr);
	check(pwrite(g.fd, "x", 1, 0) == 1 && watch_goes(&gst),
	      "%s: goes at its idle file's first change", k);
	mr = reg_pinned_as(lease, &g);
	check(mr && !rdmapin_dereg_mr(mr) && keeper_watches(&gst) == 1 && !fchmod(g.fd, 0644) &&
		      watch_goes(&gst),
	      "%s: kept again, and goes at its idle file's first change of mode", k);
	for (i = 0; i < ARRAY_SIZE(many); i++) {
		if (map_file(&many[i], env.pagecache_dir, MAP_SHARED) || fstat(many[i].fd, &mst[i]))
			break;
		mr = reg_pinned_as(lease, &many[i]);
		if (!mr || rdmapin_dereg_mr(mr))
			break;
	}
	n = keeper_watches(NULL);
	check(i == ARRAY_SIZE(many) && n == 16,
	      "%s: %zu more files registered in turn, %d watches kept (want 16)", k, i, n);
	for (i = 0, n = 0; i < ARRAY_SIZE(many); i++)
		n += keeper_watches(&mst[i]) == (i >= ARRAY_SIZE(many) - 16);
	check(n == ARRAY_SIZE(many), "%s: the last 16 of them are kept, the oldest went", k);
	if (!check(!map_file(&h, env.pagecache_dir, MAP_SHARED) &&
			   !write_sysctl(limit, "0", old, sizeof(old)),
		   "%s: another file, and fs.inotify.max_user_watches = 0: %s", k, h.err))
		goto out;
	mr = reg_pinned_as(lease, &h);
	err = errno;
	n = keeper_watches(NULL);
	/* A pin without a lease is watched only if the user has a watch to spare. */
	if (lease == RDMAPIN_LEASE_NONE)
		check(mr && n == 0,
		      "%s: with no room, registers unwatched once the kept ones "
		      "are gone (%d left): %s",
		      k, n, mr ? "yes" : rdmapin_last_error());
	else
		check(!mr && err == ENOSPC && n == 0,
		      "%s: with no room, a new watch fails with ENOSPC once the kept ones are "
		      "gone (%d left): %s",
		      k, n, mr ? "registered" : rdmapin_last_error());
	if (mr)
		rdmapin_dereg_mr(mr);
out:
	if (old[0])
		write_sysctl(limit, old, NULL, 0);
	for (i = 0; i < ARRAY_SIZE(many); i++) {
		unlink(many[i].path);
		unmap(&many[i]);
	}
	for (i = 0; i < ARRAY_SIZE(tried); i++) {
		unlink(tried[i].path);
		unmap(&tried[i]);
	}
	unlink(h.path);
	unmap(&h);
	unlink(g.path);
	unmap(&g);
	unlink(f.path);
	unmap(&f);
}

/*
 * A file deleted while registered, or before, and still open and mapped: its
 * watch is not kept after its last MR. The kernel would not remove it (no
 * IN_IGNORED once the file's last open is gone), and it would keep the
 * file's inode, and its blocks, from being freed. A lease's file is looked
 * at as the lease goes; a pin without one learns of the deletion from the
 * watch itself (IN_ATTRIB), when the keeper next reads its events.
 */
static void deleted_watch_case(enum rdmapin_lease_policy lease, bool before)
{
	const char *k = lease == RDMAPIN_LEASE_NONE ? "deleted watch, no lease" : "deleted watch";
	const char *when = before ? "before" : "while registered";
	struct mapping f = unmapped;
	struct ibv_mr *mr;
	struct stat st;
	bool gone = false;

	if (!check(!map_file(&f, env.pagecache_dir, MAP_SHARED) && !fstat(f.fd, &st) &&
			   (!before || !unlink(f.path)),
		   "%s: map a file, deleted %s: %s", k, when, f.err))
		goto out;
	mr = reg_pinned_as(lease, &f);
	if (!check(mr && keeper_watches(&st) == 1 && (before || !unlink(f.path)),
		   "%s: pinned, watched, deleted %s: %s", k, when,
		   mr ? "registered" : rdmapin_last_error()))
		goto out;
	if (!rdmapin_dereg_mr(mr))
		gone = lease == RDMAPIN_LEASE_NONE && !before ? watch_goes(&st) :
								!keeper_watches(&st);
	check(gone, "%s %s: after the last MR, no watch is kept", k, when);
out:
	unlink(f.path);
	unmap(&f);
}

/* A fresh ext4 on the loop device @loop, mounted at @dir: 0 or -1. */
static int fresh_fs(const char *loop, const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "
		 "%s && mkdir -p %s && mount %s %s", loop, dir, loop, dir);
	return system(cmd) ? -1 : 0;
}

/*
 * A kept watch goes when its filesystem is unmounted (IN_IGNORED, as for a
 * deleted file): a file on a fresh filesystem, mounted from the same loop
 * device (so the same st_dev), on the same inode number (a fresh ext4's
 * first file), must get a watch of its own, not the dead one.
 */
static void unmounted_watch_case(void)
{
	static const char img[] = "/run/rdmapin-unmount.img", dir[] = "/mnt/rdmapin-unmount";
	struct mapping f = unmapped, g = unmapped;
	struct stat st, gst;
	struct ibv_mr *mr;
	char loop[64] = "", cmd[160];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "truncate -s 32M %s && losetup -f --show %s", img, img);
	p = popen(cmd, "r");
	if (p && !fgets(loop, sizeof(loop), p))
		loop[0] = '\0';
	if (p)
		pclose(p);
	loop[strcspn(loop, "\n")] = '\0';
	if (!check(loop[0] && !fresh_fs(loop, dir), "unmounted watch: ext4 on %s at %s", loop,
		   dir))
		goto out;
	if (!check(!map_file(&f, dir, MAP_SHARED) && !fstat(f.fd, &st),
		   "unmounted watch: map a file: %s", f.err))
		goto out;
	mr = reg_pinned(&f);
	check(mr && !rdmapin_dereg_mr(mr) && keeper_watches(&st) == 1,
	      "unmounted watch: kept after the file's last MR");
	/* Closed and unmapped, not deleted: the unmount alone drops the watch. */
	f.path[0] = '\0';
	unmap(&f);
	f = unmapped;
	check(!umount(dir) && !fresh_fs(loop, dir), "unmounted watch: unmounted, and a fresh "
	      "filesystem mounted from %s", loop);
	if (!check(!map_file(&g, dir, MAP_SHARED) && !fstat(g.fd, &gst) &&
		   gst.st_dev == st.st_dev && gst.st_ino == st.st_ino,
		   "unmounted watch: its first file has the device and inode number of the file "
		   "before: %s", g.err))
		goto out;
	mr = reg_pinned(&g);
	check(mr && keeper_watches(&gst) == 1, "unmounted watch: that file gets a watch of its "
	      "own: %s", mr ? "registered" : rdmapin_last_error());
	if (mr)
		rdmapin_dereg_mr(mr);
out:
	unmap(&g);
	unmap(&f);
	umount(dir);
	rmdir(dir);
	if (loop[0]) {
		snprintf(cmd, sizeof(cmd), "losetup -d %s", loop);
		if (system(cmd))
			printf("# could not detach %s\n", loop);
	}
	unlink(img);
}

/*
 * A lease broken by another process's open: the MR is revoked, and the
 * watch of its file is not kept, whose opener may write to it next.
 */
static void broken_watch_case(void)
{
	struct rdmapin_async_event ev = { .mr = NULL };
	struct pollfd pfd = { .events = POLLIN };
	struct mapping f = unmapped;
	struct ibv_mr *mr = NULL;
	struct stat st;
	pid_t pid;

	if (!check(!map_file(&f, env.pagecache_dir, MAP_SHARED) && !fstat(f.fd, &st),
		   "broken watch: map a file: %s", f.err))
		goto out;
	mr = reg_pinned(&f);
	if (!check(mr && keeper_watches(&st) == 1, "broken watch: pinned, watched: %s",
		   mr ? "registered" : rdmapin_last_error()))
		goto out;
	pid = fork();
	if (pid == 0)
		_exit(open(f.path, O_RDONLY | O_NONBLOCK | O_CLOEXEC) < 0 && errno == EAGAIN ? 0 : 1);
	check(!child_errno(pid), "broken watch: another process's open breaks the lease");
	pfd.fd = rdmapin_get_async_fd(pd->context);
	if (check(pfd.fd >= 0 && poll(&pfd, 1, 5000) == 1 &&
			  !rdmapin_get_async_event(pd->context, &ev),
		  "broken watch: an event comes"))
		rdmapin_ack_async_event(&ev);
	check(ev.type == RDMAPIN_EVENT_MR_REVOKED && ev.mr == mr, "broken watch: the MR is revoked");
	check(watch_goes(&st), "broken watch: the watch of its file is not kept");
out:
	if (mr)
		rdmapin_dereg_mr(mr);
	unlink(f.path);
	unmap(&f);
}

static struct guardd_run guardd = { .pid = -1 };
static char work[32];

/* 0 when another process's truncate of @path to 0 succeeds, else its errno. */
static int truncate_elsewhere(const char *path)
{
	pid_t pid = fork();

	if (pid == 0)
		_exit(truncate(path, 0) ? errno : 0);
	return child_errno(pid);
}

static struct ibv_mr *reg_mapped(const struct mapping *m, const char *how,
				 struct rdmapin_mr_attr *attr)
{
	struct ibv_mr *mr = rdmapin_reg_mr(pd, m->addr, m->len, MR_ACCESS);

	if (!mr) {
		check(0, "%s: registers: %s", how, rdmapin_last_error());
		return NULL;
	}
	rdmapin_query_mr(mr, attr);
	return mr;
}

static struct ibv_mr *reg_file(struct mapping *m, const char *how, struct rdmapin_mr_attr *attr)
{
	if (!map_pagecache_shared(m))
		return reg_mapped(m, how, attr);
	check(0, "%s: map a file: %s", how, m->err);
	return NULL;
}

/*
 * test_failsafe's restart_case restarts the daemon with SIGKILL between two
 * registrations. Here the daemon is stopped cleanly, a registration while
 * it is away is protected without it (a lease, or the guard's map edited
 * directly: this test runs as root), and the library now believes it away;
 * right after it starts again a registration is guarded through it.
 */
static void restart_case(void)
{
	struct mapping m1 = unmapped, m2 = unmapped, m3 = unmapped;
	struct ibv_mr *mr1, *mr2 = NULL, *mr3 = NULL;
	struct rdmapin_mr_attr attr = { .comp_mask = 0 };
	int status;

	mr1 = reg_file(&m1, "restart: first file", &attr);
	if (!mr1)
		return;
	check(attr.guard == RDMAPIN_GUARD_KIND_DAEMON, "restart: first file guarded via the "
	      "daemon (guard %d)", attr.guard);
	status = guardd_stop(&guardd, SIGTERM);
	check(WIFEXITED(status) && !WEXITSTATUS(status), "restart: SIGTERM stops the daemon");
	mr2 = reg_file(&m2, "restart: second file, the daemon away", &attr);
	if (mr2)
		check(attr.guard != RDMAPIN_GUARD_KIND_DAEMON &&
			      (attr.lease != RDMAPIN_LEASE_KIND_NONE || attr.guard),
		      "restart: second file protected without the daemon while it is away "
		      "(lease %d, guard %d)", attr.lease, attr.guard);
	if (!check(!guardd_start(&guardd, NULL), "restart: the daemon starts again"))
		goto out;
	mr3 = reg_file(&m3, "restart: third file, at once after the start", &attr);
	if (mr3)
		check(attr.guard == RDMAPIN_GUARD_KIND_DAEMON && attr.lease == RDMAPIN_LEASE_KIND_NONE,
		      "restart: third file guarded via the new daemon (lease %d, guard %d)",
		      attr.lease, attr.guard);
	if (mr3)
		check(truncate_elsewhere(m3.path) == ETXTBSY, "restart: third file truncate fails "
		      "with ETXTBSY");
	check(truncate_elsewhere(m1.path) == ETXTBSY, "restart: first file still guarded");
	check(!rdmapin_dereg_mr(mr1), "restart: dereg the first file");
	mr1 = NULL;
	check(truncate_elsewhere(m1.path) == 0, "restart: the first file truncates after dereg");
	if (mr3)
		check(truncate_elsewhere(m3.path) == ETXTBSY, "restart: third file still guarded "
		      "after the first's dereg");
out:
	if (mr1)
		rdmapin_dereg_mr(mr1);
	if (mr2)
		check(!rdmapin_dereg_mr(mr2), "restart: dereg the second file");
	if (mr3)
		check(!rdmapin_dereg_mr(mr3), "restart: dereg the third file");
	if (mr3)
		check(truncate_elsewhere(m3.path) == 0, "restart: the third file truncates after "
		      "dereg");
	unmap(&m1);
	unmap(&m2);
	unmap(&m3);
}

/*
 * The fd below 1024 connected to rdmapin-guardd's socket (which it binds by
 * its name in its directory), or -1; @n counts them all.
 */
static int daemon_alias(int *n)
{
	struct sockaddr_un peer;
	socklen_t len;
	int fd, found = -1;

	*n = 0;
	for (fd = 0; fd < 1024; fd++) {
		len = sizeof(peer);
		if (!is_socket(fd) || getpeername(fd, (struct sockaddr *)&peer, &len) ||
		    peer.sun_family != AF_UNIX || strcmp(peer.sun_path, RDMAPIN_GUARDD_SOCKET_NAME))
			continue;
		found = fd;
		++*n;
	}
	return found;
}

/* Whether the file at @path is guarded and @mr over it was guarded through the daemon. */
static void check_daemon_guarded(struct ibv_mr *mr, const char *path, const char *how)
{
	struct rdmapin_mr_attr attr = { .comp_mask = 0 };
	int queried = rdmapin_query_mr(mr, &attr);

	check(!queried && attr.guard == RDMAPIN_GUARD_KIND_DAEMON &&
		      truncate_elsewhere(path) == ETXTBSY,
	      "%s: guarded through the daemon (guard %d), truncate fails with ETXTBSY", how,
	      attr.guard);
}

/*
 * Requests go to the daemon through the connection's alias in the
 * application's table (rdmapin(7) LIBRARY THREADS AND DESCRIPTORS): one, and
 * no copy in a forked child. Replaced by the application's own connected
 * SEQPACKET socket, it is left alone: nothing goes through that socket, and
 * the next file is guarded all the same. Closed, it ends no guard, and the
 * deregistrations still lift them.
 */
static void alias_case(void)
{
	struct mapping m1 = unmapped, m2 = unmapped;
	struct rdmapin_mr_attr attr = { .comp_mask = 0 };
	struct ibv_mr *mr1, *mr2 = NULL;
	int sp[2] = { -1, -1 }, fd, n, again;
	struct stat app, now;
	ssize_t got;
	char c;
	pid_t pid;

	mr1 = reg_file(&m1, "alias: first file", &attr);
	if (!mr1)
		return;
	check_daemon_guarded(mr1, m1.path, "alias: first file");
	fd = daemon_alias(&n);
	if (!check(fd >= 0 && n == 1,
		   "alias: one fd in the application's table is connected to "
		   "the daemon (fd %d, %d of them)",
		   fd, n))
		goto out;
	pid = fork();
	if (pid == 0)
		_exit(daemon_alias(&n) < 0 ? 0 : 1);
	check(child_errno(pid) == 0, "alias: a forked child has no copy of it");
	if (!check(!socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) &&
			   dup3(sp[0], fd, O_CLOEXEC) == fd && !fstat(fd, &app),
		   "alias: the application puts a connected SEQPACKET socket on fd %d", fd))
		goto out;
	mr2 = reg_file(&m2, "alias: second file, the alias replaced", &attr);
	if (mr2)
		check_daemon_guarded(mr2, m2.path, "alias: second file");
	got = recv(sp[1], &c, 1, MSG_DONTWAIT);
	check(got < 0 && errno == EAGAIN,
	      "alias: nothing went through the application's socket "
	      "(recv: %zd)",
	      got);
	again = daemon_alias(&n);
	check(again >= 0 && again != fd && n == 1,
	      "alias: a new one, on another fd (fd %d, %d "
	      "of them)",
	      again, n);
	if (again >= 0)
		close(again);
	check_daemon_guarded(mr1, m1.path, "alias: closed, first file");
	if (mr2)
		check(!rdmapin_dereg_mr(mr2) && truncate_elsewhere(m2.path) == 0,
		      "alias: closed, the second file's dereg lifts its guard");
	mr2 = NULL;
	check(!rdmapin_dereg_mr(mr1) && truncate_elsewhere(m1.path) == 0,
	      "alias: the first file's dereg lifts its guard");
	mr1 = NULL;
	check(!fstat(fd, &now) && now.st_ino == app.st_ino && recv(sp[1], &c, 1, MSG_DONTWAIT) < 0,
	      "alias: the application's socket stays, and got nothing");
out:
	if (mr1)
		rdmapin_dereg_mr(mr1);
	if (mr2)
		rdmapin_dereg_mr(mr2);
	if (sp[0] >= 0) {
		close(fd);
		close(sp[0]);
		close(sp[1]);
	}
	unmap(&m1);
	unmap(&m2);
}

/*
 * rdmapin_guard(7): an MR deregistered while the daemon is away leaves its
 * file guarded, and its UNGUARD is sent when the process next talks to the
 * daemon: here, the next file's registration once it is back.
 */
static void missed_case(void)
{
	struct mapping m1 = unmapped, m2 = unmapped;
	struct rdmapin_mr_attr attr = { .comp_mask = 0 };
	struct ibv_mr *mr1, *mr2;
	int status;

	mr1 = reg_file(&m1, "missed: first file", &attr);
	if (!mr1)
		return;
	check_daemon_guarded(mr1, m1.path, "missed: first file");
	status = guardd_stop(&guardd, SIGTERM);
	check(WIFEXITED(status) && !WEXITSTATUS(status), "missed: SIGTERM stops the daemon");
	check(!rdmapin_dereg_mr(mr1), "missed: dereg the first file, the daemon away");
	check(truncate_elsewhere(m1.path) == ETXTBSY, "missed: the first file stays guarded");
	if (!check(!guardd_start(&guardd, NULL), "missed: the daemon starts again"))
		goto out;
	check(truncate_elsewhere(m1.path) == ETXTBSY,
	      "missed: it stays guarded while the process does not talk to the daemon");
	mr2 = reg_file(&m2, "missed: second file", &attr);
	if (!mr2)
		goto out;
	check_daemon_guarded(mr2, m2.path, "missed: second file");
	check(truncate_elsewhere(m1.path) == 0,
	      "missed: the first file's UNGUARD went first: the first file truncates");
	check(!rdmapin_dereg_mr(mr2) && truncate_elsewhere(m2.path) == 0,
	      "missed: the second file's dereg lifts its guard");
out:
	unmap(&m1);
	unmap(&m2);
}

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * The requests go from the application's thread, where its signals land: a
 * handler that interrupts one (EINTR; SA_RESTART never restarts a socket call
 * with a timeout) must not leave an entry behind, which would keep the file
 * guarded after its last dereg. A timer fires every 100 us throughout.
 */
static void interrupted_case(void)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct itimerval every = { { 0, 100 }, { 0, 100 } }, off = { { 0, 0 }, { 0, 0 } };
	struct rdmapin_mr_attr attr = { .comp_mask = 0 };
	struct mapping m = unmapped;
	struct ibv_mr *mr;
	int i, failed = 0;

	mr = reg_file(&m, "interrupted: a file", &attr);
	if (!mr)
		return;
	check_daemon_guarded(mr, m.path, "interrupted: a file");
	rdmapin_dereg_mr(mr);
	sigaction(SIGALRM, &sa, &old);
	setitimer(ITIMER_REAL, &every, NULL);
	for (i = 0; i < 100; i++) {
		mr = rdmapin_reg_mr(pd, m.addr, m.len, MR_ACCESS);
		if (mr)
			rdmapin_dereg_mr(mr);
		else
			failed++;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	sigaction(SIGALRM, &old, NULL);
	check(!failed, "interrupted: 100 reg+dereg under a 100 us timer (%d failed: %s)", failed,
	      failed ? rdmapin_last_error() : "");
	check(truncate_elsewhere(m.path) == 0,
	      "interrupted: no entry is left behind: the file truncates");
	unmap(&m);
}

/*
 * With no daemon and no guard loaded, a file is leased, and the library
 * believes for up to a second that no guard is to be had (rdmapin_guard(7)).
 * A second later, with the daemon started meanwhile, a file is guarded
 * through it. Returns whether the daemon started.
 */
static bool absent_case(void)
{
	struct mapping m1 = unmapped, m2 = unmapped;
	struct rdmapin_mr_attr attr = { .comp_mask = 0 };
	struct ibv_mr *mr;
	double since, wait;
	bool started;

	check(access(RDMAPIN_GUARD_DIR, F_OK) && errno == ENOENT, "absent: no guard is loaded");
	mr = reg_file(&m1, "absent: no daemon, no guard", &attr);
	since = now_s();
	if (mr) {
		check(attr.guard == RDMAPIN_GUARD_KIND_NONE && attr.lease != RDMAPIN_LEASE_KIND_NONE,
		      "absent: the file is leased (lease %d, guard %d)", attr.lease, attr.guard);
		check(!rdmapin_dereg_mr(mr), "absent: dereg");
	}
	started = check(!guardd_start(&guardd, NULL), "rdmapin-guardd listens on %s",
			guardd.socket);
	wait = since + 1.1 - now_s();
	if (started && wait > 0)
		usleep(wait * 1e6);
	mr = started ? reg_file(&m2, "absent: a second later, the daemon started", &attr) : NULL;
	if (mr) {
		check(attr.guard == RDMAPIN_GUARD_KIND_DAEMON && attr.lease == RDMAPIN_LEASE_KIND_NONE,
		      "absent: the next file is guarded through the daemon (lease %d, guard %d)",
		      attr.lease, attr.guard);
		check(!rdmapin_dereg_mr(mr), "absent: dereg the next file");
	}
	unmap(&m1);
	unmap(&m2);
	return started;
}

/* The library's second: whole seconds of the coarse clock (guard_client.c). */
static time_t coarse_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return ts.tv_sec;
}

/* Sleeps into the start of the next second, so that a round has all of it. */
static void next_second(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	usleep((1000000000 - ts.tv_nsec) / 1000 + 20000);
}

/*
 * rdmapin_guard(7): a process that finds neither a daemon nor a guard's map
 * it may edit believes so for up to a second, and its registrations in that
 * second go to the lease without asking; rdmapin_query_guard() always asks,
 * and a daemon it reaches serves the registrations after it. The daemon
 * runs throughout, so that all of it fits in one second: the library asks
 * for it by a name that a symbolic link makes its socket's at once, and the
 * map is closed to this thread only while its fsuid is nobody's (the map's
 * directory is root's alone).
 */
static void believed_case(void)
{
	static const char *const how[] = { "belief: no daemon, no map", "belief: in the second",
					   "belief: after rdmapin_query_guard()" };
	struct mapping m[3] = { unmapped, unmapped, unmapped };
	struct rdmapin_mr_attr attr[3] = { { .comp_mask = 0 } };
	struct ibv_mr *mr[3] = { NULL };
	enum rdmapin_guard_kind asked = RDMAPIN_GUARD_KIND_NONE;
	char link[64], why[256] = "";
	bool in_time = false;
	time_t sec;
	int i;

	snprintf(link, sizeof(link), "%s/link", work);
	setenv("RDMAPIN_GUARDD_SOCKET", link, 1);
	for (i = 0; i < 3; i++)
		if (map_pagecache_shared(&m[i])) {
			check(0, "belief: map a file: %s", m[i].err);
			goto out;
		}
	if (!check(!guardd_start(&guardd, NULL), "belief: rdmapin-guardd listens on %s",
		   guardd.socket))
		goto out;
	next_second();
	sec = coarse_s();
	setfsuid(65534);
	mr[0] = reg_mapped(&m[0], how[0], &attr[0]);
	if (setfsuid(0) != 65534 || symlink(guardd.socket, link))
		check(0, "belief: link %s to the socket: %s", link, strerror(errno));
	mr[1] = reg_mapped(&m[1], how[1], &attr[1]);
	asked = rdmapin_query_guard(why, sizeof(why));
	mr[2] = reg_mapped(&m[2], how[2], &attr[2]);
	in_time = coarse_s() == sec;
	check(attr[0].guard == RDMAPIN_GUARD_KIND_NONE && attr[0].lease,
	      "belief: nothing could guard the first file: leased (lease %d, guard %d)",
	      attr[0].lease, attr[0].guard);
	if (in_time)
		check(attr[1].guard == RDMAPIN_GUARD_KIND_NONE && attr[1].lease,
		      "belief: in that second, the next file leased (lease %d, guard %d)",
		      attr[1].lease, attr[1].guard);
	else
		printf("# SKIP belief: the registrations outlasted their second\n");
	check(asked == RDMAPIN_GUARD_KIND_DAEMON, "belief: rdmapin_query_guard() asks: %s", why);
	check(attr[2].guard == RDMAPIN_GUARD_KIND_DAEMON && !attr[2].lease,
	      "belief: then the third file guarded by the daemon (lease %d, guard %d)",
	      attr[2].lease, attr[2].guard);
	for (i = 0; i < 3; i++)
		if (mr[i])
			check(!rdmapin_dereg_mr(mr[i]), "belief: dereg file %d", i + 1);
	check(!truncate_elsewhere(m[2].path), "belief: the third file truncates after dereg");
	guardd_stop(&guardd, SIGTERM);
	check(!guard_unload(), "belief: unload the guard");
out:
	unlink(link);
	for (i = 0; i < 3; i++)
		unmap(&m[i]);
	setenv("RDMAPIN_GUARDD_SOCKET", guardd.socket, 1);
}

static void daemon_case(void)
{
	char dir[48], log[48], cmd[64];

	snprintf(work, sizeof(work), "/tmp/test_caches.XXXXXX");
	if (!check(mkdtemp(work) && !chmod(work, 0755), "create %s", work))
		return;
	snprintf(dir, sizeof(dir), "%s/guardd", work);
	snprintf(log, sizeof(log), "%s/guardd.log", work);
	guardd_init(&guardd, dir, log);
	believed_case();
	if (absent_case()) {
		restart_case();
		alias_case();
		missed_case();
		interrupted_case();
	}
	guardd_show_log(&guardd);
	if (guardd.pid > 0)
		guardd_stop(&guardd, SIGTERM);
	check(!guard_unload(), "unload the guard");
	unsetenv("RDMAPIN_GUARDD_SOCKET");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", work);
	if (system(cmd))
		printf("# could not remove %s\n", work);
}

/* Recreates namespace1.0 as device-DAX with @align and waits for its device: 0 or -1. */
static int devdax_reconfigure(const char *align)
{
	char cmd[160], sys[96];
	unsigned long got = 0;
	FILE *f;
	int i;

	snprintf(cmd, sizeof(cmd), "ndctl create-namespace -f -e namespace1.0 -m devdax -a %s "
		 ">/dev/null 2>&1", align);
	if (system(cmd))
		return -1;
	snprintf(sys, sizeof(sys), "/sys/bus/dax/devices/%s/align", strrchr(env.devdax, '/') + 1);
	for (i = 0; i < 100 && access(env.devdax, F_OK); i++)
		usleep(100000);
	f = fopen(sys, "re");
	if (f && fscanf(f, "%lu", &got) != 1)
		got = 0;
	if (f)
		fclose(f);
	printf("# %s: align %lu\n", sys, got);
	return access(env.devdax, F_OK) ? -1 : 0;
}

/* Registers @len at @off of a @map_len device-DAX mapping: 0 or the errno. */
static int devdax_reg(size_t map_len, size_t off, size_t len, const char *how)
{
	struct mapping m = unmapped;
	struct rdmapin_mr_attr attr = { .comp_mask = 0 };
	struct ibv_mr *mr;
	int err;

	if (!check(!map_devdax(&m, map_len), "%s: map %zu KiB of %s: %s", how, map_len >> 10,
		   env.devdax, m.err))
		return -1;
	mr = rdmapin_reg_mr(pd, (char *)m.addr + off, len, MR_ACCESS);
	err = mr ? 0 : errno;
	printf("# %s: %s\n", how, mr ? "registered" : rdmapin_last_error());
	if (mr) {
		check(!rdmapin_query_mr(mr, &attr) && attr.backing == RDMAPIN_BACKING_DEVDAX,
		      "%s: backing device-DAX", how);
		check(!rdmapin_dereg_mr(mr), "%s: dereg", how);
	}
	unmap(&m);
	return err;
}

/* devdax_reg() through @path, a node of the device that is not the one in /dev. */
static int devdax_reg_via(const char *path, size_t map_len, size_t off, size_t len,
			  const char *how)
{
	const char *dev = env.devdax;
	int err;

	env.devdax = path;
	err = devdax_reg(map_len, off, len, how);
	env.devdax = dev;
	return err;
}

/* Whether @node is still the device in /dev (recreated, it may get another minor). */
static bool node_is_devdax(const char *node)
{
	struct stat a, b;

	return !stat(node, &a) && !stat(env.devdax, &b) && a.st_rdev == b.st_rdev;
}

/*
 * Through @node, last registered when the device was aligned to 2 MiB: one
 * MR, and another while it is held, must both take 4 KiB alignment.
 */
static void node_at_4k(const char *node)
{
	const size_t mib2 = 2UL << 20;
	struct mapping m = unmapped;
	struct ibv_mr *held = NULL;
	int err;

	err = devdax_reg_via(node, mib2, 4096, 8192, "device-DAX, 4 KiB alignment, own "
			     "node: 8 KiB at 4 KiB");
	check(!err, "device-DAX, 4 KiB alignment: 8 KiB at offset 4 KiB registers through "
	      "the node last registered at 2 MiB (%s)", strerror(err));
	m.fd = open(node, O_RDWR | O_CLOEXEC);
	if (m.fd >= 0) {
		m.len = mib2;
		m.addr = mmap(NULL, mib2, PROT_READ | PROT_WRITE, MAP_SHARED, m.fd, 0);
	}
	if (m.fd >= 0 && m.addr != MAP_FAILED)
		held = rdmapin_reg_mr(pd, (char *)m.addr + 4096, 8192, MR_ACCESS);
	if (!check(held != NULL, "device-DAX, 4 KiB alignment: an MR held through %s (%s)",
		   node, held ? "registered" : rdmapin_last_error()))
		goto out;
	err = devdax_reg_via(node, mib2, 8192, 4096, "device-DAX, 4 KiB alignment, own "
			     "node, one MR held: 4 KiB at 8 KiB");
	check(!err, "device-DAX, 4 KiB alignment: 4 KiB at offset 8 KiB registers through the "
	      "node while another MR holds it (%s)", strerror(err));
	check(!rdmapin_dereg_mr(held), "device-DAX: dereg of the held MR");
out:
	unmap(&m);
}

/* The library's descriptor of a device-DAX align attribute in this process's table, or -1. */
static int devdax_attr_fd(void)
{
	char link[64], path[PATH_MAX];
	ssize_t n;
	int fd;

	for (fd = 0; fd < 1024; fd++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, path, sizeof(path) - 1);
		if (n < 11)
			continue;
		path[n] = '\0';
		if (!strncmp(path, "/sys/", 5) && !strcmp(path + n - 6, "/align"))
			return fd;
	}
	return -1;
}

/*
 * The device's alignment is read through a descriptor the library keeps in
 * the application's table. With a file saying 4096 on its number, a whole
 * mapping of the device, known already, registers without reading it (the
 * mapping's bounds answer: no new descriptor), the 2 MiB device must still
 * refuse a range aligned to 4 KiB only, and a forked child keeps that file.
 * (On 7.x the mapping's page size answers first.)
 */
static void replaced_attr_case(void)
{
	char tmp[] = "/tmp/rdmapin-test-align-XXXXXX", text[8];
	int n = devdax_attr_fd(), fd, err;
	pid_t pid;

	if (!check(n >= 0, "device-DAX: the library keeps a descriptor of the align attribute "
		   "(fd %d)", n))
		return;
	fd = mkstemp(tmp);
	if (!check(fd >= 0 && write(fd, "4096\n", 5) == 5 && dup3(fd, n, O_CLOEXEC) == n,
		   "device-DAX: the application puts a file saying 4096 on fd %d", n))
		goto out;
	err = devdax_reg(2UL << 20, 0, 2UL << 20, "device-DAX, align fd replaced: whole mapping");
	check(!err && devdax_attr_fd() < 0,
	      "device-DAX, align fd replaced: a whole 2 MiB mapping "
	      "registers (%s) without reading the alignment (no descriptor of it opened)",
	      strerror(err));
	err = devdax_reg(2UL << 20, 4096, 8192, "device-DAX, align fd replaced: 8 KiB at 4 KiB");
	check(err == EINVAL, "device-DAX, align fd replaced: 8 KiB at 4 KiB refused with EINVAL "
	      "(%s)", strerror(err));
	err = devdax_reg(2UL << 20, 0, 2UL << 20, "device-DAX, align fd replaced: 2 MiB");
	check(!err, "device-DAX, align fd replaced: 2 MiB registers (%s)", strerror(err));
	pid = fork();
	if (pid == 0)
		_exit(pread(n, text, 5, 0) == 5 && !memcmp(text, "4096\n", 5) &&
			      devdax_attr_fd() < 0 ? 0 : 1);
	check(child_errno(pid) == 0, "device-DAX: a forked child keeps the application's file on "
	      "fd %d and has no copy of the library's new descriptor", n);
	close(n);
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
}

static void devdax_case(void)
{
	const size_t mib2 = 2UL << 20;
	char node[64];
	struct stat st;
	bool have_node;
	int err;

	err = devdax_reg(mib2, 0, mib2, "device-DAX, 2 MiB alignment: 2 MiB");
	check(!err, "device-DAX, 2 MiB alignment: 2 MiB registers (%s)", strerror(err));
	replaced_attr_case();
	snprintf(node, sizeof(node), "/run/rdmapin-test-dax-%d", getpid());
	have_node = !stat(env.devdax, &st) && !mknod(node, S_IFCHR | 0600, st.st_rdev);
	if (check(have_node, "device-DAX: a node of its own at %s%s%s", node,
		  have_node ? "" : ": ", have_node ? "" : strerror(errno))) {
		err = devdax_reg_via(node, mib2, 0, mib2, "device-DAX, 2 MiB alignment, own "
				     "node: 2 MiB");
		check(!err, "device-DAX, 2 MiB alignment: 2 MiB registers through %s (%s)", node,
		      strerror(err));
	}
	if (!check(!devdax_reconfigure("4K"), "device-DAX: namespace1.0 recreated with 4 KiB "
		   "alignment"))
		goto restore;
	err = devdax_reg(mib2, 4096, 8192, "device-DAX, 4 KiB alignment: 8 KiB at 4 KiB");
	check(!err, "device-DAX, 4 KiB alignment: 8 KiB at offset 4 KiB registers (%s)",
	      strerror(err));
	err = devdax_reg(mib2, 512, 4096, "device-DAX, 4 KiB alignment: 4 KiB at 512");
	check(err == EINVAL, "device-DAX, 4 KiB alignment: 4 KiB at offset 512 refused with "
	      "EINVAL (%s)", strerror(err));
	if (have_node && check(node_is_devdax(node), "device-DAX: %s is still the recreated "
			       "device (same number)", node))
		node_at_4k(node);
restore:
	check(!devdax_reconfigure("2M"), "device-DAX: namespace1.0 restored with 2 MiB alignment");
	err = devdax_reg(mib2, 0, mib2, "device-DAX, 2 MiB again: 2 MiB");
	check(!err, "device-DAX, 2 MiB alignment again: 2 MiB registers (%s)", strerror(err));
	err = devdax_reg(mib2, 4096, 8192, "device-DAX, 2 MiB again: 8 KiB at 4 KiB");
	check(err == EINVAL, "device-DAX, 2 MiB alignment again: 8 KiB at 4 KiB refused with "
	      "EINVAL (%s)", strerror(err));
	if (have_node)
		unlink(node);
}

/*
 * A device-DAX node on a disk filesystem, registered and deleted: a regular
 * file given its inode number is that file, page cache to lease or guard,
 * not the device the library remembers from the node (file_cache.h).
 */
static void reused_node_case(void)
{
	struct mapping m = unmapped, tried[64];
	struct rdmapin_mr_attr attr = { .comp_mask = 0 };
	struct ibv_mr *mr;
	struct stat st;
	char node[PATH_MAX];
	bool made, held;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(tried); i++)
		tried[i] = unmapped;
	snprintf(node, sizeof(node), "%s/rdmapin-test-dax-%d", env.pagecache_dir, getpid());
	made = !stat(env.devdax, &st) && !mknod(node, S_IFCHR | 0600, st.st_rdev);
	if (!check(made && !stat(node, &st), "reused node: a node of the device at %s", node))
		return;
	check(!devdax_reg_via(node, 2UL << 20, 0, 2UL << 20, "reused node: the node, 2 MiB"),
	      "reused node: 2 MiB registers through %s", node);
	unlink(node);
	if (!check(!map_on_inode(&m, tried, ARRAY_SIZE(tried), st.st_ino),
		   "reused node: a new file on the node's inode number %lu, in %zu tries",
		   (unsigned long)st.st_ino, ARRAY_SIZE(tried)))
		goto out;
	mr = rdmapin_reg_mr(pd, m.addr, 2UL << 20, MR_ACCESS);
	/* A failed query leaves attr zeroed, which the check does not pass. */
	if (mr)
		rdmapin_query_mr(mr, &attr);
	held = attr.lease != RDMAPIN_LEASE_KIND_NONE || attr.guard != RDMAPIN_GUARD_KIND_NONE;
	check(mr && attr.backing == RDMAPIN_BACKING_PAGECACHE && held,
	      "reused node: a file on the node's inode number %lu is page cache, leased or "
	      "guarded (%s)",
	      (unsigned long)st.st_ino,
	      mr ? rdmapin_backing_str(attr.backing) : rdmapin_last_error());
	if (mr)
		rdmapin_dereg_mr(mr);
out:
	unmap(&m);
	for (i = 0; i < ARRAY_SIZE(tried); i++)
		unmap(&tried[i]);
}

int main(void)
{
	bool sockets[1024];

	/* 7.x registers shared files with ODP; these tests do no remote writes. */
	setenv("RDMAPIN_ALLOW_QUIRKS", "rxe-odp-offset", 1);
	pd = start_guest_test();
	if (!pd)
		return check_done();
	/* Before the library starts its threads: the sockets that are not its own. */
	sockets_open(sockets);
	sender_case(sockets);
	remap_case();
	remap_live_case();
	replaced_fd_case(false);
	replaced_fd_case(true);
	map_files_case();
	canary_case();
	fd_hint_case();
	kept_watch_case(RDMAPIN_LEASE_REQUIRE);
	kept_watch_case(RDMAPIN_LEASE_NONE);
	deleted_watch_case(RDMAPIN_LEASE_REQUIRE, false);
	deleted_watch_case(RDMAPIN_LEASE_REQUIRE, true);
	deleted_watch_case(RDMAPIN_LEASE_NONE, false);
	deleted_watch_case(RDMAPIN_LEASE_NONE, true);
	unmounted_watch_case();
	broken_watch_case();
	daemon_case();
	devdax_case();
	reused_node_case();
	close_pd(pd);
	return check_done();
}
