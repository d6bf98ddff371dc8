/* search/query.c: query analysis, scoring, re-ranking, filters, facets and
 * highlights.
 *
 * A query is cut into "units" (a Han character, a pinyin syllable or initial,
 * a run of letters or digits) that carry a weight; stop words have none. Every
 * term looked up knows the units it stands for, so an item's coverage — how
 * much of the query it matches anywhere — multiplies its BM25F sum: an item
 * matching 公积金 and 提取 and 租房 beats one matching 公积金 three times.
 *
 * Stage 1 adds posting impacts into per-thread accumulators (term weight =
 * type weight × idf), heaviest terms first. Once there are candidates, lists
 * longer than LIST_FULL (or 1/16 of the items) are not walked: they are probed
 * (binary search) for the best candidates only — a term found in most items
 * (证, 申请, or 身份证 among the materials) cannot change which items match,
 * only their order.
 * Stage 2 re-ranks the best candidates by how the query reads against the
 * item's name: the longest stretches of query units that match consecutive name
 * characters (the same character, a homophone, a typed syllable or initial, with
 * at most one different character in a stretch of three or more), which also
 * gives the highlight. Priors (popularity, online depth, the user's town) come
 * last.
 *
 * Everything here holds the engine's read lock; nothing allocates per query
 * except the thread's scratch, which grows with the index. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/xmalloc.h"
#include "search/internal.h"

#define QP_MAX_TERMS     768
#define QP_TERM_SLOTS    2048 /* power of two ≥ 2 × QP_MAX_TERMS */
#define QP_MAX_TOKENS    256
#define QP_MAX_PHRASES   48
#define LIST_FULL        4096 /* longer lists are probed for the candidates, not walked */
#define WALK_BUDGET      8192 /* postings walked per query once there are candidates */
#define PREFETCH_AHEAD   12   /* postings between a prefetch and its use */
#define RERANK_MAX_EXTRA 10   /* stage 2 re-ranks at most want + this many candidates */
#define RERANK_MIN       30   /* candidates re-ranked in stage 2 */
#define NAME_MAX_CHARS   128
#define CUTOFF_RATIO     0.3 /* items below this share of the best stage-1 score do not count */
/* An item that matches less than half of what the user typed (after stop and intent
 * words) is noise, not an answer: xyzzy, 宠物狗疫苗 find nothing and reach the
 * zero-result report instead of listing stray one-character matches. A share, unlike a
 * score, does not drift with the catalog's size. On the development set 0.5 keeps
 * every answer; 0.6 starts losing question-style queries. */
#define MIN_COVERAGE   0.5f
#define PHRASE_BONUS   1.0f /* stage 2: × (1 + PHRASE_BONUS × share of the query read in the name */
#define NAMEFRAC_BONUS 0.3f /*            + NAMEFRAC_BONUS × share of the name matched) */

/* Weights of the term kinds (multiplied by idf). */
#define TW_WORD     1.0f
#define TW_SUBWORD  0.7f
#define TW_BIGRAM   0.6f
#define TW_UNIGRAM  0.3f
#define TW_HOMOPHON 0.35f
#define TW_PINYIN   0.9f
#define TW_INITIALS 1.0f
#define TW_INI_PART 0.45f
#define TW_LITERAL  1.0f
#define TW_DIGITS   0.5f
#define TW_WEAK     0.3f /* factor for intent words (材料, 多少钱…) */
#define TW_SYNONYM  0.9f /* factor for terms of a synonym's canonical wording */

enum { TK_HAN = 0, TK_SYL = 1, TK_INI = 2, TK_CANON = 3 };

typedef struct qterm {
    uint32_t id;
    float tw;
    uint64_t mask;
    char kind; /* the term's namespace letter */
} qterm;

typedef struct qtok {
    uint8_t kind;
    uint8_t unit; /* unit index (TK_CANON: unused) */
    uint8_t nrd;  /* TK_HAN: readings in rd */
    uint32_t val; /* code point, syllable id or letter */
    uint64_t sig; /* bit (id % 64) per reading: a quick "may share a reading" test */
    uint16_t rd[SEARCH_MAX_READINGS];
} qtok;

typedef struct qphrase {
    uint16_t first, count; /* tokens */
    uint64_t mask;         /* TK_CANON phrases: the synonym's units */
} qphrase;

#define FMEMO 64 /* power of two */

typedef struct qplan {
    const search_engine *s;
    char norm[SEARCH_QUERY_MAX_BYTES * 2];
    qterm terms[QP_MAX_TERMS];
    int nterms;
    uint16_t term_slot[QP_TERM_SLOTS]; /* term id hash → 1 + index in terms (0 empty) */
    float uw[SEARCH_MAX_UNITS];        /* unit weights; 0 for stop and weak units */
    float covtab[8][256];              /* weight of each byte of a unit mask */
    int covbytes;                      /* bytes of the mask in use */
    uint64_t fmemo_mask[FMEMO];        /* factor() of recent masks (0 = empty) */
    float fmemo[FMEMO];
    int nunits;
    uint64_t content; /* units with weight */
    float content_w;
    qtok tok[QP_MAX_TOKENS];
    int ntok;
    qphrase ph[QP_MAX_PHRASES];
    int nph;
} qplan;

static uint64_t unit_bit(int u) {
    return 1ull << (u < SEARCH_MAX_UNITS ? u : SEARCH_MAX_UNITS - 1);
}

static int new_unit(qplan *p, float w) {
    int u = p->nunits < SEARCH_MAX_UNITS ? p->nunits++ : SEARCH_MAX_UNITS - 1;
    if (w > 0 && p->uw[u] == 0) {
        p->uw[u] = w;
        p->content |= unit_bit(u);
        p->content_w += w;
    }
    return u;
}

static void add_term(qplan *p, char ns, const void *bytes, size_t n, float tw, uint64_t mask) {
    char key[1 + 4 * SEARCH_WORD_MAX_CHARS + 8];
    if (n + 1 > sizeof(key) || tw <= 0) return;
    key[0] = ns;
    memcpy(key + 1, bytes, n);
    uint32_t id;
    if (!eng_term_id(p->s, key, n + 1, &id)) return;
    size_t h = (id * 2654435761u) & (QP_TERM_SLOTS - 1);
    for (; p->term_slot[h]; h = (h + 1) & (QP_TERM_SLOTS - 1)) {
        qterm *t = &p->terms[p->term_slot[h] - 1];
        if (t->id == id) {
            t->mask |= mask;
            if (tw > t->tw) t->tw = tw;
            return;
        }
    }
    if (p->nterms == QP_MAX_TERMS) return;
    p->terms[p->nterms++] = (qterm){.id = id, .tw = tw, .mask = mask, .kind = ns};
    p->term_slot[h] = (uint16_t)p->nterms;
}

static void add_token(qplan *p, uint8_t kind, int unit, uint32_t val) {
    if (p->ntok == QP_MAX_TOKENS) return;
    qtok *t = &p->tok[p->ntok++];
    *t = (qtok){.kind = kind, .unit = (uint8_t)unit, .val = val};
    if (kind == TK_HAN) {
        const uint16_t *r;
        size_t nr = lex_readings(p->s->lex, val, &r);
        if (nr > SEARCH_MAX_READINGS) nr = SEARCH_MAX_READINGS;
        t->nrd = (uint8_t)nr;
        for (size_t k = 0; k < nr; k++) {
            t->rd[k] = r[k];
            t->sig |= 1ull << (r[k] & 63);
        }
    } else if (kind == TK_SYL) {
        t->sig = 1ull << (val & 63);
    }
}

static void begin_phrase(qplan *p, uint64_t mask) {
    if (p->nph == QP_MAX_PHRASES) return;
    p->ph[p->nph++] = (qphrase){.first = (uint16_t)p->ntok, .count = 0, .mask = mask};
}

static void end_phrase(qplan *p) {
    if (!p->nph) return;
    qphrase *ph = &p->ph[p->nph - 1];
    ph->count = (uint16_t)(p->ntok - ph->first);
    if (ph->count < 2) p->nph--;
}

