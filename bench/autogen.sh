#!/usr/bin/env bash
# bench/autogen.sh [TABLES]: autogenerate and check --drift on a schema of
# TABLES tables (default 500; each with 6 columns, a foreign key to the
# previous table, a server default, an index and a check), against `luamig
# schema` reading the same database: the ratios are what to quote.
#
#   LUAMIG=build/luamig   the binary (build it first)
#   RUNS=5                runs of each command; the median is printed
#   PG_URL=postgresql://… also on PostgreSQL (e.g. after
#                         `bash tests/pg_server.sh start /tmp/benchpg && . /tmp/benchpg/env`,
#                         PG_URL=postgresql://luamig:$PGPASSWORD@127.0.0.1:$PGPORT/postgres);
#                         a database luamig_bench_autogen is made and dropped there
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LUAMIG=${LUAMIG:-$root/build/luamig}
LUAMIG=$(cd "$(dirname "$LUAMIG")" && pwd)/$(basename "$LUAMIG")
TABLES=${1:-500}
RUNS=${RUNS:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/luamig-bench-autogen.XXXXXX")
trap 'rm -rf "$work"' EXIT

model() {
  local i
  for ((i = 1; i <= TABLES; i++)); do
    printf 'table("t%04d",\n' "$i"
    printf '  column("id", "integer", { primary_key = true }),\n'
    if ((i > 1)); then
      printf '  column("parent_id", "integer", { references = "t%04d.id", ondelete = "CASCADE" }),\n' $((i - 1))
    else
      printf '  column("parent_id", "integer"),\n'
    fi
    printf '  column("name", "string(100)", { nullable = false }),\n'
    printf '  column("status", "string(20)", { nullable = false, server_default = "new" }),\n'
    printf '  column("amount", "numeric(10,2)", { server_default = 0 }),\n'
    printf '  column("created_at", "timestamptz", { nullable = false, server_default = sql("CURRENT_TIMESTAMP") }),\n'
    printf '  index("ix_t%04d_name", { "name" }, { unique = true }),\n' "$i"
    printf '  check("amount >= 0", { name = "ck_t%04d_amount" }))\n' "$i"
  done
}

# median seconds of RUNS runs of a command
median() {
  local times=() t TIMEFORMAT=%R
  for ((r = 0; r < RUNS; r++)); do
    t=$( { time "$@" >/dev/null 2>/dev/null; } 2>&1 | tail -n 1)
    times+=("$t")
  done
  printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((RUNS + 1) / 2))p"
}

run_dialect() {
  local name=$1 url=$2 dir=$work/$1
  mkdir -p "$dir/versions"
  cd "$dir"
  printf 'return { versions = { "versions" }, model = "schema.lua" }\n' >luamig.lua
  model >schema.lua
  export DATABASE_URL=$url
  "$LUAMIG" -q revision --autogenerate -m "all tables" >/dev/null
  "$LUAMIG" -q upgrade head
  local s a d
  s=$(median "$LUAMIG" schema)
  a=$(median "$LUAMIG" revision --autogenerate -m nothing)
  d=$(median "$LUAMIG" check --drift)
  printf '%-11s %6s tables: schema %6ss  autogenerate %6ss (%sx)  check --drift %6ss (%sx)\n' "$name" "$TABLES" \
    "$s" "$a" "$(awk -v a="$a" -v s="$s" 'BEGIN { printf("%.2f", (s > 0 ? a / s : 0)) }')" \
    "$d" "$(awk -v a="$d" -v s="$s" 'BEGIN { printf("%.2f", (s > 0 ? a / s : 0)) }')"
  unset DATABASE_URL
  cd "$root"
}

run_dialect sqlite "sqlite:///$work/bench.db"
if [ -n "${PG_URL:-}" ]; then
  base=${PG_URL%/*}
  psql -X -q -d "$PG_URL" -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS luamig_bench_autogen" \
    -c "CREATE DATABASE luamig_bench_autogen"
  run_dialect postgresql "$base/luamig_bench_autogen"
  psql -X -q -d "$PG_URL" -c "DROP DATABASE IF EXISTS luamig_bench_autogen"
fi
