/* assistant/assistant.c: the 智慧客服 — cue lexicon, question reading, answers.
 *
 * See assistant.h for the design. Invariants kept here:
 *   - every sentence of an answer is assembled from the item's own fields; where
 *     a field is too long it is cut at a sentence or clause boundary and "…"
 *     marks the cut, so nothing is reworded;
 *   - the lexicon is read once and never changes; the hall's phone is counted
 *     before the assistant is shared (assistant_note_item), so reading needs no
 *     lock;
 *   - every size is bounded: the question (ASSISTANT_QUESTION_MAX_BYTES), cue
 *     matches (MAX_MATCHES), listed materials (MAX_LISTED_MATERIALS), the
 *     answer (ASSISTANT_ANSWER_MAX_BYTES).
 *
 * The thresholds for "clearly ahead" and "good enough" are ratios and absolute
 * scores of the search engine's ranking (BM25F × query coverage), read off the
 * development questions and questions about things the catalog does not cover
 * (weather, tickets, sights): every right first hit scored 3.9 or more, the
 * off-topic questions mostly below 2.6 — hence MIN_ITEM_SCORE 3. Items of one
 * family (新办 / 补办 / 换领 …) score within 25 % of each other, which is when
 * alternatives are offered (CLEAR_LEAD_RATIO). */
#include "assistant/assistant.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/xmalloc.h"
#include "catalog/catalog.h"

#define MAX_MATCHES          256
#define SEARCH_HITS          5    /* hits looked at: the item, alternatives, context */
#define MIN_ITEM_SCORE       3.0  /* below: "I do not know" */
#define CONTEXT_OVERRIDE     8.0  /* a question naming another item this well leaves the context */
#define CLEAR_LEAD_RATIO     1.25 /* top ≥ ratio × second: no alternatives needed */
#define ALTERNATIVE_FRACTION 0.35 /* alternatives score at least this share of the top */
#define MAX_LISTED_MATERIALS 8
#define FIELD_CHARS          90 /* conditions, place: characters kept before "…" */
#define NAME_CHARS           40 /* a material's name */
#define STEP_LABEL_CHARS     10
#define STEP_DETAIL_CHARS    60
#define FAQ_MIN_SIMILARITY   0.5 /* Dice coefficient of Han bigrams, question vs FAQ */
#define FAQ_BIGRAMS          256
#define FAQ_ANSWER_CHARS     150
#define HALL_PLACE           "市行政服务中心"
#define HOTLINE              "12345"

static const char *const intent_names[ASSISTANT_INTENT_COUNT] = {
    "materials", "time", "fee", "place", "conditions", "process", "find"};

const char *assistant_intent_name(assistant_intent intent) {
    return (unsigned)intent < ASSISTANT_INTENT_COUNT ? intent_names[intent] : "find";
}

typedef struct cue {
    char *text;
    size_t len;
    int intent; /* assistant_intent, or -1 for filler */
    int weight;
    int strip;
} cue;

typedef struct phone_count {
    char phone[ASSISTANT_PHONE_MAX];
    int hall; /* items handled at 市行政服务中心 with this phone */
    int all;
} phone_count;

#define MAX_PHONES 4096

/* One line of actions.tsv: the words that ask for an action, and the words that
 * name it in an item. Owned by the assistant. */
typedef struct action {
    char name[32];
    char **question_cues, **name_cues;
    size_t nquestion, nname;
} action;

#define MAX_ACTIONS     32
#define MAX_ACTION_CUES 64

struct assistant {
    cue *cues;
    size_t ncues;
    action actions[MAX_ACTIONS];
    size_t nactions;
    phone_count *phones; /* counted at start-up */
    size_t nphones;
    json_t *phone_index; /* phone → index in phones (jansson's hash table) */
    const phone_count *best_phone;
    char hall_phone[ASSISTANT_PHONE_MAX];
};

/* ---- the lexicon ---- */

static int cue_text_ok(const char *s, size_t n) {
    if (n == 0 || n > ASSISTANT_CUE_MAX_BYTES) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return 0;
    }
    return 1;
}

static int intent_from_name(const char *s) {
    for (int i = 0; i < ASSISTANT_INTENT_COUNT; i++)
        if (!strcmp(s, intent_names[i])) return i;
    return strcmp(s, "filler") == 0 ? -1 : -2;
}

