/* SPDX-License-Identifier: MIT */
/* The output formats of pinls, for its pins and its --caps alike. */
#ifndef PINLS_OUTPUT_H
#define PINLS_OUTPUT_H

#include <stdbool.h>
#include <libsmartcols.h>

struct output_opts {
	bool json, raw, noheadings, bytes;
};

/* An empty table in the format the options ask for; exits if out of memory. */
struct libscols_table *output_table(const struct output_opts *o, const char *name);

#endif
