/* ocds: OCDS 1.1.5 release packages of the tenders (see ocds.h). */
#include "trade/ocds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonx.h"
#include "base/timeutil.h"
#include "trade/auction.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))
#define PAGE       256

int ocds_prefix_valid(const char *p) {
    if (!p || !*p || strlen(p) > OCDS_PREFIX_MAX) return 0;
    for (; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-'))
            return 0;
    return 1;
}

const char *ocds_prefix(const char *o) {
    if (o && *o) return o;
    const char *env = getenv("ISLE_OCDS_PREFIX");
    return env && *env ? env : OCDS_PREFIX_DEFAULT;
}

int ocds_since(const char *s, char *buf, size_t n, err *e) {
    int64_t t;
    char tmp[40];
    if (!s || strlen(s) > 30)
        return err_invalid(e, "since", "since 须为日期 YYYY-MM-DD 或 ISO-8601 时间");
    if (strlen(s) == 10) {
        snprintf(tmp, sizeof(tmp), "%sT00:00:00Z", s);
        s = tmp;
    }
    if (time_parse_iso(s, &t) != 0)
        return err_invalid(e, "since", "since 须为日期 YYYY-MM-DD 或 ISO-8601 时间");
    time_iso(buf, n, t);
    return 0;
}

/* ---- small builders ---- */

static json_t *money(int64_t fen) {
    json_t *v = json_object();
    json_object_set_new(v, "amount", json_real((double)fen / 100.0));
    json_object_set_new(v, "currency", json_string("CNY"));
    return v;
}

/* Stored times are ISO-8601 UTC; OCDS wants date-time: normalise (drop milliseconds
 * and the space form). NULL when absent or unreadable. */
static json_t *when(const char *s) {
    int64_t t;
    char buf[32];
    if (!s || !*s || time_parse_iso(s, &t) != 0) return NULL;
    return json_string(time_iso(buf, sizeof(buf), t));
}

static void set_when(json_t *o, const char *key, const char *s) {
    json_t *v = when(s);
    if (v) json_object_set_new(o, key, v);
}

static const char *text_col(db_stmt *s, int col) {
    const char *v = db_column_text(s, col);
    return v ? v : "";
}

/* The parties of one release, by id (companies: "CN-USCC-<uscc>"). */
static json_t *party_find(json_t *parties, const char *id) {
    size_t i;
    json_t *p;
    json_array_foreach(parties, i, p) {
        if (!strcmp(json_string_value(json_object_get(p, "id")), id)) return p;
    }
    return NULL;
}

static void party_role(json_t *p, const char *role) {
    json_t *roles = json_object_get(p, "roles");
    size_t i;
    json_t *r;
    json_array_foreach(roles, i, r) {
        if (!strcmp(json_string_value(r), role)) return;
    }
    json_array_append_new(roles, json_string(role));
}

/* Add (or extend) a company party; returns a new OrganizationReference. */
static json_t *company_party(json_t *parties, const char *uscc, const char *name,
                             const char *role) {
    char id[64];
    snprintf(id, sizeof(id), "CN-USCC-%s", uscc);
    json_t *p = party_find(parties, id);
    if (!p) {
        p = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:[]}", "id", id, "name", name, "identifier",
                      "scheme", "CN-USCC", "id", uscc, "legalName", name, "roles");
        json_array_append_new(parties, p);
    }
    party_role(p, role);
    return json_pack("{s:s,s:s}", "id", id, "name", name);
}

static json_t *stat(int *n, const char *measure, double value, int is_money) {
    char id[16];
    snprintf(id, sizeof(id), "%d", ++*n);
    json_t *s = json_pack("{s:s,s:s}", "id", id, "measure", measure);
    if (is_money) {
        json_object_set_new(s, "value", json_real(value));
        json_object_set_new(s, "currency", json_string("CNY"));
    } else {
        json_object_set_new(s, "value", json_integer((json_int_t)value));
    }
    return s;
}

/* The price range (fen; -1: none) after the counts in stats, then the release's bids
 * block (takes stats and details) and the tender's numberOfTenderers. */
