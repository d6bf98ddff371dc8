/* settings: who does not want non-essential SMS — the user's own choice
 * (notification_settings) and phones that replied TD through the gateway
 * (sms_optouts) — and the inbound-SMS callback that records the latter.
 *
 * The policy (notify.h): essential templates ignore both; everything else is
 * not written to the outbox (notify_send) and, when already queued, turns
 * 'suppressed' at its claim (sender.c). Every change of either table is one
 * transaction with its audit row. Phones appear in the audit trail masked. */
#include "notify/notify.h"
#include "base/jsonx.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "notify/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int notify_opted_out(db *d, int64_t user_id, const char *phone, err *e) {
    int64_t v = 0;
    if (user_id > 0) {
        int rc = db_query_int(d, e, &v,
                              "SELECT sms_optional FROM notification_settings WHERE user_id = $1",
                              "i", user_id);
        if (rc < 0) return -1;
        if (rc == 0 && v == 0) return 1;
    }
    if (phone && *phone) {
        int rc = db_query_int(d, e, &v, "SELECT 1 FROM sms_optouts WHERE phone = $1", "s", phone);
        if (rc < 0) return -1;
        if (rc == 0) return 1;
    }
    return 0;
}

/* The account's phone, normalised, into out ("" when none or unusable); 404 when the
 * user does not exist. */
static int user_phone(db *d, int64_t user_id, char *out, size_t n, err *e) {
    out[0] = '\0';
    db_stmt *s = db_query(d, e, "SELECT phone FROM users WHERE id = $1", "i", user_id);
    if (!s) return -1;
    int rc = 0, st = db_step(s);
    if (st == DB_ROW) {
        const char *p = db_column_text(s, 0);
        if (p && notify_phone_normalize(p, out, n, NULL) != 0) out[0] = '\0';
    } else if (st == DB_DONE) {
        rc = err_notfound(e, "没有这个用户");
    } else {
        rc = err_internal(e, "%s", db_errmsg(d));
    }
    db_reset(s);
    return rc;
}

/* {sms_optional, phone_opted_out} of a user, read in the caller's transaction. */
static json_t *state(db *d, int64_t user_id, const char *phone, err *e) {
    int64_t optional = 1, one = 0;
    int rc = db_query_int(d, e, &optional,
                          "SELECT sms_optional FROM notification_settings WHERE user_id = $1", "i",
                          user_id);
    if (rc < 0) return NULL;
    if (rc == 1) optional = 1;
    int td = 0;
    if (phone[0]) {
        rc = db_query_int(d, e, &one, "SELECT 1 FROM sms_optouts WHERE phone = $1", "s", phone);
        if (rc < 0) return NULL;
        td = rc == 0;
    }
    return json_pack("{s:b, s:b}", "sms_optional", optional != 0, "phone_opted_out", td);
}

json_t *notify_settings_get(db *d, int64_t user_id, err *e) {
    char phone[32];
    if (user_phone(d, user_id, phone, sizeof(phone), e) != 0) return NULL;
    json_t *out = state(d, user_id, phone, e);
    if (!out) return NULL;
    json_t *templates = notify_templates_json(e);
    if (!templates) {
        json_decref(out);
        return NULL;
    }
    char masked[32];
    json_object_set_new(out, "phone",
                        phone[0] ? json_string(notify_mask_phone(phone, masked, sizeof(masked)))
                                 : json_null());
    json_object_set_new(out, "templates", templates);
    return out;
}

int notify_settings_set(db *d, const audit_actor *actor, int64_t user_id, int sms_optional,
                        json_t **out, err *e) {
    if (out) *out = NULL;
    if (sms_optional != 0 && sms_optional != 1)
        return err_invalid(e, "sms_optional", "sms_optional 须为 true 或 false");
    char now[32], phone[32];
    time_iso(now, sizeof(now), time_now());
    if (db_begin(d, e) != 0) return -1;
    json_t *before = NULL, *after = NULL;
    int rc = user_phone(d, user_id, phone, sizeof(phone), e);
    if (rc == 0) {
        before = state(d, user_id, phone, e);
        if (!before) rc = -1;
    }
    if (rc == 0)
        rc = db_execf(d, e,
                      "INSERT INTO notification_settings (user_id, sms_optional, updated_at) "
                      "VALUES ($1, $2, $3) ON CONFLICT (user_id) DO UPDATE SET "
                      "sms_optional = excluded.sms_optional, updated_at = excluded.updated_at",
                      "iis", user_id, (int64_t)sms_optional, now);
    /* Saying yes again, logged in as the holder, outweighs an earlier TD reply. */
    if (rc == 0 && sms_optional && phone[0])
        rc = db_execf(d, e, "DELETE FROM sms_optouts WHERE phone = $1", "s", phone);
    if (rc == 0) {
        after = state(d, user_id, phone, e);
        if (!after) rc = -1;
    }
    if (rc == 0 && !json_equal(before, after)) {
        char id[32];
        snprintf(id, sizeof(id), "%lld", (long long)user_id);
        rc = audit_record(d, actor, "notify.settings", "user", id, before, after, e);
    }
    json_decref(before);
    json_decref(after);
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    if (out) {
        *out = notify_settings_get(d, user_id, e);
        if (!*out) return -1;
    }
    return 0;
}

