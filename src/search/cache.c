/* search/cache.c: the search API's answer cache.
 *
 * Government-service searches repeat: a few hundred phrasings (社保卡, 营业执照,
 * 身份证补办 …) make up most of a day's queries. The API keeps the encoded
 * answers of recent requests, keyed by every parameter that shapes the answer,
 * and serves a repeat without running the query again — the way Elasticsearch's
 * request cache or Solr's queryResultCache do.
 *
 * Correctness: an entry records the engine generation it was computed at (read
 * before the query ran); any change to the index (item edit, import, synonym)
 * bumps the generation, so older entries are never served again. An entry made
 * while a change was in progress carries the older generation and is dropped.
 *
 * Shape: SEARCH_CACHE_SLOTS entries in sets of SEARCH_CACHE_WAYS (a key lives in
 * one set; a full set evicts its least recently used entry — a direct-mapped
 * table let two popular keys that collide evict each other on every request),
 * striped locks so server threads rarely wait,
 * answers copied in and out under the lock (a few KiB: cheaper than reference
 * counting). Memory is bounded: at most SEARCH_CACHE_SLOTS × SEARCH_CACHE_MAX_BODY
 * bytes. ISLE_SEARCH_CACHE=0 turns the cache off (for measuring the engine). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "search/internal.h"

#define SEARCH_CACHE_SLOTS    4096 /* power of two */
#define SEARCH_CACHE_WAYS     4    /* entries per set */
#define SEARCH_CACHE_SETS     (SEARCH_CACHE_SLOTS / SEARCH_CACHE_WAYS)
#define SEARCH_CACHE_STRIPES  64
#define SEARCH_CACHE_MAX_KEY  (SEARCH_QUERY_MAX_BYTES + 1024)
#define SEARCH_CACHE_MAX_BODY (64 * 1024)

typedef struct centry {
    uint64_t hash, generation, used; /* used: the tick of the last hit or store */
    char *key, *body, *normalized;
    size_t klen, blen;
    int total;
} centry;

static centry slots[SEARCH_CACHE_SLOTS];
static pthread_mutex_t stripes[SEARCH_CACHE_STRIPES];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int enabled;
static atomic_ullong hits, misses, ticks;

static void init(void) {
    for (int i = 0; i < SEARCH_CACHE_STRIPES; i++)
        pthread_mutex_init(&stripes[i], NULL);
    const char *v = getenv("ISLE_SEARCH_CACHE");
    enabled = !(v && !strcmp(v, "0"));
}

static uint64_t fnv1a(const char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 1099511628211ull;
    }
    return h;
}

int search_cache_enabled(void) {
    pthread_once(&once, init);
    return enabled;
}

uint64_t search_engine_generation(search_engine *s) {
    pthread_rwlock_rdlock(&s->lock);
    uint64_t g = s->generation;
    pthread_rwlock_unlock(&s->lock);
    return g;
}

int search_cache_get(uint64_t generation, const char *key, size_t klen, search_cached *out) {
    if (!search_cache_enabled() || klen > SEARCH_CACHE_MAX_KEY) return 0;
    uint64_t h = fnv1a(key, klen);
    size_t set = h & (SEARCH_CACHE_SETS - 1);
    pthread_mutex_t *mu = &stripes[set % SEARCH_CACHE_STRIPES];
    int hit = 0;
    pthread_mutex_lock(mu);
    for (size_t w = 0; w < SEARCH_CACHE_WAYS && !hit; w++) {
        centry *c = &slots[set * SEARCH_CACHE_WAYS + w];
        if (c->key && c->hash == h && c->generation == generation && c->klen == klen &&
            !memcmp(c->key, key, klen)) {
            out->body = xmalloc(c->blen + 1);
            memcpy(out->body, c->body, c->blen + 1);
            out->len = c->blen;
            out->total = c->total;
            snprintf(out->normalized, sizeof(out->normalized), "%s", c->normalized);
            c->used = atomic_fetch_add_explicit(&ticks, 1, memory_order_relaxed);
            hit = 1;
        }
    }
    pthread_mutex_unlock(mu);
    atomic_fetch_add_explicit(hit ? &hits : &misses, 1, memory_order_relaxed);
    return hit;
}

void search_cache_put(uint64_t generation, const char *key, size_t klen, const char *body,
                      size_t blen, const char *normalized, int total) {
    if (!search_cache_enabled() || klen > SEARCH_CACHE_MAX_KEY || blen > SEARCH_CACHE_MAX_BODY)
        return;
    uint64_t h = fnv1a(key, klen);
    size_t set = h & (SEARCH_CACHE_SETS - 1);
    /* Allocate outside the lock; swap in under it. */
    centry n = {.hash = h,
                .generation = generation,
                .used = atomic_fetch_add_explicit(&ticks, 1, memory_order_relaxed),
                .key = xmalloc(klen),
                .body = xmalloc(blen + 1),
                .normalized = xstrdup(normalized),
                .klen = klen,
                .blen = blen,
                .total = total};
    memcpy(n.key, key, klen);
    memcpy(n.body, body, blen);
    n.body[blen] = '\0';
    pthread_mutex_t *mu = &stripes[set % SEARCH_CACHE_STRIPES];
    pthread_mutex_lock(mu);
    /* The same key (an older generation), else an empty way, else the least recently used. */
    centry *victim = NULL;
    for (size_t w = 0; w < SEARCH_CACHE_WAYS; w++) {
        centry *c = &slots[set * SEARCH_CACHE_WAYS + w];
        if (c->key && c->hash == h && c->klen == klen && !memcmp(c->key, key, klen)) {
            victim = c;
            break;
        }
        if (!victim || (victim->key && (!c->key || c->used < victim->used))) victim = c;
    }
    centry old = *victim;
    *victim = n;
    pthread_mutex_unlock(mu);
    free(old.key);
    free(old.body);
    free(old.normalized);
}

void search_cache_stats(uint64_t *hit, uint64_t *miss) {
    *hit = atomic_load_explicit(&hits, memory_order_relaxed);
    *miss = atomic_load_explicit(&misses, memory_order_relaxed);
}

void search_cache_clear(void) {
    pthread_once(&once, init);
    for (size_t i = 0; i < SEARCH_CACHE_SLOTS; i++) {
        pthread_mutex_t *mu = &stripes[(i / SEARCH_CACHE_WAYS) % SEARCH_CACHE_STRIPES];
        pthread_mutex_lock(mu);
        centry old = slots[i];
        memset(&slots[i], 0, sizeof(slots[i]));
        pthread_mutex_unlock(mu);
        free(old.key);
        free(old.body);
        free(old.normalized);
    }
}
