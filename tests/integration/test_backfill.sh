#!/usr/bin/env bash
# op.backfill (SPEC §4, §6): the SET form and the Lua-function form walking a
# table by primary key in batches, the `where` clause on every batch, a batch
# per transaction when the backfill is all its step does (and resuming after
# a failure or Ctrl-C), one transaction elsewhere, the offline behaviour, and
# the examples/split-username project end to end.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly B1=bf0000000001 B2=bf0000000002

# items_rev N: table items(id, name, code, score, note) with N rows; every
# tenth row already has its code (the backfills' where skips those).
items_rev() {
  mkrev "$B1" "" "items" <<EOF
function upgrade()
  op.create_table("items",
    op.column("id", "integer", { primary_key = true }),
    op.column("name", "string(40)", { nullable = false }),
    op.column("code", "string(40)"),
    op.column("score", "integer"),
    op.column("note", "text"))
  op.execute([[WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < $1)
               INSERT INTO items (id, name, code) SELECT x, 'item_' || x,
                      CASE WHEN x % 10 = 0 THEN 'kept' END FROM s]])
end

function downgrade()
  op.drop_table("items")
end
EOF
}

# steps_rev BODY: revision B2 with steps "expand" (nothing) and "backfill" (BODY).
steps_rev() {
  mkrev "$B2" "$B1" "fill items" <<EOF
steps = {
  { name = "expand",
    up = function() op.create_index("ix_items_code", "items", { "code" }) end,
    down = function() op.drop_index("ix_items_code", { table_name = "items" }) end },
  { name = "backfill",
    up = function()
$1
    end,
    down = function()
      op.execute("UPDATE items SET code = CASE WHEN id % 10 = 0 THEN 'kept' END, score = NULL, note = NULL")
    end },
}
EOF
}

step_of() { db_query "SELECT coalesce(step, 'NULL') FROM luamig_version WHERE revision = '$1'"; }
count_where() { db_query "SELECT count(*) FROM items WHERE $1"; }

# ---------------------------------------------------------------------------
t_case "SET form: 25,000 rows in batches of 1000, where skips finished rows"
new_project
items_rev 25000
steps_rev '      op.backfill("items", { set = { code = op.sql("upper(name)"), score = 7, note = "it'"'"'s" },
                             where = "code IS NULL", batch_size = 1000 })'
lm upgrade head
expect_exit 0
expect_err_contains "luamig: backfill items: 22500 rows in 23 batches"
expect_eq "$(count_where "code = upper(name) AND score = 7 AND note = 'it''s'")" "22500" "rows backfilled"
expect_eq "$(count_where "code = 'kept' AND score IS NULL")" "2500" "rows the where clause skipped"
expect_eq "$(step_of "$B2")" "NULL" "step once the backfill finished"

t_case "SET form: -q silences the progress, -v shows each batch"
new_project
items_rev 3000
steps_rev '      op.backfill("items", { set = { score = op.sql("id * 2") }, where = "score IS NULL", batch_size = 1000 })'
lm -q upgrade head
expect_exit 0
expect_err_not_contains "backfill items"
expect_eq "$(count_where "score = id * 2")" "3000" "rows backfilled quietly"
lm downgrade "$B1"
expect_exit 0
lm -v upgrade head
expect_exit 0
expect_err_contains "backfill items: batch 1: 1000 rows in"
expect_err_contains "backfill items: batch 3: 1000 rows in"
expect_err_contains "3000 rows in 3 batches"

# ---------------------------------------------------------------------------
t_case "function form: 25,000 rows, nil skips a row, rows may set different columns"
new_project
items_rev 25000
steps_rev '      op.backfill("items", { columns = { "name" }, where = "code IS NULL", batch_size = 1000 },
        function(row)
          assert(math.type(row.id) == "integer", "the key comes as an integer")
          if row.id % 7 == 0 then return nil end
          local t = { code = row.name:upper() }
          if row.id % 2 == 0 then t.score = row.id; t.note = "even" end
          return t
        end)'
