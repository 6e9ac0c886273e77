// SPDX-License-Identifier: MIT
/*
 * rdmapin-guardd against hostile local users, in both test guests (issue
 * 11): nobody may not freeze a file it could not lease, nor a file that
 * reuses the inode number of one it guarded; malformed messages leak no fd;
 * a flood by one user leaves root served, and an out-of-fds daemon waits
 * instead of spinning; a runtime directory that a user prepared is refused.
 * The daemon runs as its unit runs it (the unit's capability bounding set),
 * and once under valgrind.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

#include <rdmapin/rdmapin.h>
#include "check.h"
#include "guard_map.h"
#include "guardd_ctl.h"
#include "guardd_proto.h"
#include "guest.h"
#include "proc.h"

#define NOBODY 65534
#define NOGROUP 65534
/* Files nobody guards and deletes, and root then creates (issue 11: 200). */
#define REUSED 200
/* Empty messages with an fd (issue 11: 2000). */
#define EMPTY_MSGS 2000
/* What the flooding daemon may hold: a quarter is root's. */
#define FLOOD_NOFILE 64
#define FLOOD_CONNS 200
/* The unit's CapabilityBoundingSet (tools/guardd/rdmapin-guardd.service.in). */
#define UNIT_CAPS "-all,+bpf,+perfmon"

static char work[48];
static struct guardd_run guardd;

static int become_nobody(void)
{
	return setgroups(0, NULL) || setgid(NOGROUP) || setuid(NOBODY) ? -1 : 0;
}

/*
 * A process of nobody's that runs @fn, and holds what it made (connections,
 * entries) until released: it lives on while root acts.
 */
struct partner {
	pid_t pid;
	int said[2], release[2];
};

/* Starts the partner: what @fn returned, or -1 (then it has ended). */
static int partner_start(struct partner *p, int (*fn)(void *arg), void *arg)
{
	int result = -1;
	char c;

	if (pipe2(p->said, O_CLOEXEC) || pipe2(p->release, O_CLOEXEC))
		return -1;
	fflush(stdout);
	p->pid = fork();
	if (p->pid == 0) {
		close(p->said[0]);
		close(p->release[1]);
		if (!become_nobody())
			result = fn(arg);
		if (write(p->said[1], &result, sizeof(result)) == sizeof(result))
			read(p->release[0], &c, 1);
		_exit(0);
	}
	if (p->pid < 0 || read(p->said[0], &result, sizeof(result)) != sizeof(result))
		result = -1;
	return result;
}

static void partner_release(struct partner *p)
{
	/* Its end closes: its read returns. */
	close(p->release[1]);
	if (p->pid > 0)
		waitpid(p->pid, NULL, 0);
	close(p->release[0]);
	close(p->said[0]);
	close(p->said[1]);
}

/* A file in @dir of @uid:@gid with @mode, open O_RDWR in @fd: 0, or -1 after a failed check. */
static int new_file(char *path, size_t len, const char *dir, const char *name, uid_t uid,
		    gid_t gid, mode_t mode, int *fd)
{
	snprintf(path, len, "%s/%s", dir, name);
	*fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (*fd >= 0 && !fchown(*fd, uid, gid) && !fchmod(*fd, mode) && !ftruncate(*fd, 4096))
		return 0;
	check(0, "create %s: %s", path, strerror(errno));
	return -1;
}

/* A size change of the file open at @fd, undone: 0 or its errno (ETXTBSY: guarded). */
static int truncate_err(int fd)
{
	if (ftruncate(fd, 8192))
		return errno;
	return ftruncate(fd, 4096) ? errno : 0;
}

/* One GUARD of @fd on @sock: the daemon's errno (-1: no answer), its message in @msg. */
static int guard_once(int sock, int fd, char *msg, size_t len)
{
	struct rdmapin_guardd_request req = { .op = RDMAPIN_GUARDD_GUARD };
	struct rdmapin_guardd_reply r;

	if (rdmapin_guardd_call(sock, &req, fd, &r)) {
		snprintf(msg, len, "no answer: %s", strerror(errno));
		return -1;
	}
	snprintf(msg, len, "%s", r.msg);
	return r.err;
}

