/* Unit tests for src/assistant/: the cue lexicon, reading questions (intent and
 * what is left to search), answers built from the item's own fields, context
 * items, alternatives, the honest "I do not know", limits and errors.
 *
 * Run from the repository root: the lexicon comes from data/assistant/, the
 * items from data/catalog/items.jsonl. Expected facts are read from the items
 * themselves, never copied into the test. When the development question set is
 * beside the repository (../shared/data/search/dev-queries.tsv) the intent
 * accuracy on it is measured and must reach 0.9. */
#include "test.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assistant/assistant.h"
#include "search/search.h"

#define DATA_DIR   "data"
#define ITEMS_FILE "data/catalog/items.jsonl"
#define DEV_TSV    "../shared/data/search/dev-queries.tsv"

static search_engine *engine;
static assistant *helper;
static json_t *items; /* code → item */

static json_t *get_item(void *ctx, const char *code) {
    json_t *it = json_object_get(ctx, code);
    return it ? json_incref(it) : NULL;
}

/* The reference catalog in a search engine and an assistant, built once. */
static int setup(void) {
    if (helper) return 1;
    err e = {0};
    if (search_engine_open(DATA_DIR, &engine, &e) != 0 ||
        assistant_open(DATA_DIR, &helper, &e) != 0) {
        fprintf(stderr, "    setup: %s\n", e.message);
        return 0;
    }
    items = json_object();
    FILE *f = fopen(ITEMS_FILE, "r");
    if (!f) return 0;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 1) {
        json_t *item = json_loads(line, 0, NULL);
        if (!item) continue;
        search_engine_put(engine, item, &e);
        assistant_note_item(helper, item);
        json_object_set(items, json_string_value(json_object_get(item, "code")), item);
        json_decref(item);
    }
    free(line);
    fclose(f);
    search_engine_trim(engine);
    return 1;
}

__attribute__((destructor)) static void teardown(void) {
    assistant_free(helper);
    search_engine_free(engine);
    json_decref(items);
    search_thread_cleanup();
}

static json_t *ask(const char *question, const char *context) {
    err e = {0};
    json_t *a = assistant_answer(helper, engine, question, context, get_item, items, &e);
    if (!a) fprintf(stderr, "    ask(%s): %s\n", question, e.message);
    return a;
}

static const char *jstr(json_t *o, const char *key) {
    return json_string_value(json_object_get(o, key));
}

static assistant_intent intent_of(const char *q) {
    assistant_reading rd;
    err e = {0};
    if (assistant_read(helper, engine, q, &rd, &e) != 0) return ASSISTANT_INTENT_COUNT;
    return rd.intent;
}

/* Questions written for this test (not from the development set): every intent,
 * colloquial and traditional wording, and cues that overlap. */
TEST(assistant_intents_of_typical_questions) {
    if (!setup()) {
        CHECK(0);
        return;
    }
    static const struct {
        const char *q;
        assistant_intent want;
    } cases[] = {
        {"办居住证要带啥", ASSISTANT_MATERIALS},
        {"申请低保需要准备哪些材料", ASSISTANT_MATERIALS},
        {"需要什么证件", ASSISTANT_MATERIALS}, /* not "什么证" (find) */
        {"护照几天能拿到", ASSISTANT_TIME},
        {"不动产登记要多长时间", ASSISTANT_TIME},
        {"补办户口本收费吗", ASSISTANT_FEE},
        {"公证要多少钱", ASSISTANT_FEE},
        {"怎么收费", ASSISTANT_FEE}, /* 收费 3 beats 怎么 2 */
        {"社保卡去哪办", ASSISTANT_PLACE},
        {"婚姻登记处的地址", ASSISTANT_PLACE},
        {"出入境窗口周六上班吗", ASSISTANT_PLACE},
        {"外地人能不能办居住证", ASSISTANT_CONDITIONS},
        {"领失业金需要满足什么条件", ASSISTANT_CONDITIONS},
        {"營業執照怎麼辦理", ASSISTANT_PROCESS}, /* traditional characters */
        {"驾照到期了怎么换", ASSISTANT_PROCESS},
        {"公积金提取的流程", ASSISTANT_PROCESS},
        {"老年优待证", ASSISTANT_FIND},
        {"开小饭馆要办什么证", ASSISTANT_FIND},
        {"sfz", ASSISTANT_FIND},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assistant_intent got = intent_of(cases[i].q);
        if (got != cases[i].want)
            fprintf(stderr, "    %s: %s, expected %s\n", cases[i].q, assistant_intent_name(got),
                    assistant_intent_name(cases[i].want));
        CHECK_INT(got, cases[i].want);
    }
}

