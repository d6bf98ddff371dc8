/* periodic: a background task of `isle serve` run every N milliseconds on its own
 * thread with its own database connection (the watchers of cases and assisted
 * requests). A failed run is logged and the connection reopened next time (the
 * database may have restarted). The interval comes from an environment variable
 * (0 turns the task off). */
#ifndef ISLE_PERIODIC_H
#define ISLE_PERIODIC_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "db/db.h"

/** One run at `now`: 0, or -1 with e. It may write a one-line summary of what it did
 *  into summary (logged when not empty). */
typedef int (*periodic_fn)(db *d, int64_t now, char *summary, size_t n, err *e);

typedef struct periodic periodic;

/** Start fn every $env_var milliseconds (default_ms when unset; 0 = off: *out stays
 *  NULL; values under 50 run every 50 ms) on a thread connected to dsn. name is for
 *  the log. 0, or -1 with e (400 naming env_var for a bad value). */
int periodic_start(const char *name, const char *dsn, const char *env_var, long default_ms,
                   periodic_fn fn, periodic **out, err *e);
/** Stop the thread, close its connection and free p. NULL is accepted. */
void periodic_stop(periodic *p);

#endif
