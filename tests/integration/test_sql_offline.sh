#!/usr/bin/env bash
# Offline mode (SPEC §7 --sql): never connects; prints BEGIN;/COMMIT; per
# revision, the version-table DDL and updates, a comment naming each revision;
# FROM:TO ranges both ways, and what runs at or below FROM; parameters
# rendered as quoted literals that stay data; op.query & co. refused;
# context.offline / context.dialect / context.x.
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
# FROM:TO below FROM: on SQLite the revisions up to FROM are replayed into an
# in-memory schema (a move-and-copy in the range reads its table there). A
# replay needs their schema effect only: a backfill with a Lua function (rows
# only) is no reason to stop, op.has_* is answered by the replayed schema, and
# a read of data stops the run only when a move-and-copy needs that schema.
# --sql never connects, so both dialects are rendered in both runs.

readonly B1=4a0000000001 B2=4b0000000002 B3=4c0000000003 B4=4f0000000004
sqlite_offline=(--url "sqlite:///$LM_TMP/no/such/folder/never.db")
pg_offline=(--url "$UNREACHABLE")

# chain_backfill [BODY_OF_B2_UPGRADE]: B1 users (two rows) <- B2 other (its
# upgrade body given, by default one create_table) <- B3 expand / Lua-function
# backfill / contract <- B4 first_name NOT NULL (a move-and-copy on SQLite).
chain_backfill() {
  local b2=${1:-'  op.create_table("other", op.column("id", "integer", { primary_key = true }))'}
  mkrev "$B1" "" "users" <<'EOF'
function upgrade()
  op.create_table("users",
    op.column("id", "integer", { primary_key = true }),
    op.column("username", "string(100)"))
  op.bulk_insert("users", { { id = 1, username = "ada_lovelace" }, { id = 2, username = "alan_turing" } })
end

function downgrade()
  op.drop_table("users")
end
EOF
  mkrev "$B2" "$B1" "other" <<EOF
function upgrade()
$b2
end

function downgrade()
  op.drop_table("other")
end
EOF
  mkrev "$B3" "$B2" "split username" <<'EOF'
steps = {
  { name = "expand",
    up = function() op.add_column("users", op.column("first_name", "string(100)")) end,
    down = function() op.drop_column("users", "first_name") end },
  { name = "backfill",
    up = function()
      op.backfill("users", { columns = { "username" }, where = "first_name IS NULL", batch_size = 1 },
        function(row) return { first_name = row.username:match("^[^_]*") } end)
    end,
    down = function() end },
  { name = "contract",
    up = function() op.drop_column("users", "username") end,
    down = function() op.add_column("users", op.column("username", "string(100)")) end },
}
EOF
  mkrev "$B4" "$B3" "first name required" <<'EOF'
function upgrade()
  op.alter_column("users", "first_name", { nullable = false })
end

function downgrade()
  op.alter_column("users", "first_name", { nullable = true })
end
EOF
}

# expect_script_as_online FROM TO [down]: the --sql script of FROM:TO, run on
# a database migrated online to FROM (SCRIPTED_URL), gives the schema, rows
# and version table of one migrated online to TO (ONLINE_URL).
expect_script_as_online() {
  local from=$1 to=$2 cmd=upgrade
  [ "${3:-}" = down ] && cmd=downgrade
  lm "${offline_target[@]}" "$cmd" "$from:$to" --sql
  expect_exit 0
  printf '%s\n' "$LM_OUT" >"$LM_TMP/range.sql"
  SCRIPTED_URL=$(fresh_url)
  lm --url "$SCRIPTED_URL" upgrade "$from"
  expect_exit 0
  expect_ok "the $from:$to script runs on a database at $from" \
    db_apply_script "$LM_TMP/range.sql" "$SCRIPTED_URL"
  ONLINE_URL=$(fresh_url)
  if [ "$cmd" = downgrade ]; then
    lm --url "$ONLINE_URL" upgrade "$from"
    expect_exit 0
    lm --url "$ONLINE_URL" downgrade "$to"
  else
    lm --url "$ONLINE_URL" upgrade "$to"
  fi
  expect_exit 0
  expect_same "$(db_schema "$SCRIPTED_URL")" "$(db_schema "$ONLINE_URL")" \
    "$cmd $from:$to: the script on a database at $from vs online"
}

