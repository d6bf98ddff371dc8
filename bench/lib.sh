# shellcheck shell=bash
# bench/lib.sh: helpers shared by bench/http.sh and bench/sse.sh (sourced, not run).
#
# Everything here talks only to 127.0.0.0/8 and every wait loop is bounded in
# count. Nothing here changes system settings: limits are raised per process
# (ulimit) and ports are picked from what is free.

ISLE_BIN=${ISLE_BIN:-build/isle}

# free_port: print a TCP port nobody listens on 127.0.0.1, chosen below the
# ephemeral range so client sockets cannot collide with it. There is a small
# window between the check and the bind; the caller's startup check catches it.
free_port() {
    local _ p
    for _ in $(seq 1 200); do
        p=$((20000 + (RANDOM % 12000)))
        if [ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; then
            echo "$p"
            return 0
        fi
    done
    echo "bench: no free port found" >&2
    return 1
}

# wait_http URL TRIES: poll URL every 0.1 s until it answers 200, at most TRIES times.
wait_http() {
    local url=$1 tries=${2:-150} _ code
    for _ in $(seq 1 "$tries"); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" 2>/dev/null || true)
        [ "$code" = 200 ] && return 0
        sleep 0.1
    done
    echo "bench: $url did not answer 200 after $tries tries (last status '$code')" >&2
    return 1
}

# raise_nofile WANT: raise this shell's open-file limit (inherited by the
# servers and clients it starts) to at least WANT when root may, else to the
# hard limit. Prints the resulting soft limit.
raise_nofile() {
    local want=$1 hard
    hard=$(ulimit -Hn)
    if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then
        ulimit -Hn "$want" 2>/dev/null || true
        hard=$(ulimit -Hn)
    fi
    ulimit -Sn "$hard" 2>/dev/null || true
    ulimit -Sn
}

# isle_start DIR PORT THREADS: create DIR/isle.db with demo data and start
# `isle serve` in the background; sets ISLE_PID. Logs go to DIR/isle.log.
isle_start() {
    local dir=$1 port=$2 threads=$3
    "$ISLE_BIN" --db "$dir/isle.db" init >"$dir/isle-init.log" 2>&1 ||
        { echo "bench: isle init failed:" >&2; cat "$dir/isle-init.log" >&2; return 1; }
    ISLE_ARGON2_FAST=1 "$ISLE_BIN" --db "$dir/isle.db" demo >"$dir/isle-demo.log" 2>&1 ||
        { echo "bench: isle demo failed:" >&2; tail -20 "$dir/isle-demo.log" >&2; return 1; }
    # The per-request access log line is off by default, like nginx's access_log off.
    ISLE_LOG_LEVEL=${BENCH_ISLE_LOG_LEVEL:-warn} \
        "$ISLE_BIN" --db "$dir/isle.db" serve --listen "127.0.0.1:$port" --threads "$threads" \
        >"$dir/isle.log" 2>&1 &
    ISLE_PID=$!
    if ! wait_http "http://127.0.0.1:$port/healthz" 150; then
        echo "bench: isle log:" >&2
        tail -20 "$dir/isle.log" >&2
        return 1
    fi
    if ! kill -0 "$ISLE_PID" 2>/dev/null; then
        echo "bench: isle exited; another server answers on port $port?" >&2
        return 1
    fi
}

# stop_pid PID: TERM, wait up to 5 s, then KILL. Only ever the pids we started.
stop_pid() {
    local pid=$1 _
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# cpu_ticks PID...: user+system clock ticks used so far by the given pids.
cpu_ticks() {
    local total=0 pid f
    for pid in "$@"; do
        [ -r "/proc/$pid/stat" ] || continue
        # Fields after the ")" of the command name: state is $1, utime $12, stime $13.
        f=$(sed 's/^.*) //' "/proc/$pid/stat")
        total=$((total + $(echo "$f" | awk '{print $12 + $13}')))
    done
    echo "$total"
}

# proc_status_kb PID FIELD: a "kB" field of /proc/PID/status (VmRSS, VmHWM), or 0.
proc_status_kb() {
    awk -v f="$2:" '$1 == f {print $2; found=1} END {if (!found) print 0}' "/proc/$1/status" 2>/dev/null ||
        echo 0
}

# cpu_busy_pct: percent of all CPUs busy over one second (before our servers load them).
cpu_busy_pct() {
    local a b
    a=$(head -1 /proc/stat)
    sleep 1
    b=$(head -1 /proc/stat)
    awk -v a="$a" -v b="$b" 'BEGIN {
        split(a, x); split(b, y); tot = 0; idle = 0
        for (i = 2; i <= 11; i++) tot += y[i] - x[i]
        idle = (y[5] - x[5]) + (y[6] - x[6])
        printf "%d", (tot > 0) ? 100 * (tot - idle) / tot : 0 }'
}

# machine_note: print the load and warn when other work already keeps the CPUs
# busy, since both benchmarks share the machine's cores with the load generator.
# BENCH_WAIT_IDLE=N waits up to N seconds for the machine to fall below 15% busy.
machine_note() {
    local busy _
    busy=$(cpu_busy_pct)
    for _ in $(seq 1 "${BENCH_WAIT_IDLE:-0}"); do
        [ "$busy" -le 15 ] && break
        busy=$(cpu_busy_pct)
    done
    echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), ${busy}% CPU busy before the run"
    if [ "$busy" -gt 15 ]; then
        echo "bench: WARNING: the machine is already ${busy}% busy with other work;" \
            "these figures understate isle (run on an idle machine)" >&2
    fi
}

