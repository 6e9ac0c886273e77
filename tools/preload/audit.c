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
 * functions in the preload's dynamic symbol table, and must not redirect
 * the bindings that the preload and librdmapin make to reach libibverbs.
 */
#define _GNU_SOURCE
#include <link.h>
#include <stdbool.h>
#include <stdint.h>
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

/* The dynamic symbol table of a loaded object, as its DT_ entries give it. */
struct dynsyms {
	const ElfW(Sym) *sym;
	const char *str;
	const ElfW(Half) *versym;
	const ElfW(Verdef) *verdef;
	const uint32_t *gnu_hash;
};

static void dynsyms(const struct link_map *map, struct dynsyms *d)
{
	const ElfW(Dyn) *dyn;

	memset(d, 0, sizeof(*d));
	for (dyn = map->l_ld; dyn->d_tag != DT_NULL; dyn++) {
		/*
		 * glibc turns some of these into addresses (DT_SYMTAB, DT_STRTAB,
		 * DT_VERSYM, DT_GNU_HASH) and leaves others offsets (DT_VERDEF).
		 */
		ElfW(Addr) a = dyn->d_un.d_ptr;
		const void *p = (const void *)(a < map->l_addr ? map->l_addr + a : a);

		if (dyn->d_tag == DT_SYMTAB)
			d->sym = p;
		else if (dyn->d_tag == DT_STRTAB)
			d->str = p;
		else if (dyn->d_tag == DT_VERSYM)
			d->versym = p;
		else if (dyn->d_tag == DT_VERDEF)
			d->verdef = p;
		else if (dyn->d_tag == DT_GNU_HASH)
			d->gnu_hash = p;
	}
}

/* The number of symbols: one past the last that DT_GNU_HASH's chains reach. */
static uint32_t nsyms(const uint32_t *h)
{
	uint32_t nbuckets = h[0], symoffset = h[1], i, last = 0;
	const uint32_t *buckets = h + 4 + h[2] * (sizeof(ElfW(Addr)) / 4);
	const uint32_t *chain = buckets + nbuckets - symoffset;

	for (i = 0; i < nbuckets; i++)
		if (buckets[i] > last)
			last = buckets[i];
	if (last < symoffset)
		return symoffset;
	while (!(chain[last] & 1))
		last++;
	return last + 1;
}

static const char *version_name(const struct dynsyms *d, ElfW(Half) ndx)
{
	const ElfW(Verdef) *vd = d->verdef;

	while (vd) {
		if (vd->vd_ndx == ndx)
			return d->str + ((const ElfW(Verdaux) *)((const char *)vd + vd->vd_aux))->vda_name;
		vd = vd->vd_next ? (const void *)((const char *)vd + vd->vd_next) : NULL;
	}
	return "";
}

/*
 * Fills @addr with where @map defines each of the family. dlvsym() from an
 * auditor on the program's objects crashes in glibc 2.36: the dynamic
 * symbol table is read directly.
 */
static void find_family(const struct link_map *map, uintptr_t *addr)
{
	struct dynsyms d;
	uint32_t i, n, f;

	dynsyms(map, &d);
	if (!d.sym || !d.str || !d.versym || !d.verdef || !d.gnu_hash)
		return;
	n = nsyms(d.gnu_hash);
	for (i = 0; i < n; i++)
		for (f = 0; f < FAMILY; f++)
			if (d.sym[i].st_shndx != SHN_UNDEF &&
			    !strcmp(d.str + d.sym[i].st_name, family[f].name) &&
			    !strcmp(version_name(&d, d.versym[i] & 0x7fff), family[f].version))
				addr[f] = map->l_addr + d.sym[i].st_value;
}

/* Once every object loaded at startup is relocated. */
void la_preinit(uintptr_t *cookie)
{
	if (!verbs || !preload) {
		fprintf(stderr, "rdmapin: librdmapin-audit.so needs librdmapin-preload.so in "
				"LD_PRELOAD (rdmapin-run --audit): nothing is redirected\n");
		return;
	}
	find_family(verbs, real);
	find_family(preload, ours);
}

uintptr_t la_symbind64(Elf64_Sym *sym, unsigned int ndx, uintptr_t *refcook,
		       uintptr_t *defcook, unsigned int *flags, const char *symname)
{
	unsigned int i;

	if (*refcook != CLIENT)
		return sym->st_value;
	for (i = 0; i < FAMILY; i++)
		if (real[i] && sym->st_value == real[i] && ours[i])
			return ours[i];
	return sym->st_value;
}
