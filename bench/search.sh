#!/usr/bin/env bash
# bench/search.sh: performance of isle's search engine on a province-scale catalog.
#
#  1. Generates a catalog of BENCH_SEARCH_ITEMS (100,000) items from the reference items
#     (bench/search/gen-catalog.mjs: the same 事项 as Zhejiang's cities, counties and towns
#     publish them; codes unique) and imports it with `isle import catalog` into a temp
#     database made with `isle init` + `isle demo` (in files below the import size limit).
#  2. In-process engine: `isle search --batch --stats --repeat R` on that database, pinned
#     to one CPU, run by bench/search/isle-probe.mjs: the engine's own figures (index
#     build, reading the catalog + build, per-query latency p50/p99 and queries/s on one
#     thread over the dev queries repeated R times, and the CPU time of the build and of
#     each query, which a shared machine inflates less than the wall clock) and, from
#     outside, the process's peak RSS (VmHWM). The same on the 370-item demo database for comparison.
#  3. The Node.js peer (bench/search/minisearch-peer.mjs, MiniSearch + jieba + pinyin-pro)
#     on the same items and queries, pinned to one CPU: build time, q/s, p99; the ratio.
#  4. HTTP: `isle serve` on the large database and nginx serving a static file of the
#     median search-response size, both with BENCH_THREADS workers; wrk -c 100 against
#     GET /api/v1/search?q=…&limit=10 cycling over the dev queries
#     (bench/search/wrk-search.lua) and against the static file, BENCH_RUNS alternating
#     rounds, medians.
# Targets (issue 3): index build < 5 s, RSS < 500 MiB, >= 20,000 queries/s on one core,
# p99 < 2 ms, HTTP >= 50% of nginx's requests/s. One PASS/FAIL line each.
# Only 127.0.0.1 is contacted; every loop is bounded; servers are stopped on exit.
#
# Environment: BENCH_SEARCH_ITEMS (100000), QUERIES (../shared/data/search/dev-queries.tsv),
# ITEMS (reference items: data/catalog/items.jsonl), BENCH_SECONDS (10) per wrk run,
# BENCH_WARMUP (2), BENCH_RUNS (3), BENCH_THREADS (2), BENCH_CONNECTIONS (100),
# BENCH_SEARCH_PASSES (200: dev-set passes, --repeat, for isle's latency and throughput), BENCH_PEER (1; 0 skips
# the Node.js peer), BENCH_PEER_SECONDS (20: time budget of the peer's query loop),
# BENCH_HTTP (1; 0 skips wrk/nginx), BENCH_SEARCH_DB (a large database kept from an
# earlier run, BENCH_KEEP=1, instead of generating and importing), BENCH_STRICT=1 exits 1 when a target is missed,
# BENCH_KEEP=1 keeps the temp dir, BENCH_WAIT_IDLE, BENCH_ISLE_LOG_LEVEL, ISLE_BIN.
set -euo pipefail
# QUERIES and ITEMS given by the caller are relative to the caller's directory; the
# defaults are relative to the repository.
CALLER_DIR=$PWD
abs_from_caller() { case "$1" in /*) echo "$1" ;; *) echo "$CALLER_DIR/$1" ;; esac; }
[ -n "${QUERIES:-}" ] && QUERIES=$(abs_from_caller "$QUERIES")
[ -n "${ITEMS:-}" ] && ITEMS=$(abs_from_caller "$ITEMS")
[ -n "${BENCH_SEARCH_DB:-}" ] && BENCH_SEARCH_DB=$(abs_from_caller "$BENCH_SEARCH_DB")
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
ROOT=$PWD

NITEMS=${BENCH_SEARCH_ITEMS:-100000}
QUERIES=${QUERIES:-../shared/data/search/dev-queries.tsv}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP:-2}
RUNS=${BENCH_RUNS:-3}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-100}
PASSES=${BENCH_SEARCH_PASSES:-200}
PEER=${BENCH_PEER:-1}
PEER_SECONDS=${BENCH_PEER_SECONDS:-20}
HTTP=${BENCH_HTTP:-1}
TARGET_BUILD_MS=5000
TARGET_RSS_MIB=500
TARGET_QPS=20000
TARGET_P99_US=2000
TARGET_HTTP_RATIO=0.50

need="node taskset curl"
[ "$HTTP" = 1 ] && need="$need wrk nginx ss"
for tool in $need; do
    command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool missing (scripts/deps.sh --bench)" >&2; exit 2; }
done
[ -x "$ISLE_BIN" ] || { echo "bench: $ISLE_BIN missing (make build)" >&2; exit 2; }
[ -r "$QUERIES" ] || { echo "bench: query set $QUERIES not readable (QUERIES=…)" >&2; exit 2; }
if [ -z "${ITEMS:-}" ]; then
    ITEMS=data/catalog/items.jsonl
    [ -r "$ITEMS" ] || ITEMS=../shared/data/catalog/items.jsonl
fi
[ -r "$ITEMS" ] || { echo "bench: reference items $ITEMS not readable (ITEMS=…)" >&2; exit 2; }
if [ "$PEER" = 1 ]; then
    for m in minisearch @node-rs/jieba pinyin-pro opencc-js; do
        [ -d "node_modules/$m" ] || { echo "bench: node_modules/$m missing (scripts/deps.sh)" >&2; exit 2; }
    done
fi
case "$ISLE_BIN" in /*) ;; *) ISLE_BIN=$ROOT/$ISLE_BIN ;; esac

T=$(mktemp -d /tmp/isle-bench-search.XXXXXX)
ISLE_PID=""
NOCACHE_PID=""
NGINX_PID=""
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    stop_pid "$ISLE_PID"
    stop_pid "$NOCACHE_PID"
    stop_pid "$NGINX_PID"
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ms() { date +%s%3N; }
# json FILE KEY: a top-level number or string of a one-line JSON file.
json() { node -e 'const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const v = j[process.argv[2]]; console.log(v === undefined || v === null ? "" : v)' "$1" "$2"; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "0" }'; }

raise_nofile 65536 >/dev/null
machine_note
echo "bench/search.sh: $NITEMS items generated from $ITEMS; queries $QUERIES"

# --- 1. catalog and databases -------------------------------------------------------
mkdb() { # mkdb DB: isle init + demo
    "$ISLE_BIN" --db "$1" init >"$1.init.log" 2>&1 ||
        { echo "bench: isle init failed:" >&2; cat "$1.init.log" >&2; exit 2; }
    ISLE_ARGON2_FAST=1 "$ISLE_BIN" --db "$1" demo >"$1.demo.log" 2>&1 ||
        { echo "bench: isle demo failed:" >&2; tail -20 "$1.demo.log" >&2; exit 2; }
}
mkdb "$T/demo.db"
if [ -n "${BENCH_SEARCH_DB:-}" ]; then
    # A large database from an earlier run (BENCH_KEEP=1): its items for the peer.
    LARGE_DB=$BENCH_SEARCH_DB
    mkdir -p "$T/catalog"
    "$ISLE_BIN" --db "$LARGE_DB" export catalog --out "$T/catalog/items-00.jsonl" ||
        { echo "bench: isle export catalog from $LARGE_DB failed" >&2; exit 2; }
    CHUNKS=$T/catalog/items-00.jsonl
    NITEMS=$(grep -c . "$CHUNKS")
    echo "catalog: $NITEMS items of $LARGE_DB (BENCH_SEARCH_DB)"
else
    t0=$(now_ms)
    node bench/search/gen-catalog.mjs --items "$ITEMS" --count "$NITEMS" --out "$T/catalog"
    t1=$(now_ms)
    CHUNKS=$(ls "$T"/catalog/items-*.jsonl)
    CATALOG_MIB=$(du -cm "$T"/catalog/items-*.jsonl | tail -1 | cut -f1)
    echo "catalog: $(echo "$CHUNKS" | wc -l) files, $CATALOG_MIB MiB, generated in $((t1 - t0)) ms"
    LARGE_DB=$T/large.db
    mkdb "$LARGE_DB"
    t0=$(now_ms)
    for f in $CHUNKS; do
        "$ISLE_BIN" --db "$LARGE_DB" import catalog "$f" >>"$T/import.log" 2>&1 ||
            { echo "bench: isle import catalog $f failed:" >&2; tail -5 "$T/import.log" >&2; exit 2; }
    done
    t1=$(now_ms)
    echo "import: $(echo "$CHUNKS" | wc -l) x isle import catalog in $((t1 - t0)) ms; database $(du -m "$LARGE_DB" | cut -f1) MiB"
fi

# --- 2. in-process engine -------------------------------------------------------------
# `isle search --batch --stats --repeat R`, pinned to CPU 0 (the driver elsewhere when
# there is more than one CPU), on the demo database and on the large one.
NCPU=$(nproc)
DRIVER_CPU=0
[ "$NCPU" -gt 1 ] && DRIVER_CPU=1
probe() { # probe DB OUT REPEAT
    taskset -c "$DRIVER_CPU" node bench/search/isle-probe.mjs --isle "$ISLE_BIN" --db "$1" \
        --queries "$QUERIES" --cpu 0 --repeat "$3" >"$2" 2>"$2.err" ||
        { echo "bench: isle search --batch --stats failed on $1:" >&2; cat "$2" "$2.err" >&2; return 1; }
}
ENGINE_OK=1
probe "$T/demo.db" "$T/probe-demo.json" 10 || ENGINE_OK=0
if [ "$ENGINE_OK" = 1 ]; then probe "$LARGE_DB" "$T/probe-large.json" "$PASSES" || ENGINE_OK=0; fi
if [ "$ENGINE_OK" = 1 ]; then
    P=$T/probe-large.json
    NINDEXED=$(json "$P" items)
    RES_MS=$(json "$P" resources_ms)
    BUILD_MS=$(json "$P" build_ms)
    READ_BUILD_MS=$(json "$P" read_build_ms)
    HWM_MIB=$(($(json "$P" hwm_kib) / 1024))
    ENGINE_RSS=$(json "$P" engine_rss_mib)
    HWM_DEMO_MIB=$(($(json "$T/probe-demo.json" hwm_kib) / 1024))
    P50=$(json "$P" p50_us)
    P99=$(json "$P" p99_us)
    PMAX=$(json "$P" max_us)
    QPS=$(json "$P" qps)
    echo
    echo "isle search --batch --stats --repeat $PASSES, pinned to one CPU ($(json "$P" queries) queries, $(json "$P" answers) answer lines):"
    echo "  index: $NINDEXED items; resources (dictionary, pinyin, synonyms) $RES_MS ms;" \
        "index build $BUILD_MS ms; reading the catalog from the database + build $READ_BUILD_MS ms"
    echo "  memory: RSS $ENGINE_RSS MiB after the build (engine), peak $HWM_MIB MiB (VmHWM);" \
        "demo catalog peak $HWM_DEMO_MIB MiB"
    echo "  queries: $(json "$P" runs) runs; mean $(json "$P" mean_us) µs, p50 $P50 µs, p99 $P99 µs, max $PMAX µs;" \
        "$QPS queries/s on one thread; process wall $(json "$P" wall_ms) ms, CPU $(json "$P" cpu_s) s"
    # CPU time: on a shared machine the wall clock also counts the time isle waited for a core.
    echo "  CPU time: reading + build $(json "$P" cpu_read_build_ms) ms over both threads" \
        "($(json "$P" cpu_reader_ms) ms on the reading thread); $(json "$P" cpu_query_us) µs per query," \
        "$(json "$P" cpu_qps) queries per CPU second"
    [ "$NINDEXED" = "$NITEMS" ] || echo "bench: WARNING: the engine indexed $NINDEXED items, not $NITEMS" >&2
fi

# --- 3. Node.js peer --------------------------------------------------------------------
PEER_OK=0
if [ "$PEER" = 1 ]; then
    echo
    echo "Node.js peer (MiniSearch + jieba + pinyin-pro) on the same $NITEMS items, pinned to one CPU (index build takes minutes)…"
    t0=$(now_ms)
    if taskset -c 0 node --max-old-space-size=16384 bench/search/minisearch-peer.mjs \
        --items "$(echo "$CHUNKS" | paste -sd,)" --bench 10000000 --seconds "$PEER_SECONDS" \
        --queries "$QUERIES" >"$T/peer.json" 2>"$T/peer.err"; then
        PEER_OK=1
        t1=$(now_ms)
        PEER_QPS=$(json "$T/peer.json" qps)
        PEER_P99=$(json "$T/peer.json" p99_us)
        echo "  build $(json "$T/peer.json" build_ms) ms, RSS $(json "$T/peer.json" rss_mib) MiB;" \
            "$(json "$T/peer.json" queries) queries in $(json "$T/peer.json" seconds) s: $PEER_QPS q/s," \
            "p50 $(json "$T/peer.json" p50_us) µs, p99 $PEER_P99 µs (whole run $(((t1 - t0) / 1000)) s)"
    else
        echo "bench: the Node.js peer failed:" >&2
        tail -5 "$T/peer.err" >&2
    fi
fi

# --- 4. HTTP ----------------------------------------------------------------------------
HTTP_OK=0
if [ "$HTTP" = 1 ] && [ "$ENGINE_OK" = 1 ]; then
    echo
    ISLE_PORT=$(free_port)
    ISLE_LOG_LEVEL=${BENCH_ISLE_LOG_LEVEL:-warn} \
        "$ISLE_BIN" --db "$LARGE_DB" serve --listen "127.0.0.1:$ISLE_PORT" --threads "$THREADS" \
        >"$T/isle.log" 2>&1 &
    ISLE_PID=$!
    ISLE_URL="http://127.0.0.1:$ISLE_PORT"
    # The same server with its answer cache off (ISLE_SEARCH_CACHE=0): every request
    # runs the query, which is what the engine costs over HTTP.
    NOCACHE_PORT=$(free_port)
    ISLE_SEARCH_CACHE=0 ISLE_LOG_LEVEL=${BENCH_ISLE_LOG_LEVEL:-warn} \
        "$ISLE_BIN" --db "$LARGE_DB" serve --listen "127.0.0.1:$NOCACHE_PORT" --threads "$THREADS" \
        >"$T/isle-nocache.log" 2>&1 &
    NOCACHE_PID=$!
    NOCACHE_URL="http://127.0.0.1:$NOCACHE_PORT"
    if wait_http "$ISLE_URL/healthz" 1200 && kill -0 "$ISLE_PID" 2>/dev/null &&
        wait_http "$NOCACHE_URL/healthz" 1200 && kill -0 "$NOCACHE_PID" 2>/dev/null; then
        # Request paths: the dev queries, URL-encoded.
        # shellcheck disable=SC2016 # JavaScript, not shell
        node --input-type=module -e '
            const { readQueries } = await import(process.argv[1]);
            for (const r of readQueries(process.argv[2]))
                console.log(`/api/v1/search?q=${encodeURIComponent(r.query)}&limit=10`);
        ' "$ROOT/bench/search/common.mjs" "$QUERIES" >"$T/paths.txt"
        # Every path once: status and body size; nginx serves a body of the median size.
        : >"$T/sizes.txt"
        BAD=0
        while IFS= read -r p; do
            out=$(curl -s -o "$T/body.json" -w '%{http_code} %{size_download}' --max-time 5 "$ISLE_URL$p" || echo "000 0")
            [ "${out%% *}" = 200 ] || BAD=$((BAD + 1))
            echo "${out#* }" >>"$T/sizes.txt"
        done <"$T/paths.txt"
        MEDIAN_BYTES=$(sort -n "$T/sizes.txt" | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
        MEDIAN_PATH=$(paste -d' ' "$T/sizes.txt" "$T/paths.txt" | sort -n | awk -v m="$MEDIAN_BYTES" '$1 == m {print $2; exit}')
        mkdir -p "$T/www" "$T/nginx-tmp"
        curl -sf -o "$T/www/search.json" "$ISLE_URL$MEDIAN_PATH"
        echo "HTTP: $(wc -l <"$T/paths.txt") search paths ($BAD not 200); median body $MEDIAN_BYTES bytes; nginx serves $(wc -c <"$T/www/search.json") bytes"
        nginx_start "$T" "$THREADS" search.json "$ISLE_PORT" || exit 2

        to_ms() {
            awk -v v="$1" 'BEGIN {
                n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
                if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
                printf "%.3f", n }'
        }
        run_wrk() { # run_wrk NAME URL [PATHS_FILE]: one line "rps p50 p99 errors" to $T/res-NAME
            local name=$1 url=$2 out rps p50 p99 errs non2xx
            local script=()
            [ $# -ge 3 ] && script=(-s "$ROOT/bench/search/wrk-search.lua" "$url" -- "$3")
            [ $# -ge 3 ] || script=("$url")
            if [ "$WARMUP" -gt 0 ]; then
                wrk -t "$THREADS" -c "$CONNS" -d "${WARMUP}s" "${script[@]}" >/dev/null 2>&1 || true
            fi
            out="$T/wrk-$name.txt"
            wrk -t "$THREADS" -c "$CONNS" -d "${SECONDS_PER_RUN}s" --latency "${script[@]}" >"$out" 2>&1 ||
                { echo "bench: wrk failed for $url:" >&2; cat "$out" >&2; return 1; }
            cp "$out" "$T/wrk-$name-$(date +%s%N).txt"
            rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
            p50=$(awk '/^ +50%/ {print $2}' "$out")
            p99=$(awk '/^ +99%/ {print $2}' "$out")
            errs=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$out")
            non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$out")
            echo "${rps:-0} $(to_ms "${p50:-0}") $(to_ms "${p99:-0}") $((${errs:-0} + ${non2xx:-0}))" >>"$T/res-$name"
        }
        median() { awk -v c="$2" '{print $c}' "$T/res-$1" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
        echo "wrk -t $THREADS -c $CONNS -d ${SECONDS_PER_RUN}s --latency (+${WARMUP}s warm-up), $RUNS rounds, servers with $THREADS threads/workers"
        for round in $(seq 1 "$RUNS"); do
            run_wrk isle "$ISLE_URL/" "$T/paths.txt"
            kill -0 "$ISLE_PID" 2>/dev/null || { echo "bench: isle died during the search run" >&2; tail -20 "$T/isle.log" >&2; exit 1; }
            run_wrk nginx "$NGINX_URL"
            run_wrk nocache "$NOCACHE_URL/" "$T/paths.txt"
            echo "  round $round: requests/s isle /api/v1/search $(tail -1 "$T/res-isle" | cut -d' ' -f1)" \
                "(cache off: $(tail -1 "$T/res-nocache" | cut -d' ' -f1)), nginx $(tail -1 "$T/res-nginx" | cut -d' ' -f1)"
        done
        HTTP_OK=1
        ISLE_HTTP_RSS_MIB=$(($(proc_status_kb "$ISLE_PID" VmHWM) / 1024))
        RPS_ISLE=$(median isle 1) P50_ISLE=$(median isle 2) P99_ISLE=$(median isle 3)
        RPS_NGINX=$(median nginx 1) P50_NGINX=$(median nginx 2) P99_NGINX=$(median nginx 3)
        ERR_ISLE=$(awk '{s += $4} END {print s + 0}' "$T/res-isle")
        HTTP_RATIO=$(ratio "$RPS_ISLE" "$RPS_NGINX")
        printf '%-22s %12s %9s %9s %7s\n' target requests/s p50_ms p99_ms errors
        printf '%-22s %12s %9s %9s %7s\n' "isle /api/v1/search" "$RPS_ISLE" "$P50_ISLE" "$P99_ISLE" "$ERR_ISLE"
        printf '%-22s %12s %9s %9s %7s\n' "isle, cache off" "$(median nocache 1)" "$(median nocache 2)" \
            "$(median nocache 3)" "$(awk '{s += $4} END {print s + 0}' "$T/res-nocache")"
        printf '%-22s %12s %9s %9s %7s\n' "nginx static" "$RPS_NGINX" "$P50_NGINX" "$P99_NGINX" \
            "$(awk '{s += $4} END {print s + 0}' "$T/res-nginx")"
        echo "ratio isle/nginx: $HTTP_RATIO (cache off: $(ratio "$(median nocache 1)" "$RPS_NGINX")); isle server peak RSS $ISLE_HTTP_RSS_MIB MiB"
    else
        echo "bench: isle serve did not come up on the large database:" >&2
        tail -20 "$T/isle.log" >&2
    fi
fi

# --- verdicts ------------------------------------------------------------------------------
echo
FAIL=0
verdict() { # verdict LABEL OK(0|1) DETAIL
    if [ "$2" = 1 ]; then echo "PASS  $1 ($3)"; else echo "FAIL  $1 ($3)"; FAIL=1; fi
}
if [ "$ENGINE_OK" = 1 ]; then
    ok=0; lt "$READ_BUILD_MS" "$TARGET_BUILD_MS" && ok=1
    verdict "index build of $NINDEXED items < 5 s" $ok \
        "$READ_BUILD_MS ms reading the catalog from the database and building; build alone $BUILD_MS ms; + $RES_MS ms resources"
    ok=0; lt "$HWM_MIB" "$TARGET_RSS_MIB" && ok=1
    verdict "RSS < 500 MiB" $ok "peak $HWM_MIB MiB"
    ok=0; ge "$QPS" "$TARGET_QPS" && ok=1
    verdict ">= 20,000 queries/s on one core" $ok "$QPS q/s"
    ok=0; lt "$P99" "$TARGET_P99_US" && ok=1
    verdict "p99 < 2 ms" $ok "$P99 µs"
else
    verdict "isle search --batch runs on the large catalog" 0 "see the errors above"
fi
if [ "$PEER_OK" = 1 ] && [ "$ENGINE_OK" = 1 ]; then
    echo "INFO  isle / Node.js peer throughput: $(ratio "$QPS" "$PEER_QPS")x ($QPS vs $PEER_QPS q/s on one core); p99 $P99 vs $PEER_P99 µs"
elif [ "$PEER" = 1 ]; then
    echo "INFO  isle / Node.js peer throughput: not measured"
fi
if [ "$HTTP" = 1 ]; then
    if [ "$HTTP_OK" = 1 ]; then
        ok=0; ge "$HTTP_RATIO" "$TARGET_HTTP_RATIO" && [ "$ERR_ISLE" = 0 ] && ok=1
        verdict "GET /api/v1/search >= 50% of nginx requests/s at $CONNS connections" $ok \
            "$HTTP_RATIO: $RPS_ISLE vs $RPS_NGINX; isle errors $ERR_ISLE"
    else
        verdict "GET /api/v1/search >= 50% of nginx requests/s" 0 "not measured"
    fi
fi
echo
if [ "$FAIL" = 0 ]; then echo "search performance verdict: PASS"; else echo "search performance verdict: FAIL"; fi
if [ "${BENCH_STRICT:-0}" = 1 ]; then exit "$FAIL"; fi
exit 0
