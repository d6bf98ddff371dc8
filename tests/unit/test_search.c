/* Unit tests for src/search/: normalisation, segmentation, pinyin, synonyms,
 * typos, ranking, filters, incremental changes and suggest. White-box: the
 * module's internal header is used for the analysis functions.
 *
 * Run from the repository root: resources come from data/search/ and the
 * items from data/catalog/items.jsonl (the shipped reference catalog). */
#include "test.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "search/internal.h"
#include "search/search.h"

#define DATA_DIR   "data"
#define ITEMS_FILE "data/catalog/items.jsonl"

static search_engine *shared_engine;

/* One engine with the reference catalog, built once for the tests that only read. */
static search_engine *engine(void) {
    if (shared_engine) return shared_engine;
    err e = {0};
    if (search_engine_open(DATA_DIR, &shared_engine, &e) != 0) {
        fprintf(stderr, "    search_engine_open: %s\n", e.message);
        return NULL;
    }
    FILE *f = fopen(ITEMS_FILE, "r");
    if (!f) {
        fprintf(stderr, "    cannot open %s\n", ITEMS_FILE);
        return shared_engine;
    }
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 1) {
        json_t *item = json_loads(line, 0, NULL);
        if (item && search_engine_put(shared_engine, item, &e) != 0)
            fprintf(stderr, "    put: %s\n", e.message);
        json_decref(item);
    }
    free(line);
    fclose(f);
    search_engine_trim(shared_engine);
    return shared_engine;
}

__attribute__((destructor)) static void free_engine(void) {
    search_engine_free(shared_engine);
    search_thread_cleanup();
}

/* Rank (1-based) of code among the first `limit` hits for q, 0 when absent. */
static int rank_of(search_engine *s, const char *q, const char *code, int limit) {
    search_result *res = search_result_new();
    search_request rq = {.q = q, .limit = limit};
    err e = {0};
    int rank = 0;
    if (search_run(s, &rq, res, &e) == 0)
        for (int i = 0; i < res->nhits && !rank; i++)
            if (!strcmp(res->hits[i].code, code)) rank = i + 1;
    free(res);
    return rank;
}

static void top_code(search_engine *s, const char *q, char *out, size_t n) {
    search_result *res = search_result_new();
    search_request rq = {.q = q, .limit = 1};
    err e = {0};
    out[0] = '\0';
    if (search_run(s, &rq, res, &e) == 0 && res->nhits) snprintf(out, n, "%s", res->hits[0].code);
    free(res);
}

TEST(search_normalize_width_case_traditional) {
    search_engine *s = engine();
    CHECK(s != NULL);
    if (!s) return;
    char out[512];
    search_normalize(s, "ＹＹＺＺ　补办", out, sizeof(out));
    CHECK_STR(out, "yyzz 补办");
    search_normalize(s, "營業執照", out, sizeof(out));
    CHECK_STR(out, "营业执照");
    search_normalize(s, "房產證遺失補辦", out, sizeof(out));
    CHECK_STR(out, "房产证遗失补办");
    search_normalize(s, "老人证（优待证）在哪里办？", out, sizeof(out));
    CHECK_STR(out, "老人证 优待证 在哪里办");
    search_normalize(s, "  Shè Bǎo  ", out, sizeof(out));
    CHECK_STR(out, "she bao");
    search_normalize(s, "lǜ", out, sizeof(out));
    CHECK_STR(out, "lv");
    /* Invalid UTF-8 separates instead of passing through. */
    search_normalize(s,
                     "a\xff\xfe"
                     "b",
                     out, sizeof(out));
    CHECK_STR(out, "a b");
}

/* Segment a UTF-8 string and join the words with '/'. */
static void segment_str(search_engine *s, const char *text, char *out, size_t cap) {
    uint32_t cps[128];
    size_t n = 0, i = 0, len = strlen(text);
    while (i < len && n < 128)
        cps[n++] = su_next(text, len, &i);
    uint16_t ends[128];
    size_t nw = lex_segment(s->lex, cps, n, ends), o = 0, start = 0;
    for (size_t w = 0; w < nw; w++) {
        if (w && o + 1 < cap) out[o++] = '/';
        for (size_t k = start; k < ends[w] && o + 4 < cap; k++)
            o += su_put(out + o, cps[k]);
        start = ends[w];
    }
    out[o] = '\0';
}

