// SPDX-License-Identifier: MIT
/*
 * The kernel cross-check (the CHECK column). A record is what a process
 * says it holds; the kernel's own tables say what it does hold: /proc/locks
 * lists each lease with its pid and file, and RDMA resource tracking (the
 * rdma netlink dump behind "rdma resource show mr") each MR with the pid
 * that made it and its length. Keys and addresses there need CAP_NET_ADMIN,
 * so pid and length are what match a pin to an MR, for any caller.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/types.h>
#include <rdma/rdma_netlink.h>

#include <rdmapin/rdmapin.h>
#include "guard_map.h"
#include "kcheck.h"
#include "rdmapin_guard.h"
#include "xalloc.h"

struct lease {
	pid_t pid;
	unsigned int major, minor;
	uint64_t ino;
};

struct kernel_mr {
	pid_t pid;			/* the thread that registered it */
	pid_t tgid;			/* its process; 0 until looked up */
	uint64_t length;
	bool taken;			/* matched to a pin already */
};

struct mr_list {
	struct kernel_mr *v;
	size_t n, cap;
};

static size_t read_leases(struct lease **out)
{
	struct lease l, *v = NULL;
	char line[256], type[16], state[16];
	size_t n = 0;
	FILE *f;

	f = fopen("/proc/locks", "re");
	if (!f)
		return 0;
	/* "1: LEASE  ACTIVE    WRITE 1234 fd:00:56789 0 EOF"; "1: -> ..." is a waiter. */
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*d: %15s %15s %*s %d %x:%x:%" SCNu64, type, state, &l.pid,
			   &l.major, &l.minor, &l.ino) != 6 ||
		    strcmp(type, "LEASE") || !strcmp(state, "BREAKER"))
			continue;
		v = xrealloc(v, n + 1, sizeof(*v));
		v[n++] = l;
	}
	fclose(f);
	*out = v;
	return n;
}

static bool has_lease(const struct lease *leases, size_t n, const struct pin *p)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (leases[i].pid == p->proc->pid && leases[i].ino == p->ino &&
		    leases[i].major == major(p->dev) && leases[i].minor == minor(p->dev))
			return true;
	return false;
}

struct attr_iter {
	const char *p;
	size_t left;
};

static const struct nlattr *attr_next(struct attr_iter *it)
{
	const struct nlattr *a = (const void *)it->p;
	size_t step;

	if (it->left < NLA_HDRLEN || a->nla_len < NLA_HDRLEN || a->nla_len > it->left)
		return NULL;
	step = NLA_ALIGN(a->nla_len);
	if (step > it->left)
		step = it->left;
	it->p += step;
	it->left -= step;
	return a;
}

static struct attr_iter attr_children(const struct nlattr *a)
{
	return (struct attr_iter){ (const char *)a + NLA_HDRLEN, a->nla_len - NLA_HDRLEN };
}

/* tb[type]: the last attribute of each type in the stream, NULL if none. */
static void parse_attrs(struct attr_iter it, const struct nlattr **tb)
{
	const struct nlattr *a;

	memset(tb, 0, RDMA_NLDEV_ATTR_MAX * sizeof(*tb));
	while ((a = attr_next(&it)))
		if ((a->nla_type & NLA_TYPE_MASK) < RDMA_NLDEV_ATTR_MAX)
			tb[a->nla_type & NLA_TYPE_MASK] = a;
}

static bool attr_get(const struct nlattr *a, void *val, size_t size)
{
	if (!a || a->nla_len < NLA_HDRLEN + size)
		return false;
	memcpy(val, (const char *)a + NLA_HDRLEN, size);
	return true;
}

typedef void (*dump_fn)(const struct nlattr **tb, void *ctx);

/* Runs one nldev dump (of one device if dev_index), calling fn per message. */
static int nl_dump(int fd, uint32_t seq, uint16_t cmd, const uint32_t *dev_index, dump_fn fn,
		   void *ctx)
{
	struct {
		struct nlmsghdr nh;
		struct nlattr attr;
		uint32_t index;
	} req = {
		.nh = {
			.nlmsg_len = NLMSG_LENGTH(0),
			.nlmsg_type = RDMA_NL_GET_TYPE(RDMA_NL_NLDEV, cmd),
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = seq,
		},
		.attr = { .nla_len = NLA_HDRLEN + sizeof(uint32_t),
			  .nla_type = RDMA_NLDEV_ATTR_DEV_INDEX },
	};
	static char buf[64 * 1024] __attribute__((aligned(NLMSG_ALIGNTO)));
	const struct nlattr *tb[RDMA_NLDEV_ATTR_MAX];
	const struct nlmsghdr *nh;
	ssize_t n;
	int status;

	if (dev_index) {
		req.index = *dev_index;
		req.nh.nlmsg_len = sizeof(req);
	}
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0)
		return -1;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (size_t)n > sizeof(buf)) {
			errno = n < 0 ? errno : EMSGSIZE;
			return -1;
		}
		for (nh = (const void *)buf; NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_seq != seq)
				continue;
			if (nh->nlmsg_type == NLMSG_ERROR || nh->nlmsg_type == NLMSG_DONE) {
				/* A dump that failed half way says so here: then the list is short. */
				status = 0;
				if (nh->nlmsg_len >= NLMSG_LENGTH(sizeof(status)))
					memcpy(&status, NLMSG_DATA(nh), sizeof(status));
				errno = -status;
				return status ? -1 : 0;
			}
			parse_attrs((struct attr_iter){ NLMSG_DATA(nh), NLMSG_PAYLOAD(nh, 0) }, tb);
			fn(tb, ctx);
		}
	}
}

