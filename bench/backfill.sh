#!/usr/bin/env bash
# op.backfill against a plain UPDATE, and op.rows' memory.
#
#   bench/backfill.sh [ROWS]     (default 1000000)
#
# Environment:
#   LUAMIG        the binary (default build/luamig)
#   BATCH         batch_size of the backfills (default 1000)
#   BIG_ROWS      rows op.rows reads for the memory figure (default 10000000;
#                 0 skips the memory figures)
#   LUAMIG_OLD    a second binary (e.g. a build of an older commit): (b) and
#                 (c) also run with it, in the same run, for before/after
#   FK_ROWS       SQLite: rows of the table referencing users in the
#                 foreign-key figure (default 1000000; 0 skips it): the SET
#                 form over 100,000 users in 100 batches, with and without
#                 orders(FK_ROWS rows) referencing users
#   BENCH_PG_URL  a PostgreSQL URL to run the PostgreSQL half on; without it
#                 the PG* variables (PGHOST, PGPORT, PGUSER, PGPASSWORD) are
#                 used when PGHOST is set. tests/pg_server.sh start DIR makes
#                 a throwaway server: `. DIR/env` then run this script.
#                 A database luamig_bench_<pid> is created there and dropped.
#
# For each dialect, on a table users(id, username, first_name, last_name) of
# ROWS rows, the same split of username on its first underscore runs
#   (a) as one UPDATE in the sqlite3 / psql shell,
#   (a') as ROWS/BATCH batches in the shell, each a transaction of the SELECT
#       and UPDATE luamig sends (what batching itself costs, without luamig),
#   (b) as op.backfill's SET form (batches of BATCH, a transaction each),
#   (c) as op.backfill's Lua-function form,
# each on a fresh copy of the table, and the three results are compared.
# Then op.rows walks ROWS and BIG_ROWS rows and op.query materialises ROWS
# rows under /usr/bin/time -v, for their peak memory.
set -euo pipefail

ROWS=${1:-1000000}
BATCH=${BATCH:-1000}
BIG_ROWS=${BIG_ROWS:-10000000}
here=$(cd "$(dirname "$0")/.." && pwd)
LUAMIG=${LUAMIG:-$here/build/luamig}
[ -x "$LUAMIG" ] || { echo "no luamig binary at $LUAMIG (build it first)" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "the sqlite3 shell is needed" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time is needed for the memory figures" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/luamig-bench-backfill.XXXXXX")
pg_db=""
cleanup() {
  if [ -n "$pg_db" ]; then psql_admin -q -c "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
# peak RSS in MB of a command's /usr/bin/time -v report
peak_mb() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }

# usernames: most "firstN_lastN", every tenth without an underscore
SQLITE_FIRST="CASE WHEN instr(username, '_') > 0 THEN substr(username, 1, instr(username, '_') - 1) ELSE username END"
SQLITE_LAST="CASE WHEN instr(username, '_') > 0 THEN substr(username, instr(username, '_') + 1) ELSE '' END"
PG_FIRST="split_part(username, '_', 1)"
PG_LAST="CASE WHEN strpos(username, '_') > 0 THEN substr(username, strpos(username, '_') + 1) ELSE '' END"

# project DIR URL BODY: a luamig project whose one revision has a single step
# "backfill" running BODY, so that its batches commit one by one.
project() {
  mkdir -p "$1/versions"
  printf 'return { url = "%s", versions = { "versions" } }\n' "$2" >"$1/luamig.lua"
  cat >"$1/versions/bf1_backfill.lua" <<LUA
revision = "bf1"
down_revision = nil
steps = {
  { name = "backfill",
    up = function()
$3
    end,
    down = function() end },
}
LUA
}

sql_form() {
  printf '      op.backfill("users", { set = { first_name = op.sql([[%s]]), last_name = op.sql([[%s]]) }, where = "first_name IS NULL", batch_size = %s })' \
    "$1" "$2" "$BATCH"
}

lua_form() {
  cat <<LUA
      op.backfill("users", { columns = { "username" }, where = "first_name IS NULL", batch_size = $BATCH },
        function(row)
          local first, last = row.username:match("^([^_]*)_(.*)\$")
          if not first then first, last = row.username, "" end
          return { first_name = first, last_name = last }
        end)
LUA
}

