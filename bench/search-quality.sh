#!/usr/bin/env bash
# bench/search-quality.sh: search quality of isle against two peers on a query set.
#
# In one run, over the same catalog items:
#   isle        `isle search --batch --limit 10` on a temp database (`isle init`, `isle demo`)
#   fts5        SQLite FTS5, trigram tokenizer, bm25 with column weights (bench/search/fts5-peer.mjs)
#   minisearch  MiniSearch + @node-rs/jieba + pinyin-pro + opencc-js (bench/search/minisearch-peer.mjs)
# and prints Recall@1, Recall@5 and MRR overall and per query kind for each, then the
# assistant's intent accuracy (`isle ask --json`, when isle has `ask`) and the verdicts
# against the targets of issue 3: isle Recall@5 >= 0.95, MRR >= 0.85, MRR >= the better
# peer's + 0.15, intent accuracy >= 0.9. Metric semantics: bench/search/score.mjs.
#
# The items are what isle itself holds after `isle demo` (`isle export catalog`), so
# every system searches exactly the same catalog; ITEMS=FILE overrides.
#
# Environment: QUERIES (../shared/data/search/dev-queries.tsv, relative to the repo;
# any file of the same TSV format, e.g. an unseen set), ITEMS, ISLE_BIN (build/isle),
# BENCH_STRICT=1 exits 1 when a target is missed, BENCH_KEEP=1 keeps the temp dir
# (with every system's raw output), SQLITE3 (sqlite3).
set -euo pipefail
# QUERIES and ITEMS given by the caller are relative to the caller's directory; the
# defaults are relative to the repository.
CALLER_DIR=$PWD
abs_from_caller() { case "$1" in /*) echo "$1" ;; *) echo "$CALLER_DIR/$1" ;; esac; }
[ -n "${QUERIES:-}" ] && QUERIES=$(abs_from_caller "$QUERIES")
[ -n "${ITEMS:-}" ] && ITEMS=$(abs_from_caller "$ITEMS")
cd "$(dirname "$0")/.."
ROOT=$PWD

ISLE_BIN=${ISLE_BIN:-build/isle}
QUERIES=${QUERIES:-../shared/data/search/dev-queries.tsv}
LIMIT=10

for tool in node "${SQLITE3:-sqlite3}"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "search-quality: $tool missing (scripts/deps.sh)" >&2; exit 2; }
done
for m in minisearch @node-rs/jieba pinyin-pro opencc-js; do
    [ -d "node_modules/$m" ] || { echo "search-quality: node_modules/$m missing (scripts/deps.sh)" >&2; exit 2; }
done
[ -r "$QUERIES" ] || { echo "search-quality: query set $QUERIES not readable (QUERIES=…)" >&2; exit 2; }
[ -x "$ISLE_BIN" ] || { echo "search-quality: $ISLE_BIN missing (make build)" >&2; exit 2; }
QUERIES=$(cd "$(dirname "$QUERIES")" && pwd)/$(basename "$QUERIES")
case "$ISLE_BIN" in /*) ;; *) ISLE_BIN=$ROOT/$ISLE_BIN ;; esac

T=$(mktemp -d /tmp/isle-search-quality.XXXXXX)
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "search-quality: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# now_ms: wall clock in milliseconds.
now_ms() { date +%s%3N; }

# The queries, one a line, in the query set's order (header and blank lines skipped,
# surrounding white space trimmed: the same rows bench/search/score.mjs reads).
awk -F'\t' 'NR == 1 { next } { q = $1; sub(/\r$/, "", q); gsub(/^[ \t]+|[ \t]+$/, "", q) }
    $0 ~ /^[ \t\r]*$/ { next } { print q }' "$QUERIES" >"$T/queries.txt"
NQ=$(wc -l <"$T/queries.txt")
echo "bench/search-quality.sh: $NQ queries from $QUERIES"

# --- isle -----------------------------------------------------------------------
"$ISLE_BIN" --db "$T/isle.db" init >"$T/isle-init.log" 2>&1 ||
    { echo "search-quality: isle init failed:" >&2; cat "$T/isle-init.log" >&2; exit 2; }
ISLE_ARGON2_FAST=1 "$ISLE_BIN" --db "$T/isle.db" demo >"$T/isle-demo.log" 2>&1 ||
    { echo "search-quality: isle demo failed:" >&2; tail -20 "$T/isle-demo.log" >&2; exit 2; }

if [ -n "${ITEMS:-}" ]; then
    cp "$ITEMS" "$T/items.jsonl"
    ITEMS_FROM="$ITEMS"
elif "$ISLE_BIN" --db "$T/isle.db" export catalog >"$T/items.jsonl" 2>"$T/isle-export.log" &&
    [ -s "$T/items.jsonl" ]; then
    ITEMS_FROM="isle export catalog (the demo database)"
elif [ -r data/catalog/items.jsonl ]; then
    cp data/catalog/items.jsonl "$T/items.jsonl"
    ITEMS_FROM="data/catalog/items.jsonl (isle export catalog unavailable)"
else
    cp ../shared/data/catalog/items.jsonl "$T/items.jsonl"
    ITEMS_FROM="../shared/data/catalog/items.jsonl (isle export catalog unavailable)"
fi
echo "items: $(grep -c . "$T/items.jsonl") from $ITEMS_FROM"

t0=$(now_ms)
ISLE_OK=1
if ! "$ISLE_BIN" --db "$T/isle.db" search --batch --limit "$LIMIT" <"$T/queries.txt" \
    >"$T/out-isle.txt" 2>"$T/isle-search.log"; then
    ISLE_OK=0
    echo "search-quality: WARNING: isle search --batch failed; isle scores 0:" >&2
    tail -5 "$T/isle-search.log" >&2
    : >"$T/out-isle.txt"
fi
t1=$(now_ms)
ISLE_MS=$((t1 - t0))

# --- SQLite FTS5 (trigram) --------------------------------------------------------
t0=$(now_ms)
node bench/search/fts5-peer.mjs build --items "$T/items.jsonl" --db "$T/fts5.db"
t1=$(now_ms)
node bench/search/fts5-peer.mjs search --db "$T/fts5.db" --limit "$LIMIT" <"$T/queries.txt" >"$T/out-fts5.txt"
t2=$(now_ms)
FTS_BUILD_MS=$((t1 - t0))
FTS_MS=$((t2 - t1))

# --- MiniSearch + jieba + pinyin-pro ----------------------------------------------
t0=$(now_ms)
node bench/search/minisearch-peer.mjs --items "$T/items.jsonl" --limit "$LIMIT" <"$T/queries.txt" >"$T/out-minisearch.txt"
t1=$(now_ms)
MS_MS=$((t1 - t0))

echo "wall time (whole process, $NQ queries): isle $ISLE_MS ms (start-up, index build, queries);" \
    "fts5 build $FTS_BUILD_MS ms + search $FTS_MS ms; minisearch $MS_MS ms (index build + queries)"
[ "$ISLE_OK" = 1 ] || echo "isle: search not available"

# --- assistant ----------------------------------------------------------------------
INTENT_ARGS=()
if "$ISLE_BIN" --db "$T/isle.db" ask --json "社保卡怎么办" >"$T/ask-probe.json" 2>"$T/ask-probe.log"; then
    node bench/search/ask-intents.mjs --isle "$ISLE_BIN" --db "$T/isle.db" --queries "$QUERIES" >"$T/intents.txt"
    INTENT_ARGS=(--intents "$T/intents.txt")
fi

echo
rc=0
node bench/search/score.mjs --queries "$QUERIES" --target isle \
    --system "isle=$T/out-isle.txt" --system "fts5=$T/out-fts5.txt" --system "minisearch=$T/out-minisearch.txt" \
    "${INTENT_ARGS[@]}" --json "$T/scores.json" || rc=$?
[ "$rc" = 0 ] || [ "$rc" = 3 ] || { echo "search-quality: scoring failed ($rc)" >&2; exit 2; }
if [ "${BENCH_STRICT:-0}" = 1 ] && [ "$rc" != 0 ]; then exit 1; fi
exit 0
