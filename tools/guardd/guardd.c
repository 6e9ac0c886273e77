// SPDX-License-Identifier: MIT
/*
 * rdmapin-guardd: loads the truncate guard, then guards files for the
 * processes that ask through its socket (see rdmapin-guardd(8)). The only
 * program that loads the guard: --probe tells others whether it can.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/capability.h>

#include "clients.h"
#include "error.h"
#include "guard_load.h"
#include "guardd_proto.h"
#include "state.h"

static void usage(FILE *out, int status)
{
	fprintf(out,
		"Usage: rdmapin-guardd [--runtime-dir DIR] [--config FILE]\n"
		"                      [--max-entries-per-user N] [--max-connections-per-user N]\n"
		"       rdmapin-guardd --probe\n\n"
		"Keeps librdmapin's truncate guard: loads it, then guards the files that\n"
		"processes register, until they deregister or die.\n\n"
		"  -d, --runtime-dir DIR           socket and saved state (default %s)\n"
		"  -c, --config FILE               who may guard more than their own files\n"
		"                                  (default %s)\n"
		"  -u, --max-entries-per-user N    files one user but root may have guarded\n"
		"                                  at once (default %d)\n"
		"      --max-connections-per-user N\n"
		"                                  connections one user but root may hold\n"
		"                                  (default %d)\n"
		"      --probe                     print whether the guard is loaded, or can\n"
		"                                  be loaded by this user, or why not; exit\n"
		"                                  0 if it is or can be, 1 if not\n"
		"  -h, --help                      this text\n",
		RDMAPIN_GUARDD_DEFAULT_DIR, GUARDD_DEFAULT_CONFIG, GUARDD_MAX_USER_ENTRIES,
		GUARDD_MAX_USER_CONNS);
	exit(status);
}

/*
 * @name under @at, a directory of this daemon's user with exactly @mode,
 * created so if missing; -1 after saying why otherwise. A directory that
 * others own or may write to lets them plant links or files where the
 * daemon writes, or replace what it reads.
 */
static int own_dir(int at, const char *name, const char *shown, mode_t mode)
{
	bool created = !mkdirat(at, name, mode);
	struct stat st;
	int fd;

	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || (created && fchmod(fd, mode)) || fstat(fd, &st)) {
		fprintf(stderr, "rdmapin-guardd: %s: %s\n", shown, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (st.st_uid != geteuid() || (st.st_mode & 07777) != mode) {
		fprintf(stderr, "rdmapin-guardd: %s must be root's with mode %04o, not uid %u's "
			"with mode %04o: remove it, and rdmapin-guardd creates it so\n", shown,
			mode, st.st_uid, st.st_mode & 07777);
		close(fd);
		errno = EPERM;
		return -1;
	}
	return fd;
}

/*
 * The runtime directory, open and locked (one daemon per directory), and its
 * private part for the state. The daemon's working directory from then on:
 * the socket is bound where it was checked, whatever its path comes to name.
 */
static int open_dirs(struct guardd *d)
{
	d->dirfd = own_dir(AT_FDCWD, d->dir, d->dir, 0755);
	if (d->dirfd < 0)
		return -1;
	if (flock(d->dirfd, LOCK_EX | LOCK_NB)) {
		fprintf(stderr, "rdmapin-guardd: %s: %s\n", d->dir, errno == EWOULDBLOCK ?
			"another rdmapin-guardd runs there" : strerror(errno));
		return -1;
	}
	d->privfd = own_dir(d->dirfd, "private", "DIR/private", 0700);
	return d->privfd < 0 || fchdir(d->dirfd) ? -1 : 0;
}

/* Anyone may connect: what the daemon checks is each fd it is given. */
static int listen_on(struct guardd *d)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX, .sun_path = RDMAPIN_GUARDD_SOCKET_NAME };
	mode_t mask;
	int fd, ret;

	unlinkat(d->dirfd, RDMAPIN_GUARDD_SOCKET_NAME, 0);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	/* Mode 0666 from the start: a chmod by path could meet another file. */
	mask = umask(0111);
	ret = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(mask);
	if (ret || listen(fd, 64)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Every fd the host lets it have (LimitNOFILE in its unit): it holds one per
 * entry. A quarter is kept for root's clients.
 */
static void size_fds(struct guardd *d)
{
	struct rlimit lim;

	if (!getrlimit(RLIMIT_NOFILE, &lim)) {
		lim.rlim_cur = lim.rlim_max;
		setrlimit(RLIMIT_NOFILE, &lim);
	}
	getrlimit(RLIMIT_NOFILE, &lim);
	d->fd_budget = lim.rlim_cur - lim.rlim_cur / 4;
}

/*
 * Loading took CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN); editing the map
 * takes CAP_BPF alone (Linux 6.1 asks it, or CAP_SYS_ADMIN, for any bpf(2)
 * call), and nothing else the daemon does needs a capability.
 */
static int drop_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3] = { { 0 } };
	int keep = CAP_BPF;

	if (syscall(SYS_capget, &hdr, caps))
		goto fail;
	if (!(caps[CAP_TO_INDEX(CAP_BPF)].permitted & CAP_TO_MASK(CAP_BPF)))
		keep = CAP_SYS_ADMIN;
	memset(caps, 0, sizeof(caps));
	caps[CAP_TO_INDEX(keep)].effective = CAP_TO_MASK(keep);
	caps[CAP_TO_INDEX(keep)].permitted = CAP_TO_MASK(keep);
	if (!syscall(SYS_capset, &hdr, caps) && !prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return 0;
fail:
	fprintf(stderr, "rdmapin-guardd: cannot drop its capabilities: %s\n", strerror(errno));
	return -1;
}