/* Parse one data line "intent\tcue\tweight\tstrip" (changed in place). */
static int parse_cue_line(assistant *a, char *line, const char *path, int lineno, err *e) {
    char *fields[4];
    int nf = 0;
    char *p = line;
    while (nf < 4) {
        fields[nf++] = p;
        char *tab = strchr(p, '\t');
        if (!tab) break;
        *tab = '\0';
        p = tab + 1;
    }
    if (nf != 4 || strchr(fields[3], '\t'))
        return err_invalid(e, "", "%s 第 %d 行：须为 intent、cue、weight、strip 四列", path,
                           lineno);
    int intent = intent_from_name(fields[0]);
    if (intent == -2)
        return err_invalid(e, "", "%s 第 %d 行：未知意图 %.40s", path, lineno, fields[0]);
    size_t n = strlen(fields[1]);
    if (!cue_text_ok(fields[1], n))
        return err_invalid(e, "", "%s 第 %d 行：提示词须为 1–%d 字节的小写简体中文或字母数字", path,
                           lineno, ASSISTANT_CUE_MAX_BYTES);
    char *end;
    errno = 0;
    long w = strtol(fields[2], &end, 10);
    if (errno || end == fields[2] || *end || w < 0 || w > ASSISTANT_MAX_WEIGHT ||
        (intent == -1 && w != 0))
        return err_invalid(e, "", "%s 第 %d 行：权重须为 0–%d 的整数（filler 为 0）", path, lineno,
                           ASSISTANT_MAX_WEIGHT);
    int strip = !strcmp(fields[3], "strip");
    if (!strip && strcmp(fields[3], "keep") != 0)
        return err_invalid(e, "", "%s 第 %d 行：strip 列须为 strip 或 keep", path, lineno);
    for (size_t i = 0; i < a->ncues; i++)
        if (a->cues[i].len == n && !memcmp(a->cues[i].text, fields[1], n))
            return err_invalid(e, "", "%s 第 %d 行：提示词 %s 重复", path, lineno, fields[1]);
    if (a->ncues >= ASSISTANT_MAX_CUES)
        return err_invalid(e, "", "%s：提示词超过 %d 条", path, ASSISTANT_MAX_CUES);
    cue *c = &a->cues[a->ncues++];
    c->text = xstrndup(fields[1], n);
    c->len = n;
    c->intent = intent;
    c->weight = (int)w;
    c->strip = strip;
    return 0;
}

/* "a,b,c" → a new array of cue strings in *out, *n. */
static int parse_cue_list(char *s, char ***out, size_t *n, const char *path, int lineno, err *e) {
    *out = xcalloc(MAX_ACTION_CUES, sizeof(char *));
    *n = 0;
    for (char *p = s; *p;) {
        size_t len = strcspn(p, ",");
        if (!cue_text_ok(p, len))
            return err_invalid(e, "", "%s 第 %d 行：提示词须为 1–%d 字节的小写简体中文或字母数字",
                               path, lineno, ASSISTANT_CUE_MAX_BYTES);
        if (*n >= MAX_ACTION_CUES)
            return err_invalid(e, "", "%s 第 %d 行：提示词超过 %d 个", path, lineno,
                               MAX_ACTION_CUES);
        (*out)[(*n)++] = xstrndup(p, len);
        p += len;
        if (*p == ',') p++;
    }
    if (*n == 0) return err_invalid(e, "", "%s 第 %d 行：缺少提示词", path, lineno);
    return 0;
}

/* Parse one data line "action\tquestion cues\tname cues" (changed in place). */
static int parse_action_line(assistant *a, char *line, const char *path, int lineno, err *e) {
    char *t1 = strchr(line, '\t');
    char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    if (!t1 || !t2 || strchr(t2 + 1, '\t'))
        return err_invalid(e, "", "%s 第 %d 行：须为 action、question_cues、name_cues 三列", path,
                           lineno);
    *t1 = *t2 = '\0';
    if (!*line || strlen(line) >= sizeof(a->actions[0].name))
        return err_invalid(e, "", "%s 第 %d 行：动作名须为 1–31 字节", path, lineno);
    if (a->nactions >= MAX_ACTIONS)
        return err_invalid(e, "", "%s：动作超过 %d 个", path, MAX_ACTIONS);
    action *ac = &a->actions[a->nactions++];
    snprintf(ac->name, sizeof(ac->name), "%s", line);
    if (parse_cue_list(t1 + 1, &ac->question_cues, &ac->nquestion, path, lineno, e) != 0 ||
        parse_cue_list(t2 + 1, &ac->name_cues, &ac->nname, path, lineno, e) != 0)
        return -1;
    return 0;
}

typedef int (*line_parser)(assistant *a, char *line, const char *path, int lineno, err *e);

/* Read data_dir/assistant/NAME: comments (#), blank lines and one header line
 * starting with header_start are skipped; every other line goes to parse. */
static int load_table(assistant *a, const char *data_dir, const char *name,
                      const char *header_start, line_parser parse, err *e) {
    char path[1100];
    snprintf(path, sizeof(path), "%s/assistant/%s", data_dir, name);
    FILE *f = fopen(path, "r");
    if (!f) return err_internal(e, "无法打开 %s：%s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0, total = 0;
    ssize_t n;
    int lineno = 0, rc = 0, header = 0, rows = 0;
    size_t hn = strlen(header_start);
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        total += (size_t)n;
        if (total > ASSISTANT_LEXICON_MAX_BYTES) {
            rc = err_invalid(e, "", "%s 超过 %d 字节", path, ASSISTANT_LEXICON_MAX_BYTES);
            break;
        }
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || line[0] == '#') continue;
        if (!header && !strncmp(line, header_start, hn)) {
            header = 1;
            continue;
        }
        if ((rc = parse(a, line, path, lineno, e)) != 0) break;
        rows++;
    }
    free(line);
    fclose(f);
    if (rc == 0 && rows == 0) rc = err_invalid(e, "", "%s 是空的", path);
    return rc;
}

