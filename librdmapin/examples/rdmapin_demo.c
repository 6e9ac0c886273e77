// SPDX-License-Identifier: MIT
/*
 * The end-to-end demo, run inside a test guest (tests/vm/run-vm; scripts/demo
 * runs it on both kernels): a server registers a file on fsdax, a peer on the
 * other rxe device RDMA-WRITEs into it, the data is read back from the file,
 * another process truncates the file and the MR is revoked first. On kernels
 * where fsdax cannot be registered it shows the refusal, registers device-DAX
 * instead, and shows the truncate part with a page-cache file. Then the same
 * file again with rdmapin-guardd running: the truncate fails with ETXTBSY
 * while the peer goes on writing. It prints what happened.
 *
 * The devices and directories come from the RDMAPIN_* variables that the
 * guest exports (tests/vm/guest-init); the peer is remote_writer.c beside it.
 *
 * Usage: rdmapin-demo RDMAPIN_GUARDD (the daemon's program)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "rdma_peer.h"
#include "remote_writer.h"

#define MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)
#define WRITE_LEN (1UL << 20)
#define REGION_LEN (4UL << 20)

static const char *const mode_name[] = { [RDMAPIN_MODE_PIN] = "long-term pin",
					 [RDMAPIN_MODE_ODP] = "On-Demand Paging" };
static const char *const lease_name[] = { "none", "native layout lease",
					  "emulated layout lease (F_WRLCK)" };
static const char *const guard_name[] = { "none", "rdmapin-guardd (BPF LSM)",
					  "BPF LSM, edited directly" };
#define GUARDD_DIR "/run/rdmapin-demo-guardd"

/* The guest's RDMA devices, and where its fsdax and page-cache files go. */
static struct {
	const char *rxe0, *rxe1, *devdax, *fsdax_dir, *pagecache_dir;
	int gid_index;
} env;

/* What the demo registers: a file of its own, or device-DAX. */
struct mapping {
	void *addr;
	int fd;
	char path[PATH_MAX];	/* of the file it created: empty for device-DAX */
};

/* What the intruder does to the registered file. */
enum act {
	ACT_NONE,
	ACT_REVOKE,	/* truncate a leased file: the MR is revoked first */
	ACT_REFUSE,	/* truncate a guarded file: ETXTBSY, the peer writes on */
};

/* Every variable is needed: the story has no act without its device or file. */
static int read_env(void)
{
	const char *gid;
	const struct {
		const char *name, **value;
	} vars[] = {
		{ "RDMAPIN_RXE0", &env.rxe0 },
		{ "RDMAPIN_RXE1", &env.rxe1 },
		{ "RDMAPIN_GID_INDEX", &gid },
		{ "RDMAPIN_DEVDAX", &env.devdax },
		{ "RDMAPIN_FSDAX_DIR", &env.fsdax_dir },
		{ "RDMAPIN_PAGECACHE_DIR", &env.pagecache_dir },
	};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		*vars[i].value = getenv(vars[i].name);
		if (!*vars[i].value) {
			fprintf(stderr, "rdmapin-demo: %s is not set (run it in a test guest)\n",
				vars[i].name);
			return -1;
		}
	}
	env.gid_index = atoi(gid);
	printf("# kernel %s, fsdax on %s\n", getenv("RDMAPIN_VM_KERNEL") ?: "?",
	       getenv("RDMAPIN_FSDAX_FS") ?: "?");
	return 0;
}

static int setup_failed(const char *what)
{
	printf("set-up failed: %s: %s\n", what, strerror(errno));
	return -1;
}

/* Shared, so that what the peer writes lands in the file itself. */
static int map_shared(struct mapping *m)
{
	m->addr = mmap(NULL, REGION_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, 0);
	return m->addr == MAP_FAILED ? setup_failed("mmap") : 0;
}