static size_t utf8_of(const uint32_t *cps, size_t a, size_t b, char *out) {
    size_t n = 0;
    for (size_t k = a; k < b; k++)
        n += su_put(out + n, cps[k]);
    return n;
}

/* Words, sub-words and bigrams of a Han run whose units are given per char.
 * seg/nseg: the run's segmentation when the caller has it (NULL: segment here). */
static void han_terms(qplan *p, const uint32_t *cps, size_t n, const uint64_t *cmask,
                      const uint8_t *stop, float factor, const uint16_t *seg, size_t nseg) {
    uint16_t own[SEARCH_QUERY_MAX_BYTES];
    const uint16_t *ends = seg;
    size_t nw = nseg;
    if (!seg) {
        nw = lex_segment(p->s->lex, cps, n, own);
        ends = own;
    }
    size_t start = 0;
    char w[4 * SEARCH_WORD_MAX_CHARS];
    for (size_t k = 0; k < nw; start = ends[k], k++) {
        size_t end = ends[k];
        if (end - start > SEARCH_WORD_MAX_CHARS) continue;
        if (stop[start] == 1) continue;
        float f = factor * (stop[start] == 2 ? TW_WEAK : 1.0f);
        uint64_t m = 0;
        for (size_t j = start; j < end; j++)
            m |= cmask[j];
        add_term(p, 'w', w, utf8_of(cps, start, end, w), TW_WORD * f, m);
        if (end - start >= 3)
            for (size_t j = start; j + 2 <= end; j++)
                for (size_t len = 2; len <= 3 && j + len <= end && len < end - start; len++) {
                    size_t gl = utf8_of(cps, j, j + len, w);
                    if (!lex_is_word(p->s->lex, w, gl)) continue;
                    uint64_t sm = 0;
                    for (size_t q = j; q < j + len; q++)
                        sm |= cmask[q];
                    add_term(p, 'w', w, gl, TW_SUBWORD * f, sm);
                }
    }
    for (size_t k = 0; k + 1 < n; k++) {
        if (stop[k] == 1 || stop[k + 1] == 1) continue;
        float f = factor * ((stop[k] == 2 || stop[k + 1] == 2) ? TW_WEAK : 1.0f);
        char g[8];
        add_term(p, 'b', g, utf8_of(cps, k, k + 2, g), TW_BIGRAM * f, cmask[k] | cmask[k + 1]);
    }
}

/* Pinyin bigram terms between two slots given as reading lists. */
static void pinyin_pair(qplan *p, const uint16_t *r1, size_t n1, const uint16_t *r2, size_t n2,
                        float tw, uint64_t mask) {
    for (size_t i = 0; i < n1; i++)
        for (size_t j = 0; j < n2; j++) {
            char key[4] = {(char)(r1[i] & 0xFF), (char)(r1[i] >> 8), (char)(r2[j] & 0xFF),
                           (char)(r2[j] >> 8)};
            add_term(p, 'p', key, 4, tw, mask);
        }
}

static void expand_synonym(qplan *p, const synonym *syn, uint64_t mask);

/* Synonym terms found inside a Han run. */
static void han_synonyms(qplan *p, const uint32_t *cps, size_t n, const uint64_t *cmask) {
    size_t maxc = p->s->syn_max_chars;
    char w[4 * 64];
    for (size_t a = 0; a < n; a++)
        for (size_t b = a + 2; b <= n && b - a <= maxc && b - a <= 64; b++) {
            size_t len = utf8_of(cps, a, b, w);
            uint32_t link = smulti_first(&p->s->syn_text, w, len);
            if (!link) continue;
            uint64_t m = 0;
            for (size_t k = a; k < b; k++)
                m |= cmask[k];
            for (; link; link = p->s->syn_text.links[link - 1].next)
                expand_synonym(p, &p->s->syn[p->s->syn_text.links[link - 1].value], m);
        }
}

static void expand_synonym(qplan *p, const synonym *syn, uint64_t mask) {
    const char *c = syn->canonical;
    size_t len = strlen(c), i = 0;
    uint32_t cps[64];
    uint64_t cm[64];
    uint8_t stop[64];
    while (i < len) {
        size_t n = 0;
        size_t save = i;
        uint32_t cp = su_next(c, len, &i);
        if (su_is_han(cp)) {
            cps[n++] = cp;
            while (i < len && n < 64) {
                size_t j = i;
                uint32_t d = su_next(c, len, &j);
                if (!su_is_han(d)) break;
                cps[n++] = d;
                i = j;
            }
            for (size_t k = 0; k < n; k++) {
                cm[k] = mask;
                stop[k] = 0;
            }
            han_terms(p, cps, n, cm, stop, TW_SYNONYM, NULL, 0);
            begin_phrase(p, mask);
            for (size_t k = 0; k < n; k++)
                add_token(p, TK_CANON, 0, cps[k]);
            end_phrase(p);
        } else if (cp != ' ') {
            while (i < len && c[i] != ' ')
                i++;
            add_term(p, 'l', c + save, i - save, TW_LITERAL * TW_SYNONYM, mask);
        }
    }
}

static void synonyms_by_pinyin(qplan *p, char ns, const char *text, size_t n, uint64_t mask) {
    char key[SEARCH_QUERY_MAX_BYTES * 2 + 2];
    if (n + 1 > sizeof(key)) return;
    key[0] = ns;
    memcpy(key + 1, text, n);
    for (uint32_t link = smulti_first(&p->s->syn_pinyin, key, n + 1); link;
         link = p->s->syn_pinyin.links[link - 1].next)
        expand_synonym(p, &p->s->syn[p->s->syn_pinyin.links[link - 1].value], mask);
}

/* A piece of a group: a Han run, a letter run or a digit run. */
typedef struct piece {
    int kind;        /* 0 Han, 1 letters, 2 digits */
    size_t from, to; /* bytes in norm */
    /* letters: syllables of the first parse, their units */
    int nsyl;
    uint16_t syl[64];
    uint8_t syl_unit[64];
    uint8_t first_unit, last_unit; /* Han: units of its first and last char */
    uint32_t first_cp, last_cp;
} piece;

#define MAX_PARSES 3

static void letters_piece(qplan *p, piece *pc) {
    const char *r = p->norm + pc->from;
    size_t n = pc->to - pc->from;
    if (n > 64) n = 64;
    uint16_t ids[MAX_PARSES * 64];
    uint8_t ends[MAX_PARSES * 64];
    int nsyl[MAX_PARSES];
    int parses = lex_syllabify(p->s->lex, r, n, ids, ends, nsyl, MAX_PARSES);
    uint8_t letter_unit[64];
    uint64_t all = 0;
    if (parses > 0) {
        /* One unit per syllable of the first parse. */
        size_t k = 0;
        pc->nsyl = nsyl[0];
        for (int j = 0; j < nsyl[0]; j++) {
            int u = new_unit(p, 1.0f);
            pc->syl[j] = ids[j];
            pc->syl_unit[j] = (uint8_t)u;
            for (; k < ends[j]; k++)
                letter_unit[k] = (uint8_t)u;
            all |= unit_bit(u);
        }
        begin_phrase(p, 0);
        for (int j = 0; j < nsyl[0]; j++)
            add_token(p, TK_SYL, pc->syl_unit[j], ids[j]);
        end_phrase(p);
        for (int q = 0; q < parses; q++)
            for (int j = 0; j + 1 < nsyl[q]; j++) {
                size_t a = j ? ends[q * 64 + j - 1] : 0, b = ends[q * 64 + j + 1];
                uint64_t m = 0;
                for (size_t x = a; x < b; x++)
                    m |= unit_bit(letter_unit[x]);
                uint16_t s1 = ids[q * 64 + j], s2 = ids[q * 64 + j + 1];
                pinyin_pair(p, &s1, 1, &s2, 1, TW_PINYIN, m);
            }
    } else {
        for (size_t k = 0; k < n; k++) {
            int u = new_unit(p, 1.0f);
            letter_unit[k] = (uint8_t)u;
            all |= unit_bit(u);
        }
        begin_phrase(p, 0);
        for (size_t k = 0; k < n; k++)
            add_token(p, TK_INI, letter_unit[k], (uint32_t)(unsigned char)r[k]);
        end_phrase(p);
    }
    add_term(p, 'l', r, n, TW_LITERAL, all);
    if (parses == 0 || n <= 3) {
        add_term(p, 'i', r, n, parses ? TW_INITIALS * 0.5f : TW_INITIALS, all);
        if (parses == 0 && n >= 4)
            for (size_t k = 2; k + 2 <= n; k++) {
                uint64_t ml = 0, mr = 0;
                for (size_t x = 0; x < k; x++)
                    ml |= unit_bit(letter_unit[x]);
                for (size_t x = k; x < n; x++)
                    mr |= unit_bit(letter_unit[x]);
                add_term(p, 'i', r, k, TW_INI_PART, ml);
                add_term(p, 'i', r + k, n - k, TW_INI_PART, mr);
            }
    }
    synonyms_by_pinyin(p, 'f', r, n, all);
    synonyms_by_pinyin(p, 'i', r, n, all);
    uint32_t link = smulti_first(&p->s->syn_text, r, n);
    for (; link; link = p->s->syn_text.links[link - 1].next)
        expand_synonym(p, &p->s->syn[p->s->syn_text.links[link - 1].value], all);
}

