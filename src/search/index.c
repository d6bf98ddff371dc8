/* search/index.c: the engine's documents and inverted index, and the analysis
 * of a catalog item into terms.
 *
 * Terms are byte strings with a one-letter namespace:
 *   w<word>      dictionary word (and dictionary sub-words of long words), all fields
 *   u<char>      single Han character, name and keywords only
 *   b<2 chars>   Han character bigram, name and keywords only
 *   p<id><id>    pinyin syllable bigram (two little-endian uint16 syllable ids) over
 *                every reading combination, name and keywords only
 *   i<letters>   initials of a span of one to four words (2–10 characters), name
 *                and keywords only, every reading combination
 *   l<token>     a run of ASCII letters or digits, all fields
 *
 * A posting's impact is the BM25F saturated term frequency against fixed
 * reference field lengths (so that adding an item never changes the postings of
 * another: the index is incremental). A replaced or removed item is tombstoned
 * (live = 0) and skipped by queries; when a quarter of the documents are dead,
 * every list is compacted and the documents renumbered.
 *
 * Callers hold the engine's write lock for every function that changes state. */
#include <malloc.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "search/internal.h"

/* BM25F: name ≫ keywords/synonyms ≫ body (materials, FAQ, guide). */
const float search_field_weight[F_COUNT] = {6.0f, 1.6f, 0.4f};
static const float field_b[F_COUNT] = {0.5f, 0.4f, 0.75f};
static const float field_ref_len[F_COUNT] = {10.0f, 30.0f, 400.0f};
#define BM25_K1 2.0f

const char *const search_handle_places[6] = {
    "市行政服务中心",       "区县行政服务中心", "乡镇（街道）便民服务中心",
    "村（社区）便民服务站", "浙里办",           "帮办代办"};

/* ---- per-document term accumulation ---- */

typedef struct doc_terms {
    uint32_t *ids; /* distinct term ids in order of first appearance */
    uint16_t (*tf)[F_COUNT];
    size_t n, cap;
    uint32_t *slot_of; /* open-addressing table: term id → 1 + index in ids */
    size_t slots;
    uint32_t len[F_COUNT]; /* field lengths in characters/tokens */
    uint32_t *capture;     /* term ids of the piece being memoised */
    size_t ncapture, capture_cap;
    char *key; /* the item's texts minus name and department (the bulk memo's key) */
    size_t keylen, keycap;
} doc_terms;

static void dt_reset(doc_terms *dt) {
    for (size_t i = 0; i < dt->n; i++) {
        size_t mask = dt->slots - 1;
        size_t h = (dt->ids[i] * 2654435761u) & mask;
        while (dt->slot_of[h]) {
            dt->slot_of[h] = 0;
            h = (h + 1) & mask;
        }
    }
    dt->n = 0;
    memset(dt->len, 0, sizeof(dt->len));
}

static void dt_free(doc_terms *dt) {
    free(dt->key);
    free(dt->capture);
    free(dt->ids);
    free(dt->tf);
    free(dt->slot_of);
}

static void dt_grow_table(doc_terms *dt) {
    size_t nslots = dt->slots ? dt->slots * 2 : 1024;
    free(dt->slot_of);
    dt->slot_of = xcalloc(nslots, sizeof(*dt->slot_of));
    dt->slots = nslots;
    size_t mask = nslots - 1;
    for (size_t i = 0; i < dt->n; i++) {
        size_t h = (dt->ids[i] * 2654435761u) & mask;
        while (dt->slot_of[h])
            h = (h + 1) & mask;
        dt->slot_of[h] = (uint32_t)(i + 1);
    }
}

static uint32_t term_intern(search_engine *s, const char *key, size_t len) {
    int added;
    uint32_t *v = shash_put(&s->terms, key, len, (uint32_t)s->nterms, &added);
    if (added) {
        if (s->nterms == s->term_cap) {
            s->term_cap = s->term_cap ? s->term_cap * 2 : 4096;
            s->term = xrealloc(s->term, s->term_cap * sizeof(*s->term));
        }
        memset(&s->term[s->nterms], 0, sizeof(s->term[0]));
        s->nterms++;
    }
    return *v;
}

int eng_term_id(const search_engine *s, const char *key, size_t len, uint32_t *id) {
    uint32_t *v = shash_get(&s->terms, key, len);
    if (!v) return 0;
    *id = *v;
    return 1;
}

