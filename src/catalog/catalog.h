/* catalog: the service catalog — service items (政务服务事项 with their full
 * 办事指南), 一件事 bundles and e-licence types — imported from and exported
 * to the formats of data/catalog/ (see its README), queried for the public API
 * and edited by staff.
 *
 * An item is a JSON object with exactly the keys of the README's schema. Every
 * item that enters the database passes catalog_item_validate() and is stored
 * in its canonical text: keys in the README's order, whole day counts as
 * integers, one line in the items.jsonl format. That text is what export
 * writes, so import → export reproduces a file byte for byte, and "changed"
 * means "canonical text differs". Each change gives the item version + 1 and
 * a history row holding the new text.
 *
 * Imports are all-or-nothing (one transaction, one "catalog.import" audit row);
 * every staff edit writes its own "catalog.item.update" audit row with the item
 * before and after. Query functions never write and return new jansson values
 * the caller owns. Nothing here builds SQL from input. */
#ifndef ISLE_CATALOG_H
#define ISLE_CATALOG_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "audit/audit.h"
#include "base/err.h"
#include "cli.h"
#include "db/db.h"

/* Limits on imported files. */
#define CATALOG_MAX_LINE_BYTES  (256u * 1024u)        /* one line of items.jsonl */
#define CATALOG_MAX_FILE_BYTES  (64u * 1024u * 1024u) /* items.jsonl */
#define CATALOG_MAX_SIDE_BYTES  (4u * 1024u * 1024u)  /* bundles.json, licences.json */
#define CATALOG_MAX_ITEMS       100000                /* items per import and in listings */
#define CATALOG_MAX_BUNDLES     10000
#define CATALOG_MAX_LICENCES    10000
#define CATALOG_MAX_BUNDLE_SIZE 100 /* items in one bundle */

/* Item list paging. */
#define CATALOG_DEFAULT_LIMIT 50
#define CATALOG_MAX_LIMIT     200

/** Counts reported by catalog_import_file(). items = inserted + updated + unchanged. */
typedef struct catalog_counts {
    int64_t items;     /* item lines read */
    int64_t inserted;  /* new codes (version 1) */
    int64_t updated;   /* existing codes whose content changed (version + 1) */
    int64_t unchanged; /* existing codes with identical content (not written) */
    int64_t bundles;   /* bundles upserted (0 without a bundles file) */
    int64_t licences;  /* licence types upserted (0 without a licences file) */
} catalog_counts;

/** Check one item object against the README's schema: every key present with the
 *  right type (a material's "licence" may be absent, meaning null), no other key,
 *  enum values, ranges, the code pattern, sizes. On failure returns -1 with e =
 *  400 "invalid_argument", e->field = the path of the bad value ("code",
 *  "materials[2].form", "faq[0].a") and a message in Chinese. item is borrowed. */
int catalog_item_validate(json_t *item, err *e);

/** The canonical text of a valid item (as stored and exported, no newline), or NULL
 *  with e filled as by catalog_item_validate(). The caller frees the result. */
char *catalog_item_canonical(json_t *item, err *e);

/** 1 if s is a well-formed item code: AREA-DEPT-NNNNNN with AREA one of 330900
 *  330902 330903 330921 330922, DEPT 2–8 capital letters, six digits. */
int catalog_code_valid(const char *s);

/** 1 if s is one of the five area codes. */
int catalog_area_valid(const char *s);

/** 1 if s is one of the seven item types (行政许可 … 公共服务). */
int catalog_type_valid(const char *s);

/** Import items from path_jsonl (one item per line; blank lines are skipped), and,
 *  when given, bundles (a JSON array as bundles.json) and licence types (as
 *  licences.json). Everything is validated before anything is written and written
 *  in one transaction with one "catalog.import" audit row by actor (borrowed):
 *  items are upserted by code, a changed item gets version + 1 and a history row,
 *  an unchanged one is left alone; bundles and licences are upserted by key.
 *  Bundles must name items of this file or of the database; when licences are
 *  given, every material's licence must be one of them. Rows missing from the
 *  files are kept. A bad line gives 422 "unprocessable", e->field = the field path
 *  and the message "items.jsonl line N: field F: problem" (the file's base name);
 *  an oversized file or line gives 413. counts (may be NULL) is filled on success.
 *  Must not be called inside an open transaction. Returns 0 or -1. */
int catalog_import_file(db *d, const char *path_jsonl, const char *bundles_path,
                        const char *licences_path, const audit_actor *actor, catalog_counts *counts,
                        err *e);

