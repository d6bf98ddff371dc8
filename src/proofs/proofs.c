/* proofs: requests, the village → town → district steps, issuing and revocation
 * (the rules are in proofs.h; formats in docs/PROOFS.md).
 *
 * Who may see a proof: its holder, the staff of its town and the approvers of
 * its district (an approver without a town: every district). Anyone else gets
 * 404, the same answer as for a proof that does not exist. Who may act is
 * narrower (proofs.h); seeing without acting gives 403.
 *
 * Every write is one transaction holding the proof's row change, its
 * proof_steps row, the audit row and the resident's notification, so a failed
 * notification undoes the step. Issuing does the slow part first (PDF with an
 * embedded font, about 0.1 s) outside the write lock, then commits only if the
 * proof's version is still the one it read. */
#include "proofs/proofs.h"
#include "auth/auth.h"
#include "auth/roles.h"
#include "base/crypto.h"
#include "base/idcard.h"
#include "base/jsonx.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "cases/cases.h"
#include "catalog/catalog.h"
#include "files/files.h"
#include "island/places.h"
#include "notify/notify.h"
#include "workcal/workcal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The catalog's 证明 items a resident can ask for here. Items that a department
 * issues from its own records (公积金缴存证明, 完税证明, 学籍证明, 档案证明, 渔船配员
 * 证明) and the 出生医学证明 (a hospital's) have no village → town → district route
 * and are not listed. */
static const proofs_kind kinds[] = {
    {"residence", "居住情况证明", "330902-XZ-700035", 90},
    {"kinship", "亲属关系证明", "330902-XZ-700048", 90},
    {"household", "户籍证明", "330902-GA-100021", 90},
    {"no_criminal_record", "无犯罪记录证明", "330900-GA-100031", 90},
    {"only_child", "独生子女证明", "330903-XZ-700046", 180},
    {"hardship", "家庭经济困难证明", "330921-XZ-700047", 180},
    {"no_property", "无房证明", "330921-XZ-700049", 30},
    {NULL, NULL, NULL, 0},
};

const proofs_kind *proofs_kind_find(const char *kind) {
    for (int i = 0; kind && kinds[i].kind; i++)
        if (!strcmp(kinds[i].kind, kind)) return &kinds[i];
    return NULL;
}

const proofs_kind *proofs_kind_by_item(const char *code) {
    for (int i = 0; code && kinds[i].kind; i++)
        if (!strcmp(kinds[i].item_code, code)) return &kinds[i];
    return NULL;
}

json_t *proofs_kinds_json(db *d, err *e) {
    json_t *items = json_array();
    for (int i = 0; kinds[i].kind; i++) {
        err ignore = {0};
        json_t *item = catalog_item_get(d, kinds[i].item_code, &ignore);
        json_array_append_new(
            items, json_pack("{s:s, s:s, s:s, s:o, s:o, s:i}", "kind", kinds[i].kind, "title",
                             kinds[i].title, "item_code", kinds[i].item_code, "item_name",
                             jsonx_str_or_null(item ? jsonx_str(item, "name") : NULL), "department",
                             jsonx_str_or_null(item ? jsonx_str(item, "department") : NULL),
                             "valid_days", kinds[i].valid_days));
        json_decref(item);
    }
    (void)e;
    return json_pack("{s:o}", "items", items);
}

/* ---- small helpers ---- */

static const char *now_iso(char *buf, size_t n) {
    return time_iso(buf, n, time_now());
}

static void today(char *out, size_t n) {
    workcal_date_format(workcal_local_date(time_now()), out, n);
}

/* 1 if s has no control characters, except '\n' when newline_ok. */
static int clean_text(const char *s, int newline_ok) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && !(newline_ok && *p == '\n')) || *p == 0x7f) return 0;
    return 1;
}

/* 1 if s has something besides spaces and newlines. */
static int non_blank(const char *s) {
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\n' && *s != '\t') return 1;
    return 0;
}

static int all_digits(const char *s, size_t n) {
    if (!s || strlen(s) != n) return 0;
    return strspn(s, "0123456789") == n;
}

int proofs_actor_load(db *d, proofs_actor *a, err *e) {
    a->name[0] = a->town_code[0] = a->department[0] = '\0';
    json_t *u = auth_user_get(d, a->user_id, 0, e);
    if (!u) return -1;
    snprintf(a->name, sizeof(a->name), "%s",
             jsonx_str(u, "display_name") ? jsonx_str(u, "display_name") : "");
    json_decref(u);
    cases_actor ca = {.user_id = a->user_id};
    return cases_actor_load(d, &ca, a->department, sizeof(a->department), a->town_code,
                            sizeof(a->town_code), e);
}

/* The town's name and its county's name from the places tables ("" when unknown). */
static int town_names(db *d, const char *town_code, char *town, size_t tn, char *county, size_t cn,
                      err *e) {
    town[0] = county[0] = '\0';
    json_t *all = places_towns(d, e);
    if (!all) return -1;
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(all, "items"), i, t) {
        const char *code = jsonx_str(t, "code");
        if (code && !strcmp(code, town_code)) {
            snprintf(town, tn, "%s", jsonx_str(t, "name") ? jsonx_str(t, "name") : "");
            snprintf(county, cn, "%s", jsonx_str(t, "county") ? jsonx_str(t, "county") : "");
            break;
        }
    }
    json_decref(all);
    return 0;
}

