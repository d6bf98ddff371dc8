/* Unit tests for src/idverify/: starting a provider verification through a fake
 * in-process provider (what it is sent, what is kept), provider failures, the
 * callback's rules (match, duplicate, conflict, wrong session, expiry), staff
 * witnesses (roles, note, fallback), who may read what (masking), the start limit,
 * the assurance helper, and the HTTP provider's settings. */
#include "test.h"

#include <stdlib.h>

#include "auth/roles.h"
#include "base/crypto.h"
#include "base/timeutil.h"
#include "db/db.h"
#include "idverify/idverify.h"

#define CITIZEN_ID "330902195203140021"
#define WALKIN_ID  "330922194806050026"

typedef struct fake {
    idverify_provider p;
    int calls;
    int fail;     /* answer 502 */
    int same_ref; /* answer the same session id every time */
    char last_id_number[20];
    char last_name[80];
    char last_token[80];
} fake;

static int fake_start(idverify_provider *p, const idverify_request *req, idverify_session *out,
                      err *e) {
    fake *f = p->ctx;
    f->calls++;
    snprintf(f->last_id_number, sizeof(f->last_id_number), "%s", req->id_number);
    snprintf(f->last_name, sizeof(f->last_name), "%s", req->name);
    snprintf(f->last_token, sizeof(f->last_token), "%s", req->token);
    if (f->fail) return err_set(e, 502, "provider_error", "", "人脸核验服务拒绝了请求（HTTP 500）");
    if (f->same_ref)
        snprintf(out->session_id, sizeof(out->session_id), "S-same");
    else
        snprintf(out->session_id, sizeof(out->session_id), "S-%lld",
                 (long long)req->verification_id);
    snprintf(out->url, sizeof(out->url), "https://face.example.cn/%s", out->session_id);
    return 0;
}

static void fake_init(fake *f) {
    memset(f, 0, sizeof(*f));
    f->p.name = "fake";
    f->p.start = fake_start;
    f->p.ctx = f;
}

static int64_t add_user(db *d, const char *login, const char *role, const char *name,
                        const char *id_number) {
    int64_t id = 0;
    err e = {0};
    db_query_int(d, &e, &id,
                 "INSERT INTO users (login, display_name, role, password_hash, id_number, "
                 "created_at, updated_at, password_changed_at) VALUES ($1, $2, $3, 'x', $4, "
                 "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z') "
                 "RETURNING id",
                 "ssss", login, name, role, id_number);
    return id;
}

static idverify_actor actor(int64_t id, int role) {
    idverify_actor a = {.user_id = id, .role = role, .audit = {.user_id = id, .login = "t"}};
    return a;
}

static const char *vstr(json_t *v, const char *k) {
    return json_string_value(json_object_get(v, k));
}

static json_t *callback(db *d, int64_t id, const char *ref, const char *result,
                        const char *assurance, err *e) {
    json_t *b = json_pack("{s:I, s:s, s:s}", "request_id", (json_int_t)id, "session_id", ref,
                          "result", result);
    if (assurance) json_object_set_new(b, "assurance", json_string(assurance));
    audit_actor pa = {.login = "idverify-provider"};
    json_t *out = idverify_callback(d, &pa, b, e);
    json_decref(b);
    return out;
}

