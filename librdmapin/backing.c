// SPDX-License-Identifier: MIT
/*
 * What backs an address range. Registration differs per kind (DAX files
 * need a lease, device-DAX whole pages), so a range must be one kind and,
 * for files, one file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/magic.h>

#include "array.h"
#include "backing.h"
#include "devdax_align.h"
#include "error.h"
#include "file_cache.h"
#include "host_caps.h"
#include "own_fd.h"
#include "proc.h"
#include "vma.h"

/* getpagesize(): a load, where sysconf() was a switch of 50 instructions. */
static uint64_t base_page_size(void)
{
	return getpagesize();
}

/* Zeroing the whole path would be most of an anonymous registration's work. */
static void info_clear(struct rdmapin_backing_info *info)
{
	memset(info, 0, offsetof(struct rdmapin_backing_info, path));
	info->path[0] = '\0';
}

struct classify_ctx {
	uintptr_t start, end;
	int fd;
	char range[48];			/* "start-end" for messages, made when first needed */
	struct rdmapin_backing_info *info;
	unsigned int count;		/* mappings seen */
	/* The last mapping seen, as much of it as continues() compares. */
	uint64_t last_inode, last_offset;
	uint32_t last_major, last_minor;
	bool last_shared;
	bool mixed;			/* other is not the first mapping's object */
	uintptr_t other_start;
	struct rdmapin_backing_info other;
	/* What known_mapping() found of the mapping it was last asked about, if asked. */
	bool asked, known;
	dev_t known_dev;
	ino_t known_ino;
	uint64_t known_page_size;
	struct rdmapin_file_kind known_kind;
};

static const char *range_of(struct classify_ctx *c)
{
	if (!c->range[0])
		snprintf(c->range, sizeof(c->range), "0x%" PRIxPTR "-0x%" PRIxPTR, c->start,
			 c->end);
	return c->range;
}

/*
 * How messages name the file: "RANGE: NAME" for a mapping, else "fd FD
 * (NAME)"; written out only for a message (what()), as formatting it cost a
 * first MR on a file as many instructions as the rest of its classification.
 */
struct naming {
	struct classify_ctx *c; /* the mapping's range; NULL: the fd's */
	int fd;
	const char *name;
	char *text; /* WHAT_MAX bytes */
	bool made;
};

#define WHAT_MAX (PATH_MAX + 64)

static const char *what(struct naming *n)
{
	if (n->made)
		return n->text;
	if (n->c)
		snprintf(n->text, WHAT_MAX, "%s: %s", range_of(n->c), n->name);
	else
		snprintf(n->text, WHAT_MAX, "fd %d (%s)", n->fd, n->name);
	n->made = true;
	return n->text;
}

/* A file to stat: open at @fd (an O_PATH fd is enough), or reached by @path. */
struct file_ref {
	int fd;
	const char *path;
	bool once; /* its kind serves one check, not the file cache */
};

static int ref_statx(const struct file_ref *f, struct statx *stx)
{
	return f->path ? statx(AT_FDCWD, f->path, 0, STATX_TYPE | STATX_INO, stx) :
			 statx(f->fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_INO, stx);
}

static int ref_statfs(const struct file_ref *f, struct statfs *sfs)
{
	return f->path ? statfs(f->path, sfs) : fstatfs(f->fd, sfs);
}

/*
 * Whether a device-DAX node's inode number is never given to another file:
 * tmpfs (devtmpfs, /dev) and ramfs count them up. Where PROCMAP_QUERY gives
 * mappings' page sizes, those tell nodes apart instead (file_cache.h).
 */
static bool node_kept(const struct statx *stx, const struct file_ref *f)
{
	struct statfs sfs;

	if (stx->stx_dev_major || (rdmapin_host()->flags & RDMAPIN_HOST_PROCMAP_QUERY) ||
	    ref_statfs(f, &sfs))
		return false;
	return sfs.f_type == TMPFS_MAGIC || sfs.f_type == RAMFS_MAGIC;
}

/*
 * Device-DAX is the one character device whose mappings are registrable
 * memory. It maps whole pages of its alignment, and its namespace can be
 * recreated with another alignment whenever nothing maps it: the
 * alignment is read from the device (devdax_align.h) each time.
 */
