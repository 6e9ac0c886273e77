// SPDX-License-Identifier: MIT
/*
 * The ibv_reg_mr family with libibverbs' own symbol versions (rdma-core 44's
 * libibverbs.map), so that programs linked against libibverbs bind here when
 * this library is preloaded. Memory that needs nothing (anonymous, shmem,
 * hugetlb, device-DAX), and anything this library cannot classify, bad input
 * included, goes to libibverbs' ibv_reg_mr_iova2() unchanged: it succeeds or
 * fails exactly as without the preload. Files go through librdmapin
 * (file_mr.c).
 *
 * Each registration is handled once, and librdmapin's own calls reach
 * libibverbs:
 *  - ibv_reg_mr@IBVERBS_1.1 and ibv_reg_mr_iova@IBVERBS_1.7 are implemented
 *    here on the real ibv_reg_mr_iova2(), never by calling libibverbs'
 *    versions, which call ibv_reg_mr_iova2 through their PLT (that is, here).
 *  - librdmapin calls ibv_reg_mr() and ibv_dereg_mr() too, from the
 *    caller's thread and from its break thread, and a preloaded definition
 *    comes first in the global scope whatever the version asked for: a call
 *    whose return address lies in librdmapin's code goes straight through.
 *  - libibverbs' IBVERBS_1.0 compatibility functions unwrap their old
 *    structs and call ibv_reg_mr_iova2 and ibv_dereg_mr through their PLT:
 *    they are passed through, and the inner call is handled here, once.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "file_mr.h"
#include "pinned_pages.h"

/* libibverbs' own functions, resolved past this library. */
struct preload_real {
	struct ibv_mr *(*reg_mr_1_0)(void *pd, void *addr, size_t length, int access);
	int (*dereg_mr_1_0)(void *mr);
	struct ibv_mr *(*reg_mr_iova2)(struct ibv_pd *pd, void *addr, size_t length,
				       uint64_t iova, unsigned int access);
	int (*dereg_mr)(struct ibv_mr *mr);
	int (*rereg_mr)(struct ibv_mr *mr, int flags, struct ibv_pd *pd, void *addr,
			size_t length, int access);
	struct ibv_mr *(*reg_dmabuf_mr)(struct ibv_pd *pd, uint64_t offset, size_t length,
					uint64_t iova, int fd, int access);
};

static struct preload_real real;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static uintptr_t librdmapin_text, librdmapin_text_end;
static bool procmap_query;	/* the kernel says what maps an address (Linux 6.11) */
static bool refuses_file_pins;	/* no writable long-term pins of shared files (Linux 6.5) */

/* What makes ibv_reg_mr() pin for writing (ib_access_writable() in the kernel). */
#define WRITE_ACCESS (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC)

static void *need(const char *name, const char *version)
{
	void *f = dlvsym(RTLD_NEXT, name, version);

	if (!f) {
		fprintf(stderr, "rdmapin: libibverbs has no %s@%s (%s); rdma-core 44 or later "
				"is needed\n", name, version, dlerror());
		abort();
	}
	return f;
}

