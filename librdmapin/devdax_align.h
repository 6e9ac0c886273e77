/* SPDX-License-Identifier: MIT */
/*
 * The alignment of device-DAX devices, read from their sysfs attribute
 * through a descriptor the library keeps per device: a registration reads it
 * with one pread() after a check (app_fd.h). Walking the paths to the
 * attribute and to the device's subsystem each time made a 2 MiB
 * registration's overhead ~0.9 ms against ~0.45 ms in a 6.1 TCG guest, where
 * mappings do not tell their page size. A device deleted meanwhile (its namespace recreated, maybe on the
 * same number) fails that read, and a dynamic device realigned while
 * unbound answers its new alignment: neither is believed from memory.
 */
#ifndef RDMAPIN_DEVDAX_ALIGN_H
#define RDMAPIN_DEVDAX_ALIGN_H

#include <stdint.h>
#include <sys/types.h>

/*
 * The alignment of character device @rdev, 0 on success; -1 with errno
 * ENODEV when it is not device-DAX, or the error that kept its align
 * attribute (Linux 5.10) from being read.
 */
int rdmapin_devdax_align(dev_t rdev, uint64_t *align);
/* In a forked child: closes its copies that are still the library's. */
void rdmapin_devdax_align_forget(void);

#endif
