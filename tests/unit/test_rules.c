/* Unit tests for src/cases/rules.c (智能秒办): every check and every field
 * operator passing and failing, missing data going to a human (never a denial),
 * "when" conditions, the trace's content, rule-file validation naming file and
 * field, the cache noticing an edited file, and the shipped rule files against
 * the catalog (one per instant item, known licence types, fields that agree
 * with data/cases/forms.json).
 *
 * Run from the repository root. */
#include "test.h"

#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/idcard.h"
#include "base/jsonx.h"
#include "base/timeutil.h"
#include "cases/rules.h"
#include "db/db.h"
#include "licences/licences.h"

#define NOW     "2026-06-15T02:00:00Z" /* Monday 10:00 in Zhoushan */
#define ITEM    "330900-TS-000001"     /* the test rules' item */
#define CITIZEN "330902195203140021"   /* born 1952-03-14: 74 on NOW */

static const audit_actor sys_actor = {0, "system", NULL};

/* The test rule file: one check of every kind, fields of every type used. */
static const char test_rules[] =
    "{\"item\":\"" ITEM "\",\"name\":\"测试事项\",\"version\":2,\"fields\":["
    "{\"name\":\"purpose\",\"label\":\"用途\",\"type\":\"select\",\"options\":[\"就业\",\"入学\","
    "\"其他\"],\"required\":true},"
    "{\"name\":\"kind\",\"label\":\"类型\",\"type\":\"select\",\"options\":[\"甲\",\"乙\"]},"
    "{\"name\":\"amount\",\"label\":\"金额\",\"type\":\"number\",\"min\":0,\"max\":10000},"
    "{\"name\":\"signed\",\"label\":\"日期\",\"type\":\"date\"},"
    "{\"name\":\"self\",\"label\":\"本人\",\"type\":\"select\",\"options\":[\"是\",\"否\"]},"
    "{\"name\":\"comment\",\"label\":\"说明\",\"type\":\"text\"}],"
    "\"rules\":["
    "{\"id\":\"who\",\"check\":\"applicant\",\"kinds\":[\"citizen\"],\"description\":\"个人\"},"
    "{\"id\":\"idc\",\"check\":\"licence\",\"licence\":\"居民身份证\",\"description\":"
    "\"身份证有效\"},"
    "{\"id\":\"no_house\",\"check\":\"licence_absent\",\"licence\":\"不动产权证书\","
    "\"description\":\"无房\"},"
    "{\"id\":\"age\",\"check\":\"age\",\"min\":60,\"max\":80,\"description\":\"60–80 周岁\"},"
    "{\"id\":\"zs\",\"check\":\"residence\",\"region\":\"3309\",\"description\":\"舟山\"},"
    "{\"id\":\"open\",\"check\":\"no_open_case\",\"description\":\"无在办\"},"
    "{\"id\":\"once\",\"check\":\"not_done_before\",\"within_days\":30,\"description\":"
    "\"30日内未办\"},"
    "{\"id\":\"p_in\",\"check\":\"field\",\"field\":\"purpose\",\"op\":\"in\",\"values\":[\"就业\","
    "\"入学\"],\"description\":\"用途\"},"
    "{\"id\":\"p_not_in\",\"check\":\"field\",\"field\":\"purpose\",\"op\":\"not_in\",\"values\":"
    "[\"其他\"],\"description\":\"用途不为其他\"},"
    "{\"id\":\"k_eq\",\"check\":\"field\",\"field\":\"kind\",\"op\":\"equals\",\"value\":\"甲\","
    "\"description\":\"类型甲\"},"
    "{\"id\":\"k_ne\",\"check\":\"field\",\"field\":\"kind\",\"op\":\"not_equals\",\"value\":"
    "\"乙\","
    "\"description\":\"类型非乙\"},"
    "{\"id\":\"amt\",\"check\":\"field\",\"field\":\"amount\",\"op\":\"range\",\"min\":10,\"max\":"
    "100,"
    "\"description\":\"金额\"},"
    "{\"id\":\"date\",\"check\":\"field\",\"field\":\"signed\",\"op\":\"date_within_days\","
    "\"days\":30,\"description\":\"30日内\"},"
    "{\"id\":\"cmt\",\"check\":\"field\",\"field\":\"comment\",\"op\":\"present\","
    "\"description\":\"有说明\"},"
    "{\"id\":\"hk\",\"check\":\"licence\",\"licence\":\"居民户口簿\",\"description\":"
    "\"委托时核户口簿\","
    "\"when\":{\"field\":\"self\",\"in\":[\"否\"]}}"
    "]}";

#define N_RULES 15

static char tmpdir[64];

/* Write DIR/cases/rules/NAME with text. */
static void write_rule(const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof(path), "%s/cases/rules/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "    cannot write %s\n", path);
        return;
    }
    fputs(text, f);
    fclose(f);
}