rows_body() {
  cat <<LUA
      local n, bytes = 0, 0
      for row in op.rows("SELECT id, username FROM $1") do
        n = n + 1
        bytes = bytes + #row.username
      end
      print("op.rows read " .. n .. " rows")
LUA
}

query_body() {
  cat <<LUA
      local rows = op.query("SELECT id, username FROM $1")
      print("op.query read " .. #rows .. " rows")
LUA
}

# run_luamig LABEL DIR: times `luamig upgrade head` in DIR; sets T (seconds)
# and LONGEST (the longest batch, from the backfill's summary line).
run_luamig() {
  local t0 t1
  t0=$(now)
  (cd "$2" && "$LUAMIG" upgrade head >"$work/$1.out" 2>"$work/$1.err") || {
    echo "luamig failed ($1):" >&2
    cat "$work/$1.err" >&2
    exit 1
  }
  t1=$(now)
  T=$(secs "$t0" "$t1")
  LONGEST=$(sed -n 's/.*longest batch \([0-9]*\) ms.*/\1/p' "$work/$1.err" | tail -n 1)
}

# memory LABEL DIR: peak RSS of `luamig upgrade head` in DIR; sets MB and T.
memory() {
  local t0 t1
  t0=$(now)
  (cd "$2" && /usr/bin/time -v "$LUAMIG" upgrade head >"$work/$1.out" 2>"$work/$1.err") || {
    echo "luamig failed ($1):" >&2
    tail -n 30 "$work/$1.err" >&2
    exit 1
  }
  t1=$(now)
  T=$(secs "$t0" "$t1")
  MB=$(peak_mb "$work/$1.err")
}

# batches_sql FIRST LAST: the statements luamig's SET form sends, as a script
# (ids are 1..ROWS, so every batch is one id range).
batches_sql() {
  local lo=0 begin=$3
  while [ "$lo" -lt "$ROWS" ]; do
    printf '%s;\nSELECT count(*) FROM (SELECT id FROM users WHERE id > %d AND (first_name IS NULL) ORDER BY id LIMIT %d) s;\n' \
      "$begin" "$lo" "$BATCH"
    printf 'UPDATE users SET first_name = %s, last_name = %s WHERE (first_name IS NULL) AND id > %d AND id <= %d;\nCOMMIT;\n' \
      "$1" "$2" "$lo" $((lo + BATCH))
    lo=$((lo + BATCH))
  done
}

report_backfill() { # DIALECT PLAIN BATCHED SQL_T SQL_LONGEST LUA_T LUA_LONGEST
  printf '\n%s, %s rows, batch_size %s\n' "$1" "$ROWS" "$BATCH"
  printf '  (a)  one UPDATE in the shell        %8s s\n' "$2"
  printf "  (a') the same batches in the shell  %8s s   %5sx (a)\n" "$3" "$(ratio "$3" "$2")"
  printf '  (b)  op.backfill, SET form          %8s s   %5sx (a)   longest batch %s ms\n' "$4" "$(ratio "$4" "$2")" "$5"
  printf '  (c)  op.backfill, Lua function      %8s s   %5sx (a)   longest batch %s ms\n' "$6" "$(ratio "$6" "$2")" "$7"
  if [ -n "${OLD_SQL_T:-}" ]; then
    printf '  (b)  SET form, LUAMIG_OLD           %8s s   %5sx (a)   longest batch %s ms\n' "$OLD_SQL_T" "$(ratio "$OLD_SQL_T" "$2")" "$OLD_SQL_LONG"
    printf '  (c)  Lua function, LUAMIG_OLD       %8s s   %5sx (a)   longest batch %s ms\n' "$OLD_LUA_T" "$(ratio "$OLD_LUA_T" "$2")" "$OLD_LUA_LONG"
  fi
}

# run_old LABEL DIR RESET CHECK WANT: (b) or (c) again with LUAMIG_OLD, after
# RESET (a command) gives it a fresh table; sets T and LONGEST
run_old() {
  local keep=$LUAMIG
  $3
  LUAMIG=$LUAMIG_OLD
  run_luamig "$1" "$2"
  LUAMIG=$keep
  [ "$($4)" = "$5" ] || { echo "$1: result differs" >&2; exit 1; }
}

# ---------------------------------------------------------------------------
# SQLite

echo "luamig backfill benchmark: $("$LUAMIG" --version 2>/dev/null | head -n 1), sqlite3 $(sqlite3 --version | cut -d' ' -f1)"
echo "making $ROWS rows (SQLite)..."
sqlite3 base.db >/dev/null <<SQL
PRAGMA journal_mode = DELETE;
CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL, first_name TEXT, last_name TEXT);
WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < $ROWS)
INSERT INTO users (id, username)
SELECT x, CASE WHEN x % 10 = 0 THEN 'solo' || x ELSE 'first' || x || '_last_' || x END FROM s;
SQL

