// SPDX-License-Identifier: MIT
/*
 * The quirk table: device driver x kernel range -> a known defect that
 * loses or misplaces data while completions report success. Such a mode is
 * never chosen silently: the registration takes another mode the caller
 * allows, or is refused, unless the caller accepts the quirk by name.
 *
 * A driver is recognised by the vendor id it reports through the verbs
 * (struct ibv_device_attr), which the kernel driver sets and no rename of
 * the device changes; rxe reports RXE_VENDOR_ID (0xffffff).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "array.h"
#include "device_quirks.h"
#include "error.h"
#include "host_caps.h"

#define RXE_VENDOR_ID 0xffffff

struct device_quirk {
	enum rdmapin_quirk quirk;
	const char *name;		/* rdmapin_quirk_str() */
	uint32_t vendor_id;		/* the driver */
	unsigned int since[2];		/* first kernel (major, minor) with the defect */
	unsigned int fixed[2];		/* first kernel without it; { 0, 0 }: none known */
	enum rdmapin_reg_mode mode;	/* the mode it corrupts */
	const char *defect;
};

static const struct device_quirk quirks[] = {
	{
		/*
		 * __rxe_odp_mr_copy() (drivers/infiniband/sw/rxe/rxe_odp.c)
		 * copies into the page without its in-page offset. rxe ODP
		 * arrived in 6.15; seen on 7.2.13, no fix upstream yet.
		 */
		.quirk = RDMAPIN_QUIRK_RXE_ODP_OFFSET,
		.name = "rxe-odp-offset",
		.vendor_id = RXE_VENDOR_ID,
		.since = { 6, 15 },
		.mode = RDMAPIN_MODE_ODP,
		.defect = "RDMA WRITEs into an On-Demand Paging MR that do not start at a page "
			  "boundary complete successfully but land at the wrong offset",
	},
};

static const struct device_quirk *find(enum rdmapin_quirk q)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(quirks); i++)
		if (quirks[i].quirk == q)
			return &quirks[i];
	return NULL;
}

const char *rdmapin_quirk_str(enum rdmapin_quirk quirk)
{
	const struct device_quirk *q = find(quirk);

	return q ? q->name : "unknown";
}

static bool kernel_in(const struct device_quirk *q)
{
	return rdmapin_host_kernel_at_least(q->since[0], q->since[1]) &&
	       (!q->fixed[0] || !rdmapin_host_kernel_at_least(q->fixed[0], q->fixed[1]));
}

uint32_t rdmapin_device_quirks(const struct ibv_device_attr_ex *attr)
{
	uint32_t found = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(quirks); i++)
		if (attr->orig_attr.vendor_id == quirks[i].vendor_id && kernel_in(&quirks[i]))
			found |= quirks[i].quirk;
	return found;
}

uint32_t rdmapin_quirks_of_mode(uint32_t found, enum rdmapin_reg_mode mode)
{
	uint32_t of_mode = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(quirks); i++)
		if (quirks[i].mode == mode)
			of_mode |= quirks[i].quirk;
	return found & of_mode;
}

static const struct device_quirk *find_name(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(quirks); i++)
		if (strlen(quirks[i].name) == len && !strncmp(quirks[i].name, name, len))
			return &quirks[i];
	return NULL;
}

static int unknown_name(const char *name, size_t len)
{
	char known[256];
	size_t i, used = 0;

	known[0] = '\0';
	for (i = 0; i < ARRAY_SIZE(quirks) && used < sizeof(known); i++)
		used += snprintf(known + used, sizeof(known) - used, "%s%s", i ? ", " : "",
				 quirks[i].name);
	return rdmapin_fail(EINVAL, "RDMAPIN_ALLOW_QUIRKS names '%.*s', which this librdmapin "
			    "does not know (it knows %s); fix or unset the variable", (int)len,
			    name, known);
}

/* A comma-separated list of names. */
static int parse_list(const char *list, uint32_t *allowed)
{
	const struct device_quirk *q;
	const char *p, *end;

	*allowed = 0;
	for (p = list; *p; p = *end ? end + 1 : end) {
		end = strchrnul(p, ',');
		if (end == p)
			continue;
		q = find_name(p, end - p);
		if (!q)
			return unknown_name(p, end - p);
		*allowed |= q->quirk;
	}
	return 0;
}

#define ENV_ENTRY "RDMAPIN_ALLOW_QUIRKS="
#define ENV_NAME_LEN (sizeof(ENV_ENTRY) - 1)

/*
 * The variable is read at every registration, and a scan of the
 * environment was a third of an anonymous registration's own instructions
 * (in the test guests).
 * So each thread keeps its last find: the entry, where it was, and a copy
 * of the value. setenv(), putenv() and unsetenv() replace or move entries
 * (and clearenv() the array) rather than edit them; the copy catches a
 * string given to putenv() and edited since. Changing environ's pointers by
 * hand is undefined (POSIX, XBD 8.1).
 */
