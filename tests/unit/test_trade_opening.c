/* Unit tests for the remote opening hall (src/trade/opening.c, record.c): the order
 * of the steps (a skipped step is a 409 "wrong_step" naming the current step), who
 * may take each step (403), the decryption and objection windows, a commitment
 * mismatch that leaves the bid sealed for a retry, art. 31 (a bid not decrypted by
 * its bidder counts as withdrawn; one listed as the system's fault stays sealed for
 * the backup path), the benchmark factor drawn inside the tender's range, the record
 * PDF and its Ed25519 signature, the 流标 rule, what watchers see before and after
 * the start, the event log and what is published after commit (nothing after a
 * rollback). Everything runs on an in-memory database with rows inserted directly
 * (tenders, companies, sealed bids whose commitments are SHA-256s of known
 * plaintexts), so it needs no PKI; confirmations with real certificate signatures
 * are covered by tests/api/trade-opening.test.mjs. */
#include "test.h"

#include <ctype.h>
#include <ftw.h>
#include <poppler.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth/roles.h"
#include "base/timeutil.h"
#include "db/db.h"
#include "files/files.h"
#include "proofs/proofs.h"
#include "trade/opening.h"
#include "trade/trade.h"

#define T_DEADLINE 1796176800 /* 2026-12-01T02:00:00Z */

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *f) {
    (void)sb;
    (void)flag;
    (void)f;
    return remove(p);
}

/* ---- published events, captured through the hook ---- */

static char published[64][40];
static int npublished;

static void capture(const char *topic, const char *event, const char *data) {
    (void)topic;
    (void)data;
    if (npublished < 64) snprintf(published[npublished++], sizeof(published[0]), "%s", event);
}

/* ---- fixture ---- */

typedef struct fixture {
    db *d;
    char dir[64];
    trade_actor host, bidder[5], citizen;
    int64_t company[5];
    int64_t tender;
} fixture;

static int64_t last_id(db *d, const char *table) {
    char sql[96];
    snprintf(sql, sizeof(sql), "SELECT MAX(id) FROM %s", table);
    return test_db_count(d, sql);
}

static int64_t add_user(db *d, const char *login, const char *role) {
    err e = {0};
    db_execf(d, &e,
             "INSERT INTO users (login, display_name, role, password_hash, created_at, "
             "updated_at, password_changed_at) VALUES ($1, $1, $2, 'x', '2026-01-01T00:00:00Z', "
             "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
             "ss", login, role);
    return last_id(d, "users");
}

static void actor(db *d, trade_actor *a, int64_t uid, int role, const char *login) {
    memset(a, 0, sizeof(*a));
    a->user_id = uid;
    a->role = role;
    a->audit = (audit_actor){uid, login, NULL};
    err e = {0};
    trade_actor_load(d, a, &e);
}

static const char *uscc_of(int i) {
    static char buf[5][32];
    snprintf(buf[i], sizeof(buf[i]), "91330900MA2T0000%d%c", i, 'A' + i);
    return buf[i];
}

/* The plaintext company i seals for tender_no (price in yuan). */
static char *plaintext(const char *tender_no, int i, const char *price) {
    char *s = NULL;
    if (asprintf(&s,
                 "{\"tender_no\":\"%s\",\"uscc\":\"%s\",\"form\":{\"price\":\"%s\","
                 "\"duration_days\":%d,\"quality\":\"合格\",\"project_manager\":\"经理%d\","
                 "\"deposit_ref\":\"BZJ-%s-%04d\"},\"documents\":[]}",
                 tender_no, uscc_of(i), price, 100 + i, i, tender_no, i + 1) < 0)
        return NULL;
    return s;
}

/* The text of a PDF (poppler), whitespace removed, malloc'd; NULL when unreadable. */
static char *pdf_text(const unsigned char *pdf, size_t len) {
    GBytes *bytes = g_bytes_new(pdf, len);
    PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, NULL);
    g_bytes_unref(bytes);
    if (!doc) return NULL;
    GString *all = g_string_new(NULL);
    for (int i = 0; i < poppler_document_get_n_pages(doc); i++) {
        PopplerPage *pg = poppler_document_get_page(doc, i);
        char *t = pg ? poppler_page_get_text(pg) : NULL;
        for (const char *c = t ? t : ""; *c; c++)
            if (!isspace((unsigned char)*c)) g_string_append_c(all, *c);
        g_free(t);
        if (pg) g_object_unref(pg);
    }
    g_object_unref(doc);
    char *out = strdup(all->str);
    g_string_free(all, TRUE);
    return out;
}

