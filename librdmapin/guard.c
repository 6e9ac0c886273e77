// SPDX-License-Identifier: MIT
/*
 * Loads the truncate guard (bpf/rdmapin_guard.bpf.c) and edits its map of
 * guarded inodes. The instance lives in bpffs, not in this process: its links
 * and map are pinned under RDMAPIN_GUARD_DIR, the map last, so that a map pin
 * means a complete instance. Each call opens the pins afresh and holds a
 * flock on their directory, which orders loads and the map's read-modify-write
 * refcounts between threads and processes alike, and leaves nothing behind
 * that could go stale when the guard is unloaded (rm -r RDMAPIN_GUARD_DIR).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "error.h"
#include "guard.h"
#include "rdmapin_guard.h"
#include "rdmapin_guard.skel.h"

#define BPFFS "/sys/fs/bpf"
#define LSM_LIST "/sys/kernel/security/lsm"
/* MKDEV() in include/linux/kdev_t.h: the kernel's dev_t, unlike st_dev. */
#define KERNEL_MINORBITS 20

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

/* Closes @fd, keeping errno: the caller's error stays the one reported. */
static void close_keep_errno(int fd)
{
	int err = errno;

	close(fd);
	errno = err;
}

static void destroy_keep_errno(struct rdmapin_guard *skel)
{
	int err = errno;

	rdmapin_guard__destroy(skel);
	errno = err;
}

static int not_loaded(const char *who)
{
	return rdmapin_fail(ENOENT, "%s: the truncate guard is not loaded (no %s); (re)start "
			    "rdmapin-guardd, which loads it", who, RDMAPIN_GUARD_MAP);
}

/* The pinned map, or -1 with errno: ENOENT, without a message, when no guard is loaded. */
static int open_map(const char *who)
{
	int fd = bpf_obj_get(RDMAPIN_GUARD_MAP);

	if (fd >= 0 || errno == ENOENT)
		return fd;
	return rdmapin_fail(errno == EACCES ? EPERM : errno,
			    "%s: cannot open the truncate guard's map %s: %s; the guard is "
			    "root-only", who, RDMAPIN_GUARD_MAP, strerror(errno));
}

/*
 * The guard's programs, loaded but not attached, when this kernel and process
 * can run them; NULL with errno, and @why saying why, when not. Only the
 * kernel can tell whether it lets this process load them, so even a probe
 * loads them, before the checks that cannot prove a refusal (the LSM list
 * when securityfs is not mounted).
 */
/*
 * libbpf tells stderr why a load failed; a library must not write to its
 * application's stderr, and the reason reaches the caller through why.
 */
static int load_quietly(struct rdmapin_guard *skel)
{
	libbpf_print_fn_t old = libbpf_set_print(NULL);
	int ret = rdmapin_guard__load(skel), err = errno;

	libbpf_set_print(old);
	errno = err;
	return ret;
}

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

int rdmapin_guard_probe(char *why, size_t len)
{
	struct rdmapin_guard *skel;
	int fd = bpf_obj_get(RDMAPIN_GUARD_MAP);

	if (fd >= 0) {
		close(fd);
		snprintf(why, len, "loaded, pinned at " RDMAPIN_GUARD_DIR);
		return 0;
	}
	if (errno != ENOENT)
		return unavailable(errno == EACCES ? EPERM : errno, why, len,
				   "cannot open the guard's map %s: %s; the guard is root-only",
				   RDMAPIN_GUARD_MAP, strerror(errno));
	skel = load_programs(why, len);
	if (!skel)
		return -1;
	rdmapin_guard__destroy(skel);
	snprintf(why, len, "not loaded; this process can load it");
	return 0;
}

/*
 * The pin directory, created root-only if need be, open and locked: closing
 * the fd unlocks it. Anyone who can open the map's pin can lift guards or
 * freeze files that are not theirs, so a directory open to others is refused.
 */
