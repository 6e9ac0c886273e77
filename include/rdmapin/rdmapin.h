/* SPDX-License-Identifier: MIT */
/*
 * librdmapin: memory registration for RDMA that is safe for files on DAX
 * filesystems. See rdmapin(7).
 */
#ifndef RDMAPIN_RDMAPIN_H
#define RDMAPIN_RDMAPIN_H

#include <stddef.h>
#include <stdint.h>
#include <infiniband/verbs.h>

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
	/*
	 * The truncate guard (rdmapin_guard(7)) protects this process's
	 * registrations of files: truncates of them fail with ETXTBSY. Asked
	 * anew at each call: the daemon may start or stop.
	 */
	RDMAPIN_HOST_TRUNCATE_GUARD = 1 << 3,
};

/*
 * Structs that the library fills grow only at their end, and only through
 * comp_mask: the caller sets the bits of the extension fields it knows, the
 * library writes the fields of this version plus those extensions, and says
 * in comp_mask which extensions it filled. Version 1.0 has none; 1.1 extends
 * struct rdmapin_mr_attr and struct rdmapin_device_caps.
 */
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

/* What backs a registered range. */
enum rdmapin_backing {
	RDMAPIN_BACKING_ANON = 1,	/* private anonymous memory */
	RDMAPIN_BACKING_SHMEM,		/* memfd, tmpfs, shared anonymous, SysV shm */
	RDMAPIN_BACKING_HUGETLB,	/* hugetlbfs, MAP_HUGETLB, MFD_HUGETLB */
	RDMAPIN_BACKING_PAGECACHE,	/* a regular file in the page cache */
	RDMAPIN_BACKING_FSDAX,		/* a regular file on a filesystem mounted -o dax */
	RDMAPIN_BACKING_DEVDAX,		/* a device-DAX character device, /dev/daxX.Y */
};

/* How the memory was registered with the device. */
enum rdmapin_reg_mode {
	RDMAPIN_MODE_PIN = 1 << 0,	/* long-term pin, as plain ibv_reg_mr() */
	RDMAPIN_MODE_ODP = 1 << 1,	/* On-Demand Paging, IBV_ACCESS_ON_DEMAND */
};

enum rdmapin_lease_policy {
	RDMAPIN_LEASE_DEFAULT = 0,	/* REQUIRE for DAX files, IF_AVAILABLE for others */
	RDMAPIN_LEASE_REQUIRE,		/* fail unless a lease is held */
	RDMAPIN_LEASE_IF_AVAILABLE,	/* take one when the file allows it */
	RDMAPIN_LEASE_NONE,		/* never; not allowed for fsdax files */
};

/* The lease held over a registered file. */
enum rdmapin_lease_kind {
	RDMAPIN_LEASE_KIND_NONE = 0,
	RDMAPIN_LEASE_KIND_NATIVE,	/* the kernel's F_LAYOUT lease */
	RDMAPIN_LEASE_KIND_EMULATED,	/* an exclusive F_WRLCK lease */
};

/* What refuses truncates of a registered file (rdmapin_guard(7)). */
enum rdmapin_guard_kind {
	RDMAPIN_GUARD_KIND_NONE = 0,
	RDMAPIN_GUARD_KIND_DAEMON,	/* rdmapin-guardd(8) holds the entry for this process */
	RDMAPIN_GUARD_KIND_DIRECT,	/* this process edits the guard's map itself */
};

/*
 * How a file registered now would be kept whole by the truncate guard:
 * through rdmapin-guardd, directly, or not at all; @why (if not NULL) gets
 * through what, or why not. errno and rdmapin_last_error() stay as they were.
 */
enum rdmapin_guard_kind rdmapin_query_guard(char *why, size_t len);

/* What happens when another process opens or truncates a registered file. */
enum rdmapin_break_policy {
	RDMAPIN_BREAK_REVOKE = 0,	/* deregister at once, then release the lease */
	RDMAPIN_BREAK_GRACE,		/* notify, revoke after grace_ms unless deregistered */
};

