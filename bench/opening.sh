#!/usr/bin/env bash
# bench/opening.sh: one remote opening (不见面开标) with 500 bidders decrypting in the
# same minute and 10,000 watchers.
#
# Starts isle on a fresh temp db with demo data; bench/opening-drive.mjs inserts a
# tender whose deadline has passed with N bidders holding sealed bids, starts the
# hall, signs every bidder in and opens the decryption window; bench/sse_client.c
# in hall mode (-P path, -B base seq, latency from the event's "at")
# opens W anonymous SSE watchers on GET /api/v1/trade/tenders/ID/hall/live; when all
# are connected every bidder POSTs its reveal (the plaintext, base64) at a uniformly
# random moment within SPREAD seconds, and the host closes the window. Each reveal is
# a transaction (commitment check, bid row, audit, hall event) whose 唱标 event
# (bid_opened) goes to every watcher. Measured: every 唱标 event delivered to every
# watcher, delivery latency (arrival − the event's "at", stamped inside the revealing
# transaction, so it includes the commit), the reveal POSTs' answer times, and the
# server's RSS (VmRSS while connected, VmHWM peak). Targets:
#   every 唱标 event delivered to all, p99 delivery < 250 ms, server RSS < 1 GiB.
# Only 127.0.0.0/8 is contacted; only this shell's open-file limit is raised.
#
# Environment: BENCH_HALL_WATCHERS (10000), BENCH_HALL_BIDDERS (500),
# BENCH_HALL_SPREAD_S (60), BENCH_THREADS (2) server threads,
# BENCH_SSE_CLIENT_THREADS (1), BENCH_STRICT=1 exits 1 when a target is missed,
# BENCH_KEEP=1 keeps the temp dir, ISLE_BIN (build/isle).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

WATCHERS=${BENCH_HALL_WATCHERS:-10000}
BIDDERS=${BENCH_HALL_BIDDERS:-500}
SPREAD=${BENCH_HALL_SPREAD_S:-60}
THREADS=${BENCH_THREADS:-2}
CLIENT_THREADS=${BENCH_SSE_CLIENT_THREADS:-1}
TARGET_P99_MS=250
TARGET_RSS_KB=$((1024 * 1024))

for tool in gcc pkg-config curl node sqlite3; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool missing (scripts/deps.sh)" >&2; exit 2; }
done
[ -x "$ISLE_BIN" ] || { echo "bench: $ISLE_BIN missing (make build)" >&2; exit 2; }

T=$(mktemp -d /tmp/isle-bench-hall.XXXXXX)
ISLE_PID=""
CLIENT_PID=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    stop_pid "$CLIENT_PID"
    stop_pid "$ISLE_PID"
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck disable=SC2046
gcc -std=c17 -O2 -Wall -Wextra -o "$T/sse_client" bench/sse_client.c \
    $(pkg-config --cflags --libs libevent) -lpthread

NOFILE=$(raise_nofile $((WATCHERS * 2 + 2048)))
if [ "$NOFILE" != unlimited ] && [ "$NOFILE" -lt $((WATCHERS + 1024)) ]; then
    echo "bench: warning: open-file limit $NOFILE is below $WATCHERS watchers + 1024" >&2
fi
machine_note
START=$(date +%s)

PORT=$(free_port)
export ISLE_DEMO_CASES=${ISLE_DEMO_CASES:-300}
isle_start "$T" "$PORT" "$THREADS"
URL="http://127.0.0.1:$PORT"
RSS_IDLE_KB=$(proc_status_kb "$ISLE_PID" VmRSS)

node bench/opening-drive.mjs prepare "$URL" "$T/isle.db" "$BIDDERS" "$T/hall.json" >"$T/prepare.out"
TENDER=$(awk -F= '$1 == "tender_id" {print $2}' "$T/prepare.out")
BASE=$(awk -F= '$1 == "base_seq" {print $2}' "$T/prepare.out")
echo "bench/opening.sh: $(nproc) cores, isle --threads $THREADS, tender $TENDER, $BIDDERS bidders" \
    "signed in, $WATCHERS watchers, reveals spread over ${SPREAD} s, open-file limit $NOFILE"

CPU0=$(cpu_ticks "$ISLE_PID")
M0=$(cpu_snapshot)
"$T/sse_client" -p "$PORT" -n "$WATCHERS" -e "$BIDDERS" -B "$BASE" \
    -P "/api/v1/trade/tenders/$TENDER/hall/live" -r "$ISLE_PID" -j "$CLIENT_THREADS" \
    -w $((SPREAD + 120)) >"$T/client.out" 2>"$T/client.err" &
