/* SPDX-License-Identifier: MIT */
/*
 * librdmapin: memory registration for RDMA that is safe for files on DAX
 * filesystems. See rdmapin(7).
 */
#ifndef RDMAPIN_RDMAPIN_H
#define RDMAPIN_RDMAPIN_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the running kernel offers, as probed once per process. */
enum rdmapin_host_flags {
	/* F_SETLEASE works at all (fs.leases-enable and the probe file agree). */
	RDMAPIN_HOST_FILE_LEASES = 1 << 0,
	/* The 2019 RFC's F_LAYOUT lease flag is accepted by F_SETLEASE. */
	RDMAPIN_HOST_NATIVE_LAYOUT_LEASE = 1 << 1,
	/* The PROCMAP_QUERY ioctl on /proc/self/maps is available. */
	RDMAPIN_HOST_PROCMAP_QUERY = 1 << 2,
};

struct rdmapin_host_caps {
	uint32_t comp_mask;
	uint32_t flags;			/* enum rdmapin_host_flags */
	uint32_t lease_break_time;	/* seconds, fs.lease-break-time */
	uint32_t reserved;
	char kernel_release[65];	/* uname -r */
};

int rdmapin_query_host(struct rdmapin_host_caps *caps);

/* The message of the calling thread's last librdmapin failure: cause and remedy. */
const char *rdmapin_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* RDMAPIN_RDMAPIN_H */
