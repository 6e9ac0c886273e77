// SPDX-License-Identifier: MIT
/*
 * Edits the truncate guard's map of guarded inodes. The instance lives in
 * bpffs, not in this process: each call opens the pins afresh and holds a
 * flock on their directory, which orders the map's read-modify-write
 * refcounts between threads and processes alike, and leaves nothing behind
 * that could go stale when the guard is unloaded (rm -r RDMAPIN_GUARD_DIR).
 * The library links this, so it speaks bpf(2) itself: libbpf, and the
 * loader, are rdmapin-guardd's alone.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/magic.h>

#include "error.h"
#include "guard_map.h"

/* MKDEV() in include/linux/kdev_t.h: the kernel's dev_t, unlike st_dev. */
#define KERNEL_MINORBITS 20

/* The kernel reads attr up to sizeof(attr), and wants unused fields zero. */
static int sys_bpf(enum bpf_cmd cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* A pinned object's fd; the kernel makes it close-on-exec. */
static int obj_get(const char *path)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.pathname = (uintptr_t)path;
	return sys_bpf(BPF_OBJ_GET, &attr);
}

/* BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM (with @flags) or BPF_MAP_DELETE_ELEM. */
static int map_elem(enum bpf_cmd cmd, int map, const struct rdmapin_guard_key *key,
		    struct rdmapin_guard_value *val, __u64 flags)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = map;
	attr.key = (uintptr_t)key;
	attr.value = (uintptr_t)val;
	attr.flags = flags;
	return sys_bpf(cmd, &attr);
}

/* Closes @fd, keeping errno: the caller's error stays the one reported. */
static void close_keep_errno(int fd)
{
	int err = errno;

	close(fd);
	errno = err;
}

static int not_loaded(const char *who)
{
	return rdmapin_fail(ENOENT, "%s: the truncate guard is not loaded (no %s); (re)start "
			    "rdmapin-guardd, which loads it", who, RDMAPIN_GUARD_MAP);
}

int rdmapin_guard_map_open(const char *who)
{
	int fd = obj_get(RDMAPIN_GUARD_MAP);

	if (fd >= 0 || errno == ENOENT)
		return fd;
	return rdmapin_fail(errno == EACCES ? EPERM : errno,
			    "%s: cannot open the truncate guard's map %s: %s; the guard is "
			    "root-only", who, RDMAPIN_GUARD_MAP, strerror(errno));
}

/*
 * Anyone who can open the map's pin can lift guards or freeze files that are
 * not theirs, so a directory open to others is refused.
 */
int rdmapin_guard_lock_dir(const char *who, bool create)
{
	struct stat st;
	int dirfd, err;

	if (create && mkdir(RDMAPIN_GUARD_DIR, 0700) && errno != EEXIST)
		return rdmapin_fail(errno, "%s: cannot create %s: %s", who, RDMAPIN_GUARD_DIR,
				    strerror(errno));
	dirfd = open(RDMAPIN_GUARD_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 && errno == ENOENT)
		return not_loaded(who);
	if (dirfd < 0)
		return rdmapin_fail(errno == EACCES ? EPERM : errno,
				    "%s: cannot open %s: %s; the guard is root-only", who,
				    RDMAPIN_GUARD_DIR, strerror(errno));
	if (fstat(dirfd, &st) || flock(dirfd, LOCK_EX)) {
		err = errno;
		close(dirfd);
		return rdmapin_fail(err, "%s: cannot lock %s: %s", who, RDMAPIN_GUARD_DIR,
				    strerror(err));
	}
	if (st.st_uid || st.st_mode & 077) {
		close(dirfd);
		return rdmapin_fail(EPERM, "%s: %s must be root's and closed to others (owner "
				    "%u, mode %03o): remove it and load the guard again", who,
				    RDMAPIN_GUARD_DIR, st.st_uid, st.st_mode & 0777);
	}
	return dirfd;
}

void rdmapin_guard_key_init(struct rdmapin_guard_key *key, dev_t dev, ino_t ino)
{
	*key = (struct rdmapin_guard_key){
		.dev = major(dev) << KERNEL_MINORBITS | minor(dev),
		.ino = ino,
	};
}

int rdmapin_guard_fs_check(const struct statfs *fs, const char *who)
{
	switch (fs->f_type) {
	case EXT4_SUPER_MAGIC:	/* ext2 and ext3 too */
	case XFS_SUPER_MAGIC:
	case TMPFS_MAGIC:
		return 0;
	}
	return rdmapin_fail(EOPNOTSUPP, "%s: the truncate guard cannot see files on this "
			    "filesystem (f_type 0x%lx): it guards only ext4, xfs and tmpfs, where "
			    "st_dev names the inode as the kernel does (on overlayfs and btrfs it "
			    "does not); a lease protects such a file instead", who,
			    (unsigned long)fs->f_type);
}

int rdmapin_guard_key_statx(int fd, unsigned int mask, struct rdmapin_guard_key *key,
			    struct statx *stx, const char *who)
{
	struct statfs fs;