CLIENT_PID=$!
for _ in $(seq 1 1200); do
    grep -q '^ready=1' "$T/client.out" 2>/dev/null && break
    kill -0 "$CLIENT_PID" 2>/dev/null || break
    sleep 0.1
done
grep -q '^ready=1' "$T/client.out" || { echo "bench: watchers never all connected" >&2; cat "$T/client.err" >&2; exit 1; }
RSS_CONNECTED_KB=$(proc_status_kb "$ISLE_PID" VmRSS)

node bench/opening-drive.mjs reveal "$URL" "$T/hall.json" "$SPREAD" >"$T/reveal.out" 2>"$T/reveal.err" || true
wait "$CLIENT_PID" || true
CLIENT_PID=""
M1=$(cpu_snapshot)
CPU1=$(cpu_ticks "$ISLE_PID")
sed 's/^/  client: /' "$T/client.err"
sed 's/^/  driver: /' "$T/reveal.err"

get() { awk -F= -v k="$1" '$1 == k {print $2}' "$T/client.out"; }
rv() { awk -F= -v k="$1" '$1 == k {print $2}' "$T/reveal.out"; }
[ -n "$(get connected)" ] || { echo "bench: the client printed no results" >&2; cat "$T/client.out" >&2; exit 1; }
ALIVE=1
kill -0 "$ISLE_PID" 2>/dev/null || ALIVE=0
HWM_KB=$(get server_hwm_kb)
[ "${HWM_KB:-0}" -gt 0 ] || HWM_KB=$(proc_status_kb "$ISLE_PID" VmHWM)
HZ=$(getconf CLK_TCK)
CLIENT_TICKS=$(awk -v s="$(get client_cpu_seconds)" -v hz="$HZ" 'BEGIN {printf "%d", s * hz}')
OTHER=$(other_cpu_pct "$M0" "$M1" $((CPU1 - CPU0 + CLIENT_TICKS)))
OPENED=$(sqlite3 "$T/isle.db" "SELECT COUNT(*) FROM bids WHERE tender_id = $TENDER AND status = 'opened'")
EVENTS=$(sqlite3 "$T/isle.db" "SELECT COUNT(*) FROM opening_events WHERE tender_id = $TENDER AND kind = 'bid_opened'")

echo
printf '%-40s %s\n' "watchers connected" "$(get connected) of $WATCHERS in $(get connect_seconds) s" \
    "connection failures" "$(get connect_failures) (dropped later: $(get dropped))" \
    "reveals accepted" "$(rv reveals_ok) of $BIDDERS in $(rv reveal_seconds) s (failed $(rv reveals_failed))" \
    "bids opened / bid_opened events logged" "$OPENED / $EVENTS" \
    "reveal POST answered, p50 / p99 / max" "$(rv reveal_answer_p50_ms) / $(rv reveal_answer_p99_ms) / $(rv reveal_answer_max_ms) ms" \
    "唱标 events per watcher (min/max)" "$(get events_per_subscriber_min) / $(get events_per_subscriber_max)" \
    "deliveries (expected)" "$(get deliveries) ($(get deliveries_expected))" \
    "missing / duplicate deliveries" "$(get missing) / $(get duplicates)" \
    "delivery latency p50 / p99 / max" "$(get latency_p50_ms) / $(get latency_p99_ms) / $(get latency_max_ms) ms" \
    "last watcher reached, p50 / max" "$(get fanout_complete_p50_ms) / $(get fanout_complete_max_ms) ms after the event" \
    "server RSS idle / connected / peak" "$((RSS_IDLE_KB / 1024)) / $((RSS_CONNECTED_KB / 1024)) / $((HWM_KB / 1024)) MiB" \
    "server CPU during the run" "$(awk -v d=$((CPU1 - CPU0)) -v hz="$HZ" 'BEGIN {printf "%.2f s", d / hz}')" \
    "close_decrypt answered" "$(rv close_status)" \
    "client wall time / CPU" "$(get elapsed_seconds) s / $(get client_cpu_seconds) s" \
    "CPU used by other processes meanwhile" "${OTHER}%" \
    "bench wall time" "$(($(date +%s) - START)) s"
warn_if_disturbed "$OTHER"
echo

ok=0
[ "$(get connected)" = "$WATCHERS" ] && [ "$(get connect_failures)" = 0 ] && [ "$(get dropped)" = 0 ] &&
    [ "$(rv reveals_ok)" = "$BIDDERS" ] && [ "$(get missing)" = 0 ] && ok=1
verdict "every 唱标 event delivered to all $WATCHERS watchers" $ok \
    "$(get deliveries) of $((WATCHERS * BIDDERS)) deliveries"
fanout_verdicts "$(get latency_p99_ms)" "$(get latency_samples)"
echo
bench_finish "opening"
