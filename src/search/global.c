/* search/global.c: the server's search engine and what search keeps in the
 * database (005_search.sql): staff synonyms and the query log.
 *
 * The engine is built once by search_serve_start() before the server listens
 * and lives until the process exits; search_item_changed() re-indexes one item
 * after a catalog edit. Synonym edits reload the synonyms into the engine at
 * once (they are applied to queries, so no item is re-indexed).
 *
 * The query log is counted in memory (a bounded table of LOG_PENDING_MAX
 * queries) and written in one transaction at most every LOG_FLUSH_SECONDS, so a
 * search costs no database write. Counts not yet written when the process stops
 * are lost (at most LOG_FLUSH_SECONDS of them). Logged text is the normalised
 * query without digit runs of 7 or more: no ID or phone numbers reach the table.
 * With several nodes each node logs its own counts into the same rows. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "catalog/catalog.h"
#include "search/internal.h"

#define LOG_PENDING_MAX   1024
#define LOG_FLUSH_SECONDS 10
#define LOG_QUERY_MAX     SEARCH_QUERY_MAX_BYTES
#define ZERO_MAX_LIMIT    200

static search_engine *global_engine;

search_engine *search_global(void) {
    return global_engine;
}

static void put_failed(void *ctx, const err *e) {
    (void)ctx;
    log_warn("search: item not indexed: %s", e->message);
}

int search_serve_start(db *d, const char *data_dir, err *e) {
    uint64_t t0 = time_mono_ns();
    search_engine *s;
    if (search_engine_open(data_dir, &s, e) != 0) return -1;
    /* Items are decoded here and indexed on the loader's thread. */
    search_loader *l = search_loader_start(s, put_failed, NULL);
    int walk = search_load_catalog(d, l, e);
    search_loader_finish(l, NULL, NULL, NULL);
    if (walk != 0 || search_synonyms_reload(d, s, e) != 0) {
        search_engine_free(s);
        return -1;
    }
    search_engine_trim(s);
    global_engine = s;
    log_info("search index: %zu items in %.0f ms", search_engine_count(s),
             (double)(time_mono_ns() - t0) / 1e6);
    return 0;
}

/* ---- several nodes: changes travel through LISTEN/NOTIFY ----
 * With PostgreSQL every node has its own index. A node that changes an item or the
 * synonyms tells the others on channel "isle_search" ("<node>|item:<code>" or
 * "<node>|synonyms"); each node's listener applies the change to its own engine
 * (skipping its own messages). A listener that reconnects after an outage cannot
 * know what it missed, so it reloads the synonyms and logs that items edited
 * meanwhile need a restart of that node. */

static char node_id[24];
static db_listener *listener;

static void announce(db *d, const char *what) {
    if (strcmp(db_backend(d), "postgres") != 0) return;
    char payload[256];
    snprintf(payload, sizeof(payload), "%s|%s", node_id, what);
    err e = {0};
    if (db_notify(d, "isle_search", payload, &e) != 0)
        log_warn("search: other nodes not told of %s: %s", what, e.message);
}

static int item_reindex(db *d, const char *code);

static void on_search_notify(db *d, const char *channel, const char *payload, void *arg) {
    (void)channel, (void)arg;
    const char *bar = strchr(payload, '|');
    if (!bar || !global_engine) return;
    if ((size_t)(bar - payload) == strlen(node_id) && !strncmp(payload, node_id, strlen(node_id)))
        return; /* our own change, already applied */
    const char *what = bar + 1;
    if (!strncmp(what, "item:", 5)) {
        item_reindex(d, what + 5);
    } else if (!strcmp(what, "synonyms")) {
        err e = {0};
        if (search_synonyms_reload(d, global_engine, &e) != 0)
            log_warn("search: synonyms from another node not loaded: %s", e.message);
    }
}

static void on_search_connect(db *d, void *arg) {
    (void)arg;
    static int connections;
    if (connections++ == 0 || !global_engine) return;
    err e = {0};
    if (search_synonyms_reload(d, global_engine, &e) != 0)
        log_warn("search: synonyms not reloaded after reconnecting: %s", e.message);
    log_warn("search: listener reconnected; items edited on other nodes meanwhile are "
             "searchable here after a restart");
}

int search_listen_start(const char *dsn, err *e) {
    if (!db_dsn_is_postgres(dsn)) return 0;
    snprintf(node_id, sizeof(node_id), "%llx",
             (unsigned long long)time_mono_ns() ^ ((unsigned long long)getpid() << 32));
    listener = db_listen_start(dsn, "isle_search", on_search_notify, on_search_connect, NULL, e);
    return listener ? 0 : -1;
}

void search_listen_stop(void) {
    db_listen_stop(listener);
    listener = NULL;
}

