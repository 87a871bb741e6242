#!/usr/bin/env bash
# The foreign-key check before COMMIT. SQLite migrates with foreign keys
# unenforced (a move-and-copy drops tables others reference), so luamig checks
# them before each COMMIT, but only where the transaction could have broken
# one: the rows of tables it gave rows or foreign keys, the tables
# referencing one whose rows or keys it changed, and the whole database after
# a statement whose tables it cannot know (op.execute).
#
# Each shape of violating change is rolled back on both dialects (PostgreSQL
# enforces foreign keys itself); on SQLite a row left orphaned outside luamig
# then shows which transactions check what: one that cannot reach it commits,
# one that can (or whose tables are unknown) is rolled back naming it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly B1=fc0000000001
TOP=$B1
N=0

base_rev() {
  mkrev "$B1" "" "parents and children" <<'EOF'
function upgrade()
  op.create_table("parent",
    op.column("id", "integer", { primary_key = true }),
    op.column("code", "string(20)", { nullable = false, unique = true }),
    op.column("label", "string(20)"))
  op.create_table("child",
    op.column("id", "integer", { primary_key = true }),
    op.column("parent_id", "integer", { references = "parent.id" }),
    op.column("parent_code", "string(20)", { references = "parent.code" }),
    op.column("note", "string(20)"))
  op.create_table("loose", op.column("id", "integer", { primary_key = true }),
    op.column("n", "integer"))
  op.bulk_insert("parent", { { id = 1, code = "abc", label = "one" }, { id = 2, code = "7", label = "two" } })
  op.bulk_insert("child", {
    { id = 1, parent_id = 1, parent_code = "abc", note = "a" },
    { id = 2, parent_id = 2, parent_code = "7", note = "b" } })
  op.bulk_insert("loose", { { id = 1, n = 1 } })
end

function downgrade()
  op.drop_table("loose")
  op.drop_table("child")
  op.drop_table("parent")
end
EOF
}

# rev MSG: a revision on top of the applied ones, body from stdin
rev() {
  N=$((N + 1))
  REV=$(printf 'fc%010d' $((N + 1)))
  mkrev "$REV" "$TOP" "$1"
}

# applies: the revision must commit (and stays applied)
applies() {
  lm upgrade +1
  expect_exit 0
  TOP=$REV
}

# rolled_back WHAT: the revision must fail with a foreign-key error and leave
# the database as it was; its file is removed
rolled_back() {
  local before
  before=$(db_schema)
  lm upgrade +1
  expect_exit 1
  if is_sqlite; then
    expect_err_contains "violate"
    expect_err_contains "a foreign key"
  else
    expect_err_contains_i "foreign key"
  fi
  expect_eq "$(db_schema)" "$before" "$1: the database is as it was"
  rm -f "$REV_FILE"
}

sqlite_raw() { sqlite3 -batch -bail "$(sqlite_path "$LM_URL")" "$1"; }

new_project
base_rev
lm upgrade head
expect_exit 0

# ---------------------------------------------------------------------------
t_case "a new table with rows that reference nothing is rolled back"
rev "bad new table" <<'EOF'
function upgrade()
  op.create_table("grandchild",
    op.column("id", "integer", { primary_key = true }),
    op.column("child_id", "integer", { references = "child.id" }))
  op.bulk_insert("grandchild", { { id = 1, child_id = 1 }, { id = 2, child_id = 99 } })
end
function downgrade() op.drop_table("grandchild") end
EOF
rolled_back "create table with bad foreign-key data"
if is_sqlite; then expect_err_contains 'table "grandchild" rowid 2 has no parent row in "child"'; fi

t_case "rows inserted into an existing child table are checked"
rev "bad insert" <<'EOF'
function upgrade()
  op.bulk_insert("child", { { id = 3, parent_id = 42, parent_code = "abc", note = "c" } })
end
function downgrade() end
EOF
rolled_back "bulk_insert of an orphan"

t_case "a backfill of a referencing column, in the step's transaction, is checked"
rev "bad referencing update" <<'EOF'
function upgrade()
  op.backfill("child", { set = { parent_id = op.sql("parent_id + 100") }, batch_size = 1 })
end
function downgrade() end
EOF
rolled_back "update of a referencing column (SET form)"

t_case "a backfill of a referencing column in batches of their own is checked per batch"
rev "bad referencing batches" <<'EOF'
steps = {
  { name = "backfill",
    up = function()
      op.backfill("child", { columns = { "parent_id" }, batch_size = 1 },
        function(row) return { parent_code = "nope" .. row.id } end)
    end,
    down = function() end },
}
EOF
rolled_back "update of a referencing column (Lua function, own batches)"