int assistant_open(const char *data_dir, assistant **out, err *e) {
    assistant *a = xcalloc(1, sizeof(*a));
    a->cues = xcalloc(ASSISTANT_MAX_CUES, sizeof(*a->cues));
    if (load_table(a, data_dir, "intents.tsv", "intent\t", parse_cue_line, e) != 0 ||
        load_table(a, data_dir, "actions.tsv", "action\t", parse_action_line, e) != 0) {
        assistant_free(a);
        return -1;
    }
    snprintf(a->hall_phone, sizeof(a->hall_phone), "%s", HOTLINE);
    *out = a;
    return 0;
}

void assistant_free(assistant *a) {
    if (!a) return;
    for (size_t i = 0; i < a->ncues; i++)
        free(a->cues[i].text);
    free(a->cues);
    for (size_t i = 0; i < a->nactions; i++) {
        action *ac = &a->actions[i];
        for (size_t k = 0; k < ac->nquestion; k++)
            free(ac->question_cues[k]);
        for (size_t k = 0; k < ac->nname; k++)
            free(ac->name_cues[k]);
        free(ac->question_cues);
        free(ac->name_cues);
    }
    free(a->phones);
    json_decref(a->phone_index);
    free(a);
}

/* ---- the hall's phone ---- */

static int handled_at_hall(json_t *item) {
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(item, "handle_at"), i, v) {
        const char *s = json_string_value(v);
        if (s && !strcmp(s, HALL_PLACE)) return 1;
    }
    return 0;
}

void assistant_note_item(assistant *a, json_t *item) {
    const char *phone = json_string_value(json_object_get(item, "phone"));
    if (!a || !phone || !*phone || strlen(phone) >= ASSISTANT_PHONE_MAX) return;
    if (!a->phones) {
        a->phones = xcalloc(MAX_PHONES, sizeof(*a->phones));
        a->phone_index = json_object();
    }
    json_t *idx = json_object_get(a->phone_index, phone);
    phone_count *pc;
    if (idx) {
        pc = &a->phones[json_integer_value(idx)];
    } else {
        if (a->nphones >= MAX_PHONES) return; /* rare numbers beyond the cap cannot win */
        json_object_set_new(a->phone_index, phone, json_integer((json_int_t)a->nphones));
        pc = &a->phones[a->nphones++];
        snprintf(pc->phone, sizeof(pc->phone), "%s", phone);
    }
    pc->all++;
    pc->hall += handled_at_hall(item);
    /* Counts only grow, so only this phone can overtake the leader: most hall
     * items, then most items; the first counted keeps a tie. */
    const phone_count *b = a->best_phone;
    if (!b || pc->hall > b->hall || (pc->hall == b->hall && pc->all > b->all)) {
        a->best_phone = pc;
        snprintf(a->hall_phone, sizeof(a->hall_phone), "%s", pc->phone);
    }
}

const char *assistant_hall_phone(const assistant *a) {
    return a->hall_phone;
}

/* ---- reading a question ---- */

/* 1 if s holds a character that can name something (not only spaces). */
static int has_content(const char *s) {
    for (; *s; s++)
        if (*s != ' ') return 1;
    return 0;
}

/* 1 if s[0..n) is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
static int utf8_valid(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        size_t k = c < 0x80                 ? 1
                   : c >= 0xc2 && c <= 0xdf ? 2
                   : c >= 0xe0 && c <= 0xef ? 3
                   : c >= 0xf0 && c <= 0xf4 ? 4
                                            : 0;
        if (!k || i + k > n) return 0;
        for (size_t j = 1; j < k; j++)
            if ((p[i + j] & 0xc0) != 0x80) return 0;
        if ((c == 0xe0 && p[i + 1] < 0xa0) || (c == 0xed && p[i + 1] > 0x9f) ||
            (c == 0xf0 && p[i + 1] < 0x90) || (c == 0xf4 && p[i + 1] > 0x8f))
            return 0;
        i += k;
    }
    return 1;
}

typedef struct match {
    size_t start, len;
    const cue *c;
    int counted;
} match;

/* Length of the UTF-8 sequence starting with byte c (1 for stray bytes). */
static size_t utf8_len(unsigned char c) {
    if (c >= 0xf0) return 4;
    if (c >= 0xe0) return 3;
    if (c >= 0xc0) return 2;
    return 1;
}

/* The best-scoring intent when it reaches ASSISTANT_MIN_INTENT_SCORE, else find;
 * ties go to the intent listed first. */
static void decide(assistant_reading *rd) {
    int best = ASSISTANT_FIND;
    for (int k = 0; k < ASSISTANT_INTENT_COUNT; k++)
        if (rd->scores[k] > rd->scores[best] ||
            (rd->scores[k] == rd->scores[best] && k < best && rd->scores[k] > 0))
            best = k;
    rd->intent =
        rd->scores[best] >= ASSISTANT_MIN_INTENT_SCORE ? (assistant_intent)best : ASSISTANT_FIND;
}

