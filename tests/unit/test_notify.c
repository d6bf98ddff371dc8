/* Unit tests for src/notify/: template rendering, the transactional outbox
 * (dedupe, rollback, who gets an SMS), the case-status helper, the inbox, and
 * the sender: exactly once with two claimers on two connections, leases that
 * run out, retries and refusals, the per-recipient and global rate limits,
 * opt-out (settings, TD replies, essential templates), delivery receipts, the
 * webhook signature, phone normalisation, the log transport's masking. */
#include "test.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/hmac.h"
#include "base/timeutil.h"
#include "db/db.h"
#include "db/migrate.h"
#include "notify/notify.h"

static void use_shipped_templates(void) {
    unsetenv("ISLE_NOTIFY_TEMPLATES");
    notify_set_data_dir("data");
}

static int64_t add_user(db *d, const char *login, const char *role, const char *phone,
                        const char *department) {
    int64_t id = 0;
    err e = {0};
    db_query_int(d, &e, &id,
                 "INSERT INTO users (login, display_name, role, password_hash, phone, department, "
                 "created_at, updated_at, password_changed_at) VALUES ($1, $1, $2, 'x', $3, $4, "
                 "'2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z') "
                 "RETURNING id",
                 "ssss", login, role, phone, department);
    return id;
}

static int64_t add_case(db *d, int64_t applicant, const char *status, const char *channel) {
    int64_t id = 0;
    err e = {0};
    static int seq;
    char no[32];
    snprintf(no, sizeof(no), "ZS260101%04d", ++seq);
    db_query_int(d, &e, &id,
                 "INSERT INTO cases (case_no, kind, item_code, item_name, applicant_id, channel, "
                 "department, status, form, deadline_at, created_at, updated_at) "
                 "VALUES ($1, 'item', 'X-1', '户口迁移', $2, $3, '舟山市公安局', $4, '{}', "
                 "'2026-03-10T09:30:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z') "
                 "RETURNING id",
                 "siss", no, applicant, channel, status);
    return id;
}

static int send_in_tx(db *d, const notify_msg *m, int64_t *id, err *e) {
    if (db_begin(d, e) != 0) return -1;
    int rc = notify_send(d, m, id, e);
    if (rc < 0) {
        db_rollback(d);
        return rc;
    }
    return db_commit(d, e) == 0 ? rc : -1;
}

TEST(notify_render_text_placeholders) {
    err e = {0};
    char *out = NULL;
    json_t *p = json_pack("{s:s, s:i, s:f}", "case_no", "ZS1", "n", 3, "x", 1.5);
    CHECK_INT(notify_render_text("办件 {case_no} 第{n}次 {x} {{字面}}", p, &out, &e), 0);
    CHECK_STR(out, "办件 ZS1 第3次 1.5 {字面}");
    free(out);
    CHECK_INT(notify_render_text("缺 {item_name} 与 {case_no}", p, &out, &e), -1);
    CHECK_INT(e.status, 400);
    CHECK_STR(e.field, "params.item_name");
    CHECK(strstr(e.message, "{item_name}") != NULL);
    CHECK(out == NULL);
    json_object_set_new(p, "item_name", json_null());
    CHECK_INT(notify_render_text("{item_name}", p, &out, &e), -1);
    CHECK_STR(e.field, "params.item_name");
    CHECK_INT(notify_render_text("{bad", p, &out, &e), -1);
    CHECK_STR(e.field, "template");
    CHECK_INT(notify_render_text("no placeholders", NULL, &out, &e), 0);
    CHECK_STR(out, "no placeholders");
    free(out);
    json_decref(p);
}

TEST(notify_shipped_templates_render) {
    use_shipped_templates();
    static const char *names[] = {
        "case_submitted",       "case_accepted",        "case_returned",     "case_rejected",
        "case_in_review",       "case_approved",        "case_denied",       "case_delivered",
        "case_withdrawn",       "case_suspended",       "case_resumed",      "case_overdue",
        "rating_ticket_opened", "rating_ticket_result", "assist_dispatched", NULL};
    json_t *p =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "case_no", "ZS1",
                  "item_name", "户口迁移", "reason", "材料不全", "deadline", "2026-03-10 17:30",
                  "overall_label", "不满意", "due", "2026-03-17 17:30", "ticket_id", "7", "result",
                  "已整改", "place", "东极镇", "accept_by", "10:30", "request_no", "BB1");
    for (const char **n = names; *n; n++) {
        notify_rendered r;
        err e = {0};
        int rc = notify_render(*n, p, &r, &e);
        if (rc != 0) fprintf(stderr, "    %s: %s\n", *n, e.message);
        CHECK_INT(rc, 0);
        if (rc == 0) {
            CHECK(strchr(r.body, '{') == NULL);
            notify_rendered_free(&r);
        }
    }
    notify_rendered r;
    err e = {0};
    json_t *empty = json_object();
    CHECK_INT(notify_render("case_accepted", empty, &r, &e), -1);
    json_decref(empty);
    CHECK_STR(e.field, "params.item_name");
    CHECK_INT(notify_render("no_such_template", p, &r, &e), -1);
    CHECK_INT(e.status, 404);
    json_decref(p);
}

TEST(notify_malformed_template_file) {
    char path[] = "/tmp/isle-tpl-XXXXXX";
    int fd = mkstemp(path);
    const char bad[] = "# comment\nok\t1\tx\t标题\t正文 {a}\nbroken\t1\tx\t标题 {unclosed\t正文\n";
    CHECK(write(fd, bad, sizeof(bad) - 1) == (ssize_t)(sizeof(bad) - 1));
    close(fd);
    setenv("ISLE_NOTIFY_TEMPLATES", path, 1);
    notify_set_data_dir(NULL);
    notify_rendered r;
    err e = {0};
    json_t *p = json_pack("{s:s}", "a", "1");
    CHECK_INT(notify_render("ok", p, &r, &e), -1);
    CHECK_INT(e.status, 500);
    CHECK(!notify_template_exists("ok"));
    json_decref(p);
    unlink(path);
    use_shipped_templates();
    CHECK(notify_template_exists("case_accepted"));
}

