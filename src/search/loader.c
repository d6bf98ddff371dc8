/* search/loader.c: bulk loading with decoding and indexing on two threads.
 *
 * Building the index from the catalog is two stages of about equal cost: decoding
 * each item's JSON (in the caller: catalog_for_each, or a file reader) and
 * analysing it (search_engine_put). The loader runs the second stage on a worker
 * thread fed through a bounded queue, so that on a machine with two cores the
 * build takes about the longer of the two instead of their sum. Items are
 * indexed in the order they were queued. When the thread cannot be started the
 * loader indexes synchronously. */
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "search/internal.h"

#define LOADER_QUEUE 1024 /* items decoded ahead of the indexer */

struct search_loader {
    search_engine *s;
    void (*fail)(void *ctx, const err *e);
    void *ctx;
    pthread_mutex_t mu;
    pthread_cond_t not_empty, not_full;
    json_t *q[LOADER_QUEUE];
    size_t head, len;
    int done, threaded;
    pthread_t thread;
    long indexed, failed;
    uint64_t put_ns;
    err first;
};

/* Index one item (the loader's reference is released). */
static void load_one(search_loader *l, json_t *item) {
    err e = {0};
    uint64_t t = time_mono_ns();
    int rc = search_engine_put(l->s, item, &e);
    l->put_ns += time_mono_ns() - t;
    json_decref(item);
    if (rc == 0) {
        l->indexed++;
        return;
    }
    if (l->failed++ == 0) l->first = e;
    if (l->fail) l->fail(l->ctx, &e);
}

static void *loader_main(void *arg) {
    search_loader *l = arg;
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (l->len == 0 && !l->done)
            pthread_cond_wait(&l->not_empty, &l->mu);
        if (l->len == 0) break;
        json_t *item = l->q[l->head];
        l->head = (l->head + 1) % LOADER_QUEUE;
        l->len--;
        pthread_cond_signal(&l->not_full);
        pthread_mutex_unlock(&l->mu);
        load_one(l, item);
        pthread_mutex_lock(&l->mu);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

search_loader *search_loader_start(search_engine *s, void (*fail)(void *ctx, const err *e),
                                   void *ctx) {
    search_loader *l = xcalloc(1, sizeof(*l));
    l->s = s;
    l->fail = fail;
    l->ctx = ctx;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->not_empty, NULL);
    pthread_cond_init(&l->not_full, NULL);
    eng_set_bulk(s, 1);
    l->threaded = pthread_create(&l->thread, NULL, loader_main, l) == 0;
    return l;
}

void search_loader_put(search_loader *l, json_t *item) {
    json_incref(item);
    if (!l->threaded) {
        load_one(l, item);
        return;
    }
    pthread_mutex_lock(&l->mu);
    while (l->len == LOADER_QUEUE)
        pthread_cond_wait(&l->not_full, &l->mu);
    l->q[(l->head + l->len) % LOADER_QUEUE] = item;
    l->len++;
    pthread_cond_signal(&l->not_empty);
    pthread_mutex_unlock(&l->mu);
}

long search_loader_finish(search_loader *l, long *failed, uint64_t *put_ns, err *e) {
    if (l->threaded) {
        pthread_mutex_lock(&l->mu);
        l->done = 1;
        pthread_cond_signal(&l->not_empty);
        pthread_mutex_unlock(&l->mu);
        pthread_join(l->thread, NULL);
    }
    eng_set_bulk(l->s, 0);
    long n = l->indexed;
    if (failed) *failed = l->failed;
    if (put_ns) *put_ns = l->put_ns;
    if (l->failed && e) *e = l->first;
    pthread_cond_destroy(&l->not_empty);
    pthread_cond_destroy(&l->not_full);
    pthread_mutex_destroy(&l->mu);
    free(l);
    return n;
}
