/* licences demo data: a realistic wallet of e-licences for the demo users of
 * `isle demo`, so that applications can reuse them (免提交) and the 秒办 rules
 * have something to check. Dates are relative to the current year (or day), so
 * the mix stays the same whenever the demo is built: most licences valid, some
 * past their date (shown as expired), one recorded expired, one revoked, one
 * superseded (the first-generation 社会保障卡 by the current one).
 *
 * Numbers follow each type's pattern from data/catalog/licences.json; they are
 * made up, as are the people (the resident ID numbers carry valid check
 * characters so that validation accepts them). */
#include "base/idcard.h"
#include "base/timeutil.h"
#include "licences/licences.h"
#include "workcal/workcal.h"

#include <stdio.h>
#include <string.h>

enum { NO_EXPIRY = 0, YEARS_AFTER_ISSUE = 1, DAYS_FROM_TODAY = 2 };

typedef struct demo_licence {
    const char *login;
    const char *type;
    const char *number; /* "@id" = the holder's resident ID number */
    int issued_years_ago;
    const char *issued_md; /* "MM-DD" */
    int valid_kind;
    int valid_n;        /* years after issue or days from today (negative: past) */
    const char *status; /* "valid", "expired", or "revoke" (added valid, then revoked) */
    const char *data;   /* JSON object text */
} demo_licence;

/* Resident ID numbers for the demo people without one in the users table; the
 * check character is computed. 李代办 born 1985-07-15 in 普陀区. */
#define AGENT_ID17 "33090319850715231"