/* A GUARD of the file at @path, opened O_RDWR, on a new connection: as guard_once(). */
static int guard_path(const char *path, char *msg, size_t len)
{
	int fd = open(path, O_RDWR | O_CLOEXEC), sock = rdmapin_guardd_connect(), err;

	if (fd < 0 || sock < 0) {
		snprintf(msg, len, "open or connect: %s", strerror(errno));
		err = -1;
	} else {
		err = guard_once(sock, fd, msg, len);
	}
	if (fd >= 0)
		close(fd);
	if (sock >= 0)
		close(sock);
	return err;
}

static int count_dir(const char *path)
{
	DIR *d = opendir(path);
	int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return d ? n - 2 : -1;
}

static int daemon_fds(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fd", guardd.pid);
	return count_dir(path);
}

/* The daemon's CPU time so far, in seconds. */
static double daemon_cpu_s(void)
{
	unsigned long long utime = 0, stime = 0;
	char path[64], buf[1024], *p;
	FILE *f;
	int i;

	snprintf(path, sizeof(path), "/proc/%d/stat", guardd.pid);
	f = fopen(path, "re");
	if (!f || !fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	if (f)
		fclose(f);
	p = strrchr(buf, ')');
	for (i = 0; p && i < 12; i++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%llu %llu", &utime, &stime);
	return (double)(utime + stime) / sysconf(_SC_CLK_TCK);
}

/* Lines of the log at @path that contain @s. */
static int lines_with(const char *path, const char *s)
{
	FILE *f = fopen(path, "re");
	char line[1024];
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		n += !!strstr(line, s);
	if (f)
		fclose(f);
	return n;
}

static int log_lines(const char *s)
{
	return lines_with(guardd.log, s);
}

static int start(const char *why, const char *const *args)
{
	if (check(!guardd_start(&guardd, args), "%s: rdmapin-guardd listens", why))
		return 0;
	guardd_show_log(&guardd);
	return -1;
}

static void stop(const char *why)
{
	int status = guardd_stop(&guardd, SIGTERM);

	if (!check(WIFEXITED(status) && !WEXITSTATUS(status), "%s: it stops cleanly (0x%x)", why,
		   status))
		guardd_show_log(&guardd);
	guardd.prefix = NULL;
}

/* Capability bit @cap in the daemon's effective set, from /proc/PID/status. */
static bool daemon_has_cap(int cap)
{
	unsigned long long eff = 0;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", guardd.pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		sscanf(line, "CapEff: %llx", &eff);
	if (f)
		fclose(f);
	return eff >> cap & 1;
}

/* --- 1. no one freezes what they could not lease ------------------------ */

struct foreign {
	char root_file[256];	/* root's, 0666 */
	char group_file[256];	/* root:nogroup, 0666: allow-group nogroup */
	char own_file[256];	/* nobody's, 0600 */
};

/* As nobody: the daemon refuses root's 0666 file, accepts its own and the group's. */
static void nobody_guards(void *arg)
{
	const struct foreign *f = arg;
	char msg[512];
	int err;

	if (become_nobody()) {
		check(0, "foreign: become nobody: %s", strerror(errno));
		return;
	}
	err = guard_path(f->root_file, msg, sizeof(msg));
	check(err == EACCES && strstr(msg, "CAP_LEASE") && strstr(msg, "rdmapin-guardd(8)"),
	      "foreign: nobody's GUARD of root's 0666 file is refused with EACCES, naming the "
	      "rule and the remedy: %s", msg);
	err = guard_path(f->own_file, msg, sizeof(msg));
	check(!err, "foreign: nobody's GUARD of its own file: %s", err ? msg : "ok");
	err = guard_path(f->group_file, msg, sizeof(msg));
	check(!err, "foreign: allow-group nogroup: nobody's GUARD of a 0666 file of group "
	      "nogroup: %s", err ? msg : "ok");
}

/* As root without CAP_LEASE: uid 0 alone does not pass the rule. */
static void root_without_cap_lease(void *arg)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];
	const struct foreign *f = arg;
	char msg[512];
	int err;

	syscall(SYS_capget, &hdr, caps);
	caps[CAP_TO_INDEX(CAP_LEASE)].effective &= ~CAP_TO_MASK(CAP_LEASE);
	if (syscall(SYS_capset, &hdr, caps)) {
		check(0, "foreign: drop CAP_LEASE: %s", strerror(errno));
		return;
	}
	err = guard_path(f->own_file, msg, sizeof(msg));
	check(err == EACCES, "foreign: root without CAP_LEASE: GUARD of nobody's file is "
	      "refused: %s", msg);
}

