#!/usr/bin/env bash
# A throw-away PostgreSQL server for tests: initdb in a temp dir, listen on a
# loopback port, trust authentication, no fsync (tests only).
#   scripts/pg-cluster.sh start DIR   → prints the base URL (postgres://isle@127.0.0.1:PORT/)
#   scripts/pg-cluster.sh stop DIR    → stops the server (DIR is left for the caller to remove)
#   scripts/pg-cluster.sh restart DIR | pause DIR | resume DIR  (fault tests: stop/start, same port)
# As root the server runs as the postgres user (initdb refuses root), else as
# the current user. Needs the Debian postgresql server package.
set -euo pipefail
cmd=${1:?usage: pg-cluster.sh start|stop|restart|pause|resume DIR}
dir=${2:?usage: pg-cluster.sh start|stop|restart|pause|resume DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -n "$bin" ] && [ -x "$bin/initdb" ] || { echo "pg-cluster: no PostgreSQL server binaries" >&2; exit 1; }
as=()
if [ "$(id -u)" = 0 ]; then
  user=postgres
  getent passwd postgres >/dev/null || user=nobody
  as=(runuser -u "$user" --)
fi
pgctl() { "${as[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" "$@"; }
start_server() {
  local port; port=$(cat "$dir/port")
  pgctl -w -t 30 -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off \
-c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null
}
case "$cmd" in
  start)
    mkdir -p "$dir"
    [ ${#as[@]} -eq 0 ] || chown "${as[2]}" "$dir"
    "${as[@]}" "$bin/initdb" -D "$dir/data" -U isle --auth=trust -E UTF8 --locale=C.UTF-8 \
      >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }
    # A free loopback port: bind to port 0 and read what the kernel chose.
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})' >"$dir/port"
    start_server
    echo "postgres://isle@127.0.0.1:$(cat "$dir/port")/"
    ;;
  stop|pause) pgctl -m fast -w stop >/dev/null 2>&1 || true ;;
  resume) start_server ;;
  restart) pgctl -m fast -w stop >/dev/null 2>&1 || true; start_server ;;
  *) echo "pg-cluster: unknown command $cmd" >&2; exit 2 ;;
esac