TEST(notify_mask_phone_keeps_three_and_four) {
    char m[32];
    CHECK_STR(notify_mask_phone("13905801234", m, sizeof(m)), "139****1234");
    CHECK_STR(notify_mask_phone("0580-2021234", m, sizeof(m)), "058****1234");
    CHECK_STR(notify_mask_phone("12345", m, sizeof(m)), "****");
    CHECK_STR(notify_mask_phone(NULL, m, sizeof(m)), "****");
}

TEST(notify_send_outbox_dedupe_and_rollback) {
    use_shipped_templates();
    db *d = test_db_open();
    if (!d) return;
    int64_t with_phone = add_user(d, "u1", "citizen", "13905801234", NULL);
    int64_t without = add_user(d, "u2", "citizen", NULL, NULL);
    json_t *p = json_pack("{s:s, s:s, s:s}", "case_no", "ZS1", "item_name", "户口迁移", "deadline",
                          "2026-03-10 17:30");
    err e = {0};
    notify_msg m = {.user_id = with_phone,
                    .template_name = "case_accepted",
                    .params = p,
                    .dedupe_key = "case:1:accepted:v2",
                    .link = "/cases/1"};
    /* outside a transaction: refused */
    CHECK_INT(notify_send(d, &m, NULL, &e), -1);
    CHECK_INT(e.status, 500);
    int64_t id = 0;
    CHECK_INT(send_in_tx(d, &m, &id, &e), 0);
    CHECK(id > 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM notifications"), 1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND "
                               "phone = '13905801234' AND body LIKE '【舟山政务服务】%'"),
              1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox WHERE essential = 1 AND "
                               "run_after = created_at AND locked_by IS NULL"),
              1);
    /* the same event again: nothing new, the earlier id */
    int64_t again = 0;
    CHECK_INT(send_in_tx(d, &m, &again, &e), 1);
    CHECK_INT(again, id);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM notifications"), 1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox"), 1);
    /* rolled back with the caller's event */
    CHECK_INT(db_begin(d, &e), 0);
    m.dedupe_key = "case:1:approved:v3";
    CHECK_INT(notify_send(d, &m, NULL, &e), 0);
    db_rollback(d);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM notifications"), 1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox"), 1);
    /* no phone: in-app only */
    m.user_id = without;
    m.dedupe_key = "k-nophone";
    CHECK_INT(send_in_tx(d, &m, NULL, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox"), 1);
    /* in-app-only template */
    m.user_id = with_phone;
    m.template_name = "case_submitted";
    m.dedupe_key = "k-submitted";
    CHECK_INT(send_in_tx(d, &m, NULL, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox"), 1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM notifications"), 3);
    /* a phone without an account: SMS only */
    notify_msg x = {.phone = "13800000000",
                    .template_name = "case_accepted",
                    .params = p,
                    .dedupe_key = "k-phone-only"};
    CHECK_INT(send_in_tx(d, &x, &id, &e), 0);
    CHECK_INT(id, 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox WHERE notification_id IS NULL"), 1);
    /* bad input names the field and writes nothing */
    x.dedupe_key = "has space";
    CHECK_INT(send_in_tx(d, &x, NULL, &e), -1);
    CHECK_STR(e.field, "dedupe_key");
    x.dedupe_key = "k2";
    x.phone = "139-abc";
    CHECK_INT(send_in_tx(d, &x, NULL, &e), -1);
    CHECK_STR(e.field, "phone");
    CHECK(strstr(e.message, "139") == NULL);
    notify_msg missing = {
        .user_id = with_phone, .template_name = "case_returned", .params = p, .dedupe_key = "k3"};
    CHECK_INT(send_in_tx(d, &missing, NULL, &e), -1);
    CHECK_STR(e.field, "params.reason");
    notify_msg nouser = {
        .user_id = 99999, .template_name = "case_accepted", .params = p, .dedupe_key = "k4"};
    CHECK_INT(send_in_tx(d, &nouser, NULL, &e), -1);
    CHECK_INT(e.status, 404);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox"), 2);
    json_decref(p);
    db_close(d);
}

TEST(notify_case_status_templates_and_resume) {
    use_shipped_templates();
    db *d = test_db_open();
    if (!d) return;
    int64_t u = add_user(d, "applicant", "citizen", "13905801234", NULL);
    int64_t c = add_case(d, u, "accepted", "online");
    err e = {0};
    CHECK_INT(db_begin(d, &e), 0);
    CHECK_INT(notify_case_status(d, c, "accepted", NULL, &e), 0);
    CHECK_INT(notify_case_status(d, c, "accepted", NULL, &e), 0); /* same version: deduped */
    CHECK_INT(notify_case_status(d, c, "draft", NULL, &e), 0);
    CHECK_INT(notify_case_status(d, c, "nonsense", NULL, &e), -1);
    CHECK_STR(e.field, "status");
    CHECK_INT(notify_case_status(d, 4242, "accepted", NULL, &e), -1);
    CHECK_INT(e.status, 404);
    CHECK_INT(db_commit(d, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM notifications WHERE template = "
                               "'case_accepted' AND body LIKE '%户口迁移%' AND body LIKE "
                               "'%2026-03-10 17:30%' AND link LIKE '/cases/%'"),
              1);
    /* suspended, then back to in_review: the applicant hears "resumed" */
    CHECK_INT(db_begin(d, &e), 0);
    CHECK_INT(
        db_execf(d, &e, "UPDATE cases SET status = 'suspended', version = 2 WHERE id = $1", "i", c),
        0);
    CHECK_INT(notify_case_status(d, c, "suspended", "专家评审", &e), 0);
    CHECK_INT(
        db_execf(d, &e, "UPDATE cases SET status = 'in_review', version = 3 WHERE id = $1", "i", c),
        0);
    CHECK_INT(db_execf(d, &e,
                       "INSERT INTO case_events (case_id, at, action, from_status, to_status) "
                       "VALUES ($1, '2026-01-02T00:00:00Z', 'resume', 'suspended', 'in_review')",
                       "i", c),
              0);
    CHECK_INT(notify_case_status(d, c, "in_review", NULL, &e), 0);
    CHECK_INT(db_commit(d, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM notifications WHERE template = "
                               "'case_suspended' AND body LIKE '%专家评审%'"),
              1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM notifications WHERE template = "
                               "'case_resumed'"),
              1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM notifications WHERE template = "
                               "'case_in_review'"),
              0);
    /* overdue goes to the department's staff (none with that department: all staff) */
    int64_t s1 = add_user(d, "staff1", "staff", "13900000001", "舟山市公安局");
    add_user(d, "staff2", "staff", NULL, "舟山市民政局");
    int sent = 0;
    CHECK_INT(db_begin(d, &e), 0);
    CHECK_INT(notify_case_overdue(d, c, &sent, &e), 0);
    CHECK_INT(notify_case_overdue(d, c, &sent, &e), 0);
    CHECK_INT(db_commit(d, &e), 0);
    CHECK_INT(sent, 0); /* the second call: deduped */
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM notifications WHERE template = 'case_overdue' AND "
             "user_id = %lld",
             (long long)s1);
    CHECK_INT(test_db_count(d, sql), 1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM notifications WHERE template = "
                               "'case_overdue'"),
              1);
    db_close(d);
}

