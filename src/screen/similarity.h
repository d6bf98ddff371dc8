/* screen/similarity: document similarity between bids (防围串标 part 3).
 *
 * Bid documents (PDF, docx, plain text; extract.c) are normalised — full-width forms
 * folded to ASCII, ASCII lower-cased, whitespace and punctuation dropped — and cut
 * into shingles of SIM_K characters. Shingles of the tender's own documents are
 * removed first: what every bidder copies from the tender proves nothing.
 *
 *   signatures  MinHash with SIM_HASHES values per document. The family is one
 *               64-bit mixed shingle hash split into SIM_HASHES buckets (one-
 *               permutation hashing, each bucket's minimum being one hash function
 *               of the family) with optimal densification for empty buckets: one
 *               hash per shingle instead of SIM_HASHES, which is what makes 10,000
 *               documents of 50 pages fit in a minute. Deterministic (fixed seeds).
 *   candidates  LSH banding, SIM_BANDS bands of SIM_ROWS rows (candidate
 *               probability 0.87 at Jaccard 0.5, 0.23 at 0.3, 0.01 at 0.1); small
 *               corpora (≤ SIM_ALL_PAIRS_MAX documents, e.g. one tender's bids)
 *               compare every pair, so partial copying is found too.
 *   verification  exact: runs of equal shingles at the same diagonal merged into
 *               passages, character-checked, with offsets in both original texts.
 *   weighting   each shared shingle weighs by its rarity in the corpus (document
 *               frequency: boilerplate seen in many documents counts little;
 *               exact up to 500 documents, else counted on an even sample of
 *               500 outside the pairs, scaled),
 *               tender text weighs 0, and a short rare run inside an otherwise
 *               common or tender sentence — the same typo or odd edit in both
 *               documents — weighs SIM_TYPO_BONUS times more.
 *
 * A pair's "weight" is the sum of its passages' weights (one per shared shingle of
 * rare text: the amount of evidence); "similarity" that weight over the smaller
 * document's own (non-tender) text, in [0,1]; "jaccard" the verified Jaccard over
 * shingle positions; "jaccard_est" the MinHash estimate. A pair is reported when
 * its similarity reaches the threshold or its rare and typo passages (not the
 * common ones) weigh at least min_weight (sim_opts). */
#ifndef ISLE_SCREEN_SIMILARITY_H
#define ISLE_SCREEN_SIMILARITY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "cli.h"
#include "db/db.h"

#define SIM_K             6   /* characters per shingle */
#define SIM_HASHES        128 /* MinHash values per signature */
#define SIM_BANDS         32
#define SIM_ROWS          4     /* SIM_BANDS * SIM_ROWS == SIM_HASHES */
#define SIM_ALL_PAIRS_MAX 64    /* up to this many documents every pair is verified */
#define SIM_MAX_VERIFY    20000 /* LSH candidate pairs verified (best estimates first) */
#define SIM_MIN_PASSAGE   12    /* normalised characters of a reported passage */
#define SIM_PASSAGE_CHARS 300   /* characters of passage text returned */
#define SIM_TYPO_BONUS    3.0
#define SIM_MIN_WEIGHT    30.0 /* default evidence to report a pair (see sim_opts) */

/* Extraction limits (extract.c). */
#define SIM_FILE_MAX    (64u * 1024 * 1024) /* bytes of one input document */
#define SIM_TEXT_MAX    (16u * 1024 * 1024) /* bytes of text extracted from one document */
#define SIM_UNZIP_MAX   (64u * 1024 * 1024) /* decompressed bytes read from a docx entry */
#define SIM_ZIP_ENTRIES 10000
#define SIM_PDF_PAGES   500

/* ---- extraction (extract.c) ---- */

/** Document type from the content: "pdf", "docx", "text", or NULL (unsupported). */
const char *sim_detect(const unsigned char *data, size_t len);
/** Text (UTF-8, malloc'd, NUL-terminated) of a PDF, docx or plain-text document
 *  (UTF-8 or GB18030). name is only used in messages' absence (may be NULL). 400
 *  "unsupported_document" for other types, 422 "corrupt_document" for damaged files,
 *  413 "document_too_large" past the limits above (zip bombs included). 0 or -1. */
