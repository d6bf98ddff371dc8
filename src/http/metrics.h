/* metrics: Prometheus text exposition of the server's counters. */
#ifndef ISLE_METRICS_H
#define ISLE_METRICS_H

#include "base/strbuf.h"

/** Append the metrics in Prometheus text format 0.0.4 to out. */
void metrics_render(strbuf *out);

#endif