static void dt_add_id(doc_terms *dt, uint32_t id, int field) {
    if ((dt->n + 1) * 2 > dt->slots) dt_grow_table(dt);
    size_t mask = dt->slots - 1;
    size_t h = (id * 2654435761u) & mask;
    while (dt->slot_of[h]) {
        size_t k = dt->slot_of[h] - 1;
        if (dt->ids[k] == id) {
            if (dt->tf[k][field] < UINT16_MAX) dt->tf[k][field]++;
            return;
        }
        h = (h + 1) & mask;
    }
    if (dt->n == dt->cap) {
        dt->cap = dt->cap ? dt->cap * 2 : 512;
        dt->ids = xrealloc(dt->ids, dt->cap * sizeof(*dt->ids));
        dt->tf = xrealloc(dt->tf, dt->cap * sizeof(*dt->tf));
    }
    dt->ids[dt->n] = id;
    memset(dt->tf[dt->n], 0, sizeof(dt->tf[0]));
    dt->tf[dt->n][field] = 1;
    dt->n++;
    dt->slot_of[h] = (uint32_t)dt->n;
}

/* ---- analysis of one text into terms ---- */

typedef struct analyser {
    search_engine *s;
    doc_terms *dt;
    int field;
    int capturing; /* record emitted term ids in dt->capture for the memo */
} analyser;

static void emit(analyser *a, char ns, const char *bytes, size_t n) {
    char key[1 + 4 * SEARCH_WORD_MAX_CHARS + 8];
    if (n + 1 > sizeof(key)) return;
    key[0] = ns;
    memcpy(key + 1, bytes, n);
    uint32_t id = term_intern(a->s, key, n + 1);
    dt_add_id(a->dt, id, a->field);
    if (a->capturing) {
        doc_terms *dt = a->dt;
        if (dt->ncapture == dt->capture_cap) {
            dt->capture_cap = dt->capture_cap ? dt->capture_cap * 2 : 256;
            dt->capture = xrealloc(dt->capture, dt->capture_cap * sizeof(*dt->capture));
        }
        dt->capture[dt->ncapture++] = id;
    }
}

/* UTF-8 of cps[a..b) into out (≥ 4*(b-a) bytes); returns the length. */
static size_t utf8_of(const uint32_t *cps, size_t a, size_t b, char *out) {
    size_t n = 0;
    for (size_t k = a; k < b; k++)
        n += su_put(out + n, cps[k]);
    return n;
}

static void emit_word(analyser *a, const uint32_t *cps, size_t from, size_t to) {
    char w[4 * SEARCH_WORD_MAX_CHARS];
    if (to - from > SEARCH_WORD_MAX_CHARS) return;
    size_t n = utf8_of(cps, from, to, w);
    if (lex_stop_class(a->s->lex, w, n) == 1) return;
    emit(a, 'w', w, n);
}

/* Initials of cps[a..b) in every reading combination (≤ SEARCH_MAX_COMBOS). */
static void emit_initials(analyser *a, const uint32_t *cps, size_t from, size_t to) {
    size_t n = to - from;
    char opts[10][SEARCH_MAX_READINGS];
    int nopt[10], pick[10];
    for (size_t k = 0; k < n; k++) {
        const uint16_t *ids;
        size_t r = lex_readings(a->s->lex, cps[from + k], &ids);
        nopt[k] = 0;
        for (size_t j = 0; j < r && j < SEARCH_MAX_READINGS; j++) {
            char c = a->s->lex->syllable[ids[j]][0];
            int dup = 0;
            for (int m = 0; m < nopt[k]; m++)
                dup |= opts[k][m] == c;
            if (!dup) opts[k][nopt[k]++] = c;
        }
        if (nopt[k] == 0) return;
        pick[k] = 0;
    }
    for (int combos = 0; combos < SEARCH_MAX_COMBOS; combos++) {
        char key[10];
        for (size_t k = 0; k < n; k++)
            key[k] = opts[k][pick[k]];
        emit(a, 'i', key, n);
        size_t k = n;
        while (k-- > 0) {
            if (++pick[k] < nopt[k]) break;
            pick[k] = 0;
        }
        if (k == (size_t)-1) break;
    }
}

static void emit_pinyin_bigrams(analyser *a, const uint32_t *cps, size_t n) {
    for (size_t k = 0; k + 1 < n; k++) {
        const uint16_t *r1, *r2;
        size_t n1 = lex_readings(a->s->lex, cps[k], &r1);
        size_t n2 = lex_readings(a->s->lex, cps[k + 1], &r2);
        if (n1 > SEARCH_MAX_READINGS) n1 = SEARCH_MAX_READINGS;
        if (n2 > SEARCH_MAX_READINGS) n2 = SEARCH_MAX_READINGS;
        for (size_t i = 0; i < n1; i++)
            for (size_t j = 0; j < n2; j++) {
                char key[4] = {(char)(r1[i] & 0xFF), (char)(r1[i] >> 8), (char)(r2[j] & 0xFF),
                               (char)(r2[j] >> 8)};
                emit(a, 'p', key, 4);
            }
    }
}

