// SPDX-License-Identifier: MIT
/* The kinds of registered files: see file_cache.h. */
#include <stdlib.h>
#include <unistd.h>

#include "file_cache.h"
#include "host_caps.h"
#include "lib.h"

/* Device-DAX entries kept with no MR (see file_cache.h): a process maps few devices. */
#define IDLE_DEVICES 4

struct rdmapin_known_file {
	dev_t dev;
	ino_t ino;
	struct rdmapin_file_kind k;
	unsigned int refs;
	struct rdmapin_known_file *next;
};

static struct rdmapin_known_file **find(dev_t dev, ino_t ino)
{
	struct rdmapin_known_file **p;

	for (p = &rdmapin_lib.known_files; *p; p = &(*p)->next)
		if ((*p)->dev == dev && (*p)->ino == ino)
			break;
	return p;
}

/*
 * An entry no MR holds (a device-DAX node aligned above the base page, or
 * one on tmpfs or ramfs kept with its alignment unread: the only kinds kept
 * idle) names its device only while the mapping's page size is its
 * alignment, or, with no page size known, if its node was kept.
 */
static bool idle_matches(const struct rdmapin_known_file *f, uint64_t map_page_size)
{
	return map_page_size ? map_page_size == f->k.page_size : f->k.node_kept;
}

bool rdmapin_file_cache_get(dev_t dev, ino_t ino, uint64_t map_page_size,
			    struct rdmapin_file_kind *k)
{
	struct rdmapin_known_file *f;
	bool found;

	rdmapin_lock();
	f = *find(dev, ino);
	found = f && (f->refs || idle_matches(f, map_page_size));
	if (found) {
		*k = f->k;
		if (!f->refs && !map_page_size)
			k->page_size = 0;
	}
	rdmapin_unlock();
	return found;
}

/*
 * Anonymous memory has no file to remember, and memfd and the like are
 * known by their mount (backing.c): an entry for each of their MRs was a
 * calloc() and a free() per registration. The kind is tested first: the
 * mount is asked of shmem alone.
 */
static bool remembered(const struct rdmapin_backing_info *info)
{
	return info->ino &&
	       (info->kind != RDMAPIN_BACKING_SHMEM || info->dev != rdmapin_host_shm_dev());
}

/* Under the lock. */
void rdmapin_file_cache_hold(const struct rdmapin_backing_info *info)
{
	struct rdmapin_known_file *f;

	if (!remembered(info))
		return;
	f = *find(info->dev, info->ino);
	if (!f && (f = calloc(1, sizeof(*f)))) {
		f->dev = info->dev;
		f->ino = info->ino;
		f->next = rdmapin_lib.known_files;
		rdmapin_lib.known_files = f;
	}
	if (!f)
		return;
	/* Refilled when idle: its node may be recreated, or its device reconfigured, since. */
	if (!f->refs++) {
		f->k = (struct rdmapin_file_kind){ info->kind, info->rdev, info->page_size,
						   info->node_kept };
	}
}

/* Drops the idle entries past the first IDLE_DEVICES. Under the lock. */
static void prune_idle(void)
{
	struct rdmapin_known_file **p = &rdmapin_lib.known_files, *f;
	unsigned int idle = 0;

	while ((f = *p)) {
		if (!f->refs && ++idle > IDLE_DEVICES) {
			*p = f->next;
			free(f);
		} else {
			p = &f->next;
		}
	}
}

/* Under the lock. */
void rdmapin_file_cache_release(const struct rdmapin_backing_info *info)
{
	struct rdmapin_known_file **p, *f;

	if (!remembered(info))
		return;
	p = find(info->dev, info->ino);
	f = *p;
	if (!f || --f->refs)
		return;
	if (f->k.kind == RDMAPIN_BACKING_DEVDAX &&
	    (f->k.page_size > (uint64_t)getpagesize() || (!f->k.page_size && f->k.node_kept))) {
		prune_idle();
		return;
	}
	*p = f->next;
	free(f);
}

void rdmapin_file_cache_forget(void)
{
	struct rdmapin_known_file *f;

	while ((f = rdmapin_lib.known_files)) {
		rdmapin_lib.known_files = f->next;
		free(f);
	}
}
