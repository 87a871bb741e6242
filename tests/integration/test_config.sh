#!/usr/bin/env bash
# Configuration (SPEC §2): where the URL comes from, -c/--config, versions
# folders relative to the config file, version_table.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

one_table_rev() { # one_table_rev ID DOWN TABLE [DIR]
  mkrev "$1" "$2" "create $3" "${4:-versions}" <<EOF
function upgrade()
  op.create_table("$3", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("$3")
end
EOF
}

# ---------------------------------------------------------------------------
t_case "URL precedence: --url over DATABASE_URL over the config's url"
new_project
one_table_rev c00000000001 "" marker
config_url=$LM_URL
env_url=$(fresh_url)
flag_url=$(fresh_url)

DATABASE_URL=$env_url lm --url "$flag_url" upgrade head
expect_exit 0
expect_table marker "$flag_url"
expect_no_table marker "$env_url"
expect_no_table marker "$config_url"

DATABASE_URL=$env_url lm upgrade head
expect_exit 0
expect_table marker "$env_url"
expect_no_table marker "$config_url"

lm upgrade head
expect_exit 0
expect_table marker "$config_url"

t_case "current reads the database the URL rules choose"
DATABASE_URL=$env_url lm --url "$flag_url" downgrade base
expect_exit 0
expect_no_table marker "$flag_url"
expect_table marker "$env_url"
DATABASE_URL=$env_url lm current
expect_out_equals "c00000000001 (head)"
lm --url "$flag_url" current
expect_exit 0
expect_out_empty

t_case "no URL anywhere is a configuration error"
new_project --no-url
one_table_rev c00000000002 "" lonely
lm upgrade head
expect_exit 2
expect_err_error_line

t_case "a lock_timeout that is no duration: a configuration error at its line, before any connection"
for v in '"abc"' '"5 sec"' '"-1s"' '""'; do
  new_project --no-url
  one_table_rev c00000000003 "" timed
  printf 'return {\n  url = "%s",\n  lock_timeout = %s,\n}\n' "$LM_URL" "$v" >luamig.lua
  before=$(db_schema)
  lm upgrade head
  expect_exit 2
  expect_err_error_line
  expect_err_contains "luamig.lua:3: lock_timeout must be a duration"
  expect_same "$before" "$(db_schema)" "the database after the refused config"
done
for v in '"5s"' '"500ms"' '"0"' '"1.5 min"' '"200"'; do
  new_project --no-url
  printf 'return {\n  url = "%s",\n  lock_timeout = %s,\n}\n' "$LM_URL" "$v" >luamig.lua
  lm history
  expect_exit 0
done

# ---------------------------------------------------------------------------
t_case "-c FILE: versions relative to the config file, run from elsewhere"
new_project --no-url
mkdir -p conf/nested
cat >conf/nested/custom.lua <<EOF
return {
  url = "$LM_URL",
  versions = { "revs" },
}
EOF
one_table_rev c00000000003 "" from_custom conf/nested/revs
mkdir elsewhere && cd elsewhere || exit 1
lm -c ../conf/nested/custom.lua upgrade head
expect_exit 0
expect_out_contains "Running upgrade <base> -> c00000000003, create from_custom"
expect_table from_custom
lm --config "$PROJECT/conf/nested/custom.lua" current
expect_exit 0
expect_out_equals "c00000000003 (head)"
lm -c ../conf/nested/custom.lua history
expect_exit 0
expect_out_contains "<base> -> c00000000003 (head), create from_custom"

t_case "-c with a missing file"
lm -c ../conf/nested/nope.lua upgrade head
expect_exit 2
expect_err_error_line
expect_err_contains "nope.lua"

# ---------------------------------------------------------------------------
t_case "several versions folders make one chain"
new_project --no-url
cat >luamig.lua <<EOF
return {
  url = "$LM_URL",
  versions = { "versions", "more/versions" },
}
EOF
one_table_rev c00000000004 "" first_folder
one_table_rev c00000000005 c00000000004 second_folder more/versions
lm upgrade head
expect_exit 0
expect_out_order "<base> -> c00000000004" "c00000000004 -> c00000000005"
expect_table first_folder
expect_table second_folder
lm heads
expect_out_equals "c00000000005 (head)"

# ---------------------------------------------------------------------------
t_case "version_table names the version table"
new_project --no-url
cat >luamig.lua <<EOF
return {
  url = "$LM_URL",
  version_table = "my_versions",
}
EOF
one_table_rev c00000000006 "" vt_demo
lm upgrade head
expect_exit 0
expect_table my_versions
expect_no_table luamig_version
expect_eq "$(db_query "SELECT revision FROM my_versions")" "c00000000006" "row in my_versions"
lm current
expect_out_equals "c00000000006 (head)"
lm downgrade base
expect_exit 0
expect_eq "$(db_query "SELECT count(*) FROM my_versions")" "0" "rows in my_versions after downgrade base"

# ---------------------------------------------------------------------------
t_case "the version table's columns"
new_project
one_table_rev c00000000007 "" cols_demo
lm upgrade head
expect_exit 0
if is_pg; then
  vt_cols=$(db_query "SELECT string_agg(column_name, ',' ORDER BY column_name) FROM information_schema.columns WHERE table_name = 'luamig_version'")
else
  vt_cols=$(db_query "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info('luamig_version') ORDER BY name)")
fi
for c in revision step checksum applied_at execution_ms; do
  expect_text_contains ",$vt_cols," ",$c," "the version table's columns"
done
expect_eq "$(pk_cols luamig_version)" "revision" "the version table's primary key"
expect_eq "$(db_query "SELECT CASE WHEN step IS NULL THEN 'NULL' ELSE 'set' END FROM luamig_version")" "NULL" "step of a fully applied revision"
sum=$(sha256sum "$REV_FILE" | cut -d' ' -f1)
expect_eq "$(db_query "SELECT checksum FROM luamig_version")" "$sum" "checksum = SHA-256 of the file"

t_done