TEST(search_segmentation_dictionary_path) {
    search_engine *s = engine();
    if (!s) return;
    char out[512];
    segment_str(s, "我想办理营业执照", out, sizeof(out));
    CHECK_STR(out, "我/想/办理/营业执照");
    segment_str(s, "身份证丢了怎么补办", out, sizeof(out));
    CHECK_STR(out, "身份证/丢/了/怎么/补办");
    segment_str(s, "结婚登记需要带哪些材料", out, sizeof(out));
    CHECK_STR(out, "结婚登记/需要/带/哪些/材料");
    /* Sub-words of a long word, as the index uses them. */
    uint32_t cps[] = {0x4F4F, 0x623F, 0x516C, 0x79EF, 0x91D1}; /* 住房公积金 */
    uint16_t ends[8];
    size_t n = lex_split_word(s->lex, cps, 5, ends);
    CHECK(n >= 2);
    CHECK(lex_is_word(s->lex, "公积金", strlen("公积金")));
}

static const char *syllable_of(search_engine *s, uint32_t cp, size_t k) {
    const uint16_t *ids;
    size_t n = lex_readings(s->lex, cp, &ids);
    return k < n ? s->lex->syllable[ids[k]] : "";
}

static int has_reading(search_engine *s, uint32_t cp, const char *syl) {
    const uint16_t *ids;
    size_t n = lex_readings(s->lex, cp, &ids);
    for (size_t k = 0; k < n; k++)
        if (!strcmp(s->lex->syllable[ids[k]], syl)) return 1;
    return 0;
}

TEST(search_pinyin_readings_and_syllables) {
    search_engine *s = engine();
    if (!s) return;
    CHECK_STR(syllable_of(s, 0x793E, 0), "she"); /* 社 */
    /* Polyphones keep every reading, the customary one first. */
    CHECK_STR(syllable_of(s, 0x884C, 0), "xing"); /* 行 */
    CHECK(has_reading(s, 0x884C, "hang"));
    CHECK(has_reading(s, 0x957F, "chang")); /* 长 */
    CHECK(has_reading(s, 0x957F, "zhang"));
    CHECK(has_reading(s, 0x8584, "bu")); /* 薄, as in 户口薄 for 户口簿 */
    uint16_t ids[3 * 64];
    uint8_t ends[3 * 64];
    int nsyl[3];
    int np = lex_syllabify(s->lex, "shenfenzheng", 12, ids, ends, nsyl, 3);
    CHECK(np >= 1);
    if (np >= 1) {
        CHECK_INT(nsyl[0], 3);
        CHECK_STR(s->lex->syllable[ids[0]], "shen");
        CHECK_STR(s->lex->syllable[ids[2]], "zheng");
    }
    CHECK_INT(lex_syllabify(s->lex, "sfz", 3, ids, ends, nsyl, 3), 0);
    /* "xian" is one syllable, not xi + an. */
    np = lex_syllabify(s->lex, "xian", 4, ids, ends, nsyl, 3);
    CHECK(np >= 1 && nsyl[0] == 1);
}

TEST(search_pinyin_initials_and_mixed_queries) {
    search_engine *s = engine();
    if (!s) return;
    CHECK_INT(rank_of(s, "shenfenzheng", "330900-GA-100014", 5) > 0, 1);
    CHECK_INT(rank_of(s, "sfz", "330900-GA-100013", 5) > 0, 1);
    CHECK_INT(rank_of(s, "yyzz", "330900-SC-400014", 5) > 0, 1);
    CHECK_INT(rank_of(s, "jiehundengji", "330902-MZ-300001", 1), 1);
    /* Mixed Han and pinyin. */
    CHECK_INT(rank_of(s, "社bao卡", "330900-RS-200021", 5) > 0, 1);
    CHECK_INT(rank_of(s, "gjj 提取", "330900-GJJ-200047", 5) > 0, 1);
    /* Full-width letters are normalised first. */
    CHECK_INT(rank_of(s, "ｙｙｚｚ 补办", "330900-SC-400014", 3) > 0, 1);
}

