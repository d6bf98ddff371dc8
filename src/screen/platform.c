/* platform: 防围串标 inside the platform (see platform.h). */
#include "screen/platform.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/pdfdoc.h"
#include "base/timeutil.h"
#include "base/xmalloc.h"
#include "jobs/periodic.h"
#include "screen/screen.h"
#include "screen/similarity.h"
#include "trade/trade.h"

/* ---- the model, loaded once ---- */

static pthread_mutex_t model_mu = PTHREAD_MUTEX_INITIALIZER;
static char data_dir[1024] = "data";
static screen_model *model;
static int model_tried;

void screen_platform_set_data_dir(const char *dir) {
    pthread_mutex_lock(&model_mu);
    snprintf(data_dir, sizeof(data_dir), "%s", dir ? dir : "data");
    model_tried = 0;
    pthread_mutex_unlock(&model_mu);
}

/* The shipped model (NULL when missing or unreadable: patterns and traces still
 * score). Models are immutable once loaded, so sharing across threads is safe. */
static const screen_model *shipped_model(void) {
    pthread_mutex_lock(&model_mu);
    if (!model_tried) {
        model_tried = 1;
        char path[1100];
        snprintf(path, sizeof(path), "%s/screen/model.json", data_dir);
        err e = {0};
        model = screen_model_load(path, &e);
        if (!model) log_warn("screen: no model (%s): price screens are not scored", e.message);
    }
    const screen_model *m = model;
    pthread_mutex_unlock(&model_mu);
    return m;
}

static const char *status_label(const char *s) {
    if (!strcmp(s, "new")) return "待研判";
    if (!strcmp(s, "watch")) return "持续关注";
    if (!strcmp(s, "dismissed")) return "已排除";
    if (!strcmp(s, "case")) return "已立案";
    if (!strcmp(s, "clear")) return "未发现异常";
    return s;
}

static char *dup_text(db_stmt *s, int col) {
    const char *v = db_column_text(s, col);
    return xstrdup(v ? v : "");
}

/* ---- one tender ---- */

typedef struct bidrow {
    int64_t bid_id, company_id;
    char *company, *uscc, *ip, *machine, *key, *doc_hash, *author, *account, *pm, *docs;
    double price, budget;
    int winner;
} bidrow;

static void bidrows_free(bidrow *b, int n) {
    for (int i = 0; i < n; i++) {
        free(b[i].company);
        free(b[i].uscc);
        free(b[i].ip);
        free(b[i].machine);
        free(b[i].key);
        free(b[i].doc_hash);
        free(b[i].author);
        free(b[i].account);
        free(b[i].pm);
        free(b[i].docs);
    }
    free(b);
}

/* The first document's hash and author (the 技术标 by convention of the bid form). */
static void first_doc(const char *docs_json, char **hash, char **author) {
    json_t *docs = docs_json && *docs_json ? json_loads(docs_json, 0, NULL) : NULL;
    json_t *d0 = json_array_get(docs, 0);
    const char *h = json_string_value(json_object_get(d0, "sha256"));
    const char *a = json_string_value(json_object_get(d0, "author"));
    *hash = xstrdup(h ? h : "");
    *author = xstrdup(a ? a : "");
    json_decref(docs);
}

static int load_bids(db *d, int64_t tender_id, bidrow **out, int *n, err *e) {
    db_stmt *s = db_query(
        d, e,
        "SELECT b.id, b.company_id, c.name, c.uscc, b.price_fen, COALESCE(t.budget_fen, 0), "
        "b.client_ip, b.machine_id, tc.pubkey_sha256, b.documents, dep.account_no, "
        "b.project_manager, CASE WHEN t.award_company_id = b.company_id THEN 1 ELSE 0 END "
        "FROM bids b JOIN tenders t ON t.id = b.tender_id "
        "JOIN trade_companies c ON c.id = b.company_id "
        "LEFT JOIN trade_certs tc ON tc.id = b.cert_id "
        "LEFT JOIN trade_deposits dep ON dep.tender_id = b.tender_id AND dep.company_id = "
        "b.company_id "
        "WHERE b.tender_id = $1 AND b.status = 'opened' AND b.price_fen > 0 ORDER BY b.price_fen, "
        "b.id "
        "LIMIT $2",
        "ii", tender_id, (int64_t)SCREEN_MAX_BIDS);
    if (!s) return -1;
    int cap = 16, len = 0, rc;
    bidrow *b = xcalloc((size_t)cap, sizeof(*b));
    while ((rc = db_step(s)) == DB_ROW) {
        if (len == cap) {
            b = xrealloc(b, (size_t)(cap *= 2) * sizeof(*b));
            memset(b + len, 0, (size_t)(cap - len) * sizeof(*b));
        }
        bidrow *r = &b[len++];
        r->bid_id = db_column_int64(s, 0);
        r->company_id = db_column_int64(s, 1);
        r->company = dup_text(s, 2);
        r->uscc = dup_text(s, 3);
        r->price = (double)db_column_int64(s, 4) / 100.0;
        r->budget = (double)db_column_int64(s, 5) / 100.0;
        r->ip = dup_text(s, 6);
        r->machine = dup_text(s, 7);
        r->key = dup_text(s, 8);
        r->docs = dup_text(s, 9);
        first_doc(r->docs, &r->doc_hash, &r->author);
        r->account = dup_text(s, 10);
        r->pm = dup_text(s, 11);
        r->winner = (int)db_column_int64(s, 12);
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        bidrows_free(b, len);
        return err_internal(e, "读取投标失败");
    }
    *out = b;
    *n = len;
    return 0;
}

/* Bidder reference letters: A, B, … Z, AA … */
static void ref_of(int i, char out[8]) {
    if (i < 26)
        snprintf(out, 8, "%c", 'A' + i);
    else
        snprintf(out, 8, "%c%c", 'A' + (i / 26 - 1) % 26, 'A' + i % 26);
}

static json_t *num_or_null(double v) {
    return isfinite(v) ? json_real(round(v * 10000) / 10000) : json_null();
}

/* Pairs of bids (different companies) sharing any document by hash or author. */
static json_t *shared_documents(const bidrow *b, int n) {
    json_t *out = json_array();
    for (int i = 0; i < n && json_array_size(out) < 50; i++) {
        json_t *di = json_loads(b[i].docs, 0, NULL);
        for (int j = i + 1; j < n && json_array_size(out) < 50; j++) {
            if (b[i].company_id == b[j].company_id) continue;
            json_t *dj = json_loads(b[j].docs, 0, NULL);
            size_t x, y;
            json_t *a, *c;
            json_array_foreach(di, x, a) json_array_foreach(dj, y, c) {
                const char *ha = json_string_value(json_object_get(a, "sha256"));
                const char *hc = json_string_value(json_object_get(c, "sha256"));
                const char *aa = json_string_value(json_object_get(a, "author"));
                const char *ac = json_string_value(json_object_get(c, "author"));
                const char *what = ha && hc && *ha && !strcmp(ha, hc)   ? "同一文件"
                                   : aa && ac && *aa && !strcmp(aa, ac) ? "同一编制人"
                                                                        : NULL;
                if (!what) continue;
                char ra[8], rc2[8];
                ref_of(i, ra);
                ref_of(j, rc2);
                json_array_append_new(
                    out,
                    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "a", ra, "b", rc2, "kind", what,
                              "doc_a", json_string_value(json_object_get(a, "name")) ?: "", "doc_b",
                              json_string_value(json_object_get(c, "name")) ?: "", "detail",
                              !strcmp(what, "同一文件") ? ha : aa));
            }
            json_decref(dj);
        }
        json_decref(di);
    }
    return out;
}