/* The village's name (found = 1), or found = 0 when there is no such village. */
static int village_name(db *d, const char *code, char *name, size_t n, int *found, err *e) {
    *found = 0;
    name[0] = '\0';
    char town[10];
    snprintf(town, sizeof(town), "%.9s", code);
    json_t *all = places_villages(d, town, e);
    if (!all) return -1;
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(all, "items"), i, v) {
        const char *c = jsonx_str(v, "code");
        if (c && !strcmp(c, code)) {
            snprintf(name, n, "%s", jsonx_str(v, "name") ? jsonx_str(v, "name") : "");
            *found = 1;
            break;
        }
    }
    json_decref(all);
    return 0;
}

/* The county government that issues when the approver names no department. */
static void county_office(const char *county, char *out, size_t n) {
    size_t l = strlen(county);
    if (!l)
        snprintf(out, n, "舟山市人民政府");
    else if (l >= 3 && !strcmp(county + l - 3, "区"))
        snprintf(out, n, "舟山市%s人民政府", county);
    else
        snprintf(out, n, "%s人民政府", county);
}

/* ---- reading a proof ---- */

#define PROOF_COLS                                                                                 \
    "id, proof_no, kind, item_code, title, holder_id, holder_name, holder_masked, village_code, "  \
    "town_code, county_code, purpose, details, status, version, issuer, statement, "               \
    "content_sha256, issued_at, valid_until, key_id, payload, signature, file_id, revoked_at, "    \
    "revoke_reason, created_at, updated_at"

static json_t *proof_row(db *d, int64_t id, err *e) {
    db_stmt *s = db_query(d, e, "SELECT " PROOF_COLS " FROM proofs WHERE id = $1", "i", id);
    if (!s) return NULL;
    json_t *o = NULL;
    int rc = db_step(s);
    if (rc == DB_ROW)
        o = db_row_json(s);
    else if (rc == DB_DONE)
        err_notfound(e, "没有这个证明");
    else
        err_internal(e, "%s", db_errmsg(d));
    db_reset(s);
    return o;
}

static int in_scope(const proofs_actor *a, json_t *p) {
    const char *town = jsonx_str(p, "town_code"), *county = jsonx_str(p, "county_code");
    if (!town || !county) return 0;
    if (a->role == ROLE_STAFF) return a->town_code[0] && !strcmp(a->town_code, town);
    if (a->role == ROLE_APPROVER) return !a->town_code[0] || !strncmp(a->town_code, county, 6);
    return 0;
}

static int visible(const proofs_actor *a, json_t *p) {
    return jsonx_int(p, "holder_id", 0) == a->user_id || in_scope(a, p);
}

/* The proof if a may see it, else NULL with 404. */
static json_t *visible_row(db *d, const proofs_actor *a, int64_t id, err *e) {
    json_t *p = proof_row(d, id, e);
    if (p && !visible(a, p)) {
        json_decref(p);
        err_notfound(e, "没有这个证明");
        return NULL;
    }
    return p;
}

/* Who took step action on proof id (0 = nobody). */
static int64_t step_actor(db *d, int64_t id, const char *action, err *e) {
    int64_t who = 0;
    if (db_query_int(d, e, &who,
                     "SELECT actor_id FROM proof_steps WHERE proof_id = $1 AND action = $2 "
                     "ORDER BY id DESC LIMIT 1",
                     "is", id, action) < 0)
        return -1;
    return who;
}

static json_t *steps_json(db *d, int64_t id, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT action, from_status, to_status, actor_id, actor_name, note, at "
                          "FROM proof_steps WHERE proof_id = $1 ORDER BY id",
                          "i", id);
    return s ? db_rows_json(s, 100, e) : NULL;
}

static const char *effective_status(json_t *p, const char *day) {
    const char *st = jsonx_str(p, "status");
    const char *vu = jsonx_str(p, "valid_until");
    if (st && !strcmp(st, "issued") && vu && strcmp(day, vu) > 0) return "expired";
    return st ? st : "";
}

/* Add the derived members to a proof row (in place). */
static void decorate(json_t *p, const char *day) {
    json_object_set_new(p, "effective_status", json_string(effective_status(p, day)));
    const char *no = jsonx_str(p, "proof_no");
    const char *payload = jsonx_str(p, "payload"), *sig = jsonx_str(p, "signature");
    if (payload && sig && no) {
        char *qr = proofs_qr_text(payload, sig, no);
        json_object_set_new(p, "qr_text", json_string(qr));
        free(qr);
        json_object_set_new(p, "verify_path", json_sprintf("/verify/%s", no));
        json_object_set_new(
            p, "pdf_url",
            json_sprintf("/api/v1/proofs/%lld/pdf", (long long)jsonx_int(p, "id", 0)));
    }
    const proofs_kind *k = proofs_kind_find(jsonx_str(p, "kind"));
    if (k) json_object_set_new(p, "valid_days", json_integer(k->valid_days));
}

json_t *proofs_get(db *d, const proofs_actor *a, int64_t id, err *e) {
    json_t *p = visible_row(d, a, id, e);
    if (!p) return NULL;
    char day[16];
    today(day, sizeof(day));
    decorate(p, day);
    json_t *steps = steps_json(d, id, e);
    if (!steps) {
        json_decref(p);
        return NULL;
    }
    json_object_set_new(p, "steps", steps);
    return p;
}

