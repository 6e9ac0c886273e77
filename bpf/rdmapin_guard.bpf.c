// SPDX-License-Identifier: MIT OR GPL-2.0
/*
 * The truncate guard: refuses, with ETXTBSY and for every process, any change
 * of size of an inode in guarded_inodes, and any operation that frees or
 * moves its blocks; librdmapin fills the map with the files it pins (see
 * rdmapin_guard(7)). Built once with CO-RE; the loader
 * (tools/guardd/guard_load.c) picks the programs the running kernel has hooks
 * for.
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
 * - file_permission with MAY_WRITE: vfs_fallocate() and remap_verify_area()
 *   ask it on the caller's own thread, an io-wq worker's for io_uring. There
 *   is no hook of their own, so the program tells them from a write by what
 *   the thread is doing (frees_blocks()). It cannot be skipped: the kernel's
 *   recursion check, which drops fentry/fexit runs re-entered on a preempted
 *   CPU, does not apply to LSM programs.
 *
 * Not covered: kernel threads (nfsd, ksmbd, loop's discard, which calls
 * ->fallocate() itself) and ioctls that move extents without asking
 * file_permission (ext4's EXT4_IOC_MOVE_EXT). The key is the superblock's
 * dev, which is st_dev on ext4 and xfs but not on btrfs subvolumes or
 * overlayfs; the daemon and the library guard only filesystems where they
 * match (rdmapin_guard_key_of()). The syscall table read is x86-64's.
 */
#include "vmlinux.h"
#include <asm-generic/errno-base.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "rdmapin_guard.h"

/* From include/linux/fs.h, which is not uapi, so vmlinux.h lacks it. */
#define ATTR_SIZE (1 << 3)
#define MAY_WRITE 0x2

/* include/linux/sched.h and arch/x86/include/asm/thread_info.h. */
#define PF_IO_WORKER 0x00000010
#define PF_KTHREAD 0x00200000
#define TS_COMPAT 0x0002

/* uapi, which vmlinux.h lacks: linux/falloc.h, asm-generic/mman-common.h. */
#define FALLOC_FL_KEEP_SIZE 0x01
#define FALLOC_FL_UNSHARE_RANGE 0x40
#define MADV_REMOVE 9

/* The x86 syscall numbers (arch/x86/entry/syscalls) of the calls that may remap. */
#define X32_SYSCALL_BIT 0x40000000
#define NR_ioctl 16
#define NR_madvise 28
#define NR_fallocate 285
#define NR_copy_file_range 326
#define NR_x32_ioctl 514
#define NR_ia32_ioctl 54
#define NR_ia32_madvise 219
#define NR_ia32_fallocate 324
#define NR_ia32_copy_file_range 377

char LICENSE[] SEC("license") = "Dual MIT/GPL";

/* Not preallocated: the guard costs memory only for what is pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, RDMAPIN_GUARD_MAX_INODES);
	__type(key, struct rdmapin_guard_key);
	__type(value, struct rdmapin_guard_value);
} guarded_inodes SEC(".maps");

static __always_inline bool guarded(const struct inode *inode)
{
	struct rdmapin_guard_key key = {
		.dev = inode->i_sb->s_dev,
		.ino = inode->i_ino,
	};

	return bpf_map_lookup_elem(&guarded_inodes, &key);
}

static __always_inline int guard(const struct inode *inode)
{
	return guarded(inode) ? -ETXTBSY : 0;
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

/* Only these fallocate() modes keep every block that is in place. */
static __always_inline bool mode_frees(long mode)
{
	return mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_UNSHARE_RANGE);
}

/*
 * The request an io-wq worker runs, which io_uring's fallocate and madvise
 * always are: both ops force themselves off the submitting thread.
 * worker->cur_work is the worker's own, so stable while it runs the request.
 */
static __always_inline bool io_work_frees(const struct task_struct *task)
{
	struct io_worker *worker = task->worker_private;
	struct io_wq_work *work = BPF_CORE_READ(worker, cur_work);
	struct io_kiocb *req;

	/* A worker writes only for a request: none is a state not understood. */
	if (!work)
		return true;
	req = (void *)work - bpf_core_field_offset(struct io_kiocb, work);
	switch (BPF_CORE_READ(req, opcode)) {
	case IORING_OP_FALLOCATE:
		return mode_frees(BPF_CORE_READ((struct io_sync *)&req->cmd, mode));
	case IORING_OP_MADVISE:
		return BPF_CORE_READ((struct io_madvise *)&req->cmd, advice) == MADV_REMOVE;
	}
	return false;
}

/*
 * The syscall a user thread is in, as its saved registers say. Every ioctl
 * that asks to write a file is a remap (FICLONE, FICLONERANGE, FIDEDUPERANGE,
 * XFS_IOC_EXCHANGE_RANGE); copy_file_range() may remap whenever the kernel
 * finds it can, so it is refused outright rather than guessed.
 */
static __always_inline bool syscall_frees(struct task_struct *task)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	long nr = BPF_CORE_READ(regs, orig_ax);

	if (BPF_CORE_READ(task, thread_info.status) & TS_COMPAT) {
		switch (nr) {
		case NR_ia32_fallocate:
			return mode_frees(BPF_CORE_READ(regs, cx));
		case NR_ia32_madvise:
			return BPF_CORE_READ(regs, dx) == MADV_REMOVE;
		case NR_ia32_ioctl:
		case NR_ia32_copy_file_range:
			return true;
		}
		return false;
	}
	switch (nr & ~X32_SYSCALL_BIT) {
	case NR_fallocate:
		return mode_frees(BPF_CORE_READ(regs, si));
	case NR_madvise:
		return BPF_CORE_READ(regs, dx) == MADV_REMOVE;
	case NR_ioctl:
	case NR_x32_ioctl:
	case NR_copy_file_range:
		return true;
	}
	return false;
}

/*
 * Kernel threads have no syscall to read, and write files for others (nfsd,
 * ksmbd): they are let through, as rdmapin_guard(7) says.
 */
static __always_inline bool frees_blocks(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	unsigned int flags = task->flags;

	if (flags & PF_KTHREAD)
		return false;
	if (flags & PF_IO_WORKER && task->worker_private)
		return io_work_frees(task);
	return syscall_frees(task);
}

/*
 * Every read and write asks this hook: the mask and the map lookup come
 * first, so unrelated I/O pays for those two alone.
 */
SEC("lsm/file_permission")
int BPF_PROG(guard_file_permission, struct file *file, int mask, int ret)
{
	if (ret || !(mask & MAY_WRITE) || !guarded(file->f_inode))
		return ret;
	return frees_blocks() ? -ETXTBSY : 0;
}