t_case "FROM:TO --sql with a Lua-function backfill at or below FROM"
new_project
chain_backfill
for which in sqlite pg; do
  if [ "$which" = sqlite ]; then url=("${sqlite_offline[@]}"); else url=("${pg_offline[@]}"); fi
  lm "${url[@]}" upgrade "$B3:$B4" --sql
  expect_exit 0
  expect_out_count 1 '^BEGIN;$'
  expect_out_matches "INSERT INTO .*luamig_version.*'$B4'"
  lm "${url[@]}" downgrade "$B3:$B1" --sql
  expect_exit 0
  expect_out_count 4 '^BEGIN;$'
  expect_out_order 'ADD COLUMN "username"' 'DROP COLUMN "first_name"' 'DROP TABLE "other"'
  # the replay of B4's NOT NULL copy needs the rows the backfill filled
  lm "${url[@]}" downgrade "$B4:$B3" --sql
  expect_exit 0
  expect_out_count 1 '^BEGIN;$'
done
lm "${sqlite_offline[@]}" upgrade "$B3:$B4" --sql
expect_out_contains 'INSERT INTO "_luamig_tmp_users" ("id", "first_name")'

t_case "the script of FROM:TO above a backfill gives the online result"
expect_script_as_online "$B3" "$B4"
expect_eq "$(db_query "SELECT first_name FROM users ORDER BY id" "$ONLINE_URL")" "$(printf 'ada\nalan')" \
  "first names backfilled online"
expect_script_as_online "$B3" "$B1" down
expect_script_as_online "$B4" "$B2" down

t_case "op.has_* at or below FROM is answered by the schema of the chain"
new_project
chain_backfill '  if op.has_table("users") and not op.has_column("users", "nick") and not op.has_index("ix_nick") then
    op.add_column("users", op.column("nick", "text"))
    op.create_index("ix_nick", "users", { "nick" })
  end
  if not op.has_table("other") then
    op.create_table("other", op.column("id", "integer", { primary_key = true }))
  end'
lm "${sqlite_offline[@]}" upgrade "$B3:$B4" --sql
expect_exit 0
expect_out_contains '"nick"'
expect_script_as_online "$B3" "$B4"
expect_ok "users.nick, made online" db_query "SELECT nick FROM users" "$ONLINE_URL"
expect_script_as_online "$B4" "$B2" down

t_case "a read of data at or below FROM stops only a range whose move-and-copy needs it"
new_project
chain_backfill '  if op.scalar("SELECT count(*) FROM users") > 0 then
    op.create_table("other", op.column("id", "integer", { primary_key = true }))
  end'
lm "${sqlite_offline[@]}" upgrade "$B3:$B4" --sql
expect_exit 1
expect_err_error_line
expect_err_contains "alter_column on table \"users\" may need a move-and-copy"
expect_err_contains "op.scalar needs a live database; it is not available with --sql"
expect_err_contains "${B2}_other.lua:"
expect_err_contains "context.offline"
expect_err_contains "${B4}_first_name_required.lua"
expect_out_empty
lm "${sqlite_offline[@]}" downgrade "$B3:$B2" --sql
expect_exit 1
expect_err_contains "drop_column on table \"users\" may need a move-and-copy"
# a range without move-and-copy does not need the schema at FROM
lm "${sqlite_offline[@]}" upgrade "$B2:$B3" --sql --stop-before backfill
expect_exit 0
expect_out_contains 'ADD COLUMN "first_name"'
lm "${pg_offline[@]}" upgrade "$B3:$B4" --sql
expect_exit 0
# in the printed range the read stops the run, as without FROM
lm "${sqlite_offline[@]}" upgrade "$B1:$B2" --sql
expect_exit 1
expect_err_contains "op.scalar needs a live database; it is not available with --sql"
expect_err_not_contains "move-and-copy"
# the revision that skips its read offline is replayed without it
sed -i 's/if op.scalar(/if context.offline or op.scalar(/' "versions/${B2}_other.lua"
expect_script_as_online "$B3" "$B4"

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