static void bids_block(json_t *rel, json_t *tender, json_t *stats, int *n, json_t *details,
                       int64_t lo, int64_t hi, int64_t tenderers) {
    if (lo >= 0) json_array_append_new(stats, stat(n, "lowestValidBidValue", lo / 100.0, 1));
    if (hi >= 0) json_array_append_new(stats, stat(n, "highestValidBidValue", hi / 100.0, 1));
    json_object_set_new(rel, "bids",
                        json_pack("{s:o,s:o}", "statistics", stats, "details", details));
    json_object_set_new(tender, "numberOfTenderers", json_integer(tenderers));
}

/* ---- the release ---- */

typedef struct row {
    int64_t id, budget_fen, reserve_fen, award_bid_id, award_company_id, award_fen, contract_fen,
        version;
    int has_budget, has_reserve, has_award, has_contract;
    char tender_no[40], kind[16], method[20], status[16];
    char *title, *buyer, *agency, *description, *lots, *announce_at, *deadline_at, *awarded_at,
        *contract_no, *contracted_at, *updated_at, *created_at, *failed_reason, *cancelled_reason;
} row;

static void row_free(row *r) {
    char **f[] = {&r->title,         &r->buyer,           &r->agency,      &r->description,
                  &r->lots,          &r->announce_at,     &r->deadline_at, &r->awarded_at,
                  &r->contract_no,   &r->contracted_at,   &r->updated_at,  &r->created_at,
                  &r->failed_reason, &r->cancelled_reason};
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        free(*f[i]);
        *f[i] = NULL;
    }
}

static char *dup_col(db_stmt *s, int col) {
    const char *v = db_column_text(s, col);
    return v ? strdup(v) : NULL;
}

static int row_load(db *d, int64_t id, row *r, err *e) {
    memset(r, 0, sizeof(*r));
    db_stmt *s = db_query(
        d, e,
        "SELECT id, tender_no, kind, method, status, title, buyer, agency, description, lots, "
        "budget_fen, reserve_fen, announce_at, deadline_at, award_bid_id, award_company_id, "
        "award_fen, awarded_at, contract_no, contract_fen, contracted_at, updated_at, created_at, "
        "version, failed_reason, cancelled_reason FROM tenders WHERE id = $1",
        "i", id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        r->id = db_column_int64(s, 0);
        snprintf(r->tender_no, sizeof(r->tender_no), "%s", text_col(s, 1));
        snprintf(r->kind, sizeof(r->kind), "%s", text_col(s, 2));
        snprintf(r->method, sizeof(r->method), "%s", text_col(s, 3));
        snprintf(r->status, sizeof(r->status), "%s", text_col(s, 4));
        r->title = dup_col(s, 5);
        r->buyer = dup_col(s, 6);
        r->agency = dup_col(s, 7);
        r->description = dup_col(s, 8);
        r->lots = dup_col(s, 9);
        r->has_budget = db_column_type(s, 10) != DB_NULL;
        r->budget_fen = db_column_int64(s, 10);
        r->has_reserve = db_column_type(s, 11) != DB_NULL;
        r->reserve_fen = db_column_int64(s, 11);
        r->announce_at = dup_col(s, 12);
        r->deadline_at = dup_col(s, 13);
        r->award_bid_id = db_column_int64(s, 14);
        r->award_company_id = db_column_int64(s, 15);
        r->has_award = db_column_type(s, 16) != DB_NULL;
        r->award_fen = db_column_int64(s, 16);
        r->awarded_at = dup_col(s, 17);
        r->contract_no = dup_col(s, 18);
        r->has_contract = db_column_type(s, 19) != DB_NULL;
        r->contract_fen = db_column_int64(s, 19);
        r->contracted_at = dup_col(s, 20);
        r->updated_at = dup_col(s, 21);
        r->created_at = dup_col(s, 22);
        r->version = db_column_int64(s, 23);
        r->failed_reason = dup_col(s, 24);
        r->cancelled_reason = dup_col(s, 25);
    }
    db_reset(s);
    if (rc == DB_ERROR) return err_internal(e, "读取项目失败");
    if (rc != DB_ROW || !strcmp(r->status, "draft")) {
        row_free(r);
        return err_notfound(e, "项目不存在");
    }
    return 0;
}

