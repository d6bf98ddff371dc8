/* rules: 智能秒办 — deciding an application for an "instant" catalog item
 * without a person, from declarative rules, in well under a second.
 *
 * One JSON file per item, data/cases/rules/{item_code}.json (format in
 * data/cases/rules/README.md), read at run time: a file is parsed and validated
 * the first time it is needed and cached; the cache notices a changed, added
 * or removed file (mtime and size, checked at most once a second per item), so
 * editing a rule needs no restart. A file that fails validation is reported
 * with the file name and the field path ("330900-GA-100031.json: rules[2].op:
 * …") by rules_load()/rules_check_dir() and `isle rules check`.
 *
 * A rule set is a list of checks; every check gives pass, fail or unknown:
 *   applicant        the applicant's kind (citizen / company)
 *   licence          a licence of the type is valid in the 证照库 (optionally
 *                    expiring within N days: renewals); licence_absent: none is
 *   age              age from the resident ID number's birth date, min/max years
 *   residence        region prefix (3309 = 舟山) of the 户口簿's region, the ID
 *                    number's region or the user's town_code
 *   no_open_case     no other open application of the item (or listed items)
 *   not_done_before  no approved/delivered application of the item (ever, or
 *                    within N days)
 *   field            a form field: equals, not_equals, in, not_in, range,
 *                    present, date_within_days
 * The decision is RULES_APPROVE only when every check passes. A check that
 * fails, or cannot be decided (missing ID number, form field not filled, no
 * rules for the item, a broken rule file), sends the case to a person:
 * RULES_HUMAN. The rules never deny — a human does.
 *
 * The trace, stored by the applications core on the case, is a JSON array with
 * one object per check, in file order: {"rule", "check", "description" (Chinese),
 * "result": "pass"|"fail"|"unknown", "detail" (Chinese, no personal numbers)}.
 *
 * Thread-safe: the cache is shared by the server's threads under a mutex;
 * cached rule sets are immutable. rules_decide() only reads the database. */
#ifndef ISLE_RULES_H
#define ISLE_RULES_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"
#include "cli.h"
#include "db/db.h"

#define RULES_FILE_MAX  (256u * 1024u) /* bytes of one rule file */
#define RULES_MAX_RULES 64             /* checks in one file */
#define RULES_MAX_ITEMS 1000           /* files cached */

enum { RULES_HUMAN = 0, RULES_APPROVE = 1 };

/** What rules_decide() looks at. Strings and form are borrowed. */
typedef struct rules_input {
    const char *item_code;      /* catalog item code */
    int64_t applicant_id;       /* users.id of the applicant (the holder of the licences) */
    const char *applicant_role; /* role name: "citizen", "company" … (users.role) */
    const char *id_number;      /* the applicant's resident ID number, or NULL */
    const char *town_code;      /* the applicant's town (9 digits), or NULL */
    json_t *form;               /* the application's form object, or NULL */
    const char *now_iso;        /* the decision instant, ISO-8601 UTC; NULL = now */
    int64_t case_id;            /* this application, left out of case checks; 0 = none */
} rules_input;

/** Where rule files are: DATA_DIR/cases/rules. Without a call, the directory of the
 *  process-wide working-day calendar decides (workcal_default(): its data dir, so
 *  --data-dir and $ISLE_DATA_DIR are followed), else ./data/cases/rules. The string is
 *  copied; the cache is emptied. Call before threads start, or in tests. */
void rules_set_data_dir(const char *data_dir);
/** The rule directory in use (as rules_set_data_dir() or the default decided). Points
 *  to static storage. */
const char *rules_dir(void);

/** Decide the application in *in: RULES_APPROVE when every check passes, RULES_HUMAN
 *  otherwise (including when the item has no rule file or its file is broken: the
 *  trace says so, and a broken file is logged). *trace_out (may be NULL) gets the
 *  trace array, owned by the caller. -1 only on a database error or missing input
 *  (item_code, applicant_id), with e. Reads only; any transaction state. */
int rules_decide(db *d, const rules_input *in, json_t **trace_out, err *e);

/** 1 if item_code has a valid rule file, else 0 (absent or broken). */
int rules_exist(const char *item_code);

/** The item's rule file as loaded (validated; "rules" and "fields" as in the file), or
 *  NULL with e: 404 "not_found" when there is no file, 422 naming file and field when
 *  it is invalid. The caller owns the result. */
json_t *rules_load(const char *item_code, err *e);

/** The form fields the item's rules read ("fields" of the file: [{name, label, type,
 *  options?, required?}]), for the applications core to add to the item's form. A new
 *  reference, or an empty array when there is no valid file. */
json_t *rules_form_fields(const char *item_code);

/** Validate one rule file's contents (already parsed) as the file `name`
 *  ("CODE.json"): 0, or -1 with e = 422 "unprocessable", field = the path, message
 *  "CODE.json: path: problem". rules is borrowed. */
int rules_validate(const char *name, json_t *rules, err *e);

/** Validate every *.json file of dir. Returns the number of files checked, or -1 at
 *  the first invalid one (e names file and field). */
int rules_check_dir(const char *dir, err *e);

/** Forget every cached rule set (tests; the next use reloads). */
void rules_cache_clear(void);

/** `isle rules check [--catalog]`: validate every rule file; with the database's
 *  catalog, also that each file's item exists and is instant, that every instant item
 *  has a file and that every licence type is a catalog type. `isle rules show CODE`
 *  prints the validated file. Returns the exit status (0 ok, 1 invalid, 2 usage). */
int rules_cli(const cli_env *env, int argc, char **argv);

#endif