TEST(notify_inbox_own_only) {
    use_shipped_templates();
    db *d = test_db_open();
    if (!d) return;
    int64_t a = add_user(d, "a", "citizen", NULL, NULL),
            b = add_user(d, "b", "citizen", NULL, NULL);
    json_t *p = json_pack("{s:s, s:s}", "case_no", "ZS1", "item_name", "户口迁移");
    err e = {0};
    for (int i = 0; i < 3; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        notify_msg m = {
            .user_id = a, .template_name = "case_submitted", .params = p, .dedupe_key = key};
        CHECK_INT(send_in_tx(d, &m, NULL, &e), 0);
    }
    notify_msg mb = {
        .user_id = b, .template_name = "case_submitted", .params = p, .dedupe_key = "kb"};
    int64_t bid = 0;
    CHECK_INT(send_in_tx(d, &mb, &bid, &e), 0);
    json_t *list = notify_inbox_list(d, a, 0, 2, 0, &e);
    CHECK_INT(json_array_size(json_object_get(list, "items")), 2);
    CHECK_INT(json_integer_value(json_object_get(list, "total")), 3);
    CHECK_INT(json_integer_value(json_object_get(list, "unread")), 3);
    int64_t first = json_integer_value(
        json_object_get(json_array_get(json_object_get(list, "items"), 0), "id"));
    json_decref(list);
    json_t *n = NULL;
    CHECK_INT(notify_inbox_mark_read(d, a, first, &n, &e), 0);
    CHECK(json_is_string(json_object_get(n, "read_at")));
    json_decref(n);
    CHECK_INT(notify_inbox_mark_read(d, a, first, NULL, &e), 0); /* idempotent */
    CHECK_INT(notify_inbox_mark_read(d, a, bid, NULL, &e), -1);  /* someone else's */
    CHECK_INT(e.status, 404);
    int64_t unread = 0;
    CHECK_INT(notify_inbox_unread(d, a, &unread, &e), 0);
    CHECK_INT(unread, 2);
    list = notify_inbox_list(d, a, 1, 50, 0, &e);
    CHECK_INT(json_integer_value(json_object_get(list, "total")), 2);
    json_decref(list);
    int64_t count = 0;
    CHECK_INT(notify_inbox_mark_all_read(d, a, &count, &e), 0);
    CHECK_INT(count, 2);
    CHECK_INT(notify_inbox_unread(d, b, &unread, &e), 0);
    CHECK_INT(unread, 1);
    json_decref(p);
    db_close(d);
}

/* ---- the sender ---- */

#define MAX_OUTBOX 256

typedef struct counting {
    notify_transport t;
    pthread_mutex_t mu;
    int sent[MAX_OUTBOX];
    int calls;
    int fail_first;     /* this many calls answer NOTIFY_RETRY */
    int refuse;         /* answer NOTIFY_PERMANENT */
    int saw_full_phone; /* the transport got the phone in clear */
} counting;

static enum notify_send_result counting_send(notify_transport *t, const notify_sms *sms,
                                             char *provider_id, size_t n, char *why, size_t why_n) {
    counting *c = t->ctx;
    pthread_mutex_lock(&c->mu);
    int call = ++c->calls;
    if (strcmp(sms->phone, "13905801234") == 0) c->saw_full_phone = 1;
    pthread_mutex_unlock(&c->mu);
    usleep(200); /* widen the window for a second claimer */
    if (c->refuse) {
        snprintf(why, why_n, "HTTP 400");
        return NOTIFY_PERMANENT;
    }
    if (call <= c->fail_first) {
        snprintf(why, why_n, "HTTP 503");
        return NOTIFY_RETRY;
    }
    pthread_mutex_lock(&c->mu);
    if (sms->outbox_id > 0 && sms->outbox_id < MAX_OUTBOX) c->sent[sms->outbox_id]++;
    pthread_mutex_unlock(&c->mu);
    snprintf(provider_id, n, "p-%lld", (long long)sms->outbox_id);
    return NOTIFY_SENT;
}

static void counting_init(counting *c) {
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->mu, NULL);
    c->t.name = "counting";
    c->t.send = counting_send;
    c->t.ctx = c;
}

static db *file_db(char *path, size_t n) {
    snprintf(path, n, "/tmp/isle-notify-XXXXXX");
    int fd = mkstemp(path);
    close(fd);
    db *d = NULL;
    err e = {0};
    if (db_open(path, &d, &e) != 0 || db_migrate(d, NULL, &e) != 0) {
        fprintf(stderr, "    cannot create test db: %s\n", e.message);
        return NULL;
    }
    return d;
}