static int make_dir(void) {
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/isle-rules-XXXXXX");
    if (!mkdtemp(tmpdir)) return -1;
    char p[256];
    snprintf(p, sizeof(p), "%s/cases", tmpdir);
    mkdir(p, 0700);
    snprintf(p, sizeof(p), "%s/cases/rules", tmpdir);
    mkdir(p, 0700);
    write_rule(ITEM ".json", test_rules);
    rules_set_data_dir(tmpdir);
    return 0;
}

static void remove_dir(void) {
    char p[256];
    snprintf(p, sizeof(p), "%s/cases/rules", tmpdir);
    DIR *dh = opendir(p);
    struct dirent *de;
    while (dh && (de = readdir(dh))) {
        if (de->d_name[0] == '.') continue;
        char f[600];
        snprintf(f, sizeof(f), "%s/%s", p, de->d_name);
        unlink(f);
    }
    if (dh) closedir(dh);
    rmdir(p);
    snprintf(p, sizeof(p), "%s/cases", tmpdir);
    rmdir(p);
    rmdir(tmpdir);
    rules_set_data_dir(NULL); /* back to the shipped files */
}

static int64_t add_user(db *d, const char *login, const char *role) {
    int64_t id = 0;
    err e = {0};
    db_query_int(d, &e, &id,
                 "INSERT INTO users (login, display_name, role, password_hash, created_at, "
                 "updated_at, password_changed_at) VALUES ($1, $1, $2, 'x', $3, $3, $3) "
                 "RETURNING id",
                 "sss", login, role, "2026-01-01T00:00:00Z");
    return id;
}

static int64_t add_case(db *d, int64_t applicant, const char *item, const char *status,
                        const char *decided) {
    static int seq;
    char no[32];
    snprintf(no, sizeof(no), "ZS2606150%03d", ++seq);
    int64_t id = 0;
    err e = {0};
    if (db_query_int(
            d, &e, &id,
            "INSERT INTO cases (case_no, kind, item_code, item_name, applicant_id, "
            "channel, department, status, form, decided_at, created_at, updated_at) "
            "VALUES ($1, 'item', $2, '测试事项', $3, 'online', '测试局', $4, '{}', $5, $6, "
            "$6) RETURNING id",
            "ssisss", no, item, applicant, status, decided, "2026-01-01T00:00:00Z") != 0)
        fprintf(stderr, "    add_case: %s\n", e.message);
    return id;
}

static void add_licence(db *d, int64_t holder, const char *type, const char *until,
                        const char *data) {
    json_t *dj = data ? json_loads(data, 0, NULL) : NULL;
    licences_new n = {.holder_id = holder,
                      .type = type,
                      .number = "N-1",
                      .issued_at = "2010-01-01",
                      .valid_until = until,
                      .source = "import",
                      .data = dj};
    err e = {0};
    if (db_begin(d, &e) != 0 || licences_add(d, &sys_actor, &n, NULL, &e) != 0 ||
        db_commit(d, &e) != 0) {
        db_rollback(d);
        fprintf(stderr, "    add_licence %s: %s\n", type, e.message);
    }
    json_decref(dj);
}

/* A form that passes every field check. */
static json_t *good_form(void) {
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "purpose", "就业", "kind", "甲", "amount",
                     50, "signed", "2026-06-01", "self", "是", "comment", "无");
}

/* The trace entry of rule id. */
static json_t *entry(json_t *trace, const char *id) {
    size_t i;
    json_t *t;
    json_array_foreach(trace, i, t) {
        if (!strcmp(jsonx_str(t, "rule"), id)) return t;
    }
    return NULL;
}

static const char *result_of(json_t *trace, const char *id) {
    json_t *t = entry(trace, id);
    return t ? jsonx_str(t, "result") : "(missing)";
}

typedef struct world {
    db *d;
    int64_t citizen, company;
    rules_input in;
} world;

static int world_open(world *w) {
    memset(w, 0, sizeof(*w));
    if (make_dir() != 0) return -1;
    w->d = test_db_open();
    if (!w->d) return -1;
    w->citizen = add_user(w->d, "c1", "citizen");
    w->company = add_user(w->d, "co", "company");
    add_licence(w->d, w->citizen, "居民身份证", NULL, NULL);
    w->in = (rules_input){.item_code = ITEM,
                          .applicant_id = w->citizen,
                          .applicant_role = "citizen",
                          .id_number = CITIZEN,
                          .town_code = "330902100",
                          .form = good_form(),
                          .now_iso = NOW,
                          .case_id = 0};
    return 0;
}

static void world_close(world *w) {
    json_decref(w->in.form);
    db_close(w->d);
    remove_dir();
}

