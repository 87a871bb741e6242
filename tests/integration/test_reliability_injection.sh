#!/usr/bin/env bash
# Injection (issue 8): table, column, index and constraint names and values
# holding quotes (' and "), semicolons, SQL comments, unicode (é, 日本, emoji)
# and SQL keywords round-trip through every operation that applies to both
# dialects -- create_table, add_column, alter_column (rename), create_index,
# drop_index, rename_table, bulk_insert, execute with params, drop_column,
# drop_table -- and, on PostgreSQL, the constraint operations; online and
# through `--sql` (the script applied with sqlite3 / psql must give the same
# database). Nothing that a name or a value holds is ever executed: a table
# `victim` that names and values try to drop keeps its row.
#
# Names and values are compared as hex bytes, so no shell or SQL quoting
# stands between what was written and what is checked.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------------------
# the hostile names and values

T=$'we"ird\'; DROP TABLE victim; --'          # the table, created
T2=$'sel"ect 日本 🎉;'                          # ... and renamed to this
C1=$'it\'s "col"'                             # a column, renamed to C1B
C1B=$'sélect;\'"'
C2='日本語'
C3='drop'
C4='table'                                    # added, then dropped
C5=$'x\'); DROP TABLE victim; --'
IX=$'ix "x" \'y\'; drop'
D='select'                                    # a table created and dropped
D_COL='from'
# PostgreSQL constraint operations
P=$'p;k"\''                                   # a table given a primary key
PKN=$'pk "x"; 🎉'
K=$'child\'s "table"'                         # a table given a foreign key
FKN=$'fk\'"🎉'
UQ=$'uq\'"; 日本'
CK=$'ck ; "check"'

VALUES=(
  $'x\'); DROP TABLE victim; --'
  $'"double" and \'single\''
  'semi;colon; DELETE FROM victim;'
  'é 日本 🎉'
  '$1 ? ?1 :name @p %s'
  $'back\\slash \\\' \\"'
  '-- a comment'
  '/* a block */'
  "'"
  "''"
  $'two\nlines'
  'SELECT * FROM victim'
  ')'
  ''
)

# lua_str TEXT: a Lua long-bracket string literal of TEXT.
lua_str() { printf '[==[%s]==]' "$1"; }
# hex TEXT: the bytes of TEXT in lower-case hex.
hex() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
# sql_lit / sql_ident TEXT: a quoted SQL literal / identifier.
sql_lit() { printf "'%s'" "${1//\'/\'\'}"; }
sql_ident() { printf '"%s"' "${1//\"/\"\"}"; }

# write_names: versions/_names.lua (a helper for require(), not a revision)
# holding every name and value, and q() / p() for hand-written SQL.
write_names() {
  local name v
  {
    echo "local N = {}"
    for name in T T2 C1 C1B C2 C3 C4 C5 IX D D_COL P PKN K FKN UQ CK; do
      printf 'N.%s = %s\n' "$name" "$(lua_str "${!name}")"
    done
    echo "N.values = {"
    for v in "${VALUES[@]}"; do printf '  %s,\n' "$(lua_str "$v")"; done
    echo "}"
    cat <<'EOF'
-- q(name): a quoted SQL identifier; p(i): the dialect's i-th placeholder.
function N.q(name) return '"' .. name:gsub('"', '""') .. '"' end
function N.p(i) return context.dialect == "postgresql" and ("$" .. i) or "?" end
return N
EOF
  } >versions/_names.lua
}

