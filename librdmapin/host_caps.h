/* SPDX-License-Identifier: MIT */
#ifndef RDMAPIN_HOST_CAPS_H
#define RDMAPIN_HOST_CAPS_H

#include <stdbool.h>
#include <sys/types.h>
#include <rdmapin/rdmapin.h>

/* The probed host, without the caller's copy: probes on first use. */
const struct rdmapin_host_caps *rdmapin_host(void);

/*
 * Linux 6.5 refuses long-term writable pins of shared file mappings that need
 * dirty tracking (page-cache files; shmem and DAX devices are spared).
 */
bool rdmapin_host_refuses_file_pins(void);

/* Whether the running kernel is Linux @major.@minor or later. */
bool rdmapin_host_kernel_at_least(unsigned int major, unsigned int minor);

/*
 * Before Linux 6.2, ib_umem_get() pins read-only registrations as forced
 * writes (FOLL_WRITE | FOLL_FORCE), which a shared mapping without
 * PROT_WRITE refuses with EFAULT.
 */
bool rdmapin_host_forces_ro_pins(void);

/*
 * The device of the kernel's internal shmem mount, where every memfd, shared
 * anonymous mapping and SysV segment lives (hugetlb ones excepted); 0 if
 * unknown. No filesystem that a path reaches has it.
 */
dev_t rdmapin_host_shm_dev(void);

#endif
