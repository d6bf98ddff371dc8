#!/bin/sh
# `make run`: create the database with demo data if there is none, then serve.
set -eu
cd "$(dirname "$0")/.."
BIN="${1:-build/isle}"
DB="${ISLE_DB:-isle.db}"
if [ ! -f "$DB" ]; then
  "$BIN" --db "$DB" init
  "$BIN" --db "$DB" demo
fi
exec "$BIN" --db "$DB" serve --listen "${ISLE_LISTEN:-127.0.0.1:8080}"