/* The bidders' co-bidding network across every tender: nodes with their bids and
 * wins, edges between bidders of this tender that bid together elsewhere too. */
static json_t *network(db *d, const bidrow *b, int n, err *e) {
    json_t *nodes = json_array(), *edges = json_array();
    if (n == 0 || n > 200) return json_pack("{s:o, s:o}", "nodes", nodes, "edges", edges);
    /* The ids are integers from the database: safe to put into the IN list. */
    char *in = xmalloc((size_t)n * 24 + 2);
    size_t o = 0;
    for (int i = 0; i < n; i++)
        o += (size_t)snprintf(in + o, (size_t)n * 24 + 2 - o, "%s%lld", i ? "," : "",
                              (long long)b[i].company_id);
    size_t sql_cap = o * 2 + 600;
    char *sql = xmalloc(sql_cap);
    snprintf(sql, sql_cap,
             "SELECT x.company_id, y.company_id, COUNT(DISTINCT x.tender_id) FROM bids x "
             "JOIN bids y ON y.tender_id = x.tender_id AND y.company_id > x.company_id "
             "WHERE x.status = 'opened' AND y.status = 'opened' AND x.company_id IN (%s) AND "
             "y.company_id IN (%s) GROUP BY x.company_id, y.company_id",
             in, in);
    db_stmt *s = db_query(d, e, sql, "");
    int rc = DB_ERROR;
    if (s) {
        while ((rc = db_step(s)) == DB_ROW) {
            int64_t a = db_column_int64(s, 0), c = db_column_int64(s, 1), k = db_column_int64(s, 2);
            if (k < 2) continue; /* this tender alone */
            int ia = -1, ic = -1;
            for (int i = 0; i < n; i++) {
                if (b[i].company_id == a && ia < 0) ia = i;
                if (b[i].company_id == c && ic < 0) ic = i;
            }
            if (ia < 0 || ic < 0) continue;
            char ra[8], rc2[8];
            ref_of(ia, ra);
            ref_of(ic, rc2);
            json_array_append_new(
                edges, json_pack("{s:s, s:s, s:I}", "a", ra, "b", rc2, "tenders", (json_int_t)k));
        }
        db_reset(s);
    }
    snprintf(sql, sql_cap,
             "SELECT b.company_id, COUNT(DISTINCT b.tender_id), SUM(CASE WHEN t.award_company_id = "
             "b.company_id THEN 1 ELSE 0 END) FROM bids b JOIN tenders t ON t.id = b.tender_id "
             "WHERE b.status = 'opened' AND b.company_id IN (%s) GROUP BY b.company_id",
             in);
    s = rc == DB_ERROR ? NULL : db_query(d, e, sql, "");
    if (s) {
        for (int i = 0; i < n; i++) {
            char r[8];
            ref_of(i, r);
            json_array_append_new(nodes, json_pack("{s:s, s:s, s:i, s:i}", "ref", r, "name",
                                                   b[i].company, "bids", 0, "wins", 0));
        }
        while ((rc = db_step(s)) == DB_ROW)
            for (int i = 0; i < n; i++)
                if (b[i].company_id == db_column_int64(s, 0)) {
                    json_t *nd = json_array_get(nodes, (size_t)i);
                    json_object_set_new(nd, "bids", json_integer(db_column_int64(s, 1)));
                    json_object_set_new(nd, "wins", json_integer(db_column_int64(s, 2)));
                }
        db_reset(s);
    }
    free(sql);
    free(in);
    if (rc == DB_ERROR) {
        json_decref(nodes);
        json_decref(edges);
        err_internal(e, "读取投标网络失败");
        return NULL;
    }
    return json_pack("{s:o, s:o}", "nodes", nodes, "edges", edges);
}

static const int shown_features[] = {SF_N, SF_CV, SF_SPD, SF_DIFFP, SF_SKEW, SF_KURT, SF_RD, SF_KS};

/* One tender's screening, before the flag is decided against the platform's own
 * distribution of price scores (see decide()). */
typedef struct computed {
    int64_t tender_id;
    screen_verdict v;
    int evidence; /* traces, mixed documents or price patterns between named bidders */
    char *evidence_json;
} computed;

#define SIM_HARD 0.5 /* verified similarity of two bids' documents that counts as evidence */

