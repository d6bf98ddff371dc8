/* search/internal.h: structures shared by the files of src/search/ and by its
 * white-box unit tests. Nothing outside src/search/ includes this file.
 *
 * Layout of the engine (see search.h for the whole design):
 *   lexicon  immutable, loaded once from data/search/: jieba dictionary with
 *            prefixes (segmentation), pinyin readings per character, syllable
 *            table, stop words, the OpenCC converter.
 *   engine   the lexicon + documents + inverted index + suggest entries +
 *            synonyms, all guarded by one rwlock owned by the engine.
 * Every size is bounded: queries (SEARCH_QUERY_MAX_BYTES), words
 * (SEARCH_WORD_MAX_CHARS), readings per character (SEARCH_MAX_READINGS), pinyin
 * combinations per term (SEARCH_MAX_COMBOS), documents (SEARCH_MAX_DOCS). */
#ifndef ISLE_SEARCH_INTERNAL_H
#define ISLE_SEARCH_INTERNAL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "search/search.h"

#define SEARCH_WORD_MAX_CHARS 16 /* longest dictionary word used by segmentation */
#define SEARCH_MAX_READINGS   3  /* readings per character used for indexing */
#define SEARCH_MAX_COMBOS     8  /* pinyin/initials variants per indexed term */
#define SEARCH_MAX_DOCS       (1u << 22)
#define SEARCH_TEXT_MAX_CHARS 4096 /* characters of one field analysed */
#define SEARCH_MAX_UNITS      64   /* query units tracked for coverage */

/* ---- UTF-8 ---- */
/** Decode one code point at s[*i] (advancing *i); invalid bytes give 0xFFFD. */
uint32_t su_next(const char *s, size_t n, size_t *i);
/** Encode cp into out (≥ 4 bytes); returns the byte count. */
size_t su_put(char *out, uint32_t cp);
/** 1 for CJK unified ideographs (BMP blocks and Extension A). */
int su_is_han(uint32_t cp);

/* ---- hash map: byte-string keys → uint32 values ----
 * Open addressing with linear probing; keys are copied into a pool the map
 * owns. Values are opaque to the map. Never shrinks. */
typedef struct shash_slot {
    uint32_t hash;
    uint32_t key_off; /* offset in pool; UINT32_MAX = empty */
    uint32_t key_len;
    uint32_t value;
} shash_slot;

typedef struct shash {
    shash_slot *slots;
    size_t cap, len; /* cap is a power of two */
    char *pool;
    size_t pool_len, pool_cap;
} shash;

void shash_init(shash *h, size_t expected);
void shash_free(shash *h);
/** Pointer to the value of key, or NULL. Valid until the next insertion. */
uint32_t *shash_get(const shash *h, const void *key, size_t len);
/** Value of key, inserting it with value v when absent (*added tells which). */
uint32_t *shash_put(shash *h, const void *key, size_t len, uint32_t v, int *added);
/** The key bytes of the slot holding value pointer p (for iteration). */
const char *shash_key(const shash *h, const shash_slot *s);

/* ---- lexicon (immutable after load) ---- */
typedef struct search_lexicon {
    shash words;             /* word → frequency; prefixes of words have 0 */
    double log_total;        /* log of the sum of frequencies */
    double log_min;          /* log-probability given to unknown single characters */
    shash stop;              /* stop words → 1 (dropped) or 2 (weak: intent words) */
    shash syllables;         /* toneless syllable → id */
    char (*syllable)[8];     /* id → syllable text */
    uint8_t *syllable_vowel; /* id → 1 if the syllable has a vowel (usable for parsing) */
    size_t nsyllables;
    uint32_t *readings;    /* per character: offset into reading_ids */
    uint8_t *nreadings;    /* per character (0 = unknown) */
    uint16_t *reading_ids; /* syllable ids */
    size_t nreading_ids;
    uint8_t *traditional; /* bitmap over 0..0xFFFF: 1 when OpenCC t2s changes the char */
    void *opencc;         /* opencc_t, or NULL when unavailable */
    pthread_mutex_t opencc_lock;
} search_lexicon;

#define PINYIN_FIRST 0x3400u
#define PINYIN_LAST  0x9FFFu

/** Load the lexicon from data_dir/search/. *out is owned by the caller. 0 or -1. */
int search_lexicon_load(const char *data_dir, search_lexicon **out, err *e);
/** Free a lexicon; NULL is accepted. */
void search_lexicon_free(search_lexicon *lx);
/** Readings (syllable ids) of cp; returns the count (0 for none). */
size_t lex_readings(const search_lexicon *lx, uint32_t cp, const uint16_t **ids);
/** Syllable id of text[0..n), or -1. */
int lex_syllable(const search_lexicon *lx, const char *text, size_t n);

/* ---- documents and postings ---- */
enum { F_NAME = 0, F_KW = 1, F_BODY = 2, F_COUNT = 3 };

/* Scope flags (bit per 通办 scope) and handle_at flags (bit per place). */
enum { SCOPE_CROSS_PROVINCE = 1, SCOPE_PROVINCE = 2, SCOPE_YONGZHOU = 4 };

