/* search: the in-memory search engine over the service catalog (智能搜索).
 *
 * Items come in as JSON objects in the items.jsonl format, or, for the bulk load
 * from the database, as the documents' JSON text, which scan.c reads without
 * decoding it into objects; the engine keeps no other copy of the catalog. Design:
 *
 *   normalise   full-width → ASCII, lower case, 繁→简 (OpenCC t2s), tone marks
 *               off, punctuation → spaces.
 *   analyse     Han runs are segmented with jieba's dictionary (DAG + maximum-
 *               probability path, plus dictionary sub-words of long words), and
 *               also cut into character bigrams so that part of a longer word
 *               still matches. Every indexed name/keyword term also gets its
 *               pinyin: syllable bigrams over all readings (Unihan) — which makes
 *               homophones (营业只照, 身分证) match — and initials of every span of
 *               up to four words ("sfz", "yyzz").
 *   index       one inverted list per term, split into a "hi" part (the term
 *               occurs in the item's name, keywords) and a "lo" part (only in
 *               materials, FAQ, conditions, process, result). Each posting holds
 *               the saturated BM25F term frequency (name ≫ keywords ≫ body) as
 *               one byte, so scoring is a multiply-add per posting.
 *   query       terms of the query (words, bigrams, pinyin bigrams, initials,
 *               synonyms/俗称 expanded to their official wording) are looked up;
 *               each term knows which query characters it covers, and an item's
 *               score is its BM25F sum × how much of the query it covers. Long
 *               body-only lists are probed for the best candidates only. The best
 *               candidates are re-ranked with phrase matches against the name
 *               (exact, or one character different: 扑捞许可证 → 捕捞许可证) and
 *               multiplied by popularity, online depth and the user's-town boost.
 *   suggest     prefix search over names, their pinyin and initials, and name
 *               suffixes at word boundaries, then ordinary search to fill up.
 *   bulk load   (loader.c) one thread reads the catalog table, another scans and
 *               indexes. A province's catalog is the same 事项 published by every
 *               county: apart from name and department, an item's texts usually
 *               repeat an earlier item's verbatim, so the analysis of those texts
 *               (terms with their keyword/body counts) is remembered per distinct
 *               text during the load, as is the analysis of each piece (a keyword,
 *               a material, a name). The result is the same as analysing every item.
 *               The suggest entries of a bulk load are sorted once at its end, by
 *               string rank (entries grouped by name, form and offset; only one
 *               entry per group is compared), which gives the comparison sort's order.
 *   query cost  per query: accumulators only for the items it touches (a slot per
 *               item, 4 bytes, points into a packed array: the walk stays in the
 *               core's cache), long lists probed through a skip array (every 32nd
 *               document; the candidates' blocks prefetched), the name's reading
 *               of the query computed once per distinct name among the candidates.
 *               Answers are the same as without these (checked on the 100,000-item
 *               catalog, docs/BENCHMARKS.md).
 *
 * Not done yet, the way to ≥ 20,000 queries/s on 100,000 items (docs/BENCHMARKS.md;
 * the changes above that keep every answer the same give ~1.3×, not the 3.4× needed):
 * posting "templates". A query now walks the postings of every county's copy of
 * the same 事项 (~5,000 items for a typical query). Those copies cannot share
 * postings as the index stands, because an impact is one BM25F saturation over
 * all fields of one item (name + keywords + body, department included), so it
 * differs from copy to copy. Folding them needs a change of the scoring model:
 * impacts of the shared texts (keywords, materials, guide) computed per distinct
 * text and held once per template, plus per-item postings for name and
 * department, summed at query time; templates expanded to their items only for
 * the candidates. It changes scores, so it must be re-validated on the dev set.
 *
 * Concurrency: an engine has one rwlock; queries take it shared, changes
 * exclusively. Per-thread scratch (accumulators) is kept in thread-local storage.
 * Changes are incremental: a changed item is tombstoned and re-added; lists are
 * compacted when a quarter of the documents are dead.
 *
 * The engine never writes SQL; it reads the catalog table (loader.c: code, doc and
 * popularity, as catalog_for_each does, without decoding the documents there) and
 * global.c (the server's engine) re-reads single items through catalog.h and keeps
 * the synonyms table and search log (005_search.sql). */
