// SPDX-License-Identifier: MIT
/*
 * pinls: who pins which file. Lists the live registrations ("pins") that
 * processes using librdmapin publish in the pin registry, and the RDMA users
 * that map files without it, the way lslocks(8) lists locks. See pinls(1).
 */
#define _GNU_SOURCE
#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <locale.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "caps.h"
#include "collect.h"
#include "kcheck.h"
#include "metrics.h"
#include "rows.h"
#include "xalloc.h"

/* Exit statuses, as lsof(8) and util-linux use them. */
#define EXIT_NONE_FOUND 1
#define EXIT_USAGE 2

static void __attribute__((noreturn)) errtryhelp(void)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", program_invocation_short_name);
	exit(EXIT_USAGE);
}

static void __attribute__((noreturn)) usage(void)
{
	printf("Usage:\n"
	       " %s [options] [FILE|DIR...]\n"
	       "\n"
	       "List the RDMA registrations (pins) of files by processes using librdmapin,\n"
	       "and RDMA users that map files without it; with FILE or DIR, those of FILE\n"
	       "or of the files under DIR.\n"
	       "\n"
	       "Options:\n"
	       " -b, --bytes            print OFFSET and LENGTH in bytes\n"
	       " -J, --json             use JSON output format\n"
	       " -n, --noheadings       don't print headings\n"
	       " -o, --output <list>    output columns; +<list> adds to the default\n"
	       "     --output-all       output all columns\n"
	       " -p, --pid <pid,...>    only pins of these processes\n"
	       " -r, --raw              use the raw output format\n"
	       " -t, --terse            print only the pids, one per line, each once\n"
	       " -u, --user <user>      only pins of processes of this user (name or uid)\n"
	       "     --openmetrics      print metrics of the pins and the host (OpenMetrics)\n"
	       "     --caps             show what this host and its RDMA devices offer\n"
	       " -h, --help             display this help\n"
	       " -V, --version          display version\n"
	       "\n"
	       "Available output columns:\n",
	       program_invocation_short_name);
	print_column_help();
	printf("\nExit status: 0 if anything is listed, 1 if nothing, 2 on usage errors.\n"
	       "For more details see pinls(1).\n");
	exit(EXIT_SUCCESS);
}

/* "A,B" replaces the columns, "+A,B" appends to them (lsblk's -o). */
static void parse_columns(const char *list, struct columns *cols)
{
	const char *p, *arg = list;
	size_t len;
	int id;

	if (*arg == '+')
		arg++;
	else
		cols->n = 0;
	if (!*arg) {
		warnx("no columns in '%s'", list);
		errtryhelp();
	}
	for (p = arg; *p; p += len + !!p[len]) {
		len = strcspn(p, ",");
		id = column_id(p, len);
		if (id < 0) {
			warnx("unknown column: %.*s", (int)len, p);
			errtryhelp();
		}
		if (cols->n == ARRAY_SIZE(cols->id)) {
			warnx("too many columns: %s", list);
			errtryhelp();
		}
		cols->id[cols->n++] = id;
	}
}

static void parse_pids(const char *arg, struct filter *f)
{
	const char *p = arg;
	char *end;
	long pid;

	do {
		errno = 0;
		pid = strtol(p, &end, 10);
		if (errno || end == p || pid <= 0 || pid > INT_MAX || (*end && *end != ',')) {
			warnx("invalid PID argument: '%s'", arg);
			errtryhelp();
		}
		f->pids = xrealloc(f->pids, f->npids + 1, sizeof(*f->pids));
		f->pids[f->npids++] = pid;
		p = end + 1;
	} while (*end);
}

static void parse_user(const char *arg, struct filter *f)
{
	struct passwd *pw = getpwnam(arg);
	unsigned long uid;
	char *end;

	f->by_uid = true;
	if (pw) {
		f->uid = pw->pw_uid;
		return;
	}
	errno = 0;
	uid = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || uid >= (uid_t)-1) {
		warnx("unknown user: '%s'", arg);
		errtryhelp();
	}
	f->uid = uid;
}

int main(int argc, char **argv)
{
	enum { OPT_OUTPUT_ALL = CHAR_MAX + 1, OPT_CAPS, OPT_OPENMETRICS };
	static const struct option longopts[] = {
		{ "bytes", no_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'J' },
		{ "noheadings", no_argument, NULL, 'n' },
		{ "output", required_argument, NULL, 'o' },
		{ "output-all", no_argument, NULL, OPT_OUTPUT_ALL },
		{ "pid", required_argument, NULL, 'p' },
		{ "raw", no_argument, NULL, 'r' },
		{ "terse", no_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "caps", no_argument, NULL, OPT_CAPS },
		{ "openmetrics", no_argument, NULL, OPT_OPENMETRICS },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct columns cols;
	struct output_opts o = { 0 };
	struct pin_list pins = { 0 };
	struct filter f = { 0 };
	bool terse = false, caps = false, metrics = false;
	int c;

	setlocale(LC_ALL, "");
	columns_default(&cols);
	while ((c = getopt_long(argc, argv, "bJno:p:rtu:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o.bytes = true;
			break;
		case 'J':
			o.json = true;
			break;
		case 'n':
			o.noheadings = true;
			break;
		case 'o':
			parse_columns(optarg, &cols);
			break;
		case OPT_OUTPUT_ALL:
			columns_all(&cols);
			break;
		case 'p':
			parse_pids(optarg, &f);
			break;
		case 'r':
			o.raw = true;
			break;
		case 't':
			terse = true;
			break;
		case 'u':
			parse_user(optarg, &f);
			break;
		case OPT_CAPS:
			caps = true;
			break;
		case OPT_OPENMETRICS:
			metrics = true;
			break;
		case 'h':
			usage();
		case 'V':
			printf("%s from librdmapin %s\n", program_invocation_short_name,
			       PINLS_VERSION);
			return EXIT_SUCCESS;
		default:
			errtryhelp();
		}
	}
	if (o.json + o.raw + terse + caps + metrics > 1) {
		warnx("--json, --raw, --terse, --caps and --openmetrics are mutually exclusive");
		errtryhelp();
	}
	if (caps) {
		if (optind < argc) {
			warnx("--caps takes no FILE");
			errtryhelp();
		}
		return print_caps(&o);
	}
	for (; optind < argc; optind++)
		filter_add_file(&f, argv[optind]);

	collect_pins(&pins, &f);
	pin_list_sort(&pins);
	if (metrics || columns_have(&cols, COL_CHECK))
		kcheck_pins(pins.v, pins.n);
	if (metrics)
		print_metrics(&pins);
	else if (terse)
		print_pids(&pins);
	else if (pins.n)
		print_pins(&pins, &cols, &o);

	filter_free(&f);
	pin_list_free(&pins);
	/* No pins is a measurement too: a collector must not see it fail. */
	return pins.n || metrics ? EXIT_SUCCESS : EXIT_NONE_FOUND;
}
