// SPDX-License-Identifier: MIT
/* Real remote RDMA between two rxe devices, one per process: see rdma_peer.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rdma_peer.h"

#define RDMA_PEER_PORT 1
#define RDMA_PEER_CQE 16
/* Any 24-bit value works; both ends learn the other's from the exchange. */
#define RDMA_PEER_PSN 0x1234
/* Local ACK timeout 4.096 us * 2^17, about 0.5 s: slow emulation, few retries. */
#define RDMA_PEER_ACK_TIMEOUT 17
#define RDMA_PEER_QP_ACCESS \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)

/*
 * Verbs report errors either as a positive errno value or as -1 / NULL with
 * errno set; @ret says which.
 */
static int fail(const char *verb, int ret)
{
	fprintf(stderr, "rdma_peer: %s: %s\n", verb, strerror(ret > 0 ? ret : errno));
	return -1;
}

struct ibv_context *rdma_peer_open_device(const char *name)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;
	int i;

	if (!list) {
		fail("ibv_get_device_list", -1);
		return NULL;
	}
	for (i = 0; list[i]; i++)
		if (!strcmp(ibv_get_device_name(list[i]), name))
			break;
	if (!list[i])
		fprintf(stderr, "rdma_peer: ibv_get_device_list: no device named %s\n", name);
	else if (!(ctx = ibv_open_device(list[i])))
		fail("ibv_open_device", -1);
	ibv_free_device_list(list);
	return ctx;
}

static int create_qp(struct rdma_peer *p)
{
	struct ibv_qp_init_attr attr = {
		.qp_type = IBV_QPT_RC,
		.sq_sig_all = 0,
		.cap = { .max_send_wr = 4, .max_recv_wr = 4, .max_send_sge = 1, .max_recv_sge = 1 },
	};

	p->pd = ibv_alloc_pd(p->ctx);
	if (!p->pd)
		return fail("ibv_alloc_pd", -1);
	p->cq = ibv_create_cq(p->ctx, RDMA_PEER_CQE, NULL, NULL, 0);
	if (!p->cq)
		return fail("ibv_create_cq", -1);
	attr.send_cq = p->cq;
	attr.recv_cq = p->cq;
	p->qp = ibv_create_qp(p->pd, &attr);
	if (!p->qp)
		return fail("ibv_create_qp", -1);
	return 0;
}

int rdma_peer_open(struct rdma_peer *p, const char *dev_name, int gid_index)
{
	memset(p, 0, sizeof(*p));
	p->gid_index = gid_index;
	p->ctx = rdma_peer_open_device(dev_name);
	if (!p->ctx || create_qp(p)) {
		rdma_peer_close(p);
		return -1;
	}
	return 0;
}

void rdma_peer_close(struct rdma_peer *p)
{
	if (p->qp)
		ibv_destroy_qp(p->qp);
	if (p->cq)
		ibv_destroy_cq(p->cq);
	if (p->pd)
		ibv_dealloc_pd(p->pd);
	if (p->ctx)
		ibv_close_device(p->ctx);
	memset(p, 0, sizeof(*p));
}

/*
 * The rxe ODP bug in 7.2 misplaces packets that do not start at a page
 * offset of 0; a 4096 path MTU with page-aligned writes avoids it, and
 * needs a netdev MTU of at least 4096 plus headers.
 */
static int local_info(struct rdma_peer *p, const struct ibv_mr *target, struct rdma_peer_info *info)
{
	static const union ibv_gid zero_gid;
	struct ibv_port_attr port;
	int ret;

	memset(info, 0, sizeof(*info));
	ret = ibv_query_port(p->ctx, RDMA_PEER_PORT, &port);
	if (ret)
		return fail("ibv_query_port", ret);
	if (port.active_mtu < IBV_MTU_4096) {
		fprintf(stderr,
			"rdma_peer: ibv_query_port: active MTU %d < 4096, raise the netdev MTU\n",
			128 << port.active_mtu);
		return -1;
	}
	ret = ibv_query_gid(p->ctx, RDMA_PEER_PORT, p->gid_index, &info->gid);
	if (ret)
		return fail("ibv_query_gid", ret);
	if (!memcmp(&info->gid, &zero_gid, sizeof(zero_gid))) {
		fprintf(stderr, "rdma_peer: ibv_query_gid: no GID at index %d\n", p->gid_index);
		return -1;
	}
	info->qpn = p->qp->qp_num;
	info->psn = RDMA_PEER_PSN;
	if (target) {
		info->addr = (uintptr_t)target->addr;
		info->length = target->length;
		info->rkey = target->rkey;
	}
	return 0;
}

static int to_init(struct rdma_peer *p)
{
	struct ibv_qp_attr attr = {
		.qp_state = IBV_QPS_INIT,
		.port_num = RDMA_PEER_PORT,
		.qp_access_flags = RDMA_PEER_QP_ACCESS,
	};
	const int mask = IBV_QP_STATE | IBV_QP_PKEY_INDEX | IBV_QP_PORT | IBV_QP_ACCESS_FLAGS;
	int ret = ibv_modify_qp(p->qp, &attr, mask);

	return ret ? fail("ibv_modify_qp(INIT)", ret) : 0;
}