/*
 * Through the library, nobody's registration of root's 0666 file gets no
 * guard and falls back to the lease, which the kernel refuses it too: with
 * REQUIRE the registration fails with EACCES, with IF_AVAILABLE it goes on
 * with neither.
 */
static void nobody_registers(void *arg)
{
	struct rdmapin_mr_init_attr a = {
		.comp_mask = RDMAPIN_MR_INIT_ATTR_FD | RDMAPIN_MR_INIT_ATTR_LEASE,
		.access = IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE,
		.length = 4096,
		.lease = RDMAPIN_LEASE_REQUIRE,
	};
	const struct foreign *f = arg;
	struct rdmapin_mr_attr q = { .guard = -1 };
	struct ibv_pd *pd;
	struct ibv_mr *mr;

	if (become_nobody() || !(pd = open_pd(env.rxe0)) ||
	    (a.fd = open(f->root_file, O_RDWR | O_CLOEXEC)) < 0) {
		check(0, "library: nobody opens a PD and the file: %s", strerror(errno));
		return;
	}
	mr = rdmapin_reg_mr_ex(pd, &a);
	check(!mr && errno == EACCES && strstr(rdmapin_last_error(), "CAP_LEASE"),
	      "library: nobody, lease REQUIRE: refused with EACCES: %s",
	      mr ? "registered" : rdmapin_last_error());
	if (mr)
		rdmapin_dereg_mr(mr);
	a.lease = RDMAPIN_LEASE_IF_AVAILABLE;
	mr = rdmapin_reg_mr_ex(pd, &a);
	if (mr)
		rdmapin_query_mr(mr, &q);
	check(mr && q.guard == RDMAPIN_GUARD_KIND_NONE && q.lease == RDMAPIN_LEASE_KIND_NONE,
	      "library: nobody, lease IF_AVAILABLE: registered with guard none (%d) and no "
	      "lease (%d): %s", q.guard, q.lease, mr ? "ok" : rdmapin_last_error());
	if (mr)
		rdmapin_dereg_mr(mr);
	close_pd(pd);
}

static void check_foreign(void)
{
	struct foreign f;
	int root_fd = -1, group_fd = -1, own_fd = -1;
	char msg[512];

	if (new_file(f.root_file, sizeof(f.root_file), env.pagecache_dir, "hostile-root", 0, 0,
		     0666, &root_fd) ||
	    new_file(f.group_file, sizeof(f.group_file), env.pagecache_dir, "hostile-group", 0,
		     NOGROUP, 0666, &group_fd) ||
	    new_file(f.own_file, sizeof(f.own_file), env.pagecache_dir, "hostile-own", NOBODY,
		     NOGROUP, 0600, &own_fd))
		goto out;
	check_in_child(nobody_guards, &f);
	check(!truncate_err(root_fd), "foreign: root truncates its 0666 file (logrotate)");
	check_in_child(root_without_cap_lease, &f);
	check(!guard_path(f.own_file, msg, sizeof(msg)),
	      "foreign: root, with CAP_LEASE, may guard nobody's file: %s", msg);
	check_in_child(nobody_registers, &f);
	check(!truncate_err(root_fd), "foreign: root still truncates its 0666 file");
out:
	if (root_fd >= 0)
		close(root_fd);
	if (group_fd >= 0)
		close(group_fd);
	if (own_fd >= 0)
		close(own_fd);
	unlink(f.root_file);
	unlink(f.group_file);
	unlink(f.own_file);
}

/* --- 2. a guard lives as long as its file: no inode reuse --------------- */

/* As nobody: guards REUSED files of its own, deletes and closes them, stays connected. */
static int guard_and_delete(void *arg)
{
	const char *dir = arg;
	char path[320], msg[512];
	int i, fd, sock, guarded = 0;

	sock = rdmapin_guardd_connect();
	for (i = 0; sock >= 0 && i < REUSED; i++) {
		snprintf(path, sizeof(path), "%s/%d", dir, i);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		guarded += fd >= 0 && !guard_once(sock, fd, msg, sizeof(msg));
		unlink(path);
		if (fd >= 0)
			close(fd);
	}
	return guarded;
}

