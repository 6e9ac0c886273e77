// SPDX-License-Identifier: MIT
/*
 * librdmapin-audit.so, an LD_AUDIT library (rtld-audit(7)) for programs that
 * dlopen() libibverbs and look its functions up with dlsym() or dlvsym() on
 * that handle (NCCL does): such a lookup searches the handle's scope only,
 * and never finds the preloaded definitions. Every binding to libibverbs'
 * ibv_reg_mr family that such a program makes, by dlsym() or through its
 * PLT, is redirected to librdmapin-preload.so's definition of the same
 * version. librdmapin-preload.so must be preloaded (rdmapin-run --audit).
 *
 * An auditor lives in its own link-map namespace: it finds the preload's
 * functions with dlvsym() on the preload's link map, and must not redirect
 * the bindings that the preload and librdmapin make to reach libibverbs.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Cookies, as la_objopen() sets them; objects it never saw keep their link map. */
#define CLIENT 1	/* bindings from it are redirected */
#define OURS 2		/* libibverbs, the preload, librdmapin: never */

static const struct {
	const char *name, *version;
} family[] = {
	{ "ibv_reg_mr", "IBVERBS_1.0" },	{ "ibv_reg_mr", "IBVERBS_1.1" },
	{ "ibv_reg_mr_iova", "IBVERBS_1.7" },	{ "ibv_reg_mr_iova2", "IBVERBS_1.8" },
	{ "ibv_dereg_mr", "IBVERBS_1.0" },	{ "ibv_dereg_mr", "IBVERBS_1.1" },
	{ "ibv_rereg_mr", "IBVERBS_1.1" },	{ "ibv_reg_dmabuf_mr", "IBVERBS_1.12" },
};
#define FAMILY (sizeof(family) / sizeof(*family))

static struct link_map *verbs, *preload;
static uintptr_t real[FAMILY], ours[FAMILY];
static int resolved, warned;

unsigned int la_version(unsigned int version)
{
	return version < LAV_CURRENT ? version : LAV_CURRENT;
}

static bool named(const struct link_map *map, const char *base)
{
	const char *slash = strrchr(map->l_name, '/');

	return !strcmp(slash ? slash + 1 : map->l_name, base);
}

unsigned int la_objopen(struct link_map *map, Lmid_t lmid, uintptr_t *cookie)
{
	*cookie = CLIENT;
	if (named(map, "libibverbs.so.1"))
		verbs = map;
	else if (named(map, "librdmapin-preload.so"))
		preload = map;
	else if (!named(map, "librdmapin.so.1"))
		return 0;
	*cookie = OURS;
	/* Bindings to libibverbs are the ones to see. */
	return map == verbs ? LA_FLG_BINDTO : 0;
}

/*
 * The addresses of both sides; libibverbs is loaded, as a binding to it is
 * being made. Racing threads store
 * the same values; the lookups bind from this object, which la_symbind64()
 * passes over.
 */
static bool resolve(void)
{
	unsigned int i;

	if (__atomic_load_n(&resolved, __ATOMIC_ACQUIRE))
		return true;
	if (!preload) {
		if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED))
			fprintf(stderr, "rdmapin: librdmapin-audit.so needs librdmapin-preload.so "
					"in LD_PRELOAD (rdmapin-run --audit)\n");
		return false;
	}
	for (i = 0; i < FAMILY; i++) {
		real[i] = (uintptr_t)dlvsym(verbs, family[i].name, family[i].version);
		ours[i] = (uintptr_t)dlvsym(preload, family[i].name, family[i].version);
	}
	__atomic_store_n(&resolved, 1, __ATOMIC_RELEASE);
	return true;
}

uintptr_t la_symbind64(Elf64_Sym *sym, unsigned int ndx, uintptr_t *refcook,
		       uintptr_t *defcook, unsigned int *flags, const char *symname)
{
	unsigned int i;

	if (*refcook != CLIENT || !resolve())
		return sym->st_value;
	for (i = 0; i < FAMILY; i++)
		if (sym->st_value == real[i] && ours[i])
			return ours[i];
	return sym->st_value;
}