static int compute_one(db *d, int64_t tender_id, computed *out, err *e) {
    bidrow *b = NULL;
    int n = 0;
    if (load_bids(d, tender_id, &b, &n, e) != 0) return -1;
    screen_bid *sb = xcalloc((size_t)(n ? n : 1), sizeof(*sb));
    int64_t *bid_ids = xcalloc((size_t)(n ? n : 1), sizeof(*bid_ids));
    for (int i = 0; i < n; i++) {
        bid_ids[i] = b[i].bid_id;
        sb[i].value = b[i].price;
        sb[i].budget = b[i].budget;
        sb[i].bidder_id = b[i].uscc;
        sb[i].trace[SCREEN_TRACE_IP] = b[i].ip;
        sb[i].trace[SCREEN_TRACE_MACHINE] = b[i].machine;
        sb[i].trace[SCREEN_TRACE_CA] = b[i].key;
        sb[i].trace[SCREEN_TRACE_FILE_HASH] = b[i].doc_hash;
        sb[i].trace[SCREEN_TRACE_AUTHOR] = b[i].author;
        sb[i].trace[SCREEN_TRACE_DEPOSIT] = b[i].account;
        sb[i].trace[SCREEN_TRACE_PROJECT_MANAGER] = b[i].pm;
        sb[i].winner = b[i].winner;
    }
    screen_result r;
    screen_tender(sb, n, &r);
    const screen_model *mdl = shipped_model();
    screen_verdict v;
    screen_finalize(mdl, &r, sb, &v);
    json_t *ev = json_object();
    /* bids, anonymised as they appear to the bidders' own eyes in the hall order */
    json_t *bids = json_array();
    for (int i = 0; i < n; i++) {
        char ref[8];
        ref_of(i, ref);
        json_array_append_new(bids, json_pack("{s:s, s:I, s:s, s:s, s:f, s:b}", "ref", ref,
                                              "company_id", (json_int_t)b[i].company_id, "company",
                                              b[i].company, "uscc", b[i].uscc, "price", b[i].price,
                                              "winner", b[i].winner));
    }
    json_object_set_new(ev, "bids", bids);
    json_t *feats = json_array();
    for (size_t k = 0; k < sizeof(shown_features) / sizeof(shown_features[0]); k++)
        json_array_append_new(feats, json_pack("{s:s, s:o}", "name",
                                               screen_feature_name(shown_features[k]), "value",
                                               num_or_null(r.f[shown_features[k]])));
    json_object_set_new(ev, "screens", feats);
    json_t *expl = json_array();
    if (mdl && n >= screen_model_min_bids(mdl)) {
        int idx[6];
        double contrib[6];
        int k = screen_model_explain(mdl, r.f, 6, idx, contrib);
        for (int i = 0; i < k; i++)
            json_array_append_new(expl, json_pack("{s:s, s:o, s:f}", "feature",
                                                  screen_feature_name(idx[i]), "value",
                                                  num_or_null(r.f[idx[i]]), "contribution",
                                                  round(contrib[i] * 1000) / 1000));
    }
    json_object_set_new(ev, "explanation", expl);
    json_object_set_new(ev, "patterns",
                        json_pack("{s:i, s:i, s:i, s:i}", "identical_pairs", r.identical_pairs,
                                  "progression_len", r.progression_len, "ratio_len", r.ratio_len,
                                  "mixed_docs", r.mixed_docs));
    json_t *traces = json_array();
    for (int h = 0; h < r.nhits; h++) {
        const screen_trace_hit *t = &r.hits[h];
        char ra[8], rb[8];
        ref_of(t->bid_a, ra);
        ref_of(t->bid_b, rb);
        json_array_append_new(traces, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kind",
                                                screen_trace_column(t->kind), "article",
                                                screen_trace_article(t->kind), "article_text",
                                                screen_trace_article_text(t->kind), "a", ra, "b",
                                                rb, "company_a", b[t->bid_a].company, "company_b",
                                                b[t->bid_b].company));
    }
    json_object_set_new(ev, "traces", traces);
    json_object_set_new(ev, "traces_total", json_integer(r.hits_total));
    json_object_set_new(ev, "shared_documents", shared_documents(b, n));
    json_t *net = network(d, b, n, e);
    bidrows_free(b, n);
    free(sb);
    if (!net) {
        free(bid_ids);
        json_decref(ev);
        return -1;
    }
    json_object_set_new(ev, "network", net);
    /* Similar passages between the bids' documents (the tender's own text subtracted):
     * near-identical documents (similarity ≥ SIM_HARD) are 投标文件异常一致, art. 40(4). */
    json_t *sim = NULL;
    err se = {0};
    if (similarity_tender(d, tender_id, &sim, &se) != 0) sim = json_array();
    int sim_hard = 0;
    size_t k;
    json_t *pair;
    json_array_foreach(sim, k, pair) {
        double sv = json_number_value(json_object_get(pair, "similarity"));
        if (sv >= SIM_HARD) sim_hard++;
        /* name the bids by their letters, as the rest of the evidence does */
        for (int i = 0; i < n; i++) {
            char ref[8];
            ref_of(i, ref);
            if (json_integer_value(json_object_get(pair, "a_bid_id")) == bid_ids[i])
                json_object_set_new(pair, "a", json_string(ref));
            if (json_integer_value(json_object_get(pair, "b_bid_id")) == bid_ids[i])
                json_object_set_new(pair, "b", json_string(ref));
        }
    }
    json_object_set_new(ev, "similar_documents", sim);
    free(bid_ids);
    out->tender_id = tender_id;
    out->v = v;
    if (sim_hard) {
        size_t used = strlen(out->v.reasons);
        snprintf(out->v.reasons + used, sizeof(out->v.reasons) - used,
                 "%ssimilar bid documents (%d pairs) art.40(4)", used ? ";" : "", sim_hard);
        if (out->v.score < 0.95) out->v.score = 0.95;
    }
    out->evidence = sim_hard > 0 || r.hits_total > 0 || r.mixed_docs ||
                    (r.named && (r.identical_pairs || r.progression_len || r.ratio_len));
    out->evidence_json = json_dumps(ev, JSON_COMPACT);
    json_decref(ev);
    return out->evidence_json ? 0 : err_internal(e, "证据编码失败");
}

/* The price-only flag is relative to this market: the shipped model was trained on
 * another country's tenders, where bids spread wider than under a Chinese 最高限价,
 * so by itself it would flag most ordinary tenders here. A tender is flagged on its
 * prices only when its price score is above the model's threshold AND among the
 * highest PRICE_SHARE of the platform's screened tenders; hard evidence (traces,
 * patterns, mixed documents) flags it whatever the prices say. */
#define PRICE_SHARE     0.05
#define PRICE_MIN_POOL  20 /* below this, price alone flags only above PRICE_SMALL_CUT */
#define PRICE_SMALL_CUT 0.95

static int cmp_desc(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? 1 : a > b ? -1 : 0;
}

/* The price-score cut: the (1 − PRICE_SHARE) quantile of the given scores together
 * with the ones already stored (never below the model's threshold); while the pool
 * is too small for a quantile, PRICE_SMALL_CUT. */
static int price_cut(db *d, const computed *c, int nc, double model_thr, double *cut, err *e) {
    int64_t stored = 0;
    if (db_query_int(d, e, &stored,
                     "SELECT COUNT(*) FROM screen_alerts WHERE price_score IS NOT NULL", "") < 0)
        return -1;
    size_t cap = (size_t)nc + (size_t)(stored < 200000 ? stored : 200000) + 1, n = 0;
    double *xs = xmalloc(cap * sizeof(*xs));
    for (int i = 0; i < nc; i++)
        if (isfinite(c[i].v.price_score)) xs[n++] = c[i].v.price_score;
    db_stmt *s = db_query(
        d, e, "SELECT price_score FROM screen_alerts WHERE price_score IS NOT NULL LIMIT 200000",
        "");
    if (!s) {
        free(xs);
        return -1;
    }
    while (n < cap && db_step(s) == DB_ROW)
        xs[n++] = db_column_double(s, 0);
    db_reset(s);
    *cut = model_thr > PRICE_SMALL_CUT ? model_thr : PRICE_SMALL_CUT;
    if (n >= PRICE_MIN_POOL) {
        *cut = model_thr;
        qsort(xs, n, sizeof(*xs), cmp_desc);
        double q = xs[(size_t)((double)n * PRICE_SHARE)];
        if (q > *cut) *cut = q;
    }
    free(xs);
    return 0;
}