static int chardev_kind(const struct statx *stx, const struct file_ref *f, struct naming *n,
			struct rdmapin_backing_info *info)
{
	dev_t rdev = makedev(stx->stx_rdev_major, stx->stx_rdev_minor);
	int ret = rdmapin_devdax_align(rdev, &info->page_size), err = errno;

	if (ret && err == ENODEV)
		return rdmapin_fail(EOPNOTSUPP,
				    "%s is character device %u:%u, not device-DAX; "
				    "register memory, a file or a /dev/daxX.Y mapping",
				    what(n), stx->stx_rdev_major, stx->stx_rdev_minor);
	if (ret || info->page_size < base_page_size())
		return rdmapin_fail(EIO,
				    "%s: cannot read the alignment of device-DAX %u:%u "
				    "from /sys/dev/char/%u:%u/align (%s); it needs Linux "
				    "5.10 or later",
				    what(n), stx->stx_rdev_major, stx->stx_rdev_minor,
				    stx->stx_rdev_major, stx->stx_rdev_minor,
				    ret ? strerror(err) : "not a size");
	info->kind = RDMAPIN_BACKING_DEVDAX;
	info->rdev = rdev;
	info->node_kept = !f->once && node_kept(stx, f);
	return 0;
}

static int stat_failed(struct naming *n)
{
	int err = errno;

	return rdmapin_fail(err, "%s: cannot stat the file: %s; pass an open fd of it", what(n),
			    strerror(err));
}

/*
 * Kind, identity and page size of the file @stx describes; its filesystem,
 * for a regular file, through @f.
 */
static int stat_kind(const struct statx *stx, const struct file_ref *f, struct naming *n,
		     struct rdmapin_backing_info *info)
{
	struct statfs sfs;
	bool dax;

	info->dev = makedev(stx->stx_dev_major, stx->stx_dev_minor);
	info->ino = stx->stx_ino;
	info->page_size = base_page_size();
	if (S_ISCHR(stx->stx_mode))
		return chardev_kind(stx, f, n, info);
	if (!S_ISREG(stx->stx_mode))
		return rdmapin_fail(EOPNOTSUPP,
				    "%s is neither a regular file nor device-DAX "
				    "(mode 0%o); register memory, a file or a "
				    "/dev/daxX.Y mapping",
				    what(n), stx->stx_mode);
	/* Every filesystem sets the bit in stx_attributes_mask: only the attribute tells. */
	dax = stx->stx_attributes & STATX_ATTR_DAX;
	/*
	 * tmpfs and hugetlbfs have no device: their files' major is 0. A file
	 * on a block device is neither, and needs no statfs().
	 */
	if (stx->stx_dev_major) {
		info->kind = dax ? RDMAPIN_BACKING_FSDAX : RDMAPIN_BACKING_PAGECACHE;
		return 0;
	}
	if (ref_statfs(f, &sfs))
		return stat_failed(n);
	if (sfs.f_type == HUGETLBFS_MAGIC) {
		info->kind = RDMAPIN_BACKING_HUGETLB;
		info->page_size = sfs.f_bsize;
	} else if (sfs.f_type == TMPFS_MAGIC) {
		info->kind = RDMAPIN_BACKING_SHMEM;
	} else {
		info->kind = dax ? RDMAPIN_BACKING_FSDAX : RDMAPIN_BACKING_PAGECACHE;
	}
	return 0;
}

/* Whether @stx is the very file the mapping maps. */
static bool maps_file(const struct statx *stx, const struct rdmapin_vma *vma)
{
	return stx->stx_ino == vma->inode && stx->stx_dev_major == vma->dev_major &&
	       stx->stx_dev_minor == vma->dev_minor;
}

/*
 * Kind of the file a mapping maps, -1 when unreachable. map_files reaches
 * deleted and overmounted files too, and names the mapping's own file for as
 * long as it maps it: stat()ed through, with no open. It needs
 * CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN; otherwise the mapping's path
 * serves while it still names the same file, opened (O_PATH: no device
 * opened, no read permission needed) so that it stays the file stat()ed.
 */
static int mapped_file_kind(const struct rdmapin_vma *vma, struct naming *n,
			    struct rdmapin_backing_info *info, bool *reached)
{
	char path[RDMAPIN_MAP_FILES_PATH_MAX];
	struct file_ref f = { .fd = -1, .path = path };
	struct statx stx;
	int ret;