static int decide(world *w, json_t **trace) {
    err e = {0};
    int rc = rules_decide(w->d, &w->in, trace, &e);
    if (rc < 0) fprintf(stderr, "    rules_decide: %s\n", e.message);
    return rc;
}

TEST(rules_all_pass_approves_with_full_trace) {
    world w;
    if (world_open(&w) != 0) {
        CHECK(0);
        return;
    }
    json_t *trace = NULL;
    uint64_t t0 = time_mono_ns();
    CHECK_INT(decide(&w, &trace), RULES_APPROVE);
    uint64_t took = time_mono_ns() - t0;
    CHECK(took < 200000000ull); /* well under a second, even under sanitizers */
    CHECK_INT(json_array_size(trace), N_RULES);
    size_t i;
    json_t *t;
    json_array_foreach(trace, i, t) {
        if (strcmp(jsonx_str(t, "result"), "pass") != 0)
            fprintf(stderr, "    %s: %s (%s)\n", jsonx_str(t, "rule"), jsonx_str(t, "result"),
                    jsonx_str(t, "detail"));
        CHECK_STR(jsonx_str(t, "result"), "pass");
        CHECK(jsonx_str(t, "description") && jsonx_str(t, "detail") && jsonx_str(t, "check"));
    }
    /* Order and content. */
    CHECK_STR(jsonx_str(json_array_get(trace, 0), "rule"), "who");
    CHECK_STR(jsonx_str(json_array_get(trace, 0), "description"), "个人");
    CHECK_STR(jsonx_str(entry(trace, "age"), "detail"), "申请人 74 周岁，符合年龄条件");
    CHECK_STR(jsonx_str(entry(trace, "idc"), "detail"), "证照库核验：居民身份证长期有效");
    CHECK(strstr(jsonx_str(entry(trace, "zs"), "detail"), "舟山市") != NULL);
    CHECK(strstr(jsonx_str(entry(trace, "hk"), "detail"), "不适用") != NULL);
    /* No personal number in the trace. */
    char *dump = jsonx_dump(trace);
    CHECK(strstr(dump, CITIZEN) == NULL);
    free(dump);
    json_decref(trace);
    /* trace_out may be NULL. */
    err e = {0};
    CHECK_INT(rules_decide(w.d, &w.in, NULL, &e), RULES_APPROVE);
    world_close(&w);
}

TEST(rules_missing_data_goes_to_a_human) {
    world w;
    if (world_open(&w) != 0) {
        CHECK(0);
        return;
    }
    json_t *trace = NULL;
    /* No ID number: age unknown; everything else still evaluated. */
    w.in.id_number = NULL;
    CHECK_INT(decide(&w, &trace), RULES_HUMAN);
    CHECK_STR(result_of(trace, "age"), "unknown");
    CHECK_STR(result_of(trace, "zs"), "pass"); /* the town still says 舟山 */
    CHECK_INT(json_array_size(trace), N_RULES);
    json_decref(trace);
    /* No town and no ID and no 户口簿: residence unknown. */
    w.in.town_code = NULL;
    CHECK_INT(decide(&w, &trace), RULES_HUMAN);
    CHECK_STR(result_of(trace, "zs"), "unknown");
    json_decref(trace);
    w.in.id_number = CITIZEN;
    w.in.town_code = "330902100";
    /* No form at all: every field check unknown, never fail. */
    json_t *form = w.in.form;
    w.in.form = NULL;
    CHECK_INT(decide(&w, &trace), RULES_HUMAN);
    CHECK_STR(result_of(trace, "p_in"), "unknown");
    CHECK_STR(result_of(trace, "amt"), "unknown");
    CHECK_STR(result_of(trace, "cmt"), "unknown");
    CHECK_STR(result_of(trace, "hk"), "unknown"); /* "when" cannot be decided */
    CHECK(strstr(jsonx_str(entry(trace, "p_in"), "detail"), "未填写") != NULL);
    json_decref(trace);
    w.in.form = form;
    /* An empty string is not filled in. */
    json_object_set_new(form, "comment", json_string(""));
    CHECK_INT(decide(&w, &trace), RULES_HUMAN);
    CHECK_STR(result_of(trace, "cmt"), "unknown");
    json_decref(trace);
    json_object_set_new(form, "comment", json_string("x"));
    /* Unknown role. */
    w.in.applicant_role = NULL;
    CHECK_INT(decide(&w, &trace), RULES_HUMAN);
    CHECK_STR(result_of(trace, "who"), "unknown");
    json_decref(trace);
    w.in.applicant_role = "citizen";
    /* No rule file: a human, with the reason in the trace. */
    w.in.item_code = "330900-TS-000002";
    CHECK_INT(decide(&w, &trace), RULES_HUMAN);
    CHECK_INT(json_array_size(trace), 1);
    CHECK_STR(result_of(trace, "rules_file"), "unknown");
    CHECK(strstr(jsonx_str(json_array_get(trace, 0), "detail"), "没有秒办规则") != NULL);
    json_decref(trace);
    CHECK(!rules_exist("330900-TS-000002"));
    /* A broken rule file: also a human (and rules_exist says no). */
    write_rule("330900-TS-000003.json", "{\"item\":\"330900-TS-000003\",\"rules\":[}");
    w.in.item_code = "330900-TS-000003";
    CHECK_INT(decide(&w, &trace), RULES_HUMAN);
    CHECK(strstr(jsonx_str(json_array_get(trace, 0), "detail"), "有误") != NULL);
    json_decref(trace);
    CHECK(!rules_exist("330900-TS-000003"));
    CHECK(rules_exist(ITEM));
    /* Bad input is an error, not a decision. */
    err e = {0};
    w.in.item_code = NULL;
    CHECK_INT(rules_decide(w.d, &w.in, &trace, &e), -1);
    CHECK_STR(e.field, "item_code");
    world_close(&w);
}