/* Write one computed screening into its alert row (inside the caller's transaction). */
static int store_one(db *d, computed *c, double cut, int64_t run_id, const char *now_s,
                     int *flagged, int *created, err *e) {
    int64_t tender_id = c->tender_id;
    screen_verdict v = c->v;
    v.flag = c->evidence || (isfinite(v.price_score) && v.price_score >= cut);
    const char *evidence = c->evidence_json;
    int64_t id = 0;
    char old_status[16] = "";
    db_stmt *s =
        db_query(d, e, "SELECT id, status FROM screen_alerts WHERE tender_id = $1", "i", tender_id);
    if (!s) return -1;
    if (db_step(s) == DB_ROW) {
        id = db_column_int64(s, 0);
        snprintf(old_status, sizeof(old_status), "%s", db_column_text(s, 1));
    }
    db_reset(s);
    const char *status = v.flag ? "new" : "clear";
    int rc;
    if (!id) {
        s = db_query(
            d, e,
            "INSERT INTO screen_alerts (tender_id, run_id, score, price_score, flag, reasons, "
            "evidence, status, created_at, updated_at, hard) VALUES ($1, $2, $3, $4, $5, $6, $7, "
            "$8, $9, $9, $10) RETURNING id",
            "iiddissssi", tender_id, run_id, v.score,
            isfinite(v.price_score) ? v.price_score : -1.0, (int64_t)v.flag, v.reasons, evidence,
            status, now_s, (int64_t)c->evidence);
        rc = s && db_step(s) == DB_ROW ? 0 : -1;
        if (rc == 0) id = db_column_int64(s, 0);
        if (s) db_reset(s);
        if (rc != 0) err_internal(e, "写入预警失败");
        if (rc == 0 && !isfinite(v.price_score))
            rc = db_execf(d, e, "UPDATE screen_alerts SET price_score = NULL WHERE id = $1", "i",
                          id);
        if (rc == 0 && v.flag) (*created)++;
    } else {
        /* A later run refreshes the evidence; a triaged alert keeps its status. */
        const char *next =
            (!strcmp(old_status, "new") || !strcmp(old_status, "clear")) ? status : old_status;
        rc = db_execf(
            d, e,
            "UPDATE screen_alerts SET run_id = $1, score = $2, flag = $3, reasons = $4, "
            "evidence = $5, status = $6, updated_at = $7, hard = $8, version = version + 1 "
            "WHERE id = $9",
            "idissssii", run_id, v.score, (int64_t)v.flag, v.reasons, evidence, next, now_s,
            (int64_t)c->evidence, id);
        if (rc == 0)
            rc = db_execf(d, e, "UPDATE screen_alerts SET price_score = $1 WHERE id = $2", "di",
                          isfinite(v.price_score) ? v.price_score : 0.0, id);
        if (rc == 0 && !isfinite(v.price_score))
            rc = db_execf(d, e, "UPDATE screen_alerts SET price_score = NULL WHERE id = $1", "i",
                          id);
        if (rc == 0 && v.flag && !strcmp(old_status, "clear")) (*created)++;
    }
    if (rc == 0 && v.flag) (*flagged)++;
    if (rc == 0 && v.flag && strcmp(old_status, status)) {
        char ids[24];
        snprintf(ids, sizeof(ids), "%lld", (long long)id);
        static const audit_actor sys = {.user_id = 0, .login = "system", .request_id = NULL};
        json_t *after = json_pack("{s:I, s:f, s:s, s:s}", "tender_id", (json_int_t)tender_id,
                                  "score", v.score, "status", status, "reasons", v.reasons);
        rc = audit_record(d, &sys, "screen.alert", "screen_alert", ids, NULL, after, e);
        json_decref(after);
    }
    return rc;
}

int screen_platform_run(db *d, const char *kind, int64_t tender_id, int64_t now,
                        screen_run_counts *out, err *e) {
    if (strcmp(kind, "opening") && strcmp(kind, "nightly") && strcmp(kind, "manual"))
        return err_invalid(e, "kind", "kind 应为 opening、nightly 或 manual");
    char now_s[32];
    time_iso(now_s, sizeof(now_s), now);
    /* The tenders: one, or every tender whose bids were opened. */
    int64_t *ids = NULL;
    int nids = 0, cap = 0;
    db_stmt *s =
        tender_id
            ? db_query(d, e, "SELECT id FROM tenders WHERE id = $1", "i", tender_id)
            : db_query(
                  d, e,
                  "SELECT DISTINCT tender_id FROM bids WHERE status = 'opened' ORDER BY tender_id",
                  "");
    if (!s) return -1;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        if (nids == cap) ids = xrealloc(ids, (size_t)(cap = cap ? cap * 2 : 64) * sizeof(*ids));
        ids[nids++] = db_column_int64(s, 0);
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        free(ids);
        return err_internal(e, "读取项目失败");
    }
    if (tender_id && nids == 0) {
        free(ids);
        return err_notfound(e, "项目不存在");
    }
    screen_run_counts c = {0};
    if (db_begin(d, e) != 0) {
        free(ids);
        return -1;
    }
    const screen_model *mdl = shipped_model();
    s = db_query(
        d, e,
        "INSERT INTO screen_runs (kind, tender_id, started_at, model) VALUES ($1, $2, $3, $4) "
        "RETURNING id",
        "s", kind);
    if (s) {
        if (tender_id)
            db_bind_int64(s, 2, tender_id);
        else
            db_bind_null(s, 2);
        db_bind_text(s, 3, now_s);
        db_bind_text(s, 4, mdl ? "data/screen/model.json" : NULL);
        if (db_step(s) == DB_ROW) c.run_id = db_column_int64(s, 0);
        db_reset(s);
    }
    rc = c.run_id ? 0 : -1;
    if (rc != 0 && !e->message[0]) err_internal(e, "写入运行记录失败");
    computed *cs = xcalloc((size_t)(nids ? nids : 1), sizeof(*cs));
    int ncs = 0;
    for (int i = 0; rc == 0 && i < nids; i++)
        if ((rc = compute_one(d, ids[i], &cs[ncs], e)) == 0) ncs++;
    double cut = 0.5;
    if (rc == 0) rc = price_cut(d, cs, ncs, mdl ? screen_model_threshold(mdl) : 0.5, &cut, e);
    for (int i = 0; rc == 0 && i < ncs; i++) {
        rc = store_one(d, &cs[i], cut, c.run_id, now_s, &c.flagged, &c.new_alerts, e);
        if (rc == 0) c.tenders++;
    }
    for (int i = 0; i < ncs; i++)
        free(cs[i].evidence_json);
    free(cs);
    if (rc == 0)
        rc = db_execf(
            d, e,
            "UPDATE screen_runs SET finished_at = $1, tenders = $2, flagged = $3 WHERE id = $4",
            "siii", now_s, (int64_t)c.tenders, (int64_t)c.flagged, c.run_id);
    free(ids);
    if (rc != 0) {
        db_rollback(d);
        return -1;
    }
    if (db_commit(d, e) != 0) return -1;
    if (out) *out = c;
    return 0;
}

int screen_platform_tick(db *d, int64_t now, char *summary, size_t n, err *e) {
    /* Tenders opened and not screened yet. */
    db_stmt *s =
        db_query(d, e,
                 "SELECT DISTINCT b.tender_id FROM bids b WHERE b.status = 'opened' AND NOT EXISTS "
                 "(SELECT 1 FROM screen_alerts a WHERE a.tender_id = b.tender_id) "
                 "ORDER BY b.tender_id LIMIT $1",
                 "i", (int64_t)SCREEN_RUN_BATCH);
    if (!s) return -1;
    int64_t ids[SCREEN_RUN_BATCH];
    int nids = 0, rc;
    while ((rc = db_step(s)) == DB_ROW && nids < SCREEN_RUN_BATCH)
        ids[nids++] = db_column_int64(s, 0);
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取项目失败");
    int screened = 0, flagged = 0;
    for (int i = 0; i < nids; i++) {
        screen_run_counts c;
        if (screen_platform_run(d, "opening", ids[i], now, &c, e) != 0) return -1;
        screened += c.tenders;
        flagged += c.flagged;
    }
    /* The nightly pass: once a Shanghai day, after 02:00. */
    char sh[32], day_start[32];
    time_iso(sh, sizeof(sh), now + 8 * 3600);
    int hour = (int)strtol(sh + 11, NULL, 10);
    int64_t midnight = ((now + 8 * 3600) / 86400) * 86400 - 8 * 3600;
    time_iso(day_start, sizeof(day_start), midnight);
    int64_t done_today = 0;
    if (hour >= 2 &&
        db_query_int(d, e, &done_today,
                     "SELECT COUNT(*) FROM screen_runs WHERE kind = 'nightly' AND started_at >= $1",
                     "s", day_start) < 0)
        return -1;
    if (hour >= 2 && !done_today) {
        screen_run_counts c;
        if (screen_platform_run(d, "nightly", 0, now, &c, e) != 0) return -1;
        snprintf(summary, n, "nightly screening: %d tenders, %d flagged", c.tenders, c.flagged);
    } else if (screened) {
        snprintf(summary, n, "screened %d opened tenders, %d flagged", screened, flagged);
    }
    return 0;
}

