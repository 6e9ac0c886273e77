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
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "clients.h"
#include "error.h"
#include "guard_load.h"
#include "guardd_proto.h"
#include "state.h"

static void usage(FILE *out, int status)
{
	fprintf(out,
		"Usage: rdmapin-guardd [--runtime-dir DIR] [--max-entries-per-user N]\n"
		"       rdmapin-guardd --probe\n\n"
		"Keeps librdmapin's truncate guard: loads it, then guards the files that\n"
		"processes register, until they deregister or die.\n\n"
		"  -d, --runtime-dir DIR           socket and saved state (default %s)\n"
		"  -u, --max-entries-per-user N    files one user but root may have guarded\n"
		"                                  at once (default %d)\n"
		"      --probe                     print whether the guard is loaded, or can\n"
		"                                  be loaded by this user, or why not; exit\n"
		"                                  0 if it is or can be, 1 if not\n"
		"  -h, --help                      this text\n",
		RDMAPIN_GUARDD_DEFAULT_DIR, GUARDD_MAX_USER_ENTRIES);
	exit(status);
}

/* The runtime directory, open and locked: one daemon per directory. */
static int open_dir(const char *dir)
{
	int fd;

	if (mkdir(dir, 0755) && errno != EEXIST)
		return -1;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB)) {
		if (errno == EWOULDBLOCK)
			errno = EADDRINUSE;
		close(fd);
		return -1;
	}
	return fd;
}

/* Anyone may connect: what the daemon checks is each fd it is given. */
static int listen_on(const char *dir)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if ((size_t)snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/" RDMAPIN_GUARDD_SOCKET_NAME,
			     dir) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	unlink(addr.sun_path);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || chmod(addr.sun_path, 0666) ||
	    listen(fd, 64)) {
		close(fd);
		return -1;
	}
	return fd;
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
	if (guardd_restore(d) && errno != EINVAL) {
		fprintf(stderr, "rdmapin-guardd: cannot read %s/state: %s\n", d->dir,
			strerror(errno));
		return -1;
	}
	return 0;
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
	enum { OPT_PROBE = 256 };
	static const struct option opts[] = {
		{ "runtime-dir", required_argument, NULL, 'd' },
		{ "max-entries-per-user", required_argument, NULL, 'u' },
		{ "probe", no_argument, NULL, OPT_PROBE },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static struct guardd_watch signalled = { .what = WATCH_SIGNAL };
	struct guardd d = {
		.dir = RDMAPIN_GUARDD_DEFAULT_DIR,
		.listen_watch = { .what = WATCH_LISTEN },
		.max_user_entries = GUARDD_MAX_USER_ENTRIES,
		.next_id = 1,
	};
	bool probing = false;
	int c, sig_fd;
	char *end;

	while ((c = getopt_long(argc, argv, "d:u:h", opts, NULL)) != -1) {
		if (c == 'd') {
			d.dir = optarg;
		} else if (c == 'u') {
			d.max_user_entries = strtoul(optarg, &end, 10);
			if (*end || !*optarg || !d.max_user_entries)
				usage(stderr, 2);
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
	d.dirfd = open_dir(d.dir);
	if (d.dirfd < 0) {
		fprintf(stderr, "rdmapin-guardd: %s: %s%s\n", d.dir, strerror(errno),
			errno == EADDRINUSE ? " (another rdmapin-guardd runs there)" : "");
		return EXIT_FAILURE;
	}
	d.epfd = epoll_create1(EPOLL_CLOEXEC);
	sig_fd = signal_fd();
	if (d.epfd < 0 || sig_fd < 0 || start(&d))
		return EXIT_FAILURE;
	d.listen_fd = listen_on(d.dir);
	if (d.listen_fd < 0 || guardd_watch(&d, d.listen_fd, &d.listen_watch) ||
	    guardd_watch(&d, sig_fd, &signalled)) {
		fprintf(stderr,
			"rdmapin-guardd: cannot listen on %s/" RDMAPIN_GUARDD_SOCKET_NAME ": %s\n",
			d.dir, strerror(errno));
		return EXIT_FAILURE;
	}
	fprintf(stderr, "rdmapin-guardd: listening on %s/" RDMAPIN_GUARDD_SOCKET_NAME "\n", d.dir);
	loop(&d);
	/* The entries stay, and the state with them, for the next daemon. */
	unlinkat(d.dirfd, RDMAPIN_GUARDD_SOCKET_NAME, 0);
	fprintf(stderr, "rdmapin-guardd: stopped; guarded files stay guarded\n");
	return EXIT_SUCCESS;
}