typedef struct sdoc {
    char *code;
    char *name;
    char *pinyin;        /* name in full pinyin (customary readings), for suggest */
    char *initials;      /* name's initials, for suggest */
    uint16_t *name_syl;  /* per name character: first reading id (0xFFFF none) */
    uint32_t name_chars; /* characters in name */
    uint32_t department; /* interned id */
    uint32_t type;       /* interned id */
    float popularity;
    float promise_days;
    uint8_t online_depth, commitment, instant, scope, handle_at, live;
    char area[8]; /* first six characters of the code */
} sdoc;

/* A posting list: doc ids ascending with one impact byte each. The impact's
 * top bit says "the term occurs in the item's name"; the low 7 bits are the
 * saturated BM25F term-frequency component scaled to 0..127. */
typedef struct plist {
    uint32_t *doc;
    uint8_t *imp;
    uint32_t n, cap;
    /* Lists of PLIST_SKIP_MIN postings or more: skip[j] = doc[j × PLIST_SKIP_STEP]
     * (nskip entries), so that probing a long list for a few documents reads one
     * block of it per document instead of galloping through the whole list. */
    uint32_t *skip;
    uint32_t nskip, skip_cap;
} plist;

#define PLIST_SKIP_STEP 32
#define PLIST_SKIP_MIN  1024
/** Bring p->skip up to date after postings were appended (or after p->nskip was
 *  set to 0 because the list was rewritten). */
void plist_sync_skip(plist *p);

typedef struct sterm {
    plist hi; /* items where the term occurs in name, keywords or synonyms */
    plist lo; /* items where it occurs only in the body (materials, FAQ, guide) */
} sterm;

typedef struct sugg_entry {
    uint64_t key; /* form in the top byte, then the string's first 7 bytes (sort key) */
    uint32_t doc;
    uint16_t off;  /* byte offset in the form's string */
    uint8_t form;  /* 0 name, 1 pinyin, 2 initials */
    uint8_t whole; /* 1 when off == 0 */
} sugg_entry;

typedef struct synonym {
    char *term;      /* colloquial (normalised) */
    char *canonical; /* official wording (normalised) */
    int64_t id;      /* database id, 0 for the shipped file */
} synonym;

/* A multimap from byte strings to lists of synonym indices. */
typedef struct smulti {
    shash heads; /* key → 1 + index of the first link */
    struct smulti_link {
        uint32_t value, next; /* next: 1 + index, 0 = end */
    } * links;
    size_t nlinks, cap;
} smulti;

struct search_engine {
    pthread_rwlock_t lock;
    search_lexicon *lex; /* owned */
    shash terms;         /* term bytes → index in term[] */
    sterm *term;
    size_t nterms, term_cap;
    sdoc *docs;
    uint8_t *live; /* docs[i].live, packed for the scoring loop */
    size_t ndocs, docs_cap, live_docs, dead_docs;
    shash codes;       /* code → doc id (live docs only) */
    shash interned;    /* department/type strings → id */
    char **intern_str; /* id → string */
    size_t nintern, intern_cap;
    synonym *file_syn; /* from data/search/synonyms.tsv */
    size_t nfile_syn;
    synonym *syn; /* in force: the file's and the database's */
    size_t nsyn;
    smulti syn_text;   /* synonym term (UTF-8) → synonyms */
    smulti syn_pinyin; /* "f" + full pinyin / "i" + initials of a term → synonyms */
    size_t syn_max_chars;
    sugg_entry *sugg; /* sorted part */
    size_t nsugg, sugg_cap;
    sugg_entry *sugg_new; /* unsorted tail added since the last sort */
    size_t nsugg_new, sugg_new_cap;
    /* Memo of analysed text pieces (keywords, materials, FAQ, process steps repeat
     * across items; names too during a bulk load): field + text → the term ids it
     * produced. Bounded; emptied when a bulk load ends (edits refill it). */
    shash memo;
    struct memo_ent {
        uint32_t off, n, len;
    } * memo_ent;
    size_t nmemo, memo_cap;
    uint32_t *memo_ids;
    size_t nmemo_ids, memo_ids_cap;
    /* Bulk loading (search_loader): postings are collected here and appended to
     * their lists in term order by eng_flush_postings (cache-friendly), before
     * anything reads the lists. */
    int bulk;
    struct pending_posting {
        uint32_t key; /* term id × 2 + (1 for the lo part) */
        uint32_t doc;
        uint8_t imp;
    } * pend;
    size_t npend, pend_cap;
    /* Memo of whole items minus their name and department, during a bulk load only
     * (a province's catalog is the same 事项 published by every county: keywords,
     * materials, process, FAQ repeat verbatim): those texts → the terms they gave
     * with their keyword and body counts and the two field lengths. Bounded; freed
     * when the bulk load ends. */
    shash dmemo;
    struct dmemo_ent {
        uint32_t off, n, len_kw, len_body;
    } * dmemo_ent;
    size_t ndmemo, dmemo_cap;
    struct dmemo_term {
        uint32_t id;
        uint16_t kw, body;
    } * dmemo_terms;
    size_t ndmemo_terms, dmemo_terms_cap;
    uint64_t generation; /* bumped by every change */
    void *scratch;       /* index.c's per-item analysis tables (write lock) */
};