static const demo_licence wallet[] = {
    /* 张阿婆: 74, 金塘镇 (定海区), 户主 */
    {"citizen", "居民身份证", "@id", 8, "03-20", NO_EXPIRY, 0, "valid",
     "{\"name\":\"张阿婆\",\"gender\":\"女\",\"ethnicity\":\"汉\",\"birth\":\"1952-03-14\","
     "\"address\":\"浙江省舟山市定海区金塘镇沥港村西堠路12号\"}"},
    {"citizen", "居民户口簿", "330902100012345", 12, "06-02", NO_EXPIRY, 0, "valid",
     "{\"household_no\":\"330902100012345\",\"region_code\":\"330902\",\"household_type\":"
     "\"家庭户\",\"relation\":\"户主\",\"address\":\"浙江省舟山市定海区金塘镇沥港村西堠路12号\","
     "\"police_station\":\"舟山市公安局定海区分局金塘派出所\"}"},
    {"citizen", "结婚证", "J330902-1975-000318", 51, "05-01", NO_EXPIRY, 0, "valid",
     "{\"spouse\":\"李阿公\",\"registered_at\":\"1975-05-01\",\"registry\":\"定海县金塘公社\"}"},
    {"citizen", "不动产权证书", "浙（2012）舟山市不动产权第0004321号", 14, "09-18", NO_EXPIRY, 0,
     "revoke", "{\"location\":\"定海区解放西路88弄3号201室\",\"use\":\"住宅\",\"area_m2\":58.2}"},
    {"citizen", "不动产权证书", "浙（2019）舟山市不动产权第0012345号", 7, "11-06", NO_EXPIRY, 0,
     "valid",
     "{\"location\":\"定海区金塘镇沥港村西堠路12号\",\"use\":\"宅基地及农房\","
     "\"area_m2\":126.5,\"share\":\"单独所有\"}"},
    {"citizen", "社会保障卡", "@id", 19, "04-10", YEARS_AFTER_ISSUE, 10, "valid",
     "{\"generation\":\"第一代\",\"bank\":\"中国农业银行舟山分行\"}"},
    {"citizen", "社会保障卡", "@id", 9, "04-10", YEARS_AFTER_ISSUE, 10, "valid",
     "{\"generation\":\"第三代\",\"card_no\":\"A30912345\",\"bank\":\"中国农业银行舟山分行\"}"},
    {"citizen", "机动车驾驶证", "@id", 16, "08-22", YEARS_AFTER_ISSUE, 12, "valid",
     "{\"class\":\"C1\",\"archive_no\":\"330900123456\"}"},

    /* 舟渔水产有限公司: seafood processing and cold-chain trade, 临城街道 */
    {"company", "营业执照", "91330902MA2A1B3C4D", 11, "04-16", NO_EXPIRY, 0, "valid",
     "{\"name\":\"舟渔水产有限公司\",\"legal_rep\":\"王海东\",\"type\":"
     "\"有限责任公司（自然人投资或控股）\","
     "\"registered_capital\":\"500万元人民币\",\"established\":\"2015-04-16\",\"address\":"
     "\"浙江省舟山市定海区临城街道海天大道588号\",\"scope\":"
     "\"水产品加工、销售；冷链仓储；食品经营\"}"},
    {"company", "食品经营许可证", "JY13309020008765", 7, "05-20", YEARS_AFTER_ISSUE, 5, "expired",
     "{\"premises\":\"定海区临城街道海天大道588号\",\"category\":"
     "\"预包装食品销售（含冷藏冷冻食品）\"}"},
    {"company", "食品经营许可证", "JY13309020012345", 2, "05-18", YEARS_AFTER_ISSUE, 5, "valid",
     "{\"premises\":\"定海区临城街道海天大道588号\",\"category\":\"预包装食品销售（含冷藏冷冻食品）"
     "、散装食品销售\"}"},
    {"company", "渔业捕捞许可证", "（浙舟）船捕（2022）HY-000456", 4, "03-01", YEARS_AFTER_ISSUE, 5,
     "valid", "{\"vessel\":\"浙定渔12345\",\"gear\":\"拖网\",\"area\":\"东海区A类渔区\"}"},
    {"company", "渔业船舶国籍证书", "（浙舟）船登（籍）（2020）ZY-001234", 6, "02-12",
     YEARS_AFTER_ISSUE, 5, "valid", "{\"vessel\":\"浙定渔12345\",\"port\":\"沈家门\"}"},
    {"company", "渔业船舶检验证书", "ZJ2025-CJ-008812", 1, "02-26", YEARS_AFTER_ISSUE, 2, "valid",
     "{\"vessel\":\"浙定渔12345\",\"next_survey\":\"年度检验\"}"},
    {"company", "道路运输证", "浙交运管舟字330902012345号", 3, "07-09", YEARS_AFTER_ISSUE, 6,
     "valid", "{\"plate\":\"浙L·C3218\",\"vehicle\":\"冷藏车\"}"},

    /* 李代办: proxy agent on 六横 */
    {"agent", "居民身份证", "@agent", 6, "09-03", YEARS_AFTER_ISSUE, 20, "valid",
     "{\"name\":\"李代办\",\"gender\":\"男\",\"ethnicity\":\"汉\",\"birth\":\"1985-07-15\","
     "\"address\":\"浙江省舟山市普陀区六横镇峧头社区龙山路6号\"}"},
    {"agent", "居民户口簿", "330903100045678", 10, "03-15", NO_EXPIRY, 0, "valid",
     "{\"household_no\":\"330903100045678\",\"region_code\":\"330903\",\"household_type\":"
     "\"家庭户\","
     "\"relation\":\"户主\",\"address\":\"浙江省舟山市普陀区六横镇峧头社区龙山路6号\"}"},
    {"agent", "机动车驾驶证", "@agent", 0, "", DAYS_FROM_TODAY, 60, "valid",
     "{\"class\":\"A2\",\"archive_no\":\"330900654321\"}"},
    {"agent", "道路运输从业人员从业资格证", "@agent", 6, "", DAYS_FROM_TODAY, -30, "valid",
     "{\"category\":\"道路货物运输驾驶员\"}"},

    /* 东港建设集团: a bidder in public resource trading */
    {"bidder", "营业执照", "91330900MA2B7E8F9G", 9, "08-08", NO_EXPIRY, 0, "valid",
     "{\"name\":\"东港建设集团有限公司\",\"legal_rep\":\"周东港\",\"registered_capital\":"
     "\"1.2亿元人民币\",\"established\":\"2017-08-08\",\"address\":"
     "\"浙江省舟山市普陀区东港街道海洲路1号\"}"},
    {"bidder", "建筑业企业资质证书", "D233091234", 3, "12-01", YEARS_AFTER_ISSUE, 5, "valid",
     "{\"qualifications\":[\"建筑工程施工总承包二级\",\"港口与航道工程施工总承包三级\"]}"},
};

#define N_WALLET (sizeof(wallet) / sizeof(wallet[0]))