static void drop_file_db(const char *path) {
    char p[300];
    unlink(path);
    snprintf(p, sizeof(p), "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof(p), "%s-shm", path);
    unlink(p);
}

static void queue_messages(db *d, int64_t user, int n) {
    json_t *p = json_pack("{s:s, s:s, s:s}", "case_no", "ZS1", "item_name", "户口迁移", "deadline",
                          "2026-03-10 17:30");
    err e = {0};
    db_begin(d, &e);
    for (int i = 0; i < n; i++) {
        char key[32];
        snprintf(key, sizeof(key), "load:%d:%lld", i, (long long)time_mono_ns());
        notify_msg m = {
            .user_id = user, .template_name = "case_accepted", .params = p, .dedupe_key = key};
        if (notify_send(d, &m, NULL, &e) != 0) fprintf(stderr, "    send: %s\n", e.message);
    }
    db_commit(d, &e);
    json_decref(p);
}

typedef struct claimer {
    const char *path, *name;
    counting *c;
    notify_send_stats st;
    int rc;
} claimer;

static void *claimer_main(void *arg) {
    claimer *cl = arg;
    db *d = NULL;
    err e = {0};
    if (db_open(cl->path, &d, &e) != 0) {
        cl->rc = -1;
        return NULL;
    }
    cl->rc = notify_send_pending(d, &cl->c->t, cl->name, 1000, &cl->st, &e);
    if (cl->rc != 0) fprintf(stderr, "    %s: %s\n", cl->name, e.message);
    db_close(d);
    return NULL;
}

TEST(notify_sender_exactly_once_with_two_claimers) {
    use_shipped_templates();
    setenv("ISLE_SMS_PER_PHONE", "0", 1);
    setenv("ISLE_SMS_BATCH", "7", 1); /* many small claims: more chances to collide */
    char path[64];
    db *d = file_db(path, sizeof(path));
    if (!d) return;
    int64_t u = add_user(d, "u", "citizen", "13905801234", NULL);
    enum { N = 60 };
    queue_messages(d, u, N);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox WHERE status = 'pending'"), N);
    counting c;
    counting_init(&c);
    claimer a = {.path = path, .name = "node-a", .c = &c};
    claimer b = {.path = path, .name = "node-b", .c = &c};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, claimer_main, &a);
    pthread_create(&tb, NULL, claimer_main, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK_INT(a.rc, 0);
    CHECK_INT(b.rc, 0);
    CHECK_INT(a.st.sent + b.st.sent, N);
    CHECK_INT(c.calls, N);
    int once = 0;
    for (int i = 0; i < MAX_OUTBOX; i++) {
        CHECK(c.sent[i] <= 1);
        once += c.sent[i] == 1;
    }
    CHECK_INT(once, N);
    CHECK(c.saw_full_phone);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND "
                               "attempts = 1 AND sent_at IS NOT NULL AND provider_id LIKE 'p-%'"),
              N);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox WHERE locked_by IS NOT NULL"), 0);
    /* nothing left: a second pass sends nothing */
    err e = {0};
    notify_send_stats st;
    CHECK_INT(notify_send_pending(d, &c.t, "node-a", 100, &st, &e), 0);
    CHECK_INT(st.claimed, 0);
    CHECK_INT(c.calls, N);
    unsetenv("ISLE_SMS_PER_PHONE");
    unsetenv("ISLE_SMS_BATCH");
    db_close(d);
    drop_file_db(path);
}

TEST(notify_sender_leases_and_takes_over_after_a_crash) {
    use_shipped_templates();
    setenv("ISLE_SMS_PER_PHONE", "0", 1);
    db *d = test_db_open();
    if (!d) return;
    int64_t u = add_user(d, "u", "citizen", "13905801234", NULL);
    queue_messages(d, u, 3);
    err e = {0};
    int64_t now = time_now();
    char later[32], earlier[32];
    time_iso(later, sizeof(later), now + 30);
    time_iso(earlier, sizeof(earlier), now - 1);
    /* Row 1 is held by a sender on another node (lease running), row 2 by one that
     * died (lease over): row 1 is left alone, row 2 is taken over. */
    CHECK_INT(db_execf(d, &e,
                       "UPDATE outbox SET attempts = 1, locked_by = 'other', run_after = $1 "
                       "WHERE id = 1",
                       "s", later),
              0);
    CHECK_INT(db_execf(d, &e,
                       "UPDATE outbox SET attempts = 1, locked_by = 'dead', run_after = $1 "
                       "WHERE id = 2",
                       "s", earlier),
              0);
    counting c;
    counting_init(&c);
    notify_send_stats st;
    CHECK_INT(notify_send_pending(d, &c.t, "w", 100, &st, &e), 0);
    CHECK_INT(st.claimed, 2);
    CHECK_INT(st.sent, 2);
    CHECK_INT(c.sent[1], 0);
    CHECK_INT(c.sent[2], 1);
    CHECK_INT(c.sent[3], 1);
    CHECK_INT(test_db_count(d, "SELECT attempts FROM outbox WHERE id = 2"), 2);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox WHERE id = 1 AND status = 'pending' "
                               "AND locked_by = 'other'"),
              1);
    /* The other node reports row 1 sent although its lease was taken over meanwhile:
     * the outcome "sent" is recorded whoever holds the row; nothing is sent twice. */
    CHECK_INT(db_execf(d, &e,
                       "UPDATE outbox SET status = 'sent', locked_by = NULL WHERE id = 1 AND "
                       "status = 'pending'",
                       ""),
              0);
    CHECK_INT(notify_send_pending(d, &c.t, "w", 100, &st, &e), 0);
    CHECK_INT(st.claimed, 0);
    /* A row whose leases keep running out (a sender that crashes on it) fails after
     * the last attempt instead of going round for ever. */
    queue_messages(d, u, 1);
    CHECK_INT(db_execf(d, &e, "UPDATE outbox SET attempts = $1, run_after = $2 WHERE id = 4", "is",
                       (int64_t)NOTIFY_MAX_ATTEMPTS, earlier),
              0);
    CHECK_INT(notify_send_pending(d, &c.t, "w", 100, &st, &e), 0);
    CHECK_INT(st.failed, 1);
    CHECK_INT(c.sent[4], 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox WHERE id = 4 AND status = 'failed' "
                               "AND last_error LIKE 'lease expired%'"),
              1);
    unsetenv("ISLE_SMS_PER_PHONE");
    db_close(d);
}

