#!/usr/bin/env bash
# The ALTER-style directives that PostgreSQL does in place: alter_column type
# (postgresql_using), nullable, server_default (set, and false to drop),
# comment; create_primary_key, create_unique_constraint, create_foreign_key
# (ondelete, not_valid), create_check_constraint (not_valid), drop_constraint;
# create_index concurrently inside op.autocommit_block.
#
# On PostgreSQL each must work, and its downgrade must give back exactly the
# schema from before (db_schema compared).
# On SQLite each must either
#   - work, as SPEC §4 promises ("each works on both dialects; on SQLite, what
#     ALTER TABLE cannot do is done by move-and-copy"): its effect is checked
#     like on PostgreSQL, and so is the round trip through its downgrade; or
#   - fail cleanly: exit 1, "not supported on SQLite", the database unchanged
#     (no partial schema, no version row) — acceptable for an operation the
#     engine does not (yet) do by move-and-copy.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly BASE=f00000000001 ALTER=f00000000002

# base_project: a project whose first revision makes owners, items, codes
# with a few rows; upgraded to it; BEFORE holds its db_schema.
base_project() {
  new_project
  mkrev "$BASE" "" "base" <<'EOF'
function upgrade()
  op.create_table("owners",
    op.column("id", "integer", { primary_key = true }),
    op.column("name", "string(40)"))
  op.create_table("items",
    op.column("id", "integer", { primary_key = true }),
    op.column("code", "string(10)", { nullable = false }),
    op.column("qty", "string(10)"),
    op.column("note", "text"),
    op.column("owner_id", "integer"))
  op.create_table("codes",
    op.column("code", "string(10)", { nullable = false }),
    op.column("label", "string(20)"),
    op.unique("label", { name = "uq_codes_label" }))
  op.bulk_insert("owners", { { id = 1, name = "o1" }, { id = 2, name = "o2" } })
  op.bulk_insert("items", {
    { id = 1, code = "aa", qty = "5", note = "n1", owner_id = 1 },
    { id = 2, code = "bb", qty = "7", note = "n2", owner_id = 2 },
  })
  op.bulk_insert("codes", { { code = "x1", label = "one" }, { code = "x2", label = "two" } })
end

function downgrade()
  op.drop_table("codes")
  op.drop_table("items")
  op.drop_table("owners")
end
EOF
  lm upgrade head
  expect_exit 0
  BEFORE=$(db_schema)
}

# alter_rev: the revision under test, body from stdin.
alter_rev() { mkrev "$ALTER" "$BASE" "alter under test"; }

# run_alter PG_CHECK SQLITE_CHECK: upgrades to the revision under test and
# judges the outcome per dialect (see the top of this file); on PostgreSQL
# then downgrades and expects the schema from before.
run_alter() {
  local pg_check=$1 sqlite_check=$2
  lm upgrade head
  if is_pg; then
    expect_exit 0
    expect_out_contains "Running upgrade $BASE -> $ALTER"
    [ "$LM_RC" = 0 ] || return
    "$pg_check"
    lm downgrade -1
    expect_exit 0
    expect_same "$BEFORE" "$(db_schema)" "db_schema before the upgrade and after its downgrade"
    return
  fi
  case "$LM_RC" in
  1)
    _pass
    expect_err_error_line
    expect_err_contains "not supported on SQLite"
    expect_err_contains "${ALTER}_alter_under_test.lua"
    expect_same "$BEFORE" "$(db_schema)" "db_schema before and after the refused revision"
    ;;
  0)
    _pass
    "$sqlite_check"
    lm downgrade -1
    expect_exit 0
    expect_same "$BEFORE" "$(db_schema)" "db_schema before the upgrade and after its downgrade"
    ;;
  *) expect_exit "1 (not supported) or 0 (move-and-copy)" ;;
  esac
}

# ---------------------------------------------------------------------------
t_case "alter_column type_ with postgresql_using"
base_project
alter_rev <<'EOF'
function upgrade()
  op.alter_column("items", "qty", { type_ = "integer", existing_type = "string(10)", postgresql_using = "qty::integer" })
end

function downgrade()
  op.alter_column("items", "qty", { type_ = "string(10)", existing_type = "integer", postgresql_using = "qty::varchar(10)" })
end
EOF
check_type_change() {
  expect_eq "$(col_type items qty)" "$(pick INTEGER integer)" "type of items.qty"
  expect_eq "$(db_query "SELECT sum(qty) FROM items")" 12 "the converted values"
}
run_alter check_type_change check_type_change

