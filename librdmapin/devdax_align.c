// SPDX-License-Identifier: MIT
/* Device-DAX alignments, through kept attribute descriptors: see devdax_align.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "devdax_align.h"
#include "lib.h"

/* The kernel's answer, "2097152\n": 0, or an errno value. */
static int read_align(int fd, uint64_t *align)
{
	char text[24];
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);

	if (n < 0)
		return errno;
	text[n > 0 ? n : 0] = '\0';
	*align = strtoull(text, NULL, 0);
	return *align ? 0 : EIO;
}

static bool is_devdax(dev_t rdev)
{
	char path[80], subsystem[PATH_MAX];
	const char *slash;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/subsystem", major(rdev), minor(rdev));
	n = readlink(path, subsystem, sizeof(subsystem) - 1);
	subsystem[n > 0 ? n : 0] = '\0';
	slash = strrchr(subsystem, '/');
	return slash && !strcmp(slash, "/dax");
}

/* The slot of @rdev, else a free one, else the next in turn. Under the lock. */
static struct rdmapin_devdax_attr *slot_of(dev_t rdev)
{
	struct rdmapin_devdax_attr *a = rdmapin_lib.devdax_attrs;
	size_t i;

	for (i = 0; i < RDMAPIN_DEVDAX_ATTRS; i++)
		if (a[i].fd.fd >= 0 && a[i].rdev == rdev)
			return &a[i];
	for (i = 0; i < RDMAPIN_DEVDAX_ATTRS; i++)
		if (a[i].fd.fd < 0)
			return &a[i];
	return &a[rdmapin_lib.devdax_attrs_next++ % RDMAPIN_DEVDAX_ATTRS];
}

/*
 * Opens @rdev's attribute into @a, once it is known to be device-DAX, and
 * reads it: 0, or an errno value. Under the lock.
 */
static int attr_open(struct rdmapin_devdax_attr *a, dev_t rdev, uint64_t *align)
{
	char path[80];

	rdmapin_app_fd_forget(&a->fd);
	if (!is_devdax(rdev))
		return ENODEV;
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/align", major(rdev), minor(rdev));
	a->rdev = rdev;
	if (rdmapin_app_fd_set(&a->fd, open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno;
	return read_align(a->fd.fd, align);
}

int rdmapin_devdax_align(dev_t rdev, uint64_t *align)
{
	struct rdmapin_devdax_attr *a;
	int err;

	rdmapin_lock();
	a = slot_of(rdev);
	err = a->rdev == rdev && rdmapin_app_fd_ours(&a->fd) ? read_align(a->fd.fd, align) : ENOENT;
	if (err)
		err = attr_open(a, rdev, align);
	rdmapin_unlock();
	errno = err;
	return err ? -1 : 0;
}

void rdmapin_devdax_align_forget(void)
{
	size_t i;

	for (i = 0; i < RDMAPIN_DEVDAX_ATTRS; i++)
		rdmapin_app_fd_forget(&rdmapin_lib.devdax_attrs[i].fd);
}
