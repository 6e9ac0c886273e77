// SPDX-License-Identifier: MIT
/*
 * libFuzzer target for the pin registry reader (pinls reads files that other
 * users write): each input becomes a live record file of this process, which
 * rdmapin_registry_scan() must skip or list without crashing. An input whose
 * first byte is 'V' (or '1') gets a valid header of the current version (or
 * of version 1) in front and its file the size of one group, so the counts
 * and slots get fuzzed too; otherwise only the identity fields no fuzzer can
 * guess are filled in. seeds/one-active-slot is 'V', counts at rest and one
 * active slot with path "/x/y"; seeds/long-path's path is in its path cell.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "registry_read.h"

static char top[64], user[96], path[PATH_MAX];

static void cleanup(void)
{
	unlink(path);
	rmdir(user);
	rmdir(top);
}

static void setup(void)
{
	snprintf(top, sizeof(top), "/tmp/rdmapin-fuzz-XXXXXX");
	if (!mkdtemp(top))
		abort();
	snprintf(user, sizeof(user), "%s/uid-%u", top, geteuid());
	mkdir(user, 0700);
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/%d-%llu", user, getpid(),
		 (unsigned long long)rdmapin_proc_start_time(getpid()));
}

static int count(const struct rdmapin_pin_record *rec, void *ctx)
{
	(*(size_t *)ctx) += strlen(rec->pin->path) + strlen(rec->comm);
	return 0;
}

static void ignore(const char *msg, void *ctx)
{
}

static void write_record(int fd, const uint8_t *data, size_t size)
{
	struct rdmapin_registry_header h = { 0 };
	off_t group = 0;

	if (size && (data[0] == 'V' || data[0] == '1')) {
		h.magic = RDMAPIN_REGISTRY_MAGIC;
		h.version = data[0] == 'V' ? RDMAPIN_REGISTRY_VERSION : 1;
		h.header_size = sizeof(h);
		h.slot_size = data[0] == 'V' ? sizeof(struct rdmapin_registry_slot) :
					       sizeof(struct rdmapin_registry_slot_v1);
		h.nslots = RDMAPIN_REGISTRY_GROUP;
		group = data[0] == 'V' ? sizeof(struct rdmapin_registry_group) :
					 RDMAPIN_REGISTRY_GROUP * h.slot_size;
		data++, size--;
	} else if (size >= sizeof(h)) {
		memcpy(&h, data, sizeof(h));
		data += sizeof(h), size -= sizeof(h);
	}
	h.pid = getpid();
	h.uid = geteuid();
	h.start_time = rdmapin_proc_start_time(getpid());
	if (write(fd, &h, sizeof(h)) != sizeof(h) || write(fd, data, size) != (ssize_t)size ||
	    (group && ftruncate(fd, sizeof(h) + (size > (size_t)group ? size : group))))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	size_t sum = 0;
	int fd;

	if (!top[0])
		setup();
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || fcntl(fd, F_OFD_SETLK, &lk))
		abort();
	write_record(fd, data, size);
	rdmapin_registry_scan(top, count, ignore, &sum);
	close(fd);
	return 0;
}