/* A fresh file in @dir, so that truncating it harms nothing else. */
static int map_new_file(struct mapping *m, const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/rdmapin-test-XXXXXX", dir);
	m->fd = mkostemp(path, O_CLOEXEC);
	if (m->fd < 0)
		return setup_failed(path);
	strcpy(m->path, path);
	return ftruncate(m->fd, REGION_LEN) ? setup_failed("ftruncate") : map_shared(m);
}

static int map_fsdax_shared(struct mapping *m)
{
	return map_new_file(m, env.fsdax_dir);
}

static int map_pagecache_shared(struct mapping *m)
{
	return map_new_file(m, env.pagecache_dir);
}

static int map_devdax_region(struct mapping *m)
{
	m->fd = open(env.devdax, O_RDWR | O_CLOEXEC);
	return m->fd < 0 ? setup_failed(env.devdax) : map_shared(m);
}

static void unmap(struct mapping *m)
{
	if (m->addr != MAP_FAILED)
		munmap(m->addr, REGION_LEN);
	if (m->fd >= 0)
		close(m->fd);
	if (m->path[0])
		unlink(m->path);
}

static double ms_since(const struct timespec *start)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - start->tv_sec) * 1e3 + (t.tv_nsec - start->tv_nsec) / 1e6;
}

/* Another process truncates @path: the owner of the MR is not the one who breaks it. */
static pid_t intruder_start(const char *path, struct timespec *start)
{
	pid_t pid;

	clock_gettime(CLOCK_MONOTONIC, start);
	pid = fork();
	if (pid == 0)
		_exit(truncate(path, 0) ? errno : 0);
	return pid;
}

/* The intruder exits with truncate()'s errno; ECHILD if it died instead. */
static int intruder_errno(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return ECHILD;
	return WEXITSTATUS(status);
}

/*
 * librdmapin refuses a mode under a known device defect. rxe's On-Demand
 * Paging (Linux 6.15 on) misplaces RDMA WRITEs that do not start at a page
 * boundary, and each packet of a write counts; every write of this demo's
 * peer starts at offset 0 of the MR, over a 4096-byte path MTU
 * (rdma_peer.c), so it may accept that, and says so.
 */
static void accept_quirks(const struct rdmapin_device_caps *dev)
{
	if (!(dev->comp_mask & RDMAPIN_DEVICE_CAPS_QUIRKS) ||
	    !(dev->quirks & RDMAPIN_QUIRK_RXE_ODP_OFFSET))
		return;
	setenv("RDMAPIN_ALLOW_QUIRKS", rdmapin_quirk_str(RDMAPIN_QUIRK_RXE_ODP_OFFSET), 1);
	printf("%s: quirk %s: On-Demand Paging misplaces RDMA WRITEs that do not start at a "
	       "page boundary; accepted (RDMAPIN_ALLOW_QUIRKS), as this demo's peer writes "
	       "only from offset 0, in packets of a 4096-byte path MTU\n", env.rxe0,
	       rdmapin_quirk_str(RDMAPIN_QUIRK_RXE_ODP_OFFSET));
}

static void show_host(struct ibv_context *ctx)
{
	struct rdmapin_device_caps dev = { .comp_mask = RDMAPIN_DEVICE_CAPS_QUIRKS };
	struct rdmapin_host_caps host;

	rdmapin_query_host(&host);
	rdmapin_query_device(ctx, &dev);
	printf("host: Linux %s; file leases %s; native layout lease %s; lease-break-time %u s\n",
	       host.kernel_release, host.flags & RDMAPIN_HOST_FILE_LEASES ? "yes" : "no",
	       host.flags & RDMAPIN_HOST_NATIVE_LAYOUT_LEASE ? "yes" : "no",
	       host.lease_break_time);
	printf("%s: RC On-Demand Paging %s\n", env.rxe0,
	       dev.flags & RDMAPIN_DEVICE_RC_ODP ? "yes" : "no");
	accept_quirks(&dev);
}

static struct ibv_mr *register_file(struct ibv_pd *pd, const struct mapping *m)
{
	struct rdmapin_mr_attr a = { .comp_mask = 0 };
	struct ibv_mr *mr;

