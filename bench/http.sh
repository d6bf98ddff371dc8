#!/usr/bin/env bash
# bench/http.sh: requests/s and p99 latency of isle against nginx on the same machine.
#
# Starts, in one temp dir, isle (fresh db with demo data, `serve --threads N`) and
# nginx (N workers, access_log off, one static file exactly the size of isle's
# /healthz body), then runs wrk (N threads, 100 connections, --latency) against
# isle GET /healthz, isle GET /api/v1/roles and nginx's static file. Prints a
# table, the isle/nginx ratios and the verdict against the targets:
#   isle >= 60% of nginx's requests/s, p99 < 5 ms at 100 connections.
# Both servers are stopped on exit. Only 127.0.0.1 is ever contacted.
#
# Environment: BENCH_SECONDS (10) per run, BENCH_WARMUP (2) seconds of warm-up per
# run, BENCH_RUNS (3) rounds over the three targets (medians are reported; use an
# odd number), BENCH_THREADS (2) server workers = wrk threads, BENCH_CONNECTIONS
# (100), BENCH_STRICT=1 exits 1 when a target is missed, BENCH_KEEP=1 keeps the
# temp dir, BENCH_WAIT_IDLE, BENCH_ISLE_LOG_LEVEL (see docs/BENCHMARKS.md),
# ISLE_BIN (build/isle).
# RPS_*, P50_*, P99_*, ERR_*, CPU_*, OTHER_* are set with printf -v.
# shellcheck disable=SC2154
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP:-2}
RUNS=${BENCH_RUNS:-3}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-100}
TARGET_RATIO=0.60
TARGET_P99_MS=5

for tool in wrk nginx curl ss; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool missing (scripts/deps.sh --bench)" >&2; exit 2; }
done
[ -x "$ISLE_BIN" ] || { echo "bench: $ISLE_BIN missing (make build)" >&2; exit 2; }

T=$(mktemp -d /tmp/isle-bench-http.XXXXXX)
ISLE_PID=""
NGINX_PID=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    stop_pid "$ISLE_PID"
    stop_pid "$NGINX_PID"
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

raise_nofile 65536 >/dev/null
machine_note

# --- isle ---------------------------------------------------------------------
ISLE_PORT=$(free_port)
isle_start "$T" "$ISLE_PORT" "$THREADS"
ISLE_URL="http://127.0.0.1:$ISLE_PORT"

# --- nginx: a static file with the bytes of isle's /healthz body --------------
mkdir -p "$T/www" "$T/nginx-tmp"
curl -sf -o "$T/www/healthz.json" "$ISLE_URL/healthz"
BODY_BYTES=$(wc -c <"$T/www/healthz.json")
ROLES_BYTES=$(curl -sf "$ISLE_URL/api/v1/roles" | wc -c)
nginx_start "$T" "$THREADS" healthz.json "$ISLE_PORT" || exit 2
NGINX_BYTES=$(curl -sf "$NGINX_URL" | wc -c)

# --- wrk ----------------------------------------------------------------------
# to_ms VALUE: wrk prints latencies as 812.00us, 1.23ms, 1.02s or 2.00m.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.3f", n }'
}

# nginx_pids: the master and its workers.
nginx_pids() {
    echo "$NGINX_PID"
    ps -o pid= --ppid "$NGINX_PID" 2>/dev/null || true
}

# run_wrk NAME URL PIDS...: warm up, run wrk once, and append one line to
# $T/res-NAME: "rps p50_ms p99_ms errors server_cpu_us_per_request other_cpu_pct".
run_wrk() {
    local name=$1 url=$2 out rps p50 p99 errs non2xx t0 t1 c0 c1 m0 m1 reqs cpu_us other
    shift 2
    if [ "$WARMUP" -gt 0 ]; then
        wrk -t "$THREADS" -c "$CONNS" -d "${WARMUP}s" "$url" >/dev/null 2>&1 || true
    fi
    out="$T/wrk-$name.txt"
    t0=$(cpu_ticks "$@")
    times >"$T/times0"
    m0=$(cpu_snapshot)
    wrk -t "$THREADS" -c "$CONNS" -d "${SECONDS_PER_RUN}s" --latency "$url" >"$out" 2>&1 ||
        { echo "bench: wrk failed for $url:" >&2; cat "$out" >&2; return 1; }
    m1=$(cpu_snapshot)
    times >"$T/times1"
    c0=$(times_ticks "$T/times0")
    c1=$(times_ticks "$T/times1")
    t1=$(cpu_ticks "$@")
    other=$(other_cpu_pct "$m0" "$m1" $((t1 - t0 + c1 - c0)))
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
    p50=$(awk '/^ +50%/ {print $2}' "$out")
    p99=$(awk '/^ +99%/ {print $2}' "$out")
    reqs=$(awk '/requests in/ {print $1}' "$out")
    errs=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$out")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$out")
    cpu_us=$(awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v r="${reqs:-0}" \
        'BEGIN { if (r > 0) printf "%.1f", d * 1e6 / hz / r; else print 0 }')
    echo "${rps:-0} $(to_ms "${p50:-0}") $(to_ms "${p99:-0}") $((${errs:-0} + ${non2xx:-0})) $cpu_us $other" \
        >>"$T/res-$name"
    cp "$out" "$T/wrk-$name-$(wc -l <"$T/res-$name").txt"
}