static int demo_user(db *d, const char *login, int64_t *id, char *idnum, size_t n, err *e) {
    *id = 0;
    idnum[0] = '\0';
    db_stmt *s = db_query(d, e, "SELECT id, id_number FROM users WHERE login = $1", "s", login);
    if (!s) return -1;
    int rc = db_step(s);
    if (rc == DB_ROW) {
        *id = db_column_int64(s, 0);
        const char *v = db_column_text(s, 1);
        snprintf(idnum, n, "%s", v ? v : "");
    }
    db_reset(s);
    return rc == DB_ERROR ? err_internal(e, "user lookup failed: %s", db_errmsg(d)) : 0;
}

/* Dates: "Y-a-MM-DD"; a DAYS_FROM_TODAY licence with no issued_md was issued six
 * years (the type's term) before its end. */
static void demo_dates(const demo_licence *l, char *issued, char *until, size_t n) {
    int64_t now = time_now();
    workcal_date today = workcal_local_date(now);
    until[0] = '\0';
    if (l->valid_kind == DAYS_FROM_TODAY) {
        workcal_date end = workcal_local_date(now + (int64_t)l->valid_n * 86400);
        workcal_date_format(end, until, n);
        snprintf(issued, n, "%04d-%.5s", end.year - 6, until + 5);
    } else {
        snprintf(issued, n, "%04d-%.5s", today.year - l->issued_years_ago, l->issued_md);
    }
    workcal_date chk;
    if (workcal_date_parse(issued, &chk) != 0) snprintf(issued + 5, n - 5, "03-01"); /* 02-29 */
    if (l->valid_kind == YEARS_AFTER_ISSUE)
        snprintf(until, n, "%04d-%.5s", today.year - l->issued_years_ago + l->valid_n, issued + 5);
}

static int demo_run(db *d, const audit_actor *a, int *created, err *e) {
    char agent_id[24];
    char check = idcard_check_char(AGENT_ID17);
    snprintf(agent_id, sizeof(agent_id), "%s%c", AGENT_ID17, check);
    const char *skip_login = NULL;
    const char *last_login = NULL;
    int64_t holder = 0;
    char idnum[32] = "";
    for (size_t i = 0; i < N_WALLET; i++) {
        const demo_licence *l = &wallet[i];
        if (!last_login || strcmp(last_login, l->login) != 0) {
            last_login = l->login;
            skip_login = NULL;
            if (demo_user(d, l->login, &holder, idnum, sizeof(idnum), e) != 0) return -1;
            int64_t have = 0;
            if (holder && db_query_int(d, e, &have,
                                       "SELECT COUNT(*) FROM licences WHERE holder_id = $1 AND "
                                       "source = 'demo'",
                                       "i", holder) < 0)
                return -1;
            if (!holder || have > 0) skip_login = l->login;
        }
        if (skip_login) continue;
        const char *number = l->number;
        if (!strcmp(number, "@id")) number = idnum[0] ? idnum : NULL;
        if (!strcmp(l->number, "@agent")) number = agent_id;
        if (!number) continue; /* the user has no ID number to put on it */
        char issued[32], until[32];
        demo_dates(l, issued, until, sizeof(issued));
        json_t *data = json_loads(l->data, 0, NULL);
        licences_new n = {.holder_id = holder,
                          .type = l->type,
                          .number = number,
                          .issued_at = issued,
                          .valid_until = until,
                          .status = strcmp(l->status, "expired") == 0 ? "expired" : "valid",
                          .source = "demo",
                          .data = data};
        int64_t id = 0;
        int rc = licences_add(d, a, &n, &id, e);
        json_decref(data);
        if (rc != 0) return -1;
        if (!strcmp(l->status, "revoke") &&
            licences_revoke(d, a, id, "房屋已转让，原不动产权证书注销", e) != 0)
            return -1;
        (*created)++;
    }
    return 0;
}

int licences_demo(db *d, int *created, err *e) {
    static const audit_actor demo_actor = {.user_id = 0, .login = "cli:demo", .request_id = NULL};
    int n = 0;
    if (db_begin(d, e) != 0) return -1;
    if (demo_run(d, &demo_actor, &n, e) != 0 || db_commit(d, e) != 0) {
        db_rollback(d);
        return -1;
    }
    if (created) *created = n;
    return 0;
}
