#!/usr/bin/env bash
# bench/scale.sh: scale-out (issue 9's Performance part). Case transitions per second
# and search requests per second, in one run on this machine, on
#   sqlite   one `isle serve` on SQLite
#   pg       one `isle serve` on PostgreSQL
#   pg2      two `isle serve` nodes on the same PostgreSQL database (two ports)
# with the ratios PostgreSQL/SQLite and 2 nodes/1 node, and where the time goes.
#
# PostgreSQL is a throw-away cluster (scripts/pg-cluster.sh: initdb in the temp dir,
# loopback port, fsync off) stopped and removed on exit; each configuration gets a
# fresh database made by `isle init` + `isle demo` (SQLite: a fresh file), so the three
# start from the same data.
#
# Per configuration, BENCH_RUNS rounds (medians are reported) of each workload, in this
# order (the nodes restarted between them):
#   search       wrk with bench/search/wrk-search.lua cycling over the dev queries
#                (GET /api/v1/search?q=…&limit=10) for BENCH_SECONDS, after BENCH_WARMUP s
#                of warm-up; the nodes keep their per-node answer cache (as shipped)
#   nocache      the same on nodes started with ISLE_SEARCH_CACHE=0 (every request runs
#                the query: the engine's cost)
#   transitions  BENCH_OPEN new 'submitted' cases (sqlite3 / psql), then wrk with
#                bench/cases/transitions.lua for BENCH_SECONDS: accept (window staff) →
#                review → approve (approver) → deliver (staff), each one
#                cases_transition() transaction (case row, timeline row, audit row,
#                notification + SMS outbox row). Counted from the answers and checked in
#                the database afterwards (as many timeline rows as audit rows, at least
#                the transitions answered 200, at most one more per connection: the
#                requests in flight when wrk stops). Last, so that the SMS backlog it
#                leaves does not keep the senders busy during the search runs.
# On two nodes the load is split: one wrk per node, each with half the threads,
# connections and cases; requests/s are summed and p50/p99 are the worse of the two
# wrk processes. The staff and approver tokens come from a login on the first node.
#
# Threads: BENCH_THREADS (2) is the total number of isle worker threads of a
# configuration, split over its nodes (1 node: --threads 2; 2 nodes: --threads 1
# each), and BENCH_WRK_THREADS (2) the total wrk threads; so every configuration has
# the same worker threads, PostgreSQL worker connections, load threads and client
# connections, and differs only in how they are arranged.
#
# During each measured run it reads, for the run's duration: CPU (utime + stime from
# /proc) of the isle processes, of the PostgreSQL cluster (postmaster + children) and
# of wrk (bash `times`), the machine's busy time, isle's time in database calls
# (isle_db_time_seconds_total from /metrics) and, on PostgreSQL, what isle's
# connections are doing every 100 ms (bench/scale/pg-sample.sql: running, waiting for
# the write lock, idle inside a transaction). From those it prints per cell the CPU
# cost per request and a "where the bottleneck sits" summary.
#
# Only 127.0.0.1 is contacted; every wait loop is bounded; every server started here
# (isle nodes, PostgreSQL) is stopped on exit (trap), and the temp dir removed.
#
# Environment: BENCH_SECONDS (10) per measured run, BENCH_WARMUP (2: search warm-up),
# BENCH_RUNS (3; odd: medians), BENCH_OPEN (20000 cases per transitions round),
# BENCH_THREADS (2), BENCH_WRK_THREADS (2), BENCH_CONNECTIONS (16: transitions),
# BENCH_SEARCH_CONNECTIONS (100), BENCH_SCALE_CONFIGS ("sqlite pg pg2": a subset to run),
# BENCH_NOTIFY_WORKER (1: the SMS sender runs on every node, as shipped; 0: off),
# BENCH_PG_SYNC_COMMIT (on: see below), QUERIES (../shared/data/search/dev-queries.tsv;
# without it the demo catalog's item names are the queries), BENCH_KEEP=1 (keep the
# temp dir with logs and wrk output), BENCH_WAIT_IDLE, BENCH_ISLE_LOG_LEVEL, ISLE_BIN.
#
# Durability: isle runs SQLite in WAL with synchronous=NORMAL (a commit writes the WAL,
# no fsync). The test cluster runs with fsync=off; the benchmark's databases get
# synchronous_commit=on (BENCH_PG_SYNC_COMMIT), so a PostgreSQL commit also writes its
# WAL before answering and neither side fsyncs: comparable, and not a production
# setting for either.
set -euo pipefail
CALLER_DIR=$PWD
[ -n "${QUERIES:-}" ] && case "$QUERIES" in /*) ;; *) QUERIES=$CALLER_DIR/$QUERIES ;; esac
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
# shellcheck source=bench/scale/lib.sh
. bench/scale/lib.sh
ROOT=$PWD

SECONDS_PER_RUN=${BENCH_SECONDS:-10}
WARMUP=${BENCH_WARMUP:-2}
RUNS=${BENCH_RUNS:-3}
NOPEN=${BENCH_OPEN:-20000}
THREADS=${BENCH_THREADS:-2}
WRK_THREADS=${BENCH_WRK_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-16}
SCONNS=${BENCH_SEARCH_CONNECTIONS:-100}
CONFIGS=${BENCH_SCALE_CONFIGS:-sqlite pg pg2}
NOTIFY=${BENCH_NOTIFY_WORKER:-1}
PG_SYNC=${BENCH_PG_SYNC_COMMIT:-on}
QUERIES=${QUERIES:-../shared/data/search/dev-queries.tsv}
PASSWORD='Zhoushan@2026'
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)

for v in SECONDS_PER_RUN:BENCH_SECONDS WARMUP:BENCH_WARMUP RUNS:BENCH_RUNS NOPEN:BENCH_OPEN \
    THREADS:BENCH_THREADS WRK_THREADS:BENCH_WRK_THREADS CONNS:BENCH_CONNECTIONS SCONNS:BENCH_SEARCH_CONNECTIONS; do
    val=${v%%:*}
    case "${!val}" in '' | *[!0-9]*) echo "bench: ${v#*:} must be a whole number (got '${!val}')" >&2; exit 2 ;; esac
done
[ "$RUNS" -ge 1 ] && [ "$THREADS" -ge 1 ] && [ "$WRK_THREADS" -ge 1 ] && [ "$SECONDS_PER_RUN" -ge 1 ] ||
    { echo "bench: BENCH_RUNS, BENCH_THREADS, BENCH_WRK_THREADS and BENCH_SECONDS must be >= 1" >&2; exit 2; }
[ "$NOPEN" -ge $((2 * WRK_THREADS)) ] || { echo "bench: BENCH_OPEN must be at least 2 × BENCH_WRK_THREADS" >&2; exit 2; }
case "$PG_SYNC" in on | off | local | remote_write | remote_apply) ;;
*) echo "bench: BENCH_PG_SYNC_COMMIT must be a synchronous_commit value (on, off, local …)" >&2; exit 2 ;;
esac
WANT_PG=0
for c in $CONFIGS; do
    case "$c" in
    sqlite) ;;
    pg | pg2) WANT_PG=1 ;;
    *) echo "bench: unknown configuration '$c' in BENCH_SCALE_CONFIGS (sqlite, pg, pg2)" >&2; exit 2 ;;
    esac
done

need="wrk curl node ss sqlite3 awk"
[ "$WANT_PG" = 1 ] && need="$need psql"
for tool in $need; do
    command -v "$tool" >/dev/null 2>&1 || {
        case "$tool" in
        wrk) hint="scripts/deps.sh --bench" ;;
        psql) hint="scripts/deps.sh: the postgresql packages" ;;
        *) hint="scripts/deps.sh" ;;
        esac
        echo "bench: $tool missing ($hint)" >&2
        exit 2
    }
done
if [ "$WANT_PG" = 1 ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    echo "bench: no PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb; scripts/deps.sh" \
        "installs the postgresql package), or run BENCH_SCALE_CONFIGS=sqlite" >&2
    exit 2
fi
[ -x "$ISLE_BIN" ] || { echo "bench: $ISLE_BIN missing (make build)" >&2; exit 2; }
case "$ISLE_BIN" in /*) ;; *) ISLE_BIN=$ROOT/$ISLE_BIN ;; esac
for f in bench/cases/transitions.lua bench/search/wrk-search.lua bench/scale/pg-sample.sql; do
    [ -r "$f" ] || { echo "bench: $f missing" >&2; exit 2; }
done

T=$(mktemp -d /tmp/isle-bench-scale.XXXXXX)
# The cluster runs as the postgres user when we are root: it must reach $T/pg.
chmod 755 "$T"
PGDIR=$T/pg
PG_URL=""
NODE_PIDS=()
NODE_URLS=()
BG_PIDS=()
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    local p
    for p in "${BG_PIDS[@]}"; do stop_pid "$p"; done
    for p in "${NODE_PIDS[@]}"; do stop_pid "$p"; done
    if [ -n "$PG_URL" ]; then bash scripts/pg-cluster.sh stop "$PGDIR" || true; fi
    if [ "${BENCH_KEEP:-0}" = 1 ]; then echo "bench: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_ns() { date +%s%N; }
# bg_forget PID…: these background processes have been waited for; the cleanup leaves them.
bg_forget() {
    local keep=() p q drop
    for p in "${BG_PIDS[@]}"; do
        drop=0
        for q in "$@"; do [ "$p" = "$q" ] && drop=1; done
        [ "$drop" = 1 ] || keep+=("$p")
    done
    BG_PIDS=("${keep[@]}")
}
# calc EXPR [N]: evaluate an awk expression, printed with N decimals (default 2).
# (The expression is parenthesised: a bare ">" after printf would be a redirection.)
calc() { awk "BEGIN { printf \"%.${2:-2}f\", ($1) }"; }

raise_nofile 65536 >/dev/null
machine_note
echo "bench/scale.sh: configurations '$CONFIGS'; $RUNS round(s) of ${SECONDS_PER_RUN} s per workload;" \
    "isle worker threads $THREADS per configuration, wrk threads $WRK_THREADS;" \
    "transitions at $CONNS connections on $NOPEN new cases per round, search at $SCONNS connections"

# --- PostgreSQL ----------------------------------------------------------------------------
if [ "$WANT_PG" = 1 ]; then
    PG_URL=$(bash scripts/pg-cluster.sh start "$PGDIR" 2>"$T/pg-cluster.err") || {
        echo "bench: could not start PostgreSQL (scripts/pg-cluster.sh):" >&2
        cat "$T/pg-cluster.err" >&2
        PG_URL=""
        exit 2
    }
    PG_VERSION=$(psql -XAtq -d "${PG_URL}postgres" -c "SHOW server_version")
    echo "PostgreSQL $PG_VERSION: throw-away cluster at $PG_URL (fsync=off, full_page_writes=off;" \
        "synchronous_commit=$PG_SYNC on the benchmark databases)"
fi

# mkdb CFG: a fresh database for a configuration, made by isle init + demo; prints its
# URL or path.
mkdb() {
    local cfg=$1 db
    if [ "$cfg" = sqlite ]; then
        mkdir -p "$T/$cfg"
        db=$T/$cfg/isle.db
    else
        db=${PG_URL}isle_scale_$cfg
        psql -XAtq -v ON_ERROR_STOP=1 -d "${PG_URL}postgres" -c "CREATE DATABASE isle_scale_$cfg" >/dev/null
        psql -XAtq -v ON_ERROR_STOP=1 -d "${PG_URL}postgres" \
            -c "ALTER DATABASE isle_scale_$cfg SET synchronous_commit = $PG_SYNC" >/dev/null
    fi
    "$ISLE_BIN" --db "$db" init >"$T/$cfg-init.log" 2>&1 ||
        { echo "bench: isle init failed on $db:" >&2; tail -20 "$T/$cfg-init.log" >&2; return 1; }
    ISLE_ARGON2_FAST=1 "$ISLE_BIN" --db "$db" demo >"$T/$cfg-demo.log" 2>&1 ||
        { echo "bench: isle demo failed on $db:" >&2; tail -20 "$T/$cfg-demo.log" >&2; return 1; }
    echo "$db"
}

# start_nodes CFG DB NODES THREADS_PER_NODE [VAR=VALUE…]: start NODES `isle serve` on
# DB, each on its own port; sets NODE_PIDS and NODE_URLS.
start_nodes() {
    local cfg=$1 db=$2 nodes=$3 thr=$4 i port url
    shift 4
    NODE_PIDS=()
    NODE_URLS=()
    mkdir -p "$T/$cfg-files"
    for i in $(seq 1 "$nodes"); do
        port=$(free_port)
        for _ in 1 2 3 4 5 6 7 8 9 10; do # not the port of the node just started
            printf '%s\n' "${NODE_URLS[@]}" | grep -q ":$port\$" || break
            port=$(free_port)
        done
        # SMS log and files in the temp dir (on PostgreSQL both would default to the
        # current directory); one files directory shared by the nodes, as in production.
        env ISLE_ARGON2_FAST=1 ISLE_LOG_LEVEL="${BENCH_ISLE_LOG_LEVEL:-warn}" \
            ISLE_NOTIFY_WORKER="$NOTIFY" ISLE_SMS_LOG="$T/$cfg-sms-$i.log" "$@" \
            "$ISLE_BIN" --db "$db" serve --listen "127.0.0.1:$port" --threads "$thr" \
            --files-dir "$T/$cfg-files" >>"$T/$cfg-node$i.log" 2>&1 &
        NODE_PIDS+=("$!")
        url=http://127.0.0.1:$port
        NODE_URLS+=("$url")
    done
    for i in "${!NODE_PIDS[@]}"; do
        wait_http "${NODE_URLS[$i]}/healthz" 300 && kill -0 "${NODE_PIDS[$i]}" 2>/dev/null || {
            echo "bench: isle node $((i + 1)) of $cfg did not come up; its log:" >&2
            tail -20 "$T/$cfg-node$((i + 1)).log" >&2
            return 1
        }
    done
}

stop_nodes() {
    local p
    for p in "${NODE_PIDS[@]}"; do stop_pid "$p"; done
    NODE_PIDS=()
    NODE_URLS=()
}

isle_ticks() { cpu_ticks "${NODE_PIDS[@]}"; }
db_seconds() {
    local u s=0
    for u in "${NODE_URLS[@]}"; do s=$(calc "$s + $(metric_sum "$u" isle_db_time_seconds_total)" 6); done
    echo "$s"
}

# Request paths for the search: the dev queries, URL-encoded (as bench/search.sh), or,
# without the query set, the names of the demo catalog's items.
make_paths() { # make_paths DB
    if [ -r "$QUERIES" ]; then
        # shellcheck disable=SC2016 # JavaScript, not shell
        node --input-type=module -e '
            const { readQueries } = await import(process.argv[1]);
            for (const r of readQueries(process.argv[2]))
                console.log(`/api/v1/search?q=${encodeURIComponent(r.query)}&limit=10`);
        ' "$ROOT/bench/search/common.mjs" "$QUERIES" >"$T/paths.txt"
        echo "search: $(wc -l <"$T/paths.txt") dev queries from $QUERIES"
    else
        # shellcheck disable=SC2016 # JavaScript, not shell
        dbq "$1" "SELECT name FROM catalog_items ORDER BY code" |
            node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const q of s.split("\n"))if(q)console.log(`/api/v1/search?q=${encodeURIComponent(q)}&limit=10`)})' \
                >"$T/paths.txt"
        echo "search: $QUERIES not readable; querying the $(wc -l <"$T/paths.txt") demo item names instead"
    fi
    [ -s "$T/paths.txt" ] || { echo "bench: no search queries" >&2; return 1; }
}

# measure CFG KIND ROUND: one measured run of KIND (transitions | search | nocache)
# against the running nodes; appends one line to $T/res-CFG-KIND:
#   rate p50 p99 errors isle_cores pg_cores wrk_cores other_cores busy_cores
#   isle_us pg_us db_share pg_running pg_lockwait pg_intx requests held held_pg held_isle
# (rate: transitions/s or requests/s; *_us: CPU µs per request; pg_* and held*: see
# bench/scale/pg-sample.sql (0 on SQLite); db_share: isle's time
# in database calls per second of the run, summed over its threads and nodes = the mean
# number of isle threads inside a database call).
measure() {
    local cfg=$1 kind=$2 round=$3 n=${#NODE_URLS[@]} tag="$1-$2-$3" i
    local wt=$((WRK_THREADS / n)) conns script_args=() first=0 per=0
    [ "$wt" -ge 1 ] || wt=1
    if [ "$kind" = transitions ]; then conns=$((CONNS / n)); else conns=$((SCONNS / n)); fi
    [ "$conns" -ge "$wt" ] || conns=$wt

    if [ "$kind" = transitions ]; then
        seed_cases "$DB" "$ITEM" "$NOPEN"
        first=$SEED_FIRST
        per=$((NOPEN / n))
        AU0=$(dbq "$DB" "SELECT COALESCE(MAX(id), 0) FROM audit_log")
    elif [ "$WARMUP" -gt 0 ]; then
        local wpids=()
        for i in "${!NODE_URLS[@]}"; do
            wrk -t "$wt" -c "$conns" -d "${WARMUP}s" -s "$ROOT/bench/search/wrk-search.lua" \
                "${NODE_URLS[$i]}/" -- "$T/paths.txt" >/dev/null 2>&1 &
            wpids+=("$!")
            BG_PIDS+=("$!")
        done
        for i in "${wpids[@]}"; do wait "$i" || true; done
        bg_forget "${wpids[@]}"
    fi

    local sampler="" isle0 pg0 snap0 db0 t0 isle1 pg1 snap1 db1 t1 wpids=()
    if [ "$cfg" != sqlite ]; then
        psql -XAtq -d "$DB" -v n=$((SECONDS_PER_RUN * 9)) -f "$ROOT/bench/scale/pg-sample.sql" \
            >"$T/pgsample-$tag.txt" 2>&1 &
        sampler=$!
        BG_PIDS+=("$sampler")
    fi
    isle0=$(isle_ticks)
    pg0=0
    [ "$cfg" = sqlite ] || pg0=$(pg_ticks "$PGDIR/data")
    db0=$(db_seconds)
    snap0=$(cpu_snapshot)
    t0=$(now_ns)
    for i in "${!NODE_URLS[@]}"; do
        if [ "$kind" = transitions ]; then
            script_args=(-s "$ROOT/bench/cases/transitions.lua" "${NODE_URLS[$i]}")
        else
            script_args=(-s "$ROOT/bench/search/wrk-search.lua" "${NODE_URLS[$i]}/" -- "$T/paths.txt")
        fi
        # In a subshell whose `times` is wrk's CPU (TERM from the cleanup stops wrk too).
        (
            rc=0
            BENCH_FIRST=$((first + i * per)) BENCH_COUNT=$per BENCH_WRK_THREADS=$wt \
                BENCH_STAFF_TOKEN=$STAFF_TOKEN BENCH_APPROVER_TOKEN=$APPROVER_TOKEN \
                wrk -t "$wt" -c "$conns" -d "${SECONDS_PER_RUN}s" --latency "${script_args[@]}" \
                >"$T/wrk-$tag-$i.txt" 2>&1 &
            w=$!
            # shellcheck disable=SC2064 # w is known now
            trap "kill $w 2>/dev/null; exit 143" TERM
            wait "$w" || rc=$?
            times >"$T/wrk-$tag-$i.times"
            exit $rc
        ) &
        wpids+=("$!")
        BG_PIDS+=("$!")
    done
    local failed_wrk=0
    for i in "${wpids[@]}"; do wait "$i" || failed_wrk=1; done
    bg_forget "${wpids[@]}"
    t1=$(now_ns)
    snap1=$(cpu_snapshot)
    isle1=$(isle_ticks)
    pg1=0
    [ "$cfg" = sqlite ] || pg1=$(pg_ticks "$PGDIR/data")
    db1=$(db_seconds)
    if [ "$failed_wrk" = 1 ]; then
        echo "bench: wrk failed ($tag):" >&2
        cat "$T"/wrk-"$tag"-*.txt >&2
        return 1
    fi
    local pgs="0 0 0 0 0 0 0 0"
    if [ -n "$sampler" ]; then
        wait "$sampler" || true
        bg_forget "$sampler"
        pgs=$(tail -1 "$T/pgsample-$tag.txt" | awk -F'|' 'NF == 8 {$1 = $1; print; next} {print "0 0 0 0 0 0 0 0"}')
        [ "$pgs" != "0 0 0 0 0 0 0 0" ] || echo "bench: the PostgreSQL sampler gave nothing: $(tail -2 "$T/pgsample-$tag.txt")" >&2
    fi

    # wrk figures: rate summed, p50/p99 the worse of the processes, errors summed.
    local rate=0 p50=0 p99=0 errs=0 reqs=0 ok=0 bad=0 idle=0 wrk_ticks=0 f dur x per_node=""
    for i in "${!NODE_URLS[@]}"; do
        f=$T/wrk-$tag-$i.txt
        dur=$(wrk_seconds "$f")
        x=$(to_ms "$(awk '/^ +50%/ {print $2}' "$f")")
        p50=$(awk -v a="$p50" -v b="$x" 'BEGIN { print ((b > a) ? b : a) }')
        x=$(to_ms "$(awk '/^ +99%/ {print $2}' "$f")")
        p99=$(awk -v a="$p99" -v b="$x" 'BEGIN { print ((b > a) ? b : a) }')
        x=$(awk '/Socket errors:/ {gsub(/,/, ""); print $4 + $6 + $8 + $10}' "$f")
        errs=$((errs + ${x:-0}))
        x=$(awk '/requests in/ {print $1}' "$f")
        reqs=$((reqs + ${x:-0}))
        wrk_ticks=$((wrk_ticks + $(times_ticks "$T/wrk-$tag-$i.times")))
        if [ "$kind" = transitions ]; then
            x=$(awk '/^transitions_ok/ {print $2}' "$f")
            ok=$((ok + ${x:-0}))
            per_node="$per_node${per_node:+, }node $((i + 1)) ${x:-0}"
            rate=$(calc "$rate + ${x:-0} / $dur" 1)
            x=$(awk '/^transitions_failed/ {print $2}' "$f")
            bad=$((bad + ${x:-0}))
            x=$(awk '/^idle_requests/ {print $2}' "$f")
            idle=$((idle + ${x:-0}))
        else
            x=$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$f")
            bad=$((bad + ${x:-0}))
            rate=$(calc "$rate + $(awk '/^Requests\/sec:/ {print $2}' "$f")" 1)
        fi
    done
    errs=$((errs + bad))

    local el isle_c pg_c wrk_c busy_c other_c isle_us pg_us share
    el=$(calc "($t1 - $t0) / 1e9" 3)
    isle_c=$(calc "($isle1 - $isle0) / $HZ / $el")
    pg_c=$(calc "($pg1 - $pg0) / $HZ / $el")
    wrk_c=$(calc "$wrk_ticks / $HZ / $el")
    busy_c=$(awk -v a="$snap0" -v b="$snap1" -v n="$NCPU" 'BEGIN {
        split(a, x, " "); split(b, y, " "); t = y[2] - x[2]
        printf "%.2f", ((t > 0) ? n * (y[1] - x[1]) / t : 0) }')
    other_c=$(calc "$busy_c - $isle_c - $pg_c - $wrk_c")
    other_c=$(awk -v v="$other_c" 'BEGIN { printf "%.2f", (v < 0) ? 0 : v }')
    isle_us=$(calc "$reqs > 0 ? ($isle1 - $isle0) / $HZ * 1e6 / $reqs : 0" 0)
    pg_us=$(calc "$reqs > 0 ? ($pg1 - $pg0) / $HZ * 1e6 / $reqs : 0" 0)
    share=$(calc "($db1 - $db0) / $el")

    echo "$rate $p50 $p99 $errs $isle_c $pg_c $wrk_c $other_c $busy_c $isle_us $pg_us $share $(echo "$pgs" | cut -d' ' -f2-4) $reqs $(echo "$pgs" | cut -d' ' -f6-8)" \
        >>"$T/res-$cfg-$kind"

    local note=""
    if [ "$kind" = transitions ]; then
        # The database agrees: one timeline row and one audit row per transition answered.
        local last ev au
        last=$((first + NOPEN - 1))
        ev=$(dbq "$DB" "SELECT COUNT(*) FROM case_events WHERE case_id BETWEEN $first AND $last")
        au=$(dbq "$DB" "SELECT COUNT(*) FROM audit_log WHERE id > $AU0 AND action IN ('case.accept', 'case.review', 'case.approve', 'case.deliver')")
        # Requests still in flight when wrk stops (at most one per connection) are
        # committed but not counted by wrk: ok <= rows <= ok + connections.
        note="; $ok answered 200"
        [ "$n" = 1 ] || note="$note ($per_node)"
        note="$note, $bad failed; database: $ev timeline rows, $au audit rows"
        if [ "$ev" != "$au" ] || [ "$ev" -lt "$ok" ] || [ "$ev" -gt $((ok + conns * n)) ]; then
            note="$note — MISMATCH"
            echo "bench: $tag: $ok transitions answered 200 but $ev timeline and $au audit rows written" \
                "(expected equal counts between $ok and $((ok + conns * n)))" >&2
            MISMATCH=1
        elif [ "$ev" -gt "$ok" ]; then
            note="$note (+$((ev - ok)) in flight when wrk stopped)"
        fi
        [ "$idle" = 0 ] || note="$note; WARNING: wrk ran out of cases ($idle GET /healthz sent; raise BENCH_OPEN)"
    fi
    printf '  %-7s %-11s round %d: %9s/s  p50 %7s ms  p99 %8s ms  errors %s  CPU isle %s postgres %s wrk %s other %s (cores)%s\n' \
        "$cfg" "$kind" "$round" "$rate" "$p50" "$p99" "$errs" "$isle_c" "$pg_c" "$wrk_c" "$other_c" "$note"
}

# median CFG KIND COLUMN
median() {
    [ -r "$T/res-$1-$2" ] || { echo "-"; return 0; }
    awk -v c="$3" '{print $c}' "$T/res-$1-$2" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'
}

# --- the configurations --------------------------------------------------------------------
nodes_of() { if [ "$1" = pg2 ]; then echo 2; else echo 1; fi; }
# threads_of CFG: --threads of each node: BENCH_THREADS split over the nodes (at least 1).
threads_of() {
    local t=$((THREADS / $(nodes_of "$1")))
    [ "$t" -ge 1 ] || t=1
    echo "$t"
}
label_of() {
    case "$1" in sqlite) echo "SQLite, 1 node" ;; pg) echo "PostgreSQL, 1 node" ;; pg2) echo "PostgreSQL, 2 nodes" ;; esac
}
MISMATCH=0
STAFF_TOKEN=""
APPROVER_TOKEN=""
AUDIT_BAD=""
for cfg in $CONFIGS; do
    nodes=$(nodes_of "$cfg")
    thr=$(threads_of "$cfg")
    label=$(label_of "$cfg")
    echo
    echo "== $label: isle serve × $nodes, --threads $thr each"
    DB=$(mkdb "$cfg")
    ITEM=$(dbq "$DB" "SELECT code FROM catalog_items WHERE online_depth >= 2 AND promise_days > 0 ORDER BY code LIMIT 1")
    [ -n "$ITEM" ] || { echo "bench: no online item with a promise in the demo catalog" >&2; exit 2; }
    [ -s "$T/paths.txt" ] || make_paths "$DB"
    # Search first, on nodes with the answer cache and then without it, so that no SMS
    # backlog left by the transitions keeps the nodes' senders busy meanwhile.
    start_nodes "$cfg" "$DB" "$nodes" "$thr"
    for round in $(seq 1 "$RUNS"); do measure "$cfg" search "$round"; done
    stop_nodes
    start_nodes "$cfg" "$DB" "$nodes" "$thr" ISLE_SEARCH_CACHE=0
    for round in $(seq 1 "$RUNS"); do measure "$cfg" nocache "$round"; done
    stop_nodes
    start_nodes "$cfg" "$DB" "$nodes" "$thr"
    # Tokens from the first node serve on every node (sessions live in the database).
    STAFF_TOKEN=$(token "${NODE_URLS[0]}" staff "$PASSWORD")
    APPROVER_TOKEN=$(token "${NODE_URLS[0]}" approver "$PASSWORD")
    [ -n "$STAFF_TOKEN" ] && [ -n "$APPROVER_TOKEN" ] ||
        { echo "bench: login as staff/approver failed on ${NODE_URLS[0]}" >&2; exit 2; }
    for round in $(seq 1 "$RUNS"); do measure "$cfg" transitions "$round"; done
    stop_nodes
    # The audit chain written by the run (two nodes: interleaved writers) is intact.
    if "$ISLE_BIN" --db "$DB" audit verify >"$T/$cfg-audit.txt" 2>&1; then
        echo "  audit verify: $(tail -1 "$T/$cfg-audit.txt")"
    else
        echo "  audit verify FAILED: $(tail -3 "$T/$cfg-audit.txt")" >&2
        AUDIT_BAD="$AUDIT_BAD $cfg"
    fi
    for i in $(seq 1 "$nodes"); do
        e=$(grep -c -E ' (ERROR|FATAL) ' "$T/$cfg-node$i.log" || true)
        [ "$e" = 0 ] || echo "  node $i log: $e ERROR lines, e.g. $(grep -m1 -E ' (ERROR|FATAL) ' "$T/$cfg-node$i.log")"
    done
done

# --- table -----------------------------------------------------------------------------------
kind_of() {
    case "$1" in transitions) echo "transitions" ;; search) echo "search, cache on" ;; nocache) echo "search, cache off" ;; esac
}
echo
echo "Results ($RUNS round(s), medians; ${SECONDS_PER_RUN} s each; $NCPU cores shared by isle, PostgreSQL and wrk)"
printf '%-20s %-18s %10s %8s %8s %6s | %5s %5s %5s %5s | %7s %7s | %5s\n' \
    configuration workload "per s" "p50 ms" "p99 ms" errors isle pg wrk other "isle µs" "pg µs" "in db"
printf '%-20s %-18s %10s %8s %8s %6s | %23s | %15s | %5s\n' "" "" "" "" "" "" "CPU, cores busy" "CPU / request" "thr."
for cfg in $CONFIGS; do
    for kind in transitions search nocache; do
        printf '%-20s %-18s %10s %8s %8s %6s | %5s %5s %5s %5s | %7s %7s | %5s\n' \
            "$(label_of "$cfg")" "$(kind_of "$kind")" "$(median "$cfg" "$kind" 1)" "$(median "$cfg" "$kind" 2)" \
            "$(median "$cfg" "$kind" 3)" "$(median "$cfg" "$kind" 4)" "$(median "$cfg" "$kind" 5)" \
            "$(median "$cfg" "$kind" 6)" "$(median "$cfg" "$kind" 7)" "$(median "$cfg" "$kind" 8)" \
            "$(median "$cfg" "$kind" 10)" "$(median "$cfg" "$kind" 11)" "$(median "$cfg" "$kind" 12)"
    done
done
echo "(per s: transitions answered 200 per second, or search requests per second; p50/p99 of wrk, the worse"
echo " wrk process on 2 nodes; errors: socket errors + non-2xx; CPU from /proc over the run; in db: mean number"
echo " of isle threads inside a database call (workers and SMS senders, all nodes; isle_db_time_seconds_total))"

has() { [ -r "$T/res-$1-$2" ]; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo
echo "Ratios (requests or transitions per second):"
for kind in transitions search nocache; do
    line="  $(printf '%-18s' "$(kind_of "$kind")")"
    if has sqlite "$kind" && has pg "$kind"; then
        line="$line  PostgreSQL/SQLite $(ratio "$(median pg "$kind" 1)" "$(median sqlite "$kind" 1)")"
    fi
    if has pg "$kind" && has pg2 "$kind"; then
        line="$line  2 nodes/1 node $(ratio "$(median pg2 "$kind" 1)" "$(median pg "$kind" 1)")"
    fi
    [ "$line" = "  $(printf '%-18s' "$(kind_of "$kind")")" ] && line="$line  (needs two configurations)"
    echo "$line"
done

for kind in transitions nocache; do
    s=""
    for cfg in $CONFIGS; do
        has "$cfg" "$kind" || continue
        s="$s${s:+, }$(label_of "$cfg") $(calc "$(median "$cfg" "$kind" 10) + $(median "$cfg" "$kind" 11)" 0) µs"
    done
    [ -z "$s" ] || echo "  CPU per request of isle + PostgreSQL, $(kind_of "$kind"): $s"
done

# --- where the bottleneck sits ---------------------------------------------------------------
echo
echo "Where the time goes (medians):"
gte() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'; }
for cfg in $CONFIGS; do
    WORKERS_OF_CFG=$(($(nodes_of "$cfg") * $(threads_of "$cfg")))
    for kind in transitions search nocache; do
        has "$cfg" "$kind" || continue
        rate=$(median "$cfg" "$kind" 1)
        isle_c=$(median "$cfg" "$kind" 5) pg_c=$(median "$cfg" "$kind" 6) wrk_c=$(median "$cfg" "$kind" 7)
        other_c=$(median "$cfg" "$kind" 8) busy=$(median "$cfg" "$kind" 9)
        isle_us=$(median "$cfg" "$kind" 10) pg_us=$(median "$cfg" "$kind" 11) share=$(median "$cfg" "$kind" 12)
        lock=$(median "$cfg" "$kind" 14) held=$(median "$cfg" "$kind" 17)
        held_pg=$(median "$cfg" "$kind" 18) held_isle=$(median "$cfg" "$kind" 19)
        busy_pct=$(calc "100 * $busy / $NCPU" 0)
        echo "  $(label_of "$cfg"), $(kind_of "$kind"):"
        s="    CPU: machine ${busy_pct}% busy: isle $isle_c, PostgreSQL $pg_c, wrk $wrk_c, other processes $other_c cores"
        gte "$other_c" "$(calc "0.1 * $NCPU")" && s="$s (WARNING: other work took $other_c cores; the figures understate)"
        echo "$s"
        s="    per request: isle $isle_us µs"
        [ "$cfg" = sqlite ] || s="$s + PostgreSQL $pg_us µs"
        s="$s of CPU; on average $share of isle's threads ($WORKERS_OF_CFG workers"
        [ "$NOTIFY" = 1 ] && s="$s + $(nodes_of "$cfg") SMS sender(s)"
        echo "$s) inside a database call"
        if [ "$cfg" != sqlite ]; then
            hold_ms=$(calc "($rate > 0) ? 1000 * $held / $rate : 0" 2)
            echo "    PostgreSQL: the write lock held $(calc "100 * $held" 0)% of the time (holder executing a statement" \
                "$(calc "100 * $held_pg" 0)%, idle in its transaction waiting for isle $(calc "100 * $held_isle" 0)%);" \
                "$lock connections waiting for it on average; isle connections running $(median "$cfg" "$kind" 13)," \
                "idle in a transaction $(median "$cfg" "$kind" 15)"
        fi
        # The verdict, from the figures: the write lock when it is nearly always held,
        # then a saturated CPU, then time in database calls, else the offered load.
        if [ "$cfg" != sqlite ] && gte "$held" 0.8; then
            v="the single write lock: held $(calc "100 * $held" 0)% of the time, $lock waiters on average;"
            v="$v ≈ $hold_ms ms of lock per write at $rate/s, $(calc "($held > 0) ? 100 * $held_isle / $held : 0" 0)% of it"
            v="$v with PostgreSQL waiting for isle (statements are sent one round trip at a time)"
            gte "$busy_pct" 85 && v="$v; the CPU is saturated as well"
        elif gte "$busy_pct" 85; then
            top=$(awk -v i="$isle_c" -v p="$pg_c" -v w="$wrk_c" -v o="$other_c" 'BEGIN {
                if (i >= p && i >= w && i >= o) print "isle"; else if (p >= w && p >= o) print "PostgreSQL"
                else if (w >= o) print "wrk (the load generator)"; else print "other processes" }')
            v="CPU: the $NCPU cores are saturated, the largest share by $top"
        elif gte "$share" "$(calc "0.5 * $WORKERS_OF_CFG")"; then
            v="the database calls (the workers wait on them while the machine has idle CPU)"
        else
            v="none found: the machine has idle CPU and the workers do not wait on the database (raise the connections)"
        fi
        echo "    → bottleneck: $v"
    done
done
if has pg transitions && has pg2 transitions; then
    echo "  Two nodes on one machine share the same $NCPU cores and one PostgreSQL: they can show that the"
    echo "  nodes work together (shared sessions, one write lock, an intact audit chain) and what coordination"
    echo "  costs, not more throughput; scale-out needs the nodes (and wrk) on machines of their own."
fi

echo
FAIL=0
if [ "$MISMATCH" = 1 ]; then
    echo "FAIL  timeline and audit rows match the transitions answered (see the mismatch above)"
    FAIL=1
else
    echo "PASS  every transition answered 200 wrote its timeline row and its audit row (and nothing else did)"
fi
if [ -n "$AUDIT_BAD" ]; then
    echo "FAIL  isle audit verify after the run:$AUDIT_BAD"
    FAIL=1
else
    echo "PASS  isle audit verify after the run, every configuration"
fi
if [ "${BENCH_STRICT:-0}" = 1 ]; then exit "$FAIL"; fi
exit 0