TEST(notify_sender_retries_then_sends_once) {
    use_shipped_templates();
    setenv("ISLE_SMS_RETRY_BASE", "0", 1);
    setenv("ISLE_SMS_PER_PHONE", "0", 1);
    db *d = test_db_open();
    if (!d) return;
    int64_t u = add_user(d, "u", "citizen", "13905801234", NULL);
    queue_messages(d, u, 1);
    counting c;
    counting_init(&c);
    c.fail_first = 2;
    err e = {0};
    notify_send_stats st, total = {0};
    for (int pass = 0; pass < 5; pass++) {
        CHECK_INT(notify_send_pending(d, &c.t, "w", 1, &st, &e), 0);
        total.sent += st.sent;
        total.retried += st.retried;
    }
    CHECK_INT(total.retried, 2);
    CHECK_INT(total.sent, 1);
    CHECK_INT(c.sent[1], 1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND "
                               "attempts = 3 AND last_error IS NULL"),
              1);
    /* a refusal fails the row at once, without retries */
    queue_messages(d, u, 1);
    c.refuse = 1;
    CHECK_INT(notify_send_pending(d, &c.t, "w", 10, &st, &e), 0);
    CHECK_INT(st.failed, 1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox WHERE status = 'failed' AND "
                               "last_error = 'HTTP 400' AND attempts = 1"),
              1);
    /* attempts used up: the row fails for good */
    queue_messages(d, u, 1);
    c.refuse = 0;
    c.fail_first = 1000;
    for (int pass = 0; pass < NOTIFY_MAX_ATTEMPTS + 2; pass++)
        CHECK_INT(notify_send_pending(d, &c.t, "w", 1, &st, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox WHERE status = 'failed'"), 2);
    char sql[160];
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM outbox WHERE status = 'failed' AND attempts = %d AND "
             "last_error = 'HTTP 503'",
             NOTIFY_MAX_ATTEMPTS);
    CHECK_INT(test_db_count(d, sql), 1);
    CHECK_INT(c.calls, 3 + 1 + NOTIFY_MAX_ATTEMPTS);
    unsetenv("ISLE_SMS_RETRY_BASE");
    unsetenv("ISLE_SMS_PER_PHONE");
    db_close(d);
}

TEST(notify_log_transport_masks_the_phone) {
    char path[] = "/tmp/isle-sms-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    err e = {0};
    notify_transport *t = notify_transport_log_new(path, &e);
    CHECK(t != NULL);
    if (!t) return;
    notify_sms sms = {.outbox_id = 7,
                      .phone = "13905801234",
                      .body = "【舟山政务服务】第一行\n第二行\t完",
                      .template_name = "case_accepted",
                      .dedupe_key = "case:1:accepted:v2"};
    char pid[64] = "", why[64] = "";
    CHECK_INT(t->send(t, &sms, pid, sizeof(pid), why, sizeof(why)), NOTIFY_SENT);
    CHECK_STR(pid, "log-7");
    notify_transport_free(t);
    FILE *f = fopen(path, "r");
    char line[512] = "";
    CHECK(f && fgets(line, sizeof(line), f));
    if (f) fclose(f);
    CHECK(strstr(line, "\t7\t139****1234\tcase:1:accepted:v2\t【舟山政务服务】第一行 第二行 完\n"));
    CHECK(strstr(line, "13905801234") == NULL);
    unlink(path);
    /* settings from the environment */
    setenv("ISLE_SMS_TRANSPORT", "carrier-pigeon", 1);
    CHECK(notify_transport_from_env("x.db", &e) == NULL);
    CHECK_STR(e.field, "ISLE_SMS_TRANSPORT");
    setenv("ISLE_SMS_TRANSPORT", "http", 1);
    setenv("ISLE_SMS_URL", "ftp://gateway", 1);
    CHECK(notify_transport_from_env("x.db", &e) == NULL);
    CHECK_STR(e.field, "ISLE_SMS_URL");
    setenv("ISLE_SMS_URL", "http://127.0.0.1:9/sms", 1);
    setenv("ISLE_SMS_CONCURRENCY", "0", 1);
    CHECK(notify_transport_from_env("x.db", &e) == NULL);
    CHECK_STR(e.field, "ISLE_SMS_CONCURRENCY");
    unsetenv("ISLE_SMS_CONCURRENCY");
    t = notify_transport_from_env("x.db", &e);
    CHECK(t != NULL && strcmp(t->name, "http") == 0);
    CHECK(t && t->send_batch != NULL && t->concurrency == 32 && t->timeout_ms == 5000);
    if (t) {
        /* nothing listens on port 9: a temporary failure, retried later */
        sms.phone = "13905801234";
        CHECK_INT(t->send(t, &sms, pid, sizeof(pid), why, sizeof(why)), NOTIFY_RETRY);
        CHECK(strstr(why, "13905801234") == NULL);
    }
    notify_transport_free(t);
    unsetenv("ISLE_SMS_TRANSPORT");
    unsetenv("ISLE_SMS_URL");
}

/* ---- rate limits, opt-out, receipts, signatures ---- */

TEST(notify_phone_normalize_one_spelling) {
    char p[32];
    err e = {0};
    CHECK_INT(notify_phone_normalize("139-0580-1234", p, sizeof(p), &e), 0);
    CHECK_STR(p, "13905801234");
    CHECK_INT(notify_phone_normalize("+86 139 0580 1234", p, sizeof(p), &e), 0);
    CHECK_STR(p, "13905801234");
    CHECK_INT(notify_phone_normalize("008613905801234", p, sizeof(p), &e), 0);
    CHECK_STR(p, "13905801234");
    CHECK_INT(notify_phone_normalize("8613905801234", p, sizeof(p), &e), 0);
    CHECK_STR(p, "13905801234");
    CHECK_INT(notify_phone_normalize("0580-2021234", p, sizeof(p), &e), 0);
    CHECK_STR(p, "05802021234");
    CHECK_INT(notify_phone_normalize("+852 9123 4567", p, sizeof(p), &e), 0);
    CHECK_STR(p, "+85291234567");
    CHECK_INT(notify_phone_normalize("139x", p, sizeof(p), &e), -1);
    CHECK_STR(e.field, "phone");
    CHECK_INT(notify_phone_normalize("1234", p, sizeof(p), &e), -1);
    CHECK_INT(notify_phone_normalize("1+39", p, sizeof(p), &e), -1);
}

