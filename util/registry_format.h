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
 * A record file is a header and groups of RDMAPIN_REGISTRY_GROUP slots,
 * written in place through a shared mapping; the file grows a group at a
 * time. A group holds its slots' sequence counts, then the slots, then one
 * path cell per slot for paths too long for the slot itself: a reader copies
 * the counts twice and the slots once, and a path cell only where it is
 * used, so that listing costs about what is listed (version 1 kept a whole
 * path in every slot and its counts inside it, and the three copies a read
 * takes were 3.5 KiB a slot).
 *
 * Each slot is guarded by its counts (a seqlock): a writer makes them odd
 * before it changes the slot and even after. One copy cannot show a slot
 * whole, since the kernel's copy of a pread loads it in any order: a copy is
 * whole when the copies of the counts read before and after it agree and
 * are even. The owner holds an OFD write lock on the whole file for its
 * lifetime; a file without that lock, or whose PID no longer has that start
 * time, belongs to a dead process and is stale.
 *
 * The writer is in the library (librdmapin/registry.c), the reader in util/
 * (registry_read.c): they share nothing but this file.
 */
#ifndef RDMAPIN_REGISTRY_FORMAT_H
#define RDMAPIN_REGISTRY_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define RDMAPIN_REGISTRY_MAGIC 0x4e495052u	/* "RPIN" */
#define RDMAPIN_REGISTRY_VERSION 2
#define RDMAPIN_REGISTRY_GROUP 64		/* slots per group */
#define RDMAPIN_REGISTRY_PATH_SIZE 1024		/* a path's bytes, its NUL included */
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
	uint32_t nslots;		/* a multiple of RDMAPIN_REGISTRY_GROUP; it grows */
	int32_t pid;
	uint32_t uid;
	uint32_t reserved;
	uint64_t start_time;		/* clock ticks after boot, /proc/PID/stat */
	char comm[16];
};

/* A pin, as the writer publishes it and a reader lists it. */
struct rdmapin_registry_pin {
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
	char path[RDMAPIN_REGISTRY_PATH_SIZE];	/* longer ones end in "..." */
};

/* The bytes of a pin before its path, which every slot holds as they are. */
#define RDMAPIN_REGISTRY_PIN_HEAD offsetof(struct rdmapin_registry_pin, path)

/* A slot's sequence counts: end changes first, begin last. */
struct rdmapin_registry_seq {
	uint64_t begin;
	uint64_t end;
};

struct rdmapin_registry_slot {
	unsigned char head[RDMAPIN_REGISTRY_PIN_HEAD];	/* struct rdmapin_registry_pin's */
	uint32_t path_len;		/* the path's length, without its NUL */
	uint32_t reserved;
	/* The path, if it is shorter than this; else it is in the slot's path cell. */
	char path[104];
};

struct rdmapin_registry_group {
	struct rdmapin_registry_seq seq[RDMAPIN_REGISTRY_GROUP];
	struct rdmapin_registry_slot slot[RDMAPIN_REGISTRY_GROUP];
	char cell[RDMAPIN_REGISTRY_GROUP][RDMAPIN_REGISTRY_PATH_SIZE];
};

/*
 * Version 1, which readers still list (a process keeps the library it
 * started with across an upgrade): the slots follow the header one after
 * another, each with its counts at its ends and a whole path.
 */
struct rdmapin_registry_slot_v1 {
	uint64_t seq_begin;
	unsigned char head[RDMAPIN_REGISTRY_PIN_HEAD];
	char path[RDMAPIN_REGISTRY_PATH_SIZE];
	uint64_t seq_end;
};

_Static_assert(sizeof(struct rdmapin_registry_slot) == 256, "a slot is four cache lines");
_Static_assert(sizeof(struct rdmapin_registry_slot_v1) == 1184, "version 1's slot");

/* The registry directory: RDMAPIN_RUNTIME_DIR or the default. */
static inline const char *rdmapin_registry_dir(void)
{
	const char *d = getenv("RDMAPIN_RUNTIME_DIR");

	return d && *d ? d : RDMAPIN_REGISTRY_DEFAULT_DIR;
}

#endif