write_chain() {
  write_names
  mkrev 1a0000000001 "" "victim" <<'EOF'
function upgrade()
  op.create_table("victim", op.column("id", "integer", { primary_key = true }), op.column("v", "text"))
  op.bulk_insert("victim", { { id = 1, v = "still here" } })
end

function downgrade()
  op.drop_table("victim")
end
EOF
  mkrev 1a0000000002 1a0000000001 "hostile table" <<'EOF'
local N = require("_names")

function upgrade()
  op.create_table(N.T,
    op.column("id", "integer", { primary_key = true }),
    op.column(N.C1, "text"),
    op.column(N.C2, "string(200)"),
    op.column(N.C3, "integer", { nullable = false, server_default = 0 }),
    op.column(N.C5, "text"))
  op.add_column(N.T, op.column(N.C4, "text"))
  op.create_index(N.IX, N.T, { N.C2, N.C3 })
end

function downgrade()
  op.drop_index(N.IX, { table_name = N.T })
  op.drop_table(N.T)
end
EOF
  mkrev 1a0000000003 1a0000000002 "hostile values" <<'EOF'
local N = require("_names")

function upgrade()
  local rows = {}
  for i, v in ipairs(N.values) do
    rows[i] = { id = i, [N.C1] = v, [N.C2] = v, [N.C3] = i, [N.C4] = v, [N.C5] = v }
  end
  op.bulk_insert(N.T, rows)
  -- execute with params; a literal and a comment holding placeholder
  -- characters must stay as they are
  local cols = N.q("id") .. ", " .. N.q(N.C1) .. ", " .. N.q(N.C2) .. ", " .. N.q(N.C5)
  for i, v in ipairs(N.values) do
    op.execute("INSERT INTO " .. N.q(N.T) .. " (" .. cols .. ") VALUES ("
      .. N.p(1) .. ", /* ? $2 */ " .. N.p(2) .. ", 'what? $1 it''s', -- ? $3 not a parameter\n"
      .. N.p(3) .. ")", { 100 + i, v, v })
  end
end

function downgrade()
  op.execute("DELETE FROM " .. N.q(N.T))
end
EOF
  mkrev 1a0000000004 1a0000000003 "hostile renames and drops" <<'EOF'
local N = require("_names")

function upgrade()
  op.alter_column(N.T, N.C1, { new_column_name = N.C1B })
  op.drop_index(N.IX, { table_name = N.T })
  op.rename_table(N.T, N.T2)
  op.drop_column(N.T2, N.C4)
  op.create_table(N.D, op.column("id", "integer", { primary_key = true }), op.column(N.D_COL, "text"))
  op.bulk_insert(N.D, { { id = 1, [N.D_COL] = N.values[1] } })
  op.drop_table(N.D)
end

function downgrade()
  op.add_column(N.T2, op.column(N.C4, "text"))
  op.execute("UPDATE " .. N.q(N.T2) .. " SET " .. N.q(N.C4) .. " = " .. N.q(N.C2) .. " WHERE id < 100")
  op.rename_table(N.T2, N.T)
  op.create_index(N.IX, N.T, { N.C2, N.C3 })
  op.alter_column(N.T, N.C1B, { new_column_name = N.C1 })
end
EOF
  mkrev 1a0000000005 1a0000000004 "hostile constraints" <<'EOF'
local N = require("_names")

function upgrade()
  if context.dialect ~= "postgresql" then return end
  op.create_table(N.P, op.column("id", "integer", { nullable = false, autoincrement = false }))
  op.create_primary_key(N.PKN, N.P, { "id" })
  op.create_unique_constraint(N.UQ, N.T2, { "id", N.C2 })
  op.create_check_constraint(N.CK, N.T2, N.q(N.C3) .. " >= 0")
  op.create_table(N.K, op.column("id", "integer", { primary_key = true }), op.column("ref", "integer"))
  op.create_foreign_key(N.FKN, N.K, N.T2, { "ref" }, { "id" }, { ondelete = "CASCADE" })
  op.bulk_insert(N.K, { { id = 1, ref = 1 } })
  op.drop_constraint(N.UQ, N.T2, { type_ = "unique" })
end

function downgrade()
  if context.dialect ~= "postgresql" then return end
  op.create_unique_constraint(N.UQ, N.T2, { "id", N.C2 })
  op.drop_constraint(N.FKN, N.K, { type_ = "foreignkey" })
  op.drop_table(N.K)
  op.drop_constraint(N.CK, N.T2, { type_ = "check" })
  op.drop_constraint(N.UQ, N.T2, { type_ = "unique" })
  op.drop_constraint(N.PKN, N.P, { type_ = "primary" })
  op.drop_table(N.P)
end
EOF
}

