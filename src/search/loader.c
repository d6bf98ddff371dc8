/* search/loader.c: bulk loading with reading and indexing on two threads.
 *
 * The caller reads items (search_load_catalog: the documents' JSON text from the
 * catalog table; a file reader: decoded objects) and queues them; a worker
 * thread fed through a bounded queue scans each text (scan.c, jansson only for
 * what the scanner refuses) and indexes it, so that on a machine with two cores
 * reading from the database overlaps with indexing. Items are indexed in the
 * order they were queued. When the thread cannot be started the loader indexes
 * synchronously. */
#include <pthread.h>
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
    struct queued {
        json_t *item; /* or: */
        char *text;   /* JSON text (owned) */
        size_t len;
        double popularity;
    } q[LOADER_QUEUE];
    sitem it; /* the worker's scan of the current text */
    size_t head, len;
    int done, threaded;
    pthread_t thread;
    long indexed, failed;
    uint64_t put_ns;
    err first;
};

/* Index one item (the loader's reference or text is released). */
static void load_one(search_loader *l, struct queued *qi) {
    err e = {0};
    uint64_t t = time_mono_ns();
    int rc;
    if (qi->item) {
        rc = search_engine_put(l->s, qi->item, &e);
        json_decref(qi->item);
    } else if (sitem_scan(&l->it, qi->text, qi->len) == 0) {
        l->it.popularity = qi->popularity;
        rc = eng_put_item(l->s, &l->it, &e);
    } else {
        json_t *item = json_loadb(qi->text, qi->len, 0, NULL);
        if (item) {
            json_object_set_new(item, "popularity", json_real(qi->popularity));
            rc = search_engine_put(l->s, item, &e);
            json_decref(item);
        } else {
            rc = err_invalid(&e, "doc", "事项文档不是有效的 JSON");
        }
    }
    free(qi->text);
    l->put_ns += time_mono_ns() - t;
    if (rc == 0) {
        l->indexed++;
        return;
    }
    if (l->failed++ == 0) l->first = e;
    if (l->fail) l->fail(l->ctx, &e);
}

static void *loader_main(void *arg) {
    search_loader *l = arg;
    pthread_setname_np(pthread_self(), "isle-index"); /* for top and perf */
    pthread_mutex_lock(&l->mu);
    for (;;) {
        while (l->len == 0 && !l->done)
            pthread_cond_wait(&l->not_empty, &l->mu);
        if (l->len == 0) break;
        struct queued qi = l->q[l->head];
        l->head = (l->head + 1) % LOADER_QUEUE;
        l->len--;
        pthread_cond_signal(&l->not_full);
        pthread_mutex_unlock(&l->mu);
        load_one(l, &qi);
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

static void enqueue(search_loader *l, struct queued qi) {
    if (!l->threaded) {
        load_one(l, &qi);
        return;
    }
    pthread_mutex_lock(&l->mu);
    while (l->len == LOADER_QUEUE)
        pthread_cond_wait(&l->not_full, &l->mu);
    l->q[(l->head + l->len) % LOADER_QUEUE] = qi;
    l->len++;
    pthread_cond_signal(&l->not_empty);
    pthread_mutex_unlock(&l->mu);
}

void search_loader_put(search_loader *l, json_t *item) {
    json_incref(item);
    enqueue(l, (struct queued){.item = item});
}

void search_loader_put_text(search_loader *l, char *json, size_t len, double popularity) {
    enqueue(l, (struct queued){.text = json, .len = len, .popularity = popularity});
}

#define CATALOG_PAGE 512

int search_load_catalog(db *d, search_loader *l, err *e) {
    char after[64] = "";
    for (;;) {
        /* Pages in code order, as catalog_for_each: a bounded result set on PostgreSQL. */
        db_stmt *st = db_query(d, e,
                               "SELECT code, doc, popularity FROM catalog_items "
                               "WHERE code > $1 ORDER BY code LIMIT $2",
                               "si", after, (int64_t)CATALOG_PAGE);
        if (!st) return -1;
        int rc, n = 0;
        while ((rc = db_step(st)) == DB_ROW) {
            const char *code = db_column_text(st, 0), *doc = db_column_text(st, 1);
            size_t len = doc ? strlen(doc) : 0;
            char *text = xmalloc(len + 1);
            memcpy(text, doc ? doc : "", len + 1);
            search_loader_put_text(l, text, len, (double)db_column_int64(st, 2));
            snprintf(after, sizeof(after), "%s", code ? code : "");
            n++;
        }
        db_reset(st);
        if (rc == DB_ERROR) return err_internal(e, "读取事项目录失败：%s", db_errmsg(d));
        if (n < CATALOG_PAGE) return 0;
    }
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
    sitem_free(&l->it);
    free(l);
    return n;
}