lm upgrade head
expect_exit 0
# 22500 rows match; of them every 7th id (id % 70 = 0 ones already skipped by where)
want_skipped=$(db_query "SELECT count(*) FROM items WHERE id % 10 <> 0 AND id % 7 = 0")
expect_err_contains "luamig: backfill items: 22500 rows read, $((22500 - want_skipped)) updated, in 23 batches"
expect_eq "$(count_where "code = upper(name) AND id % 2 = 0 AND score = id AND note = 'even'")" \
  "$(count_where "id % 10 <> 0 AND id % 7 <> 0 AND id % 2 = 0")" "even rows: three columns"
expect_eq "$(count_where "code = upper(name) AND id % 2 = 1 AND score IS NULL AND note IS NULL")" \
  "$(count_where "id % 10 <> 0 AND id % 7 <> 0 AND id % 2 = 1")" "odd rows: one column"
expect_eq "$(count_where "code IS NULL")" "$want_skipped" "rows the function skipped"
expect_eq "$(count_where "code = 'kept'")" "2500" "rows the where clause skipped"

t_case "function form: values keep their types on the way back"
new_project
mkrev "$B1" "" "typed" <<'EOF'
function upgrade()
  op.create_table("typed",
    op.column("k", "string(10)", { primary_key = true }),
    op.column("i", "bigint"), op.column("f", "float"), op.column("b", "boolean"),
    op.column("n", "numeric(10,2)"), op.column("t", "text"))
  op.bulk_insert("typed", { { k = "a" }, { k = "b" }, { k = "c" } })
  op.backfill("typed", { where = "i IS NULL" }, function(row)
    return { i = 9007199254740993, f = 0.1, b = row.k ~= "b", n = "12.30", t = "O'Brien; --" }
  end)
  for row in op.rows("SELECT k, i, f, b, n, t FROM typed ORDER BY k") do
    print(row.k, math.type(row.i), row.i, row.f, tostring(row.b), tostring(row.n), row.t)
  end
end

function downgrade()
  op.drop_table("typed")
end
EOF
lm upgrade head
expect_exit 0
expect_err_contains "$(printf 'a\tinteger\t9007199254740993\t0.1\t%s\t%s\tO'"'"'Brien; --' "$(pick 1 true)" "$(pick 12.3 12.30)")"
expect_err_contains "$(printf 'b\tinteger\t9007199254740993\t0.1\t%s' "$(pick 0 false)")"

t_case "function form: quotes, a backslash, braces, commas and the text NULL come back as given"
new_project
mkrev "$B1" "" "awkward" <<'EOF'
function upgrade()
  op.create_table("awkward",
    op.column("id", "integer", { primary_key = true }),
    op.column("t", "text"), op.column("u", "text"))
  op.bulk_insert("awkward", { { id = 1, u = "x" }, { id = 2, u = "x" }, { id = 3, u = "x" } })
  local values = { [[a "q" \ {b,c}]], "NULL", "" }
  op.backfill("awkward", { columns = { "id" } }, function(row)
    return { t = values[row.id], u = "u" .. row.id }
  end)
end

function downgrade()
  op.drop_table("awkward")
end
EOF
lm upgrade head
expect_exit 0
expect_eq "$(db_query "SELECT t FROM awkward WHERE id = 1")" 'a "q" \ {b,c}' "quotes, a backslash, braces and a comma"
expect_eq "$(db_query "SELECT count(*) FROM awkward WHERE id = 2 AND t = 'NULL'")" "1" "the text NULL is text"
expect_eq "$(db_query "SELECT count(*) FROM awkward WHERE id = 3 AND t = ''")" "1" "the empty string"
expect_eq "$(db_query "SELECT count(*) FROM awkward WHERE u = 'u' || id")" "3" "the second column"

# ---------------------------------------------------------------------------
t_case "tables without a plain integer key: composite key, text key, no key"
new_project
mkrev "$B1" "" "keys" <<'EOF'
function upgrade()
  op.create_table("pairs",
    op.column("a", "integer", { nullable = false }), op.column("b", "string(10)", { nullable = false }),
    op.column("v", "integer"), op.primary_key({ "a", "b" }))
  op.execute([[WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 250)
               INSERT INTO pairs (a, b) SELECT x % 7, 'k' || x FROM s]])
  op.backfill("pairs", { set = { v = op.sql("a * 100") }, where = "v IS NULL", batch_size = 9 })
  op.backfill("pairs", { columns = { "v" }, batch_size = 13 }, function(row)
    return { v = row.v + 1 }
  end)
  op.create_table("loose", op.column("name", "string(10)"), op.column("v", "integer"))
  op.execute("INSERT INTO loose (name) VALUES ('x'), ('y'), ('z')")