static const char *tender_status(const char *s) {
    if (!strcmp(s, "announced") || !strcmp(s, "opening") || !strcmp(s, "evaluation") ||
        !strcmp(s, "publicity") || !strcmp(s, "auction"))
        return "active";
    if (!strcmp(s, "awarded") || !strcmp(s, "contracted")) return "complete";
    if (!strcmp(s, "cancelled")) return "cancelled";
    if (!strcmp(s, "failed")) return "unsuccessful";
    return "planning";
}

static int is_auction(const row *r) {
    return !strcmp(r->method, "auction");
}

/* Whether bids may be published: after the opening (sealed bids) or after 挂牌
 * (auctions). Never for a tender cancelled before either. */
static int bids_public(const row *r) {
    if (is_auction(r))
        return !strcmp(r->status, "auction") || !strcmp(r->status, "awarded") ||
               !strcmp(r->status, "contracted") || !strcmp(r->status, "failed");
    return trade_status_bids_public(r->status);
}

static int amendments(db *d, const row *r, const char *ocid, json_t *tender, int *count, err *e) {
    *count = 0;
    db_stmt *s =
        db_query(d, e,
                 "SELECT id, title, body, created_at FROM tender_notices WHERE tender_id = "
                 "$1 AND kind IN ('amendment', 'clarification') ORDER BY id",
                 "i", r->id);
    if (!s) return -1;
    json_t *arr = json_array();
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        char id[48];
        snprintf(id, sizeof(id), "notice-%lld", (long long)db_column_int64(s, 0));
        json_t *a = json_pack("{s:s,s:s,s:s}", "id", id, "rationale", text_col(s, 1), "description",
                              text_col(s, 2));
        set_when(a, "date", db_column_text(s, 3));
        json_array_append_new(arr, a);
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(arr);
        return err_internal(e, "读取公告失败");
    }
    (void)ocid;
    *count = (int)json_array_size(arr);
    if (*count)
        json_object_set_new(tender, "amendments", arr);
    else
        json_decref(arr);
    return 0;
}

static void add_lots(const row *r, json_t *tender) {
    json_t *lots = r->lots ? json_loads(r->lots, 0, NULL) : NULL;
    if (!json_is_array(lots) || !json_array_size(lots)) {
        json_decref(lots);
        return;
    }
    json_t *out = json_array();
    size_t i;
    json_t *l;
    json_array_foreach(lots, i, l) {
        if (!json_is_object(l)) continue;
        char id[24];
        json_t *no = json_object_get(l, "no");
        snprintf(id, sizeof(id), "%lld",
                 json_is_integer(no) ? (long long)json_integer_value(no) : (long long)(i + 1));
        json_t *lot = json_pack("{s:s}", "id", id);
        const char *name = jsonx_str(l, "name");
        if (name) json_object_set_new(lot, "title", json_string(name));
        json_t *b = json_object_get(l, "budget_fen");
        if (json_is_integer(b)) json_object_set_new(lot, "value", money(json_integer_value(b)));
        json_array_append_new(out, lot);
    }
    json_decref(lots);
    json_object_set_new(tender, "lots", out);
}

/* Sealed bids once revealed at the opening (唱标): sealed, replaced and withdrawn
 * ones are never listed. */
