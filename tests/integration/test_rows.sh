#!/usr/bin/env bash
# Reading data from Lua (SPEC §4 "Beyond Alembic"): op.rows streams rows
# (values keep their types: integers stay integers, NULL is nil, numeric is a
# string on PostgreSQL, booleans are booleans there), op.query, op.scalar,
# op.has_table / has_column / has_index, and the offline refusal of all of
# them under --sql.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly V1=7a0000000001 V2=7a0000000002

# seed_rev N: a table "nums" with ids 1..N and a text column.
seed_rev() {
  mkrev "$V1" "" "nums" <<EOF
function upgrade()
  op.create_table("nums",
    op.column("id", "integer", { primary_key = true }),
    op.column("label", "string(20)"))
  op.execute([[WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < $1)
               INSERT INTO nums (id, label) SELECT x, 'n' || x FROM s]])
end

function downgrade()
  op.drop_table("nums")
end
EOF
}

# ---------------------------------------------------------------------------
t_case "op.rows: values keep their types"
new_project
mkrev "$V1" "" "values" <<'EOF'
function upgrade()
  op.create_table("vals",
    op.column("id", "integer", { primary_key = true }),
    op.column("i", "bigint"), op.column("f", "float"), op.column("t", "text"),
    op.column("b", "boolean"), op.column("n", "numeric(10,2)"), op.column("z", "text"))
  op.execute("INSERT INTO vals (id, i, f, t, b, n, z) VALUES ($1, $2, $3, $4, $5, $6, NULL)",
             { 1, 9007199254740993, 2.5, "it's ✓", true, "12.30" })
  for row in op.rows("SELECT i, f, t, b, n, z FROM vals") do
    print("i=" .. row.i .. " " .. math.type(row.i))
    print("f=" .. row.f .. " " .. math.type(row.f))
    print("t=" .. row.t)
    print("b=" .. tostring(row.b) .. " " .. type(row.b))
    print("n=" .. tostring(row.n) .. " " .. type(row.n))
    print("z=" .. tostring(row.z) .. " " .. type(row.z))
  end
  local q = op.query("SELECT i, z FROM vals")
  print("query=" .. #q .. " " .. math.type(q[1].i) .. " " .. tostring(q[1].z))
  -- SQLite prepares a LIKE against a parameter again at its first step
  for row in op.rows("SELECT t FROM vals WHERE t LIKE $1", { "it%" }) do print("rows like=" .. tostring(row.t)) end
  print("query like=" .. tostring(op.query("SELECT t FROM vals WHERE t LIKE $1", { "it%" })[1].t))
end

function downgrade()
  op.drop_table("vals")
end
EOF
lm upgrade head
expect_exit 0
expect_err_contains "i=9007199254740993 integer"
expect_err_contains "f=2.5 float"
expect_err_contains "t=it's ✓"
expect_err_contains "$(pick "b=1 number" "b=true boolean")"
expect_err_contains "$(pick "n=12.3 number" "n=12.30 string")"
expect_err_contains "z=nil nil"
expect_err_contains "query=1 integer nil"
expect_err_contains "rows like=it's ✓"
expect_err_contains "query like=it's ✓"

# ---------------------------------------------------------------------------
t_case "op.rows: a few thousand rows, op.execute between rows, break and go on"
new_project
seed_rev 5000
mkrev "$V2" "$V1" "walk" <<'EOF'
function upgrade()
  op.create_table("seen", op.column("id", "integer", { primary_key = true }))
  local n, sum = 0, 0
  for row in op.rows("SELECT id, label FROM nums WHERE id > $1 ORDER BY id", { 0 }) do
    assert(row.label == "n" .. row.id, "label of " .. row.id)
    n, sum = n + 1, sum + row.id
    -- another statement on the same connection while the rows are read
    if row.id % 1000 == 0 then op.execute("INSERT INTO seen (id) VALUES ($1)", { row.id }) end
  end
  print("walked " .. n .. " rows, sum " .. sum)
  -- leaving a loop early closes its cursor; the connection goes on
  local k = 0
  for _ in op.rows("SELECT id FROM nums ORDER BY id") do
    k = k + 1
    if k == 1500 then break end
  end
  -- an iterator left half-read is closed when collected, even after the
  -- connection has gone
  local it = op.rows("SELECT id FROM nums ORDER BY id")
  print("first " .. it().id .. " second " .. it().id)
  print("after break " .. k .. ", seen " .. op.scalar("SELECT count(*) FROM seen"))
  -- a statement other than SELECT still gives its rows
  for row in op.rows("INSERT INTO seen (id) VALUES (9999) RETURNING id") do print("returned " .. row.id) end
end

function downgrade()
  op.drop_table("seen")
end
EOF
lm upgrade head
expect_exit 0
expect_err_contains "walked 5000 rows, sum 12502500"
expect_err_contains "first 1 second 2"
expect_err_contains "after break 1500, seen 5"
expect_err_contains "returned 9999"
expect_eq "$(db_query "SELECT count(*) FROM seen")" "6" "rows written between reads"

# ---------------------------------------------------------------------------
t_case "op.rows: inside autocommit_block, outside the migration's transaction"
new_project
seed_rev 3000
mkrev "$V2" "$V1" "autocommit walk" <<'EOF'
function upgrade()
  op.create_table("seen", op.column("id", "integer", { primary_key = true }))
  op.autocommit_block(function()
    local n = 0
    for row in op.rows("SELECT id FROM nums ORDER BY id") do
      n = n + 1
      if row.id % 500 == 0 then op.execute("INSERT INTO seen (id) VALUES ($1)", { row.id }) end
    end
    print("autocommit walked " .. n)
  end)
end

function downgrade()
  op.drop_table("seen")
end
EOF
lm upgrade head
expect_exit 0
expect_err_contains "autocommit walked 3000"
expect_eq "$(db_query "SELECT count(*) FROM seen")" "6" "rows written inside autocommit_block"

# ---------------------------------------------------------------------------
t_case "op.rows: an SQL error stops the migration with the statement and the line"
new_project
mkrev "$V1" "" "bad rows" <<'EOF'
function upgrade()
  op.create_table("t", op.column("id", "integer", { primary_key = true }))
  for row in op.rows("SELECT nope FROM no_such_table") do
    print(row)
  end
end

function downgrade()
  op.drop_table("t")
end
EOF
lm upgrade head
expect_exit 1
expect_err_contains "no_such_table"
expect_err_contains "_bad_rows.lua:13"
expect_no_table t
expect_eq "$(version_rows)" "" "version rows after a failed op.rows"

# ---------------------------------------------------------------------------
t_case "op.scalar and op.has_table / has_column / has_index"
new_project
seed_rev 10
mkrev "$V2" "$V1" "introspect" <<'EOF'
function upgrade()
  op.create_index("ix_nums_label", "nums", { "label" })
  print("count=" .. op.scalar("SELECT count(*) FROM nums WHERE id > $1", { 3 }))
  print("none=" .. tostring(op.scalar("SELECT id FROM nums WHERE id < 0")))
  print("label=" .. op.scalar("SELECT label FROM nums WHERE id = $1", { 4 }))
  print("has_table=" .. tostring(op.has_table("nums")) .. "," .. tostring(op.has_table("nope")))
  print("has_column=" .. tostring(op.has_column("nums", "label")) .. "," .. tostring(op.has_column("nums", "nope")))
  print("has_index=" .. tostring(op.has_index("ix_nums_label")) .. "," .. tostring(op.has_index("ix_nope")))
  -- the conditional revision these are for
  if not op.has_column("nums", "extra") then
    op.add_column("nums", op.column("extra", "integer"))
  end
end

function downgrade()
  op.drop_column("nums", "extra")
  op.drop_index("ix_nums_label", { table_name = "nums" })
end
EOF
lm upgrade head
expect_exit 0
expect_err_contains "count=7"
expect_err_contains "none=nil"
expect_err_contains "label=n4"
expect_err_contains "has_table=true,false"
expect_err_contains "has_column=true,false"
expect_err_contains "has_index=true,false"
expect_eq "$(columns nums)" "id,label,extra" "columns after the conditional add_column"

# ---------------------------------------------------------------------------
t_case "offline: op.query, op.rows, op.scalar and op.has_* need a live database"
for call in 'op.query("SELECT 1")' 'for r in op.rows("SELECT 1") do end' \
  'op.scalar("SELECT 1")' 'op.has_table("t")' 'op.has_column("t", "c")' 'op.has_index("i")'; do
  new_project
  mkrev "$V1" "" "offline read" <<EOF
function upgrade()
  op.create_table("t", op.column("id", "integer", { primary_key = true }))
  $call
end

function downgrade()
  op.drop_table("t")
end
EOF
  name=${call#*op.}
  name=${name%%(*}
  lm upgrade head --sql
  expect_exit 1
  expect_err_contains "op.$name needs a live database; it is not available with --sql"
  expect_err_contains "_offline_read.lua:13"
  expect_db_untouched
done

# ---------------------------------------------------------------------------
t_case "lint runs op.rows against the recorder: no rows, no database"
new_project --no-url
mkrev "$V1" "" "lint rows" <<'EOF'
function upgrade()
  op.create_table("t", op.column("id", "integer", { primary_key = true }))
  for row in op.rows("SELECT id FROM t") do
    op.execute("UPDATE t SET id = id")
  end
end

function downgrade()
  op.drop_table("t")
end
EOF
lm lint
expect_exit 0

t_done