# median NAME COLUMN: the median of a column of $T/res-NAME (lower middle for even counts).
median() {
    awk -v c="$2" '{print $c}' "$T/res-$1" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}
# column_max NAME COLUMN / column_sum NAME COLUMN
column_max() { awk -v c="$2" 'NR == 1 || $c > m {m = $c} END {print m + 0}' "$T/res-$1"; }
column_sum() { awk -v c="$2" '{s += $c} END {print s + 0}' "$T/res-$1"; }

echo "bench/http.sh: wrk -t $THREADS -c $CONNS -d ${SECONDS_PER_RUN}s --latency" \
    "(+${WARMUP}s warm-up each), $RUNS rounds, servers with $THREADS threads/workers"
echo "  /healthz body $BODY_BYTES bytes, nginx file $NGINX_BYTES bytes, /api/v1/roles body $ROLES_BYTES bytes"
# Rounds alternate the targets so slow drifts of the machine hit all of them alike.
for round in $(seq 1 "$RUNS"); do
    run_wrk isle_healthz "$ISLE_URL/healthz" "$ISLE_PID"
    kill -0 "$ISLE_PID" 2>/dev/null ||
        { echo "bench: isle died during /healthz run" >&2; tail -20 "$T/isle.log" >&2; exit 1; }
    run_wrk isle_roles "$ISLE_URL/api/v1/roles" "$ISLE_PID"
    kill -0 "$ISLE_PID" 2>/dev/null ||
        { echo "bench: isle died during /api/v1/roles run" >&2; tail -20 "$T/isle.log" >&2; exit 1; }
    # shellcheck disable=SC2046
    run_wrk nginx "$NGINX_URL" $(nginx_pids)
    echo "  round $round: requests/s isle /healthz $(tail -1 "$T/res-isle_healthz" | cut -d' ' -f1)," \
        "/api/v1/roles $(tail -1 "$T/res-isle_roles" | cut -d' ' -f1), nginx $(tail -1 "$T/res-nginx" | cut -d' ' -f1)"
done
ISLE_RSS_KB=$(proc_status_kb "$ISLE_PID" VmHWM)

# --- report -------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "0" }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

for n in isle_healthz isle_roles nginx; do
    printf -v "RPS_$n" '%s' "$(median $n 1)"
    printf -v "P50_$n" '%s' "$(median $n 2)"
    printf -v "P99_$n" '%s' "$(median $n 3)"
    printf -v "ERR_$n" '%s' "$(column_sum $n 4)"
    printf -v "CPU_$n" '%s' "$(median $n 5)"
    printf -v "OTHER_$n" '%s' "$(column_max $n 6)"
done

echo
echo "medians of $RUNS rounds (errors: total; other_cpu_%: worst round)"
printf '%-14s %12s %9s %9s %7s %18s %11s\n' target requests/s p50_ms p99_ms errors \
    server_cpu_us/req other_cpu_%
for n in isle_healthz isle_roles nginx; do
    r="RPS_$n" a="P50_$n" b="P99_$n" e="ERR_$n" c="CPU_$n" o="OTHER_$n"
    printf '%-14s %12s %9s %9s %7s %18s %11s\n' "$n" "${!r}" "${!a}" "${!b}" "${!e}" "${!c}" "${!o}"
done
NOISY=0
for n in isle_healthz isle_roles nginx; do o="OTHER_$n"; [ "${!o}" -gt 10 ] && NOISY=1; done
if [ "$NOISY" = 1 ]; then
    echo "bench: WARNING: other processes used > 10% of the CPU during a run (other_cpu_%);" \
        "the figures are disturbed, run again on an idle machine" >&2
fi
echo
R_HEALTHZ=$(ratio "$RPS_isle_healthz" "$RPS_nginx")
R_ROLES=$(ratio "$RPS_isle_roles" "$RPS_nginx")
echo "ratio isle/nginx requests/s: /healthz $R_HEALTHZ, /api/v1/roles $R_ROLES"
echo "isle peak RSS during the runs: $((ISLE_RSS_KB / 1024)) MiB"
echo

ok=0; ge "$R_HEALTHZ" "$TARGET_RATIO" && ok=1
verdict "isle /healthz >= 60% of nginx requests/s" $ok "$R_HEALTHZ"
ok=0; ge "$R_ROLES" "$TARGET_RATIO" && ok=1
verdict "isle /api/v1/roles >= 60% of nginx requests/s" $ok "$R_ROLES"
ok=0; lt "$P99_isle_healthz" "$TARGET_P99_MS" && ok=1
verdict "isle /healthz p99 < ${TARGET_P99_MS} ms at $CONNS connections" $ok \
    "${P99_isle_healthz} ms; nginx ${P99_nginx} ms"
ok=0; lt "$P99_isle_roles" "$TARGET_P99_MS" && ok=1
verdict "isle /api/v1/roles p99 < ${TARGET_P99_MS} ms at $CONNS connections" $ok \
    "${P99_isle_roles} ms; nginx ${P99_nginx} ms"
ok=0; [ "$ERR_isle_healthz" = 0 ] && [ "$ERR_isle_roles" = 0 ] && ok=1
verdict "isle answered every request with 2xx and no socket errors" $ok \
    "errors: /healthz $ERR_isle_healthz, /api/v1/roles $ERR_isle_roles"
echo
bench_finish "http"