/* A run of Han characters. */
static void analyse_han(analyser *a, const uint32_t *cps, size_t n) {
    uint16_t ends[SEARCH_TEXT_MAX_CHARS];
    size_t nw = lex_segment(a->s->lex, cps, n, ends);
    int rich = a->field != F_BODY;
    /* Fine boundaries: word ends plus dictionary sub-word ends inside long words. */
    uint16_t bounds[SEARCH_TEXT_MAX_CHARS + 1];
    size_t nb = 0;
    bounds[nb++] = 0;
    size_t start = 0;
    for (size_t w = 0; w < nw; w++) {
        size_t end = ends[w];
        emit_word(a, cps, start, end);
        size_t len = end - start;
        if (len >= 3) {
            /* jieba's search mode: dictionary 2- and 3-grams inside a long word. */
            char g[12];
            for (size_t k = start; k + 2 <= end; k++) {
                size_t gl = utf8_of(cps, k, k + 2, g);
                if (lex_is_word(a->s->lex, g, gl)) emit(a, 'w', g, gl);
                if (len > 3 && k + 3 <= end) {
                    gl = utf8_of(cps, k, k + 3, g);
                    if (lex_is_word(a->s->lex, g, gl)) emit(a, 'w', g, gl);
                }
            }
            if (rich) {
                uint16_t sub[SEARCH_WORD_MAX_CHARS];
                size_t ns = lex_split_word(a->s->lex, cps + start, len, sub);
                for (size_t k = 0; k + 1 < ns; k++)
                    bounds[nb++] = (uint16_t)(start + sub[k]);
            }
        }
        bounds[nb++] = (uint16_t)end;
        start = end;
    }
    a->dt->len[a->field] += (uint32_t)n;
    if (!rich) return;
    char g[8];
    for (size_t k = 0; k < n; k++)
        emit(a, 'u', g, utf8_of(cps, k, k + 1, g));
    for (size_t k = 0; k + 1 < n; k++)
        emit(a, 'b', g, utf8_of(cps, k, k + 2, g));
    emit_pinyin_bigrams(a, cps, n);
    for (size_t i = 0; i + 1 < nb; i++)
        for (size_t j = i + 1; j < nb && j <= i + 4; j++) {
            size_t span = bounds[j] - bounds[i];
            if (span < 2) continue;
            if (span > 10) break;
            emit_initials(a, cps, bounds[i], bounds[j]);
        }
}

#define MEMO_MAX_TEXT    512     /* bytes of a piece worth remembering */
#define MEMO_MAX_ENTRIES 500000  /* pieces remembered */
#define MEMO_MAX_IDS     8000000 /* term ids remembered (32 MB) */

static void analyse_text_raw(analyser *a, const char *text, size_t tlen);

/* Analyse one piece of text, through the memo when the piece is short enough. */
static void analyse_text(analyser *a, const char *text) {
    if (!text || !*text) return;
    size_t tlen = strlen(text);
    search_engine *s = a->s;
    /* Names are remembered only during a bulk load, where the same 事项 keeps its
     * name in many counties; later edits mostly bring new names. */
    if ((a->field == F_NAME && !s->bulk) || tlen > MEMO_MAX_TEXT) {
        analyse_text_raw(a, text, tlen);
        return;
    }
    char key[MEMO_MAX_TEXT + 1];
    key[0] = (char)a->field;
    memcpy(key + 1, text, tlen);
    uint32_t *hit = shash_get(&s->memo, key, tlen + 1);
    if (hit) {
        const struct memo_ent *m = &s->memo_ent[*hit];
        for (uint32_t k = 0; k < m->n; k++)
            dt_add_id(a->dt, s->memo_ids[m->off + k], a->field);
        a->dt->len[a->field] += m->len;
        return;
    }
    uint32_t len_before = a->dt->len[a->field];
    a->capturing = s->nmemo < MEMO_MAX_ENTRIES && s->nmemo_ids < MEMO_MAX_IDS;
    a->dt->ncapture = 0;
    analyse_text_raw(a, text, tlen);
    if (!a->capturing) return;
    a->capturing = 0;
    if (s->nmemo == s->memo_cap) {
        s->memo_cap = s->memo_cap ? s->memo_cap * 2 : 4096;
        s->memo_ent = xrealloc(s->memo_ent, s->memo_cap * sizeof(*s->memo_ent));
    }
    size_t nids = a->dt->ncapture;
    if (s->nmemo_ids + nids > s->memo_ids_cap) {
        while (s->nmemo_ids + nids > s->memo_ids_cap)
            s->memo_ids_cap = s->memo_ids_cap ? s->memo_ids_cap * 2 : 65536;
        s->memo_ids = xrealloc(s->memo_ids, s->memo_ids_cap * sizeof(*s->memo_ids));
    }
    memcpy(s->memo_ids + s->nmemo_ids, a->dt->capture, nids * sizeof(*a->dt->capture));
    s->memo_ent[s->nmemo] = (struct memo_ent){.off = (uint32_t)s->nmemo_ids,
                                              .n = (uint32_t)nids,
                                              .len = a->dt->len[a->field] - len_before};
    s->nmemo_ids += nids;
    shash_put(&s->memo, key, tlen + 1, (uint32_t)s->nmemo, NULL);
    s->nmemo++;
}