t_case "alter_column type (the 'type' key)"
base_project
alter_rev <<'EOF'
function upgrade()
  op.alter_column("items", "note", { type = "string(200)", existing_type = "text" })
end

function downgrade()
  op.alter_column("items", "note", { type = "text", existing_type = "string(200)" })
end
EOF
check_type_key() {
  expect_eq "$(col_type items note)" "$(pick "VARCHAR(200)" "character varying(200)")" "type of items.note"
  expect_eq "$(db_query "SELECT note FROM items ORDER BY id" | tr '\n' ' ')" "n1 n2 " "values of items.note"
}
run_alter check_type_key check_type_key

t_case "alter_column nullable (after an add_column in the same revision)"
base_project
alter_rev <<'EOF'
function upgrade()
  op.add_column("items", op.column("extra", "integer"))
  op.alter_column("items", "note", { nullable = false, existing_type = "text" })
end

function downgrade()
  op.alter_column("items", "note", { nullable = true, existing_type = "text" })
  op.drop_column("items", "extra")
end
EOF
check_nullable() {
  expect_eq "$(col_notnull items note)" 1 "items.note NOT NULL"
  expect_fails "a NULL note is refused" db_query "INSERT INTO items (id, code, note) VALUES (9, 'zz', NULL)"
  expect_text_contains "$(columns items)" "extra" "columns of items"
}
run_alter check_nullable check_nullable

t_case "alter_column server_default: set a literal; false drops it"
base_project
alter_rev <<'EOF'
function upgrade()
  op.alter_column("items", "note", { server_default = "n/a", existing_type = "text" })
end

function downgrade()
  op.alter_column("items", "note", { server_default = false, existing_type = "text" })
end
EOF
check_default() {
  expect_eq "$(col_default items note)" "$(pick "'n/a'" "'n/a'::text")" "default of items.note"
  expect_ok "insert without a note" db_query "INSERT INTO items (id, code) VALUES (3, 'cc')"
  expect_eq "$(db_query "SELECT note FROM items WHERE id = 3")" "n/a" "the new default"
  db_query "DELETE FROM items WHERE id = 3" >/dev/null
}
run_alter check_default check_default
if is_pg; then
  expect_eq "$(col_default items note)" "" "default of items.note after server_default = false"
fi

t_case "alter_column comment"
base_project
alter_rev <<'EOF'
function upgrade()
  op.alter_column("items", "note", { comment = "the note", existing_type = "text" })
end

function downgrade()
  op.alter_column("items", "note", { comment = "", existing_type = "text" })
end
EOF
check_comment_pg() {
  expect_eq "$(db_query "SELECT col_description(attrelid, attnum) FROM pg_attribute WHERE attrelid = 'items'::regclass AND attname = 'note'")" \
    "the note" "comment of items.note"
}
check_comment_sqlite() { expect_eq "$(columns items)" "id,code,qty,note,owner_id" "columns of items"; }
run_alter check_comment_pg check_comment_sqlite

# ---------------------------------------------------------------------------
t_case "create_primary_key"
base_project
alter_rev <<'EOF'
function upgrade()
  op.create_primary_key("pk_codes", "codes", { "code" })
end

function downgrade()
  op.drop_constraint("pk_codes", "codes", { type_ = "primary" })
end
EOF
check_pk() {
  expect_eq "$(pk_cols codes)" "code" "primary key of codes"
  is_pg && expect_text_contains "$(constraint_names codes)" "pk_codes|p|" "constraints of codes"
  expect_fails "a duplicate code is refused" db_query "INSERT INTO codes (code) VALUES ('x1')"
}
run_alter check_pk check_pk

t_case "create_unique_constraint"
base_project
alter_rev <<'EOF'
function upgrade()
  op.create_unique_constraint("uq_items_code", "items", { "code" })
end

function downgrade()
  op.drop_constraint("uq_items_code", "items", { type_ = "unique" })
end
EOF
check_unique() {
  expect_text_contains "$(unique_sets items)" "code" "unique column sets of items"
  is_pg && expect_text_contains "$(constraint_names items)" "uq_items_code|u|" "constraints of items"
  expect_fails "a duplicate code is refused" db_query "INSERT INTO items (id, code) VALUES (5, 'aa')"
}
run_alter check_unique check_unique

