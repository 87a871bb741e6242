#!/usr/bin/env bash
# SQLite move-and-copy (SPEC §4: "on SQLite, what ALTER TABLE cannot do is
# done by move-and-copy"). Every operation that needs it runs on tables of
# 10,000 rows with indexes, a partial index, a trigger, a view, an
# AUTOINCREMENT key and foreign keys in and out. After each upgrade the
# change is checked; after each downgrade a full snapshot (rows, columns,
# indexes, unique sets, foreign keys, CHECKs, triggers, views, the
# AUTOINCREMENT counter, PRAGMA foreign_key_check) must equal the one taken
# before the upgrade. Then: failing copies roll back, recreate = "always" /
# "never", and the --sql script gives the same database as the online run.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
only_dialect sqlite

readonly TABLES="'authors', 'items', 'events', 'reviews', 'audit'"

# snapshot: everything a move-and-copy must keep, independent of column and
# constraint order (a column dropped and added again comes back last, as on
# PostgreSQL).
snapshot() {
  # Two sqlite3 runs (each costs a process): the row expression of each
  # table, then everything else in one; rows are hashed by the shell's
  # sha3_query, CHECKs are cut out of each table's SQL here.
  local t line exprs q="" out checks=() rest
  exprs=$(db_query "SELECT m.name || '|' || (SELECT group_concat('quote(\"' || name || '\")', ' || ''|'' || ')
                       FROM (SELECT name FROM pragma_table_info(m.name) ORDER BY name))
                      FROM sqlite_master m WHERE m.type = 'table'
                       AND m.name IN ('authors', 'items', 'events', 'reviews') ORDER BY m.name")
  while IFS='|' read -r t line; do
    [ -n "$t" ] || continue
    line=${line//\'/\'\'}
    q+="SELECT 'sql|$t|' || replace(sql, char(10), ' ') FROM sqlite_master WHERE name = '$t';
SELECT 'rows|$t|' || lower(hex(sha3_query('SELECT $line FROM \"$t\" ORDER BY 1', 256)));
"
  done <<<"$exprs"
  out=$(db_query "
SELECT 'col|' || m.name || '|' || p.name || '|' || p.type || '|notnull=' || p.\"notnull\"
       || '|default=' || coalesce(p.dflt_value, 'NULL') || '|pk=' || p.pk
  FROM sqlite_master m JOIN pragma_table_xinfo(m.name) p
 WHERE m.type = 'table' AND m.name IN ($TABLES) ORDER BY 1;
SELECT 'index|' || name || '|' || tbl_name || '|' || sql FROM sqlite_master
 WHERE type = 'index' AND sql IS NOT NULL ORDER BY 1;
SELECT 'unique|' || m.name || '|' || il.origin || '|' || il.partial || '|'
       || (SELECT group_concat(name) FROM (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno))
  FROM sqlite_master m JOIN pragma_index_list(m.name) il
 WHERE m.type = 'table' AND m.name IN ($TABLES) AND il.\"unique\" = 1 ORDER BY 1;
SELECT 'fk|' || m.name || '|' || f.\"from\" || '->' || f.\"table\" || '(' || coalesce(f.\"to\", '') || ')|'
       || f.on_delete || '|' || f.on_update
  FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f
 WHERE m.type = 'table' AND m.name IN ($TABLES) ORDER BY 1;
SELECT 'object|' || type || '|' || name || '|' || sql FROM sqlite_master
 WHERE type IN ('trigger', 'view') ORDER BY 1;
SELECT 'seq|' || name || '|' || seq FROM sqlite_sequence ORDER BY 1;
SELECT 'fk_check|' || count(*) FROM pragma_foreign_key_check;
$q")
  local re='(CONSTRAINT "[^"]*" )?CHECK \(([^()]|\(([^()]|\([^()]*\))*\))*\)'
  while IFS= read -r line; do
    case $line in
    'sql|'*)
      t=${line#sql|}
      rest=${t#*|}
      t=${t%%|*}
      while [[ $rest =~ $re ]]; do
        checks+=("check|$t|${BASH_REMATCH[0]}")
        rest=${rest#*"${BASH_REMATCH[0]}"}
      done
      ;;
    *) printf '%s\n' "$line" ;;
    esac
  done <<<"$out"
  [ ${#checks[@]} -eq 0 ] || printf '%s\n' "${checks[@]}" | sort
}

# rows_sum TABLE: sha256 of every row (values quoted with their type), the
# columns in name order, the rows sorted.
rows_sum() {
  local expr
  expr=$(db_query "SELECT group_concat('quote(\"' || name || '\")', ' || ''|'' || ')
                     FROM (SELECT name FROM pragma_table_info('$1') ORDER BY name)")
  db_query "SELECT $expr FROM \"$1\" ORDER BY 1" | sha256sum | cut -c1-64
}

# expect_same WHAT EXPECTED GOT: equal texts, a diff when they are not.
expect_same() {
  [ "$2" = "$3" ]
  _check $? "$1: should be the same" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3"))"
}

# expect_snapshot SAVED WHAT: the current snapshot equals SAVED.
expect_snapshot() {
  local now
  now=$(snapshot)
  [ "$now" = "$1" ]
  _check $? "$2: the database should be exactly as before" "$(diff <(printf '%s\n' "$1") <(printf '%s\n' "$now"))"
}

# sql_copies FROM TO: runs the --sql script FROM:TO; COPIES is how many
# move-and-copies it makes.
sql_copies() {
  lm upgrade "$1:$2" --sql
  COPIES=$(grep -c '^CREATE TABLE "_luamig_tmp_' <<<"$LM_OUT")
}

new_project

# ---------------------------------------------------------------------------
# The tables: items (AUTOINCREMENT key, named and unnamed constraints, three
# indexes one of them partial, a trigger, a view, a foreign key out to
# authors and one in from reviews) and events (no primary key, indexes, a
# trigger, foreign keys both ways), 10,000 rows each.
mkrev 0c0000000000 "" "tables" <<'EOF'
function upgrade()
  op.create_table("authors",
    op.column("id", "integer", { primary_key = true }),
    op.column("name", "string(40)", { nullable = false }))
  op.create_table("items",
    op.column("id", "integer", { primary_key = true, autoincrement = true }),
    op.column("author_id", "integer", { nullable = false }),
    op.column("editor_id", "integer"),
    op.column("code", "string(20)", { nullable = false }),
    op.column("ref", "string(20)"),
    op.column("slug", "string(40)", { unique = true }),
    op.column("qty", "text"),
    op.column("note", "text"),
    op.column("memo", "text"),
    op.column("status", "string(10)", { server_default = "new" }),
    op.column("kind", "string(10)", { server_default = "std" }),
    op.column("legacy", "text"),
    op.foreign_key({ "author_id" }, { "authors.id" }, { name = "fk_items_author", ondelete = "CASCADE" }),
    op.unique({ "ref" }, { name = "uq_items_ref" }),
    op.check("length(code) > 0", { name = "ck_items_code" }),
    op.check("kind <> ''"))
  op.create_index("ix_items_code", "items", { "code" })
  op.create_index("ix_items_legacy", "items", { "legacy", "code" })
  op.create_index("ix_items_legacy_set", "items", { "legacy" }, { where = "legacy IS NOT NULL" })
  op.create_index("ix_items_memo_partial", "items", { "memo" }, { where = "memo IS NOT NULL" })
  op.create_table("audit",
    op.column("id", "integer", { primary_key = true }),
    op.column("item_id", "integer"),
    op.column("what", "text"))
  op.execute([[CREATE TRIGGER tr_items_audit AFTER UPDATE OF status ON items
               BEGIN INSERT INTO audit (item_id, what) VALUES (new.id, new.status); END]])
  op.execute("CREATE VIEW v_items AS SELECT id, code, status FROM items")
  op.create_table("events",
    op.column("id", "integer", { nullable = false, autoincrement = false }),
    op.column("item_id", "integer", { references = "items.id" }),
    op.column("payload", "text"),
    op.column("level", "integer", { nullable = false, server_default = 1 }))
  op.create_index("ux_events_id", "events", { "id" }, { unique = true })
  op.create_index("ix_events_item", "events", { "item_id" })
  op.create_index("ix_events_hot", "events", { "level" }, { where = "level > 5" })
  op.execute([[CREATE TRIGGER tr_events_audit AFTER DELETE ON events
               BEGIN INSERT INTO audit (item_id, what) VALUES (old.item_id, 'event gone'); END]])
  op.create_table("reviews",
    op.column("id", "integer", { primary_key = true }),
    op.column("item_id", "integer", { references = "items.id", ondelete = "CASCADE" }),
    op.column("event_id", "integer", { references = "events.id" }),
    op.column("stars", "integer"))
  op.execute([[WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 100)
               INSERT INTO authors (id, name) SELECT x, 'author ' || x FROM n]])
  op.execute([[WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 10010)
               INSERT INTO items (author_id, editor_id, code, ref, slug, qty, note, memo, status, legacy)
               SELECT 1 + x % 100, 1 + x % 7, 'c' || x, 'r' || x, 's' || x, CAST(x % 50 AS TEXT),
                      'n' || x, CASE WHEN x % 3 = 0 THEN NULL ELSE 'm' || x END,
                      CASE WHEN x % 2 = 0 THEN 'new' ELSE 'done' END, NULL FROM n]])
  -- the AUTOINCREMENT counter (10010) stays above the largest id (10000)
  op.execute("DELETE FROM items WHERE id > 10000")
  op.execute([[WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 10000)
               INSERT INTO events (id, item_id, payload, level) SELECT x, x, 'p' || x, x % 10 FROM n]])
  op.execute([[WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000)
               INSERT INTO reviews (item_id, event_id, stars) SELECT x * 10, x * 10, x % 5 FROM n]])
end

function downgrade()
  op.drop_table("reviews")
  op.drop_table("events")
  op.execute("DROP VIEW v_items")
  op.drop_table("audit")
  op.drop_table("items")
  op.drop_table("authors")
end
EOF

t_case "the tables"
lm upgrade head
expect_exit 0
expect_eq "$(db_query "SELECT count(*) FROM items")" 10000 "rows of items"
expect_eq "$(db_query "SELECT seq FROM sqlite_sequence WHERE name = 'items'")" 10010 "AUTOINCREMENT counter"
BASE=$(snapshot)
expect_text_contains "$BASE" "fk_check|0" "no foreign key violation at the start"

prev=0c0000000000
n=0
# next_rev MESSAGE: writes the next revision of the chain (body from stdin).
next_rev() {
  n=$((n + 1))
  REV=$(printf '0c%010d' "$n")
  mkrev "$REV" "$prev" "$1"
  PREV_REV=$prev
  prev=$REV
}

# up_down_up: upgrade +1 (checks in between by the caller through $AFTER),
# remembering the snapshot before it.
begin_case() {
  BEFORE=$(snapshot)
  lm upgrade +1
  expect_exit 0
  AFTER=$(snapshot)
}
# end_case WHAT: downgrade -1 restores BEFORE; upgrade +1 again for the next case.
end_case() {
  lm downgrade -1
  expect_exit 0
  expect_snapshot "$BEFORE" "$1 downgraded"
  lm upgrade +1
  expect_exit 0
  expect_snapshot "$AFTER" "$1 upgraded again"
}

# col_info TABLE COLUMN: type|notnull|default
col_info() {
  db_query "SELECT type || '|' || \"notnull\" || '|' || coalesce(dflt_value, 'NULL') FROM pragma_table_info('$1') WHERE name = '$2'"
}

# ---------------------------------------------------------------------------
t_case "alter_column type: CAST into the new type, every row and object kept"
next_rev "qty integer" <<'EOF'
function upgrade()
  op.alter_column("items", "qty", { type = "integer", existing_type = "text" })
end
function downgrade()
  op.alter_column("items", "qty", { type = "text", existing_type = "integer" })
end
EOF
sql_copies "$PREV_REV" "$REV"
expect_eq "$COPIES" 1 "one move-and-copy in the script"
begin_case
expect_eq "$(col_info items qty)" "INTEGER|0|NULL" "items.qty"
expect_eq "$(db_query "SELECT typeof(qty) || count(*) FROM items GROUP BY typeof(qty)")" "integer10000" "qty values are integers"
expect_eq "$(db_query "SELECT sum(qty) FROM items")" "$(( (0 + 49) * 50 / 2 * 200 ))" "qty values"
expect_eq "$(db_query "SELECT count(*) FROM items")" 10000 "rows of items"
expect_eq "$(grep '^index|\|^object|\|^seq|\|^fk|\|^unique|\|^check|' <<<"$AFTER")" \
  "$(grep '^index|\|^object|\|^seq|\|^fk|\|^unique|\|^check|' <<<"$BEFORE")" "indexes, triggers, views, counter, keys, checks kept"
expect_eq "$(grep '^rows|events\|^rows|reviews\|^rows|authors' <<<"$AFTER")" \
  "$(grep '^rows|events\|^rows|reviews\|^rows|authors' <<<"$BEFORE")" "the other tables' rows"
expect_text_contains "$AFTER" "fk_check|0" "foreign keys after the copy"
db_query "INSERT INTO items (author_id, code) VALUES (1, 'new')" >/dev/null
expect_eq "$(db_query "SELECT max(id) FROM items")" 10011 "AUTOINCREMENT goes on from its counter"
db_query "DELETE FROM items WHERE id = 10011; UPDATE sqlite_sequence SET seq = 10010 WHERE name = 'items'" >/dev/null
AFTER=$(snapshot)
end_case "alter_column type"

# ---------------------------------------------------------------------------
t_case "alter_column nullable"
next_rev "note not null" <<'EOF'
function upgrade()
  op.alter_column("items", "note", { nullable = false, existing_type = "text" })
end
function downgrade()
  op.alter_column("items", "note", { nullable = true, existing_type = "text" })
end
EOF
begin_case
expect_eq "$(col_info items note)" "TEXT|1|NULL" "items.note NOT NULL"
expect_eq "$(grep -v '^col|' <<<"$AFTER")" "$(grep -v '^col|' <<<"$BEFORE")" "everything else kept"
expect_fails "a NULL note is refused" db_query "UPDATE items SET note = NULL WHERE id = 1"
end_case "alter_column nullable"

# ---------------------------------------------------------------------------
t_case "alter_column server_default set and dropped"
next_rev "defaults" <<'EOF'
function upgrade()
  op.alter_column("items", "status", { server_default = "open" })
  op.alter_column("items", "kind", { server_default = false })
  op.alter_column("items", "memo", { server_default = op.sql("'m' || 0") })
end
function downgrade()
  op.alter_column("items", "memo", { server_default = false })
  op.alter_column("items", "kind", { server_default = "std" })
  op.alter_column("items", "status", { server_default = "new" })
end
EOF
begin_case
expect_eq "$(col_info items status)" "VARCHAR(10)|0|'open'" "items.status default"
expect_eq "$(col_info items kind)" "VARCHAR(10)|0|NULL" "items.kind default dropped"
expect_eq "$(col_info items memo)" "TEXT|0|'m' || 0" "items.memo default expression"
expect_eq "$(grep -v '^col|' <<<"$AFTER")" "$(grep -v '^col|' <<<"$BEFORE")" "everything else kept"
end_case "alter_column server_default"

# ---------------------------------------------------------------------------
t_case "create_unique_constraint"
next_rev "unique code" <<'EOF'
function upgrade()
  op.create_unique_constraint("uq_items_code", "items", { "code" })
end
function downgrade()
  op.drop_constraint("uq_items_code", "items", { type_ = "unique" })
end
EOF
begin_case
expect_text_contains "$AFTER" "unique|items|u|0|code" "a unique constraint on code"
expect_text_contains "$(db_query "SELECT sql FROM sqlite_master WHERE name = 'items'")" \
  'CONSTRAINT "uq_items_code" UNIQUE ("code")' "the constraint in the table's definition"
expect_fails "a duplicate code is refused" db_query "UPDATE items SET code = 'c1' WHERE id = 2"
end_case "create_unique_constraint"

# ---------------------------------------------------------------------------
t_case "create_foreign_key"
next_rev "editor fk" <<'EOF'
function upgrade()
  op.create_foreign_key("fk_items_editor", "items", "authors", { "editor_id" }, { "id" }, { ondelete = "SET NULL" })
end
function downgrade()
  op.drop_constraint("fk_items_editor", "items", { type_ = "foreignkey" })
end
EOF
begin_case
expect_text_contains "$AFTER" "fk|items|editor_id->authors(id)|SET NULL|NO ACTION" "the new foreign key"
expect_text_contains "$AFTER" "fk|items|author_id->authors(id)|CASCADE|NO ACTION" "the old foreign key"
expect_text_contains "$AFTER" "fk|reviews|item_id->items(id)|CASCADE|NO ACTION" "the foreign key pointing in"
end_case "create_foreign_key"

# ---------------------------------------------------------------------------
t_case "create_check_constraint"
next_rev "qty check" <<'EOF'
function upgrade()
  op.create_check_constraint("ck_items_qty", "items", "qty >= 0")
end
function downgrade()
  op.drop_constraint("ck_items_qty", "items", { type_ = "check" })
end
EOF
begin_case
expect_text_contains "$AFTER" 'check|items|CONSTRAINT "ck_items_qty" CHECK (qty >= 0)' "the check"
expect_fails "a negative qty is refused" db_query "UPDATE items SET qty = -1 WHERE id = 1"
end_case "create_check_constraint"

# ---------------------------------------------------------------------------
t_case "create_primary_key (and drop_constraint of a primary key)"
next_rev "events pk" <<'EOF'
function upgrade()
  op.create_primary_key("pk_events", "events", { "id" })
end
function downgrade()
  op.drop_constraint("pk_events", "events", { type_ = "primary" })
end
EOF
begin_case
expect_eq "$(db_query "SELECT group_concat(name) FROM pragma_table_info('events') WHERE pk > 0")" id "primary key of events"
expect_eq "$(db_query "SELECT count(*) FROM events")" 10000 "rows of events"
expect_text_contains "$AFTER" "object|trigger|tr_events_audit|" "the trigger on events"
expect_text_contains "$AFTER" "index|ix_events_hot|events|" "the partial index on events"
expect_text_contains "$AFTER" "fk|events|item_id->items(id)" "the foreign key out of events"
expect_text_contains "$AFTER" "fk|reviews|event_id->events(id)" "the foreign key into events"
expect_fails "a duplicate id is refused" db_query "INSERT INTO events (id, level) VALUES (1, 1)"
end_case "create_primary_key"

# ---------------------------------------------------------------------------
t_case "drop_constraint of each kind, named and unnamed"
next_rev "drop constraints" <<'EOF'
function upgrade()
  op.drop_constraint("ck_items_code", "items", { type_ = "check" })
  op.drop_constraint("uq_items_ref", "items", { type_ = "unique" })
  op.drop_constraint("fk_items_author", "items", { type_ = "foreignkey" })
  op.drop_constraint("uq_items_slug", "items")  -- unnamed: Alembic's naming convention finds it
  op.drop_constraint("ck_items_1", "items")     -- unnamed CHECK: ck_<table>_<n>
end
function downgrade()
  op.create_check_constraint("ck_items_1", "items", "kind <> ''")
  op.create_unique_constraint("uq_items_slug", "items", { "slug" })
  op.create_foreign_key("fk_items_author", "items", "authors", { "author_id" }, { "id" }, { ondelete = "CASCADE" })
  op.create_unique_constraint("uq_items_ref", "items", { "ref" })
  op.create_check_constraint("ck_items_code", "items", "length(code) > 0")
end
EOF
begin_case
expect_text_not_contains "$AFTER" "ck_items_code" "the named check is gone"
expect_text_not_contains "$AFTER" "kind <> ''" "the unnamed check is gone"
expect_text_not_contains "$AFTER" "unique|items|u|0|ref" "the named unique is gone"
expect_text_not_contains "$AFTER" "unique|items|u|0|slug" "the unnamed unique is gone"
expect_text_not_contains "$AFTER" "fk|items|author_id" "the foreign key is gone"
expect_eq "$(grep -c '^index|' <<<"$AFTER")" "$(grep -c '^index|' <<<"$BEFORE")" "the indexes are kept"
lm downgrade -1
expect_exit 0
# the unnamed CHECK comes back with the name it was dropped by; the rest is
# as before
expect_same "drop_constraint downgraded" \
  "$(sed -e 's/^check|items|CHECK (kind/check|items|CONSTRAINT "ck_items_1" CHECK (kind/' <<<"$BEFORE" | sort)" \
  "$(snapshot | sort)"
lm upgrade +1
expect_exit 0

t_case "drop_constraint: a clear error when the constraint does not exist"
next_rev "no such constraint" <<'EOF'
function upgrade()
  op.drop_constraint("ck_nope", "items", { type_ = "check" })
end
function downgrade()
end
EOF
BEFORE=$(snapshot)
lm upgrade +1
expect_exit 1
expect_err_contains 'drop_constraint: table "items" has no CHECK constraint named "ck_nope"; it has:'
expect_err_contains "no_such_constraint.lua:"
expect_snapshot "$BEFORE" "after the failed drop_constraint"
rm "$REV_FILE"
prev=$PREV_REV

# ---------------------------------------------------------------------------
t_case "drop_column of an indexed column"
next_rev "drop legacy" <<'EOF'
function upgrade()
  op.drop_column("items", "legacy")
end
function downgrade()
  op.add_column("items", op.column("legacy", "text"))
  op.create_index("ix_items_legacy", "items", { "legacy", "code" })
  op.create_index("ix_items_legacy_set", "items", { "legacy" }, { where = "legacy IS NOT NULL" })
end
EOF
sql_copies "$PREV_REV" "$REV"
expect_eq "$COPIES" 1 "one move-and-copy for the upgrade"
begin_case
expect_eq "$(db_query "SELECT count(*) FROM pragma_table_info('items') WHERE name = 'legacy'")" 0 "legacy is gone"
expect_text_not_contains "$AFTER" "ix_items_legacy" "its indexes went with it"
expect_text_contains "$AFTER" "index|ix_items_code|" "other indexes kept"
expect_text_contains "$AFTER" "index|ix_items_memo_partial|" "the partial index kept"
end_case "drop_column"

t_case "drop_column of a plain column stays a plain ALTER TABLE DROP COLUMN"
next_rev "drop plain" <<'EOF'
function upgrade()
  op.add_column("items", op.column("scratch", "text"))
  op.drop_column("items", "scratch")
end
function downgrade()
end
EOF
sql_copies "$PREV_REV" "$REV"
expect_eq "$COPIES" 0 "no move-and-copy"
expect_out_contains 'ALTER TABLE "items" DROP COLUMN "scratch";'
lm upgrade +1
expect_exit 0

# ---------------------------------------------------------------------------
t_case "batch_alter_table: several changes, one move-and-copy"
next_rev "batch" <<'EOF'
function upgrade()
  op.batch_alter_table("items", function(batch)
    batch.add_column(op.column("score", "integer", { nullable = false, server_default = 0 }))
    batch.alter_column("note", { type = "string(30)" })
    batch.alter_column("ref", { new_column_name = "reference" })
    batch.create_index("ix_items_score", { "score" })
    batch.drop_index("ix_items_code")
    batch.create_check_constraint("ck_items_score", "score >= 0")
    batch.create_unique_constraint("uq_items_code_ref", { "code", "reference" })
    batch.drop_column("memo")
  end)
end
function downgrade()
  op.batch_alter_table("items", function(batch)
    batch.add_column(op.column("memo", "text", { server_default = op.sql("'m' || 0") }))
    batch.drop_constraint("uq_items_code_ref", { type_ = "unique" })
    batch.drop_constraint("ck_items_score", { type_ = "check" })
    batch.create_index("ix_items_code", { "code" })
    batch.drop_index("ix_items_score")
    batch.alter_column("reference", { new_column_name = "ref" })
    batch.alter_column("note", { type = "text" })
    batch.drop_column("score")
  end)
  op.create_index("ix_items_memo_partial", "items", { "memo" }, { where = "memo IS NOT NULL" })
  op.execute("UPDATE items SET memo = CASE WHEN id % 3 = 0 THEN NULL ELSE 'm' || id END")
end
EOF
sql_copies "$PREV_REV" "$REV"
expect_eq "$COPIES" 1 "one move-and-copy for the whole batch"
begin_case
expect_eq "$(columns items)" "id,author_id,editor_id,code,reference,slug,qty,note,status,kind,score" "columns of items"
expect_eq "$(col_info items note)" "VARCHAR(30)|1|NULL" "items.note"
expect_eq "$(col_info items score)" "INTEGER|1|0" "items.score"
expect_text_contains "$AFTER" "index|ix_items_score|" "the new index"
expect_text_not_contains "$AFTER" "ix_items_code|" "the dropped index"
expect_text_not_contains "$AFTER" "memo" "the dropped column and its partial index"
expect_text_contains "$AFTER" "unique|items|u|0|code,reference" "the unique constraint, on the renamed column"
expect_eq "$(db_query "SELECT count(*) FROM items WHERE score = 0")" 10000 "every row, with the new column's default"
expect_text_contains "$AFTER" "object|view|v_items|" "the view"
expect_text_contains "$AFTER" "seq|items|10010" "the AUTOINCREMENT counter"
end_case "batch_alter_table"

# ---------------------------------------------------------------------------
t_case "batch_alter_table recreate = always / auto / never"
next_rev "batch modes" <<'EOF'
function upgrade()
  op.batch_alter_table("items", function(batch)
    batch.add_column(op.column("extra", "text"))
  end, { recreate = "always" })
  op.batch_alter_table("events", function(batch)
    batch.add_column(op.column("extra", "text"))
    batch.create_index("ix_events_extra", { "extra" })
  end)
  op.batch_alter_table("reviews", function(batch)
    batch.add_column(op.column("extra", "text"))
  end, { recreate = "never" })
end
function downgrade()
  op.batch_alter_table("reviews", function(batch)
    batch.drop_column("extra")
  end, { recreate = "never" })
  op.batch_alter_table("events", function(batch)
    batch.drop_index("ix_events_extra")
    batch.drop_column("extra")
  end)
  op.batch_alter_table("items", function(batch)
    batch.drop_column("extra")
  end, { recreate = "always" })
end
EOF
script=$(lm upgrade "$PREV_REV:$REV" --sql; printf '%s' "$LM_OUT")
expect_eq "$(grep -c '^CREATE TABLE "_luamig_tmp_items"' <<<"$script")" 1 "always: a move-and-copy of items"
expect_eq "$(grep -c '^CREATE TABLE "_luamig_tmp_' <<<"$script")" 1 "auto and never: plain ALTERs"
expect_text_contains "$script" 'ALTER TABLE "events" ADD COLUMN "extra" TEXT;' "auto: plain ADD COLUMN"
begin_case
expect_eq "$(db_query "SELECT count(*) FROM pragma_table_info('items') WHERE name = 'extra'")" 1 "items.extra"
expect_text_contains "$AFTER" "index|ix_events_extra|" "events index"
end_case "batch_alter_table modes"

# ---------------------------------------------------------------------------
# ALTER TABLE ADD COLUMN refuses, on a table with rows, a default that is not
# a constant (a function, an operator, CURRENT_TIMESTAMP) and NOT NULL with a
# default that is NULL; the defaults here are deterministic so that the
# --sql comparison at the end gives the same rows.
t_case "add_column with a default that is not a constant: by move-and-copy"
next_rev "expression defaults" <<'EOF'
function upgrade()
  op.add_column("items", op.column("flag", "string(10)", { server_default = op.sql("lower('NEW')") }))
  op.batch_alter_table("events", function(batch)
    batch.add_column(op.column("rank", "integer", { nullable = false, server_default = op.sql("abs(-3)") }))
  end)
end
function downgrade()
  op.batch_alter_table("events", function(batch)
    batch.drop_column("rank")
  end)
  op.drop_column("items", "flag")
end
EOF
sql_copies "$PREV_REV" "$REV"
expect_eq "$COPIES" 2 "a move-and-copy of items and one of events"
expect_out_not_contains 'ADD COLUMN'
begin_case
expect_eq "$(col_info items flag)" "VARCHAR(10)|0|lower('NEW')" "items.flag"
expect_eq "$(col_info events rank)" "INTEGER|1|abs(-3)" "events.rank"
expect_eq "$(db_query "SELECT count(*) FROM items WHERE flag = 'new'")" 10000 "every row of items, with the default's value"
expect_eq "$(db_query "SELECT count(*) FROM events WHERE rank = 3")" 10000 "every row of events, with the default's value"
expect_eq "$(grep -v '^col|\|^rows|items|\|^rows|events|' <<<"$AFTER")" \
  "$(grep -v '^col|\|^rows|items|\|^rows|events|' <<<"$BEFORE")" "everything else kept"
db_query "INSERT INTO events (id, level) VALUES (20001, 1)" >/dev/null
expect_eq "$(db_query "SELECT rank FROM events WHERE id = 20001")" 3 "a new row gets the default"
# (its trigger writes to audit)
db_query "DELETE FROM events WHERE id = 20001; DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)" >/dev/null
end_case "expression defaults"

t_case "add_column that ALTER TABLE takes stays a plain ADD COLUMN"
next_rev "plain add columns" <<'EOF'
function upgrade()
  op.add_column("items", op.column("c_text", "text", { server_default = op.sql("'x'") }))
  op.add_column("items", op.column("c_neg", "integer", { nullable = false, server_default = op.sql("-1") }))
  op.add_column("items", op.column("c_num", "integer", { nullable = false, server_default = 5 }))
  op.add_column("items", op.column("c_uniq", "string(20)", { unique = true }))
  op.add_column("items", op.column("c_null", "text", { server_default = op.sql("NULL") }))
  op.add_column("reviews", op.column("author_id", "integer", { references = "authors.id", server_default = 1 }))
  op.batch_alter_table("events", function(batch)
    batch.add_column(op.column("c_lit", "text", { nullable = false, server_default = "CURRENT_TIMESTAMP" }))
  end)
end
function downgrade()
  op.batch_alter_table("events", function(batch)
    batch.drop_column("c_lit")
  end)
  op.drop_column("reviews", "author_id")
  op.drop_column("items", "c_null")
  op.drop_column("items", "c_uniq")
  op.drop_column("items", "c_num")
  op.drop_column("items", "c_neg")
  op.drop_column("items", "c_text")
end
EOF
sql_copies "$PREV_REV" "$REV"
expect_eq "$COPIES" 0 "no move-and-copy"
expect_out_count 7 '^ALTER TABLE "[a-z]+" ADD COLUMN '
expect_out_contains 'ALTER TABLE "items" ADD COLUMN "c_neg" INTEGER NOT NULL DEFAULT (-1);'
expect_out_contains 'CREATE UNIQUE INDEX "uq_items_c_uniq" ON "items" ("c_uniq");'
begin_case
expect_eq "$(db_query "SELECT count(*) FROM items WHERE c_text = 'x' AND c_neg = -1 AND c_num = 5 AND c_uniq IS NULL AND c_null IS NULL")" \
  10000 "the rows of items with the defaults"
expect_eq "$(db_query "SELECT count(*) FROM events WHERE c_lit = 'CURRENT_TIMESTAMP'")" 10000 "a string default is a constant"
expect_text_contains "$AFTER" "unique|items|c|0|c_uniq" "the unique index of c_uniq"
expect_text_contains "$AFTER" "fk|reviews|author_id->authors(id)" "the foreign key of reviews.author_id"
expect_text_contains "$AFTER" "fk_check|0" "no foreign key violated"
end_case "plain add columns"

t_case "recreate = never refuses an operation that needs a move-and-copy"
next_rev "never refused" <<'EOF'
function upgrade()
  op.batch_alter_table("items", function(batch)
    batch.add_column(op.column("other", "text"))
    batch.alter_column("qty", { type = "text" })
  end, { recreate = "never" })
end
function downgrade()
end
EOF
BEFORE=$(snapshot)
lm upgrade +1
expect_exit 1
expect_err_contains 'alter_column on table "items" needs a move-and-copy of the table on SQLite'
expect_err_contains 'recreate = "never"'
expect_err_matches "at versions/${REV}_never_refused.lua:[0-9]+"
expect_snapshot "$BEFORE" "after the refused batch"
rm "$REV_FILE"
prev=$PREV_REV

# ---------------------------------------------------------------------------
t_case "a failing move-and-copy rolls back: a CAST that a new CHECK refuses"
next_rev "cast fails" <<'EOF'
function upgrade()
  op.batch_alter_table("items", function(batch)
    batch.alter_column("code", { type = "integer" })
    batch.create_check_constraint("ck_items_code_positive", "code > 0")
  end)
end
function downgrade()
end
EOF
BEFORE=$(snapshot)
versions_before=$(version_rows)
lm upgrade +1
expect_exit 1
expect_err_contains 'move-and-copy of table "items"'
expect_err_contains "CHECK constraint failed"
expect_snapshot "$BEFORE" "after the failed CAST"
expect_eq "$(version_rows)" "$versions_before" "no version row for the failed revision"
expect_eq "$(db_query "SELECT count(*) FROM sqlite_master WHERE name LIKE '_luamig_tmp_%'")" 0 "no leftover table"
rm "$REV_FILE"
prev=$PREV_REV

t_case "a failing move-and-copy rolls back: NOT NULL on a column with NULLs"
db_query "UPDATE items SET kind = NULL WHERE id = 77" >/dev/null
next_rev "not null fails" <<'EOF'
function upgrade()
  op.alter_column("items", "kind", { nullable = false })
end
function downgrade()
end
EOF
BEFORE=$(snapshot)
lm upgrade +1
expect_exit 1
expect_err_contains "NOT NULL constraint failed"
expect_err_matches "at versions/${REV}_not_null_fails.lua:[0-9]+"
expect_snapshot "$BEFORE" "after the failed NOT NULL"
rm "$REV_FILE"
prev=$PREV_REV
db_query "UPDATE items SET kind = 'std' WHERE id = 77" >/dev/null

t_case "a migration that leaves a foreign key violated is rolled back"
next_rev "orphan" <<'EOF'
function upgrade()
  op.execute("INSERT INTO reviews (item_id, stars) VALUES (999999, 1)")
end
function downgrade()
end
EOF
BEFORE=$(snapshot)
lm upgrade +1
expect_exit 1
expect_err_contains 'violates a foreign key'
expect_err_contains 'table "reviews" rowid 1001 has no parent row in "items"'
expect_snapshot "$BEFORE" "after the orphan row"
rm "$REV_FILE"
prev=$PREV_REV

t_case "dropping a column that another table's foreign key names is refused"
next_rev "drop referenced" <<'EOF'
function upgrade()
  op.drop_column("events", "id")
end
function downgrade()
end
EOF
lm upgrade +1
expect_exit 1
expect_err_contains 'column "id" of table "events" is referenced by a foreign key of table "reviews"'
rm "$REV_FILE"
prev=$PREV_REV

# ---------------------------------------------------------------------------
t_case "--sql: the script gives the same schema and rows as the online run"
lm upgrade head
expect_exit 0
online=$LM_URL
dump() { # dump URL: schema and rows, without the version table's timings
  db_query "SELECT type || '|' || name || '|' || tbl_name || '|' || coalesce(sql, '') FROM sqlite_master ORDER BY type, name" "$1"
  db_query "SELECT name || '|' || seq FROM sqlite_sequence ORDER BY name" "$1"
  db_query "SELECT revision || '|' || checksum FROM luamig_version ORDER BY revision" "$1"
  local t
  for t in authors items events reviews audit; do
    printf '%s|%s\n' "$t" "$(LM_URL=$1 rows_sum "$t")"
  done
}
lm upgrade head --sql
expect_exit 0
printf '%s\n' "$LM_OUT" >"$LM_TMP/full.sql"
offline=$(fresh_url)
touch "$(sqlite_path "$offline")"
db_apply_script "$LM_TMP/full.sql" "$offline"
expect_same "schema and rows from the script" "$(dump "$online")" "$(dump "$offline")"

t_case "--sql FROM:TO and downgrade --sql"
mid=0c0000000004
part=$(fresh_url)
lm --url "$part" upgrade "$mid"
expect_exit 0
lm upgrade "$mid:head" --sql
expect_exit 0
printf '%s\n' "$LM_OUT" >"$LM_TMP/part.sql"
expect_text_contains "$LM_OUT" '"_luamig_tmp_items"' "the script has move-and-copies"
db_apply_script "$LM_TMP/part.sql" "$part"
expect_same "schema and rows from the FROM:TO script" "$(dump "$online")" "$(dump "$part")"
lm downgrade "head:$mid" --sql
expect_exit 0
printf '%s\n' "$LM_OUT" >"$LM_TMP/down.sql"
db_apply_script "$LM_TMP/down.sql" "$part"
ref=$(fresh_url)
lm --url "$ref" upgrade "$mid"
# (the unnamed CHECK that drop_constraint's downgrade re-created has a name)
expect_same "the downgrade script restores the schema at $mid" \
  "$(LM_URL=$ref snapshot | sed -e 's/^check|items|CHECK (kind/check|items|CONSTRAINT "ck_items_1" CHECK (kind/' | sort)" \
  "$(LM_URL=$part snapshot | sort)"

t_case "op.query stays refused under --sql"
next_rev "query offline" <<'EOF'
function upgrade()
  op.scalar("SELECT 1")
end
function downgrade()
end
EOF
lm upgrade head --sql
expect_exit_nonzero
expect_err_contains "needs a live database; it is not available with --sql"

t_done