TEST(assistant_read_strips_question_words) {
    if (!setup()) {
        CHECK(0);
        return;
    }
    assistant_reading rd;
    err e = {0};
    CHECK_INT(assistant_read(helper, engine, "请问，居住证要带什么材料？", &rd, &e), 0);
    CHECK_STR(rd.rest, "居住证");
    CHECK_INT(rd.intent, ASSISTANT_MATERIALS);
    CHECK(rd.scores[ASSISTANT_MATERIALS] >= ASSISTANT_MIN_INTENT_SCORE);
    /* "keep" cues stay in the search text: 资格 may name the item. */
    CHECK_INT(assistant_read(helper, engine, "资格认定多久", &rd, &e), 0);
    CHECK(strstr(rd.rest, "资格") != NULL);
    CHECK_INT(rd.intent, ASSISTANT_TIME);
}

TEST(assistant_discount_words_of_the_item_name) {
    if (!setup()) {
        CHECK(0);
        return;
    }
    assistant_reading rd;
    err e = {0};
    /* 条件 asks about conditions, unless it is part of the item's name. */
    CHECK_INT(assistant_read(helper, engine, "动物防疫条件合格证", &rd, &e), 0);
    CHECK_INT(rd.intent, ASSISTANT_CONDITIONS);
    assistant_reading_discount(&rd, "动物防疫条件合格证核发");
    CHECK_INT(rd.intent, ASSISTANT_FIND);
    CHECK_INT(assistant_read(helper, engine, "动物防疫条件合格证要什么条件", &rd, &e), 0);
    assistant_reading_discount(&rd, "动物防疫条件合格证核发");
    CHECK_INT(rd.intent, ASSISTANT_CONDITIONS);
}

/* Materials: every required material is named, those with an e-licence are 免提交,
 * optional ones are not listed as required. */
TEST(assistant_materials_answer_from_the_item) {
    if (!setup()) {
        CHECK(0);
        return;
    }
    const char *code = "330900-GA-100001";
    json_t *item = json_object_get(items, code);
    json_t *a = ask("要带什么材料", code);
    CHECK(item && a);
    if (!item || !a) {
        json_decref(a);
        return;
    }
    CHECK_STR(jstr(a, "item"), code);
    CHECK_STR(jstr(a, "intent"), "materials");
    char link[64];
    snprintf(link, sizeof(link), "/items/%s", code);
    CHECK_STR(jstr(a, "link"), link);
    const char *text = jstr(a, "answer");
    size_t i;
    json_t *m;
    int required = 0, licensed = 0;
    json_array_foreach(json_object_get(item, "materials"), i, m) {
        const char *name = jstr(m, "name");
        if (json_is_true(json_object_get(m, "required"))) {
            required++;
            if (!strstr(text, name)) fprintf(stderr, "    missing %s in %s\n", name, text);
            CHECK(strstr(text, name) != NULL);
            if (json_is_string(json_object_get(m, "licence"))) licensed++;
        }
    }
    CHECK(required > 0);
    CHECK((licensed > 0) == (strstr(text, "免提交") != NULL));
    CHECK_INT(json_array_size(json_object_get(a, "alternatives")), 0); /* context given */
    json_decref(a);
}

