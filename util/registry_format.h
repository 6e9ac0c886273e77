/* SPDX-License-Identifier: MIT */
/*
 * The pin registry's format: each process that uses librdmapin publishes its
 * live registrations in a file of its own, so that pinls can list who pins
 * which file. Layout of the runtime directory (RDMAPIN_RUNTIME_DIR, default
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
 * odd, read it mid-update and reads again. One copy cannot show a slot
 * whole, since the kernel's copy of a pread loads it in any order: a copy is
 * whole when the copies read before and after it have its counts, even. The
 * owner holds an OFD write lock on the whole file for its lifetime; a file
 * without that lock, or whose PID no longer has that start time, belongs to
 * a dead process and is stale.
 *
 * The writer is in the library (librdmapin/registry.c), the reader in util/
 * (registry_read.c): they share nothing but this file.
 */
#ifndef RDMAPIN_REGISTRY_FORMAT_H
#define RDMAPIN_REGISTRY_FORMAT_H

#include <stdint.h>
#include <stdlib.h>

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
	uint32_t quirks;		/* enum rdmapin_quirk it runs under; 0 before 1.1 */
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

/* The registry directory: RDMAPIN_RUNTIME_DIR or the default. */
static inline const char *rdmapin_registry_dir(void)
{
	const char *d = getenv("RDMAPIN_RUNTIME_DIR");

	return d && *d ? d : RDMAPIN_REGISTRY_DEFAULT_DIR;
}

#endif
