/* SPDX-License-Identifier: MIT */
/* pinls --openmetrics: the pins and the host, for Prometheus and its kin. */
#ifndef PINLS_METRICS_H
#define PINLS_METRICS_H

#include "pins.h"

/* Prints the OpenMetrics text of these pins (checked by kcheck) and of the host. */
void print_metrics(const struct pin_list *pins);

#endif
