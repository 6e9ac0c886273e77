/* SPDX-License-Identifier: MIT */
/* pinls --caps: what this host offers to make pins safe. */
#ifndef PINLS_CAPS_H
#define PINLS_CAPS_H

#include "output.h"

/* Prints what this host offers; returns the exit status. */
int print_caps(const struct output_opts *o);

#endif
