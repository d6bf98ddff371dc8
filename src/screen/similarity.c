/* screen/similarity: MinHash/LSH over character shingles of bid documents, exact
 * verification into passages, rarity weighting (see similarity.h). */
#include "screen/similarity.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- hashing ---- */

#define SHINGLE_BASE 0x100000001B3ull /* odd multiplier of the rolling polynomial */
#define SHINGLE_SEED 0x5851F42D4C957F2Dull

/* qsort for arrays that may be empty (and then NULL): qsort(NULL, 0, …) is undefined. */
static void sort_n(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *)) {
    if (n > 1) qsort(base, n, size, cmp);
}
static inline uint64_t fmix64(uint64_t k) {
    k ^= k >> 33;
    k *= 0xFF51AFD7ED558CCDull;
    k ^= k >> 33;
    k *= 0xC4CEB9FE1A85EC53ull;
    k ^= k >> 33;
    return k;
}

/* B^(K-1), to drop the oldest character from the rolling hash. */
static uint64_t base_pow(void) {
    uint64_t p = 1;
    for (int i = 0; i < SIM_K - 1; i++)
        p *= SHINGLE_BASE;
    return p;
}

/* ---- normalisation ---- */

/* The folded form of code point c, or 0 when it is dropped (whitespace,
 * punctuation, symbols, controls, private use). */
static inline __attribute__((always_inline)) uint32_t fold(uint32_t c) {
    if (c >= 0x3400 && c <= 0x9FFF) return c;    /* CJK ideographs: the common case */
    if (c >= 0xFF01 && c <= 0xFF5E) c -= 0xFEE0; /* full-width ASCII */
    if (c < 0x80) {
        if (c >= 'A' && c <= 'Z') return c + 32;
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return c;
        return 0;
    }
    if (c < 0xC0 || c == 0xD7 || c == 0xF7) return 0;
    if (c >= 0x2000 && c <= 0x2BFF) return 0; /* punctuation, symbols, arrows, shapes */
    if (c >= 0x3000 && c <= 0x303F) return 0; /* CJK punctuation, ideographic space */
    if (c >= 0xE000 && c <= 0xF8FF) return 0; /* private use */
    if (c >= 0xFE10 && c <= 0xFE6F) return 0; /* vertical and small forms */
    if (c >= 0xFF00) return 0;                /* remaining half/full-width forms, specials */
    return c;
}

/* Decode one code point at s[*i] (lenient: a bad byte is skipped as U+FFFD). */
static inline uint32_t utf8_next(const unsigned char *s, size_t n, size_t *i) {
    unsigned c = s[*i];
    if (c < 0x80) {
        (*i)++;
        return c;
    }
    size_t k = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 0;
    if (!k || c < 0xC2 || c > 0xF4 || *i + k >= n) {
        (*i)++;
        return 0xFFFD;
    }
    uint32_t v = c & (0x3F >> k);
    for (size_t j = 1; j <= k; j++) {
        unsigned b = s[*i + j];
        if ((b & 0xC0) != 0x80) {
            (*i)++;
            return 0xFFFD;
        }
        v = (v << 6) | (b & 0x3F);
    }
    *i += k + 1;
    return v;
}

