/* SPDX-License-Identifier: MIT */
/*
 * The fd keeper's inotify watches of files whose last lease it released,
 * kept for their next first MR. Adding a watch walks /proc/thread-self/fd/N,
 * and removing one wakes the keeper again with IN_IGNORED: together ~0.6 ms
 * of a 4 ms first MR on 6.1 in a TCG guest. A watch stays on its inode,
 * which it holds, until the file is deleted or its filesystem unmounted; the
 * kernel then queues IN_IGNORED before the inode number can name another
 * file, so a kept watch is believed for (dev, ino) once every queued event
 * has been read. Kept watches count against fs.inotify.max_user_watches:
 * they go before a new watch would fail for the lack of room, at the first
 * change of their file (so that writes to an idle file do not wake the
 * keeper again and again), and beyond RDMAPIN_IDLE_WATCHES (lib.h), oldest first.
 * The keeper's alone: no lock; a forked child has none (lib.c resets them).
 */
#ifndef RDMAPIN_IDLE_WATCH_H
#define RDMAPIN_IDLE_WATCH_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * The watch kept for file (dev, ino), no longer kept; -1 if none. Reads the
 * keeper's queued events first, without the lock: their handlers take it.
 */
int rdmapin_idle_watch_take(dev_t dev, ino_t ino);
/* Keeps @wd for (dev, ino), removing the oldest kept watch when all slots are used. */
void rdmapin_idle_watch_keep(dev_t dev, ino_t ino, int wd);
/*
 * An event for @wd: a kept watch is forgotten, and removed if @remove (it
 * changed; IN_IGNORED said it is gone already).
 */
void rdmapin_idle_watch_drop(int wd, bool remove);
/* Removes every kept watch; whether there was any. */
bool rdmapin_idle_watch_flush(void);

#endif