/* The reply text as a keyword: full-width ASCII folded to ASCII, spaces (ASCII and
 * U+3000) dropped, upper case, a final ., !, 。 or ！ dropped. */
static void keyword(const char *text, char *out, size_t n) {
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)text;
    while (*p && o + 4 < n) {
        if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
            p++;
        } else if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) { /* U+3000 */
            p += 3;
        } else if (p[0] == 0xEF && (p[1] == 0xBC || p[1] == 0xBD) && p[2] >= 0x80 && p[2] <= 0xBF) {
            /* U+FF01..U+FF5E → '!'..'~' */
            unsigned cp = ((unsigned)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
            cp |= 0xF000;
            if (cp >= 0xFF01 && cp <= 0xFF5E) {
                char c = (char)(cp - 0xFF01 + '!');
                out[o++] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
            } else {
                memcpy(out + o, p, 3);
                o += 3;
            }
            p += 3;
        } else {
            char c = (char)*p++;
            out[o++] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
        }
    }
    out[o] = '\0';
    static const char *tails[] = {"。", "！", ".", "!"};
    for (size_t i = 0; i < sizeof(tails) / sizeof(tails[0]); i++) {
        size_t tl = strlen(tails[i]);
        if (o >= tl && memcmp(out + o - tl, tails[i], tl) == 0) {
            o -= tl;
            out[o] = '\0';
            break;
        }
    }
}

static int is_optout_keyword(const char *kw) {
    static const char *words[] = {"TD", "T", "退订", "STOP", "UNSUBSCRIBE"};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strcmp(kw, words[i]) == 0) return 1;
    return 0;
}

json_t *notify_inbound_apply(db *d, const audit_actor *actor, json_t *body, err *e) {
    static const jsonx_field spec[] = {{"phone", JX_STRING, 1, 40},
                                       {"text", JX_STRING, 1, 1000},
                                       {"id", JX_STRING, 0, 160},
                                       {NULL, JX_ANY, 0, 0}};
    if (!json_is_object(body)) {
        err_invalid(e, "", "请求体须为 JSON 对象");
        return NULL;
    }
    if (jsonx_check(body, spec, e) != 0) return NULL;
    char phone[32], kw[64];
    if (notify_phone_normalize(jsonx_str(body, "phone"), phone, sizeof(phone), e) != 0) return NULL;
    keyword(jsonx_str(body, "text"), kw, sizeof(kw));
    if (!is_optout_keyword(kw)) return json_pack("{s:s}", "action", "none");
    char now[32], masked[32];
    time_iso(now, sizeof(now), time_now());
    notify_mask_phone(phone, masked, sizeof(masked));
    if (db_begin(d, e) != 0) return NULL;
    int rc = db_execf(d, e,
                      "INSERT INTO sms_optouts (phone, source, keyword, created_at) "
                      "VALUES ($1, 'reply', $2, $3) ON CONFLICT (phone) DO NOTHING",
                      "sss", phone, kw, now);
    int added = rc == 0 && db_changes(d) > 0;
    if (rc == 0 && added) {
        json_t *after =
            json_pack("{s:s, s:s, s:s}", "phone", masked, "source", "reply", "keyword", kw);
        rc = audit_record(d, actor, "notify.sms_optout", "sms_optout", masked, NULL, after, e);
        json_decref(after);
    }
    if (rc != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return NULL;
    }
    if (added) log_info("notify: %s opted out of non-essential SMS (%s)", masked, kw);
    return json_pack("{s:s}", "action", added ? "opted_out" : "already_opted_out");
}
