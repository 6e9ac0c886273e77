/* SPDX-License-Identifier: MIT */
/*
 * rdmapin-guardd's config: how an administrator widens the guard's rule
 * (the lease rule: the file's owner, or CAP_LEASE). Only root may write it.
 *
 *	# comment
 *	allow-group GROUP	members of GROUP may have guarded the files of
 *				GROUP that they have open for writing
 */
#ifndef RDMAPIN_GUARDD_CONFIG_H
#define RDMAPIN_GUARDD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define GUARDD_DEFAULT_CONFIG "/etc/rdmapin/guardd.conf"

struct guardd_config {
	gid_t *groups;		/* allow-group */
	size_t ngroups;
};

/*
 * Reads @path into @cfg; a missing file widens nothing. -1 after saying on
 * stderr why: it cannot be read, others than root may write it, or a line
 * is wrong.
 */
int guardd_config_read(struct guardd_config *cfg, const char *path);

void guardd_config_free(struct guardd_config *cfg);

/* Whether @cfg lets process @pid freeze a file of group @gid beyond the lease rule. */
bool guardd_config_allows(const struct guardd_config *cfg, pid_t pid, gid_t gid);

#endif
