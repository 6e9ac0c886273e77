// SPDX-License-Identifier: MIT
/*
 * Loads the truncate guard (bpf/rdmapin_guard.bpf.c). The instance lives in
 * bpffs, not in this process: its links and map are pinned under
 * RDMAPIN_GUARD_DIR, the map last, so that a map pin means a complete
 * instance. Pinning holds the pin directory's lock (rdmapin_guard_lock_dir()),
 * so that of two daemons loading at once, only one pins its instance.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/types.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "error.h"
#include "guard_load.h"
#include "guard_map.h"
#include "rdmapin_guard.skel.h"

/* Who the messages of a load name. */
#define LOADER "rdmapin_guard_load"
#define BPFFS "/sys/fs/bpf"
#define LSM_LIST "/sys/kernel/security/lsm"

/* Which variant of each hook the running kernel has. */
struct guard_hooks {
	bool file_truncate;	/* since Linux 6.2 */
	bool setattr_idmap;	/* inode_setattr(idmap, dentry, attr), not (dentry, attr) */
};

static __attribute__((format(printf, 4, 5))) int unavailable(int err, char *why, size_t len,
							     const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	errno = err;
	return -1;
}

static int check_lsm_active(char *why, size_t len)
{
	char list[256] = "", padded[sizeof(list) + 2];
	FILE *f = fopen(LSM_LIST, "re");

	if (!f)
		return unavailable(EOPNOTSUPP, why, len,
				   "cannot tell whether the BPF LSM is active: " LSM_LIST
				   ": %s; mount securityfs on /sys/kernel/security",
				   strerror(errno));
	if (!fgets(list, sizeof(list), f))
		list[0] = '\0';
	fclose(f);
	list[strcspn(list, "\n")] = '\0';
	/* A comma-separated list: "lockdown,capability,landlock,yama,apparmor,bpf". */
	snprintf(padded, sizeof(padded), ",%s,", list);
	if (!strstr(padded, ",bpf,"))
		return unavailable(EOPNOTSUPP, why, len,
				   "bpf is not among the active LSMs (%s): boot with lsm=%s,bpf",
				   list, list);
	return 0;
}

static int find_hooks(struct guard_hooks *hooks, char *why, size_t len)
{
	const struct btf_type *proto;
	struct btf *btf;
	int id, ret = 0;

	btf = btf__load_vmlinux_btf();
	if (!btf)
		return unavailable(EOPNOTSUPP, why, len,
				   "the kernel's BTF cannot be read (/sys/kernel/btf/vmlinux: %s); "
				   "the guard needs a kernel built with CONFIG_DEBUG_INFO_BTF",
				   strerror(errno));
	/* bpf_lsm_<hook>() exists for each hook that BPF LSM programs may attach to. */
	id = btf__find_by_name_kind(btf, "bpf_lsm_inode_setattr", BTF_KIND_FUNC);
	if (id < 0 || btf__find_by_name_kind(btf, "bpf_lsm_path_truncate", BTF_KIND_FUNC) < 0) {
		ret = unavailable(EOPNOTSUPP, why, len,
				  "the kernel has no BPF LSM truncate hooks: it needs "
				  "CONFIG_BPF_LSM and CONFIG_SECURITY_PATH");
		goto out;
	}
	proto = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	hooks->setattr_idmap = btf_vlen(proto) == 3;
	hooks->file_truncate =
		btf__find_by_name_kind(btf, "bpf_lsm_file_truncate", BTF_KIND_FUNC) > 0;
out:
	btf__free(btf);
	return ret;
}

static bool has_cap(const struct __user_cap_data_struct *caps, int cap)
{
	return caps[CAP_TO_INDEX(cap)].effective & CAP_TO_MASK(cap);
}

/* What the kernel asks of a process that loads BPF LSM programs. */
static int check_privilege(char *why, size_t len)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, caps))
		return unavailable(errno, why, len, "capget: %s", strerror(errno));
	if (!has_cap(caps, CAP_SYS_ADMIN) &&
	    !(has_cap(caps, CAP_BPF) && has_cap(caps, CAP_PERFMON)))
		return unavailable(EPERM, why, len,
				   "loading the guard needs CAP_BPF and CAP_PERFMON, or "
				   "CAP_SYS_ADMIN; run as root, or have a privileged process "
				   "load it");
	return 0;
}

static int check_bpffs(char *why, size_t len)
{
	struct statfs fs;

	if (statfs(BPFFS, &fs) || fs.f_type != BPF_FS_MAGIC)
		return unavailable(EOPNOTSUPP, why, len, "no bpffs on " BPFFS " to pin the "
				   "guard in; mount -t bpf bpf " BPFFS);
	return 0;
}

static void destroy_keep_errno(struct rdmapin_guard *skel)
{
	int err = errno;

	rdmapin_guard__destroy(skel);
	errno = err;
}

/*
 * libbpf tells stderr why a load failed, verifier log and all; the reason
 * reaches the caller through why, which the daemon and its --probe print as
 * one line.
 */
static int load_quietly(struct rdmapin_guard *skel)
{
	libbpf_print_fn_t old = libbpf_set_print(NULL);
	int ret = rdmapin_guard__load(skel), err = errno;

	libbpf_set_print(old);
	errno = err;
	return ret;
}

