#!/usr/bin/env bash
# The op API of SPEC §4 that works the same on both dialects, checked by
# introspecting the database after each revision: create_table (every column
# option and constraint), drop_table, rename_table, add_column, drop_column,
# alter_column new_column_name, create_index (unique, partial), drop_index,
# execute with bound parameters, bulk_insert, op.f, the query helpers, and
# batch_alter_table. Then the whole chain goes down to base and up again.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

new_project

mkrev 0a0000000001 "" "create tables" <<'EOF'
function upgrade()
  op.create_table("users",
    op.column("id", "integer", { primary_key = true }),
    op.column("name", "string(50)", { nullable = false }),
    op.column("email", "string(120)", { unique = true }),
    op.column("status", "string(20)", { nullable = false, server_default = "pending" }),
    op.column("motto", "string(40)", { server_default = "it's ok" }),
    op.column("score", "integer", { server_default = 0 }),
    op.column("active", "boolean", { server_default = true }),
    op.column("created_at", "datetime", { server_default = op.sql("CURRENT_TIMESTAMP") }),
    op.column("bio", "text", { comment = "free text" }),
    op.column("balance", "numeric(10,2)"),
    op.column("ratio", "float"),
    op.column("birthday", "date"),
    op.column("alarm", "time"),
    op.column("seen_at", "timestamptz"),
    op.column("small", "smallint"),
    op.column("big", "bigint"),
    op.column("payload", "json"),
    op.column("uid", "uuid"),
    op.column("avatar", "binary"),
    op.column("label", "String(12)"),
    op.column("code", "char(3)"),
    op.column("nick", "string(30)", { index = true }),
    op.check("length(name) > 0", { name = "ck_users_name_nonempty" })
  )
  op.create_table("posts",
    op.column("id", "integer", { primary_key = true }),
    op.column("user_id", "integer", { nullable = false, references = "users.id", ondelete = "CASCADE" }),
    op.column("title", "string(200)", { nullable = false }),
    op.unique({ "user_id", "title" }, { name = "uq_posts_user_title" })
  )
  op.create_table("tags",
    op.column("post_id", "integer", { nullable = false }),
    op.column("tag", "string(40)", { nullable = false }),
    op.primary_key({ "post_id", "tag" }, { name = "pk_tags" }),
    op.foreign_key({ "post_id" }, { "posts.id" }, { name = "fk_tags_post", ondelete = "CASCADE" })
  )
  op.create_table("single", {
    op.column("id", "integer", { primary_key = true }),
    op.column("v", "text"),
  })
end

function downgrade()
  op.drop_table("single")
  op.drop_table("tags")
  op.drop_table("posts")
  op.drop_table("users")
end
EOF

mkrev 0a0000000002 0a0000000001 "columns and indexes" <<'EOF'
function upgrade()
  op.add_column("users", op.column("phone", "string(20)"))
  op.add_column("users", op.column("level", "integer", { nullable = false, server_default = 1 }))
  op.create_index("ix_users_phone", "users", { "phone" })
  op.create_index("ux_users_name_pending", "users", { "name" }, { unique = true, where = "status = 'pending'" })
  op.create_index(op.f("ix_users_score"), "users", { "score" })
  op.create_index("ix_posts_title_user", "posts", { "title", "user_id" })
  op.create_index("ix_users_phone", "users", { "phone" }, { if_not_exists = true })
end

function downgrade()
  op.drop_index("ix_posts_title_user", { table_name = "posts" })
  op.drop_index("ix_users_score", { table_name = "users" })
  op.drop_index("ux_users_name_pending", { table_name = "users" })
  op.drop_index("ix_users_phone", { table_name = "users" })
  op.drop_column("users", "level")
  op.drop_column("users", "phone")
end
EOF

mkrev 0a0000000003 0a0000000002 "drop and rename columns" <<'EOF'
function upgrade()
  op.drop_column("users", "bio")
  op.alter_column("users", "nick", { new_column_name = "nickname" })
end

function downgrade()
  op.alter_column("users", "nickname", { new_column_name = "nick" })
  op.add_column("users", op.column("bio", "text"))
end
EOF

