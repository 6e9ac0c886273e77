// SPDX-License-Identifier: MIT
/* rdmapin-guardd's config: see config.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "proc.h"

/*
 * A config that others may write would let them widen the rule for
 * themselves: it must be root's, writable by root alone, and not a link.
 */
static FILE *open_config(const char *path)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st = { .st_mode = 0 };

	if (fd < 0) {
		if (errno != ENOENT)
			fprintf(stderr, "rdmapin-guardd: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid || st.st_mode & 022) {
		fprintf(stderr, "rdmapin-guardd: %s must be a regular file of root's that only root "
			"may write (owner %u, mode %04o): chown root and chmod go-w it\n", path,
			st.st_uid, st.st_mode & 07777);
		close(fd);
		errno = EPERM;
		return NULL;
	}
	return fdopen(fd, "r");
}

static int allow_group(struct guardd_config *cfg, const char *name)
{
	struct group *g = getgrnam(name);
	gid_t *grown;
	char *end;
	gid_t gid;

	gid = g ? g->gr_gid : (gid_t)strtoul(name, &end, 10);
	if (!g && (*end || !*name))
		return -1;
	grown = reallocarray(cfg->groups, cfg->ngroups + 1, sizeof(*grown));
	if (!grown)
		return -1;
	cfg->groups = grown;
	cfg->groups[cfg->ngroups++] = gid;
	return 0;
}

static int parse_line(struct guardd_config *cfg, char *line)
{
	char word[32], arg[256];
	int n;

	line[strcspn(line, "#\n")] = '\0';
	n = sscanf(line, "%31s %255s", word, arg);
	if (n <= 0)
		return 0;
	if (n == 2 && !strcmp(word, "allow-group"))
		return allow_group(cfg, arg);
	return -1;
}

int guardd_config_read(struct guardd_config *cfg, const char *path)
{
	FILE *f = open_config(path);
	char line[512];
	int lineno = 0;

	if (!f)
		return errno == ENOENT ? 0 : -1;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (parse_line(cfg, line)) {
			fprintf(stderr, "rdmapin-guardd: %s:%d: not \"allow-group GROUP\" with a "
				"known group (rdmapin-guardd(8))\n", path, lineno);
			fclose(f);
			errno = EINVAL;
			return -1;
		}
	}
	fclose(f);
	return 0;
}

void guardd_config_free(struct guardd_config *cfg)
{
	free(cfg->groups);
	cfg->groups = NULL;
	cfg->ngroups = 0;
}

bool guardd_config_allows(const struct guardd_config *cfg, pid_t pid, gid_t gid)
{
	size_t i;

	for (i = 0; i < cfg->ngroups; i++)
		if (cfg->groups[i] == gid && rdmapin_proc_in_group(pid, gid))
			return true;
	return false;
}
