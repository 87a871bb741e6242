#!/usr/bin/env bash
# batch_alter_table (SPEC §4): the same revision on both dialects. On SQLite
# the batch is one move-and-copy that keeps every row; on PostgreSQL it is
# plain ALTER TABLE statements. The resulting schema is the same kind of
# thing on both, and the downgrade undoes it.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

new_project

mkrev 0d0000000001 "" "tables" <<'EOF'
function upgrade()
  op.create_table("owners",
    op.column("id", "integer", { primary_key = true }),
    op.column("name", "string(40)"))
  op.create_table("things",
    op.column("id", "integer", { primary_key = true }),
    op.column("owner_id", "integer"),
    op.column("qty", "string(10)"),
    op.column("label", "string(40)"),
    op.column("legacy", "text"),
    op.check("length(label) > 0", { name = "ck_things_label" }))
  op.create_index("ix_things_legacy", "things", { "legacy" })
  op.execute("INSERT INTO owners (id, name) VALUES (1, 'a'), (2, 'b')")
  op.execute([[INSERT INTO things (id, owner_id, qty, label, legacy)
               VALUES (1, 1, '10', 'one', 'x'), (2, 2, '20', 'two', NULL), (3, 1, '30', 'three', 'y')]])
end
function downgrade()
  op.drop_table("things")
  op.drop_table("owners")
end
EOF

mkrev 0d0000000002 0d0000000001 "batch" <<'EOF'
function upgrade()
  op.batch_alter_table("things", function(batch)
    batch.add_column(op.column("note", "text", { server_default = "none" }))
    batch.alter_column("qty", { type = "integer", existing_type = "string(10)", postgresql_using = "qty::integer" })
    batch.alter_column("label", { nullable = false, existing_type = "string(40)" })
    batch.create_index("ix_things_label", { "label" })
    batch.create_unique_constraint("uq_things_label", { "label" })
    batch.create_check_constraint("ck_things_qty", "qty > 0")
    batch.create_foreign_key("fk_things_owner", "owners", { "owner_id" }, { "id" })
    batch.drop_constraint("ck_things_label", { type_ = "check" })
    batch.drop_index("ix_things_legacy")
    batch.drop_column("legacy")
  end)
end
function downgrade()
  op.batch_alter_table("things", function(batch)
    batch.add_column(op.column("legacy", "text"))
    batch.create_index("ix_things_legacy", { "legacy" })
    batch.create_check_constraint("ck_things_label", "length(label) > 0")
    batch.drop_constraint("fk_things_owner", { type_ = "foreignkey" })
    batch.drop_constraint("ck_things_qty", { type_ = "check" })
    batch.drop_constraint("uq_things_label", { type_ = "unique" })
    batch.drop_index("ix_things_label")
    batch.alter_column("label", { nullable = true, existing_type = "string(40)" })
    batch.alter_column("qty", { type = "string(10)", existing_type = "integer" })
    batch.drop_column("note")
  end)
end
EOF

t_case "the batch as SQL: one move-and-copy on SQLite, ALTER TABLE on PostgreSQL"
lm upgrade 0d0000000001:0d0000000002 --sql
expect_exit 0
if is_pg; then
  expect_out_not_contains "_luamig_tmp_"
  expect_out_contains 'ALTER TABLE "things" ALTER COLUMN "qty" TYPE INTEGER USING qty::integer;'
  expect_out_contains 'ALTER TABLE "things" ADD CONSTRAINT "fk_things_owner" FOREIGN KEY ("owner_id") REFERENCES "owners" ("id");'
  expect_out_contains 'ALTER TABLE "things" DROP COLUMN "legacy";'
else
  expect_out_count 1 '^CREATE TABLE "_luamig_tmp_things"'
  expect_out_count 1 '^INSERT INTO "_luamig_tmp_things"'
  expect_out_not_contains 'ALTER TABLE "things" ADD COLUMN'
fi

t_case "upgrade: every row kept, every change made"
lm upgrade head
expect_exit 0
expect_eq "$(columns things)" "id,owner_id,qty,label,note" "columns of things"
expect_eq "$(db_query "SELECT id || ':' || qty || ':' || label || ':' || note FROM things ORDER BY id" | tr '\n' ' ')" \
  "1:10:one:none 2:20:two:none 3:30:three:none " "rows of things"
expect_eq "$(col_notnull things label)" 1 "things.label NOT NULL"
expect_eq "$(foreign_keys things)" "owner_id->owners(id) ON DELETE NO ACTION" "foreign keys of things"
expect_text_contains "$(unique_sets things)" "label" "unique sets of things"
expect_text_contains "$(indexes things)" "ix_things_label|0|0|label" "indexes of things"
expect_text_not_contains "$(indexes things)" "ix_things_legacy" "indexes of things"
expect_fails "the new CHECK holds" db_query "UPDATE things SET qty = 0 WHERE id = 1"
expect_ok "the dropped CHECK is gone" db_query "UPDATE things SET label = '' WHERE id = 3"
db_query "UPDATE things SET label = 'three' WHERE id = 3" >/dev/null
if is_pg; then
  expect_eq "$(col_type things qty)" "integer" "things.qty"
else
  expect_eq "$(col_type things qty)" "INTEGER" "things.qty"
  expect_eq "$(db_query "SELECT count(*) FROM things WHERE typeof(qty) = 'integer'")" 3 "qty values converted"
fi

t_case "downgrade undoes the batch"
lm downgrade -1
expect_exit 0
expect_eq "$(db_query "SELECT count(*) FROM things")" 3 "rows of things"
expect_eq "$(col_notnull things label)" 0 "things.label nullable again"
expect_eq "$(foreign_keys things)" "" "no foreign key"
expect_text_contains "$(indexes things)" "ix_things_legacy|0|0|legacy" "indexes of things"
expect_fails "the old CHECK is back" db_query "UPDATE things SET label = '' WHERE id = 3"

t_done
