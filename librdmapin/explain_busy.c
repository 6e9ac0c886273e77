// SPDX-License-Identifier: MIT
/*
 * rdmapin_explain_busy(): why a truncate of a registered file failed with
 * ETXTBSY. The guard refuses it in the kernel, where no library can add a
 * word, so the application asks afterwards: who holds the file registered
 * (this process, others from the pin registry) and what to do about it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/types.h>

#include <rdmapin/rdmapin.h>
#include "error.h"
#include "guard_map.h"
#include "lib.h"
#include "mr_table.h"
#include "rdmapin_guard.h"
#include "registry_read.h"

struct holders {
	dev_t dev;
	ino_t ino;
	unsigned int own;	/* this process's live MRs over the file */
	bool own_guarded;
	unsigned int others;	/* other processes' pins, from the registry */
	pid_t pid;		/* the first of them */
	char comm[16];
};

static void count_own(const struct rdmapin_mr *mr, void *ctx)
{
	struct holders *h = ctx;

	if (mr->revoked || mr->backing.dev != h->dev || mr->backing.ino != h->ino)
		return;
	h->own++;
	h->own_guarded |= mr->guard != RDMAPIN_GUARD_KIND_NONE;
}

static int count_others(const struct rdmapin_pin_record *rec, void *ctx)
{
	struct holders *h = ctx;

	if (rec->pid == getpid() || rec->pin->state != RDMAPIN_PIN_ACTIVE ||
	    rec->pin->dev != h->dev || rec->pin->ino != h->ino)
		return 0;
	if (!h->others++) {
		h->pid = rec->pid;
		memcpy(h->comm, rec->comm, sizeof(h->comm));
		h->comm[sizeof(h->comm) - 1] = '\0';
	}
	return 0;
}

/* Sets the message: true when it explains an ETXTBSY, false (errno ENOENT) when not. */
static bool explain(const struct holders *h, const char *path, int guarded)
{
	if (h->own)
		rdmapin_fail(ETXTBSY, "%s: this process has it registered for RDMA (%u MR%s%s); "
			     "deregister with rdmapin_dereg_mr() before truncating it", path,
			     h->own, h->own > 1 ? "s" : "", h->own_guarded ?
			     ", under the truncate guard, which refuses every process, this one "
			     "included" : "");
	else if (h->others)
		rdmapin_fail(ETXTBSY, "%s: pid %d (%s)%s has it registered for RDMA; it can be "
			     "truncated once they deregister or end (pinls %s lists them)", path, h->pid, h->comm,
			     h->others > 1 ? " and other processes" : "", path);
	else if (guarded == 1)
		rdmapin_fail(ETXTBSY, "%s: the truncate guard holds it, but no registration of it "
			     "is known: a privileged process that guarded it itself ended without "
			     "deregistering; unload the guard (rm -r %s) and restart "
			     "rdmapin-guardd", path, RDMAPIN_GUARD_DIR);
	else
		rdmapin_fail(ENOENT, "%s: no registration of it is known to librdmapin%s", path,
			     guarded ? "" : " (the truncate guard does not hold it)");
	return errno == ETXTBSY;
}

int rdmapin_explain_busy(int fd)
{
	struct rdmapin_guard_key key;
	struct holders h = { 0 };
	char link[64], path[4096];
	int err = errno;
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st))
		return rdmapin_fail(errno, "rdmapin_explain_busy: fd %d: %s", fd, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return rdmapin_fail(EINVAL, "rdmapin_explain_busy: fd %d is not a regular file",
				    fd);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	h.dev = st.st_dev;
	h.ino = st.st_ino;
	rdmapin_lock();
	rdmapin_mr_table_for_each(count_own, &h);
	rdmapin_unlock();
	rdmapin_registry_scan(rdmapin_registry_dir(), count_others, NULL, &h);
	rdmapin_guard_key_init(&key, st.st_dev, st.st_ino);
	if (!explain(&h, path, rdmapin_guard_holds(&key)))
		return -1;
	errno = err;
	return 0;
}