mkrev 0a0000000004 0a0000000003 "rename posts" <<'EOF'
function upgrade()
  op.rename_table("posts", "articles")
end

function downgrade()
  op.rename_table("articles", "posts")
end
EOF

mkrev 0a0000000005 0a0000000004 "drop tags" <<'EOF'
function upgrade()
  op.drop_index("ix_users_phone", { table_name = "users" })
  op.drop_index("no_such_index", { table_name = "users", if_exists = true })
  op.drop_table("tags")
end

function downgrade()
  op.create_table("tags",
    op.column("post_id", "integer", { nullable = false }),
    op.column("tag", "string(40)", { nullable = false }),
    op.primary_key({ "post_id", "tag" }, { name = "pk_tags" }),
    op.foreign_key({ "post_id" }, { "articles.id" }, { name = "fk_tags_post", ondelete = "CASCADE" })
  )
  op.create_index("ix_users_phone", "users", { "phone" })
end
EOF

mkrev 0a0000000006 0a0000000005 "data" <<'EOF'
function upgrade()
  op.execute("INSERT INTO users (name, email, score) VALUES ($1, $2, $3)", { "Ann", "ann@example.com", 41 })
  op.execute("UPDATE users SET score = score + $1 WHERE email = $2", { 1, "ann@example.com" })
  op.execute("INSERT INTO users (name, email) VALUES ($1, $2)", { "O'Brien; DROP TABLE users; --", "ob@example.com" })
  op.execute("INSERT INTO users (name, email, motto) VALUES ('cost $1', $1, $2)", { "cost@example.com", "x" })
  op.execute("UPDATE users SET active = $1 WHERE email = $2", { false, "ann@example.com" })
  op.bulk_insert("users", {
    { name = "b1", email = "b1@example.com", score = 5, active = false },
    { name = "b2", email = "b2@example.com", score = 7, active = true },
  })
end

function downgrade()
  op.execute("DELETE FROM users WHERE email IN ($1, $2, $3, $4, $5)",
    { "ann@example.com", "ob@example.com", "cost@example.com", "b1@example.com", "b2@example.com" })
end
EOF

