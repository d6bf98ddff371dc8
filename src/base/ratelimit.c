/* ratelimit: bounded fixed-window counters (see ratelimit.h). */
#include "base/ratelimit.h"
#include "base/xmalloc.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RL_SLOTS 4096
#define RL_PROBE 8

struct slot {
    char key[96];
    int64_t window_start;
    int count;
};

struct ratelimit {
    pthread_mutex_t mu;
    int limit, window;
    struct slot slots[RL_SLOTS];
};

ratelimit *ratelimit_new(int limit, int window_seconds) {
    ratelimit *rl = xcalloc(1, sizeof(*rl));
    pthread_mutex_init(&rl->mu, NULL);
    rl->limit = limit;
    rl->window = window_seconds;
    return rl;
}

void ratelimit_free(ratelimit *rl) {
    if (!rl) return;
    pthread_mutex_destroy(&rl->mu);
    free(rl);
}

static uint32_t hash(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

/* Find key's slot; with create, claim an empty, expired or the stalest slot. */
static struct slot *find(ratelimit *rl, const char *key, int64_t now, int create) {
    uint32_t h = hash(key);
    struct slot *victim = NULL;
    for (int i = 0; i < RL_PROBE; i++) {
        struct slot *s = &rl->slots[(h + (uint32_t)i) % RL_SLOTS];
        if (s->key[0] && strncmp(s->key, key, sizeof(s->key) - 1) == 0) {
            if (now - s->window_start >= rl->window) {
                s->window_start = now;
                s->count = 0;
            }
            return s;
        }
        /* Prefer an empty slot, else the one whose window started longest ago. */
        if (!s->key[0]) {
            if (!victim || victim->key[0]) victim = s;
        } else if (!victim || (victim->key[0] && s->window_start < victim->window_start)) {
            victim = s;
        }
    }
    if (!create) return NULL;
    snprintf(victim->key, sizeof(victim->key), "%s", key);
    victim->window_start = now;
    victim->count = 0;
    return victim;
}

int ratelimit_blocked(ratelimit *rl, const char *key, int64_t now) {
    pthread_mutex_lock(&rl->mu);
    struct slot *s = find(rl, key, now, 0);
    int wait = 0;
    if (s && s->count >= rl->limit) wait = (int)(s->window_start + rl->window - now);
    if (wait < 0) wait = 0;
    pthread_mutex_unlock(&rl->mu);
    return wait;
}

void ratelimit_hit(ratelimit *rl, const char *key, int64_t now) {
    pthread_mutex_lock(&rl->mu);
    struct slot *s = find(rl, key, now, 1);
    s->count++;
    pthread_mutex_unlock(&rl->mu);
}

void ratelimit_clear(ratelimit *rl, const char *key) {
    pthread_mutex_lock(&rl->mu);
    struct slot *s = find(rl, key, 0, 0);
    if (s) s->key[0] = '\0';
    pthread_mutex_unlock(&rl->mu);
}