/* Analyse one piece of text (already simplified Chinese; normalised here). */
static void analyse_text_raw(analyser *a, const char *text, size_t tlen) {
    if (tlen > SEARCH_TEXT_MAX_CHARS * 3) tlen = SEARCH_TEXT_MAX_CHARS * 3;
    size_t cap = tlen * 2 + 8;
    char *norm = xmalloc(cap);
    size_t n = lex_normalize(a->s->lex, text, tlen, norm, cap);
    uint32_t *cps = xmalloc((n + 1) * sizeof(*cps));
    size_t i = 0;
    while (i < n) {
        size_t run = 0;
        size_t save = i;
        uint32_t cp = su_next(norm, n, &i);
        if (su_is_han(cp)) {
            cps[run++] = cp;
            while (i < n) {
                size_t j = i;
                uint32_t c = su_next(norm, n, &j);
                if (!su_is_han(c) || run >= SEARCH_TEXT_MAX_CHARS) break;
                cps[run++] = c;
                i = j;
            }
            analyse_han(a, cps, run);
        } else if (cp != ' ') {
            size_t from = save;
            while (i < n && norm[i] != ' ' && (unsigned char)norm[i] < 0x80)
                i++;
            if (i - from <= 32) emit(a, 'l', norm + from, i - from);
            a->dt->len[a->field]++;
        }
    }
    free(cps);
    free(norm);
}

/* ---- posting lists ---- */

void plist_sync_skip(plist *p) {
    uint32_t want = p->n >= PLIST_SKIP_MIN ? (p->n + PLIST_SKIP_STEP - 1) / PLIST_SKIP_STEP : 0;
    if (want > p->skip_cap) {
        p->skip_cap = want + want / 2 + 8;
        p->skip = xrealloc(p->skip, p->skip_cap * sizeof(*p->skip));
    }
    for (uint32_t j = p->nskip; j < want; j++)
        p->skip[j] = p->doc[j * PLIST_SKIP_STEP];
    if (want == 0 && p->skip) {
        free(p->skip);
        p->skip = NULL;
        p->skip_cap = 0;
    }
    p->nskip = want;
}

static void plist_push(plist *p, uint32_t doc, uint8_t imp) {
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap + p->cap / 2 + 4 : 4;
        p->doc = xrealloc(p->doc, p->cap * sizeof(*p->doc));
        p->imp = xrealloc(p->imp, p->cap);
    }
    p->doc[p->n] = doc;
    p->imp[p->n] = imp;
    p->n++;
    if (p->n >= PLIST_SKIP_MIN) plist_sync_skip(p);
}

#define PEND_FLUSH (1u << 21) /* pending postings of a bulk load (24 MiB) */

void eng_flush_postings(search_engine *s) {
    size_t n = s->npend;
    if (!n) return;
    size_t nk = s->nterms * 2;
    /* Counting sort by list (stable: each list stays in document order). */
    uint32_t *start = xcalloc(nk + 1, sizeof(*start));
    for (size_t i = 0; i < n; i++)
        start[s->pend[i].key + 1]++;
    for (size_t k = 0; k < nk; k++)
        start[k + 1] += start[k];
    uint32_t *order = xmalloc(n * sizeof(*order));
    for (size_t i = 0; i < n; i++)
        order[start[s->pend[i].key]++] = (uint32_t)i;
    /* start[k] is now the end of list k's run. */
    size_t i = 0;
    while (i < n) {
        uint32_t key = s->pend[order[i]].key;
        size_t end = start[key];
        sterm *t = &s->term[key >> 1];
        plist *p = key & 1 ? &t->lo : &t->hi;
        uint32_t add = (uint32_t)(end - i);
        if (p->n + add > p->cap) {
            p->cap = p->n + add; /* exact: geometric growth left ~30 MiB more resident */
            p->doc = xrealloc(p->doc, p->cap * sizeof(*p->doc));
            p->imp = xrealloc(p->imp, p->cap);
        }
        for (; i < end; i++) {
            const struct pending_posting *pp = &s->pend[order[i]];
            p->doc[p->n] = pp->doc;
            p->imp[p->n] = pp->imp;
            p->n++;
        }
        plist_sync_skip(p);
    }
    free(order);
    free(start);
    s->npend = 0;
}

static void dmemo_free(search_engine *s);

void eng_set_bulk(search_engine *s, int on) {
    pthread_rwlock_wrlock(&s->lock);
    if (!on) {
        eng_flush_postings(s);
        dmemo_free(s);
        free(s->pend);
        s->pend = NULL;
        s->pend_cap = 0;
        /* The suggest entries of the whole load, sorted once (after the memos are
         * freed: the sort's tables are the load's last peak of memory). */
        if (s->nsugg_new) sugg_sort(s);
    }
    s->bulk = on;
    pthread_rwlock_unlock(&s->lock);
}