static int sealed_bids(db *d, const row *r, json_t *parties, json_t *rel, json_t *tender, err *e) {
    db_stmt *s = db_query(
        d, e,
        "SELECT b.id, b.status, b.submitted_at, b.price_fen, c.uscc, c.name, tr.valid, tr.rank "
        "FROM bids b JOIN trade_companies c ON c.id = b.company_id LEFT JOIN tender_results tr "
        "ON tr.tender_id = b.tender_id AND tr.bid_id = b.id WHERE b.tender_id = $1 AND b.status "
        "IN ('opened', 'not_decrypted', 'invalid') ORDER BY b.id",
        "i", r->id);
    if (!s) return -1;
    json_t *details = json_array();
    int64_t nbids = 0, nvalid = 0, lo = -1, hi = -1;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        const char *st = text_col(s, 1);
        const char *status = "disqualified"; /* invalid, not_decrypted */
        if (!strcmp(st, "opened"))
            status = db_column_type(s, 6) != DB_NULL && !db_column_int64(s, 6) ? "disqualified"
                                                                               : "valid";
        char id[32];
        snprintf(id, sizeof(id), "bid-%lld", (long long)db_column_int64(s, 0));
        json_t *b = json_pack("{s:s}", "id", id);
        set_when(b, "date", db_column_text(s, 2));
        json_object_set_new(b, "status", json_string(status));
        json_object_set_new(
            b, "tenderers",
            json_pack("[o]", company_party(parties, text_col(s, 4), text_col(s, 5), "tenderer")));
        if (db_column_type(s, 3) != DB_NULL) {
            int64_t p = db_column_int64(s, 3);
            json_object_set_new(b, "value", money(p));
            if (!strcmp(status, "valid")) {
                if (lo < 0 || p < lo) lo = p;
                if (hi < 0 || p > hi) hi = p;
            }
        }
        if (db_column_type(s, 7) != DB_NULL) {
            json_object_set_new(b, "hasRank", json_true());
            json_object_set_new(b, "rank", json_integer(db_column_int64(s, 7)));
        }
        nbids++;
        if (!strcmp(status, "valid")) nvalid++;
        json_array_append_new(details, b);
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(details);
        return err_internal(e, "读取投标失败");
    }
    /* Nothing revealed yet (the hall is before 唱标, or the tender failed before any
     * opening): publish nothing about the bids, not even their number. */
    if (!nbids && (!strcmp(r->status, "opening") || !strcmp(r->status, "failed"))) {
        json_decref(details);
        return 0;
    }
    int n = 0;
    json_t *stats = json_array();
    json_array_append_new(stats, stat(&n, "bids", (double)nbids, 0));
    json_array_append_new(stats, stat(&n, "bidders", (double)nbids, 0));
    json_array_append_new(stats, stat(&n, "validBids", (double)nvalid, 0));
    bids_block(rel, tender, stats, &n, details, lo, hi, nbids);
    return 0;
}

/* Auction offers after 挂牌: by 竞买号; companies named only after the result. */
static int auction_bids(db *d, const row *r, json_t *parties, json_t *rel, json_t *tender, err *e) {
    int named = !strcmp(r->status, "awarded") || !strcmp(r->status, "contracted");
    db_stmt *s = db_query(
        d, e,
        "SELECT b.id, b.at, b.amount_fen, " AUCTION_BIDDER_NO_SQL ", c.uscc, c.name, b.phase "
        "FROM auction_bids "
        "b JOIN trade_companies c ON c.id = b.company_id LEFT JOIN auction_bidders n ON "
        "n.tender_id = b.tender_id AND n.company_id = b.company_id WHERE b.tender_id = $1 ORDER "
        "BY b.id",
        "i", r->id);
    if (!s) return -1;
    json_t *details = json_array();
    int64_t nbids = 0, hi = -1, lo = -1;
    int rc;
    while ((rc = db_step(s)) == DB_ROW) {
        char id[32], no[24];
        snprintf(id, sizeof(id), "auction-%lld", (long long)db_column_int64(s, 0));
        snprintf(no, sizeof(no), "%lld", (long long)db_column_int64(s, 3));
        int64_t amount = db_column_int64(s, 2);
        json_t *b = json_pack("{s:s}", "id", id);
        set_when(b, "date", db_column_text(s, 1));
        json_object_set_new(b, "status", json_string("valid"));
        json_object_set_new(b, "identifiers",
                            json_pack("[{s:s,s:s}]", "scheme", "ISLE-BIDDER-NO", "id", no));
        json_object_set_new(
            b, "description",
            json_string(!strcmp(text_col(s, 6), "listing") ? "挂牌报价" : "竞价出价"));
        if (named)
            json_object_set_new(b, "tenderers",
                                json_pack("[o]", company_party(parties, text_col(s, 4),
                                                               text_col(s, 5), "tenderer")));
        json_object_set_new(b, "value", money(amount));
        if (hi < 0 || amount > hi) hi = amount;
        if (lo < 0 || amount < lo) lo = amount;
        nbids++;
        json_array_append_new(details, b);
    }
    db_reset(s);
    if (rc == DB_ERROR) {
        json_decref(details);
        return err_internal(e, "读取竞价失败");
    }
    int64_t bidders = 0;
    if (db_query_int(d, e, &bidders,
                     "SELECT COUNT(DISTINCT company_id) FROM auction_bids WHERE tender_id = $1",
                     "i", r->id) < 0) {
        json_decref(details);
        return -1;
    }
    int n = 0;
    json_t *stats = json_array();
    json_array_append_new(stats, stat(&n, "bids", (double)nbids, 0));
    json_array_append_new(stats, stat(&n, "validBids", (double)nbids, 0));
    json_array_append_new(stats, stat(&n, "bidders", (double)bidders, 0));
    bids_block(rel, tender, stats, &n, details, lo, hi, bidders);
    return 0;
}