struct dev_list {
	uint32_t *v;
	size_t n;
};

static void add_device(const struct nlattr **tb, void *ctx)
{
	struct dev_list *d = ctx;
	uint32_t index;

	if (!attr_get(tb[RDMA_NLDEV_ATTR_DEV_INDEX], &index, sizeof(index)))
		return;
	d->v = xrealloc(d->v, d->n + 1, sizeof(*d->v));
	d->v[d->n++] = index;
}

/* One message holds a table of MR entries; kernel MRs name no pid and are left out. */
static void add_mrs(const struct nlattr **tb, void *ctx)
{
	const struct nlattr *entry, *e[RDMA_NLDEV_ATTR_MAX];
	struct mr_list *l = ctx;
	struct attr_iter it;
	struct kernel_mr mr = { 0 };
	uint32_t pid;

	if (!tb[RDMA_NLDEV_ATTR_RES_MR])
		return;
	it = attr_children(tb[RDMA_NLDEV_ATTR_RES_MR]);
	while ((entry = attr_next(&it))) {
		if ((entry->nla_type & NLA_TYPE_MASK) != RDMA_NLDEV_ATTR_RES_MR_ENTRY)
			continue;
		parse_attrs(attr_children(entry), e);
		if (!attr_get(e[RDMA_NLDEV_ATTR_RES_PID], &pid, sizeof(pid)) ||
		    !attr_get(e[RDMA_NLDEV_ATTR_RES_MRLEN], &mr.length, sizeof(mr.length)))
			continue;
		mr.pid = pid;
		l->v = xgrow(l->v, l->n, &l->cap, sizeof(*l->v));
		l->v[l->n++] = mr;
	}
}

/* Every user MR of every RDMA device; -1 if the kernel has no RDMA netlink. */
static int read_kernel_mrs(struct mr_list *mrs)
{
	struct dev_list devs = { 0 };
	uint32_t seq = 1;
	size_t i;
	int fd, ret;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_RDMA);
	if (fd < 0)
		return -1;
	/* The MR dump wants a device index: list the devices first. */
	ret = nl_dump(fd, seq++, RDMA_NLDEV_CMD_GET, NULL, add_device, &devs);
	for (i = 0; !ret && i < devs.n; i++)
		ret = nl_dump(fd, seq++, RDMA_NLDEV_CMD_RES_MR_GET, &devs.v[i], add_mrs, mrs);
	close(fd);
	free(devs.v);
	return ret;
}

static pid_t tgid_of(pid_t tid)
{
	char path[64], line[128];
	pid_t tgid = tid;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return tid;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	return tgid;
}

/*
 * Claims an MR of pid with that length for one pin. The kernel names the
 * thread that registered, which is the process only for its main thread:
 * other threads' ids are resolved to their process when nothing else fits.
 */
static bool take_mr(struct mr_list *mrs, pid_t pid, uint64_t length)
{
	struct kernel_mr *mr;
	int pass;

	for (pass = 0; pass < 2; pass++)
		for (mr = mrs->v; mr < mrs->v + mrs->n; mr++) {
			if (mr->taken || mr->length != length)
				continue;
			if (pass && !mr->tgid)
				mr->tgid = tgid_of(mr->pid);
			if (pass ? mr->tgid == pid : mr->pid == pid) {
				mr->taken = true;
				return true;
			}
		}
	return false;
}

/* Only a reader who may open the guard's map can say it lacks a file. */
static bool has_guard(const struct pin *p)
{
	struct rdmapin_guard_key key;

	rdmapin_guard_key_init(&key, p->dev, p->ino);
	return rdmapin_guard_holds(&key) != 0;
}

void kcheck_pins(struct pin *pins, size_t n)
{
	struct mr_list mrs = { 0 };
	struct lease *leases = NULL;
	size_t i, nleases = 0;
	bool rdma = read_kernel_mrs(&mrs) == 0;

	if (rdma)
		nleases = read_leases(&leases);
	for (i = 0; i < n; i++) {
		struct pin *p = &pins[i];

		/* Unmanaged rows say nothing to check, and a revoked MR is gone by design. */
		if (!rdma || p->unmanaged || p->state != RDMAPIN_PIN_ACTIVE) {
			p->check = CHECK_NOT_RUN;
			continue;
		}
		if (p->lease != RDMAPIN_LEASE_KIND_NONE && !has_lease(leases, nleases, p))
			p->check |= CHECK_NO_LEASE;
		if (p->guard != RDMAPIN_GUARD_KIND_NONE && !has_guard(p))
			p->check |= CHECK_NO_GUARD;
		if (!take_mr(&mrs, p->proc->pid, p->length))
			p->check |= CHECK_NO_KERNEL_MR;
	}
	free(leases);
	free(mrs.v);
}