TEST(assistant_time_fee_place_conditions_process_answers) {
    if (!setup()) {
        CHECK(0);
        return;
    }
    const char *iter_key;
    json_t *item;
    int checked = 0;
    /* A handful of items of different shapes: their fields decide the wording. */
    json_object_foreach(items, iter_key, item) {
        if (checked++ % 37 != 0) continue;
        const char *code = jstr(item, "code");
        json_t *t = ask("多久能办好", code);
        json_t *f = ask("收费吗", code);
        json_t *p = ask("在哪里办", code);
        json_t *c = ask("需要什么条件", code);
        json_t *s = ask("怎么办理", code);
        CHECK(t && f && p && c && s);
        if (t && f && p && c && s) {
            double promise = json_number_value(json_object_get(item, "promise_days"));
            double legal = json_number_value(json_object_get(item, "legal_days"));
            const char *tt = jstr(t, "answer");
            CHECK_STR(jstr(t, "intent"), "time");
            CHECK(strstr(tt, legal > 0 || promise > 0 ? "工作日" : "即办") != NULL);
            if (promise == 0) CHECK(strstr(tt, "即办") != NULL);
            CHECK_STR(jstr(f, "intent"), "fee");
            CHECK(strstr(jstr(f, "answer"),
                         strcmp(jstr(item, "fee"), "不收费") ? jstr(item, "fee") : "不收费") !=
                  NULL);
            CHECK_STR(jstr(p, "intent"), "place");
            char head[40];
            const char *place = jstr(item, "place");
            size_t n = strlen(place) < 30 ? strlen(place) : 30;
            while (n > 0 && ((unsigned char)place[n] & 0xc0) == 0x80) /* whole characters */
                n--;
            memcpy(head, place, n);
            head[n] = '\0';
            CHECK(strstr(jstr(p, "answer"), head) != NULL);
            CHECK_STR(jstr(c, "intent"), "conditions");
            CHECK_STR(jstr(s, "intent"), "process");
            CHECK(strstr(jstr(s, "answer"), "→") != NULL ||
                  json_array_size(json_object_get(item, "process")) == 1);
            CHECK(strlen(jstr(c, "answer")) <= ASSISTANT_ANSWER_MAX_BYTES);
        }
        json_decref(t);
        json_decref(f);
        json_decref(p);
        json_decref(c);
        json_decref(s);
    }
    CHECK(checked > 100);
}

TEST(assistant_finds_the_item_and_offers_alternatives) {
    if (!setup()) {
        CHECK(0);
        return;
    }
    json_t *a = ask("出生登记在哪里办", NULL);
    CHECK(a != NULL);
    if (!a) return;
    CHECK_STR(jstr(a, "item"), "330900-GA-100001");
    CHECK_STR(jstr(a, "intent"), "place");
    json_decref(a);
    /* Several passport items rank close together: alternatives, never the chosen one. */
    a = ask("护照", NULL);
    CHECK(a != NULL);
    if (!a) return;
    json_t *alts = json_object_get(a, "alternatives");
    CHECK(json_array_size(alts) >= 1 && json_array_size(alts) <= ASSISTANT_ALTERNATIVES);
    size_t i;
    json_t *v;
    json_array_foreach(alts, i, v) {
        CHECK(strcmp(jstr(v, "code"), jstr(a, "item")) != 0);
        CHECK(strstr(jstr(v, "name"), "护照") != NULL);
    }
    json_decref(a);
}

TEST(assistant_context_item_and_a_question_naming_another) {
    if (!setup()) {
        CHECK(0);
        return;
    }
    json_t *a = ask("多少钱", "330900-GA-100001");
    CHECK(a && !strcmp(jstr(a, "item"), "330900-GA-100001"));
    json_decref(a);
    /* The question clearly names another item: that one is answered. */
    a = ask("营业执照补办要带什么", "330900-GA-100001");
    CHECK(a != NULL);
    if (a) {
        CHECK(strcmp(jstr(a, "item"), "330900-GA-100001") != 0);
        CHECK(strstr(jstr(a, "item_name"), "营业执照") != NULL);
    }
    json_decref(a);
}