	rdmapin_proc_map_files_path(path, vma->start, vma->end);
	*reached = !ref_statx(&f, &stx) && maps_file(&stx, vma);
	if (*reached)
		return stat_kind(&stx, &f, n, info);
	f.path = NULL;
	f.fd = vma->name[0] == '/' ? open(vma->name, O_PATH | O_CLOEXEC) : -1;
	*reached = f.fd >= 0 && !ref_statx(&f, &stx) && maps_file(&stx, vma);
	ret = *reached ? stat_kind(&stx, &f, n, info) : -1;
	if (f.fd >= 0)
		close(f.fd);
	return ret;
}

/* /proc/self/maps lacks page sizes; smaps has them, at the cost of a page-table walk. */
static uint64_t smaps_page_size(uintptr_t start)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	bool found = false;
	char *line = NULL;
	size_t size = 0;
	uint64_t kb = 0;
	uintptr_t s, e;

	while (f && !kb && getline(&line, &size, f) > 0) {
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &s, &e) == 2)
			found = s == start;
		else if (found)
			sscanf(line, "KernelPageSize: %" SCNu64 " kB", &kb);
	}
	free(line);
	if (f)
		fclose(f);
	return kb ? kb << 10 : base_page_size();
}

/*
 * On older kernels (6.1; not 7.x) /proc/self/maps names an overlay file's
 * real inode, which neither its path nor its fd names: what is leased or
 * guarded could not be told to be what is mapped.
 */
static bool on_overlayfs(const char *path)
{
	struct statfs sf;

	return path[0] == '/' && !statfs(path, &sf) && sf.f_type == OVERLAYFS_SUPER_MAGIC;
}

static int overlay_refusal(const char *what)
{
	return rdmapin_fail(EOPNOTSUPP, "%s is on overlayfs, and this kernel names the underlying "
				    "file in /proc/self/maps, not the one the path or fd opens, so "
				    "it cannot be leased or guarded; register a file of the "
				    "underlying filesystem", what);
}

/*
 * Kernel-internal files that no path reaches (memfd, MAP_SHARED|MAP_ANONYMOUS,
 * SysV shm, MAP_HUGETLB, named shared anonymous memory) are shmem, or
 * hugetlb when their pages are huge.
 */
static int unreachable_kind(const struct rdmapin_vma *vma, struct naming *n,
			    struct rdmapin_backing_info *info)
{
	static const char *const internal[] = {
		"/memfd:", "/dev/zero (deleted)", "/SYSV", "/anon_hugepage (deleted)",
		"[anon_shmem:",
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(internal); i++)
		if (!strncmp(vma->name, internal[i], strlen(internal[i])))
			break;
	if (i == ARRAY_SIZE(internal) && on_overlayfs(vma->name))
		return overlay_refusal(what(n));
	if (i == ARRAY_SIZE(internal))
		return rdmapin_fail(ENOENT,
				    "%s cannot be reopened to learn its kind (it was "
				    "deleted or renamed, and /proc/self/map_files needs "
				    "CAP_CHECKPOINT_RESTORE); pass the fd that was mmap()ed",
				    what(n));
	info->dev = makedev(vma->dev_major, vma->dev_minor);
	info->ino = vma->inode;
	info->page_size = vma->page_size ? vma->page_size : smaps_page_size(vma->start);
	info->kind = info->page_size > base_page_size() ? RDMAPIN_BACKING_HUGETLB :
							  RDMAPIN_BACKING_SHMEM;
	return 0;
}

static int wrong_fd(const struct rdmapin_vma *vma, int fd, const char *range)
{
	if (on_overlayfs(vma->name))
		return overlay_refusal(range);
	return rdmapin_fail(EINVAL, "%s: fd %d is not the file mapped at 0x%" PRIxPTR " (%s, dev "
				    "%u:%u inode %" PRIu64 "); pass the fd that was mmap()ed, or -1",
			    range, fd, vma->start, vma->inode ? vma->name : "anonymous memory",
			    vma->dev_major, vma->dev_minor, vma->inode);
}

/*
 * The largest alignment that a device-DAX device can have while @vma maps
 * it: it maps a mapping, and faults its pages in, only while the bounds are
 * multiples of its alignment (check_vma() in drivers/dax/device.c), which
 * is the page, PMD or PUD size (dax_align_valid()). Those are known here for
 * x86-64; elsewhere any power of two that divides both bounds counts.
 */
