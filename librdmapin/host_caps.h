/* SPDX-License-Identifier: MIT */
#ifndef RDMAPIN_HOST_CAPS_H
#define RDMAPIN_HOST_CAPS_H

#include <stdbool.h>
#include <rdmapin/rdmapin.h>

/* The probed host, without the caller's copy: probes on first use. */
const struct rdmapin_host_caps *rdmapin_host(void);

/*
 * Linux 6.5 refuses long-term writable pins of shared file mappings that need
 * dirty tracking (page-cache files; shmem and DAX devices are spared).
 */
bool rdmapin_host_refuses_file_pins(void);

#endif
