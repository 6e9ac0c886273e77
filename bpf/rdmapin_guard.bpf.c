// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * The truncate guard: refuses, with ETXTBSY and for every process, any change
 * of size of an inode in guarded_inodes, which librdmapin fills with the
 * files it pins (see rdmapin_guard(7)). Built once with CO-RE; the loader
 * (librdmapin/guard.c) picks the programs the running kernel has hooks for.
 *
 * Covered, by hook:
 * - path_truncate: truncate(2); on 6.1 also ftruncate(2) and open(O_TRUNC).
 * - file_truncate (kernels from 6.2; 7.x here): ftruncate(2), open(O_TRUNC)
 *   and io_uring's IORING_OP_FTRUNCATE, which all go through do_ftruncate()
 *   or handle_truncate() there.
 * - inode_setattr with ATTR_SIZE: every size change that goes through
 *   notify_change(): the ones above, and those made inside the kernel
 *   without a path or file hook (nfsd, overlayfs on its upper file). The
 *   truncate-specific hooks refuse earlier, before the truncate starts.
 *
 * Not covered: fallocate(2) (FALLOC_FL_PUNCH_HOLE, COLLAPSE_RANGE,
 * ZERO_RANGE, INSERT_RANGE) reaches the filesystem with no LSM hook but the
 * generic file_permission(MAY_WRITE), which cannot tell it from a write;
 * neither do clone/dedupe remaps (FICLONE) and filesystem ioctls that move
 * extents. The key is the superblock's dev, which is st_dev on ext4 and xfs
 * but not on btrfs subvolumes or overlayfs, whose files are guarded only
 * through their real inode.
 */
#include "vmlinux.h"
#include <asm-generic/errno-base.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "rdmapin_guard.h"

/* From include/linux/fs.h, which is not uapi, so vmlinux.h lacks it. */
#define ATTR_SIZE (1 << 3)

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Not preallocated: the guard costs memory only for what is pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RDMAPIN_GUARD_MAX_INODES);
	__type(key, struct rdmapin_guard_key);
	__type(value, struct rdmapin_guard_value);
} guarded_inodes SEC(".maps");

static __always_inline int guard(const struct inode *inode)
{
	struct rdmapin_guard_key key = {
		.dev = inode->i_sb->s_dev,
		.ino = inode->i_ino,
	};

	return bpf_map_lookup_elem(&guarded_inodes, &key) ? -ETXTBSY : 0;
}

/* A negative dentry has no inode; the 7.x verifier insists on the check. */
static __always_inline int guard_dentry(const struct dentry *dentry)
{
	const struct inode *inode = dentry->d_inode;

	return inode ? guard(inode) : 0;
}

static __always_inline int guard_setattr(const struct dentry *dentry, const struct iattr *attr)
{
	return attr->ia_valid & ATTR_SIZE ? guard_dentry(dentry) : 0;
}

/* @ret: an earlier LSM program's verdict, which a refusal must not override. */
SEC("lsm/path_truncate")
int BPF_PROG(guard_path_truncate, const struct path *path, int ret)
{
	return ret ?: guard_dentry(path->dentry);
}

SEC("lsm/file_truncate")
int BPF_PROG(guard_file_truncate, struct file *file, int ret)
{
	return ret ?: guard(file->f_inode);
}

/* inode_setattr as 6.1 declares it. */
SEC("lsm/inode_setattr")
int BPF_PROG(guard_setattr_dentry, struct dentry *dentry, struct iattr *attr, int ret)
{
	return ret ?: guard_setattr(dentry, attr);
}

/* Later kernels pass the mount's idmap first; a 6.1 vmlinux.h lacks its type. */
struct mnt_idmap;

SEC("lsm/inode_setattr")
int BPF_PROG(guard_setattr_idmap, struct mnt_idmap *idmap, struct dentry *dentry,
	     struct iattr *attr, int ret)
{
	return ret ?: guard_setattr(dentry, attr);
}
