/* assistant: the 智慧客服 — answers a resident's question about a service item in
 * one or two sentences taken from the item's 办事指南.
 *
 * Reading a question (assistant_read):
 *   1. normalise it as the search engine does (繁→简, full-width, case);
 *   2. find the cues of data/assistant/intents.tsv in it — a transparent lexicon
 *      of phrases with weights ("带什么" materials 3, "多久" time 3 …). Each
 *      intent scores the sum of its cues' weights; a cue inside a longer matched
 *      cue does not count. The best intent wins with a score of at least
 *      ASSISTANT_MIN_INTENT_SCORE, otherwise the question is about finding an
 *      item ("find");
 *   3. strip the cues marked "strip" and the filler words: what is left names
 *      the item, and is what the search engine is asked.
 * Answering (assistant_answer): the best search hit is the item unless the
 * caller's context item (the guide page the resident came from) fits the
 * question better; alternatives are offered when the best hit is not clearly
 * ahead; when nothing matches well enough the answer says so and gives the
 * hall's phone number. Every fact in an answer is copied from the item's fields
 * (materials, legal/promise days, fee, place, hours, conditions, process); the
 * assistant never makes one up.
 *
 * Which item of a family (新办 / 补办 / 换领 …) a question means is read from
 * data/assistant/actions.tsv when the best hits rank close together; an item's
 * FAQ entry is the answer when it asks the same thing in nearly the same words.
 *
 * No model, no network, no database access: items come through a callback, so
 * the same code serves `isle ask` (items from the catalog read at start) and
 * the API (catalog_item_get per request). An assistant is immutable after
 * assistant_note_item() calls at start-up, so threads share it freely. */
#ifndef ISLE_ASSISTANT_H
#define ISLE_ASSISTANT_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "cli.h"
#include "db/db.h"
#include "search/search.h"

#define ASSISTANT_QUESTION_MAX_BYTES 500          /* longer questions are refused (400) */
#define ASSISTANT_LEXICON_MAX_BYTES  (256 * 1024) /* intents.tsv */
#define ASSISTANT_MAX_CUES           2000
#define ASSISTANT_CUE_MAX_BYTES      64
#define ASSISTANT_MAX_WEIGHT         10
#define ASSISTANT_MIN_INTENT_SCORE   2 /* below this the question is "find" */
#define ASSISTANT_ALTERNATIVES       3
#define ASSISTANT_ANSWER_MAX_BYTES   2048
#define ASSISTANT_PHONE_MAX          64

/** What a question is about. The order is the tie-break order of intents.tsv. */
typedef enum assistant_intent {
    ASSISTANT_MATERIALS,
    ASSISTANT_TIME,
    ASSISTANT_FEE,
    ASSISTANT_PLACE,
    ASSISTANT_CONDITIONS,
    ASSISTANT_PROCESS,
    ASSISTANT_FIND,
    ASSISTANT_INTENT_COUNT
} assistant_intent;

/** "materials", "time", "fee", "place", "conditions", "process" or "find" (static). */
const char *assistant_intent_name(assistant_intent intent);

typedef struct assistant assistant;

/** Load the cue lexicon data_dir/assistant/intents.tsv. *out is owned by the caller
 *  (assistant_free). Returns 0, or -1 with the file, line and problem in e. */
int assistant_open(const char *data_dir, assistant **out, err *e);
/** Free the assistant. NULL is accepted. */
void assistant_free(assistant *a);

/** Count one catalog item (borrowed) towards the hall's phone number: the most
 *  common "phone" of the items handled at 市行政服务中心 (of all items when none
 *  is). Call for every item at start-up, before the assistant is shared. */
void assistant_note_item(assistant *a, json_t *item);
/** The phone number the assistant gives when it does not know: the one counted by
 *  assistant_note_item(), or "12345" (the 政务服务便民热线) when no item was counted.
 *  Valid while a lives. */
const char *assistant_hall_phone(const assistant *a);

#define ASSISTANT_MAX_READ_CUES 64 /* counted cue matches kept in a reading */

/** One counted cue found in a question: bytes [start, start+len) of normalized. */
typedef struct assistant_cue_match {
    unsigned start, len;
    int intent; /* assistant_intent, or -1 for filler */
    int weight;
} assistant_cue_match;

/** The reading of one question. */
typedef struct assistant_reading {
    assistant_intent intent;
    int scores[ASSISTANT_INTENT_COUNT];
    char normalized[ASSISTANT_QUESTION_MAX_BYTES * 2 + 8];
    char rest[ASSISTANT_QUESTION_MAX_BYTES * 2 + 8]; /* normalized minus stripped cues */
    assistant_cue_match cues[ASSISTANT_MAX_READ_CUES];
    int ncues;
} assistant_reading;

/** Read question (≤ ASSISTANT_QUESTION_MAX_BYTES of UTF-8; s gives the
 *  normalisation) into *out. Returns 0, or -1 with 400 when the question is empty,
 *  too long or not UTF-8. */
int assistant_read(const assistant *a, search_engine *s, const char *question,
                   assistant_reading *out, err *e);

/** Fetches an item by code for the answer: a new reference the assistant releases,
 *  or NULL when there is no such item. */
typedef json_t *(*assistant_item_fn)(void *ctx, const char *code);

/** Take back the weight of every cue of rd whose text occurs in name (the item the
 *  question turned out to be about: in "教师资格认定" the word 资格 names the item,
 *  it does not ask about conditions) and decide the intent again. */
void assistant_reading_discount(assistant_reading *rd, const char *name);

/** Answer question. context_code (may be NULL) is the item the resident is looking
 *  at; it is answered unless the question clearly names another item (the best
 *  hit scores well and the context item is not among the hits).
 *  Returns, owned by the caller:
 *    {"question", "item": code|null, "item_name": name|null, "intent", "answer",
 *     "alternatives": [{"code","name"}] (at most ASSISTANT_ALTERNATIVES, never
 *     the answered item), "link": "/items/CODE"|null, "phone": the hall's number
 *     when the assistant does not know, else null, "score": the best search
 *     hit's score, 0 when nothing was searched (for diagnosis)}
 *  or NULL with 400 (empty, over-long or non-UTF-8 question, malformed
 *  context_code), 404 (unknown context item) or 500 (search failure) in e.
 *  get_item is called on this thread only. */
json_t *assistant_answer(const assistant *a, search_engine *s, const char *question,
                         const char *context_code, assistant_item_fn get_item, void *ctx, err *e);

/* ---- the server's assistant ---- */

/** Load the lexicon from data_dir and count the catalog's phones (catalog_for_each).
 *  Called once by `isle serve` before it listens. Returns 0 or -1. */
int assistant_serve_start(db *d, const char *data_dir, err *e);
/** The server's assistant, or NULL before assistant_serve_start(). Lives until exit. */
const assistant *assistant_global(void);

/** `isle ask [--json] [--item CODE] QUESTION`: builds the search index from the
 *  catalog in the database (or data_dir/catalog/items.jsonl when the database has
 *  no items) and prints the answer (--json: the API's object). argv[0] is "ask".
 *  Returns the exit status (0, 1 failure, 2 usage). */
int assistant_cli(const cli_env *env, int argc, char **argv);

#endif