TEST(assistant_says_when_it_does_not_know) {
    if (!setup()) {
        CHECK(0);
        return;
    }
    /* The hall's phone: the most common phone of the items handled at 市行政服务中心. */
    json_t *count = json_object();
    const char *key, *best = NULL;
    json_t *item;
    json_object_foreach(items, key, item) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(item, "handle_at"), i, v) {
            if (strcmp(json_string_value(v), "市行政服务中心") != 0) continue;
            const char *ph = jstr(item, "phone");
            json_int_t n = json_integer_value(json_object_get(count, ph)) + 1;
            json_object_set_new(count, ph, json_integer(n));
            if (!best || n > json_integer_value(json_object_get(count, best))) best = ph;
        }
    }
    CHECK(best != NULL);
    CHECK_STR(assistant_hall_phone(helper), best);
    json_t *a = ask("明天会不会下雨呢", NULL);
    CHECK(a != NULL);
    if (a) {
        CHECK(json_is_null(json_object_get(a, "item")));
        CHECK(json_is_null(json_object_get(a, "link")));
        CHECK_STR(jstr(a, "phone"), best);
        CHECK(strstr(jstr(a, "answer"), best) != NULL);
        CHECK(strstr(jstr(a, "answer"), "12345") != NULL);
        CHECK_INT(json_array_size(json_object_get(a, "alternatives")), 0);
    }
    json_decref(a);
    json_decref(count);
    /* An intent without any item: asks which item is meant, invents nothing. */
    a = ask("要带什么材料", NULL);
    CHECK(a && json_is_null(json_object_get(a, "item")) && !strcmp(jstr(a, "intent"), "materials"));
    CHECK(a && strstr(jstr(a, "answer"), "哪个事项") != NULL);
    json_decref(a);
}

TEST(assistant_limits_and_errors) {
    if (!setup()) {
        CHECK(0);
        return;
    }
    err e = {0};
    char q[ASSISTANT_QUESTION_MAX_BYTES + 4];
    memset(q, 'a', sizeof(q) - 1);
    q[sizeof(q) - 1] = '\0';
    q[ASSISTANT_QUESTION_MAX_BYTES + 1] = '\0';
    CHECK(assistant_answer(helper, engine, q, NULL, get_item, items, &e) == NULL);
    CHECK_INT(e.status, 400);
    CHECK_STR(e.field, "question");
    /* Exactly the limit, in three-byte characters cut to whole ones: accepted. */
    char full[ASSISTANT_QUESTION_MAX_BYTES + 1] = {0};
    for (size_t i = 0; i + 3 <= ASSISTANT_QUESTION_MAX_BYTES; i += 3)
        memcpy(full + i, "证", 3);
    json_t *a = assistant_answer(helper, engine, full, NULL, get_item, items, &e);
    CHECK(a != NULL);
    json_decref(a);
    CHECK(assistant_answer(helper, engine, "  ？ ", NULL, get_item, items, &e) == NULL);
    CHECK_INT(e.status, 400);
    CHECK(assistant_answer(helper, engine, "\xff\xfe", NULL, get_item, items, &e) == NULL);
    CHECK_INT(e.status, 400);
    CHECK(assistant_answer(helper, engine, "多少钱", "not-a-code", get_item, items, &e) == NULL);
    CHECK_INT(e.status, 400);
    CHECK_STR(e.field, "item");
    CHECK(assistant_answer(helper, engine, "多少钱", "330900-GA-999999", get_item, items, &e) ==
          NULL);
    CHECK_INT(e.status, 404);
}

