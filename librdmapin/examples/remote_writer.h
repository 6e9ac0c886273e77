/* SPDX-License-Identifier: MIT */
/*
 * A process on the second rxe device that RDMA-WRITEs a known pattern into
 * the caller's MR whenever asked: real remote RDMA, before and after
 * whatever the caller does to the target in between.
 *
 *	sock = remote_writer_start("rxe1", gid_index, len, &pid);
 *	rdma_peer_connect(&p, sock, target_mr, &remote);	(p on rxe0)
 *	status = remote_writer_write(sock, offset, len);	(an ibv_wc_status)
 *	remote_writer_stop(sock, pid);
 */
#ifndef RDMAPIN_EXAMPLES_REMOTE_WRITER_H
#define RDMAPIN_EXAMPLES_REMOTE_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Distinct for every 8 bytes, so misplaced data cannot compare equal. */
uint64_t remote_writer_pattern(size_t i);

/* Forks the writer; returns the caller's end of its socket, or -1. */
int remote_writer_start(const char *dev, int gid_index, size_t max_len, pid_t *pid);
/* The status of one RDMA WRITE of pattern bytes [0, len) at offset; -1: none. */
int remote_writer_write(int sock, uint64_t offset, uint64_t len);
/* Ends the writer; 0 if it exited cleanly, else its exit status or ECHILD. */
int remote_writer_stop(int sock, pid_t pid);

/* The first byte of [addr, addr + len) that differs from the pattern, or len. */
size_t remote_writer_verify(const void *addr, size_t len);

#endif
