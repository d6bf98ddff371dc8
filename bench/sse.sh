#!/usr/bin/env bash
# bench/sse.sh: Server-Sent Events fan-out: 10,000 subscribers, 100 events.
#
# Builds bench/sse_client.c, starts isle on a fresh temp db with demo data, logs
# in as the demo admin for a bearer token, then lets the client open N
# subscriptions to GET /api/v1/events/public.bench and publish E events
# (POST, ~20 ms apart) once all are connected. Prints the client's figures, the
# server's memory while everyone is connected (VmRSS, VmHWM from /proc) and the
# verdict against the targets:
#   every event delivered to every subscriber, p99 delivery < 250 ms, server RSS < 1 GiB.
# The server is stopped on exit. Only 127.0.0.0/8 is ever contacted; no system
# setting is changed (only this shell's open-file limit is raised).
#
# Environment: BENCH_SSE_SUBSCRIBERS (10000), BENCH_SSE_EVENTS (100),
# BENCH_SSE_INTERVAL_MS (20), BENCH_THREADS (2) server threads,
# BENCH_SSE_CLIENT_THREADS (1), BENCH_SSE_SOURCES (auto: extra source addresses
# 127.0.0.2.. only when the local port range is too small), BENCH_STRICT=1 exits
# 1 when a target is missed, BENCH_KEEP=1 keeps the temp dir, ISLE_BIN (build/isle).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

SUBS=${BENCH_SSE_SUBSCRIBERS:-10000}
EVENTS=${BENCH_SSE_EVENTS:-100}
INTERVAL_MS=${BENCH_SSE_INTERVAL_MS:-20}
THREADS=${BENCH_THREADS:-2}
CLIENT_THREADS=${BENCH_SSE_CLIENT_THREADS:-1}
SOURCES=${BENCH_SSE_SOURCES:-}
TARGET_P99_MS=250
TARGET_RSS_KB=$((1024 * 1024))

for tool in gcc pkg-config curl ss; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool missing (scripts/deps.sh)" >&2; exit 2; }
done
[ -x "$ISLE_BIN" ] || { echo "bench: $ISLE_BIN missing (make build)" >&2; exit 2; }

T=$(mktemp -d /tmp/isle-bench-sse.XXXXXX)
ISLE_PID=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    stop_pid "$ISLE_PID"
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck disable=SC2046
gcc -std=c17 -O2 -Wall -Wextra -o "$T/sse_client" bench/sse_client.c \
    $(pkg-config --cflags --libs libevent) -lpthread

# Client and server each need one descriptor per subscriber, plus some.
NOFILE=$(raise_nofile $((SUBS * 2 + 1024)))
if [ "$NOFILE" != unlimited ] && [ "$NOFILE" -lt $((SUBS + 256)) ]; then
    echo "bench: warning: open-file limit $NOFILE is below $SUBS subscribers + 256;" \
        "expect connection failures" >&2
fi
read -r PORT_LO PORT_HI </proc/sys/net/ipv4/ip_local_port_range
machine_note

PORT=$(free_port)
isle_start "$T" "$PORT" "$THREADS"
URL="http://127.0.0.1:$PORT"

TOKEN=$(curl -sf --max-time 10 -H 'Content-Type: application/json' \
    -d '{"login":"admin","password":"Zhoushan@2026","token":true}' "$URL/api/v1/session" |
    sed -n 's/.*"token":"\([^"]*\)".*/\1/p' || true)
[ -n "$TOKEN" ] || { echo "bench: login as admin for a bearer token failed" >&2; exit 1; }

RSS_IDLE_KB=$(proc_status_kb "$ISLE_PID" VmRSS)
CPU0=$(cpu_ticks "$ISLE_PID")
echo "bench/sse.sh: $(nproc) cores, isle --threads $THREADS, $SUBS subscribers, $EVENTS events" \
    "${INTERVAL_MS} ms apart, client threads $CLIENT_THREADS, open-file limit $NOFILE," \
    "local ports $PORT_LO-$PORT_HI"