void assistant_reading_discount(assistant_reading *rd, const char *name) {
    char text[ASSISTANT_CUE_MAX_BYTES + 1];
    for (int i = 0; i < rd->ncues; i++) {
        assistant_cue_match *c = &rd->cues[i];
        if (c->intent < 0 || c->weight == 0 || c->len > ASSISTANT_CUE_MAX_BYTES) continue;
        memcpy(text, rd->normalized + c->start, c->len);
        text[c->len] = '\0';
        if (!strstr(name, text)) continue;
        rd->scores[c->intent] -= c->weight;
        c->weight = 0;
    }
    decide(rd);
}

/* Find the cues in out->normalized; fill scores, cues, intent and rest. */
static void read_cues(const assistant *a, assistant_reading *out) {
    const char *t = out->normalized;
    size_t n = strlen(t);

    /* Every occurrence of every cue, at character boundaries. */
    match m[MAX_MATCHES];
    size_t nm = 0;
    for (size_t i = 0; i < n && nm < MAX_MATCHES; i += utf8_len((unsigned char)t[i]))
        for (size_t k = 0; k < a->ncues && nm < MAX_MATCHES; k++) {
            const cue *c = &a->cues[k];
            if (c->len <= n - i && !memcmp(t + i, c->text, c->len))
                m[nm++] = (match){.start = i, .len = c->len, .c = c, .counted = 1};
        }
    /* A cue inside a longer matched cue does not count. */
    for (size_t i = 0; i < nm; i++)
        for (size_t j = 0; j < nm && m[i].counted; j++)
            if (j != i && m[j].len > m[i].len && m[j].start <= m[i].start &&
                m[i].start + m[i].len <= m[j].start + m[j].len)
                m[i].counted = 0;

    char strip[sizeof(out->normalized)] = {0};
    for (size_t i = 0; i < nm; i++) {
        if (!m[i].counted) continue;
        if (m[i].c->intent >= 0) out->scores[m[i].c->intent] += m[i].c->weight;
        if (m[i].c->strip) memset(strip + m[i].start, 1, m[i].len);
        if (out->ncues < ASSISTANT_MAX_READ_CUES)
            out->cues[out->ncues++] = (assistant_cue_match){.start = (unsigned)m[i].start,
                                                            .len = (unsigned)m[i].len,
                                                            .intent = m[i].c->intent,
                                                            .weight = m[i].c->weight};
    }
    decide(out);

    /* What is left names the item: stripped spans become one space. */
    size_t o = 0;
    int space = 0;
    for (size_t i = 0; i < n; i++) {
        if (strip[i] || t[i] == ' ') {
            space = o > 0;
            continue;
        }
        if (space) out->rest[o++] = ' ';
        space = 0;
        out->rest[o++] = t[i];
    }
    out->rest[o] = '\0';
}

int assistant_read(const assistant *a, search_engine *s, const char *question,
                   assistant_reading *out, err *e) {
    memset(out, 0, sizeof(*out));
    out->intent = ASSISTANT_FIND;
    if (!question) return err_invalid(e, "question", "请输入问题");
    size_t qn = strlen(question);
    if (qn > ASSISTANT_QUESTION_MAX_BYTES)
        return err_invalid(e, "question", "问题过长（最多 %d 字节）", ASSISTANT_QUESTION_MAX_BYTES);
    if (!utf8_valid(question, qn)) return err_invalid(e, "question", "问题不是有效的 UTF-8 文本");
    search_normalize(s, question, out->normalized, sizeof(out->normalized));
    if (!has_content(out->normalized)) return err_invalid(e, "question", "请输入问题");
    read_cues(a, out);
    return 0;
}

/* ---- answers ---- */

/* Append at most max_chars characters of s; "…" when cut. A cut prefers the last
 * sentence or clause end (。；;) in the kept part, when that keeps at least half. */
static void put_clipped(strbuf *b, const char *s, size_t max_chars) {
    size_t i = 0, chars = 0, boundary = 0, n = strlen(s);
    while (i < n && chars < max_chars) {
        size_t k = utf8_len((unsigned char)s[i]);
        if (i + k > n) k = n - i;
        if (!strncmp(s + i, "。", 3) || !strncmp(s + i, "；", 3) || s[i] == ';')
            boundary = i; /* cut before the punctuation */
        i += k;
        chars++;
    }
    if (i >= n) {
        strbuf_puts(b, s);
        return;
    }
    size_t keep = boundary * 2 >= i ? boundary : i;
    strbuf_append(b, s, keep);
    strbuf_puts(b, "…");
}

/* Append s without a final "。" (the caller ends the sentence). */
static void put_sentence_body(strbuf *b, const char *s) {
    size_t n = strlen(s);
    while (n >= 3 && (!strncmp(s + n - 3, "。", 3) || !strncmp(s + n - 3, "；", 3)))
        n -= 3;
    strbuf_append(b, s, n);
}

static const char *str_field(json_t *item, const char *key) {
    const char *s = json_string_value(json_object_get(item, key));
    return s ? s : "";
}

/* "20 个工作日", "0.5 个工作日"; whole numbers without decimals. */
static void put_days(strbuf *b, double d) {
    if (d == (double)(long)d)
        strbuf_printf(b, "%ld 个工作日", (long)d);
    else
        strbuf_printf(b, "%.1f 个工作日", d);
}

