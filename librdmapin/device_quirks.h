/* SPDX-License-Identifier: MIT */
/*
 * Known defects of device drivers (see device_quirks.c): which apply to a
 * device on the running kernel, which a caller accepts, and the refusal.
 */
#ifndef RDMAPIN_DEVICE_QUIRKS_H
#define RDMAPIN_DEVICE_QUIRKS_H

#include <stdint.h>
#include <infiniband/verbs.h>
#include <rdmapin/rdmapin.h>

/* The quirks of the device that reported @attr, on this kernel. */
uint32_t rdmapin_device_quirks(const struct ibv_device_attr_ex *attr);

/* Of @quirks, those that corrupt registrations in @mode. */
uint32_t rdmapin_quirks_of_mode(uint32_t quirks, enum rdmapin_reg_mode mode);

/*
 * The quirks that RDMAPIN_ALLOW_QUIRKS accepts, into @allowed. -1 with
 * EINVAL when it names one this library does not know.
 */
int rdmapin_quirks_from_env(uint32_t *allowed);

/*
 * Fails with EOPNOTSUPP and a message that names the first of @quirks, the
 * device @dev, what the registration @what is, and the remedies.
 */
int rdmapin_quirk_refuse(uint32_t quirks, const char *what, const char *dev);

#endif
