// SPDX-License-Identifier: MIT
/*
 * util/proc.c, natively: the /proc/PID/maps line parser that the library's
 * fallback walk and pinls share, on the lines that trip parsers up (names
 * with spaces, deleted files, pseudo names, no name at all), and the start
 * time and command name of a process.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "array.h"
#include "check.h"
#include "proc.h"

/* A pid that no process has: above the kernel's PID_MAX_LIMIT. */
#define NO_PID 0x7fffffff

static void check_line(const char *text, const char *name, uint64_t start, uint64_t end,
		       bool shared)
{
	struct rdmapin_proc_map map;
	char line[256];
	int ret;

	snprintf(line, sizeof(line), "%s", text);
	ret = rdmapin_proc_map_parse(line, &map);
	check(!ret && !strcmp(map.name, name) && map.start == start && map.end == end &&
		      map.shared == shared,
	      "'%.40s...' names '%s' (got %d, '%s')", text, name, ret, ret ? "" : map.name);
}

static void check_fields(void)
{
	struct rdmapin_proc_map map;
	char line[] = "7f1c2a400000-7f1c2a600000 r-xs 0001f000 103:0a 1234567   /mnt/pmem/a\n";

	check(!rdmapin_proc_map_parse(line, &map) && map.offset == 0x1f000 &&
		      map.dev_major == 0x103 && map.dev_minor == 0xa && map.inode == 1234567 &&
		      map.readable && !map.writable && map.shared,
	      "offset, device (hex), inode and permissions are read");
}

static void check_malformed(void)
{
	static const char *const bad[] = {
		"",
		"\n",
		"hello world\n",
		"7f1c2a400000-7f1c2a600000 rw-p\n",
		"7f1c2a400000-7f1c2a600000 rw-p 00000000 fd:01\n",
		"7f1c2a400000 rw-p 00000000 fd:01 12 /x\n",
		/* What sscanf() let through: prefixes, signs, overflow, a glued name. */
		"0x7f1c2a400000-7f1c2a600000 rw-p 00000000 fd:01 12 /x\n",
		"7f1c2a400000-7f1c2a600000 rw-p -0000001 fd:01 12 /x\n",
		"10000000000000000-7f1c2a600000 rw-p 00000000 fd:01 12 /x\n",
		"7f1c2a400000-7f1c2a600000 rw-p 00000000 100000000:01 12 /x\n",
		"7f1c2a400000-7f1c2a600000 rw-p 00000000 fd:01 12/x\n",
		"7f1c2a400000-7f1c2a600000 rw- 00000000 fd:01 12 /x\n",
	};
	struct rdmapin_proc_map map;
	char line[128];
	size_t i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		snprintf(line, sizeof(line), "%s", bad[i]);
		errno = 0;
		ret = rdmapin_proc_map_parse(line, &map);
		check(ret == -1 && errno == EINVAL, "malformed line %zu is refused with EINVAL", i);
	}
}

/* What the parser read of @line equals what sscanf() reads of it. */
static bool same_as_scanf(const char *line, const struct rdmapin_proc_map *map)
{
	uint64_t start, end, offset, inode;
	uint32_t major, minor;
	char perms[5] = "";
	int at = 0;

	return sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %" SCNx32 ":%" SCNx32
			    " %" SCNu64 " %n", &start, &end, perms, &offset, &major, &minor,
		      &inode, &at) == 7 && at && start == map->start && end == map->end &&
	       offset == map->offset && major == map->dev_major && minor == map->dev_minor &&
	       inode == map->inode && map->readable == (perms[0] == 'r') &&
	       map->writable == (perms[1] == 'w') && map->shared == (perms[3] == 's') &&
	       !strncmp(line + at, map->name, strlen(map->name));
}

/*
 * Every line of our own maps parses, as sscanf() reads it, and the stack is
 * among them.
 */