static uintptr_t devdax_align_bound(const struct rdmapin_vma *vma)
{
	uintptr_t bounds = vma->start | vma->end, bound = bounds & -bounds;
#ifdef __x86_64__
	static const uintptr_t sizes[] = { 1UL << 30, 2UL << 20, 4096 };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sizes) - 1 && bound < sizes[i]; i++)
		;
	bound = sizes[i];
#endif
	return bound;
}

/* Whether the range lies in @vma and is aligned to any alignment its device can have. */
static bool aligned_as_mapping(const struct classify_ctx *c, const struct rdmapin_vma *vma)
{
	return c->start >= vma->start && c->end <= vma->end &&
	       !((c->start | c->end) & (devdax_align_bound(vma) - 1));
}

/* A file registered before: known_mapping() may have looked it up already. */
static bool cached_kind(const struct classify_ctx *c, const struct rdmapin_vma *vma,
			struct rdmapin_backing_info *info)
{
	struct rdmapin_file_kind k;

	/* Asked already: a miss is not looked up again. */
	if (c->asked && c->known_dev == info->dev && c->known_ino == info->ino &&
	    c->known_page_size == vma->page_size) {
		if (!c->known)
			return false;
		k = c->known_kind;
	} else if (!rdmapin_file_cache_get(info->dev, info->ino, vma->page_size, &k)) {
		return false;
	}
	/*
	 * A device-DAX node known by its inode alone: its alignment is read
	 * again, unless the range is aligned as its mapping is (left 0).
	 */
	if (!k.page_size && !aligned_as_mapping(c, vma) &&
	    (rdmapin_devdax_align(k.rdev, &k.page_size) || k.page_size < base_page_size()))
		return false;
	info->kind = k.kind;
	info->node_kept = k.node_kept;
	info->rdev = k.rdev;
	info->page_size = k.page_size;
	return true;
}

/* One mapping's kind. */
static int classify_vma(const struct rdmapin_vma *vma, int fd, struct classify_ctx *c,
			struct rdmapin_backing_info *info)
{
	const struct file_ref given = { .fd = fd };
	struct file_ref own = { .fd = -1 };
	char text[WHAT_MAX];
	struct naming n = { .c = c, .name = vma->name, .text = text };
	struct statx stx;
	bool reached;
	int ret;

	if (fd >= 0 && (ref_statx(&given, &stx) || !maps_file(&stx, vma)))
		return wrong_fd(vma, fd, range_of(c));
	/* SysV shm's inode number is its id, 0 for the first: anonymous has no name too. */
	if (!vma->inode && vma->name[0] != '/') {
		info->kind = RDMAPIN_BACKING_ANON;
		info->page_size = base_page_size();
		return 0;
	}
	memcpy(info->path, vma->name, strnlen(vma->name, sizeof(info->path) - 1) + 1);
	info->path[sizeof(info->path) - 1] = '\0';
	info->dev = makedev(vma->dev_major, vma->dev_minor);
	info->ino = vma->inode;
	/* memfd and the like: known by their mount, without opening them. */
	if (info->dev && info->dev == rdmapin_host_shm_dev()) {
		info->kind = RDMAPIN_BACKING_SHMEM;
		info->page_size = base_page_size();
		return 0;
	}
	if (cached_kind(c, vma, info))
		return 0;
	if (fd >= 0)
		return stat_kind(&stx, &given, &n, info);
	/*
	 * A shared file registered before is usually still open where its lease
	 * or guard found it: stat()ed there, it costs no walk of map_files,
	 * two path lookups that took longer than the rest of the classification
	 * in a TCG guest.
	 */
	own.fd = vma->shared ? rdmapin_own_fd_last(info->dev, info->ino, &stx) : -1;
	if (own.fd >= 0)
		return stat_kind(&stx, &own, &n, info);
	ret = mapped_file_kind(vma, &n, info, &reached);
	return reached ? ret : unreachable_kind(vma, &n, info);
}

/* Whether vma goes on where the last one ends: one mmap() that was later split. */
static bool continues(const struct classify_ctx *c, const struct rdmapin_vma *vma)
{
	return vma->inode == c->last_inode && vma->dev_major == c->last_major &&
	       vma->dev_minor == c->last_minor && vma->shared == c->last_shared &&
	       (!vma->inode || vma->offset == c->last_offset);
}

static void remember_last(struct classify_ctx *c, const struct rdmapin_vma *vma)
{
	c->last_inode = vma->inode;
	c->last_offset = vma->offset + (vma->end - vma->start);
	c->last_major = vma->dev_major;
	c->last_minor = vma->dev_minor;
	c->last_shared = vma->shared;
}

