/* SPDX-License-Identifier: MIT */
/*
 * What the truncate guard's BPF program and its loader share: the layout of
 * the map of guarded inodes. The includer provides __u32 and __u64 (vmlinux.h
 * in the BPF program, <linux/types.h> in user space).
 */
#ifndef RDMAPIN_GUARD_BPF_H
#define RDMAPIN_GUARD_BPF_H

/*
 * An inode as the kernel names it: dev is the superblock's s_dev in the
 * kernel's internal encoding, (major << 20) | minor, which is not st_dev's.
 */
struct rdmapin_guard_key {
	__u32 dev;
	__u32 reserved;		/* zero: the key is hashed as bytes */
	__u64 ino;
};

struct rdmapin_guard_value {
	__u32 refs;		/* rdmapin_guard_ref() calls not yet undone */
};

#define RDMAPIN_GUARD_MAX_INODES 65536

#endif
