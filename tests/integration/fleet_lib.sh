# shellcheck shell=bash
# fleet_lib.sh: helpers of test_fleet.sh and test_fleet_sources.sh (sourced
# after lib.sh).

N_SQLITE=22
N_PG=10
N_SCHEMAS=10

if is_pg; then
  printf '%s:%s:*:luamig:%s\n' "$LM_PG_HOST" "$LM_PG_PORT" "$LM_PASSWORD" >"$LM_TMP/pgpass"
  chmod 600 "$LM_TMP/pgpass"
  export PGPASSFILE=$LM_TMP/pgpass
fi

# nopw_url DB: a URL of the test server without the password.
nopw_url() { printf 'postgresql://luamig@%s:%s/%s' "$LM_PG_HOST" "$LM_PG_PORT" "$1"; }

# The fleet of the current project: names in listed order and, for each, a
# URL db_query can use (with the password on PostgreSQL).
declare -a T_NAMES T_URLS

# pg_pool N: PG_POOL holds N empty databases. Made once (createdb is slow on a
# loaded machine) and emptied for each new fleet.
declare -a PG_POOL=()
pg_pool() {
  local i
  for i in "${!PG_POOL[@]}"; do
    [ "$i" -lt "$1" ] || break
    db_query "DROP SCHEMA public CASCADE; CREATE SCHEMA public;" "${PG_POOL[$i]}" >/dev/null ||
      _lm_harness_error "cannot empty ${PG_POOL[$i]}"
  done
  while [ "${#PG_POOL[@]}" -lt "$1" ]; do PG_POOL+=("$(fresh_url)"); done
}

# fleet_project N: a new project with the chain R1 <- R2 <- R3 and N targets
# t01..tNN: SQLite files data/tNN.db found by the glob of group local_*, or
# PostgreSQL databases listed one by one.
fleet_project() {
  local n=$1 i name
  new_project --no-url
  chain3
  T_NAMES=() T_URLS=()
  if is_pg; then
    local entries="" url db
    pg_pool "$n"
    for i in $(seq 1 "$n"); do
      name=$(printf 't%02d' "$i")
      url=${PG_POOL[$((i - 1))]}
      db=$(pg_dbname "$url")
      T_NAMES+=("$name")
      T_URLS+=("$url")
      entries+="    { name = \"$name\", url = \"$(nopw_url "$db")\" },"$'\n'
    done
    printf 'return {\n  versions = { "versions" },\n  targets = {\n%s  },\n}\n' "$entries" >luamig.lua
  else
    mkdir -p data
    for i in $(seq 1 "$n"); do
      name=$(printf 't%02d' "$i")
      : >"data/$name.db"
      T_NAMES+=("$name")
      T_URLS+=("sqlite:///$PROJECT/data/$name.db")
    done
    cat >luamig.lua <<'EOF'
return {
  versions = { "versions" },
  targets = {
    { name = "local_*", glob = "data/*.db" },
  },
}
EOF
  fi
}

# versions_of I: the revisions in target I's version table, sorted, on one line.
versions_of() {
  local url=${T_URLS[$1]}
  if is_pg; then
    db_query "SELECT string_agg(revision, ' ' ORDER BY revision) FROM luamig_version" "$url" 2>/dev/null
  else
    db_query "SELECT group_concat(revision, ' ') FROM (SELECT revision FROM luamig_version ORDER BY revision)" "$url" 2>/dev/null
  fi
}

# break_target I: target I gets a table t_two, so that R2 fails there.
break_target() { db_query "CREATE TABLE t_two (x integer)" "${T_URLS[$1]}" >/dev/null; }
fix_target() { db_query "DROP TABLE t_two" "${T_URLS[$1]}" >/dev/null; }

# expect_all_at VERSIONS WHAT: every target's version table lists VERSIONS.
expect_all_at() {
  local i bad=""
  for i in "${!T_NAMES[@]}"; do
    [ "$(versions_of "$i")" = "$1" ] || bad+="${T_NAMES[$i]}=$(versions_of "$i") "
  done
  [ -z "$bad" ]
  _check $? "$2: every target should have '$1' applied; not: $bad"
}

# expect_json_report KIND... : stdout is one JSON document; python checks it.
expect_json() {
  local got
  got=$(python3 -c "import json,sys
d = json.load(sys.stdin)
$1" <<<"$LM_OUT" 2>&1)
  _check $? "the --json document should satisfy: $1" "$got"
}

