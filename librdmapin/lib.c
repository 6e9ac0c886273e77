// SPDX-License-Identifier: MIT
/* The library's process state and its locks: see lib.h. */
#include <string.h>

#include <rdmapin/rdmapin.h>
#include "error.h"
#include "lib.h"

struct rdmapin_lib rdmapin_lib = {
	.setup = PTHREAD_MUTEX_INITIALIZER,
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.callbacks_tail = &rdmapin_lib.callbacks,
	.brk = {
		.sig_fd = -1, .ep_fd = -1, .ino_fd = -1, .file_fd = -1,
		.sender = RDMAPIN_APP_FD_INIT,
		.call_lock = PTHREAD_MUTEX_INITIALIZER,
		.calls_tail = &rdmapin_lib.brk.calls,
	},
	.guard = { .lock = PTHREAD_MUTEX_INITIALIZER, .conn = -1 },
	.maps = RDMAPIN_APP_FD_INIT,
	.map_files = RDMAPIN_APP_FD_INIT,
	.map_files_below = -1,
	.maps_walk = PTHREAD_MUTEX_INITIALIZER,
	.devdax_attrs = { [0 ... RDMAPIN_DEVDAX_ATTRS - 1] = { .fd = RDMAPIN_APP_FD_INIT } },
};

void rdmapin_lock(void)
{
	pthread_mutex_lock(&rdmapin_lib.lock);
}

void rdmapin_unlock(void)
{
	pthread_mutex_unlock(&rdmapin_lib.lock);
}

void rdmapin_wait(void)
{
	pthread_cond_wait(&rdmapin_lib.cond, &rdmapin_lib.lock);
}

void rdmapin_wait_on(pthread_cond_t *cond)
{
	pthread_cond_wait(cond, &rdmapin_lib.lock);
}

void rdmapin_timedwait_on(pthread_cond_t *cond, const struct timespec *at)
{
	pthread_cond_timedwait(cond, &rdmapin_lib.lock, at);
}

void rdmapin_broadcast(void)
{
	pthread_cond_broadcast(&rdmapin_lib.cond);
}

void rdmapin_setup_lock(void)
{
	pthread_mutex_lock(&rdmapin_lib.setup);
}

void rdmapin_setup_unlock(void)
{
	pthread_mutex_unlock(&rdmapin_lib.setup);
}

/*
 * What the host probe found stays true in a child: the kernel is the same.
 * The spare record is free memory, the child's too.
 */
void rdmapin_lib_reset(void)
{
	struct rdmapin_lib *l = &rdmapin_lib;
	struct rdmapin_mr *spare = l->spare_mr;
	struct rdmapin_host_caps host = l->host;
	unsigned int version = l->host_version;
	dev_t shm_dev = l->host_shm_dev;
	bool probed = l->host_probed;
	size_t i;

	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->guard.lock, NULL);
	l->guard.conn = -1;
	l->guard.alias = (struct rdmapin_app_fd)RDMAPIN_APP_FD_INIT;
	l->maps = (struct rdmapin_app_fd)RDMAPIN_APP_FD_INIT;
	l->map_files = (struct rdmapin_app_fd)RDMAPIN_APP_FD_INIT;
	l->map_files_below = -1;
	pthread_mutex_init(&l->maps_walk, NULL);
	for (i = 0; i < RDMAPIN_DEVDAX_ATTRS; i++)
		l->devdax_attrs[i].fd = (struct rdmapin_app_fd)RDMAPIN_APP_FD_INIT;
	pthread_mutex_init(&l->setup, NULL);
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	l->callbacks_tail = &l->callbacks;
	l->brk = (struct rdmapin_break_thread){ .sig_fd = -1, .ep_fd = -1, .ino_fd = -1, .file_fd = -1,
						.sender = RDMAPIN_APP_FD_INIT,
						.calls_tail = &l->brk.calls };
	pthread_mutex_init(&l->brk.call_lock, NULL);
	l->host = host;
	l->host_version = version;
	l->host_shm_dev = shm_dev;
	l->host_probed = probed;
	l->spare_mr = spare;
}

const char *rdmapin_last_error(void)
{
	return rdmapin_error_msg();
}
