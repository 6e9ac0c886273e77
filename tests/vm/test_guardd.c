// SPDX-License-Identifier: MIT
/*
 * rdmapin-guardd in both test guests, as applications meet it: librdmapin
 * registers files guarded by the daemon instead of leased, so that every
 * truncate of them fails with ETXTBSY, its owner's included, while remote
 * writes into them go on. An unprivileged process gets the same for a file
 * it may write, and not for one it may only read. The daemon drops what a
 * dead client held, and across its own restart, or the guard's, keeps or
 * puts back what a running one holds.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "check.h"
#include "guard_map.h"
#include "guardd_ctl.h"
#include "guardd_proto.h"
#include "guest.h"
#include "rdma_peer.h"
#include "remote_writer.h"
#include "truncate_paths.h"

#define MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)
#define WRITE_LEN (1UL << 20)
#define NOBODY 65534
/* What nobody registers: within its RLIMIT_MEMLOCK where 6.1 pins it. */
#define NOBODY_LEN (1UL << 20)
/* How long a dead client's entry may outlive it. */
#define CLEANUP_LIMIT_S 2.0

/* Where files are registered: 6.1's rxe has no ODP, so no fsdax file there. */
struct place {
	const char *dir, *name;
	bool dax;	/* the lease policy is REQUIRE: a lease, if no guard */
};

static int places(struct place at[2])
{
	int n = 0;

	if (env.kernel == KERNEL_7)
		at[n++] = (struct place){ env.fsdax_dir, "fsdax", true };
	at[n++] = (struct place){ env.pagecache_dir, "page cache", false };
	return n;
}

/* 6.1 pins page-cache files; 7.x refuses such pins, and has ODP. */
static enum rdmapin_reg_mode expected_mode(void)
{
	return env.kernel == KERNEL_6_1 ? RDMAPIN_MODE_PIN : RDMAPIN_MODE_ODP;
}

/* Entries a user but root may hold, low for check_user_limit(); one per holder elsewhere. */
#define USER_LIMIT "2"

/* The daemon under test, its runtime directory inside this test's own. */
static struct guardd_run guardd = { .pid = -1 };
static char work[32];

/* Starts the daemon and waits until its socket accepts: a check. */
static int start_guardd(const char *why)
{
	static const char *const args[] = { "--max-entries-per-user", USER_LIMIT, NULL };

	if (check(!guardd_start(&guardd, args), "%s: rdmapin-guardd listens on %s", why,
		  guardd.socket))
		return 1;
	guardd_show_log(&guardd);
	return 0;
}

static void check_stopped_cleanly(int status)
{
	if (!check(WIFEXITED(status) && !WEXITSTATUS(status),
		   "SIGTERM stops rdmapin-guardd cleanly (wait status 0x%x)", status))
		guardd_show_log(&guardd);
	check(access(guardd.socket, F_OK) && errno == ENOENT, "it removed its socket");
}

/*
 * The entries that DIR/state lists for @pid, its snapshot and then its
 * journal (rdmapin-guardd(8) FILES); -1 when it names no such client.
 */
static int state_entries(pid_t pid)
{
	char path[sizeof(guardd.dir) + 16], line[256];
	bool its = false;
	int n = -1, p;
	FILE *f;

	snprintf(path, sizeof(path), "%s/private/state", guardd.dir);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "client %d", &p) == 1) {
			its = p == pid;
			n = its ? 0 : n;
		} else if (its && !strncmp(line, "entry ", 6)) {
			n++;
		} else if (sscanf(line + 1, " %d", &p) == 1 && p == pid) {
			n = line[0] == '+' ? (n < 0 ? 1 : n + 1) : line[0] == '-' ? n - 1 : -1;
		}
	}
	if (f)
		fclose(f);
	return n;
}

/* One size change of @m's file, undone if it went through: 0 or its errno. */
static int truncate_once(const struct mapping *m)
{
	int err = try_truncate(FTRUNCATE_GROW, m->path, m->fd);

	if (!err && ftruncate(m->fd, REGION_SIZE))
		err = errno;
	return err;
}

/* Waits until @m's file truncates, as it must once no one guards it: 0 or the errno. */
static int truncatable_within(const struct mapping *m, double limit_s, double *took)
{
	double start = now_s();
	int err;

	while ((err = truncate_once(m)) == ETXTBSY && now_s() < start + limit_s)
		usleep(10000);
	*took = now_s() - start;
	return err;
}

/* A REGION_SIZE file in @dir, @uid's, with @mode: 0, or -1 after a failed check. */
static int new_file(struct mapping *m, const char *dir, uid_t uid, mode_t mode, const char *what)
{
	if (!create_file(m, dir) && !fchown(m->fd, uid, uid) && !fchmod(m->fd, mode))
		return 0;
	check(0, "%s: create a file in %s: %s", what, dir, m->err[0] ? m->err : strerror(errno));
	return -1;
}