t_case "create_foreign_key with ondelete and not_valid"
base_project
alter_rev <<'EOF'
function upgrade()
  op.create_foreign_key("fk_items_owner", "items", "owners", { "owner_id" }, { "id" }, { ondelete = "SET NULL", not_valid = true })
end

function downgrade()
  op.drop_constraint("fk_items_owner", "items", { type_ = "foreignkey" })
end
EOF
check_fk() {
  expect_eq "$(foreign_keys items)" "owner_id->owners(id) ON DELETE SET NULL" "foreign keys of items"
  is_pg && expect_text_contains "$(constraint_names items)" "fk_items_owner|f|f" "constraints of items (not validated)"
  expect_fails "a dangling owner_id is refused" db_query "INSERT INTO items (id, code, owner_id) VALUES (5, 'ee', 99)"
  expect_ok "delete an owner" db_query "DELETE FROM owners WHERE id = 1"
  expect_eq "$(db_query "SELECT CASE WHEN owner_id IS NULL THEN 'null' ELSE 'kept' END FROM items WHERE id = 1")" "null" "ON DELETE SET NULL"
  db_query "INSERT INTO owners (id, name) VALUES (1, 'o1'); UPDATE items SET owner_id = 1 WHERE id = 1" >/dev/null
}
run_alter check_fk check_fk

t_case "create_foreign_key validated"
base_project
alter_rev <<'EOF'
function upgrade()
  op.create_foreign_key("fk_items_owner", "items", "owners", { "owner_id" }, { "id" })
end

function downgrade()
  op.drop_constraint("fk_items_owner", "items", { type_ = "foreignkey" })
end
EOF
check_fk_valid() {
  expect_eq "$(foreign_keys items)" "owner_id->owners(id) ON DELETE NO ACTION" "foreign keys of items"
  is_pg && expect_text_contains "$(constraint_names items)" "fk_items_owner|f|t" "constraints of items (validated)"
}
run_alter check_fk_valid check_fk_valid

t_case "create_check_constraint, with and without not_valid"
base_project
alter_rev <<'EOF'
function upgrade()
  op.create_check_constraint("ck_items_code_len", "items", "length(code) > 1")
  op.create_check_constraint("ck_items_note", "items", "note IS NOT NULL", { not_valid = true })
end

function downgrade()
  op.drop_constraint("ck_items_note", "items", { type_ = "check" })
  op.drop_constraint("ck_items_code_len", "items", { type_ = "check" })
end
EOF
check_check() {
  expect_fails "a one-letter code is refused" db_query "INSERT INTO items (id, code, note) VALUES (5, 'a', 'n')"
  expect_fails "a NULL note is refused" db_query "INSERT INTO items (id, code, note) VALUES (6, 'ab', NULL)"
  if is_pg; then
    local cons
    cons=$(constraint_names items)
    expect_text_contains "$cons" "ck_items_code_len|c|t" "constraints of items"
    expect_text_contains "$cons" "ck_items_note|c|f" "constraints of items (not_valid)"
  fi
}
run_alter check_check check_check

t_case "drop_constraint of a constraint made by create_table"
base_project
alter_rev <<'EOF'
function upgrade()
  op.drop_constraint("uq_codes_label", "codes", { type_ = "unique" })
end

function downgrade()
  op.create_unique_constraint("uq_codes_label", "codes", { "label" })
end
EOF
check_drop_constraint() {
  expect_text_not_contains "$(unique_sets codes)" "label" "unique column sets of codes"
  expect_ok "a duplicate label is allowed now" db_query "INSERT INTO codes (code, label) VALUES ('x3', 'one')"
  db_query "DELETE FROM codes WHERE code = 'x3'" >/dev/null
}
run_alter check_drop_constraint check_drop_constraint

# ---------------------------------------------------------------------------
t_case "create_index concurrently inside op.autocommit_block"
base_project
alter_rev <<'EOF'
function upgrade()
  op.add_column("items", op.column("extra", "integer"))
  op.autocommit_block(function()
    op.create_index("ix_items_code_conc", "items", { "code" }, { concurrently = true })
    op.create_index("ix_items_note_conc", "items", { "note" }, { postgresql_concurrently = true })
  end)
end

function downgrade()
  op.autocommit_block(function()
    op.drop_index("ix_items_note_conc", { table_name = "items", concurrently = true })
    op.drop_index("ix_items_code_conc", { table_name = "items", concurrently = true })
  end)
  op.drop_column("items", "extra")