/* A lexicon with a bad line is refused with its line number. */
TEST(assistant_lexicon_errors_name_the_line) {
    char dir[] = "/tmp/isle-assistant-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char sub[128], path[160], actions[160];
    snprintf(sub, sizeof(sub), "%s/assistant", dir);
    mkdir(sub, 0700);
    snprintf(path, sizeof(path), "%s/intents.tsv", sub);
    snprintf(actions, sizeof(actions), "%s/actions.tsv", sub);
    FILE *f = fopen(actions, "w");
    fputs("action\tquestion_cues\tname_cues\nnew\t申请\t核发\n", f);
    fclose(f);
    static const char *const bad[] = {
        "intent\tcue\tweight\tstrip\nmaterials\t带什么\t3\tstrip\nweather\t下雨\t3\tstrip\n",
        "materials\t带什么\t3\tstrip\ntime\t多久\t99\tstrip\n",
        "materials\t带什么\t3\tstrip\ntime\t多 久\t3\tstrip\n",
        "materials\t带什么\t3\tstrip\nmaterials\t带什么\t2\tkeep\n",
        "materials\t带什么\t3\tmaybe\n",
        "filler\t请问\t2\tstrip\n",
        "# only a comment\n",
    };
    static const char *const line_no[] = {"第 3 行", "第 2 行", "第 2 行", "第 2 行",
                                          "第 1 行", "第 1 行", NULL};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        f = fopen(path, "w");
        fputs(bad[i], f);
        fclose(f);
        assistant *a = NULL;
        err e = {0};
        CHECK_INT(assistant_open(dir, &a, &e), -1);
        CHECK(a == NULL);
        if (line_no[i] && !strstr(e.message, line_no[i]))
            fprintf(stderr, "    case %zu: %s\n", i, e.message);
        CHECK(!line_no[i] || strstr(e.message, line_no[i]) != NULL);
    }
    f = fopen(path, "w");
    fputs("materials\t带什么\t3\tstrip\n", f);
    fclose(f);
    assistant *a = NULL;
    err e = {0};
    CHECK_INT(assistant_open(dir, &a, &e), 0);
    CHECK_STR(assistant_hall_phone(a), "12345"); /* no items counted */
    assistant_free(a);
    unlink(path);
    unlink(actions);
    rmdir(sub);
    rmdir(dir);
}

/* The development question set: intent accuracy ≥ 0.9 (all rows, "find" included)
 * and, for information, item accuracy on the rows that ask something. */
TEST(assistant_dev_set_intent_accuracy) {
    FILE *f = fopen(DEV_TSV, "r");
    if (!f) {
        fprintf(stderr, "    (skipped: %s not found)\n", DEV_TSV);
        return;
    }
    if (!setup()) {
        fclose(f);
        CHECK(0);
        return;
    }
    char *line = NULL;
    size_t cap = 0;
    int rows = 0, intent_ok = 0, asked = 0, item_ok = 0, lineno = 0;
    while (getline(&line, &cap, f) > 0) {
        if (lineno++ == 0) continue; /* header */
        line[strcspn(line, "\r\n")] = '\0';
        char *fields[4] = {line, NULL, NULL, NULL};
        for (int k = 1; k < 4 && fields[k - 1]; k++) {
            char *tab = strchr(fields[k - 1], '\t');
            if (tab) *tab = '\0';
            fields[k] = tab ? tab + 1 : NULL;
        }
        if (!fields[3]) continue;
        json_t *a = ask(fields[0], NULL);
        if (!a) continue;
        rows++;
        if (!strcmp(jstr(a, "intent"), fields[3])) intent_ok++;
        if (strcmp(fields[3], "find") != 0) {
            asked++;
            const char *item = jstr(a, "item");
            char expected[1024];
            snprintf(expected, sizeof(expected), ",%s,", fields[2]);
            char probe[64];
            snprintf(probe, sizeof(probe), ",%s,", item ? item : "-");
            if (strstr(expected, probe)) item_ok++;
        }
        json_decref(a);
    }
    free(line);
    fclose(f);
    CHECK(rows > 0 && asked > 0);
    if (!rows || !asked) return;
    fprintf(stderr,
            "    dev set: intent accuracy %d/%d = %.3f; item accuracy on questions %d/%d = %.3f\n",
            intent_ok, rows, (double)intent_ok / rows, item_ok, asked, (double)item_ok / asked);
    CHECK(intent_ok * 10 >= rows * 9);
}