# ---------------------------------------------------------------------------
# introspection, in hex

# table_names: the tables of the database, hex, sorted.
table_names() {
  if is_pg; then
    db_query "SELECT encode(convert_to(c.relname, 'UTF8'), 'hex') FROM pg_class c
               WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'"
  else
    db_query "SELECT lower(hex(name)) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'"
  fi | LC_ALL=C sort
}

# column_names TABLE: its columns in order, hex.
column_names() {
  if is_pg; then
    db_query "SELECT encode(convert_to(attname, 'UTF8'), 'hex') FROM pg_attribute
               WHERE attrelid = (SELECT oid FROM pg_class WHERE relname = $(sql_lit "$1")
                                   AND relnamespace = 'public'::regnamespace)
                 AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
  else
    db_query "SELECT lower(hex(name)) FROM pragma_table_info($(sql_lit "$1")) ORDER BY cid"
  fi
}

# index_names: the indexes the migrations made (not those of keys), hex, sorted.
index_names() {
  if is_pg; then
    db_query "SELECT encode(convert_to(i.relname, 'UTF8'), 'hex') FROM pg_index x
                JOIN pg_class i ON i.oid = x.indexrelid
               WHERE i.relnamespace = 'public'::regnamespace AND NOT x.indisprimary AND NOT x.indisunique"
  else
    db_query "SELECT lower(hex(name)) FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
  fi | LC_ALL=C sort
}

# column_values TABLE COLUMN: the column's values ordered by id, hex
# (NULL: an empty line).
column_values() {
  if is_pg; then
    db_query "SELECT encode(convert_to($(sql_ident "$2"), 'UTF8'), 'hex') FROM $(sql_ident "$1") ORDER BY id"
  else
    db_query "SELECT lower(hex($(sql_ident "$2"))) FROM $(sql_ident "$1") ORDER BY id"
  fi
}

# constraint_names_hex TABLE: PostgreSQL: NAME-HEX|TYPE of its constraints, sorted.
constraint_names_hex() {
  db_query "SELECT encode(convert_to(conname, 'UTF8'), 'hex') || '|' || contype::text FROM pg_constraint
             WHERE conrelid = (SELECT oid FROM pg_class WHERE relname = $(sql_lit "$1")
                                 AND relnamespace = 'public'::regnamespace)" | LC_ALL=C sort
}

# schema: db_schema, except that on SQLite the row counts are taken here
# (lib.sh's db_schema quotes table names for counting without escaping them).
schema() {
  if is_pg; then
    db_schema
    return
  fi
  db_query "
SELECT 'object|' || type || '|' || name || '|on=' || tbl_name || '|'
       || replace(replace(coalesce(sql, ''), char(13), ' '), char(10), ' ')
  FROM sqlite_master WHERE name NOT LIKE 'sqlite%' ORDER BY 1;
SELECT 'column|' || m.name || '|' || p.cid || '|' || p.name || '|' || p.type
       || '|notnull=' || p.\"notnull\" || '|default=' || coalesce(p.dflt_value, 'NULL') || '|pk=' || p.pk
  FROM sqlite_master m JOIN pragma_table_info(m.name) p
 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%' ORDER BY m.name, p.cid;
SELECT 'index|' || m.name || '|' || il.name || '|unique=' || il.\"unique\" || '|origin=' || il.origin
       || '|partial=' || il.partial
  FROM sqlite_master m JOIN pragma_index_list(m.name) il
 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite%' ORDER BY 1;
SELECT 'version|' || revision || '|step=' || coalesce(step, 'NULL') || '|' || checksum
  FROM luamig_version ORDER BY revision;" || _lm_harness_error "schema: SQLite introspection failed"
  local t counts=""
  while IFS= read -r t; do
    [ -n "$t" ] || continue
    counts+="SELECT 'rows|' || $(sql_lit "$t") || '|' || count(*) FROM $(sql_ident "$t");"
  done < <(db_query "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name")
  [ -z "$counts" ] || db_query "$counts" || _lm_harness_error "schema: cannot count rows"
}