end

function downgrade()
  op.drop_table("loose")
  op.drop_table("pairs")
end
EOF
mkrev "$B2" "$B1" "loose" <<'EOF'
function upgrade()
  op.backfill("loose", { set = { v = 1 }, batch_size = 2 })
end

function downgrade()
end
EOF
lm upgrade "$B1"
expect_exit 0
expect_eq "$(db_query "SELECT count(*) FROM pairs WHERE v = a * 100 + 1")" "250" "composite-key rows, both forms"
lm upgrade head
if is_pg; then
  expect_exit 1
  expect_err_contains 'op.backfill: table "loose" has no primary key to walk it by'
else
  expect_exit 0
  expect_eq "$(db_query "SELECT count(*) FROM loose WHERE v = 1")" "3" "rows walked by rowid"
fi

# ---------------------------------------------------------------------------
t_case "resumable: a failing function leaves the committed batches and no step record"
new_project
items_rev 25000
steps_rev '      op.backfill("items", { columns = { "name" }, where = "code IS NULL", batch_size = 1000 },
        function(row)
          if context.x.fail_at and row.id == tonumber(context.x.fail_at) then
            error("cannot compute row " .. row.id)
          end
          return { code = row.name:upper() }
        end)'
lm upgrade head -x fail_at=13333
expect_exit 1
expect_err_contains "cannot compute row 13333"
expect_err_contains "_fill_items.lua:"
expect_err_contains 'backfill of "items" stopped at the row "id" = 13333'
expect_err_contains "11000 rows in 11 committed batches stay done"
# id 13333 is the 12000th row matching the where (ids 10, 20, … do not): the
# last of batch 12, which is rolled back; batches 1 to 11 stay
expect_eq "$(count_where "code = upper(name)")" "11000" "rows of the committed batches"
expect_eq "$(step_of "$B2")" "expand" "the version table still says expand"
lm current
expect_out_equals "$B2 (expand, next: backfill)"
lm upgrade head
expect_exit 0
expect_err_contains "luamig: backfill items: 11500 rows read, 11500 updated, in 12 batches"
expect_eq "$(count_where "code = upper(name)")" "22500" "every row once resumed"
expect_eq "$(step_of "$B2")" "NULL" "the step is recorded once the backfill finished"

t_case "in a plain upgrade() the batches share one transaction: a failure keeps nothing"
new_project
items_rev 5000
mkrev "$B2" "$B1" "fill in one transaction" <<'EOF'
function upgrade()
  op.backfill("items", { columns = { "name" }, where = "code IS NULL", batch_size = 1000 }, function(row)
    if row.id == 4321 then error("no") end
    return { code = row.name:upper() }
  end)
end

function downgrade()
end
EOF
lm upgrade head
expect_exit 1
expect_err_contains 'backfill of "items" stopped at the row "id" = 4321'
expect_err_not_contains "committed"
expect_eq "$(count_where "code = upper(name)")" "0" "rows changed by the rolled-back upgrade"
expect_eq "$(version_rows)" "$B1" "version rows"

t_case "an operation after the backfill in its step runs after the committed batches"
new_project
items_rev 3000
steps_rev '      op.backfill("items", { set = { code = op.sql("upper(name)") }, where = "code IS NULL" })
      op.execute("UPDATE no_such_table SET x = 1")'
lm upgrade head
expect_exit 1
expect_err_contains "no_such_table"
expect_eq "$(count_where "code = upper(name)")" "2700" "the backfill's batches committed"
expect_eq "$(step_of "$B2")" "expand" "the step is not recorded"