int search_item_changed(db *d, const char *code) {
    if (!global_engine || !code) return 0;
    char what[96];
    snprintf(what, sizeof(what), "item:%.80s", code);
    announce(d, what);
    return item_reindex(d, code);
}

static int item_reindex(db *d, const char *code) {
    search_engine *s = global_engine;
    if (!s || !code) return 0;
    err e = {0};
    json_t *item = catalog_item_get(d, code, &e);
    if (!item) {
        if (e.status == 404) {
            search_engine_remove(s, code);
            return 0;
        }
        log_warn("search: cannot re-index %s: %s", code, e.message);
        return -1;
    }
    int rc = search_engine_put(s, item, &e);
    json_decref(item);
    if (rc != 0) log_warn("search: cannot re-index %s: %s", code, e.message);
    return rc;
}

/* ---- synonyms in the database ---- */

#define SYN_DB_MAX SEARCH_MAX_SYNONYMS

int search_synonyms_reload(db *d, search_engine *s, err *e) {
    db_stmt *st = db_query(d, e, "SELECT id, term, canonical FROM search_synonyms ORDER BY id", "");
    if (!st) return -1;
    search_synonym_in *in = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = db_step(st)) == DB_ROW && n < SYN_DB_MAX) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            in = xrealloc(in, cap * sizeof(*in));
        }
        in[n].id = db_column_int64(st, 0);
        in[n].term = xstrdup(db_column_text(st, 1));
        in[n].canonical = xstrdup(db_column_text(st, 2));
        n++;
    }
    db_reset(st);
    if (rc == DB_ERROR) {
        err_internal(e, "读取同义词失败：%s", db_errmsg(d));
    } else {
        search_engine_set_synonyms(s, in, n);
    }
    for (size_t i = 0; i < n; i++) {
        free((char *)in[i].term);
        free((char *)in[i].canonical);
    }
    free(in);
    return rc == DB_ERROR ? -1 : 0;
}

json_t *search_synonyms_list(db *d, err *e) {
    json_t *items = json_array();
    search_engine *s = global_engine;
    if (s) {
        pthread_rwlock_rdlock(&s->lock);
        for (size_t i = 0; i < s->nfile_syn; i++) {
            json_t *o = json_object();
            json_object_set_new(o, "id", json_null());
            json_object_set_new(o, "term", json_string(s->file_syn[i].term));
            json_object_set_new(o, "canonical", json_string(s->file_syn[i].canonical));
            json_object_set_new(o, "source", json_string("file"));
            json_array_append_new(items, o);
        }
        pthread_rwlock_unlock(&s->lock);
    }
    db_stmt *st = db_query(
        d, e, "SELECT id, term, canonical, created_at, created_by FROM search_synonyms ORDER BY id",
        "");
    if (!st) {
        json_decref(items);
        return NULL;
    }
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(db_column_int64(st, 0)));
        json_object_set_new(o, "term", json_string(db_column_text(st, 1)));
        json_object_set_new(o, "canonical", json_string(db_column_text(st, 2)));
        json_object_set_new(o, "source", json_string("db"));
        json_object_set_new(o, "created_at", json_string(db_column_text(st, 3)));
        json_object_set_new(o, "created_by", json_string(db_column_text(st, 4)));
        json_array_append_new(items, o);
    }
    db_reset(st);
    if (rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "读取同义词失败：%s", db_errmsg(d));
        return NULL;
    }
    json_t *out = json_object();
    json_object_set_new(out, "items", items);
    return out;
}

/* Trim ASCII and ideographic spaces; copy into out. -1 when empty or too long. */
static int clean_field(const char *in, char *out, size_t cap) {
    if (!in) return -1;
    while (*in == ' ' || *in == '\t')
        in++;
    if (!strncmp(in, "\xE3\x80\x80", 3)) return clean_field(in + 3, out, cap);
    size_t n = strlen(in);
    while (n && (in[n - 1] == ' ' || in[n - 1] == '\t'))
        n--;
    if (n == 0 || n > SEARCH_SYNONYM_MAX || n >= cap) return -1;
    memcpy(out, in, n);
    out[n] = '\0';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)out[i] < 0x20) return -1;
    return 0;
}

static json_t *synonym_json(int64_t id, const char *term, const char *canonical) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_integer(id));
    json_object_set_new(o, "term", json_string(term));
    json_object_set_new(o, "canonical", json_string(canonical));
    return o;
}