static void sha_hex(const char *s, char out[65]) {
    unsigned char h[32];
    crypto_hash_sha256(h, (const unsigned char *)s, strlen(s));
    sodium_bin2hex(out, 65, h, 32);
}

static int64_t add_tender(fixture *f, const char *no, const char *method, const char *params,
                          int nbids) {
    err e = {0};
    char dl[32];
    time_iso(dl, sizeof(dl), T_DEADLINE);
    db_execf(f->d, &e,
             "INSERT INTO tenders (tender_no, kind, title, buyer, budget_fen, method, "
             "method_params, status, announce_at, deadline_at, created_at, updated_at) VALUES "
             "($1, 'works', '六横镇码头改造工程', '六横镇人民政府', 500000000, $2, $3, "
             "'announced', '2026-11-01T00:00:00Z', $4, '2026-11-01T00:00:00Z', "
             "'2026-11-01T00:00:00Z')",
             "ssss", no, method, params, dl);
    int64_t tid = last_id(f->d, "tenders");
    for (int i = 0; i < nbids; i++) {
        char price[16], h[65];
        snprintf(price, sizeof(price), "%d.50", 4000000 + i * 1000);
        char *p = plaintext(no, i, price);
        sha_hex(p, h);
        free(p);
        db_execf(f->d, &e,
                 "INSERT INTO bids (tender_id, company_id, user_id, cert_id, seq, status, "
                 "envelope_kind, envelope_sha256, envelope_size, to_backup, commitment_sha256, "
                 "commitment_sig, receipt, receipt_sig, submitted_at, created_at, updated_at) "
                 "VALUES ($1, $2, $3, $4, 1, 'sealed', 'cms', 'e', 10, 1, $5, 's', '{}', 'r', "
                 "'2026-11-20T00:00:00Z', '2026-11-20T00:00:00Z', '2026-11-20T00:00:00Z')",
                 "iiiis", tid, f->company[i], f->bidder[i].user_id, (int64_t)(i + 1), h);
    }
    return tid;
}