static int lock_pin_dir(const char *who, bool create)
{
	struct stat st;
	int dirfd, err;

	if (create && mkdir(RDMAPIN_GUARD_DIR, 0700) && errno != EEXIST)
		return rdmapin_fail(errno, "%s: cannot create %s: %s", who, RDMAPIN_GUARD_DIR,
				    strerror(errno));
	dirfd = open(RDMAPIN_GUARD_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 && errno == ENOENT)
		return not_loaded(who);
	if (dirfd < 0)
		return rdmapin_fail(errno == EACCES ? EPERM : errno,
				    "%s: cannot open %s: %s; the guard is root-only", who,
				    RDMAPIN_GUARD_DIR, strerror(errno));
	if (fstat(dirfd, &st) || flock(dirfd, LOCK_EX)) {
		err = errno;
		close(dirfd);
		return rdmapin_fail(err, "%s: cannot lock %s: %s", who, RDMAPIN_GUARD_DIR,
				    strerror(err));
	}
	if (st.st_uid || st.st_mode & 077) {
		close(dirfd);
		return rdmapin_fail(EPERM, "%s: %s must be root's and closed to others (owner "
				    "%u, mode %03o): remove it and load the guard again", who,
				    RDMAPIN_GUARD_DIR, st.st_uid, st.st_mode & 0777);
	}
	return dirfd;
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
		return rdmapin_fail(errno, "rdmapin_guard_load: cannot attach the truncate "
				    "guard to %s: %s", bpf_program__section_name(prog),
				    strerror(errno));
	snprintf(path, sizeof(path), RDMAPIN_GUARD_DIR "/%s", bpf_program__name(prog));
	if (bpf_link__pin(link, path))
		err = errno;
	bpf_link__destroy(link);
	if (err)
		return rdmapin_fail(err, "rdmapin_guard_load: cannot pin %s: %s", path,
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
	rdmapin_fail(errno, "rdmapin_guard_load: cannot pin %s: %s", RDMAPIN_GUARD_MAP,
		     strerror(errno));
err:
	unpin_links(skel, dirfd);
	return -1;
}

int rdmapin_guard_load(void)
{
	struct rdmapin_guard *skel;
	char why[256];
	int dirfd, fd, ret = -1;

	fd = open_map("rdmapin_guard_load");
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	if (errno != ENOENT)
		return -1;
	skel = load_programs(why, sizeof(why));
	if (!skel)
		return rdmapin_fail(errno, "rdmapin_guard_load: the truncate guard cannot work "
				    "here: %s", why);
	dirfd = lock_pin_dir("rdmapin_guard_load", true);
	if (dirfd >= 0) {
		/* Another process may have pinned an instance while we waited for the lock. */
		fd = open_map("rdmapin_guard_load");
		if (fd >= 0) {
			close(fd);
			ret = 0;
		} else if (errno == ENOENT) {
			ret = pin_guard(skel, dirfd);
		}
		close_keep_errno(dirfd);
	}
	destroy_keep_errno(skel);
	return ret;
}

void rdmapin_guard_key_init(struct rdmapin_guard_key *key, dev_t dev, ino_t ino)
{
	*key = (struct rdmapin_guard_key){
		.dev = major(dev) << KERNEL_MINORBITS | minor(dev),
		.ino = ino,
	};
}

int rdmapin_guard_key_of(int fd, struct rdmapin_guard_key *key, const char *who)
{
	struct stat st;

	if (fstat(fd, &st))
		return rdmapin_fail(errno, "%s: fd %d: %s; pass the open file to guard", who, fd,
				    strerror(errno));
	if (!S_ISREG(st.st_mode))
		return rdmapin_fail(EINVAL, "%s: fd %d is not a regular file; only those can be "
				    "truncated", who, fd);
	rdmapin_guard_key_init(key, st.st_dev, st.st_ino);
	return 0;
}

int rdmapin_guard_holds(const struct rdmapin_guard_key *key)
{
	struct rdmapin_guard_value val;
	int fd = bpf_obj_get(RDMAPIN_GUARD_MAP), ret;

	if (fd < 0)
		return -1;
	ret = bpf_map_lookup_elem(fd, key, &val) ? (errno == ENOENT ? 0 : -1) : 1;
	close(fd);
	return ret;
}

bool rdmapin_guard_writable(void)
{
	int fd = bpf_obj_get(RDMAPIN_GUARD_MAP);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * Reads the guard entry of @key for a read-modify-write: returns the map's
 * fd, with *@dirfd open and locked until the caller closes both, and says in
 * *@found whether @val was read.
 */
static int lock_entry(const struct rdmapin_guard_key *key, const char *who,
		      struct rdmapin_guard_value *val, bool *found, int *dirfd)
{
	int map;

	*dirfd = lock_pin_dir(who, false);
	if (*dirfd < 0)
		return -1;
	map = open_map(who);
	if (map < 0) {
		if (errno == ENOENT)
			not_loaded(who);
		close_keep_errno(*dirfd);
		return -1;
	}
	*found = !bpf_map_lookup_elem(map, key, val);
	if (*found || errno == ENOENT)
		return map;
	rdmapin_fail(errno, "%s: cannot read the truncate guard's map: %s", who, strerror(errno));
	close_keep_errno(map);
	close_keep_errno(*dirfd);
	return -1;
}

int rdmapin_guard_ref(const struct rdmapin_guard_key *key, const char *who)
{
	struct rdmapin_guard_value val = { .refs = 0 };
	int map, dirfd, ret = 0;
	bool found;

	map = lock_entry(key, who, &val, &found, &dirfd);
	if (map < 0)
		return -1;
	val.refs++;
	if (bpf_map_update_elem(map, key, &val, BPF_ANY))
		ret = errno == E2BIG ?
			rdmapin_fail(ENOSPC, "%s: the truncate guard holds its limit of %d files",
				     who, RDMAPIN_GUARD_MAX_INODES) :
			rdmapin_fail(errno, "%s: cannot update the truncate guard's map: %s", who,
				     strerror(errno));
	close_keep_errno(map);
	close_keep_errno(dirfd);
	return ret;
}

int rdmapin_guard_unref(const struct rdmapin_guard_key *key, const char *who)
{
	struct rdmapin_guard_value val = { .refs = 0 };
	int map, dirfd, ret;
	bool found;

	map = lock_entry(key, who, &val, &found, &dirfd);
	if (map < 0)
		return -1;
	if (!found)
		ret = rdmapin_fail(ENOENT, "%s: the file (inode %llu) is not guarded; each unref "
				   "undoes one ref", who, (unsigned long long)key->ino);
	else if (--val.refs ? bpf_map_update_elem(map, key, &val, BPF_EXIST) :
			      bpf_map_delete_elem(map, key))
		ret = rdmapin_fail(errno, "%s: cannot update the truncate guard's map: %s", who,
				   strerror(errno));
	else
		ret = 0;
	close_keep_errno(map);
	close_keep_errno(dirfd);
	return ret;
}
