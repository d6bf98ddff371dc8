#!/usr/bin/env bash
# bench/dispatch.sh: 智能派单 at the city's scale (issue 5's targets).
#
#  1. A database made with `isle init` + `isle demo` (the demo roster: 1,470 agents spread
#     by population over the stations), then `isle dispatch bench --generate`: a backlog
#     of BENCH_DISPATCH_REQUESTS (10,000) synthetic waiting requests (villages by
#     population, items weighted from the catalog, 10 % urgent; a synthetic roster of
#     1,470 is added only when the database has no agents).
#  2. `isle dispatch bench` BENCH_RUNS times on it: dispatch_batch() over the whole
#     backlog (reading the requests, items and agents, candidates, the min-cost flow;
#     the greedy one-at-a-time assignment on the same candidates for comparison) and
#     BENCH_DISPATCH_SINGLES (1,000) dispatch_pick() calls on requests spread over the
#     backlog, each timed (every call reads the request, its item and the agents from
#     the database). Medians over the runs.
#  3. `isle dispatch simulate --day BENCH_DISPATCH_DAY --requests BENCH_DISPATCH_SIM
#     --seed BENCH_SEED --json`: the synthetic day, isle's dispatcher against the
#     nearest-agent-by-straight-line baseline.
# Targets: batch of 10,000 over 1,470 agents < 1 s; single dispatch p99 < 5 ms; mean
# time-to-serve >= 25 % lower than the baseline. One PASS/FAIL line each, then a verdict.
# The SMS outbox's rate (>= 5,000 messages/s) is bench/outbox.sh's.
# Nothing is contacted over the network; the temp dir is removed on exit.
#
# Environment: BENCH_DISPATCH_REQUESTS (10000), BENCH_DISPATCH_SINGLES (1000),
# BENCH_DISPATCH_SIM (3000), BENCH_DISPATCH_DAY (2026-12-01, a Tuesday), BENCH_SEED (1),
# BENCH_RUNS (3), BENCH_STRICT=1 (exit 1 when a target is missed), BENCH_KEEP=1,
# BENCH_WAIT_IDLE, ISLE_BIN.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
ROOT=$PWD

NREQ=${BENCH_DISPATCH_REQUESTS:-10000}
NSINGLE=${BENCH_DISPATCH_SINGLES:-1000}
NSIM=${BENCH_DISPATCH_SIM:-3000}
DAY=${BENCH_DISPATCH_DAY:-2026-12-01}
SEED=${BENCH_SEED:-1}
RUNS=${BENCH_RUNS:-3}
TARGET_BATCH_MS=1000
TARGET_P99_MS=5
TARGET_IMPROVEMENT=0.25