mkrev 0a0000000007 0a0000000006 "queries" <<'EOF'
function upgrade()
  local n = op.scalar("SELECT count(*) FROM users WHERE score > $1", { 6 })
  local rows = op.query("SELECT name, score FROM users WHERE email = $1", { "ann@example.com" })
  local names = {}
  for row in op.rows("SELECT name FROM users WHERE name LIKE $1 ORDER BY name", { "b_" }) do
    names[#names + 1] = row.name
  end
  op.create_table("facts", op.column("k", "string(40)"), op.column("v", "text"))
  op.bulk_insert("facts", {
    { k = "scalar", v = tostring(math.tointeger(tonumber(n)) or n) },
    { k = "query", v = rows[1].name .. "/" .. #rows },
    { k = "rows", v = table.concat(names, ",") },
    { k = "scalar_none", v = tostring(op.scalar("SELECT name FROM users WHERE email = $1", { "nobody" })) },
    { k = "has_table", v = tostring(op.has_table("users")) .. "," .. tostring(op.has_table("nope"))
      .. "," .. tostring(op.has_table("ix_users_score")) },
    { k = "has_column", v = tostring(op.has_column("users", "nickname")) .. "," .. tostring(op.has_column("users", "nick"))
      .. "," .. tostring(op.has_column("users", "bio")) },
    { k = "has_index", v = tostring(op.has_index("ix_users_score")) .. "," .. tostring(op.has_index("ix_users_phone"))
      .. "," .. tostring(op.has_index("users")) },
  })
end

function downgrade()
  op.drop_table("facts")
end
EOF

# ---------------------------------------------------------------------------
t_case "create_table: upgrade to the first revision"
lm upgrade 0a0000000001
expect_exit 0
expect_table users
expect_table posts
expect_table tags
expect_table single

t_case "create_table: column types of SPEC §4"
check_type() { # check_type COLUMN SQLITE_TYPE PG_TYPE
  expect_eq "$(col_type users "$1")" "$(pick "$2" "$3")" "type of users.$1"
}
check_type id INTEGER integer
check_type name "VARCHAR(50)" "character varying(50)"
check_type email "VARCHAR(120)" "character varying(120)"
check_type bio TEXT text
check_type active BOOLEAN boolean
check_type balance "NUMERIC(10,2)" "numeric(10,2)"
check_type ratio REAL "double precision"
check_type birthday DATE date
check_type alarm TIME "time without time zone"
check_type created_at DATETIME "timestamp without time zone"
check_type seen_at DATETIME "timestamp with time zone"
check_type small SMALLINT smallint
check_type big BIGINT bigint
check_type payload JSON jsonb
check_type uid "CHAR(36)" uuid
check_type avatar BLOB bytea
check_type label "VARCHAR(12)" "character varying(12)"
check_type code "char(3)" "character(3)"
expect_eq "$(columns single)" "id,v" "columns of single (create_table with one list)"

t_case "create_table: nullable"
expect_eq "$(col_notnull users name)" 1 "users.name NOT NULL"
expect_eq "$(col_notnull users status)" 1 "users.status NOT NULL"
expect_eq "$(col_notnull users email)" 0 "users.email nullable"
expect_eq "$(col_notnull users bio)" 0 "users.bio nullable"
expect_fails "a NULL name is refused" db_query "INSERT INTO users (name) VALUES (NULL)"

t_case "create_table: server_default literal, number, boolean and op.sql"
expect_eq "$(col_default users status)" "$(pick "'pending'" "'pending'::character varying")" "default of users.status"
expect_ok "insert with defaults" db_query "INSERT INTO users (name, email) VALUES ('ann', 'a@x')"
expect_eq "$(db_query "SELECT status || '|' || motto || '|' || score || '|' || CASE WHEN active THEN 'yes' ELSE 'no' END FROM users WHERE name = 'ann'")" \
  "pending|it's ok|0|yes" "the defaults of a new row"
expect_eq "$(db_query "SELECT CASE WHEN created_at IS NULL THEN 'null' ELSE 'set' END FROM users WHERE name = 'ann'")" "set" \
  "created_at from op.sql(CURRENT_TIMESTAMP)"
if is_sqlite; then
  expect_ne "$(db_query "SELECT created_at FROM users WHERE name = 'ann'")" "CURRENT_TIMESTAMP" \
    "op.sql default is an expression, not a quoted literal"
fi

t_case "create_table: autoincrement integer primary key accepts explicit ids"
expect_ok "second auto id" db_query "INSERT INTO users (name, email) VALUES ('bob', 'b@x')"
expect_eq "$(db_query "SELECT count(DISTINCT id) FROM users WHERE id IS NOT NULL")" 2 "auto ids"
expect_eq "$(db_query "SELECT CASE WHEN a.id < b.id THEN 'ascending' ELSE 'not' END FROM users a, users b WHERE a.name = 'ann' AND b.name = 'bob'")" \
  ascending "auto ids grow"
expect_ok "an explicit id" db_query "INSERT INTO users (id, name, email) VALUES (10, 'cid', 'c@x')"
expect_ok "an auto id after an explicit one" db_query "INSERT INTO users (name, email) VALUES ('dan', 'd@x')"
expect_eq "$(db_query "SELECT count(DISTINCT id) FROM users WHERE id IS NOT NULL")" 4 "distinct ids"

t_case "create_table: unique and check"
expect_text_contains "$(unique_sets users)" "email" "unique column sets of users"
expect_fails "a duplicate email is refused" db_query "INSERT INTO users (name, email) VALUES ('ann2', 'a@x')"
expect_fails "the check constraint refuses an empty name" db_query "INSERT INTO users (name) VALUES ('')"

t_case "create_table: index = true"
expect_text_contains "$(indexes users | cut -d'|' -f4)" "nick" "indexed column sets of users"
expect_text_contains "$(indexes users | cut -d'|' -f1)" "ix_users_nick" "index names of users (Alembic's ix_<table>_<column>)"

t_case "create_table: references/ondelete, op.unique, op.primary_key, op.foreign_key"
expect_eq "$(foreign_keys posts)" "user_id->users(id) ON DELETE CASCADE" "foreign keys of posts"
expect_eq "$(foreign_keys tags)" "post_id->posts(id) ON DELETE CASCADE" "foreign keys of tags"
expect_text_contains "$(unique_sets posts)" "user_id,title" "unique column sets of posts"
expect_eq "$(pk_cols tags)" "post_id,tag" "primary key of tags"
expect_eq "$(pk_cols users)" "id" "primary key of users"
expect_ok "insert a post" db_query "INSERT INTO posts (id, user_id, title) SELECT 1, id, 'hello' FROM users WHERE name = 'ann'"
expect_ok "insert a tag" db_query "INSERT INTO tags (post_id, tag) VALUES (1, 'x')"
expect_fails "a duplicate (user_id, title) is refused" db_query "INSERT INTO posts (user_id, title) SELECT id, 'hello' FROM users WHERE name = 'ann'"
expect_fails "a dangling user_id is refused" db_query "INSERT INTO posts (user_id, title) VALUES (999, 'x')"
expect_ok "delete a user" db_query "DELETE FROM users WHERE name = 'ann'"
expect_eq "$(db_query "SELECT count(*) FROM posts")" 0 "posts after deleting their user (ON DELETE CASCADE)"
expect_eq "$(db_query "SELECT count(*) FROM tags")" 0 "tags after the cascade"
if is_pg; then
  cons=$(constraint_names users; constraint_names posts; constraint_names tags)
  for name in ck_users_name_nonempty uq_posts_user_title pk_tags fk_tags_post; do
    expect_text_contains "$cons" "$name|" "constraint names"
  done
  expect_eq "$(db_query "SELECT col_description(attrelid, attnum) FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'bio'")" "free text" "comment of users.bio"
else
  schema_sql=$(db_query "SELECT sql FROM sqlite_master WHERE name IN ('users', 'posts', 'tags')")
  for name in ck_users_name_nonempty uq_posts_user_title pk_tags fk_tags_post; do
    expect_text_contains "$schema_sql" "$name" "the CREATE TABLE statements"
  done
fi

# ---------------------------------------------------------------------------
t_case "add_column (existing rows get the server_default), create_index unique/partial, op.f"
db_query "DELETE FROM users; INSERT INTO users (id, name, email, score, nick) VALUES (1, 'ann', 'a@x', 3, 'annie'), (2, 'bob', 'b@x', 9, 'bobby');" >/dev/null
lm upgrade +1
expect_exit 0
expect_out_contains "Running upgrade 0a0000000001 -> 0a0000000002, columns and indexes"
expect_eq "$(col_type users phone)" "$(pick "VARCHAR(20)" "character varying(20)")" "type of users.phone"
expect_eq "$(col_notnull users level)" 1 "users.level NOT NULL"
expect_eq "$(db_query "SELECT level FROM users ORDER BY id" | tr '\n' ' ')" "1 1 " "level of existing rows"
idx=$(indexes users; indexes posts)
expect_text_contains "$idx" "ix_users_phone|0|0|phone" "indexes (name|unique|partial|columns)"
expect_text_contains "$idx" "ux_users_name_pending|1|1|name" "indexes (name|unique|partial|columns)"
expect_text_contains "$idx" "ix_users_score|0|0|score" "indexes (name|unique|partial|columns)"
expect_text_contains "$idx" "ix_posts_title_user|0|0|title,user_id" "indexes (name|unique|partial|columns)"
expect_ok "a non-pending duplicate name is allowed" \
  db_query "INSERT INTO users (name, status) VALUES ('dup', 'done'); INSERT INTO users (name, status) VALUES ('dup', 'done')"
expect_ok "a pending name" db_query "INSERT INTO users (name) VALUES ('dup2')"
expect_fails "a second pending 'dup2' is refused by the partial unique index" db_query "INSERT INTO users (name) VALUES ('dup2')"
db_query "DELETE FROM users WHERE name IN ('dup', 'dup2')" >/dev/null

t_case "drop_column, alter_column new_column_name"
lm upgrade +1
expect_exit 0
cols=$(columns users)
expect_text_contains ",$cols," ",nickname," "columns of users"
expect_text_not_contains ",$cols," ",nick," "columns of users"
expect_text_not_contains ",$cols," ",bio," "columns of users"
expect_eq "$(db_query "SELECT nickname FROM users ORDER BY id" | tr '\n' ' ')" "annie bobby " "data of the renamed column"
expect_text_contains "$(indexes users | cut -d'|' -f4)" "nickname" "the index follows the renamed column"

t_case "rename_table keeps rows and the foreign keys pointing at it"
db_query "INSERT INTO posts (id, user_id, title) VALUES (1, 1, 'p1'), (2, 2, 'p2'); INSERT INTO tags (post_id, tag) VALUES (1, 't');" >/dev/null
lm upgrade +1
expect_exit 0
expect_table articles
expect_no_table posts
expect_eq "$(db_query "SELECT count(*) FROM articles")" 2 "rows of the renamed table"
expect_eq "$(foreign_keys tags)" "post_id->articles(id) ON DELETE CASCADE" "foreign keys of tags after rename_table"

t_case "drop_index (and if_exists), drop_table"
lm upgrade +1
expect_exit 0
expect_no_table tags
expect_text_not_contains "$(indexes users)" "ix_users_phone" "indexes of users"
expect_text_contains "$(indexes users)" "ix_users_score" "indexes of users"

t_case "execute with bound parameters, bulk_insert"
lm upgrade +1
expect_exit 0
expect_eq "$(db_query "SELECT score FROM users WHERE email = 'ann@example.com'")" 42 "score set through parameters"
expect_eq "$(db_query "SELECT CASE WHEN active THEN 'yes' ELSE 'no' END FROM users WHERE email = 'ann@example.com'")" "no" "a boolean parameter"
expect_eq "$(db_query "SELECT name FROM users WHERE email = 'ob@example.com'")" "O'Brien; DROP TABLE users; --" "a parameter stays data"
expect_eq "$(db_query "SELECT name || '|' || email || '|' || motto FROM users WHERE email = 'cost@example.com'")" \
  'cost $1|cost@example.com|x' "\$1 inside a string literal is not a parameter"
expect_eq "$(db_query "SELECT name || ':' || score || ':' || CASE WHEN active THEN 'yes' ELSE 'no' END FROM users WHERE name IN ('b1', 'b2') ORDER BY name" | tr '\n' ' ')" \
  "b1:5:no b2:7:yes " "bulk_insert rows"

t_case "op.query, op.rows, op.scalar, op.has_table, op.has_column, op.has_index"
lm upgrade head
expect_exit 0
fact() { db_query "SELECT v FROM facts WHERE k = '$1'"; }
expect_eq "$(fact scalar)" 3 "op.scalar count (score > 6: bob 9, Ann 42, b2 7)"
expect_eq "$(fact query)" "Ann/1" "op.query rows"
expect_eq "$(fact rows)" "b1,b2" "op.rows"
expect_eq "$(fact scalar_none)" "nil" "op.scalar without a row"
# an index is no table and a table no index; a dropped column is gone
expect_eq "$(fact has_table)" "true,false,false" "op.has_table"
expect_eq "$(fact has_column)" "true,false,false" "op.has_column"
expect_eq "$(fact has_index)" "true,false,false" "op.has_index"
lm current
expect_out_equals "0a0000000007 (head)"

# ---------------------------------------------------------------------------
t_case "every downgrade runs: head to base"
lm downgrade base
expect_exit 0
expect_out_count 7 '^Running downgrade '
for t in users posts articles tags single facts; do expect_no_table "$t"; done
expect_eq "$(version_rows)" "" "version rows at base"

t_case "and up again"
lm upgrade head
expect_exit 0
expect_out_count 7 '^Running upgrade '
lm downgrade 0a0000000004
expect_exit 0
expect_table tags
expect_text_contains "$(indexes users)" "ix_users_phone" "indexes of users after re-creating it"
expect_eq "$(foreign_keys tags)" "post_id->articles(id) ON DELETE CASCADE" "foreign keys of the re-created tags"

# ---------------------------------------------------------------------------
t_case "batch_alter_table keeps every row"
new_project
mkrev 0b0000000001 "" "people" <<'EOF'
function upgrade()
  op.create_table("people",
    op.column("id", "integer", { primary_key = true }),
    op.column("name", "string(50)"),
    op.column("legacy", "text"))
  op.create_index("ix_people_name", "people", { "name" })
  op.bulk_insert("people", {
    { id = 1, name = "a", legacy = "x" },
    { id = 2, name = "b", legacy = "y" },
    { id = 3, name = "c", legacy = "z" },
  })
end

function downgrade()
  op.drop_table("people")
end
EOF
mkrev 0b0000000002 0b0000000001 "batch" <<'EOF'
function upgrade()
  op.batch_alter_table("people", function(batch)
    batch.add_column(op.column("email", "string(100)"))
    batch.alter_column("name", { nullable = false, existing_type = "string(50)" })
    batch.drop_column("legacy")
    batch.create_index("ix_people_email", { "email" })
  end)
end

function downgrade()
  op.batch_alter_table("people", function(batch)
    batch.drop_index("ix_people_email")
    batch.add_column(op.column("legacy", "text"))
    batch.alter_column("name", { nullable = true, existing_type = "string(50)" })
    batch.drop_column("email")
  end)
end
EOF
lm upgrade head
expect_exit 0
expect_eq "$(columns people)" "id,name,email" "columns of people after the batch"
expect_eq "$(col_notnull people name)" 1 "people.name NOT NULL after the batch"
expect_eq "$(db_query "SELECT id || name FROM people ORDER BY id" | tr '\n' ' ')" "1a 2b 3c " "rows of people after the batch"
idx=$(indexes people)
expect_text_contains "$idx" "ix_people_name|0|0|name" "indexes of people after the batch"
expect_text_contains "$idx" "ix_people_email|0|0|email" "indexes of people after the batch"
lm downgrade -1
expect_exit 0
expect_eq "$(columns people)" "id,name,legacy" "columns of people after the batch's downgrade"
expect_eq "$(col_notnull people name)" 0 "people.name nullable again"
expect_eq "$(db_query "SELECT count(*) FROM people")" 3 "rows of people after the batch's downgrade"

# ---------------------------------------------------------------------------
# The SQLite connection keeps the statements it ran last prepared: running
# one again must behave as running it the first time.
t_case "the same statement run again: new values, new data, a changed or remade table"
new_project
mkrev ke0000000001 "" "again" <<'EOF'
function upgrade()
  op.execute("CREATE TABLE again_a (id integer PRIMARY KEY, v text)")
  if context.dialect == "sqlite" then
    -- placeholders without values run as NULL, every time
    for _ = 1, 3 do op.execute("INSERT INTO again_a (v) VALUES (?)") end
    -- a pragma does its work when prepared; run again from a kept
    -- statement it must be prepared again (SQLite expires it after a run)
    for _, n in ipairs({ 100, 200, 100 }) do
      op.execute("PRAGMA cache_size = " .. n)
      print("cache_size " .. n .. " reads " .. op.scalar("PRAGMA cache_size"))
    end
  end
  for i = 1, 20 do
    op.execute("INSERT INTO again_a (id, v) VALUES ($1, $2)", { 100 + i, "v" .. i })
    if i % 10 == 0 then print("count " .. op.scalar("SELECT count(*) FROM again_a WHERE v IS NOT NULL")) end
  end
  local function row101() return op.query("SELECT * FROM again_a WHERE id = 101")[1] end
  print("v of 101 " .. row101().v)
  op.add_column("again_a", op.column("w", "text"))
  op.execute("UPDATE again_a SET w = 'ww'")
  print("w of 101 " .. tostring(row101().w))
  for i = 1, 3 do op.execute("INSERT INTO again_a (id, v) VALUES ($1, $2)", { 200 + i, "after" .. i }) end
  print("count " .. op.scalar("SELECT count(*) FROM again_a WHERE v IS NOT NULL"))
  op.execute("CREATE TABLE again_b (id integer PRIMARY KEY, v text)")
  op.execute("INSERT INTO again_b (id, v) VALUES ($1, $2)", { 1, "text" })
  op.drop_table("again_b")
  op.execute("CREATE TABLE again_b (id integer PRIMARY KEY, v integer NOT NULL, z integer DEFAULT 5)")
  op.execute("INSERT INTO again_b (id, v) VALUES ($1, $2)", { 2, 7 })
end

function downgrade()
  op.drop_table("again_b")
  op.drop_table("again_a")
end
EOF
lm upgrade head
expect_exit 0
expect_err_contains "count 10"
expect_err_contains "count 20"
expect_err_contains "count 23"
expect_err_contains "v of 101 v1"
expect_err_contains "w of 101 ww"
if is_sqlite; then
  expect_err_contains "cache_size 200 reads 200"
  expect_err_not_contains "cache_size 100 reads 200"
fi
expect_eq "$(db_query "SELECT count(*) FROM again_a WHERE v IS NULL")" "$(pick 3 0)" "rows inserted without values"
expect_eq "$(db_query "SELECT id || ',' || v || ',' || z FROM again_b")" "2,7,5" "the remade table's row"

# ---------------------------------------------------------------------------
# SQLite's ALTER TABLE ADD COLUMN refuses, on a table with rows, a default
# that is not a constant (CURRENT_TIMESTAMP, an expression) and NOT NULL
# with such a default: there the column comes by move-and-copy, and the
# existing rows get the default evaluated when the column is added, as
# PostgreSQL's ADD COLUMN gives them now() (one value for every row).
t_case "add_column with a non-constant server_default on a table with rows"
new_project
mkrev nc0000000001 "" "stamped" <<'EOF'
function upgrade()
  op.create_table("stamped",
    op.column("id", "integer", { primary_key = true }),
    op.column("v", "text"))
  op.bulk_insert("stamped", { { id = 1, v = "a" }, { id = 2, v = "b" }, { id = 3, v = "c" } })
end

function downgrade()
  op.drop_table("stamped")
end
EOF
mkrev nc0000000002 nc0000000001 "non-constant defaults" <<'EOF'
function upgrade()
  op.add_column("stamped", op.column("ts", "timestamptz", { server_default = op.sql("CURRENT_TIMESTAMP") }))
  op.add_column("stamped", op.column("n", "integer", { nullable = false, server_default = op.sql("abs(-7)") }))
  op.batch_alter_table("stamped", function(batch)
    batch.add_column(op.column("day", "date", { server_default = op.sql("CURRENT_DATE") }))
  end)
end

function downgrade()
  op.batch_alter_table("stamped", function(batch)
    batch.drop_column("day")
  end)
  op.drop_column("stamped", "n")
  op.drop_column("stamped", "ts")
end
EOF
lm upgrade head
expect_exit 0
expect_eq "$(columns stamped)" "id,v,ts,n,day" "columns of stamped"
expect_eq "$(db_query "SELECT id || v || n FROM stamped ORDER BY id" | tr '\n' ' ')" "1a7 2b7 3c7 " \
  "the rows kept, the NOT NULL column filled by its expression"
expect_eq "$(db_query "SELECT count(*) FROM stamped WHERE ts IS NOT NULL AND day IS NOT NULL")" 3 \
  "the existing rows got CURRENT_TIMESTAMP and CURRENT_DATE"
expect_eq "$(db_query "SELECT count(DISTINCT ts) FROM stamped")" 1 "one timestamp for the existing rows"
expect_eq "$(db_query "SELECT count(*) FROM stamped WHERE ts > $(pick "datetime('now', '-1 hour')" "now() - interval '1 hour'")")" 3 \
  "the timestamp of the upgrade"
lm schema
expect_exit 0
expect_out_matches '"ts" [^,]*DEFAULT (CURRENT_TIMESTAMP|now\(\))'
expect_out_matches '"n" [^,]*NOT NULL DEFAULT \(?abs\((-7|'"'"'-7'"'"'::integer)\)'
expect_out_matches '"day" [^,]*DEFAULT (CURRENT_DATE|\(?now\(\)\)?::date)'
online_schema=$LM_OUT
expect_ok "a later insert" db_query "INSERT INTO stamped (id, v) VALUES (4, 'd')"
expect_eq "$(db_query "SELECT n FROM stamped WHERE id = 4 AND ts IS NOT NULL AND day IS NOT NULL")" 7 \
  "a later insert gets the defaults"

t_case "add_column with a non-constant server_default: --sql gives the same schema"
lm upgrade nc0000000001:head --sql
expect_exit 0
printf '%s\n' "$LM_OUT" >"$LM_TMP/stamped.sql"
if is_sqlite; then
  expect_out_count 3 '^CREATE TABLE "_luamig_tmp_stamped"'
  expect_out_not_contains 'ADD COLUMN'
else
  expect_out_contains 'ALTER TABLE "stamped" ADD COLUMN "ts" TIMESTAMP WITH TIME ZONE DEFAULT CURRENT_TIMESTAMP;'
  expect_out_not_contains '_luamig_tmp_'
fi
offline=$(fresh_url)
lm --url "$offline" upgrade nc0000000001
expect_exit 0
expect_ok "the script runs" db_apply_script "$LM_TMP/stamped.sql" "$offline"
lm --url "$offline" schema
expect_exit 0
expect_same "$online_schema" "$LM_OUT" "the schema from the script and online"
expect_eq "$(db_query "SELECT count(*) FROM stamped WHERE ts IS NOT NULL AND n = 7 AND day IS NOT NULL" "$offline")" 3 \
  "the script's rows got the defaults"

t_case "add_column with a non-constant server_default: downgrade"
lm downgrade -1
expect_exit 0
expect_eq "$(columns stamped)" "id,v" "columns of stamped after the downgrade"
expect_eq "$(db_query "SELECT id || v FROM stamped ORDER BY id" | tr '\n' ' ')" "1a 2b 3c 4d " "rows after the downgrade"
lm upgrade head
expect_exit 0
expect_eq "$(db_query "SELECT count(*) FROM stamped WHERE ts IS NOT NULL AND n = 7")" 4 "upgraded again"

# ---------------------------------------------------------------------------
# An author's SQL fragment may end in a -- comment; what luamig writes after
# it (the closing parenthesis, the rest of the statement) must not become
# part of the comment, online or in the --sql script.
t_case "SQL fragments ending in a -- comment"
new_project
mkrev cm0000000001 "" "commented" <<'EOF'
function upgrade()
  op.create_table("noted",
    op.column("id", "integer", { primary_key = true }),
    op.column("n", "integer", { server_default = op.sql("1 + 2 -- three") }),
    op.column("m", "integer"),
    op.column("name", "text"),
    op.check("m > 0 -- positive", { name = "ck_noted_m" }))
  op.create_index("ix_noted_n", "noted", { op.sql("abs(n) -- its size"), "m" }, { where = "m > 1 -- most" })
  op.add_column("noted", op.column("k", "integer", { server_default = op.sql("4 -- four") }))
  op.create_check_constraint("ck_noted_k", "noted", "k < 100 -- small")
  op.bulk_insert("noted", { { id = 1, m = 5, name = "a" }, { id = 2, m = 6, name = "b" } })
  op.alter_column("noted", "m", { server_default = op.sql("7 -- seven"), existing_type = "integer" })
  op.backfill("noted", { set = { name = op.sql("'x' || id -- named") }, where = "name IS NOT NULL -- all" })
end

function downgrade()
  op.drop_table("noted")
end
EOF
lm upgrade head --sql
expect_exit 0
printf '%s\n' "$LM_OUT" >"$LM_TMP/commented.sql"
lm upgrade head
expect_exit 0
expect_eq "$(db_query "SELECT id || ',' || n || ',' || m || ',' || k || ',' || name FROM noted ORDER BY id" | tr '\n' ' ')" \
  "1,3,5,4,x1 2,3,6,4,x2 " "rows with the commented defaults and the backfill"
db_query "INSERT INTO noted (id) VALUES (3)" >/dev/null
expect_eq "$(db_query "SELECT m FROM noted WHERE id = 3")" 7 "the altered default"
expect_fails "the commented CHECK holds" db_query "INSERT INTO noted (id, m) VALUES (4, -1)"
expect_fails "the added commented CHECK holds" db_query "INSERT INTO noted (id, k) VALUES (5, 500)"
offline=$(fresh_url)
expect_ok "the --sql script runs" db_apply_script "$LM_TMP/commented.sql" "$offline"
expect_eq "$(db_query "SELECT count(*) FROM noted WHERE name LIKE 'x%'" "$offline")" 2 "the script's backfill"
lm downgrade base
expect_exit 0

t_done