static void answer_materials(strbuf *b, const char *name, json_t *item) {
    json_t *mats = json_object_get(item, "materials");
    size_t i, nreq = 0, nopt = 0, nfree = 0;
    json_t *m;
    json_array_foreach(mats, i, m) {
        if (json_is_true(json_object_get(m, "required"))) {
            nreq++;
            if (json_is_string(json_object_get(m, "licence"))) nfree++;
        } else {
            nopt++;
        }
    }
    if (nreq == 0) {
        strbuf_printf(b, "办理「%s」没有必须提交的材料", name);
        if (nopt) strbuf_printf(b, "，另有 %zu 项材料视情况提交，详见办事指南", nopt);
        strbuf_puts(b, "。");
        return;
    }
    strbuf_printf(b, "办理「%s」需要提交 %zu 项必需材料：", name, nreq);
    size_t listed = 0;
    json_array_foreach(mats, i, m) {
        if (!json_is_true(json_object_get(m, "required"))) continue;
        if (listed == MAX_LISTED_MATERIALS) {
            strbuf_puts(b, "等");
            break;
        }
        if (listed++) strbuf_puts(b, "、");
        put_clipped(b, str_field(m, "name"), NAME_CHARS);
    }
    strbuf_puts(b, "。");
    if (nfree) {
        strbuf_puts(b, "其中");
        size_t k = 0;
        json_array_foreach(mats, i, m) {
            if (!json_is_true(json_object_get(m, "required")) ||
                !json_is_string(json_object_get(m, "licence")))
                continue;
            if (k == MAX_LISTED_MATERIALS) {
                strbuf_puts(b, "等");
                break;
            }
            if (k++) strbuf_puts(b, "、");
            put_clipped(b, str_field(m, "name"), NAME_CHARS);
        }
        strbuf_puts(b, nfree == 1 ? "可通过电子证照调取，免提交" : "均可通过电子证照调取，免提交");
        if (nopt) strbuf_printf(b, "；另有 %zu 项材料视情况提交", nopt);
        strbuf_puts(b, "。");
    } else if (nopt) {
        strbuf_printf(b, "另有 %zu 项材料视情况提交，详见办事指南。", nopt);
    }
}

static void answer_time(strbuf *b, const char *name, json_t *item) {
    double legal = json_number_value(json_object_get(item, "legal_days"));
    double promise = json_number_value(json_object_get(item, "promise_days"));
    if (legal <= 0 && promise <= 0) {
        strbuf_printf(b, "「%s」是即办事项，材料齐全、符合条件的当场办结。", name);
        return;
    }
    if (legal > 0) {
        strbuf_printf(b, "「%s」的法定办结时限为 ", name);
        put_days(b, legal);
    } else {
        strbuf_printf(b, "「%s」法定即办", name);
    }
    if (promise <= 0) {
        strbuf_puts(b, "，承诺即办：材料齐全、符合条件的当场办结。");
    } else {
        strbuf_puts(b, "，承诺 ");
        put_days(b, promise);
        strbuf_puts(b, "内办结。");
    }
}

static void answer_fee(strbuf *b, const char *name, json_t *item) {
    const char *fee = str_field(item, "fee");
    if (!*fee || !strcmp(fee, "不收费") || !strcmp(fee, "免费")) {
        strbuf_printf(b, "「%s」不收费。", name);
        return;
    }
    strbuf_printf(b, "「%s」的收费标准：", name);
    put_sentence_body(b, fee);
    strbuf_puts(b, "。");
}

static int handled_online(json_t *item) {
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(item, "handle_at"), i, v) {
        const char *s = json_string_value(v);
        if (s && !strcmp(s, "浙里办")) return 1;
    }
    return 0;
}

static void answer_place(strbuf *b, const char *name, json_t *item) {
    strbuf_printf(b, "「%s」的办理地点：", name);
    put_clipped(b, str_field(item, "place"), FIELD_CHARS);
    const char *hours = str_field(item, "hours");
    if (*hours) {
        strbuf_puts(b, "；办理时间：");
        put_sentence_body(b, hours);
    }
    strbuf_puts(b, "。");
    if (json_integer_value(json_object_get(item, "online_depth")) >= 4)
        strbuf_puts(b, "也可以在“浙里办”全程网上办理，不用跑窗口。");
    else if (handled_online(item))
        strbuf_puts(b, "也可以通过“浙里办”在线申请。");
}

static void answer_conditions(strbuf *b, const char *name, json_t *item) {
    const char *c = str_field(item, "conditions");
    if (!*c) {
        strbuf_printf(b, "「%s」的办事指南未列出受理条件，请以窗口答复为准。", name);
        return;
    }
    strbuf_printf(b, "办理「%s」的受理条件：", name);
    strbuf sb;
    strbuf_init(&sb, ASSISTANT_ANSWER_MAX_BYTES);
    put_clipped(&sb, c, FIELD_CHARS);
    const char *s = strbuf_str(&sb);
    size_t n = strlen(s);
    int cut = n >= 3 && !strcmp(s + n - 3, "…");
    put_sentence_body(b, s);
    if (!cut) strbuf_puts(b, "。");
    strbuf_free(&sb);
}