	mr = rdmapin_reg_file_mr(pd, m->fd, 0, REGION_LEN, MR_ACCESS);
	if (!mr) {
		printf("[server] rdmapin_reg_file_mr(%s): refused, errno %s:\n         %s\n",
		       m->path, strerrorname_np(errno), rdmapin_last_error());
		return NULL;
	}
	rdmapin_query_mr(mr, &a);
	printf("[server] rdmapin_reg_file_mr(%s): registered on %s as %s, lease: %s, truncate "
	       "guard: %s, rkey %#x\n", a.path, a.device, mode_name[a.mode], lease_name[a.lease],
	       guard_name[a.guard], mr->rkey);
	return mr;
}

/* A peer process on the second device writes 1 MiB; the server reads it back. */
static int remote_write(struct rdma_peer *p, struct ibv_mr *mr, int *sock, pid_t *pid)
{
	struct rdma_peer_info remote;
	size_t same;
	int status;

	*sock = remote_writer_start(env.rxe1, env.gid_index, WRITE_LEN, pid);
	if (*sock < 0 || rdma_peer_connect(p, *sock, mr, &remote))
		return -1;
	status = remote_writer_write(*sock, 0, WRITE_LEN);
	printf("[peer on %s] RDMA WRITE of 1 MiB into the server's MR: %s\n", env.rxe1,
	       status < 0 ? "no completion" : ibv_wc_status_str(status));
	same = remote_writer_verify(mr->addr, WRITE_LEN);
	printf("[server] read back from the file through its mapping: %s\n",
	       same == WRITE_LEN ? "all 1 MiB as written" : "DIFFERENT");
	return status == IBV_WC_SUCCESS && same == WRITE_LEN ? 0 : -1;
}

static void truncate_and_watch(struct ibv_context *ctx, int sock, const char *path)
{
	struct pollfd pfd = { .fd = rdmapin_get_async_fd(ctx), .events = POLLIN };
	struct rdmapin_async_event ev;
	struct timespec start;
	pid_t pid = intruder_start(path, &start);
	int err, status;

	printf("[intruder pid %d] truncate(\"%s\", 0) ...\n", pid, path);
	if (poll(&pfd, 1, 10000) == 1 && !rdmapin_get_async_event(ctx, &ev)) {
		printf("[server] async event: %s for %s\n",
		       ev.type == RDMAPIN_EVENT_MR_REVOKED ? "MR revoked" : "lease breaking",
		       ev.path);
		rdmapin_ack_async_event(&ev);
	}
	err = intruder_errno(pid);
	printf("[intruder] truncate returned %s after %.1f ms (fs.lease-break-time would be "
	       "45 s)\n", err ? strerror(err) : "0", ms_since(&start));
	status = remote_writer_write(sock, 0, WRITE_LEN);
	printf("[peer on %s] RDMA WRITE after the revoke: %s\n", env.rxe1,
	       status < 0 ? "no completion" : ibv_wc_status_str(status));
}

static int intruder_truncate(const char *path)
{
	struct timespec start;
	pid_t pid = intruder_start(path, &start);
	int err = intruder_errno(pid);

	printf("[intruder pid %d] truncate(\"%s\", 0): %s after %.1f ms\n", pid, path,
	       err ? strerrorname_np(err) : "0", ms_since(&start));
	return err;
}

/* The owner's own truncate is refused too, and the library says why. */
static void own_truncate(const struct mapping *m)
{
	if (!ftruncate(m->fd, 0) || errno != ETXTBSY)
		printf("[server] its own ftruncate: %s\n", strerror(errno));
	else if (!rdmapin_explain_busy(m->fd))
		printf("[server] its own ftruncate: ETXTBSY; rdmapin_explain_busy():\n         %s\n",
		       rdmapin_last_error());
}