check_sqlite() { sqlite3 "$1" "SELECT count(*), sum(length(first_name)), sum(length(last_name)) FROM users WHERE first_name IS NOT NULL"; }

cp base.db a.db
t0=$(now)
sqlite3 a.db "UPDATE users SET first_name = $SQLITE_FIRST, last_name = $SQLITE_LAST WHERE first_name IS NULL"
t1=$(now)
plain=$(secs "$t0" "$t1")
want=$(check_sqlite a.db)

cp base.db a2.db
batches_sql "$SQLITE_FIRST" "$SQLITE_LAST" "BEGIN IMMEDIATE" >batches.sql
t0=$(now)
sqlite3 a2.db <batches.sql >/dev/null
t1=$(now)
batched=$(secs "$t0" "$t1")
[ "$(check_sqlite a2.db)" = "$want" ] || { echo "batched script result differs" >&2; exit 1; }

project sb "sqlite:///$work/b.db" "$(sql_form "$SQLITE_FIRST" "$SQLITE_LAST")"
cp base.db b.db
run_luamig sqlite-sql "$work/sb"
sql_t=$T sql_long=$LONGEST
[ "$(check_sqlite b.db)" = "$want" ] || { echo "SQL form result differs: $(check_sqlite b.db) vs $want" >&2; exit 1; }

project sc "sqlite:///$work/c.db" "$(lua_form)"
cp base.db c.db
run_luamig sqlite-lua "$work/sc"
lua_t=$T lua_long=$LONGEST
[ "$(check_sqlite c.db)" = "$want" ] || { echo "Lua form result differs: $(check_sqlite c.db) vs $want" >&2; exit 1; }
if [ -n "${LUAMIG_OLD:-}" ]; then
  rm -f b.db c.db
  run_old sqlite-sql-old "$work/sb" "cp base.db b.db" "check_sqlite b.db" "$want"
  OLD_SQL_T=$T OLD_SQL_LONG=$LONGEST
  run_old sqlite-lua-old "$work/sc" "cp base.db c.db" "check_sqlite c.db" "$want"
  OLD_LUA_T=$T OLD_LUA_LONG=$LONGEST
fi
rm -f a.db a2.db b.db c.db
report_backfill SQLite "$plain" "$batched" "$sql_t" "$sql_long" "$lua_t" "$lua_long"
unset OLD_SQL_T

# The foreign-key check before each batch's COMMIT: the same backfill of
# 100,000 users in 100 batches, alone and with orders(FK_ROWS) referencing
# users. Only what a transaction could have broken is checked, and the
# batches update columns no foreign key uses.
FK_ROWS=${FK_ROWS:-1000000}
if [ "$FK_ROWS" -gt 0 ]; then
  echo "making 100000 users and $FK_ROWS orders (SQLite)..."
  sqlite3 fk0.db >/dev/null <<SQL
PRAGMA journal_mode = DELETE;
CREATE TABLE users (id INTEGER PRIMARY KEY, username TEXT NOT NULL, first_name TEXT, last_name TEXT);
WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 100000)
INSERT INTO users (id, username)
SELECT x, CASE WHEN x % 10 = 0 THEN 'solo' || x ELSE 'first' || x || '_last_' || x END FROM s;
SQL
  cp fk0.db fk1.db
  sqlite3 fk1.db >/dev/null <<SQL
