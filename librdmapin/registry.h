/* SPDX-License-Identifier: MIT */
/*
 * Publishing this process's pins in the pin registry (registry_format.h).
 * The caller fills the pin's values: the writer knows the file, not MRs.
 * Called under rdmapin_lock(), but for rdmapin_registry_open(). Publishing is best effort: a process that
 * cannot create its record (no runtime directory, a foreign uid directory)
 * registers all the same, unlisted.
 */
#ifndef RDMAPIN_REGISTRY_H
#define RDMAPIN_REGISTRY_H

#include <stdint.h>

#include "registry_format.h"

/* Creates this process's record if need be; not under the lock. */
void rdmapin_registry_open(void);
/* Publishes v: 1 + its slot, the caller's handle, or 0 if it cannot be published. */
uint32_t rdmapin_registry_add(const struct rdmapin_registry_pin *v);
/* Replaces a published pin's value; slot 0 (not published) is no pin. */
void rdmapin_registry_update(uint32_t slot, const struct rdmapin_registry_pin *v);
/* Changes only a published pin's state. */
void rdmapin_registry_set_state(uint32_t slot, enum rdmapin_pin_state state);
void rdmapin_registry_del(uint32_t slot);
/* In a forked child: the parent's record is not ours. */
void rdmapin_registry_forget(void);

#endif