static void han_piece(qplan *p, piece *pc) {
    uint32_t cps[SEARCH_QUERY_MAX_BYTES];
    uint64_t cmask[SEARCH_QUERY_MAX_BYTES];
    uint8_t stop[SEARCH_QUERY_MAX_BYTES];
    size_t n = 0, i = pc->from;
    while (i < pc->to && n < SEARCH_QUERY_MAX_BYTES)
        cps[n++] = su_next(p->norm, pc->to, &i);
    /* Stop classes by word. */
    uint16_t ends[SEARCH_QUERY_MAX_BYTES];
    size_t nw = lex_segment(p->s->lex, cps, n, ends), start = 0;
    for (size_t k = 0; k < nw; start = ends[k], k++) {
        char w[4 * SEARCH_WORD_MAX_CHARS];
        int cls = 0;
        if (ends[k] - start <= SEARCH_WORD_MAX_CHARS)
            cls = lex_stop_class(p->s->lex, w, utf8_of(cps, start, ends[k], w));
        for (size_t j = start; j < ends[k]; j++)
            stop[j] = (uint8_t)cls;
    }
    uint8_t units[SEARCH_QUERY_MAX_BYTES];
    for (size_t k = 0; k < n; k++) {
        units[k] = (uint8_t)new_unit(p, stop[k] ? 0.0f : 1.0f);
        cmask[k] = unit_bit(units[k]);
    }
    han_terms(p, cps, n, cmask, stop, 1.0f, ends, nw);
    for (size_t k = 0; k < n; k++) {
        if (stop[k] == 1) continue;
        char g[4];
        add_term(p, 'u', g, su_put(g, cps[k]), TW_UNIGRAM * (stop[k] == 2 ? TW_WEAK : 1.0f),
                 cmask[k]);
    }
    /* Homophones: pinyin bigrams of the characters. */
    for (size_t k = 0; k + 1 < n; k++) {
        if (stop[k] == 1 || stop[k + 1] == 1) continue;
        const uint16_t *r1, *r2;
        size_t n1 = lex_readings(p->s->lex, cps[k], &r1);
        size_t n2 = lex_readings(p->s->lex, cps[k + 1], &r2);
        pinyin_pair(p, r1, n1 < 2 ? n1 : 2, r2, n2 < 2 ? n2 : 2, TW_HOMOPHON,
                    cmask[k] | cmask[k + 1]);
    }
    han_synonyms(p, cps, n, cmask);
    /* Phrases: runs of non-stop characters (weak words are kept inside). */
    int open = 0;
    for (size_t k = 0; k < n; k++) {
        if (stop[k] == 1) {
            if (open) end_phrase(p);
            open = 0;
            continue;
        }
        if (!open) begin_phrase(p, 0);
        open = 1;
        add_token(p, TK_HAN, units[k], cps[k]);
    }
    if (open) end_phrase(p);
    pc->first_unit = units[0];
    pc->last_unit = units[n - 1];
    pc->first_cp = cps[0];
    pc->last_cp = cps[n - 1];
}

/* One space-separated group: its pieces, then what joins them (社bao卡). */
static void group(qplan *p, size_t from, size_t to) {
    piece pcs[64];
    int np = 0;
    size_t i = from;
    while (i < to && np < 64) {
        size_t j = i;
        uint32_t cp = su_next(p->norm, to, &j);
        int kind = su_is_han(cp) ? 0 : (cp >= '0' && cp <= '9') ? 2 : 1;
        size_t k = j;
        while (k < to) {
            size_t m = k;
            uint32_t c = su_next(p->norm, to, &m);
            int kk = su_is_han(c) ? 0 : (c >= '0' && c <= '9') ? 2 : 1;
            if (kk != kind) break;
            k = m;
        }
        piece *pc = &pcs[np++];
        memset(pc, 0, sizeof(*pc));
        pc->kind = kind;
        pc->from = i;
        pc->to = k;
        if (kind == 0)
            han_piece(p, pc);
        else if (kind == 1)
            letters_piece(p, pc);
        else
            add_term(p, 'l', p->norm + i, k - i, TW_DIGITS, unit_bit(new_unit(p, 0.5f)));
        i = k;
    }
    if (np < 2) return;
    /* Mixed Han and pinyin: bigrams across the seams, and the group's full pinyin
     * for synonyms. */
    char full[SEARCH_QUERY_MAX_BYTES * 4];
    size_t fn = 0;
    int pinyin_ok = 1;
    uint64_t all = 0;
    for (int k = 0; k < np; k++) {
        piece *a = &pcs[k];
        if (a->kind == 2 || (a->kind == 1 && a->nsyl == 0)) {
            pinyin_ok = 0;
            continue;
        }
        if (a->kind == 0) {
            size_t x = a->from;
            while (x < a->to) {
                uint32_t cp = su_next(p->norm, a->to, &x);
                const uint16_t *r;
                if (!lex_readings(p->s->lex, cp, &r)) {
                    pinyin_ok = 0;
                    break;
                }
                const char *t = p->s->lex->syllable[r[0]];
                size_t tl = strlen(t);
                if (fn + tl < sizeof(full)) memcpy(full + fn, t, tl), fn += tl;
            }
            for (int u = a->first_unit; u <= a->last_unit; u++)
                all |= unit_bit(u);
        } else {
            for (int j = 0; j < a->nsyl; j++) {
                const char *t = p->s->lex->syllable[a->syl[j]];
                size_t tl = strlen(t);
                if (fn + tl < sizeof(full)) memcpy(full + fn, t, tl), fn += tl;
                all |= unit_bit(a->syl_unit[j]);
            }
        }
        if (k + 1 < np) {
            piece *b = &pcs[k + 1];
            const uint16_t *r1 = NULL, *r2 = NULL;
            uint16_t s1, s2;
            size_t n1 = 0, n2 = 0;
            uint64_t m = 0;
            if (a->kind == 0 && b->kind == 1 && b->nsyl) {
                n1 = lex_readings(p->s->lex, a->last_cp, &r1);
                s2 = b->syl[0], r2 = &s2, n2 = 1;
                m = unit_bit(a->last_unit) | unit_bit(b->syl_unit[0]);
            } else if (a->kind == 1 && a->nsyl && b->kind == 0) {
                s1 = a->syl[a->nsyl - 1], r1 = &s1, n1 = 1;
                n2 = lex_readings(p->s->lex, b->first_cp, &r2);
                m = unit_bit(a->syl_unit[a->nsyl - 1]) | unit_bit(b->first_unit);
            }
            if (n1 && n2) pinyin_pair(p, r1, n1 < 2 ? n1 : 2, r2, n2 < 2 ? n2 : 2, TW_PINYIN, m);
        }
    }
    if (pinyin_ok && fn) synonyms_by_pinyin(p, 'f', full, fn, all);
}