static int status_valid(const char *s) {
    static const char *const all[] = {
        "requested", "village_checked", "town_checked", "issued", "refused", "revoked", NULL};
    for (int i = 0; all[i]; i++)
        if (!strcmp(all[i], s)) return 1;
    return 0;
}

json_t *proofs_list(db *d, const proofs_actor *a, const proofs_filter *f, err *e) {
    if (f->status && !status_valid(f->status))
        return err_invalid(e, "status",
                           "status 须为 requested、village_checked、town_checked、"
                           "issued、refused 或 revoked"),
               NULL;
    if (f->town && !all_digits(f->town, 9))
        return err_invalid(e, "town", "town 须为 9 位乡镇（街道）代码"), NULL;
    int staff = a->role == ROLE_STAFF || a->role == ROLE_APPROVER;
    int mine = f->mine || !staff;
    char county[8] = "";
    const char *town_scope = NULL, *county_scope = NULL;
    if (!mine && a->role == ROLE_STAFF) {
        /* Staff without a town have no queue: an impossible code matches nothing. */
        town_scope = a->town_code[0] ? a->town_code : "-";
    } else if (!mine && a->town_code[0]) {
        snprintf(county, sizeof(county), "%.6s", a->town_code);
        county_scope = county;
    }
    int limit = f->limit > 0 && f->limit <= PROOFS_LIST_MAX ? f->limit : 20;
    int offset = f->offset > 0 ? f->offset : 0;
#define LIST_WHERE                                                                                 \
    " FROM proofs WHERE (CAST($1 AS BIGINT) IS NULL OR holder_id = $1) AND "                       \
    "(CAST($2 AS TEXT) IS NULL OR town_code = $2) AND "                                            \
    "(CAST($3 AS TEXT) IS NULL OR county_code = $3) AND "                                          \
    "(CAST($4 AS TEXT) IS NULL OR status = $4) AND "                                               \
    "(CAST($5 AS TEXT) IS NULL OR town_code = $5)"
    int64_t total = 0;
    int rc = mine ? db_query_int(d, e, &total, "SELECT COUNT(*)" LIST_WHERE, "issss", a->user_id,
                                 town_scope, county_scope, f->status, f->town)
                  : db_query_int(d, e, &total, "SELECT COUNT(*)" LIST_WHERE, "nssss", town_scope,
                                 county_scope, f->status, f->town);
    if (rc < 0) return NULL;
    db_stmt *s =
        mine ? db_query(d, e,
                        "SELECT id, proof_no, kind, title, holder_id, holder_masked, town_code, "
                        "village_code, purpose, status, issued_at, valid_until, revoked_at, "
                        "created_at, updated_at" LIST_WHERE " ORDER BY id DESC LIMIT $6 OFFSET $7",
                        "issssii", a->user_id, town_scope, county_scope, f->status, f->town,
                        (int64_t)limit, (int64_t)offset)
             : db_query(d, e,
                        "SELECT id, proof_no, kind, title, holder_id, holder_masked, town_code, "
                        "village_code, purpose, status, issued_at, valid_until, revoked_at, "
                        "created_at, updated_at" LIST_WHERE " ORDER BY id DESC LIMIT $6 OFFSET $7",
                        "nssssii", town_scope, county_scope, f->status, f->town, (int64_t)limit,
                        (int64_t)offset);
#undef LIST_WHERE
    if (!s) return NULL;
    json_t *items = db_rows_json(s, (size_t)limit, e);
    if (!items) return NULL;
    char day[16];
    today(day, sizeof(day));
    size_t i;
    json_t *p;
    json_array_foreach(items, i, p) {
        json_object_set_new(p, "effective_status", json_string(effective_status(p, day)));
    }
    return json_pack("{s:o, s:I}", "items", items, "total", (json_int_t)total);
}

/* ---- writing ---- */

static int add_step(db *d, const proofs_actor *a, int64_t id, const char *action, const char *from,
                    const char *to, const char *note, err *e) {
    char now[32];
    now_iso(now, sizeof(now));
    return a->user_id ? db_execf(d, e,
                                 "INSERT INTO proof_steps (proof_id, action, from_status, "
                                 "to_status, actor_id, actor_name, note, at) "
                                 "VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
                                 "isssisss", id, action, from, to, a->user_id,
                                 a->name[0] ? a->name : a->audit.login, note, now)
                      : db_execf(d, e,
                                 "INSERT INTO proof_steps (proof_id, action, from_status, "
                                 "to_status, actor_id, actor_name, note, at) "
                                 "VALUES ($1,$2,$3,$4,NULL,$5,$6,$7)",
                                 "issssss", id, action, from, to,
                                 a->audit.login ? a->audit.login : "system", note, now);
}

static int audit_step(db *d, const proofs_actor *a, int64_t id, const char *action, json_t *before,
                      json_t *after, err *e) {
    char oid[24], name[48];
    snprintf(oid, sizeof(oid), "%lld", (long long)id);
    snprintf(name, sizeof(name), "proof.%s", action);
    return audit_record(d, &a->audit, name, "proof", oid, before, after, e);
}