TEST(search_synonyms_shipped_and_added) {
    search_engine *s = engine();
    if (!s) return;
    char code[64];
    top_code(s, "老人证", code, sizeof(code));
    CHECK_STR(code, "330900-MZ-300010");
    top_code(s, "准生证", code, sizeof(code));
    CHECK_STR(code, "330903-WJ-300017");
    CHECK_INT(rank_of(s, "驾照", "330900-GA-100041", 5) > 0, 1);
    /* Initials of a synonym's term: sbk = 社保卡 → 社会保障卡. */
    CHECK_INT(rank_of(s, "sbk", "330900-RS-200021", 3) > 0, 1);
    /* A staff synonym takes effect at once and goes away again. */
    CHECK_INT(rank_of(s, "鸡毛信", "330900-GA-100052", 5), 0);
    search_synonym_in extra[] = {{.term = "鸡毛信", .canonical = "机动车号牌", .id = 7}};
    search_engine_set_synonyms(s, extra, 1);
    CHECK(rank_of(s, "鸡毛信", "330900-GA-100052", 5) > 0);
    CHECK(rank_of(s, "jmx", "330900-GA-100052", 5) > 0);
    search_engine_set_synonyms(s, NULL, 0);
    CHECK_INT(rank_of(s, "鸡毛信", "330900-GA-100052", 5), 0);
}

TEST(search_typos_homophones_and_one_edit) {
    search_engine *s = engine();
    if (!s) return;
    /* Homophones: 只/执, 分/份, 体/提. */
    CHECK_INT(rank_of(s, "营业只照", "330900-SC-400001", 5) > 0 ||
                  rank_of(s, "营业只照", "330900-SC-400014", 5) > 0,
              1);
    CHECK(rank_of(s, "身分证", "330900-GA-100014", 5) > 0);
    CHECK(rank_of(s, "公积金体取", "330900-GJJ-200047", 5) > 0);
    /* One different character in the name: 扑捞 for 捕捞. */
    char code[64];
    top_code(s, "扑捞许可证", code, sizeof(code));
    CHECK(!strncmp(code + 7, "HY-6000", 7));
}

TEST(search_ranking_order) {
    search_engine *s = engine();
    if (!s) return;
    /* The item named exactly so comes first. */
    char code[64];
    top_code(s, "出生登记", code, sizeof(code));
    CHECK_STR(code, "330900-GA-100001");
    top_code(s, "失业登记", code, sizeof(code));
    CHECK_STR(code, "330903-RS-200014");
    /* Question words do not decide: the item still wins. */
    top_code(s, "结婚登记要多久", code, sizeof(code));
    CHECK_STR(code, "330902-MZ-300001");
    /* Scores descend. */
    search_result *res = search_result_new();
    search_request rq = {.q = "护照", .limit = 10, .highlight = 1};
    err e = {0};
    CHECK_INT(search_run(s, &rq, res, &e), 0);
    CHECK(res->nhits >= 3);
    for (int i = 1; i < res->nhits; i++)
        CHECK(res->hits[i - 1].score >= res->hits[i].score);
    CHECK(strstr(res->hits[0].highlight, "<mark>") != NULL);
    CHECK(res->total >= 3);
    /* A query that matches nothing. */
    rq.q = "9876543";
    CHECK_INT(search_run(s, &rq, res, &e), 0);
    CHECK_INT(res->total, 0);
    CHECK_INT(res->nhits, 0);
    free(res);
}

