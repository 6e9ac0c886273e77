// SPDX-License-Identifier: MIT
/*
 * A program that, like NCCL, dlopen()s libibverbs and looks its functions up
 * with dlvsym() on that handle, which LD_PRELOAD cannot catch. It maps FILE
 * shared and registers SIZE bytes of it on $RDMAPIN_RXE0 through
 *   iova2   dlvsym(h, "ibv_reg_mr_iova2", "IBVERBS_1.8"), as verbs.h's
 *           ibv_reg_mr() macro reaches it (NCCL looks this one up too), or
 *   1.1     dlvsym(h, "ibv_reg_mr", "IBVERBS_1.1"),
 *   planted as 1.1, after a registration of anonymous memory made the
 *           preload open /proc/self/pagemap, whose descriptor is then
 *           closed and its number given to a file that says "anonymous"
 *           for every page of FILE's mapping (the preload's pagemap check,
 *           Linux before 6.11: it must notice that the number is not its),
 * says "registered" or "refused: ERRNO", and waits for a line on standard
 * input; then it deregisters the MR through dlvsym(h, "ibv_dereg_mr",
 * "IBVERBS_1.1") ("dlvsym") or the ibv_dereg_mr() it is linked against
 * ("linked"), says "deregistered: RET", and waits for the end of its input.
 * test_preload runs it with and without rdmapin-run --audit. With
 * DLVSYM_PRIVATE set, FILE is mapped MAP_PRIVATE instead.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/mman.h>
#include <unistd.h>
#include <infiniband/verbs.h>

#define ACCESS_RW (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)

static void *h;

static void *sym(const char *name, const char *version)
{
	void *f = dlvsym(h, name, version);

	if (!f) {
		fprintf(stderr, "preload_dlvsym: no %s@%s: %s\n", name, version, dlerror());
		exit(2);
	}
	return f;
}

static struct ibv_pd *open_pd(const char *name)
{
	struct ibv_device **(*get_list)(int *) = sym("ibv_get_device_list", "IBVERBS_1.1");
	struct ibv_context *(*open_dev)(struct ibv_device *) = sym("ibv_open_device",
								  "IBVERBS_1.1");
	struct ibv_pd *(*alloc_pd)(struct ibv_context *) = sym("ibv_alloc_pd", "IBVERBS_1.1");
	const char *(*dev_name)(struct ibv_device *) = sym("ibv_get_device_name",
							  "IBVERBS_1.1");
	struct ibv_device **list = get_list(NULL);
	struct ibv_context *ctx = NULL;
	int i;

	for (i = 0; list && list[i] && !ctx; i++)
		if (!strcmp(dev_name(list[i]), name))
			ctx = open_dev(list[i]);
	return ctx ? alloc_pd(ctx) : NULL;
}

/* The descriptor of our /proc/PID/pagemap; -1 if none is open. */
static int pagemap_fd(void)
{
	char link[64], target[PATH_MAX], want[64];
	ssize_t n;
	int fd;

	snprintf(want, sizeof(want), "/proc/%d/pagemap", getpid());
	for (fd = 3; fd < 1024; fd++) {
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n > 0 && (target[n] = '\0', !strcmp(target, want)))
			return fd;
	}
	return -1;
}

/* Puts at the preload's pagemap number a file that calls p's pages anonymous. */
static int plant(struct ibv_pd *pd, struct ibv_mr *(*reg_mr)(struct ibv_pd *, void *, size_t, int),
		 void *p, size_t size)
{
	static char anon[4096];
	uint64_t present = 1ULL << 63;
	struct ibv_mr *mr = reg_mr(pd, anon, sizeof(anon), ACCESS_RW);
	int num = pagemap_fd(), fd;
	char path[] = "/tmp/planted-pagemap-XXXXXX";
	size_t i;

	if (mr)
		ibv_dereg_mr(mr);
	fd = mkstemp(path);
	if (!mr || num < 0 || fd < 0 || unlink(path) || dup2(fd, num) != num) {
		fprintf(stderr, "preload_dlvsym: cannot plant a pagemap (fd %d, number %d)\n", fd,
			num);
		exit(2);
	}
	close(fd);
	for (i = 0; i < size / 4096; i++)
		if (pwrite(num, &present, sizeof(present),
			   ((uintptr_t)p / 4096 + i) * sizeof(present)) != sizeof(present))
			exit(2);
	return 0;
}

static struct ibv_mr *reg(const char *how, struct ibv_pd *pd, void *p, size_t size)
{
	struct ibv_mr *(*reg_mr)(struct ibv_pd *, void *, size_t, int);
	struct ibv_mr *(*reg_mr_iova2)(struct ibv_pd *, void *, size_t, uint64_t, unsigned int);

	if (!strcmp(how, "iova2")) {
		reg_mr_iova2 = sym("ibv_reg_mr_iova2", "IBVERBS_1.8");
		return reg_mr_iova2(pd, p, size, (uintptr_t)p, ACCESS_RW);
	}
	reg_mr = sym("ibv_reg_mr", "IBVERBS_1.1");
	if (!strcmp(how, "planted"))
		plant(pd, reg_mr, p, size);
	return reg_mr(pd, p, size, ACCESS_RW);
}

static void wait_line(void)
{
	char line[16];

	if (!fgets(line, sizeof(line), stdin))
		clearerr(stdin);
}

int main(int argc, char **argv)
{
	int (*dereg_mr)(struct ibv_mr *) = ibv_dereg_mr;
	const char *dev = getenv("RDMAPIN_RXE0");
	size_t size = argc == 5 ? strtoul(argv[2], NULL, 0) : 0;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	void *p;
	int fd;

	if (!size || !dev ||
	    (strcmp(argv[3], "iova2") && strcmp(argv[3], "1.1") && strcmp(argv[3], "planted")) ||
	    (strcmp(argv[4], "dlvsym") && strcmp(argv[4], "linked"))) {
		fprintf(stderr, "usage: RDMAPIN_RXE0=DEV preload_dlvsym FILE SIZE "
				"iova2|1.1|planted dlvsym|linked\n");
		return 2;
	}
	h = dlopen("libibverbs.so.1", RTLD_NOW);
	if (!h) {
		fprintf(stderr, "preload_dlvsym: %s\n", dlerror());
		return 2;
	}
	if (!strcmp(argv[4], "dlvsym"))
		dereg_mr = sym("ibv_dereg_mr", "IBVERBS_1.1");
	pd = open_pd(dev);
	/* The descriptor stays open: a lease can be taken through it. */
	fd = open(argv[1], O_RDWR | O_CLOEXEC);
	p = fd < 0 ? MAP_FAILED :
		     mmap(NULL, size, PROT_READ | PROT_WRITE,
			  getenv("DLVSYM_PRIVATE") ? MAP_PRIVATE : MAP_SHARED, fd, 0);
	if (!pd || p == MAP_FAILED) {
		fprintf(stderr, "preload_dlvsym: set up %s on %s: %s\n", argv[1], dev,
			strerror(errno));
		return 2;
	}
	mr = reg(argv[3], pd, p, size);
	if (!mr) {
		printf("refused: %s\n", strerrorname_np(errno));
		return 1;
	}
	printf("registered\n");
	fflush(stdout);
	wait_line();
	printf("deregistered: %d\n", dereg_mr(mr));
	fflush(stdout);
	while (getchar() != EOF)
		;
	return 0;
}