static void plan_build(qplan *p, const search_engine *s, const char *norm) {
    p->nterms = p->nunits = p->ntok = p->nph = 0;
    memset(p->term_slot, 0, sizeof(p->term_slot));
    p->content = 0;
    p->content_w = 0;
    memset(p->uw, 0, sizeof(p->uw));
    p->s = s;
    snprintf(p->norm, sizeof(p->norm), "%s", norm);
    size_t n = strlen(p->norm), i = 0;
    while (i < n) {
        while (i < n && p->norm[i] == ' ')
            i++;
        size_t j = i;
        while (j < n && p->norm[j] != ' ')
            j++;
        if (j > i) group(p, i, j);
        i = j;
    }
}

/* ---- filters ---- */

typedef struct qfilter {
    int active;
    uint32_t department, type;
    int has_department, has_type;
    unsigned scope;
    int commitment, instant;
    unsigned handle_bit;
    int impossible;
} qfilter;

static int passes(const qfilter *f, const sdoc *d) {
    if (!f->active) return 1;
    if (f->has_department && d->department != f->department) return 0;
    if (f->has_type && d->type != f->type) return 0;
    if ((d->scope & f->scope) != f->scope) return 0;
    if (f->commitment && !d->commitment) return 0;
    if (f->instant && !d->instant) return 0;
    if (f->handle_bit && !(d->handle_at & f->handle_bit)) return 0;
    return 1;
}

/* ---- stage 2: the query against the item's name ---- */

typedef struct name_view {
    uint32_t cp[NAME_MAX_CHARS];
    uint16_t rd[NAME_MAX_CHARS][SEARCH_MAX_READINGS];
    uint8_t nrd[NAME_MAX_CHARS];
    uint64_t sig[NAME_MAX_CHARS];     /* as qtok.sig */
    uint32_t letters[NAME_MAX_CHARS]; /* bit per initial letter of a reading */
    uint64_t cp_bloom, sig_all;       /* quick "may occur in the name" tests */
    uint32_t letters_all;
    int n;
} name_view;

static inline uint64_t cp_bit(uint32_t cp) {
    return 1ull << ((cp * 2654435761u) >> 26);
}

static void name_view_load(const search_engine *s, const char *name, name_view *v) {
    size_t len = strlen(name), i = 0;
    v->n = 0;
    v->cp_bloom = v->sig_all = 0;
    v->letters_all = 0;
    while (i < len && v->n < NAME_MAX_CHARS) {
        uint32_t cp = su_next(name, len, &i);
        if (cp >= 'A' && cp <= 'Z') cp += 32;
        if (cp >= 0xFF01 && cp <= 0xFF5E) cp -= 0xFEE0;
        const uint16_t *r;
        size_t nr = lex_readings(s->lex, cp, &r);
        if (nr > SEARCH_MAX_READINGS) nr = SEARCH_MAX_READINGS;
        v->cp[v->n] = cp;
        v->nrd[v->n] = (uint8_t)nr;
        v->sig[v->n] = 0;
        v->letters[v->n] = cp >= 'a' && cp <= 'z' ? 1u << (cp - 'a') : 0;
        for (size_t k = 0; k < nr; k++) {
            v->rd[v->n][k] = r[k];
            v->sig[v->n] |= 1ull << (r[k] & 63);
            v->letters[v->n] |= 1u << (s->lex->syllable[r[k]][0] - 'a');
        }
        v->cp_bloom |= cp_bit(cp);
        v->sig_all |= v->sig[v->n];
        v->letters_all |= v->letters[v->n];
        v->n++;
    }
}

/* Credit of query token t against name character j (0 = mismatch). */
static inline float tok_match(const qtok *t, const name_view *v, int j) {
    switch (t->kind) {
    case TK_HAN:
        if (t->val == v->cp[j]) return 1.0f;
        if (!(t->sig & v->sig[j])) return 0;
        for (int a = 0; a < t->nrd; a++)
            for (int b = 0; b < v->nrd[j]; b++)
                if (t->rd[a] == v->rd[j][b]) return 0.85f;
        return 0;
    case TK_CANON:
        return t->val == v->cp[j] ? 1.0f : 0;
    case TK_SYL:
        if (!(t->sig & v->sig[j])) return 0;
        for (int b = 0; b < v->nrd[j]; b++)
            if (v->rd[j][b] == t->val) return 1.0f;
        return 0;
    case TK_INI:
        return (v->letters[j] >> (t->val - 'a')) & 1 ? 1.0f : 0;
    }
    return 0;
}

typedef struct name_match {
    float unit_credit[SEARCH_MAX_UNITS];
    uint8_t marked[NAME_MAX_CHARS];
    int marked_chars;
} name_match;

/* Best stretch of phrase ph against the name: ≥ 2 matching tokens, at most one
 * mismatch (only Han phrases of 3+ tokens, and not for initials). */
static void match_phrase(const qplan *p, const qphrase *ph, const name_view *v, name_match *out) {
    const qtok *t = &p->tok[ph->first];
    int n = ph->count;
    /* Quick reject: fewer than two tokens can occur in the name at all. A token
     * that cannot (pres 0) matches no character, so it is not tested below. */
    int possible = 0;
    uint8_t pres[QP_MAX_TOKENS];
    for (int i = 0; i < n; i++) {
        const qtok *k = &t[i];
        int can;
        if (k->kind == TK_INI)
            can = (v->letters_all >> (k->val - 'a')) & 1;
        else if (k->kind == TK_SYL)
            can = (k->sig & v->sig_all) != 0;
        else
            can = (v->cp_bloom & cp_bit(k->val)) || (k->kind == TK_HAN && (k->sig & v->sig_all));
        pres[i] = (uint8_t)can;
        possible += can;
    }
    if (possible < 2) return;
    float best = 0;
    int best_i = 0, best_j = 0, best_len = 0;
    float credit[QP_MAX_TOKENS];
    int allow_miss = (t[0].kind == TK_HAN || t[0].kind == TK_CANON) && n >= 3;
    for (int d = -(n - 1); d < v->n; d++) {
        int lo = d < 0 ? -d : 0, hi = n < v->n - d ? n : v->n - d;
        if (hi - lo < 2) continue;
        int hits = 0;
        for (int i = lo; i < hi; i++) {
            credit[i] = pres[i] ? tok_match(&t[i], v, i + d) : 0;
            hits += credit[i] != 0;
        }
        if (hits < 2) continue; /* no window with two matches */
        /* Two pointers: window [a, b] with ≤ 1 zero. */
        int a = lo, zeros = 0;
        float sum = 0;
        for (int b = lo; b < hi; b++) {
            if (credit[b] == 0) zeros++;
            sum += credit[b];
            while (zeros > (allow_miss ? 1 : 0)) {
                if (credit[a] == 0) zeros--;
                sum -= credit[a];
                a++;
            }
            if (credit[b] == 0) continue;
            /* The window must start on a match: skip a leading mismatch. */
            int aa = a, zz = zeros;
            if (credit[aa] == 0) aa++, zz--;
            int len = b - aa + 1, matched = len - zz;
            if (matched < 2 || (zz && len < 3)) continue;
            if (sum > best) {
                best = sum;
                best_i = aa;
                best_j = aa + d;
                best_len = len;
            }
        }
    }
    if (best <= 0) return;
    if (t[0].kind == TK_CANON) {
        float frac = best / (float)n;
        for (int u = 0; u < SEARCH_MAX_UNITS; u++)
            if ((ph->mask >> u) & 1 && frac > out->unit_credit[u]) out->unit_credit[u] = frac;
    } else {
        for (int i = best_i; i < best_i + best_len; i++) {
            float c = tok_match(&t[i], v, i + (best_j - best_i));
            int u = t[i].unit;
            if (c > out->unit_credit[u]) out->unit_credit[u] = c;
        }
    }
    for (int j = best_j; j < best_j + best_len; j++)
        if (!out->marked[j]) {
            out->marked[j] = 1;
            out->marked_chars++;
        }
}