/* One process step "标签：说明" → the label (or the clipped step without one). */
static void put_step_label(strbuf *b, const char *step) {
    if (!step) return;
    const char *colon = strstr(step, "：");
    if (!colon) {
        put_clipped(b, step, STEP_LABEL_CHARS);
        return;
    }
    strbuf sb;
    strbuf_init(&sb, 256);
    strbuf_append(&sb, step, (size_t)(colon - step));
    put_clipped(b, strbuf_str(&sb), STEP_LABEL_CHARS);
    strbuf_free(&sb);
}

static void answer_process(strbuf *b, const char *name, json_t *item) {
    json_t *steps = json_object_get(item, "process");
    size_t n = json_array_size(steps);
    if (n == 0) {
        strbuf_printf(b, "「%s」的办事指南未列出办理流程，请查看指南或咨询窗口。", name);
        return;
    }
    strbuf_printf(b, "「%s」的办理流程共 %zu 步：", name, n);
    for (size_t i = 0; i < n; i++) {
        if (i) strbuf_puts(b, " → ");
        put_step_label(b, json_string_value(json_array_get(steps, i)));
    }
    strbuf_puts(b, "。");
    const char *first = json_string_value(json_array_get(steps, 0));
    const char *colon = first ? strstr(first, "：") : NULL;
    if (colon && colon[3]) {
        strbuf_puts(b, "第一步：");
        put_clipped(b, colon + 3, STEP_DETAIL_CHARS);
        strbuf_puts(b, "。");
    }
}

static void answer_find(strbuf *b, const char *name, json_t *item) {
    strbuf_printf(b, "为您找到「%s」", name);
    const char *dept = str_field(item, "department");
    if (*dept) strbuf_printf(b, "（%s）", dept);
    strbuf_puts(b, "。");
    double promise = json_number_value(json_object_get(item, "promise_days"));
    if (promise <= 0) {
        strbuf_puts(b, "承诺即办");
    } else {
        strbuf_puts(b, "承诺 ");
        put_days(b, promise);
        strbuf_puts(b, "办结");
    }
    const char *fee = str_field(item, "fee");
    if (!strcmp(fee, "不收费")) strbuf_puts(b, "，不收费");
    strbuf_puts(b, "；所需材料、地点和流程请看办事指南，也可以继续问我。");
}

/* Decode the code point at s[*i] (advancing *i); malformed bytes give 0. */
static uint32_t next_cp(const char *s, size_t *i) {
    const unsigned char *p = (const unsigned char *)s + *i;
    size_t k = utf8_len(p[0]);
    uint32_t cp = k == 1 ? p[0] : k == 2 ? p[0] & 0x1fu : k == 3 ? p[0] & 0x0fu : p[0] & 0x07u;
    for (size_t j = 1; j < k; j++) {
        if ((p[j] & 0xc0) != 0x80) {
            *i += j;
            return 0;
        }
        cp = (cp << 6) | (p[j] & 0x3fu);
    }
    *i += k;
    return cp;
}

static int is_han(uint32_t cp) {
    return (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0x3400 && cp <= 0x4dbf);
}

static int cmp_u64(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

/* The distinct bigrams of adjacent Han characters of s, sorted; returns the count. */
static size_t han_bigrams(const char *s, uint64_t *out, size_t cap) {
    size_t i = 0, n = 0, len = strlen(s);
    uint32_t prev = 0;
    while (i < len && n < cap) {
        uint32_t cp = next_cp(s, &i);
        if (!is_han(cp)) {
            prev = 0;
            continue;
        }
        if (prev) out[n++] = ((uint64_t)prev << 32) | cp;
        prev = cp;
    }
    qsort(out, n, sizeof(*out), cmp_u64);
    size_t u = 0;
    for (size_t k = 0; k < n; k++)
        if (!u || out[u - 1] != out[k]) out[u++] = out[k];
    return u;
}

/* Remove from set[0..n) (sorted) the members of drop[0..nd) (sorted). */
static size_t set_minus(uint64_t *set, size_t n, const uint64_t *drop, size_t nd) {
    size_t o = 0, j = 0;
    for (size_t i = 0; i < n; i++) {
        while (j < nd && drop[j] < set[i])
            j++;
        if (j < nd && drop[j] == set[i]) continue;
        set[o++] = set[i];
    }
    return o;
}

/* Dice coefficient of the Han bigrams of two texts, leaving out the bigrams of
 * the item's name (both texts name the item; what matters is what they ask).
 * 0 when they share fewer than two bigrams. */
static double similarity(const char *x, const char *y, const char *name) {
    uint64_t a[FAQ_BIGRAMS], b[FAQ_BIGRAMS], nm[FAQ_BIGRAMS];
    size_t nn = han_bigrams(name, nm, FAQ_BIGRAMS);
    size_t na = set_minus(a, han_bigrams(x, a, FAQ_BIGRAMS), nm, nn);
    size_t nb = set_minus(b, han_bigrams(y, b, FAQ_BIGRAMS), nm, nn);
    if (!na || !nb) return 0;
    size_t i = 0, j = 0, common = 0;
    while (i < na && j < nb) {
        if (a[i] == b[j]) {
            common++;
            i++;
            j++;
        } else if (a[i] < b[j]) {
            i++;
        } else {
            j++;
        }
    }
    if (common < 2) return 0; /* one shared word is chance */
    return 2.0 * (double)common / (double)(na + nb);
}

/* The item's FAQ entry that asks what rd asks: the same intent and the most
 * similar wording, at least FAQ_MIN_SIMILARITY. NULL when none. */
static json_t *matching_faq(const assistant *a, search_engine *s, const assistant_reading *rd,
                            json_t *item) {
    if (rd->intent == ASSISTANT_FIND) return NULL;
    const char *name = str_field(item, "name");
    json_t *best = NULL;
    double best_sim = FAQ_MIN_SIMILARITY;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(item, "faq"), i, f) {
        const char *q = json_string_value(json_object_get(f, "q"));
        if (!q || !json_is_string(json_object_get(f, "a"))) continue;
        assistant_reading fr;
        memset(&fr, 0, sizeof(fr));
        search_normalize(s, q, fr.normalized, sizeof(fr.normalized));
        read_cues(a, &fr);
        assistant_reading_discount(&fr, name);
        if (fr.intent != rd->intent) continue;
        double sim = similarity(rd->normalized, fr.normalized, name);
        if (sim >= best_sim) {
            best_sim = sim;
            best = f;
        }
    }
    return best;
}

