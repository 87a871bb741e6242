#!/usr/bin/env bash
# Many databases (SPEC §11): `targets` in luamig.lua and --all / --target /
# --jobs / --canary / --keep-going on upgrade, downgrade, stamp and current.
#
# Both dialects run the same fleet cases on a fleet of their own: on SQLite
# $N_SQLITE files listed by a glob, on PostgreSQL $N_PG databases listed one
# by one in luamig.lua. Then each dialect's own ways of listing targets: a
# PostgreSQL directory database (query) and the schemas of one database
# (schemas), and on SQLite the bad target lists (exit 2), lint's
# credentials-in-config rule on targets and the progress bar on a terminal.
#
# luamig.lua never holds a password: on PostgreSQL it comes from a pgpass
# file (PGPASSFILE), and lib.sh checks that the password is never printed.
# No assertion is about timings.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N_SQLITE=22
N_PG=11
N_SCHEMAS=12

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

N=$N_SQLITE
is_pg && N=$N_PG
ALL_AT="$R1 $R2 $R3"

# ---------------------------------------------------------------------------
t_case "upgrade head --all on $N targets, then a rerun touches none"
fleet_project "$N"
lm upgrade head --all
expect_exit 0
expect_out_count "$N" "^t[0-9]{2}: upgraded base -> $R3 \\(3 revisions, [0-9]+ ms\\)$"
expect_out_contains "$N targets: $N upgraded"
expect_all_at "$ALL_AT" "after upgrade --all"
expect_table t_three "${T_URLS[0]}"
lm upgrade head --all
expect_exit 0
expect_out_count "$N" "^t[0-9]{2}: already at head$"
expect_out_contains "$N targets: $N already at head"

t_case "current --all: one line per target and a count per revision"
lm downgrade "$R1" --target t01 --target t02
expect_exit 0
expect_out_count 2 "^t0[12]: downgraded $R3 -> $R1 \\(2 revisions, [0-9]+ ms\\)$"
expect_out_contains "2 targets: 2 downgraded"
lm current --all
expect_exit 0
expect_out_count "$N" "^t[0-9]{2}: "
expect_out_contains "t01: $R1"
expect_out_contains "t03: $R3 (head)"
expect_out_contains "$R3 (head): $((N - 2)) targets"
expect_out_contains "$R1: 2 targets"
lm current --all --json
expect_exit 0
expect_json "assert len(d['targets']) == $N, d
assert d['revisions'] == {'$R3 (head)': $N - 2, '$R1': 2}, d['revisions']
assert [t['heads'] for t in d['targets'] if t['name'] == 't01'] == [['$R1']]"

t_case "--target globs and group names"
lm upgrade head --target 't0*'
expect_exit 0
expect_out_contains "9 targets: 2 upgraded, 7 already at head"
lm stamp "$R2" --target 't1*' --jobs 2
expect_exit 0
expect_out_contains "t10: stamped $R2 (was $R3)"
expect_eq "$(versions_of 9)" "$R1 $R2" "t10 after stamp"
lm stamp head --target 't1*'
expect_exit 0
lm upgrade head --target nosuch
expect_exit 2
expect_err_contains "--target nosuch selects no target of luamig.lua"
lm upgrade head --all --target t01
expect_exit 2
expect_err_contains "exclude each other"
lm upgrade head --jobs 2
expect_exit 2
expect_err_contains "need --all or --target"
lm upgrade head --all --jobs 0
expect_exit 2
expect_err_contains "--jobs needs a whole number"
lm upgrade head --all --sql
expect_exit 2
if is_sqlite; then
  lm current --target 'local_*'
  expect_exit 0
  expect_out_count "$N" "^t[0-9]{2}: "
fi

t_case "--json: one document with every target's result"
lm upgrade head --all --json
expect_exit 0
expect_json "assert d['command'] == 'upgrade' and d['target'] == 'head'
assert len(d['targets']) == $N
s = d['summary']
assert s['targets'] == $N and s['upgraded'] + s['unchanged'] == $N and s['failed'] == 0, s
up = [t for t in d['targets'] if t['status'] == 'upgraded']
assert len(up) == s['upgraded'] and all(t['to'] == ['$R3'] for t in up), up"