t_case "a backfill of a referenced key orphans the children and is rolled back"
rev "bad referenced update" <<'EOF'
function upgrade()
  op.backfill("parent", { columns = { "id" }, batch_size = 10 },
    function(row) return { id = row.id + 1000 } end)
end
function downgrade() end
EOF
rolled_back "update of a referenced column"

t_case "deleting a referenced row through op.execute is rolled back"
rev "bad delete" <<'EOF'
function upgrade()
  op.execute("DELETE FROM parent WHERE id = 1")
end
function downgrade() end
EOF
rolled_back "delete of a referenced row"

t_case "dropping a referenced table is rolled back"
rev "bad drop" <<'EOF'
function upgrade()
  op.drop_table("parent")
end
function downgrade() end
EOF
if is_sqlite; then
  rolled_back "drop of a referenced table"
else
  lm upgrade +1
  expect_exit 1
  rm -f "$REV_FILE"
fi

t_case "SQLite: a move-and-copy that changes referenced keys is rolled back"
if is_sqlite; then
  rev "bad move and copy" <<'EOF'
function upgrade()
  -- CAST('abc' AS INTEGER) is 0: the child pointing at "abc" loses its parent
  op.alter_column("parent", "code", { type = "integer" })
end
function downgrade() end
EOF
  rolled_back "move-and-copy of a referenced table"
  expect_err_contains 'table "child" rowid 1 has no parent row in "parent"'
fi

t_case "a violation still rolls back with transaction_per_migration = false"
rev "bad in one transaction" <<'EOF'
function upgrade()
  op.bulk_insert("child", { { id = 4, parent_id = 77, parent_code = "7", note = "d" } })
end
function downgrade() end
EOF
sed -i 's/^return {/return { transaction_per_migration = false,/' luamig.lua
rolled_back "one transaction for the run"
sed -i 's/^return { transaction_per_migration = false,/return {/' luamig.lua

# ---------------------------------------------------------------------------
# SQLite only: an orphan made behind luamig's back, in child (parent_id 99).
# Transactions that cannot have made it commit; those that could, or whose
# tables are unknown, find it.
if is_sqlite; then
  t_case "SQLite: an orphan outside the transaction's reach does not stop it"
  sqlite_raw "INSERT INTO child (id, parent_id, parent_code, note) VALUES (9, 99, 'abc', 'x')"
  rev "unrelated changes" <<'EOF'
function upgrade()
  op.create_table("other", op.column("id", "integer", { primary_key = true }), op.column("v", "string(10)"))
  op.bulk_insert("other", { { id = 1, v = "x" } })
  op.add_column("child", op.column("extra", "integer"))
  op.create_index("ix_child_note", "child", { "note" })
  op.bulk_insert("loose", { { id = 2, n = 2 } })
end
function downgrade()
  op.drop_index("ix_child_note", { table_name = "child" })
  op.drop_column("child", "extra")
  op.drop_table("other")
end
EOF
  applies

  t_case "SQLite: updating columns no foreign key uses does not check"
  rev "note backfill" <<'EOF'
function upgrade()
  op.backfill("child", { set = { note = op.sql("upper(note)") } })
  op.backfill("parent", { columns = { "label" } }, function(row) return { label = row.label .. "!" } end)
end
function downgrade() end
EOF
  applies
  expect_eq "$(db_query "SELECT label FROM parent WHERE id = 1")" "one!" "the label backfill ran"

  t_case "SQLite: updating a referencing column checks that table and finds the orphan"
  rev "code backfill" <<'EOF'
function upgrade()
  op.backfill("child", { set = { parent_code = op.sql("parent_code") } })
end
function downgrade() end
EOF
  rolled_back "update of child.parent_code with an orphan in child"
  expect_err_contains 'table "child" rowid 9 has no parent row in "parent"'

  t_case "SQLite: op.execute (tables unknown) checks the whole database"
  rev "raw update" <<'EOF'
function upgrade()
  op.execute("UPDATE loose SET n = n + 1")
end
function downgrade() end
EOF
  rolled_back "op.execute on an unrelated table"
  expect_err_contains 'table "child" rowid 9 has no parent row in "parent"'
  expect_err_contains 'PRAGMA foreign_key_check'

  t_case "SQLite: once the orphan is gone, the same op.execute commits"
  sqlite_raw "DELETE FROM child WHERE id = 9"
  rev "raw update" <<'EOF'
function upgrade()
  op.execute("UPDATE loose SET n = n + 1")
end
function downgrade() end
EOF
  applies
fi

t_done
