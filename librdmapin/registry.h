/* SPDX-License-Identifier: MIT */
/*
 * The pin registry: each process that uses librdmapin publishes its live
 * registrations in a file of its own, so that pinls can list who pins which
 * file. Layout of the runtime directory (RDMAPIN_RUNTIME_DIR, default
 * /run/rdmapin):
 *
 *	DIR/			mode 1777, sticky, like /tmp
 *	DIR/uid-UID/		mode 0700, owned by UID
 *	DIR/uid-UID/PID-START	mode 0600: one process (START: its start time
 *				in clock ticks, /proc/PID/stat field 22)
 *
 * A record file is a header and an array of fixed-size slots, written in
 * place through a shared mapping. Each slot is guarded by a sequence count
 * at its start and its end (a seqlock): a reader that sees them differ, or
 * odd, read it mid-update and reads again. The owner holds an OFD write lock
 * on the whole file for its lifetime; a file without that lock, or whose PID
 * no longer has that start time, belongs to a dead process and is stale.
 */
#ifndef RDMAPIN_REGISTRY_H
#define RDMAPIN_REGISTRY_H

#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

#define RDMAPIN_REGISTRY_MAGIC 0x4e495052u	/* "RPIN" */
#define RDMAPIN_REGISTRY_VERSION 1
#define RDMAPIN_REGISTRY_DEFAULT_DIR "/run/rdmapin"

enum rdmapin_pin_state {
	RDMAPIN_PIN_FREE = 0,
	RDMAPIN_PIN_ACTIVE,
	RDMAPIN_PIN_REVOKED,
};

struct rdmapin_registry_header {
	uint32_t magic;
	uint32_t version;
	uint32_t header_size;
	uint32_t slot_size;
	uint32_t nslots;		/* slots that follow; the file may grow */
	int32_t pid;
	uint32_t uid;
	uint32_t reserved;
	uint64_t start_time;		/* clock ticks after boot, /proc/PID/stat */
	char comm[16];
};

struct rdmapin_registry_slot {
	uint64_t seq_begin;
	uint32_t state;			/* enum rdmapin_pin_state */
	uint32_t backing;		/* enum rdmapin_backing */
	uint32_t mode;			/* enum rdmapin_reg_mode */
	uint32_t lease;			/* enum rdmapin_lease_kind */
	uint32_t guard;			/* enum rdmapin_guard_kind */
	uint32_t lkey;
	uint32_t rkey;
	uint32_t reserved;
	uint64_t dev;			/* st_dev of the file, 0 for anonymous */
	uint64_t ino;
	uint64_t offset;
	uint64_t length;
	uint64_t addr;
	int64_t registered_ns;		/* CLOCK_REALTIME */
	char device[64];
	char path[1024];
	uint64_t seq_end;
};

/* One live pin, as a reader sees it. */
struct rdmapin_pin_record {
	pid_t pid;
	uid_t uid;
	uint64_t start_time;
	char comm[16];
	struct rdmapin_registry_slot slot;	/* seq fields are meaningless here */
};

/* The registry directory: RDMAPIN_RUNTIME_DIR or the default. */
const char *rdmapin_registry_dir(void);

/* Writer side, in the library, under rdmapin_lock(). */
struct rdmapin_mr;
void rdmapin_registry_add(struct rdmapin_mr *mr);
void rdmapin_registry_update(struct rdmapin_mr *mr);
void rdmapin_registry_del(struct rdmapin_mr *mr);
/* In a forked child: the parent's record is not ours. */
void rdmapin_registry_forget(void);

/*
 * Reader side, for pinls: calls fn for every live pin in the record files
 * under dir that the caller may read (root: all users; others: their own).
 * Stale files of dead processes are removed when the caller may. warn gets
 * one line per file that is skipped (corrupt, truncated, foreign owner...).
 * Returns 0, or -1 if dir itself cannot be read (ENOENT: no registry).
 */
typedef int (*rdmapin_pin_fn)(const struct rdmapin_pin_record *rec, void *ctx);
typedef void (*rdmapin_warn_fn)(const char *msg, void *ctx);
int rdmapin_registry_scan(const char *dir, rdmapin_pin_fn fn, rdmapin_warn_fn warn, void *ctx);

#endif