# ---------------------------------------------------------------------------
t_case "a failing target stops new starts (no --keep-going)"
fleet_project "$N"
break_target 2
lm upgrade head --all --jobs 1
expect_exit 1
expect_out_contains "t01: upgraded base -> $R3"
expect_out_contains "t02: upgraded base -> $R3"
expect_out_matches "^t03: failed at $R2: .*t_two"
expect_out_contains "$N targets: 2 upgraded, 1 failed, $((N - 3)) not started"
expect_err_contains "1 of $N targets failed: t03"
expect_eq "$(versions_of 2)" "$R1" "t03 keeps the revision before the failing one"
expect_eq "$(versions_of 3)" "" "t04 was not started"
lm upgrade head --all --jobs 1 --json
expect_exit 1
expect_json "st = {t['name']: t['status'] for t in d['targets']}
assert st['t03'] == 'failed' and st['t04'] == 'not_started', st
f = [t for t in d['targets'] if t['name'] == 't03'][0]
assert f['failed_revision'] == '$R2' and 't_two' in f['error'], f"

t_case "--keep-going goes on after the failure; a rerun after the fix touches only it"
lm upgrade head --all --keep-going
expect_exit 1
expect_out_contains "$N targets: $((N - 3)) upgraded, 2 already at head, 1 failed"
fix_target 2
lm upgrade head --all
expect_exit 0
expect_out_contains "t03: upgraded $R1 -> $R3 (2 revisions"
expect_out_contains "$N targets: 1 upgraded, $((N - 1)) already at head"
expect_all_at "$ALL_AT" "after the fix"

t_case "a canary failure starts nothing else, even with --keep-going"
fleet_project "$N"
break_target 1
lm upgrade head --all --canary 3 --keep-going
expect_exit 1
expect_out_contains "t01: upgraded base -> $R3"
expect_out_matches "^t02: failed at $R2"
expect_out_contains "$N targets: 1 upgraded, 1 failed, $((N - 2)) not started"
expect_eq "$(versions_of 2)" "" "t03 was not started"
expect_eq "$(versions_of $((N - 1)))" "" "the last target was not started"
fix_target 1
lm upgrade head --all --canary 2
expect_exit 0
expect_all_at "$ALL_AT" "after the canaries passed"

# ---------------------------------------------------------------------------
t_case "two upgrade --all at the same time: each revision once per target"
fleet_project "$N"
lm_bg first upgrade head --all --jobs 3
lm_bg second upgrade head --all --jobs 3
lm_wait first
expect_exit 0
OUT1=$LM_OUT
lm_wait second
expect_exit 0
BOTH="$OUT1"$'\n'"$LM_OUT"
UPGRADED=$(grep -cE "^t[0-9]{2}: upgraded base -> $R3 \\(3 revisions" <<<"$BOTH")
AT_HEAD=$(grep -cE "^t[0-9]{2}: already at head" <<<"$BOTH")
expect_eq "$UPGRADED" "$N" "targets upgraded over both runs"
expect_eq "$AT_HEAD" "$N" "targets already at head over both runs"
expect_all_at "$ALL_AT" "after two concurrent runs"

# ---------------------------------------------------------------------------
t_case "Ctrl-C: running targets roll back, summary so far, exit 130; a rerun resumes"
fleet_project 6
# R2 takes a while, so that the interruption finds targets inside it
sed -i 's/^function upgrade()$/function upgrade()\n  if context.revision == "'"$R2"'" then\n    if context.dialect == "postgresql" then op.execute("SELECT pg_sleep(20)")\n    else local t = os.clock() while os.clock() - t < 20 do end end\n  end/' versions/"${R2}"_*.lua
"$LUAMIG" upgrade head --all --jobs 2 >"$LM_TMP/int.out" 2>"$LM_TMP/int.err" </dev/null &
PID=$!
for _ in $(seq 1 100); do
  [ "$(versions_of 0)" = "$R1" ] && [ "$(versions_of 1)" = "$R1" ] && break
  sleep 0.1