/* Tell the holder about the proof's new status (template proof_status). */
static int tell_holder(db *d, json_t *p, const char *status, const char *reason,
                       const char *valid_until, err *e) {
    char progress[900];
    int sms = 1;
    if (!strcmp(status, "requested")) {
        snprintf(progress, sizeof(progress), "已提交，等待村（社区）核查。");
        sms = 0;
    } else if (!strcmp(status, "village_checked")) {
        snprintf(progress, sizeof(progress), "已通过村（社区）核查，等待乡镇（街道）核查。");
        sms = 0;
    } else if (!strcmp(status, "town_checked")) {
        snprintf(progress, sizeof(progress), "已通过乡镇（街道）核查，等待区县签发。");
        sms = 0;
    } else if (!strcmp(status, "issued")) {
        snprintf(progress, sizeof(progress), "已签发，有效期至 %s，可在“我的证明”中下载。",
                 valid_until ? valid_until : "");
    } else if (!strcmp(status, "refused")) {
        snprintf(progress, sizeof(progress), "未予开具，原因：%s。", reason ? reason : "");
    } else {
        snprintf(progress, sizeof(progress), "已被吊销，原因：%s。", reason ? reason : "");
    }
    int64_t id = jsonx_int(p, "id", 0);
    char dedupe[96], link[64];
    snprintf(dedupe, sizeof(dedupe), "proof:%lld:%s", (long long)id, status);
    snprintf(link, sizeof(link), "/proofs/%lld", (long long)id);
    json_t *params = json_pack("{s:s, s:s, s:s}", "title", jsonx_str(p, "title"), "proof_no",
                               jsonx_str(p, "proof_no"), "progress", progress);
    notify_msg m = {.user_id = jsonx_int(p, "holder_id", 0),
                    .template_name = "proof_status",
                    .params = params,
                    .dedupe_key = dedupe,
                    .link = link,
                    .no_sms = !sms};
    int rc = notify_send(d, &m, NULL, e);
    json_decref(params);
    return rc < 0 ? -1 : 0;
}

static json_t *audit_view(json_t *p) {
    return json_pack("{s:s, s:s, s:s, s:I}", "proof_no", jsonx_str(p, "proof_no"), "kind",
                     jsonx_str(p, "kind"), "status", jsonx_str(p, "status"), "version",
                     (json_int_t)jsonx_int(p, "version", 0));
}

int proofs_request(db *d, const proofs_actor *a, json_t *in, int64_t *id_out, err *e) {
    static const jsonx_field spec[] = {{"kind", JX_STRING, 0, 32},
                                       {"item_code", JX_STRING, 0, 32},
                                       {"purpose", JX_STRING, 1, PROOFS_PURPOSE_MAX},
                                       {"details", JX_STRING, 1, PROOFS_DETAILS_MAX},
                                       {"village_code", JX_STRING, 0, 16},
                                       {NULL}};
    if (a->role != ROLE_CITIZEN) return err_forbidden(e, "只有群众本人可以申请开具证明");
    if (jsonx_check(in, spec, e) != 0) return -1;
    const char *kind_s = jsonx_str(in, "kind"), *item = jsonx_str(in, "item_code");
    const proofs_kind *k = NULL;
    if (kind_s) {
        k = proofs_kind_find(kind_s);
        if (!k)
            return err_invalid(e, "kind", "没有这种证明：%s（见 GET /api/v1/proofs/kinds）",
                               kind_s);
        if (item && strcmp(item, k->item_code) != 0)
            return err_invalid(e, "item_code", "item_code 与 kind 不是同一种证明");
    } else if (item) {
        k = proofs_kind_by_item(item);
        if (!k) return err_invalid(e, "item_code", "事项 %s 不是可在此开具的证明事项", item);
    } else {
        return err_invalid(e, "kind", "请选择要开具的证明（kind 或 item_code）");
    }
    const char *purpose = jsonx_str(in, "purpose"), *details = jsonx_str(in, "details");
    if (!non_blank(purpose) || !clean_text(purpose, 0))
        return err_invalid(e, "purpose", "请填写证明用途（一行文字）");
    if (!non_blank(details) || !clean_text(details, 1))
        return err_invalid(e, "details", "请填写需要证明的情况（不含控制字符）");

    json_t *u = auth_user_get(d, a->user_id, 1, e);
    if (!u) return -1;
    char name[129], id_number[24] = "", town[16] = "";
    snprintf(name, sizeof(name), "%s",
             jsonx_str(u, "display_name") ? jsonx_str(u, "display_name") : "");
    if (jsonx_str(u, "id_number"))
        snprintf(id_number, sizeof(id_number), "%s", jsonx_str(u, "id_number"));
    if (jsonx_str(u, "town_code")) snprintf(town, sizeof(town), "%s", jsonx_str(u, "town_code"));
    json_decref(u);

    const char *village = jsonx_str(in, "village_code");
    if (village) {
        if (!all_digits(village, 12))
            return err_invalid(e, "village_code", "village_code 须为 12 位村（社区）代码");
        char vname[128];
        int found;
        if (village_name(d, village, vname, sizeof(vname), &found, e) != 0) return -1;
        if (!found) return err_invalid(e, "village_code", "没有这个村（社区）：%s", village);
        snprintf(town, sizeof(town), "%.9s", village);
    } else if (!all_digits(town, 9)) {
        return err_invalid(e, "village_code", "请选择所在村（社区）（village_code）");
    }

    char masked[160], mname[64], mid[32];
    proofs_mask_name(name, mname, sizeof(mname));
    if (id_number[0])
        snprintf(masked, sizeof(masked), "%s %s", mname, idcard_mask(id_number, mid, sizeof(mid)));
    else
        snprintf(masked, sizeof(masked), "%s", mname);
    char no[PROOFS_NO_LEN + 1], county[8], now[32];
    proofs_new_no(no, sizeof(no));
    snprintf(county, sizeof(county), "%.6s", town);
    now_iso(now, sizeof(now));

    if (db_begin(d, e) != 0) return -1;
    int64_t id = 0;
    int rc = db_query_int(
        d, e, &id,
        "INSERT INTO proofs (proof_no, kind, item_code, title, holder_id, holder_name, "
        "holder_masked, village_code, town_code, county_code, purpose, details, status, version, "
        "created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,'requested',1,"
        "$13,$13) RETURNING id",
        "ssssissssssss", no, k->kind, k->item_code, k->title, a->user_id, name, masked, village,
        town, county, purpose, details, now);
    json_t *p = rc == 0 ? proof_row(d, id, e) : NULL;
    if (!p) rc = -1;
    if (rc == 0) rc = add_step(d, a, id, "request", NULL, "requested", NULL, e);
    if (rc == 0) {
        json_t *after = audit_view(p);
        rc = audit_step(d, a, id, "request", NULL, after, e);
        json_decref(after);
    }
    if (rc == 0) rc = tell_holder(d, p, "requested", NULL, NULL, e);
    json_decref(p);
    if (rc == 0) rc = db_commit(d, e);
    if (rc != 0) {
        db_rollback(d);
        return -1;
    }
    if (id_out) *id_out = id;
    return 0;
}