TEST(notify_rate_bucket_arithmetic) {
    double tokens = 0;
    int64_t updated = 0;
    /* A long idle time fills the bucket to its burst only. */
    CHECK_INT(notify_rate_take(&tokens, &updated, 1000000, 100, 20, 1000), 20);
    CHECK_INT(updated, 1000000);
    CHECK_INT(notify_rate_take(&tokens, &updated, 1000000, 100, 20, 1000), 0);
    /* 50 ms at 100/s: 5 tokens. */
    CHECK_INT(notify_rate_take(&tokens, &updated, 1000050, 100, 20, 3), 3);
    CHECK_INT(notify_rate_take(&tokens, &updated, 1000050, 100, 20, 10), 2);
    /* A clock that went back refills nothing and takes nothing away. */
    CHECK_INT(notify_rate_take(&tokens, &updated, 999000, 100, 20, 10), 0);
    CHECK_INT(updated, 1000050);
    CHECK_INT(notify_rate_take(&tokens, &updated, 1000060, 100, 20, 10), 1);
}

TEST(notify_limits_from_the_environment) {
    notify_limits l;
    err e = {0};
    CHECK_INT(notify_limits_from_env(&l, &e), 0);
    CHECK_INT(l.per_phone, 5);
    CHECK_INT(l.window_seconds, 600);
    CHECK_INT((int)l.rate, 500);
    CHECK_INT(l.batch, 200);
    setenv("ISLE_SMS_RATE", "fast", 1);
    CHECK_INT(notify_limits_from_env(&l, &e), -1);
    CHECK_STR(e.field, "ISLE_SMS_RATE");
    unsetenv("ISLE_SMS_RATE");
    setenv("ISLE_SMS_PHONE_WINDOW", "0", 1);
    CHECK_INT(notify_limits_from_env(&l, &e), -1);
    CHECK_STR(e.field, "ISLE_SMS_PHONE_WINDOW");
    unsetenv("ISLE_SMS_PHONE_WINDOW");
    setenv("ISLE_SMS_BATCH", "100000", 1);
    CHECK_INT(notify_limits_from_env(&l, &e), -1);
    CHECK_STR(e.field, "ISLE_SMS_BATCH");
    unsetenv("ISLE_SMS_BATCH");
}

TEST(notify_per_phone_limit_delays_never_drops) {
    use_shipped_templates();
    setenv("ISLE_SMS_PER_PHONE", "5", 1);
    setenv("ISLE_SMS_PHONE_WINDOW", "600", 1);
    db *d = test_db_open();
    if (!d) return;
    int64_t now = time_now();
    time_set_fake(now);
    int64_t a = add_user(d, "a", "citizen", "13905801234", NULL);
    int64_t b = add_user(d, "b", "citizen", "13905805678", NULL);
    queue_messages(d, a, 12);
    queue_messages(d, b, 2);
    counting c;
    counting_init(&c);
    err e = {0};
    notify_send_stats st;
    CHECK_INT(notify_send_pending(d, &c.t, "w", 1000, &st, &e), 0);
    CHECK_INT(st.sent, 7); /* 5 to a, 2 to b */
    CHECK_INT(st.deferred, 7);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox WHERE status = 'pending'"), 7);
    /* The 7 held back wait for the window: the first 5 one window on, 2 a window later. */
    char sql[200], t1[32], t2[32];
    time_iso(t1, sizeof(t1), now + 600);
    time_iso(t2, sizeof(t2), now + 1200);
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND run_after = '%s'", t1);
    CHECK_INT(test_db_count(d, sql), 5);
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND run_after = '%s'", t2);
    CHECK_INT(test_db_count(d, sql), 2);
    /* Nothing more inside the window. */
    time_set_fake(now + 599);
    CHECK_INT(notify_send_pending(d, &c.t, "w", 1000, &st, &e), 0);
    CHECK_INT(st.claimed, 0);
    time_set_fake(now + 600);
    CHECK_INT(notify_send_pending(d, &c.t, "w", 1000, &st, &e), 0);
    CHECK_INT(st.sent, 5);
    time_set_fake(now + 1200);
    CHECK_INT(notify_send_pending(d, &c.t, "w", 1000, &st, &e), 0);
    CHECK_INT(st.sent, 2);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'"), 14);
    int once = 0;
    for (int i = 0; i < MAX_OUTBOX; i++) {
        CHECK(c.sent[i] <= 1);
        once += c.sent[i];
    }
    CHECK_INT(once, 14);
    time_set_fake(0);
    unsetenv("ISLE_SMS_PER_PHONE");
    unsetenv("ISLE_SMS_PHONE_WINDOW");
    db_close(d);
}

TEST(notify_global_rate_limit_paces_the_sender) {
    use_shipped_templates();
    setenv("ISLE_SMS_PER_PHONE", "0", 1);
    setenv("ISLE_SMS_RATE", "40", 1); /* burst 8 */
    db *d = test_db_open();
    if (!d) return;
    int64_t u = add_user(d, "u", "citizen", "13905801234", NULL);
    queue_messages(d, u, 24);
    counting c;
    counting_init(&c);
    err e = {0};
    notify_send_stats st;
    uint64_t t0 = time_mono_ns();
    CHECK_INT(notify_send_pending(d, &c.t, "w", 1000, &st, &e), 0);
    double secs = (double)(time_mono_ns() - t0) / 1e9;
    CHECK_INT(st.sent, 24);
    CHECK(st.rate_waits > 0);
    /* 8 at once, 16 more at 40/s: at least 0.4 s. */
    CHECK(secs >= 0.35);
    CHECK(secs < 5);
    unsetenv("ISLE_SMS_RATE");
    unsetenv("ISLE_SMS_PER_PHONE");
    db_close(d);
}

static const audit_actor test_actor = {.user_id = 0, .login = "test"};

