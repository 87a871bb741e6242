#!/usr/bin/env bash
# Offline mode (SPEC §7 --sql): never connects; prints BEGIN;/COMMIT; per
# revision, the version-table DDL and updates, a comment naming each revision;
# FROM:TO ranges both ways; parameters rendered as quoted literals that stay
# data; op.query & co. refused; context.offline / context.dialect / context.x.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly UNREACHABLE="postgresql://luamig:$LM_PASSWORD@127.0.0.1:1/nowhere"

# offline_target: the arguments that pick this dialect without a usable database.
if is_pg; then
  offline_target=(--url "$UNREACHABLE")
else
  offline_target=(--url "sqlite:///$LM_TMP/no/such/folder/never.db")
fi

# ---------------------------------------------------------------------------
t_case "upgrade head --sql never connects"
new_project
chain3
lm "${offline_target[@]}" upgrade head --sql
expect_exit 0
expect_out_count 3 '^BEGIN;$'
expect_out_count 3 '^COMMIT;$'
expect_out_matches 'CREATE TABLE.*luamig_version'
for r in "$R1" "$R2" "$R3"; do
  expect_out_matches "^--.*$r"
  expect_out_matches "INSERT INTO .*luamig_version.*'$r'"
done
expect_out_order "t_one" "t_two" "t_three"
expect_out_not_matches '^Running upgrade'
expect_no_file "$LM_TMP/no/such/folder/never.db"
expect_db_untouched

t_case "--sql with the project's own (reachable) URL still touches nothing"
lm upgrade head --sql
expect_exit 0
expect_out_count 3 '^BEGIN;$'
expect_db_untouched

t_case "--dialect without a URL"
new_project --no-url
chain3
lm upgrade head --sql --dialect "$LM_DIALECT"
expect_exit 0
expect_out_count 3 '^BEGIN;$'
expect_out_contains "t_three"
other=$(pick postgresql sqlite)
lm upgrade head --sql --dialect "$other"
expect_exit 0
expect_out_count 3 '^BEGIN;$'

t_case "the dialect shows in the SQL"
lm upgrade head --sql --dialect postgresql
pg_sql=$LM_OUT
lm upgrade head --sql --dialect sqlite
sqlite_sql=$LM_OUT
expect_ne "$pg_sql" "$sqlite_sql" "the scripts of the two dialects"

t_case "upgrade FROM:TO --sql"
new_project
chain3
lm "${offline_target[@]}" upgrade "$R1:$R3" --sql
expect_exit 0
expect_out_count 2 '^BEGIN;$'
expect_out_contains "t_two"
expect_out_contains "t_three"
expect_out_not_contains "t_one"
expect_out_matches "INSERT INTO .*luamig_version.*'$R3'"
expect_out_not_matches "INSERT INTO .*luamig_version.*'$R1'"
lm "${offline_target[@]}" upgrade "base:$R1" --sql
expect_exit 0
expect_out_count 1 '^BEGIN;$'
expect_out_contains "t_one"
expect_out_not_contains "t_two"

t_case "downgrade FROM:TO --sql"
lm "${offline_target[@]}" downgrade "$R3:$R1" --sql
expect_exit 0
expect_out_count 2 '^BEGIN;$'
expect_out_order "t_three" "t_two"
expect_out_matches 'DROP TABLE.*t_three'
expect_out_matches 'DROP TABLE.*t_two'
expect_out_not_contains "t_one"
expect_out_matches "luamig_version.*'$R3'"
expect_out_matches "luamig_version.*'$R2'"
lm "${offline_target[@]}" downgrade "head:base" --sql
expect_exit 0
expect_out_count 3 '^BEGIN;$'
expect_db_untouched

t_case "FROM:TO needs --sql"
lm upgrade "$R1:$R3"
expect_exit 2
expect_err_error_line

t_case "applying the upgrade script gives the online result"
lm "${offline_target[@]}" upgrade head --sql
expect_exit 0
printf '%s\n' "$LM_OUT" >"$LM_TMP/up.sql"
expect_ok "the script runs" db_apply_script "$LM_TMP/up.sql"
expect_table t_three
lm current
expect_out_equals "$R3 (head)"
lm "${offline_target[@]}" downgrade "head:base" --sql
printf '%s\n' "$LM_OUT" >"$LM_TMP/down.sql"
expect_ok "the downgrade script runs" db_apply_script "$LM_TMP/down.sql"
expect_no_table t_one
lm current
expect_exit 0
expect_out_empty

# ---------------------------------------------------------------------------
t_case "parameters are rendered as quoted literals that stay data"
new_project
mkrev 3c0000000001 "" "people" <<'EOF'
evil = "O'Brien; DROP TABLE users; --"

function upgrade()
  op.create_table("users", op.column("id", "integer", { primary_key = true }))
  op.create_table("people",
    op.column("id", "integer", { primary_key = true }),
    op.column("name", "text"),
    op.column("n", "integer"))
  op.bulk_insert("people", { { id = 1, name = evil, n = 1 } })
  op.execute("INSERT INTO people (id, name, n) VALUES ($1, $2, $3)", { 2, evil, 2 })
  op.execute("INSERT INTO people (id, name, n) VALUES (3, 'cost $1', $1)", { 3 })
  op.execute("INSERT INTO people (id, name, n) VALUES ($1, $2, 4)", { 4, "back\\slash and $1 and ''quotes''" })
  op.execute("INSERT INTO people (id, name, n) VALUES ($1, $2, 5)", { 5, "two\nlines" })