TEST(idverify_start_and_callback) {
    db *d = test_db_open();
    if (!d) return;
    int64_t citizen = add_user(d, "c", "citizen", "张阿婆", CITIZEN_ID);
    int64_t staff = add_user(d, "s", "staff", "王窗口", NULL);
    int64_t other = add_user(d, "o", "citizen", "李四", NULL);
    fake f;
    fake_init(&f);
    err e = {0};
    idverify_actor ca = actor(citizen, ROLE_CITIZEN);
    idverify_subject self = {0};
    json_t *out = NULL;
    CHECK_INT(idverify_start(d, &f.p, &ca, &self, &out, &e), 0);
    json_t *v = json_object_get(out, "verification");
    int64_t id = json_integer_value(json_object_get(v, "id"));
    CHECK(id > 0);
    CHECK_STR(vstr(v, "status"), "pending");
    CHECK_STR(vstr(json_object_get(v, "subject"), "id_number"), CITIZEN_ID);
    CHECK_STR(f.last_id_number, CITIZEN_ID);
    CHECK_STR(f.last_name, "张阿婆");
    const char *token = vstr(json_object_get(out, "session"), "token");
    CHECK_STR(token, f.last_token);
    char hash[65];
    crypto_sha256_hex(token, strlen(token), hash);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM verifications WHERE token_hash = '%s' AND provider_ref = "
             "'S-%lld' AND subject_id_masked = '3309**********0021'",
             hash, (long long)id);
    CHECK_INT(test_db_count(d, sql), 1);
    json_decref(out);
    char ref[32];
    snprintf(ref, sizeof(ref), "S-%lld", (long long)id);

    /* wrong session, unknown id, bad result, assurance on no_match */
    CHECK(callback(d, id, "S-999", "match", NULL, &e) == NULL);
    CHECK_INT(e.status, 409);
    CHECK_STR(e.field, "session_id");
    CHECK(callback(d, 4242, ref, "match", NULL, &e) == NULL);
    CHECK_INT(e.status, 404);
    CHECK(callback(d, id, ref, "maybe", NULL, &e) == NULL);
    CHECK_STR(e.field, "result");
    CHECK(callback(d, id, ref, "no_match", "high", &e) == NULL);
    CHECK_STR(e.field, "assurance");
    CHECK(callback(d, id, ref, "match", "medium", &e) == NULL);
    CHECK_STR(e.field, "assurance");
    /* the result, once */
    out = callback(d, id, ref, "match", "substantial", &e);
    CHECK_STR(vstr(out, "result"), "recorded");
    v = json_object_get(out, "verification");
    CHECK_STR(vstr(v, "status"), "passed");
    CHECK_STR(vstr(v, "assurance"), "substantial");
    CHECK_STR(vstr(json_object_get(v, "subject"), "id_number"), "3309**********0021");
    json_decref(out);
    out = callback(d, id, ref, "match", "substantial", &e);
    CHECK_STR(vstr(out, "result"), "duplicate");
    json_decref(out);
    CHECK(callback(d, id, ref, "match", NULL, &e) == NULL); /* a different level: not the same */
    CHECK_INT(e.status, 409);
    CHECK(callback(d, id, ref, "error", NULL, &e) == NULL);
    CHECK_STR(e.field, "result");

    /* who reads what */
    idverify_actor sa = actor(staff, ROLE_STAFF), oa = actor(other, ROLE_CITIZEN);
    v = idverify_get(d, &sa, id, &e);
    CHECK_STR(vstr(json_object_get(v, "subject"), "id_number"), "3309**********0021");
    json_decref(v);
    CHECK(idverify_get(d, &oa, id, &e) == NULL);
    CHECK_INT(e.status, 404);
    v = idverify_get(d, &ca, id, &e);
    CHECK_STR(vstr(json_object_get(v, "subject"), "id_number"), CITIZEN_ID);
    json_decref(v);

    /* the audit trail: start, session, result; no ID number in clear */
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM audit_log WHERE object_type = 'verification' AND "
             "object_id = '%lld'",
             (long long)id);
    CHECK_INT(test_db_count(d, sql), 3);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE after_json LIKE "
                               "'%19520314%'"),
              0);
    char level[16];
    CHECK_INT(idverify_user_assurance(d, citizen, 3600, level, sizeof(level), &e), 0);
    CHECK_STR(level, "substantial");
    CHECK_INT(idverify_user_assurance(d, other, 3600, level, sizeof(level), &e), 0);
    CHECK_STR(level, "");
    db_close(d);
}