CLIENT_ARGS=(-p "$PORT" -n "$SUBS" -e "$EVENTS" -i "$INTERVAL_MS" -T "$TOKEN" -r "$ISLE_PID"
    -j "$CLIENT_THREADS")
[ -n "$SOURCES" ] && CLIENT_ARGS+=(-s "$SOURCES")
M0=$(cpu_snapshot)
"$T/sse_client" "${CLIENT_ARGS[@]}" >"$T/client.out" 2>"$T/client.err" || true
M1=$(cpu_snapshot)
CPU1=$(cpu_ticks "$ISLE_PID")
sed 's/^/  client: /' "$T/client.err"

get() { awk -F= -v k="$1" '$1 == k {print $2}' "$T/client.out"; }
[ -n "$(get connected)" ] || { echo "bench: the client printed no results" >&2; cat "$T/client.out" >&2; exit 1; }
ALIVE=1
kill -0 "$ISLE_PID" 2>/dev/null || ALIVE=0
HWM_KB=$(get server_hwm_kb)
[ "${HWM_KB:-0}" -gt 0 ] || HWM_KB=$(proc_status_kb "$ISLE_PID" VmHWM)
RSS_CONNECTED_KB=$(get server_rss_connected_kb)
HZ=$(getconf CLK_TCK)
CLIENT_TICKS=$(awk -v s="$(get client_cpu_seconds)" -v hz="$HZ" 'BEGIN {printf "%d", s * hz}')
OTHER=$(other_cpu_pct "$M0" "$M1" $((CPU1 - CPU0 + CLIENT_TICKS)))

echo
printf '%-38s %s\n' "subscribers connected" "$(get connected) of $SUBS in $(get connect_seconds) s" \
    "connection failures" "$(get connect_failures) (dropped later: $(get dropped))" \
    "events published (accepted)" "$(get published_ok) of $EVENTS (failures $(get publish_failures))" \
    "server-reported subscribers per event" "$(get server_subscribers_min)..$(get server_subscribers_max)" \
    "events per subscriber (min/max)" "$(get events_per_subscriber_min) / $(get events_per_subscriber_max)" \
    "deliveries (expected)" "$(get deliveries) ($(get deliveries_expected))" \
    "missing / duplicate deliveries" "$(get missing) / $(get duplicates)" \
    "delivery latency p50 / p99 / max" "$(get latency_p50_ms) / $(get latency_p99_ms) / $(get latency_max_ms) ms" \
    "last subscriber reached, p50 / max" "$(get fanout_complete_p50_ms) / $(get fanout_complete_max_ms) ms after publish" \
    "server RSS idle / connected / peak" "$((RSS_IDLE_KB / 1024)) / $((RSS_CONNECTED_KB / 1024)) / $((HWM_KB / 1024)) MiB" \
    "server CPU: connecting / publishing" "$(get server_cpu_connect_seconds) s / $(get server_cpu_publish_seconds) s (whole run $(awk -v d=$((CPU1 - CPU0)) -v hz="$HZ" 'BEGIN {printf "%.2f s", d / hz}'))" \
    "publish POST answered, p50 / max" "$(get publish_answer_p50_ms) / $(get publish_answer_max_ms) ms" \
    "client wall time / CPU" "$(get elapsed_seconds) s / $(get client_cpu_seconds) s" \
    "CPU used by other processes meanwhile" "${OTHER}%"
warn_if_disturbed "$OTHER"
echo

ok=0
[ "$(get connected)" = "$SUBS" ] && [ "$(get connect_failures)" = 0 ] && [ "$(get dropped)" = 0 ] &&
    [ "$(get published_ok)" = "$EVENTS" ] && [ "$(get missing)" = 0 ] && ok=1
verdict "every event delivered to all $SUBS subscribers" $ok \
    "$(get deliveries) of $((SUBS * EVENTS)) deliveries"
fanout_verdicts "$(get latency_p99_ms)" "$(get latency_samples)"
echo
bench_finish "sse"