TEST(rules_field_operators_pass_and_fail) {
    world w;
    if (world_open(&w) != 0) {
        CHECK(0);
        return;
    }
    json_t *form = w.in.form, *trace = NULL;
    struct {
        const char *field;
        json_t *value;
        const char *rule, *result;
    } cases[] = {
        {"purpose", json_string("入学"), "p_in", "pass"},
        {"purpose", json_string("其他"), "p_in", "fail"},
        {"purpose", json_string("其他"), "p_not_in", "fail"},
        {"purpose", json_string("就业"), "p_not_in", "pass"},
        {"kind", json_string("乙"), "k_eq", "fail"},
        {"kind", json_string("乙"), "k_ne", "fail"},
        {"kind", json_string("甲"), "k_ne", "pass"},
        {"amount", json_integer(10), "amt", "pass"}, /* bounds are inclusive */
        {"amount", json_real(100.0), "amt", "pass"},
        {"amount", json_integer(9), "amt", "fail"},
        {"amount", json_real(100.5), "amt", "fail"},
        {"amount", json_string("55"), "amt", "pass"}, /* numeric text is a number */
        {"amount", json_string("many"), "amt", "unknown"},
        {"signed", json_string("2026-05-16"), "date", "pass"}, /* 30 days ago */
        {"signed", json_string("2026-05-15"), "date", "fail"}, /* 31 */
        {"signed", json_string("2026-06-16"), "date", "fail"}, /* future */
        {"signed", json_string("16/05/2026"), "date", "unknown"},
        {"comment", json_string("有"), "cmt", "pass"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *saved = json_incref(json_object_get(form, cases[i].field));
        json_object_set_new(form, cases[i].field, cases[i].value);
        int rc = decide(&w, &trace);
        const char *got = result_of(trace, cases[i].rule);
        if (strcmp(got, cases[i].result) != 0)
            fprintf(stderr, "    case %zu: %s → %s, expected %s (%s)\n", i, cases[i].rule, got,
                    cases[i].result, jsonx_str(entry(trace, cases[i].rule), "detail"));
        CHECK_STR(got, cases[i].result);
        /* One field changed from a form that passes: approve exactly when it still passes;
         * any failing or unknown check makes it a human's decision. */
        CHECK_INT(rc, strcmp(cases[i].result, "pass") == 0 ? RULES_APPROVE : RULES_HUMAN);
        json_decref(trace);
        json_object_set_new(form, cases[i].field, saved);
    }
    /* Details say what was found, without personal numbers. */
    json_object_set_new(form, "amount", json_integer(500));
    decide(&w, &trace);
    CHECK_STR(jsonx_str(entry(trace, "amt"), "detail"), "“金额”为 500，超过 100");
    json_decref(trace);
    json_object_set_new(form, "amount", json_integer(50));
    json_object_set_new(form, "kind", json_string("乙"));
    decide(&w, &trace);
    CHECK_STR(jsonx_str(entry(trace, "k_eq"), "detail"), "“类型”为 乙，须为 甲");
    json_decref(trace);
    json_object_set_new(form, "kind", json_string("甲"));
    /* "when": applies only when the field has one of the values. */
    json_object_set_new(form, "self", json_string("否"));
    CHECK_INT(decide(&w, &trace), RULES_HUMAN);
    CHECK_STR(result_of(trace, "hk"), "fail"); /* applies, and there is no 户口簿 */
    json_decref(trace);
    add_licence(w.d, w.citizen, "居民户口簿", NULL, "{\"region_code\":\"330902\"}");
    CHECK_INT(decide(&w, &trace), RULES_APPROVE);
    CHECK_STR(result_of(trace, "hk"), "pass");
    json_decref(trace);
    world_close(&w);
}

/* A valid resident ID number from its first 17 characters (into a rotating buffer). */
static const char *id_of(const char *first17) {
    static char buf[8][20];
    static int k;
    char *out = buf[k++ % 8];
    snprintf(out, 20, "%s%c", first17, idcard_check_char(first17));
    return out;
}

TEST(rules_licence_age_residence_and_applicant_checks) {
    world w;
    if (world_open(&w) != 0) {
        CHECK(0);
        return;
    }
    json_t *trace = NULL;
    /* Age: 86 is over 80, 26 under 60; the birthday counts on the day itself. */
    w.in.id_number = id_of("33090219400101001");
    decide(&w, &trace);
    CHECK_STR(result_of(trace, "age"), "fail");
    CHECK_STR(jsonx_str(entry(trace, "age"), "detail"), "申请人 86 周岁，超过 80 周岁");
    json_decref(trace);
    w.in.id_number = id_of("33090220000101001");
    decide(&w, &trace);
    CHECK_STR(result_of(trace, "age"), "fail");
    json_decref(trace);
    w.in.id_number = id_of("33090219660615001"); /* 60 on 2026-06-15 */
    decide(&w, &trace);
    CHECK_STR(result_of(trace, "age"), "pass");
    json_decref(trace);
    w.in.id_number = id_of("33090219660616001"); /* 60 tomorrow */
    decide(&w, &trace);
    CHECK_STR(result_of(trace, "age"), "fail");
    json_decref(trace);
    w.in.id_number = "330902196606160019"; /* wrong check character: not a number to trust */
    decide(&w, &trace);
    CHECK_STR(result_of(trace, "age"), "unknown");
    json_decref(trace);
    /* Residence: an ID number from 宁波 (3302) and a town in 宁波 fail; the 户口簿's region
     * decides first when present. */
    w.in.id_number = id_of("33020319500101001");
    w.in.town_code = "330203001";
    decide(&w, &trace);
    CHECK_STR(result_of(trace, "zs"), "fail");
    json_decref(trace);
    add_licence(w.d, w.citizen, "居民户口簿", NULL, "{\"region_code\":\"330921\"}");
    decide(&w, &trace);
    CHECK_STR(result_of(trace, "zs"), "pass");
    CHECK_STR(jsonx_str(entry(trace, "zs"), "detail"), "居民户口簿登记在舟山市");
    json_decref(trace);
    w.in.id_number = CITIZEN;
    w.in.town_code = "330902100";
    /* Licences: an expired ID card fails, saying so. */
    db_execf(w.d, NULL, "UPDATE licences SET valid_until = '2026-06-14' WHERE type = '居民身份证'",
             "");
    decide(&w, &trace);
    CHECK_STR(result_of(trace, "idc"), "fail");
    CHECK_STR(jsonx_str(entry(trace, "idc"), "detail"),
              "证照库中的居民身份证已过有效期（有效期至 2026-06-14）");
    json_decref(trace);
    db_execf(w.d, NULL, "UPDATE licences SET valid_until = NULL WHERE type = '居民身份证'", "");
    /* licence_absent: a property licence makes it fail. */
    add_licence(w.d, w.citizen, "不动产权证书", NULL, NULL);
    CHECK_INT(decide(&w, &trace), RULES_HUMAN);
    CHECK_STR(result_of(trace, "no_house"), "fail");
    json_decref(trace);
    db_execf(w.d, NULL, "UPDATE licences SET status = 'revoked' WHERE type = '不动产权证书'", "");
    CHECK_INT(decide(&w, &trace), RULES_APPROVE);
    json_decref(trace);
    /* Applicant kind: a company is not a citizen. */
    w.in.applicant_id = w.company;
    w.in.applicant_role = "company";
    decide(&w, &trace);
    CHECK_STR(result_of(trace, "who"), "fail");
    CHECK_STR(result_of(trace, "idc"), "fail"); /* the company holds no ID card */
    json_decref(trace);
    world_close(&w);
}

TEST(rules_licence_renewal_window) {
    world w;
    if (world_open(&w) != 0) {
        CHECK(0);
        return;
    }
    write_rule("330900-TS-000004.json",
               "{\"item\":\"330900-TS-000004\",\"name\":\"换证\",\"rules\":[{\"id\":\"drv\","
               "\"check\":\"licence\",\"licence\":\"机动车驾驶证\",\"expires_within_days\":90,"
               "\"description\":\"届满前90日内\"}]}");
    w.in.item_code = "330900-TS-000004";
    json_t *trace = NULL;
    CHECK_INT(decide(&w, &trace), RULES_HUMAN);
    CHECK_STR(jsonx_str(json_array_get(trace, 0), "detail"), "证照库中没有机动车驾驶证");
    json_decref(trace);
    add_licence(w.d, w.citizen, "机动车驾驶证", "2026-09-13", NULL); /* 90 days ahead */
    CHECK_INT(decide(&w, &trace), RULES_APPROVE);
    json_decref(trace);
    db_execf(w.d, NULL, "UPDATE licences SET valid_until = '2026-09-14' WHERE type = $1", "s",
             "机动车驾驶证");
    CHECK_INT(decide(&w, &trace), RULES_HUMAN);
    CHECK(strstr(jsonx_str(json_array_get(trace, 0), "detail"), "尚未进入") != NULL);
    json_decref(trace);
    db_execf(w.d, NULL, "UPDATE licences SET valid_until = NULL WHERE type = $1", "s",
             "机动车驾驶证");
    CHECK_INT(decide(&w, &trace), RULES_HUMAN); /* 长期: nothing to renew */
    json_decref(trace);
    world_close(&w);
}

TEST(rules_case_checks) {
    world w;
    if (world_open(&w) != 0) {
        CHECK(0);
        return;
    }
    json_t *trace = NULL;
    /* This very case is left out; a closed one does not count. */
    int64_t self = add_case(w.d, w.citizen, ITEM, "submitted", NULL);
    add_case(w.d, w.citizen, ITEM, "withdrawn", NULL);
    add_case(w.d, w.citizen, ITEM, "draft", NULL);
    add_case(w.d, w.company, ITEM, "in_review", NULL);              /* someone else's */
    add_case(w.d, w.citizen, "330900-TS-000009", "accepted", NULL); /* another item */
    w.in.case_id = self;
    CHECK_INT(decide(&w, &trace), RULES_APPROVE);
    json_decref(trace);
    int64_t other = add_case(w.d, w.citizen, ITEM, "suspended", NULL);
    CHECK_INT(decide(&w, &trace), RULES_HUMAN);
    CHECK_STR(result_of(trace, "open"), "fail");
    CHECK(strstr(jsonx_str(entry(trace, "open"), "detail"), "ZS2606150") != NULL);
    json_decref(trace);
    db_execf(w.d, NULL, "UPDATE cases SET status = 'rejected_at_intake' WHERE id = $1", "i", other);
    /* not_done_before within 30 days: delivered 31 days ago passes, 29 days ago fails. */
    add_case(w.d, w.citizen, ITEM, "delivered", "2026-05-15T02:00:00Z");
    CHECK_INT(decide(&w, &trace), RULES_APPROVE);
    json_decref(trace);
    add_case(w.d, w.citizen, ITEM, "delivered", "2026-05-17T02:00:00Z");
    CHECK_INT(decide(&w, &trace), RULES_HUMAN);
    CHECK_STR(result_of(trace, "once"), "fail");
    CHECK_STR(result_of(trace, "open"), "pass");
    json_decref(trace);
    world_close(&w);
}

/* Validation: write a variant of the test file and check the error's field. */
static void expect_invalid(const char *name, const char *text, const char *field,
                           const char *words) {
    write_rule(name, text);
    char path[256];
    snprintf(path, sizeof(path), "%s/cases/rules", tmpdir);
    err e = {0};
    int n = rules_check_dir(path, &e);
    CHECK_INT(n, -1);
    CHECK_INT(e.status, 422);
    CHECK_STR(e.field, field);
    if (!strstr(e.message, name) || (words && !strstr(e.message, words)))
        fprintf(stderr, "    message: %s\n", e.message);
    CHECK(strstr(e.message, name) != NULL);
    CHECK(!words || strstr(e.message, words) != NULL);
    char p2[300];
    snprintf(p2, sizeof(p2), "%s/%s", path, name);
    unlink(p2);
}

TEST(rules_validation_names_file_and_field) {
    if (make_dir() != 0) {
        CHECK(0);
        return;
    }
    char path[256];
    snprintf(path, sizeof(path), "%s/cases/rules", tmpdir);
    err e = {0};
    CHECK_INT(rules_check_dir(path, &e), 1);
#define HEAD "{\"item\":\"330900-TS-000005\",\"name\":\"x\","
#define NAME "330900-TS-000005.json"
    expect_invalid(NAME,
                   HEAD "\"rules\":[{\"id\":\"a\",\"check\":\"magic\",\"description\":\"d\"}]}",
                   "rules[0].check", "applicant");
    expect_invalid(NAME, HEAD "\"rules\":[]}", "rules", NULL);
    expect_invalid(NAME, HEAD "\"colour\":1,\"rules\":[]}", "colour", "未知");
    expect_invalid("330900-TS-000006.json", HEAD "\"rules\":[]}", "item", "文件名");
    expect_invalid(NAME,
                   HEAD "\"rules\":[{\"id\":\"a\",\"check\":\"age\",\"min\":70,\"max\":60,"
                        "\"description\":\"d\"}]}",
                   "rules[0].max", NULL);
    expect_invalid(NAME,
                   HEAD "\"rules\":[{\"id\":\"a\",\"check\":\"age\",\"min\":\"60\","
                        "\"description\":\"d\"}]}",
                   "rules[0].min", NULL);
    expect_invalid(NAME,
                   HEAD "\"rules\":[{\"id\":\"a\",\"check\":\"field\",\"field\":\"nope\","
                        "\"op\":\"present\",\"description\":\"d\"}]}",
                   "rules[0].field", "fields");
    expect_invalid(NAME,
                   HEAD "\"fields\":[{\"name\":\"k\",\"label\":\"K\",\"type\":\"select\","
                        "\"options\":[\"甲\"]}],\"rules\":[{\"id\":\"a\",\"check\":\"field\","
                        "\"field\":\"k\",\"op\":\"in\",\"values\":[\"甲\",\"丙\"],"
                        "\"description\":\"d\"}]}",
                   "rules[0].values[1]", "选项");
    expect_invalid(NAME,
                   HEAD "\"fields\":[{\"name\":\"k\",\"label\":\"K\",\"type\":\"text\"}],"
                        "\"rules\":[{\"id\":\"a\",\"check\":\"field\",\"field\":\"k\","
                        "\"op\":\"range\",\"max\":3,\"description\":\"d\"}]}",
                   "rules[0].op", "number");
    expect_invalid(NAME,
                   HEAD "\"fields\":[{\"name\":\"k\",\"label\":\"K\",\"type\":\"text\"}],"
                        "\"rules\":[{\"id\":\"a\",\"check\":\"field\",\"field\":\"k\","
                        "\"op\":\"equals\",\"values\":[\"x\"],\"description\":\"d\"}]}",
                   "rules[0].values", NULL);
    expect_invalid(NAME,
                   HEAD "\"rules\":[{\"id\":\"a\",\"check\":\"residence\",\"region\":\"zs\","
                        "\"description\":\"d\"}]}",
                   "rules[0].region", NULL);
    expect_invalid(NAME,
                   HEAD "\"rules\":[{\"id\":\"a\",\"check\":\"applicant\",\"kinds\":[\"robot\"],"
                        "\"description\":\"d\"},{\"id\":\"a\",\"check\":\"no_open_case\","
                        "\"description\":\"d\"}]}",
                   "rules[0].kinds[0]", NULL);
    expect_invalid(NAME,
                   HEAD
                   "\"rules\":[{\"id\":\"a\",\"check\":\"no_open_case\",\"description\":\"d\"},"
                   "{\"id\":\"a\",\"check\":\"no_open_case\",\"description\":\"d\"}]}",
                   "rules[1].id", "重名");
    expect_invalid(NAME,
                   HEAD "\"rules\":[{\"id\":\"a\",\"check\":\"licence\",\"licence\":\"x\","
                        "\"description\":\"d\",\"when\":{\"field\":\"k\",\"in\":[\"y\"]}}]}",
                   "rules[0].when.field", NULL);
    expect_invalid(NAME, HEAD "\"rules\":[{\"id\":\"a\",\"check\":\"no_open_case\"}]}",
                   "rules[0].description", NULL);
    expect_invalid(NAME, "{\"item\":", "$", "JSON");
    /* rules_load reports the same way; a valid file loads. */
    write_rule(NAME, HEAD "\"rules\":[{\"id\":\"a\",\"check\":\"open\",\"description\":\"d\"}]}");
    CHECK(rules_load("330900-TS-000005", &e) == NULL);
    CHECK_INT(e.status, 422);
    CHECK_STR(e.field, "rules[0].check");
    json_t *doc = rules_load(ITEM, &e);
    CHECK(doc && json_array_size(json_object_get(doc, "rules")) == N_RULES);
    json_decref(doc);
    CHECK(rules_load("../../etc/passwd", &e) == NULL);
    CHECK_INT(e.status, 404);
    json_t *fields = rules_form_fields(ITEM);
    CHECK_INT(json_array_size(fields), 6);
    json_decref(fields);
    fields = rules_form_fields("330900-TS-000099");
    CHECK(json_is_array(fields) && json_array_size(fields) == 0);
    json_decref(fields);
#undef HEAD
#undef NAME
    remove_dir();
}

TEST(rules_cache_notices_an_edited_file) {
    world w;
    if (world_open(&w) != 0) {
        CHECK(0);
        return;
    }
    json_t *trace = NULL;
    CHECK_INT(decide(&w, &trace), RULES_APPROVE);
    json_decref(trace);
    /* Tighten the amount limit; after the cache's one-second recheck it applies. */
    char *edited = strdup(test_rules);
    char *p = strstr(edited, "\"min\":10,");
    CHECK(p != NULL);
    if (p) memcpy(p, "\"min\":60,", 9);
    write_rule(ITEM ".json", edited);
    free(edited);
    usleep(1100 * 1000);
    CHECK_INT(decide(&w, &trace), RULES_HUMAN);
    CHECK_STR(result_of(trace, "amt"), "fail");
    json_decref(trace);
    world_close(&w);
}

/* ---- the shipped rule files ---- */

static json_t *read_jsonl_instant(void) {
    json_t *codes = json_object();
    FILE *f = fopen("data/catalog/items.jsonl", "r");
    if (!f) return codes;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *it = json_loads(line, 0, NULL);
        if (it && json_is_true(json_object_get(it, "instant")))
            json_object_set_new(codes, jsonx_str(it, "code"), json_true());
        json_decref(it);
    }
    free(line);
    fclose(f);
    return codes;
}