#ifndef ISLE_SEARCH_H
#define ISLE_SEARCH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/audit.h"
#include "base/err.h"
#include "cli.h"
#include "db/db.h"

#define SEARCH_QUERY_MAX_BYTES 256 /* longer queries are refused (400) */
#define SEARCH_DEFAULT_LIMIT   10
#define SEARCH_MAX_LIMIT       100
#define SEARCH_MAX_OFFSET      1000
#define SEARCH_SUGGEST_MAX     10
#define SEARCH_SYNONYM_MAX     64 /* bytes of a synonym term or canonical wording */
#define SEARCH_MAX_SYNONYMS    20000
#define SEARCH_CODE_MAX        40
#define SEARCH_NAME_MAX        512

typedef struct search_engine search_engine;

/** Load the shared resources from data_dir/search/ (dict.txt, pinyin.txt,
 *  stopwords.txt, synonyms.tsv) and create an empty engine. *out is owned by the
 *  caller (search_engine_free). Returns 0 or -1 (missing or malformed file). */
int search_engine_open(const char *data_dir, search_engine **out, err *e);
/** Free the engine and everything it owns. NULL is accepted. */
void search_engine_free(search_engine *s);

/** Add item (a catalog item object, borrowed) or replace the item with the same
 *  code. Returns 0, or -1 with 400 when the object lacks a code or name. */
int search_engine_put(search_engine *s, json_t *item, err *e);
/** After adding many items: shrink the lists to their length and sort the
 *  suggest entries. Optional (queries are correct without it). */
void search_engine_trim(search_engine *s);
/** Bulk loading (search/loader.c): items are indexed by search_engine_put on a
 *  worker thread, in the order given, while the caller decodes the next ones. */
typedef struct search_loader search_loader;
/** Start a loader for s. fail (may be NULL) is called on the worker thread for
 *  each item that search_engine_put refuses. Never NULL. */
search_loader *search_loader_start(search_engine *s, void (*fail)(void *ctx, const err *e),
                                   void *ctx);
/** Queue item (borrowed: the loader takes its own reference). Blocks while the
 *  queue is full. Until search_loader_finish, only the loader changes s, and
 *  queries may not find the items loaded so far (their postings are appended to
 *  the lists in batches, in term order). */
void search_loader_put(search_loader *l, json_t *item);
/** Wait until every queued item is indexed and free the loader. Returns the number
 *  indexed; *failed (may be NULL) gets the number refused, e the first refusal,
 *  *put_ns (may be NULL) the time spent in search_engine_put. */
long search_loader_finish(search_loader *l, long *failed, uint64_t *put_ns, err *e);
/** Remove the item with this code; 0 when removed, 1 when there was none. */
int search_engine_remove(search_engine *s, const char *code);
/** Number of live items. */
size_t search_engine_count(search_engine *s);

/** A synonym (俗称): queries containing term also search canonical. */
typedef struct search_synonym_in {
    const char *term;
    const char *canonical;
    int64_t id; /* database id; 0 for the shipped file */
} search_synonym_in;
/** Replace the engine's synonyms by the shipped file's plus extra[0..n) (borrowed,
 *  normalised on the way in). */
void search_engine_set_synonyms(search_engine *s, const search_synonym_in *extra, size_t n);

/* Filter flags for search_request. */
enum {
    SEARCH_SCOPE_CROSS_PROVINCE = 1, /* 跨省通办 */
    SEARCH_SCOPE_PROVINCE = 2,       /* 全省通办 */
    SEARCH_SCOPE_YONGZHOU = 4,       /* 甬舟通办 */
};