hex_lines() {
  local s
  for s in "$@"; do hex "$s" && echo; done
}
hex_sorted() { hex_lines "$@" | LC_ALL=C sort; }

# expect_head_state WHAT: the database is what the whole chain makes.
expect_head_state() {
  local what=$1 want_tables i v vals=() want_vals
  expect_eq "$(db_query "SELECT v FROM victim")" "still here" "$what: the victim's row"
  if is_pg; then
    want_tables=$(hex_sorted luamig_version victim "$T2" "$P" "$K")
  else
    want_tables=$(hex_sorted luamig_version victim "$T2")
  fi
  expect_same "$(table_names)" "$want_tables" "$what: table names (hex; - got, + want)"
  expect_same "$(column_names "$T2")" "$(hex_lines id "$C1B" "$C2" "$C3" "$C5")" \
    "$what: columns of the renamed table (hex; - got, + want)"
  expect_same "$(index_names)" "" "$what: indexes left (the one made was dropped; hex)"
  # rows 1..n from bulk_insert, 101..100+n from execute (C2 is the literal there)
  for v in "${VALUES[@]}"; do vals+=("$v"); done
  for v in "${VALUES[@]}"; do vals+=("$v"); done
  want_vals=$(hex_lines "${vals[@]}")
  expect_same "$(column_values "$T2" "$C1B")" "$want_vals" "$what: values of the renamed column (hex)"
  expect_same "$(column_values "$T2" "$C5")" "$want_vals" "$what: values of the column named like an injection (hex)"
  vals=()
  for v in "${VALUES[@]}"; do vals+=("$v"); done
  for v in "${VALUES[@]}"; do vals+=("what? \$1 it's"); done
  expect_same "$(column_values "$T2" "$C2")" "$(hex_lines "${vals[@]}")" \
    "$what: values of the unicode column (hex; execute's literal kept its ? and \$1)"
  if is_pg; then
    expect_same "$(constraint_names_hex "$T2" | grep -v '|p$')" "$(hex "$CK")|c" \
      "$what: constraints of the renamed table besides its primary key (hex name|type)"
    expect_same "$(constraint_names_hex "$P")" "$(hex "$PKN")|p" "$what: the created primary key"
    expect_same "$(constraint_names_hex "$K" | grep '|f$')" "$(hex "$FKN")|f" "$what: the created foreign key"
  fi
}

# ---------------------------------------------------------------------------
t_case "online: upgrade head"
new_project
write_chain
lm upgrade head
expect_exit 0
expect_out_count 5 '^Running upgrade '
expect_head_state "online"
ONLINE_URL=$LM_URL
ONLINE_SCHEMA=$(schema)

t_case "online: the round trip of the values through op.query"
mkrev 1a0000000006 1a0000000005 "read back" <<'EOF'
local N = require("_names")

function upgrade()
  local rows = op.query("SELECT " .. N.q(N.C5) .. " AS v FROM " .. N.q(N.T2) .. " WHERE id < 100 ORDER BY id")
  for i, v in ipairs(N.values) do
    assert(rows[i].v == v, "value " .. i .. " came back as " .. tostring(rows[i].v))
  end
  local n = op.scalar("SELECT count(*) FROM " .. N.q(N.T2) .. " WHERE " .. N.q(N.C5) .. " = " .. N.p(1), { N.values[1] })
  assert(tonumber(n) == 2, "the injection-looking value matched " .. tostring(n) .. " rows")
  assert(op.has_table(N.T2) and op.has_column(N.T2, N.C1B) and not op.has_table(N.T))
end