TEST(rules_shipped_files_cover_every_instant_item) {
    rules_set_data_dir("data");
    err e = {0};
    int n = rules_check_dir("data/cases/rules", &e);
    if (n < 0) fprintf(stderr, "    %s\n", e.message);
    json_t *instant = read_jsonl_instant();
    CHECK(json_object_size(instant) >= 50);
    CHECK_INT(n, json_object_size(instant));
    json_t *types = json_load_file("data/catalog/licences.json", 0, NULL);
    json_t *forms = json_load_file("data/cases/forms.json", 0, NULL);
    const char *code;
    json_t *v;
    json_object_foreach(instant, code, v) {
        json_t *doc = rules_load(code, &e);
        if (!doc) {
            fprintf(stderr, "    %s: %s\n", code, e.message);
            CHECK(0);
            continue;
        }
        /* Every licence type is a catalog type. */
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(doc, "rules"), i, r) {
            const char *t = jsonx_str(r, "licence");
            if (!t) continue;
            int known = 0;
            size_t k;
            json_t *ty;
            json_array_foreach(types, k, ty) {
                if (!strcmp(jsonx_str(ty, "type"), t)) known = 1;
            }
            if (!known) fprintf(stderr, "    %s: unknown licence type %s\n", code, t);
            CHECK(known);
        }
        /* A field also defined by the item's form is defined the same way. */
        json_t *form = json_object_get(forms, code);
        json_t *f;
        json_array_foreach(json_object_get(doc, "fields"), i, f) {
            size_t k;
            json_t *g;
            json_array_foreach(form, k, g) {
                if (strcmp(jsonx_str(g, "name"), jsonx_str(f, "name"))) continue;
                if (!json_equal(f, g))
                    fprintf(stderr, "    %s: field %s differs from forms.json\n", code,
                            jsonx_str(f, "name"));
                CHECK(json_equal(f, g));
            }
        }
        json_decref(doc);
    }
    json_decref(types);
    json_decref(forms);
    json_decref(instant);
    rules_set_data_dir(NULL);
}

