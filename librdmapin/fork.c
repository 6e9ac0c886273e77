// SPDX-License-Identifier: MIT
/*
 * fork(): as with rdma-core, a child cannot use its parent's MRs. The child
 * forgets every record without deregistering (the MRs and leases are the
 * parent's, and stay so) and closes its copies of the library's fds, so it
 * cannot ftruncate a leased file through one without breaking the lease.
 */
#include <pthread.h>

#include "async_event.h"
#include "guard_client.h"
#include "lease.h"
#include "lease_break.h"
#include "mr_table.h"
#include "registry.h"

static void child(void)
{
	rdmapin_mr_table_forget_all();
	rdmapin_lease_forget_all();
	rdmapin_event_forget_all();
	rdmapin_break_thread_forget();
	rdmapin_registry_forget();
	rdmapin_guard_client_forget();
	rdmapin_unlock();
}

static __attribute__((constructor)) void register_fork_handlers(void)
{
	pthread_atfork(rdmapin_lock, rdmapin_unlock, child);
}
