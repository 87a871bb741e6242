#!/usr/bin/env bash
# SPEC §7: "Its output run with psql -f or sqlite3 gives the same schema and
# version table as the online upgrade." A chain exercising many ops is applied
# online to one database and, through `upgrade head --sql` run by psql/sqlite3,
# to another; db_schema (checksums included) and the data must be identical.
# The same for the way back (downgrade head:base --sql vs downgrade base).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

new_project
online_url=$LM_URL
offline_url=$(fresh_url)
if is_pg; then
  offline_target=(--url "postgresql://luamig:$LM_PASSWORD@127.0.0.1:1/nowhere")
else
  offline_target=(--url "sqlite:///$LM_TMP/never/created.db")
fi

mkrev 4e0000000001 "" "tables" <<'EOF'
function upgrade()
  op.create_table("users",
    op.column("id", "integer", { primary_key = true }),
    op.column("name", "string(50)", { nullable = false }),
    op.column("email", "string(120)", { unique = true }),
    op.column("status", "string(20)", { nullable = false, server_default = "pending" }),
    op.column("score", "integer", { server_default = 0 }),
    op.column("active", "boolean", { server_default = true }),
    op.column("created_at", "timestamp", { server_default = op.sql("CURRENT_TIMESTAMP") }),
    op.column("bio", "text", { comment = "about the user" }),
    op.column("balance", "numeric(10,2)"),
    op.column("payload", "json"),
    op.column("uid", "uuid"),
    op.column("nick", "string(30)", { index = true }),
    op.check("length(name) > 0", { name = "ck_users_name" }))
  op.create_table("posts",
    op.column("id", "integer", { primary_key = true }),
    op.column("user_id", "integer", { nullable = false, references = "users.id", ondelete = "CASCADE" }),
    op.column("title", "string(200)", { nullable = false }),
    op.unique({ "user_id", "title" }, { name = "uq_posts_user_title" }))
  op.create_table("tags",
    op.column("post_id", "integer", { nullable = false }),
    op.column("tag", "string(40)", { nullable = false }),
    op.primary_key({ "post_id", "tag" }, { name = "pk_tags" }),
    op.foreign_key({ "post_id" }, { "posts.id" }, { name = "fk_tags_post", ondelete = "CASCADE" }))
end

function downgrade()
  op.drop_table("tags")
  op.drop_table("posts")
  op.drop_table("users")
end
EOF

mkrev 4e0000000002 4e0000000001 "columns and indexes" <<'EOF'
function upgrade()
  op.add_column("users", op.column("phone", "string(20)"))
  op.add_column("users", op.column("level", "integer", { nullable = false, server_default = 1 }))
  op.create_index("ix_users_phone", "users", { "phone" })
  op.create_index("ux_users_name_pending", "users", { "name" }, { unique = true, where = "status = 'pending'" })
  op.create_index(op.f("ix_users_score"), "users", { "score" })
end

function downgrade()
  op.drop_index("ix_users_score", { table_name = "users" })
  op.drop_index("ux_users_name_pending", { table_name = "users" })
  op.drop_index("ix_users_phone", { table_name = "users" })
  op.drop_column("users", "level")
  op.drop_column("users", "phone")
end
EOF

mkrev 4e0000000003 4e0000000002 "data" <<'EOF'
function upgrade()
  op.bulk_insert("users", {
    { id = 1, name = "ann", email = "ann@example.com", score = 3 },
    { id = 2, name = "O'Brien; DROP TABLE users; --", email = "ob@example.com", score = 9 },
  })
  op.execute("INSERT INTO users (id, name, email, nick) VALUES ($1, $2, $3, $4)", { 3, "cat", "cat@example.com", "it's \"quoted\"" })
  op.execute("UPDATE users SET score = score + $1, active = $2 WHERE id = $3", { 10, false, 1 })
  op.execute("INSERT INTO posts (id, user_id, title) VALUES (1, 1, 'cost $1'), (2, $1, $2)", { 2, "second" })
  op.bulk_insert("tags", { { post_id = 1, tag = "a" }, { post_id = 2, tag = "b" } })
end

function downgrade()
  op.execute("DELETE FROM tags")
  op.execute("DELETE FROM posts")
  op.execute("DELETE FROM users WHERE id IN ($1, $2, $3)", { 1, 2, 3 })
end
EOF

mkrev 4e0000000004 4e0000000003 "reshape" <<'EOF'
function upgrade()
  op.drop_column("users", "bio")
  op.alter_column("users", "nick", { new_column_name = "nickname" })
  op.rename_table("posts", "articles")
  op.drop_index("ix_users_phone", { table_name = "users" })
  op.create_table("scratch", op.column("id", "integer", { primary_key = true }))
  op.drop_table("scratch")