CREATE TABLE orders (id INTEGER PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), total INTEGER);
WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < $FK_ROWS)
INSERT INTO orders (id, user_id, total) SELECT x, 1 + x % 100000, x FROM s;
SQL
  fk_form() {
    printf '      op.backfill("users", { set = { first_name = op.sql([[%s]]), last_name = op.sql([[%s]]) }, where = "first_name IS NULL", batch_size = 1000 })' \
      "$SQLITE_FIRST" "$SQLITE_LAST"
  }
  fk_run() { # LABEL BINARY DB
    cp "$3.db" "$1.db"
    project "$1" "sqlite:///$work/$1.db" "$(fk_form)"
    local keep=$LUAMIG
    LUAMIG=$2
    run_luamig "$1" "$work/$1"
    LUAMIG=$keep
    rm -f "$1.db"
  }
  printf '\nSQLite, foreign-key check: SET form over 100,000 users, 100 batches\n'
  for bin in "$LUAMIG" ${LUAMIG_OLD:+"$LUAMIG_OLD"}; do
    fk_run fkn "$bin" fk0
    t0=$T
    fk_run fkr "$bin" fk1
    printf '  %s: without orders %6s s, with orders(%s rows) referencing users %6s s: %5sx\n' \
      "$([ "$bin" = "$LUAMIG" ] && echo LUAMIG || echo LUAMIG_OLD)" "$t0" "$FK_ROWS" "$T" "$(ratio "$T" "$t0")"
  done
  rm -f fk0.db fk1.db
fi

if [ "$BIG_ROWS" -gt 0 ]; then
echo "making $BIG_ROWS rows (SQLite)..."
sqlite3 big.db <<SQL
CREATE TABLE big (id INTEGER PRIMARY KEY, username TEXT NOT NULL);
WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < $BIG_ROWS)
INSERT INTO big (id, username) SELECT x, 'first' || x || '_last_' || x FROM s;
SQL
cp base.db r1.db
project r1 "sqlite:///$work/r1.db" "$(rows_body users)"
memory sqlite-rows-small "$work/r1"
small_mb=$MB small_t=$T
project r2 "sqlite:///$work/big.db" "$(rows_body big)"
memory sqlite-rows-big "$work/r2"
big_mb=$MB big_t=$T
cp base.db r3.db
project r3 "sqlite:///$work/r3.db" "$(query_body users)"
memory sqlite-query "$work/r3"
printf '\nSQLite, peak memory (maximum resident set size of the luamig process)\n'
printf '  op.rows over %9s rows    %7s MB   %6s s\n' "$ROWS" "$small_mb" "$small_t"
printf '  op.rows over %9s rows    %7s MB   %6s s\n' "$BIG_ROWS" "$big_mb" "$big_t"
printf '  op.query of  %9s rows    %7s MB   %6s s   (materialised, for contrast)\n' "$ROWS" "$MB" "$T"
rm -f big.db r1.db r3.db
fi

# ---------------------------------------------------------------------------
# PostgreSQL

psql_admin() { PGOPTIONS='-c client_min_messages=warning' psql -X -v ON_ERROR_STOP=1 ${BENCH_PG_URL:+-d "$BENCH_PG_URL"} "$@"; }

if [ -z "${BENCH_PG_URL:-}" ] && [ -z "${PGHOST:-}" ]; then
  printf '\nPostgreSQL: skipped (set BENCH_PG_URL, or PGHOST and friends)\n'
  exit 0
fi
if ! psql_admin -qAt -c "SELECT 1" >/dev/null 2>&1; then
  printf '\nPostgreSQL: skipped (cannot connect)\n'
  exit 0
fi
pg_db=luamig_bench_$$
psql_admin -q -c "CREATE DATABASE $pg_db" >/dev/null
if [ -n "${BENCH_PG_URL:-}" ]; then
  base=${BENCH_PG_URL%%\?*}
  pg_url="${base%/*}/$pg_db"
else
  pg_url="postgresql://${PGUSER:-$USER}${PGPASSWORD:+:$PGPASSWORD}@$PGHOST:${PGPORT:-5432}/$pg_db"