end
EOF
check_concurrent() {
  local idx
  idx=$(indexes items)
  expect_text_contains "$idx" "ix_items_code_conc|0|0|code" "indexes of items"
  expect_text_contains "$idx" "ix_items_note_conc|0|0|note" "indexes of items"
  if is_pg; then
    expect_eq "$(db_query "SELECT bool_and(x.indisvalid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE i.relname LIKE 'ix_items_%_conc'")" \
      t "the concurrent indexes are valid"
  fi
  expect_text_contains "$(columns items)" "extra" "columns of items"
}
run_alter check_concurrent check_concurrent

t_case "create_index with an index method (postgresql_using) and operator classes (postgresql_ops): PostgreSQL's, ignored on SQLite"
base_project
alter_rev <<'EOF'
function upgrade()
  op.create_index("ix_items_owner_brin", "items", { "owner_id" }, { postgresql_using = "brin" })
  op.create_index("ix_items_code_hash", "items", { "code" }, { postgresql_using = "HASH" })
  op.create_index("ix_items_code_pattern", "items", { "code", "id" }, { postgresql_ops = { code = "varchar_pattern_ops" } })
end

function downgrade()
  op.drop_index("ix_items_code_pattern", { table_name = "items" })
  op.drop_index("ix_items_code_hash", { table_name = "items" })
  op.drop_index("ix_items_owner_brin", { table_name = "items" })
end
EOF
check_methods() {
  local idx
  idx=$(indexes items)
  expect_text_contains "$idx" "ix_items_owner_brin|0|0|owner_id" "indexes of items"
  expect_text_contains "$idx" "ix_items_code_hash|0|0|code" "indexes of items"
  expect_text_contains "$idx" "ix_items_code_pattern|0|0|code,id" "indexes of items"
  if is_pg; then
    expect_eq "$(db_query "SELECT pg_get_indexdef('ix_items_code_pattern'::regclass)")" \
      'CREATE INDEX ix_items_code_pattern ON public.items USING btree (code varchar_pattern_ops, id)' \
      "the operator class (postgresql_ops)"
    expect_eq "$(db_query "SELECT string_agg(i.relname || ':' || a.amname, ' ' ORDER BY i.relname) FROM pg_class i JOIN pg_am a ON a.oid = i.relam WHERE i.relname LIKE 'ix_items_%'")" \
      "ix_items_code_hash:hash ix_items_code_pattern:btree ix_items_owner_brin:brin" "the index methods"
  fi
}
run_alter check_methods check_methods

t_case "create_index with a postgresql_using that is no method's name: an error at its line, nothing run"
base_project
alter_rev <<'EOF'
function upgrade()
  op.create_index("ix_items_code", "items", { "code" })
  op.create_index("ix_items_note", "items", { "note" }, { postgresql_using = "gin (note); DROP TABLE owners; --" })
end

function downgrade()
  op.drop_index("ix_items_note", { table_name = "items" })
  op.drop_index("ix_items_code", { table_name = "items" })
end
EOF
lm upgrade head
expect_exit_nonzero
expect_err_error_line
bad_line=$(grep -n 'DROP TABLE owners' "versions/${ALTER}_alter_under_test.lua" | cut -d: -f1)
expect_err_contains "${ALTER}_alter_under_test.lua:$bad_line: op.create_index: postgresql_using"
expect_err_contains "postgresql_using must be the name of an index method"
expect_same "$BEFORE" "$(db_schema)" "db_schema before and after the refused revision"
lm current
expect_out_equals "$BASE"

t_case "create_index with a postgresql_ops key that is no column of the index, and op.column with a quote in its collation: errors at their lines"
for bad in 'op.create_index("ix_items_note", "items", { "note" }, { postgresql_ops = { code = "text_pattern_ops" } })' \
  'op.add_column("items", op.column("memo", "text", { collation = "C\" NOT NULL --" }))'; do
  base_project
  alter_rev <<EOF
function upgrade()
  op.create_index("ix_items_code", "items", { "code" })
  $bad
end

function downgrade()
  op.drop_index("ix_items_code", { table_name = "items" })
end
EOF
  lm upgrade head
  expect_exit_nonzero
  expect_err_error_line
  bad_line=$(grep -nF "$bad" "versions/${ALTER}_alter_under_test.lua" | cut -d: -f1)
  expect_err_contains "${ALTER}_alter_under_test.lua:$bad_line: op."
  expect_err_contains "$(case $bad in *postgresql_ops*) echo "postgresql_ops names 'code', which is not one of the index's columns" ;; *) echo "collation must be a collation's name" ;; esac)"
  expect_same "$BEFORE" "$(db_schema)" "db_schema before and after the refused revision"
  lm current
  expect_out_equals "$BASE"
done

t_case "create_index with INCLUDE columns (postgresql_include): a covering index on PostgreSQL, a plain one on SQLite"
base_project
alter_rev <<'EOF'
function upgrade()
  op.create_index("ix_items_code_cover", "items", { "code" }, { unique = true, postgresql_include = { "note", "qty" } })
  op.create_index("ix_items_owner_cover", "items", "owner_id", { postgresql_include = "code", where = "note IS NOT NULL" })
end

function downgrade()
  op.drop_index("ix_items_owner_cover", { table_name = "items" })
  op.drop_index("ix_items_code_cover", { table_name = "items" })
end
EOF
check_include() {
  local idx
  idx=$(indexes items)
  expect_text_contains "$idx" "ix_items_code_cover|1|0|code" "indexes of items"
  expect_text_contains "$idx" "ix_items_owner_cover|0|1|owner_id" "indexes of items"
  if is_pg; then
    expect_eq "$(db_query "SELECT pg_get_indexdef('ix_items_code_cover'::regclass)")" \
      'CREATE UNIQUE INDEX ix_items_code_cover ON public.items USING btree (code) INCLUDE (note, qty)' \
      "the INCLUDE columns"
    expect_eq "$(db_query "SELECT pg_get_indexdef('ix_items_owner_cover'::regclass)")" \
      'CREATE INDEX ix_items_owner_cover ON public.items USING btree (owner_id) INCLUDE (code) WHERE (note IS NOT NULL)' \
      "the INCLUDE column before the WHERE"
  fi
}
run_alter check_include check_include
lm upgrade head --sql
expect_exit 0
if is_pg; then
  expect_out_contains 'CREATE UNIQUE INDEX "ix_items_code_cover" ON "items" ("code") INCLUDE ("note", "qty");'
else
  expect_out_contains 'CREATE UNIQUE INDEX "ix_items_code_cover" ON "items" ("code");'
fi

t_case "create_index with a postgresql_include that is no list of names: an error at its line, nothing run"
for bad in '{ postgresql_include = 5 }' '{ postgresql_include = {} }' '{ postgresql_include = { "note", false } }'; do
  base_project
  alter_rev <<EOF
function upgrade()
  op.create_index("ix_items_code", "items", { "code" })
  op.create_index("ix_items_note", "items", { "note" }, $bad)
end

function downgrade()
  op.drop_index("ix_items_note", { table_name = "items" })
  op.drop_index("ix_items_code", { table_name = "items" })
end
EOF
  lm upgrade head
  expect_exit_nonzero
  expect_err_error_line
  bad_line=$(grep -nF "$bad" "versions/${ALTER}_alter_under_test.lua" | cut -d: -f1)
  expect_err_contains "${ALTER}_alter_under_test.lua:$bad_line: op.create_index: option postgresql_include must"
  expect_same "$BEFORE" "$(db_schema)" "db_schema before and after the refused revision"
  lm current
  expect_out_equals "$BASE"
done

t_case "an integer key that a table-level foreign key takes in is no SERIAL (one-to-one, as autogenerate writes it)"
new_project
mkrev "$BASE" "" "one to one" <<'EOF'
function upgrade()
  op.create_table("people", op.column("id", "integer", { primary_key = true }))
  op.create_table("profiles",
    op.column("person_id", "integer", { nullable = false }),
    op.column("bio", "text"),
    op.foreign_key({ "person_id" }, { "people.id" }),
    op.primary_key({ "person_id" }))
  op.create_table("counted",
    op.column("person_id", "integer", { autoincrement = true }),
    op.foreign_key({ "person_id" }, { "people.id" }),
    op.primary_key({ "person_id" }))
end

function downgrade()
  op.drop_table("counted")
  op.drop_table("profiles")
  op.drop_table("people")
end
EOF
lm upgrade head
expect_exit 0
expect_eq "$(col_default profiles person_id)" "" "the default of profiles.person_id"
expect_text_contains "$(col_default people id)" "$(pick "" "nextval(")" "the default of people.id"
expect_text_contains "$(col_default counted person_id)" "$(pick "" "nextval(")" "the default of counted.person_id (autoincrement = true)"

t_done
