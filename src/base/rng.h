/* rng: small, fast, reproducible randomness for demo data and simulations
 * (splitmix64). Never for secrets: keys, nonces and draws that must not be
 * predicted use libsodium (crypto.h) or OpenSSL. */
#ifndef ISLE_RNG_H
#define ISLE_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct rng {
    uint64_t s;
} rng;

static inline uint64_t rng_next(rng *r) {
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/** Uniform in [0, 1). */
static inline double rng_unit(rng *r) {
    return (double)(rng_next(r) >> 11) / 9007199254740992.0;
}

/** Uniform in [lo, hi). */
static inline double rng_uniform(rng *r, double lo, double hi) {
    return lo + (hi - lo) * rng_unit(r);
}

/** Uniform integer in [0, n); 0 when n <= 0. */
static inline int rng_pick(rng *r, int n) {
    return n > 0 ? (int)(rng_unit(r) * n) : 0;
}

/** Standard normal (Box–Muller). */
static inline double rng_normal(rng *r) {
    double u = rng_unit(r), v = rng_unit(r);
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

#endif