/* May a take the step that the proof's status waits for (the step refuse stands in
 * for, too)? 0 yes; -1 with 403 saying why not. */
static int may_step(db *d, const proofs_actor *a, json_t *p, const char *step, err *e) {
    const char *town = jsonx_str(p, "town_code"), *county = jsonx_str(p, "county_code");
    int64_t id = jsonx_int(p, "id", 0);
    int same_town = a->town_code[0] && town && !strcmp(a->town_code, town);
    if (!strcmp(step, "check_village")) {
        if (a->role != ROLE_STAFF || !same_town)
            return err_forbidden(e, "村（社区）核查由本乡镇（街道）的工作人员办理");
        return 0;
    }
    int64_t village_by = step_actor(d, id, "check_village", e);
    if (village_by < 0) return -1;
    if (!strcmp(step, "check_town")) {
        if (!(a->role == ROLE_STAFF || a->role == ROLE_APPROVER) || !same_town)
            return err_forbidden(e, "乡镇（街道）核查由本乡镇（街道）的工作人员办理");
        if (village_by == a->user_id)
            return err_forbidden(e, "同一人不能既做村（社区）核查又做乡镇（街道）核查");
        return 0;
    }
    /* issue */
    int district = a->role == ROLE_APPROVER &&
                   (!a->town_code[0] || (county && !strncmp(a->town_code, county, 6)));
    if (!district) return err_forbidden(e, "证明由区县审批人员签发");
    int64_t town_by = step_actor(d, id, "check_town", e);
    if (town_by < 0) return -1;
    if (village_by == a->user_id || town_by == a->user_id)
        return err_forbidden(e, "参与核查的人员不能签发同一份证明");
    return 0;
}

static const char *status_zh(const char *s) {
    if (!strcmp(s, "requested")) return "待村（社区）核查";
    if (!strcmp(s, "village_checked")) return "待乡镇（街道）核查";
    if (!strcmp(s, "town_checked")) return "待区县签发";
    if (!strcmp(s, "issued")) return "已签发";
    if (!strcmp(s, "refused")) return "未予开具";
    if (!strcmp(s, "revoked")) return "已吊销";
    return s;
}

/* The step that status waits for, or NULL when it waits for none. */
static const char *pending_step(const char *status) {
    if (!strcmp(status, "requested")) return "check_village";
    if (!strcmp(status, "village_checked")) return "check_town";
    if (!strcmp(status, "town_checked")) return "issue";
    return NULL;
}

/* A simple step (not issue) in one transaction. */
static int simple_step(db *d, const proofs_actor *a, int64_t id, const char *action,
                       const char *from, const char *to, const char *note, const char *reason,
                       err *e) {
    if (db_begin(d, e) != 0) return -1;
    json_t *p = proof_row(d, id, e);
    int rc = p ? 0 : -1;
    const char *st = p ? jsonx_str(p, "status") : NULL;
    if (rc == 0 && (!st || strcmp(st, from) != 0))
        rc = err_conflict(e, "status", "证明状态已变为“%s”，请刷新后再试", st ? status_zh(st) : "");
    json_t *before = rc == 0 ? audit_view(p) : NULL;
    char now[32];
    now_iso(now, sizeof(now));
    if (rc == 0 && !strcmp(to, "revoked"))
        rc = db_execf(d, e,
                      "UPDATE proofs SET status = 'revoked', revoked_at = $1, revoke_reason = $2, "
                      "version = version + 1, updated_at = $1 WHERE id = $3",
                      "ssi", now, reason, id);
    else if (rc == 0)
        rc = db_execf(d, e,
                      "UPDATE proofs SET status = $1, version = version + 1, updated_at = $2 "
                      "WHERE id = $3",
                      "ssi", to, now, id);
    if (rc == 0) rc = add_step(d, a, id, action, from, to, reason ? reason : note, e);
    json_t *after = NULL;
    if (rc == 0) {
        json_decref(p);
        p = proof_row(d, id, e);
        if (!p) rc = -1;
    }
    if (rc == 0) {
        after = audit_view(p);
        if (reason) json_object_set_new(after, "reason", json_string(reason));
        rc = audit_step(d, a, id, action, before, after, e);
    }
    if (rc == 0) rc = tell_holder(d, p, to, reason, NULL, e);
    json_decref(before);
    json_decref(after);
    json_decref(p);
    if (rc == 0) rc = db_commit(d, e);
    if (rc != 0) db_rollback(d);
    return rc;
}