function downgrade() end
EOF
lm upgrade head
expect_exit 0
expect_out_count 1 '^Running upgrade '
lm downgrade 1a0000000005
expect_exit 0
rm -f "$REV_FILE"
expect_same "$(schema)" "$ONLINE_SCHEMA" "after the read-back revision and its downgrade"

t_case "offline: upgrade head --sql, applied with $(pick sqlite3 psql)"
use_url "$(fresh_url)"
lm --url "$LM_URL" upgrade head --sql
expect_exit 0
printf '%s\n' "$LM_OUT" >"$LM_TMP/upgrade.sql"
expect_ok "the --sql script applies" db_apply_script "$LM_TMP/upgrade.sql"
expect_head_state "offline"
expect_same "$(schema)" "$ONLINE_SCHEMA" "the database from the --sql script (-) vs the online one (+)"
OFFLINE_URL=$LM_URL

t_case "online: downgrade to the first revision"
use_url "$ONLINE_URL"
lm --url "$LM_URL" downgrade 1a0000000001
expect_exit 0
expect_eq "$(db_query "SELECT v FROM victim")" "still here" "the victim's row after the downgrade"
expect_same "$(table_names)" "$(hex_sorted luamig_version victim)" "tables after the downgrade (hex)"
DOWN_SCHEMA=$(schema)
use_url "$(fresh_url)"
lm --url "$LM_URL" upgrade 1a0000000001
expect_exit 0
expect_same "$DOWN_SCHEMA" "$(schema)" "downgraded database (-) vs one upgraded to the first revision only (+)"

t_case "offline: downgrade head:1a0000000001 --sql, applied"
use_url "$OFFLINE_URL"
lm --url "$LM_URL" downgrade head:1a0000000001 --sql
expect_exit 0
printf '%s\n' "$LM_OUT" >"$LM_TMP/downgrade.sql"
expect_ok "the downgrade script applies" db_apply_script "$LM_TMP/downgrade.sql"
expect_same "$(schema)" "$DOWN_SCHEMA" "offline downgrade (-) vs online downgrade (+)"

t_case "offline: a statement that ends in a line comment keeps its terminator"
new_project
mkrev 1a0000000001 "" "comment at the end" <<'EOF'
function upgrade()
  op.create_table("victim", op.column("id", "integer", { primary_key = true }), op.column("v", "text"))
  op.execute("INSERT INTO victim (id, v) VALUES (1, 'still here') -- the first row")
  op.execute("INSERT INTO victim (id, v) VALUES (2, 'second') -- the second row")
  op.execute("INSERT INTO victim (id, v) VALUES (3, 'a -- b')")
  op.execute("INSERT INTO victim (id, v) VALUES (4, 'x'); -- done")
  op.execute("INSERT INTO victim (id, v) VALUES (5, 'y') /* -- */")
end

function downgrade()
  op.drop_table("victim")
end
EOF
lm upgrade head --sql
expect_exit 0
printf '%s\n' "$LM_OUT" >"$LM_TMP/comment.sql"
expect_ok "the --sql script applies" db_apply_script "$LM_TMP/comment.sql"
expect_eq "$(db_query "SELECT count(*) FROM victim" 2>&1)" 5 "rows inserted by the script"
# a -- inside a string or a block comment is no comment: the terminator stays on its line
expect_out_contains "VALUES (3, 'a -- b');"
expect_out_contains "VALUES (5, 'y') /* -- */;"
expect_out_contains "$(printf "VALUES (1, 'still here') -- the first row\n;")"

# ---------------------------------------------------------------------------
# Every identifier position of every directive. The list of directives comes
# from the binary (pairs(op) in a revision walks bindings/op.c's table), so a
# new directive without a case here fails this test. Each case's upgrade()
# puts a hostile name (quotes, a statement end, a comment, a space) in every
# position that takes a table, column, index or constraint name; it runs
# online and through --sql applied with sqlite3 / psql, and `victim` keeps
# its row. Directives without such a position (and op.null, a value) say so in NO_IDENT.