struct rdmapin_async_event;
/* Runs on the library's thread, without library locks held. */
typedef void (*rdmapin_break_cb)(const struct rdmapin_async_event *event, void *ctx);

enum rdmapin_mr_init_attr_mask {
	RDMAPIN_MR_INIT_ATTR_IOVA = 1 << 0,
	RDMAPIN_MR_INIT_ATTR_FD = 1 << 1,		/* fd (and offset for the file form) */
	RDMAPIN_MR_INIT_ATTR_MODES = 1 << 2,
	RDMAPIN_MR_INIT_ATTR_LEASE = 1 << 3,
	RDMAPIN_MR_INIT_ATTR_BREAK = 1 << 4,		/* break_policy, grace_ms, break_cb */
	RDMAPIN_MR_INIT_ATTR_QUIRKS = 1 << 5,		/* allow_quirks (1.1) */
};

/*
 * Known defects of a device driver on a range of kernels that lose or
 * misplace data without an error (rdmapin_quirk_str(3)). A mode that runs
 * under one is never chosen unless the caller accepts it.
 */
enum rdmapin_quirk {
	/*
	 * rxe with On-Demand Paging, Linux 6.15 on: an RDMA WRITE that does
	 * not start at a page boundary completes successfully but lands at
	 * the wrong offset.
	 */
	RDMAPIN_QUIRK_RXE_ODP_OFFSET = 1 << 0,
};

struct rdmapin_mr_init_attr {
	uint32_t comp_mask;		/* enum rdmapin_mr_init_attr_mask */
	int access;			/* enum ibv_access_flags */
	void *addr;			/* NULL with FD: the file form maps it */
	size_t length;
	uint64_t iova;
	int fd;				/* the open file that backs addr, or the file to map */
	uint64_t offset;		/* the file form: where in fd */
	uint32_t modes;			/* allowed enum rdmapin_reg_mode; 0: any */
	enum rdmapin_lease_policy lease;
	enum rdmapin_break_policy break_policy;
	uint32_t grace_ms;
	rdmapin_break_cb break_cb;	/* runs on the library's thread */
	void *break_ctx;
	uint32_t allow_quirks;		/* enum rdmapin_quirk the caller accepts */
};

struct ibv_mr *rdmapin_reg_mr(struct ibv_pd *pd, void *addr, size_t length, int access);
struct ibv_mr *rdmapin_reg_mr_iova(struct ibv_pd *pd, void *addr, size_t length, uint64_t iova,
				   int access);
struct ibv_mr *rdmapin_reg_file_mr(struct ibv_pd *pd, int fd, uint64_t offset, size_t length,
				   int access);
struct ibv_mr *rdmapin_reg_mr_ex(struct ibv_pd *pd, const struct rdmapin_mr_init_attr *attr);
int rdmapin_dereg_mr(struct ibv_mr *mr);

/* Extensions of struct rdmapin_mr_attr, since 1.1. */
enum rdmapin_mr_attr_mask {
	RDMAPIN_MR_ATTR_QUIRKS = 1 << 0,
	RDMAPIN_MR_ATTR_FLAGS = 1 << 1,
};

enum rdmapin_mr_attr_flags {
	/* The registered file was unlinked (or renamed over): no name reaches it now */
	RDMAPIN_MR_ATTR_FILE_DELETED = 1 << 0,
};

struct rdmapin_mr_attr {
	uint32_t comp_mask;		/* in: extensions known; out: those filled */
	enum rdmapin_backing backing;
	enum rdmapin_reg_mode mode;
	enum rdmapin_lease_kind lease;
	enum rdmapin_guard_kind guard;	/* truncates of the file fail with ETXTBSY */
	int revoked;			/* the file's lease broke and the MR was deregistered */
	uint64_t dev;			/* st_dev and st_ino of the file; 0 for anonymous memory */
	uint64_t ino;
	uint64_t offset;		/* of addr in the file */
	const char *path;		/* the file; "" for anonymous memory. Valid until dereg */
	char device[IBV_SYSFS_NAME_MAX];
	uint32_t quirks;		/* enum rdmapin_quirk the MR runs under, as accepted */
	uint32_t flags;			/* enum rdmapin_mr_attr_flags */
};

