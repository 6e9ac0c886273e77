// SPDX-License-Identifier: MIT
/* /proc readers: see proc.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
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

int rdmapin_proc_map_parse(char *line, struct rdmapin_proc_map *map)
{
	char perms[5] = "";
	int name_at = 0;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %" SCNx32 ":%" SCNx32
			 " %" SCNu64 " %n", &map->start, &map->end, perms, &map->offset,
		   &map->dev_major, &map->dev_minor, &map->inode, &name_at) != 7 || !name_at) {
		errno = EINVAL;
		return -1;
	}
	map->readable = perms[0] == 'r';
	map->writable = perms[1] == 'w';
	map->shared = perms[3] == 's';
	line[name_at + strcspn(line + name_at, "\n")] = '\0';
	map->name = line + name_at;
	return 0;
}
