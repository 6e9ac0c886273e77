// SPDX-License-Identifier: MIT
/* The output formats of pinls: see output.h. */
#include <err.h>
#include <stdlib.h>

#include "output.h"

struct libscols_table *output_table(const struct output_opts *o, const char *name)
{
	struct libscols_table *tb = scols_new_table();

	if (!tb)
		err(EXIT_FAILURE, "failed to allocate the output table");
	scols_table_enable_json(tb, o->json);
	scols_table_enable_raw(tb, o->raw);
	scols_table_enable_noheadings(tb, o->noheadings);
	scols_table_set_name(tb, name);
	return tb;
}