TEST(search_filters_and_facets) {
    search_engine *s = engine();
    if (!s) return;
    search_result *res = search_result_new();
    err e = {0};
    search_request rq = {.q = "登记", .limit = 100, .facets = 1};
    CHECK_INT(search_run(s, &rq, res, &e), 0);
    int all = res->total;
    CHECK(all > 10);
    CHECK(res->ndepartments > 1);
    CHECK(res->ntypes >= 1);
    int sum = 0;
    for (int i = 0; i < res->ntypes; i++)
        sum += res->types[i].count;
    CHECK_INT(sum, all);
    rq.department = "舟山市公安局";
    CHECK_INT(search_run(s, &rq, res, &e), 0);
    CHECK(res->total > 0 && res->total < all);
    for (int i = 0; i < res->nhits; i++)
        CHECK_STR(res->hits[i].department, "舟山市公安局");
    rq.department = NULL;
    rq.type = "行政确认";
    CHECK_INT(search_run(s, &rq, res, &e), 0);
    for (int i = 0; i < res->nhits; i++)
        CHECK_STR(res->hits[i].type, "行政确认");
    rq.type = NULL;
    rq.instant = 1;
    CHECK_INT(search_run(s, &rq, res, &e), 0);
    for (int i = 0; i < res->nhits; i++)
        CHECK_INT(res->hits[i].instant, 1);
    rq.instant = 0;
    rq.commitment = 1;
    CHECK_INT(search_run(s, &rq, res, &e), 0);
    for (int i = 0; i < res->nhits; i++)
        CHECK_INT(res->hits[i].commitment, 1);
    rq.commitment = 0;
    rq.department = "没有这个部门";
    CHECK_INT(search_run(s, &rq, res, &e), 0);
    CHECK_INT(res->total, 0);
    /* Limits. */
    char longq[SEARCH_QUERY_MAX_BYTES + 2];
    memset(longq, 'a', sizeof(longq) - 1);
    longq[sizeof(longq) - 1] = '\0';
    search_request bad = {.q = longq};
    CHECK_INT(search_run(s, &bad, res, &e), -1);
    CHECK_INT(e.status, 400);
    search_request badlimit = {.q = "护照", .limit = SEARCH_MAX_LIMIT + 1};
    CHECK_INT(search_run(s, &badlimit, res, &e), -1);
    free(res);
}

TEST(search_suggest_prefixes) {
    search_engine *s = engine();
    if (!s) return;
    search_hit hits[SEARCH_SUGGEST_MAX];
    err e = {0};
    int n = search_suggest(s, "居民身份", 5, hits, &e);
    CHECK(n >= 3);
    for (int i = 0; i < n && i < 3; i++)
        CHECK(strstr(hits[i].name, "居民身份证") != NULL);
    n = search_suggest(s, "hz", 10, hits, &e);
    int passport = 0;
    for (int i = 0; i < n; i++)
        passport |= strstr(hits[i].name, "护照") != NULL;
    CHECK(passport);
    n = search_suggest(s, "shehuibao", 5, hits, &e);
    CHECK(n > 0 && strstr(hits[0].name, "社会保") != NULL);
    /* A word inside the name: 护照 finds 普通护照…. */
    n = search_suggest(s, "护照", 3, hits, &e);
    CHECK(n >= 3 && strstr(hits[0].name, "护照") != NULL);
    CHECK_INT(search_suggest(s, "", 5, hits, &e), 0);
}

static void count_fail(void *ctx, const err *e) {
    (void)e;
    (*(int *)ctx)++;
}

/* The bulk loader (worker thread, postings appended in term order at the end)
 * indexes the same as search_engine_put, replacements and compaction included. */
TEST(search_loader_bulk) {
    err e = {0};
    search_engine *s;
    CHECK_INT(search_engine_open(DATA_DIR, &s, &e), 0);
    if (!s) return;
    int fails = 0;
    search_loader *l = search_loader_start(s, count_fail, &fails);
    char code[40];
    for (int i = 0; i < 400; i++) {
        snprintf(code, sizeof(code), "330900-XX-%06d", i % 150);
        json_t *it = json_pack("{s:s, s:s, s:s, s:s, s:[s]}", "code", code, "name",
                               i % 3 ? "海岛船只停泊登记" : "海岛渔民养老补贴申领", "department",
                               "舟山市测试局", "type", "公共服务", "keywords", "渔民养老");
        search_loader_put(l, it);
        json_decref(it);
    }
    json_t *bad = json_pack("{s:s}", "name", "没有编码");
    search_loader_put(l, bad);
    json_decref(bad);
    long failed = -1;
    uint64_t ns = 0;
    err le = {0};
    CHECK_INT((int)search_loader_finish(l, &failed, &ns, &le), 400);
    CHECK_INT((int)failed, 1);
    CHECK_INT(fails, 1);
    CHECK_INT(le.status, 400);
    CHECK_INT((int)search_engine_count(s), 150);
    /* Code c was last written by i = c + 300 (c < 100) or c + 150: named 养老… when
     * i % 3 == 0 (code 0), else 停泊… (code 1). */
    CHECK_INT(rank_of(s, "停泊登记", "330900-XX-000000", 100), 0);
    CHECK(rank_of(s, "停泊登记", "330900-XX-000001", 100) > 0);
    CHECK(rank_of(s, "养老补贴申领", "330900-XX-000000", 100) > 0);
    search_engine_free(s);
}