int search_synonym_add(db *d, const audit_actor *actor, const char *term, const char *canonical,
                       int64_t *id_out, err *e) {
    char t[SEARCH_SYNONYM_MAX + 1], c[SEARCH_SYNONYM_MAX + 1];
    if (clean_field(term, t, sizeof(t)) != 0)
        return err_invalid(e, "term", "俗称不能为空，且不超过 %d 字节", SEARCH_SYNONYM_MAX);
    if (clean_field(canonical, c, sizeof(c)) != 0)
        return err_invalid(e, "canonical", "规范名称不能为空，且不超过 %d 字节",
                           SEARCH_SYNONYM_MAX);
    search_engine *s = global_engine;
    if (s) {
        char nt[SEARCH_SYNONYM_MAX * 2], nc[SEARCH_SYNONYM_MAX * 2];
        search_normalize(s, t, nt, sizeof(nt));
        search_normalize(s, c, nc, sizeof(nc));
        if (!nt[0] || !nc[0]) return err_invalid(e, "term", "俗称和规范名称须含有文字");
        if (!strcmp(nt, nc)) return err_invalid(e, "canonical", "规范名称与俗称相同");
        int dup = 0;
        pthread_rwlock_rdlock(&s->lock);
        for (size_t i = 0; i < s->nfile_syn && !dup; i++)
            dup = !strcmp(s->file_syn[i].term, nt) && !strcmp(s->file_syn[i].canonical, nc);
        pthread_rwlock_unlock(&s->lock);
        if (dup) return err_conflict(e, "term", "该同义词已在内置词表中");
    } else if (!strcmp(t, c)) {
        return err_invalid(e, "canonical", "规范名称与俗称相同");
    }
    char now[32];
    time_iso(now, sizeof(now), time_now());
    if (db_begin(d, e) != 0) return -1;
    int64_t id = 0;
    if (db_query_int(d, e, &id, "SELECT id FROM search_synonyms WHERE term = $1 AND canonical = $2",
                     "ss", t, c) == 0) {
        db_rollback(d);
        return err_conflict(e, "term", "该同义词已存在");
    }
    int rc = db_query_int(d, e, &id,
                          "INSERT INTO search_synonyms (term, canonical, created_at, created_by) "
                          "VALUES ($1, $2, $3, $4) RETURNING id",
                          "ssss", t, c, now, actor && actor->login ? actor->login : "system");
    if (rc != 0) {
        db_rollback(d);
        return rc < 0 ? -1 : err_internal(e, "insert returned no id");
    }
    json_t *after = synonym_json(id, t, c);
    char oid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)id);
    rc = audit_record(d, actor, "search.synonym.create", "search_synonym", oid, NULL, after, e);
    json_decref(after);
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    if (id_out) *id_out = id;
    if (s && search_synonyms_reload(d, s, e) != 0) return -1;
    announce(d, "synonyms");
    return 0;
}

int search_synonym_delete(db *d, const audit_actor *actor, int64_t id, err *e) {
    if (db_begin(d, e) != 0) return -1;
    db_stmt *st =
        db_query(d, e, "SELECT term, canonical FROM search_synonyms WHERE id = $1", "i", id);
    if (!st) {
        db_rollback(d);
        return -1;
    }
    int rc = db_step(st);
    json_t *before =
        rc == DB_ROW ? synonym_json(id, db_column_text(st, 0), db_column_text(st, 1)) : NULL;
    db_reset(st);
    if (!before) {
        db_rollback(d);
        if (rc == DB_ERROR) return err_internal(e, "读取同义词失败：%s", db_errmsg(d));
        return err_notfound(e, "没有这个同义词（内置同义词不能删除）");
    }
    char oid[24];
    snprintf(oid, sizeof(oid), "%lld", (long long)id);
    rc = db_execf(d, e, "DELETE FROM search_synonyms WHERE id = $1", "i", id);
    if (rc == 0)
        rc =
            audit_record(d, actor, "search.synonym.delete", "search_synonym", oid, before, NULL, e);
    json_decref(before);
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    if (global_engine && search_synonyms_reload(d, global_engine, e) != 0) return -1;
    announce(d, "synonyms");
    return 0;
}

/* ---- query log ---- */

typedef struct log_entry {
    char query[LOG_QUERY_MAX + 1];
    int64_t searches, zeros;
    int last_total;
    char last_at[32];
} log_entry;

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static log_entry *pending;
static size_t npending;
static int64_t last_flush;

/* The loggable form of a normalised query: digit runs of 7+ removed, spaces
 * collapsed. Returns the length (0 = nothing to log). */
