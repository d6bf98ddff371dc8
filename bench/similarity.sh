#!/usr/bin/env bash
# Document similarity bench (issue 7 part 3): `isle similarity` over a synthetic
# corpus made by bench/simgen.c.
#
#   1. text:  NDOCS (10,000) plain-text bid documents of PAGES (50) pages, about
#             800 characters a page (40,000 characters, 120 KB each; 1.2 GB in all),
#             compared with the tender's own document subtracted, on one core
#             (taskset -c 0). Reported: CPU and wall seconds, peak RSS, phase CPU
#             times, and the planted pairs found (near-copies; partial copies of
#             two pages, which banding for Jaccard 0.5 is not meant to find).
#   2. pdf/docx: a smaller set of real PDFs (libharu, CJK font embedded) and
#             docx of the same 50 pages, to time text extraction separately.
#
# Usage: bash bench/similarity.sh [NDOCS [PAGES [NEXTRACT]]]
#   env: SIMBENCH_DIR (default /tmp/isle-simbench; the corpus is kept and reused),
#        ISLE_BIN (default build/isle), SIMBENCH_TEXT_ONLY=1 (skip part 2),
#        SIMBENCH_CORE (default 0).
set -euo pipefail
cd "$(dirname "$0")/.."

NDOCS=${1:-10000}
PAGES=${2:-50}
NEXTRACT=${3:-100}
DIR=${SIMBENCH_DIR:-/tmp/isle-simbench}
BIN=${ISLE_BIN:-build/isle}
CORE=${SIMBENCH_CORE:-0}

[ -x "$BIN" ] || make -s build
mkdir -p build/bench "$DIR"
if [ ! -x build/bench/simgen ] || [ bench/simgen.c -nt build/bench/simgen ]; then
  cc -O2 -Wall -Wextra -o build/bench/simgen bench/simgen.c -lhpdf -lzip
fi

corpus() { # kind dir n
  local kind=$1 d=$2 n=$3 extra=${4:-}
  if [ ! -f "$d/.done-$n-$PAGES" ]; then
    rm -rf "$d"
    echo "generating $n $kind documents of $PAGES pages in $d ..."
    local t0=$(date +%s.%N)
    # shellcheck disable=SC2086
    build/bench/simgen "$kind" "$d" "$n" "$PAGES" $extra
    touch "$d/.done-$n-$PAGES"
    echo "  generated in $(echo "$(date +%s.%N) - $t0" | bc) s, $(du -sh "$d" | cut -f1)"
  fi
}

# run LABEL OUT.json ARGS... : one timed run on one core; prints the figures.
run() {
  local label=$1 out=$2
  shift 2
  local tf
  tf=$(mktemp)
  ISLE_SIM_TIMING=1 taskset -c "$CORE" /usr/bin/time -f '%e %U %S %M' -o "$tf" \
    "$BIN" similarity "$@" --json --max-pairs 100000 > "$out" 2> "$out.err" || true
  read -r wall user sys rss < "$tf"
  rm -f "$tf"
  echo "$label: wall ${wall} s, cpu $(echo "$user + $sys" | bc) s (user $user, sys $sys), peak RSS $((rss / 1024)) MiB"
  grep '^similarity:' "$out.err" | sed 's/^similarity: /    /' || true
  grep -v '^similarity:' "$out.err" | head -5 || true
}

# Planted pairs found and pairs reported that were not planted.
score() { # dir out.json
  node -e '
    const fs = require("fs");
    const [dir, out] = process.argv.slice(1);
    const res = JSON.parse(fs.readFileSync(out, "utf8"));
    const base = (p) => p.split("/").pop();
    const planted = new Map();
    for (const line of fs.readFileSync(dir + "/planted.txt", "utf8").trim().split("\n")) {
      const [a, b, kind] = line.split(" ");
      planted.set(a + " " + b, kind);
    }
    const found = { copy: 0, partial: 0 }, total = { copy: 0, partial: 0 };
    for (const k of planted.values()) total[k]++;
    let other = 0, typo = 0;
    for (const p of res.pairs) {
      const key = [base(p.a_doc), base(p.b_doc)].sort().join(" ");
      const k = planted.get(key);
      if (k) found[k]++; else other++;
      if (k === "copy" && p.passages.some((x) => x.kind === "typo")) typo++;
    }
    console.log(`    documents ${res.documents}, candidate pairs ${res.candidates} (${res.mode}), ` +
      `verified ${res.verified}, reported ${res.pairs.length}`);
    console.log(`    planted near-copies found ${found.copy}/${total.copy} ` +
      `(${(100 * found.copy / Math.max(1, total.copy)).toFixed(1)} %), with a shared-typo passage shown ${typo}; ` +
      `partial copies (2 pages) found ${found.partial}/${total.partial}; reported but not planted ${other}`);
  ' "$1" "$2"
}

echo "== document similarity: $NDOCS text documents of $PAGES pages (one core: cpu $CORE) =="
corpus text "$DIR/text-$NDOCS" "$NDOCS"
T="$DIR/text-$NDOCS"
run "compare" "$DIR/text.json" --list "$T/list.txt" --tender-doc "$T/tender.txt"
score "$T" "$DIR/text.json"

[ -n "${SIMBENCH_TEXT_ONLY:-}" ] && exit 0
FONT=${ISLE_PROOF_FONT:-}
for f in /usr/share/fonts/truetype/arphic/uming.ttc /usr/share/fonts/truetype/wqy/wqy-microhei.ttc \
         /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc; do
  [ -z "$FONT" ] && [ -f "$f" ] && FONT=$f
done
echo
echo "== extraction: $NEXTRACT PDFs and $NEXTRACT docx of $PAGES pages =="
if [ -f "$FONT" ]; then
  corpus pdf "$DIR/pdf-$NEXTRACT" "$NEXTRACT" "$FONT"
  run "pdf (extract + compare)" "$DIR/pdf.json" --list "$DIR/pdf-$NEXTRACT/list.txt" \
    --tender-doc "$DIR/pdf-$NEXTRACT/tender.txt"
  score "$DIR/pdf-$NEXTRACT" "$DIR/pdf.json"
else
  echo "no CJK font found (fonts-arphic-uming): PDF part skipped"
fi
corpus docx "$DIR/docx-$NEXTRACT" "$NEXTRACT"
run "docx (extract + compare)" "$DIR/docx.json" --list "$DIR/docx-$NEXTRACT/list.txt" \
  --tender-doc "$DIR/docx-$NEXTRACT/tender.txt"
score "$DIR/docx-$NEXTRACT" "$DIR/docx.json"