/* The bulk load's JSON scanner reads an item exactly as jansson + sitem_from_json
 * do (escapes, odd values, duplicate keys), and refuses what it cannot read. */
static int same_str(const char *a, const char *b) {
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static int sitem_same(const sitem *x, const sitem *y) {
    if (!same_str(x->code, y->code) || !same_str(x->name, y->name) ||
        strcmp(x->department, y->department) || strcmp(x->type, y->type) ||
        strcmp(x->conditions, y->conditions) || strcmp(x->result, y->result) ||
        strcmp(x->fee, y->fee) || x->popularity != y->popularity ||
        x->promise_days != y->promise_days || x->online_depth != y->online_depth ||
        x->commitment != y->commitment || x->instant != y->instant || x->scope != y->scope ||
        x->handle_at != y->handle_at)
        return 0;
    for (int k = 0; k < SP_COUNT; k++) {
        if (x->n[k] != y->n[k]) return 0;
        for (size_t i = 0; i < x->n[k]; i++)
            if (!same_str(x->list[k][i], y->list[k][i])) return 0;
    }
    return 1;
}

TEST(search_scan_matches_jansson) {
    const char *texts[] = {
        "{\"code\":\"330900-XX-000001\",\"name\":\"\\u51fa\\u751f\\u767b\\u8bb0 \\ud83d\\ude00\","
        "\"department\":\"舟山市\\\"公安\\\"局\\n\",\"type\":7,\"keywords\":[\"出生\",3,null,"
        "\"a\\/"
        "b\\\\c\\t\"],\"materials\":[{\"name\":\"身份证\",\"x\":{\"y\":[1,2,{}]}},\"str\",{}],"
        "\"process\":[],\"faq\":[{\"q\":\"问\"},{\"a\":\"答\",\"q\":\"问2\",\"q\":\"问3\"}],"
        "\"popularity\":12,\"promise_days\":2.5,\"online_depth\":3,\"commitment\":true,"
        "\"instant\":false,\"scope\":[\"全省通办\",\"甬舟通办\",1],\"handle_at\":[\"浙里办\","
        "\"村（社区）便民服务站\"],\"conditions\":\"条件\",\"result\":\"结果\",\"fee\":\"不收费\","
        "\"extra_key_longer_than_sixteen\":[true,false,null,-1.5e3]}",
        " { \"name\" : \"只有名称\" , \"online_depth\" : 2.0 , \"keywords\" : \"不是数组\" } ",
        "{\"code\":\"A\",\"code\":\"B\",\"keywords\":[\"x\"],\"keywords\":[\"y\",\"z\"],"
        "\"commitment\":\"true\",\"popularity\":\"5\"}",
        "{}",
    };
    sitem a = {0}, b = {0};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        json_error_t je;
        json_t *item = json_loads(texts[i], 0, &je);
        CHECK(item != NULL);
        if (!item) continue;
        sitem_from_json(&a, item);
        CHECK_INT(sitem_scan(&b, texts[i], strlen(texts[i])), 0);
        CHECK(sitem_same(&a, &b));
        json_decref(item);
    }
    /* The reference catalog, line by line. */
    FILE *f = fopen(ITEMS_FILE, "r");
    CHECK(f != NULL);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lines = 0, same = 0;
    while (f && (n = getline(&line, &cap, f)) > 1) {
        json_t *item = json_loadb(line, (size_t)n, 0, NULL);
        if (!item) continue;
        lines++;
        sitem_from_json(&a, item);
        same += sitem_scan(&b, line, (size_t)n) == 0 && sitem_same(&a, &b);
        json_decref(item);
    }
    CHECK(lines > 300);
    CHECK_INT(same, lines);
    free(line);
    if (f) fclose(f);
    const char *bad[] = {"",
                         "{",
                         "{\"code\":\"A\"",
                         "{\"code\":\"A\"} x",
                         "[1]",
                         "{\"name\":\"a\\u0000b\"}",
                         "{\"name\":\"\\ud800\"}",
                         "{\"name\":\"a\\q\"}",
                         "{\"a\":[1,2}",
                         "{\"name\":\"tab\there\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CHECK_INT(sitem_scan(&b, bad[i], strlen(bad[i])), -1);
    sitem_free(&a);
    sitem_free(&b);

    /* The loader's text path: scanned, jansson for what the scanner refuses, the
     * popularity given replacing the document's, refusals counted. */
    err e = {0};
    search_engine *s;
    CHECK_INT(search_engine_open(DATA_DIR, &s, &e), 0);
    if (!s) return;
    int fails = 0;
    search_loader *l = search_loader_start(s, count_fail, &fails);
    const char *docs[] = {
        "{\"code\":\"330900-XX-000001\",\"name\":\"海岛船只停泊登记\",\"popularity\":1}",
        "{\"code\":\"330900-XX-000002\",\"name\":\"海岛渔民养老补贴申领\"}",
        "{\"code\":\"330900-XX-000003\",\"name\":\"海岛渔民养老补贴申领\"",
        "{\"name\":\"没有编码\"}",
    };
    for (int i = 0; i < 4; i++)
        search_loader_put_text(l, strdup(docs[i]), strlen(docs[i]), 1000.0 * i);
    long failed = -1;
    CHECK_INT((int)search_loader_finish(l, &failed, NULL, &e), 2);
    CHECK_INT((int)failed, 2);
    CHECK_INT(fails, 2);
    CHECK_INT(rank_of(s, "停泊登记", "330900-XX-000001", 5), 1);
    CHECK_INT(rank_of(s, "养老补贴", "330900-XX-000002", 5), 1);
    CHECK_INT(rank_of(s, "养老补贴", "330900-XX-000003", 5), 0);
    pthread_rwlock_rdlock(&s->lock);
    uint32_t *id = shash_get(&s->codes, "330900-XX-000002", 16);
    CHECK(id && s->docs[*id].popularity == 1000.0f);
    pthread_rwlock_unlock(&s->lock);
    search_engine_free(s);
}

TEST(search_incremental_put_and_remove) {
    err e = {0};
    search_engine *s;
    CHECK_INT(search_engine_open(DATA_DIR, &s, &e), 0);
    if (!s) return;
    json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:[s], s:i}", "code", "330900-XX-000001", "name",
                          "海岛渔民养老补贴申领", "department", "舟山市测试局", "type", "公共服务",
                          "keywords", "渔民养老", "online_depth", 4);
    json_t *b = json_pack("{s:s, s:s, s:s, s:s}", "code", "330900-XX-000002", "name",
                          "海岛船只停泊登记", "department", "舟山市测试局", "type", "行政确认");
    CHECK_INT(search_engine_put(s, a, &e), 0);
    CHECK_INT(search_engine_put(s, b, &e), 0);
    CHECK_INT((int)search_engine_count(s), 2);
    CHECK_INT(rank_of(s, "渔民养老", "330900-XX-000001", 5), 1);
    /* Replacing an item re-indexes it: the old name no longer matches. */
    json_object_set_new(a, "name", json_string("海岛渔民医疗补助申领"));
    json_object_set_new(a, "keywords", json_array());
    CHECK_INT(search_engine_put(s, a, &e), 0);
    CHECK_INT((int)search_engine_count(s), 2);
    CHECK_INT(rank_of(s, "养老", "330900-XX-000001", 5), 0);
    CHECK_INT(rank_of(s, "医疗补助", "330900-XX-000001", 5), 1);
    CHECK_INT(search_engine_remove(s, "330900-XX-000002"), 0);
    CHECK_INT(search_engine_remove(s, "330900-XX-000002"), 1);
    CHECK_INT(rank_of(s, "停泊登记", "330900-XX-000002", 5), 0);
    /* Many replacements trigger compaction; results stay right. */
    for (int i = 0; i < 300; i++)
        CHECK_INT(search_engine_put(s, a, &e), 0);
    CHECK_INT((int)search_engine_count(s), 1);
    CHECK_INT(rank_of(s, "医疗补助", "330900-XX-000001", 5), 1);
    json_t *bad = json_pack("{s:s}", "name", "没有编码");
    CHECK_INT(search_engine_put(s, bad, &e), -1);
    CHECK_INT(e.status, 400);
    json_decref(bad);
    json_decref(a);
    json_decref(b);
    search_engine_free(s);
}