/* Root's new files, 0600 in a 0700 directory: how many refuse a truncate. */
static int root_files_frozen(const char *fs_dir)
{
	char dir[256], path[320];
	int i, fd, frozen = 0;

	snprintf(dir, sizeof(dir), "%s/hostile-root-dir", fs_dir);
	if (mkdir(dir, 0700))
		return -1;
	for (i = 0; i < REUSED; i++) {
		snprintf(path, sizeof(path), "%s/%d", dir, i);
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd < 0)
			continue;
		frozen += truncate_err(fd) == ETXTBSY;
		close(fd);
		unlink(path);
	}
	rmdir(dir);
	return frozen;
}

static void check_reuse(void)
{
	struct partner p;
	char dir[256];
	int guarded, frozen;

	snprintf(dir, sizeof(dir), "%s/hostile-nobody-dir", env.fsdax_dir);
	if (mkdir(dir, 0700) || chown(dir, NOBODY, NOGROUP)) {
		check(0, "reuse: set up %s: %s", dir, strerror(errno));
		return;
	}
	guarded = partner_start(&p, guard_and_delete, dir);
	check(guarded == REUSED, "reuse: nobody guarded %d of %d files of its own, then deleted "
	      "and closed them, and stays", guarded, REUSED);
	frozen = root_files_frozen(env.fsdax_dir);
	check(frozen == 0, "reuse: of %d files root then creates on the same filesystem, %d "
	      "refuse truncate", REUSED, frozen);
	partner_release(&p);
	rmdir(dir);
}

/* --- 3. malformed messages close every fd they carry -------------------- */

/* Sends @len bytes (zeros) with @nfds copies of @fd; then drains what replies came. */
static int send_fds(int sock, size_t len, int fd, int nfds)
{
	union {
		char buf[CMSG_SPACE(253 * sizeof(int))];
		struct cmsghdr align;
	} control;
	char data[32] = { 0 }, reply[sizeof(struct rdmapin_guardd_reply)];
	struct iovec iov = { .iov_base = data, .iov_len = len };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = CMSG_SPACE(nfds * sizeof(int)),
	};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	int i, ret;

	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	for (i = 0; i < nfds; i++)
		memcpy(CMSG_DATA(cmsg) + i * sizeof(int), &fd, sizeof(int));
	ret = sendmsg(sock, &msg, MSG_NOSIGNAL) < 0 ? -1 : 0;
	while (recv(sock, reply, sizeof(reply), MSG_DONTWAIT) > 0)
		;
	return ret;
}

/* EMPTY_MSGS empty messages with an fd; a connection the daemon closes is made again. */
static int send_empties(int fd)
{
	int i, sock = rdmapin_guardd_connect(), reconnects = 0;

	for (i = 0; i < EMPTY_MSGS && sock >= 0; i++) {
		if (!send_fds(sock, 0, fd, 1))
			continue;
		close(sock);
		sock = rdmapin_guardd_connect();
		reconnects++;
	}
	if (sock >= 0)
		close(sock);
	return reconnects;
}

/* Waits until the daemon's fd count settles at @want (it serves asynchronously). */
static int fds_settle(int want)
{
	double until = now_s() + 20;
	int n;

	while ((n = daemon_fds()) != want && now_s() < until)
		usleep(20000);
	return n;
}

/* The daemon's fds once it has dropped the clients that went: unchanged for 0.3 s. */
static int idle_fds(void)
{
	double until = now_s() + 20;
	int n = daemon_fds(), same = 0;

	while (same < 15 && now_s() < until) {
		usleep(20000);
		same = daemon_fds() == n ? same + 1 : 0;
		n = daemon_fds();
	}
	return n;
}

