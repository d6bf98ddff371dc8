/* search/suggest.c: autocomplete over item names.
 *
 * Each item contributes entries "a string that a prefix may start": its name,
 * the name's pinyin and its initials, each from the start and from every word
 * boundary inside (so 护照 finds 普通护照换发, "hz" too). An entry is only a
 * document id, a form and a byte offset into that document's string, so 100,000
 * items cost ~8 bytes per entry. Entries are kept sorted; items added since the
 * last sort sit in a short unsorted tail scanned linearly, and the tail is
 * merged when it grows past SUGG_TAIL_MAX. A prefix lookup is a binary search
 * plus a walk over the matching range (bounded by SUGG_SCAN_MAX).
 *
 * When the prefix finds fewer than the requested items, ordinary search fills
 * up (synonyms such as 老人证 then work here too). */
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "search/internal.h"

#define SUGG_TAIL_MAX    4096
#define SUGG_SCAN_MAX    2000
#define SUGG_MAX_PER_DOC 12

static const char *form_str(const search_engine *s, const sugg_entry *e) {
    const sdoc *d = &s->docs[e->doc];
    const char *base = e->form == 0 ? d->name : e->form == 1 ? d->pinyin : d->initials;
    return base + e->off;
}

/* Form and the first 7 bytes of str, big-endian: integer order = string order. */
static uint64_t sort_key(uint8_t form, const char *str) {
    uint64_t k = (uint64_t)form << 56;
    for (int i = 0; i < 7 && str[i]; i++)
        k |= (uint64_t)(unsigned char)str[i] << (8 * (6 - i));
    return k;
}

static void push(sugg_entry **arr, size_t *n, size_t *cap, sugg_entry e) {
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        *arr = xrealloc(*arr, *cap * sizeof(**arr));
    }
    (*arr)[(*n)++] = e;
}

void sugg_add_doc(search_engine *s, uint32_t doc) {
    const sdoc *d = &s->docs[doc];
    const char *name = d->name;
    size_t len = strlen(name), i = 0;
    /* Walk the name: Han runs are segmented; a boundary is the start of a run or
     * of a word inside it. pos_* are the byte offsets of each character in the
     * three forms. */
    uint32_t cps[SEARCH_NAME_MAX];
    uint16_t off_name[SEARCH_NAME_MAX + 1], off_py[SEARCH_NAME_MAX + 1],
        off_ini[SEARCH_NAME_MAX + 1];
    size_t n = 0, py = 0, ini = 0;
    while (i < len && n < SEARCH_NAME_MAX) {
        off_name[n] = (uint16_t)i;
        off_py[n] = (uint16_t)py;
        off_ini[n] = (uint16_t)ini;
        uint32_t cp = su_next(name, len, &i);
        const uint16_t *ids;
        if (lex_readings(s->lex, cp, &ids)) {
            py += strlen(s->lex->syllable[ids[0]]);
            ini++;
        } else if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
                   (cp >= '0' && cp <= '9')) {
            py++;
            ini++;
        }
        cps[n++] = cp;
    }
    uint8_t boundary[SEARCH_NAME_MAX] = {0};
    boundary[0] = 1;
    for (size_t k = 0; k < n;) {
        if (!su_is_han(cps[k])) {
            k++;
            if (k < n && su_is_han(cps[k])) boundary[k] = 1;
            continue;
        }
        size_t e = k;
        while (e < n && su_is_han(cps[e]))
            e++;
        uint16_t ends[SEARCH_NAME_MAX];
        size_t nw = lex_segment(s->lex, cps + k, e - k, ends);
        for (size_t w = 0; w + 1 < nw; w++)
            boundary[k + ends[w]] = 1;
        k = e;
    }
    int added = 0;
    for (size_t k = 0; k < n && added < SUGG_MAX_PER_DOC; k++) {
        if (!boundary[k]) continue;
        added++;
        for (uint8_t form = 0; form < 3; form++) {
            uint16_t off = form == 0 ? off_name[k] : form == 1 ? off_py[k] : off_ini[k];
            const char *base = form == 0 ? d->name : form == 1 ? d->pinyin : d->initials;
            if (!base[off]) continue;
            sugg_entry e = {.key = sort_key(form, base + off),
                            .doc = doc,
                            .off = off,
                            .form = form,
                            .whole = k == 0};
            push(&s->sugg_new, &s->nsugg_new, &s->sugg_new_cap, e);
        }
    }
    /* Merge when the tail is long, relative to the sorted part (amortised n log n). */
    if (s->nsugg_new > SUGG_TAIL_MAX && s->nsugg_new > s->nsugg / 2) sugg_sort(s);
}