command -v node >/dev/null 2>&1 || { echo "bench: node missing (scripts/deps.sh)" >&2; exit 2; }
[ -x "$ISLE_BIN" ] || { echo "bench: $ISLE_BIN missing (make build)" >&2; exit 2; }
case "$ISLE_BIN" in /*) ;; *) ISLE_BIN=$ROOT/$ISLE_BIN ;; esac

T=$(mktemp -d /tmp/isle-bench-dispatch.XXXXXX)
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
# json FILE PATH: a value of a one-line JSON file ("a.b" for nested keys).
json() {
    node -e 'let v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        for (const k of process.argv[2].split(".")) v = v == null ? undefined : v[k];
        console.log(v === undefined || v === null ? "" : v)' "$1" "$2"
}
median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }

machine_note
echo "bench/dispatch.sh: $NREQ waiting requests, $NSINGLE single dispatches x $RUNS runs; simulate $NSIM requests on $DAY (seed $SEED)"

# --- 1. the database ---------------------------------------------------------------------
DB=$T/isle.db
"$ISLE_BIN" --db "$DB" init >"$T/init.log" 2>&1 ||
    { echo "bench: isle init failed:" >&2; cat "$T/init.log" >&2; exit 2; }
t0=$(now_ms)
ISLE_ARGON2_FAST=1 ISLE_DEMO_CASES=${ISLE_DEMO_CASES:-300} "$ISLE_BIN" --db "$DB" demo >"$T/demo.log" 2>&1 ||
    { echo "bench: isle demo failed:" >&2; tail -20 "$T/demo.log" >&2; exit 2; }
echo "database: isle init + demo in $(($(now_ms) - t0)) ms"
"$ISLE_BIN" --db "$DB" dispatch bench --generate --requests "$NREQ" --singles 0 --seed "$SEED" \
    --json >"$T/seed.json" 2>"$T/seed.err" ||
    { echo "bench: isle dispatch bench --generate failed:" >&2; cat "$T/seed.err" >&2; exit 2; }
echo "agents: $(json "$T/seed.json" agents) ($(json "$T/seed.json" agents_on_duty) on duty;" \
    "$(json "$T/seed.json" agents_added) synthetic added); waiting requests: $(json "$T/seed.json" requests)" \
    "($(json "$T/seed.json" requests_added) synthetic added)"

# --- 2. batch and single dispatch -----------------------------------------------------------
echo
echo "isle dispatch bench --requests $NREQ --singles $NSINGLE, $RUNS runs:"
: >"$T/runs.txt"
for run in $(seq 1 "$RUNS"); do
    "$ISLE_BIN" --db "$DB" dispatch bench --requests "$NREQ" --singles "$NSINGLE" --json \
        >"$T/run-$run.json" 2>"$T/run-$run.err" ||
        { echo "bench: isle dispatch bench failed:" >&2; cat "$T/run-$run.err" >&2; exit 1; }
    R=$T/run-$run.json
    echo "$(json "$R" batch_ms) $(json "$R" pick_p50_ms) $(json "$R" pick_p99_ms) $(json "$R" pick_mean_ms)" \
        "$(json "$R" pick_cpu_p50_ms) $(json "$R" pick_cpu_p99_ms)" >>"$T/runs.txt"
    echo "  run $run: batch $(json "$R" batch_ms) ms (candidates $(json "$R" batch_candidates_ms) ms," \
        "min-cost flow $(json "$R" batch_flow_ms) ms, $(json "$R" batch_arcs) arcs):" \
        "$(json "$R" batch_assigned) assigned ($(json "$R" batch_remote) remote), $(json "$R" batch_waiting) waiting," \
        "total score $(json "$R" batch_total_score) vs greedy $(json "$R" greedy_total_score);" \
        "dispatch_pick p50 $(json "$R" pick_p50_ms) ms, p99 $(json "$R" pick_p99_ms) ms, max $(json "$R" pick_max_ms) ms" \
        "(CPU time p50 $(json "$R" pick_cpu_p50_ms) ms, p99 $(json "$R" pick_cpu_p99_ms) ms)"
done
BATCH_MS=$(awk '{print $1}' "$T/runs.txt" | median)
P50=$(awk '{print $2}' "$T/runs.txt" | median)
P99=$(awk '{print $3}' "$T/runs.txt" | median)
MEAN=$(awk '{print $4}' "$T/runs.txt" | median)
CPU50=$(awk '{print $5}' "$T/runs.txt" | median)
CPU99=$(awk '{print $6}' "$T/runs.txt" | median)
R=$T/run-1.json
echo "medians: batch $BATCH_MS ms; dispatch_pick mean $MEAN ms, p50 $P50 ms, p99 $P99 ms;" \
    "CPU time per call p50 $CPU50 ms, p99 $CPU99 ms (the wall-clock tail beyond it is waiting for a CPU)"
GAIN=$(awk -v b="$(json "$R" batch_total_score)" -v g="$(json "$R" greedy_total_score)" \
    'BEGIN { if (g > 0) printf "%.1f", 100 * (1 - b / g); else print 0 }')

# --- 3. the synthetic day -------------------------------------------------------------------
echo
t0=$(now_ms)
"$ISLE_BIN" --db "$DB" dispatch simulate --day "$DAY" --requests "$NSIM" --seed "$SEED" --json \
    >"$T/sim.json" 2>"$T/sim.err" ||
    { echo "bench: isle dispatch simulate failed:" >&2; cat "$T/sim.err" >&2; exit 1; }
S=$T/sim.json
IMPROVEMENT=$(json "$S" improvement)
printf '%-24s %10s %10s %16s\n' "simulate ($NSIM req.)" isle baseline "baseline+online"
for k in mean_minutes p95_minutes utilisation in_person_mean_minutes remote; do
    printf '%-24s %10s %10s %16s\n' "$k" "$(json "$S" isle.$k)" "$(json "$S" baseline.$k)" \
        "$(json "$S" baseline_remote.$k)"
done
echo "agents: $(json "$S" agents) ($(json "$S" agents_source)); $(($(now_ms) - t0)) ms;" \
    "improvement over the baseline $IMPROVEMENT, over baseline+online $(json "$S" improvement_vs_baseline_remote)"

# --- verdicts ---------------------------------------------------------------------------------
echo
ok=0; lt "$BATCH_MS" "$TARGET_BATCH_MS" && ok=1
verdict "batch of $(json "$R" requests) requests over $(json "$R" agents) agents < 1 s" $ok \
    "median $BATCH_MS ms; total score $GAIN % below greedy on the same candidates"
ok=0; lt "$P99" "$TARGET_P99_MS" && ok=1
verdict "single dispatch p99 < 5 ms" $ok \
    "wall clock p50 $P50 ms, p99 $P99 ms over $NSINGLE calls (medians of $RUNS runs); CPU time p99 $CPU99 ms"
ok=0; ge "$IMPROVEMENT" "$TARGET_IMPROVEMENT" && ok=1
verdict "simulate: mean time-to-serve >= 25% below the nearest-agent baseline" $ok \
    "isle $(json "$S" isle.mean_minutes) min vs baseline $(json "$S" baseline.mean_minutes) min: $IMPROVEMENT"
echo "INFO  outbox (>= 5,000 messages/s): bench/outbox.sh"
echo
bench_finish "dispatch performance"