TEST(notify_opt_out_settings_td_and_essential) {
    use_shipped_templates();
    setenv("ISLE_SMS_PER_PHONE", "0", 1);
    db *d = test_db_open();
    if (!d) return;
    int64_t u = add_user(d, "u", "citizen", "139-0580-1234", NULL);
    json_t *p = json_pack("{s:s, s:s, s:s}", "case_no", "ZS1", "item_name", "户口迁移", "deadline",
                          "2026-03-10 17:30");
    err e = {0};
    /* Off: the non-essential template is in-app only, the essential one goes. */
    json_t *out = NULL;
    CHECK_INT(notify_settings_set(d, &test_actor, u, 0, &out, &e), 0);
    CHECK(json_is_false(json_object_get(out, "sms_optional")));
    CHECK_STR(json_string_value(json_object_get(out, "phone")), "139****1234");
    json_decref(out);
    notify_msg m = {
        .user_id = u, .template_name = "case_delivered", .params = p, .dedupe_key = "k-delivered"};
    CHECK_INT(send_in_tx(d, &m, NULL, &e), 0);
    m.template_name = "case_accepted";
    m.dedupe_key = "k-accepted";
    CHECK_INT(send_in_tx(d, &m, NULL, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM notifications"), 2);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox"), 1);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox WHERE template = 'case_accepted' "
                               "AND essential = 1 AND phone = '13905801234'"),
              1);
    /* On again; a non-essential SMS is queued; then the phone replies TD before it goes. */
    CHECK_INT(notify_settings_set(d, &test_actor, u, 1, NULL, &e), 0);
    m.template_name = "case_delivered";
    m.dedupe_key = "k-delivered-2";
    CHECK_INT(send_in_tx(d, &m, NULL, &e), 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox WHERE essential = 0"), 1);
    json_t *in = json_pack("{s:s, s:s}", "phone", "+86 13905801234", "text", " ｔｄ ");
    out = notify_inbound_apply(d, &test_actor, in, &e);
    CHECK_STR(json_string_value(json_object_get(out, "action")), "opted_out");
    json_decref(out);
    out = notify_inbound_apply(d, &test_actor, in, &e);
    CHECK_STR(json_string_value(json_object_get(out, "action")), "already_opted_out");
    json_decref(out);
    json_decref(in);
    in = json_pack("{s:s, s:s}", "phone", "13905801234", "text", "谢谢");
    out = notify_inbound_apply(d, &test_actor, in, &e);
    CHECK_STR(json_string_value(json_object_get(out, "action")), "none");
    json_decref(out);
    json_decref(in);
    in = json_pack("{s:s}", "phone", "13905801234");
    CHECK(notify_inbound_apply(d, &test_actor, in, &e) == NULL);
    CHECK_STR(e.field, "text");
    json_decref(in);
    in = json_pack("{s:s, s:s}", "phone", "not a phone", "text", "TD");
    CHECK(notify_inbound_apply(d, &test_actor, in, &e) == NULL);
    CHECK_STR(e.field, "phone");
    json_decref(in);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM sms_optouts WHERE phone = '13905801234' "
                               "AND keyword = 'TD'"),
              1);
    out = notify_settings_get(d, u, &e);
    CHECK(json_is_true(json_object_get(out, "sms_optional")));
    CHECK(json_is_true(json_object_get(out, "phone_opted_out")));
    CHECK(json_array_size(json_object_get(out, "templates")) >= 15);
    json_decref(out);
    counting c;
    counting_init(&c);
    notify_send_stats st;
    CHECK_INT(notify_send_pending(d, &c.t, "w", 100, &st, &e), 0);
    CHECK_INT(st.suppressed, 1);
    CHECK_INT(st.sent, 1); /* the essential one */
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox WHERE status = 'suppressed' AND "
                               "template = 'case_delivered'"),
              1);
    /* Turning SMS on again, as the account holder, lifts the TD. */
    CHECK_INT(notify_settings_set(d, &test_actor, u, 1, &out, &e), 0);
    CHECK(json_is_false(json_object_get(out, "phone_opted_out")));
    json_decref(out);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM sms_optouts"), 0);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE action = "
                               "'notify.settings'"),
              3);
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM audit_log WHERE action = "
                               "'notify.sms_optout' AND after_json NOT LIKE '%05801234%'"),
              1);
    CHECK_INT(notify_settings_set(d, &test_actor, 4242, 0, NULL, &e), -1);
    CHECK_INT(e.status, 404);
    json_decref(p);
    unsetenv("ISLE_SMS_PER_PHONE");
    db_close(d);
}

TEST(notify_receipts_first_wins_and_repeat_is_harmless) {
    use_shipped_templates();
    setenv("ISLE_SMS_PER_PHONE", "0", 1);
    db *d = test_db_open();
    if (!d) return;
    int64_t u = add_user(d, "u", "citizen", "13905801234", NULL);
    queue_messages(d, u, 3);
    counting c;
    counting_init(&c);
    err e = {0};
    notify_send_stats st;
    CHECK_INT(notify_send_pending(d, &c.t, "w", 100, &st, &e), 0); /* provider ids p-1 … p-3 */
    json_t *b = json_pack("{s:i, s:s}", "id", 1, "status", "delivered");
    json_t *out = notify_receipts_apply(d, b, &e);
    CHECK_STR(json_string_value(json_object_get(out, "result")), "recorded");
    json_decref(out);
    out = notify_receipts_apply(d, b, &e);
    CHECK_STR(json_string_value(json_object_get(out, "result")), "duplicate");
    json_decref(out);
    json_decref(b);
    b = json_pack("{s:s, s:s, s:s}", "provider_id", "p-1", "status", "failed", "error", "x");
    out = notify_receipts_apply(d, b, &e);
    CHECK_STR(json_string_value(json_object_get(out, "result")), "ignored");
    CHECK_STR(json_string_value(json_object_get(out, "receipt_status")), "delivered");
    json_decref(out);
    json_decref(b);
    b = json_pack("{s:s, s:s}", "provider_id", "nobody", "status", "failed");
    CHECK(notify_receipts_apply(d, b, &e) == NULL);
    CHECK_INT(e.status, 404);
    CHECK_STR(e.field, "provider_id");
    json_decref(b);
    /* id and provider_id that disagree name no row */
    b = json_pack("{s:i, s:s, s:s}", "id", 2, "provider_id", "p-3", "status", "failed");
    CHECK(notify_receipts_apply(d, b, &e) == NULL);
    CHECK_INT(e.status, 404);
    json_decref(b);
    /* A list: per-row results; a bad entry names its index and nothing is stored. */
    b = json_pack("{s:[{s:i, s:s}, {s:i, s:s}]}", "receipts", "id", 2, "status", "failed", "id", 3,
                  "status", "lost");
    CHECK(notify_receipts_apply(d, b, &e) == NULL);
    CHECK_STR(e.field, "receipts[1].status");
    CHECK_INT(test_db_count(d, "SELECT COUNT(*) FROM outbox WHERE receipt_status IS NOT NULL"), 1);
    json_decref(b);
    b = json_pack("{s:[{s:i, s:s, s:s}, {s:s, s:s}, {s:i, s:s}]}", "receipts", "id", 2, "status",
                  "failed", "error", "用户关机", "provider_id", "p-3", "status", "delivered", "id",
                  99, "status", "delivered");
    out = notify_receipts_apply(d, b, &e);
    CHECK_INT(json_integer_value(json_object_get(out, "recorded")), 2);
    CHECK_INT(json_integer_value(json_object_get(out, "not_found")), 1);
    CHECK_STR(json_string_value(
                  json_object_get(json_array_get(json_object_get(out, "results"), 2), "result")),
              "not_found");
    json_decref(out);
    json_decref(b);
    CHECK_INT(test_db_count(d,
                            "SELECT COUNT(*) FROM outbox WHERE id = 2 AND receipt_status = "
                            "'failed' AND receipt_error = '用户关机' AND receipt_at IS NOT NULL"),
              1);
    b = json_pack("{s:s}", "status", "delivered");
    CHECK(notify_receipts_apply(d, b, &e) == NULL);
    CHECK_STR(e.field, "id");
    json_decref(b);
    b = json_pack("{s:i, s:s, s:s}", "id", 1, "status", "delivered", "extra", "x");
    CHECK(notify_receipts_apply(d, b, &e) == NULL);
    CHECK_STR(e.field, "extra");
    json_decref(b);
    unsetenv("ISLE_SMS_PER_PHONE");
    db_close(d);
}