/* What a guarded registration must report; @what names the case. */
static void check_guarded_mr(struct ibv_mr *mr, const char *what)
{
	struct rdmapin_mr_attr a = { .comp_mask = 0 };

	if (!check(!rdmapin_query_mr(mr, &a), "%s: rdmapin_query_mr", what))
		return;
	check(a.guard == RDMAPIN_GUARD_KIND_DAEMON && a.lease == RDMAPIN_LEASE_KIND_NONE,
	      "%s: guarded by the daemon (%s), not leased (%s)", what,
	      rdmapin_guard_kind_str(a.guard), rdmapin_lease_kind_str(a.lease));
	check(a.mode == expected_mode() && !a.revoked, "%s: %s, not revoked", what,
	      a.mode == RDMAPIN_MODE_PIN ? "pinned" : "ODP");
}

static bool host_guarded(void)
{
	struct rdmapin_host_caps caps;

	return !rdmapin_query_host(&caps) && (caps.flags & RDMAPIN_HOST_TRUNCATE_GUARD);
}

/* A process that registers a file, then holds it until told to let go, or killed. */
struct holder_spec {
	const char *path;
	int flags;		/* open(2)'s access mode */
	int access;
	size_t len;
	bool nobody;		/* registers as nobody */
	bool open_first;	/* opens the file before it becomes nobody */
};

/* What a holder says once it registered, and once it deregistered. */
struct holder_report {
	int err;		/* 0, or the errno of the step that failed */
	enum rdmapin_guard_kind guard;
	enum rdmapin_lease_kind lease;
	bool host_guard;	/* it sees RDMAPIN_HOST_TRUNCATE_GUARD */
	char msg[1024];
};

struct holder {
	pid_t pid;
	int sock;
	struct holder_report r;
};

static int become_nobody(void)
{
	return setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY) ? -1 : 0;
}

static struct ibv_mr *holder_fail(struct holder_report *r, const char *what, const char *why)
{
	r->err = errno ?: EIO;
	snprintf(r->msg, sizeof(r->msg), "%s: %s", what, why ?: strerror(r->err));
	return NULL;
}

/* What it opened stays open until it exits, as an application's would. */
static struct ibv_mr *holder_register(const struct holder_spec *s, struct holder_report *r)
{
	int fd = s->open_first ? open(s->path, s->flags | O_CLOEXEC) : -1;
	struct rdmapin_mr_attr a = { .comp_mask = 0 };
	struct ibv_pd *pd;
	struct ibv_mr *mr;