static void name_match_run(const qplan *p, const name_view *v, name_match *m) {
    memset(m, 0, sizeof(*m));
    for (int k = 0; k < p->nph; k++)
        match_phrase(p, &p->ph[k], v, m);
}

/* HTML-escaped name with <mark> around matched characters. */
static void build_highlight(const name_view *v, const name_match *m, const char *name, char *out,
                            size_t cap) {
    size_t o = 0, len = strlen(name), i = 0;
    int j = 0, open = 0;
    out[0] = '\0';
    while (i < len) {
        size_t start = i;
        su_next(name, len, &i);
        int mark = j < v->n && m->marked[j];
        const char *esc = NULL;
        char buf[8];
        size_t pl;
        switch (name[start]) {
        case '<':
            esc = "&lt;";
            break;
        case '>':
            esc = "&gt;";
            break;
        case '&':
            esc = "&amp;";
            break;
        case '"':
            esc = "&quot;";
            break;
        case '\'':
            esc = "&#39;";
            break;
        default:
            break;
        }
        if (esc) {
            pl = strlen(esc);
        } else {
            pl = i - start;
            memcpy(buf, name + start, pl);
            esc = buf;
        }
        const char *tag = NULL;
        if (mark && !open) tag = "<mark>";
        if (!mark && open) tag = "</mark>";
        size_t tl = tag ? strlen(tag) : 0;
        if (o + tl + pl + 8 >= cap) break;
        if (tag) {
            memcpy(out + o, tag, tl);
            o += tl;
            open = mark;
        }
        memcpy(out + o, esc, pl);
        o += pl;
        j++;
    }
    if (open) {
        memcpy(out + o, "</mark>", 7);
        o += 7;
    }
    out[o] = '\0';
}

/* ---- per-thread scratch ---- */

typedef struct cand {
    uint32_t doc;
    uint32_t ti; /* index in qscratch.td */
    float pre;   /* stage 1: BM25F × coverage */
    float score; /* final */
    float bound; /* the highest final score stage 2 could give */
} cand;

/* Accumulator of an item the query touched. They are packed in touch order
 * (qscratch.td), reached from the item through qscratch.slot: the slot array
 * (4 bytes an item) stays in the core's cache where accumulators for every
 * item (32 bytes each, 3 MiB for 100,000 items) did not, and the passes over the
 * touched items read memory in order. */
typedef struct qdoc {
    uint64_t mask;
    uint64_t namemask; /* units matched by postings in the item's name */
    float acc;
    float fac;      /* coverage factor of mask */
    uint32_t doc;   /* the item */
    uint32_t state; /* 1 candidate, 2 filtered out, 3 in the heap */
} qdoc;

typedef struct qscratch {
    size_t cap;
    uint32_t *slot; /* per item: 0 untouched, else 1 + index in td */
    qdoc *td;       /* accumulators of the touched items, in touch order */
    uint32_t cdocs[SEARCH_MAX_LIMIT + SEARCH_MAX_OFFSET + RERANK_MIN];
    uint32_t cblk[SEARCH_MAX_LIMIT + SEARCH_MAX_OFFSET + RERANK_MIN]; /* their skip blocks */
    float hv[SEARCH_MAX_LIMIT + SEARCH_MAX_OFFSET + RERANK_MIN];      /* candidate heap */
    uint32_t hd[SEARCH_MAX_LIMIT + SEARCH_MAX_OFFSET + RERANK_MIN];
    size_t ntouched;
    cand *cands;
    float kbest[SEARCH_MAX_LIMIT + SEARCH_MAX_OFFSET];
    qplan plan;
    name_view nv;
    name_match nm;
    /* Facet counting by interned id: counts per id, ids seen (0 departments, 1 types). */
    uint32_t *fcount[2], *fseen[2];
    size_t nfseen[2], fcap;
} qscratch;

static __thread qscratch *tls;

static qscratch *scratch_for(size_t ndocs) {
    qscratch *q = tls;
    if (!q) q = tls = xcalloc(1, sizeof(*q));
    if (q->cap < ndocs) {
        size_t cap = ndocs + ndocs / 4 + 1024;
        free(q->slot);
        free(q->td);
        free(q->cands);
        q->slot = xcalloc(cap, sizeof(*q->slot));
        q->td = xmalloc(cap * sizeof(*q->td));
        q->cands = xmalloc(cap * sizeof(*q->cands));
        q->cap = cap;
    }
    q->ntouched = 0;
    return q;
}

void search_thread_cleanup(void) {
    qscratch *q = tls;
    if (!q) return;
    for (int k = 0; k < 2; k++) {
        free(q->fcount[k]);
        free(q->fseen[k]);
    }
    free(q->slot);
    free(q->td);
    free(q->cands);
    free(q);
    tls = NULL;
}

/* ---- the query ---- */

#define NAME_MEMO 32

