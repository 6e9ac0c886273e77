// SPDX-License-Identifier: MIT
/* Layout leases over registered files: see lease.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backing.h"
#include "error.h"
#include "host_caps.h"
#include "lease.h"
#include "lease_break.h"
#include "own_fd.h"
#include "registration.h"

/* The 2019 RFC's lease flag (see host_caps.c). */
#define RDMAPIN_F_LAYOUT 16

static struct rdmapin_lease *leases;

struct rdmapin_lease *rdmapin_lease_first(void)
{
	return leases;
}

struct rdmapin_lease *rdmapin_lease_by_fd(int fd)
{
	struct rdmapin_lease *l;

	for (l = leases; l; l = l->next)
		if (l->fd == fd)
			return l;
	return NULL;
}

static struct rdmapin_lease *lease_by_file(dev_t dev, ino_t ino)
{
	struct rdmapin_lease *l;

	for (l = leases; l; l = l->next)
		if (l->dev == dev && l->ino == ino && !l->broken)
			return l;
	return NULL;
}

/*
 * The break signal goes to the library's thread, never to the application's.
 * F_UNLCK clears F_SETSIG (measured on 6.1, 7.2 and 6.18), so set it anew
 * before every lease.
 */
static int lease_set(int fd, enum rdmapin_lease_kind kind)
{
	struct f_owner_ex owner = { .type = F_OWNER_TID, .pid = rdmapin_break_thread_tid() };
	int arg = F_WRLCK | (kind == RDMAPIN_LEASE_KIND_NATIVE ? RDMAPIN_F_LAYOUT : 0);

	if (fcntl(fd, F_SETSIG, rdmapin_break_signal()) || fcntl(fd, F_SETOWN_EX, &owner))
		return -1;
	return fcntl(fd, F_SETLEASE, arg);
}

/*
 * Leases belong to the open file description: take it through our own
 * close-on-exec dup, so the break signal names a descriptor the application
 * cannot close or reuse under us.
 */
static int lease_take(int fd, enum rdmapin_lease_kind kind)
{
	int dup = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int err;

	if (dup < 0)
		return -1;
	/*
	 * A description leased already is someone else's lease (a parent's,
	 * shared across fork): re-owning it would let our F_UNLCK release theirs.
	 */
	if (fcntl(dup, F_GETLEASE) != F_UNLCK)
		errno = EBUSY;
	else if (lease_set(dup, kind) == 0)
		return dup;
	err = errno;
	close(dup);
	errno = err;
	return -1;
}

/* The drop-in form: lease an fd of this process's own, not one of our leases. */
static int lease_take_own(int fd, void *kind)
{
	if (rdmapin_lease_by_fd(fd)) {
		errno = 0;
		return -1;
	}
	return lease_take(fd, *(enum rdmapin_lease_kind *)kind);
}

static int lease_fail(const struct rdmapin_backing_info *b, int err)
{
	switch (err) {
	case EAGAIN:
		return rdmapin_fail(EAGAIN, "%s: the file is open elsewhere (another open in this "
				    "process or another process); a layout lease needs the only "
				    "open: close the other opens, or map and register it with "
				    "rdmapin_reg_file_mr()", b->path);
	case EACCES:
		return rdmapin_fail(EACCES, "%s: only the file's owner (or CAP_LEASE) may lease it; "
				    "register as its owner or grant CAP_LEASE", b->path);
	case EBUSY:
		return rdmapin_fail(EBUSY, "%s: this open file is leased already, by another process "
				    "that shares it (a parent across fork?); open the file anew and "
				    "register that", b->path);
	case EBADF:
		return rdmapin_fail(EBADF, "%s: this process has no open file for the mapping (was "
				    "its fd closed?); keep the fd open and pass it in "
				    "rdmapin_mr_init_attr.fd, or use rdmapin_reg_file_mr()", b->path);
	default:
		return rdmapin_fail(err, "%s: cannot take a layout lease: %s", b->path,
				    strerrordesc_np(err));
	}
}

int rdmapin_lease_get(int fd, const struct rdmapin_backing_info *b, struct rdmapin_lease **out)
{
	enum rdmapin_lease_kind kind = RDMAPIN_LEASE_KIND_EMULATED;
	struct rdmapin_lease *l = lease_by_file(b->dev, b->ino);
	int lfd;

	if (l) {
		*out = l;
		return 0;
	}
	if (!(rdmapin_host()->flags & RDMAPIN_HOST_FILE_LEASES))
		return rdmapin_fail(ENOLCK, "%s: file leases are disabled on this host "
				    "(fs.leases-enable=0); enable them to register this file safely",
				    b->path);
	if (rdmapin_host()->flags & RDMAPIN_HOST_NATIVE_LAYOUT_LEASE)
		kind = RDMAPIN_LEASE_KIND_NATIVE;
	if (rdmapin_break_thread_start())
		return -1;
	lfd = fd >= 0 ? lease_take(fd, kind) :
			rdmapin_own_fd_find(b->dev, b->ino, lease_take_own, &kind);
	if (lfd < 0)
		return lease_fail(b, errno);
	l = calloc(1, sizeof(*l));
	if (!l) {
		fcntl(lfd, F_SETLEASE, F_UNLCK);
		close(lfd);
		return rdmapin_fail(ENOMEM, "out of memory for a lease record");
	}
	l->dev = b->dev;
	l->ino = b->ino;
	l->fd = lfd;
	l->kind = kind;
	snprintf(l->path, sizeof(l->path), "%s", b->path);
	l->next = leases;
	leases = l;
	*out = l;
	return 0;
}

void rdmapin_lease_attach(struct rdmapin_lease *lease, struct rdmapin_mr *mr)
{
	mr->lease = lease;
	mr->lease_next = lease->mrs;
	lease->mrs = mr;
}

static void lease_free(struct rdmapin_lease *lease, bool release)
{
	struct rdmapin_lease **p;

	for (p = &leases; *p; p = &(*p)->next) {
		if (*p == lease) {
			*p = lease->next;
			break;
		}
	}
	if (release)
		fcntl(lease->fd, F_SETLEASE, F_UNLCK);
	close(lease->fd);
	free(lease);
}

void rdmapin_lease_detach(struct rdmapin_mr *mr)
{
	struct rdmapin_lease *lease = mr->lease;
	struct rdmapin_mr **p;

	if (!lease)
		return;
	for (p = &lease->mrs; *p; p = &(*p)->lease_next) {
		if (*p == mr) {
			*p = mr->lease_next;
			break;
		}
	}
	mr->lease = NULL;
	if (!lease->mrs)
		lease_free(lease, true);
}

/* The parent still holds these leases: closing our copies leaves them intact. */
void rdmapin_lease_forget_all(void)
{
	while (leases)
		lease_free(leases, false);
}
