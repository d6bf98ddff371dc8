#!/usr/bin/env bash
# Run every test suite and print one summary line "N passed, N failed".
#   unit: C unit tests (build/unit_tests)
#   api:  node:test against the real `isle serve` on a loopback port
#   web:  headless Chromium via playwright-core
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
  p=$(grep -E '^# pass [0-9]+' "$1" | tail -n1 | awk '{print $3}')
  f=$(grep -E '^# fail [0-9]+' "$1" | tail -n1 | awk '{print $3}')
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
    grep -E '^FAIL|CHECK|ERROR|runtime error' "$log" | head -n 40
  else
    read -r pass fail < <(count_node "$log")
    grep -E '^not ok|^# Subtest|error:|Error|expected|actual' "$log" | grep -v '^# Subtest' | head -n 60
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

run_suite unit "$UNIT_BIN"
run_suite api node --test --test-concurrency=1 tests/api/
run_suite web node --test --test-concurrency=1 tests/web/

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