static void check_self(void)
{
	struct rdmapin_proc_map map;
	FILE *f = fopen("/proc/self/maps", "re");
	int lines = 0, bad = 0, stack = 0;
	char *line = NULL, copy[4096];
	size_t size = 0;

	while (f && getline(&line, &size, f) > 0) {
		lines++;
		snprintf(copy, sizeof(copy), "%s", line);
		if (rdmapin_proc_map_parse(line, &map) || !same_as_scanf(copy, &map))
			bad++;
		else
			stack += !strcmp(map.name, "[stack]");
	}
	free(line);
	if (f)
		fclose(f);
	check(lines > 0 && !bad && stack == 1,
	      "/proc/self/maps: %d lines, %d unparsed or read otherwise than by sscanf(), %d stacks",
	      lines, bad, stack);
}

/*
 * The map_files name is the kernel's: each entry of our own listing is
 * named again, from the bounds its name parses to, as snprintf() would name
 * them; so are the extremes.
 */
static void check_map_files(void)
{
	static const uint64_t edges[][2] = {
		{ 0, 0 }, { 0, 1 }, { 0xf, 0x10 }, { UINT64_MAX - 1, UINT64_MAX }
	};
	char path[RDMAPIN_MAP_FILES_PATH_MAX], want[320];
	DIR *d = opendir("/proc/self/map_files");
	int entries = 0, bad = 0;
	struct dirent *e;
	uint64_t start, end;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(edges); i++) {
		rdmapin_proc_map_files_path(path, edges[i][0], edges[i][1]);
		snprintf(want, sizeof(want), "/proc/self/map_files/%" PRIx64 "-%" PRIx64,
			 edges[i][0], edges[i][1]);
		check(!strcmp(path, want), "map_files path of %s (got %s)", want, path);
	}
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		entries++;
		if (rdmapin_proc_map_bounds(e->d_name, &start, &end)) {
			bad++;
			continue;
		}
		rdmapin_proc_map_files_path(path, start, end);
		snprintf(want, sizeof(want), "/proc/self/map_files/%s", e->d_name);
		bad += !!strcmp(path, want);
	}
	if (d)
		closedir(d);
	check(entries > 0 && !bad, "/proc/self/map_files: %d entries, %d not named again alike",
	      entries, bad);
}

static void check_process(void)
{
	char comm[16] = "x", want[16] = "";

	check(rdmapin_proc_start_time(getpid()) > 0, "this process has a start time");
	check(rdmapin_proc_start_time(NO_PID) == 0, "a pid that does not exist has none");
	/* The kernel's own copy: under valgrind, it is not test_proc. */
	prctl(PR_GET_NAME, want);
	rdmapin_proc_comm(getpid(), comm, sizeof(comm));
	check(want[0] && !strcmp(comm, want), "this process's comm is '%s' (got '%s')", want, comm);
	rdmapin_proc_comm(NO_PID, comm, sizeof(comm));
	check(!comm[0], "a pid that does not exist has an empty comm");
}

int main(void)
{
	check_line("7f1c2a400000-7f1c2a600000 rw-s 00000000 fd:01 123456                     "
		   "/mnt/pmem/my file (1)\n", "/mnt/pmem/my file (1)", 0x7f1c2a400000,
		   0x7f1c2a600000, true);
	check_line("7f1c2a400000-7f1c2a600000 rw-s 00000000 fd:01 123456   /tmp/gone (deleted)\n",
		   "/tmp/gone (deleted)", 0x7f1c2a400000, 0x7f1c2a600000, true);
	check_line("55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0                          "
		   "[heap]\n", "[heap]", 0x55d0c0a00000, 0x55d0c0a21000, false);
	check_line("7f1c2a400000-7f1c2a401000 rw-p 00000000 00:00 0 \n", "", 0x7f1c2a400000,
		   0x7f1c2a401000, false);
	check_line("7f1c2a400000-7f1c2a401000 rw-p 00000000 00:00 0\n", "", 0x7f1c2a400000,
		   0x7f1c2a401000, false);
	check_line("ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0          [vsyscall]",
		   "[vsyscall]", 0xffffffffff600000, 0xffffffffff601000, false);
	check_line("7f1c2a400000-7f1c2a600000 rw-s 00000000 00:05 9 /dev/dax0.0\n", "/dev/dax0.0",
		   0x7f1c2a400000, 0x7f1c2a600000, true);
	check_fields();
	check_malformed();
	check_self();
	check_map_files();
	check_process();
	return check_done();
}
