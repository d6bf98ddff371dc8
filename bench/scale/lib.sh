# shellcheck shell=bash
# bench/scale/lib.sh: helpers for bench/scale.sh (sourced after bench/lib.sh, not run).
#
# A few of these are copies of the minimum bench/scale.sh needs from bench/cases.sh
# (owned separately, so not sourced from there); each copy says so. The difference is
# that they work on both backends: a database is a SQLite path or a postgres:// URL.

# dbq DB SQL: run SQL on DB (the sqlite3 shell or psql); one row per line, '|' between
# columns (as tests/api/server.mjs dbQuery does).
dbq() {
    case "$1" in
    postgres://* | postgresql://*) psql -XAtq -v ON_ERROR_STOP=1 -d "$1" -c "$2" ;;
    *) sqlite3 -cmd '.timeout 10000' "$1" "$2" ;;
    esac
}

# sql_str TEXT: TEXT as an SQL string literal (quotes doubled).
sql_str() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }

# to_ms VALUE: wrk prints latencies as 812.00us, 1.23ms, 1.02s or 2.00m.
# (copied from bench/cases.sh)
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
        printf "%.2f", n }'
}

# wrk_seconds FILE: the duration of a wrk run from its "N requests in 10.01s" line.
# (copied from bench/cases.sh's http_transitions)
wrk_seconds() {
    local dur
    dur=$(awk '/requests in/ { for (i = 1; i <= NF; i++) if ($i == "in") { v = $(i + 1); sub(/,$/, "", v); print v } }' "$1")
    awk -v v="$dur" 'BEGIN { n = v + 0; u = v; sub(/^[0-9.]+/, "", u); if (u == "ms") n /= 1000; else if (u == "m") n *= 60; printf "%.3f", n }'
}

# token URL LOGIN PASSWORD: a bearer token from POST /api/v1/session (as
# tests/api/server.mjs loginToken; copied from bench/cases.sh with the URL as argument).
token() {
    curl -sf --max-time 10 -X POST "$1/api/v1/session" -H 'Content-Type: application/json' \
        -d "{\"login\":\"$2\",\"password\":\"$3\",\"token\":true}" |
        node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).token||"")}catch{console.log("")}})'
}

# seed_cases DB ITEM N: add N 'submitted' cases of catalog item ITEM, applied for online
# by the demo citizen (who has a phone, so every transition also queues an SMS), with
# consecutive ids; sets SEED_FIRST to the first id. The SQL is bench/cases.sh's
# add_cases made portable: the timestamp comes from the shell instead of strftime(),
# and on PostgreSQL the identity sequence is moved past the ids inserted by hand.
seed_cases() {
    local db=$1 item=$2 n=$3 now
    now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    SEED_FIRST=$(($(dbq "$db" "SELECT COALESCE(MAX(id), 0) FROM cases") + 1))
    dbq "$db" "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $n)
INSERT INTO cases (id, case_no, kind, item_code, item_version, item_name, applicant_id, channel,
  department, town_code, status, form, path, promise_days, legal_days, submitted_at, visits,
  version, created_at, updated_at)
SELECT $SEED_FIRST + i, 'ZSSCALE' || ($SEED_FIRST + i), 'item', c.code, c.version, c.name,
  (SELECT id FROM users WHERE login = 'citizen'), 'online', c.department, '330902100',
  'submitted', '{}', 'normal', c.promise_days, c.legal_days, '$now', 0, 1, '$now', '$now'
FROM n, catalog_items c WHERE c.code = $(sql_str "$item")" >/dev/null
    case "$db" in
    postgres://* | postgresql://*)
        dbq "$db" "SELECT setval(pg_get_serial_sequence('cases', 'id'), (SELECT MAX(id) FROM cases))" >/dev/null
        ;;
    esac
}

# pg_ticks PGDATA: CPU clock ticks (user + system) used so far by a PostgreSQL cluster:
# the postmaster (its own and its reaped children's: cutime, cstime) plus every live
# child (backends, walwriter, checkpointer …). A backend that exits between two calls
# moves from the second term to the first, so differences stay right.
pg_ticks() {
    local pm f line total=0
    pm=$(head -1 "$1/postmaster.pid" 2>/dev/null || true)
    [ -n "$pm" ] || { echo 0; return 0; }
    for f in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$f" || continue
        # Fields after the ")" of the command name: state $1, ppid $2, utime $12,
        # stime $13, cutime $14, cstime $15.
        # shellcheck disable=SC2086 # split on purpose
        set -- ${line##*) }
        if [ "${f#/proc/}" = "$pm/stat" ]; then
            total=$((total + ${12} + ${13} + ${14} + ${15}))
        elif [ "$2" = "$pm" ]; then
            total=$((total + ${12} + ${13}))
        fi
    done
    echo "$total"
}

# metric_sum URL NAME: the value of an unlabelled metric in URL/metrics (0 if absent).
metric_sum() {
    curl -sf --max-time 5 "$1/metrics" 2>/dev/null | awk -v m="$2" '$1 == m {print $2; f = 1} END {if (!f) print 0}'
}