done
sleep 0.5
kill -INT "$PID"
for _ in $(seq 1 300); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
wait "$PID"
LM_RC=$?
LM_CMD="luamig upgrade head --all --jobs 2 (interrupted)"
LM_OUT=$(cat "$LM_TMP/int.out")
# shellcheck disable=SC2034 # read by expect_err_contains
LM_ERR=$(cat "$LM_TMP/int.err")
_lm_log_run "$LM_CMD" "$LM_RC" "$LM_TMP/int.out" "$LM_TMP/int.err"
expect_exit 130
expect_out_matches "^t0[12]: interrupted at $R2: "
expect_out_contains "6 targets: 2 interrupted, 4 not started"
expect_err_contains "run the same command again to resume"
expect_eq "$(versions_of 0)" "$R1" "t01 keeps R1, its R2 rolled back"
expect_no_table() { ! has_table "$1" "$2"; _check $? "table $1 should not exist in $2"; }
expect_no_table t_two "${T_URLS[0]}"
expect_eq "$(versions_of 2)" "" "t03 was not started"
sed -i 's/pg_sleep(20)/pg_sleep(0)/; s/< 20 do/< 0 do/' versions/"${R2}"_*.lua
lm upgrade head --all
expect_exit 0
expect_out_contains "t01: upgraded $R1 -> $R3 (2 revisions"
expect_out_contains "6 targets: 6 upgraded"
expect_all_at "$ALL_AT" "after the rerun"

# ---------------------------------------------------------------------------
t_case "expand/contract across the fleet: --stop-before contract, then head"
fleet_project 4
lm upgrade head --all
mkrev e1a2b3c4d5f6 "$R3" "split" <<'EOF'
steps = {
  { name = "expand",
    up = function() op.add_column("t_one", op.column("first_name", "string(50)", { nullable = true })) end,
    down = function() op.drop_column("t_one", "first_name") end },
  { name = "contract",
    up = function() op.create_table("t_four", op.column("id", "integer", { primary_key = true })) end,
    down = function() op.drop_table("t_four") end },
}
EOF
lm upgrade head --all --stop-before contract
expect_exit 0
expect_out_count 4 "^t0[1-4]: upgraded $R3 -> e1a2b3c4d5f6 \\(expand, next: contract\\) \\(1 revision"
lm current --all
expect_out_contains "e1a2b3c4d5f6 (expand, next: contract): 4 targets"
lm upgrade head --all
expect_exit 0
expect_out_count 4 "^t0[1-4]: upgraded e1a2b3c4d5f6 \\(expand, next: contract\\) -> e1a2b3c4d5f6 \\(1 revision"
expect_table t_four "${T_URLS[3]}"

