// SPDX-License-Identifier: MIT
/* The remote writer process: see remote_writer.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rdma_peer.h"
#include "remote_writer.h"

struct request {
	uint64_t offset;
	uint64_t len;	/* 0: stop */
};

uint64_t remote_writer_pattern(size_t i)
{
	return (i + 1) * 0x9e3779b97f4a7c15ULL;
}

static struct ibv_mr *pattern_mr(struct rdma_peer *p, size_t len)
{
	uint64_t *buf = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			     -1, 0);
	size_t i;

	if (buf == MAP_FAILED)
		return NULL;
	for (i = 0; i < len / sizeof(*buf); i++)
		buf[i] = remote_writer_pattern(i);
	return ibv_reg_mr(p->pd, buf, len, IBV_ACCESS_LOCAL_WRITE);
}

/* Serves write requests until told to stop or the socket closes. */
static int serve(struct rdma_peer *p, int sock, size_t max_len)
{
	struct ibv_mr *src = pattern_mr(p, max_len);
	struct rdma_peer_info remote;
	struct request req;
	int status;

	if (!src) {
		perror("remote_writer: source buffer");
		return 1;
	}
	if (rdma_peer_connect(p, sock, NULL, &remote))
		return 1;
	while (!rdma_peer_recv(sock, &req, sizeof(req)) && req.len) {
		status = req.len > max_len ? -1 :
			 rdma_peer_write(p, src, &remote, req.offset, req.len);
		if (rdma_peer_send(sock, &status, sizeof(status)))
			return 1;
	}
	return 0;
}

int remote_writer_start(const char *dev, int gid_index, size_t max_len, pid_t *pid)
{
	struct rdma_peer p;
	int sv[2], ret = 1;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	*pid = fork();
	if (*pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (*pid == 0) {
		close(sv[0]);
		if (!rdma_peer_open(&p, dev, gid_index)) {
			ret = serve(&p, sv[1], max_len);
			rdma_peer_close(&p);
		}
		_exit(ret);
	}
	close(sv[1]);
	return sv[0];
}

int remote_writer_write(int sock, uint64_t offset, uint64_t len)
{
	struct request req = { .offset = offset, .len = len };
	int status;

	if (rdma_peer_send(sock, &req, sizeof(req)) || rdma_peer_recv(sock, &status, sizeof(status)))
		return -1;
	return status;
}

int remote_writer_stop(int sock, pid_t pid)
{
	struct request req = { 0 };
	int status;

	rdma_peer_send(sock, &req, sizeof(req));
	close(sock);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return ECHILD;
	return WEXITSTATUS(status);
}

size_t remote_writer_verify(const void *addr, size_t len)
{
	const uint64_t *w = addr;
	size_t i, n = len / sizeof(*w);

	for (i = 0; i < n && w[i] == remote_writer_pattern(i); i++)
		;
	return i < n ? i * sizeof(*w) : len;
}