/* 1 for items that pay residents (benefits, awards): "多少钱" asks how much they
 * pay, which the fee field does not say. */
static int pays_out(json_t *item) {
    const char *type = str_field(item, "type");
    return !strcmp(type, "行政给付") || !strcmp(type, "行政奖励");
}

static void compose(const assistant *a, search_engine *s, strbuf *b, const assistant_reading *rd,
                    json_t *item) {
    const char *name = str_field(item, "name");
    json_t *faq = matching_faq(a, s, rd, item);
    if (faq) {
        strbuf_printf(b, "关于「%s」：", name);
        put_clipped(b, str_field(faq, "a"), FAQ_ANSWER_CHARS);
        return;
    }
    if (rd->intent == ASSISTANT_FEE && pays_out(item)) {
        answer_fee(b, name, item);
        strbuf_puts(b, "具体发放标准办事指南未列明，请以窗口答复为准，可拨打咨询电话 ");
        strbuf_puts(b, str_field(item, "phone"));
        strbuf_puts(b, "。");
        return;
    }
    switch (rd->intent) {
    case ASSISTANT_MATERIALS:
        answer_materials(b, name, item);
        break;
    case ASSISTANT_TIME:
        answer_time(b, name, item);
        break;
    case ASSISTANT_FEE:
        answer_fee(b, name, item);
        break;
    case ASSISTANT_PLACE:
        answer_place(b, name, item);
        break;
    case ASSISTANT_CONDITIONS:
        answer_conditions(b, name, item);
        break;
    case ASSISTANT_PROCESS:
        answer_process(b, name, item);
        break;
    default:
        answer_find(b, name, item);
        break;
    }
}

/* Cut s in place to at most max bytes on a character boundary. */
static void cut_utf8(char *s, size_t max) {
    size_t n = strlen(s);
    if (n <= max) return;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    s[max] = '\0';
}

static int name_has_any(const char *name, char *const *cues, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (strstr(name, cues[i])) return 1;
    return 0;
}

/* The action the question asks for (index in a->actions): the one with the
 * longest question cue in it, else the first. */
static size_t asked_action(const assistant *a, const char *normalized) {
    size_t best = 0, best_len = 0;
    for (size_t i = 0; i < a->nactions; i++)
        for (size_t k = 0; k < a->actions[i].nquestion; k++) {
            size_t len = strlen(a->actions[i].question_cues[k]);
            if (len > best_len && strstr(normalized, a->actions[i].question_cues[k])) {
                best = i;
                best_len = len;
            }
        }
    return best;
}

/* 1 if an item called name does action act (see actions.tsv). */
static int action_fits(const assistant *a, size_t act, const char *name) {
    const action *ac = &a->actions[act];
    if (name_has_any(name, ac->name_cues, ac->nname)) return 1;
    if (act != 0) return 0;
    for (size_t k = 1; k < a->nactions; k++)
        if (name_has_any(name, a->actions[k].name_cues, a->actions[k].nname)) return 0;
    return 1;
}

/* Which hit to answer with: among the hits the first is not clearly ahead of,
 * the first whose name fits the asked action; the first hit otherwise. */
static int pick_hit(const assistant *a, const assistant_reading *rd, const search_result *res) {
    int group = 1;
    while (group < res->nhits && res->hits[0].score < CLEAR_LEAD_RATIO * res->hits[group].score)
        group++;
    if (group == 1 || a->nactions == 0) return 0;
    size_t act = asked_action(a, rd->normalized);
    for (int i = 0; i < group; i++)
        if (action_fits(a, act, res->hits[i].name)) return i;
    return 0;
}