static int to_rtr(struct rdma_peer *p, const struct rdma_peer_info *remote)
{
	struct ibv_qp_attr attr = {
		.qp_state = IBV_QPS_RTR,
		.path_mtu = IBV_MTU_4096,
		.dest_qp_num = remote->qpn,
		.rq_psn = remote->psn,
		.max_dest_rd_atomic = 1,
		.min_rnr_timer = 12,
		.ah_attr = {
			.is_global = 1,
			.grh = {
				.dgid = remote->gid,
				.sgid_index = p->gid_index,
				.hop_limit = 64,
			},
			.port_num = RDMA_PEER_PORT,
		},
	};
	const int mask = IBV_QP_STATE | IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_DEST_QPN |
			 IBV_QP_RQ_PSN | IBV_QP_MAX_DEST_RD_ATOMIC | IBV_QP_MIN_RNR_TIMER;
	int ret = ibv_modify_qp(p->qp, &attr, mask);

	return ret ? fail("ibv_modify_qp(RTR)", ret) : 0;
}

static int to_rts(struct rdma_peer *p)
{
	struct ibv_qp_attr attr = {
		.qp_state = IBV_QPS_RTS,
		.sq_psn = RDMA_PEER_PSN,
		.timeout = RDMA_PEER_ACK_TIMEOUT,
		.retry_cnt = 7,
		.rnr_retry = 7,
		.max_rd_atomic = 1,
	};
	const int mask = IBV_QP_STATE | IBV_QP_SQ_PSN | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT |
			 IBV_QP_RNR_RETRY | IBV_QP_MAX_QP_RD_ATOMIC;
	int ret = ibv_modify_qp(p->qp, &attr, mask);

	return ret ? fail("ibv_modify_qp(RTS)", ret) : 0;
}

int rdma_peer_connect(struct rdma_peer *p, int sock, const struct ibv_mr *target,
		      struct rdma_peer_info *remote)
{
	struct rdma_peer_info local;
	char ready = 1;

	if (local_info(p, target, &local) || rdma_peer_send(sock, &local, sizeof(local)) ||
	    rdma_peer_recv(sock, remote, sizeof(*remote)))
		return -1;
	if (to_init(p) || to_rtr(p, remote) || to_rts(p))
		return -1;
	if (rdma_peer_send(sock, &ready, 1) || rdma_peer_recv(sock, &ready, 1))
		return -1;
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Sleeps between polls: rxe does its work in kernel threads on few CPUs. */
static int wait_completion(struct rdma_peer *p, struct ibv_wc *wc)
{
	long long deadline = now_ms() + RDMA_PEER_CQ_TIMEOUT_MS;
	int n;

	while (!(n = ibv_poll_cq(p->cq, 1, wc))) {
		if (now_ms() > deadline) {
			fprintf(stderr, "rdma_peer: ibv_poll_cq: no completion within %d ms\n",
				RDMA_PEER_CQ_TIMEOUT_MS);
			return -1;
		}
		usleep(1000);
	}
	if (n < 0) {
		fprintf(stderr, "rdma_peer: ibv_poll_cq: failed (%d)\n", n);
		return -1;
	}
	return 0;
}

int rdma_peer_write(struct rdma_peer *p, const struct ibv_mr *src,
		    const struct rdma_peer_info *remote, uint64_t offset, size_t len)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)src->addr,
		.length = len,
		.lkey = src->lkey,
	};
	struct ibv_send_wr wr = {
		.sg_list = &sge,
		.num_sge = 1,
		.opcode = IBV_WR_RDMA_WRITE,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = remote->addr + offset, .rkey = remote->rkey },
	};
	struct ibv_send_wr *bad;
	struct ibv_wc wc;
	int ret;

	ret = ibv_post_send(p->qp, &wr, &bad);
	if (ret)
		return fail("ibv_post_send", ret);
	if (wait_completion(p, &wc))
		return -1;
	return wc.status;
}

/* MSG_NOSIGNAL: a peer that died must fail the call, not kill us with SIGPIPE. */
int rdma_peer_send(int sock, const void *buf, size_t len)
{
	const char *c = buf;
	ssize_t n;

	while (len) {
		n = send(sock, c, len, MSG_NOSIGNAL);
		if (n < 0 && errno != EINTR)
			return fail("send(control socket)", -1);
		if (n > 0) {
			c += n;
			len -= n;
		}
	}
	return 0;
}

/* Bounded, so a peer stuck in the kernel cannot hang its caller forever. */
int rdma_peer_recv(int sock, void *buf, size_t len)
{
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	char *c = buf;
	ssize_t n;
	int ret;

	while (len) {
		ret = poll(&pfd, 1, RDMA_PEER_SOCK_TIMEOUT_MS);
		if (ret < 0 && errno != EINTR)
			return fail("poll(control socket)", -1);
		if (ret == 0) {
			fprintf(stderr, "rdma_peer: poll(control socket): peer silent for %d ms\n",
				RDMA_PEER_SOCK_TIMEOUT_MS);
			return -1;
		}
		if (ret < 0)
			continue;
		n = recv(sock, c, len, 0);
		if (n < 0 && errno != EINTR)
			return fail("recv(control socket)", -1);
		if (n == 0) {
			fprintf(stderr, "rdma_peer: recv(control socket): peer closed it\n");
			return -1;
		}
		if (n > 0) {
			c += n;
			len -= n;
		}
	}
	return 0;
}