# ---------------------------------------------------------------------------
if is_sqlite; then
  t_case "bad target lists: exit 2, naming luamig.lua and the line"
  new_project --no-url
  chain3
  # bad_targets EXPECTED_ERROR LUA_TARGETS_LINES...
  bad_targets() {
    local want=$1
    shift
    {
      echo "return {"
      echo "  versions = { \"versions\" },"
      printf '  %s\n' "$@"
      echo "}"
    } >luamig.lua
    lm upgrade head --all
    expect_exit 2
    expect_err_error_line
    expect_err_contains "$want"
  }
  bad_targets "luamig.lua:3: targets is empty" "targets = {},"
  bad_targets "luamig.lua:5: targets[2]: 'eu' is listed twice" "targets = {" \
    '  { name = "eu", url = "sqlite:///eu.db" },' '  { name = "eu", url = "sqlite:///eu2.db" },' "},"
  bad_targets "luamig.lua:4: targets[1]: 'eu' has no url" "targets = {" '  { name = "eu" },' "},"
  bad_targets "luamig.lua:4: targets[1]: has no name" "targets = {" '  { url = "sqlite:///a.db" },' "},"
  bad_targets "targets[1]: unknown key 'uri'" "targets = {" '  { name = "eu", uri = "sqlite:///a.db" },' "},"
  bad_targets "glob lists SQLite files" "targets = {" '  { name = "l_*", glob = "*.db", url = "sqlite:///a.db" },' "},"
  bad_targets "schemas needs a PostgreSQL url" "targets = {" '  { name = "s_*", url = "sqlite:///a.db", schemas = "SELECT 1" },' "},"
  bad_targets "luamig.lua:4: targets[1]: name 'a b' must be printable" "targets = {" '  { name = "a b", url = "sqlite:///a.db" },' "},"
  bad_targets "targets must be a list" 'targets = "sqlite:///a.db",'
  bad_targets "targets[1]: must be a table" 'targets = { "sqlite:///a.db" },'
  bad_targets "luamig.lua:4: targets[1]: unsupported database URL scheme" "targets = {" '  { name = "eu", url = "mysql://h/db" },' "},"
  mkdir -p data && : >data/eu.db
  bad_targets "luamig.lua:5: targets[2] (local_*): the target name 'eu' is listed twice" "targets = {" \
    '  { name = "eu", url = "sqlite:///eu.db" },' '  { name = "local_*", glob = "data/*.db" },' "},"
  bad_targets "list no database" "targets = {" '  { name = "local_*", glob = "nothing/*.db" },' "},"
  write_config
  lm upgrade head --all
  expect_exit 2
  expect_err_contains "luamig.lua lists no targets"
  expect_no_file eu.db

  t_case "lint: credentials-in-config covers the URLs of targets"
  cat >luamig.lua <<'EOF'
return {
  versions = { "versions" },
  targets = {
    { name = "eu", url = "postgresql://app@db-eu/app" },
    { name = "us", url = "postgresql://app:s3cret@db-us/app" },
  },
}
EOF
  lm lint
  expect_exit 1
  expect_out_contains "luamig.lua:5: error [credentials-in-config]"
  expect_out_contains "target"
  expect_out_not_contains "s3cret"

  t_case "the progress bar shows on a terminal only"
  fleet_project 3
  lm upgrade head --all
  expect_err_not_contains "targets done"
  script -qec "$(printf '%q ' "$LUAMIG" upgrade head --target t01)" /dev/null >"$LM_TMP/tty.out" 2>&1 </dev/null
  expect_text_contains "$(cat "$LM_TMP/tty.out")" "1/1 targets done, 0 failed" "terminal output"
  expect_text_contains "$(cat "$LM_TMP/tty.out")" "1 target: 1 already at head" "terminal output"
fi

# ---------------------------------------------------------------------------
if is_pg; then
  t_case "PostgreSQL: $N_PG databases listed by a directory query"
  new_project --no-url
  chain3
  DIR_URL=$(fresh_url)
  db_query "CREATE TABLE shards (name text, url text, active boolean)" "$DIR_URL" >/dev/null
  T_NAMES=() T_URLS=()
  pg_pool "$N_PG"
  for i in $(seq 1 "$N_PG"); do
    url=${PG_POOL[$((i - 1))]}
    T_NAMES+=("$(printf 'shard_%02d' "$i")")
    T_URLS+=("$url")
    db_query "INSERT INTO shards VALUES ('$(printf 'shard_%02d' "$i")', '$(nopw_url "$(pg_dbname "$url")")', true)" "$DIR_URL" >/dev/null
  done
  db_query "INSERT INTO shards VALUES ('shard_off', 'postgresql://luamig@127.0.0.1:1/nosuch', false)" "$DIR_URL" >/dev/null
  cat >luamig.lua <<EOF
