/* SPDX-License-Identifier: MIT */
/* Small helpers every part of librdmapin and its tools share. */
#ifndef RDMAPIN_UTIL_ARRAY_H
#define RDMAPIN_UTIL_ARRAY_H

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