static size_t utf8_put(uint32_t c, char *o) {
    if (c < 0x80) {
        o[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (char)(0xC0 | (c >> 6));
        o[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (char)(0xE0 | (c >> 12));
        o[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        o[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (c >> 18));
    o[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    o[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

char *sim_normalize(const char *s, size_t len) {
    char *out = malloc(len + 1), *o = out;
    if (!out) return NULL;
    size_t i = 0;
    while (i < len) {
        uint32_t c = fold(utf8_next((const unsigned char *)s, len, &i));
        if (c) o += utf8_put(c, o);
    }
    *o = 0;
    return out;
}

/* ---- a streaming shingle iterator (signatures, document frequencies) ---- */

typedef struct shiter {
    const unsigned char *s;
    size_t n, i;
    uint32_t ring[SIM_K];
    int filled, head;
    uint64_t h, bk;
} shiter;

static void shi_init(shiter *it, const char *s, size_t n) {
    memset(it, 0, sizeof(*it));
    it->s = (const unsigned char *)s;
    it->n = n;
    it->bk = base_pow();
}

/* The next shingle's mixed hash into *out; 0 at the end. */
static inline __attribute__((always_inline)) int shi_next(shiter *it, uint64_t *out) {
    while (it->i < it->n) {
        const unsigned char *p = it->s + it->i;
        uint32_t c;
        if (p[0] < 0x80) {
            c = p[0];
            it->i++;
        } else if ((p[0] & 0xF0) == 0xE0 && it->i + 2 < it->n && (p[1] & 0xC0) == 0x80 &&
                   (p[2] & 0xC0) == 0x80) { /* 3 bytes: all of CJK */
            c = ((uint32_t)(p[0] & 0x0F) << 12) | ((uint32_t)(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
            it->i += 3;
        } else {
            c = utf8_next(it->s, it->n, &it->i);
        }
        c = fold(c);
        if (!c) continue;
        if (it->filled == SIM_K) {
            it->h -= (uint64_t)it->ring[it->head] * it->bk;
        } else {
            it->filled++;
        }
        it->h = it->h * SHINGLE_BASE + c;
        it->ring[it->head] = c;
        it->head = (it->head + 1) % SIM_K;
        if (it->filled == SIM_K) {
            uint64_t m = fmix64(it->h ^ SHINGLE_SEED);
            *out = m ? m : 1;
            return 1;
        }
    }
    return 0;
}

/* ---- an open-addressing map uint64 -> (a, b) ---- */

typedef struct hmap {
    uint64_t *k;
    uint32_t *a, *b;
    size_t mask, n;
} hmap;

static int hm_init(hmap *m, size_t expect) {
    size_t cap = 16;
    while (cap < expect * 2 + 2)
        cap <<= 1;
    m->k = calloc(cap, sizeof(uint64_t));
    m->a = malloc(cap * sizeof(uint32_t));
    m->b = malloc(cap * sizeof(uint32_t));
    m->mask = cap - 1;
    m->n = 0;
    return m->k && m->a && m->b ? 0 : -1;
}

static void hm_free(hmap *m) {
    free(m->k);
    free(m->a);
    free(m->b);
    memset(m, 0, sizeof(*m));
}

static int hm_grow(hmap *m) {
    hmap g;
    if (hm_init(&g, (m->mask + 1)) != 0) {
        hm_free(&g);
        return -1;
    }
    for (size_t i = 0; i <= m->mask; i++) {
        if (!m->k[i]) continue;
        size_t j = m->k[i] & g.mask;
        while (g.k[j])
            j = (j + 1) & g.mask;
        g.k[j] = m->k[i];
        g.a[j] = m->a[i];
        g.b[j] = m->b[i];
        g.n++;
    }
    hm_free(m);
    *m = g;
    return 0;
}

/* Slot of key k (inserted with a = b = 0 when new and insert is set), or -1. */
static inline long hm_slot(hmap *m, uint64_t k, int insert) {
    if (!m->k) return -1;
    size_t j = k & m->mask;
    while (m->k[j]) {
        if (m->k[j] == k) return (long)j;
        j = (j + 1) & m->mask;
    }
    if (!insert) return -1;
    if ((m->n + 1) * 2 > m->mask + 1) {
        if (hm_grow(m) != 0) return -1;
        return hm_slot(m, k, 1);
    }
    m->k[j] = k;
    m->a[j] = m->b[j] = 0;
    m->n++;
    return (long)j;
}

/* ---- MinHash ---- */

typedef struct sigacc {
    uint32_t min[SIM_HASHES];
    uint64_t filled[SIM_HASHES / 64];
} sigacc;

static void sig_start(sigacc *s) {
    memset(s->min, 0xFF, sizeof(s->min));
    memset(s->filled, 0, sizeof(s->filled));
}

static inline void sig_add(sigacc *s, uint64_t h) {
    unsigned bin = (unsigned)(h >> 57); /* top 7 bits: the bucket (= the hash function) */
    uint32_t v = (uint32_t)h;
    if (v < s->min[bin]) s->min[bin] = v;
    s->filled[bin >> 6] |= 1ull << (bin & 63);
}

#define IS_FILLED(s, i) (((s)->filled[(i) >> 6] >> ((i)&63)) & 1)

/* Optimal densification (Shrivastava 2017): an empty bucket borrows the value of
 * the first filled bucket along its own fixed probe sequence. Returns 0 when the
 * document has no shingle at all (signature all ones). */
static int sig_finish(sigacc *s, uint32_t out[SIM_HASHES]) {
    int any = 0;
    for (int i = 0; i < SIM_HASHES / 64; i++)
        any |= s->filled[i] != 0;
    if (!any) {
        memset(out, 0xFF, sizeof(uint32_t) * SIM_HASHES);
        return 0;
    }
    for (unsigned i = 0; i < SIM_HASHES; i++) {
        if (IS_FILLED(s, i)) {
            out[i] = s->min[i];
            continue;
        }
        for (uint64_t t = 1;; t++) {
            unsigned j = (unsigned)(fmix64(((uint64_t)i << 32) + t + SHINGLE_SEED) % SIM_HASHES);
            if (IS_FILLED(s, j)) {
                out[i] = s->min[j];
                break;
            }
        }
    }
    return 1;
}

size_t sim_signature(const char *text, size_t len, uint32_t sig[SIM_HASHES]) {
    sigacc s;
    sig_start(&s);
    shiter it;
    shi_init(&it, text, len);
    uint64_t h;
    size_t n = 0;
    while (shi_next(&it, &h)) {
        sig_add(&s, h);
        n++;
    }
    sig_finish(&s, sig);
    return n;
}

double sim_estimate(const uint32_t a[SIM_HASHES], const uint32_t b[SIM_HASHES]) {
    int eq = 0;
    for (int i = 0; i < SIM_HASHES; i++)
        eq += a[i] == b[i];
    return (double)eq / SIM_HASHES;
}

static int set_of(const char *t, size_t n, hmap *m) {
    if (hm_init(m, n / 2 + 16) != 0) return -1;
    shiter it;
    shi_init(&it, t, n);
    uint64_t h;
    while (shi_next(&it, &h))
        if (hm_slot(m, h, 1) < 0) return -1;
    return 0;
}

double sim_jaccard_exact(const char *a, size_t alen, const char *b, size_t blen) {
    hmap ma = {0}, mb = {0};
    double r = 0;
    if (set_of(a, alen, &ma) == 0 && set_of(b, blen, &mb) == 0) {
        size_t inter = 0;
        for (size_t i = 0; i <= ma.mask; i++)
            if (ma.k[i] && hm_slot(&mb, ma.k[i], 0) >= 0) inter++;
        size_t uni = ma.n + mb.n - inter;
        r = uni ? (double)inter / (double)uni : 0;
    }
    hm_free(&ma);
    hm_free(&mb);
    return r;
}

/* ---- the corpus ---- */

typedef struct sdoc {
    char *label;
    int64_t group;
    char *text; /* in memory, or NULL: read path again */
    size_t len;
    char *path;
    uint32_t sig[SIM_HASHES];
    size_t nsh; /* shingle positions outside the tender's text */
    int empty;
} sdoc;

#define TENDER_FILTER_BITS (1u << 20) /* 128 KiB: stays in cache */

struct sim_corpus {
    sdoc *docs;
    int n, cap;
    hmap tender;             /* shingles of the tender's own text */
    uint64_t *tender_filter; /* their bits, checked first */
};

sim_corpus *sim_corpus_new(void) {
    return calloc(1, sizeof(sim_corpus));
}

void sim_corpus_free(sim_corpus *c) {
    if (!c) return;
    for (int i = 0; i < c->n; i++) {
        free(c->docs[i].label);
        free(c->docs[i].text);
        free(c->docs[i].path);
    }
    free(c->docs);
    hm_free(&c->tender);
    free(c->tender_filter);
    free(c);
}

int sim_corpus_count(const sim_corpus *c) {
    return c ? c->n : 0;
}

int sim_corpus_add_tender(sim_corpus *c, const char *text, size_t len, err *e) {
    if (c->n) return err_conflict(e, "tender", "招标文件须在投标文件之前加入");
    if (!c->tender.k && hm_init(&c->tender, 1024) != 0) return err_internal(e, "内存不足");
    if (!c->tender_filter && !(c->tender_filter = calloc(TENDER_FILTER_BITS / 64, 8)))
        return err_internal(e, "内存不足");
    shiter it;
    shi_init(&it, text, len);
    uint64_t h;
    while (shi_next(&it, &h)) {
        if (hm_slot(&c->tender, h, 1) < 0) return err_internal(e, "内存不足");
        size_t b = (size_t)(h >> 20) & (TENDER_FILTER_BITS - 1);
        c->tender_filter[b >> 6] |= 1ull << (b & 63);
    }
    return 0;
}

static inline int in_tender(sim_corpus *c, uint64_t h) {
    if (!c->tender.n) return 0;
    size_t b = (size_t)(h >> 20) & (TENDER_FILTER_BITS - 1);
    if (!((c->tender_filter[b >> 6] >> (b & 63)) & 1)) return 0;
    return hm_slot(&c->tender, h, 0) >= 0;
}

/* Signature and own-shingle count of a document's text. */
static void doc_sign(sim_corpus *c, sdoc *d, const char *text, size_t len) {
    sigacc s;
    sig_start(&s);
    shiter it;
    shi_init(&it, text, len);
    uint64_t h;
    size_t n = 0;
    while (shi_next(&it, &h)) {
        if (in_tender(c, h)) continue;
        sig_add(&s, h);
        n++;
    }
    d->empty = !sig_finish(&s, d->sig);
    d->nsh = n;
}

/* A copy of label that is valid UTF-8 (file names need not be): bad bytes → '?'. */
static char *sim_normalize_label(const char *label) {
    if (!label) label = "";
    size_t n = strlen(label), i = 0, o = 0;
    char *out = malloc(n * 3 + 1);
    if (!out) return NULL;
    while (i < n) {
        size_t at = i;
        uint32_t c = utf8_next((const unsigned char *)label, n, &i);
        if (c == 0xFFFD && i == at + 1 && (unsigned char)label[at] != 0xEF) c = '?';
        if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) c = '?';
        o += utf8_put(c, out + o);
    }
    out[o] = 0;
    return out;
}

static sdoc *doc_new(sim_corpus *c, const char *label, int64_t group, err *e) {
    if (c->n == c->cap) {
        int cap = c->cap ? c->cap * 2 : 16;
        sdoc *p = realloc(c->docs, sizeof(sdoc) * (size_t)cap);
        if (!p) {
            err_internal(e, "内存不足");
            return NULL;
        }
        c->docs = p;
        c->cap = cap;
    }
    sdoc *d = &c->docs[c->n];
    memset(d, 0, sizeof(*d));
    d->label = sim_normalize_label(label);
    d->group = group;
    if (!d->label) {
        err_internal(e, "内存不足");
        return NULL;
    }
    return d;
}

int sim_corpus_add_text(sim_corpus *c, const char *label, int64_t group, const char *text,
                        size_t len, err *e) {
    sdoc *d = doc_new(c, label, group, e);
    if (!d) return -1;
    d->text = malloc(len + 1);
    if (!d->text) {
        free(d->label);
        return err_internal(e, "内存不足");
    }
    memcpy(d->text, text, len);
    d->text[len] = 0;
    d->len = len;
    doc_sign(c, d, d->text, len);
    return c->n++;
}

int sim_corpus_add_file(sim_corpus *c, const char *label, int64_t group, const char *path, err *e) {
    char *t;
    size_t n;
    if (sim_extract_file(path, &t, &n, e) != 0) return -1;
    FILE *f = fopen(path, "rb");
    unsigned char head[8] = {0};
    size_t hn = f ? fread(head, 1, sizeof(head), f) : 0;
    if (f) fclose(f);
    const char *kind = sim_detect(head, hn);
    sdoc *d = doc_new(c, label ? label : path, group, e);
    if (!d) {
        free(t);
        return -1;
    }
    doc_sign(c, d, t, n);
    if (kind && !strcmp(kind, "text")) {
        /* plain text is cheap to read again: keep only the path (bounded memory) */
        free(t);
        d->path = strdup(path);
        if (!d->path) {
            free(d->label);
            return err_internal(e, "内存不足");
        }
    } else {
        d->text = t;
        d->len = n;
    }
    return c->n++;
}

/* The document's text: borrowed (*own 0) or read again (*own 1). */
static int doc_text(sdoc *d, char **t, size_t *n, int *own, err *e) {
    if (d->text) {
        *t = d->text;
        *n = d->len;
        *own = 0;
        return 0;
    }
    *own = 1;
    return sim_extract_file(d->path, t, n, e);
}

/* ---- a normalised view for verification ---- */

typedef struct nview {
    char *orig;
    size_t olen;
    int own;
    uint32_t *cp, *coff, *boff; /* folded characters, their char and byte offsets */
    uint64_t *sh;               /* shingle hash at each start position */
    unsigned char *tf;          /* 1 when the shingle is the tender's */
    size_t n, nsh;
} nview;

static void view_free(nview *v) {
    if (v->own) free(v->orig);
    free(v->cp);
    free(v->coff);
    free(v->boff);
    free(v->sh);
    free(v->tf);
    memset(v, 0, sizeof(*v));
}

static int view_load(sim_corpus *c, sdoc *d, nview *v, err *e) {
    memset(v, 0, sizeof(*v));
    if (doc_text(d, &v->orig, &v->olen, &v->own, e) != 0) return -1;
    /* count the kept characters first: 21 bytes each, not per byte of text */
    const unsigned char *s = (const unsigned char *)v->orig;
    size_t cap = 1;
    for (size_t i = 0; i < v->olen;)
        cap += fold(utf8_next(s, v->olen, &i)) != 0;
    v->cp = malloc(cap * sizeof(uint32_t));
    v->coff = malloc(cap * sizeof(uint32_t));
    v->boff = malloc(cap * sizeof(uint32_t));
    v->sh = malloc(cap * sizeof(uint64_t));
    v->tf = malloc(cap);
    if (!v->cp || !v->coff || !v->boff || !v->sh || !v->tf) {
        view_free(v);
        return err_internal(e, "内存不足");
    }
    size_t i = 0;
    uint32_t ci = 0;
    while (i < v->olen) {
        size_t at = i;
        uint32_t ch = fold(utf8_next(s, v->olen, &i));
        if (ch) {
            v->cp[v->n] = ch;
            v->coff[v->n] = ci;
            v->boff[v->n] = (uint32_t)at;
            v->n++;
        }
        ci++;
    }
    uint64_t bk = base_pow(), h = 0;
    for (size_t k = 0; k < v->n; k++) {
        if (k >= SIM_K) h -= (uint64_t)v->cp[k - SIM_K] * bk;
        h = h * SHINGLE_BASE + v->cp[k];
        if (k + 1 >= SIM_K) {
            uint64_t m = fmix64(h ^ SHINGLE_SEED);
            m = m ? m : 1;
            size_t p = k + 1 - SIM_K;
            v->sh[p] = m;
            v->tf[p] = (unsigned char)in_tender(c, m);
            v->nsh = p + 1;
        }
    }
    return 0;
}

/* Text of folded characters [from, to] of v (original form, ≤ SIM_PASSAGE_CHARS
 * characters, "…" when cut). */
static char *view_span(const nview *v, size_t from, size_t to) {
    size_t b0 = v->boff[from], i = v->boff[to];
    utf8_next((const unsigned char *)v->orig, v->olen, &i);
    size_t b1 = i;
    char *out = malloc((b1 - b0) * 3 + 8); /* re-encoded: a bad byte becomes U+FFFD */
    if (!out) return NULL;
    size_t j = b0, o = 0;
    int chars = 0;
    while (j < b1) {
        if (chars == SIM_PASSAGE_CHARS - 1) {
            size_t k = j;
            utf8_next((const unsigned char *)v->orig, b1, &k);
            if (k < b1) {
                memcpy(out + o, "\xE2\x80\xA6", 3);
                o += 3;
                break;
            }
        }
        uint32_t c = utf8_next((const unsigned char *)v->orig, b1, &j);
        if (c == 0) continue;
        if ((c >= 0xD800 && c <= 0xDFFF) || c > 0x10FFFF) c = 0xFFFD; /* valid for JSON */
        o += utf8_put(c, out + o);
        chars++;
    }
    out[o] = 0;
    return out;
}

/* ---- verification ---- */

#define PASSAGES_KEPT 64
#define SHOW_CHARS    (SIM_PASSAGE_CHARS - 40) /* folded characters shown (punctuation comes back) */

typedef struct passage {
    uint32_t ia, ib, len; /* shingle start positions and run length (shingles) */
    uint32_t win, wlen;   /* the shown window: start and length (shingles) in the run */
    uint32_t a_off, b_off;
    char *a_text, *b_text; /* the window's text, filled for reported pairs only */
    uint64_t *sh;          /* the run's shingle hashes */
    unsigned char *tf;     /* tender flags */
    double weight;
    int typo;         /* 1 when it holds a shared typo */
    uint32_t typo_at; /* first typo run: start (shingles) in the run */
    const char *kind;
} passage;

typedef struct vpair {
    int a, b;
    double est, jac, sim, weight, evidence; /* weight: sum of the passages' weights */
    passage *ps;
    int nps;
} vpair;

static void pair_clear(vpair *p) {
    for (int i = 0; i < p->nps; i++) {
        free(p->ps[i].a_text);
        free(p->ps[i].b_text);
        free(p->ps[i].sh);
        free(p->ps[i].tf);
    }
    free(p->ps);
    p->ps = NULL;
    p->nps = 0;
}

static int cmp_passage_len(const void *x, const void *y) {
    const passage *a = x, *b = y;
    if (a->len != b->len) return a->len > b->len ? -1 : 1;
    return a->ia < b->ia ? -1 : a->ia > b->ia;
}

/* Find the passages A and B share; fills p->jac and p->ps. */
static int verify(sim_corpus *c, const nview *A, const nview *B, vpair *p, err *e) {
    hmap bm;
    if (hm_init(&bm, B->nsh + 1) != 0) {
        hm_free(&bm);
        return err_internal(e, "内存不足");
    }
    for (size_t j = 0; j < B->nsh; j++) {
        long s = hm_slot(&bm, B->sh[j], 1);
        if (s < 0) {
            hm_free(&bm);
            return err_internal(e, "内存不足");
        }
        if (bm.a[s] == 0) bm.a[s] = (uint32_t)j + 1; /* first occurrence */
    }
    size_t matched = 0, cap = 0;
    passage *ps = NULL;
    int nps = 0;
    size_t i = 0;
    while (i < A->nsh) {
        long s = hm_slot(&bm, A->sh[i], 0);
        if (s < 0) {
            i++;
            continue;
        }
        size_t j = bm.a[s] - 1;
        if (memcmp(A->cp + i, B->cp + j, SIM_K * sizeof(uint32_t)) != 0) { /* collision */
            i++;
            continue;
        }
        size_t len = 1;
        while (i + len < A->nsh && j + len < B->nsh &&
               A->cp[i + len + SIM_K - 1] == B->cp[j + len + SIM_K - 1])
            len++;
        size_t own = 0;
        for (size_t t = 0; t < len; t++)
            own += !A->tf[i + t];
        matched += own;
        if (own && len + SIM_K - 1 >= SIM_MIN_PASSAGE) {
            if ((size_t)nps == cap) {
                cap = cap ? cap * 2 : 16;
                passage *q = realloc(ps, cap * sizeof(passage));
                if (!q) break;
                ps = q;
            }
            passage *x = &ps[nps++];
            memset(x, 0, sizeof(*x));
            x->ia = (uint32_t)i;
            x->ib = (uint32_t)j;
            x->len = (uint32_t)len;
        }
        i += len;
    }
    hm_free(&bm);
    /* keep the longest runs, then materialise them */
    sort_n(ps, (size_t)nps, sizeof(passage), cmp_passage_len);
    if (nps > PASSAGES_KEPT) nps = PASSAGES_KEPT;
    for (int k = 0; k < nps; k++) {
        passage *x = &ps[k];
        x->sh = malloc(x->len * sizeof(uint64_t));
        x->tf = malloc(x->len);
        if (!x->sh || !x->tf) {
            p->ps = ps;
            p->nps = nps;
            pair_clear(p);
            return err_internal(e, "内存不足");
        }
        memcpy(x->sh, A->sh + x->ia, x->len * sizeof(uint64_t));
        memcpy(x->tf, A->tf + x->ia, x->len);
    }
    (void)c;
    p->ps = ps;
    p->nps = nps;
    size_t na = c->docs[p->a].nsh, nb = c->docs[p->b].nsh;
    double uni = (double)na + (double)nb - (double)matched;
    p->jac = uni > 0 ? (double)matched / uni : 0;
    if (p->jac > 1) p->jac = 1;
    return 0;
}

/* ---- candidates ---- */

typedef struct bkey {
    uint64_t key;
    int doc;
} bkey;

static int cmp_bkey(const void *x, const void *y) {
    const bkey *a = x, *b = y;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return a->doc - b->doc;
}

static int cmp_u64(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

static int push_pair(uint64_t **v, size_t *n, size_t *cap, int a, int b) {
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        uint64_t *q = realloc(*v, nc * sizeof(uint64_t));
        if (!q) return -1;
        *v = q;
        *cap = nc;
    }
    (*v)[(*n)++] = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
    return 0;
}

#define LSH_BUCKET_MAX 100 /* documents of one bucket paired (near-duplicate clusters) */

static int candidates(sim_corpus *c, int all_pairs, uint64_t **out, size_t *nout, err *e) {
    uint64_t *v = NULL;
    size_t n = 0, cap = 0;
    if (all_pairs) {
        for (int a = 0; a < c->n; a++)
            for (int b = a + 1; b < c->n; b++) {
                if (c->docs[a].group && c->docs[a].group == c->docs[b].group) continue;
                if (c->docs[a].empty || c->docs[b].empty) continue;
                if (push_pair(&v, &n, &cap, a, b) != 0) goto oom;
            }
    } else {
        bkey *keys = malloc(sizeof(bkey) * (size_t)(c->n ? c->n : 1));
        if (!keys) goto oom;
        for (int band = 0; band < SIM_BANDS; band++) {
            int m = 0;
            for (int d = 0; d < c->n; d++) {
                if (c->docs[d].empty) continue;
                uint64_t h = fmix64((uint64_t)band + SHINGLE_SEED);
                for (int r = 0; r < SIM_ROWS; r++)
                    h = fmix64(h ^ c->docs[d].sig[band * SIM_ROWS + r]) + (uint64_t)r;
                keys[m].key = h;
                keys[m].doc = d;
                m++;
            }
            sort_n(keys, (size_t)m, sizeof(bkey), cmp_bkey);
            for (int s = 0; s < m;) {
                int t = s + 1;
                while (t < m && keys[t].key == keys[s].key)
                    t++;
                int end = t - s > LSH_BUCKET_MAX ? s + LSH_BUCKET_MAX : t;
                for (int x = s; x < end; x++)
                    for (int y = x + 1; y < end; y++) {
                        int a = keys[x].doc, b = keys[y].doc;
                        if (c->docs[a].group && c->docs[a].group == c->docs[b].group) continue;
                        if (push_pair(&v, &n, &cap, a, b) != 0) {
                            free(keys);
                            goto oom;
                        }
                    }
                s = t;
            }
        }
        free(keys);
        sort_n(v, n, sizeof(uint64_t), cmp_u64);
        size_t u = 0;
        for (size_t i = 0; i < n; i++)
            if (!u || v[i] != v[u - 1]) v[u++] = v[i];
        n = u;
    }
    *out = v;
    *nout = n;
    return 0;
oom:
    free(v);
    return err_internal(e, "内存不足");
}

/* ---- weighting ---- */

static int cmp_pair_est(const void *x, const void *y) {
    const vpair *a = x, *b = y;
    if (a->est != b->est) return a->est > b->est ? -1 : 1;
    if (a->a != b->a) return a->a - b->a;
    return a->b - b->b;
}

static int cmp_pair_ab(const void *x, const void *y) {
    const vpair *a = x, *b = y;
    if (a->a != b->a) return a->a - b->a;
    return a->b - b->b;
}

static int cmp_pair_sim(const void *x, const void *y) {
    const vpair *a = x, *b = y;
    if (a->weight != b->weight) return a->weight > b->weight ? -1 : 1;
    if (a->sim != b->sim) return a->sim > b->sim ? -1 : 1;
    if (a->a != b->a) return a->a - b->a;
    return a->b - b->b;
}

static int cmp_passage_w(const void *x, const void *y) {
    const passage *a = x, *b = y;
    if (a->weight != b->weight) return a->weight > b->weight ? -1 : 1;
    return a->ia < b->ia ? -1 : a->ia > b->ia;
}

#define DF_SAMPLE 500 /* documents scanned for frequencies in large corpora */

/* Document frequencies of every shingle of the kept passages: exact, one pass over
 * the corpus, up to DF_SAMPLE documents; past that an even sample of DF_SAMPLE
 * documents outside the pairs, each counting for the ones it stands for, on top of
 * the 2 of the pair itself (rare text stays rare, boilerplate shows up in the
 * sample; the cost is bounded whatever the corpus). */
static int count_df(sim_corpus *c, vpair *ps, size_t np, hmap *df, err *e) {
    size_t total = 0;
    for (size_t i = 0; i < np; i++)
        for (int k = 0; k < ps[i].nps; k++)
            total += ps[i].ps[k].len;
    if (hm_init(df, total / 2 + 16) != 0) return err_internal(e, "内存不足");
    int stride = c->n > DF_SAMPLE ? (c->n + DF_SAMPLE - 1) / DF_SAMPLE : 1;
    /* A bit filter in front of the map: most shingles of the corpus are not in it,
     * and the filter stays in cache where the map would not. */
    size_t bits = 1u << 16;
    while (bits < total * 16 && bits < (1u << 30))
        bits <<= 1;
    uint64_t *filter = calloc(bits / 64, sizeof(uint64_t));
    if (!filter) return err_internal(e, "内存不足");
    size_t fmask = bits - 1;
    for (size_t i = 0; i < np; i++)
        for (int k = 0; k < ps[i].nps; k++) {
            passage *x = &ps[i].ps[k];
            for (uint32_t t = 0; t < x->len; t++) {
                if (x->tf[t]) continue;
                long slot = hm_slot(df, x->sh[t], 1);
                if (slot < 0) {
                    free(filter);
                    return err_internal(e, "内存不足");
                }
                if (stride > 1 && !df->b[slot]) df->a[slot] = 2, df->b[slot] = UINT32_MAX;
                size_t f1 = (size_t)(x->sh[t] >> 24) & fmask, f2 = (size_t)x->sh[t] & fmask;
                filter[f1 >> 6] |= 1ull << (f1 & 63);
                filter[f2 >> 6] |= 1ull << (f2 & 63);
            }
        }
    unsigned char *mine = calloc((size_t)c->n + 1, 1);
    if (!mine) {
        free(filter);
        return err_internal(e, "内存不足");
    }
    for (size_t i = 0; i < np; i++)
        mine[ps[i].a] = mine[ps[i].b] = 1;
    for (int d = 0; d < c->n; d++) {
        if (stride > 1 && (mine[d] || d % stride)) continue;
        uint32_t count = (uint32_t)stride;
        char *t;
        size_t n;
        int own;
        if (doc_text(&c->docs[d], &t, &n, &own, e) != 0) {
            free(mine);
            free(filter);
            return -1;
        }
        shiter it;
        shi_init(&it, t, n);
        uint64_t h;
        while (shi_next(&it, &h)) {
            size_t f1 = (size_t)(h >> 24) & fmask, f2 = (size_t)h & fmask;
            if (!((filter[f1 >> 6] >> (f1 & 63)) & 1) || !((filter[f2 >> 6] >> (f2 & 63)) & 1))
                continue;
            long s = hm_slot(df, h, 0);
            if (s >= 0 && df->b[s] != (uint32_t)d + 1) {
                df->a[s] += count;
                df->b[s] = (uint32_t)d + 1;
            }
        }
        if (own) free(t);
    }
    free(mine);
    free(filter);
    return 0;
}

/* Weight of a shingle seen in df documents: 1 when only the pair has it, falling
 * as (ln(N/df) / ln(N/2))² towards 0 for text in every document — squared so that
 * boilerplate in a tenth of the documents weighs under 0.1 (N ≥ 20 so that a small
 * tender's three bids do not make everything they share look common). */
static double df_weight(uint32_t df, int ndocs) {
    double n = ndocs < 20 ? 20 : ndocs;
    if (df < 2) df = 2;
    double w = log(n / df) / log(n / 2);
    w = w < 0 ? 0 : w > 1 ? 1 : w;
    return w * w;
}

static void weigh_passage(passage *x, const hmap *df, int ndocs) {
    double *w = malloc(sizeof(double) * x->len);
    signed char *cls = malloc(x->len); /* 0 tender, 1 common, 2 rare */
    if (!w || !cls) {
        free(w);
        free(cls);
        x->weight = 0;
        x->kind = "common";
        return;
    }
    double own = 0;
    uint32_t nown = 0;
    for (uint32_t t = 0; t < x->len; t++) {
        if (x->tf[t]) {
            w[t] = 0;
            cls[t] = 0;
            continue;
        }
        long s = hm_slot((hmap *)df, x->sh[t], 0);
        w[t] = df_weight(s >= 0 ? df->a[s] : 2, ndocs);
        cls[t] = w[t] >= 0.5 ? 2 : 1;
        own += w[t];
        nown++;
    }
    /* The same typo or odd edit in both copies of a boilerplate sentence: a run of
     * K-1 .. 2K rare shingles (a changed character spoils the K shingles that
     * cover it) inside boilerplate (tender or common shingles): at least K/2 on
     * each side and 2K in all. Rare text between common words is not a typo,
     * hence the long flanks. */
    for (uint32_t t = 0; t < x->len;) {
        if (cls[t] != 2) {
            t++;
            continue;
        }
        uint32_t u = t;
        while (u < x->len && cls[u] == 2)
            u++;
        uint32_t left = 0, right = 0;
        while (left < t && cls[t - 1 - left] != 2)
            left++;
        while (u + right < x->len && cls[u + right] != 2)
            right++;
        if (u - t + 1 >= SIM_K && u - t <= 2 * SIM_K && left >= SIM_K / 2 && right >= SIM_K / 2 &&
            left + right >= 2 * SIM_K) {
            for (uint32_t k = t; k < u; k++)
                w[k] *= SIM_TYPO_BONUS;
            if (!x->typo) x->typo_at = t;
            x->typo = 1;
        }
        t = u;
    }
    double sum = 0;
    for (uint32_t t = 0; t < x->len; t++)
        sum += w[t];
    /* the window shown: the heaviest SHOW_CHARS characters of the run */
    uint32_t ws = SHOW_CHARS - SIM_K + 1;
    x->win = 0;
    x->wlen = x->len < ws ? x->len : ws;
    if (x->len > ws) {
        double cur = 0, best;
        for (uint32_t t = 0; t < ws; t++)
            cur += w[t];
        best = cur;
        for (uint32_t t = ws; t < x->len; t++) {
            cur += w[t] - w[t - ws];
            if (cur > best + 1e-9) {
                best = cur;
                x->win = t - ws + 1;
            }
        }
        if (x->typo) { /* show the typo in its sentence rather than the heaviest text */
            uint32_t before = ws / 3;
            x->win = x->typo_at > before ? x->typo_at - before : 0;
            if (x->win + ws > x->len) x->win = x->len - ws;
        }
    }
    x->weight = sum;
    x->kind = x->typo ? "typo" : (nown && own / nown >= 0.5) ? "rare" : "common";
    free(w);
    free(cls);
}

/* ---- compare ---- */

/* Texts and offsets of the passages shown for a reported pair (documents read
 * again: only reported pairs pay for it). */
static int fill_texts(sim_corpus *c, vpair *p, int max_passages, err *e) {
    /* a shared typo is always among the passages shown */
    int first_typo = -1, shown_typo = 0;
    for (int k = 0; k < p->nps; k++)
        if (p->ps[k].typo && p->ps[k].weight > 0) {
            if (k < max_passages)
                shown_typo = 1;
            else if (first_typo < 0)
                first_typo = k;
        }
    if (!shown_typo && first_typo >= 0 && max_passages > 0 && p->nps > max_passages) {
        passage t = p->ps[first_typo];
        memmove(&p->ps[max_passages], &p->ps[max_passages - 1],
                (size_t)(first_typo - max_passages + 1) * sizeof(passage));
        p->ps[max_passages - 1] = t;
    }
    nview A, B;
    if (view_load(c, &c->docs[p->a], &A, e) != 0) return -1;
    if (view_load(c, &c->docs[p->b], &B, e) != 0) {
        view_free(&A);
        return -1;
    }
    int shown = 0, rc = 0;
    for (int k = 0; k < p->nps && shown < max_passages; k++) {
        passage *x = &p->ps[k];
        if (x->weight <= 0) continue;
        size_t fa = x->ia + x->win, fb = x->ib + x->win, span = x->wlen + SIM_K - 2;
        if (fa + span >= A.n || fb + span >= B.n) continue; /* changed on disk meanwhile */
        x->a_off = A.coff[fa];
        x->b_off = B.coff[fb];
        x->a_text = view_span(&A, fa, fa + span);
        x->b_text = view_span(&B, fb, fb + span);
        if (!x->a_text || !x->b_text) {
            rc = err_internal(e, "内存不足");
            break;
        }
        shown++;
    }
    view_free(&A);
    view_free(&B);
    return rc;
}

static json_t *pair_json(sim_corpus *c, const vpair *p, int max_passages) {
    json_t *ps = json_array();
    int shown = 0;
    for (int k = 0; k < p->nps && shown < max_passages; k++) {
        const passage *x = &p->ps[k];
        if (x->weight <= 0 || !x->a_text || !x->b_text) continue;
        json_array_append_new(
            ps, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:f,s:s}", "a_text", x->a_text, "b_text",
                          x->b_text, "a_offset", (json_int_t)x->a_off, "b_offset",
                          (json_int_t)x->b_off, "length", (json_int_t)(x->wlen + SIM_K - 1),
                          "run_length", (json_int_t)(x->len + SIM_K - 1), "weight",
                          round(x->weight * 100) / 100, "kind", x->kind));
        shown++;
    }
    return json_pack("{s:i,s:i,s:s,s:s,s:I,s:I,s:f,s:f,s:f,s:f,s:o}", "a", p->a, "b", p->b, "a_doc",
                     c->docs[p->a].label, "b_doc", c->docs[p->b].label, "a_group",
                     (json_int_t)c->docs[p->a].group, "b_group", (json_int_t)c->docs[p->b].group,
                     "similarity", round(p->sim * 10000) / 10000, "weight",
                     round(p->weight * 100) / 100, "jaccard", round(p->jac * 10000) / 10000,
                     "jaccard_est", round(p->est * 10000) / 10000, "passages", ps);
}

/* Verify ps[from, to) (sorted by a, b), moving the pairs that share passages to
 * ps[*kept…]. */
static int verify_range(sim_corpus *c, vpair *ps, size_t from, size_t to, size_t *kept, err *e) {
    nview A = {0}, B = {0};
    int cur_a = -1, rc = 0;
    for (size_t i = from; i < to; i++) {
        if (ps[i].a != cur_a) {
            view_free(&A);
            cur_a = -1;
            if (view_load(c, &c->docs[ps[i].a], &A, e) != 0) {
                rc = -1;
                break;
            }
            cur_a = ps[i].a;
        }
        if (view_load(c, &c->docs[ps[i].b], &B, e) != 0) {
            rc = -1;
            break;
        }
        vpair p = ps[i];
        rc = verify(c, &A, &B, &p, e);
        view_free(&B);
        if (rc != 0) break;
        if (p.nps > 0) ps[(*kept)++] = p;
    }
    view_free(&A);
    return rc;
}

#define CLOSURE_MIN_JACCARD 0.2 /* links followed to close groups */
#define CLOSURE_GROUP_MAX   50

/* Pairs (a, b) not among the verified pairs with passages ps[0, kept) whose
 * documents are both linked (Jaccard ≥ CLOSURE_MIN_JACCARD) to a third one:
 * *out, sorted and unique. */
static int closure(vpair *ps, size_t np, size_t kept, uint64_t **out, size_t *nout, err *e) {
    (void)np;
    *out = NULL;
    *nout = 0;
    size_t nl = 0;
    uint64_t *links = malloc(sizeof(uint64_t) * kept * 2 + 8);
    uint64_t *have = malloc(sizeof(uint64_t) * kept + 8);
    if (!links || !have) {
        free(links);
        free(have);
        return err_internal(e, "内存不足");
    }
    for (size_t i = 0; i < kept; i++) {
        have[i] = ((uint64_t)(uint32_t)ps[i].a << 32) | (uint32_t)ps[i].b;
        if (ps[i].jac < CLOSURE_MIN_JACCARD) continue;
        links[nl++] = ((uint64_t)(uint32_t)ps[i].a << 32) | (uint32_t)ps[i].b;
        links[nl++] = ((uint64_t)(uint32_t)ps[i].b << 32) | (uint32_t)ps[i].a;
    }
    sort_n(links, nl, sizeof(uint64_t), cmp_u64);
    sort_n(have, kept, sizeof(uint64_t), cmp_u64);
    uint64_t *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (size_t s = 0; s < nl && rc == 0;) {
        size_t t = s + 1;
        while (t < nl && links[t] >> 32 == links[s] >> 32)
            t++;
        size_t end = t - s > CLOSURE_GROUP_MAX ? s + CLOSURE_GROUP_MAX : t;
        for (size_t x = s; x < end && rc == 0; x++)
            for (size_t y = x + 1; y < end; y++) {
                int a = (int)(uint32_t)links[x], b = (int)(uint32_t)links[y];
                if (a > b) {
                    int tmp = a;
                    a = b;
                    b = tmp;
                }
                uint64_t key = ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
                if (bsearch(&key, have, kept, sizeof(uint64_t), cmp_u64)) continue;
                if (push_pair(&v, &n, &cap, a, b) != 0) {
                    rc = err_internal(e, "内存不足");
                    break;
                }
            }
        s = t;
    }
    free(links);
    free(have);
    if (rc != 0) {
        free(v);
        return rc;
    }
    sort_n(v, n, sizeof(uint64_t), cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (!u || v[i] != v[u - 1]) v[u++] = v[i];
    *out = v;
    *nout = u;
    return 0;
}

/* CPU seconds of the process (ISLE_SIM_TIMING=1 prints the phases on stderr). */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void phase(const char *name, double *t0) {
    static int on = -1;
    if (on < 0) on = getenv("ISLE_SIM_TIMING") != NULL;
    double t = cpu_now();
    if (on) fprintf(stderr, "similarity: %-12s %8.3f s cpu\n", name, t - *t0);
    *t0 = t;
}

int sim_corpus_compare(sim_corpus *c, const sim_opts *o, json_t **out, err *e) {
    *out = NULL;
    double t0 = cpu_now();
    sim_opts opt = o ? *o : (sim_opts){0};
    if (opt.threshold <= 0) opt.threshold = 0.1;
    if (opt.min_weight == 0) opt.min_weight = SIM_MIN_WEIGHT;
    if (opt.max_pairs <= 0) opt.max_pairs = 20;
    if (opt.max_passages <= 0) opt.max_passages = 5;
    if (opt.all_pairs_max == 0) opt.all_pairs_max = SIM_ALL_PAIRS_MAX;
    int all = opt.all_pairs_max > 0 && c->n <= opt.all_pairs_max;

    uint64_t *cand = NULL;
    size_t ncand = 0;
    if (candidates(c, all, &cand, &ncand, e) != 0) return -1;
    vpair *ps = calloc(ncand ? ncand : 1, sizeof(vpair));
    if (!ps) {
        free(cand);
        return err_internal(e, "内存不足");
    }
    for (size_t i = 0; i < ncand; i++) {
        ps[i].a = (int)(cand[i] >> 32);
        ps[i].b = (int)(uint32_t)cand[i];
        ps[i].est = sim_estimate(c->docs[ps[i].a].sig, c->docs[ps[i].b].sig);
    }
    free(cand);
    phase("candidates", &t0);
    size_t np = ncand;
    if (np > SIM_MAX_VERIFY) {
        sort_n(ps, np, sizeof(vpair), cmp_pair_est);
        np = SIM_MAX_VERIFY;
    }
    sort_n(ps, np, sizeof(vpair), cmp_pair_ab);

    size_t kept = 0;
    int rc = verify_range(c, ps, 0, np, &kept, e);
    /* Cartels bid in groups: when a and b are both close to c, verify (a, b) too —
     * banding may have missed it (candidate probability 0.87 at Jaccard 0.5). */
    if (rc == 0 && !all && kept > 1) {
        uint64_t *more = NULL;
        size_t nmore = 0;
        rc = closure(ps, np, kept, &more, &nmore, e);
        if (rc == 0 && nmore) {
            size_t room = np + nmore;
            vpair *q = realloc(ps, room * sizeof(vpair));
            if (!q) {
                rc = err_internal(e, "内存不足");
            } else {
                ps = q;
                for (size_t i = 0; i < nmore; i++) {
                    vpair *x = &ps[np + i];
                    memset(x, 0, sizeof(*x));
                    x->a = (int)(more[i] >> 32);
                    x->b = (int)(uint32_t)more[i];
                    x->est = sim_estimate(c->docs[x->a].sig, c->docs[x->b].sig);
                }
                rc = verify_range(c, ps, np, np + nmore, &kept, e);
                np += nmore;
                ncand += nmore;
            }
        }
        free(more);
    }
    phase("verify", &t0);

    hmap df = {0};
    if (rc == 0 && kept) rc = count_df(c, ps, kept, &df, e);
    phase("frequencies", &t0);
    if (rc == 0) {
        for (size_t i = 0; i < kept; i++) {
            double shared = 0;
            for (int k = 0; k < ps[i].nps; k++) {
                weigh_passage(&ps[i].ps[k], &df, c->n);
                shared += ps[i].ps[k].weight;
                if (strcmp(ps[i].ps[k].kind, "common") != 0) ps[i].evidence += ps[i].ps[k].weight;
            }
            size_t na = c->docs[ps[i].a].nsh, nb = c->docs[ps[i].b].nsh;
            double den = (double)(na < nb ? na : nb);
            ps[i].weight = shared;
            ps[i].sim = den > 0 ? shared / den : 0;
            if (ps[i].sim > 1) ps[i].sim = 1;
            sort_n(ps[i].ps, (size_t)ps[i].nps, sizeof(passage), cmp_passage_w);
        }
        sort_n(ps, kept, sizeof(vpair), cmp_pair_sim);
        json_t *arr = json_array();
        for (size_t i = 0; i < kept && (int)json_array_size(arr) < opt.max_pairs; i++) {
            if (ps[i].sim < opt.threshold &&
                !(opt.min_weight > 0 && ps[i].evidence >= opt.min_weight))
                continue;
            if (fill_texts(c, &ps[i], opt.max_passages, e) != 0) {
                rc = -1;
                break;
            }
            json_array_append_new(arr, pair_json(c, &ps[i], opt.max_passages));
        }
        phase("report", &t0);
        if (rc == 0)
            *out = json_pack("{s:i,s:I,s:I,s:s,s:o}", "documents", c->n, "candidates",
                             (json_int_t)ncand, "verified", (json_int_t)np, "mode",
                             all ? "all_pairs" : "lsh", "pairs", arr);
        else
            json_decref(arr);
    }
    hm_free(&df);
    for (size_t i = 0; i < kept; i++)
        pair_clear(&ps[i]);
    free(ps);
    return rc;
}
