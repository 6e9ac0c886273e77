// SPDX-License-Identifier: MIT
/* Gathering the rows: see collect.h. */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <rdmapin/rdmapin.h>
#include "collect.h"
#include "deleted.h"
#include "pid_set.h"
#include "registry_read.h"
#include "unmanaged.h"

struct collect {
	const struct filter *filter;
	struct pin_list *pins;
	struct pid_set *managed;
	struct deleted_maps deleted;
	/* The process of the record being read: the registry lists its pins together. */
	pid_t pid;
	uint64_t start_time;
	const struct pin_proc *proc;	/* NULL if the filter leaves it out */
	const char *device;		/* its last pin's, most often its next one's too */
	size_t first;			/* its first row */
};

/* The rows of the process read last are all in: which files of them are unlinked. */
static void end_proc(struct collect *c)
{
	struct pin_list *l = c->pins;

	if (l->n > c->first)
		deleted_mark(&c->deleted, c->pid, l->v + c->first, l->n - c->first);
	c->first = l->n;
}

/* The first pin of a process: what all its pins share, once. */
static void collect_proc(struct collect *c, const struct rdmapin_pin_record *rec)
{
	struct pin_proc *proc = NULL;

	end_proc(c);
	c->pid = rec->pid;
	c->start_time = rec->start_time;
	c->device = NULL;
	pid_set_add(c->managed, rec->pid);
	if (filter_proc(c->filter, rec->pid, rec->uid)) {
		proc = arena_alloc(&c->pins->arena, sizeof(*proc));
		proc->pid = rec->pid;
		proc->uid = rec->uid;
		memcpy(proc->comm, rec->comm, sizeof(proc->comm));
	}
	c->proc = proc;
}

/* The reader ended both strings with a NUL. */
static const char *device_name(struct collect *c, const char *device)
{
	if (!c->device || strcmp(c->device, device))
		c->device = arena_strndup(&c->pins->arena, device, strlen(device));
	return c->device;
}

static int collect_pin(const struct rdmapin_pin_record *rec, void *ctx)
{
	struct collect *c = ctx;
	const struct rdmapin_registry_pin *s = rec->pin;
	struct pin *p;

	if (rec->pid != c->pid || rec->start_time != c->start_time)
		collect_proc(c, rec);
	if (!c->proc || !filter_file(c->filter, s->dev, s->ino, s->path))
		return 0;
	p = pin_list_add(c->pins);
	*p = (struct pin){
		.proc = c->proc,
		.path = arena_strndup(&c->pins->arena, s->path, strlen(s->path)),
		.device = device_name(c, s->device),
		.dev = s->dev, .ino = s->ino, .offset = s->offset, .length = s->length,
		.addr = s->addr, .registered_ns = s->registered_ns,
		.state = s->state, .backing = s->backing, .mode = s->mode, .lease = s->lease,
		.guard = s->guard, .lkey = s->lkey, .rkey = s->rkey, .quirks = s->quirks,
	};
	return 0;
}

static void registry_warning(const char *msg, void *ctx)
{
	warnx("%s", msg);
}

void collect_pins(struct pin_list *pins, const struct filter *f)
{
	const char *dir = rdmapin_registry_dir();
	struct pid_set managed = { 0 };
	struct collect c = { .filter = f, .pins = pins, .managed = &managed };
	char *real;

	/* No registry directory is a host where nothing registered yet: not an error. */
	if (rdmapin_registry_scan(dir, collect_pin, registry_warning, &c) && errno != ENOENT)
		warn("cannot read the registry %s", dir);
	end_proc(&c);
	deleted_maps_free(&c.deleted);
	pid_set_sort(&managed);
	/* As /proc/PID/maps names its records, if it exists. */
	real = realpath(dir, NULL);
	unmanaged_scan(pins, &managed, f, real);
	free(real);
	free(managed.v);
}
