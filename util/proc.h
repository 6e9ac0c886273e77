/* SPDX-License-Identifier: MIT */
/*
 * What /proc says about a process, for the library, pinls and rdmapin-guardd
 * alike: one parser for each file, so that they read it the same way.
 */
#ifndef RDMAPIN_UTIL_PROC_H
#define RDMAPIN_UTIL_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Field 22 of /proc/PID/stat (after the comm, which may hold spaces); 0 if none. */
uint64_t rdmapin_proc_start_time(pid_t pid);

/*
 * Whether @pid (0: the calling thread) may act with @cap as the kernel's
 * capable() asks: @cap in its effective set, and it lives in the initial
 * user namespace (where the set means what it says). False when /proc
 * cannot tell.
 */
bool rdmapin_proc_capable(pid_t pid, int cap);

/* Whether @pid is in group @gid: real, effective or supplementary. */
bool rdmapin_proc_in_group(pid_t pid, gid_t gid);

/* /proc/PID/comm without its newline in comm; "" if the process is gone. */
void rdmapin_proc_comm(pid_t pid, char *comm, size_t size);

/* One line of /proc/PID/maps. */
struct rdmapin_proc_map {
	uint64_t start, end;
	uint64_t offset;		/* file offset of start */
	bool readable, writable, shared;
	uint32_t dev_major, dev_minor;
	uint64_t inode;			/* 0: anonymous */
	/*
	 * Inside the parsed line: a path (a deleted file's ends in
	 * " (deleted)"), [heap], [stack]..., or "" for none.
	 */
	const char *name;
};

/*
 * Parses "start-end perms offset major:minor inode   name", where the name
 * may hold spaces, and ends the line at its newline so that map->name is a
 * string. Returns 0, or -1 with errno EINVAL when the line has another form.
 */
int rdmapin_proc_map_parse(char *line, struct rdmapin_proc_map *map);
/* Only the line's start and end: 0, or -1 with errno EINVAL. */
int rdmapin_proc_map_bounds(char *line, uint64_t *start, uint64_t *end);

/* "/proc/self/map_files/" and two addresses of 16 hex digits, a dash and a NUL. */
#define RDMAPIN_MAP_FILES_PATH_MAX 55
/* The map_files entry of the mapping [start, end), named as the kernel names it. */
void rdmapin_proc_map_files_path(char *path, uint64_t start, uint64_t end);

/* Whether @map is of a file unlinked or renamed over: its name ends in " (deleted)". */
bool rdmapin_proc_map_unlinked(const struct rdmapin_proc_map *map);

/*
 * Whether the file (@dev, @ino) that @pid (0: the caller) maps at @addr was
 * unlinked or renamed over: the kernel names its mapping "... (deleted)",
 * as lsof shows it. False when no mapping of that file covers @addr.
 */
bool rdmapin_proc_map_deleted(pid_t pid, uint64_t addr, uint64_t dev, uint64_t ino);

#endif