declare -A DCASE
DCASE[column]='op.create_table(X.t, op.column(X.c, "integer"), op.column(X.c2, "integer", { references = X.t0 .. "." .. X.k }))'
DCASE[primary_key]='op.create_table(X.t, op.column(X.c, "integer"), op.primary_key(X.c, { name = X.n }))'
DCASE[unique]='op.create_table(X.t, op.column(X.c, "integer"), op.unique(X.c, { name = X.n }))'
DCASE[foreign_key]='op.create_table(X.t, op.column(X.c, "integer"), op.foreign_key({ X.c }, { X.t0 .. "." .. X.k }, { name = X.n }))'
DCASE[check]='op.create_table(X.t, op.column(X.c, "integer"), op.check(X.q(X.c) .. " > 0", { name = X.n }))'
DCASE[create_table]='op.create_table(X.t, op.column(X.c, "integer", { primary_key = true }), op.column(X.c2, "text"))'
DCASE[drop_table]='op.create_table(X.t, op.column(X.c, "integer")) op.drop_table(X.t)'
DCASE[rename_table]='op.create_table(X.t, op.column(X.c, "integer")) op.rename_table(X.t, X.t2)'
DCASE[add_column]='op.create_table(X.t, op.column(X.c, "integer")) op.add_column(X.t, op.column(X.c2, "text"))'
DCASE[drop_column]='op.create_table(X.t, op.column(X.c, "integer"), op.column(X.c2, "text")) op.drop_column(X.t, X.c2)'
DCASE[alter_column]='op.create_table(X.t, op.column(X.c, "integer"), op.column(X.c2, "text")) op.alter_column(X.t, X.c2, { new_column_name = X.c3 })'
DCASE[create_index]='op.create_table(X.t, op.column(X.c, "integer"), op.column(X.c2, "text"), op.column(X.inj, "text")) op.create_index(X.i, X.t, { X.c, X.c2, X.inj })'
DCASE[drop_index]='op.create_table(X.t, op.column(X.c, "integer")) op.create_index(X.i, X.t, { X.c }) op.drop_index(X.i, { table_name = X.t })'
DCASE[create_primary_key]='op.create_table(X.t, op.column(X.c, "integer", { nullable = false })) op.batch_alter_table(X.t, function(b) b.create_primary_key(X.n, { X.c }) end)'
DCASE[create_unique_constraint]='op.create_table(X.t, op.column(X.c, "integer")) op.batch_alter_table(X.t, function(b) b.create_unique_constraint(X.n, { X.c }) end)'
DCASE[create_foreign_key]='op.create_table(X.t, op.column(X.c, "integer")) op.batch_alter_table(X.t, function(b) b.create_foreign_key(X.n, X.t0, { X.c }, { X.k }) end)'
DCASE[create_check_constraint]='op.create_table(X.t, op.column(X.c, "integer")) op.batch_alter_table(X.t, function(b) b.create_check_constraint(X.n, op.sql(X.q(X.c) .. " > 0")) end)'
DCASE[drop_constraint]='op.create_table(X.t, op.column(X.c, "integer"), op.unique(X.c, { name = X.n })) op.batch_alter_table(X.t, function(b) b.drop_constraint(X.n, { type_ = "unique" }) end)'
DCASE[bulk_insert]='op.create_table(X.t, op.column(X.c, "integer"), op.column(X.c2, "text")) op.bulk_insert(X.t, { { [X.c] = 1, [X.c2] = X.inj } })'
DCASE[batch_alter_table]='op.create_table(X.t, op.column(X.c, "integer")) op.batch_alter_table(X.t, function(b) b.add_column(op.column(X.c2, "text")) b.create_index(X.i, { X.c2 }) b.alter_column(X.c2, { new_column_name = X.c3 }) end)'
DCASE[backfill]='op.create_table(X.t, op.column(X.c, "integer", { primary_key = true }), op.column(X.c2, "text")) op.bulk_insert(X.t, { { [X.c] = 1 } }) op.backfill(X.t, { set = { [X.c2] = X.inj } })'
DCASE[has_table]='if not context.offline then assert(op.has_table(X.t0)) assert(not op.has_table(X.inj)) end'
DCASE[has_column]='if not context.offline then assert(op.has_column(X.t0, X.k)) assert(not op.has_column(X.t0, X.inj)) end'
DCASE[has_index]='if not context.offline then assert(not op.has_index(X.inj)) end'
# no name of a table, column, index or constraint among their arguments:
# SQL text (op.sql, execute, query, rows, scalar: the author's SQL, values
# bound), a naming-convention marker (f) or a function (autocommit_block)
NO_IDENT=" sql f execute query rows scalar autocommit_block null "

