// SPDX-License-Identifier: MIT
/* /proc readers: see proc.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "proc.h"

uint64_t rdmapin_proc_start_time(pid_t pid)
{
	unsigned long long start = 0;
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	p = strrchr(buf, ')');
	for (i = 0; p && i < 20; i++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%llu", &start);
	return start;
}

/* /proc/PID/@name, or the calling thread's for pid 0, read whole into @buf; -1 if not. */
static int read_proc(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/%s", pid, name);
	else
		snprintf(path, sizeof(path), "/proc/thread-self/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return 0;
}

/* The value of line "@key:\t..." of /proc/PID/status (@key with its colon), or NULL. */
static const char *status_field(pid_t pid, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);
	char *line;

	if (read_proc(pid, "status", buf, len))
		return NULL;
	for (line = buf; line; line = strchr(line, '\n')) {
		line += *line == '\n';
		if (!strncmp(line, key, klen))
			return line + klen;
	}
	return NULL;
}

/*
 * uid_map as the reader's namespace sees it: the initial namespace maps
 * every uid to itself in one line; a child namespace maps a part.
 */
static bool in_init_userns(pid_t pid)
{
	unsigned int inside, outside, count;
	char map[256];

	return !read_proc(pid, "uid_map", map, sizeof(map)) &&
	       sscanf(map, "%u %u %u", &inside, &outside, &count) == 3 && inside == 0 &&
	       outside == 0 && count == 4294967295U;
}

bool rdmapin_proc_capable(pid_t pid, int cap)
{
	unsigned long long eff;
	const char *v;
	char buf[4096];

	v = status_field(pid, "CapEff:", buf, sizeof(buf));
	if (!v || sscanf(v, "%llx", &eff) != 1 || cap < 0 || cap > 63)
		return false;
	return (eff >> cap & 1) && in_init_userns(pid);
}

/* Whether the first @n numbers of @list (after a status key) include @id. */
static bool lists(const char *list, int n, unsigned int id)
{
	unsigned int v;
	int used;

	while (n-- && sscanf(list, "%u%n", &v, &used) == 1) {
		if (v == id)
			return true;
		list += used;
	}
	return false;
}

bool rdmapin_proc_in_group(pid_t pid, gid_t gid)
{
	const char *v;
	char buf[4096];

	v = status_field(pid, "Gid:", buf, sizeof(buf));
	if (v && lists(v, 2, gid))
		return true;
	v = status_field(pid, "Groups:", buf, sizeof(buf));
	return v && lists(v, -1, gid);
}

void rdmapin_proc_comm(pid_t pid, char *comm, size_t size)
{
	char path[64];
	ssize_t n = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, comm, size - 1);
		close(fd);
	}
	comm[n > 0 ? n : 0] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