/** One query. Strings are borrowed. Zero-initialise, then set what is needed. */
typedef struct search_request {
    const char *q;          /* ≤ SEARCH_QUERY_MAX_BYTES */
    int limit;              /* 0 = SEARCH_DEFAULT_LIMIT; ≤ SEARCH_MAX_LIMIT */
    int offset;             /* ≤ SEARCH_MAX_OFFSET */
    const char *department; /* exact department name or NULL */
    const char *type;       /* exact type or NULL */
    unsigned scope;         /* SEARCH_SCOPE_* bits the item must all have */
    int commitment;         /* -1/0 any, 1 only 告知承诺 items */
    int instant;            /* -1/0 any, 1 only 秒办 items */
    int handle_at;          /* 0 any, else 1 + index in search_handle_places */
    const char *town;       /* 9-digit town code of the user (boost), or NULL */
    int facets;             /* 1 to count departments and types */
    int highlight;          /* 1 to fill search_hit.highlight */
} search_request;

/** The places where an item can be handled, as in items.jsonl's handle_at. */
extern const char *const search_handle_places[6];

typedef struct search_hit {
    char code[SEARCH_CODE_MAX];
    char name[SEARCH_NAME_MAX];
    char highlight[SEARCH_NAME_MAX * 2]; /* HTML-escaped name with <mark>…</mark> */
    const char *department;              /* interned: valid while the engine lives */
    const char *type;
    double score;
    double promise_days;
    int online_depth, commitment, instant;
} search_hit;

typedef struct search_facet {
    const char *value; /* interned */
    int count;
} search_facet;

#define SEARCH_MAX_FACETS 64

/** The answer to a query. Allocate with search_result_new(); reusable. */
typedef struct search_result {
    char normalized[SEARCH_QUERY_MAX_BYTES * 2];
    int total;
    int nhits;
    search_hit hits[SEARCH_MAX_LIMIT];
    int ndepartments, ntypes;
    search_facet departments[SEARCH_MAX_FACETS];
    search_facet types[SEARCH_MAX_FACETS];
} search_result;

/** A result buffer; the caller frees it with free(). Never NULL. */
search_result *search_result_new(void);

/** Run a query. Returns 0 with res filled (total 0 when nothing matches), or -1
 *  with 400 for an over-long query or a bad limit/offset. */
int search_run(search_engine *s, const search_request *rq, search_result *res, err *e);

/** The API's JSON for a result: {"query","normalized","total","items":[{"code","name",
 *  "department","type","score","highlight":{"name"},"online_depth","promise_days",
 *  "commitment","instant"}],"facets":{"department":{…},"type":{…}},"took_ms"}.
 *  query is echoed (borrowed). The caller owns the result. */
json_t *search_result_json(const search_result *res, const char *query, double took_ms);

/** Free the calling thread's query scratch (accumulators sized to the index).
 *  Optional: for tests and threads that stop searching. */
void search_thread_cleanup(void);

/** Suggestions for a prefix q: up to max (≤ SEARCH_SUGGEST_MAX) items whose
 *  name, name pinyin or initials start with q (or a word of the name does),
 *  then the best search hits. Fills hits[].code/name; returns the count, or -1
 *  for an over-long q. */
int search_suggest(search_engine *s, const char *q, int max, search_hit *hits, err *e);

/** The normalised form of q (full-width, 繁→简, case, punctuation) into out. */
void search_normalize(search_engine *s, const char *q, char *out, size_t cap);

/* ---- the server's engine (global.c) ---- */

/** Load the resources from data_dir and build the index from the catalog through
 *  catalog_for_each(d) (items with their popularity), then load the staff's
 *  synonyms from the database. Called once by `isle serve` before it listens.
 *  Returns 0 or -1. */