/* The statement printed on the PDF and hashed into the signature. */
static char *compose_statement(db *d, json_t *p, const char *id_number, err *e) {
    char town[128], county[64], vname[128] = "";
    const char *town_code = jsonx_str(p, "town_code"), *village = jsonx_str(p, "village_code");
    if (town_names(d, town_code, town, sizeof(town), county, sizeof(county), e) != 0) return NULL;
    if (village) {
        int found;
        if (village_name(d, village, vname, sizeof(vname), &found, e) != 0) return NULL;
    }
    char place[400] = "";
    if (town[0])
        snprintf(place, sizeof(place), "，户籍或居住地在舟山市%s%s%s", county, town, vname);
    char idpart[64] = "";
    if (id_number && *id_number)
        snprintf(idpart, sizeof(idpart), "（公民身份号码：%s）", id_number);
    const char *purpose = jsonx_str(p, "purpose");
    size_t pl = strlen(purpose);
    /* Do not double the full stop the sentence adds. */
    if (pl >= 3 && !strcmp(purpose + pl - 3, "。")) pl -= 3;
    strbuf b;
    strbuf_init(&b, 8192);
    strbuf_printf(&b, "兹证明%s%s%s。\n", jsonx_str(p, "holder_name"), idpart, place);
    strbuf_printf(&b, "%s\n", jsonx_str(p, "details"));
    strbuf_printf(&b, "以上情况经村（社区）、乡镇（街道）核查属实。\n");
    strbuf_printf(&b, "本证明仅用于%.*s。\n", (int)pl, purpose);
    strbuf_puts(&b, "特此证明。");
    return strbuf_detach(&b, NULL);
}