t_case "the directive list comes from the binary"
new_project
mkrev 1b0000000001 "" "list" <<'EOF'
function upgrade()
  local names = {}
  for k in pairs(op) do names[#names + 1] = k end
  table.sort(names)
  print("DIRECTIVES " .. table.concat(names, " "))
end
EOF
lm upgrade head --sql
expect_exit 0
DIRECTIVES=$(printf '%s\n' "$LM_ERR" | sed -n 's/^DIRECTIVES //p')
expect_ne "$DIRECTIVES" "" "pairs(op) listed the directives"
ndir=0
for d in $DIRECTIVES; do
  ndir=$((ndir + 1))
  if [ -z "${DCASE[$d]+x}" ] && [[ $NO_IDENT != *" $d "* ]]; then
    _check 1 "directive op.$d has no identifier-position case in this test (add one to DCASE or NO_IDENT)"
  fi
done
expect_eq "$((ndir >= 30))" "1" "directives listed ($ndir)"

X_LUA='local X = {
  t0 = [==[t0 "x"); DROP TABLE victim; --]==],
  k = [==[k ]; DROP TABLE victim; --]==],
  t = [==[tt "a"); DROP TABLE victim; -- é]==],
  t2 = [==[t2 `b`; DROP TABLE victim; --]==],
  c = [==[first name]==],
  c2 = [==[id"); DROP TABLE victim; --]==],
  c3 = [==[c3 '"'"'; DROP TABLE victim; --]==],
  i = [==[ix "i"; DROP TABLE victim; --]==],
  n = [==[cn "n"); DROP TABLE victim; --]==],
  inj = [==[id); DROP TABLE victim; --]==],
}
function X.q(name) return "\"" .. name:gsub("\"", "\"\"") .. "\"" end'

for d in $DIRECTIVES; do
  [ -n "${DCASE[$d]+x}" ] || continue
  t_case "op.$d: hostile names in every identifier position (online and --sql)"
  new_project
  mkrev 1b0000000001 "" "base" <<EOF
$X_LUA
function upgrade()
  op.create_table("victim", op.column("id", "integer", { primary_key = true }))
  op.bulk_insert("victim", { { id = 1 } })
  op.create_table(X.t0, op.column(X.k, "integer", { primary_key = true }))
end
EOF
  mkrev 1b0000000002 1b0000000001 "directive $d" <<EOF
$X_LUA
function upgrade()
  ${DCASE[$d]}
end
EOF
  OFFLINE_URL=$(fresh_url)
  lm upgrade head
  expect_exit 0
  expect_eq "$(db_query "SELECT count(*) FROM victim")" "1" "victim keeps its row (online)"
  lm --url "$OFFLINE_URL" upgrade head --sql
  expect_exit 0
  printf '%s\n' "$LM_OUT" >"$LM_TMP/d_$d.sql"
  expect_ok "the --sql script applies" db_apply_script "$LM_TMP/d_$d.sql" "$OFFLINE_URL"
  expect_eq "$(use_url "$OFFLINE_URL"; db_query "SELECT count(*) FROM victim")" "1" "victim keeps its row (--sql)"
done

t_done