static void pend_push(search_engine *s, uint32_t term, int lo, uint32_t doc, uint8_t imp) {
    if (s->npend == s->pend_cap) {
        s->pend_cap = s->pend_cap ? s->pend_cap * 2 : 65536;
        s->pend = xrealloc(s->pend, s->pend_cap * sizeof(*s->pend));
    }
    s->pend[s->npend++] =
        (struct pending_posting){.key = term * 2 + (uint32_t)lo, .doc = doc, .imp = imp};
}

/* The length normalisation of each field of one item (computed once per item). */
static void field_norms(const uint32_t len[F_COUNT], float norm[F_COUNT]) {
    for (int f = 0; f < F_COUNT; f++)
        norm[f] = 1.0f - field_b[f] + field_b[f] * (float)len[f] / field_ref_len[f];
}

static uint8_t impact(const uint16_t tf[F_COUNT], const float norm[F_COUNT]) {
    float tfn = 0;
    for (int f = 0; f < F_COUNT; f++) {
        if (!tf[f]) continue;
        tfn += search_field_weight[f] * (float)tf[f] / norm[f];
    }
    float sat = tfn / (BM25_K1 + tfn);
    int q = (int)lrintf(sat * 127.0f);
    if (q < 1) q = 1;
    if (q > 127) q = 127;
    return (uint8_t)(q | (tf[F_NAME] ? 0x80 : 0));
}

/* ---- documents ---- */

uint32_t eng_intern(search_engine *s, const char *str) {
    int added;
    uint32_t *v = shash_put(&s->interned, str, strlen(str), (uint32_t)s->nintern, &added);
    if (added) {
        if (s->nintern == s->intern_cap) {
            s->intern_cap = s->intern_cap ? s->intern_cap * 2 : 64;
            s->intern_str = xrealloc(s->intern_str, s->intern_cap * sizeof(*s->intern_str));
        }
        s->intern_str[s->nintern++] = xstrdup(str);
    }
    return *v;
}

static void doc_free_strings(sdoc *d) {
    free(d->code);
    free(d->name);
    free(d->pinyin);
    free(d->initials);
    free(d->name_syl);
    d->code = d->name = d->pinyin = d->initials = NULL;
    d->name_syl = NULL;
}

/* Pinyin and initials of the name for suggest (customary reading of each
 * character; ASCII letters and digits as they are). */
static void doc_name_forms(search_engine *s, sdoc *d) {
    size_t n = strlen(d->name);
    char *py = xmalloc(n * 3 + 8), *ini = xmalloc(n + 8);
    d->name_syl = xmalloc((n + 1) * sizeof(*d->name_syl));
    size_t pn = 0, in = 0, i = 0, chars = 0;
    while (i < n) {
        uint32_t cp = su_next(d->name, n, &i);
        const uint16_t *ids;
        uint16_t syl = 0xFFFF;
        if (lex_readings(s->lex, cp, &ids)) {
            syl = ids[0];
            const char *t = s->lex->syllable[syl];
            size_t tl = strlen(t);
            memcpy(py + pn, t, tl);
            pn += tl;
            ini[in++] = t[0];
        } else if (cp < 0x80 && ((cp >= 'a' && cp <= 'z') || (cp >= '0' && cp <= '9') ||
                                 (cp >= 'A' && cp <= 'Z'))) {
            char c = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
            py[pn++] = c;
            ini[in++] = c;
        }
        d->name_syl[chars++] = syl;
    }
    py[pn] = '\0';
    ini[in] = '\0';
    d->pinyin = py;
    d->initials = ini;
    d->name_chars = (uint32_t)chars;
}

void eng_scratch_free(search_engine *s) {
    if (!s->scratch) return;
    dt_free(s->scratch);
    free(s->scratch);
    s->scratch = NULL;
}

/* The texts of an item other than its name and department, in analysis order:
 * for each piece, its field (1 keywords, 2 body), the text and a NUL. Two items
 * with the same bytes here give the same terms from these fields. */
static void key_piece(doc_terms *dt, int field, const char *text) {
    size_t tl = text ? strlen(text) : 0;
    if (dt->keylen + tl + 2 > dt->keycap) {
        while (dt->keylen + tl + 2 > dt->keycap)
            dt->keycap = dt->keycap ? dt->keycap * 2 : 8192;
        dt->key = xrealloc(dt->key, dt->keycap);
    }
    dt->key[dt->keylen++] = (char)field;
    memcpy(dt->key + dt->keylen, text, tl);
    dt->keylen += tl;
    dt->key[dt->keylen++] = '\0';
}

/* Call piece(ctx, field, text) for every text of the item except name and
 * department, in the order they are analysed. */