/* ---- alerts ---- */

static json_t *alert_summary(db_stmt *s) {
    /* a.id, a.tender_id, t.tender_no, t.title, t.kind, a.score, a.price_score, a.flag, a.reasons,
     * a.status, a.case_id, a.updated_at, a.version, a.hard */
    const char *st = db_column_text(s, 9);
    return json_pack(
        "{s:I, s:{s:I, s:s, s:s, s:s, s:s}, s:f, s:o, s:b, s:s, s:s, s:s, s:o, s:s, s:I, s:b}",
        "id", (json_int_t)db_column_int64(s, 0), "tender", "id", (json_int_t)db_column_int64(s, 1),
        "tender_no", db_column_text(s, 2), "title", db_column_text(s, 3), "kind",
        db_column_text(s, 4), "kind_label", trade_kind_label(db_column_text(s, 4)), "score",
        db_column_double(s, 5), "price_score",
        db_column_type(s, 6) == DB_NULL ? json_null() : json_real(db_column_double(s, 6)), "flag",
        (int)db_column_int64(s, 7), "reasons", db_column_text(s, 8), "status", st, "status_label",
        status_label(st), "case_id",
        db_column_type(s, 10) == DB_NULL ? json_null() : json_integer(db_column_int64(s, 10)),
        "updated_at", db_column_text(s, 11), "version", (json_int_t)db_column_int64(s, 12), "hard",
        (int)db_column_int64(s, 13));
}

#define ALERT_COLS                                                                                 \
    "a.id, a.tender_id, t.tender_no, t.title, t.kind, a.score, a.price_score, a.flag, a.reasons, " \
    "a.status, a.case_id, a.updated_at, a.version, a.hard"

json_t *screen_alerts_list(db *d, const char *status, int limit, int offset, err *e) {
    const char *st = status && *status ? status : "open";
    static const char *const known[] = {"new",   "watch", "dismissed", "case",
                                        "clear", "open",  "all",       NULL};
    int ok = 0;
    for (int i = 0; known[i]; i++)
        ok |= !strcmp(known[i], st);
    if (!ok) {
        err_invalid(e, "status", "status 应为 new、watch、dismissed、case、clear、open 或 all");
        return NULL;
    }
    if (limit <= 0 || limit > 200) limit = 50;
    if (offset < 0) offset = 0;
    /* One statement shape per filter kind; the value is always bound. */
    const char *where = !strcmp(st, "open")  ? "a.status IN ('new', 'watch') AND a.status <> $1"
                        : !strcmp(st, "all") ? "a.status <> $1"
                                             : "a.status = $1";
    const char *bound = !strcmp(st, "open") || !strcmp(st, "all") ? "-" : st;
    char sql[700], cnt[300];
    snprintf(sql, sizeof(sql),
             "SELECT " ALERT_COLS
             " FROM screen_alerts a JOIN tenders t ON t.id = a.tender_id WHERE %s "
             "ORDER BY a.hard DESC, a.score DESC, a.id DESC LIMIT $2 OFFSET $3",
             where);
    snprintf(cnt, sizeof(cnt), "SELECT COUNT(*) FROM screen_alerts a WHERE %s", where);
    int64_t total = 0;
    if (db_query_int(d, e, &total, cnt, "s", bound) < 0) return NULL;
    db_stmt *s = db_query(d, e, sql, "sii", bound, (int64_t)limit, (int64_t)offset);
    if (!s) return NULL;
    json_t *items = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        json_array_append_new(items, alert_summary(s));
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "读取预警失败");
        return NULL;
    }
    return json_pack("{s:o, s:I}", "items", items, "total", (json_int_t)total);
}

json_t *screen_alert_get(db *d, int64_t id, err *e) {
    db_stmt *s =
        db_query(d, e,
                 "SELECT " ALERT_COLS ", a.evidence, a.triage_reason, a.triaged_at, t.buyer, "
                 "t.budget_fen, t.award_fen, t.status, t.deadline_at FROM screen_alerts a "
                 "JOIN tenders t ON t.id = a.tender_id WHERE a.id = $1",
                 "i", id);
    if (!s) return NULL;
    if (db_step(s) != DB_ROW) {
        db_reset(s);
        err_notfound(e, "预警不存在");
        return NULL;
    }
    json_t *o = alert_summary(s);
    json_t *ev = json_loads(db_column_text(s, 14), 0, NULL);
    json_object_set_new(o, "evidence", ev ? ev : json_object());
    json_object_set_new(o, "triage_reason",
                        db_column_text(s, 15) ? json_string(db_column_text(s, 15)) : json_null());
    json_object_set_new(o, "triaged_at",
                        db_column_text(s, 16) ? json_string(db_column_text(s, 16)) : json_null());
    json_t *t = json_object_get(o, "tender");
    char money[40];
    json_object_set_new(t, "buyer",
                        json_string(db_column_text(s, 17) ? db_column_text(s, 17) : ""));
    json_object_set_new(
        t, "budget",
        db_column_type(s, 18) == DB_NULL
            ? json_null()
            : json_string(trade_money_str(db_column_int64(s, 18), money, sizeof(money))));
    json_object_set_new(
        t, "award",
        db_column_type(s, 19) == DB_NULL
            ? json_null()
            : json_string(trade_money_str(db_column_int64(s, 19), money, sizeof(money))));
    json_object_set_new(t, "status", json_string(db_column_text(s, 20)));
    json_object_set_new(t, "status_label", json_string(trade_status_label(db_column_text(s, 20))));
    json_object_set_new(t, "deadline_at", json_string(db_column_text(s, 21)));
    db_reset(s);
    return o;
}

static int audit_alert(db *d, const audit_actor *a, const char *action, int64_t id,
                       const char *from, const char *to, const char *reason, err *e) {
    char ids[24];
    snprintf(ids, sizeof(ids), "%lld", (long long)id);
    json_t *before = json_pack("{s:s}", "status", from);
    json_t *after = json_pack("{s:s, s:s?}", "status", to, "reason", reason);
    int rc = audit_record(d, a, action, "screen_alert", ids, before, after, e);
    json_decref(before);
    json_decref(after);
    return rc;
}

static int text_ok(const char *s, const char *field, int required, err *e) {
    if (!s || !*s)
        return required
                   ? err_invalid(e, field, "请填写%s", !strcmp(field, "decision") ? "决定" : "理由")
                   : 0;
    if (strlen(s) > SCREEN_NOTE_MAX)
        return err_invalid(e, field, "%s 过长（最多 %d 字节）", field, SCREEN_NOTE_MAX);
    return 0;
}

