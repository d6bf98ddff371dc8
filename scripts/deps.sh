#!/bin/sh
# Install what isle needs on Debian 12, idempotently: Debian packages (apt-get)
# and npm packages (npm ci into node_modules/). Fast when everything is there.
#   scripts/deps.sh           build + run + test dependencies
#   scripts/deps.sh --bench   also wrk and nginx for bench/
#   scripts/deps.sh --fuzz    also clang with libFuzzer
set -eu
cd "$(dirname "$0")/.."

PKGS="gcc make pkg-config libevent-dev libjansson-dev libsqlite3-dev sqlite3 libsodium-dev \
libhttp-parser-dev libcsv-dev zlib1g-dev libopencc-dev libpq-dev libcurl4-openssl-dev postgresql ca-certificates curl \
chromium fonts-noto-cjk libhpdf-dev libqrencode-dev fonts-arphic-uming \
libssl-dev openssl libgfshare-dev libzip-dev libxml2-dev libpoppler-glib-dev libxlsxwriter-dev"
case "${1:-}" in
  --bench) PKGS="wrk nginx-light" ;;
  --fuzz)  PKGS="clang libclang-rt-dev" ;;
esac

missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "${1:-}" ] && ! command -v node >/dev/null 2>&1; then missing="$missing nodejs"; fi
if [ -z "${1:-}" ] && ! command -v npm >/dev/null 2>&1; then missing="$missing npm"; fi

if [ -n "$missing" ]; then
  echo "deps: installing$missing"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ -z "${1:-}" ]; then
  # npm packages (playwright-core for browser tests). Reinstall only when the lock changed.
  if [ ! -f node_modules/.isle-lock ] || ! cmp -s package-lock.json node_modules/.isle-lock; then
    echo "deps: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    cp package-lock.json node_modules/.isle-lock
  fi
fi