return {
  versions = { "versions" },
  targets = {
    { name = "shard_*", url = "$(nopw_url "$(pg_dbname "$DIR_URL")")",
      query = "SELECT name, url FROM shards WHERE active ORDER BY name" },
  },
}
EOF
  lm upgrade head --all --jobs 4
  expect_exit 0
  expect_out_count "$N_PG" "^shard_[0-9]{2}: upgraded base -> $R3 \\(3 revisions"
  expect_out_contains "$N_PG targets: $N_PG upgraded"
  expect_all_at "$ALL_AT" "directory targets"
  lm current --target 'shard_*'
  expect_out_contains "$R3 (head): $N_PG targets"

  t_case "PostgreSQL: a directory row that cannot connect fails alone; its password is masked"
  db_query "UPDATE shards SET active = true, url = '$(pg_url nosuch_db_here)' WHERE name = 'shard_off'" "$DIR_URL" >/dev/null
  lm upgrade head --all --keep-going
  expect_exit 1
  expect_out_matches "^shard_off: failed: cannot connect to postgresql://luamig:\\*\\*\\*@"
  expect_out_contains "$((N_PG + 1)) targets: $N_PG already at head, 1 failed"
  db_query "UPDATE shards SET url = 'mysql://x/y' WHERE name = 'shard_off'" "$DIR_URL" >/dev/null
  lm upgrade head --all
  expect_exit 2
  expect_err_contains "luamig.lua:4: targets[1] (shard_*): the URL of 'shard_off' is not valid"
  db_query "UPDATE shards SET name = 'shard_01', url = '$(nopw_url x)' WHERE name = 'shard_off'" "$DIR_URL" >/dev/null
  lm upgrade head --all
  expect_exit 2
  expect_err_contains "the target name 'shard_01' is listed twice"

  t_case "PostgreSQL: $N_SCHEMAS schemas of one database, each with its own version table"
  new_project --no-url
  chain3
  SCHEMA_URL=$(fresh_url)
  T_NAMES=() T_URLS=()
  for i in $(seq 1 "$N_SCHEMAS"); do
    s=$(printf 'tenant_%02d' "$i")
    db_query "CREATE SCHEMA $s" "$SCHEMA_URL" >/dev/null
    T_NAMES+=("$s")
  done
  cat >luamig.lua <<EOF
return {
  versions = { "versions" },
  targets = {
    { name = "tenant_*", url = "$(nopw_url "$(pg_dbname "$SCHEMA_URL")")",
      schemas = "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\\\\_%' ORDER BY 1" },
  },
}
EOF
  lm upgrade head --target 'tenant_*'
  expect_exit 0
  expect_out_count "$N_SCHEMAS" "^tenant_[0-9]{2}: upgraded base -> $R3 \\(3 revisions"
  expect_out_contains "$N_SCHEMAS targets: $N_SCHEMAS upgraded"
  GOT=$(db_query "SELECT count(*) FROM pg_tables WHERE schemaname LIKE 'tenant\\_%' AND tablename IN ('t_one', 't_two', 't_three', 'luamig_version')" "$SCHEMA_URL")
  expect_eq "$GOT" "$((4 * N_SCHEMAS))" "tables in the tenant schemas"
  GOT=$(db_query "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'" "$SCHEMA_URL")
  expect_eq "$GOT" "0" "tables in public"
  GOT=$(db_query "SELECT count(*) FROM tenant_07.luamig_version" "$SCHEMA_URL")
  expect_eq "$GOT" "3" "rows of tenant_07's version table"
  lm downgrade "$R2" --target 'tenant_1*'
  expect_exit 0
  expect_out_contains "3 targets: 3 downgraded"
  GOT=$(db_query "SELECT count(*) FROM pg_tables WHERE tablename = 't_three'" "$SCHEMA_URL")
  expect_eq "$GOT" "$((N_SCHEMAS - 3))" "schemas keeping t_three"
  lm current --all
  expect_out_contains "tenant_10: $R2"
  expect_out_contains "$R3 (head): $((N_SCHEMAS - 3)) targets"
  lm_bg s1 upgrade head --all --jobs 4
  lm_bg s2 upgrade head --all --jobs 4
  lm_wait s1
  expect_exit 0
  OUT1=$LM_OUT
  lm_wait s2
  expect_exit 0
  UPGRADED=$(grep -cE "^tenant_1[0-2]: upgraded $R2 -> $R3" <<<"$OUT1"$'\n'"$LM_OUT")
  expect_eq "$UPGRADED" 3 "schemas upgraded over two concurrent runs"
  GOT=$(db_query "SELECT count(*) FROM tenant_11.luamig_version" "$SCHEMA_URL")
  expect_eq "$GOT" "3" "rows of tenant_11's version table"
fi

t_done