static int new_case(db *d, const audit_actor *a, const char *title, const char *now_s, int64_t *id,
                    err *e) {
    db_stmt *s = db_query(
        d, e,
        "INSERT INTO screen_cases (case_no, title, status, opened_by, opened_at, updated_at) "
        "VALUES ('', $1, 'open', $2, $3, $3) RETURNING id",
        "sis", title, a->user_id, now_s);
    if (!s) return -1;
    int rc = db_step(s) == DB_ROW ? 0 : -1;
    if (rc == 0) *id = db_column_int64(s, 0);
    db_reset(s);
    if (rc != 0) return err_internal(e, "立案失败");
    char no[32], ymd[32];
    time_iso(ymd, sizeof(ymd), time_now() + 8 * 3600);
    snprintf(no, sizeof(no), "WB%.2s%.2s%.2s%05lld", ymd + 2, ymd + 5, ymd + 8, (long long)*id);
    if (db_execf(d, e, "UPDATE screen_cases SET case_no = $1 WHERE id = $2", "si", no, *id) != 0)
        return -1;
    char ids[24];
    snprintf(ids, sizeof(ids), "%lld", (long long)*id);
    json_t *after = json_pack("{s:s, s:s}", "case_no", no, "title", title);
    rc = audit_record(d, a, "screen_case.open", "screen_case", ids, NULL, after, e);
    json_decref(after);
    return rc;
}

static int add_entry(db *d, int64_t case_id, const char *kind, const char *text, int64_t author,
                     const char *now_s, err *e) {
    return db_execf(d, e,
                    "INSERT INTO screen_case_entries (case_id, kind, text, author_id, at) VALUES "
                    "($1, $2, $3, $4, $5)",
                    "issis", case_id, kind, text, author, now_s);
}

int screen_alert_triage(db *d, const audit_actor *a, int64_t id, const char *action,
                        const char *reason, const char *title, int64_t version, int64_t *case_id,
                        err *e) {
    if (!action || (strcmp(action, "dismiss") && strcmp(action, "watch") &&
                    strcmp(action, "open_case") && strcmp(action, "reopen")))
        return err_invalid(e, "action", "action 应为 dismiss、watch、open_case 或 reopen");
    if (text_ok(reason, "reason", !strcmp(action, "dismiss"), e) != 0) return -1;
    if (title && strlen(title) > TRADE_TITLE_MAX) return err_invalid(e, "title", "标题过长");
    if (!a->user_id) return err_forbidden(e, "需要监管人员账号");
    char now_s[32];
    time_iso(now_s, sizeof(now_s), time_now());
    if (db_begin(d, e) != 0) return -1;
    char status[16] = "", tender_title[TRADE_TITLE_MAX + 64] = "";
    int64_t ver = 0;
    db_stmt *s = db_query(d, e,
                          "SELECT a.status, a.version, t.title, t.tender_no FROM screen_alerts a "
                          "JOIN tenders t ON t.id = a.tender_id WHERE a.id = $1",
                          "i", id);
    int rc = s ? 0 : -1;
    if (s) {
        if (db_step(s) == DB_ROW) {
            snprintf(status, sizeof(status), "%s", db_column_text(s, 0));
            ver = db_column_int64(s, 1);
            snprintf(tender_title, sizeof(tender_title), "%s（%s）涉嫌串通投标",
                     db_column_text(s, 2), db_column_text(s, 3));
        }
        db_reset(s);
    }
    if (rc == 0 && !status[0]) rc = err_notfound(e, "预警不存在");
    if (rc == 0 && version && version != ver)
        rc = err_conflict(e, "version", "预警已被他人处理，请刷新");
    const char *to = !strcmp(action, "dismiss")  ? "dismissed"
                     : !strcmp(action, "watch")  ? "watch"
                     : !strcmp(action, "reopen") ? "new"
                                                 : "case";
    if (rc == 0) {
        int allowed = !strcmp(action, "reopen")
                          ? (!strcmp(status, "dismissed") || !strcmp(status, "watch"))
                          : (!strcmp(status, "new") || !strcmp(status, "watch") ||
                             (!strcmp(status, "clear") && strcmp(action, "dismiss")));
        if (!allowed)
            rc =
                err_conflict(e, "status", "预警当前状态（%s）不能执行此操作", status_label(status));
    }
    int64_t cid = 0;
    if (rc == 0 && !strcmp(action, "open_case")) {
        rc = new_case(d, a, title && *title ? title : tender_title, now_s, &cid, e);
        if (rc == 0)
            rc =
                db_execf(d, e, "INSERT INTO screen_case_alerts (case_id, alert_id) VALUES ($1, $2)",
                         "ii", cid, id);
        if (rc == 0 && reason && *reason)
            rc = add_entry(d, cid, "note", reason, a->user_id, now_s, e);
    }
    if (rc == 0) {
        s = db_query(d, e,
                     "UPDATE screen_alerts SET status = $1, triage_reason = $2, triaged_by = $3, "
                     "triaged_at = $4, "
                     "updated_at = $4, version = version + 1 WHERE id = $5",
                     "ssisi", to, reason && *reason ? reason : NULL, a->user_id, now_s, id);
        rc = s && db_step(s) == DB_DONE ? 0 : -1;
        if (s) db_reset(s);
        if (rc != 0 && !e->message[0]) err_internal(e, "更新预警失败");
    }
    if (rc == 0 && cid)
        rc = db_execf(d, e, "UPDATE screen_alerts SET case_id = $1 WHERE id = $2", "ii", cid, id);
    if (rc == 0)
        rc = audit_alert(d, a,
                         !strcmp(action, "open_case") ? "screen.alert_case" : "screen.alert_triage",
                         id, status, to, reason, e);
    if (rc != 0) {
        db_rollback(d);
        return -1;
    }
    if (db_commit(d, e) != 0) return -1;
    if (case_id) *case_id = cid;
    return 0;
}

/* ---- cases ---- */

json_t *screen_cases_list(db *d, const char *status, int limit, int offset, err *e) {
    const char *st = status && *status ? status : "all";
    if (strcmp(st, "open") && strcmp(st, "closed") && strcmp(st, "all")) {
        err_invalid(e, "status", "status 应为 open、closed 或 all");
        return NULL;
    }
    if (limit <= 0 || limit > 200) limit = 50;
    const char *where = !strcmp(st, "all") ? "c.status <> $1" : "c.status = $1";
    char sql[600];
    snprintf(
        sql, sizeof(sql),
        "SELECT c.id, c.case_no, c.title, c.status, c.opened_at, c.closed_at, "
        "(SELECT COUNT(*) FROM screen_case_alerts x WHERE x.case_id = c.id) FROM screen_cases c "
        "WHERE %s ORDER BY c.id DESC LIMIT $2 OFFSET $3",
        where);
    db_stmt *s = db_query(d, e, sql, "sii", !strcmp(st, "all") ? "-" : st, (int64_t)limit,
                          (int64_t)(offset > 0 ? offset : 0));
    if (!s) return NULL;
    json_t *items = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        json_array_append_new(
            items,
            json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:I}", "id",
                      (json_int_t)db_column_int64(s, 0), "case_no", db_column_text(s, 1), "title",
                      db_column_text(s, 2), "status", db_column_text(s, 3), "status_label",
                      !strcmp(db_column_text(s, 3), "open") ? "调查中" : "已结案", "opened_at",
                      db_column_text(s, 4), "closed_at",
                      db_column_text(s, 5) ? json_string(db_column_text(s, 5)) : json_null(),
                      "alerts", (json_int_t)db_column_int64(s, 6)));
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(items);
        err_internal(e, "读取案件失败");
        return NULL;
    }
    return json_pack("{s:o, s:I}", "items", items, "total", (json_int_t)json_array_size(items));
}

