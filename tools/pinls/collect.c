// SPDX-License-Identifier: MIT
/* Gathering the rows: see collect.h. */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <stdlib.h>

#include <rdmapin/rdmapin.h>
#include "collect.h"
#include "deleted.h"
#include "pid_set.h"
#include "unmanaged.h"

struct collect {
	const struct filter *filter;
	struct pin_list *pins;
	struct pid_set *managed;
	struct deleted_maps deleted;
};

static int collect_pin(const struct rdmapin_pin_record *rec, void *ctx)
{
	struct collect *c = ctx;
	const struct rdmapin_registry_slot *s = &rec->slot;
	struct pin *p;

	pid_set_add(c->managed, rec->pid);
	if (!filter_proc(c->filter, rec->pid, rec->uid) ||
	    !filter_file(c->filter, s->dev, s->ino, s->path))
		return 0;
	p = pin_list_add(c->pins);
	p->rec = *rec;
	/* As the library's rdmapin_query_mr() tells it: only files, as the kernel names them. */
	p->deleted = (s->backing == RDMAPIN_BACKING_PAGECACHE ||
		      s->backing == RDMAPIN_BACKING_FSDAX) &&
		     deleted_pin(&c->deleted, rec);
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
	deleted_maps_free(&c.deleted);
	pid_set_sort(&managed);
	/* As /proc/PID/maps names its records, if it exists. */
	real = realpath(dir, NULL);
	unmanaged_scan(pins, &managed, f, real);
	free(real);
	free(managed.v);
}
