/* ratelimit: fixed-window counters keyed by short strings, in memory.
 *
 * Used for login attempts (per login name and per client address). The table
 * has a fixed number of slots, so memory is bounded whatever an attacker sends;
 * when it is full the stalest entry is evicted. Thread-safe (one mutex). With
 * several nodes each node counts alone, which only loosens the limit by the
 * node count. */
#ifndef ISLE_RATELIMIT_H
#define ISLE_RATELIMIT_H

#include <stdint.h>

typedef struct ratelimit ratelimit;

/** A limiter allowing `limit` events per `window_seconds` per key. Caller frees. */
ratelimit *ratelimit_new(int limit, int window_seconds);
void ratelimit_free(ratelimit *rl);
/** Seconds until key may act again (0 = allowed now). Does not count an event. */
int ratelimit_blocked(ratelimit *rl, const char *key, int64_t now);
/** Count one event for key at time now. */
void ratelimit_hit(ratelimit *rl, const char *key, int64_t now);
/** Forget key (e.g. after a successful login). */
void ratelimit_clear(ratelimit *rl, const char *key);

#endif
