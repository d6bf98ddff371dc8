/* search/util.c: UTF-8 helpers and the byte-string hash map used by the
 * search engine (dictionary, terms, codes, synonyms).
 *
 * The map is open addressing with linear probing at ≤ 50% load; keys live in
 * one pool so that a 350,000-word dictionary costs two allocations. It never
 * deletes: the engine's key sets only grow (a dead document's code is re-pointed,
 * not removed). */
#include <stdlib.h>
#include <string.h>

#include "base/xmalloc.h"
#include "search/internal.h"

uint32_t su_next(const char *str, size_t n, size_t *i) {
    const unsigned char *s = (const unsigned char *)str;
    size_t k = *i;
    unsigned c = s[k];
    if (c < 0x80) {
        *i = k + 1;
        return c;
    }
    int len;
    uint32_t cp, min;
    if ((c & 0xE0) == 0xC0) {
        len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        *i = k + 1;
        return 0xFFFD;
    }
    if (k + (size_t)len > n) {
        *i = k + 1;
        return 0xFFFD;
    }
    for (int j = 1; j < len; j++) {
        if ((s[k + j] & 0xC0) != 0x80) {
            *i = k + 1;
            return 0xFFFD;
        }
        cp = (cp << 6) | (s[k + j] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        *i = k + (size_t)len;
        return 0xFFFD;
    }
    *i = k + (size_t)len;
    return cp;
}

size_t su_put(char *out, uint32_t cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int su_is_han(uint32_t cp) {
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF);
}

/* FNV-1a, then a final avalanche so that linear probing spreads well. */
/* Eight bytes a step (multiply and fold): the bulk load hashes whole item texts
 * (the item memo's keys, kilobytes each), where a byte-at-a-time hash was a
 * tenth of the build. Nothing depends on the slot order, only on the values. */
static uint32_t hash_bytes(const void *key, size_t len) {
    const unsigned char *p = key;
    uint64_t h = 0x9E3779B97F4A7C15ull ^ ((uint64_t)len * 0xff51afd7ed558ccdull);
    while (len >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        p += 8;
        len -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, len);
    h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 29;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 32;
    return (uint32_t)h;
}

void shash_init(shash *h, size_t expected) {
    size_t cap = 16;
    while (cap < expected * 2)
        cap *= 2;
    h->slots = xmalloc(cap * sizeof(*h->slots));
    for (size_t i = 0; i < cap; i++)
        h->slots[i].key_off = UINT32_MAX;
    h->cap = cap;
    h->len = 0;
    h->pool_cap = expected * 8 + 64;
    h->pool = xmalloc(h->pool_cap);
    h->pool_len = 0;
}

void shash_free(shash *h) {
    free(h->slots);
    free(h->pool);
    memset(h, 0, sizeof(*h));
}

static shash_slot *find_slot(const shash *h, const void *key, size_t len, uint32_t hv) {
    size_t mask = h->cap - 1;
    for (size_t i = hv & mask;; i = (i + 1) & mask) {
        shash_slot *s = &h->slots[i];
        if (s->key_off == UINT32_MAX) return s;
        if (s->hash == hv && s->key_len == len && memcmp(h->pool + s->key_off, key, len) == 0)
            return s;
    }
}

uint32_t *shash_get(const shash *h, const void *key, size_t len) {
    if (!h->slots) return NULL;
    shash_slot *s = find_slot(h, key, len, hash_bytes(key, len));
    return s->key_off == UINT32_MAX ? NULL : &s->value;
}

static void grow(shash *h) {
    shash_slot *old = h->slots;
    size_t oldcap = h->cap;
    h->cap *= 2;
    h->slots = xmalloc(h->cap * sizeof(*h->slots));
    for (size_t i = 0; i < h->cap; i++)
        h->slots[i].key_off = UINT32_MAX;
    size_t mask = h->cap - 1;
    for (size_t i = 0; i < oldcap; i++) {
        if (old[i].key_off == UINT32_MAX) continue;
        size_t j = old[i].hash & mask;
        while (h->slots[j].key_off != UINT32_MAX)
            j = (j + 1) & mask;
        h->slots[j] = old[i];
    }
    free(old);
}

uint32_t *shash_put(shash *h, const void *key, size_t len, uint32_t v, int *added) {
    if (!h->slots) shash_init(h, 16);
    uint32_t hv = hash_bytes(key, len);
    shash_slot *s = find_slot(h, key, len, hv);
    if (s->key_off != UINT32_MAX) {
        if (added) *added = 0;
        return &s->value;
    }
    if ((h->len + 1) * 2 > h->cap) {
        grow(h);
        s = find_slot(h, key, len, hv);
    }
    if (h->pool_len + len > h->pool_cap) {
        while (h->pool_len + len > h->pool_cap)
            h->pool_cap *= 2;
        h->pool = xrealloc(h->pool, h->pool_cap);
    }
    memcpy(h->pool + h->pool_len, key, len);
    s->hash = hv;
    s->key_off = (uint32_t)h->pool_len;
    s->key_len = (uint32_t)len;
    s->value = v;
    h->pool_len += len;
    h->len++;
    if (added) *added = 1;
    return &s->value;
}

const char *shash_key(const shash *h, const shash_slot *s) {
    return h->pool + s->key_off;
}

void smulti_init(smulti *m) {
    memset(m, 0, sizeof(*m));
    shash_init(&m->heads, 64);
}

void smulti_free(smulti *m) {
    shash_free(&m->heads);
    free(m->links);
    memset(m, 0, sizeof(*m));
}

void smulti_add(smulti *m, const void *key, size_t len, uint32_t value) {
    uint32_t *head = shash_put(&m->heads, key, len, 0, NULL);
    /* Skip a duplicate value already in the list. */
    for (uint32_t i = *head; i; i = m->links[i - 1].next)
        if (m->links[i - 1].value == value) return;
    if (m->nlinks == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->links = xrealloc(m->links, m->cap * sizeof(*m->links));
    }
    m->links[m->nlinks].value = value;
    m->links[m->nlinks].next = *head;
    m->nlinks++;
    *head = (uint32_t)m->nlinks;
}

uint32_t smulti_first(const smulti *m, const void *key, size_t len) {
    uint32_t *head = shash_get(&m->heads, key, len);
    return head ? *head : 0;
}
