// SPDX-License-Identifier: MIT
/* The library's thread: see break_thread.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "app_fd.h"
#include "break_thread.h"
#include "error.h"
#include "lib.h"
#include "revoker.h"
#include "str.h"

struct rdmapin_thread_call {
	rdmapin_thread_fn fn;
	void *ctx;
	bool want_fd;
	bool sent;			/* its message came (want_fd) */
	int fd;				/* the file sent along, in the thread's table; or -1 */
	int ret, err;
	bool done;
	/*
	 * The caller's, CALL_MSG_SIZE bytes, written when the call fails: a
	 * buffer in the call itself, zeroed with it, was most of a call's
	 * instructions.
	 */
	char *msg;
	struct rdmapin_thread_call *next;
};

#define CALL_MSG_SIZE 512

int rdmapin_break_signal(void)
{
	struct rdmapin_break_thread *t = &rdmapin_lib.brk;
	const char *s;
	int sig;

	if (!t->signal) {
		s = getenv("RDMAPIN_LEASE_SIGNAL");
		sig = s ? atoi(s) : 0;
		t->signal = sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : SIGRTMAX - 2;
	}
	return t->signal;
}

pid_t rdmapin_break_thread_tid(void)
{
	return rdmapin_lib.brk.tid;
}

/*
 * Set on the thread itself, so that asking costs no syscall; a child that a
 * callback forks keeps the flag, but not the thread (rdmapin_lib_reset()).
 */
static __thread bool on_thread;

bool rdmapin_on_break_thread(void)
{
	return on_thread && rdmapin_lib.brk.tid;
}

/*
 * A wake-up is the break signal sent to the thread itself: its signalfd reads
 * it like a break, and the application's fd table plays no part. Past this
 * user's RLIMIT_SIGPENDING a real-time signal cannot be queued (EAGAIN); a
 * plain SIGIO always can, and wakes the thread as a break of unknown file
 * does (take_own_sigio()).
 */
void rdmapin_break_thread_kick(void)
{
	const struct rdmapin_break_thread *t = &rdmapin_lib.brk;
	int err = errno;

	if (t->tid && syscall(SYS_tgkill, t->pid, t->tid, t->signal) && errno == EAGAIN)
		syscall(SYS_tgkill, t->pid, t->tid, SIGIO);
	errno = err;
}

bool rdmapin_break_thread_waking(void)
{
	return __atomic_load_n(&rdmapin_lib.brk.waking, __ATOMIC_RELAXED);
}

/*
 * A file sent along with a call (send_fd()) goes to the call it names, whose
 * caller waits for it; the call runs once it came. Only this process may
 * send (the kernel's SCM_CREDENTIALS say who did): another one's datagrams
 * are dropped. A call whose message came without its file (the thread's
 * table full) runs without it, and fails. One datagram per wake-up, and only
 * when epoll says one waits: it says so again while more do.
 */
static void receive_fd(struct rdmapin_break_thread *t)
{
	union {
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr align;
	} control;
	struct rdmapin_thread_call *c;
	struct iovec iov = { .iov_base = &c, .iov_len = sizeof(c) };
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	const struct ucred *cred = NULL;
	struct cmsghdr *cm;
	int fds[2], fd = -1;
	size_t n, i;
	ssize_t len;

	len = recvmsg(t->file_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (len < 0)
		return;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET)
			continue;
		if (cm->cmsg_type == SCM_CREDENTIALS)
			cred = (const struct ucred *)CMSG_DATA(cm);
		if (cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		memcpy(fds, CMSG_DATA(cm), n * sizeof(int));
		for (i = 0; i < n; i++) {
			if (fd < 0)
				fd = fds[i];
			else
				close(fds[i]);
		}
	}
	if (len != sizeof(c) || !cred || cred->pid != t->pid) {
		if (fd >= 0)
			close(fd);
		return;
	}
	pthread_mutex_lock(&t->call_lock);
	c->fd = fd;
	c->sent = true;
	pthread_mutex_unlock(&t->call_lock);
}

/*
 * A call's end is told through a futex, not a condition variable: a caller
 * woken from pthread_cond_wait() takes the mutex back marked contended, and
 * its unlock then costs a FUTEX_WAKE of nobody, a system call per call.
 * @c is the caller's, on its stack: untouched once done, as the caller may
 * have returned.
 */