/*
 * systemd's socket activation, as sd_listen_fds(3) reads it (without
 * libsystemd): the listening socket is fd 3 when LISTEN_PID names this
 * process. Clients then connect from boot on, and wait in the backlog while
 * the daemon starts, instead of being refused. Returns 3, -1 with errno 0
 * when systemd passed nothing, or -1 with errno when what it passed is not
 * one listening SOCK_SEQPACKET unix socket.
 */
static int activated_socket(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	int fd = 3, domain, type, listening;
	socklen_t len = sizeof(int);
	bool ours = pid && fds && strtol(pid, NULL, 10) == getpid();
	bool one = ours && !strcmp(fds, "1");

	/* As sd_listen_fds() does: no child of the daemon takes them for its own. */
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	errno = 0;
	if (!ours)
		return -1;
	if (!one || getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) || domain != AF_UNIX ||
	    type != SOCK_SEQPACKET || !listening) {
		errno = ENOTSOCK;
		return -1;
	}
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) || fcntl(fd, F_SETFL, O_NONBLOCK))
		return -1;
	return fd;
}

/*
 * The listening socket: systemd's, or one of its own in the runtime
 * directory. Says which, or why there is none.
 */
static int open_listener(struct guardd *d, bool *activated)
{
	struct sockaddr_un addr = { 0 };
	socklen_t len = sizeof(addr) - 1;

	d->listen_fd = activated_socket();
	*activated = d->listen_fd >= 0;
	if (!*activated && errno) {
		fprintf(stderr, "rdmapin-guardd: LISTEN_FDS: systemd must pass one listening "
			"AF_UNIX SOCK_SEQPACKET socket: %s\n", strerror(errno));
		return -1;
	}
	if (!*activated)
		d->listen_fd = listen_on(d);
	if (d->listen_fd < 0) {
		fprintf(stderr, "rdmapin-guardd: cannot listen on %s/" RDMAPIN_GUARDD_SOCKET_NAME
			": %s\n", d->dir, strerror(errno));
		return -1;
	}
	/* Its own socket is bound by a name relative to DIR: say the whole path. */
	if (*activated) {
		getsockname(d->listen_fd, (struct sockaddr *)&addr, &len);
		fprintf(stderr, "rdmapin-guardd: listening on %s (socket activation)\n",
			addr.sun_path);
	} else {
		fprintf(stderr, "rdmapin-guardd: listening on %s/" RDMAPIN_GUARDD_SOCKET_NAME "\n",
			d->dir);
	}
	return 0;
}

static int signal_fd(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC);
}

/* Loads the guard, unless loaded, and takes over the saved state. */
static int start(struct guardd *d)
{
	if (rdmapin_guard_load()) {
		fprintf(stderr, "rdmapin-guardd: %s\n", rdmapin_error_msg());
		return -1;
	}
	if (guardd_restore(d)) {
		fprintf(stderr, "rdmapin-guardd: cannot read %s/private/state: %s\n", d->dir,
			strerror(errno));
		return -1;
	}
	return drop_privileges();
}