static int setup(fixture *f) {
    memset(f, 0, sizeof(*f));
    f->d = test_db_open();
    if (!f->d) return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/isle-opening-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    err e = {0};
    files_set_dir(f->dir, &e);
    char kp[128];
    snprintf(kp, sizeof(kp), "%s/key.pem", f->dir);
    proofs_set_key_path(kp);
    actor(f->d, &f->host, add_user(f->d, "host1", "trading_staff"), ROLE_TRADING_STAFF, "host1");
    actor(f->d, &f->citizen, add_user(f->d, "cit1", "citizen"), ROLE_CITIZEN, "cit1");
    db_execf(f->d, &e,
             "INSERT INTO ca_roots (name, subject, fingerprint, key_type, pem, not_after, "
             "added_at) VALUES ('测试CA', 'CN=t', 'f0', 'rsa', 'x', '2036-01-01T00:00:00Z', "
             "'2026-01-01T00:00:00Z')",
             "");
    for (int i = 0; i < 5; i++) {
        char login[24], name[48], fp[16];
        snprintf(login, sizeof(login), "bidder%d", i);
        snprintf(name, sizeof(name), "舟山第%d建设有限公司", i + 1);
        int64_t uid = add_user(f->d, login, "bidder");
        db_execf(f->d, &e,
                 "INSERT INTO trade_companies (uscc, name, created_at, updated_at) VALUES "
                 "($1, $2, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                 "ss", uscc_of(i), name);
        f->company[i] = last_id(f->d, "trade_companies");
        db_execf(f->d, &e,
                 "INSERT INTO trade_company_users (user_id, company_id, created_at) VALUES "
                 "($1, $2, '2026-01-01T00:00:00Z')",
                 "ii", uid, f->company[i]);
        snprintf(fp, sizeof(fp), "c%d", i);
        db_execf(f->d, &e,
                 "INSERT INTO trade_certs (user_id, company_id, fingerprint, serial, subject, "
                 "issuer, key_type, pubkey_sha256, ca_root_id, pem, not_before, not_after, "
                 "registered_at) VALUES ($1, $2, $3, '01', 'CN=b', 'CN=t', 'rsa', 'p', 1, 'x', "
                 "'2026-01-01T00:00:00Z', '2036-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                 "iis", uid, f->company[i], fp);
        actor(f->d, &f->bidder[i], uid, ROLE_BIDDER, login);
    }
    return 0;
}

static void teardown(fixture *f) {
    time_set_fake(0);
    proofs_set_key_path(NULL);
    trade_set_publish_hook(NULL);
    if (f->d) db_close(f->d);
    if (f->dir[0]) nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static int act(fixture *f, const trade_actor *a, const char *action, json_t *in, err *e) {
    memset(e, 0, sizeof(*e));
    json_t *out = NULL;
    int rc = opening_act(f->d, a, f->tender, action, in, &out, e);
    json_decref(in);
    json_decref(out);
    return rc;
}

static json_t *reveal_body(const char *tender_no, int i, const char *price) {
    char *p = plaintext(tender_no, i, price);
    size_t n = strlen(p);
    size_t bl = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
    char *b = malloc(bl);
    sodium_bin2base64(b, bl, (const unsigned char *)p, n, sodium_base64_VARIANT_ORIGINAL);
    json_t *o = json_pack("{s:s}", "plaintext_base64", b);
    free(b);
    free(p);
    return o;
}

static char *price_of(int i) {
    static char buf[5][16];
    snprintf(buf[i], sizeof(buf[i]), "%d.50", 4000000 + i * 1000);
    return buf[i];
}

/* ---- the whole hall, with every refusal on the way ---- */

TEST(trade_opening_full_flow) {
    if (!proofs_font_path()) return;
    fixture f;
    if (setup(&f) != 0) {
        CHECK(0);
        teardown(&f);
        return;
    }
    npublished = 0;
    trade_set_publish_hook(capture);
    f.tender = add_tender(&f, "ZS-GC-2026-0901", "reasonable_low",
                          "{\"factor_min\":0.93,\"factor_max\":0.94}", 4);
    err e;

    /* Before the deadline: nobody may start; watchers see the countdown, no bidders. */
    time_set_fake(T_DEADLINE - 60);
    CHECK_INT(act(&f, &f.host, "start", NULL, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_STR(e.code, "wrong_step");
    json_t *h = opening_get(f.d, NULL, f.tender, &e);
    CHECK(h != NULL);
    CHECK_STR(json_string_value(json_object_get(h, "status")), "waiting");
    CHECK_INT(json_array_size(json_object_get(h, "signins")), 0);
    CHECK_INT(json_array_size(json_object_get(h, "bids")), 0);
    CHECK(json_object_get(h, "sealed_count") == NULL);
    CHECK_STR(json_string_value(json_object_get(json_object_get(h, "countdown"), "label")),
              "距开标");
    json_decref(h);

    time_set_fake(T_DEADLINE + 5);
    /* Wrong parties and skipped steps. */
    CHECK_INT(act(&f, &f.bidder[0], "start", NULL, &e), -1);
    CHECK_INT(e.status, 403);
    CHECK_INT(act(&f, &f.citizen, "signin", NULL, &e), -1);
    CHECK_INT(e.status, 403);
    CHECK_INT(act(&f, &f.bidder[0], "signin", NULL, &e), -1);
    CHECK_INT(e.status, 409);
    CHECK_STR(e.code, "wrong_step");
    CHECK(strstr(e.message, "等待开标") != NULL);
    CHECK_INT(act(&f, &f.host, "nonsense", NULL, &e), -1);
    CHECK_INT(e.status, 404);
    CHECK_INT(act(&f, &f.host, "begin_decrypt", NULL, &e), -1);
    CHECK_STR(e.code, "wrong_step");

    CHECK_INT(act(&f, &f.host, "start", NULL, &e), 0);
    trade_tender t;
    trade_tender_load(f.d, f.tender, &t, &e);
    CHECK_STR(t.status, "opening");
    CHECK_INT(act(&f, &f.host, "start", NULL, &e), -1);
    CHECK_STR(e.code, "wrong_step");
    CHECK(strstr(e.message, "投标人签到") != NULL);
    /* The host may not skip the decryption. */
    CHECK_INT(act(&f, &f.host, "close_decrypt", NULL, &e), -1);
    CHECK_STR(e.code, "wrong_step");
    CHECK_INT(act(&f, &f.host, "open_objections", NULL, &e), -1);
    CHECK_STR(e.code, "wrong_step");
    CHECK_INT(act(&f, &f.bidder[0], "reveal", reveal_body(t.tender_no, 0, price_of(0)), &e), -1);
    CHECK_STR(e.code, "wrong_step");

    /* Sign-in: companies with a sealed bid, once each; bidder 3 never signs in. */
    for (int i = 0; i < 3; i++)
        CHECK_INT(act(&f, &f.bidder[i], "signin", NULL, &e), 0);
    CHECK_INT(act(&f, &f.bidder[0], "signin", NULL, &e), -1);
    CHECK_STR(e.code, "already_done");
    CHECK_INT(act(&f, &f.bidder[4], "signin", NULL, &e), -1); /* no bid */
    CHECK_INT(e.status, 403);
    CHECK_INT(act(&f, &f.bidder[0], "begin_decrypt", NULL, &e), -1);
    CHECK_INT(e.status, 403);
    CHECK_INT(act(&f, &f.host, "begin_decrypt", json_pack("{s:i}", "minutes", 0), &e), -1);
    CHECK_STR(e.field, "minutes");
    CHECK_INT(act(&f, &f.host, "begin_decrypt", json_pack("{s:i}", "minutes", 121), &e), -1);
    CHECK_INT(act(&f, &f.host, "begin_decrypt", json_pack("{s:i}", "minutes", 30), &e), 0);
    CHECK_INT(act(&f, &f.bidder[0], "signin", NULL, &e), -1);
    CHECK_STR(e.code, "wrong_step");

    /* Before any reveal a watcher sees who signed in, never a price. */
    h = opening_get(f.d, NULL, f.tender, &e);
    CHECK_INT(json_array_size(json_object_get(h, "signins")), 3);
    CHECK_INT(json_array_size(json_object_get(h, "bids")), 0);
    CHECK_INT(json_integer_value(json_object_get(h, "sealed_count")), 4);
    CHECK(json_object_get(h, "sealed") == NULL); /* bid ids are the host's */
    json_decref(h);

    /* A wrong plaintext: 422, the bid stays sealed, the bidder retries. */
    CHECK_INT(act(&f, &f.bidder[0], "reveal", reveal_body(t.tender_no, 0, "1.00"), &e), -1);
    CHECK_INT(e.status, 422);
    CHECK_STR(e.code, "commitment_mismatch");
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM bids WHERE status = 'sealed'"), 4);
    CHECK_INT(act(&f, &f.bidder[0], "reveal", json_pack("{s:s}", "plaintext_base64", "@@@"), &e),
              -1);
    CHECK_STR(e.field, "plaintext_base64");
    for (int i = 0; i < 3; i++)
        CHECK_INT(act(&f, &f.bidder[i], "reveal", reveal_body(t.tender_no, i, price_of(i)), &e), 0);
    CHECK_INT(act(&f, &f.bidder[0], "reveal", reveal_body(t.tender_no, 0, price_of(0)), &e), -1);
    CHECK_STR(e.code, "already_done");
    /* Not signed in: refused. */
    CHECK_INT(act(&f, &f.bidder[3], "reveal", reveal_body(t.tender_no, 3, price_of(3)), &e), -1);
    CHECK_STR(e.code, "wrong_step");

    h = opening_get(f.d, &f.bidder[1], f.tender, &e);
    json_t *bids = json_object_get(h, "bids");
    CHECK_INT(json_array_size(bids), 3);
    CHECK_STR(json_string_value(json_object_get(json_array_get(bids, 0), "price")), "4000000.50");
    CHECK_STR(json_string_value(json_object_get(json_array_get(bids, 0), "project_manager")),
              "经理0");
    json_t *me = json_object_get(h, "me");
    CHECK_STR(json_string_value(json_object_get(me, "role")), "bidder");
    CHECK(json_is_true(json_object_get(me, "signed_in")));
    CHECK_STR(json_string_value(json_object_get(json_object_get(me, "bid"), "status")), "opened");
    json_decref(h);

    /* The window is still open and bidder 3's bid is sealed: the host must wait. */
    CHECK_INT(act(&f, &f.host, "close_decrypt", NULL, &e), -1);
    CHECK_STR(e.code, "window_open");
    time_set_fake(T_DEADLINE + 5 + 30 * 60 + 1);
    CHECK_INT(act(&f, &f.bidder[1], "reveal", reveal_body(t.tender_no, 1, price_of(1)), &e), -1);
    CHECK_STR(e.code, "window_closed");
    CHECK_INT(act(&f, &f.host, "close_decrypt",
                  json_pack("{s:[I]}", "system_fault_bid_ids", (json_int_t)999), &e),
              -1);
    CHECK_STR(e.field, "system_fault_bid_ids");
    CHECK_INT(act(&f, &f.host, "close_decrypt", NULL, &e), 0);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM bids WHERE status = 'not_decrypted'"), 1);
    trade_tender_load(f.d, f.tender, &t, &e);
    CHECK(t.benchmark_factor >= 0.93 - 1e-9 && t.benchmark_factor <= 0.94 + 1e-9);
    double steps = t.benchmark_factor * 10000;
    CHECK(steps - (double)(long long)(steps + 0.5) < 1e-6 &&
          (double)(long long)(steps + 0.5) - steps < 1e-6);

    /* Objections: inside the window, by bidders of the tender, answered by the host. */
    CHECK_INT(act(&f, &f.bidder[0], "object", json_pack("{s:s}", "text", "早"), &e), -1);
    CHECK_STR(e.code, "wrong_step");
    CHECK_INT(act(&f, &f.host, "open_objections", json_pack("{s:i}", "minutes", 10), &e), 0);
    char big[3200];
    for (int i = 0; i < 1001; i++)
        memcpy(big + i * 3, "异", 3); /* 1001 characters: one too many */
    big[1001 * 3] = '\0';
    CHECK_INT(act(&f, &f.bidder[0], "object", json_pack("{s:s}", "text", big), &e), -1);
    CHECK_STR(e.field, "text");
    CHECK_INT(act(&f, &f.bidder[0], "object", json_pack("{s:s}", "text", "  "), &e), -1);
    CHECK_INT(act(&f, &f.bidder[4], "object", json_pack("{s:s}", "text", "我没投"), &e), -1);
    CHECK_INT(e.status, 403);
    CHECK_INT(act(&f, &f.bidder[2], "object",
                  json_pack("{s:s}", "text", "第二名的项目经理有在建项目，请核实。"), &e),
              0);
    int64_t oid = test_db_count(f.d, "SELECT MAX(id) FROM trade_objections");
    CHECK_INT(act(&f, &f.host, "begin_confirm", NULL, &e), -1); /* window open */
    CHECK_STR(e.code, "window_open");
    time_set_fake(T_DEADLINE + 5 + 41 * 60 + 2);
    CHECK_INT(act(&f, &f.bidder[2], "object", json_pack("{s:s}", "text", "再议"), &e), -1);
    CHECK_STR(e.code, "window_closed");
    CHECK_INT(act(&f, &f.host, "begin_confirm", NULL, &e), -1); /* unanswered */
    CHECK_STR(e.code, "wrong_step");
    CHECK_INT(act(&f, &f.bidder[0], "reply",
                  json_pack("{s:I,s:s}", "objection_id", (json_int_t)oid, "text", "x"), &e),
              -1);
    CHECK_INT(e.status, 403);
    CHECK_INT(act(&f, &f.host, "reply",
                  json_pack("{s:I,s:s}", "objection_id", (json_int_t)oid, "text",
                            "评标委员会将在评标时核查。"),
                  &e),
              0);
    CHECK_INT(act(&f, &f.host, "reply",
                  json_pack("{s:I,s:s}", "objection_id", (json_int_t)oid, "text", "again"), &e),
              -1);
    CHECK_STR(e.code, "already_done");
    CHECK_INT(act(&f, &f.host, "begin_confirm", NULL, &e), 0);

    /* The record: a PDF stored under openings/<sha256>.pdf. */
    unsigned char *pdf = NULL;
    size_t len = 0;
    char sha[65], sig[160];
    CHECK_INT(opening_record_get(f.d, NULL, f.tender, &pdf, &len, sha, sig, sizeof(sig), &e), 0);
    CHECK(len > 1000 && pdf && !memcmp(pdf, "%PDF-", 5));
    CHECK_STR(sig, "");
    /* 唱标 in full: every opened bid's deposit reference, never cut short. */
    char *text = pdf && len ? pdf_text(pdf, len) : NULL;
    CHECK(text != NULL);
    for (int i = 0; text && i < 3; i++) {
        char ref[64];
        snprintf(ref, sizeof(ref), "BZJ-%s-%04d", t.tender_no, i + 1);
        CHECK(strstr(text, ref) != NULL);
    }
    free(text);
    free(pdf);

    /* A confirmation needs the bidder's certificate signature (the API test makes real
     * ones): garbage is refused, and so is a watcher. */
    CHECK_INT(act(&f, &f.bidder[0], "confirm", json_pack("{s:s}", "signature", "AAAA"), &e), -1);
    CHECK(e.status == 422 || e.status == 400 || e.status == 404);
    CHECK_INT(act(&f, &f.bidder[3], "confirm", json_pack("{s:s}", "signature", "AAAA"), &e), -1);
    CHECK_INT(e.status, 403);
    CHECK_INT(act(&f, &f.host, "close", NULL, &e), 0);
    trade_tender_load(f.d, f.tender, &t, &e);
    CHECK_STR(t.status, "evaluation");

    /* The record signature verifies with the server's key. */
    CHECK_INT(opening_record_get(f.d, NULL, f.tender, &pdf, &len, sha, sig, sizeof(sig), &e), 0);
    free(pdf);
    proofs_key k;
    CHECK_INT(proofs_key_current(&k, &e), 0);
    char payload[200];
    opening_record_payload(t.tender_no, sha, payload, sizeof(payload));
    const char *s64 = strrchr(sig, ':');
    CHECK(s64 && proofs_signature_ok(k.pk, payload, s64 + 1));
    CHECK(!proofs_signature_ok(k.pk, "isle-opening-record:v1:X:0", s64 + 1));
    proofs_key_wipe(&k);
    CHECK_INT(act(&f, &f.host, "close", NULL, &e), -1);
    CHECK_STR(e.code, "wrong_step");

    /* Every action audited; the log holds every event in order; what was published
     * equals the log (failed actions published nothing). */
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM audit_log WHERE action LIKE 'opening.%'"),
              3 + 1 + 3 + 1 + 1 + 1 + 1 + 1 + 1 + 1);
    json_t *ev = trade_events_since(f.d, f.tender, 0, 1000, &e);
    json_t *items = json_object_get(ev, "items");
    CHECK_INT((long long)json_array_size(items), npublished);
    const char *want[] = {
        "hall_started",      "signed_in",    "signed_in",       "signed_in",
        "decrypt_started",   "bid_opened",   "bid_opened",      "bid_opened",
        "bid_not_decrypted", "factor_drawn", "decrypt_closed",  "objections_opened",
        "objection",         "reply",        "confirm_started", "closed"};
    CHECK_INT(json_array_size(items), sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < json_array_size(items) && i < sizeof(want) / sizeof(want[0]); i++) {
        CHECK_STR(json_string_value(json_object_get(json_array_get(items, i), "kind")), want[i]);
        if (i < (size_t)npublished) CHECK_STR(published[i], want[i]);
    }
    json_decref(ev);
    teardown(&f);
}

/* Fewer than three opened bids: 流标 with the reason and a notice; the system-fault
 * path keeps a bid sealed and blocks the objections until the backup path ran. */
TEST(trade_opening_failed_and_backup_hold) {
    if (!proofs_font_path()) return;
    fixture f;
    if (setup(&f) != 0) {
        CHECK(0);
        teardown(&f);
        return;
    }
    f.tender = add_tender(&f, "ZS-GC-2026-0902", "lowest_price", "{}", 3);
    err e;
    time_set_fake(T_DEADLINE + 1);
    CHECK_INT(act(&f, &f.host, "start", NULL, &e), 0);
    for (int i = 0; i < 2; i++)
        CHECK_INT(act(&f, &f.bidder[i], "signin", NULL, &e), 0);
    CHECK_INT(act(&f, &f.host, "begin_decrypt", NULL, &e), 0);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM opening_events WHERE kind = 'warning'"), 1);
    CHECK_INT(act(&f, &f.bidder[0], "reveal", reveal_body("ZS-GC-2026-0902", 0, price_of(0)), &e),
              0);
    int64_t b1 = test_db_count(f.d, "SELECT id FROM bids WHERE status = 'sealed' ORDER BY id "
                                    "LIMIT 1");
    time_set_fake(T_DEADLINE + 1 + 31 * 60);
    CHECK_INT(act(&f, &f.host, "close_decrypt",
                  json_pack("{s:[I]}", "system_fault_bid_ids", (json_int_t)b1), &e),
              0);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM bids WHERE status = 'sealed'"), 1);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM bids WHERE status = 'not_decrypted'"), 1);
    trade_tender t;
    trade_tender_load(f.d, f.tender, &t, &e);
    CHECK(t.benchmark_factor == 0); /* not reasonable_low */
    CHECK_INT(act(&f, &f.host, "open_objections", NULL, &e), -1);
    CHECK_STR(e.code, "wrong_step");
    /* The backup path needs ≥ 2 shares and a reason. */
    CHECK_INT(act(&f, &f.host, "backup_reveal",
                  json_pack("{s:I,s:s,s:[s]}", "bid_id", (json_int_t)b1, "reason", "系统故障",
                            "shares", "only-one"),
                  &e),
              -1);
    CHECK_STR(e.field, "shares");
    CHECK_INT(act(&f, &f.bidder[0], "backup_reveal", NULL, &e), -1);
    CHECK_INT(e.status, 403);
    /* Release the held bid to the bidder's fault by hand (as if the custodians found it
     * was not the system's), so the flow can go on. */
    db_execf(f.d, &e, "UPDATE bids SET status = 'not_decrypted' WHERE id = $1", "i", b1);
    CHECK_INT(act(&f, &f.host, "open_objections", json_pack("{s:i}", "minutes", 1), &e), 0);
    time_set_fake(T_DEADLINE + 1 + 33 * 60);
    CHECK_INT(act(&f, &f.host, "begin_confirm", NULL, &e), 0);
    CHECK_INT(act(&f, &f.host, "close", NULL, &e), 0);
    trade_tender_load(f.d, f.tender, &t, &e);
    CHECK_STR(t.status, "failed");
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM tenders WHERE failed_reason = "
                                 "'有效投标人不足3家，依法流标'"),
              1);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM tender_notices WHERE kind = 'failed'"), 1);
    CHECK_INT(test_db_count(f.d, "SELECT COUNT(*) FROM opening_events WHERE kind = 'failed'"), 1);
    teardown(&f);
}