TEST(idverify_start_rules_and_provider_failure) {
    db *d = test_db_open();
    if (!d) return;
    int64_t citizen = add_user(d, "c", "citizen", "张阿婆", CITIZEN_ID);
    int64_t nocard = add_user(d, "n", "citizen", "赵五", NULL);
    int64_t staff = add_user(d, "s", "staff", "王窗口", NULL);
    fake f;
    fake_init(&f);
    err e = {0};
    json_t *out = NULL;
    idverify_actor ca = actor(citizen, ROLE_CITIZEN), sa = actor(staff, ROLE_STAFF);
    idverify_actor na = actor(nocard, ROLE_CITIZEN);
    idverify_subject s = {.user_id = nocard};
    CHECK_INT(idverify_start(d, &f.p, &ca, &s, &out, &e), -1);
    CHECK_INT(e.status, 403);
    idverify_subject walk = {.name = "王阿公", .id_number = WALKIN_ID};
    CHECK_INT(idverify_start(d, &f.p, &ca, &walk, &out, &e), -1);
    CHECK_STR(e.field, "id_number"); /* not the account's number */
    idverify_subject none = {0};
    CHECK_INT(idverify_start(d, &f.p, &na, &none, &out, &e), -1);
    CHECK_STR(e.field, "id_number"); /* the account has none: give it */
    CHECK_INT(idverify_start(d, &f.p, &sa, &none, &out, &e), -1);
    CHECK_STR(e.field, "user_id");
    idverify_subject badid = {.name = "王阿公", .id_number = "330922194806050027"};
    CHECK_INT(idverify_start(d, &f.p, &sa, &badid, &out, &e), -1);
    CHECK_STR(e.field, "id_number");
    CHECK(strstr(e.message, "3309") == NULL);
    idverify_subject badname = {.name = "", .id_number = WALKIN_ID};
    CHECK_INT(idverify_start(d, &f.p, &sa, &badname, &out, &e), -1);
    CHECK_STR(e.field, "name");
    CHECK_INT(f.calls, 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM verifications"), 0);
    /* a citizen without a card on their account gives the number */
    idverify_subject given = {.id_number = "11010519491231002X"};
    CHECK_INT(idverify_start(d, &f.p, &na, &given, &out, &e), 0);
    CHECK_STR(f.last_id_number, "11010519491231002X");
    json_decref(out);
    /* the provider fails: the row says error, the message its id, not the number */
    f.fail = 1;
    CHECK_INT(idverify_start(d, &f.p, &sa, &walk, &out, &e), -1);
    CHECK_INT(e.status, 502);
    CHECK_STR(e.code, "provider_error");
    CHECK(strstr(e.message, "核验记录") != NULL);
    CHECK(strstr(e.message, WALKIN_ID) == NULL);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM verifications WHERE status = 'error' AND "
                               "result = 'error' AND user_id IS NULL AND completed_at IS NOT NULL"),
              1);
    /* the same session id twice is the provider's error too */
    f.fail = 0;
    f.same_ref = 1;
    CHECK_INT(idverify_start(d, &f.p, &sa, &walk, &out, &e), 0);
    json_decref(out);
    CHECK_INT(idverify_start(d, &f.p, &sa, &walk, &out, &e), -1);
    CHECK_INT(e.status, 502);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM verifications WHERE status = 'error'"), 2);
    /* five starts an hour for a resident's account; the next hour again */
    f.same_ref = 0;
    int64_t now = time_now();
    time_set_fake(now);
    int ok = 0;
    for (int i = 0; i < 7; i++) {
        if (idverify_start(d, &f.p, &ca, &none, &out, &e) == 0) {
            ok++;
            json_decref(out);
        } else {
            CHECK_INT(e.status, 429);
        }
    }
    CHECK_INT(ok, 5);
    time_set_fake(now + 3601);
    CHECK_INT(idverify_start(d, &f.p, &ca, &none, &out, &e), 0);
    json_decref(out);
    time_set_fake(0);
    db_close(d);
}

TEST(idverify_late_callback_expires) {
    db *d = test_db_open();
    if (!d) return;
    int64_t citizen = add_user(d, "c", "citizen", "张阿婆", CITIZEN_ID);
    fake f;
    fake_init(&f);
    err e = {0};
    json_t *out = NULL;
    idverify_actor ca = actor(citizen, ROLE_CITIZEN);
    idverify_subject none = {0};
    int64_t now = time_now();
    time_set_fake(now);
    CHECK_INT(idverify_start(d, &f.p, &ca, &none, &out, &e), 0);
    int64_t id = json_integer_value(json_object_get(json_object_get(out, "verification"), "id"));
    json_decref(out);
    char ref[32];
    snprintf(ref, sizeof(ref), "S-%lld", (long long)id);
    time_set_fake(now + 900 + IDVERIFY_GRACE + 1);
    out = callback(d, id, ref, "match", NULL, &e);
    CHECK_STR(vstr(out, "result"), "expired");
    CHECK_STR(vstr(json_object_get(out, "verification"), "status"), "error");
    json_decref(out);
    out = callback(d, id, ref, "match", NULL, &e);
    CHECK_STR(vstr(out, "result"), "expired");
    json_decref(out);
    CHECK(callback(d, id, ref, "no_match", NULL, &e) == NULL);
    CHECK_INT(e.status, 409);
    char level[16];
    CHECK_INT(idverify_user_assurance(d, citizen, 86400, level, sizeof(level), &e), 0);
    CHECK_STR(level, "");
    time_set_fake(0);
    db_close(d);
}

