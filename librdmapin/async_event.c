// SPDX-License-Identifier: MIT
/* Asynchronous events: see async_event.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "async_event.h"
#include "break_thread.h"
#include "error.h"
#include "lib.h"
#include "mr_table.h"
#include "revoker.h"

struct rdmapin_event_node {
	struct rdmapin_async_event ev;
	rdmapin_break_cb cb;
	void *ctx;
	struct rdmapin_event_node *next;
};

/*
 * The events of one device context; the fd polls readable exactly while it
 * holds some. The application's fd and the keeper's copy share one eventfd
 * counter: the library reads and writes only its copy, so an fd number that
 * the application closed and reused never sees a library byte.
 */
struct rdmapin_event_queue {
	struct ibv_context *context;
	struct rdmapin_event_node *head, **tail;
	int fd;				/* the application's; -1 until it asks for it */
	int kept_fd;			/* the same eventfd, in the keeper's table */
	bool fd_set;
	struct rdmapin_event_queue *next;
};

static void push(struct rdmapin_event_node ***tail, struct rdmapin_event_node *n)
{
	n->next = NULL;
	**tail = n;
	*tail = &n->next;
}

static struct rdmapin_event_node *pop(struct rdmapin_event_node **head,
				      struct rdmapin_event_node ***tail)
{
	struct rdmapin_event_node *n = *head;

	if (n) {
		*head = n->next;
		if (!*head)
			*tail = head;
	}
	return n;
}

static struct rdmapin_event_queue *queue_of(struct ibv_context *context, bool create)
{
	struct rdmapin_event_queue *q;

	for (q = rdmapin_lib.event_queues; q; q = q->next)
		if (q->context == context)
			return q;
	if (!create || !(q = calloc(1, sizeof(*q))))
		return NULL;
	q->context = context;
	q->tail = &q->head;
	q->fd = -1;
	q->kept_fd = -1;
	q->next = rdmapin_lib.event_queues;
	rdmapin_lib.event_queues = q;
	return q;
}

static bool out_of_sync(const struct rdmapin_event_queue *q)
{
	return q->kept_fd >= 0 && q->fd_set != !!q->head;
}

/* On the keeper, under the lock. */
void rdmapin_event_sync_fds(void)
{
	struct rdmapin_event_queue *q;
	uint64_t v = 1;

	for (q = rdmapin_lib.event_queues; q; q = q->next) {
		if (!out_of_sync(q))
			continue;
		if (q->head)
			q->fd_set = write(q->kept_fd, &v, sizeof(v)) == sizeof(v);
		else
			q->fd_set = read(q->kept_fd, &v, sizeof(v)) != sizeof(v);
	}
}

bool rdmapin_event_fds_stale(void)
{
	const struct rdmapin_event_queue *q;

	for (q = rdmapin_lib.event_queues; q; q = q->next)
		if (out_of_sync(q))
			return true;
	return false;
}

/*
 * Under the lock: the keeper brings the fd in step, at once when this is the
 * keeper; the revoker wakes it after dropping the lock (lease.c).
 */
static void sync_fd(struct rdmapin_event_queue *q)
{
	if (!out_of_sync(q))
		return;
	if (rdmapin_on_break_thread())
		rdmapin_event_sync_fds();
	else if (!rdmapin_on_revoker() && !rdmapin_break_thread_waking())
		rdmapin_break_thread_kick();
}

static int sync_on_keeper(void *unused, int *fd)
{
	(void)unused;
	(void)fd;
	rdmapin_lock();
	rdmapin_event_sync_fds();
	rdmapin_unlock();
	return 0;
}

/* The path is the MR record's: it lives until dereg, which waits for the acks. */
static struct rdmapin_event_node *event_new(enum rdmapin_event_type type, struct rdmapin_mr *mr)
{
	struct rdmapin_event_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->ev.type = type;
	n->ev.mr = mr->ibmr;
	n->ev.dev = mr->backing.dev;
	n->ev.ino = mr->backing.ino;
	n->ev.path = mr->backing.path;
	n->cb = mr->attr.break_cb;
	n->ctx = mr->attr.break_ctx;
	return n;
}

void rdmapin_event_post(enum rdmapin_event_type type, struct rdmapin_mr *mr)
{
	struct rdmapin_event_queue *q = queue_of(mr->pd->context, true);
	struct rdmapin_event_node *n = q ? event_new(type, mr) : NULL, *c;

	if (!n)
		return;
	if (n->cb && (c = malloc(sizeof(*c)))) {
		*c = *n;
		/* The callback's event, like a handed-out one, holds off dereg. */
		mr->events_out++;
		push(&rdmapin_lib.callbacks_tail, c);
	}
	push(&q->tail, n);
	sync_fd(q);
}

/* Releases a handed-out event of the MR @ibmr, if it still exists. Under the lock. */
static void event_done(const struct ibv_mr *ibmr)
{
	struct rdmapin_mr *mr = rdmapin_mr_table_find(ibmr);

	if (mr && mr->events_out) {
		mr->events_out--;
		rdmapin_broadcast();
	}
}

/* lib.cb_running tells rdmapin_event_forget_mr() which MR's callback runs. */
bool rdmapin_event_run_callbacks(void)
{
	struct rdmapin_event_node *n;
	bool ran = false;

	for (;;) {
		rdmapin_lock();
		n = pop(&rdmapin_lib.callbacks, &rdmapin_lib.callbacks_tail);
		rdmapin_lib.cb_running = n ? n->ev.mr : NULL;
		rdmapin_unlock();
		if (!n)
			return ran;
		ran = true;
		n->cb(&n->ev, n->ctx);
		rdmapin_lock();
		if (rdmapin_lib.cb_running)
			event_done(n->ev.mr);
		rdmapin_lib.cb_running = NULL;
		rdmapin_unlock();
		free(n);
	}
}

