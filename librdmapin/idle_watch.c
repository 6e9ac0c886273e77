// SPDX-License-Identifier: MIT
/* Inotify watches kept between a file's leases: see idle_watch.h. */
#include "break_thread.h"
#include "idle_watch.h"
#include "lib.h"

static struct rdmapin_idle_watch *const watches = rdmapin_lib.idle_watches;

static struct rdmapin_idle_watch *find(dev_t dev, ino_t ino)
{
	unsigned int i;

	for (i = 0; i < RDMAPIN_IDLE_WATCHES; i++)
		if (watches[i].wd > 0 && watches[i].dev == dev && watches[i].ino == ino)
			return &watches[i];
	return NULL;
}

/* An empty slot, else the one kept longest. */
static struct rdmapin_idle_watch *slot(void)
{
	struct rdmapin_idle_watch *w = &watches[0];
	unsigned int i;

	for (i = 0; i < RDMAPIN_IDLE_WATCHES; i++) {
		if (watches[i].wd <= 0)
			return &watches[i];
		if (watches[i].kept < w->kept)
			w = &watches[i];
	}
	return w;
}

int rdmapin_idle_watch_take(dev_t dev, ino_t ino)
{
	struct rdmapin_idle_watch *w;
	int wd;

	if (!find(dev, ino))
		return -1;
	rdmapin_break_thread_read_changes();
	w = find(dev, ino);
	if (!w)
		return -1;
	wd = w->wd;
	w->wd = 0;
	return wd;
}

void rdmapin_idle_watch_keep(dev_t dev, ino_t ino, int wd)
{
	struct rdmapin_idle_watch *w = find(dev, ino);

	/* Not kept twice: one inode has one watch, and one wd. */
	if (!w)
		w = slot();
	if (w->wd > 0 && w->wd != wd)
		rdmapin_break_thread_unwatch(w->wd);
	*w = (struct rdmapin_idle_watch){
		.dev = dev, .ino = ino, .wd = wd, .kept = ++rdmapin_lib.idle_watches_kept
	};
}

void rdmapin_idle_watch_drop(int wd, bool remove)
{
	unsigned int i;

	for (i = 0; wd > 0 && i < RDMAPIN_IDLE_WATCHES; i++) {
		if (watches[i].wd != wd)
			continue;
		if (remove)
			rdmapin_break_thread_unwatch(wd);
		watches[i].wd = 0;
	}
}

bool rdmapin_idle_watch_flush(void)
{
	bool any = false;
	unsigned int i;

	for (i = 0; i < RDMAPIN_IDLE_WATCHES; i++) {
		if (watches[i].wd <= 0)
			continue;
		rdmapin_break_thread_unwatch(watches[i].wd);
		watches[i].wd = 0;
		any = true;
	}
	return any;
}
