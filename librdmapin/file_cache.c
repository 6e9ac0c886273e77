// SPDX-License-Identifier: MIT
/* The kinds of registered files: see file_cache.h. */
#include <stdlib.h>

#include "file_cache.h"
#include "lib.h"

struct rdmapin_known_file {
	dev_t dev;
	ino_t ino;
	enum rdmapin_backing kind;
	dev_t rdev;
	uint64_t page_size;
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

bool rdmapin_file_cache_get(struct rdmapin_backing_info *info)
{
	struct rdmapin_known_file *f;

	rdmapin_lock();
	f = *find(info->dev, info->ino);
	if (f) {
		info->kind = f->kind;
		info->rdev = f->rdev;
		info->page_size = f->page_size;
	}
	rdmapin_unlock();
	return f;
}

/* Anonymous memory has no file to remember. Under the lock. */
void rdmapin_file_cache_hold(const struct rdmapin_backing_info *info)
{
	struct rdmapin_known_file *f;

	if (!info->ino)
		return;
	f = *find(info->dev, info->ino);
	if (!f && (f = calloc(1, sizeof(*f)))) {
		*f = (struct rdmapin_known_file){ info->dev, info->ino, info->kind, info->rdev,
						  info->page_size, 0, rdmapin_lib.known_files };
		rdmapin_lib.known_files = f;
	}
	if (f)
		f->refs++;
}

/* Under the lock. */
void rdmapin_file_cache_release(const struct rdmapin_backing_info *info)
{
	struct rdmapin_known_file **p = find(info->dev, info->ino), *f = *p;

	if (f && !--f->refs) {
		*p = f->next;
		free(f);
	}
}

void rdmapin_file_cache_forget(void)
{
	struct rdmapin_known_file *f;

	while ((f = rdmapin_lib.known_files)) {
		rdmapin_lib.known_files = f->next;
		free(f);
	}
}