static int entry_cmp(const void *a, const void *b, void *ctx) {
    const search_engine *s = ctx;
    const sugg_entry *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    /* Equal keys with a last byte: both strings start with the same 7 bytes. */
    size_t skip = x->key & 0xFF ? 7 : 0;
    int c = strcmp(form_str(s, x) + skip, form_str(s, y) + skip);
    if (c) return c;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* Sort the tail and merge it into the sorted part, dropping dead documents'
 * entries on the way: O(tail log tail + n), so bulk loading stays n log n. */
void sugg_sort(search_engine *s) {
    size_t k = 0;
    for (size_t i = 0; i < s->nsugg_new; i++)
        if (s->docs[s->sugg_new[i].doc].live) s->sugg_new[k++] = s->sugg_new[i];
    s->nsugg_new = k;
    if (k > 1) qsort_r(s->sugg_new, k, sizeof(*s->sugg_new), entry_cmp, s); /* NULL when empty */
    size_t total = s->nsugg + s->nsugg_new;
    sugg_entry *merged = xmalloc((total ? total : 1) * sizeof(*merged));
    size_t i = 0, j = 0, o = 0;
    while (i < s->nsugg || j < s->nsugg_new) {
        if (i < s->nsugg && !s->docs[s->sugg[i].doc].live) {
            i++;
            continue;
        }
        if (j >= s->nsugg_new || (i < s->nsugg && entry_cmp(&s->sugg[i], &s->sugg_new[j], s) <= 0))
            merged[o++] = s->sugg[i++];
        else
            merged[o++] = s->sugg_new[j++];
    }
    free(s->sugg);
    s->sugg = merged;
    s->nsugg = o;
    s->sugg_cap = total;
    s->nsugg_new = 0;
}

typedef struct sugg_hit {
    uint32_t doc;
    int whole;
} sugg_hit;

static int starts_with(const char *s, const char *prefix, size_t n) {
    return strncmp(s, prefix, n) == 0;
}

static void collect(const search_engine *s, uint8_t form, const char *prefix, sugg_hit *hits,
                    int *nhits, int cap) {
    size_t plen = strlen(prefix);
    if (!plen) return;
    /* Binary search for the first entry of this form ≥ prefix. */
    size_t lo = 0, hi = s->nsugg;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const sugg_entry *e = &s->sugg[mid];
        int c = e->form != form ? e->form - form : strcmp(form_str(s, e), prefix);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    int scanned = 0;
    for (size_t i = lo; i < s->nsugg && scanned < SUGG_SCAN_MAX; i++, scanned++) {
        const sugg_entry *e = &s->sugg[i];
        if (e->form != form || !starts_with(form_str(s, e), prefix, plen)) break;
        if (!s->docs[e->doc].live) continue;
        int dup = 0;
        for (int k = 0; k < *nhits; k++)
            if (hits[k].doc == e->doc) {
                hits[k].whole |= e->whole;
                dup = 1;
            }
        if (!dup && *nhits < cap) hits[(*nhits)++] = (sugg_hit){e->doc, e->whole};
    }
    for (size_t i = 0; i < s->nsugg_new; i++) {
        const sugg_entry *e = &s->sugg_new[i];
        if (e->form != form || !s->docs[e->doc].live) continue;
        if (!starts_with(form_str(s, e), prefix, plen)) continue;
        int dup = 0;
        for (int k = 0; k < *nhits; k++)
            if (hits[k].doc == e->doc) {
                hits[k].whole |= e->whole;
                dup = 1;
            }
        if (!dup && *nhits < cap) hits[(*nhits)++] = (sugg_hit){e->doc, e->whole};
    }
}

/* A prefix match copied out of the engine, with what orders it. */
typedef struct sugg_item {
    search_hit hit;
    int whole; /* the name itself starts with the prefix */
    int rank;  /* position among the ordinary search hits (SUGG_NOT_FOUND when absent) */
    float popularity;
    uint32_t name_chars;
} sugg_item;

#define SUGG_CANDIDATES 200
#define SUGG_SEARCH     50
#define SUGG_NOT_FOUND  1000000

static int item_cmp(const void *a, const void *b) {
    const sugg_item *x = a, *y = b;
    if (x->whole != y->whole) return y->whole - x->whole;
    if (x->rank != y->rank) return x->rank - y->rank;
    if (x->popularity != y->popularity) return x->popularity < y->popularity ? 1 : -1;
    if (x->name_chars != y->name_chars) return x->name_chars < y->name_chars ? -1 : 1;
    return strcmp(x->hit.code, y->hit.code);
}

int search_suggest(search_engine *s, const char *q, int max, search_hit *out, err *e) {
    if (strlen(q) > SEARCH_QUERY_MAX_BYTES)
        return err_invalid(e, "q", "查询过长（最多 %d 字节）", SEARCH_QUERY_MAX_BYTES);
    if (max < 1) return 0;
    if (max > SEARCH_SUGGEST_MAX) max = SEARCH_SUGGEST_MAX;
    char norm[SEARCH_QUERY_MAX_BYTES * 2];
    lex_normalize(s->lex, q, strlen(q), norm, sizeof(norm));
    /* Spaces do not separate in a prefix ("she bao" = "shebao"). */
    char compact[sizeof(norm)], pinyin[SEARCH_QUERY_MAX_BYTES * 6];
    size_t cn = 0, pn = 0, i = 0, len = strlen(norm);
    int has_han = 0, has_latin = 0, pinyin_ok = 1;
    while (i < len) {
        size_t start = i;
        uint32_t cp = su_next(norm, len, &i);
        if (cp == ' ') continue;
        memcpy(compact + cn, norm + start, i - start);
        cn += i - start;
        if (su_is_han(cp)) {
            has_han = 1;
            const uint16_t *ids;
            if (lex_readings(s->lex, cp, &ids)) {
                const char *t = s->lex->syllable[ids[0]];
                size_t tl = strlen(t);
                if (pn + tl < sizeof(pinyin)) memcpy(pinyin + pn, t, tl), pn += tl;
            } else {
                pinyin_ok = 0;
            }
        } else {
            has_latin = 1;
            if (pn + 1 < sizeof(pinyin)) pinyin[pn++] = (char)cp;
        }
    }
    compact[cn] = '\0';
    pinyin[pn] = '\0';
    if (!cn) return 0;

    sugg_hit hits[SUGG_CANDIDATES];
    int nhits = 0;
    sugg_item *items = xcalloc(SUGG_CANDIDATES, sizeof(*items));
    pthread_rwlock_rdlock(&s->lock);
    if (has_han && !has_latin) {
        collect(s, 0, compact, hits, &nhits, SUGG_CANDIDATES);
    } else if (!has_han) {
        collect(s, 2, compact, hits, &nhits, SUGG_CANDIDATES);
        collect(s, 1, compact, hits, &nhits, SUGG_CANDIDATES);
    } else if (pinyin_ok) {
        collect(s, 1, pinyin, hits, &nhits, SUGG_CANDIDATES);
    }
    for (int k = 0; k < nhits; k++) {
        const sdoc *d = &s->docs[hits[k].doc];
        sugg_item *it = &items[k];
        snprintf(it->hit.code, sizeof(it->hit.code), "%s", d->code);
        snprintf(it->hit.name, sizeof(it->hit.name), "%s", d->name);
        it->hit.department = s->intern_str[d->department];
        it->hit.type = s->intern_str[d->type];
        it->whole = hits[k].whole;
        it->popularity = d->popularity;
        it->name_chars = d->name_chars;
        it->rank = SUGG_NOT_FOUND;
    }
    pthread_rwlock_unlock(&s->lock);
    /* Ordinary search orders the prefix matches and fills up. */
    search_result *res = search_result_new();
    search_request rq = {.q = q, .limit = SUGG_SEARCH};
    err e2 = {0};
    if (search_run(s, &rq, res, &e2) != 0) res->nhits = 0;
    for (int k = 0; k < nhits; k++)
        for (int j = 0; j < res->nhits; j++)
            if (!strcmp(items[k].hit.code, res->hits[j].code)) {
                items[k].rank = j;
                break;
            }
    qsort(items, (size_t)nhits, sizeof(*items), item_cmp);
    int n = 0;
    for (; n < nhits && n < max; n++)
        out[n] = items[n].hit;
    for (int k = 0; k < res->nhits && n < max; k++) {
        int dup = 0;
        for (int j = 0; j < n; j++)
            dup |= !strcmp(out[j].code, res->hits[k].code);
        if (!dup) out[n++] = res->hits[k];
    }
    free(res);
    free(items);
    return n;
}