end

function downgrade()
  op.drop_table("people")
  op.drop_table("users")
end
EOF
lm "${offline_target[@]}" upgrade head --sql
expect_exit 0
expect_out_contains "'O''Brien; DROP TABLE users; --'"
expect_out_contains "'cost \$1'"
expect_out_not_matches '[(,] *\$[0-9]'
printf '%s\n' "$LM_OUT" >"$LM_TMP/evil.sql"
expect_ok "the script runs" db_apply_script "$LM_TMP/evil.sql"
expect_table users
expect_eq "$(db_query "SELECT count(*) FROM people WHERE name = 'O''Brien; DROP TABLE users; --'")" 2 "rows with the evil name"
expect_eq "$(db_query "SELECT name || '/' || n FROM people WHERE id = 3")" 'cost $1/3' "\$1 inside a literal"
expect_eq "$(db_query "SELECT name FROM people WHERE id = 4")" "back\\slash and \$1 and ''quotes''" "backslash, \$1 and quotes in a parameter"
expect_eq "$(db_query "SELECT name FROM people WHERE id = 5")" "$(printf 'two\nlines')" "a newline in a parameter"

t_case "the same revision online stores the same data"
online=$(fresh_url)
lm --url "$online" upgrade head
expect_exit 0
expect_same "$(db_query "SELECT id || ':' || name || ':' || n FROM people ORDER BY id")" \
  "$(db_query "SELECT id || ':' || name || ':' || n FROM people ORDER BY id" "$online")" "people offline vs online"

# ---------------------------------------------------------------------------
t_case "op.query, op.scalar, op.rows, op.has_* and op.backfill(fn) need a live database"
new_project
for call in \
  'op.query("SELECT 1")' \
  'op.scalar("SELECT 1")' \
  'op.rows("SELECT 1")' \
  'op.has_table("t")' \
  'op.has_column("t", "c")' \
  'op.has_index("ix")'; do
  name=${call%%(*}
  rm -f versions/*.lua
  mkrev 3d0000000001 "" "needs db" <<EOF
function upgrade()
  op.create_table("t", op.column("id", "integer", { primary_key = true }))
  local r = $call
end

function downgrade()
  op.drop_table("t")
end
EOF
  lm "${offline_target[@]}" upgrade head --sql
  expect_exit 1
  expect_err_error_line
  expect_err_contains "$name needs a live database; it is not available with --sql"
  expect_err_contains "3d0000000001_needs_db.lua"
done

t_case "op.backfill with a Lua function needs a live database"
rm -f versions/*.lua
mkrev 3d0000000001 "" "needs db" <<'EOF'
function upgrade()
  op.create_table("t", op.column("id", "integer", { primary_key = true }), op.column("v", "text"))
  op.backfill("t", { columns = { "id" }, where = "v IS NULL", batch_size = 10 }, function(row) return { v = "x" } end)
end

function downgrade()
  op.drop_table("t")
end
EOF
lm "${offline_target[@]}" upgrade head --sql
expect_exit 1
expect_err_error_line
expect_err_contains "needs a live database; it is not available with --sql"

t_case "op.backfill with a set expression renders one UPDATE"
rm -f versions/*.lua
mkrev 3d0000000001 "" "backfill sql" <<'EOF'
function upgrade()
  op.create_table("t", op.column("id", "integer", { primary_key = true }), op.column("v", "text"))
  op.backfill("t", { set = { v = op.sql("'filled'") }, where = "v IS NULL", batch_size = 10 })
end

function downgrade()
  op.drop_table("t")
end
EOF
lm "${offline_target[@]}" upgrade head --sql
expect_exit 0
expect_out_count 1 '^UPDATE '
expect_out_contains "'filled'"

# ---------------------------------------------------------------------------
t_case "context.offline, context.dialect and context.x offline"
new_project
mkrev 3e0000000001 "" "context" <<'EOF'
function upgrade()
  op.create_table("t_offline_" .. tostring(context.offline), op.column("id", "integer"))
  op.create_table("t_dialect_" .. context.dialect, op.column("id", "integer"))
  op.create_table("t_x_" .. tostring(context.x.name), op.column("id", "integer"))
  op.create_table("t_rev_" .. tostring(context.revision), op.column("id", "integer"))
end

function downgrade()
  op.drop_table("t_rev_" .. tostring(context.revision))
  op.drop_table("t_x_" .. tostring(context.x.name))
  op.drop_table("t_dialect_" .. context.dialect)
  op.drop_table("t_offline_" .. tostring(context.offline))
end
EOF
lm -x name=given "${offline_target[@]}" upgrade head --sql
expect_exit 0
expect_out_contains "t_offline_true"
expect_out_contains "t_dialect_$LM_DIALECT"
expect_out_contains "t_x_given"
expect_out_contains "t_rev_3e0000000001"
lm -x name=given upgrade head
expect_exit 0
expect_table t_offline_false
expect_table "t_dialect_$LM_DIALECT"
expect_table t_x_given

t_done
