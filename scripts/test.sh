#!/usr/bin/env bash
# Run every test suite and print one summary line "N passed, N failed".
#   unit: C unit tests (build/unit_tests)
#   api:  node:test against the real `isle serve` on a loopback port
#   web:  headless Chromium via playwright-core
#   api-pg: the API suite again against a real PostgreSQL server, when
#           ISLE_TEST_PG=1 or the server binaries (/usr/lib/postgresql/*/bin/initdb)
#           are there: a throw-away cluster (scripts/pg-cluster.sh) in a temp dir on a
#           loopback port, removed at exit. The unit tests use it too (ISLE_TEST_PG_URL).
#           ISLE_TEST_PG=0 skips it; ISLE_TEST_PG=1 without the binaries is an error.
# Exit status is non-zero when any test failed or a suite could not run.
set -uo pipefail
cd "$(dirname "$0")/.."
export ISLE_BIN="${ISLE_BIN:-build/isle}"
UNIT_BIN="${UNIT_BIN:-build/unit_tests}"
export ISLE_ARGON2_FAST=1
out_dir=build/test-logs
mkdir -p "$out_dir"
# Under SANITIZE=1 every isle process (servers included) writes sanitizer reports
# here; any report fails the run, even if the tests themselves passed.
rm -f "$out_dir"/asan.* "$out_dir"/ubsan.*
export ASAN_OPTIONS="log_path=$PWD/$out_dir/asan:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="log_path=$PWD/$out_dir/ubsan:print_stacktrace=1"

total_pass=0
total_fail=0
broken=""

count_node() { # file → "pass fail"
  local p f
  p=$(grep -aE '^# pass [0-9]+' "$1" | tail -n1 | awk '{print $3}')
  f=$(grep -aE '^# fail [0-9]+' "$1" | tail -n1 | awk '{print $3}')
  echo "${p:-0} ${f:-0}"
}

run_suite() { # name, command...
  local name=$1; shift
  local log="$out_dir/$name.log"
  echo "== $name"
  "$@" >"$log" 2>&1
  local rc=$?
  local pass=0 fail=0
  if [ "$name" = unit ]; then
    read -r pass fail < <(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log" | tail -n1)
    grep -aE '^FAIL|CHECK|ERROR|runtime error' "$log" | head -n 40
  else
    read -r pass fail < <(count_node "$log")
    grep -aE '^not ok|^# Subtest|error:|Error|expected|actual' "$log" | grep -v '^# Subtest' | head -n 60
  fi
  pass=${pass:-0}; fail=${fail:-0}
  echo "   $name: $pass passed, $fail failed (log: $log)"
  if [ "$rc" -ne 0 ] && [ "$fail" -eq 0 ]; then
    broken="$broken $name"
    echo "   $name exited with status $rc without reporting a failure:"
    tail -n 20 "$log"
  fi
  total_pass=$((total_pass + pass))
  total_fail=$((total_fail + fail))
}

# PostgreSQL for the api-pg suite (and the unit tests' PostgreSQL cases).
pg_dir=""
want_pg=${ISLE_TEST_PG:-auto}
have_pg=0
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && have_pg=1
if [ "$want_pg" = 1 ] && [ "$have_pg" = 0 ]; then
  echo "ISLE_TEST_PG=1 but no PostgreSQL server binaries (apt-get install postgresql)"
  broken="$broken api-pg"
fi
stop_pg() {
  if [ -n "$pg_dir" ]; then
    bash scripts/pg-cluster.sh stop "$pg_dir"
    rm -rf "$pg_dir"
    pg_dir=""
  fi
}
trap stop_pg EXIT
if [ "$want_pg" != 0 ] && [ "$have_pg" = 1 ]; then
  pg_dir=$(mktemp -d /tmp/isle-pg-XXXXXX)
  chmod 755 "$pg_dir"
  if url=$(bash scripts/pg-cluster.sh start "$pg_dir" 2>"$out_dir/pg-cluster.log"); then
    export ISLE_TEST_PG_URL="$url"
    # For the fault tests: stop and start the same server.
    export ISLE_TEST_PG_CTL="bash $PWD/scripts/pg-cluster.sh"
    export ISLE_TEST_PG_DIR="$pg_dir"
  else
    echo "could not start PostgreSQL for the api-pg suite:"
    cat "$out_dir/pg-cluster.log"
    broken="$broken api-pg"
    rm -rf "$pg_dir"
    pg_dir=""
  fi
fi

run_suite unit "$UNIT_BIN"
# The SQLite run must not see the PostgreSQL URL (server.mjs would use it).
run_suite api env -u ISLE_TEST_PG_URL node --test --test-concurrency=1 tests/api/
if [ -n "${ISLE_TEST_PG_URL:-}" ]; then
  run_suite api-pg node --test --test-concurrency=1 tests/api/
  stop_pg
fi
run_suite web env -u ISLE_TEST_PG_URL node --test --test-concurrency=1 tests/web/

reports=$(ls "$out_dir"/asan.* "$out_dir"/ubsan.* 2>/dev/null)
if [ -n "$reports" ]; then
  echo "sanitizer reports:"
  for f in $reports; do echo "--- $f"; head -n 30 "$f"; done
  broken="$broken sanitizers"
fi

if [ -n "$broken" ]; then
  echo "suites that did not run cleanly:$broken"
  total_fail=$((total_fail + 1))
fi
echo "${total_pass} passed, ${total_fail} failed"
[ "$total_fail" -eq 0 ]