/* Returns how many were dropped. */
static unsigned int drop_queued(struct rdmapin_event_node **head,
				struct rdmapin_event_node ***tail, const struct ibv_mr *ibmr)
{
	struct rdmapin_event_node **p = head, *n;
	unsigned int dropped = 0;

	while ((n = *p)) {
		if (n->ev.mr == ibmr) {
			*p = n->next;
			free(n);
			dropped++;
		} else {
			p = &n->next;
		}
	}
	*tail = p;
	return dropped;
}

/*
 * A callback may deregister its own MR: the event it was handed then ends
 * here, not when it returns, since the record is gone by then.
 */
void rdmapin_event_forget_mr(struct rdmapin_mr *mr)
{
	struct rdmapin_event_queue *q = queue_of(mr->pd->context, false);

	if (q) {
		drop_queued(&q->head, &q->tail, mr->ibmr);
		sync_fd(q);
	}
	mr->events_out -= drop_queued(&rdmapin_lib.callbacks, &rdmapin_lib.callbacks_tail,
				      mr->ibmr);
	if (rdmapin_lib.cb_running == mr->ibmr && rdmapin_on_revoker()) {
		mr->events_out--;
		rdmapin_lib.cb_running = NULL;
	}
	while (mr->events_out)
		rdmapin_wait();
}

void rdmapin_event_forget_all(void)
{
	struct rdmapin_event_queue *q;
	struct rdmapin_event_node *n;

	while ((q = rdmapin_lib.event_queues)) {
		rdmapin_lib.event_queues = q->next;
		while ((n = pop(&q->head, &q->tail)))
			free(n);
		free(q);
	}
	while ((n = pop(&rdmapin_lib.callbacks, &rdmapin_lib.callbacks_tail)))
		free(n);
}

struct adopt {
	struct rdmapin_event_queue *q;
	int app_fd;
};

/* On the keeper: the first eventfd made for the queue is its; 1 when another was first. */
static int adopt_on_keeper(void *ctx, int *fd)
{
	struct adopt *a = ctx;
	int ret = 1;

	rdmapin_lock();
	if (a->q->fd < 0) {
		a->q->kept_fd = *fd;
		*fd = -1;
		ret = a->q->kept_fd < 0 ? -1 : 0;
	}
	if (!ret) {
		a->q->fd = a->app_fd;
		a->q->fd_set = false;
		rdmapin_event_sync_fds();
	}
	rdmapin_unlock();
	return ret;
}

/* The eventfd is made here and a copy handed to the keeper, which alone uses it. */
static int make_fd(struct rdmapin_event_queue *q)
{
	struct adopt a = { .q = q };
	int ret;

	rdmapin_setup_lock();
	ret = rdmapin_break_thread_start();
	rdmapin_setup_unlock();
	if (ret)
		return -1;
	a.app_fd = eventfd(0, EFD_CLOEXEC);
	if (a.app_fd < 0)
		return -1;
	ret = rdmapin_break_thread_call(adopt_on_keeper, &a, a.app_fd);
	if (ret)
		close(a.app_fd);
	return ret < 0 ? -1 : 0;
}

int rdmapin_get_async_fd(struct ibv_context *context)
{
	struct rdmapin_event_queue *q;
	int fd = -1;

	if (!context)
		return rdmapin_fail(EINVAL, "rdmapin_get_async_fd: context is NULL; pass the "
				    "struct ibv_context of the MRs' protection domain");
	rdmapin_lock();
	q = queue_of(context, true);
	fd = q ? q->fd : -1;
	rdmapin_unlock();
	if (!q)
		return rdmapin_fail(ENOMEM, "out of memory for an async event queue");
	if (fd >= 0)
		return fd;
	if (make_fd(q))
		return rdmapin_fail(errno, "cannot create the async event fd: %s",
				    strerrordesc_np(errno));
	rdmapin_lock();
	fd = q->fd;
	rdmapin_unlock();
	return fd;
}

/* Blocks while no event waits, unless the caller made the fd non-blocking. */
static int wait_event(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (fcntl(fd, F_GETFL) & O_NONBLOCK) {
		errno = EAGAIN;
		return -1;
	}
	return poll(&p, 1, -1) < 0 && errno != EINTR ? -1 : 0;
}

int rdmapin_get_async_event(struct ibv_context *context, struct rdmapin_async_event *event)
{
	struct rdmapin_event_queue *q;
	struct rdmapin_event_node *n;
	struct rdmapin_mr *mr;
	bool stale;
	int fd;

	if (!event)
		return rdmapin_fail(EINVAL, "rdmapin_get_async_event: event is NULL");
	fd = rdmapin_get_async_fd(context);
	if (fd < 0)
		return -1;
	for (;;) {
		rdmapin_lock();
		q = queue_of(context, false);
		n = pop(&q->head, &q->tail);
		stale = out_of_sync(q);
		if (n && (mr = rdmapin_mr_table_find(n->ev.mr)))
			mr->events_out++;
		rdmapin_unlock();
		/* The last event taken: the fd stops polling readable before this returns. */
		if (stale)
			rdmapin_break_thread_call(sync_on_keeper, NULL, -1);
		if (n)
			break;
		if (wait_event(fd))
			return rdmapin_fail(errno, "no async event is waiting (%s)",
					    strerrordesc_np(errno));
	}
	*event = n->ev;
	free(n);
	return 0;
}

void rdmapin_ack_async_event(struct rdmapin_async_event *event)
{
	if (!event)
		return;
	rdmapin_lock();
	event_done(event->mr);
	rdmapin_unlock();
}