# cpu_snapshot: "busy_ticks total_ticks" of the whole machine from /proc/stat. Busy
# leaves out irq and softirq time, which no process is charged with (our own
# loopback traffic is mostly softirq), but keeps steal (another VM's disturbance).
cpu_snapshot() {
    head -1 /proc/stat | awk '{ t = 0; for (i = 2; i <= 9; i++) t += $i; print $2 + $3 + $4 + $9, t }'
}

# times_ticks FILE: CPU ticks of this shell's finished children from the output of
# bash's `times` saved in FILE (`times` must run in the shell itself, not in $(...)).
times_ticks() {
    awk -v hz="$(getconf CLK_TCK)" 'NR == 2 {
        s = 0
        for (i = 1; i <= 2; i++) { split($i, p, "m"); sub(/s$/, "", p[2]); s += p[1] * 60 + p[2] }
        printf "%d", s * hz }' "$1"
}

# other_cpu_pct BEFORE AFTER OURS: percent of the machine's CPU used during a run by
# processes other than ours (OURS = our ticks), from two cpu_snapshot lines.
other_cpu_pct() {
    awk -v a="$1" -v b="$2" -v ours="$3" 'BEGIN {
        split(a, x, " "); split(b, y, " "); busy = y[1] - x[1]; tot = y[2] - x[2]
        o = busy - ours; if (o < 0) o = 0
        printf "%d", (tot > 0) ? 100 * o / tot : 0 }'
}

# nginx_start DIR THREADS FILE AVOID_PORT: serve DIR/www with nginx (the same thread
# count, access log off, keep-alive) on a free port other than AVOID_PORT; waits
# until DIR/www/FILE answers. Sets NGINX_PORT, NGINX_PID and NGINX_URL (FILE's URL).
nginx_start() {
    local dir=$1 threads=$2 file=$3 avoid=$4
    mkdir -p "$dir/www" "$dir/nginx-tmp"
    NGINX_PORT=$(free_port)
    while [ "$NGINX_PORT" = "$avoid" ]; do NGINX_PORT=$(free_port); done
    cat >"$dir/nginx.conf" <<EOF
# generated by bench/lib.sh
user $(id -un) $(id -gn);
worker_processes $threads;
daemon off;
pid $dir/nginx.pid;
error_log $dir/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $dir/nginx-tmp/body;
    proxy_temp_path $dir/nginx-tmp/proxy;
    fastcgi_temp_path $dir/nginx-tmp/fastcgi;
    uwsgi_temp_path $dir/nginx-tmp/uwsgi;
    scgi_temp_path $dir/nginx-tmp/scgi;
    types { application/json json; }
    default_type application/json;
    keepalive_requests 100000000;
    keepalive_timeout 60s;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $dir/www;
        location / { }
    }
}
EOF
    nginx -p "$dir" -c "$dir/nginx.conf" -t >"$dir/nginx-test.log" 2>&1 ||
        { echo "bench: nginx config test failed:" >&2; cat "$dir/nginx-test.log" >&2; return 1; }
    nginx -p "$dir" -c "$dir/nginx.conf" >"$dir/nginx.out" 2>&1 &
    NGINX_PID=$!
    NGINX_URL="http://127.0.0.1:$NGINX_PORT/$file"
    if ! wait_http "$NGINX_URL" 100; then
        cat "$dir/nginx-error.log" "$dir/nginx.out" >&2 2>/dev/null || true
        return 1
    fi
}

# The targets' verdict lines. verdict LABEL OK(0|1) DETAIL prints "PASS  LABEL (DETAIL)" or
# "FAIL  …" and remembers a failure; bench_finish NAME prints "NAME verdict: PASS|FAIL" and
# exits: 0 whatever the verdict, or 1 on a missed target under BENCH_STRICT=1.
FAIL=0
verdict() {
    if [ "$2" = 1 ]; then echo "PASS  $1 ($3)"; else echo "FAIL  $1 ($3)"; FAIL=1; fi
}
bench_finish() {
    if [ "$FAIL" = 0 ]; then echo "$1 verdict: PASS"; else echo "$1 verdict: FAIL"; fi
    if [ "${BENCH_STRICT:-0}" = 1 ]; then exit "$FAIL"; fi
    exit 0
}

# A warning on stderr when other processes took more than 10 % of the CPU (argument: the %).
warn_if_disturbed() {
    if [ "$1" -gt 10 ]; then
        echo "bench: WARNING: other processes used ${1}% of the CPU during the run;" \
            "the figures are disturbed, run again on an idle machine" >&2
    fi
}

# The verdicts shared by the SSE fan-out benches (sse.sh, opening.sh): p99 delivery latency
# (arguments: the p99 in ms and the number of samples) against TARGET_P99_MS, the server's
# peak RSS (HWM_KB) against TARGET_RSS_KB, and the server still alive (ALIVE; its log in $T).
fanout_verdicts() {
    local ok=0
    awk -v a="$1" -v b="$TARGET_P99_MS" -v n="$2" 'BEGIN { exit !(n > 0 && a < b) }' && ok=1
    verdict "p99 delivery < ${TARGET_P99_MS} ms" $ok "$1 ms"
    ok=0
    [ "$HWM_KB" -gt 0 ] && [ "$HWM_KB" -lt "$TARGET_RSS_KB" ] && ok=1
    verdict "server RSS < $((TARGET_RSS_KB / 1024 / 1024)) GiB" $ok "peak $((HWM_KB / 1024)) MiB"
    verdict "server still running after the run" "$ALIVE" "$([ "$ALIVE" = 1 ] && echo alive || echo exited)"
    if [ "$ALIVE" = 0 ]; then tail -20 "$T/isle.log" >&2; fi
}