json_t *screen_case_get(db *d, int64_t id, err *e) {
    db_stmt *s =
        db_query(d, e,
                 "SELECT c.id, c.case_no, c.title, c.status, c.decision, c.opened_at, c.closed_at, "
                 "u.display_name, c.version FROM screen_cases c JOIN users u ON u.id = c.opened_by "
                 "WHERE c.id = $1",
                 "i", id);
    if (!s) return NULL;
    if (db_step(s) != DB_ROW) {
        db_reset(s);
        err_notfound(e, "案件不存在");
        return NULL;
    }
    const char *st = db_column_text(s, 3);
    json_t *o =
        json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:s, s:I}", "id",
                  (json_int_t)db_column_int64(s, 0), "case_no", db_column_text(s, 1), "title",
                  db_column_text(s, 2), "status", st, "status_label",
                  !strcmp(st, "open") ? "调查中" : "已结案", "decision",
                  db_column_text(s, 4) ? json_string(db_column_text(s, 4)) : json_null(),
                  "opened_at", db_column_text(s, 5), "closed_at",
                  db_column_text(s, 6) ? json_string(db_column_text(s, 6)) : json_null(),
                  "opened_by", db_column_text(s, 7), "version", (json_int_t)db_column_int64(s, 8));
    db_reset(s);
    json_t *alerts = json_array();
    s = db_query(
        d, e,
        "SELECT " ALERT_COLS " FROM screen_alerts a JOIN tenders t ON t.id = a.tender_id "
        "JOIN screen_case_alerts x ON x.alert_id = a.id WHERE x.case_id = $1 ORDER BY a.id",
        "i", id);
    int rc = DB_ERROR;
    if (s) {
        while ((rc = db_step(s)) == DB_ROW)
            json_array_append_new(alerts, alert_summary(s));
        db_reset(s);
    }
    json_object_set_new(o, "alerts", alerts);
    json_t *entries = json_array();
    s = rc == DB_ERROR
            ? NULL
            : db_query(
                  d, e,
                  "SELECT x.id, x.kind, x.text, x.at, u.display_name FROM screen_case_entries x "
                  "JOIN users u ON u.id = x.author_id WHERE x.case_id = $1 ORDER BY x.id",
                  "i", id);
    if (s) {
        while ((rc = db_step(s)) == DB_ROW)
            json_array_append_new(
                entries,
                json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)db_column_int64(s, 0),
                          "kind", db_column_text(s, 1), "text", db_column_text(s, 2), "at",
                          db_column_text(s, 3), "author", db_column_text(s, 4)));
        db_reset(s);
    }
    json_object_set_new(o, "entries", entries);
    if (rc == DB_ERROR) {
        json_decref(o);
        err_internal(e, "读取案件失败");
        return NULL;
    }
    return o;
}

/* Load a case's status inside a transaction: 404 / 409 closed. */
static int case_open(db *d, int64_t id, err *e) {
    char st[16] = "";
    db_stmt *s = db_query(d, e, "SELECT status FROM screen_cases WHERE id = $1", "i", id);
    if (!s) return -1;
    if (db_step(s) == DB_ROW) snprintf(st, sizeof(st), "%s", db_column_text(s, 0));
    db_reset(s);
    if (!st[0]) return err_notfound(e, "案件不存在");
    if (strcmp(st, "open")) return err_conflict(e, "status", "案件已结案");
    return 0;
}

static int audit_case(db *d, const audit_actor *a, const char *action, int64_t id, json_t *after,
                      err *e) {
    char ids[24];
    snprintf(ids, sizeof(ids), "%lld", (long long)id);
    int rc = audit_record(d, a, action, "screen_case", ids, NULL, after, e);
    json_decref(after);
    return rc;
}

int screen_case_add(db *d, const audit_actor *a, int64_t id, const char *kind, const char *text,
                    err *e) {
    if (!kind || (strcmp(kind, "note") && strcmp(kind, "evidence") && strcmp(kind, "decision")))
        return err_invalid(e, "kind", "kind 应为 note、evidence 或 decision");
    if (text_ok(text, "text", 1, e) != 0) return -1;
    char now_s[32];
    time_iso(now_s, sizeof(now_s), time_now());
    if (db_begin(d, e) != 0) return -1;
    int rc = case_open(d, id, e);
    if (rc == 0) rc = add_entry(d, id, kind, text, a->user_id, now_s, e);
    if (rc == 0)
        rc = db_execf(
            d, e, "UPDATE screen_cases SET updated_at = $1, version = version + 1 WHERE id = $2",
            "si", now_s, id);
    if (rc == 0)
        rc = audit_case(d, a, "screen_case.entry", id, json_pack("{s:s}", "kind", kind), e);
    if (rc != 0) {
        db_rollback(d);
        return -1;
    }
    return db_commit(d, e);
}

int screen_case_attach(db *d, const audit_actor *a, int64_t id, int64_t alert_id, err *e) {
    char now_s[32];
    time_iso(now_s, sizeof(now_s), time_now());
    if (db_begin(d, e) != 0) return -1;
    int rc = case_open(d, id, e);
    char st[16] = "";
    if (rc == 0) {
        db_stmt *s =
            db_query(d, e, "SELECT status FROM screen_alerts WHERE id = $1", "i", alert_id);
        if (!s)
            rc = -1;
        else {
            if (db_step(s) == DB_ROW) snprintf(st, sizeof(st), "%s", db_column_text(s, 0));
            db_reset(s);
            if (!st[0])
                rc = err_notfound(e, "预警不存在");
            else if (!strcmp(st, "case"))
                rc = err_conflict(e, "alert_id", "该预警已在案件中");
        }
    }
    if (rc == 0)
        rc = db_execf(d, e, "INSERT INTO screen_case_alerts (case_id, alert_id) VALUES ($1, $2)",
                      "ii", id, alert_id);
    if (rc == 0)
        rc = db_execf(d, e,
                      "UPDATE screen_alerts SET status = 'case', case_id = $1, triaged_by = $2, "
                      "triaged_at = $3, "
                      "updated_at = $3, version = version + 1 WHERE id = $4",
                      "iisi", id, a->user_id, now_s, alert_id);
    if (rc == 0) rc = audit_alert(d, a, "screen.alert_case", alert_id, st, "case", NULL, e);
    if (rc == 0)
        rc = audit_case(d, a, "screen_case.attach", id,
                        json_pack("{s:I}", "alert_id", (json_int_t)alert_id), e);
    if (rc != 0) {
        db_rollback(d);
        return -1;
    }
    return db_commit(d, e);
}

int screen_case_close(db *d, const audit_actor *a, int64_t id, const char *decision, err *e) {
    if (text_ok(decision, "decision", 1, e) != 0) return -1;
    char now_s[32];
    time_iso(now_s, sizeof(now_s), time_now());
    if (db_begin(d, e) != 0) return -1;
    int rc = case_open(d, id, e);
    if (rc == 0) rc = add_entry(d, id, "decision", decision, a->user_id, now_s, e);
    if (rc == 0)
        rc = db_execf(d, e,
                      "UPDATE screen_cases SET status = 'closed', decision = $1, closed_by = $2, "
                      "closed_at = $3, "
                      "updated_at = $3, version = version + 1 WHERE id = $4",
                      "sisi", decision, a->user_id, now_s, id);
    if (rc == 0)
        rc = audit_case(d, a, "screen_case.close", id, json_pack("{s:s}", "status", "closed"), e);
    if (rc != 0) {
        db_rollback(d);
        return -1;
    }
    return db_commit(d, e);
}