	if (s->nobody && become_nobody())
		return holder_fail(r, "become nobody", NULL);
	/* After the drop: changing credentials clears it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (fd < 0 && (fd = open(s->path, s->flags | O_CLOEXEC)) < 0)
		return holder_fail(r, s->path, NULL);
	pd = open_pd(env.rxe0);
	if (!pd)
		return holder_fail(r, env.rxe0, NULL);
	mr = rdmapin_reg_file_mr(pd, fd, 0, s->len, s->access);
	if (!mr || rdmapin_query_mr(mr, &a))
		return holder_fail(r, "register", rdmapin_last_error());
	r->guard = a.guard;
	r->lease = a.lease;
	r->host_guard = host_guarded();
	return mr;
}

static void holder_main(const struct holder_spec *s, int sock)
{
	struct holder_report r = { .err = 0 };
	struct ibv_mr *mr = holder_register(s, &r);
	char cmd;

	if (send(sock, &r, sizeof(r), 0) != sizeof(r) || !mr)
		_exit(0);
	if (recv(sock, &cmd, 1, 0) != 1)
		_exit(0);
	memset(&r, 0, sizeof(r));
	if (rdmapin_dereg_mr(mr))
		holder_fail(&r, "rdmapin_dereg_mr", rdmapin_last_error());
	send(sock, &r, sizeof(r), 0);
	_exit(0);
}

/* Its next report into h->r: 0, or -1 when none came. */
static int holder_hear(struct holder *h)
{
	if (recv(h->sock, &h->r, sizeof(h->r), 0) == sizeof(h->r))
		return 0;
	h->r.err = ECHILD;
	snprintf(h->r.msg, sizeof(h->r.msg), "the holder did not report");
	return -1;
}

/* Starts a holder and hears how its registration went: h->r.err. */
static int holder_start(struct holder *h, const struct holder_spec *s)
{
	const struct timeval timeout = { .tv_sec = 60 };
	int sv[2];

	h->pid = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		h->r.err = errno;
		snprintf(h->r.msg, sizeof(h->r.msg), "socketpair: %s", strerror(errno));
		return h->r.err;
	}
	fflush(stdout);
	h->pid = fork();
	if (h->pid == 0) {
		close(sv[0]);
		holder_main(s, sv[1]);
	}
	close(sv[1]);
	h->sock = sv[0];
	setsockopt(h->sock, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
	if (h->pid < 0 || holder_hear(h))
		h->r.err = h->r.err ?: ECHILD;
	return h->r.err;
}

/* Ends the holder: @sig kills it first; a holder that reported its last exits itself. */
static void holder_end(struct holder *h, int sig)
{
	if (h->pid <= 0)
		return;
	if (sig)
		kill(h->pid, sig);
	close(h->sock);
	waitpid(h->pid, NULL, 0);
	h->pid = -1;
}

/* Tells the holder to deregister: 0, or the errno it reports. It exits then. */
static int holder_dereg(struct holder *h)
{
	char cmd = 'd';

	if (send(h->sock, &cmd, 1, 0) != 1 || holder_hear(h))
		h->r.err = ECHILD;
	holder_end(h, h->r.err ? SIGKILL : 0);
	return h->r.err;
}

static void check_dereg(struct holder *h, const char *what)
{
	int err = holder_dereg(h);

	check(!err, "%s: the holder deregisters: %s", what, err ? h->r.msg : "ok");
}

/* A holder of a REGION_SIZE file in @at, as root: a check that it is guarded. */
static int start_root_holder(struct holder *h, const struct mapping *m, const char *what)
{
	const struct holder_spec s = {
		.path = m->path, .flags = O_RDWR, .access = MR_ACCESS, .len = REGION_SIZE,
	};

	holder_start(h, &s);
	return check(!h->r.err && h->r.guard == RDMAPIN_GUARD_KIND_DAEMON,
		     "%s: a holder registers, guarded by the daemon (%s): %s", what,
		     rdmapin_guard_kind_str(h->r.guard), h->r.err ? h->r.msg : "ok");
}

enum form { FILE_FORM, DROP_IN_FORM };

static const char *const form_name[] = {
	[FILE_FORM] = "rdmapin_reg_file_mr",
	[DROP_IN_FORM] = "rdmapin_reg_mr",
};

/* The file form maps the file itself; the drop-in form registers our mapping. */
static struct ibv_mr *reg(struct ibv_pd *pd, struct mapping *m, const char *dir, enum form form)
{
	if (form == FILE_FORM) {
		if (create_file(m, dir))
			return NULL;
		return rdmapin_reg_file_mr(pd, m->fd, 0, REGION_SIZE, MR_ACCESS);
	}
	if (map_file(m, dir, MAP_SHARED))
		return NULL;
	return rdmapin_reg_mr(pd, m->addr, m->len, MR_ACCESS);
}

struct truncater {
	const struct mapping *m;
	const char *what;
};

static void truncate_in_child(void *arg)
{
	const struct truncater *t = arg;

	check_truncate_paths(t->m->path, t->m->fd, ETXTBSY, t->what);
}

/* rdmapin_explain_busy() of @m's file must say @says (NULL: know no reason). */
static void check_explained(const struct mapping *m, const char *says, const char *what)
{
	int ret;

	errno = 0;
	ret = rdmapin_explain_busy(m->fd);
	if (says)
		check(!ret && strstr(rdmapin_last_error(), says), "%s: rdmapin_explain_busy: %s",
		      what, rdmapin_last_error());
	else
		check_errno(!ret, errno, ENOENT, "rdmapin_explain_busy() of a file no one pins");
}

/*
 * Every truncate path fails while the file is registered, for its owner (its
 * own ftruncate(2) too) as for another process, and succeeds once it is
 * deregistered; a file next to it truncates all along.
 */
static void registered(struct ibv_pd *pd, const struct place *at, enum form form)
{
	struct mapping m = unmapped, other = unmapped;
	char what[128], who[192];
	struct truncater t = { &m, who };
	struct ibv_mr *mr = NULL;

	snprintf(what, sizeof(what), "%s, %s", at->name, form_name[form]);
	if (new_file(&other, at->dir, 0, 0600, what))
		goto out;
	mr = reg(pd, &m, at->dir, form);
	if (!mr) {
		check(0, "%s: register a file: %s", what, m.err[0] ? m.err : rdmapin_last_error());
		goto out;
	}
	check_guarded_mr(mr, what);
	snprintf(who, sizeof(who), "%s, its owner", what);
	check_truncate_paths(m.path, m.fd, ETXTBSY, who);
	check_explained(&m, "this process has it registered for RDMA (1 MR, under the truncate "
			"guard, which refuses every process, this one included); deregister with "
			"rdmapin_dereg_mr()", who);
	snprintf(who, sizeof(who), "%s, another process", what);
	check_in_child(truncate_in_child, &t);
	snprintf(who, sizeof(who), "%s, a file next to it", what);
	check_truncate_paths(other.path, other.fd, 0, who);
	check_guarded_mr(mr, what);
	check(!rdmapin_dereg_mr(mr), "%s: rdmapin_dereg_mr", what);
	mr = NULL;
	snprintf(who, sizeof(who), "%s, deregistered", what);
	check_truncate_paths(m.path, m.fd, 0, who);
	check_explained(&m, NULL, who);
out:
	if (mr)
		rdmapin_dereg_mr(mr);
	unmap(&m);
	unmap(&other);
}

/* What two remote writes left in the file: read through an fd of its own. */
static void check_written(const struct mapping *m, const char *where)
{
	char *buf = malloc(2 * WRITE_LEN);
	int fd = open(m->path, O_RDONLY | O_CLOEXEC);

	check(buf && fd >= 0 && pread(fd, buf, 2 * WRITE_LEN, 0) == 2 * WRITE_LEN &&
		      remote_writer_verify(buf, WRITE_LEN) == WRITE_LEN &&
		      remote_writer_verify(buf + WRITE_LEN, WRITE_LEN) == WRITE_LEN,
	      "%s: a pread of the file finds both remote writes intact", where);
	if (fd >= 0)
		close(fd);
	free(buf);
}

static void write_remotely(int sock, uint64_t offset, const char *when, const char *where)
{
	int status = remote_writer_write(sock, offset, WRITE_LEN);

	check(status == IBV_WC_SUCCESS, "%s: RDMA WRITE from %s %s: %s", where, env.rxe1, when,
	      status < 0 ? "no completion" : ibv_wc_status_str(status));
}

/*
 * A hole punch is refused like a truncate, so a remote write where the hole
 * would be lands in the file, pinned or ODP alike; the bytes are read back
 * through an open of their own.
 */
static void punch_then_write(int sock, const struct mapping *m, const char *where)
{
	char *buf = malloc(WRITE_LEN);
	int fd = open(m->path, O_RDONLY | O_CLOEXEC);
	bool landed;
	int ret;

	ret = fallocate(m->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, WRITE_LEN);
	check_errno(!ret, errno, ETXTBSY, "fallocate(PUNCH_HOLE) of the guarded file");
	write_remotely(sock, 0, "where the hole would be", where);
	landed = buf && fd >= 0 && pread(fd, buf, WRITE_LEN, 0) == WRITE_LEN &&
		 remote_writer_verify(buf, WRITE_LEN) == WRITE_LEN;
	check(landed, "%s: after the refused punch, a remote write lands in the file", where);
	if (fd >= 0)
		close(fd);
	free(buf);
}

/*
 * Refused truncates leave the MR alone: remote writes before and after land,
 * and after a refused hole punch.
 */
static void remote_writes(struct rdma_peer *p, struct ibv_mr *mr, const struct mapping *m,
			  const char *where)
{
	struct rdma_peer_info remote;
	char what[128];
	int sock;
	pid_t pid;

	sock = remote_writer_start(env.rxe1, env.gid_index, WRITE_LEN, &pid);
	if (!check(sock >= 0, "%s: start a writer on %s", where, env.rxe1))
		return;
	if (check(!rdma_peer_connect(p, sock, mr, &remote),
		  "%s: the writer connects to the guarded MR", where)) {
		write_remotely(sock, 0, "before truncates", where);
		snprintf(what, sizeof(what), "%s, between remote writes", where);
		check_truncate_paths(m->path, m->fd, ETXTBSY, what);
		write_remotely(sock, WRITE_LEN, "after them", where);
		check_written(m, where);
		punch_then_write(sock, m, where);
	}
	check(!remote_writer_stop(sock, pid), "%s: the writer exits cleanly", where);
}

static void check_remote_writes(const struct place *at)
{
	struct mapping m = unmapped;
	struct rdma_peer p;
	struct ibv_mr *mr;

	if (!check(!rdma_peer_open(&p, env.rxe0, env.gid_index), "%s: open %s for remote writes",
		   at->name, env.rxe0))
		return;
	if (new_file(&m, at->dir, 0, 0600, at->name))
		goto out;
	mr = rdmapin_reg_file_mr(p.pd, m.fd, 0, REGION_SIZE, MR_ACCESS);
	if (!mr) {
		check(0, "%s: register a file for remote writes: %s", at->name,
		      rdmapin_last_error());
		goto out;
	}
	check_guarded_mr(mr, at->name);
	remote_writes(&p, mr, &m, at->name);
	check_guarded_mr(mr, at->name);
	check(!rdmapin_dereg_mr(mr), "%s: rdmapin_dereg_mr after remote writes", at->name);
out:
	unmap(&m);
	rdma_peer_close(&p);
}

/* nobody registers a file it owns and opened O_RDWR: guarded, and root cannot truncate it. */
static void nobody_writable(const struct place *at, bool open_first)
{
	struct holder_spec s = {
		.flags = O_RDWR, .access = MR_ACCESS, .len = NOBODY_LEN,
		.nobody = true, .open_first = open_first,
	};
	struct mapping m = unmapped;
	struct holder h = { .pid = -1 };
	char what[128];

	snprintf(what, sizeof(what), "%s, nobody's file opened O_RDWR %s dropping privilege",
		 at->name, open_first ? "before" : "after");
	if (new_file(&m, at->dir, NOBODY, 0600, what))
		goto out;
	s.path = m.path;
	holder_start(&h, &s);
	if (!check(!h.r.err, "%s: nobody registers it: %s", what, h.r.err ? h.r.msg : "ok"))
		goto out;
	check(h.r.guard == RDMAPIN_GUARD_KIND_DAEMON && h.r.lease == RDMAPIN_LEASE_KIND_NONE,
	      "%s: guarded by the daemon (%s), not leased (%s)", what,
	      rdmapin_guard_kind_str(h.r.guard), rdmapin_lease_kind_str(h.r.lease));
	check(h.r.host_guard, "%s: nobody's rdmapin_query_host() has RDMAPIN_HOST_TRUNCATE_GUARD",
	      what);
	check(state_entries(h.pid) == 1, "%s: DIR/state lists nobody's entry", what);
	check_truncate_paths(m.path, m.fd, ETXTBSY, what);
	check_dereg(&h, what);
	check(!truncate_once(&m), "%s: root truncates it once it is deregistered", what);
out:
	holder_end(&h, SIGKILL);
	unmap(&m);
}

/*
 * How nobody's registration of a file it may only read must end: the daemon
 * will not let it freeze that file, so the library falls back to a lease,
 * which only the owner may take. Where a lease is REQUIRE (DAX) that fails
 * with both reasons; elsewhere the registration goes on unprotected, except
 * on 6.1, whose ib_umem_get() pins even a read-only MR for writing (with
 * FOLL_FORCE), which a read-only shared mapping refuses.
 */
static int readonly_outcome(const struct place *at, const char **says)
{
	*says = "";
	if (at->dax) {
		*says = "rdmapin-guardd refuses to guard it: the fd is not open for writing";
		return EACCES;
	}
	return env.kernel == KERNEL_6_1 ? EFAULT : 0;
}

static void nobody_readonly(const struct place *at)
{
	struct holder_spec s = {
		.flags = O_RDONLY, .access = IBV_ACCESS_REMOTE_READ, .len = NOBODY_LEN,
		.nobody = true,
	};
	struct mapping m = unmapped;
	struct holder h = { .pid = -1 };
	const char *says;
	int want = readonly_outcome(at, &says);
	char what[128];

	snprintf(what, sizeof(what), "%s, root's 0644 file opened O_RDONLY by nobody", at->name);
	if (new_file(&m, at->dir, 0, 0644, what))
		goto out;
	s.path = m.path;
	holder_start(&h, &s);
	if (want) {
		check(h.r.err == want && strstr(h.r.msg, says),
		      "%s: registration fails with %s: %s", what, strerror(want),
		      h.r.err ? h.r.msg : "it succeeded");
		goto out;
	}
	check(!h.r.err && h.r.guard == RDMAPIN_GUARD_KIND_NONE &&
		      h.r.lease == RDMAPIN_LEASE_KIND_NONE,
	      "%s: registered neither guarded (%s) nor leased (%s): %s", what,
	      rdmapin_guard_kind_str(h.r.guard), rdmapin_lease_kind_str(h.r.lease),
	      h.r.err ? h.r.msg : "ok");
	check(state_entries(h.pid) <= 0, "%s: DIR/state lists no entry for nobody", what);
	check(!truncate_once(&m), "%s: root truncates it while it is registered", what);
	check_dereg(&h, what);
out:
	holder_end(&h, SIGKILL);
	unmap(&m);
}

/* The protocol as a client could misuse it: requests and what each must get. */
enum pass { PASS_NONE, PASS_RDONLY, PASS_RDWR };

struct request_case {
	const char *what;
	struct rdmapin_guardd_request req;
	size_t len;		/* bytes sent: a well-formed request's, or not */
	enum pass pass;
	int err;
	const char *says;	/* in the reply's message */
};

static const struct request_case bad_requests[] = {
	{ "GUARD of a read-only fd", { .op = RDMAPIN_GUARDD_GUARD },
	  sizeof(struct rdmapin_guardd_request), PASS_RDONLY, EACCES,
	  "the fd is not open for writing" },
	{ "GUARD without an fd", { .op = RDMAPIN_GUARDD_GUARD },
	  sizeof(struct rdmapin_guardd_request), PASS_NONE, EINVAL, "SCM_RIGHTS" },
	{ "an unknown op", { .op = 99 }, sizeof(struct rdmapin_guardd_request), PASS_RDWR, EINVAL,
	  "unknown request 99" },
	{ "a request cut short", { .op = RDMAPIN_GUARDD_GUARD }, 4, PASS_RDWR, EINVAL,
	  "malformed request (4 bytes)" },
	{ "a request too long", { .op = RDMAPIN_GUARDD_GUARD },
	  sizeof(struct rdmapin_guardd_request) + 8, PASS_RDWR, EINVAL, "malformed request" },
	{ "UNGUARD of an entry it does not hold", { .op = RDMAPIN_GUARDD_UNGUARD, .id = 1 << 30 },
	  sizeof(struct rdmapin_guardd_request), PASS_NONE, ENOENT, "holds no entry" },
};

/* Sends @len bytes of @req (zeros past it), with @fd in SCM_RIGHTS unless -1; the reply in @r. */
static int ask(int sock, const struct rdmapin_guardd_request *req, size_t len, int fd,
	       struct rdmapin_guardd_reply *r)
{
	char buf[sizeof(*req) + 8] = { 0 };