static json_t *alternative(const char *code, const char *name) {
    return json_pack("{s:s, s:s}", "code", code, "name", name);
}

json_t *assistant_answer(const assistant *a, search_engine *s, const char *question,
                         const char *context_code, assistant_item_fn get_item, void *ctx, err *e) {
    assistant_reading rd;
    if (assistant_read(a, s, question, &rd, e) != 0) return NULL;
    json_t *context = NULL;
    if (context_code) {
        if (!catalog_code_valid(context_code)) {
            err_invalid(e, "item", "事项编码格式不正确");
            return NULL;
        }
        context = get_item(ctx, context_code);
        if (!context) {
            err_notfound(e, "没有编码为 %s 的事项", context_code);
            return NULL;
        }
    }

    search_result *res = search_result_new();
    if (has_content(rd.rest)) {
        cut_utf8(rd.rest, SEARCH_QUERY_MAX_BYTES);
        search_request rq = {.q = rd.rest, .limit = SEARCH_HITS};
        if (search_run(s, &rq, res, e) != 0) {
            free(res);
            json_decref(context);
            return NULL;
        }
    }
    int usable = res->nhits > 0 && res->hits[0].score >= MIN_ITEM_SCORE;

    /* Which item: the context unless the question clearly names another one. */
    json_t *item = NULL;
    int chosen = -1;
    if (context) {
        int in_hits = 0;
        for (int i = 0; i < res->nhits; i++)
            if (!strcmp(res->hits[i].code, context_code)) in_hits = 1;
        if (!usable || in_hits || res->hits[0].score < CONTEXT_OVERRIDE) {
            item = context;
            context = NULL;
        }
    }
    if (!item && usable) {
        chosen = pick_hit(a, &rd, res);
        item = get_item(ctx, res->hits[chosen].code);
        if (!item) chosen = -1;
    }
    json_decref(context);

    json_t *alts = json_array();
    strbuf b;
    strbuf_init(&b, ASSISTANT_ANSWER_MAX_BYTES);
    const char *phone = NULL;
    if (item) {
        assistant_reading_discount(&rd, str_field(item, "name"));
        compose(a, s, &b, &rd, item);
        /* Alternatives when the best hit is not clearly ahead of the next. */
        if (chosen >= 0 && res->nhits > 1 &&
            res->hits[0].score < CLEAR_LEAD_RATIO * res->hits[1].score) {
            for (int i = 0; i < res->nhits && json_array_size(alts) < ASSISTANT_ALTERNATIVES; i++)
                if (i != chosen && res->hits[i].score >= ALTERNATIVE_FRACTION * res->hits[0].score)
                    json_array_append_new(alts, alternative(res->hits[i].code, res->hits[i].name));
        }
    } else if (rd.intent != ASSISTANT_FIND && !has_content(rd.rest)) {
        strbuf_printf(&b, "请告诉我您要办理哪个事项，例如“换身份证要带什么材料”。"
                          "我可以回答所需材料、办理时限、收费、地点、条件和流程。");
    } else {
        phone = assistant_hall_phone(a);
        strbuf_puts(&b, "抱歉，我没有找到与您的问题相符的办事事项。请换个说法再问，或拨打");
        if (strcmp(phone, HOTLINE) != 0)
            strbuf_printf(&b, "舟山市行政服务中心咨询电话 %s 或 ", phone);
        strbuf_puts(&b, HOTLINE " 政务服务便民热线，工作人员会为您解答。");
    }
    double top_score = res->nhits ? res->hits[0].score : 0;
    free(res);

    json_t *out = json_object();
    json_object_set_new(out, "question", json_string(question));
    const char *code = item ? str_field(item, "code") : NULL;
    json_object_set_new(out, "item", code ? json_string(code) : json_null());
    json_object_set_new(out, "item_name",
                        item ? json_string(str_field(item, "name")) : json_null());
    json_object_set_new(out, "intent", json_string(assistant_intent_name(rd.intent)));
    json_object_set_new(out, "answer", json_string(strbuf_str(&b)));
    json_object_set_new(out, "alternatives", alts);
    if (code) {
        char link[SEARCH_CODE_MAX + 16];
        snprintf(link, sizeof(link), "/items/%s", code);
        json_object_set_new(out, "link", json_string(link));
    } else {
        json_object_set_new(out, "link", json_null());
    }
    json_object_set_new(out, "phone", phone ? json_string(phone) : json_null());
    json_object_set_new(out, "score",
                        json_real((double)(long long)(top_score * 1000 + 0.5) / 1000));
    strbuf_free(&b);
    json_decref(item);
    return out;
}

/* ---- the server's assistant ---- */

static assistant *global_assistant;

static int note_item(void *ctx, json_t *item) {
    assistant_note_item(ctx, item);
    return 0;
}

int assistant_serve_start(db *d, const char *data_dir, err *e) {
    assistant *a;
    if (assistant_open(data_dir, &a, e) != 0) return -1;
    if (catalog_for_each(d, note_item, a, e) != 0) {
        assistant_free(a);
        return -1;
    }
    global_assistant = a;
    return 0;
}

const assistant *assistant_global(void) {
    return global_assistant;
}