/* The executable segment of the object that holds @info's address. */
static int find_text(struct dl_phdr_info *info, size_t size, void *addr)
{
	uintptr_t a = (uintptr_t)addr, start;
	int i;

	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		start = info->dlpi_addr + ph->p_vaddr;
		if (a >= start && a < start + ph->p_memsz) {
			librdmapin_text = start;
			librdmapin_text_end = start + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

static void init(void)
{
	struct rdmapin_host_caps host = { .comp_mask = 0 };
	unsigned int major = 0, minor = 0;

	real.reg_mr_1_0 = need("ibv_reg_mr", "IBVERBS_1.0");
	real.dereg_mr_1_0 = need("ibv_dereg_mr", "IBVERBS_1.0");
	real.reg_mr_iova2 = need("ibv_reg_mr_iova2", "IBVERBS_1.8");
	real.dereg_mr = need("ibv_dereg_mr", "IBVERBS_1.1");
	real.rereg_mr = need("ibv_rereg_mr", "IBVERBS_1.1");
	real.reg_dmabuf_mr = need("ibv_reg_dmabuf_mr", "IBVERBS_1.12");
	dl_iterate_phdr(find_text, (void *)rdmapin_reg_mr_ex);
	if (rdmapin_query_host(&host))
		return;
	procmap_query = host.flags & RDMAPIN_HOST_PROCMAP_QUERY;
	sscanf(host.kernel_release, "%u.%u", &major, &minor);
	refuses_file_pins = major > 6 || (major == 6 && minor >= 5);
}

/* Once per process, whichever entry point comes first, constructors included. */
static const struct preload_real *preload_real(void)
{
	pthread_once(&once, init);
	return &real;
}

static bool from_librdmapin(const void *caller)
{
	preload_real();
	return (uintptr_t)caller >= librdmapin_text && (uintptr_t)caller < librdmapin_text_end;
}

/* Whether @r is memory that librdmapin registers differently from the verbs: a file. */
static bool is_file(const struct rdmapin_range_attr *r)
{
	return r->backing == RDMAPIN_BACKING_PAGECACHE || r->backing == RDMAPIN_BACKING_FSDAX;
}

/* What backs the range, if it is a file; errno stays as it was. */
static bool file_range(void *addr, size_t length, struct rdmapin_range_attr *range)
{
	int err = errno;
	bool file;

	range->comp_mask = 0;
	file = !rdmapin_query_range(addr, length, range) && is_file(range);
	errno = err;
	return file;
}

/*
 * Whether a pin that succeeded shows the range needs nothing. Since Linux
 * 6.5 the kernel itself refuses a writable long-term pin of a shared file
 * mapping whose dirty pages it tracks (EFAULT; fsdax: EOPNOTSUPP), which is
 * every file but shmem and hugetlbfs ones (ramfs too is refused, measured),
 * so such a pin is of memory or of a private mapping's copies. Otherwise
 * pagemap tells the common case, anonymous pages, for a fixed cost per page.
 */
static bool pinned_memory(void *addr, size_t length, unsigned int access)
{
	return (refuses_file_pins && access & WRITE_ACCESS) ||
	       preload_pinned_anonymous(addr, length);
}

/*
 * libibverbs pins first, and the range is classified only if that is not
 * enough to tell: a file's MR is made again through librdmapin, any other
 * stays as libibverbs made it, or failed. Nothing reaches the program before
 * that, so an MR of a file never runs unprotected.
 */
static struct ibv_mr *reg_then_classify(struct ibv_pd *pd, void *addr, size_t length,
					uint64_t iova, unsigned int access)
{
	struct ibv_mr *mr = preload_real()->reg_mr_iova2(pd, addr, length, iova, access);
	struct rdmapin_range_attr range;

	if (mr && pinned_memory(addr, length, access))
		return mr;
	if (!file_range(addr, length, &range))
		return mr;
	if (mr)
		preload_real()->dereg_mr(mr);
	return preload_reg_file(pd, addr, length, iova, access, &range);
}

/*
 * Pinning first costs memory nothing but the pin where the kernel refuses
 * file pins, and is the one way to tell before 6.11 (no PROCMAP_QUERY). A
 * file's refused pin costs a verbs call, though: a program that holds file
 * MRs registers files again, and is asked first. On-Demand Paging pins
 * nothing, so a pin would tell nothing: classified first.
 */
static bool pin_first(unsigned int access)
{
	if (access & IBV_ACCESS_ON_DEMAND)
		return false;
	if (!procmap_query)
		return true;
	return refuses_file_pins && access & WRITE_ACCESS && !preload_holds_files();
}

static struct ibv_mr *reg(struct ibv_pd *pd, void *addr, size_t length, uint64_t iova,
			  unsigned int access, const void *caller)
{
	struct rdmapin_range_attr range;

	if (!pd || from_librdmapin(caller))
		return preload_real()->reg_mr_iova2(pd, addr, length, iova, access);
	struct ibv_mr *mr;

	if (!pd || from_librdmapin(caller))
		return preload_real()->reg_mr_iova2(pd, addr, length, iova, access);
	if (pin_first(access))
		return reg_then_classify(pd, addr, length, iova, access);
	/* What libibverbs leaves in errno, as without the preload. */
	if (!file_range(addr, length, &range))
		return preload_real()->reg_mr_iova2(pd, addr, length, iova, access);
	/* As a pin first would have found: those pins land on private copies. */
	if (!(range.flags & RDMAPIN_RANGE_SHARED) && access & WRITE_ACCESS &&
	    !(access & IBV_ACCESS_ON_DEMAND)) {
		mr = preload_real()->reg_mr_iova2(pd, addr, length, iova, access);
		if (mr)
			return mr;
	}
	return preload_reg_file(pd, addr, length, iova, access, &range);
}

/* The exported names are versioned aliases of these; see preload.map. */
struct ibv_mr *preload_reg_mr_1_0(void *pd, void *addr, size_t length, int access);
struct ibv_mr *preload_reg_mr_1_1(struct ibv_pd *pd, void *addr, size_t length, int access);
struct ibv_mr *preload_reg_mr_iova(struct ibv_pd *pd, void *addr, size_t length, uint64_t iova,
				   int access);
struct ibv_mr *preload_reg_mr_iova2(struct ibv_pd *pd, void *addr, size_t length,
				    uint64_t iova, unsigned int access);
int preload_dereg_mr_1_0(void *mr);
int preload_dereg_mr_1_1(struct ibv_mr *mr);
int preload_rereg_mr(struct ibv_mr *mr, int flags, struct ibv_pd *pd, void *addr, size_t length,
		     int access);
struct ibv_mr *preload_reg_dmabuf_mr(struct ibv_pd *pd, uint64_t offset, size_t length,
				     uint64_t iova, int fd, int access);

__attribute__((symver("ibv_reg_mr@IBVERBS_1.0")))
struct ibv_mr *preload_reg_mr_1_0(void *pd, void *addr, size_t length, int access)
{
	return preload_real()->reg_mr_1_0(pd, addr, length, access);
}

__attribute__((symver("ibv_reg_mr@@IBVERBS_1.1")))
struct ibv_mr *preload_reg_mr_1_1(struct ibv_pd *pd, void *addr, size_t length, int access)
{
	return reg(pd, addr, length, (uintptr_t)addr, access, __builtin_return_address(0));
}

__attribute__((symver("ibv_reg_mr_iova@@IBVERBS_1.7")))
struct ibv_mr *preload_reg_mr_iova(struct ibv_pd *pd, void *addr, size_t length, uint64_t iova,
				   int access)
{
	return reg(pd, addr, length, iova, access, __builtin_return_address(0));
}

__attribute__((symver("ibv_reg_mr_iova2@@IBVERBS_1.8")))
struct ibv_mr *preload_reg_mr_iova2(struct ibv_pd *pd, void *addr, size_t length,
				    uint64_t iova, unsigned int access)
{
	return reg(pd, addr, length, iova, access, __builtin_return_address(0));
}

__attribute__((symver("ibv_dereg_mr@IBVERBS_1.0")))
int preload_dereg_mr_1_0(void *mr)
{
	return preload_real()->dereg_mr_1_0(mr);
}

__attribute__((symver("ibv_dereg_mr@@IBVERBS_1.1")))
int preload_dereg_mr_1_1(struct ibv_mr *mr)
{
	int ret;

	if (!from_librdmapin(__builtin_return_address(0)) && preload_dereg_file(mr, &ret))
		return ret;
	return preload_real()->dereg_mr(mr);
}

/*
 * Re-registering would have to redo librdmapin's choices (backing, mode,
 * guard) in place, under the same struct ibv_mr. Refused instead, as
 * libibverbs refuses it on a provider without rereg_mr: nothing changes,
 * and programs fall back to ibv_dereg_mr() and ibv_reg_mr(), which work.
 */
__attribute__((symver("ibv_rereg_mr@@IBVERBS_1.1")))
int preload_rereg_mr(struct ibv_mr *mr, int flags, struct ibv_pd *pd, void *addr, size_t length,
		     int access)
{
	struct rdmapin_range_attr range;

	if (preload_owns(mr) || ((flags & IBV_REREG_MR_CHANGE_TRANSLATION) &&
				 !rdmapin_query_range(addr, length, &range) &&
				 is_file(&range))) {
		fprintf(stderr, "rdmapin: ibv_rereg_mr() of an MR over a file, or onto one, is not "
				"supported; deregister it and register the new range\n");
		errno = ENOSYS;
		return IBV_REREG_MR_ERR_INPUT;
	}
	return preload_real()->rereg_mr(mr, flags, pd, addr, length, access);
}

/* A dma-buf is device memory, never a mapped file: libibverbs' own. */
__attribute__((symver("ibv_reg_dmabuf_mr@@IBVERBS_1.12")))
struct ibv_mr *preload_reg_dmabuf_mr(struct ibv_pd *pd, uint64_t offset, size_t length,
				     uint64_t iova, int fd, int access)
{
	return preload_real()->reg_dmabuf_mr(pd, offset, length, iova, fd, access);
}
