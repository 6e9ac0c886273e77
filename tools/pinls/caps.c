// SPDX-License-Identifier: MIT
/*
 * pinls --caps: what this host gives librdmapin to make pins safe, and
 * what it does not, so that an administrator knows what a pin guarantees.
 */
#define _GNU_SOURCE
#include <err.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <infiniband/verbs.h>

#include <rdmapin/rdmapin.h>
#include "caps.h"
#include "collect.h"
#include "devices.h"
#include "error.h"
#include "foll_pin.h"
#include "guardd_probe.h"
#include "rows.h"

static __attribute__((format(printf, 3, 4))) void add(struct libscols_table *tb, const char *what,
						      const char *fmt, ...)
{
	struct libscols_line *ln = scols_table_new_line(tb, NULL);
	char *val;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&val, fmt, ap);
	va_end(ap);
	if (!ln || n < 0 || scols_line_set_data(ln, 0, what) || scols_line_refer_data(ln, 1, val))
		err(EXIT_FAILURE, "failed to add output data");
}

static const char *yes_no(bool yes)
{
	return yes ? "yes" : "no";
}

/* The known defects on this kernel, which librdmapin never chooses unless accepted. */
static void add_quirks(const char *name, const struct rdmapin_device_caps *caps, void *tb)
{
	char what[IBV_SYSFS_NAME_MAX + 16], list[256];
	uint32_t quirks = caps->comp_mask & RDMAPIN_DEVICE_CAPS_QUIRKS ? caps->quirks : 0;

	snprintf(what, sizeof(what), "%s quirks", name);
	if (*quirk_list(quirks, list, sizeof(list)))
		add(tb, what, "%s (refused unless accepted: RDMAPIN_ALLOW_QUIRKS)", list);
	else
		add(tb, what, "none known");
}

static void add_device(const char *name, const struct rdmapin_device_caps *caps, const char *why,
		       void *tb)
{
	char what[IBV_SYSFS_NAME_MAX + 16];

	snprintf(what, sizeof(what), "%s RC ODP", name);
	if (!caps)
		add(tb, what, "unknown: %s", why);
	else if (caps->flags & RDMAPIN_DEVICE_RC_ODP)
		add(tb, what, "yes (capabilities 0x%x)", caps->rc_odp_caps);
	else
		add(tb, what, "no");
	if (caps)
		add_quirks(name, caps, tb);
}

/*
 * Only rdmapin-guardd links the guard's loader, so it tells, run as this
 * user, whether the guard could be loaded here.
 */
static void add_guard_probe(struct libscols_table *tb)
{
	const char *guardd = secure_getenv("RDMAPIN_GUARDD_PATH");
	char probe[512];
	int ret;

	ret = rdmapin_guardd_probe(guardd && *guardd ? guardd : RDMAPIN_GUARDD_PATH, probe,
				   sizeof(probe));
	add(tb, "BPF truncate guard", "%s: %s", ret ? "unavailable" : "can run",
	    ret < 0 ? rdmapin_error_msg() : probe);
}

/*
 * Whether the guard runs here, and so what a process that truncates a pinned
 * file sees: ETXTBSY only where this process's registrations would be
 * guarded. Say exactly that, rather than imply what the RFC promised.
 */
static void add_guard(struct libscols_table *tb)
{
	enum rdmapin_guard_kind kind;
	char why[512];

	kind = rdmapin_query_guard(why, sizeof(why));
	if (kind != RDMAPIN_GUARD_KIND_NONE) {
		add(tb, "BPF truncate guard", "loaded");
		add(tb, "guarded registrations", "yes, %s", why);
		add(tb, "truncate of a pin", "fails with ETXTBSY (truncate, ftruncate, "
		    "open(O_TRUNC)), as do fallocate modes that free or move blocks, "
		    "madvise(MADV_REMOVE), clones and copy_file_range into the file, io_uring's "
		    "too; on ext4, xfs and tmpfs only, a lease elsewhere");
		return;
	}
	add_guard_probe(tb);
	add(tb, "guarded registrations", "no: %s", why);
	add(tb, "truncate of a pin", "not refused; on a leased file it waits until librdmapin "
	    "revokes the MR and releases the lease, then goes through. Nor are fallocate, "
	    "madvise(MADV_REMOVE) or remaps, which through an fd open before the lease break "
	    "none: a long-term pin whose pages they take is revoked after, within a second "
	    "unless the pages were faulted back first, and what the device wrote meanwhile "
	    "is lost (rdmapin_guard(7))");
}

/* Side by side, so that pins the registry cannot explain stand out. */
static void add_pages(struct libscols_table *tb)
{
	struct pin_list pins = { 0 };
	struct filter all = { 0 };
	uint64_t kernel;

	if (kernel_pinned_pages(&kernel))
		add(tb, "kernel FOLL_PIN pages", "%" PRIu64, kernel);
	else
		add(tb, "kernel FOLL_PIN pages", "unknown: /proc/vmstat does not say");
	collect_pins(&pins, &all);
	add(tb, "registry pinned pages", "%" PRIu64, registry_pinned_pages(&pins));
	pin_list_free(&pins);
}

int print_caps(const struct output_opts *o)
{
	struct libscols_table *tb = output_table(o, "caps");
	struct rdmapin_host_caps host;

	if (!scols_table_new_column(tb, "CAPABILITY", 20, 0) ||
	    !scols_table_new_column(tb, "VALUE", 0, 0))
		err(EXIT_FAILURE, "failed to allocate an output column");
	if (rdmapin_query_host(&host))
		errx(EXIT_FAILURE, "%s", rdmapin_last_error());
	add(tb, "kernel", "%s", host.kernel_release);
	add(tb, "file leases", "%s", yes_no(host.flags & RDMAPIN_HOST_FILE_LEASES));
	add(tb, "native layout lease", "%s",
	    host.flags & RDMAPIN_HOST_NATIVE_LAYOUT_LEASE ?
		    "yes" : "no (emulated with an exclusive write lease)");
	add(tb, "PROCMAP_QUERY", "%s", yes_no(host.flags & RDMAPIN_HOST_PROCMAP_QUERY));
	add(tb, "lease-break-time", "%u s", host.lease_break_time);
	add_guard(tb);
	add_pages(tb);
	if (!for_each_device(add_device, tb))
		add(tb, "RDMA devices", "none");
	scols_print_table(tb);
	scols_unref_table(tb);
	return EXIT_SUCCESS;
}