/* Drafts are nobody's business but staff's; an unknown tender is a 404. */
TEST(trade_opening_visibility) {
    fixture f;
    if (setup(&f) != 0) {
        CHECK(0);
        teardown(&f);
        return;
    }
    f.tender = add_tender(&f, "ZS-GC-2026-0903", "composite", "{}", 1);
    err e = {0};
    db_execf(f.d, &e, "UPDATE tenders SET status = 'draft' WHERE id = $1", "i", f.tender);
    CHECK(opening_get(f.d, NULL, f.tender, &e) == NULL);
    CHECK_INT(e.status, 404);
    CHECK(opening_get(f.d, &f.bidder[0], f.tender, &e) == NULL);
    json_t *h = opening_get(f.d, &f.host, f.tender, &e);
    CHECK(h != NULL);
    CHECK_STR(json_string_value(json_object_get(json_object_get(h, "me"), "role")), "host");
    json_decref(h);
    CHECK(opening_get(f.d, NULL, 987654, &e) == NULL);
    CHECK_INT(e.status, 404);
    CHECK_INT(act(&f, &f.bidder[0], "signin", NULL, &e), -1);
    CHECK_INT(e.status, 404);
    char buf[200];
    CHECK_STR(opening_confirm_string("ZS-1", "ab", buf, sizeof(buf)),
              "isle-opening-confirm:v1:ZS-1:ab");
    teardown(&f);
}

/* The factor draw: every value inside the range at 0.0001 steps, both ends reachable,
 * roughly uniform (each of the 11 values of 0.9500..0.9510 within ±30% of its share). */
TEST(trade_opening_factor_draw) {
    int count[11] = {0};
    int bad = 0;
    for (int i = 0; i < 22000; i++) {
        double f = opening_draw_factor(0.95, 0.951);
        long k = lround(f * 10000) - 9500;
        if (k < 0 || k > 10 || fabs(f * 10000 - (double)lround(f * 10000)) > 1e-6)
            bad++;
        else
            count[k]++;
    }
    CHECK_INT(bad, 0);
    for (int k = 0; k < 11; k++)
        CHECK(count[k] > 1400 && count[k] < 2600);
    double f = opening_draw_factor(0.97, 0.97);
    CHECK(fabs(f - 0.97) < 1e-9);
}
