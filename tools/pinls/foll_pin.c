// SPDX-License-Identifier: MIT
/* Pinned pages, the kernel's count and the registry's: see foll_pin.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rdmapin/rdmapin.h>
#include "foll_pin.h"

bool kernel_pinned_pages(uint64_t *pages)
{
	uint64_t acquired = 0, released = 0, v;
	int found = 0;
	char name[64];
	FILE *f;

	f = fopen("/proc/vmstat", "re");
	if (!f)
		return false;
	while (fscanf(f, "%63s %" SCNu64, name, &v) == 2) {
		if (!strcmp(name, "nr_foll_pin_acquired")) {
			acquired = v;
			found++;
		} else if (!strcmp(name, "nr_foll_pin_released")) {
			released = v;
			found++;
		}
	}
	fclose(f);
	/* The two are read apart: a release between them must not wrap around. */
	*pages = acquired > released ? acquired - released : 0;
	return found == 2;
}

uint64_t registry_pinned_pages(const struct pin_list *pins)
{
	uint64_t page = sysconf(_SC_PAGESIZE), first, end, n = 0;
	const struct pin *s;
	size_t i;

	for (i = 0; i < pins->n; i++) {
		s = &pins->v[i];
		if (s->unmanaged || s->state != RDMAPIN_PIN_ACTIVE ||
		    s->mode != RDMAPIN_MODE_PIN || !s->length)
			continue;
		first = s->addr / page;
		end = (s->addr + s->length + page - 1) / page;
		n += end - first;
	}
	return n;
}