static void check_empties(void)
{
	int fd, base, n, reconnects;
	char path[256];

	if (new_file(path, sizeof(path), env.pagecache_dir, "hostile-empty", 0, 0, 0600, &fd))
		return;
	base = idle_fds();
	reconnects = send_empties(fd);
	n = fds_settle(base);
	check(n == base, "fd leak: %d empty messages with an fd (%d reconnections): the "
	      "daemon's fds %d before, %d after", EMPTY_MSGS, reconnects, base, n);
	check(truncate_err(fd) == 0, "fd leak: the file is not guarded");
	close(fd);
	unlink(path);
}

/* Requests the daemon must refuse, with every fd they carry closed. */
static void check_malformed(void)
{
	int fd, base, n, sock, pipefd[2] = { -1, -1 }, null_fd, slow, i;
	char path[256], msg[512];

	if (new_file(path, sizeof(path), env.pagecache_dir, "hostile-malformed", 0, 0, 0600, &fd))
		return;
	/* From its first change of the map on, the daemon holds the map and its directory. */
	sock = rdmapin_guardd_connect();
	check(!guard_once(sock, fd, msg, sizeof(msg)), "fd leak: a first GUARD: %s", msg);
	close(sock);
	base = idle_fds();
	sock = rdmapin_guardd_connect();
	send_fds(sock, sizeof(struct rdmapin_guardd_request), fd, 253);
	/* The connection's socket and pidfd are the daemon's new fds. */
	n = fds_settle(base + 2);
	check(n == base + 2, "fd leak: a GUARD with 253 fds: the daemon's fds %d, want %d", n,
	      base + 2);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	check(pipe2(pipefd, O_CLOEXEC) == 0 && null_fd >= 0, "non-regular: a pipe, /dev/null");
	check(guard_once(sock, pipefd[1], msg, sizeof(msg)) == EINVAL,
	      "non-regular: GUARD of a pipe is refused: %s", msg);
	check(guard_once(sock, null_fd, msg, sizeof(msg)) == EINVAL,
	      "non-regular: GUARD of /dev/null is refused: %s", msg);
	check(guard_once(sock, sock, msg, sizeof(msg)) == EINVAL,
	      "non-regular: GUARD of a socket is refused: %s", msg);
	/* A slow reader: requests it never reads the replies to. */
	slow = rdmapin_guardd_connect();
	for (i = 0; slow >= 0 && i < 500; i++)
		if (rdmapin_guardd_send(slow, &(struct rdmapin_guardd_request){ .op = 99 },
					sizeof(struct rdmapin_guardd_request), -1))
			break;
	check(!guard_once(sock, fd, msg, sizeof(msg)),
	      "slow reader: with %d unread replies on another connection, GUARD is answered: "
	      "%s", i, msg);
	if (slow >= 0)
		close(slow);
	close(sock);
	n = fds_settle(base);
	check(n == base, "every fd is back once the clients went: the daemon's fds %d, want %d",
	      n, base);
	check(truncate_err(fd) == 0, "the file truncates once its client is gone");
	close(fd);
	close(null_fd);
	close(pipefd[0]);
	close(pipefd[1]);
	unlink(path);
}

/* --- 4. a flood by one user leaves root served -------------------------- */

/* As nobody: FLOOD_CONNS connections, held until released; how many connected. */
static int flood(void *arg)
{
	int i, n = 0;

	for (i = 0; i < FLOOD_CONNS; i++)
		n += rdmapin_guardd_connect() >= 0;
	return n;
}

/* Root runs the daemon out of fds (it passes every limit): the daemon waits. */
static void check_out_of_fds(const char *path)
{
	int socks[FLOOD_NOFILE], i, err;
	char msg[512];
	double cpu;

	for (i = 0; i < FLOOD_NOFILE; i++)
		socks[i] = rdmapin_guardd_connect();
	usleep(300000);
	cpu = daemon_cpu_s();
	usleep(1000000);
	cpu = daemon_cpu_s() - cpu;
	check(cpu < 0.2, "out of fds: the daemon waits (%.2f s of CPU in 1 s)", cpu);
	check(log_lines("out of file descriptors") == 1, "out of fds: said once (%d lines)",
	      log_lines("out of file descriptors"));
	for (i = 0; i < FLOOD_NOFILE; i++)
		if (socks[i] >= 0)
			close(socks[i]);
	err = guard_path(path, msg, sizeof(msg));
	check(!err, "out of fds: once clients went, root's GUARD is answered: %s",
	      err ? msg : "ok");
}

