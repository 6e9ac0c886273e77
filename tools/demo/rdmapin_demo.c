// SPDX-License-Identifier: MIT
/*
 * The end-to-end demo, run inside a test guest (tests/vm/run-vm): a server
 * registers a file on fsdax, a peer on the other rxe device RDMA-WRITEs into
 * it, the data is read back from the file, another process truncates the file
 * and the MR is revoked first. On kernels where fsdax cannot be registered
 * it shows the refusal, registers device-DAX instead, and shows the
 * truncate part with a page-cache file. Then the same file again with
 * rdmapin-guardd running: the truncate fails with ETXTBSY while the peer
 * goes on writing. It prints what happened.
 *
 * Usage: rdmapin-demo RDMAPIN_GUARDD (the daemon's program)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "check.h"
#include "guest.h"
#include "rdma_peer.h"
#include "remote_writer.h"

#define MR_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)
#define WRITE_LEN (1UL << 20)

static const char *const mode_name[] = { [RDMAPIN_MODE_PIN] = "long-term pin",
					 [RDMAPIN_MODE_ODP] = "On-Demand Paging" };
static const char *const lease_name[] = { "none", "native layout lease",
					  "emulated layout lease (F_WRLCK)" };
static const char *const guard_name[] = { "none", "rdmapin-guardd (BPF LSM)",
					  "BPF LSM, edited directly" };
#define GUARDD_DIR "/run/rdmapin-demo-guardd"

/* What the intruder does to the registered file. */
enum act {
	ACT_NONE,
	ACT_REVOKE,	/* truncate a leased file: the MR is revoked first */
	ACT_REFUSE,	/* truncate a guarded file: ETXTBSY, the peer writes on */
};

static void show_host(struct ibv_context *ctx)
{
	struct rdmapin_device_caps dev;
	struct rdmapin_host_caps host;

	rdmapin_query_host(&host);
	rdmapin_query_device(ctx, &dev);
	printf("host: Linux %s; file leases %s; native layout lease %s; lease-break-time %u s\n",
	       host.kernel_release, host.flags & RDMAPIN_HOST_FILE_LEASES ? "yes" : "no",
	       host.flags & RDMAPIN_HOST_NATIVE_LAYOUT_LEASE ? "yes" : "no",
	       host.lease_break_time);
	printf("%s: RC On-Demand Paging %s\n", env.rxe0,
	       dev.flags & RDMAPIN_DEVICE_RC_ODP ? "yes" : "no");
}

static struct ibv_mr *register_file(struct ibv_pd *pd, struct mapping *m)
{
	struct rdmapin_mr_attr a;
	struct ibv_mr *mr;

	mr = rdmapin_reg_file_mr(pd, m->fd, 0, m->len, MR_ACCESS);
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
	double t = now_s();
	pid_t pid = fork();
	int err, status;

	if (pid == 0)
		_exit(truncate(path, 0) ? errno : 0);
	printf("[intruder pid %d] truncate(\"%s\", 0) ...\n", pid, path);
	if (poll(&pfd, 1, 10000) == 1 && !rdmapin_get_async_event(ctx, &ev)) {
		printf("[server] async event: %s for %s\n",
		       ev.type == RDMAPIN_EVENT_MR_REVOKED ? "MR revoked" : "lease breaking",
		       ev.path);
		rdmapin_ack_async_event(&ev);
	}
	err = child_errno(pid);
	printf("[intruder] truncate returned %s after %.1f ms (fs.lease-break-time would be "
	       "45 s)\n", err ? strerror(err) : "0", (now_s() - t) * 1e3);
	status = remote_writer_write(sock, 0, WRITE_LEN);
	printf("[peer on %s] RDMA WRITE after the revoke: %s\n", env.rxe1,
	       status < 0 ? "no completion" : ibv_wc_status_str(status));
}

static int intruder_truncate(const char *path)
{
	double t = now_s();
	pid_t pid = fork();
	int err;

	if (pid == 0)
		_exit(truncate(path, 0) ? errno : 0);
	err = child_errno(pid);
	printf("[intruder pid %d] truncate(\"%s\", 0): %s after %.1f ms\n", pid, path,
	       err ? strerrorname_np(err) : "0", (now_s() - t) * 1e3);
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
	struct mapping m = unmapped;
	struct ibv_mr *mr = NULL;
	struct rdma_peer p;
	int sock = -1, ret = -1;
	pid_t pid;

	printf("\n== %s\n", title);
	if (map(&m) || rdma_peer_open(&p, env.rxe0, env.gid_index)) {
		printf("set-up failed: %s\n", m.err);
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
