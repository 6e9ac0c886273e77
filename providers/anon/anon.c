// SPDX-License-Identifier: MIT
/* Private anonymous memory: pins long-term everywhere; no file to guard. */
#include "provider.h"

const struct rdmapin_provider rdmapin_provider_anon = {
	.kind = RDMAPIN_BACKING_ANON,
	.prepare = rdmapin_provider_prepare_pinnable,
	.reg = rdmapin_provider_reg_verbs,
};
