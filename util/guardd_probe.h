/* SPDX-License-Identifier: MIT */
/*
 * Whether the truncate guard can work here, as rdmapin-guardd(8) --probe
 * tells: only the daemon links the loader, so others ask it.
 */
#ifndef RDMAPIN_UTIL_GUARDD_PROBE_H
#define RDMAPIN_UTIL_GUARDD_PROBE_H

#include <stddef.h>

/*
 * Runs "@path --probe" as this process's user and reads the line it prints
 * into @line: 0 when the guard is loaded or could be loaded, 1 when not (the
 * line says why); -1 with errno and a message when it cannot be run, ENOENT
 * when it is not installed.
 */
int rdmapin_guardd_probe(const char *path, char *line, size_t len);

#endif