static void check_flood(void)
{
	struct rlimit lim = { FLOOD_CONNS + 64, FLOOD_CONNS + 64 }, old;
	char path[256], msg[512];
	struct partner p;
	int fd, err, n;

	if (new_file(path, sizeof(path), env.pagecache_dir, "hostile-flood", 0, 0, 0600, &fd))
		return;
	/* nobody inherits room for its connections. */
	getrlimit(RLIMIT_NOFILE, &old);
	setrlimit(RLIMIT_NOFILE, &lim);
	n = partner_start(&p, flood, NULL);
	setrlimit(RLIMIT_NOFILE, &old);
	check(n == FLOOD_CONNS, "flood: nobody connected %d times (the daemon closes what its "
	      "limits refuse)", n);
	err = guard_path(path, msg, sizeof(msg));
	check(!err, "flood: root's GUARD is answered, and granted: %s", err ? msg : "ok");
	check(log_lines("turning away") == 1, "flood: one log line says why nobody's "
	      "connections are turned away (%d)", log_lines("turning away"));
	partner_release(&p);
	check_out_of_fds(path);
	close(fd);
	unlink(path);
}

/* --- 5. a runtime directory prepared by a user -------------------------- */

/* A daemon on @dir with @args must refuse to start, saying @says. */
static void check_refused(const char *dir, const char *const *args, const char *says,
			  const char *what)
{
	struct guardd_run g;
	char log[96];

	snprintf(log, sizeof(log), "%s/refused.log", work);
	unlink(log);
	guardd_init(&g, dir, log);
	guardd_start(&g, args);
	if (!check(g.pid < 0 && lines_with(log, says) == 1, "%s: refused, saying why", what))
		guardd_show_log(&g);
	guardd_stop(&g, SIGKILL);
}

static int write_file(const char *path, const char *text, uid_t uid, mode_t mode)
{
	FILE *f = fopen(path, "we");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) || chown(path, uid, uid) || chmod(path, mode) ? -1 : 0;
}

/* nobody made the directory first, with a link where the daemon writes its state. */
static void check_users_dir(void)
{
	char dir[96], victim[96], link[128], buf[32] = "";
	int fd;

	snprintf(dir, sizeof(dir), "%s/users-dir", work);
	snprintf(victim, sizeof(victim), "%s/victim", work);
	snprintf(link, sizeof(link), "%s/state.tmp", dir);
	if (mkdir(dir, 0755) || chown(dir, NOBODY, NOGROUP) || symlink(victim, link) ||
	    write_file(victim, "precious\n", 0, 0600)) {
		check(0, "state dir: set up %s: %s", dir, strerror(errno));
		return;
	}
	check_refused(dir, NULL, "must be root's with mode 0755",
		      "state dir: nobody's directory, with state.tmp a link to root's file");
	fd = open(victim, O_RDONLY | O_CLOEXEC);
	check(fd >= 0 && read(fd, buf, sizeof(buf) - 1) == 9 && !strcmp(buf, "precious\n"),
	      "state dir: the link's target is intact");
	if (fd >= 0)
		close(fd);
	chmod(dir, 0777);
	chown(dir, 0, 0);
	check_refused(dir, NULL, "must be root's with mode 0755",
		      "state dir: root's directory of mode 0777");
}

/*
 * A state that does not parse is set aside and not believed: a forged entry
 * naming a file of root's, for a client that runs (this process), guards
 * nothing.
 */
