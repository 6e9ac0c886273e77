// SPDX-License-Identifier: MIT
/*
 * fork(): the one handler over the library's state (lib.h). As with
 * rdma-core, a child cannot use its parent's MRs: it forgets every record
 * without deregistering (the MRs and leases are the parent's, and stay so)
 * and starts with fresh locks. The fds that protect registrations are in the
 * parent's library thread's own table, which the child does not inherit: it
 * has no copy to ftruncate a leased file through. It frees memory, and closes
 * its copies of the library's descriptors in the application's table where
 * they are still the library's (app_fd.h). Its first lease starts a thread of
 * its own.
 * The parent's forking thread holds every lock across fork(), so the child
 * never inherits state mid-update.
 */
#include <pthread.h>

#include "async_event.h"
#include "break_thread.h"
#include "devdax_align.h"
#include "file_cache.h"
#include "guard_client.h"
#include "lease.h"
#include "lib.h"
#include "map_files.h"
#include "mr_table.h"
#include "registry.h"
#include "vma.h"

static void prepare(void)
{
	pthread_mutex_lock(&rdmapin_lib.maps_walk);
	pthread_mutex_lock(&rdmapin_lib.guard.lock);
	rdmapin_setup_lock();
	rdmapin_lock();
}

static void parent(void)
{
	rdmapin_unlock();
	rdmapin_setup_unlock();
	pthread_mutex_unlock(&rdmapin_lib.guard.lock);
	pthread_mutex_unlock(&rdmapin_lib.maps_walk);
}

static void child(void)
{
	rdmapin_mr_table_forget_all();
	rdmapin_lease_forget_all();
	rdmapin_event_forget_all();
	rdmapin_registry_forget();
	rdmapin_guard_client_forget();
	rdmapin_vma_forget();
	rdmapin_map_files_forget();
	rdmapin_break_thread_forget();
	rdmapin_devdax_align_forget();
	rdmapin_file_cache_forget();
	rdmapin_lib_reset();
}

static __attribute__((constructor)) void register_fork_handlers(void)
{
	pthread_atfork(prepare, parent, child);
}