/*
 * The guard's programs, loaded but not attached, when this kernel and process
 * can run them; NULL with errno, and @why saying why, when not. Only the
 * kernel can tell whether it lets this process load them, so even a probe
 * loads them, before the checks that cannot prove a refusal (the LSM list
 * when securityfs is not mounted).
 */
static struct rdmapin_guard *load_programs(char *why, size_t len)
{
	struct guard_hooks hooks = { 0 };
	struct rdmapin_guard *skel;

	if (check_privilege(why, len) || find_hooks(&hooks, why, len))
		return NULL;
	skel = rdmapin_guard__open();
	if (!skel) {
		unavailable(errno, why, len, "cannot open the guard's BPF object: %s",
			    strerror(errno));
		return NULL;
	}
	bpf_program__set_autoload(skel->progs.guard_file_truncate, hooks.file_truncate);
	bpf_program__set_autoload(skel->progs.guard_setattr_dentry, !hooks.setattr_idmap);
	bpf_program__set_autoload(skel->progs.guard_setattr_idmap, hooks.setattr_idmap);
	if (load_quietly(skel))
		unavailable(errno, why, len, "the kernel refuses the guard's BPF LSM programs: "
			    "%s%s", strerror(errno), errno == EPERM ? "; this process has the "
			    "capabilities, so a user namespace, lockdown or a security policy "
			    "forbids them" : "");
	else if (!check_lsm_active(why, len) && !check_bpffs(why, len))
		return skel;
	destroy_keep_errno(skel);
	return NULL;
}

/* 1 when an instance is pinned, 0 when none is, -1 when this process cannot tell. */
static int pinned(const char *who)
{
	int fd = rdmapin_guard_map_open(who);

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	close(fd);
	return 1;
}

int rdmapin_guard_probe(char *why, size_t len)
{
	struct rdmapin_guard *skel;
	int ret = pinned("rdmapin-guardd");

	if (ret > 0) {
		snprintf(why, len, "loaded, pinned at " RDMAPIN_GUARD_DIR);
		return 0;
	}
	if (ret < 0)
		return unavailable(errno, why, len, "%s", rdmapin_error_msg());
	skel = load_programs(why, len);
	if (!skel)
		return -1;
	rdmapin_guard__destroy(skel);
	snprintf(why, len, "not loaded; this process can load it");
	return 0;
}

/* Removes the link pins of an instance that never got its map pinned. */
static void unpin_links(const struct rdmapin_guard *skel, int dirfd)
{
	struct bpf_program *prog;
	int err = errno;

	bpf_object__for_each_program(prog, skel->obj)
		unlinkat(dirfd, bpf_program__name(prog), 0);
	errno = err;
}

/* Attaches @prog and pins its link, which then keeps it attached. */
static int pin_link(struct bpf_program *prog)
{
	char path[PATH_MAX];
	struct bpf_link *link;
	int err = 0;

	link = bpf_program__attach(prog);
	if (!link)
		return rdmapin_fail(errno, LOADER ": cannot attach the truncate "
				    "guard to %s: %s", bpf_program__section_name(prog),
				    strerror(errno));
	snprintf(path, sizeof(path), RDMAPIN_GUARD_DIR "/%s", bpf_program__name(prog));
	if (bpf_link__pin(link, path))
		err = errno;
	bpf_link__destroy(link);
	if (err)
		return rdmapin_fail(err, LOADER ": cannot pin %s: %s", path,
				    strerror(err));
	return 0;
}

/* Attaches the loaded programs and pins them, and then the map. */
static int pin_guard(struct rdmapin_guard *skel, int dirfd)
{
	struct bpf_program *prog;

	unpin_links(skel, dirfd);
	bpf_object__for_each_program(prog, skel->obj) {
		if (bpf_program__autoload(prog) && pin_link(prog))
			goto err;
	}
	if (!bpf_map__pin(skel->maps.guarded_inodes, RDMAPIN_GUARD_MAP))
		return 0;
	rdmapin_fail(errno, LOADER ": cannot pin %s: %s", RDMAPIN_GUARD_MAP,
		     strerror(errno));
err:
	unpin_links(skel, dirfd);
	return -1;
}

/* Pins @skel's instance under the pin directory's lock, unless one was pinned first. */
static int pin_once(struct rdmapin_guard *skel)
{
	int dirfd = rdmapin_guard_lock_dir(LOADER, true), ret, err;

	if (dirfd < 0)
		return -1;
	/* Another process may have pinned an instance while we waited for the lock. */
	ret = pinned(LOADER);
	if (!ret)
		ret = pin_guard(skel, dirfd);
	err = errno;
	close(dirfd);
	errno = err;
	return ret < 0 ? -1 : 0;
}

int rdmapin_guard_load(void)
{
	struct rdmapin_guard *skel;
	char why[256];
	int ret = pinned(LOADER);

	if (ret)
		return ret < 0 ? -1 : 0;
	skel = load_programs(why, sizeof(why));
	if (!skel)
		return rdmapin_fail(errno, LOADER ": the truncate guard cannot work here: %s", why);
	ret = pin_once(skel);
	destroy_keep_errno(skel);
	return ret;
}