static void check_forged_state(void)
{
	char dir[96], path[128], text[512], victim[256], log[sizeof(guardd.log)];
	struct rdmapin_guard_key key;
	int fd;

	snprintf(dir, sizeof(dir), "%s/forged", work);
	snprintf(path, sizeof(path), "%s/private", dir);
	if (mkdir(dir, 0755) || mkdir(path, 0755) ||
	    new_file(victim, sizeof(victim), env.pagecache_dir, "hostile-forged", 0, 0, 0600, &fd))
		return;
	check_refused(dir, NULL, "DIR/private must be root's with mode 0700",
		      "state dir: DIR/private of mode 0755");
	chmod(path, 0700);
	rdmapin_guard_key_of(fd, &key, "test");
	snprintf(text, sizeof(text), "rdmapin-guardd-state 3\nnext_id 2\nclient %d %llu 0\n"
		 "entry 1 %u %llu 0 0 %s\nentry forged\n", getpid(),
		 (unsigned long long)rdmapin_proc_start_time(getpid()), key.dev,
		 (unsigned long long)key.ino, victim);
	snprintf(path, sizeof(path), "%s/private/state", dir);
	write_file(path, text, 0, 0600);
	memcpy(log, guardd.log, sizeof(log));
	guardd_init(&guardd, dir, log);
	if (!start("forged state", NULL)) {
		check(log_lines("set aside as state.rejected") == 1,
		      "forged state: set aside, with a log line");
		check(!truncate_err(fd), "forged state: the file it named is not guarded");
		stop("forged state");
	}
	snprintf(path, sizeof(path), "%s/private/state.rejected", dir);
	check(!access(path, F_OK), "forged state: kept as %s", path);
	close(fd);
	unlink(victim);
}

/*
 * The state's journal (rdmapin-guardd(8) FILES): a daemon killed while
 * appending leaves a torn last line, which is not believed while the lines
 * before it are; a line that undoes what the state never held is a state
 * the daemon did not write, and nothing of it is believed. @torn: the first
 * case (the snapshot's entry 1 goes, entry 2 comes, a third is torn).
 */
static void journal_case(const char *what, bool torn)
{
	char dir[96], path[128], text[1024], victim[256], log[sizeof(guardd.log)];
	unsigned long long st = rdmapin_proc_start_time(getpid());
	struct rdmapin_guard_key key;
	int fd, err, rejected;
	struct statx stx;
	size_t n;

	snprintf(dir, sizeof(dir), "%s/%s", work, what);
	snprintf(path, sizeof(path), "%s/private", dir);
	if (mkdir(dir, 0755) || mkdir(path, 0700) ||
	    new_file(victim, sizeof(victim), env.pagecache_dir, what, 0, 0, 0600, &fd))
		return;
	rdmapin_guard_key_of(fd, &key, "test");
	/* The daemon finds the file again by its path and birth time. */
	if (statx(fd, "", AT_EMPTY_PATH, STATX_BTIME, &stx) || !(stx.stx_mask & STATX_BTIME))
		stx.stx_btime = (struct statx_timestamp){ 0 };
	n = snprintf(text, sizeof(text), "rdmapin-guardd-state 3\nnext_id 2\nclient %d %llu 0\n"
		     "entry 1 %u %llu %lld %u %s\n", getpid(), st, key.dev,
		     (unsigned long long)key.ino, (long long)stx.stx_btime.tv_sec,
		     stx.stx_btime.tv_nsec, victim);
	if (torn)
		snprintf(text + n, sizeof(text) - n, "+ %d %llu 0 2 %u %llu %lld %u %s\n"
			 "- %d %llu 1\n+ 1 2 0 3 4 5 0 0 /torn", getpid(), st, key.dev,
			 (unsigned long long)key.ino, (long long)stx.stx_btime.tv_sec,
			 stx.stx_btime.tv_nsec, victim, getpid(), st);
	else
		snprintf(text + n, sizeof(text) - n, "- %d %llu 7\n", getpid(), st);
	snprintf(path, sizeof(path), "%s/private/state", dir);
	write_file(path, text, 0, 0600);
	memcpy(log, guardd.log, sizeof(log));
	guardd_init(&guardd, dir, log);
	rejected = log_lines("set aside as state.rejected");
	if (!start(what, NULL)) {
		err = truncate_err(fd);
		rejected = log_lines("set aside as state.rejected") - rejected;
		check(rejected == !torn && err == (torn ? ETXTBSY : 0),
		      "%s: %s (%d rejections logged, truncate: %s)", what,
		      torn ? "believed, the file guarded" : "not believed, the file not guarded",
		      rejected, strerror(err));
		stop(what);
	}
	while (rdmapin_guard_holds(&key) == 1 && !rdmapin_guard_unref(&key, "test"))
		;
	close(fd);
	unlink(victim);
}

static void check_journal(void)
{
	journal_case("journal-torn", true);
	journal_case("journal-forged", false);
}