static int company_of(db *d, int64_t id, char *uscc, size_t un, char *name, size_t nn, err *e) {
    db_stmt *s = db_query(d, e, "SELECT uscc, name FROM trade_companies WHERE id = $1", "i", id);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        snprintf(uscc, un, "%s", text_col(s, 0));
        snprintf(name, nn, "%s", text_col(s, 1));
    }
    db_reset(s);
    return rc == DB_ROW ? 0 : err_internal(e, "中标企业不存在");
}

json_t *ocds_release(db *d, const char *prefix, int64_t tender_id, err *e) {
    row r;
    if (row_load(d, tender_id, &r, e) != 0) return NULL;
    char ocid[OCDS_PREFIX_MAX + 48], rid[OCDS_PREFIX_MAX + 80];
    snprintf(ocid, sizeof(ocid), "%s-%s", ocds_prefix(prefix), r.tender_no);
    snprintf(rid, sizeof(rid), "%s-v%lld", ocid, (long long)r.version);
    json_t *rel = json_object(), *parties = json_array(), *tender = json_object();
    json_object_set_new(rel, "ocid", json_string(ocid));
    json_object_set_new(rel, "id", json_string(rid));
    json_t *date = when(r.updated_at);
    json_object_set_new(rel, "date", date ? date : when(r.created_at));
    json_t *tag = json_array(); /* filled from the status below; kept near the top */
    json_object_set_new(rel, "tag", tag);
    json_object_set_new(rel, "language", json_string("zh"));
    json_object_set_new(rel, "initiationType", json_string("tender"));

    /* Buyer and procuring entity (the agency when there is one). */
    json_array_append_new(parties, json_pack("{s:s,s:s,s:[s]}", "id", "buyer", "name",
                                             r.buyer ? r.buyer : "", "roles", "buyer"));
    json_t *pe;
    if (r.agency && *r.agency) {
        json_array_append_new(parties, json_pack("{s:s,s:s,s:[s]}", "id", "agency", "name",
                                                 r.agency, "roles", "procuringEntity"));
        pe = json_pack("{s:s,s:s}", "id", "agency", "name", r.agency);
    } else {
        party_role(party_find(parties, "buyer"), "procuringEntity");
        pe = json_pack("{s:s,s:s}", "id", "buyer", "name", r.buyer ? r.buyer : "");
    }
    json_object_set_new(rel, "buyer",
                        json_pack("{s:s,s:s}", "id", "buyer", "name", r.buyer ? r.buyer : ""));

    /* The tender. */
    json_object_set_new(tender, "id", json_string(r.tender_no));
    json_object_set_new(tender, "title", json_string(r.title ? r.title : ""));
    if (r.description && *r.description)
        json_object_set_new(tender, "description", json_string(r.description));
    json_object_set_new(tender, "status", json_string(tender_status(r.status)));
    json_object_set_new(tender, "procuringEntity", pe);
    if (trade_kind_is_sale(r.kind)) {
        if (r.has_reserve) json_object_set_new(tender, "minValue", money(r.reserve_fen));
    } else if (r.has_budget) {
        json_object_set_new(tender, "value", money(r.budget_fen));
    }
    json_object_set_new(tender, "procurementMethod", json_string("open"));
    char details[160];
    snprintf(details, sizeof(details), "%s（%s）", trade_method_label(r.method),
             trade_kind_label(r.kind));
    json_object_set_new(tender, "procurementMethodDetails", json_string(details));
    if (!strcmp(r.kind, "works"))
        json_object_set_new(tender, "mainProcurementCategory", json_string("works"));
    else if (!strcmp(r.kind, "procurement"))
        json_object_set_new(tender, "mainProcurementCategory", json_string("goods"));
    json_object_set_new(tender, "submissionMethod", json_pack("[s]", "electronicSubmission"));
    json_t *tp = json_object();
    set_when(tp, "startDate", r.announce_at);
    set_when(tp, "endDate", r.deadline_at);
    json_object_set_new(tender, "tenderPeriod", tp);
    if (bids_public(&r) && strcmp(r.status, "cancelled") != 0) {
        json_t *ap = json_object();
        set_when(ap, "startDate", r.deadline_at);
        if (r.awarded_at) set_when(ap, "endDate", r.awarded_at);
        json_object_set_new(tender, "awardPeriod", ap);
    }
    add_lots(&r, tender);
    int namend = 0;
    if (amendments(d, &r, ocid, tender, &namend, e) != 0) goto fail;
    if (!strcmp(r.status, "failed") && r.failed_reason && *r.failed_reason)
        json_object_set_new(tender, "statusDetails", json_string(r.failed_reason));
    if (!strcmp(r.status, "cancelled") && r.cancelled_reason && *r.cancelled_reason)
        json_object_set_new(tender, "statusDetails", json_string(r.cancelled_reason));

    /* Bids: only once they are public (secrecy before the opening). */
    if (bids_public(&r)) {
        if ((is_auction(&r) ? auction_bids(d, &r, parties, rel, tender, e)
                            : sealed_bids(d, &r, parties, rel, tender, e)) != 0)
            goto fail;
    }

    /* Award and contract. */
    int awarded =
        (!strcmp(r.status, "awarded") || !strcmp(r.status, "contracted")) && r.award_company_id;
    if (awarded) {
        char uscc[40], name[TRADE_NAME_MAX + 1], aid[48];
        if (company_of(d, r.award_company_id, uscc, sizeof(uscc), name, sizeof(name), e) != 0)
            goto fail;
        snprintf(aid, sizeof(aid), "award-%lld", (long long)r.id);
        json_t *aw = json_pack("{s:s,s:s,s:s}", "id", aid, "title", r.title ? r.title : "",
                               "status", "active");
        set_when(aw, "date", r.awarded_at);
        if (r.has_award) json_object_set_new(aw, "value", money(r.award_fen));
        json_object_set_new(aw, "suppliers",
                            json_pack("[o]", company_party(parties, uscc, name, "supplier")));
        if (r.award_bid_id) {
            char bid[32];
            snprintf(bid, sizeof(bid), "bid-%lld", (long long)r.award_bid_id);
            json_object_set_new(aw, "relatedBids", json_pack("[s]", bid));
        }
        json_object_set_new(rel, "awards", json_pack("[o]", aw));
        if (!strcmp(r.status, "contracted")) {
            char cid[80];
            if (r.contract_no && *r.contract_no)
                snprintf(cid, sizeof(cid), "%s", r.contract_no);
            else
                snprintf(cid, sizeof(cid), "contract-%lld", (long long)r.id);
            json_t *c = json_pack("{s:s,s:s,s:s,s:s}", "id", cid, "awardID", aid, "title",
                                  r.title ? r.title : "", "status", "active");
            if (r.has_contract) json_object_set_new(c, "value", money(r.contract_fen));
            set_when(c, "dateSigned", r.contracted_at);
            json_object_set_new(rel, "contracts", json_pack("[o]", c));
        }
    }

    /* Tags from the status. */
    if (!strcmp(r.status, "announced"))
        json_array_append_new(tag, json_string(namend ? "tenderAmendment" : "tender"));
    else if (!strcmp(r.status, "cancelled"))
        json_array_append_new(tag, json_string("tenderCancellation"));
    else if (!strcmp(r.status, "contracted")) {
        json_array_append_new(tag, json_string("award"));
        json_array_append_new(tag, json_string("contract"));
    } else if (awarded)
        json_array_append_new(tag, json_string("award"));
    else
        json_array_append_new(tag, json_string("tenderUpdate"));
    json_object_set_new(rel, "parties", parties);
    json_object_set_new(rel, "tender", tender);
    row_free(&r);
    return rel;
fail:
    json_decref(rel);
    json_decref(parties);
    json_decref(tender);
    row_free(&r);
    return NULL;
}

