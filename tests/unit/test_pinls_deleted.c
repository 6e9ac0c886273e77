// SPDX-License-Identifier: MIT
/*
 * pinls marks a pin's file "(deleted)" as the kernel's maps name its
 * mapping, natively: three files mapped side by side, the first two
 * unlinked, so that maps has two "(deleted)" lines in a row, a pin of each,
 * and a memfd next to them, which maps names "(deleted)" too.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fake_pin.h"
#include "lib.h"
#include "registry.h"

#define NFILES 3

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* Maps file i of dir at page i of area, and publishes a pin of it. */
static int map_and_pin(const char *dir, char *area, long page, int i)
{
	struct rdmapin_registry_pin v;
	char path[128];
	struct stat st;
	int fd, ret = -1;

	snprintf(path, sizeof(path), "%s/%c", dir, 'a' + i);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, page) || fstat(fd, &st) ||
	    mmap(area + i * page, page, PROT_READ, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED)
		goto out;
	fake_pin_init(&v, path, page, i + 1);
	v.addr = (uintptr_t)(area + i * page);
	v.dev = st.st_dev;
	v.ino = st.st_ino;
	rdmapin_lock();
	ret = rdmapin_registry_add(&v) ? 0 : -1;
	rdmapin_unlock();
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* What pinls -r -n -o PATH prints of our pins. */
static void pinls_paths(char *out, size_t size)
{
	char cmd[256];
	size_t len = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s -r -n -o PATH -p %d", PINLS_PATH, getpid());
	p = popen(cmd, "r");
	while (p && len + 1 < size && fgets(out + len, size - len, p))
		len += strlen(out + len);
	out[len] = '\0';
	if (p)
		pclose(p);
}

int main(void)
{
	char reg[] = "/tmp/pinls_deleted-XXXXXX", files[] = "/tmp/pinls_deleted_files-XXXXXX";
	long page = sysconf(_SC_PAGESIZE);
	char want[1024], got[1024], path[128], *area;
	int i, ok = 0, memfd;

	if (!mkdtemp(reg) || !mkdtemp(files))
		return 1;
	setenv("RDMAPIN_RUNTIME_DIR", reg, 1);
	rdmapin_registry_open();
	area = mmap(NULL, (NFILES + 1) * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memfd = memfd_create("pinls_deleted", MFD_CLOEXEC);
	if (area != MAP_FAILED && memfd >= 0 && !ftruncate(memfd, page) &&
	    mmap(area + NFILES * page, page, PROT_READ, MAP_SHARED | MAP_FIXED, memfd, 0) !=
		    MAP_FAILED)
		for (ok = 1, i = 0; i < NFILES; i++)
			ok &= !map_and_pin(files, area, page, i);
	check(ok, "three files mapped side by side and pinned");
	for (i = 0; i < NFILES - 1; i++) {
		snprintf(path, sizeof(path), "%s/%c", files, 'a' + i);
		unlink(path);
	}
	snprintf(want, sizeof(want), "%s/a\\x20(deleted)\n%s/b\\x20(deleted)\n%s/c\n", files,
		 files, files);
	pinls_paths(got, sizeof(got));
	check(!strcmp(got, want), "pinls marks the two unlinked files, not the linked one: got\n%s",
	      got);
	rdmapin_registry_forget();
	nftw(reg, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	nftw(files, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return check_done();
}