/* --- the daemon as its unit runs it ------------------------------------- */

static void check_config_refused(const char *conf)
{
	const char *const args[] = { "--config", conf, NULL };
	char dir[96];

	snprintf(dir, sizeof(dir), "%s/guardd", work);
	if (write_file(conf, "allow-group nogroup\n", NOBODY, 0644)) {
		check(0, "config: write %s: %s", conf, strerror(errno));
		return;
	}
	check_refused(dir, args, "must be a regular file of root's that only root may write",
		      "config: a config of nobody's");
	chown(conf, 0, 0);
}

/* The unit's capability set loads the guard; serving keeps CAP_BPF alone. */
static int start_as_unit(const char *conf)
{
	static const char *const setpriv[] = { "setpriv", "--bounding-set", UNIT_CAPS, "--", NULL };
	const char *const args[] = { "--config", conf, NULL };

	guardd.prefix = setpriv;
	if (start("capabilities " UNIT_CAPS, args))
		return -1;
	check(!access(RDMAPIN_GUARD_MAP, F_OK), "capabilities " UNIT_CAPS ": the guard is loaded");
	check(daemon_has_cap(CAP_BPF) && !daemon_has_cap(CAP_PERFMON) &&
		      !daemon_has_cap(CAP_SYS_ADMIN),
	      "capabilities: once loaded, the daemon keeps CAP_BPF alone");
	return 0;
}

/*
 * Valgrind 3.19 does not know pidfd_open(2), which the daemon needs on 6.1
 * (no SO_PEERPIDFD): there it runs without.
 */
static void check_under_valgrind(void)
{
	static const char *const valgrind[] = {
		"valgrind", "--quiet", "--error-exitcode=99", "--leak-check=full",
		"--errors-for-leak-kinds=definite,indirect", "--suppressions=" LIBBPF_SUPP, NULL,
	};

	if (env.kernel == KERNEL_7)
		guardd.prefix = valgrind;
	else
		printf("# 6.1: the daemon runs without valgrind, which lacks pidfd_open(2)\n");
	if (start("malformed requests", NULL))
		return;
	check_malformed();
	stop(guardd.prefix ? "valgrind: no error, no leak" : "malformed requests");
}

static void check_flood_limits(void)
{
	struct rlimit lim, low = { FLOOD_NOFILE, FLOOD_NOFILE };

	getrlimit(RLIMIT_NOFILE, &lim);
	setrlimit(RLIMIT_NOFILE, &low);
	start("flood, LimitNOFILE=" "64", NULL);
	setrlimit(RLIMIT_NOFILE, &lim);
	if (guardd.pid < 0)
		return;
	check_flood();
	stop("flood");
}

/* How long each part took: the guest's time is counted. */
static void phase(const char *what)
{
	static double last;
	double now = now_s();

	printf("# %s: %.1f s\n", what, last ? now - last : 0);
	last = now;
}

int main(void)
{
	struct ibv_pd *pd = start_guest_test();
	char conf[96], cmd[96];

	if (!pd)
		return check_done();
	phase("start");
	snprintf(work, sizeof(work), "/tmp/test_guardd_hostile.XXXXXX");
	if (!check(mkdtemp(work) && !chmod(work, 0755), "create %s", work))
		return check_done();
	snprintf(conf, sizeof(conf), "%s/guardd.conf", work);
	snprintf(cmd, sizeof(cmd), "%s/guardd", work);
	guardd_init(&guardd, cmd, NULL);
	snprintf(guardd.log, sizeof(guardd.log), "%s/guardd.log", work);
	setenv("RDMAPIN_GUARDD_SOCKET", guardd.socket, 1);

	check_config_refused(conf);
	if (!start_as_unit(conf)) {
		check_foreign();
		phase("foreign files");
		check_reuse();
		phase("inode reuse");
		check_empties();
		phase("empty messages");
		stop("unit's capabilities");
	}
	check_under_valgrind();
	phase("malformed requests");
	check_flood_limits();
	phase("flood");
	check_users_dir();
	check_forged_state();
	check_journal();
	phase("state dir");

	check(!guard_unload(), "unload the guard");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", work);
	if (system(cmd))
		printf("# could not remove %s\n", work);
	close_pd(pd);
	return check_done();
}
