/* SPDX-License-Identifier: MIT */
/*
 * The library's process state, in one place, as libdaxctl's ctx: every
 * table, list, fd and cache that librdmapin keeps for the process lives in
 * struct rdmapin_lib, and fork.c's one handler resets all of it in a child.
 * The modules own the types behind the pointers; lib.c owns the storage.
 *
 * Locks, taken in this order, never the other way:
 *	guard.lock	the connection to rdmapin-guardd and its requests, which
 *			can take seconds; never held together with the two below.
 *	setup		serializes slow, rare work: starting the break thread,
 *			taking a lease (it scans /proc/self/fd), creating the
 *			registry file. Never taken by the break thread.
 *	lock		everything else; held only for short, non-blocking work,
 *			and the break thread's revocations (ibv_dereg_mr).
 *	brk.call_lock	the library thread's request queue and the socket that
 *			sends it files (break_thread.c); held alone, briefly.
 *			A caller waiting for the thread may hold guard.lock
 *			and setup, never lock: the thread takes it.
 * fork() takes the first three in that order (fork.c).
 */
#ifndef RDMAPIN_LIB_H
#define RDMAPIN_LIB_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <rdmapin/rdmapin.h>

#include "app_fd.h"

#define RDMAPIN_MR_TABLE_BUCKETS 1024

struct rdmapin_mr;
struct rdmapin_lease;
struct rdmapin_event_queue;
struct rdmapin_event_node;
struct rdmapin_break_handlers;
struct rdmapin_registry_header;
struct rdmapin_known_file;

/* A device's capabilities, remembered per open context. */
struct rdmapin_device_entry {
	struct ibv_context *context;
	struct ibv_device *device;	/* tells a reused context address */
	struct rdmapin_device_caps caps;
};

/* A guarded file, and how many of this process's MRs it holds the guard for. */
struct rdmapin_guarded_file {
	dev_t dev;
	ino_t ino;
	enum rdmapin_guard_kind kind;
	uint64_t id;			/* the daemon's name for the entry */
	unsigned int refs;
	struct rdmapin_guarded_file *next;
};

/* The connection to rdmapin-guardd and the files guarded (guard_client.c). */
struct rdmapin_guard_client {
	pthread_mutex_t lock;
	struct rdmapin_guarded_file *files;
	int conn;			/* -1: none; in the library thread's table */
	unsigned int conn_gen; /* counts the connections made */
	/* A copy of connection conn_gen in the application's table, for requests. */
	struct rdmapin_app_fd alias;
	unsigned int alias_gen;
	uint64_t *pending;		/* UNGUARDs the daemon missed: sent when it is back */
	size_t npending, pending_cap;
	/* The socket file when a connect last failed, and until when to believe it. */
	ino_t away_ino;
	dev_t away_dev;
	uint64_t away_until;		/* CLOCK_MONOTONIC seconds; 0: not away */
	/* Until when no guard is believed to be had, daemon or map, and why. */
	uint64_t none_until;
	char none_socket[sizeof(((struct sockaddr_un *)0)->sun_path)];	/* the daemon's, then */
	char none_msg[512];
};

/*
 * This process's record in the pin registry (registry.c): made with its first
 * pin. It keeps no fd the application could close or reuse: the mapping
 * holds the file (and its OFD lock), the path grows it.
 */
struct rdmapin_registry_record {
	struct rdmapin_registry_header *hdr;
	size_t map_len;
	uint32_t *free;			/* free slots, a stack */
	uint32_t nfree;
	char path[PATH_MAX];		/* to remove it at exit; our 0700 directory */
};

struct rdmapin_thread_call;

/*
 * The library's thread (break_thread.c). Its fds live in a table of its own,
 * out of the application's reach: only the thread may use them.
 */
struct rdmapin_break_thread {
	const struct rdmapin_break_handlers *handlers;
	pid_t pid, tid;			/* its process and itself; tid 0: not running */
	int signal;			/* the lease-break signal, read once */
	bool waking;			/* awake, its wake handler still to run (break_thread.h) */
	int sig_fd, ep_fd;		/* in the thread's table */
	int sio_fd;			/* wakes it for its own SIGIO; never read */
	int ino_fd;			/* inotify: changes of files it watches */
	int file_fd;			/* where other threads send it files */
	struct sockaddr_un addr;	/* file_fd's abstract name */
	socklen_t addr_len;
	struct rdmapin_app_fd sender;	/* what they send from: the application's table */
	pthread_mutex_t call_lock;	/* guards calls and sender; held alone */
	uint32_t calls_done;		/* bumped at each call done: the callers' futex */
	uint32_t waiters;		/* callers waiting on it */
	struct rdmapin_thread_call *calls, **calls_tail;
};