t_case "--dry-run: the backfill runs inside the one transaction and is rolled back"
new_project
items_rev 3000
steps_rev '      op.backfill("items", { set = { code = op.sql("upper(name)") }, where = "code IS NULL", batch_size = 500 })'
lm upgrade "$B1"
lm upgrade head --dry-run
expect_exit 0
expect_eq "$(count_where "code = upper(name)")" "0" "rows after a dry run"
expect_eq "$(version_rows)" "$B1" "version rows after a dry run"

# ---------------------------------------------------------------------------
t_case "Ctrl-C between batches: exit 130, committed batches stay, a rerun resumes"
new_project
items_rev 40000
steps_rev '      op.backfill("items", { columns = { "name" }, where = "code IS NULL", batch_size = 500 },
        function(row)
          local x = 0
          for i = 1, 3000 do x = x + i end
          return { code = row.name:upper() }
        end)'
lm upgrade "$B2" --stop-before backfill
expect_exit 0
"$LUAMIG" -v upgrade head >"$LM_TMP/int.out" 2>"$LM_TMP/int.err" </dev/null &
pid=$!
for _ in $(seq 1 600); do
  grep -q "batch 3:" "$LM_TMP/int.err" && break
  sleep 0.05
done
kill -INT "$pid"
wait "$pid"
rc=$?
LM_CMD="luamig -v upgrade head (interrupted)" LM_RC=$rc LM_OUT=$(cat "$LM_TMP/int.out") LM_ERR=$(cat "$LM_TMP/int.err")
expect_exit 130
expect_err_contains "interrupted"
done_rows=$(count_where "code = upper(name)")
expect_eq "$((done_rows % 500 == 0 && done_rows >= 1500 && done_rows < 36000))" "1" "rows done when interrupted ($done_rows): whole batches"
expect_eq "$(step_of "$B2")" "expand" "the step is not recorded"
lm upgrade head
expect_exit 0
expect_eq "$(count_where "code = upper(name)")" "36000" "every row once resumed"
expect_eq "$(step_of "$B2")" "NULL" "the step is recorded"

# ---------------------------------------------------------------------------
# On SQLite a batch whose integer keys fill at least half of their range is
# written by one UPDATE over that range (luamig_backfill_value gives each row
# its values); a sparser one row by row. Rows inside the range that are not
# the batch's (the where left them out, the function skipped them, or they
# set other columns) must stay as they were.
t_case "function form: rows between a batch's keys that it does not set stay as they were"
new_project
items_rev 6000
steps_rev '      op.backfill("items", { columns = { "name" }, where = "code IS NULL", batch_size = 500 },
        function(row)
          if row.id % 7 == 0 then return nil end
          if row.id % 5 == 1 then return { code = row.name:upper(), note = "small" } end
          return { code = row.name:upper(), score = row.id }
        end)'
lm upgrade "$B1"
expect_exit 0
db_query "UPDATE items SET score = -1, note = 'before'" >/dev/null
lm --echo-sql upgrade head
expect_exit 0
if is_sqlite; then
  # (the columns come in the order the function's tables first gave them)
  expect_err_matches '"score" = luamig_backfill_value\("id", [01]\).* WHERE "id" >= \$1 AND "id" <= \$2 AND luamig_backfill_value\("id", -1\)'
  expect_err_matches 'UPDATE "items" SET .*"note" = \?.* WHERE "id" = \?'
fi
expect_eq "$(count_where "code = 'kept' AND score = -1 AND note = 'before'")" "600" "rows the where left out"
expect_eq "$(count_where "code IS NULL AND score = -1 AND note = 'before'")" \
  "$(count_where "id % 10 <> 0 AND id % 7 = 0")" "rows the function skipped"
expect_eq "$(count_where "code = upper(name) AND note = 'small' AND score = -1")" \
  "$(count_where "id % 10 <> 0 AND id % 7 <> 0 AND id % 5 = 1")" "rows that set code and note"
expect_eq "$(count_where "code = upper(name) AND score = id AND note = 'before'")" \
  "$(count_where "id % 10 <> 0 AND id % 7 <> 0 AND id % 5 <> 1")" "rows that set code and score"

t_case "function form: sparse keys are written row by row"
new_project
items_rev 3000
steps_rev '      op.execute("DELETE FROM items WHERE id % 4 <> 0")
      op.backfill("items", { columns = { "name" }, batch_size = 100 }, function(row)
        return { score = row.id * 3 }
      end)'