static int issue(db *d, const proofs_actor *a, int64_t id, const char *note,
                 const char *valid_until_in, err *e) {
    json_t *p = proof_row(d, id, e);
    if (!p) return -1;
    int rc = 0;
    const proofs_kind *k = proofs_kind_find(jsonx_str(p, "kind"));
    int64_t version = jsonx_int(p, "version", 0);
    char day[16], valid_until[16], issuer[256], issued_at[24];
    today(day, sizeof(day));
    int64_t now = time_now();
    time_iso(issued_at, sizeof(issued_at), now);
    if (valid_until_in) {
        workcal_date vd;
        char limit[16];
        workcal_date_format(workcal_local_date(now + (int64_t)PROOFS_VALID_DAYS_MAX * 86400), limit,
                            sizeof(limit));
        if (workcal_date_parse(valid_until_in, &vd) != 0 || strlen(valid_until_in) != 10)
            rc = err_invalid(e, "valid_until", "有效期须为 YYYY-MM-DD 格式的日期");
        else if (strcmp(valid_until_in, day) < 0 || strcmp(valid_until_in, limit) > 0)
            rc = err_invalid(e, "valid_until", "有效期须在今天到 %s 之间", limit);
        snprintf(valid_until, sizeof(valid_until), "%s", valid_until_in);
    } else {
        workcal_date_format(workcal_local_date(now + (int64_t)(k ? k->valid_days : 90) * 86400),
                            valid_until, sizeof(valid_until));
    }
    if (rc == 0 && a->department[0]) {
        snprintf(issuer, sizeof(issuer), "%s", a->department);
    } else if (rc == 0) {
        char town[128], county[64];
        rc =
            town_names(d, jsonx_str(p, "town_code"), town, sizeof(town), county, sizeof(county), e);
        county_office(county, issuer, sizeof(issuer));
    }
    /* The holder's ID number, for the statement only. */
    char id_number[24] = "";
    if (rc == 0) {
        json_t *u = auth_user_get(d, jsonx_int(p, "holder_id", 0), 1, e);
        if (!u)
            rc = -1;
        else if (jsonx_str(u, "id_number"))
            snprintf(id_number, sizeof(id_number), "%s", jsonx_str(u, "id_number"));
        json_decref(u);
    }
    char *statement = rc == 0 ? compose_statement(d, p, id_number, e) : NULL;
    if (rc == 0 && !statement) rc = -1;
    proofs_key key;
    memset(&key, 0, sizeof(key));
    if (rc == 0) rc = proofs_key_current(&key, e);
    proofs_fields f;
    memset(&f, 0, sizeof(f));
    char *payload = NULL, *qr = NULL, sig[100] = "";
    if (rc == 0) {
        snprintf(f.proof_no, sizeof(f.proof_no), "%s", jsonx_str(p, "proof_no"));
        snprintf(f.kind, sizeof(f.kind), "%s", jsonx_str(p, "kind"));
        snprintf(f.holder, sizeof(f.holder), "%s", jsonx_str(p, "holder_masked"));
        snprintf(f.issuer, sizeof(f.issuer), "%s", issuer);
        snprintf(f.issued_at, sizeof(f.issued_at), "%s", issued_at);
        snprintf(f.valid_until, sizeof(f.valid_until), "%s", valid_until);
        crypto_sha256_hex(statement, strlen(statement), f.content_sha256);
        snprintf(f.key_id, sizeof(f.key_id), "%s", key.key_id);
        rc = proofs_payload(&f, &payload, e);
    }
    unsigned char *pdf = NULL;
    size_t pdf_len = 0;
    if (rc == 0) {
        proofs_sign(&key, payload, sig, sizeof(sig));
        qr = proofs_qr_text(payload, sig, f.proof_no);
        char verify_path[48];
        snprintf(verify_path, sizeof(verify_path), "/verify/%s", f.proof_no);
        proofs_doc doc = {.title = jsonx_str(p, "title"),
                          .proof_no = f.proof_no,
                          .statement = statement,
                          .issuer = issuer,
                          .issued_at = issued_at,
                          .valid_until = valid_until,
                          .key_id = key.key_id,
                          .qr_text = qr,
                          .verify_path = verify_path};
        rc = proofs_pdf_render(&doc, &pdf, &pdf_len, e);
    }
    files_tmp t;
    memset(&t, 0, sizeof(t));
    t.fd = -1;
    if (rc == 0) rc = files_tmp_open(&t, PROOFS_PDF_MAX, e);
    if (rc == 0) rc = files_tmp_write(&t, pdf, pdf_len, e);
    if (rc == 0) rc = files_tmp_finish(&t, e);
    free(pdf);
    json_decref(p);
    p = NULL;

    /* Now the short write: the proof must be as we read it. */
    int in_tx = 0;
    if (rc == 0) rc = db_begin(d, e);
    if (rc == 0) {
        in_tx = 1;
        p = proof_row(d, id, e);
        if (!p) rc = -1;
    }
    if (rc == 0 && (jsonx_int(p, "version", 0) != version ||
                    strcmp(jsonx_str(p, "status"), "town_checked") != 0))
        rc = err_conflict(e, "status", "证明在签发期间被他人处理，请刷新后再试");
    json_t *before = rc == 0 ? audit_view(p) : NULL;
    if (rc == 0) rc = proofs_key_register(d, &key, e);
    int64_t file_id = 0;
    if (rc == 0) {
        char fname[64];
        snprintf(fname, sizeof(fname), "proof-%s.pdf", f.proof_no);
        files_meta m = {.field = "proof",
                        .filename = fname,
                        .content_type = "application/pdf",
                        .owner_id = jsonx_int(p, "holder_id", 0)};
        rc = files_commit(d, &a->audit, &t, &m, &file_id, e);
    }
    if (rc == 0)
        rc = db_execf(d, e,
                      "UPDATE proofs SET status = 'issued', version = version + 1, issuer = $1, "
                      "statement = $2, content_sha256 = $3, issued_at = $4, valid_until = $5, "
                      "key_id = $6, payload = $7, signature = $8, file_id = $9, updated_at = $4 "
                      "WHERE id = $10 AND version = $11",
                      "ssssssssiii", issuer, statement, f.content_sha256, issued_at, valid_until,
                      key.key_id, payload, sig, file_id, id, version);
    if (rc == 0 && db_changes(d) != 1)
        rc = err_conflict(e, "status", "证明在签发期间被他人处理，请刷新后再试");
    if (rc == 0) rc = add_step(d, a, id, "issue", "town_checked", "issued", note, e);
    if (rc == 0) {
        json_decref(p);
        p = proof_row(d, id, e);
        if (!p) rc = -1;
    }
    if (rc == 0) {
        json_t *after = audit_view(p);
        json_object_set_new(after, "issued_at", json_string(issued_at));
        json_object_set_new(after, "valid_until", json_string(valid_until));
        json_object_set_new(after, "issuer", json_string(issuer));
        json_object_set_new(after, "key_id", json_string(key.key_id));
        json_object_set_new(after, "content_sha256", json_string(f.content_sha256));
        json_object_set_new(after, "file_id", json_integer(file_id));
        rc = audit_step(d, a, id, "issue", before, after, e);
        json_decref(after);
    }
    if (rc == 0) rc = tell_holder(d, p, "issued", NULL, valid_until, e);
    if (rc == 0) rc = db_commit(d, e);
    if (rc != 0 && in_tx) db_rollback(d);
    files_tmp_discard(&t);
    json_decref(before);
    json_decref(p);
    free(statement);
    free(payload);
    free(qr);
    proofs_key_wipe(&key);
    return rc;
}

static int check_note(const char *note, const char *field, int required, err *e) {
    if (!note) {
        if (required) return err_invalid(e, field, "请填写理由（%s）", field);
        return 0;
    }
    if (strlen(note) > PROOFS_REASON_MAX) return err_invalid(e, field, "%s 过长", field);
    if (!clean_text(note, 1)) return err_invalid(e, field, "%s 含有控制字符", field);
    if (required && !non_blank(note)) return err_invalid(e, field, "请填写理由（%s）", field);
    return 0;
}