static void for_each_rest(const sitem *it, void (*piece)(void *ctx, int field, const char *text),
                          void *ctx) {
    for (size_t i = 0; i < it->n[SP_KW]; i++)
        piece(ctx, F_KW, it->list[SP_KW][i]);
    piece(ctx, F_BODY, it->type);
    piece(ctx, F_BODY, it->conditions);
    piece(ctx, F_BODY, it->result);
    piece(ctx, F_BODY, it->fee);
    for (int k = SP_MAT; k <= SP_FAQ; k++)
        for (size_t i = 0; i < it->n[k]; i++)
            piece(ctx, F_BODY, it->list[k][i]);
}

static void rest_key_piece(void *ctx, int field, const char *text) {
    key_piece(ctx, field, text);
}

static void rest_analyse_piece(void *ctx, int field, const char *text) {
    analyser *a = ctx;
    a->field = field;
    analyse_text(a, text);
}

/* Bounds of the item memo: ~16 MiB of keys and 16 MiB of terms, room for a few
 * thousand distinct items (a province's catalog repeats a few hundred); a catalog
 * of all-different items stops filling it there. */
#define DMEMO_MAX_KEY   65536       /* bytes of an item's texts worth remembering */
#define DMEMO_MAX_POOL  (16u << 20) /* bytes of keys remembered */
#define DMEMO_MAX_TERMS (2u << 20)  /* term entries remembered (8 bytes each) */

/* Free the memos of a bulk load (item and piece memo). */
static void dmemo_free(search_engine *s) {
    /* The piece memo too: it served the bulk load's repeats; edits refill it. */
    shash_free(&s->memo);
    free(s->memo_ent);
    free(s->memo_ids);
    s->memo_ent = NULL;
    s->memo_ids = NULL;
    s->nmemo = s->memo_cap = s->nmemo_ids = s->memo_ids_cap = 0;
    shash_free(&s->dmemo);
    free(s->dmemo_ent);
    free(s->dmemo_terms);
    s->dmemo_ent = NULL;
    s->dmemo_terms = NULL;
    s->ndmemo = s->dmemo_cap = s->ndmemo_terms = s->dmemo_terms_cap = 0;
}

/* The terms of everything but the name and department, into dt (empty): from the
 * item memo during a bulk load when an earlier item had the same texts, else by
 * analysis (remembered for the next items). The sums of term counts and field
 * lengths do not depend on the order of the pieces, so this gives exactly what
 * analysing the item in one pass gives. */
static void analyse_rest(search_engine *s, const sitem *item, doc_terms *dt) {
    analyser a = {.s = s, .dt = dt};
    if (!s->bulk) {
        for_each_rest(item, rest_analyse_piece, &a);
        return;
    }
    dt->keylen = 0;
    for_each_rest(item, rest_key_piece, dt);
    int memoise = dt->keylen <= DMEMO_MAX_KEY;
    if (memoise) {
        uint32_t *hit = shash_get(&s->dmemo, dt->key, dt->keylen);
        if (hit) {
            const struct dmemo_ent *m = &s->dmemo_ent[*hit];
            for (uint32_t k = 0; k < m->n; k++) {
                const struct dmemo_term *t = &s->dmemo_terms[m->off + k];
                if (t->kw) dt_add_id(dt, t->id, F_KW);
                if (t->body) dt_add_id(dt, t->id, F_BODY);
                /* dt was empty: the entry just added is the last one. */
                dt->tf[dt->n - 1][F_KW] = t->kw;
                dt->tf[dt->n - 1][F_BODY] = t->body;
            }
            dt->len[F_KW] += m->len_kw;
            dt->len[F_BODY] += m->len_body;
            return;
        }
    }
    for_each_rest(item, rest_analyse_piece, &a);
    if (!memoise || s->dmemo.pool_len + dt->keylen > DMEMO_MAX_POOL ||
        s->ndmemo_terms + dt->n > DMEMO_MAX_TERMS)
        return;
    if (s->ndmemo == s->dmemo_cap) {
        s->dmemo_cap = s->dmemo_cap ? s->dmemo_cap * 2 : 1024;
        s->dmemo_ent = xrealloc(s->dmemo_ent, s->dmemo_cap * sizeof(*s->dmemo_ent));
    }
    if (s->ndmemo_terms + dt->n > s->dmemo_terms_cap) {
        while (s->ndmemo_terms + dt->n > s->dmemo_terms_cap)
            s->dmemo_terms_cap = s->dmemo_terms_cap ? s->dmemo_terms_cap * 2 : 65536;
        s->dmemo_terms = xrealloc(s->dmemo_terms, s->dmemo_terms_cap * sizeof(*s->dmemo_terms));
    }
    for (size_t k = 0; k < dt->n; k++)
        s->dmemo_terms[s->ndmemo_terms + k] =
            (struct dmemo_term){.id = dt->ids[k], .kw = dt->tf[k][F_KW], .body = dt->tf[k][F_BODY]};
    s->dmemo_ent[s->ndmemo] = (struct dmemo_ent){.off = (uint32_t)s->ndmemo_terms,
                                                 .n = (uint32_t)dt->n,
                                                 .len_kw = dt->len[F_KW],
                                                 .len_body = dt->len[F_BODY]};
    s->ndmemo_terms += dt->n;
    shash_put(&s->dmemo, dt->key, dt->keylen, (uint32_t)s->ndmemo, NULL);
    s->ndmemo++;
}