static uint32_t name_hash(const char *s) {
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static int cand_cmp_bound(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->bound != y->bound) return x->bound < y->bound ? 1 : -1;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

static int cand_cmp_score(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* Move the m best candidates by stage-1 score to the front, in no particular
 * order (stage 2 sorts them): a min-heap of the best m seen so far. */
static void heap_down(cand *h, size_t n, size_t i) {
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, min = i;
        if (l < n && h[l].pre < h[min].pre) min = l;
        if (r < n && h[r].pre < h[min].pre) min = r;
        if (min == i) return;
        cand t = h[i];
        h[i] = h[min];
        h[min] = t;
        i = min;
    }
}

static void select_top(cand *c, size_t n, size_t m) {
    for (size_t i = m / 2; i-- > 0;)
        heap_down(c, m, i);
    for (size_t i = m; i < n; i++)
        if (c[i].pre > c[0].pre) {
            cand t = c[0];
            c[0] = c[i];
            c[i] = t;
            heap_down(c, m, 0);
        }
}

static int qterm_cmp(const void *a, const void *b) {
    const qterm *x = a, *y = b;
    return x->tw < y->tw ? 1 : x->tw > y->tw ? -1 : 0;
}

static void coverage_table(qplan *p) {
    p->covbytes = (p->nunits + 7) / 8;
    memset(p->fmemo_mask, 0, sizeof(p->fmemo_mask));
    for (int b = 0; b < p->covbytes; b++) {
        p->covtab[b][0] = 0;
        for (int v = 1; v < 256; v++)
            p->covtab[b][v] = p->covtab[b][v & (v - 1)] + p->uw[b * 8 + __builtin_ctz((unsigned)v)];
    }
}

/* The coverage factor of stage 1: 0.2 + 0.8 × coverage². */
static inline float factor(const qplan *p, uint64_t mask) {
    if (p->content_w <= 0) return 1.0f;
    float w = 0;
    for (int b = 0; b < p->covbytes; b++)
        w += p->covtab[b][(mask >> (8 * b)) & 0xFF];
    float c = w / p->content_w;
    return 0.2f + 0.8f * c * c;
}

/* factor() through a small direct-mapped memo: an item's mask changes on most of
 * its postings, and a query has few distinct masks. mask ≠ 0. */
static inline float factor_memo(qplan *p, uint64_t mask) {
    size_t h = (size_t)((mask * 0x9E3779B97F4A7C15ull) >> 58) & (FMEMO - 1);
    if (p->fmemo_mask[h] == mask) return p->fmemo[h];
    float f = factor(p, mask);
    p->fmemo_mask[h] = mask;
    p->fmemo[h] = f;
    return f;
}

/* The share of the query's weight that mask covers. Unit weights are 0, 0.5 or 1,
 * so the sum is exact in any order: the byte table gives the same value as
 * adding the weights bit by bit. */
static float coverage(const qplan *p, uint64_t mask) {
    if (p->content_w <= 0) return 1.0f;
    float w = 0;
    for (int b = 0; b < p->covbytes; b++)
        w += p->covtab[b][(mask >> (8 * b)) & 0xFF];
    return w / p->content_w;
}

static float prior(const sdoc *d, const char *town) {
    float f = 1.0f + 0.05f * logf(1.0f + d->popularity);
    f *= 1.0f + 0.015f * (float)(d->online_depth > 1 ? d->online_depth - 1 : 0);
    if (town && strncmp(town, d->area, 6) == 0)
        f *= (d->handle_at & 0x0C) ? 1.15f : 1.08f;
    else if (town && !strcmp(d->area, "330900") && (d->handle_at & 0x0C))
        f *= 1.05f;
    return f;
}

/* Restore the min-heap property below h (values hv, items hd). */
static void heap_sift(float *hv, uint32_t *hd, size_t n, size_t h) {
    for (;;) {
        size_t l = 2 * h + 1, r = l + 1, mn = h;
        if (l < n && hv[l] < hv[mn]) mn = l;
        if (r < n && hv[r] < hv[mn]) mn = r;
        if (mn == h) return;
        float tv = hv[h];
        hv[h] = hv[mn];
        hv[mn] = tv;
        uint32_t td = hd[h];
        hd[h] = hd[mn];
        hd[mn] = td;
        h = mn;
    }
}

static int u32_cmp(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* The first index ≥ from with a[index] ≥ x (n when none): exponential then
 * binary search, so walking a list in order costs O(k log(n/k)). */
static uint32_t gallop(const uint32_t *a, uint32_t from, uint32_t n, uint32_t x) {
    if (from >= n || a[from] >= x) return from;
    uint32_t step = 1, lo = from, hi;
    while (lo + step < n && a[lo + step] < x) {
        lo += step;
        step *= 2;
    }
    hi = lo + step < n ? lo + step : n;
    lo++;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (a[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The skip block where x would be, for x ascending over calls: the last j ≥ from
 * with pl->skip[j] ≤ x (from when there is none). */
static uint32_t skip_block(const plist *pl, uint32_t from, uint32_t x) {
    uint32_t j = from;
    if (j + 1 < pl->nskip && pl->skip[j + 1] <= x) {
        uint32_t lo = j + 1, hi = pl->nskip; /* skip[lo] <= x; find the last such */
        uint32_t step = 1;
        while (lo + step < hi && pl->skip[lo + step] <= x) {
            lo += step;
            step *= 2;
        }
        if (lo + step < hi) hi = lo + step;
        while (hi - lo > 1) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (pl->skip[mid] <= x)
                lo = mid;
            else
                hi = mid;
        }
        j = lo;
    }
    return j;
}

/* The position of x in block j of pl, or UINT32_MAX when x is not in the list
 * (the block holds every posting from skip[j] up to, not including, skip[j + 1]). */
static uint32_t block_find(const plist *pl, uint32_t j, uint32_t x) {
    uint32_t lo = j * PLIST_SKIP_STEP, hi = lo + PLIST_SKIP_STEP;
    if (hi > pl->n) hi = pl->n;
    /* Branch-free lower bound in [lo, hi). */
    const uint32_t *base = pl->doc + lo;
    uint32_t len = hi - lo;
    while (len > 1) {
        uint32_t half = len / 2;
        base = base[half] < x ? base + half : base;
        len -= half;
    }
    uint32_t pos = (uint32_t)(base - pl->doc) + (*base < x);
    return pos < hi && pl->doc[pos] == x ? pos : UINT32_MAX;
}

search_result *search_result_new(void) {
    /* ~160 KiB: not zeroed, since search_run() sets every header field and readers
     * look only at hits[0..nhits) and the facets' counts. */
    search_result *r = xmalloc(sizeof(search_result));
    r->total = r->nhits = r->ndepartments = r->ntypes = 0;
    r->normalized[0] = '\0';
    return r;
}

static void facets_reserve(qscratch *sc, size_t nintern) {
    if (sc->fcap >= nintern) return;
    size_t cap = nintern + nintern / 2 + 64;
    for (int k = 0; k < 2; k++) {
        sc->fcount[k] = xrealloc(sc->fcount[k], cap * sizeof(uint32_t));
        memset(sc->fcount[k] + sc->fcap, 0, (cap - sc->fcap) * sizeof(uint32_t));
        sc->fseen[k] = xrealloc(sc->fseen[k], cap * sizeof(uint32_t));
    }
    sc->fcap = cap;
}

static inline void count_facet(qscratch *sc, int k, uint32_t id) {
    if (sc->fcount[k][id]++ == 0) sc->fseen[k][sc->nfseen[k]++] = id;
}

static int facet_cmp(const void *a, const void *b) {
    const search_facet *x = a, *y = b;
    if (x->count != y->count) return y->count - x->count;
    return strcmp(x->value, y->value);
}

/* The SEARCH_MAX_FACETS largest counts of facet k into f (counts reset). */
static int facets_take(const search_engine *s, qscratch *sc, int k, search_facet *f) {
    size_t n = sc->nfseen[k];
    search_facet *all = n > SEARCH_MAX_FACETS ? xmalloc(n * sizeof(*all)) : f;
    for (size_t i = 0; i < n; i++) {
        uint32_t id = sc->fseen[k][i];
        all[i] = (search_facet){.value = s->intern_str[id], .count = (int)sc->fcount[k][id]};
        sc->fcount[k][id] = 0;
    }
    sc->nfseen[k] = 0;
    qsort(all, n, sizeof(*all), facet_cmp);
    if (all != f) {
        memcpy(f, all, SEARCH_MAX_FACETS * sizeof(*f));
        free(all);
        n = SEARCH_MAX_FACETS;
    }
    return (int)n;
}

int search_run(search_engine *s, const search_request *rq, search_result *res, err *e) {
    res->total = 0;
    res->nhits = 0;
    res->ndepartments = res->ntypes = 0;
    res->normalized[0] = '\0';
    const char *qtext = rq->q ? rq->q : "";
    if (strlen(qtext) > SEARCH_QUERY_MAX_BYTES)
        return err_invalid(e, "q", "查询过长（最多 %d 字节）", SEARCH_QUERY_MAX_BYTES);
    int limit = rq->limit ? rq->limit : SEARCH_DEFAULT_LIMIT;
    if (limit < 1 || limit > SEARCH_MAX_LIMIT)
        return err_invalid(e, "limit", "limit 须在 1 到 %d 之间", SEARCH_MAX_LIMIT);
    if (rq->offset < 0 || rq->offset > SEARCH_MAX_OFFSET)
        return err_invalid(e, "offset", "offset 须在 0 到 %d 之间", SEARCH_MAX_OFFSET);
    lex_normalize(s->lex, qtext, strlen(qtext), res->normalized, sizeof(res->normalized));

    pthread_rwlock_rdlock(&s->lock);
    qscratch *sc = scratch_for(s->ndocs);
    qplan *p = &sc->plan;
    plan_build(p, s, res->normalized);
    qfilter f = {0};
    if (rq->department && *rq->department) {
        uint32_t *id = shash_get(&s->interned, rq->department, strlen(rq->department));
        f.active = f.has_department = 1;
        if (id)
            f.department = *id;
        else
            f.impossible = 1;
    }
    if (rq->type && *rq->type) {
        uint32_t *id = shash_get(&s->interned, rq->type, strlen(rq->type));
        f.active = f.has_type = 1;
        if (id)
            f.type = *id;
        else
            f.impossible = 1;
    }
    if (rq->scope) f.active = 1, f.scope = rq->scope & 7;
    if (rq->commitment > 0) f.active = f.commitment = 1;
    if (rq->instant > 0) f.active = f.instant = 1;
    if (rq->handle_at > 0 && rq->handle_at <= 6)
        f.active = 1, f.handle_bit = 1u << (rq->handle_at - 1);
    if (p->nterms == 0 || f.impossible || s->live_docs == 0) {
        pthread_rwlock_unlock(&s->lock);
        return 0;
    }

    /* idf and order: the heaviest terms first. */
    double N = (double)s->live_docs;
    for (int i = 0; i < p->nterms; i++) {
        const sterm *t = &s->term[p->terms[i].id];
        double df = (double)(t->hi.n + t->lo.n);
        if (df > N) df = N;
        p->terms[i].tw *= (float)log(1.0 + (N - df + 0.5) / (df + 0.5));
    }
    qsort(p->terms, (size_t)p->nterms, sizeof(p->terms[0]), qterm_cmp);

    const sdoc *docs = s->docs;
    const uint8_t *live = s->live;
    uint32_t *slot = sc->slot;
    qdoc *td = sc->td;
    int deferred[QP_MAX_TERMS * 2], ndeferred = 0;
    uint32_t list_full = s->live_docs / 16 > LIST_FULL ? (uint32_t)(s->live_docs / 16) : LIST_FULL;
    /* MaxScore: rem_ub[i] is the most terms i.. can add to an item (impacts ≤ 1),
     * rem_mask[i] the units they cover. Once an item found only by them could not
     * reach the cutoff (CUTOFF_RATIO × the best score so far, which only grows),
     * their lists are no longer walked, only probed for the candidates. */
    float rem_ub[QP_MAX_TERMS + 1];
    uint64_t rem_mask[QP_MAX_TERMS + 1];
    rem_ub[p->nterms] = 0;
    rem_mask[p->nterms] = 0;
    for (int i = p->nterms; i-- > 0;) {
        rem_ub[i] = rem_ub[i + 1] + p->terms[i].tw;
        rem_mask[i] = rem_mask[i + 1] | p->terms[i].mask;
    }
    coverage_table(p);
    float best = 0, fac0 = factor(p, 0);
    int probing = 0;
    size_t walked = 0;
    /* The candidate heap: the best `m` items by stage-1 score seen so far (values
     * may lag behind an item's growing score, which keeps them lower bounds).
     * Its minimum is the MaxScore threshold: an item found only by the remaining
     * lists could not enter the candidates. */
    size_t want = (size_t)(rq->offset + limit);
    size_t m = want > RERANK_MIN ? want : RERANK_MIN;
    float *hv = sc->hv;
    uint32_t *hd = sc->hd;
    size_t nh = 0;
    int dirty = 0;
    for (int i = 0; i < p->nterms; i++) {
        const qterm *qt = &p->terms[i];
        const sterm *t = &s->term[qt->id];
        float w = qt->tw / 127.0f;
        if (!probing && i > 0) {
            /* Refresh the heap's values (when a list was walked since), then test
             * the bound. */
            if (dirty) {
                for (size_t h = 0; h < nh; h++)
                    hv[h] = td[hd[h]].acc * td[hd[h]].fac;
                for (size_t h = nh / 2; h-- > 0;)
                    heap_sift(hv, hd, nh, h);
                dirty = 0;
            }
            float theta = best * (float)CUTOFF_RATIO;
            if (nh == m && hv[0] > theta) theta = hv[0];
            if (theta > rem_ub[i] * factor(p, rem_mask[i])) probing = 1;
        }
        for (int part = 0; part < 2; part++) {
            const plist *pl = part ? &t->lo : &t->hi;
            if (pl->n == 0) continue;
            /* Body-only lists and single characters add evidence to candidates;
             * they find candidates only when nothing else did. */
            int weak_list = part == 1 || qt->kind == 'u';
            if (probing || (sc->ntouched > 0 &&
                            (weak_list || pl->n > list_full || walked + pl->n > WALK_BUDGET))) {
                deferred[ndeferred++] = i * 2 + part;
                continue;
            }
            walked += pl->n;
            dirty = 1;
            for (uint32_t k = 0; k < pl->n; k++) {
                uint32_t d = pl->doc[k];
                /* Lists are in document order: fetch the slot a few postings ahead. */
                if (k + PREFETCH_AHEAD < pl->n)
                    __builtin_prefetch(&slot[pl->doc[k + PREFETCH_AHEAD]], 1);
                uint32_t ti = slot[d];
                qdoc *q;
                if (ti == 0) {
                    ti = (uint32_t)sc->ntouched++;
                    slot[d] = ti + 1;
                    q = &td[ti];
                    q->state = (live[d] && (!f.active || passes(&f, &docs[d]))) ? 1 : 2;
                    q->doc = d;
                    q->acc = 0;
                    q->mask = 0;
                    q->namemask = 0;
                    q->fac = fac0;
                } else {
                    q = &td[--ti];
                }
                uint32_t st = q->state;
                if (!(st & 1)) continue;
                uint8_t imp = pl->imp[k];
                float a = q->acc += w * (float)(imp & 0x7F);
                uint64_t nm = q->mask | qt->mask;
                if (nm != q->mask) {
                    q->mask = nm;
                    q->fac = factor_memo(p, nm);
                }
                q->namemask |= qt->mask & (0 - (uint64_t)(imp >> 7));
                float pre = a * q->fac;
                if (pre > best) best = pre;
                if (st == 3) continue; /* already in the heap */
                if (nh < m) {
                    hv[nh] = pre;
                    hd[nh] = ti;
                    q->state = 3;
                    for (size_t h = nh++; h && hv[(h - 1) / 2] > hv[h]; h = (h - 1) / 2) {
                        float tv = hv[h];
                        hv[h] = hv[(h - 1) / 2];
                        hv[(h - 1) / 2] = tv;
                        uint32_t tdi = hd[h];
                        hd[h] = hd[(h - 1) / 2];
                        hd[(h - 1) / 2] = tdi;
                    }
                } else if (pre > hv[0]) {
                    td[hd[0]].state = 1;
                    hv[0] = pre;
                    hd[0] = ti;
                    q->state = 3;
                    heap_sift(hv, hd, nh, 0);
                }
            }
        }
    }

    /* Stage-1 scores and the candidates for stage 2. */
    size_t ncand = 0;
    cand *cands = sc->cands;
    float best_pre = 0;
    for (size_t k = 0; k < sc->ntouched; k++) {
        if (!(td[k].state & 1)) continue;
        float pre = td[k].acc * td[k].fac;
        cands[ncand++] = (cand){.doc = td[k].doc, .ti = (uint32_t)k, .pre = pre};
        if (pre > best_pre) best_pre = pre;
    }
    if (ncand > m) select_top(cands, ncand, m);
    size_t top = ncand < m ? ncand : m;
    /* Probe the deferred lists for the candidates, in document order, galloping
     * through each list. */
    uint32_t *cdocs = sc->cdocs, *cblk = sc->cblk;
    for (size_t c = 0; c < top; c++)
        cdocs[c] = cands[c].doc;
    if (ndeferred) qsort(cdocs, top, sizeof(*cdocs), u32_cmp);
    for (int di = 0; di < ndeferred; di++) {
        const qterm *qt = &p->terms[deferred[di] / 2];
        const plist *pl = deferred[di] & 1 ? &s->term[qt->id].lo : &s->term[qt->id].hi;
        float w = qt->tw / 127.0f;
        if (pl->nskip) {
            /* Long list: find every candidate's block first and fetch the blocks
             * (their misses then overlap), then look in each block. */
            uint32_t j = 0;
            for (size_t c = 0; c < top; c++) {
                j = skip_block(pl, j, cdocs[c]);
                cblk[c] = j;
                const uint32_t *b = pl->doc + (size_t)j * PLIST_SKIP_STEP;
                __builtin_prefetch(b);
                __builtin_prefetch(b + PLIST_SKIP_STEP - 1);
                __builtin_prefetch(pl->imp + (size_t)j * PLIST_SKIP_STEP);
            }
            for (size_t c = 0; c < top; c++) {
                uint32_t d = cdocs[c], pos = block_find(pl, cblk[c], d);
                if (pos == UINT32_MAX) continue;
                qdoc *q = &td[slot[d] - 1];
                q->acc += w * (float)(pl->imp[pos] & 0x7F);
                q->mask |= qt->mask;
                if (pl->imp[pos] & 0x80) q->namemask |= qt->mask;
            }
            continue;
        }
        uint32_t pos = 0;
        for (size_t c = 0; c < top && pos < pl->n; c++) {
            uint32_t d = cdocs[c];
            pos = gallop(pl->doc, pos, pl->n, d);
            if (pos < pl->n && pl->doc[pos] == d) {
                qdoc *q = &td[slot[d] - 1];
                q->acc += w * (float)(pl->imp[pos] & 0x7F);
                q->mask |= qt->mask;
                if (pl->imp[pos] & 0x80) q->namemask |= qt->mask;
            }
        }
    }
    /* Stage 2, best bound first: a candidate whose score cannot reach the want-th
     * best final score so far is not re-ranked (its score stays pre × prior). */
    float cutoff = best_pre * (float)CUTOFF_RATIO;
    for (size_t c = 0; c < top; c++) {
        uint32_t d = cands[c].doc;
        const qdoc *q = &td[cands[c].ti];
        float cov = coverage(p, q->mask);
        cands[c].pre = q->acc * (0.2f + 0.8f * cov * cov);
        cands[c].score = cands[c].pre * prior(&docs[d], rq->town);
        /* Stage 2 reads the query in the name: it can only find what stage 1
         * found there (plus a mistyped character, which earns no credit). */
        float named = coverage(p, q->namemask);
        cands[c].bound = q->namemask
                             ? cands[c].score * (1.0f + PHRASE_BONUS * named + NAMEFRAC_BONUS)
                             : cands[c].score;
    }
    qsort(cands, top, sizeof(*cands), cand_cmp_bound);
    float *kbest = sc->kbest;
    size_t nk = 0;
    name_view *nv = &sc->nv;
    name_match *nm = &sc->nm;
    /* The name's reading of the query depends on the name's text only, and the
     * candidates are mostly copies of one 事项 under the same name: remember it
     * per distinct name, for this query only. */
    struct {
        const char *name;
        uint32_t hash;
        float phr, namefrac;
    } nmemo[NAME_MEMO];
    int nnmemo = 0;
    for (size_t c = 0; c < top; c++) {
        if (nk == want && cands[c].bound < kbest[0]) break;
        if (c >= want + RERANK_MAX_EXTRA) break;
        uint32_t d = cands[c].doc;
        if (!td[cands[c].ti].namemask) goto ranked;
        const char *name = docs[d].name;
        uint32_t nh32 = name_hash(name);
        int mi = 0;
        while (mi < nnmemo && (nmemo[mi].hash != nh32 || strcmp(nmemo[mi].name, name) != 0))
            mi++;
        if (mi == nnmemo) {
            name_view_load(s, name, nv);
            name_match_run(p, nv, nm);
            float phr = 0;
            for (int u = 0; u < SEARCH_MAX_UNITS; u++)
                if ((p->content >> u) & 1) phr += p->uw[u] * nm->unit_credit[u];
            phr = p->content_w > 0 ? phr / p->content_w : 0;
            float namefrac = nv->n ? (float)nm->marked_chars / (float)nv->n : 0;
            if (nnmemo == NAME_MEMO)
                mi = nnmemo - 1; /* full: reuse the last slot */
            else
                nnmemo++;
            nmemo[mi].name = name;
            nmemo[mi].hash = nh32;
            nmemo[mi].phr = phr;
            nmemo[mi].namefrac = namefrac;
        }
        cands[c].score *= 1.0f + PHRASE_BONUS * nmemo[mi].phr + NAMEFRAC_BONUS * nmemo[mi].namefrac;
    ranked:
        if (cands[c].pre < cutoff) continue;
        /* kbest: min-heap of the best `want` final scores. */
        if (nk < want) {
            size_t i = nk++;
            kbest[i] = cands[c].score;
            while (i && kbest[(i - 1) / 2] > kbest[i]) {
                float t = kbest[i];
                kbest[i] = kbest[(i - 1) / 2];
                kbest[(i - 1) / 2] = t;
                i = (i - 1) / 2;
            }
        } else if (cands[c].score > kbest[0]) {
            kbest[0] = cands[c].score;
            for (size_t i = 0;;) {
                size_t l = 2 * i + 1, r = l + 1, mn = i;
                if (l < nk && kbest[l] < kbest[mn]) mn = l;
                if (r < nk && kbest[r] < kbest[mn]) mn = r;
                if (mn == i) break;
                float t = kbest[i];
                kbest[i] = kbest[mn];
                kbest[mn] = t;
                i = mn;
            }
        }
    }
    qsort(cands, top, sizeof(*cands), cand_cmp_score);

    /* Total and facets over the items that count: those within CUTOFF_RATIO of the
     * best stage-1 score. */
    int total = 0;
    if (rq->facets) facets_reserve(sc, s->nintern);
    for (size_t c = 0; c < ncand; c++) {
        if (cands[c].pre < cutoff) continue;
        if (coverage(p, td[cands[c].ti].mask) < MIN_COVERAGE) continue;
        total++;
        if (rq->facets) {
            const sdoc *d = &docs[cands[c].doc];
            count_facet(sc, 0, d->department);
            count_facet(sc, 1, d->type);
        }
    }
    if (rq->facets) {
        res->ndepartments = facets_take(s, sc, 0, res->departments);
        res->ntypes = facets_take(s, sc, 1, res->types);
    }
    res->total = total;
    int skipped = 0;
    for (size_t c = 0; c < top && res->nhits < limit; c++) {
        if (cands[c].pre < cutoff) continue;
        if (coverage(p, td[cands[c].ti].mask) < MIN_COVERAGE) continue;
        if (skipped < rq->offset) {
            skipped++;
            continue;
        }
        const sdoc *d = &docs[cands[c].doc];
        search_hit *h = &res->hits[res->nhits++];
        snprintf(h->code, sizeof(h->code), "%s", d->code);
        snprintf(h->name, sizeof(h->name), "%s", d->name);
        h->department = s->intern_str[d->department];
        h->type = s->intern_str[d->type];
        h->score = cands[c].score;
        h->promise_days = d->promise_days;
        h->online_depth = d->online_depth;
        h->commitment = d->commitment;
        h->instant = d->instant;
        h->highlight[0] = '\0';
        if (rq->highlight) {
            name_view_load(s, d->name, nv);
            name_match_run(p, nv, nm);
            build_highlight(nv, nm, d->name, h->highlight, sizeof(h->highlight));
        }
    }
    for (size_t k = 0; k < sc->ntouched; k++)
        slot[td[k].doc] = 0;
    sc->ntouched = 0;
    pthread_rwlock_unlock(&s->lock);
    return 0;
}

json_t *search_result_json(const search_result *res, const char *query, double took_ms) {
    json_t *o = json_object();
    json_object_set_new(o, "query", json_string(query ? query : ""));
    json_object_set_new(o, "normalized", json_string(res->normalized));
    json_object_set_new(o, "total", json_integer(res->total));
    json_t *items = json_array();
    for (int i = 0; i < res->nhits; i++) {
        const search_hit *h = &res->hits[i];
        json_t *it = json_object();
        json_object_set_new(it, "code", json_string(h->code));
        json_object_set_new(it, "name", json_string(h->name));
        json_object_set_new(it, "department", json_string(h->department));
        json_object_set_new(it, "type", json_string(h->type));
        json_object_set_new(it, "score", json_real(round(h->score * 1000.0) / 1000.0));
        json_t *hl = json_object();
        json_object_set_new(hl, "name", json_string(h->highlight[0] ? h->highlight : h->name));
        json_object_set_new(it, "highlight", hl);
        json_object_set_new(it, "online_depth", json_integer(h->online_depth));
        json_object_set_new(it, "promise_days", json_real(h->promise_days));
        json_object_set_new(it, "commitment", json_boolean(h->commitment));
        json_object_set_new(it, "instant", json_boolean(h->instant));
        json_array_append_new(items, it);
    }
    json_object_set_new(o, "items", items);
    json_t *facets = json_object(), *dep = json_object(), *typ = json_object();
    for (int i = 0; i < res->ndepartments; i++)
        json_object_set_new(dep, res->departments[i].value,
                            json_integer(res->departments[i].count));
    for (int i = 0; i < res->ntypes; i++)
        json_object_set_new(typ, res->types[i].value, json_integer(res->types[i].count));
    json_object_set_new(facets, "department", dep);
    json_object_set_new(facets, "type", typ);
    json_object_set_new(o, "facets", facets);
    json_object_set_new(o, "took_ms", json_real(round(took_ms * 1000.0) / 1000.0));
    return o;
}