	if (statx(fd, "", AT_EMPTY_PATH, mask | STATX_TYPE | STATX_INO, stx))
		return rdmapin_fail(errno, "%s: fd %d: %s; pass the open file to guard", who, fd,
				    strerror(errno));
	if (!S_ISREG(stx->stx_mode))
		return rdmapin_fail(EINVAL, "%s: fd %d is not a regular file; only those can be "
				    "truncated", who, fd);
	if (fstatfs(fd, &fs))
		return rdmapin_fail(errno, "%s: fd %d: fstatfs: %s", who, fd, strerror(errno));
	if (rdmapin_guard_fs_check(&fs, who))
		return -1;
	rdmapin_guard_key_init(key, makedev(stx->stx_dev_major, stx->stx_dev_minor), stx->stx_ino);
	return 0;
}

int rdmapin_guard_key_of(int fd, struct rdmapin_guard_key *key, const char *who)
{
	struct statx stx;

	return rdmapin_guard_key_statx(fd, 0, key, &stx, who);
}

int rdmapin_guard_may_freeze(uid_t fsuid, bool cap_lease, uid_t owner, const char *who)
{
	if (fsuid == owner || cap_lease)
		return 0;
	return rdmapin_fail(EACCES,
			    "%s: uid %u may not have the truncate guard freeze a file of uid %u: "
			    "as for a lease (F_SETLEASE), only the file's owner or a process with "
			    "CAP_LEASE may; register it as its owner, or have root allow it in "
			    "rdmapin-guardd's config (rdmapin-guardd(8))",
			    who, fsuid, owner);
}

int rdmapin_guard_holds(const struct rdmapin_guard_key *key)
{
	struct rdmapin_guard_value val;
	int fd = obj_get(RDMAPIN_GUARD_MAP), ret;

	if (fd < 0)
		return -1;
	ret = map_elem(BPF_MAP_LOOKUP_ELEM, fd, key, &val, 0) ? (errno == ENOENT ? 0 : -1) : 1;
	close(fd);
	return ret;
}

bool rdmapin_guard_writable(void)
{
	int fd = obj_get(RDMAPIN_GUARD_MAP);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

int rdmapin_guard_map_lock(const char *who, int *dirfd, struct stat *pin)
{
	int map;

	*dirfd = rdmapin_guard_lock_dir(who, false);
	if (*dirfd < 0)
		return -1;
	/* Before the map: a pin that changes after it is never taken for the one opened. */
	if (pin && fstatat(*dirfd, RDMAPIN_GUARD_MAP_NAME, pin, 0)) {
		map = errno == ENOENT ? not_loaded(who) :
					rdmapin_fail(errno, "%s: %s: %s", who, RDMAPIN_GUARD_MAP,
						     strerror(errno));
	} else {
		map = rdmapin_guard_map_open(who);
		if (map < 0 && errno == ENOENT)
			not_loaded(who);
	}
	if (map < 0)
		close_keep_errno(*dirfd);
	return map;
}

int rdmapin_guard_map_ref(int map, const struct rdmapin_guard_key *key, const char *who)
{
	struct rdmapin_guard_value val = { .refs = 1 };

	/* Most files are guarded once: only a file guarded already is read first. */
	if (!map_elem(BPF_MAP_UPDATE_ELEM, map, key, &val, BPF_NOEXIST))
		return 0;
	if (errno == EEXIST && !map_elem(BPF_MAP_LOOKUP_ELEM, map, key, &val, 0)) {
		val.refs++;
		if (!map_elem(BPF_MAP_UPDATE_ELEM, map, key, &val, BPF_EXIST))
			return 0;
	}
	if (errno == E2BIG)
		return rdmapin_fail(ENOSPC, "%s: the truncate guard holds its limit of %d files",
				    who, RDMAPIN_GUARD_MAX_INODES);
	return rdmapin_fail(errno, "%s: cannot update the truncate guard's map: %s", who,
			    strerror(errno));
}

int rdmapin_guard_map_unref(int map, const struct rdmapin_guard_key *key, const char *who)
{
	struct rdmapin_guard_value val;

	if (map_elem(BPF_MAP_LOOKUP_ELEM, map, key, &val, 0))
		return errno == ENOENT ?
			rdmapin_fail(ENOENT, "%s: the file (inode %llu) is not guarded; each unref "
				     "undoes one ref", who, (unsigned long long)key->ino) :
			rdmapin_fail(errno, "%s: cannot read the truncate guard's map: %s", who,
				     strerror(errno));
	if (--val.refs ? map_elem(BPF_MAP_UPDATE_ELEM, map, key, &val, BPF_EXIST) :
			 map_elem(BPF_MAP_DELETE_ELEM, map, key, NULL, 0))
		return rdmapin_fail(errno, "%s: cannot update the truncate guard's map: %s", who,
				    strerror(errno));
	return 0;
}

/* @edit on @key in the pinned map, which is opened and locked for it alone. */
static int edit_once(const struct rdmapin_guard_key *key, const char *who,
		     int (*edit)(int, const struct rdmapin_guard_key *, const char *))
{
	int map, dirfd, ret;

	map = rdmapin_guard_map_lock(who, &dirfd, NULL);
	if (map < 0)
		return -1;
	ret = edit(map, key, who);
	close_keep_errno(map);
	close_keep_errno(dirfd);
	return ret;
}

int rdmapin_guard_ref(const struct rdmapin_guard_key *key, const char *who)
{
	return edit_once(key, who, rdmapin_guard_map_ref);
}

int rdmapin_guard_unref(const struct rdmapin_guard_key *key, const char *who)
{
	return edit_once(key, who, rdmapin_guard_map_unref);
}
