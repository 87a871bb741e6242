#!/usr/bin/env bash
# The model and autogenerate (SPEC §10), through the real binary on both
# dialects: revision --autogenerate, check against the model, check --drift,
# schema --model, and the errors of a malformed model.
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# model_project: a project whose luamig.lua names schema.lua as the model.
model_project() {
  new_project
  export LM_TEST_URL=$LM_URL # no password in luamig.lua: lint's credentials-in-config
  write_config 'url = os.getenv("LM_TEST_URL"),' 'model = "schema.lua",'
}

# the newest revision file
# shellcheck disable=SC2012
newest() { ls -t versions/*.lua | head -n 1; }
count_revs() { find versions -name "*.lua" | wc -l; }

# expect_no_changes: autogenerate finds nothing to write.
expect_no_changes() {
  lm revision --autogenerate -m "settled"
  expect_exit 0
  expect_out_equals "No changes in schema detected."
}

# expect_settled: the database at head and the model agree: autogenerate
# finds nothing to write, check --drift nothing that differs.
expect_settled() {
  lm revision --autogenerate -m "settled"
  expect_exit 0
  expect_out_equals "No changes in schema detected."
  lm check --drift
  expect_exit 0
}

MODEL_V1='
local function timestamps()
  return column("created_at", "timestamptz", { nullable = false, server_default = sql("CURRENT_TIMESTAMP") })
end

table("users",
  column("id", "integer", { primary_key = true }),
  column("email", "string(255)", { nullable = false }),
  column("name", "string(100)"),
  column("active", "boolean", { nullable = false, server_default = true }),
  timestamps(),
  index("ix_users_email", { "email" }, { unique = true }))

table("orders",
  column("id", "integer", { primary_key = true }),
  column("user_id", "integer", { nullable = false, references = "users.id", ondelete = "CASCADE" }),
  column("status", "string(20)", { nullable = false, server_default = "pending" }),
  column("total", "numeric(10,2)", { server_default = 0 }),
  column("note", "text"),
  index("ix_orders_open", { "user_id" }, { where = "status <> '"'"'done'"'"'" }),
  check("status IN ('"'"'pending'"'"','"'"'paid'"'"','"'"'done'"'"')", { name = "ck_orders_status" }))

-- the table library is still there
assert(table.concat({ "a", "b" }, ",") == "a,b")
'

t_case "a first model: tables with a foreign key, defaults, a partial and a unique index, a check"
model_project
printf '%s\n' "$MODEL_V1" >schema.lua
lm revision --autogenerate -m "initial schema"
expect_exit 0
expect_out_contains "Detected added table 'users'"
expect_out_contains "Detected added table 'orders'"
expect_out_order "Detected added table 'users'" "Detected added table 'orders'"
expect_out_matches "Generating versions/[0-9a-f]{12}_initial_schema\.lua \.\.\. done"
REV1=$(newest)
expect_text_contains "$(cat "$REV1")" 'op.create_table("orders",' "the revision"
expect_text_contains "$(cat "$REV1")" 'op.create_index("ix_orders_open", "orders", { "user_id" }, { where = "status <> '"'"'done'"'"'" })' "the revision"
expect_text_contains "$(cat "$REV1")" 'op.drop_table("orders")' "the downgrade"
# the downgrade drops the table's indexes before it, as Alembic's does
di=$(grep -n 'op.drop_index("ix_orders_open", { table_name = "orders" })' "$REV1" | cut -d: -f1)
dt=$(grep -n 'op.drop_table("orders")' "$REV1" | cut -d: -f1)
expect_eq "$([ -n "$di" ] && [ -n "$dt" ] && [ "$di" -lt "$dt" ] && echo before)" "before" \
  "op.drop_index(\"ix_orders_open\") before op.drop_table(\"orders\") in the downgrade"
lm upgrade head
expect_exit 0
db_query "INSERT INTO users (email, name) VALUES ('a@example.com', 'Ada')" >/dev/null
expect_eq "$(db_query "SELECT status FROM orders WHERE 1 = 0; SELECT count(*) FROM users")" "1" "rows"

t_case "a model equal to the database: no changes, no file"
n_before=$(count_revs)
lm revision --autogenerate -m "nothing"
expect_exit 0
expect_out_equals "No changes in schema detected."
expect_eq "$(count_revs)" "$n_before" "revision files"
lm revision --autogenerate -m "nothing" --json
expect_exit 0
expect_out_equals '{"changes": [], "path": null}'

t_case "check compares the model with the chain"
lm check
expect_exit 0
sed -i 's/column("name", "string(100)"),/column("name", "string(100)"),\n  column("nickname", "string(50)"),/' schema.lua
lm check
expect_exit 1
expect_err_contains "model differs: added column 'users.nickname'"
lm check --json
expect_exit 1
expect_out_contains "model differs: added column 'users.nickname'"

t_case "an added column"
lm revision --autogenerate -m "add nickname"
expect_exit 0
expect_out_contains "Detected added column 'users.nickname'"
expect_text_contains "$(cat "$(newest)")" 'op.add_column("users", op.column("nickname", "string(50)"))' "the revision"
expect_text_contains "$(cat "$(newest)")" 'op.drop_column("users", "nickname")' "the downgrade"
lm upgrade head
expect_exit 0
lm check
expect_exit 0

t_case "a rename declared with renamed_from keeps the data"
sed -i 's/column("name", "string(100)"),/column("full_name", "string(100)", { renamed_from = "name" }),/' schema.lua
lm revision --autogenerate -m "rename name"
expect_exit 0
expect_out_contains "Detected renamed column 'users.name' -> 'users.full_name'"
expect_out_not_contains "Detected removed column"
lm upgrade head
expect_exit 0
expect_eq "$(db_query "SELECT full_name FROM users")" "Ada" "the renamed column's data"

t_case "an undeclared rename is a drop and an add, with the possible-rename comment"
cp schema.lua schema.lua.bak
sed -i 's/column("full_name", "string(100)", { renamed_from = "name" }),/column("display_name", "string(100)"),/' schema.lua
lm revision --autogenerate -m "undeclared rename"
expect_exit 0
expect_out_contains "Detected removed column 'users.full_name'"
expect_out_contains "Detected added column 'users.display_name'"
UNDECLARED=$(newest)
expect_text_contains "$(cat "$UNDECLARED")" '-- luamig: possible rename of users.full_name -> users.display_name: add renamed_from = "full_name" to the model to keep the data' "the revision"
# lint stops it: drop-then-add is an error
lm lint
expect_exit 1
expect_out_contains "drop-then-add"
# and upgrade does not run it by accident: nothing runs, the data stays
BEFORE=$(db_schema)
MARK_LINE=$(grep -n -- "-- luamig: possible rename of" "$UNDECLARED" | cut -d: -f1)
lm upgrade head
expect_exit 1
expect_err_contains "$UNDECLARED:$((MARK_LINE + 1)): error [drop-then-add]"
expect_err_contains "autogenerate marked this pair as a possible rename (line $MARK_LINE)"
expect_eq "$(db_schema)" "$BEFORE" "the schema after the refused upgrade"
expect_eq "$(db_query "SELECT full_name FROM users")" "Ada" "the column's data"
lm upgrade head --sql
expect_exit 1
expect_out_empty
expect_err_contains "[drop-then-add]"
# served from the revision index (a file old enough to be recorded), the same
touch -d "-1 hour" "$UNDECLARED"
lm upgrade head
expect_exit 1
lm upgrade head
expect_exit 1
expect_err_contains "autogenerate marked this pair as a possible rename"
# silenced on purpose, it runs
cp "$UNDECLARED" marked.bak
sed -i 's/^  -- luamig: possible rename of.*/&\n  -- luamig: allow drop-then-add/' "$UNDECLARED"
lm upgrade head --sql
expect_exit 0
expect_out_contains "display_name"
# the mark deleted (reviewed: a drop and an add meant as such), it runs too
cp marked.bak "$UNDECLARED"
sed -i '/-- luamig: possible rename of/d' "$UNDECLARED"
lm upgrade head --sql
expect_exit 0
expect_out_contains "display_name"
rm -f "$UNDECLARED" marked.bak
mv schema.lua.bak schema.lua

t_case "a dropped column, a type and a nullability change, a new unique index and check"
sed -i 's/column("note", "text"),//' schema.lua
sed -i 's/column("nickname", "string(50)"),/column("nickname", "string(80)", { server_default = "" }),/' schema.lua
sed -i 's/column("full_name", "string(100)", { renamed_from = "name" }),/column("full_name", "string(100)", { nullable = false }),/' schema.lua
sed -i 's/check("status IN/index("ix_orders_user_status", { "user_id", "status" }, { unique = true }),\n  check("total >= 0", { name = "ck_orders_total" }),\n  check("status IN/' schema.lua
lm revision --autogenerate -m "change orders"
expect_exit 0
expect_out_contains "Detected removed column 'orders.note'"
expect_out_contains "Detected type change from"
expect_out_contains "on 'users.nickname'"
expect_out_contains "Detected NOT NULL on column 'users.full_name'"
expect_out_contains "Detected added server default on column 'users.nickname'"
expect_out_contains "Detected added index 'ix_orders_user_status'"
expect_out_contains "Detected added check constraint 'ck_orders_total' on 'orders'"
lm upgrade head
expect_exit 0
lm revision --autogenerate -m "nothing"
expect_exit 0
expect_out_equals "No changes in schema detected."
lm check
expect_exit 0

t_case "the generated revisions downgrade and round-trip"
lm check --roundtrip
expect_exit 0
expect_out_contains "every revision round-trips"
lm downgrade base
expect_exit 0
lm upgrade head
expect_exit 0
lm revision --autogenerate -m "nothing"
expect_out_equals "No changes in schema detected."

t_case "a dropped table, a foreign key dropped before its table"
cat >>schema.lua <<'EOF'
table("tags",
  column("id", "integer", { primary_key = true }),
  column("label", "string(30)", { nullable = false, unique = true }),
  index("ix_tags_label_id", { "label", "id" }))
table("order_tags",
  column("order_id", "integer", { nullable = false, references = "orders.id" }),
  column("tag_id", "integer", { nullable = false, references = "tags.id", ondelete = "CASCADE" }),
  primary_key({ "order_id", "tag_id" }))
EOF
lm revision --autogenerate -m "tags"
expect_exit 0
expect_out_order "Detected added table 'tags'" "Detected added table 'order_tags'"
lm upgrade head
expect_exit 0
lm check --roundtrip
expect_exit 0
# drop tags: order_tags must lose its foreign key to it first (the model
# says so: order_tags.tag_id is a plain column now)
python3 - <<'EOF'
s = open("schema.lua").read()
i = s.index('table("tags",')
j = s.index('table("order_tags",')
s = s[:i] + s[j:]
s = s.replace('column("tag_id", "integer", { nullable = false, references = "tags.id", ondelete = "CASCADE" }),',
              'column("tag_id", "integer", { nullable = false }),')
open("schema.lua", "w").write(s)
EOF
lm revision --autogenerate -m "drop tags"
expect_exit 0
expect_out_contains "Detected removed table 'tags'"
expect_out_order "Detected removed foreign key" "Detected removed table 'tags'"
di=$(grep -n 'op.drop_index("ix_tags_label_id", { table_name = "tags" })' "$(newest)" | cut -d: -f1)
dt=$(grep -n 'op.drop_table("tags")' "$(newest)" | cut -d: -f1)
expect_eq "$([ -n "$di" ] && [ -n "$dt" ] && [ "$di" -lt "$dt" ] && echo before)" "before" \
  "op.drop_index(\"ix_tags_label_id\") before op.drop_table(\"tags\") in the upgrade"
# the downgrade makes the table and then its index: the exact inverse, which
# lint finds nothing to say about
lm lint
expect_exit 0
expect_out_not_contains "downgrade-not-inverse"
lm upgrade head
expect_exit 0
lm revision --autogenerate -m "nothing"
expect_out_equals "No changes in schema detected."
lm check --roundtrip
expect_exit 0

t_case "a database that is not at head is refused"
mkrev abcdef012345 "$(basename "$(newest)" | cut -c1-12)" "by hand" <<'EOF'
function upgrade() op.execute("SELECT 1") end
function downgrade() end
EOF
lm revision --autogenerate -m "behind"
expect_exit 2
expect_err_contains "target database is not up to date"

t_case "--offline compares with the chain's head without the database"
lm revision --autogenerate --offline -m "offline"
expect_exit 0
expect_out_equals "No changes in schema detected."
sed -i 's/column("email", "string(255)", { nullable = false }),/column("email", "string(255)", { nullable = false }),\n  column("phone", "string(20)"),/' schema.lua
lm revision --autogenerate --offline -m "add phone"
expect_exit 0
expect_out_contains "Detected added column 'users.phone'"
expect_out_not_contains "Detected removed"
expect_eq "$(db_query "SELECT count(*) FROM $LM_VERSION_TABLE WHERE revision = 'abcdef012345'")" "0" "the database was not touched"

if is_pg; then
  t_case "--offline without a PostgreSQL server: the chain's op records applied in memory"
  lm revision --autogenerate --offline -m "nothing" --url "postgresql://luamig@127.0.0.1:1/nowhere"
  expect_exit 0
  expect_out_equals "No changes in schema detected."
  expect_err_contains "computed in memory"
  expect_err_contains "op.execute call (the first at versions/abcdef012345_by_hand.lua:"
  sed -i 's/column("phone", "string(20)"),/column("phone", "string(30)"),/' schema.lua
  lm revision --autogenerate --offline -m "longer phone" --url "postgresql://luamig@127.0.0.1:1/nowhere"
  expect_exit 0
  expect_out_contains "Detected type change from"
  expect_out_contains "on 'users.phone'"
fi

t_case "check --drift finds a change made by hand"
model_project
printf '%s\n' "$MODEL_V1" >schema.lua
lm revision --autogenerate -m "initial"
lm upgrade head
expect_exit 0
lm check --drift
expect_exit 0
db_query "CREATE INDEX ix_tmp ON users (name)" >/dev/null
db_query "ALTER TABLE orders ADD COLUMN extra INTEGER" >/dev/null
lm check --drift
expect_exit 1
expect_err_contains "drift: index 'ix_tmp' exists in the database but not in the chain"
expect_err_contains "drift: column 'orders.extra' exists in the database but not in the chain"
lm check --drift --json
expect_exit 1
expect_out_contains "drift: index 'ix_tmp' exists in the database but not in the chain"

t_case "schema --model writes the database as a model that round-trips"
lm schema --model
expect_exit 0
expect_out_contains 'table("orders",'
expect_out_contains 'index("ix_tmp", { "name" })'
printf '%s\n' "$LM_OUT" >exported.lua
write_config 'url = os.getenv("LM_TEST_URL"),' 'model = "exported.lua",'
lm revision --autogenerate -m "nothing"
expect_exit 0
expect_out_equals "No changes in schema detected."

t_case "an empty model against that database drops every table, the version table stays"
: >empty.lua
write_config 'url = os.getenv("LM_TEST_URL"),' 'model = "empty.lua",'
lm revision --autogenerate -m "drop all"
expect_exit 0
expect_out_contains "Detected removed table 'orders'"
expect_out_not_contains "luamig_version"

t_case "a malformed model: one error naming the file and line, exit 2"
model_project
bad_model() { # bad_model LINE MESSAGE: schema.lua from stdin
  cat >schema.lua
  lm revision --autogenerate -m "bad"
  expect_exit 2
  expect_err_contains "schema.lua:$1:"
  expect_err_contains "$2"
  expect_eq "$(count_revs)" "0" "revision files"
  # check: a loading error too (exit 2), one error line, nothing else run
  lm check
  expect_exit 2
  expect_err_error_line
  expect_err_contains "schema.lua:$1:"
  expect_err_contains "$2"
  expect_eq "$(grep -c 'luamig: error:' <<<"$LM_ERR")" 1 "error lines of check"
  expect_out_empty
}
bad_model 2 "unknown option 'nullabel'" <<'EOF'
table("users",
  column("id", "integer", { nullabel = false }))
EOF
bad_model 3 "table 'users' is declared twice" <<'EOF'
table("users", column("id", "integer"))

table("users", column("id", "integer"))
EOF
bad_model 1 "column 'id' is declared twice" <<'EOF'
table("users", column("id", "integer"), column("id", "text"))
EOF
bad_model 2 "references nope.id: no such table in the model" <<'EOF'
table("users", column("id", "integer", { primary_key = true }))
table("orders", column("user_id", "integer", { references = "nope.id" }))
EOF
bad_model 2 "references users.uid: no such column in the model" <<'EOF'
table("users", column("id", "integer", { primary_key = true }))
table("orders", column("user_id", "integer", { references = "users.uid" }))
EOF
bad_model 1 "unknown option 'uniq'" <<'EOF'
table("users", column("id", "integer"), index("ix", { "id" }, { uniq = true }))
EOF
bad_model 2 "renamed_from" <<'EOF'
table("users",
  column("id", "integer", { renamed_from = 3 }))
EOF
bad_model 2 "expected near" <<'EOF'
table("users", column("id", "integer"))
table("users" column("id", "integer"))
EOF
bad_model 1 "is not a column" <<'EOF'
table("users", column("id", "integer"), 42)
EOF
bad_model 2 "boom" <<'EOF'
table("users", column("id", "integer"))
error("boom")
EOF
bad_model 2 "column: the name must be a string, got nil" <<'EOF'
table("t",
  column(nil, "integer"))
EOF
bad_model 1 "table 'users': index 'ix_nick' names column 'nick', which the table lacks" <<'EOF'
table("users", column("id", "integer", { primary_key = true }), index("ix_nick", { "nick" }))
EOF
bad_model 2 "op.column: collation must be a collation's name" <<'EOF'
table("users",
  column("name", "text", { collation = "C\" NOT NULL" }))
EOF
bad_model 3 "index 'ix_id': postgresql_using must be the name of an index method" <<'EOF'
table("users",
  column("id", "integer"),
  index("ix_id", { "id" }, { postgresql_using = "gin (id); DROP TABLE users; --" }))
EOF
bad_model 3 "index 'ix_id': postgresql_ops must map columns of the index to operator class names" <<'EOF'
table("users",
  column("id", "integer"), column("name", "text"),
  index("ix_id", { "id" }, { postgresql_ops = { name = "text_pattern_ops" } }))
EOF
bad_model 3 "index 'ix_id': postgresql_include must be a column name or a list of them" <<'EOF'
table("users",
  column("id", "integer"), column("name", "text"),
  index("ix_id", { "id" }, { postgresql_include = { "name", 3 } }))
EOF
if is_pg; then
  bad_model 1 "table 'users': index 'ix_id' includes column 'nick', which the table lacks" <<'EOF'
table("users", column("id", "integer"), column("name", "text"),
  index("ix_id", { "id" }, { postgresql_include = { "name", "nick" } }))
EOF
fi
bad_model 2 "table 'b': index 'ix_same' has the name of an index of table 'a'" <<'EOF'
table("a", column("id", "integer", { primary_key = true }), index("ix_same", "id"))
table("b", column("id", "integer", { primary_key = true }), index("ix_same", "id"))
EOF
bad_model 1 "table: the name must not be empty" <<'EOF'
table("", column("id", "integer", { primary_key = true }))
EOF
bad_model 2 "index: the name must not be empty" <<'EOF'
table("a", column("id", "integer", { primary_key = true }),
  index("", "id"))
EOF
bad_model 3 "index 'ix_id': unique must be true or false" <<'EOF'
table("users",
  column("id", "integer"),
  index("ix_id", { "id" }, { unique = "yes" }))
EOF
bad_model 2 "table 'orders': ondelete 'EXPLODE' is not a foreign key action" <<'EOF'
table("users", column("id", "integer", { primary_key = true }))
table("orders", column("user_id", "integer", { references = "users.id", ondelete = "EXPLODE" }))
EOF
bad_model 2 "table 'orders': onupdate 'CASCADE; DROP TABLE users' is not a foreign key action" <<'EOF'
table("users", column("id", "integer", { primary_key = true }))
table("orders", column("user_id", "integer"), foreign_key("user_id", { "users.id" }, { onupdate = "CASCADE; DROP TABLE users" }))
EOF

t_case "an unknown type passes through"
cat >schema.lua <<'EOF'
table("things", column("id", "integer", { primary_key = true }), column("n", "INT8"))
EOF
lm revision --autogenerate -m "things"
expect_exit 0
expect_text_contains "$(cat "$(newest)")" 'op.column("n", "INT8")' "the revision"
lm upgrade head
expect_exit 0
lm revision --autogenerate -m "nothing"
expect_out_equals "No changes in schema detected."

t_case "a type neither luamig nor the database knows: a warning at the model's line"
cat >schema.lua <<'EOF'
table("things", column("id", "integer", { primary_key = true }), column("n", "INT8"),
  column("typo", "integr"))
EOF
lm revision --autogenerate -m "typo"
expect_exit 0
expect_out_contains "Detected added column 'things.typo'"
expect_err_contains "luamig: warning: schema.lua:2: column 'typo': unknown type \"integr\""
expect_err_not_contains "INT8"
# the revision written from it is what lint then stops
lm lint
expect_exit 1
expect_out_contains "unknown-type"
rm -f "$(newest)"

t_case "an index method (postgresql_using): made, compared, written on PostgreSQL; ignored on SQLite"
cat >schema.lua <<'EOF'
table("things", column("id", "integer", { primary_key = true }), column("n", "INT8"),
  column("s", "string(20)"),
  index("ix_things_n", { "n" }, { postgresql_using = "hash" }),
  index("ix_things_s", { "s" }, { postgresql_ops = { s = "varchar_pattern_ops" } }))
EOF
lm revision --autogenerate -m "hash index"
expect_exit 0
expect_out_contains "Detected added index 'ix_things_n'"
expect_out_contains "Detected added index 'ix_things_s'"
REVH=$(newest)
expect_text_contains "$(cat "$REVH")" "$(pick 'op.create_index("ix_things_n", "things", { "n" })' \
  'op.create_index("ix_things_n", "things", { "n" }, { postgresql_using = "hash" })')" "the revision"
expect_text_contains "$(cat "$REVH")" "$(pick 'op.create_index("ix_things_s", "things", { "s" })' \
  'op.create_index("ix_things_s", "things", { op.sql("s varchar_pattern_ops") })')" "the revision"
lm upgrade head --sql
expect_exit 0
expect_out_contains "$(pick 'CREATE INDEX "ix_things_n" ON "things" ("n");' \
  'CREATE INDEX "ix_things_n" ON "things" USING hash ("n");')"
lm upgrade head
expect_exit 0
if is_pg; then
  expect_eq "$(db_query "SELECT a.amname FROM pg_class i JOIN pg_am a ON a.oid = i.relam WHERE i.relname = 'ix_things_n'")" \
    "hash" "the index's method"
fi
expect_settled
lm schema --model
expect_exit 0
expect_out_contains "$(pick 'index("ix_things_n", { "n" }),' 'index("ix_things_n", { "n" }, { postgresql_using = "hash" }),')"
if is_pg; then
  # made again by hand as a btree: drift, and autogenerate puts the method back
  db_query 'DROP INDEX ix_things_n; CREATE INDEX ix_things_n ON things (n)' >/dev/null
  lm check --drift
  expect_exit 1
  expect_err_contains "drift: index 'ix_things_n'"
  lm revision --autogenerate -m "method back"
  expect_exit 0
  expect_out_contains "Detected removed index 'ix_things_n'"
  expect_out_contains "Detected added index 'ix_things_n'"
  expect_text_contains "$(cat "$(newest)")" 'op.create_index("ix_things_n", "things", { "n" }, { postgresql_using = "hash" })' "the revision"
  rm -f "$(newest)"
  db_query 'DROP INDEX ix_things_n; CREATE INDEX ix_things_n ON things USING hash (n)' >/dev/null
fi
lm downgrade -1
expect_exit 0
rm -f "$REVH"

t_case "a covering index (postgresql_include): made, compared, written on PostgreSQL; ignored on SQLite"
cat >schema.lua <<'EOF'
table("things", column("id", "integer", { primary_key = true }), column("n", "INT8"),
  column("s", "string(20)"),
  index("ix_things_n", { "n" }, { unique = true, postgresql_include = { "s", "id" } }))
EOF
lm revision --autogenerate -m "covering index"
expect_exit 0
expect_out_contains "Detected added index 'ix_things_n'"
REVI=$(newest)
expect_text_contains "$(cat "$REVI")" "$(pick 'op.create_index("ix_things_n", "things", { "n" }, { unique = true })' \
  'op.create_index("ix_things_n", "things", { "n" }, { unique = true, postgresql_include = { "s", "id" } })')" "the revision"
lm upgrade head
expect_exit 0
if is_pg; then
  expect_eq "$(db_query "SELECT pg_get_indexdef('ix_things_n'::regclass)")" \
    "CREATE UNIQUE INDEX ix_things_n ON public.things USING btree (n) INCLUDE (s, id)" "the index"
fi
expect_no_changes
lm schema --model
expect_exit 0
expect_out_contains "$(pick 'index("ix_things_n", { "n" }, { unique = true }))' \
  'index("ix_things_n", { "n" }, { unique = true, postgresql_include = { "s", "id" } }))')"
if is_pg; then
  # made again by hand with other INCLUDE columns: drift, and autogenerate
  # puts the model's back
  db_query 'DROP INDEX ix_things_n; CREATE UNIQUE INDEX ix_things_n ON things (n) INCLUDE (s)' >/dev/null
  lm check --drift
  expect_exit 1
  expect_err_contains "drift: index 'ix_things_n'"
  lm revision --autogenerate -m "include back"
  expect_exit 0
  expect_out_contains "Detected removed index 'ix_things_n'"
  expect_out_contains "Detected added index 'ix_things_n'"
  expect_text_contains "$(cat "$(newest)")" 'op.create_index("ix_things_n", "things", { "n" }, { unique = true, postgresql_include = { "s", "id" } })' "the revision"
  expect_text_contains "$(cat "$(newest)")" 'op.create_index("ix_things_n", "things", { "n" }, { unique = true, postgresql_include = { "s" } })' "the downgrade"
  rm -f "$(newest)"
  db_query 'DROP INDEX ix_things_n; CREATE UNIQUE INDEX ix_things_n ON things (n) INCLUDE (s, id)' >/dev/null
  lm check --drift
  expect_exit 0
fi
lm downgrade -1
expect_exit 0
rm -f "$REVI"

t_case "number defaults keep every digit: 2^53, 0.1, 3.141592653589793, -7"
cat >schema.lua <<'EOF'
table("things", column("id", "integer", { primary_key = true }), column("n", "INT8"),
  column("s", "string(20)"),
  column("big", "bigint", { server_default = 2^53 }),
  column("tenth", "float", { server_default = 0.1 }),
  column("pi", "float", { server_default = 3.141592653589793 }),
  column("neg", "integer", { server_default = -7 }))
EOF
lm revision --autogenerate -m "number defaults"
expect_exit 0
REVN=$(newest)
expect_text_contains "$(cat "$REVN")" 'server_default = 9007199254740992.0 }' "the revision"
expect_text_contains "$(cat "$REVN")" 'server_default = 0.1 }' "the revision"
expect_text_contains "$(cat "$REVN")" 'server_default = 3.141592653589793 }' "the revision"
lm upgrade head
expect_exit 0
db_query "INSERT INTO things (id) VALUES (1)" >/dev/null
expect_eq "$(db_query "SELECT big = 9007199254740992, pi = 3.141592653589793 FROM things")" "$(pick "1|1" "t|t")" "the stored defaults"
expect_no_changes
db_query "DELETE FROM things" >/dev/null
lm downgrade -1
expect_exit 0
rm -f "$REVN"

t_case "an unnamed check made while another goes: a name no constraint of the table has"
cat >schema.lua <<'EOF'
table("things", column("id", "integer", { primary_key = true }), column("n", "INT8"),
  column("s", "string(20)"), column("a", "integer"), column("b", "integer"),
  check("a > 0"), check("b > 0"))
EOF
lm revision --autogenerate -m "two checks"
expect_exit 0
REVK1=$(newest)
lm upgrade head
expect_exit 0
cat >schema.lua <<'EOF'
table("things", column("id", "integer", { primary_key = true }), column("n", "INT8"),
  column("s", "string(20)"), column("a", "integer"), column("b", "integer"),
  check("b > 0"), check("a < b"))
EOF
lm revision --autogenerate -m "one check for another"
expect_exit 0
REVK2=$(newest)
expect_text_contains "$(cat "$REVK2")" 'op.create_check_constraint("ck_things_3", "things", "a < b")' "the revision"
lm upgrade head
expect_exit 0
expect_no_changes
lm downgrade -1
expect_exit 0
lm upgrade head
expect_exit 0
expect_settled
expect_eq "$(db_query "$(pick "SELECT count(*) FROM sqlite_master WHERE name = 'things' AND sql LIKE '%b > 0%' AND sql LIKE '%a < b%'" \
  "SELECT count(*) FROM pg_constraint WHERE conrelid = 'things'::regclass AND contype = 'c'")")" "$(pick 1 2)" "the checks of things"
lm downgrade -2
expect_exit 0
rm -f "$REVK1" "$REVK2"

t_case "create_check_constraint with a name the table's constraint has: refused on both databases"
lm heads
expect_exit 0
HID=$(awk '{ print $1; exit }' <<<"$LM_OUT")
cat >versions/dc0000000001_dup_check.lua <<EOF
revision = "dc0000000001"
down_revision = "$HID"

function upgrade()
  op.create_check_constraint("ck_dup", "things", "n > 0")
  op.create_check_constraint("ck_dup", "things", "n < 100")
end

function downgrade()
  op.drop_constraint("ck_dup", "things", { type_ = "check" })
end
EOF
lm upgrade head
expect_exit 1
expect_err_contains "$(pick 'already has a constraint named "ck_dup"' 'constraint "ck_dup" for relation "things" already exists')"
rm -f versions/dc0000000001_dup_check.lua

t_case "a type change where the default cannot be cast: the default steps aside, both ways"
cat >schema.lua <<'EOF'
table("things", column("id", "integer", { primary_key = true }), column("n", "INT8"),
  column("s", "string(20)"),
  column("flag", "boolean", { server_default = true }),
  column("note", "text", { server_default = "" }))
EOF
lm revision --autogenerate -m "defaults that will not cast"
expect_exit 0
REVD1=$(newest)
lm upgrade head
expect_exit 0
cat >schema.lua <<'EOF'
table("things", column("id", "integer", { primary_key = true }), column("n", "INT8"),
  column("s", "string(20)"),
  column("flag", "integer", { server_default = 1 }),
  column("note", "integer"))
EOF
lm revision --autogenerate -m "flag and note to integers"
expect_exit 0
expect_out_contains "to INTEGER on 'things.flag'"
expect_out_contains "Detected changed server default on column 'things.flag'"
expect_out_contains "Detected removed server default on column 'things.note'"
REVD2=$(newest)
lm upgrade head
expect_exit 0
expect_no_changes
db_query "INSERT INTO things (id) VALUES (5)" >/dev/null
expect_eq "$(db_query "SELECT flag, coalesce(note, -1) FROM things WHERE id = 5")" "1|-1" "the new defaults"
db_query "DELETE FROM things" >/dev/null
lm downgrade -1
expect_exit 0
rm -f "$REVD2"
cat >schema.lua <<'EOF'
table("things", column("id", "integer", { primary_key = true }), column("n", "INT8"),
  column("s", "string(20)"),
  column("flag", "boolean", { server_default = true }),
  column("note", "text", { server_default = "" }))
EOF
lm revision --autogenerate -m "back"
expect_exit 0
expect_out_equals "No changes in schema detected."
lm downgrade -1
expect_exit 0
rm -f "$REVD1"

t_case "a table that goes with the unique constraint its foreign key needs: the table first, both ways"
cat >schema.lua <<'EOF'
table("things", column("id", "integer", { primary_key = true }), column("n", "INT8"),
  column("s", "string(20)"), column("code", "string(10)"),
  unique("code", { name = "uq_things_code" }))
table("thing_refs", column("id", "integer", { primary_key = true }),
  column("thing_code", "string(10)", { references = "things.code" }))
EOF
lm revision --autogenerate -m "a table referencing a unique column"
expect_exit 0
REVU1=$(newest)
lm upgrade head
expect_exit 0
cat >schema.lua <<'EOF'
table("things", column("id", "integer", { primary_key = true }), column("n", "INT8"),
  column("s", "string(20)"), column("code", "string(10)"))
EOF
lm revision --autogenerate -m "both go"
expect_exit 0
REVU2=$(newest)
up_part=$(sed -n '/^function upgrade/,/^end/p' "$REVU2")
expect_eq "$(grep -n 'drop_table("thing_refs")' <<<"$up_part" | cut -d: -f1)" \
  "$(($(grep -n 'uq_things_code' <<<"$up_part" | cut -d: -f1) - 1))" "the table dropped just before the constraint"
lm upgrade head
expect_exit 0
expect_no_changes
lm downgrade -1
expect_exit 0
lm upgrade head
expect_exit 0
lm downgrade -2
expect_exit 0
rm -f "$REVU1" "$REVU2"

t_case "a column's collation: made, read back, written by schema --model"
COLL=$(pick NOCASE C)
cat >schema.lua <<EOF
table("things", column("id", "integer", { primary_key = true }), column("n", "INT8"),
  column("code", "string(10)", { collation = "$COLL" }))
EOF
lm revision --autogenerate -m "collated code"
expect_exit 0
expect_out_contains "Detected added column 'things.code'"
REVC=$(newest)
expect_text_contains "$(cat "$REVC")" "op.add_column(\"things\", op.column(\"code\", \"string(10)\", { collation = \"$COLL\" }))" "the revision"
lm upgrade head
expect_exit 0
if is_pg; then
  expect_eq "$(db_query "SELECT l.collname FROM pg_attribute a JOIN pg_collation l ON l.oid = a.attcollation WHERE a.attrelid = 'things'::regclass AND a.attname = 'code'")" \
    "C" "the column's collation"
else
  expect_text_contains "$(db_query "SELECT sql FROM sqlite_master WHERE name = 'things'")" '"code" VARCHAR(10) COLLATE "NOCASE"' "the table's text"
  db_query "INSERT INTO things (id, n, code) VALUES (1, 1, 'Abc')" >/dev/null
  expect_eq "$(db_query "SELECT count(*) FROM things WHERE code = 'ABC'")" "1" "NOCASE compares"
  db_query "DELETE FROM things" >/dev/null
fi
expect_settled
lm schema --model
expect_exit 0
expect_out_contains "column(\"code\", \"string(10)\", { collation = \"$COLL\" })"
lm downgrade -1
expect_exit 0
rm -f "$REVC"

t_case "table() takes a single list too, as create_table does"
cat >schema.lua <<'EOF'
table("things", { column("id", "integer", { primary_key = true }), column("n", "INT8") })
EOF
lm revision --autogenerate -m "nothing"
expect_exit 0
expect_out_equals "No changes in schema detected."

t_case "the model runs with the project's dialect and a context of its own, in every command"
model_project
mkrev c0000000000a "" "by hand" <<EOF
function upgrade()
  op.create_table("t",
    op.column("id", "integer", { primary_key = true }),
    op.column("j", "$(pick text jsonb)"))
end
function downgrade() op.drop_table("t") end
EOF
lm upgrade head
expect_exit 0
cat >schema.lua <<'EOF'
-- a model that differs between the dialects, as an application's may
assert(context.revision == nil, "context.revision is " .. tostring(context.revision))
assert(context.step == nil and context.offline == false, "context left from a revision")
table("t",
  column("id", "integer", { primary_key = true }),
  column("j", context.dialect == "postgresql" and "jsonb" or "text"))
table("only_" .. tostring(context.dialect), column("id", "integer", { primary_key = true }))
EOF
lm revision --autogenerate -m "dialect table"
expect_exit 0
expect_out_contains "Detected added table 'only_$LM_DIALECT'"
expect_out_not_contains "'t.j'"
lm upgrade head
expect_exit 0
lm check
expect_exit 0
expect_out_contains "check ok"
lm revision --autogenerate -m "nothing"
expect_exit 0
expect_out_equals "No changes in schema detected."
lm revision --autogenerate --offline -m "nothing"
expect_exit 0
expect_out_equals "No changes in schema detected."
lm -x who=ci check
expect_exit 0

t_case "require in the model: the model's folder first, then the project's folders"
model_project
write_config 'url = os.getenv("LM_TEST_URL"),' 'model = "model/schema.lua",'
mkdir -p model/lib
cat >model/lib/columns.lua <<'EOF'
-- a helper module declares columns as the model does
local M = {}
function M.id() return column("id", "integer", { primary_key = true }) end
function M.stamp() return column("created_at", "timestamp", { nullable = false }) end
return M
EOF
cat >versions/_shared_names.lua <<'EOF'
return { table = "events" }
EOF
cat >model/schema.lua <<'EOF'
local cols = require("lib.columns")
local names = require("_shared_names")
table(names.table, cols.id(), cols.stamp())
EOF
lm revision --autogenerate -m "events"
expect_exit 0
expect_out_contains "Detected added table 'events'"
expect_text_contains "$(cat "$(newest)")" 'op.column("created_at", "timestamp", { nullable = false })' "the revision"
lm upgrade head
expect_exit 0
lm check
expect_exit 0
expect_out_contains "check ok"
# the sandbox's limits stay: no path out of the project's folders
printf '%s\n' 'local x = require("..luamig")' >model/schema.lua
lm check
expect_exit 2
expect_err_contains "invalid module name '..luamig'"
printf '%s\n' 'local x = require("nowhere")' >model/schema.lua
lm revision --autogenerate -m "x"
expect_exit 2
expect_err_contains "schema.lua:1: module 'nowhere' not found"
expect_err_contains "no file 'model/nowhere.lua'"

t_case "revision --autogenerate --offline with --dialect and no database URL"
new_project --no-url
write_config 'model = "schema.lua",'
cat >schema.lua <<'EOF'
table("users", column("id", "integer", { primary_key = true }), column("email", "string(100)"))
EOF
lm revision --autogenerate --offline -m "users"
expect_exit 2
expect_err_error_line
expect_err_contains "--dialect"
expect_err_contains "--url"
expect_eq "$(count_revs)" "0" "revision files"
lm revision --autogenerate --offline --dialect "$LM_DIALECT" -m "users"
expect_exit 0
expect_out_contains "Detected added table 'users'"
expect_eq "$(count_revs)" "1" "revision files"
lm revision --autogenerate --offline --dialect "$LM_DIALECT" -m "nothing"
expect_exit 0
expect_out_equals "No changes in schema detected."
lm revision --dialect "$LM_DIALECT" -m "plain"
expect_exit 2
expect_err_contains "go with --autogenerate"
lm revision --autogenerate --dialect "$LM_DIALECT" -m "online"
expect_exit 2
expect_err_contains "--dialect goes with --offline"
expect_eq "$(count_revs)" "1" "revision files"

t_case "revision --autogenerate --offline uses the URL's dialect and leaves its database alone"
model_project
cat >schema.lua <<'EOF'
table("users", column("id", "integer", { primary_key = true }))
EOF
if is_sqlite; then
  rm -f "$(sqlite_path "$LM_URL")"
else
  pg_admin dropdb "$(pg_dbname "$LM_URL")"
fi
lm revision --autogenerate --offline -m "users"
expect_exit 0
expect_out_contains "Detected added table 'users'"
if is_sqlite; then
  expect_no_file "$(sqlite_path "$LM_URL")"
else
  expect_eq "$(pg_admin psql -X -Atc "SELECT count(*) FROM pg_database WHERE datname = '$(pg_dbname "$LM_URL")'")" 0 "databases named as the URL's"
fi

if is_sqlite; then
  t_case "autogenerate and check --drift never make the SQLite file they read"
  model_project
  DB=$(sqlite_path "$LM_URL")
  rm -f "$DB"
  cat >schema.lua <<'EOF'
table("users", column("id", "integer", { primary_key = true }))
EOF
  # an empty chain: the absent database is at its head (base)
  lm revision --autogenerate -m "users"
  expect_exit 0
  expect_out_contains "Detected added table 'users'"
  expect_no_file "$DB"
  # a chain that is not empty: not up to date, and still no file
  lm revision --autogenerate -m "again"
  expect_exit 2
  expect_err_contains "target database is not up to date"
  expect_err_contains "$DB does not exist"
  expect_no_file "$DB"
  expect_eq "$(count_revs)" "1" "revision files"
  lm check --drift
  expect_exit 2
  expect_err_error_line
  expect_err_contains "$DB does not exist"
  expect_no_file "$DB"
  lm upgrade head
  expect_exit 0
  lm check --drift
  expect_exit 0
fi

t_case "no model configured"
new_project
lm revision --autogenerate -m "x"
expect_exit 2
expect_err_contains "no model"

# drift_chain: a hand-written chain touching every kind of op record that
# --drift follows in memory (tables with keys, defaults, a unique
# constraint, a check, indexes unique and partial, add/alter/drop/rename
# column, rename table, a move-and-copy batch, a two-step revision).
drift_chain() {
  mkrev d0000000000a "" "tables" <<'EOF'
function upgrade()
  op.create_table("authors",
    op.column("id", "integer", { primary_key = true }),
    op.column("name", "string(50)", { nullable = false }),
    op.column("status", "string(20)", { nullable = false, server_default = "new" }),
    op.column("active", "boolean", { server_default = true }),
    op.unique({ "name" }, { name = "uq_authors_name" }))
  op.create_table("books",
    op.column("id", "integer", { primary_key = true }),
    op.column("author_id", "integer", { nullable = false, references = "authors.id", ondelete = "CASCADE" }),
    op.column("title", "text"),
    op.column("price", "numeric(10,2)", { server_default = 0 }),
    op.column("legacy", "text"),
    op.check("price >= 0", { name = "ck_books_price" }))
  op.create_index("ix_books_title", "books", { "title" }, { unique = true })
  op.create_index("ix_books_cheap", "books", { "price", "id" }, { where = "price < 10" })
end
function downgrade()
  op.drop_table("books")
  op.drop_table("authors")
end
EOF
  mkrev d0000000000b d0000000000a "columns" <<'EOF'
function upgrade()
  op.add_column("books", op.column("isbn", "string(13)"))
  op.alter_column("books", "title", { new_column_name = "headline" })
  op.rename_table("authors", "writers")
  op.batch_alter_table("books", function(batch)
    batch.drop_column("legacy")
    batch.alter_column("isbn", { nullable = false, server_default = "none", existing_type = "string(13)" })
  end)
end
function downgrade()
  op.batch_alter_table("books", function(batch)
    batch.alter_column("isbn", { nullable = true, server_default = false, existing_type = "string(13)" })
    batch.add_column(op.column("legacy", "text"))
  end)
  op.rename_table("writers", "authors")
  op.alter_column("books", "headline", { new_column_name = "title" })
  op.drop_column("books", "isbn")
end
EOF
  mkrev d0000000000c d0000000000b "two steps" <<'EOF'
steps = {
  { name = "expand",
    up = function() op.add_column("writers", op.column("email", "string(100)")) end,
    down = function() op.drop_column("writers", "email") end },
  { name = "contract",
    up = function() op.drop_column("writers", "status") end,
    down = function()
      op.add_column("writers", op.column("status", "string(20)", { nullable = false, server_default = "new" }))
    end },
}
EOF
}

t_case "check --drift follows a hand-written chain in memory: no drift at head"
new_project
export LM_TEST_URL=$LM_URL # no password in luamig.lua: lint's credentials-in-config
write_config 'url = os.getenv("LM_TEST_URL"),'
drift_chain
lm upgrade head
expect_exit 0
lm -v check --drift
expect_exit 0
expect_err_contains "computed in memory from its op records"
expect_err_not_contains "drift:"

t_case "check --drift at a revision below head, and between the steps of a revision"
lm downgrade d0000000000b
expect_exit 0
lm -v check --drift
expect_exit 0
expect_err_contains "computed in memory"
lm upgrade head --stop-before contract
expect_exit 0
lm -v check --drift
expect_exit 0
expect_err_contains "computed in memory"
expect_err_not_contains "drift:"

t_case "check --drift on the in-memory path finds each change made by hand"
lm upgrade head
expect_exit 0
db_query "DROP INDEX ix_books_cheap" >/dev/null
db_query "ALTER TABLE writers ADD COLUMN nickname TEXT" >/dev/null
lm -v check --drift
expect_exit 1
expect_err_contains "computed in memory"
expect_err_contains "drift: index 'ix_books_cheap' exists in the chain but not in the database"
expect_err_contains "drift: column 'writers.nickname' exists in the database but not in the chain"

t_case "check --drift runs a chain with op.execute or a read of data on a scratch database"
new_project
export LM_TEST_URL=$LM_URL # no password in luamig.lua: lint's credentials-in-config
write_config 'url = os.getenv("LM_TEST_URL"),'
drift_chain
mkrev d0000000000d d0000000000c "by hand" <<'EOF'
function upgrade()
  op.execute("CREATE TABLE by_hand (id INTEGER PRIMARY KEY, note TEXT)")
end
function downgrade() op.execute("DROP TABLE by_hand") end
EOF
mkrev d0000000000e d0000000000d "reads data" <<'EOF'
function upgrade()
  -- a real run sees no writer, so it adds the column: a schema that only a
  -- database can say
  if op.scalar("SELECT count(*) FROM writers") == 0 then
    op.add_column("books", op.column("orphan", "boolean"))
  end
end
function downgrade() op.drop_column("books", "orphan") end
EOF
lm upgrade head
expect_exit 0
lm -v check --drift
expect_exit 0
expect_err_contains "luamig: the chain runs op.execute (at versions/d0000000000d_by_hand.lua:12): the chain's schema at the applied revisions is computed on a scratch database"
expect_err_not_contains "drift:"
db_query "ALTER TABLE by_hand ADD COLUMN extra INTEGER" >/dev/null
lm check --drift
expect_exit 1
expect_err_contains "drift: column 'by_hand.extra' exists in the database but not in the chain"

t_case "check --drift -v says why memory cannot follow a chain that reads data"
new_project
export LM_TEST_URL=$LM_URL # no password in luamig.lua: lint's credentials-in-config
write_config 'url = os.getenv("LM_TEST_URL"),'
mkrev d0000000000a "" "writers" <<'EOF'
function upgrade() op.create_table("writers", op.column("id", "integer", { primary_key = true })) end
function downgrade() op.drop_table("writers") end
EOF
mkrev d0000000000b d0000000000a "reads data" <<'EOF'
function upgrade()
  if op.scalar("SELECT count(*) FROM writers") == 0 then
    op.add_column("writers", op.column("orphan", "boolean"))
  end
end
function downgrade() op.drop_column("writers", "orphan") end
EOF
lm upgrade head
expect_exit 0
lm -v check --drift
expect_exit 0
expect_err_contains "luamig: the chain reads data (at versions/d0000000000b_reads_data.lua:12): the chain's schema at the applied revisions is computed on a scratch database"
expect_err_not_contains "drift:"

t_case "a named check whose expression changed is dropped and made again"
# SQLite keeps a CHECK's text; PostgreSQL rewrites it (IN becomes = ANY
# (ARRAY[...]), casts appear) and is asked to rewrite the model's the same way
model_project
cat >schema.lua <<'EOF'
table("orders",
  column("id", "integer", { primary_key = true }),
  column("status", "string(20)", { nullable = false }),
  column("n", "integer"),
  check("status IN ('a','b')", { name = "ck_orders_status" }),
  check("n > 0 AND n < 100", { name = "ck_orders_n" }))
EOF
lm revision --autogenerate -m "orders"
expect_exit 0
lm upgrade head
expect_exit 0
lm revision --autogenerate -m "nothing"
expect_exit 0
expect_out_equals "No changes in schema detected."
sed -i "s/('a','b')/('a','b','c')/" schema.lua
lm revision --autogenerate -m "wider status"
expect_exit 0
expect_out_contains "Detected removed check constraint 'ck_orders_status' on 'orders'"
expect_out_contains "Detected added check constraint 'ck_orders_status' on 'orders'"
expect_out_not_contains "ck_orders_n"
# the revision holds the model's text, not the database's rewrite
expect_text_contains "$(cat "$(newest)")" "\"status IN ('a','b','c')\")" "the generated revision"
lm upgrade head
expect_exit 0
db_query "INSERT INTO orders (id, status, n) VALUES (1, 'c', 5)" >/dev/null
expect_eq "$?" 0 "a row the changed check allows"
lm revision --autogenerate -m "nothing"
expect_exit 0
expect_out_equals "No changes in schema detected."
lm check --drift
expect_exit 0

if is_pg; then
  t_case "check --drift finds a named check changed by hand"
  db_query "ALTER TABLE orders DROP CONSTRAINT ck_orders_n, ADD CONSTRAINT ck_orders_n CHECK (n > 0 AND n < 1000)" >/dev/null
  lm check --drift
  expect_exit 1
  expect_err_contains "drift: check constraint 'ck_orders_n' on 'orders' exists in the database but not in the chain"
  expect_err_not_contains "ck_orders_status"
fi

t_case "a named check the table cannot hold yet (it names a new column): no error, the column is found"
model_project
cat >schema.lua <<'EOF'
table("orders",
  column("id", "integer", { primary_key = true }),
  column("n", "integer"),
  check("n > 0", { name = "ck_orders_n" }))
EOF
lm revision --autogenerate -m "orders"
expect_exit 0
lm upgrade head
expect_exit 0
BEFORE=$(db_schema)
cat >schema.lua <<'EOF'
table("orders",
  column("id", "integer", { primary_key = true }),
  column("n", "integer"),
  column("m", "integer"),
  check("m > 0", { name = "ck_orders_n" }))
EOF
lm revision --autogenerate -m "check on m"
expect_exit 0
expect_out_contains "Detected added column 'orders.m'"
if is_sqlite; then
  expect_out_contains "Detected added check constraint 'ck_orders_n' on 'orders'"
else
  # PostgreSQL cannot rewrite "m > 0" on a copy of orders, which has no m
  # yet: the check is compared by its name, as Alembic does
  expect_out_not_contains "check constraint"
fi
expect_same "$BEFORE" "$(db_schema)" "the database before (-) and after (+) autogenerate"

t_case "renames carry their indexes, unique constraints and foreign keys along"
model_project
cat >schema.lua <<'EOF'
table("users",
  column("id", "integer", { primary_key = true }),
  column("code", "string(10)", { nullable = false }),
  column("name", "string(50)"),
  unique({ "code" }, { name = "uq_users_code" }),
  index("ix_users_name", { "name" }))
table("orders",
  column("id", "integer", { primary_key = true }),
  column("user_code", "string(10)", { references = "users.code" }),
  column("user_id", "integer", { references = "users.id" }),
  index("ix_orders_user_code", { "user_code" }))
EOF
lm revision --autogenerate -m "users"
expect_exit 0
lm upgrade head
expect_exit 0
cat >schema.lua <<'EOF'
table("accounts",
  column("id", "integer", { primary_key = true }),
  column("ref", "string(10)", { nullable = false, renamed_from = "code" }),
  column("full_name", "string(50)", { renamed_from = "name" }),
  unique({ "ref" }, { name = "uq_users_code" }),
  index("ix_users_name", { "full_name" }),
  { renamed_from = "users" })
table("orders",
  column("id", "integer", { primary_key = true }),
  column("account_ref", "string(10)", { references = "accounts.ref", renamed_from = "user_code" }),
  column("user_id", "integer", { references = "accounts.id" }),
  index("ix_orders_user_code", { "account_ref" }))
EOF
lm revision --autogenerate -m "renames"
expect_exit 0
expect_out_contains "Detected renamed table 'users' -> 'accounts'"
expect_out_contains "Detected renamed column 'accounts.name' -> 'accounts.full_name'"
expect_out_contains "Detected renamed column 'orders.user_code' -> 'orders.account_ref'"
expect_out_not_contains "Detected removed"
expect_out_not_contains "Detected added"
lm upgrade head
expect_exit 0
lm revision --autogenerate -m "nothing"
expect_exit 0
expect_out_equals "No changes in schema detected."
lm check
expect_exit 0
lm check --roundtrip
expect_exit 0

t_case "a foreign key that changes beside the rename of the table it references: the downgrade applies"
sed -i 's/table("accounts",/table("members",/; s/{ renamed_from = "users" })/{ renamed_from = "accounts" })/; s/"accounts\./"members./g' schema.lua
sed -i 's/references = "members.id" }/references = "members.id", ondelete = "CASCADE" }/' schema.lua
lm revision --autogenerate -m "rename and cascade"
expect_exit 0
expect_out_contains "Detected renamed table 'accounts' -> 'members'"
expect_out_contains "Detected removed foreign key"
expect_out_contains "Detected added foreign key"
lm upgrade head
expect_exit 0
lm check
expect_exit 0
lm check --roundtrip
expect_exit 0

t_case "a boolean server default of false is set, not dropped, by alter_column"
model_project
cat >schema.lua <<'EOF'
table("flags",
  column("id", "integer", { primary_key = true }),
  column("f", "boolean"),
  column("g", "boolean", { server_default = true }))
EOF
lm revision --autogenerate -m "flags"
expect_exit 0
lm upgrade head
expect_exit 0
sed -i 's/column("f", "boolean"),/column("f", "boolean", { server_default = false }),/; s/server_default = true/server_default = false/' schema.lua
lm revision --autogenerate -m "false defaults"
expect_exit 0
expect_out_contains "Detected added server default on column 'flags.f'"
expect_out_contains "Detected changed server default on column 'flags.g'"
expect_text_contains "$(cat "$(newest)")" 'op.alter_column("flags", "f", { server_default = op.sql("false"),' "the revision"
lm upgrade head
expect_exit 0
db_query "INSERT INTO flags (id) VALUES (1)" >/dev/null
expect_eq "$(db_query "SELECT count(*) FROM flags WHERE f = $(pick 0 false) AND g = $(pick 0 false)")" "1" "the defaults of a new row"
lm revision --autogenerate -m "nothing"
expect_exit 0
expect_out_equals "No changes in schema detected."
lm check
expect_exit 0
lm check --roundtrip
expect_exit 0
# back to true: the downgrade sets DEFAULT false again, the same default as before
sed -i 's/column("g", "boolean", { server_default = false })/column("g", "boolean", { server_default = true })/' schema.lua
lm revision --autogenerate -m "true again"
expect_exit 0
expect_text_contains "$(cat "$(newest)")" 'op.alter_column("flags", "g", { server_default = op.sql("false"),' "the downgrade"
lm upgrade head
expect_exit 0
lm check --roundtrip
expect_exit 0

t_case "a string server default with a backslash settles, and schema --model round-trips it"
model_project
cat >schema.lua <<'EOF'
table("paths",
  column("id", "integer", { primary_key = true }),
  column("dir", "string(40)", { server_default = "C:\\tmp\\" }),
  column("quoted", "text", { server_default = "it's a\\b" }))
EOF
lm revision --autogenerate -m "paths"
expect_exit 0
expect_text_contains "$(cat "$(newest)")" 'server_default = "C:\\tmp\\"' "the revision"
lm upgrade head
expect_exit 0
db_query "INSERT INTO paths (id) VALUES (1)" >/dev/null
expect_eq "$(db_query "SELECT dir FROM paths")" 'C:\tmp\' "the default of a new row"
lm revision --autogenerate -m "nothing"
expect_exit 0
expect_out_equals "No changes in schema detected."
lm check
expect_exit 0
lm check --roundtrip
expect_exit 0
lm schema --model
expect_exit 0
expect_out_contains 'server_default = "C:\\tmp\\"'
printf '%s\n' "$LM_OUT" >exported.lua
write_config 'url = os.getenv("LM_TEST_URL"),' 'model = "exported.lua",'
lm revision --autogenerate -m "nothing"
expect_exit 0
expect_out_equals "No changes in schema detected."
write_config 'url = os.getenv("LM_TEST_URL"),' 'model = "schema.lua",'
sed -i 's/it'"'"'s a\\\\b/it'"'"'s a\\\\c/' schema.lua
lm revision --autogenerate -m "another default"
expect_exit 0
expect_out_contains "Detected changed server default on column 'paths.quoted'"
lm upgrade head
expect_exit 0
lm check
expect_exit 0
lm check --roundtrip
expect_exit 0

t_case "a bigint or smallint primary key: the key the database numbers compares equal"
model_project
cat >schema.lua <<'EOF'
table("big",
  column("id", "bigint", { primary_key = true }),
  column("n", "integer"))
table("small",
  column("id", "smallint", { primary_key = true }),
  column("big_id", "bigint", { references = "big.id" }))
EOF
lm revision --autogenerate -m "keys"
expect_exit 0
lm upgrade head
expect_exit 0
lm revision --autogenerate -m "nothing"
expect_exit 0
expect_out_equals "No changes in schema detected."
lm check
expect_exit 0
lm check --roundtrip
expect_exit 0
db_query "INSERT INTO big (n) VALUES (7)" >/dev/null
expect_eq "$(db_query "SELECT id FROM big WHERE n = 7")" "1" "an id the database gave"

t_case "primary key columns declared without NOT NULL: schema --model round-trips"
new_project
export LM_TEST_URL=$LM_URL # no password in luamig.lua: lint's credentials-in-config
write_config 'url = os.getenv("LM_TEST_URL"),' 'model = "schema.lua",'
printf '%s\n' "CREATE TABLE t (id INTEGER PRIMARY KEY, a INT);" \
  "CREATE TABLE link (a INTEGER, b INTEGER, PRIMARY KEY (a, b));" >tables.sql
db_apply_script tables.sql
lm schema --model
expect_exit 0
printf '%s\n' "$LM_OUT" >schema.lua
lm revision --autogenerate -m "nothing"
expect_exit 0
expect_out_equals "No changes in schema detected."
cat >schema.lua <<'EOF'
table("t", column("id", "integer", { primary_key = true }), column("a", "integer"))
table("link", column("a", "integer"), column("b", "integer"), primary_key({ "a", "b" }))
EOF
lm revision --autogenerate -m "nothing"
expect_exit 0
expect_out_equals "No changes in schema detected."

t_case "schema --model: REFERENCES without columns, a plain integer key, an expression index"
model_project
printf '%s\n' "CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT);" \
  "CREATE TABLE emp (id INTEGER PRIMARY KEY, manager_id INTEGER REFERENCES users);" \
  "CREATE INDEX ix_users_lower ON users (lower(email));" >tables.sql
db_apply_script tables.sql
lm schema --model
expect_exit 0
expect_out_contains "users.id"
expect_out_not_contains "{  }"
if is_pg; then expect_out_contains "autoincrement = false"; fi
printf '%s\n' "$LM_OUT" >schema.lua
lm revision --autogenerate -m "nothing"
expect_exit 0
expect_out_equals "No changes in schema detected."
cat >schema.lua <<'EOF'
table("users", column("id", "integer", { primary_key = true, autoincrement = false }),
  column("email", "text"),
  index("ix_users_lower", { sql("lower(email)") }))
table("emp", column("id", "integer", { primary_key = true, autoincrement = false }),
  column("manager_id", "integer", { references = "users.id" }))
EOF
lm revision --autogenerate -m "nothing"
expect_exit 0
expect_out_equals "No changes in schema detected."
# an index given as sql(...) alone, and a new one: written with op.sql
cat >schema.lua <<'EOF'
table("users", column("id", "integer", { primary_key = true, autoincrement = false }),
  column("email", "text"),
  index("ix_users_lower", sql("lower(email)")),
  index("ix_users_upper", { "id", sql("upper(email)") }))
table("emp", column("id", "integer", { primary_key = true, autoincrement = false }),
  column("manager_id", "integer", { references = "users.id" }))
EOF
lm revision --autogenerate -m "upper"
expect_exit 0
expect_out_contains "Detected added index 'ix_users_upper'"
expect_text_contains "$(cat "$(newest)")" 'op.create_index("ix_users_upper", "users", { "id", op.sql("upper(email)") })' "the revision"
lm upgrade head
expect_exit 0
lm revision --autogenerate -m "again"
expect_exit 0
expect_out_equals "No changes in schema detected."

t_case "SPEC's model as written: schema.lua found without a model key, now() default takes rows"
new_project
export LM_TEST_URL=$LM_URL # no password in luamig.lua: lint's credentials-in-config
write_config 'url = os.getenv("LM_TEST_URL"),'
cat >schema.lua <<'EOF'
table("users",
  column("id", "integer", { primary_key = true }),
  column("email", "string(255)", { nullable = false }),
  column("name", "string(100)"))
EOF
lm revision --autogenerate -m "users"
expect_exit 0
expect_out_contains "Detected added table 'users'"
lm upgrade head
expect_exit 0
db_query "INSERT INTO users (email, name) VALUES ('a@x', 'Ann')" >/dev/null
cat >schema.lua <<'EOF'
local function timestamps()            -- plain Lua: shared columns, loops, conditions
  return column("created_at", "timestamptz", { nullable = false, server_default = sql("now()") })
end

table("users",
  column("id", "integer", { primary_key = true }),
  column("email", "string(255)", { nullable = false }),
  column("full_name", "string(100)", { renamed_from = "name" }),   -- a rename, not drop+add
  timestamps(),
  index("ix_users_email", { "email" }, { unique = true }))

table("orders",
  column("id", "integer", { primary_key = true }),
  column("user_id", "integer", { nullable = false, references = "users.id", ondelete = "CASCADE" }),
  column("status", "string(20)", { nullable = false, server_default = "pending" }),
  index("ix_orders_open", { "user_id" }, { where = "status <> 'done'" }),
  check("status IN ('pending','paid','done')", { name = "ck_orders_status" }))
EOF
lm revision --autogenerate -m "spec model"
expect_exit 0
expect_out_contains "Detected renamed column 'users.name' -> 'users.full_name'"
expect_out_contains "Detected added column 'users.created_at'"
lm upgrade head
expect_exit 0
# the existing row got the moment it was copied; a new one gets its own
expect_eq "$(db_query "SELECT count(*) FROM users WHERE created_at IS NOT NULL AND full_name = 'Ann'")" "1" \
  "the existing row has a created_at"
db_query "INSERT INTO users (email, full_name) VALUES ('b@x', 'Bo')" >/dev/null
db_query "INSERT INTO orders (user_id) SELECT id FROM users WHERE email = 'b@x'" >/dev/null
expect_eq "$(db_query "SELECT count(*) FROM users WHERE created_at IS NOT NULL")" "2" \
  "a row inserted without created_at takes the default"
expect_eq "$(db_query "SELECT status FROM orders")" "pending" "the orders default"
lm check
expect_exit 0
lm check --drift
expect_exit 0
lm revision --autogenerate -m "again"
expect_exit 0
expect_out_equals "No changes in schema detected."
lm downgrade base
expect_exit 0
lm upgrade head --sql
expect_exit 0
if is_sqlite; then
  expect_out_contains '"created_at" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP'
  expect_out_not_contains "now()"
else
  expect_out_contains "DEFAULT now()"
fi

t_case "op.sql(\"now()\") as a backfill value"
new_project
mkrev 0001 "" "stamp events" <<'EOF'
function upgrade()
  op.create_table("ev", op.column("id", "integer", { primary_key = true }), op.column("at", "timestamptz"))
  op.execute("INSERT INTO ev (id) VALUES (1), (2)")
end
function downgrade() op.drop_table("ev") end
EOF
mkrev 0002 0001 "backfill events" <<'EOF'
function upgrade()
  op.backfill("ev", { set = { at = op.sql("NOW( )") }, where = "at IS NULL", batch_size = 1 })
end
function downgrade() end
EOF
lm upgrade head
expect_exit 0
expect_eq "$(db_query "SELECT count(*) FROM ev WHERE at IS NOT NULL")" "2" "both rows stamped"

t_case "a renamed column's CHECK, partial index and index expression follow the rename"
model_project
mkrev 0001 "" "orders" <<'EOF'
function upgrade()
  op.create_table("orders", op.column("id", "integer", { primary_key = true }),
    op.column("status", "string(20)"),
    op.check("status IN ('a','b')", { name = "ck_status" }))
  op.create_index("ix_open", "orders", { "id" }, { where = "status <> 'a'" })
  op.create_index("ix_low", "orders", { op.sql("lower(status)") })
end
function downgrade() op.drop_table("orders") end
EOF
lm upgrade head
expect_exit 0
cat >schema.lua <<'EOF'
table("orders",
  column("id", "integer", { primary_key = true }),
  column("state", "string(20)", { renamed_from = "status" }),
  index("ix_open", { "id" }, { where = "state <> 'a'" }),
  index("ix_low", { "lower(state)" }),
  check("state IN ('a','b')", { name = "ck_status" }))
EOF
lm revision --autogenerate -m "rename status"
expect_exit 0
expect_out_contains "Detected renamed column 'orders.status' -> 'orders.state'"
expect_out_not_contains "check constraint"
expect_out_not_contains "index"
REN=$(newest)
expect_eq "$(grep -c 'op\.' "$REN")" "2" "operations in the revision (the rename and its inverse)"
lm upgrade head
expect_exit 0
lm check --drift
expect_exit 0
expect_err_not_contains "drift:"
lm check
expect_exit 0
lm revision --autogenerate -m "again"
expect_exit 0
expect_out_equals "No changes in schema detected."
lm check --roundtrip
expect_exit 0
lm downgrade -1
expect_exit 0
lm check --drift
expect_exit 0

t_case "index entries that are SQL: autogenerate writes op.sql() and settles"
model_project
cat >schema.lua <<'EOF'
table("users",
  column("id", "integer", { primary_key = true }),
  column("email", "text"),
  column("full name", "text"),
  index("ix_users_low", { "lower(email)" }),
  index("ix_users_desc", { "email DESC", "id" }),
  index("ix_users_full", { "full name" }))
EOF
lm revision --autogenerate -m "indexes"
expect_exit 0
GEN=$(newest)
expect_text_contains "$(cat "$GEN")" 'op.create_index("ix_users_low", "users", { op.sql("lower(email)") })' "the revision"
expect_text_contains "$(cat "$GEN")" 'op.create_index("ix_users_desc", "users", { op.sql("email DESC"), "id" })' "the revision"
expect_text_contains "$(cat "$GEN")" 'op.create_index("ix_users_full", "users", { "full name" })' "the revision"
lm upgrade head
expect_exit 0
db_query "INSERT INTO users (email, \"full name\") VALUES ('A@x', 'Ann')" >/dev/null
lm revision --autogenerate -m "again"
expect_exit 0
expect_out_equals "No changes in schema detected."
lm check --drift
expect_exit 0
lm check --roundtrip
expect_exit 0
# schema --model writes them back as the model had them
lm schema --model
expect_exit 0
expect_out_contains 'index("ix_users_low", { "lower(email)" })'
expect_out_contains 'index("ix_users_desc", { "email DESC", "id" })'
# dropped from the model: the downgrade makes them again, as SQL
sed -i '/ix_users_low\|ix_users_desc/d' schema.lua
sed -i 's/column("full name", "text"),/column("full name", "text"))/; /ix_users_full/d' schema.lua
lm revision --autogenerate -m "drop them"
expect_exit 0
expect_out_contains "Detected removed index 'ix_users_low'"
DROP=$(newest)
expect_text_contains "$(cat "$DROP")" '{ op.sql("lower(email)") }' "the downgrade"
lm upgrade head
expect_exit 0
lm downgrade -1
expect_exit 0
lm check --drift
expect_exit 0

t_case "descending and quoted index columns: a reserved word, a capital, an expression"
model_project
cat >schema.lua <<'EOF'
table("t",
  column("id", "integer", { primary_key = true }),
  column("order", "integer"),
  column("Name", "string(100)"),
  column("email", "text"),
  index("ix_t_order", { "order DESC" }),
  index("ix_t_name", { "Name DESC" }),
  index("ix_t_both", { "email", "order" }),
  index("ix_t_low", { "lower(email) DESC" }))
EOF
lm revision --autogenerate -m "indexes"
expect_exit 0
GEN=$(newest)
expect_text_contains "$(cat "$GEN")" '{ op.sql("\"order\" DESC") }' "the revision"
expect_text_contains "$(cat "$GEN")" '{ op.sql("\"Name\" DESC") }' "the revision"
expect_text_contains "$(cat "$GEN")" '{ "email", "order" }' "the revision"
expect_text_contains "$(cat "$GEN")" '{ op.sql("lower(email) DESC") }' "the revision"
lm upgrade head
expect_exit 0
lm revision --autogenerate -m "again"
expect_exit 0
expect_out_equals "No changes in schema detected."
lm check --drift
expect_exit 0
lm schema --model
expect_exit 0
printf '%s\n' "$LM_OUT" >schema.lua
lm revision --autogenerate -m "from schema --model"
expect_exit 0
expect_out_equals "No changes in schema detected."
# the columns and their indexes dropped: the downgrade adds the columns back,
# then the indexes on them, as names
cat >schema.lua <<'EOF'
table("t", column("id", "integer", { primary_key = true }), column("email", "text"))
EOF
lm revision --autogenerate -m "drop columns"
expect_exit 0
DROP=$(newest)
expect_text_contains "$(cat "$DROP")" 'op.create_index("ix_t_both", "t", { "email", "order" })' "the downgrade"
lm upgrade head
expect_exit 0
lm check --roundtrip
expect_exit 0
lm downgrade -1
expect_exit 0
lm check --drift
expect_exit 0

t_case "index entries with a collation, an operator class or a NULLS order settle, and a change to one is found"
model_project
# each dialect's own: SQLite has collations and no operator classes or NULLS
# in an index; the database reads them back in its own spelling
if is_pg; then
  IX_A='email varchar_pattern_ops' IX_B='created_at DESC NULLS LAST' IX_C='name COLLATE \"C\"'
  IX_D='lower(email) text_pattern_ops'
else
  IX_A='email COLLATE nocase' IX_B='created_at DESC' IX_C='name COLLATE rtrim DESC'
  IX_D='lower(email) COLLATE nocase'
fi
write_model() {
  cat >schema.lua <<EOF
table("users",
  column("id", "integer", { primary_key = true }),
  column("email", "string(200)"),
  column("name", "text"),
  column("created_at", "timestamp"),
  index("ix_users_a", { "$1" }),
  index("ix_users_b", { "$IX_B", "id" }),
  index("ix_users_c", { "$IX_C" }),
  index("ix_users_d", { "$IX_D" }))
EOF
}
write_model "$IX_A"
lm revision --autogenerate -m "indexes"
expect_exit 0
GEN=$(newest)
expect_text_contains "$(cat "$GEN")" "op.create_index(\"ix_users_a\", \"users\", { op.sql(\"$IX_A\") })" "the revision"
lm upgrade head
expect_exit 0
expect_settled
lm check --roundtrip
expect_exit 0
# schema --model writes them back, and that model settles too
lm schema --model
expect_exit 0
expect_out_contains "index(\"ix_users_a\", { \"$IX_A\" })"
printf '%s\n' "$LM_OUT" >schema.lua
lm revision --autogenerate -m "from schema --model"
expect_exit 0
expect_out_equals "No changes in schema detected."
# the option taken away: that index, and only that one, is made again
write_model "email"
lm revision --autogenerate -m "plain email"
expect_exit 0
CHG=$(newest)
expect_out_equals "Detected removed index 'ix_users_a'
Detected added index 'ix_users_a'
Generating versions/$(basename "$CHG") ... done"
expect_text_contains "$(cat "$CHG")" 'op.create_index("ix_users_a", "users", { "email" })' "the upgrade"
expect_text_contains "$(cat "$CHG")" "op.create_index(\"ix_users_a\", \"users\", { op.sql(\"$IX_A\") })" "the downgrade"
lm upgrade head
expect_exit 0
expect_settled
# made again by hand with the option: drift names the index
db_query "DROP INDEX ix_users_a" >/dev/null
db_query "CREATE INDEX ix_users_a ON users (${IX_A//\\/})" >/dev/null
lm check --drift
expect_exit 1
expect_err_contains "ix_users_a"
db_query "DROP INDEX ix_users_a" >/dev/null
db_query "CREATE INDEX ix_users_a ON users (email)" >/dev/null
lm downgrade -1
expect_exit 0
lm check --drift
expect_exit 0

t_case "BETWEEN, a negative bound and a date in checks and partial indexes settle; a changed bound is found"
model_project
cat >schema.lua <<'EOF'
table("r",
  column("id", "integer", { primary_key = true }),
  column("n", "integer"),
  column("at", "timestamp"),
  check("n BETWEEN -5 AND 50", { name = "ck_r_n" }),
  check("n NOT BETWEEN 60 AND 70"),
  index("ix_r_n", { "id" }, { where = "n BETWEEN 2 AND 4" }),
  index("ix_r_neg", { "id" }, { where = "n > -1" }),
  index("ix_r_at", { "id" }, { where = "at >= '2020-01-01'" }))
EOF
lm revision --autogenerate -m "ranges"
expect_exit 0
lm upgrade head
expect_exit 0
expect_settled
lm check
expect_exit 0
sed -i "s/2020-01-01/2021-01-01/; s/BETWEEN 2 AND 4/BETWEEN 2 AND 5/" schema.lua
lm revision --autogenerate -m "new bounds"
expect_exit 0
expect_out_equals "Detected removed index 'ix_r_at'
Detected removed index 'ix_r_n'
Detected added index 'ix_r_at'
Detected added index 'ix_r_n'
Generating versions/$(basename "$(newest)") ... done"
lm upgrade head
expect_exit 0
expect_settled

t_case "a type change PostgreSQL cannot cast by itself: autogenerate writes postgresql_using, the rows convert both ways"
model_project
cat >schema.lua <<'EOF'
table("d",
  column("id", "integer", { primary_key = true }),
  column("doc", "text"),
  column("n", "string(10)"),
  column("flag", "integer"),
  column("Big Name", "text"))
EOF
lm revision --autogenerate -m "texts"
expect_exit 0
lm upgrade head
expect_exit 0
db_query "INSERT INTO d (id, doc, n, flag, \"Big Name\") VALUES (1, '{\"a\": 1}', '42', 1, '5')" >/dev/null
sed -i 's/"doc", "text"/"doc", "jsonb"/; s/"n", "string(10)"/"n", "integer"/; s/"flag", "integer"/"flag", "boolean"/; s/"Big Name", "text"/"Big Name", "bigint"/' schema.lua
lm revision --autogenerate -m "typed"
expect_exit 0
REV=$(cat "$(newest)")
if is_pg; then
  expect_text_contains "$REV" 'type = "jsonb", existing_type = "text", existing_nullable = true, postgresql_using = "doc::jsonb" })' "the upgrade"
  expect_text_contains "$REV" 'postgresql_using = "n::integer"' "the upgrade"
  expect_text_contains "$REV" 'postgresql_using = "flag::boolean"' "the upgrade"
  expect_text_contains "$REV" 'postgresql_using = "\"Big Name\"::bigint"' "the upgrade"
  # back to a string needs no conversion written out; to integer from boolean does
  expect_text_contains "$REV" 'op.alter_column("d", "doc", { type = "text", existing_type = "jsonb", existing_nullable = true })' "the downgrade"
  expect_text_contains "$REV" 'postgresql_using = "flag::integer"' "the downgrade"
else
  expect_text_not_contains "$REV" "postgresql_using" "the revision"
fi
lm upgrade head
expect_exit 0
expect_eq "$(db_query "SELECT n + 1 FROM d")" "43" "n holds a number"
expect_settled
lm downgrade -1
expect_exit 0
expect_eq "$(db_query "SELECT n FROM d")" "42" "n back as text"
lm check --roundtrip
expect_exit 0

if is_pg; then
  t_case "PostgreSQL: defaults and WHERE clauses the server rewrites settle"
  model_project
  cat >schema.lua <<'EOF'
table("t",
  column("id", "integer", { primary_key = true }),
  column("s", "text"),
  column("at", "timestamptz", { server_default = sql("(now() at time zone 'utc')") }),
  column("due", "timestamptz", { server_default = sql("now() + interval '1 day'") }),
  index("ix_t_s", { "id" }, { where = "s LIKE 'x%' AND s NOT ILIKE 'y'" }))
EOF
  lm revision --autogenerate -m "rewritten"
  expect_exit 0
  GEN=$(newest)
  expect_text_contains "$(cat "$GEN")" "server_default = op.sql(\"(now() at time zone 'utc')\")" "the revision"
  lm upgrade head
  expect_exit 0
  lm revision --autogenerate -m "again"
  expect_exit 0
  expect_out_equals "No changes in schema detected."
  lm check --drift
  expect_exit 0
  lm check
  expect_exit 0

  t_case "PostgreSQL: a changed unnamed check is found, though the server rewrites it"
  model_project
  cat >schema.lua <<'EOF'
table("orders",
  column("id", "integer", { primary_key = true }),
  column("amount", "integer"),
  column("status", "text"),
  check("amount >= 0"),
  check("status IN ('a', 'b') AND amount BETWEEN 0 AND 1000"))
EOF
  lm revision --autogenerate -m "checks"
  expect_exit 0
  lm upgrade head
  expect_exit 0
  lm revision --autogenerate -m "again"
  expect_exit 0
  expect_out_equals "No changes in schema detected."
  sed -i 's/check("amount >= 0")/check("amount >= 1")/' schema.lua
  lm check
  expect_exit 1
  expect_err_contains "model differs"
  lm revision --autogenerate -m "amount from 1"
  expect_exit 0
  expect_out_contains "check constraint 'ck_orders_1'"
  expect_text_contains "$(cat "$(newest)")" 'op.create_check_constraint("ck_orders_1", "orders", "amount >= 1")' "the revision"
  lm upgrade head
  expect_exit 0
  lm revision --autogenerate -m "again"
  expect_exit 0
  expect_out_equals "No changes in schema detected."
  lm check --roundtrip
  expect_exit 0
fi

t_case "a composite primary key and a named IN check changed: the revision round-trips"
model_project
cat >schema.lua <<'EOF'
table("m",
  column("org_id", "integer", { nullable = false }),
  column("user_id", "integer", { nullable = false }),
  column("x", "integer", { nullable = false }),
  column("s", "string(10)"),
  primary_key({ "org_id", "user_id" }),
  check("s IN ('a', 'b')", { name = "ck_m_s" }))
EOF
lm revision --autogenerate -m "m"
expect_exit 0
lm upgrade head
expect_exit 0
sed -i 's/primary_key({ "org_id", "user_id" })/primary_key({ "org_id", "x" })/; s/IN (.a., .b.)/IN ('"'a', 'b', 'c'"')/' schema.lua
lm revision --autogenerate -m "key and check"
expect_exit 0
expect_out_contains "check constraint 'ck_m_s'"
lm upgrade head
expect_exit 0
lm revision --autogenerate -m "again"
expect_exit 0
expect_out_equals "No changes in schema detected."
lm check --roundtrip
expect_exit 0
lm downgrade -1
expect_exit 0
lm check --drift
expect_exit 0

t_case "tables that reference each other: made, then their cycle closed; broken, then dropped"
model_project
cat >schema.lua <<'EOF'
table("users",
  column("id", "integer", { primary_key = true }),
  column("last_order_id", "integer", { references = "orders.id" }))
table("orders",
  column("id", "integer", { primary_key = true }),
  column("user_id", "integer", { nullable = false, references = "users.id", ondelete = "CASCADE" }))
EOF
lm revision --autogenerate -m "cycle"
expect_exit 0
expect_text_contains "$(cat "$(newest)")" 'op.create_foreign_key(' "the reference made once both tables are there"
lm upgrade head
expect_exit 0
db_query "INSERT INTO users (id) VALUES (1)" >/dev/null
db_query "INSERT INTO orders (id, user_id) VALUES (7, 1)" >/dev/null
db_query "UPDATE users SET last_order_id = 7" >/dev/null
expect_fails "a reference to no order is refused" db_query "UPDATE users SET last_order_id = 8"
lm revision --autogenerate -m "again"
expect_exit 0
expect_out_equals "No changes in schema detected."
lm check --drift
expect_exit 0
lm schema --model
expect_exit 0
printf '%s\n' "$LM_OUT" >schema.lua
lm revision --autogenerate -m "from schema --model"
expect_exit 0
expect_out_equals "No changes in schema detected."
printf '%s\n' 'table("other", column("id", "integer", { primary_key = true }))' >schema.lua
lm revision --autogenerate -m "drop both"
expect_exit 0
expect_out_contains "Detected removed table 'users'"
lm upgrade head
expect_exit 0
lm check --roundtrip
expect_exit 0
lm downgrade -1
expect_exit 0
expect_eq "$(db_query "SELECT last_order_id FROM users")" "" "the tables made again (empty)"
lm check --drift
expect_exit 0

t_done
