// SPDX-License-Identifier: MIT
/*
 * RDMA users without librdmapin. A process that has a uverbs device open
 * can register any of its mappings with plain ibv_reg_mr(), and the kernel
 * does not tell which (its MR dumps carry no address): each shared mapping
 * of a file or of device-DAX such a process has is a pin it may hold, with
 * no lease to stop a truncate. Listed only for processes whose /proc entries
 * the caller may read, which for root is all of them.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "proc.h"
#include "unmanaged.h"

#define UVERBS_PREFIX "/dev/infiniband/uverbs"

/* The RDMA device behind the first uverbs fd of pid, in dev; false if it has none. */
static bool uverbs_device(pid_t pid, char *dev, size_t size)
{
	char path[64], link[PATH_MAX];
	unsigned int index;
	struct dirent *e;
	bool found = false;
	ssize_t n;
	DIR *d;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		n = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		/* Refused one, refused all: the kernel asks whether we may ptrace the process. */
		if (n < 0 && errno == EACCES)
			break;
		if (n <= 0)
			continue;
		link[n] = '\0';
		found = sscanf(link, UVERBS_PREFIX "%u", &index) == 1;
	}
	closedir(d);
	if (!found)
		return false;
	/* The device's name, as librdmapin's records give it: "rxe0", not "uverbs0". */
	snprintf(path, sizeof(path), "/sys/class/infiniband_verbs/uverbs%u/ibdev", index);
	dev[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, dev, size - 1);
		dev[n > 0 ? n : 0] = '\0';
		dev[strcspn(dev, "\n")] = '\0';
		close(fd);
	}
	return true;
}

/*
 * Whether a shared mapping's name is memory a pin can hold: device-DAX, or
 * a file. Everything else under /dev is a device node (the uverbs queues,
 * /dev/zero) or POSIX shared memory, and memfds and System V segments are
 * shared memory too: no file of them can be truncated under the NIC.
 */
static bool pinnable(const char *name, bool *devdax)
{
	*devdax = !strncmp(name, "/dev/dax", 8);
	if (*devdax)
		return true;
	return name[0] == '/' && strncmp(name, "/dev/", 5) && strncmp(name, "/memfd:", 7) &&
	       strncmp(name, "/SYSV", 5);
}

/*
 * The rows of proc's process, device its RDMA device; none if it maps a
 * record in registry_dir (NULL: none exists): it uses librdmapin, with no
 * pins at the moment.
 */
static void scan_maps(struct pin_list *pins, const struct pin_proc *proc, const char *device,
		      const struct filter *f, const char *registry_dir)
{
	size_t first = pins->n, size = 0, dirlen = registry_dir ? strlen(registry_dir) : 0;
	struct rdmapin_proc_map map;
	char path[64], *line = NULL;
	struct pin *prev;
	bool devdax;
	dev_t dev;
	FILE *maps;

	snprintf(path, sizeof(path), "/proc/%d/maps", proc->pid);
	maps = fopen(path, "re");
	if (!maps)
		return;
	while (getline(&line, &size, maps) > 0) {
		if (rdmapin_proc_map_parse(line, &map))
			continue;
		if (registry_dir && !strncmp(map.name, registry_dir, dirlen) &&
		    map.name[dirlen] == '/') {
			pins->n = first;
			break;
		}
		dev = makedev(map.dev_major, map.dev_minor);
		if (!map.shared || !pinnable(map.name, &devdax) ||
		    !filter_file(f, dev, map.inode, map.name))
			continue;
		/* mprotect() and madvise() split one mapping into several: join them again. */
		prev = pins->n > first ? &pins->v[pins->n - 1] : NULL;
		if (prev && prev->ino == map.inode && prev->dev == dev &&
		    prev->addr + prev->length == map.start &&
		    prev->offset + prev->length == map.offset) {
			prev->length += map.end - map.start;
			continue;
		}
		prev = pin_list_add(pins);
		*prev = (struct pin){
			.proc = proc,
			.path = arena_strndup(&pins->arena, map.name,
					      strnlen(map.name, PIN_PATH_SIZE - 1)),
			.device = device,
			.unmanaged = true,
			.backing = devdax ? RDMAPIN_BACKING_DEVDAX : 0,
			.dev = dev, .ino = map.inode, .offset = map.offset,
			.length = map.end - map.start, .addr = map.start,
		};
	}
	free(line);
	fclose(maps);
}

/* The process's rows, if it has an RDMA device open. */
static void scan_proc(struct pin_list *pins, pid_t pid, uid_t uid, const struct filter *f,
		      const char *registry_dir)
{
	struct pin_proc *proc;
	char device[64];

	if (!uverbs_device(pid, device, sizeof(device)))
		return;
	proc = arena_alloc(&pins->arena, sizeof(*proc));
	proc->pid = pid;
	proc->uid = uid;
	rdmapin_proc_comm(pid, proc->comm, sizeof(proc->comm));
	scan_maps(pins, proc, arena_strndup(&pins->arena, device, strlen(device)), f,
		  registry_dir);
}

void unmanaged_scan(struct pin_list *pins, const struct pid_set *managed,
		    const struct filter *f, const char *registry_dir)
{
	struct dirent *e;
	struct stat st;
	char *end;
	DIR *d;
	long pid;

	d = opendir("/proc");
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0 || pid > INT_MAX || pid_set_has(managed, pid))
			continue;
		/* The owner of /proc/PID is the process's effective uid, as ps shows it. */
		if (fstatat(dirfd(d), e->d_name, &st, 0) || !filter_proc(f, pid, st.st_uid))
			continue;
		scan_proc(pins, pid, st.st_uid, f, registry_dir);
	}
	closedir(d);
}