int rdmapin_query_mr(struct ibv_mr *mr, struct rdmapin_mr_attr *attr);

/* What backs a range of memory, before it is registered. */
enum rdmapin_range_flags {
	RDMAPIN_RANGE_SHARED = 1 << 0,	/* a shared mapping (MAP_SHARED) */
};

struct rdmapin_range_attr {
	uint32_t comp_mask;
	enum rdmapin_backing backing;
	uint32_t flags;			/* enum rdmapin_range_flags */
	uint32_t reserved;
	uint64_t dev;			/* st_dev and st_ino of the file; 0 for anonymous memory */
	uint64_t ino;
	uint64_t offset;		/* of addr in the file */
	const char *path;		/* the file; "" for anonymous memory. Valid until the
					 * calling thread's next rdmapin_query_range() */
};

int rdmapin_query_range(const void *addr, size_t length, struct rdmapin_range_attr *attr);

/*
 * After a truncate of the file open at @fd failed with ETXTBSY: 0 when
 * librdmapin knows why, and rdmapin_last_error() says who holds the file
 * registered and what to do; -1 with errno ENOENT when it knows no reason.
 */
int rdmapin_explain_busy(int fd);

enum rdmapin_device_flags {
	/* RC On-Demand Paging with send, receive, RDMA write and read. */
	RDMAPIN_DEVICE_RC_ODP = 1 << 0,
	RDMAPIN_DEVICE_RC_ODP_ATOMIC = 1 << 1,
	RDMAPIN_DEVICE_IMPLICIT_ODP = 1 << 2,
};

/* Extensions of struct rdmapin_device_caps, since 1.1. */
enum rdmapin_device_caps_mask {
	RDMAPIN_DEVICE_CAPS_QUIRKS = 1 << 0,
};

struct rdmapin_device_caps {
	uint32_t comp_mask;		/* in: extensions known; out: those filled */
	uint32_t flags;			/* enum rdmapin_device_flags */
	uint32_t rc_odp_caps;		/* enum ibv_odp_transport_cap_bits, as reported */
	uint32_t reserved;
	uint32_t quirks;		/* enum rdmapin_quirk of this device on this kernel */
};

int rdmapin_query_device(struct ibv_context *context, struct rdmapin_device_caps *caps);

/* Asynchronous events, modelled on ibv_get_async_event(): per device context. */
enum rdmapin_event_type {
	RDMAPIN_EVENT_LEASE_BREAKING = 1,	/* grace period started; deregister now */
	RDMAPIN_EVENT_MR_REVOKED,		/* the MR was deregistered by the library */
};

struct rdmapin_async_event {
	enum rdmapin_event_type type;
	struct ibv_mr *mr;		/* identifies the MR; after a revoke do not dereference */
	uint64_t dev;			/* the leased file: st_dev, st_ino */
	uint64_t ino;
	const char *path;		/* valid until the event is acked (callbacks: returns) */
};

/* The events of the MRs registered with a PD of @context. */
int rdmapin_get_async_fd(struct ibv_context *context);
int rdmapin_get_async_event(struct ibv_context *context, struct rdmapin_async_event *event);
void rdmapin_ack_async_event(struct rdmapin_async_event *event);

/* Names of the enums above ("fsdax", "odp", "emulated", ...); "unknown" out of range. */
const char *rdmapin_backing_str(enum rdmapin_backing backing);
const char *rdmapin_reg_mode_str(enum rdmapin_reg_mode mode);
const char *rdmapin_lease_kind_str(enum rdmapin_lease_kind kind);
const char *rdmapin_guard_kind_str(enum rdmapin_guard_kind kind);
const char *rdmapin_event_type_str(enum rdmapin_event_type type);
/* One quirk's name, as RDMAPIN_ALLOW_QUIRKS takes it: "rxe-odp-offset" (1.1). */
const char *rdmapin_quirk_str(enum rdmapin_quirk quirk);

#ifdef __cplusplus
}
#endif

#endif /* RDMAPIN_RDMAPIN_H */
