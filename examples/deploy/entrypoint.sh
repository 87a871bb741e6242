#!/bin/sh
# Container entrypoint: wait for the database, migrate it to head, then run
# the application in place of this script (exec: it gets the signals and the
# container's exit status).
#
#   entrypoint.sh [APP ARGS...]     with no APP, migrate and exit (an init container)
#
# Environment:
#   DATABASE_URL           the database (required; luamig masks its password)
#   LUAMIG_CONFIG          the project configuration (default luamig.lua)
#   LUAMIG_WAIT_TIMEOUT    seconds to wait for the database (default 60)
#   LUAMIG_WAIT_INTERVAL   seconds between attempts (default 2)
#   LUAMIG                 the luamig command (default luamig)
#   PGCONNECT_TIMEOUT      seconds one PostgreSQL connection attempt may take (default 5)
set -eu

luamig=${LUAMIG:-luamig}
config=${LUAMIG_CONFIG:-luamig.lua}
timeout=${LUAMIG_WAIT_TIMEOUT:-60}
interval=${LUAMIG_WAIT_INTERVAL:-2}
export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-5}"

log() { printf 'entrypoint: %s\n' "$*" >&2; }

if [ -z "${DATABASE_URL:-}" ]; then
  log "DATABASE_URL is not set: give the container the database URL (from a secret)"
  exit 2
fi

# Wait until luamig can connect and read the version table. Exit status 1 is
# "the database is not there yet": try again until the timeout. Anything else
# (2: a bad configuration or revision file) will not get better by waiting.
# A SQLite database is a file: before the first deploy it does not exist,
# and 'upgrade' creates it once its folder (a volume) is there.
sqlite_path=
case $DATABASE_URL in
sqlite:///*)
  sqlite_path=${DATABASE_URL#sqlite:///}
  sqlite_path=${sqlite_path%%\?*}
  ;;
esac
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
start=$(date +%s)
while :; do
  status=0
  "$luamig" -c "$config" current >/dev/null 2>"$errors" || status=$?
  [ "$status" -eq 0 ] && break
  if [ "$status" -eq 2 ] && [ -n "$sqlite_path" ] && [ ! -e "$sqlite_path" ] &&
    grep -q 'SQLite database .* does not exist' "$errors"; then
    [ -d "$(dirname "$sqlite_path")" ] && break
    status=1 # its folder is not mounted yet: wait
  fi
  if [ "$status" -ne 1 ]; then
    log "luamig cannot start (exit $status):"
    cat "$errors" >&2
    exit "$status"
  fi
  elapsed=$(($(date +%s) - start))
  if [ "$elapsed" -ge "$timeout" ]; then
    log "the database did not answer within ${timeout}s; the last attempt said:"
    cat "$errors" >&2
    exit 1
  fi
  log "waiting for the database (${elapsed}s of ${timeout}s)"
  sleep "$interval"
done

log "the database is up; upgrading to head"
"$luamig" -c "$config" upgrade head

if [ "$#" -eq 0 ]; then
  log "migrated; no application to start"
  exit 0
fi
rm -f "$errors"
trap - EXIT
exec "$@"