end

function downgrade()
  op.create_index("ix_users_phone", "users", { "phone" })
  op.rename_table("articles", "posts")
  op.alter_column("users", "nickname", { new_column_name = "nick" })
  op.add_column("users", op.column("bio", "text"))
end
EOF

if is_pg; then
  mkrev 4e0000000005 4e0000000004 "postgresql alters" <<'EOF'
function upgrade()
  op.alter_column("users", "phone", { type_ = "text", existing_type = "string(20)" })
  op.alter_column("users", "score", { type_ = "bigint", existing_type = "integer", postgresql_using = "score::bigint" })
  op.alter_column("users", "email", { nullable = false, existing_type = "string(120)" })
  op.alter_column("users", "status", { server_default = false })
  op.alter_column("users", "level", { server_default = 5 })
  op.alter_column("users", "nickname", { comment = "shown in the UI" })
  op.create_table("codes", op.column("code", "string(10)", { nullable = false }), op.column("owner_id", "integer"))
  op.create_primary_key("pk_codes", "codes", { "code" })
  op.create_unique_constraint("uq_codes_owner", "codes", { "owner_id" })
  op.create_foreign_key("fk_codes_owner", "codes", "users", { "owner_id" }, { "id" }, { ondelete = "SET NULL", not_valid = true })
  op.create_check_constraint("ck_codes_len", "codes", "length(code) > 1")
  op.create_check_constraint("ck_codes_upper", "codes", "code = upper(code)", { not_valid = true })
  -- constraints without a name (Alembic's None): the database names them
  op.create_table("codes2", op.column("k", "integer", { nullable = false }), op.column("owner_id", "integer"))
  op.create_primary_key(nil, "codes2", { "k" })
  op.create_unique_constraint(nil, "codes2", { "owner_id" })
  op.create_foreign_key(nil, "codes2", "users", { "owner_id" }, { "id" }, { ondelete = "CASCADE" })
  op.create_check_constraint(nil, "codes2", "k > 0")
  op.create_unique_constraint("uq_codes2_pair", "codes2", { "k", "owner_id" })
  op.drop_constraint("uq_codes2_pair", "codes2", "unique") -- type_ in place, as Alembic takes it
  op.drop_constraint("ck_users_name", "users", { type_ = "check" })
  op.autocommit_block(function()
    op.create_index("ix_codes_owner", "codes", { "owner_id" }, { concurrently = true })
  end)
end

function downgrade()
  op.autocommit_block(function()
    op.drop_index("ix_codes_owner", { table_name = "codes", concurrently = true })
  end)
  op.create_check_constraint("ck_users_name", "users", "length(name) > 0")
  op.drop_table("codes")
  op.drop_table("codes2")
  op.alter_column("users", "nickname", { comment = "" })
  op.alter_column("users", "level", { server_default = 1 })
  op.alter_column("users", "status", { server_default = "pending" })
  op.alter_column("users", "email", { nullable = true, existing_type = "string(120)" })
  op.alter_column("users", "score", { type_ = "integer", existing_type = "bigint" })
  op.alter_column("users", "phone", { type_ = "string(20)", existing_type = "text" })
end
EOF
else
  mkrev 4e0000000005 4e0000000004 "more data" <<'EOF'
function upgrade()
  op.execute("UPDATE users SET level = $1 WHERE name = $2", { 7, "O'Brien; DROP TABLE users; --" })
  op.create_index("ix_users_level", "users", { "level" }, { if_not_exists = true })
  -- constraints without a name (Alembic's None): the database names them
  op.create_table("codes2", op.column("k", "integer", { nullable = false }), op.column("owner_id", "integer"))
  op.create_primary_key(nil, "codes2", { "k" })
  op.create_unique_constraint(nil, "codes2", { "owner_id" })
  op.create_foreign_key(nil, "codes2", "users", { "owner_id" }, { "id" }, { ondelete = "CASCADE" })
  op.create_check_constraint(nil, "codes2", "k > 0")
  op.create_unique_constraint("uq_codes2_pair", "codes2", { "k", "owner_id" })
  op.drop_constraint("uq_codes2_pair", "codes2", "unique") -- type_ in place, as Alembic takes it
end

function downgrade()
  op.drop_index("ix_users_level", { table_name = "users", if_exists = true })
  op.drop_table("codes2")
  op.execute("UPDATE users SET level = 1")
end
EOF
fi

data_dump() { # data_dump URL: the rows that must match (no timestamps)
  db_query "SELECT id || '|' || name || '|' || coalesce(email, '-') || '|' || status || '|' || score || '|'
                   || CASE WHEN active THEN 't' ELSE 'f' END || '|' || level || '|' || coalesce(nickname, '-')
              FROM users ORDER BY id;
            SELECT id || '|' || user_id || '|' || title FROM articles ORDER BY id;
            SELECT post_id || '|' || tag FROM tags ORDER BY post_id, tag;" "$1"
}

# ---------------------------------------------------------------------------
t_case "online upgrade head"
lm --url "$online_url" upgrade head
expect_exit 0
expect_out_count 5 '^Running upgrade '

t_case "offline upgrade head --sql, applied by $(pick sqlite3 psql)"
lm "${offline_target[@]}" upgrade head --sql
expect_exit 0
printf '%s\n' "$LM_OUT" >"$LM_TMP/upgrade.sql"
expect_ok "the script applies cleanly" db_apply_script "$LM_TMP/upgrade.sql" "$offline_url"

t_case "same schema, same version table"
online_schema=$(db_schema "$online_url")
offline_schema=$(db_schema "$offline_url")
expect_same "$online_schema" "$offline_schema" "db_schema online vs offline"
expect_text_contains "$online_schema" "version|4e0000000005|" "the online version table"
expect_eq "$(printf '%s\n' "$online_schema" | grep -c '^version|')" 5 "version rows online"

t_case "same data"
expect_same "$(data_dump "$online_url")" "$(data_dump "$offline_url")" "data online vs offline"
expect_eq "$(db_query "SELECT name FROM users WHERE id = 2" "$offline_url")" "O'Brien; DROP TABLE users; --" "the evil name offline"
expect_eq "$(db_query "SELECT nickname FROM users WHERE id = 3" "$offline_url")" "it's \"quoted\"" "a quoted nickname offline"

t_case "luamig sees the offline database as migrated"
lm --url "$offline_url" current
expect_exit 0
expect_out_equals "4e0000000005 (head)"
lm --url "$offline_url" upgrade head
expect_exit 0
expect_out_empty

# ---------------------------------------------------------------------------
t_case "the way back: downgrade base vs downgrade head:base --sql"
lm --url "$online_url" downgrade base
expect_exit 0
expect_out_count 5 '^Running downgrade '
lm "${offline_target[@]}" downgrade head:base --sql
expect_exit 0
printf '%s\n' "$LM_OUT" >"$LM_TMP/downgrade.sql"
expect_ok "the downgrade script applies cleanly" db_apply_script "$LM_TMP/downgrade.sql" "$offline_url"
expect_same "$(db_schema "$online_url")" "$(db_schema "$offline_url")" "db_schema online vs offline at base"
expect_no_table users "$offline_url"

t_case "partial ranges: upgrade base:4e0000000002 then 4e0000000002:head"
lm --url "$online_url" upgrade head
expect_exit 0
lm "${offline_target[@]}" upgrade base:4e0000000002 --sql
expect_exit 0
printf '%s\n' "$LM_OUT" >"$LM_TMP/part1.sql"
lm "${offline_target[@]}" upgrade 4e0000000002:head --sql
expect_exit 0
printf '%s\n' "$LM_OUT" >"$LM_TMP/part2.sql"
expect_ok "the first part applies" db_apply_script "$LM_TMP/part1.sql" "$offline_url"
lm --url "$offline_url" current
expect_out_equals "4e0000000002"
expect_ok "the second part applies" db_apply_script "$LM_TMP/part2.sql" "$offline_url"
expect_same "$(db_schema "$online_url")" "$(db_schema "$offline_url")" "db_schema online vs offline in two parts"

# ---------------------------------------------------------------------------
# The repository's own demo chain and every example project: the --sql
# script and the online upgrade give the same schema and version table.
for proj in "$LM_SOURCE_DIR" "$LM_SOURCE_DIR"/examples/*/; do
  proj=${proj%/}
  [ -f "$proj/luamig.lua" ] || continue
  name=${proj#"$LM_SOURCE_DIR"}
  name=${name#/}
  name=${name:-demo chain}
  t_case "equivalence of $name"
  on=$(fresh_url)
  off=$(fresh_url)
  lm -c "$proj/luamig.lua" --url "$on" upgrade head
  expect_exit 0
  lm -c "$proj/luamig.lua" "${offline_target[@]}" upgrade head --sql
  expect_exit 0
  printf '%s\n' "$LM_OUT" >"$LM_TMP/project.sql"
  expect_ok "the $name script applies cleanly" db_apply_script "$LM_TMP/project.sql" "$off"
  expect_same "$(db_schema "$on")" "$(db_schema "$off")" "db_schema online vs offline for $name"
done

t_done
