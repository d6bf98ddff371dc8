/* cache: the dashboards' answers kept while the data behind them has not moved.
 *
 * An overview or a drill level at a million cases is a few seconds of aggregate
 * queries, and a wall display asks for the same one again and again. An answer is
 * kept (as its JSON text: jansson values are not shared between threads) with the
 * data signature it was computed under — the newest id of every event stream, the
 * same cheap indexed MAXes the live tick reads — and served while the signature is
 * unchanged and the answer is younger than DASH_CACHE_MAX_S (figures that move with
 * the clock alone, such as cases passing their deadline, or catalog edits, which
 * have no event stream). Any new case event, bid, rating… changes the signature, so
 * a served answer is never older than the data it claims. The live tick recomputes
 * the default overview and the city level as soon as the data moves (watch.c), so
 * the dashboards that reload on its "changed" event find them ready. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dash/dash.h"
#include "dash/internal.h"

#define CACHE_SLOTS 32
#define KEY_MAX     512
#define SIG_MAX     256

typedef struct slot {
    char key[KEY_MAX];
    char sig[SIG_MAX];
    char *text; /* NULL: empty slot */
    int64_t at;
    uint64_t used;
} slot;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static slot slots[CACHE_SLOTS];
static uint64_t clock_uses;

int dash_data_sig(db *d, char *out, size_t n, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT " DASH_STREAMS_SQL ", "
                          "(SELECT COALESCE(MAX(updated_at), '') FROM tenders), "
                          "(SELECT COUNT(*) FROM dash_alerts WHERE status = 'open')",
                          "");
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW)
        snprintf(out, n, "%lld,%lld,%lld,%lld,%lld,%lld,%lld,%s,%lld",
                 (long long)db_column_int64(s, 0), (long long)db_column_int64(s, 1),
                 (long long)db_column_int64(s, 2), (long long)db_column_int64(s, 3),
                 (long long)db_column_int64(s, 4), (long long)db_column_int64(s, 5),
                 (long long)db_column_int64(s, 6), db_column_text(s, 7) ? db_column_text(s, 7) : "",
                 (long long)db_column_int64(s, 8));
    db_reset(s);
    if (rc != DB_ROW) return err_internal(e, "读取数据位置失败");
    return 0;
}

/* Set on the tick's thread while it recomputes: a lookup misses, the answer is stored. */
static _Thread_local int bypass;
void dash_cache_bypass(int on) {
    bypass = on;
}

json_t *dash_cache_get(const char *key, const char *sig, int64_t now) {
    if (bypass || getenv("ISLE_DASH_NO_CACHE")) return NULL;
    char *copy = NULL;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < CACHE_SLOTS; i++) {
        slot *s = &slots[i];
        if (!s->text || strcmp(s->key, key)) continue;
        if (!strcmp(s->sig, sig) && now - s->at >= 0 && now - s->at < DASH_CACHE_MAX_S) {
            copy = strdup(s->text);
            s->used = ++clock_uses;
        }
        break;
    }
    pthread_mutex_unlock(&mu);
    if (!copy) return NULL;
    json_t *o = json_loads(copy, 0, NULL);
    free(copy);
    return o;
}

void dash_cache_put(const char *key, const char *sig, int64_t now, json_t *value) {
    if (strlen(key) >= KEY_MAX || strlen(sig) >= SIG_MAX) return;
    char *text = json_dumps(value, JSON_COMPACT);
    if (!text) return;
    pthread_mutex_lock(&mu);
    slot *victim = NULL;
    for (int i = 0; i < CACHE_SLOTS && !victim; i++)
        if (slots[i].text && !strcmp(slots[i].key, key)) victim = &slots[i];
    for (int i = 0; i < CACHE_SLOTS && !victim; i++)
        if (!slots[i].text) victim = &slots[i];
    if (!victim) { /* full: the least recently used */
        victim = &slots[0];
        for (int i = 1; i < CACHE_SLOTS; i++)
            if (slots[i].used < victim->used) victim = &slots[i];
    }
    free(victim->text);
    victim->text = text;
    snprintf(victim->key, sizeof(victim->key), "%s", key);
    snprintf(victim->sig, sizeof(victim->sig), "%s", sig);
    victim->at = now;
    victim->used = ++clock_uses;
    pthread_mutex_unlock(&mu);
}
