// SPDX-License-Identifier: MIT
/* The calls that free or move a file's blocks: see block_paths.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>

#include "block_paths.h"

static int err_of(int ret)
{
	return ret < 0 ? errno : 0;
}

static int falloc(const struct block_target *t, int mode)
{
	return err_of(fallocate(t->fd, mode, 0, t->len));
}

int block_punch(const struct block_target *t)
{
	return falloc(t, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
}

int block_collapse(const struct block_target *t)
{
	return falloc(t, FALLOC_FL_COLLAPSE_RANGE);
}

int block_zero(const struct block_target *t)
{
	return falloc(t, FALLOC_FL_ZERO_RANGE);
}

int block_zero_keep(const struct block_target *t)
{
	return falloc(t, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE);
}

int block_insert(const struct block_target *t)
{
	return falloc(t, FALLOC_FL_INSERT_RANGE);
}

int block_write_zeroes(const struct block_target *t)
{
	return falloc(t, FALLOC_FL_WRITE_ZEROES);
}

int block_alloc(const struct block_target *t)
{
	return falloc(t, 0);
}

int block_alloc_keep(const struct block_target *t)
{
	return falloc(t, FALLOC_FL_KEEP_SIZE);
}

int block_unshare(const struct block_target *t)
{
	return falloc(t, FALLOC_FL_UNSHARE_RANGE | FALLOC_FL_KEEP_SIZE);
}

int block_madv_remove(const struct block_target *t)
{
	return err_of(madvise(t->map, t->len, MADV_REMOVE));
}

int block_ficlone(const struct block_target *t)
{
	return err_of(ioctl(t->fd, FICLONE, t->src));
}

int block_ficlonerange(const struct block_target *t)
{
	struct file_clone_range r = { .src_fd = t->src, .src_length = t->len };

	return err_of(ioctl(t->fd, FICLONERANGE, &r));
}

int block_dedupe(const struct block_target *t)
{
	struct {
		struct file_dedupe_range r;
		struct file_dedupe_range_info info;
	} d = { .r = { .src_length = t->len, .dest_count = 1 }, .info = { .dest_fd = t->fd } };

	if (ioctl(t->src, FIDEDUPERANGE, &d))
		return errno;
	if (d.info.status == FILE_DEDUPE_RANGE_DIFFERS)
		return EBADE;
	return d.info.status < 0 ? -d.info.status : 0;
}

int block_copy_into(const struct block_target *t)
{
	loff_t in = 0, out = 0;

	return err_of(copy_file_range(t->src, &in, t->fd, &out, t->len, 0));
}

int block_clone_from(const struct block_target *t)
{
	return err_of(ioctl(t->dst, FICLONE, t->fd));
}

int block_pwrite(const struct block_target *t)
{
	char buf[4096];

	if (pread(t->src, buf, sizeof(buf), 0) != sizeof(buf))
		return EIO;
	return pwrite(t->fd, buf, sizeof(buf), 0) == sizeof(buf) ? 0 : errno;
}

static int uring_wait(struct io_uring *ring)
{
	struct io_uring_cqe *cqe;
	int ret = io_uring_submit_and_wait(ring, 1);

	if (ret < 0)
		return -ret;
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret < 0)
		return -ret;
	ret = cqe->res < 0 ? -cqe->res : 0;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/* One request, prepared by @prep, on the target's ring or one of its own. */
static int uring_one(const struct block_target *t,
		     void (*prep)(struct io_uring_sqe *, const struct block_target *))
{
	struct io_uring own, *ring = t->ring ?: &own;
	struct io_uring_sqe *sqe;
	int ret;

	if (!t->ring && (ret = -io_uring_queue_init(2, &own, 0)))
		return ret;
	sqe = io_uring_get_sqe(ring);
	if (sqe) {
		prep(sqe, t);
		ret = uring_wait(ring);
	} else {
		ret = EBUSY;
	}
	if (!t->ring)
		io_uring_queue_exit(&own);
	return ret;
}

static void prep_punch(struct io_uring_sqe *sqe, const struct block_target *t)
{
	io_uring_prep_fallocate(sqe, t->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, t->len);
}

static void prep_alloc_keep(struct io_uring_sqe *sqe, const struct block_target *t)
{
	io_uring_prep_fallocate(sqe, t->fd, FALLOC_FL_KEEP_SIZE, 0, t->len);
}

static void prep_madv_remove(struct io_uring_sqe *sqe, const struct block_target *t)
{
	io_uring_prep_madvise(sqe, t->map, t->len, MADV_REMOVE);
}

int block_uring_punch(const struct block_target *t)
{
	return uring_one(t, prep_punch);
}

int block_uring_alloc_keep(const struct block_target *t)
{
	return uring_one(t, prep_alloc_keep);
}

int block_uring_madv_remove(const struct block_target *t)
{
	return uring_one(t, prep_madv_remove);
}