/* The guard refuses the truncate; the NIC goes on writing into intact storage. */
static int truncate_refused(int sock, struct ibv_mr *mr, const struct mapping *m)
{
	int err = intruder_truncate(m->path), status;
	size_t same;

	own_truncate(m);
	status = remote_writer_write(sock, 0, WRITE_LEN);
	same = remote_writer_verify(mr->addr, WRITE_LEN);
	printf("[peer on %s] RDMA WRITE after the refused truncate: %s; read back: %s\n",
	       env.rxe1, status < 0 ? "no completion" : ibv_wc_status_str(status),
	       same == WRITE_LEN ? "all 1 MiB as written" : "DIFFERENT");
	return err == ETXTBSY && status == IBV_WC_SUCCESS && same == WRITE_LEN ? 0 : -1;
}

/* One file, start to end; returns 0 if it registered and @act went as it should. */
static int demo_file(const char *title, int (*map)(struct mapping *), enum act act)
{
	struct mapping m = { .addr = MAP_FAILED, .fd = -1 };
	struct ibv_mr *mr = NULL;
	struct rdma_peer p;
	int sock = -1, ret = -1;
	pid_t pid;

	printf("\n== %s\n", title);
	if (map(&m) || rdma_peer_open(&p, env.rxe0, env.gid_index)) {
		unmap(&m);
		return -1;
	}
	mr = register_file(p.pd, &m);
	if (mr && !remote_write(&p, mr, &sock, &pid)) {
		ret = 0;
		if (act == ACT_REVOKE)
			truncate_and_watch(p.ctx, sock, m.path);
		if (act == ACT_REFUSE)
			ret = truncate_refused(sock, mr, &m);
	}
	if (sock >= 0)
		remote_writer_stop(sock, pid);
	if (mr)
		printf("[server] rdmapin_dereg_mr: %s\n", rdmapin_dereg_mr(mr) ? "failed" : "ok");
	if (mr && act == ACT_REFUSE && intruder_truncate(m.path))
		ret = -1;
	rdma_peer_close(&p);
	unmap(&m);
	return ret;
}

/* Starts the daemon, as root, and points this process's librdmapin at it. */
static pid_t start_guardd(const char *prog)
{
	pid_t pid = fork();
	int i;

	if (pid == 0) {
		execl(prog, prog, "--runtime-dir", GUARDD_DIR, (char *)NULL);
		_exit(127);
	}
	setenv("RDMAPIN_GUARDD_SOCKET", GUARDD_DIR "/socket", 1);
	for (i = 0; i < 100 && access(GUARDD_DIR "/socket", F_OK); i++)
		usleep(100000);
	return pid;
}

static void stop_guardd(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	/* The guard stays loaded until unloaded by hand: leave the guest as found. */
	if (system("rm -r /sys/fs/bpf/rdmapin " GUARDD_DIR))
		printf("could not unload the guard\n");
}

/* The fsdax file where this kernel registers one, else a page-cache file. */
static int demo_files(void)
{
	if (!demo_file("a file on fsdax (xfs or ext4 -o dax)", map_fsdax_shared, ACT_REVOKE))
		return 0;
	if (demo_file("instead: device-DAX, which pins on every kernel", map_devdax_region,
		      ACT_NONE))
		return -1;
	return demo_file("truncate semantics with a page-cache file (pinned, leased)",
			 map_pagecache_shared, ACT_REVOKE) ? -1 : 1;
}

int main(int argc, char **argv)
{
	struct ibv_context *ctx;
	pid_t guardd;
	int which, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 2) {
		fprintf(stderr, "usage: rdmapin-demo RDMAPIN_GUARDD\n");
		return 2;
	}
	if (read_env() || !(ctx = rdma_peer_open_device(env.rxe0)))
		return 1;
	show_host(ctx);
	ibv_close_device(ctx);
	which = demo_files();
	if (which < 0)
		return 1;
	printf("\n== the same with rdmapin-guardd running: the truncate guard instead of a "
	       "lease\n");
	guardd = start_guardd(argv[1]);
	ret = demo_file(which ? "a page-cache file, guarded" : "the fsdax file, guarded",
			which ? map_pagecache_shared : map_fsdax_shared, ACT_REFUSE);
	stop_guardd(guardd);
	return ret ? 1 : 0;
}
