#!/usr/bin/env bash
# Build and run isle's libFuzzer targets.
#
#   tests/fuzz/run.sh [target...]     default: every tests/fuzz/fuzz_*.c
#   FUZZ_SECONDS=30                   time per target
#
# Binaries go to build/fuzz/; each target fuzzes a scratch copy of its seed corpus
# (tests/fuzz/corpus/<target>/ is never written) and leaves crash files in
# build/fuzz/artifacts/<target>/. Exit status is non-zero if any target failed to
# build or found a crash, leak, timeout or sanitizer report.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2

SECONDS_EACH="${FUZZ_SECONDS:-30}"
OUT=build/fuzz
CC="${FUZZ_CC:-clang}"
# shellcheck disable=SC2054  # the commas belong to -fsanitize=
CFLAGS=(-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
        -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wno-missing-field-initializers -Isrc)
JANSSON_CFLAGS=$(pkg-config --cflags jansson 2>/dev/null || true)
JANSSON_LIBS=$(pkg-config --libs jansson 2>/dev/null || echo -ljansson)

# Per target: the sources and libraries it needs, and nothing else.
sources() {
  case "$1" in
    fuzz_multipart) echo "src/http/multipart.c src/base/err.c src/base/xmalloc.c" ;;
    fuzz_query)     echo "src/http/parse.c src/base/arena.c src/base/err.c src/base/xmalloc.c" ;;
    fuzz_json)      echo "src/base/jsonx.c src/base/err.c" ;;
    fuzz_http)      # the whole server minus main.c and server.c (included by the target)
                    echo "$(find src -name '*.c' ! -name main.c ! -name server.c | sort | tr '\n' ' ') build/gen/schema.c build/gen/version.c" ;;
    *)              return 1 ;;
  esac
}
libs() {
  case "$1" in
    fuzz_query|fuzz_json) echo "$JANSSON_LIBS" ;;
    fuzz_http)            echo "$(pkg-config --libs libevent libevent_pthreads jansson sqlite3 libsodium zlib) -lhttp_parser -lcsv -lpthread -lm" ;;
    *)                    echo "" ;;
  esac
}

if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in tests/fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi

mkdir -p "$OUT"
# fuzz_http needs the generated schema and version files of a normal build.
make --no-print-directory build >/dev/null || exit 2
declare -A result
failed=0
for t in "${targets[@]}"; do
  if ! src=$(sources "$t"); then
    echo "fuzz: unknown target $t" >&2
    result[$t]="unknown"
    failed=1
    continue
  fi
  echo "== $t: build"
  # shellcheck disable=SC2086,SC2046  # word splitting of the source and flag lists is wanted
  if ! "$CC" "${CFLAGS[@]}" $JANSSON_CFLAGS -o "$OUT/$t" "tests/fuzz/$t.c" $src $(libs "$t"); then
    result[$t]="build failed"
    failed=1
    continue
  fi
  corpus="$OUT/corpus/$t"
  artifacts="$OUT/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  if [ -d "tests/fuzz/corpus/$t" ]; then cp -f tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true; fi
  echo "== $t: fuzz for ${SECONDS_EACH}s"
  log="$OUT/$t.log"
  "$OUT/$t" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" >"$log" 2>&1
  rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
  if [ $rc -eq 0 ]; then
    result[$t]="ok (${runs:-?} runs, corpus $(find "$corpus" -type f | wc -l) files)"
  else
    result[$t]="FAILED rc=$rc, see $log and $artifacts/"
    failed=1
    grep -E 'ERROR|SUMMARY|runtime error|deadly signal|Test unit written' "$log" | head -n 8
  fi
done

echo "== fuzz summary"
for t in "${targets[@]}"; do printf '  %-16s %s\n' "$t" "${result[$t]}"; done
exit $failed