static void analyse_item(search_engine *s, const sitem *item, doc_terms *dt) {
    analyse_rest(s, item, dt);
    analyser a = {.s = s, .dt = dt};
    a.field = F_NAME;
    analyse_text(&a, item->name);
    a.field = F_BODY;
    analyse_text(&a, item->department);
}

static void compact(search_engine *s);

int search_engine_put(search_engine *s, json_t *item, err *e) {
    sitem it = {0};
    sitem_from_json(&it, item);
    int rc = eng_put_item(s, &it, e);
    sitem_free(&it);
    return rc;
}

int eng_put_item(search_engine *s, const sitem *item, err *e) {
    const char *code = item->code;
    const char *name = item->name;
    if (!code || !*code || strlen(code) >= SEARCH_CODE_MAX)
        return err_invalid(e, "code", "事项编码缺失或过长");
    if (!name || !*name || strlen(name) >= SEARCH_NAME_MAX)
        return err_invalid(e, "name", "事项名称缺失或过长");
    pthread_rwlock_wrlock(&s->lock);
    if (s->ndocs >= SEARCH_MAX_DOCS) {
        pthread_rwlock_unlock(&s->lock);
        return err_set(e, 413, "too_large", "", "搜索索引已满");
    }
    uint32_t *old = shash_get(&s->codes, code, strlen(code));
    if (old && *old != UINT32_MAX) {
        sdoc *od = &s->docs[*old];
        od->live = 0;
        s->live[*old] = 0;
        s->live_docs--;
        s->dead_docs++;
    }
    if (s->ndocs == s->docs_cap) {
        s->docs_cap = s->docs_cap ? s->docs_cap * 2 : 1024;
        s->docs = xrealloc(s->docs, s->docs_cap * sizeof(*s->docs));
        s->live = xrealloc(s->live, s->docs_cap);
    }
    uint32_t id = (uint32_t)s->ndocs++;
    sdoc *d = &s->docs[id];
    memset(d, 0, sizeof(*d));
    d->code = xstrdup(code);
    d->name = xstrdup(name);
    d->department = eng_intern(s, item->department);
    d->type = eng_intern(s, item->type);
    d->popularity = (float)item->popularity;
    if (d->popularity < 0) d->popularity = 0;
    d->promise_days = (float)item->promise_days;
    long depth = item->online_depth;
    d->online_depth = (uint8_t)(depth < 0 ? 0 : depth > 4 ? 4 : depth);
    d->commitment = (uint8_t)item->commitment;
    d->instant = (uint8_t)item->instant;
    d->scope = (uint8_t)item->scope;
    d->handle_at = (uint8_t)item->handle_at;
    snprintf(d->area, sizeof(d->area), "%.6s", code);
    d->live = 1;
    s->live[id] = 1;
    doc_name_forms(s, d);
    shash_put(&s->codes, code, strlen(code), id, NULL)[0] = id;
    s->live_docs++;

    if (!s->scratch) s->scratch = xcalloc(1, sizeof(doc_terms));
    doc_terms *dt = s->scratch;
    dt_reset(dt);
    analyse_item(s, item, dt);
    float norm[F_COUNT];
    field_norms(dt->len, norm);
    for (size_t k = 0; k < dt->n; k++) {
        uint8_t imp = impact(dt->tf[k], norm);
        int lo = !(dt->tf[k][F_NAME] || dt->tf[k][F_KW]);
        if (s->bulk) {
            pend_push(s, dt->ids[k], lo, id, imp);
            continue;
        }
        sterm *t = &s->term[dt->ids[k]];
        plist_push(lo ? &t->lo : &t->hi, id, imp);
    }
    if (s->npend >= PEND_FLUSH) eng_flush_postings(s);
    sugg_add_doc(s, id);
    s->generation++;
    if (s->dead_docs > 64 && s->dead_docs * 4 > s->ndocs) compact(s);
    pthread_rwlock_unlock(&s->lock);
    return 0;
}

