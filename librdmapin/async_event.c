// SPDX-License-Identifier: MIT
/*
 * Asynchronous events, as ibv_get_async_event(): an fd that polls readable
 * while events wait, get and ack. Break callbacks get the same events on the
 * library's thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "async_event.h"
#include "error.h"
#include "mr_table.h"

struct event_node {
	struct rdmapin_async_event ev;
	rdmapin_break_cb cb;
	void *ctx;
	struct event_node *next;
};

struct event_queue {
	struct event_node *head, **tail;
};

static struct event_queue queue = { .tail = &queue.head };
static struct event_queue callbacks = { .tail = &callbacks.head };
static int event_fd = -1;
static bool event_fd_set;

static void push(struct event_queue *q, struct event_node *n)
{
	n->next = NULL;
	*q->tail = n;
	q->tail = &n->next;
}

static struct event_node *pop(struct event_queue *q)
{
	struct event_node *n = q->head;

	if (n) {
		q->head = n->next;
		if (!q->head)
			q->tail = &q->head;
	}
	return n;
}

/* The fd polls readable exactly while the queue holds events. */
static void sync_event_fd(void)
{
	uint64_t v = 1;

	if (event_fd < 0 || event_fd_set == !!queue.head)
		return;
	if (queue.head)
		event_fd_set = write(event_fd, &v, sizeof(v)) == sizeof(v);
	else
		event_fd_set = read(event_fd, &v, sizeof(v)) != sizeof(v);
}

static struct event_node *event_new(enum rdmapin_event_type type, struct rdmapin_mr *mr)
{
	struct event_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->ev.type = type;
	n->ev.mr = mr->ibmr;
	n->ev.dev = mr->backing.dev;
	n->ev.ino = mr->backing.ino;
	snprintf(n->ev.path, sizeof(n->ev.path), "%s", mr->backing.path);
	n->cb = mr->attr.break_cb;
	n->ctx = mr->attr.break_ctx;
	return n;
}

void rdmapin_event_post(enum rdmapin_event_type type, struct rdmapin_mr *mr)
{
	struct event_node *n = event_new(type, mr), *c;

	if (!n)
		return;
	if (n->cb && (c = malloc(sizeof(*c)))) {
		*c = *n;
		push(&callbacks, c);
	}
	push(&queue, n);
	sync_event_fd();
}

void rdmapin_event_run_callbacks(void)
{
	struct event_node *n;

	for (;;) {
		rdmapin_lock();
		n = pop(&callbacks);
		rdmapin_unlock();
		if (!n)
			return;
		n->cb(&n->ev, n->ctx);
		free(n);
	}
}

static void drop_queued(struct event_queue *q, const struct ibv_mr *ibmr)
{
	struct event_node **p = &q->head, *n;

	while ((n = *p)) {
		if (n->ev.mr == ibmr) {
			*p = n->next;
			free(n);
		} else {
			p = &n->next;
		}
	}
	q->tail = p;
}

void rdmapin_event_forget_mr(struct rdmapin_mr *mr)
{
	drop_queued(&queue, mr->ibmr);
	drop_queued(&callbacks, mr->ibmr);
	sync_event_fd();
	while (mr->events_out)
		rdmapin_wait();
}

void rdmapin_event_forget_all(void)
{
	struct event_node *n;

	while ((n = pop(&queue)))
		free(n);
	while ((n = pop(&callbacks)))
		free(n);
	if (event_fd >= 0)
		close(event_fd);
	event_fd = -1;
	event_fd_set = false;
}

int rdmapin_get_async_fd(void)
{
	int fd;

	rdmapin_lock();
	if (event_fd < 0) {
		event_fd = eventfd(0, EFD_CLOEXEC);
		event_fd_set = false;
		sync_event_fd();
	}
	fd = event_fd;
	rdmapin_unlock();
	if (fd < 0)
		rdmapin_fail(errno, "cannot create the async event fd: %s", strerrordesc_np(errno));
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

int rdmapin_get_async_event(struct rdmapin_async_event *event)
{
	struct rdmapin_mr *mr;
	struct event_node *n;
	int fd;

	if (!event)
		return rdmapin_fail(EINVAL, "rdmapin_get_async_event: event is NULL");
	fd = rdmapin_get_async_fd();
	if (fd < 0)
		return -1;
	for (;;) {
		rdmapin_lock();
		n = pop(&queue);
		sync_event_fd();
		if (n && (mr = rdmapin_mr_table_find(n->ev.mr)))
			mr->events_out++;
		rdmapin_unlock();
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
	struct rdmapin_mr *mr;

	rdmapin_lock();
	mr = event ? rdmapin_mr_table_find(event->mr) : NULL;
	if (mr && mr->events_out) {
		mr->events_out--;
		rdmapin_broadcast();
	}
	rdmapin_unlock();
}