/* Many copies of a few 事项 under shared names (a province's catalog): the bulk
 * loader (suggest entries sorted once, by string rank) and one-by-one puts give
 * the same suggest order, which is (form, string, item) order, and the same
 * answers; long lists carry a correct skip array, after compaction too. */
static const char *sugg_form_str(const search_engine *s, const sugg_entry *e) {
    const sdoc *d = &s->docs[e->doc];
    return (e->form == 0 ? d->name : e->form == 1 ? d->pinyin : d->initials) + e->off;
}

static int sugg_in_order(const search_engine *s) {
    for (size_t i = 1; i < s->nsugg; i++) {
        const sugg_entry *x = &s->sugg[i - 1], *y = &s->sugg[i];
        int c = x->form != y->form ? x->form - y->form
                                   : strcmp(sugg_form_str(s, x), sugg_form_str(s, y));
        if (c > 0 || (c == 0 && x->doc >= y->doc)) return 0;
    }
    return s->nsugg > 0;
}

static int skips_valid(const search_engine *s, size_t *nlong) {
    for (size_t t = 0; t < s->nterms; t++) {
        const plist *ls[2] = {&s->term[t].hi, &s->term[t].lo};
        for (int k = 0; k < 2; k++) {
            const plist *p = ls[k];
            uint32_t want =
                p->n >= PLIST_SKIP_MIN ? (p->n + PLIST_SKIP_STEP - 1) / PLIST_SKIP_STEP : 0;
            if (p->nskip != want) return 0;
            for (uint32_t j = 0; j < want; j++)
                if (p->skip[j] != p->doc[j * PLIST_SKIP_STEP]) return 0;
            *nlong += want > 0;
        }
    }
    return 1;
}

