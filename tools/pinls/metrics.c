// SPDX-License-Identifier: MIT
/*
 * pinls --openmetrics: the OpenMetrics text format, which Prometheus and
 * node_exporter's textfile collector read too. Only gauges, and nothing an
 * older Prometheus text parser refuses ("# UNIT" and "# EOF" are comments to
 * it). Pins are summed over the labels an administrator groups by; paths and
 * pids stay out of the labels, which would make a series of every pin.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <rdmapin/rdmapin.h>
#include "devices.h"
#include "foll_pin.h"
#include "guard_map.h"
#include "metrics.h"
#include "rows.h"
#include "xalloc.h"

/* The pins that share every label, summed. */
struct series {
	const struct pin *pin;		/* the labels: its first pin's */
	uint64_t bytes, mrs;
};

struct series_list {
	struct series *v;
	size_t n, cap;
};

static bool same_labels(const struct series *s, const struct pin *p)
{
	const struct pin *a = s->pin, *b = p;

	return a->proc->uid == b->proc->uid && a->state == b->state && a->backing == b->backing &&
	       a->mode == b->mode && a->lease == b->lease && a->guard == b->guard &&
	       !strcmp(a->device, b->device);
}

/* Unmanaged rows are mappings, not known registrations: counted as processes instead. */
static void sum_pins(const struct pin_list *pins, struct series_list *l)
{
	struct series *s;
	size_t i, j;

	for (i = 0; i < pins->n; i++) {
		if (pins->v[i].unmanaged)
			continue;
		for (j = 0; j < l->n && !same_labels(&l->v[j], &pins->v[i]); j++)
			;
		if (j == l->n) {
			l->v = xgrow(l->v, l->n, &l->cap, sizeof(*l->v));
			l->v[l->n++] = (struct series){ .pin = &pins->v[i] };
		}
		s = &l->v[j];
		s->bytes += pins->v[i].length;
		s->mrs++;
	}
}

/*
 * A label value in the format's escapes (backslash, double quote, newline).
 * A record's device name is any process's to write: a byte that is not
 * printable ASCII comes out as the text \xNN, as in the table, so that no
 * record can make the whole text unparsable (label values must be UTF-8).
 */
static void put_value(const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			printf("\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", stdout);
		else if (*v >= 0x20 && *v < 0x7f)
			putchar(*v);
		else
			printf("\\\\x%02x", (unsigned char)*v);
	}
}

static void family(const char *name, const char *unit, const char *help)
{
	printf("# TYPE %s gauge\n", name);
	if (unit)
		printf("# UNIT %s %s\n", name, unit);
	printf("# HELP %s %s\n", name, help);
}

static void put_series(const char *name, const struct series *s, uint64_t value)
{
	printf("%s{backing=\"%s\",mode=\"%s\",lease=\"%s\",guard=\"%s\",device=\"", name,
	       rdmapin_backing_str(s->pin->backing), rdmapin_reg_mode_str(s->pin->mode),
	       rdmapin_lease_kind_str(s->pin->lease), rdmapin_guard_kind_str(s->pin->guard));
	put_value(s->pin->device);
	fputs("\",user=\"", stdout);
	put_value(user_name(s->pin->proc->uid));
	printf("\"} %" PRIu64 "\n", value);
}

static void put_pins(const struct pin_list *pins)
{
	struct series_list l = { 0 };
	size_t i;

	sum_pins(pins, &l);
	family("rdmapin_pinned_bytes", "bytes",
	       "Memory registered through librdmapin and not revoked.");
	for (i = 0; i < l.n; i++)
		if (l.v[i].pin->state == RDMAPIN_PIN_ACTIVE)
			put_series("rdmapin_pinned_bytes", &l.v[i], l.v[i].bytes);
	family("rdmapin_mrs", NULL,
	       "Memory regions registered through librdmapin and not revoked.");
	for (i = 0; i < l.n; i++)
		if (l.v[i].pin->state == RDMAPIN_PIN_ACTIVE)
			put_series("rdmapin_mrs", &l.v[i], l.v[i].mrs);
	family("rdmapin_revoked_mrs", NULL,
	       "Memory regions revoked after a lease break and not yet deregistered.");
	for (i = 0; i < l.n; i++)
		if (l.v[i].pin->state == RDMAPIN_PIN_REVOKED)
			put_series("rdmapin_revoked_mrs", &l.v[i], l.v[i].mrs);
	free(l.v);
}

