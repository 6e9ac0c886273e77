/* SPDX-License-Identifier: MIT */
/*
 * Real remote RDMA for the examples, and for the tests that link them: one
 * RC QP per process, on two rxe devices.
 *
 * The caller forks first and each process opens its own device, so the
 * data really crosses the (emulated) wire instead of a loopback shortcut:
 *
 *	socketpair(AF_UNIX, SOCK_STREAM, 0, sv); fork();
 *	rdma_peer_open(&p, "rxe0" or "rxe1", gid_index);
 *	ibv_reg_mr(p.pd, ...);
 *	rdma_peer_connect(&p, sv[i], target_mr_or_NULL, &remote);
 *	rdma_peer_write(&p, src_mr, &remote, offset, len);	(one side)
 *	rdma_peer_close(&p);
 *
 * Every failure prints "rdma_peer: <verb>: <strerror>" on stderr.
 */
#ifndef RDMAPIN_EXAMPLES_RDMA_PEER_H
#define RDMAPIN_EXAMPLES_RDMA_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <infiniband/verbs.h>

/* Software RoCE in a TCG guest is slow: bound each wait generously. */
#define RDMA_PEER_CQ_TIMEOUT_MS 20000
#define RDMA_PEER_SOCK_TIMEOUT_MS 60000

/* What one end tells the other: its QP and a memory region it may write. */
struct rdma_peer_info {
	union ibv_gid gid;
	uint64_t addr;
	uint64_t length;
	uint32_t rkey;
	uint32_t qpn;
	uint32_t psn;
};

struct rdma_peer {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	int gid_index;
};

/* Opens the RDMA device called @name; NULL on failure. */
struct ibv_context *rdma_peer_open_device(const char *name);

/* Opens @dev_name and creates a PD, a CQ and an RC QP in RESET state. */
int rdma_peer_open(struct rdma_peer *p, const char *dev_name, int gid_index);

/*
 * Swaps connection info with the other process over @sock, exposing
 * @target (may be NULL) for remote writes, and moves the QP to RTS. Returns
 * only once both ends are ready, so a write posted next cannot reach a QP
 * that is not yet in RTR.
 */
int rdma_peer_connect(struct rdma_peer *p, int sock, const struct ibv_mr *target,
		      struct rdma_peer_info *remote);

/*
 * RDMA WRITEs the first @len bytes of @src to @remote's region at @offset
 * and waits for the completion. Returns its enum ibv_wc_status, or -1 if
 * the write could not be posted or did not complete in time.
 */
int rdma_peer_write(struct rdma_peer *p, const struct ibv_mr *src,
		    const struct rdma_peer_info *remote, uint64_t offset, size_t len);

void rdma_peer_close(struct rdma_peer *p);

/* Whole-buffer transfers on the control socket; 0 or -1. */
int rdma_peer_send(int sock, const void *buf, size_t len);
int rdma_peer_recv(int sock, void *buf, size_t len);

#endif