/* ---- the package ---- */

static int put(ocds_write_fn w, void *arg, const char *s, err *e) {
    return w(arg, s, strlen(s), e);
}

int ocds_write_package(db *d, const ocds_opts *o, ocds_write_fn w, void *arg, int64_t *count,
                       int *more, err *e) {
    if (count) *count = 0;
    if (more) *more = 0;
    const char *prefix = ocds_prefix(o->prefix);
    if (!ocds_prefix_valid(prefix))
        return err_invalid(e, "prefix", "ocid 前缀须为 1–64 位字母、数字或连字符");
    char since[40] = "";
    if (o->since && *o->since && ocds_since(o->since, since, sizeof(since), e) != 0) return -1;
    char uri[1024];
    if (o->uri && *o->uri) {
        snprintf(uri, sizeof(uri), "%s", o->uri);
    } else {
        const char *base = getenv("ISLE_PUBLIC_URL");
        if (!base || !*base) base = "http://127.0.0.1:8080";
        size_t bl = strlen(base);
        while (bl && base[bl - 1] == '/')
            bl--;
        snprintf(uri, sizeof(uri), "%.*s/api/v1/ocds/releases", (int)bl, base);
    }
    if (db_begin_mode(d, DB_TX_SNAPSHOT, e) != 0) return -1;
    /* The header: everything but the releases, then the releases one by one. */
    char now[32];
    time_iso(now, sizeof(now), time_now());
    int64_t lots = 0;
    if (db_query_int(d, e, &lots,
                     "SELECT COUNT(*) FROM tenders WHERE status <> 'draft' AND lots <> '[]' AND "
                     "lots <> ''",
                     "") < 0)
        goto fail;
    json_t *head =
        json_pack("{s:s,s:s,s:[s],s:s,s:{s:s},s:s}", "uri", uri, "version", "1.1", "extensions",
                  OCDS_BID_EXTENSION, "publishedDate", now, "publisher", "name", OCDS_PUBLISHER,
                  "license", "https://creativecommons.org/licenses/by/4.0/");
    if (lots)
        json_array_append_new(json_object_get(head, "extensions"),
                              json_string(OCDS_LOTS_EXTENSION));
    char *htext = json_dumps(head, DUMP_FLAGS);
    json_decref(head);
    if (!htext) {
        err_internal(e, "编码失败");
        goto fail;
    }
    htext[strlen(htext) - 1] = '\0'; /* drop the closing brace */
    int wrc = put(w, arg, htext, e);
    free(htext);
    if (wrc != 0 || put(w, arg, ",\"releases\":[", e) != 0) goto fail;

    int64_t after = 0, written = 0, skipped = 0;
    for (;;) {
        int64_t ids[PAGE];
        int n = 0;
        db_stmt *s = db_query(
            d, e,
            "SELECT id FROM tenders WHERE status <> 'draft' AND id > $1 AND "
            "($2 = '' OR updated_at >= $2) AND ($3 = CAST(0 AS BIGINT) OR id = $3) ORDER BY id "
            "LIMIT $4",
            "isii", after, since, o->tender_id > 0 ? o->tender_id : 0, (int64_t)PAGE);
        if (!s) goto fail;
        int rc;
        while ((rc = db_step(s)) == DB_ROW && n < PAGE)
            ids[n++] = db_column_int64(s, 0);
        db_reset(s);
        if (rc == DB_ERROR) {
            err_internal(e, "读取项目失败");
            goto fail;
        }
        for (int i = 0; i < n; i++) {
            after = ids[i];
            if (skipped < o->offset) {
                skipped++;
                continue;
            }
            if (o->limit > 0 && written >= o->limit) {
                if (more) *more = 1;
                goto done;
            }
            json_t *rel = ocds_release(d, prefix, ids[i], e);
            if (!rel) goto fail;
            char *text = json_dumps(rel, DUMP_FLAGS);
            json_decref(rel);
            if (!text) {
                err_internal(e, "编码失败");
                goto fail;
            }
            int prc = (written ? put(w, arg, ",", e) : 0) || put(w, arg, text, e);
            free(text);
            if (prc != 0) goto fail;
            written++;
        }
        if (n < PAGE) break;
    }
done:
    db_rollback(d); /* a read-only snapshot: nothing to commit */
    if (put(w, arg, "]}\n", e) != 0) return -1;
    if (count) *count = written;
    return 0;
fail:
    db_rollback(d);
    return -1;
}