/** Write every item to items (one canonical line each, ordered by code) and, when the
 *  streams are given, the bundles (ordered by code) and licence types (ordered by
 *  type) as indented JSON arrays in the shipped files' layout. The streams stay
 *  open and belong to the caller. Returns 0 or -1 (database or write error). */
int catalog_export(db *d, FILE *items, FILE *bundles, FILE *licences, err *e);

/** One item for its guide page: the item's fields plus "version", "updated_at",
 *  "popularity", "bundles":[{"code","name"}] and, on each material whose licence
 *  is a known type, "licence_issuer" and "licence_trust_level". NULL with 404
 *  "not_found" when there is no such code. The caller owns the result. */
json_t *catalog_item_get(db *d, const char *code, err *e);

/** Filter for catalog_item_list(). NULL strings match everything; strings are borrowed. */
typedef struct catalog_filter {
    const char *department; /* exact department name */
    const char *type;       /* one of the seven types */
    const char *area;       /* one of the five area codes */
    int64_t limit;          /* 0 = CATALOG_DEFAULT_LIMIT; clamped to CATALOG_MAX_LIMIT */
    int64_t offset;         /* >= 0 */
} catalog_filter;

/** One page of item summaries ordered by code: {"items":[{"code","name","type",
 *  "department","level","area_code","legal_days","promise_days","fee",
 *  "online_depth","visits","commitment","instant","scope":[…],"version",
 *  "popularity"}],"total","limit","offset"}, total counting every match. f may be
 *  NULL. The caller owns the result; NULL on error. */
json_t *catalog_item_list(db *d, const catalog_filter *f, err *e);

/** Replace item code with item (borrowed) after validation, as a staff edit by actor
 *  (borrowed): the item's "code" must equal code; when the database holds licence
 *  types, every material's licence must be one of them. A changed item gets
 *  version + 1, a history row and a "catalog.item.update" audit row with the item
 *  before and after, in one transaction; an identical item is left alone.
 *  expected_version > 0 makes the update conditional (409 "conflict" when the
 *  stored version differs); 0 skips that check. Errors: 400 naming the field, 404
 *  for an unknown code. Returns 0 or -1. */
int catalog_item_update(db *d, const audit_actor *actor, const char *code, json_t *item,
                        int64_t expected_version, err *e);

/** Remove from an item object (borrowed, changed in place) the read-only keys that
 *  catalog_item_get() adds — "version", "updated_at", "popularity", "bundles",
 *  and "licence_issuer"/"licence_trust_level" in materials — so that a fetched item
 *  can be edited and sent back. *version (may be NULL) gets the removed "version"
 *  when it was a positive integer, else 0. */
void catalog_item_strip_readonly(json_t *item, int64_t *version);

/** Call fn(ctx, item) for every item in code order, item being the stored item plus
 *  "version" and "popularity" (borrowed: valid during the call; json_incref() to
 *  keep it). Items are read in pages, so fn may use the same connection. fn returns
 *  0 to go on; any other value stops the walk and is returned. -1 also on a
 *  database error (e filled). */
int catalog_for_each(db *d, int (*fn)(void *ctx, json_t *item), void *ctx, err *e);

/** Departments with their item counts, most items first:
 *  {"items":[{"department","count"}]}. The caller owns the result. */
json_t *catalog_departments(db *d, err *e);

/** All bundles ordered by code: {"items":[{"code","name","items":[codes],"parallel",
 *  "promise_hours","description"}]}. The caller owns the result. */
json_t *catalog_bundles(db *d, err *e);

/** One bundle with its items expanded in order: {"code","name","items":[{"code",
 *  "name","department","promise_days","online_depth"}],"parallel","promise_hours",
 *  "description"}. NULL with 404 when unknown. The caller owns the result. */
json_t *catalog_bundle_get(db *d, const char *code, err *e);

/** All licence types ordered by type: {"items":[{"type","issuer","id_pattern",
 *  "trust_level"}]}. The caller owns the result. */
json_t *catalog_licences(db *d, err *e);

/** The history of an item, newest first: {"code","items":[{"version","changed_at",
 *  "changed_by","item"}]} (at most CATALOG_MAX_LIMIT versions). NULL with 404 when
 *  the item does not exist. The caller owns the result. */
json_t *catalog_item_versions(db *d, const char *code, err *e);

/** The `isle import catalog …` and `isle export catalog …` commands; argv[0] is
 *  "import" or "export". Returns the exit status (0, 1 failure, 2 usage). */
int catalog_cli(const cli_env *env, int argc, char **argv);

#endif
