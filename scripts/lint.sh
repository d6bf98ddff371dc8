#!/usr/bin/env bash
# make lint: clang-format check and the banned-function grep (STYLE.md).
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
files=$(find src tests/unit tests/fuzz bench -name '*.[ch]' 2>/dev/null | sort)
if ! clang-format --dry-run --Werror $files 2>/tmp/isle-format.log; then
  echo "clang-format: these files need formatting (run: clang-format -i FILE):"
  grep -o '^[^:]*\.[ch]' /tmp/isle-format.log | sort -u | sed 's/^/  /'
  status=1
fi
# Functions with a safer replacement (curl's checksrc list, adapted).
banned='\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atof|strtok|strncpy|system|tmpnam|mktemp)[[:space:]]*\('
if grep -nE "$banned" $files | grep -v 'lint: allow'; then
  echo "banned functions used (see STYLE.md)"
  status=1
fi
[ $status -eq 0 ] && echo "lint: ok"
exit $status
