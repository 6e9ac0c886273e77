// SPDX-License-Identifier: MIT
/* The library's process state: see lib.h. */
#include <rdmapin/rdmapin.h>
#include "error.h"

const char *rdmapin_last_error(void)
{
	return rdmapin_error_msg();
}