fi
pg() { PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d "$pg_url" "$@"; }
echo "PostgreSQL $(pg -At -c 'SHOW server_version')"

pg_fresh() {
  pg <<SQL
DROP TABLE IF EXISTS users;
DROP TABLE IF EXISTS luamig_version;
CREATE TABLE users (id integer PRIMARY KEY, username text NOT NULL, first_name text, last_name text);
INSERT INTO users (id, username)
SELECT x, CASE WHEN x % 10 = 0 THEN 'solo' || x ELSE 'first' || x || '_last_' || x END
  FROM generate_series(1, $ROWS) AS x;
VACUUM ANALYZE users;
CHECKPOINT;
SQL
}
check_pg() { pg -At -c "SELECT count(*) || '|' || sum(length(first_name)) || '|' || sum(length(last_name)) FROM users WHERE first_name IS NOT NULL"; }

echo "making $ROWS rows (PostgreSQL)..."
pg_fresh
t0=$(now)
pg -c "UPDATE users SET first_name = $PG_FIRST, last_name = $PG_LAST WHERE first_name IS NULL"
t1=$(now)
plain=$(secs "$t0" "$t1")
want=$(check_pg)

pg_fresh
batches_sql "$PG_FIRST" "$PG_LAST" "BEGIN" >batches.sql
t0=$(now)
pg -f batches.sql >/dev/null
t1=$(now)
batched=$(secs "$t0" "$t1")
[ "$(check_pg)" = "$want" ] || { echo "batched script result differs" >&2; exit 1; }

project pb "$pg_url" "$(sql_form "$PG_FIRST" "$PG_LAST")"
pg_fresh
run_luamig pg-sql "$work/pb"
sql_t=$T sql_long=$LONGEST
[ "$(check_pg)" = "$want" ] || { echo "SQL form result differs: $(check_pg) vs $want" >&2; exit 1; }

project pc "$pg_url" "$(lua_form)"
pg_fresh
run_luamig pg-lua "$work/pc"
lua_t=$T lua_long=$LONGEST
[ "$(check_pg)" = "$want" ] || { echo "Lua form result differs: $(check_pg) vs $want" >&2; exit 1; }
if [ -n "${LUAMIG_OLD:-}" ]; then
  run_old pg-sql-old "$work/pb" pg_fresh check_pg "$want"
  OLD_SQL_T=$T OLD_SQL_LONG=$LONGEST
  run_old pg-lua-old "$work/pc" pg_fresh check_pg "$want"
  OLD_LUA_T=$T OLD_LUA_LONG=$LONGEST
fi
report_backfill PostgreSQL "$plain" "$batched" "$sql_t" "$sql_long" "$lua_t" "$lua_long"

[ "$BIG_ROWS" -gt 0 ] || exit 0
echo "making $BIG_ROWS rows (PostgreSQL)..."
pg <<SQL
DROP TABLE IF EXISTS luamig_version;
CREATE TABLE big (id integer PRIMARY KEY, username text NOT NULL);
INSERT INTO big (id, username) SELECT x, 'first' || x || '_last_' || x FROM generate_series(1, $BIG_ROWS) AS x;
VACUUM ANALYZE big;
SQL
project q1 "$pg_url" "$(rows_body users)"
memory pg-rows-small "$work/q1"
small_mb=$MB small_t=$T
pg -c "DROP TABLE luamig_version"
project q2 "$pg_url" "$(rows_body big)"
memory pg-rows-big "$work/q2"
big_mb=$MB big_t=$T
pg -c "DROP TABLE luamig_version"
project q3 "$pg_url" "$(query_body users)"
memory pg-query "$work/q3"
printf '\nPostgreSQL, peak memory (maximum resident set size of the luamig process)\n'
printf '  op.rows over %9s rows    %7s MB   %6s s\n' "$ROWS" "$small_mb" "$small_t"
printf '  op.rows over %9s rows    %7s MB   %6s s\n' "$BIG_ROWS" "$big_mb" "$big_t"
printf '  op.query of  %9s rows    %7s MB   %6s s   (materialised, for contrast)\n' "$ROWS" "$MB" "$T"
