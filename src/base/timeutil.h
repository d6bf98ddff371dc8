/* timeutil: clocks and ISO-8601 formatting.
 *
 * All instants isle stores are UTC ISO-8601 strings ("2026-11-28T01:28:00Z"),
 * which sort correctly as text in both SQLite and PostgreSQL. */
#ifndef ISLE_TIMEUTIL_H
#define ISLE_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/** Monotonic clock in nanoseconds, for durations. */
uint64_t time_mono_ns(void);
/** Wall clock, seconds since the epoch. Tests may pin it with time_set_fake(). */
int64_t time_now(void);
/** Pin time_now() to t (0 restores the real clock). For tests only. */
void time_set_fake(int64_t t);
/** Format t as "YYYY-MM-DDTHH:MM:SSZ" into buf (at least 21 bytes). Returns buf. */
char *time_iso(char *buf, size_t n, int64_t t);
/** Current time with milliseconds, "YYYY-MM-DDTHH:MM:SS.mmmZ". Returns buf. */
char *time_iso_now_ms(char *buf, size_t n);
/** Parse "YYYY-MM-DDTHH:MM:SSZ" (or with a space instead of T). Returns 0 or -1. */
int time_parse_iso(const char *s, int64_t *out);
/** RFC 7231 date for HTTP headers ("Sat, 28 Nov 2026 01:28:00 GMT"). Returns buf. */
char *time_http_date(char *buf, size_t n, int64_t t);

#endif