int proofs_act(db *d, const proofs_actor *a, int64_t id, const char *action, const char *note,
               const char *valid_until, err *e) {
    static const char *const actions[] = {"check_village", "check_town", "issue", "refuse", NULL};
    int known = 0;
    for (int i = 0; actions[i]; i++)
        if (action && !strcmp(actions[i], action)) known = 1;
    if (!known)
        return err_set(e, 404, "not_found", "action",
                       "没有这个操作：%s（check_village、check_town、issue、refuse）",
                       action ? action : "");
    int refuse = !strcmp(action, "refuse");
    if (check_note(note, refuse ? "reason" : "note", refuse, e) != 0) return -1;
    if (valid_until && strcmp(action, "issue") != 0)
        return err_invalid(e, "valid_until", "只有签发时可以指定有效期");
    json_t *p = visible_row(d, a, id, e);
    if (!p) return -1;
    char status[32];
    snprintf(status, sizeof(status), "%s", jsonx_str(p, "status"));
    const char *pending = pending_step(status);
    int rc = 0;
    if (!pending)
        rc = err_conflict(e, "status", "证明已%s，不能再%s", status_zh(status),
                          refuse ? "拒绝" : "办理此步骤");
    else if (!refuse && strcmp(pending, action) != 0)
        rc = err_conflict(e, "status", "证明当前%s，不能执行 %s", status_zh(status), action);
    if (rc == 0) rc = may_step(d, a, p, pending, e);
    json_decref(p);
    if (rc != 0) return -1;
    if (refuse) return simple_step(d, a, id, "refuse", status, "refused", NULL, note, e);
    if (!strcmp(action, "issue")) return issue(d, a, id, note, valid_until, e);
    return simple_step(d, a, id, action, status,
                       !strcmp(action, "check_village") ? "village_checked" : "town_checked", note,
                       NULL, e);
}

int proofs_revoke(db *d, const proofs_actor *a, int64_t id, const char *reason, err *e) {
    if (check_note(reason, "reason", 1, e) != 0) return -1;
    json_t *p = visible_row(d, a, id, e);
    if (!p) return -1;
    int rc = 0;
    const char *st = jsonx_str(p, "status");
    if (!in_scope(a, p))
        rc = err_forbidden(e, "证明由本乡镇（街道）工作人员或区县审批人员吊销");
    else if (strcmp(st, "issued") != 0)
        rc = err_conflict(e, "status", "证明%s，不能吊销", status_zh(st));
    json_decref(p);
    if (rc != 0) return -1;
    return simple_step(d, a, id, "revoke", "issued", "revoked", NULL, reason, e);
}

int proofs_pdf_get(db *d, const proofs_actor *a, int64_t id, unsigned char **out, size_t *len,
                   char *name, size_t name_n, err *e) {
    *out = NULL;
    *len = 0;
    json_t *p = visible_row(d, a, id, e);
    if (!p) return -1;
    int64_t file_id = jsonx_int(p, "file_id", 0);
    snprintf(name, name_n, "proof-%s.pdf", jsonx_str(p, "proof_no"));
    json_decref(p);
    if (!file_id) return err_set(e, 409, "conflict", "status", "证明尚未签发，没有 PDF");
    json_t *f = files_get(d, file_id, e);
    if (!f) return -1;
    char sha[65], path[600];
    snprintf(sha, sizeof(sha), "%s", jsonx_str(f, "sha256") ? jsonx_str(f, "sha256") : "");
    json_decref(f);
    snprintf(path, sizeof(path), "%s/%.2s/%s", files_dir(), sha, sha);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return err_internal(e, "the proof's PDF is missing from the files store");
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size > PROOFS_PDF_MAX) {
        close(fd);
        return err_internal(e, "the proof's PDF has an unexpected size");
    }
    unsigned char *buf = malloc((size_t)st.st_size);
    if (!buf) abort();
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    char hex[65];
    if (got == (size_t)st.st_size) crypto_sha256_hex(buf, got, hex);
    if (got != (size_t)st.st_size || strcmp(hex, sha) != 0) {
        free(buf);
        return err_internal(e, "the proof's PDF in the files store does not match its hash");
    }
    *out = buf;
    *len = got;
    return 0;
}

json_t *proofs_revoked_list(db *d, int limit, int offset, err *e) {
    if (limit <= 0 || limit > 1000) limit = 100;
    if (offset < 0) offset = 0;
    int64_t total = 0;
    if (db_query_int(d, e, &total, "SELECT COUNT(*) FROM proofs WHERE status = 'revoked'", "") < 0)
        return NULL;
    db_stmt *s = db_query(d, e,
                          "SELECT proof_no, revoked_at FROM proofs WHERE status = 'revoked' "
                          "ORDER BY revoked_at DESC, id DESC LIMIT $1 OFFSET $2",
                          "ii", (int64_t)limit, (int64_t)offset);
    json_t *items = s ? db_rows_json(s, (size_t)limit, e) : NULL;
    if (!items) return NULL;
    return json_pack("{s:o, s:I}", "items", items, "total", (json_int_t)total);
}

json_t *proofs_keys_json(db *d, err *e) {
    db_stmt *s = db_query(d, e,
                          "SELECT key_id, public_key, created_at, retired_at FROM proof_keys "
                          "ORDER BY created_at, key_id",
                          "");
    json_t *items = s ? db_rows_json(s, 1000, e) : NULL;
    if (!items) return NULL;
    size_t i;
    json_t *k;
    json_array_foreach(items, i, k) {
        unsigned char pk[32];
        char pem[160];
        if (proofs_pubkey_parse(jsonx_str(k, "public_key"), pk) == 0)
            json_object_set_new(k, "pem", json_string(proofs_pubkey_pem(pk, pem, sizeof(pem))));
    }
    return json_pack("{s:o, s:s}", "items", items, "algorithm", "Ed25519");
}