TEST(notify_webhook_signature_checks) {
    const char body[] = "{\"id\":1,\"status\":\"delivered\"}";
    char ts[32], sig[HMAC_SIGNATURE_LEN + 1];
    int64_t now = 1790000000;
    snprintf(ts, sizeof(ts), "%lld", (long long)now);
    hmac_webhook_sign("s3cret", ts, body, strlen(body), sig, sizeof(sig));
    CHECK_INT((int)strlen(sig), HMAC_SIGNATURE_LEN);
    err e = {0};
    CHECK_INT(hmac_webhook_check("s3cret", ts, sig, body, strlen(body), now + 10, 300, &e), 0);
    CHECK_INT(hmac_webhook_check("s3cret", ts, sig, body, strlen(body) - 1, now, 300, &e), -1);
    CHECK_INT(e.status, 401);
    CHECK_STR(e.field, "X-Isle-Signature");
    CHECK_INT(hmac_webhook_check("other", ts, sig, body, strlen(body), now, 300, &e), -1);
    CHECK_INT(hmac_webhook_check("s3cret", ts, sig, body, strlen(body), now + 301, 300, &e), -1);
    CHECK_STR(e.field, "X-Isle-Timestamp");
    CHECK_INT(hmac_webhook_check("s3cret", NULL, sig, body, strlen(body), now, 300, &e), -1);
    CHECK_STR(e.field, "X-Isle-Timestamp");
    CHECK_INT(hmac_webhook_check("s3cret", "12ab", sig, body, strlen(body), now, 300, &e), -1);
    CHECK_INT(hmac_webhook_check("s3cret", ts, "sha256=00", body, strlen(body), now, 300, &e), -1);
    CHECK_STR(e.field, "X-Isle-Signature");
    CHECK_INT(hmac_webhook_check("s3cret", ts, NULL, body, strlen(body), now, 300, &e), -1);
    CHECK_INT(hmac_webhook_check("", ts, sig, body, strlen(body), now, 300, &e), -1);
    CHECK_INT(e.status, 503);
    /* Upper-case hex is the same signature. */
    char upper[HMAC_SIGNATURE_LEN + 1];
    for (size_t i = 0; i <= HMAC_SIGNATURE_LEN; i++)
        upper[i] = (i >= 7 && sig[i] >= 'a' && sig[i] <= 'f') ? (char)(sig[i] - 32) : sig[i];
    CHECK_INT(hmac_webhook_check("s3cret", ts, upper, body, strlen(body), now, 300, &e), 0);
}

TEST(notify_templates_essential_flag) {
    use_shipped_templates();
    notify_rendered r;
    err e = {0};
    json_t *p = json_pack("{s:s, s:s, s:s}", "case_no", "ZS1", "item_name", "户口迁移", "deadline",
                          "2026-03-10 17:30");
    CHECK_INT(notify_render("case_accepted", p, &r, &e), 0);
    CHECK(r.sms && r.essential);
    notify_rendered_free(&r);
    CHECK_INT(notify_render("case_delivered", p, &r, &e), 0);
    CHECK(r.sms && !r.essential);
    notify_rendered_free(&r);
    CHECK_INT(notify_render("case_submitted", p, &r, &e), 0);
    CHECK(!r.sms && !r.essential);
    notify_rendered_free(&r);
    json_decref(p);
    json_t *all = notify_templates_json(&e);
    int essential = 0, optional = 0;
    size_t i;
    json_t *t;
    json_array_foreach(all, i, t) {
        const char *k = json_string_value(json_object_get(t, "sms"));
        essential += strcmp(k, "essential") == 0;
        optional += strcmp(k, "optional") == 0;
    }
    CHECK(essential >= 8);
    CHECK(optional >= 2);
    json_decref(all);
    /* a bad sms column names the line */
    char path[] = "/tmp/isle-tpl-XXXXXX";
    int fd = mkstemp(path);
    const char bad[] = "ok\tsometimes\tx\t标题\t正文\n";
    CHECK(write(fd, bad, sizeof(bad) - 1) == (ssize_t)(sizeof(bad) - 1));
    close(fd);
    setenv("ISLE_NOTIFY_TEMPLATES", path, 1);
    notify_set_data_dir(NULL);
    CHECK(notify_templates_json(&e) == NULL);
    unlink(path);
    use_shipped_templates();
}