int sim_extract(const unsigned char *data, size_t len, char **text, size_t *tlen, err *e);
/** sim_extract of a file (at most SIM_FILE_MAX bytes). */
int sim_extract_file(const char *path, char **text, size_t *tlen, err *e);

/* ---- normalisation and MinHash (exported for tests) ---- */

/** The normalised form of s (malloc'd UTF-8). */
char *sim_normalize(const char *s, size_t len);
/** MinHash signature of text (no tender exclusion). Returns the shingle count. */
size_t sim_signature(const char *text, size_t len, uint32_t sig[SIM_HASHES]);
/** Estimated Jaccard similarity: the share of equal signature values. */
double sim_estimate(const uint32_t a[SIM_HASHES], const uint32_t b[SIM_HASHES]);
/** Exact Jaccard of the two texts' shingle sets (tests, bench). */
double sim_jaccard_exact(const char *a, size_t alen, const char *b, size_t blen);

/* ---- a corpus compared at once ---- */

typedef struct sim_corpus sim_corpus;

sim_corpus *sim_corpus_new(void);
void sim_corpus_free(sim_corpus *c);
/** Text of the tender's own documents (or any boilerplate to subtract). Must come
 *  before the first document. 0 or -1 (409 after documents). */
int sim_corpus_add_tender(sim_corpus *c, const char *text, size_t len, err *e);
/** A document held in memory (copied). group: documents of the same non-zero group
 *  (one bid's files) are never compared with each other. Returns its index or -1. */
int sim_corpus_add_text(sim_corpus *c, const char *label, int64_t group, const char *text,
                        size_t len, err *e);
/** A document file: PDF/docx are extracted now and kept; plain text is read again
 *  when needed (bounded memory for large corpora). Returns its index or -1. */
int sim_corpus_add_file(sim_corpus *c, const char *label, int64_t group, const char *path, err *e);
int sim_corpus_count(const sim_corpus *c);

typedef struct sim_opts {
    double threshold;  /* report pairs with similarity >= this (default 0.1 when 0) */
    double min_weight; /* ... or whose rare/typo passages weigh this much (default
                        * SIM_MIN_WEIGHT when 0, < 0: off): about a 35-character rare
                        * passage or two shared typos, however long the documents */
    int max_pairs;     /* default 20 */
    int max_passages;  /* per pair, default 5 */
    int all_pairs_max; /* default SIM_ALL_PAIRS_MAX; -1 forces LSH */
} sim_opts;

/** Compare the documents: *out = {"documents":N, "candidates":N, "verified":N,
 *  "pairs":[{"a","b" (indexes), "a_doc","b_doc" (labels), "a_group","b_group",
 *  "similarity","weight","jaccard","jaccard_est","passages":[{"a_text","b_text","a_offset",
 *  "b_offset" (characters into each original text),"length" (normalised characters
 *  matched),"weight","kind" ("rare"|"typo"|"common")}]}]} — pairs by weight (the
 *  evidence), passages by weight. 0 or -1. */
int sim_corpus_compare(sim_corpus *c, const sim_opts *o, json_t **out, err *e);

/* ---- the platform and the command line ---- */

/** Similar documents among the opened bids of tender_id, the tender's own text
 *  (title, qualification, description, notices) subtracted: *pairs = [{a_bid_id,
 *  b_bid_id, a_doc, b_doc, similarity, weight, jaccard, jaccard_est, passages:[{a_text,
 *  b_text, a_offset, b_offset, length, weight, kind}]}] (≤ 20 pairs, 5 passages,
 *  passages ≤ 300 characters). Bids whose plaintext is gone (metadata only) and
 *  documents that cannot be read are skipped: the result is then empty, not an
 *  error. 404 when the tender does not exist. 0 or -1. */
int similarity_tender(db *d, int64_t tender_id, json_t **pairs, err *e);

/** `isle similarity FILE… [--list FILE] [--tender-doc FILE…] [--json] [--threshold T]
 *  [--min-weight W] [--max-pairs N] [--lsh]`. */
int similarity_cli(const cli_env *env, int argc, char **argv);

#endif