/* Rows sorted by pid: a process's rows are adjacent, and all unmanaged or none. */
static uint64_t unmanaged_processes(const struct pin_list *pins)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < pins->n; i++)
		n += pins->v[i].unmanaged &&
		     (!i || pins->v[i].proc->pid != pins->v[i - 1].proc->pid);
	return n;
}

static void put_checks(const struct pin_list *pins)
{
	const struct pin_check_name *names = pin_check_names;
	uint64_t n;
	size_t i, j;

	family("rdmapin_check_disagreements", NULL,
	       "Registrations that the kernel's own tables contradict, by what pinls CHECK "
	       "finds missing.");
	for (j = 0; j < NR_PIN_CHECK_NAMES; j++) {
		for (i = n = 0; i < pins->n; i++)
			n += !(pins->v[i].check & CHECK_NOT_RUN) &&
			     (pins->v[i].check & names[j].bit);
		printf("rdmapin_check_disagreements{check=\"%s\"} %" PRIu64 "\n", names[j].name, n);
	}
}

static void put_gauge(const char *name, const char *help, uint64_t value)
{
	family(name, NULL, help);
	printf("%s %" PRIu64 "\n", name, value);
}

static void put_device_odp(const char *name, const struct rdmapin_device_caps *caps,
			   const char *why, void *ctx)
{
	if (!caps)
		return;
	fputs("rdmapin_device_rc_odp{device=\"", stdout);
	put_value(name);
	printf("\"} %d\n", !!(caps->flags & RDMAPIN_DEVICE_RC_ODP));
}

static void put_host(void)
{
	struct rdmapin_host_caps host;
	struct stat st;
	int loaded;

	if (!rdmapin_query_host(&host)) {
		put_gauge("rdmapin_host_file_leases", "1 if file leases work.",
			  !!(host.flags & RDMAPIN_HOST_FILE_LEASES));
		put_gauge("rdmapin_host_native_layout_lease",
			  "1 if the kernel has a native layout lease.",
			  !!(host.flags & RDMAPIN_HOST_NATIVE_LAYOUT_LEASE));
	}
	/* Only root may look into bpffs: to others, whether it is loaded is unknown. */
	loaded = stat(RDMAPIN_GUARD_MAP, &st) ? (errno == ENOENT ? 0 : -1) : 1;
	if (loaded >= 0)
		put_gauge("rdmapin_host_guard_loaded", "1 if the BPF truncate guard is loaded.",
			  loaded);
	put_gauge("rdmapin_host_guarded_registrations",
		  "1 if a file registered now by this user would be guarded.",
		  rdmapin_query_guard(NULL, 0) != RDMAPIN_GUARD_KIND_NONE);
	family("rdmapin_device_rc_odp", NULL, "1 if the RDMA device offers RC On-Demand Paging.");
	for_each_device(put_device_odp, NULL);
}

static void put_pages(const struct pin_list *pins)
{
	uint64_t kernel;

	if (kernel_pinned_pages(&kernel))
		put_gauge("rdmapin_kernel_pinned_pages",
			  "Pages the kernel holds pinned with FOLL_PIN, by anyone "
			  "(nr_foll_pin_acquired - nr_foll_pin_released).",
			  kernel);
	put_gauge("rdmapin_registry_pinned_pages",
		  "Pages that the long-term pins in librdmapin's records cover.",
		  registry_pinned_pages(pins));
}

void print_metrics(const struct pin_list *pins)
{
	put_pins(pins);
	put_gauge(
		"rdmapin_unmanaged_processes",
		"Processes with an RDMA device open and shared file mappings, without librdmapin.",
		unmanaged_processes(pins));
	put_checks(pins);
	put_host();
	put_pages(pins);
	puts("# EOF");
}