int search_serve_start(db *d, const char *data_dir, err *e);
/** With PostgreSQL (dsn postgres://…), listen for item and synonym changes made on
 *  other nodes and apply them to this node's engine; a no-op on SQLite. 0 or -1. */
int search_listen_start(const char *dsn, err *e);
void search_listen_stop(void);
/** The server's engine, or NULL before search_serve_start(). Lives until exit. */
search_engine *search_global(void);
/** Re-index one item after a catalog edit (the catalog's PUT handler calls it):
 *  reads the item with catalog_item_get() and replaces it in the index, or removes
 *  it when the code no longer exists. Does nothing (0) when the server's engine
 *  is not running. Returns 0 or -1. */
int search_item_changed(db *d, const char *code);

/* ---- the API's answer cache (cache.c) ---- */

/** A cached answer: the encoded JSON body (malloc'd, the caller frees it), its
 *  length, the item count and the normalised query (for the search log). */
typedef struct search_cached {
    char *body;
    size_t len;
    int total;
    char normalized[SEARCH_QUERY_MAX_BYTES * 2];
} search_cached;

/** The engine's change counter: bumped by every put, remove and synonym reload. */
uint64_t search_engine_generation(search_engine *s);
/** 0 when ISLE_SEARCH_CACHE=0 turned the cache off. */
int search_cache_enabled(void);
/** Look up the answer for key (every parameter that shapes the answer, as bytes)
 *  computed at `generation`. 1 and *out filled on a hit, 0 on a miss. */
int search_cache_get(uint64_t generation, const char *key, size_t klen, search_cached *out);
/** Remember an answer computed at `generation` (read before the query ran). */
void search_cache_put(uint64_t generation, const char *key, size_t klen, const char *body,
                      size_t blen, const char *normalized, int total);
/** Hits and misses since the start (for /metrics). */
void search_cache_stats(uint64_t *hits, uint64_t *misses);
/** Drop every entry (tests; memory). */
void search_cache_clear(void);

/** Count one query in the search log (in memory; written to the search_log table
 *  in batches by search_log_flush). The normalised query is logged with digit
 *  runs of 7 or more removed (no ID or phone numbers). */
void search_log_query(db *d, const char *normalized, int total);
/** Write the pending search-log counts to the database now. Returns 0 or -1. */
int search_log_flush(db *d, err *e);
/** Queries whose latest search found nothing, most often empty first:
 *  {"items":[{"query","zero_results","searches","last_at"}],"total","limit",
 *  "offset"} (pending counts are written first). The caller owns the result. */
json_t *search_zero_results(db *d, int limit, int offset, err *e);

/** All synonyms: {"items":[{"id"|null,"term","canonical","source":"file"|"db",
 *  "created_at","created_by"}]}. The caller owns the result. */
json_t *search_synonyms_list(db *d, err *e);
/** Add a staff synonym (audited as "search.synonym.create") and apply it to the
 *  server's engine. *id gets the new row id. Errors: 400 (empty, too long, term
 *  equals canonical), 409 (already present). Returns 0 or -1. */
int search_synonym_add(db *d, const audit_actor *actor, const char *term, const char *canonical,
                       int64_t *id, err *e);
/** Delete a staff synonym by id (audited as "search.synonym.delete"); 404 when
 *  unknown. Shipped synonyms cannot be deleted. Returns 0 or -1. */
int search_synonym_delete(db *d, const audit_actor *actor, int64_t id, err *e);
/** Load the staff synonyms from the database into engine s. Returns 0 or -1. */
int search_synonyms_reload(db *d, search_engine *s, err *e);

/** `isle search [--limit N] [--json] QUERY` and `isle search --batch [--limit N]`.
 *  Builds the index from the catalog in the database (or, when the database has
 *  no items, from data_dir/catalog/items.jsonl). Returns the exit status. */
int search_cli(const cli_env *env, int argc, char **argv);

#endif