/*
 * One event at a time: a client that hangs up and exits raises two events,
 * and the first frees what the second points to.
 */
static void loop(struct guardd *d)
{
	struct epoll_event ev;
	struct guardd_watch *w;

	for (;;) {
		if (epoll_wait(d->epfd, &ev, 1, -1) != 1)
			continue;
		w = ev.data.ptr;
		if (w->what == WATCH_SIGNAL)
			return;
		if (w->what == WATCH_LISTEN)
			guardd_accept(d);
		else if (w->what == WATCH_PIDFD)
			guardd_client_drop(d, w->client, "ended");
		else
			guardd_serve(d, w->client);
	}
}

/* A positive number of the command line, or the usage. */
static unsigned int positive(const char *arg)
{
	unsigned long n;
	char *end;

	errno = 0;
	n = strtoul(arg, &end, 10);
	if (*end || !*arg || !n || n > UINT_MAX || errno || *arg == '-')
		usage(stderr, 2);
	return n;
}

/* Loads nothing for good: the programs are loaded to see whether the kernel takes them. */
static int probe(void)
{
	char why[512];
	int ret = rdmapin_guard_probe(why, sizeof(why));

	printf("%s\n", why);
	return ret ? EXIT_FAILURE : EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	enum { OPT_PROBE = 256, OPT_CONNS };
	static const struct option opts[] = {
		{ "runtime-dir", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "max-entries-per-user", required_argument, NULL, 'u' },
		{ "max-connections-per-user", required_argument, NULL, OPT_CONNS },
		{ "probe", no_argument, NULL, OPT_PROBE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static struct guardd_watch signalled = { .what = WATCH_SIGNAL };
	struct guardd d = {
		.dir = RDMAPIN_GUARDD_DEFAULT_DIR,
		.listen_watch = { .what = WATCH_LISTEN },
		.max_user_entries = GUARDD_MAX_USER_ENTRIES,
		.max_user_conns = GUARDD_MAX_USER_CONNS,
		.map = GUARDD_MAP_INIT,
		.next_id = 1,
		.journal_fd = -1,
	};
	const char *config = GUARDD_DEFAULT_CONFIG;
	bool probing = false, activated;
	int c, sig_fd;

	while ((c = getopt_long(argc, argv, "d:c:u:h", opts, NULL)) != -1) {
		if (c == 'd') {
			d.dir = optarg;
		} else if (c == 'c') {
			config = optarg;
		} else if (c == 'u') {
			d.max_user_entries = positive(optarg);
		} else if (c == OPT_CONNS) {
			d.max_user_conns = positive(optarg);
		} else if (c == OPT_PROBE) {
			probing = true;
		} else {
			usage(c == 'h' ? stdout : stderr, c == 'h' ? EXIT_SUCCESS : 2);
		}
	}
	if (optind < argc)
		usage(stderr, 2);
	if (probing)
		return probe();
	umask(077);
	size_fds(&d);
	if (guardd_config_read(&d.config, config) || open_dirs(&d))
		return EXIT_FAILURE;
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	sig_fd = signal_fd();
	if (d.epfd < 0 || sig_fd < 0 || start(&d))
		return EXIT_FAILURE;
	if (open_listener(&d, &activated))
		return EXIT_FAILURE;
	if (guardd_watch(&d, d.listen_fd, &d.listen_watch) ||
	    guardd_watch(&d, sig_fd, &signalled)) {
		fprintf(stderr, "rdmapin-guardd: epoll: %s\n", strerror(errno));
		return EXIT_FAILURE;
	}
	loop(&d);
	/*
	 * The entries stay, and the state with them, for the next daemon; so
	 * does systemd's socket, on which systemd starts it.
	 */
	if (!activated)
		unlinkat(d.dirfd, RDMAPIN_GUARDD_SOCKET_NAME, 0);
	guardd_clients_free(&d);
	guardd_config_free(&d.config);
	fprintf(stderr, "rdmapin-guardd: stopped; guarded files stay guarded\n");
	return EXIT_SUCCESS;
}