lm --echo-sql upgrade head
expect_exit 0
expect_err_not_contains "luamig_backfill_value"
expect_eq "$(count_where "score = id * 3")" "750" "rows written"
expect_eq "$(count_where "score IS NULL")" "0" "rows left"

t_case "function form: a batch that breaks a constraint is rolled back whole"
new_project
mkrev "$B1" "" "capped" <<'EOF'
function upgrade()
  op.execute("CREATE TABLE capped (id integer PRIMARY KEY, v integer CHECK (v < 450))")
  op.execute([[WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 1000)
               INSERT INTO capped (id) SELECT x FROM s]])
end

function downgrade()
  op.drop_table("capped")
end
EOF
mkrev "$B2" "$B1" "fill capped" <<'EOF'
steps = {
  { name = "backfill",
    up = function()
      op.backfill("capped", { where = "v IS NULL", batch_size = 100 }, function(row)
        return { v = row.id }
      end)
    end,
    down = function() op.execute("UPDATE capped SET v = NULL") end },
}
EOF
lm upgrade head
expect_exit 1
expect_err_contains "$(pick "CHECK constraint failed" "violates check constraint")"
expect_err_contains "400 rows in 4 committed batches stay done"
expect_eq "$(db_query "SELECT count(*) FROM capped WHERE v = id")" "400" "rows of the committed batches"
expect_eq "$(db_query "SELECT count(*) FROM capped WHERE v IS NULL AND id > 400")" "600" \
  "rows of the failed batch and after"

if is_sqlite; then
  t_case "function form on SQLite: a rowid table and a WITHOUT ROWID table take one UPDATE a batch"
  new_project
  mkrev "$B1" "" "shapes" <<'EOF'
function upgrade()
  op.execute("CREATE TABLE loose (name text, v integer)")
  op.execute("CREATE TABLE tight (id integer PRIMARY KEY, name text, v integer) WITHOUT ROWID")
  op.execute([[WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 500)
               INSERT INTO loose (name) SELECT 'n' || x FROM s]])
  op.execute("INSERT INTO tight (id, name) SELECT rowid, name FROM loose")
  for _, t in ipairs({ "loose", "tight" }) do
    op.backfill(t, { columns = { "name" }, batch_size = 64 }, function(row)
      return { v = 1000 + tonumber(row.name:sub(2)) }
    end)
  end
end

function downgrade()
  op.drop_table("tight")
  op.drop_table("loose")
end
EOF
  lm --echo-sql upgrade head
  expect_exit 0
  expect_err_contains 'UPDATE "loose" SET "v" = luamig_backfill_value(rowid, 0) WHERE rowid >= $1'
  expect_err_contains 'UPDATE "tight" SET "v" = luamig_backfill_value("id", 0) WHERE "id" >= $1'
  expect_eq "$(db_query "SELECT count(*) FROM loose WHERE v = 1000 + rowid")" "500" "rowid table"
  expect_eq "$(db_query "SELECT count(*) FROM tight WHERE v = 1000 + id")" "500" "WITHOUT ROWID table"

  t_case "luamig_backfill_value is luamig's own"
  new_project
  mkrev "$B1" "" "own" <<'EOF'
function upgrade()
  op.execute("SELECT luamig_backfill_value(1, 0)")
end

function downgrade()
end
EOF
  lm upgrade head
  expect_exit 1
  expect_err_contains "luamig_backfill_value is luamig's own, for its backfill"
fi

# ---------------------------------------------------------------------------
t_case "offline: the SET form is one UPDATE, the function form needs a database"
new_project
items_rev 100
steps_rev '      op.backfill("items", { set = { note = "x", code = op.sql("upper(name)") }, where = "code IS NULL", batch_size = 10 })'
lm upgrade head --sql
expect_exit 0
expect_out_contains "UPDATE \"items\" SET \"code\" = upper(name), \"note\" = 'x' WHERE code IS NULL;"
expect_out_count 1 '^UPDATE "items"'
expect_db_untouched
printf '%s\n' "$LM_OUT" >"$LM_TMP/script.sql"
expect_ok "the script applies" db_apply_script "$LM_TMP/script.sql"
expect_eq "$(count_where "code = upper(name) AND note = 'x'")" "90" "rows the script backfilled"

