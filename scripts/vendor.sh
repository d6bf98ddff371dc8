#!/bin/sh
# Copy the browser-side npm packages the UI uses into web/vendor/ (no build step).
set -eu
cd "$(dirname "$0")/.."
mkdir -p web/vendor
# Nothing browser-side is vendored yet beyond what is listed here; each line copies one file.
for spec in $(cat web/vendor.list 2>/dev/null | grep -v '^#' || true); do
  src="node_modules/${spec%%=*}"; dst="web/vendor/${spec##*=}"
  if [ ! -f "$dst" ] || [ "$src" -nt "$dst" ]; then cp "$src" "$dst"; fi
done
