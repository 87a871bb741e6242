#!/usr/bin/env bash
# A throwaway PostgreSQL server for the integration tests.
#
#   tests/pg_server.sh start STATE_DIR   initdb + start on 127.0.0.1, a free port;
#                                        writes STATE_DIR/env (source it)
#   tests/pg_server.sh stop STATE_DIR    stop it (immediate) and remove STATE_DIR
#
# The superuser is `luamig` with a fixed test password, authentication is
# scram-sha-256, and durability is switched off for speed. As root the server
# runs as the `postgres` OS user (PostgreSQL refuses to run as root).
set -euo pipefail

readonly PG_USER=luamig
readonly PG_PASSWORD='Lm-Test-Pa55word-7q'
readonly FIRST_PORT=54000
readonly PORT_TRIES=200

usage() {
  echo "usage: $0 start|stop STATE_DIR" >&2
  exit 2
}
[ $# -eq 2 ] || usage
action=$1
state=$2
[ -n "$state" ] && [ "$state" != / ] || usage

log() { printf 'pg_server: %s\n' "$*" >&2; }

# --- the server binaries -------------------------------------------------------
find_bindir() {
  local d best=""
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && best=$d # glob order: the last one is the newest
  done
  if [ -z "$best" ] && command -v initdb >/dev/null 2>&1; then
    best=$(dirname "$(command -v initdb)")
  fi
  printf '%s' "$best"
}

bindir=$(find_bindir)
if [ -z "$bindir" ] && [ "$action" = start ]; then
  log "PostgreSQL server binaries not found; installing postgresql"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql postgresql-client
  bindir=$(find_bindir)
  [ -n "$bindir" ] || { log "still no initdb after installing postgresql"; exit 1; }
fi

# --- running as the right OS user ----------------------------------------------
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || { log "running as root but there is no 'postgres' user"; exit 1; }
  as_pg() {
    if command -v runuser >/dev/null 2>&1; then
      runuser -u postgres -- "$@"
    else
      su -s /bin/sh postgres -c "$(printf '%q ' "$@")"
    fi
  }
  own() { chown postgres: "$@"; }
else
  as_pg() { "$@"; }
  own() { :; }
fi

# The data and socket folders live in STATE_DIR when the server's user can
# reach it and the socket path is short enough; otherwise in a folder under
# /tmp whose path is recorded in STATE_DIR/base.
base_dir() {
  if [ -f "$state/base" ]; then cat "$state/base"; else printf '%s' "$state"; fi
}

stop_server() {
  [ -d "$state" ] || return 0
  local base
  base=$(base_dir)
  if [ -f "$base/data/postmaster.pid" ] && [ -n "$bindir" ]; then
    as_pg "$bindir/pg_ctl" stop -D "$base/data" -m immediate -w -t 30 >/dev/null 2>&1 || true
  fi
  [ "$base" != "$state" ] && [ -n "$base" ] && [ "$base" != / ] && rm -rf -- "$base"
  rm -rf -- "$state"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_server() {
  stop_server # a leftover from an interrupted run
  mkdir -p "$state"
  state=$(cd "$state" && pwd)

  local base=$state
  own "$state"
  if ! as_pg test -w "$state" || [ ${#state} -gt 80 ]; then
    base=$(mktemp -d /tmp/luamig-pg.XXXXXX)
    own "$base"
    printf '%s' "$base" >"$state/base"
  fi
  local data=$base/data sock=$base/socket pwfile=$base/pwfile logfile=$base/server.log
  as_pg mkdir -p "$sock"
  (umask 077 && printf '%s\n' "$PG_PASSWORD" >"$pwfile")
  own "$pwfile"

  log "initdb in $data"
  if ! as_pg "$bindir/initdb" -D "$data" -U "$PG_USER" --pwfile="$pwfile" \
    --auth=scram-sha-256 -E UTF8 --locale=C --no-sync >"$base/initdb.log" 2>&1; then
    cat "$base/initdb.log" >&2
    rm -f "$pwfile"
    exit 1
  fi
  rm -f "$pwfile"

  cat >>"$data/postgresql.conf" <<CONF

# luamig test server
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sock'
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
CONF

  local port=$FIRST_PORT tries=0
  while :; do
    tries=$((tries + 1))
    [ $tries -le $PORT_TRIES ] || { log "no free port from $FIRST_PORT upward"; exit 1; }
    if port_in_use "$port"; then
      port=$((port + 1))
      continue
    fi
    as_pg rm -f "$logfile"
    if as_pg "$bindir/pg_ctl" start -D "$data" -l "$logfile" -o "-p $port" -w -t 60 >/dev/null 2>&1; then
      break
    fi
    if grep -qiE 'could not (bind|create listen)|address already in use|lock file .* already exists' "$logfile" 2>/dev/null; then
      log "port $port taken meanwhile; trying the next one"
      as_pg "$bindir/pg_ctl" stop -D "$data" -m immediate >/dev/null 2>&1 || true
      port=$((port + 1))
      continue
    fi
    log "the server did not start; its log:"
    cat "$logfile" >&2 || true
    exit 1
  done

  local pg_isready=$bindir/pg_isready
  [ -x "$pg_isready" ] || pg_isready=pg_isready
  for _ in $(seq 1 60); do
    if "$pg_isready" -q -h 127.0.0.1 -p "$port" -U "$PG_USER" -d postgres; then
      cat >"$state/env" <<ENV
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=$PG_USER PGPASSWORD='$PG_PASSWORD' PGDATABASE=postgres LM_PG_PORT=$port
ENV
      log "PostgreSQL ready on 127.0.0.1:$port (source $state/env)"
      return 0
    fi
    sleep 0.5
  done
  log "the server never became ready; its log:"
  cat "$logfile" >&2 || true
  exit 1
}

case "$action" in
start) start_server ;;
stop) stop_server && log "stopped; removed $state" ;;
*) usage ;;
esac