TEST(idverify_witness_rules) {
    db *d = test_db_open();
    if (!d) return;
    int64_t citizen = add_user(d, "c", "citizen", "张阿婆", CITIZEN_ID);
    int64_t staff = add_user(d, "s", "staff", "王窗口", NULL);
    int64_t agent = add_user(d, "a", "agent", "李代办", NULL);
    fake f;
    fake_init(&f);
    err e = {0};
    idverify_actor sa = actor(staff, ROLE_STAFF), aa = actor(agent, ROLE_AGENT);
    idverify_subject walk = {.name = "王阿公", .id_number = WALKIN_ID};
    const char *note = "核对户口簿，村书记当面确认";
    CHECK(idverify_witness(d, &aa, &walk, note, 0, &e) == NULL);
    CHECK_INT(e.status, 403);
    CHECK(idverify_witness(d, &sa, &walk, " ", 0, &e) == NULL);
    CHECK_STR(e.field, "note");
    CHECK(idverify_witness(d, &sa, &walk, NULL, 0, &e) == NULL);
    CHECK_STR(e.field, "note");
    idverify_subject me = {.user_id = staff, .id_number = WALKIN_ID};
    CHECK(idverify_witness(d, &sa, &me, note, 0, &e) == NULL);
    CHECK_INT(e.status, 403);
    /* a provider attempt that erred, then the witness that replaces it */
    f.fail = 1;
    json_t *out = NULL;
    CHECK_INT(idverify_start(d, &f.p, &sa, &walk, &out, &e), -1);
    int64_t failed = 0;
    CHECK_INT(db_query_int(d, &e, &failed, "SELECT MAX(id) FROM verifications", ""), 0);
    idverify_subject other = {.name = "林阿婆", .id_number = "330921194001010020"};
    CHECK(idverify_witness(d, &sa, &other, note, failed, &e) == NULL);
    CHECK_STR(e.field, "fallback_for");
    CHECK(idverify_witness(d, &sa, &walk, note, 4242, &e) == NULL);
    CHECK_STR(e.field, "fallback_for");
    out = idverify_witness(d, &sa, &walk, note, failed, &e);
    json_t *v = json_object_get(out, "verification");
    CHECK_STR(vstr(v, "method"), "witness");
    CHECK_STR(vstr(v, "status"), "passed");
    CHECK_STR(vstr(v, "assurance"), "substantial");
    CHECK_STR(vstr(v, "note"), note);
    CHECK_INT(json_integer_value(json_object_get(v, "fallback_for")), failed);
    int64_t wid = json_integer_value(json_object_get(v, "id"));
    json_decref(out);
    CHECK(idverify_witness(d, &sa, &walk, note, wid, &e) == NULL); /* not a failed provider row */
    CHECK_STR(e.field, "fallback_for");
    /* an account: the helper sees it */
    idverify_subject acct = {.user_id = citizen};
    out = idverify_witness(d, &sa, &acct, note, 0, &e);
    CHECK(out != NULL);
    json_decref(out);
    char level[16];
    CHECK_INT(idverify_user_assurance(d, citizen, 3600, level, sizeof(level), &e), 0);
    CHECK_STR(level, "substantial");
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE action = "
                               "'idverify.witness'"),
              2);
    db_close(d);
}

TEST(idverify_http_provider_settings) {
    err e = {0};
    CHECK(idverify_provider_http_new("ftp://x", "s", 1000, &e) == NULL);
    CHECK_STR(e.field, "ISLE_IDV_URL");
    CHECK(idverify_provider_http_new("http://127.0.0.1:9/s", "", 1000, &e) == NULL);
    CHECK_STR(e.field, "ISLE_IDV_SECRET");
    CHECK(idverify_provider_http_new("http://127.0.0.1:9/s", "s", 50, &e) == NULL);
    CHECK_STR(e.field, "ISLE_IDV_TIMEOUT_MS");
    unsetenv("ISLE_IDV_URL");
    CHECK(idverify_provider_from_env(&e) == NULL);
    CHECK_INT(e.status, 503);
    idverify_provider *p = idverify_provider_http_new("http://127.0.0.1:9/s", "s", 500, &e);
    CHECK(p != NULL);
    if (p) {
        /* nothing listens on port 9: the provider's error, without what was sent */
        idverify_request req = {.verification_id = 1,
                                .name = "张阿婆",
                                .id_number = CITIZEN_ID,
                                .token = "t",
                                .expires_at = "2026-01-01T00:00:00Z"};
        idverify_session s;
        CHECK_INT(p->start(p, &req, &s, &e), -1);
        CHECK_INT(e.status, 502);
        CHECK(strstr(e.message, CITIZEN_ID) == NULL);
        CHECK(strstr(e.message, "张阿婆") == NULL);
    }
    idverify_provider_free(p);
}
