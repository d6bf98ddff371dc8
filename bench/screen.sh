#!/usr/bin/env bash
# bench/screen.sh: `isle screen` on a synthetic bid file — time and peak memory.
#
# Generates BIDS bids (default 1,000,000) over TENDERS tenders (default 200,000)
# with a deterministic awk generator (fixed seed): tender sizes 2..8 (mean 5), prices
# around a per-tender estimate with ~8% noise, bidder ids from a pool of 20,000 firms,
# rows shuffled so that tenders are NOT contiguous (the reader must group them).
# Then runs, on one core (taskset when available):
#   isle screen --bids FILE --out OUT             (price screens + subgroups + model)
#   isle screen --bids FILE --out OUT --groups G  (the same plus bidder networks)
# and prints wall time, CPU time and peak RSS of each (GNU time), with the load
# average before the run. Targets (issue 7): < 10 s on one core and < 1 GiB for
# 1,000,000 bids / 200,000 tenders with subgroup screens (judged on CPU time, since
# the process is pinned to one core and the machine may be shared).
#
# Environment: ISLE_BIN (build/isle), BIDS, TENDERS, BENCH_KEEP=1 keeps the temp dir,
# BENCH_STRICT=1 exits 1 when a target is missed.
set -euo pipefail
cd "$(dirname "$0")/.."
ISLE_BIN=${ISLE_BIN:-build/isle}
BIDS=${BIDS:-1000000}
TENDERS=${TENDERS:-200000}
[ -x "$ISLE_BIN" ] || { echo "bench/screen.sh: $ISLE_BIN not built (make build)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench/screen.sh: needs GNU time (/usr/bin/time)" >&2; exit 1; }
TMP=$(mktemp -d /tmp/isle-screen-bench.XXXXXX)
[ "${BENCH_KEEP:-0}" = 1 ] || trap 'rm -rf "$TMP"' EXIT

# Sizes: TENDERS sizes drawn so that they sum to exactly BIDS (2 + extra spread).
awk -v bids="$BIDS" -v tenders="$TENDERS" 'BEGIN {
    srand(20261128);
    base = int(bids / tenders); extra = bids - base * tenders;
    print "tender_id,bid_value,bidder_id,budget";
    for (t = 1; t <= tenders; t++) {
        n = base + (t <= extra ? 1 : 0);
        # vary sizes pairwise so the total is unchanged: odd tenders +d, even -d
        d = (t % 2 ? 1 : -1) * int(rand() * 3);
        if (t == tenders && t % 2) d = 0;
        if (t % 2) { pend = d } else { d = -pend }
        n += d; if (n < 1) n = 1;
        est = exp(log(50000) + rand() * 5);
        for (k = 0; k < n; k++) {
            v = est * (0.9 + 0.16 * rand());
            printf "%d,%.2f,F%05d,%.2f\n", t, v, int(rand() * 20000), est * 1.1;
        }
    }
}' > "$TMP/gen.csv"
# shuffle the data rows deterministically (keep the header first)
{ head -1 "$TMP/gen.csv"; tail -n +2 "$TMP/gen.csv" | awk 'BEGIN{srand(7)} {print rand() "\t" $0}' \
    | sort -t $'\t' -k1,1 | cut -f2-; } > "$TMP/bids.csv"
rows=$(($(wc -l < "$TMP/bids.csv") - 1))
ntend=$(tail -n +2 "$TMP/bids.csv" | cut -d, -f1 | sort -u | wc -l)
echo "bench/screen.sh: $rows bids over $ntend tenders, $(du -h "$TMP/bids.csv" | cut -f1) CSV"

echo "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"
PIN=()
command -v taskset >/dev/null && PIN=(taskset -c 0)
fail=0
run() {
    local name=$1; shift
    # --skip-bad: the generator may repeat a firm inside a tender (a duplicate row)
    /usr/bin/time -f '%e %U %S %M' -o "$TMP/time.txt" "${PIN[@]}" "$ISLE_BIN" screen --bids "$TMP/bids.csv" \
        --out "$TMP/out.csv" --skip-bad "$@" 2> "$TMP/stderr.txt" || { cat "$TMP/stderr.txt" >&2; exit 1; }
    read -r wall user sys rss < "$TMP/time.txt"
    local out_rows flagged skipped
    out_rows=$(($(wc -l < "$TMP/out.csv") - 1))
    flagged=$(awk -F, 'NR>1 && $3==1' "$TMP/out.csv" | wc -l)
    skipped=$(grep -o '[0-9]* bad row(s) skipped' "$TMP/stderr.txt" | cut -d' ' -f1 || true)
    printf '%-28s wall %6.2f s  cpu %6.2f s  peak RSS %6.1f MiB  rows out %d  flagged %d  skipped %s\n' \
        "$name" "$wall" "$(echo "$user + $sys" | bc)" "$(echo "scale=1; $rss / 1024" | bc)" \
        "$out_rows" "$flagged" "${skipped:-0}"
    # The verdict uses CPU time (one core): the machine is shared, so wall time
    # includes waiting for other processes; both are printed.
    if [ "$(echo "$user + $sys >= 10" | bc)" = 1 ] || [ "$rss" -ge 1048576 ]; then
        echo "  MISSED: target < 10 s CPU on one core and < 1 GiB" >&2
        fail=1
    fi
}
run "screen"
run "screen --groups" --groups "$TMP/groups.csv"
echo "groups found: $(($(wc -l < "$TMP/groups.csv") - 1))"
[ "${BENCH_STRICT:-0}" = 1 ] && exit $fail
exit 0