new_project
items_rev 100
steps_rev '      op.backfill("items", { columns = { "name" } }, function(row) return { code = row.name } end)'
lm upgrade head --sql
expect_exit 1
expect_err_contains "op.backfill needs a live database; it is not available with --sql"
expect_err_contains "_fill_items.lua:"

# ---------------------------------------------------------------------------
t_case "bad calls are clear errors"
for call in \
  'op.backfill("items", { set = { code = "x" }, wher = "code IS NULL" })|unknown option '"'"'wher'"'"' (known: set, columns, where, batch_size)' \
  'op.backfill("items", { set = { code = "x" } }, function() end)|give either spec.set or a function, not both' \
  'op.backfill("items", { where = "code IS NULL" })|needs spec.set' \
  'op.backfill("items", { set = { nope = "x" } })|set "nope" is not a column of table "items"' \
  'op.backfill("items", { columns = { "nope" } }, function() end)|columns entry "nope" is not a column of table "items"' \
  'op.backfill("items", {}, function() return { nope = 1 } end)|the function returned "nope", which is not a column of table "items"' \
  'op.backfill("items", {}, function() return 5 end)|must return a table of new values, or nil' \
  'op.backfill("items", { set = { code = "x" }, batch_size = 0 })|batch_size must be an integer' \
  'op.backfill("no_such_items", { set = { code = "x" } })|no table "no_such_items"'; do
  new_project
  items_rev 10
  mkrev "$B2" "$B1" "bad call" <<EOF
function upgrade()
  ${call%%|*}
end

function downgrade()
end
EOF
  lm upgrade head
  expect_exit 1
  expect_err_contains "${call#*|}"
  expect_err_contains "_bad_call.lua:12"
done

# ---------------------------------------------------------------------------
t_case "lint sees both forms: backfill-not-resumable without a where"
new_project --no-url
items_rev 10
steps_rev '      op.backfill("items", { set = { code = "x" } })
      op.backfill("items", { columns = { "name" } }, function(row) error("lint never calls this") end)'
lm lint
expect_out_count 2 'backfill-not-resumable'

# ---------------------------------------------------------------------------
t_case "examples/split-username: two deploys, then downgrade"
new_project
cp -R "$LM_SOURCE_DIR/examples/split-username/." "$PROJECT/"
rm -f "$PROJECT"/*.db
lm --url "$LM_URL" upgrade head --stop-before contract
expect_exit 0
expect_out_order "create users" "[expand]" "[backfill]"
expect_out_not_contains "[contract]"
lm --url "$LM_URL" current
expect_out_equals "e1a2b3c4d5f6 (backfill, next: contract)"
expect_eq "$(columns users)" "id,username,first_name,last_name" "columns after deploy 1"
expect_eq "$(db_query "SELECT username || '=' || first_name || '+' || last_name FROM users ORDER BY id" | tr '\n' ' ')" \
  "ada_lovelace=ada+lovelace alan_turing=alan+turing grace_brewster_hopper=grace+brewster_hopper linus=linus+ margaret_hamilton=margaret+hamilton dijkstra=dijkstra+ " \
  "names split on the first underscore"
lm --url "$LM_URL" upgrade head
expect_exit 0
expect_out_contains "[contract]"
expect_out_not_contains "[backfill]"
lm --url "$LM_URL" current
expect_out_equals "e1a2b3c4d5f6 (head)"
expect_eq "$(columns users)" "id,first_name,last_name" "columns after deploy 2"
lm --url "$LM_URL" downgrade -1
expect_exit 0
expect_out_order "[contract]" "[backfill]" "[expand]"
expect_eq "$(columns users)" "id,username" "columns after downgrade -1"
expect_eq "$(db_query "SELECT username FROM users ORDER BY id" | tr '\n' ' ')" \
  "ada_lovelace alan_turing grace_brewster_hopper linus margaret_hamilton dijkstra " "usernames restored"
lm --url "$LM_URL" current
expect_out_equals "4b1e7c9d2a30"

t_done
