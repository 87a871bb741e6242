#!/usr/bin/env bash
# Many databases (SPEC §11): the ways luamig.lua lists targets besides a
# plain list and a glob (test_fleet.sh has those): on PostgreSQL a directory
# database (query) and the schemas of one database (schemas); on SQLite the
# bad target lists (exit 2, naming luamig.lua and the line), lint's
# credentials-in-config rule on targets and the progress bar on a terminal.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/fleet_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fleet_lib.sh"

ALL_AT="$R1 $R2 $R3"

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
      query = "SELECT url, name FROM shards WHERE active ORDER BY name" }, -- columns found by name
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
  lm downgrade "$R2" --target tenant_08 --target 'tenant_1*'
  expect_exit 0
  expect_out_contains "2 targets: 2 downgraded"
  GOT=$(db_query "SELECT count(*) FROM pg_tables WHERE tablename = 't_three'" "$SCHEMA_URL")
  expect_eq "$GOT" "$((N_SCHEMAS - 2))" "schemas keeping t_three"
  lm current --all
  expect_out_contains "tenant_10: $R2"
  expect_out_contains "$R3 (head): $((N_SCHEMAS - 2)) targets"
  lm_bg s1 upgrade head --all --jobs 4
  lm_bg s2 upgrade head --all --jobs 4
  lm_wait s1
  expect_exit 0
  OUT1=$LM_OUT
  lm_wait s2
  expect_exit 0
  UPGRADED=$(grep -cE "^tenant_(08|10): upgraded $R2 -> $R3" <<<"$OUT1"$'\n'"$LM_OUT")
  expect_eq "$UPGRADED" 2 "schemas upgraded over two concurrent runs"
  GOT=$(db_query "SELECT count(*) FROM tenant_10.luamig_version" "$SCHEMA_URL")
  expect_eq "$GOT" "3" "rows of tenant_10's version table"
fi

t_done