	memcpy(buf, req, sizeof(*req));
	memset(r, 0, sizeof(*r));
	if (rdmapin_guardd_send(sock, buf, len, fd) ||
	    recv(sock, r, sizeof(*r), 0) != sizeof(*r)) {
		snprintf(r->msg, sizeof(r->msg), "no reply: %s", strerror(errno));
		return r->err = -1;
	}
	r->msg[sizeof(r->msg) - 1] = '\0';
	return r->err;
}

static void check_bad_requests(int sock, const int fds[3])
{
	struct rdmapin_guardd_request req;
	const struct request_case *c;
	struct rdmapin_guardd_reply r;

	for (c = bad_requests; c < bad_requests + sizeof(bad_requests) / sizeof(*c); c++) {
		ask(sock, &c->req, c->len, fds[c->pass], &r);
		check(r.err == c->err && strstr(r.msg, c->says),
		      "protocol: %s: the daemon answers %s (%d): %s", c->what, strerror(c->err),
		      r.err, r.msg);
	}
	/* Its seq tells a late reply from the awaited one. */
	req = (struct rdmapin_guardd_request){ .op = 99, .seq = 12345 };
	ask(sock, &req, sizeof(req), -1, &r);
	check(r.err == EINVAL && r.seq == req.seq, "protocol: the reply echoes seq (%u)", r.seq);
}

/* GUARD and UNGUARD by hand; a client that hangs up loses its entries. */
static void check_guard_requests(int sock, const struct mapping *m)
{
	struct rdmapin_guardd_request req = { .op = RDMAPIN_GUARDD_GUARD };
	const size_t len = sizeof(req);
	struct rdmapin_guardd_reply r;
	double took;
	int err;

	err = ask(sock, &req, len, m->fd, &r);
	check(!err && r.id, "protocol: GUARD: entry %llu: %s", (unsigned long long)r.id, r.msg);
	check(truncate_once(m) == ETXTBSY, "protocol: the file is guarded");
	req = (struct rdmapin_guardd_request){ .op = RDMAPIN_GUARDD_UNGUARD, .id = r.id };
	err = ask(sock, &req, len, -1, &r);
	check(!err, "protocol: UNGUARD of that entry: %s", r.msg);
	check(!truncate_once(m), "protocol: the file is no longer guarded");
	err = ask(sock, &req, len, -1, &r);
	check(err == ENOENT, "protocol: UNGUARD of it again: %s", r.msg);

	req = (struct rdmapin_guardd_request){ .op = RDMAPIN_GUARDD_GUARD };
	err = ask(sock, &req, len, m->fd, &r);
	check(!err, "protocol: GUARD again: %s", r.msg);
	close(sock);
	err = truncatable_within(m, CLEANUP_LIMIT_S, &took);
	check(!err, "protocol: the client hangs up: the file truncates after %.0f ms: %s",
	      took * 1e3, err ? strerror(err) : "ok");
}

/*
 * The guard unloaded and loaded again by another daemon while this one runs,
 * having edited the map before (check_protocol()): it refuses GUARD while
 * no guard is loaded, then guards in the new instance, not in the map it
 * held, which no program reads any more; and refuses a pin directory that
 * others may enter as it did the first time.
 */
static void check_reloaded_running(const struct place *at)
{
	struct rdmapin_guardd_request req = { .op = RDMAPIN_GUARDD_GUARD };
	struct mapping m = unmapped;
	struct rdmapin_guardd_reply r;
	double took;
	int sock, err;

	if (new_file(&m, at->dir, 0, 0600, "reload running"))
		return;
	sock = rdmapin_guardd_connect();
	if (!check(sock >= 0, "reload running: connect to the daemon"))
		goto out;
	check(!guard_unload(), "reload running: unload the guard: rm -r %s", RDMAPIN_GUARD_DIR);
	err = ask(sock, &req, sizeof(req), m.fd, &r);
	check(err == ENOENT && strstr(r.msg, "not loaded"),
	      "reload running: no guard loaded: GUARD is refused with ENOENT (%d): %s", err,
	      r.msg);
	check(!guard_load(), "reload running: another daemon loads the guard again");
	err = ask(sock, &req, sizeof(req), m.fd, &r);
	check(!err, "reload running: then GUARD is taken: %s", r.msg);
	check(truncate_once(&m) == ETXTBSY, "reload running: the new instance guards the file");
	check(!chmod(RDMAPIN_GUARD_DIR, 0755), "reload running: open %s to others",
	      RDMAPIN_GUARD_DIR);
	err = ask(sock, &req, sizeof(req), m.fd, &r);
	check(err == EPERM && strstr(r.msg, "closed to others"),
	      "reload running: then GUARD is refused with EPERM (%d): %s", err, r.msg);
	check(!chmod(RDMAPIN_GUARD_DIR, 0700), "reload running: close %s again",
	      RDMAPIN_GUARD_DIR);
	close(sock);
	err = truncatable_within(&m, CLEANUP_LIMIT_S, &took);
	check(!err, "reload running: the client hangs up: the file truncates after %.0f ms: %s",
	      took * 1e3, err ? strerror(err) : "ok");
out:
	unmap(&m);
}

static void check_protocol(const struct place *at)
{
	struct mapping m = unmapped;
	int fds[3] = { -1, -1, -1 }, sock;

	if (new_file(&m, at->dir, 0, 0600, "protocol"))
		return;
	fds[PASS_RDONLY] = open(m.path, O_RDONLY | O_CLOEXEC);
	fds[PASS_RDWR] = m.fd;
	sock = rdmapin_guardd_connect();
	if (check(sock >= 0 && fds[PASS_RDONLY] >= 0, "protocol: connect to the daemon")) {
		check_bad_requests(sock, fds);
		check_guard_requests(sock, &m);
	} else if (sock >= 0) {
		close(sock);
	}
	if (fds[PASS_RDONLY] >= 0)
		close(fds[PASS_RDONLY]);
	unmap(&m);
}

/* One GUARD of @fd on @sock: the daemon's errno, and its message in @msg. */
static int guard_once(int sock, int fd, char *msg, size_t len)
{
	struct rdmapin_guardd_request req = { .op = RDMAPIN_GUARDD_GUARD };
	struct rdmapin_guardd_reply r;

	if (rdmapin_guardd_call(sock, &req, fd, &r))
		return errno;
	snprintf(msg, len, "%s", r.msg);
	return r.err;
}

/*
 * nobody, over two connections, gets USER_LIMIT entries and no more: no
 * user fills the guard's map by opening clients. Runs as nobody.
 */
static void user_limit(void *arg)
{
	const struct mapping *m = arg;
	int a = -1, b = -1, err;
	char msg[512] = "";

	if (become_nobody()) {
		check(0, "user limit: become nobody: %s", strerror(errno));
		return;
	}
	a = rdmapin_guardd_connect();
	b = rdmapin_guardd_connect();
	if (check(a >= 0 && b >= 0, "user limit: two connections as nobody")) {
		check(!guard_once(a, m->fd, msg, sizeof(msg)), "user limit: a first entry");
		check(!guard_once(b, m->fd, msg, sizeof(msg)), "user limit: a second, on another "
		      "connection");
		err = guard_once(a, m->fd, msg, sizeof(msg));
		check(err == ENOSPC && strstr(msg, "uid 65534 holds " USER_LIMIT " entries"),
		      "user limit: a third is refused: %s: %s", strerror(err), msg);
	}
	if (a >= 0)
		close(a);
	if (b >= 0)
		close(b);
}

static void check_user_limit(const struct place *at)
{
	struct mapping m = unmapped;
	double took;

	if (new_file(&m, at->dir, 65534, 0600, "user limit"))
		return;
	check_in_child(user_limit, &m);
	check(truncatable_within(&m, CLEANUP_LIMIT_S, &took) == 0,
	      "user limit: its entries went with its connections");
	unmap(&m);
}

/* A holder that dies loses its entry at once: its file truncates. */
static void check_holder_killed(const struct place *at)
{
	struct mapping m = unmapped;
	struct holder h = { .pid = -1 };
	char says[128];
	double took;
	pid_t pid;
	int err;

	if (new_file(&m, at->dir, 0, 0600, "holder killed") ||
	    !start_root_holder(&h, &m, "holder killed"))
		goto out;
	pid = h.pid;
	check(state_entries(pid) == 1, "holder killed: DIR/state lists its entry");
	check(truncate_once(&m) == ETXTBSY, "holder killed: while it lives, truncate fails");
	snprintf(says, sizeof(says), "pid %d (test_guardd) has it registered for RDMA", pid);
	check_explained(&m, says, "holder killed: while it lives");
	holder_end(&h, SIGKILL);
	err = truncatable_within(&m, CLEANUP_LIMIT_S, &took);
	check(!err, "holder killed: the file truncates %.0f ms after its death: %s", took * 1e3,
	      err ? strerror(err) : "ok");
	check(state_entries(pid) == -1, "holder killed: DIR/state lists nothing of pid %d", pid);
out:
	holder_end(&h, SIGKILL);
	unmap(&m);
}

/*
 * A name the state file escapes (rdmapin-guardd(8) FILES): a space, a tab,
 * '%' and a byte beyond ASCII. Found again under it, or the entry goes.
 */
static int rename_escaped(struct mapping *m, const char *dir)
{
	char path[sizeof(m->path)];

	snprintf(path, sizeof(path), "%s/restart 100%%\t\xc3\xa9", dir);
	if (!rename(m->path, path)) {
		memcpy(m->path, path, sizeof(path));
		return 0;
	}
	check(0, "restart: rename to '%s': %s", path, strerror(errno));
	return -1;
}

/*
 * The daemon stops and starts again while a holder runs: the file stays
 * guarded throughout, and the holder's deregistration reaches the new daemon.
 */
static void check_restart(const struct place *at)
{
	struct mapping m = unmapped;
	struct holder h = { .pid = -1 };

	if (new_file(&m, at->dir, 0, 0600, "restart") || rename_escaped(&m, at->dir) ||
	    !start_root_holder(&h, &m, "restart"))
		goto out;
	check_stopped_cleanly(guardd_stop(&guardd, SIGTERM));
	check(truncate_once(&m) == ETXTBSY, "restart: the daemon away, truncate still fails");
	if (!start_guardd("restart"))
		goto out;
	check(state_entries(h.pid) == 1, "restart: the new daemon's state has the holder's entry");
	check(truncate_once(&m) == ETXTBSY, "restart: truncate still fails");
	check_dereg(&h, "restart");
	check(!truncate_once(&m), "restart: then the file truncates");
out:
	holder_end(&h, SIGKILL);
	unmap(&m);
}

/* A holder that dies while the daemon is dead loses its entry when it starts again. */
static void check_both_killed(const struct place *at)
{
	struct mapping m = unmapped;
	struct holder h = { .pid = -1 };
	int status;
	pid_t pid;

	if (new_file(&m, at->dir, 0, 0600, "both killed") ||
	    !start_root_holder(&h, &m, "both killed"))
		goto out;
	pid = h.pid;
	status = guardd_stop(&guardd, SIGKILL);
	check(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "both killed: daemon killed");
	check(truncate_once(&m) == ETXTBSY, "both killed: the daemon dead, truncate still fails");
	holder_end(&h, SIGKILL);
	check(truncate_once(&m) == ETXTBSY,
	      "both killed: the holder dead too: no one removes its entry yet");
	if (!start_guardd("both killed"))
		goto out;
	check(!truncate_once(&m), "both killed: the new daemon removed the dead holder's entry");
	check(state_entries(pid) == -1, "both killed: DIR/state lists nothing of pid %d", pid);
out:
	holder_end(&h, SIGKILL);
	unmap(&m);
}

/* The guard unloaded while the daemon is stopped: it loads it again, with the holder's entry. */
static void check_guard_reloaded(const struct place *at)
{
	struct mapping m = unmapped;
	struct holder h = { .pid = -1 };
	double took;
	int err;

	if (new_file(&m, at->dir, 0, 0600, "reload") ||
	    !start_root_holder(&h, &m, "reload"))
		goto out;
	check_stopped_cleanly(guardd_stop(&guardd, SIGTERM));
	check(!guard_unload(), "reload: unload the guard: rm -r %s", RDMAPIN_GUARD_DIR);
	err = truncatable_within(&m, 5, &took);
	check(!err, "reload: the guard gone, the file truncates after %.0f ms: %s", took * 1e3,
	      err ? strerror(err) : "ok");
	if (!start_guardd("reload"))
		goto out;
	check(!access(RDMAPIN_GUARD_MAP, F_OK), "reload: the daemon loaded the guard again");
	check(truncate_once(&m) == ETXTBSY, "reload: the running holder's entry is back");
	check_dereg(&h, "reload");
	check(!truncate_once(&m), "reload: then the file truncates");
out:
	holder_end(&h, SIGKILL);
	unmap(&m);
}

/* A runtime directory that nobody can reach the socket in. */
static int setup(void)
{
	char dir[48], log[48];
	int err;

	snprintf(work, sizeof(work), "/tmp/test_guardd.XXXXXX");
	err = mkdtemp(work) && !chmod(work, 0755) ? 0 : errno;
	if (err) {
		check(0, "create %s: %s", work, strerror(err));
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/guardd", work);
	snprintf(log, sizeof(log), "%s/guardd.log", work);
	guardd_init(&guardd, dir, log);
	setenv("RDMAPIN_GUARDD_SOCKET", guardd.socket, 1);
	return start_guardd("start") ? 0 : -1;
}

/* Later tests find a guest without the daemon and without the guard. */
static void teardown(void)
{
	char cmd[64];

	if (guardd.pid > 0)
		check_stopped_cleanly(guardd_stop(&guardd, SIGTERM));
	check(!access(RDMAPIN_GUARD_DIR, F_OK) && !guard_unload(), "unload the guard");
	check(!host_guarded(),
	      "without the daemon and the guard, rdmapin_query_host() has no "
	      "RDMAPIN_HOST_TRUNCATE_GUARD");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", work);
	if (system(cmd))
		printf("# could not remove %s\n", work);
}

int main(void)
{
	struct ibv_pd *pd = start_guest_test();
	struct place at[2];
	int i, n;

	if (!pd)
		return check_done();
	if (setup())
		goto out;
	n = places(at);
	check(host_guarded(), "rdmapin_query_host() has RDMAPIN_HOST_TRUNCATE_GUARD");
	for (i = 0; i < n; i++) {
		registered(pd, &at[i], FILE_FORM);
		registered(pd, &at[i], DROP_IN_FORM);
		check_remote_writes(&at[i]);
		nobody_writable(&at[i], true);
		nobody_writable(&at[i], false);
		nobody_readonly(&at[i]);
	}
	check_protocol(&at[0]);
	check_reloaded_running(&at[0]);
	check_user_limit(&at[0]);
	check_holder_killed(&at[0]);
	check_restart(&at[0]);
	check_both_killed(&at[0]);
	check_guard_reloaded(&at[0]);
out:
	teardown();
	close_pd(pd);
	return check_done();
}