static json_t *copy_item(int i) {
    static const char *names[] = {"出生登记",           "普通护照签发",   "营业执照变更登记",
                                  "渔业捕捞许可证核发", "社会保障卡申领", "老年人优待证办理"};
    static const char *towns[] = {"西湖区", "定海区", "岱山县", "嵊泗县"};
    char code[40], name[128];
    snprintf(code, sizeof(code), "330900-XX-%06d", i);
    const char *base = names[i % 6];
    if (i % 5 == 1)
        snprintf(name, sizeof(name), "%s%s", towns[i % 4], base);
    else if (i % 5 == 2)
        snprintf(name, sizeof(name), "%s（%s）", base, towns[(i / 7) % 4]);
    else
        snprintf(name, sizeof(name), "%s", base);
    return json_pack("{s:s, s:s, s:s, s:s, s:[s], s:[{s:s}], s:i}", "code", code, "name", name,
                     "department", i % 2 ? "舟山市测试局" : "杭州市西湖区测试局", "type",
                     "公共服务", "keywords", "办证", "materials", "name", "居民身份证",
                     "popularity", i % 97);
}

static int same_answers(search_engine *a, search_engine *b, const char *q) {
    search_result *ra = search_result_new(), *rb = search_result_new();
    search_request rq = {.q = q, .limit = 20};
    err e = {0};
    int same = search_run(a, &rq, ra, &e) == 0 && search_run(b, &rq, rb, &e) == 0 &&
               ra->total == rb->total && ra->nhits == rb->nhits && ra->nhits > 0;
    for (int i = 0; same && i < ra->nhits; i++)
        same =
            !strcmp(ra->hits[i].code, rb->hits[i].code) && ra->hits[i].score == rb->hits[i].score;
    free(ra);
    free(rb);
    return same;
}

