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
    /* Merge when the tail is long, relative to the sorted part (amortised n log n);
     * a bulk load sorts once at its end (eng_set_bulk), by string rank. */
    if (!s->bulk && s->nsugg_new > SUGG_TAIL_MAX && s->nsugg_new > s->nsugg / 2) sugg_sort(s);
}

/* Order of the strings of two entries (form, then bytes). */
static int string_cmp(const search_engine *s, const sugg_entry *x, const sugg_entry *y) {
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    /* Equal keys with a last byte: both strings start with the same 7 bytes. */
    size_t skip = x->key & 0xFF ? 7 : 0;
    return strcmp(form_str(s, x) + skip, form_str(s, y) + skip);
}

static int entry_cmp(const void *a, const void *b, void *ctx) {
    const sugg_entry *x = a, *y = b;
    int c = string_cmp(ctx, x, y);
    if (c) return c;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* A group's string for sorting: the entry's key and string, side by side (no
 * pointer chasing through the entry and its item on every comparison). */
typedef struct group_rec {
    uint64_t key, key2; /* key2: bytes 7..14 of the string, big-endian */
    const char *str;
    uint32_t gid;
} group_rec;

static int group_str_cmp(const group_rec *x, const group_rec *y) {
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    if (x->key2 != y->key2) return x->key2 < y->key2 ? -1 : 1;
    /* Equal keys: the same first 15 bytes when key2 has its last byte, else the
     * same string (both end inside the keys). */
    if (!(x->key & 0xFF) || !(x->key2 & 0xFF)) return 0;
    return strcmp(x->str + 15, y->str + 15);
}

static uint64_t key2_of(const char *str, uint64_t key) {
    uint64_t k = 0;
    if (!(key & 0xFF)) return 0; /* shorter than 7 bytes */
    for (int i = 0; i < 8 && str[7 + i]; i++)
        k |= (uint64_t)(unsigned char)str[7 + i] << (8 * (7 - i));
    return k;
}

/* Three-way quicksort of group records with the comparison inlined (qsort's
 * generic copying of 32-byte records was most of the time); ranges of equal
 * strings end up together, in no particular order (they share a rank). */
static void group_sort(group_rec *a, size_t n) {
    while (n > 16) {
        group_rec *x = &a[0], *y = &a[n / 2], *z = &a[n - 1];
        group_rec *m = group_str_cmp(x, y) < 0 ? (group_str_cmp(y, z) < 0   ? y
                                                  : group_str_cmp(x, z) < 0 ? z
                                                                            : x)
                                               : (group_str_cmp(x, z) < 0   ? x
                                                  : group_str_cmp(y, z) < 0 ? z
                                                                            : y);
        group_rec pivot = *m, tmp;
        size_t lt = 0, i = 0, gt = n;
        while (i < gt) {
            int c = group_str_cmp(&a[i], &pivot);
            if (c < 0) {
                tmp = a[lt], a[lt] = a[i], a[i] = tmp;
                lt++, i++;
            } else if (c > 0) {
                gt--;
                tmp = a[gt], a[gt] = a[i], a[i] = tmp;
            } else {
                i++;
            }
        }
        /* Recurse into the smaller side, loop on the larger (bounded depth). */
        if (lt < n - gt) {
            group_sort(a, lt);
            a += gt;
            n -= gt;
        } else {
            group_sort(a + gt, n - gt);
            n = lt;
        }
    }
    for (size_t i = 1; i < n; i++) {
        group_rec v = a[i];
        size_t j = i;
        while (j > 0 && group_str_cmp(&a[j - 1], &v) > 0) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

/* A growing open-addressing map from non-zero 64-bit keys to dense ids. */
typedef struct idmap {
    uint64_t *key;
    uint32_t *id;
    size_t cap, n;
} idmap;

static void idmap_grow(idmap *m) {
    size_t oc = m->cap;
    uint64_t *ok = m->key;
    uint32_t *oi = m->id;
    m->cap = oc ? oc * 2 : 65536;
    m->key = xcalloc(m->cap, sizeof(*m->key));
    m->id = xmalloc(m->cap * sizeof(*m->id));
    for (size_t i = 0; i < oc; i++) {
        if (!ok[i]) continue;
        size_t h = (size_t)((ok[i] * 0x9E3779B97F4A7C15ull) >> 20) & (m->cap - 1);
        while (m->key[h])
            h = (h + 1) & (m->cap - 1);
        m->key[h] = ok[i];
        m->id[h] = oi[i];
    }
    free(ok);
    free(oi);
}

/* The id of k, a new one (m->n before the call) when absent; *added says which. */
static uint32_t idmap_put(idmap *m, uint64_t k, int *added) {
    if ((m->n + 1) * 2 > m->cap) idmap_grow(m);
    size_t h = (size_t)((k * 0x9E3779B97F4A7C15ull) >> 20) & (m->cap - 1);
    while (m->key[h] && m->key[h] != k)
        h = (h + 1) & (m->cap - 1);
    *added = !m->key[h];
    if (*added) {
        m->key[h] = k;
        m->id[h] = (uint32_t)m->n++;
    }
    return m->id[h];
}

/* Sort t[0..n) as qsort_r with entry_cmp would, when t is in document order (as
 * sugg_add_doc appends): in a province's catalog most names are shared by many
 * items (every county's copy of a 事项), so the comparison sort spent its time
 * comparing equal strings to the end. An entry's string is fixed by its item's
 * name, its form and its offset (pinyin and initials follow from the name), so
 * entries are grouped by (name, form, offset) — names numbered through a hash of
 * the names, one lookup per item — only one entry of each group is sorted, groups
 * with equal strings share a rank, and a stable counting sort by rank places the
 * entries, equal strings in document order: the same order. Returns 0, or -1 when
 * t is not in document order (the caller then sorts by comparison). */
static int sort_by_string_rank(const search_engine *s, sugg_entry *t, size_t n) {
    for (size_t i = 1; i < n; i++)
        if (t[i].doc < t[i - 1].doc) return -1;
    shash names;
    shash_init(&names, 4096);
    idmap groups = {0};
    uint32_t *gid = xmalloc(n * sizeof(*gid)), *rep = xmalloc(n * sizeof(*rep));
    uint32_t last_doc = UINT32_MAX, nid = 0, nnames = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i].doc != last_doc) {
            last_doc = t[i].doc;
            const char *name = s->docs[last_doc].name;
            int added;
            nid = *shash_put(&names, name, strlen(name), nnames, &added);
            if (added) nnames++;
        }
        uint64_t k = ((uint64_t)(nid + 1) << 24) | ((uint64_t)t[i].form << 16) | t[i].off;
        int added;
        gid[i] = idmap_put(&groups, k, &added);
        if (added) rep[gid[i]] = (uint32_t)i;
    }
    shash_free(&names);
    free(groups.key);
    free(groups.id);
    size_t ng = groups.n;
    group_rec *gr = xmalloc((ng + 1) * sizeof(*gr));
    for (size_t j = 0; j < ng; j++) {
        const char *str = form_str(s, &t[rep[j]]);
        gr[j] = (group_rec){.key = t[rep[j]].key,
                            .key2 = key2_of(str, t[rep[j]].key),
                            .str = str,
                            .gid = (uint32_t)j};
    }
    group_sort(gr, ng);
    /* Rank by group id: groups with equal strings (a suffix of one name that is
     * another name) share one. */
    uint32_t *rank = xmalloc((ng + 1) * sizeof(*rank)), *pos = xcalloc(ng + 1, sizeof(*pos));
    uint32_t r = 0;
    for (size_t j = 0; j < ng; j++) {
        if (j && group_str_cmp(&gr[j - 1], &gr[j]) != 0) r++;
        rank[gr[j].gid] = r;
    }
    free(gr);
    size_t nr = ng ? (size_t)r + 1 : 0;
    for (size_t i = 0; i < n; i++)
        pos[rank[gid[i]] + 1]++;
    for (size_t k = 0; k < nr; k++)
        pos[k + 1] += pos[k];
    for (size_t i = 0; i < n; i++)
        gid[i] = pos[rank[gid[i]]]++; /* gid becomes the entry's place */
    free(pos);
    free(rep);
    free(rank);
    sugg_entry *out = xmalloc(n * sizeof(*out));
    for (size_t i = 0; i < n; i++)
        out[gid[i]] = t[i];
    memcpy(t, out, n * sizeof(*out));
    free(out);
    free(gid);
    return 0;
}

/* Sort the tail and merge it into the sorted part, dropping dead documents'
 * entries on the way: O(tail log tail + n), so bulk loading stays n log n. */
void sugg_sort(search_engine *s) {
    size_t k = 0;
    for (size_t i = 0; i < s->nsugg_new; i++)
        if (s->docs[s->sugg_new[i].doc].live) s->sugg_new[k++] = s->sugg_new[i];
    s->nsugg_new = k;
    if (k == 0 && s->dead_docs == 0) return; /* sorted, and no dead entries to drop */
    if (k > 1 && sort_by_string_rank(s, s->sugg_new, k) != 0)
        qsort_r(s->sugg_new, k, sizeof(*s->sugg_new), entry_cmp, s); /* NULL when empty */
    if (s->nsugg == 0 && k) {
        /* Nothing to merge with (the end of a bulk load): the tail is the index. */
        free(s->sugg);
        s->sugg = xrealloc(s->sugg_new, k * sizeof(*s->sugg));
        s->nsugg = s->sugg_cap = k;
        s->sugg_new = NULL;
        s->nsugg_new = s->sugg_new_cap = 0;
        return;
    }
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
