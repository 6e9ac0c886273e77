// SPDX-License-Identifier: MIT
/*
 * A program that, like NCCL, dlopen()s libibverbs and looks its functions up
 * with dlvsym() on that handle, which LD_PRELOAD cannot catch. It maps FILE
 * shared, registers SIZE bytes of it with dlvsym(h, "ibv_reg_mr",
 * "IBVERBS_1.1") on $RDMAPIN_RXE0, says "registered" or "refused: ERRNO",
 * and holds the MR until its standard input ends. test_preload runs it with
 * and without rdmapin-run --audit.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#define ACCESS_RW (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)

static void *h;

static void *sym(const char *name)
{
	void *f = dlvsym(h, name, "IBVERBS_1.1");

	if (!f) {
		fprintf(stderr, "preload_dlvsym: no %s@IBVERBS_1.1: %s\n", name, dlerror());
		exit(2);
	}
	return f;
}

static struct ibv_pd *open_pd(const char *name)
{
	struct ibv_device **(*get_list)(int *) = sym("ibv_get_device_list");
	struct ibv_context *(*open_dev)(struct ibv_device *) = sym("ibv_open_device");
	struct ibv_pd *(*alloc_pd)(struct ibv_context *) = sym("ibv_alloc_pd");
	const char *(*dev_name)(struct ibv_device *) = sym("ibv_get_device_name");
	struct ibv_device **list = get_list(NULL);
	struct ibv_context *ctx = NULL;
	int i;

	for (i = 0; list && list[i] && !ctx; i++)
		if (!strcmp(dev_name(list[i]), name))
			ctx = open_dev(list[i]);
	return ctx ? alloc_pd(ctx) : NULL;
}

int main(int argc, char **argv)
{
	struct ibv_mr *(*reg_mr)(struct ibv_pd *, void *, size_t, int);
	int (*dereg_mr)(struct ibv_mr *);
	const char *dev = getenv("RDMAPIN_RXE0");
	size_t size = argc == 3 ? strtoul(argv[2], NULL, 0) : 0;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	char line[16];
	void *p;
	int fd;

	if (!size || !dev) {
		fprintf(stderr, "usage: RDMAPIN_RXE0=DEV preload_dlvsym FILE SIZE\n");
		return 2;
	}
	h = dlopen("libibverbs.so.1", RTLD_NOW);
	if (!h) {
		fprintf(stderr, "preload_dlvsym: %s\n", dlerror());
		return 2;
	}
	reg_mr = sym("ibv_reg_mr");
	dereg_mr = sym("ibv_dereg_mr");
	pd = open_pd(dev);
	/* The descriptor stays open: a lease can be taken through it. */
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	p = fd < 0 ? MAP_FAILED : mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (!pd || p == MAP_FAILED) {
		fprintf(stderr, "preload_dlvsym: set up %s on %s: %s\n", argv[1], dev,
			strerror(errno));
		return 2;
	}
	mr = reg_mr(pd, p, size, ACCESS_RW);
	if (!mr) {
		printf("refused: %s\n", strerrorname_np(errno));
		return 1;
	}
	printf("registered\n");
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin))
		;
	return dereg_mr(mr) ? 1 : 0;
}