int search_engine_remove(search_engine *s, const char *code) {
    pthread_rwlock_wrlock(&s->lock);
    uint32_t *old = shash_get(&s->codes, code, strlen(code));
    if (!old || *old == UINT32_MAX) {
        pthread_rwlock_unlock(&s->lock);
        return 1;
    }
    s->docs[*old].live = 0;
    s->live[*old] = 0;
    *old = UINT32_MAX;
    s->live_docs--;
    s->dead_docs++;
    s->generation++;
    if (s->dead_docs > 64 && s->dead_docs * 4 > s->ndocs) compact(s);
    pthread_rwlock_unlock(&s->lock);
    return 0;
}

size_t search_engine_count(search_engine *s) {
    pthread_rwlock_rdlock(&s->lock);
    size_t n = s->live_docs;
    pthread_rwlock_unlock(&s->lock);
    return n;
}

static void plist_compact(plist *p, const uint32_t *remap) {
    uint32_t k = 0;
    for (uint32_t i = 0; i < p->n; i++) {
        uint32_t nd = remap[p->doc[i]];
        if (nd == UINT32_MAX) continue;
        p->doc[k] = nd;
        p->imp[k] = p->imp[i];
        k++;
    }
    p->n = k;
    p->nskip = 0;
    plist_sync_skip(p);
}

/* Drop dead documents from every list and renumber the live ones (order kept,
 * so lists stay sorted). */
static void compact(search_engine *s) {
    eng_flush_postings(s);
    uint32_t *remap = xmalloc(s->ndocs * sizeof(*remap));
    size_t k = 0;
    for (size_t i = 0; i < s->ndocs; i++) {
        if (s->docs[i].live) {
            remap[i] = (uint32_t)k;
            if (k != i) s->docs[k] = s->docs[i];
            s->live[k] = 1;
            k++;
        } else {
            remap[i] = UINT32_MAX;
            doc_free_strings(&s->docs[i]);
        }
    }
    for (size_t t = 0; t < s->nterms; t++) {
        plist_compact(&s->term[t].hi, remap);
        plist_compact(&s->term[t].lo, remap);
    }
    s->ndocs = k;
    s->dead_docs = 0;
    for (size_t i = 0; i < s->ndocs; i++)
        *shash_get(&s->codes, s->docs[i].code, strlen(s->docs[i].code)) = (uint32_t)i;
    free(remap);
    s->nsugg = s->nsugg_new = 0;
    for (size_t i = 0; i < s->ndocs; i++)
        sugg_add_doc(s, (uint32_t)i);
    sugg_sort(s);
}

/* ---- engine life cycle ---- */

void search_engine_free(search_engine *s) {
    if (!s) return;
    for (size_t i = 0; i < s->ndocs; i++)
        doc_free_strings(&s->docs[i]);
    free(s->docs);
    free(s->live);
    for (size_t t = 0; t < s->nterms; t++) {
        free(s->term[t].hi.doc);
        free(s->term[t].hi.imp);
        free(s->term[t].hi.skip);
        free(s->term[t].lo.doc);
        free(s->term[t].lo.imp);
        free(s->term[t].lo.skip);
    }
    free(s->term);
    shash_free(&s->terms);
    shash_free(&s->codes);
    shash_free(&s->interned);
    for (size_t i = 0; i < s->nintern; i++)
        free(s->intern_str[i]);
    free(s->intern_str);
    for (size_t i = 0; i < s->nsyn; i++) {
        free(s->syn[i].term);
        free(s->syn[i].canonical);
    }
    free(s->syn);
    for (size_t i = 0; i < s->nfile_syn; i++) {
        free(s->file_syn[i].term);
        free(s->file_syn[i].canonical);
    }
    free(s->file_syn);
    smulti_free(&s->syn_text);
    smulti_free(&s->syn_pinyin);
    free(s->sugg);
    free(s->sugg_new);
    free(s->pend);
    dmemo_free(s);
    eng_scratch_free(s);
    search_lexicon_free(s->lex);
    pthread_rwlock_destroy(&s->lock);
    free(s);
}

/* Shrink every list to its size after a bulk build (saves the growth slack). */
void search_engine_trim(search_engine *s) {
    pthread_rwlock_wrlock(&s->lock);
    eng_flush_postings(s);
    for (size_t t = 0; t < s->nterms; t++) {
        plist *ls[2] = {&s->term[t].hi, &s->term[t].lo};
        for (int k = 0; k < 2; k++) {
            plist *p = ls[k];
            if (p->skip_cap > p->nskip && p->nskip) {
                p->skip = xrealloc(p->skip, p->nskip * sizeof(*p->skip));
                p->skip_cap = p->nskip;
            }
            if (p->cap == p->n || p->n == 0) continue;
            p->doc = xrealloc(p->doc, p->n * sizeof(*p->doc));
            p->imp = xrealloc(p->imp, p->n);
            p->cap = p->n;
        }
    }
    sugg_sort(s);
    pthread_rwlock_unlock(&s->lock);
    /* A bulk load frees its memos, pending postings and sort tables: give the
     * free pages back rather than keep them as the process's resident size. */
    malloc_trim(0);
}