struct env_find {
	char **array;
	size_t slot;
	const char *entry;
	char value[64];
	uint32_t allowed;
};

static __thread struct env_find last_find;

/*
 * The environment the process started with: the array on its stack after
 * argv, which glibc hands to the functions of .init_array. It is never
 * freed (setenv() and putenv() move the entries to a new array to add one),
 * so its first exec_env_len slots may be read for as long as environ is
 * still it.
 */
static char **exec_env;
static size_t exec_env_len;

static void note_exec_env(int argc, char **argv, char **envp)
{
	size_t n = 0;

	if (!argv || envp != argv + argc + 1)
		return;
	while (envp[n])
		n++;
	exec_env_len = n;
	exec_env = envp;
}

/*
 * Put there by hand: link-time optimization merges the functions marked
 * constructor into one that calls them without arguments, and finding them
 * undefined, GCC dropped this one's body, so the array was never known.
 */
typedef void init_array_fn(int argc, char **argv, char **envp);
static init_array_fn *note_exec_env_at_init __attribute__((section(".init_array"), used)) =
	note_exec_env;

/*
 * Reading the slot is safe: the array is the one the process started with,
 * that long, or it ends at no index before the slot.
 */
static bool slot_readable(const struct env_find *f)
{
	size_t i;

	if (f->array == exec_env)
		return f->slot < exec_env_len;
	for (i = 0; i < f->slot; i++)
		if (!environ[i])
			return false;
	return true;
}

static bool still_there(const struct env_find *f)
{
	if (!f->entry || environ != f->array || !slot_readable(f))
		return false;
	return environ[f->slot] == f->entry && !strcmp(f->entry + ENV_NAME_LEN, f->value);
}

/*
 * Absent from the array the process started with, at this thread's last
 * look: setenv() and putenv() add a variable only in a new array, and in
 * place they replace an entry of the same name, or unsetenv() moves entries
 * down. So while environ is still that array, the variable is still absent
 * and the environment is not searched again: with a thousand variables
 * that search took 3.1 us a registration in a TCG guest, 0.34 us natively.
 * (Another entry's string edited in place into this name is not seen: no
 * quirk is accepted then, the safe way.)
 */
static bool still_absent(const struct env_find *f)
{
	return !f->entry && f->array && f->array == exec_env && environ == f->array;
}

static char **find_entry(void)
{
	char **e;

	for (e = environ; e && *e; e++)
		if (**e == 'R' && !strncmp(*e, ENV_ENTRY, ENV_NAME_LEN))
			return e;
	return NULL;
}

/* As secure_getenv(3): for the process's life, so asked once. */
static bool secure_exec(void)
{
	static int secure = -1;
	int s = __atomic_load_n(&secure, __ATOMIC_RELAXED);

	if (s < 0) {
		s = !!getauxval(AT_SECURE);
		__atomic_store_n(&secure, s, __ATOMIC_RELAXED);
	}
	return s;
}

/* Set-user-ID programs ignore it, as every variable. */
int rdmapin_quirks_from_env(uint32_t *allowed)
{
	struct env_find *f = &last_find;
	const char *value;
	char **e;

	*allowed = 0;
	if (secure_exec())
		return 0;
	if (still_there(f)) {
		*allowed = f->allowed;
		return 0;
	}
	if (still_absent(f))
		return 0;
	f->entry = NULL;
	f->array = NULL;
	e = find_entry();
	if (!e) {
		f->array = environ;
		return 0;
	}
	value = *e + ENV_NAME_LEN;
	if (parse_list(value, allowed))
		return -1;
	if (strlen(value) < sizeof(f->value)) {
		strcpy(f->value, value);
		f->array = environ;
		f->slot = e - environ;
		f->allowed = *allowed;
		f->entry = *e;
	}
	return 0;
}

int rdmapin_quirk_refuse(uint32_t found, const char *what, const char *dev)
{
	const struct device_quirk *q = find(found & -found);

	return rdmapin_fail(EOPNOTSUPP, "%s: only %s is left, and %s on Linux %s has a known "
			    "defect there (%s): %s. Use device-DAX (/dev/daxX.Y), a backing that "
			    "can be pinned, or another device; or, if every peer writes only at "
			    "page boundaries, accept it with RDMAPIN_ALLOW_QUIRKS=%s or "
			    "allow_quirks in rdmapin_reg_mr_ex()", what,
			    q->mode == RDMAPIN_MODE_ODP ? "On-Demand Paging" : "pinning", dev,
			    rdmapin_host()->kernel_release, q->name, q->defect, q->name);
}