static size_t loggable(const char *q, char *out, size_t cap) {
    size_t o = 0, n = strlen(q);
    for (size_t i = 0; i < n && o + 1 < cap;) {
        if (q[i] >= '0' && q[i] <= '9') {
            size_t j = i;
            while (j < n && q[j] >= '0' && q[j] <= '9')
                j++;
            if (j - i < 7) {
                size_t k = j - i < cap - 1 - o ? j - i : cap - 1 - o;
                memcpy(out + o, q + i, k);
                o += k;
            }
            i = j;
            continue;
        }
        if (q[i] == ' ' && (o == 0 || out[o - 1] == ' ')) {
            i++;
            continue;
        }
        out[o++] = q[i++];
    }
    /* Never end inside a UTF-8 sequence (the copy may have been cut at cap). */
    size_t k = o;
    while (k && ((unsigned char)out[k - 1] & 0xC0) == 0x80)
        k--;
    if (k) {
        unsigned char lead = (unsigned char)out[k - 1];
        size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        if (k - 1 + need > o) o = k - 1;
    }
    while (o && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    return o;
}

static int write_entries(db *d, const log_entry *entries, size_t n, err *e) {
    if (n == 0) return 0;
    if (db_begin(d, e) != 0) return -1;
    for (size_t i = 0; i < n; i++) {
        const log_entry *x = &entries[i];
        if (db_execf(d, e,
                     "INSERT INTO search_log (query, searches, zero_results, last_total, first_at, "
                     "last_at) VALUES ($1, $2, $3, $4, $5, $5) "
                     "ON CONFLICT (query) DO UPDATE SET searches = search_log.searches + "
                     "excluded.searches, zero_results = search_log.zero_results + "
                     "excluded.zero_results, last_total = excluded.last_total, last_at = "
                     "excluded.last_at",
                     "siiis", x->query, x->searches, x->zeros, (int64_t)x->last_total,
                     x->last_at) != 0) {
            db_rollback(d);
            return -1;
        }
    }
    return db_commit(d, e);
}

/* Take the pending entries (caller frees). */
static log_entry *take_pending(size_t *n) {
    pthread_mutex_lock(&log_lock);
    log_entry *taken = pending;
    *n = npending;
    pending = NULL;
    npending = 0;
    last_flush = time_now();
    pthread_mutex_unlock(&log_lock);
    return taken;
}

int search_log_flush(db *d, err *e) {
    size_t n;
    log_entry *taken = take_pending(&n);
    int rc = write_entries(d, taken, n, e);
    free(taken);
    return rc;
}

void search_log_query(db *d, const char *normalized, int total) {
    char q[LOG_QUERY_MAX + 1];
    if (!normalized || loggable(normalized, q, sizeof(q)) == 0) return;
    int64_t now = time_now();
    int flush = 0;
    pthread_mutex_lock(&log_lock);
    if (!pending) {
        pending = xcalloc(LOG_PENDING_MAX, sizeof(*pending));
        if (!last_flush) last_flush = now;
    }
    size_t i;
    for (i = 0; i < npending; i++)
        if (!strcmp(pending[i].query, q)) break;
    if (i == npending && npending < LOG_PENDING_MAX) {
        memset(&pending[i], 0, sizeof(pending[i]));
        snprintf(pending[i].query, sizeof(pending[i].query), "%s", q);
        npending++;
    }
    if (i < npending) {
        pending[i].searches++;
        if (total == 0) pending[i].zeros++;
        pending[i].last_total = total;
        time_iso(pending[i].last_at, sizeof(pending[i].last_at), now);
    }
    flush = npending >= LOG_PENDING_MAX || now - last_flush >= LOG_FLUSH_SECONDS;
    pthread_mutex_unlock(&log_lock);
    if (flush) {
        err e = {0};
        if (search_log_flush(d, &e) != 0) log_warn("search log: %s", e.message);
    }
}

json_t *search_zero_results(db *d, int limit, int offset, err *e) {
    if (limit < 1 || limit > ZERO_MAX_LIMIT) limit = 50;
    if (offset < 0) offset = 0;
    if (search_log_flush(d, e) != 0) return NULL;
    int64_t total = 0;
    if (db_query_int(d, e, &total, "SELECT COUNT(*) FROM search_log WHERE last_total = 0", "") < 0)
        return NULL;
    db_stmt *st = db_query(d, e,
                           "SELECT query, zero_results, searches, last_at FROM search_log "
                           "WHERE last_total = 0 ORDER BY zero_results DESC, last_at DESC, query "
                           "LIMIT $1 OFFSET $2",
                           "ii", (int64_t)limit, (int64_t)offset);
    if (!st) return NULL;
    json_t *items = json_array();
    int rc;
    while ((rc = db_step(st)) == DB_ROW) {
        json_t *o = json_object();
        json_object_set_new(o, "query", json_string(db_column_text(st, 0)));
        json_object_set_new(o, "zero_results", json_integer(db_column_int64(st, 1)));
        json_object_set_new(o, "searches", json_integer(db_column_int64(st, 2)));
        json_object_set_new(o, "last_at", json_string(db_column_text(st, 3)));
        json_array_append_new(items, o);
    }
    db_reset(st);
    if (rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "读取搜索日志失败：%s", db_errmsg(d));
        return NULL;
    }
    json_t *out = json_object();
    json_object_set_new(out, "items", items);
    json_object_set_new(out, "total", json_integer(total));
    json_object_set_new(out, "limit", json_integer(limit));
    json_object_set_new(out, "offset", json_integer(offset));
    return out;
}