/* ---- an item as the index reads it (scan.c) ---- */
/* Lists of an item's pieces: keywords, material names, process steps, FAQ (q and
 * a alternating); scope and handle_at are only used while scanning. */
enum { SP_KW, SP_MAT, SP_PROC, SP_FAQ, SP_COUNT, SP_SCOPE = SP_COUNT, SP_HANDLE };

typedef struct sitem {
    const char *code, *name;                                   /* NULL when absent or not strings */
    const char *department, *type, *conditions, *result, *fee; /* "" when absent */
    double popularity, promise_days;
    long online_depth;
    int commitment, instant;
    unsigned scope, handle_at;   /* SCOPE_* bits; bit k for search_handle_places[k] */
    const char **list[SP_COUNT]; /* a piece may be NULL (not a string): nothing */
    size_t n[SP_COUNT], cap[SP_COUNT];
    char *buf; /* the scanner's strings */
    size_t bufcap;
} sitem;

/** Clear it for the next item (keeps its buffers). */
void sitem_reset(sitem *it);
void sitem_free(sitem *it);
/** it borrows item's strings (valid while item lives). */
void sitem_from_json(sitem *it, json_t *item);
/** Scan the JSON text of one item; it points into its own buffer (valid until the
 *  next scan). 0, or -1 when the text is not JSON the scanner accepts (the caller
 *  then decodes it with jansson). */
int sitem_scan(sitem *it, const char *json, size_t len);
/** search_engine_put for an item already read. */
int eng_put_item(search_engine *s, const sitem *it, err *e);
/** Queue the JSON text of an item (malloc'd; the loader frees it) with its
 *  popularity (which replaces the document's). */
void search_loader_put_text(search_loader *l, char *json, size_t len, double popularity);
/** Queue every item of the catalog table to l, in code order (as catalog_for_each,
 *  without decoding the documents here). 0 or -1. */
int search_load_catalog(db *d, search_loader *l, err *e);

/* Field parameters of BM25F (shared by index.c and query.c). */
extern const float search_field_weight[F_COUNT];

/* ---- analysis (lexicon.c) ---- */
/** Normalise s (n bytes) into out (cap bytes): full-width→ASCII, lower case,
 *  traditional→simplified, tone marks removed, punctuation → single spaces,
 *  trimmed. Returns the length written (output truncated at a code point). */
size_t lex_normalize(search_lexicon *lx, const char *s, size_t n, char *out, size_t cap);

/** Segment the Han code points cps[0..n) with the dictionary (DAG + maximum-
 *  probability path); ends[k] gets the end (exclusive) of the k-th word.
 *  Returns the number of words. */
size_t lex_segment(const search_lexicon *lx, const uint32_t *cps, size_t n, uint16_t *ends);
/** Split a word cps[0..n) (n ≥ 3) into dictionary sub-words by the best path that
 *  does not use the whole word; ends as lex_segment. Returns the count (1 when it
 *  cannot be split into known words). */
size_t lex_split_word(const search_lexicon *lx, const uint32_t *cps, size_t n, uint16_t *ends);
/** 1 if the UTF-8 word is in the dictionary with frequency > 0. */
int lex_is_word(const search_lexicon *lx, const char *w, size_t len);
/** Stop-word class of w: 0 none, 1 stop, 2 weak. */
int lex_stop_class(const search_lexicon *lx, const char *w, size_t len);

/** Parse letters[0..n) (n ≤ 64) as pinyin syllables (only syllables with a
 *  vowel). Up to max_parses parses with the fewest syllables are written to
 *  ids/ends, parse p at ids[p * 64] (syllable ids) and ends[p * 64] (end offset
 *  of each syllable); nsyl[p] gets its syllable count. Returns the number of
 *  parses (0 when the letters are not pinyin). */
int lex_syllabify(const search_lexicon *lx, const char *letters, size_t n, uint16_t *ids,
                  uint8_t *ends, int *nsyl, int max_parses);

/* ---- index internals (index.c) ---- */
uint32_t eng_intern(search_engine *s, const char *str);
int eng_term_id(const search_engine *s, const char *key, size_t len, uint32_t *id);
/** Append the pending postings of a bulk load to their lists (write lock held). */
void eng_flush_postings(search_engine *s);
/** Start (1) or end (0) bulk loading; ending flushes. Takes the write lock. */
void eng_set_bulk(search_engine *s, int on);
/** Free index.c's analysis scratch. */
void eng_scratch_free(search_engine *s);

void smulti_init(smulti *m);
void smulti_free(smulti *m);
void smulti_add(smulti *m, const void *key, size_t len, uint32_t value);
/** First link index + 1 for key (0 = none); walk with m->links[i - 1].next. */
uint32_t smulti_first(const smulti *m, const void *key, size_t len);

/* ---- suggest (suggest.c) ---- */
void sugg_add_doc(search_engine *s, uint32_t doc);
void sugg_sort(search_engine *s);

#endif