static int classify_one(const struct rdmapin_vma *vma, void *arg)
{
	struct classify_ctx *c = arg;
	struct rdmapin_backing_info *info = c->info;
	int ret;

	if (!c->count++) {
		ret = classify_vma(vma, c->fd, c, info);
		if (ret)
			return ret;
		info->shared = vma->shared;
		info->writable = true;
		info->map_start = vma->start;
		if (vma->inode)
			info->offset = vma->offset + (c->start - vma->start);
	} else if (!c->mixed && !continues(c, vma)) {
		/* Classified only to name it; its own failure does not matter. */
		c->mixed = true;
		c->other_start = vma->start;
		info_clear(&c->other);
		classify_vma(vma, -1, c, &c->other);
	}
	info->writable &= vma->writable;
	info->map_end = vma->end;
	remember_last(c, vma);
	return 0;
}

/*
 * Answers believed as the cached maps fd gives them (vma.h): shmem, which
 * has no file to lose, and files this process registered, known already.
 */
static bool known_mapping(uint32_t major, uint32_t minor, uint64_t inode, uint64_t page_size,
			  void *arg)
{
	struct classify_ctx *c = arg;
	dev_t dev = makedev(major, minor);

	if (dev == rdmapin_host_shm_dev())
		return true;
	c->asked = true;
	c->known = rdmapin_file_cache_get(dev, inode, page_size, &c->known_kind);
	c->known_dev = dev;
	c->known_ino = inode;
	c->known_page_size = page_size;
	return c->known;
}

/*
 * Found so without walking the mappings (vma.h): their bounds and protection
 * are not known, and matter only for shared ones (provider.h).
 */
static int private_anon(struct classify_ctx *c)
{
	c->info->kind = RDMAPIN_BACKING_ANON;
	c->info->page_size = base_page_size();
	c->info->map_start = c->start;
	c->info->map_end = c->end;
	return 0;
}

int rdmapin_backing_classify(const void *addr, size_t length, int fd,
			     struct rdmapin_backing_info *info)
{
	/* Not zeroed whole: other is cleared when used, the last mapping when seen. */
	struct classify_ctx c;
	int ret;

	if (!length)
		return rdmapin_fail(EINVAL, "%p: length is 0; register at least one byte", addr);
	c.start = (uintptr_t)addr;
	c.end = c.start + length;
	if (c.end < c.start)
		return rdmapin_fail(EINVAL, "%p: length 0x%zx wraps past the end of the address "
					    "space; pass a range inside it", addr, length);
	c.fd = fd;
	c.range[0] = '\0';
	c.info = info;
	c.count = 0;
	c.mixed = false;
	c.asked = false;
	info_clear(info);
	if (rdmapin_host()->flags & RDMAPIN_HOST_PROCMAP_QUERY)
		ret = rdmapin_vma_walk_procmap(c.start, c.end, classify_one, known_mapping, &c);
	else if (fd < 0 && rdmapin_vma_private_anon(c.start, c.end))
		return private_anon(&c);
	else
		ret = rdmapin_vma_walk_maps(c.start, c.end, classify_one, &c);
	if (ret || !c.mixed)
		return ret;
	return rdmapin_fail(EINVAL, "%s: range spans %u mappings of different kinds or files "
				    "(%s%s%s at 0x%" PRIxPTR ", %s%s%s at 0x%" PRIxPTR "); register "
				    "each mapping separately", range_of(&c), c.count,
			    rdmapin_backing_str(info->kind), info->path[0] ? " " : "", info->path,
			    c.start, rdmapin_backing_str(c.other.kind),
			    c.other.path[0] ? " " : "", c.other.path, c.other_start);
}

int rdmapin_backing_of_fd(int fd, struct rdmapin_backing_info *info)
{
	char link[32], text[WHAT_MAX];
	struct naming name = { .fd = fd, .name = info->path, .text = text };
	struct statx stx;
	ssize_t n;

	info_clear(info);
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, info->path, sizeof(info->path) - 1);
	info->path[n > 0 ? n : 0] = '\0';
	if (ref_statx(&(struct file_ref){ .fd = fd }, &stx))
		return stat_failed(&name);
	return stat_kind(&stx, &(struct file_ref){ .fd = fd, .once = true }, &name, info);
}