/* Each hex digit's value plus one; 0: not a digit. */
static const unsigned char hex_digits[256] = {
	['0'] = 1,  ['1'] = 2,	['2'] = 3,  ['3'] = 4,	['4'] = 5,  ['5'] = 6,
	['6'] = 7,  ['7'] = 8,	['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
	['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12,
	['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/*
 * A maps line's number at @s, in @base (16 or 10), at least one digit and at
 * most @max. Returns where the digits end, or NULL (also for a NULL @s, so
 * that a parse's steps chain). By hand, not sscanf(): the library's walk on
 * kernels without PROCMAP_QUERY parses the bounds of every line below the
 * range it looks for, and sscanf() took 1,100 instructions a line. Hex, by a
 * table and without a check a digit, takes a few instructions a digit:
 * under TCG, those lines were most of an anonymous registration's own time.
 */
static char *parse_num(char *s, int base, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;
	char *start = s;
	unsigned int d;

	if (!s)
		return NULL;
	if (base == 16) {
		while ((d = hex_digits[(unsigned char)*s])) {
			x = x << 4 | (d - 1);
			s++;
		}
		/* More would overflow; the kernel prints no more. */
		if (s - start > 16)
			return NULL;
	} else {
		for (; *s >= '0' && *s <= '9'; s++) {
			d = *s - '0';
			if (x > (max - d) / 10)
				return NULL;
			x = x * 10 + d;
		}
	}
	if (s == start || x > max)
		return NULL;
	*v = x;
	return s;
}

/* Past @c at @s, or NULL. */
static char *expect(char *s, char c)
{
	return s && *s == c ? s + 1 : NULL;
}

/* Past "start-end" at @line, or NULL. */
static char *parse_bounds(char *line, uint64_t *start, uint64_t *end)
{
	return parse_num(expect(parse_num(line, 16, UINT64_MAX, start), '-'), 16, UINT64_MAX, end);
}

int rdmapin_proc_map_bounds(char *line, uint64_t *start, uint64_t *end)
{
	if (parse_bounds(line, start, end))
		return 0;
	errno = EINVAL;
	return -1;
}

/* @x in lower-case hex without leading zeros (the kernel's %lx), at @p; past it. */
static char *put_hex(char *p, uint64_t x)
{
	char digits[16];
	int n = 0;

	do {
		digits[n++] = "0123456789abcdef"[x & 15];
		x >>= 4;
	} while (x);
	while (n)
		*p++ = digits[--n];
	return p;
}

/* By hand, as the parser: snprintf() took ~1,000 instructions a registration. */
void rdmapin_proc_map_files_path(char *path, uint64_t start, uint64_t end)
{
	static const char dir[] = "/proc/self/map_files/";
	char *p = path + sizeof(dir) - 1;

	memcpy(path, dir, sizeof(dir) - 1);
	p = put_hex(p, start);
	*p++ = '-';
	p = put_hex(p, end);
	*p = '\0';
}

int rdmapin_proc_map_parse(char *line, struct rdmapin_proc_map *map)
{
	char *perms, *p;
	uint64_t major, minor;

	perms = expect(parse_bounds(line, &map->start, &map->end), ' ');
	p = perms && strnlen(perms, 4) == 4 ? expect(perms + 4, ' ') : NULL;
	p = expect(parse_num(p, 16, UINT64_MAX, &map->offset), ' ');
	p = expect(parse_num(p, 16, UINT32_MAX, &major), ':');
	p = expect(parse_num(p, 16, UINT32_MAX, &minor), ' ');
	p = parse_num(p, 10, UINT64_MAX, &map->inode);
	/* Without a name, the inode may end the line. */
	if (!p || (*p && *p != ' ' && *p != '\n')) {
		errno = EINVAL;
		return -1;
	}
	map->readable = perms[0] == 'r';
	map->writable = perms[1] == 'w';
	map->shared = perms[3] == 's';
	map->dev_major = major;
	map->dev_minor = minor;
	p += strspn(p, " \t\n");
	p[strcspn(p, "\n")] = '\0';
	map->name = p;
	return 0;
}

bool rdmapin_proc_map_unlinked(const struct rdmapin_proc_map *map)
{
	static const char suffix[] = " (deleted)";	/* what d_path() appends */
	size_t len = strlen(map->name);

	return len >= sizeof(suffix) && !strcmp(map->name + len - (sizeof(suffix) - 1), suffix);
}

bool rdmapin_proc_map_deleted(pid_t pid, uint64_t addr, uint64_t dev, uint64_t ino)
{
	struct rdmapin_proc_map map;
	bool deleted = false, found = false;
	char path[64], *line = NULL;
	size_t size = 0;
	FILE *f;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	else
		snprintf(path, sizeof(path), "/proc/self/maps");
	f = fopen(path, "re");
	while (f && !found && getline(&line, &size, f) > 0) {
		if (rdmapin_proc_map_parse(line, &map) || addr < map.start || addr >= map.end)
			continue;
		found = true;
		deleted = map.inode == ino && makedev(map.dev_major, map.dev_minor) == dev &&
			  rdmapin_proc_map_unlinked(&map);
	}
	free(line);
	if (f)
		fclose(f);
	return deleted;
}
