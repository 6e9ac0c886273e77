// SPDX-License-Identifier: MIT
#include "check.h"

int check_passed, check_failed;