/* A device-DAX device's align attribute, kept open (devdax_align.c). */
struct rdmapin_devdax_attr {
	dev_t rdev;
	struct rdmapin_app_fd fd;
};

#define RDMAPIN_DEVDAX_ATTRS 4

/* Idle records, each with a watch, kept at most (lease.c). */
#define RDMAPIN_IDLE_WATCHES 16

/* The revoking thread (revoker.c); its fields are under the lock. */
struct rdmapin_revoker {
	void (*work)(void);
	pid_t tid;			/* 0: not running */
	pthread_cond_t cond;		/* with lock; CLOCK_MONOTONIC */
	bool pending;			/* run work now */
	uint64_t deadline_ns;		/* run work then; 0: none */
};

struct rdmapin_lib {
	pthread_mutex_t setup;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* with lock: event acks */

	struct rdmapin_mr *mrs[RDMAPIN_MR_TABLE_BUCKETS];	/* by struct ibv_mr */
	struct rdmapin_lease *leases;
	unsigned long idle_records; /* records left without MRs so far (lease.c) */
	uint64_t pin_sweep_ns;		/* next look at pinned page-cache pages (lease.c) */
	struct rdmapin_break_thread brk;
	struct rdmapin_revoker revoker;
	struct rdmapin_guard_client guard;
	struct rdmapin_registry_record registry;
	bool registry_tried; /* made, or failed for good (registry.c): atomic */
	struct rdmapin_known_file *known_files;			/* file_cache.c */
	struct rdmapin_mr *spare_mr;	/* a freed record, for the next registration (mr.c) */
	struct rdmapin_event_queue *event_queues;		/* one per context */
	struct rdmapin_event_node *callbacks, **callbacks_tail;	/* to run, in order */
	const struct ibv_mr *cb_running;	/* whose callback the break thread runs */

	struct rdmapin_app_fd maps;	/* /proc/self/maps (vma.c) */
	struct rdmapin_app_fd map_files;	/* /proc/self/map_files (map_files.c) */
	long map_files_below;		/* the last gap found: the file mapping under it */
	uintptr_t map_files_file[2];	/* the last range a file was found over */
	pthread_mutex_t maps_walk;	/* one read of the maps text or map_files at a time;
					 * guards the map_files fields above, the two below */
	uintptr_t maps_canary[2];	/* its start and end; 0: none (maps_canary.c) */
	char *maps_buf;			/* what a walk through maps reads into (vma.c) */
	size_t maps_text_used;		/* by the last walk of that text; atomic, a hint */
	struct rdmapin_devdax_attr devdax_attrs[RDMAPIN_DEVDAX_ATTRS];	/* in the application's table */
	unsigned int devdax_attrs_next;	/* the slot to take next when all are used */
	bool host_probed;		/* release/acquire: host is complete */
	struct rdmapin_host_caps host;
	unsigned int host_version;	/* major << 16 | minor, from host.kernel_release */
	dev_t host_shm_dev;		/* rdmapin_host_shm_dev() */
	struct rdmapin_device_entry devices[8];
	unsigned int devices_next;
};

extern struct rdmapin_lib rdmapin_lib;

void rdmapin_lock(void);
void rdmapin_unlock(void);
/* Waits for rdmapin_broadcast() with the lock held. */
void rdmapin_wait(void);
void rdmapin_broadcast(void);
/* The same, on another condition variable of the lock's; the timed one until @at. */
void rdmapin_wait_on(pthread_cond_t *cond);
void rdmapin_timedwait_on(pthread_cond_t *cond, const struct timespec *at);
void rdmapin_setup_lock(void);
void rdmapin_setup_unlock(void);

/* In a forked child: fresh locks, and every field back to its initial value. */
void rdmapin_lib_reset(void);

#endif