int screen_case_pdf(db *d, int64_t id, unsigned char **out, size_t *len, err *e) {
    json_t *c = screen_case_get(d, id, e);
    if (!c) return -1;
    pdfdoc *p = pdfdoc_new("isle 防围串标案件卷宗", e);
    if (!p) {
        json_decref(c);
        return -1;
    }
    char sub[200];
    snprintf(sub, sizeof(sub), "案件编号 %s · %s · 立案 %s",
             json_string_value(json_object_get(c, "case_no")),
             json_string_value(json_object_get(c, "status_label")),
             json_string_value(json_object_get(c, "opened_at")));
    pdfdoc_title(p, "防围串标案件卷宗", sub);
    pdfdoc_paragraph(p, json_string_value(json_object_get(c, "title")), 12);
    size_t i;
    json_t *al;
    json_array_foreach(json_object_get(c, "alerts"), i, al) {
        json_t *full = screen_alert_get(d, json_integer_value(json_object_get(al, "id")), e);
        if (!full) continue;
        json_t *t = json_object_get(full, "tender"), *ev = json_object_get(full, "evidence");
        char h[300], v[64];
        snprintf(h, sizeof(h), "预警 %lld：%s %s",
                 (long long)json_integer_value(json_object_get(full, "id")),
                 json_string_value(json_object_get(t, "tender_no")),
                 json_string_value(json_object_get(t, "title")));
        pdfdoc_heading(p, h);
        pdfdoc_field(p, "采购人", json_string_value(json_object_get(t, "buyer")));
        pdfdoc_field(p, "预算（元）", json_string_value(json_object_get(t, "budget")));
        pdfdoc_field(p, "中标价（元）", json_string_value(json_object_get(t, "award")));
        snprintf(v, sizeof(v), "%.3f", json_number_value(json_object_get(full, "score")));
        pdfdoc_field(p, "综合评分", v);
        pdfdoc_field(p, "判断依据", json_string_value(json_object_get(full, "reasons")));
        size_t k;
        json_t *b;
        json_array_foreach(json_object_get(ev, "bids"), k, b) {
            char line[300];
            snprintf(line, sizeof(line), "%s %s 报价 %.2f 元%s",
                     json_string_value(json_object_get(b, "ref")),
                     json_string_value(json_object_get(b, "company")),
                     json_number_value(json_object_get(b, "price")),
                     json_is_true(json_object_get(b, "winner")) ? "（中标）" : "");
            pdfdoc_paragraph(p, line, 9.5f);
        }
        json_t *tr;
        json_array_foreach(json_object_get(ev, "traces"), k, tr) {
            char line[400];
            snprintf(line, sizeof(line),
                     "电子痕迹：%s 与 %s 的 %s 相同 —— 招标投标法实施条例第%s项：%s",
                     json_string_value(json_object_get(tr, "company_a")),
                     json_string_value(json_object_get(tr, "company_b")),
                     json_string_value(json_object_get(tr, "kind")),
                     json_string_value(json_object_get(tr, "article")),
                     json_string_value(json_object_get(tr, "article_text")));
            pdfdoc_paragraph(p, line, 9.5f);
        }
        json_decref(full);
    }
    pdfdoc_heading(p, "调查记录");
    json_t *en;
    json_array_foreach(json_object_get(c, "entries"), i, en) {
        char line[5000];
        const char *kind = json_string_value(json_object_get(en, "kind"));
        snprintf(line, sizeof(line), "[%s] %s %s：%s",
                 !strcmp(kind, "decision")   ? "决定"
                 : !strcmp(kind, "evidence") ? "证据"
                                             : "记录",
                 json_string_value(json_object_get(en, "at")),
                 json_string_value(json_object_get(en, "author")),
                 json_string_value(json_object_get(en, "text")));
        pdfdoc_paragraph(p, line, 10);
    }
    json_decref(c);
    return pdfdoc_finish(p, out, len, e);
}

/* ---- the watcher ---- */

static periodic *watcher;

int screen_watch_start(const char *dsn, err *e) {
    return periodic_start("screening", dsn, "ISLE_SCREEN_SCAN_MS", 60000, screen_platform_tick,
                          &watcher, e);
}

void screen_watch_stop(void) {
    periodic_stop(watcher);
    watcher = NULL;
}

/* ---- command line: isle screen run [--tender NO] | isle screen alerts [--status S] ---- */

#include "db/migrate.h"

int screen_platform_cli(const cli_env *env, int argc, char **argv) {
    const char *tender_no = NULL, *status = NULL;
    int json = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--tender") && i + 1 < argc)
            tender_no = argv[++i];
        else if (!strcmp(argv[i], "--status") && i + 1 < argc)
            status = argv[++i];
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else {
            fprintf(stderr, "usage: isle screen run [--tender NO] [--json] | isle screen alerts "
                            "[--status S] [--json]\n");
            return 2;
        }
    }
    db *d = NULL;
    err e = {0};
    if (db_open(env->db_path, &d, &e) != 0 || db_migrate(d, NULL, &e) != 0) {
        fprintf(stderr, "isle: %s\n", e.message);
        db_close(d);
        return 1;
    }
    int rc = 0;
    if (!strcmp(argv[1], "run")) {
        int64_t tid = 0;
        if (tender_no) {
            trade_tender t;
            if (trade_tender_load_no(d, tender_no, &t, &e) != 0) {
                fprintf(stderr, "isle: %s: %s\n", tender_no, e.message);
                db_close(d);
                return 1;
            }
            tid = t.id;
        }
        screen_run_counts c;
        if (screen_platform_run(d, tid ? "manual" : "nightly", tid, time_now(), &c, &e) != 0) {
            fprintf(stderr, "isle: screen run: %s\n", e.message);
            rc = 1;
        } else if (json) {
            printf("{\"run_id\":%lld,\"tenders\":%d,\"flagged\":%d,\"new_alerts\":%d}\n",
                   (long long)c.run_id, c.tenders, c.flagged, c.new_alerts);
        } else {
            printf("screened %d tenders: %d flagged, %d new alerts (run %lld)\n", c.tenders,
                   c.flagged, c.new_alerts, (long long)c.run_id);
        }
    } else {
        json_t *o = screen_alerts_list(d, status, 200, 0, &e);
        if (!o) {
            fprintf(stderr, "isle: %s\n", e.message);
            rc = e.status == 400 ? 2 : 1;
        } else if (json) {
            char *s = json_dumps(o, JSON_INDENT(2));
            puts(s ? s : "{}");
            free(s);
        } else {
            size_t i;
            json_t *a;
            json_array_foreach(json_object_get(o, "items"), i, a) printf(
                "%-6lld %.3f %-6s %-18s %s\n",
                (long long)json_integer_value(json_object_get(a, "id")),
                json_number_value(json_object_get(a, "score")),
                json_string_value(json_object_get(a, "status")),
                json_string_value(json_object_get(json_object_get(a, "tender"), "tender_no")),
                json_string_value(json_object_get(a, "reasons")));
        }
        json_decref(o);
    }
    db_close(d);
    return rc;
}