/* The shipped rules on the demo wallet: 张阿婆 (74, 金塘) gets her 老年人优待证 at once;
 * the 无房证明 goes to a person, since she owns a house. */
TEST(rules_shipped_files_on_demo_data) {
    rules_set_data_dir("data");
    db *d = test_db_open();
    if (!d) {
        CHECK(0);
        return;
    }
    err e = {0};
    int64_t citizen = 0;
    db_query_int(d, &e, &citizen,
                 "INSERT INTO users (login, display_name, role, password_hash, id_number, "
                 "town_code, created_at, updated_at, password_changed_at) VALUES ('citizen', "
                 "'张阿婆', 'citizen', 'x', $1, '330902100', $2, $2, $2) RETURNING id",
                 "ss", CITIZEN, "2026-01-01T00:00:00Z");
    CHECK_INT(licences_demo(d, NULL, &e), 0);
    json_t *form = json_pack("{s:s}", "delivery", "邮寄");
    rules_input in = {.item_code = "330900-MZ-300010",
                      .applicant_id = citizen,
                      .applicant_role = "citizen",
                      .id_number = CITIZEN,
                      .town_code = "330902100",
                      .form = form,
                      .now_iso = NULL};
    json_t *trace = NULL;
    CHECK_INT(rules_decide(d, &in, &trace, &e), RULES_APPROVE);
    json_decref(trace);
    json_decref(form);
    form = json_pack("{s:s, s:s}", "applicant_type", "本人查询", "purpose", "购房资格审核");
    in.item_code = "330921-XZ-700049";
    in.form = form;
    CHECK_INT(rules_decide(d, &in, &trace, &e), RULES_HUMAN);
    CHECK_STR(result_of(trace, "no_property"), "fail");
    json_decref(trace);
    json_decref(form);
    db_close(d);
    rules_set_data_dir(NULL);
}