TEST(search_copies_bulk_equals_puts) {
    err e = {0};
    search_engine *a, *b;
    CHECK_INT(search_engine_open(DATA_DIR, &a, &e), 0);
    CHECK_INT(search_engine_open(DATA_DIR, &b, &e), 0);
    if (!a || !b) return;
    int fails = 0;
    search_loader *l = search_loader_start(a, count_fail, &fails);
    for (int i = 0; i < 3000; i++) {
        json_t *it = copy_item(i);
        search_loader_put(l, it);
        CHECK_INT(search_engine_put(b, it, &e), 0);
        json_decref(it);
    }
    CHECK_INT((int)search_loader_finish(l, NULL, NULL, &e), 3000);
    search_engine_trim(a);
    search_engine_trim(b);
    CHECK(sugg_in_order(a));
    CHECK(sugg_in_order(b));
    CHECK_INT((int)a->nsugg, (int)b->nsugg);
    CHECK(a->nsugg == b->nsugg && !memcmp(a->sugg, b->sugg, a->nsugg * sizeof(*a->sugg)));
    size_t nlong = 0;
    CHECK(skips_valid(a, &nlong));
    CHECK(nlong > 0);
    CHECK(skips_valid(b, &nlong));
    const char *qs[] = {"出生登记", "护照", "yyzz", "定海区 社保卡", "捕捞许可", "身份证 老年人"};
    for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++)
        CHECK(same_answers(a, b, qs[k]));
    /* Remove 30% of the items from both (compaction rewrites the lists). */
    char code[40];
    for (int i = 0; i < 3000; i++) {
        if (i % 10 >= 3) continue;
        snprintf(code, sizeof(code), "330900-XX-%06d", i);
        CHECK_INT(search_engine_remove(a, code), 0);
        CHECK_INT(search_engine_remove(b, code), 0);
    }
    json_t *it = copy_item(3000);
    CHECK_INT(search_engine_put(a, it, &e), 0);
    CHECK_INT(search_engine_put(b, it, &e), 0);
    json_decref(it);
    CHECK(skips_valid(a, &nlong));
    CHECK(skips_valid(b, &nlong));
    CHECK(sugg_in_order(a));
    for (size_t k = 0; k < sizeof(qs) / sizeof(qs[0]); k++)
        CHECK(same_answers(a, b, qs[k]));
    search_engine_free(a);
    search_engine_free(b);
}

/* The answer cache keeps every one of a few hundred popular queries: keys that land in
 * the same place share a set instead of evicting each other on every request. */
TEST(search_cache_keeps_hundreds_of_keys) {
    search_cache_clear();
    const uint64_t gen = 424242;
    char key[64], body[64];
    for (int i = 0; i < 500; i++) {
        int kl = snprintf(key, sizeof key, "q=key%d&limit=10", i);
        int bl = snprintf(body, sizeof body, "{\"n\":%d}", i);
        search_cache_put(gen, key, (size_t)kl, body, (size_t)bl, "norm", i);
    }
    int hits = 0;
    for (int i = 0; i < 500; i++) {
        int kl = snprintf(key, sizeof key, "q=key%d&limit=10", i);
        search_cached c = {0};
        if (search_cache_get(gen, key, (size_t)kl, &c)) {
            char want[64];
            snprintf(want, sizeof want, "{\"n\":%d}", i);
            if (!strcmp(c.body, want) && c.total == i) hits++;
            free(c.body);
        }
    }
    CHECK_INT(hits, 500);
    /* Another generation never sees them. */
    search_cached c = {0};
    int kl = snprintf(key, sizeof key, "q=key%d&limit=10", 7);
    CHECK_INT(search_cache_get(gen + 1, key, (size_t)kl, &c), 0);
    search_cache_clear();
}