static void call_done(struct rdmapin_break_thread *t, struct rdmapin_thread_call *c)
{
	__atomic_store_n(&c->done, true, __ATOMIC_RELEASE);
	__atomic_add_fetch(&t->calls_done, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&t->waiters, __ATOMIC_SEQ_CST))
		syscall(SYS_futex, &t->calls_done, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* The count is read before @c is looked at: a call done after it changes it. */
static void call_wait(struct rdmapin_break_thread *t, const struct rdmapin_thread_call *c)
{
	uint32_t seen;

	__atomic_add_fetch(&t->waiters, 1, __ATOMIC_SEQ_CST);
	for (;;) {
		seen = __atomic_load_n(&t->calls_done, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&c->done, __ATOMIC_ACQUIRE))
			break;
		syscall(SYS_futex, &t->calls_done, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
	}
	__atomic_sub_fetch(&t->waiters, 1, __ATOMIC_SEQ_CST);
}

/* The first queued call that can run, unlinked: one that wants a file has it. */
static struct rdmapin_thread_call *next_call(struct rdmapin_break_thread *t)
{
	struct rdmapin_thread_call **p, *c;

	pthread_mutex_lock(&t->call_lock);
	for (p = &t->calls; (c = *p) && c->want_fd && !c->sent; p = &c->next)
		;
	if (c && !(*p = c->next))
		t->calls_tail = p;
	pthread_mutex_unlock(&t->call_lock);
	return c;
}

static void run_calls(struct rdmapin_break_thread *t)
{
	struct rdmapin_thread_call *c;

	while ((c = next_call(t))) {
		/* Each call starts clean: its caller gets back the errno it leaves. */
		rdmapin_error_clear();
		errno = 0;
		c->ret = c->fn(c->ctx, &c->fd);
		c->err = errno;
		if (c->fd >= 0)
			close(c->fd);
		if (c->ret < 0)
			rdmapin_strscpy(c->msg, rdmapin_error_msg(), CALL_MSG_SIZE);
		call_done(t, c);
	}
}

/*
 * The socket that files are sent from, in the application's table where they
 * are (app_fd.h): made with the thread, in its network namespace, it reaches
 * the thread's name from threads since moved to another one; a socket per
 * call cost a socket() and a close() more, 120 us a file in a TCG guest.
 * One the application replaced is made anew, by the calling thread.
 */
static int sender(struct rdmapin_break_thread *t)
{
	int s;

	pthread_mutex_lock(&t->call_lock);
	if (!rdmapin_app_fd_ours(&t->sender))
		rdmapin_app_fd_set(&t->sender, socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
	s = t->sender.fd;
	pthread_mutex_unlock(&t->call_lock);
	return s;
}

static int send_on(int s, const struct msghdr *msg)
{
	int ret;

	while ((ret = sendmsg(s, msg, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return ret < 0 ? -1 : 0;
}

/*
 * The file goes in a datagram to the thread's socket, naming the call it
 * belongs to, and wakes the thread: SCM_RIGHTS is the one way into the
 * thread's table that needs no pidfd_getfd (which valgrind does not know).
 * A datagram arrives whole or not at all, so the call is queued before. It
 * is sent from the process's sender, else from a socket made for the call.
 */
static int send_fd(struct rdmapin_thread_call *c, int app_fd)
{
	struct rdmapin_break_thread *t = &rdmapin_lib.brk;
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} control;
	struct iovec iov = { .iov_base = &c, .iov_len = sizeof(c) };
	struct msghdr msg = {
		.msg_name = (void *)&t->addr,
		.msg_namelen = t->addr_len,
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control.buf,
		.msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	int s, ret, err;

	memset(&control, 0, sizeof(control));
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &app_fd, sizeof(int));
	s = sender(t);
	if (s >= 0 && !send_on(s, &msg))
		return 0;
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	ret = send_on(s, &msg);
	err = errno;
	close(s);
	errno = err;
	return ret;
}

/* A call whose file could not be sent never ran: it leaves the queue. */
static void dequeue(struct rdmapin_break_thread *t, struct rdmapin_thread_call *c)
{
	struct rdmapin_thread_call **p;

	pthread_mutex_lock(&t->call_lock);
	for (p = &t->calls; *p && *p != c; p = &(*p)->next)
		;
	if (*p && !(*p = c->next))
		t->calls_tail = p;
	pthread_mutex_unlock(&t->call_lock);
}

int rdmapin_break_thread_call(rdmapin_thread_fn fn, void *ctx, int app_fd)
{
	struct rdmapin_break_thread *t = &rdmapin_lib.brk;
	char msg[CALL_MSG_SIZE];
	struct rdmapin_thread_call c = {
		.fn = fn, .ctx = ctx, .want_fd = app_fd >= 0, .fd = -1, .msg = msg
	};

	if (rdmapin_on_break_thread()) {
		if (app_fd < 0)
			return fn(ctx, &app_fd);
		return rdmapin_fail(EDEADLK, "a break callback cannot start protecting a file (it "
				    "runs on the library's thread); register the file from another "
				    "thread");
	}
	pthread_mutex_lock(&t->call_lock);
	*t->calls_tail = &c;
	t->calls_tail = &c.next;
	pthread_mutex_unlock(&t->call_lock);
	if (app_fd < 0) {
		rdmapin_break_thread_kick();
	} else if (send_fd(&c, app_fd)) {
		dequeue(t, &c);
		return rdmapin_fail(errno, "cannot hand a file to the library's thread: %s",
				    strerrordesc_np(errno));
	}
	call_wait(t, &c);
	if (c.ret < 0 && c.msg[0])
		return rdmapin_fail(c.err, "%s", c.msg);
	errno = c.err;
	return c.ret;
}

static void drain_signals(const struct rdmapin_break_thread *t)
{
	struct signalfd_siginfo si[16];
	ssize_t n;
	size_t i;

	n = read(t->sig_fd, si, sizeof(si));
	for (i = 0; n > 0 && i < (size_t)n / sizeof(si[0]); i++)
		if (si[i].ssi_code != SI_TKILL)
			t->handlers->signal(si[i].ssi_fd);
}

/*
 * Whether this thread's own pending set holds SIGIO (SigPnd; a SIGIO sent to
 * the whole process is in ShdPnd). Unreadable (no /proc, which the leases'
 * watches need too): taken as yes, for a missed break would cost the data.
 */
static bool own_sigio_pending(void)
{
	unsigned long long pending;
	char buf[4096];
	const char *p;
	ssize_t n;
	int fd;

	fd = open("/proc/thread-self/status", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return true;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = 0;
	p = strstr(buf, "\nSigPnd:");
	if (!p || sscanf(p + 8, "%llx", &pending) != 1)
		return true;
	return pending & 1ull << (SIGIO - 1);
}

/*
 * When the kernel cannot queue the break signal (RLIMIT_SIGPENDING), it sends
 * a plain SIGIO to the lease's owner, this thread, naming no file (fs/fcntl.c,
 * send_sigio_to_task()); so does a kick that could not queue its own. The
 * SIGIO must be taken, or the next one would merge into it unseen, but only
 * the thread's own: a signalfd or sigtimedwait() would as well take one sent
 * to the whole process, the application's. sio_fd only wakes the thread
 * (edge-triggered, never read), and sigtimedwait() takes the thread's own
 * SIGIO, which it dequeues before the process's. Then every lease is asked
 * whether it is breaking.
 */
static void take_own_sigio(const struct rdmapin_break_thread *t)
{
	static const struct timespec now;
	sigset_t set;

	if (!own_sigio_pending())
		return;
	sigemptyset(&set);
	sigaddset(&set, SIGIO);
	sigtimedwait(&set, NULL, &now);
	t->handlers->signal(-1);
}

int rdmapin_break_thread_watch(int fd)
{
	char link[48];

	/* The thread's own table: the file is the one its fd names, not a path's. */
	snprintf(link, sizeof(link), "/proc/thread-self/fd/%d", fd);
	return inotify_add_watch(rdmapin_lib.brk.ino_fd, link, IN_MODIFY | IN_ATTRIB);
}

void rdmapin_break_thread_unwatch(int wd)
{
	inotify_rm_watch(rdmapin_lib.brk.ino_fd, wd);
}

/* One read per wake-up, as for the files sent (receive_fd()); the bytes read. */
static ssize_t read_changes(const struct rdmapin_break_thread *t)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	ssize_t n;
	char *p;

	n = read(t->ino_fd, buf, sizeof(buf));
	for (p = buf; n > 0 && p < buf + n; p += sizeof(*ev) + ev->len) {
		ev = (const struct inotify_event *)p;
		if (ev->mask & IN_Q_OVERFLOW)
			t->handlers->changed(-1, true);
		else if (ev->mask & (IN_MODIFY | IN_ATTRIB))
			t->handlers->changed(ev->wd, ev->mask & IN_ATTRIB);
		else if (ev->mask & IN_IGNORED)
			t->handlers->gone(ev->wd);
	}
	return n;
}

void rdmapin_break_thread_read_changes(void)
{
	while (read_changes(&rdmapin_lib.brk) > 0)
		;
}

static int watch(int ep, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/*
 * An abstract name: nothing to clean up, and it goes with the thread's
 * table. SO_PASSCRED: every datagram says which process sent it.
 */
static int file_socket(struct rdmapin_break_thread *t)
{
	int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), on = 1, n;

	if (s < 0)
		return -1;
	t->addr.sun_family = AF_UNIX;
	n = snprintf(t->addr.sun_path + 1, sizeof(t->addr.sun_path) - 1, "rdmapin.%d.%d",
		     getpid(), gettid());
	t->addr_len = offsetof(struct sockaddr_un, sun_path) + 1 + n;
	if (setsockopt(s, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) ||
	    bind(s, (struct sockaddr *)&t->addr, t->addr_len))
		return -1;
	return s;
}

/*
 * Whatever the application does to its fd table (closefrom, close_range,
 * dup2) cannot reach a table the thread does not share: it leaves the
 * process's, drops its copies of the application's fds (a copy would keep
 * a pipe or socket open after the application closed it) and opens its own.
 */
static int private_table(struct rdmapin_break_thread *t)
{
	sigset_t set;

	if (unshare(CLONE_FILES) || close_range(0, ~0U, 0))
		return -1;
	sigemptyset(&set);
	sigaddset(&set, t->signal);
	t->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	sigemptyset(&set);
	sigaddset(&set, SIGIO);
	t->sio_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	t->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	t->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	t->file_fd = file_socket(t);
	if (t->sig_fd < 0 || t->sio_fd < 0 || t->ep_fd < 0 || t->ino_fd < 0 ||
	    t->file_fd < 0 || watch(t->ep_fd, t->sig_fd, EPOLLIN) ||
	    watch(t->ep_fd, t->sio_fd, EPOLLIN | EPOLLET) ||
	    watch(t->ep_fd, t->ino_fd, EPOLLIN) || watch(t->ep_fd, t->file_fd, EPOLLIN))
		return -1;
	return 0;
}

struct start {
	sem_t ready;
	int err;
};

static void *break_thread(void *p)
{
	struct rdmapin_break_thread *t = &rdmapin_lib.brk;
	struct start *start = p;
	struct epoll_event ev[4];
	int n, i;

	start->err = private_table(t) ? errno : 0;
	if (!start->err) {
		on_thread = true;
		t->pid = getpid();
		t->tid = gettid();
	}
	sem_post(&start->ready);
	if (!t->tid)
		return NULL;
	for (;;) {
		n = epoll_wait(t->ep_fd, ev, 4, -1);
		/* Cleared under the lock: a holder that sees it set is followed by wake(). */
		__atomic_store_n(&t->waking, true, __ATOMIC_RELAXED);
		for (i = 0; i < n; i++)
			if (ev[i].data.fd == t->sig_fd)
				drain_signals(t);
			else if (ev[i].data.fd == t->sio_fd)
				take_own_sigio(t);
			else if (ev[i].data.fd == t->ino_fd)
				read_changes(t);
			else if (ev[i].data.fd == t->file_fd)
				receive_fd(t);
		run_calls(t);
		rdmapin_lock();
		__atomic_store_n(&t->waking, false, __ATOMIC_RELAXED);
		t->handlers->wake();
		rdmapin_unlock();
	}
	return NULL;
}

/* The thread inherits a mask that blocks every signal: none of the app's land on it. */
static int spawn(void)
{
	struct start start = { .err = 0 };
	sigset_t all, old;
	pthread_t t;
	int err;

	sem_init(&start.ready, 0, 0);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&t, NULL, break_thread, &start);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!err) {
		pthread_detach(t);
		while (sem_wait(&start.ready) && errno == EINTR)
			;
		err = start.err;
	}
	sem_destroy(&start.ready);
	return err;
}

static const struct rdmapin_break_handlers *handlers;

void rdmapin_break_thread_init(const struct rdmapin_break_handlers *h)
{
	handlers = h;
}

int rdmapin_break_thread_start(void)
{
	struct rdmapin_break_thread *t = &rdmapin_lib.brk;
	int err;

	if (t->tid)
		return rdmapin_revoker_start(handlers->revoke);
	t->handlers = handlers;
	rdmapin_break_signal();
	err = spawn();
	if (!err) {
		sender(t);
		return rdmapin_revoker_start(handlers->revoke);
	}
	return rdmapin_fail(err, "cannot start the library's thread (it needs unshare(CLONE_FILES), "
			    "close_range, signalfd, epoll and an abstract unix socket): %s",
			    strerrordesc_np(err));
}

void rdmapin_break_thread_forget(void)
{
	rdmapin_app_fd_forget(&rdmapin_lib.brk.sender);
}
