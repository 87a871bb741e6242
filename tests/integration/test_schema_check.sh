#!/usr/bin/env bash
# `luamig schema` (the database schema as deterministic SQL) and `luamig check`
# (one head, applied checksums, lint, and with --roundtrip the upgrade /
# downgrade / upgrade of every revision on a scratch database that is always
# removed).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The scratch SQLite file goes to $TMPDIR: a folder of our own shows what is
# left behind.
export TMPDIR=$LM_TMP/tmpdir
mkdir -p "$TMPDIR"

# scratch_left: the scratch databases left behind (names, one a line).
scratch_left() {
  if is_pg; then
    # only this script's: a scratch database is named after the database it
    # stands in for, and other tests run beside this one on the same server
    pg_admin psql -X -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'luamig\_check\_lmit\_schema\_check\_%'"
  else
    ls -A "$TMPDIR" | grep '^luamig_check_' || true
  fi
}

# new_env_project: a fresh project whose database URL comes from
# DATABASE_URL: a password written into luamig.lua is itself a lint error
# (credentials-in-config), which `check` reports.
new_env_project() {
  unset DATABASE_URL
  new_project --no-url
  export DATABASE_URL=$LM_URL
}

expect_no_scratch() {
  local left
  left=$(scratch_left)
  [ -z "$left" ]
  _check $? "no scratch database should be left behind" "$left"
}

# A chain that round-trips: tables with every kind of constraint, indexes
# (unique, partial), a column added with its index.
good_chain() {
  mkrev 1a0000000001 "" "create users and posts" <<'EOF'
function upgrade()
  op.create_table("users",
    op.column("id", "integer", { primary_key = true }),
    op.column("name", "string(50)", { nullable = false }),
    op.column("email", "string(120)", { unique = true }),
    op.column("status", "string(20)", { nullable = false, server_default = "pending" }),
    op.check("length(name) > 0", { name = "ck_users_name" })
  )
  op.create_table("posts",
    op.column("id", "integer", { primary_key = true }),
    op.column("user_id", "integer", { nullable = false, references = "users.id", ondelete = "CASCADE" }),
    op.column("title", "string(200)", { nullable = false }),
    op.unique({ "user_id", "title" }, { name = "uq_posts_user_title" })
  )
  op.create_index("ix_posts_title", "posts", { "title" })
end

function downgrade()
  op.drop_index("ix_posts_title", { table_name = "posts" })
  op.drop_table("posts")
  op.drop_table("users")
end
EOF
  mkrev 1a0000000002 1a0000000001 "add phone" <<'EOF'
function upgrade()
  op.add_column("users", op.column("phone", "string(20)"))
  op.create_index("ux_users_name_pending", "users", { "name" }, { unique = true, where = "status = 'pending'" })
end

function downgrade()
  op.drop_index("ux_users_name_pending", { table_name = "users" })
  op.drop_column("users", "phone")
end
EOF
}

# ---------------------------------------------------------------------------
t_case "schema prints tables, columns, constraints and indexes"
new_project
good_chain
lm upgrade head
expect_exit 0
lm schema
expect_exit 0
SCHEMA1=$LM_OUT
expect_out_contains 'CREATE TABLE "posts"'
expect_out_contains 'CREATE TABLE "users"'
expect_out_contains '"phone"'
expect_out_contains '"status"'
expect_out_contains "'pending'"
expect_out_contains 'NOT NULL'
expect_out_contains 'ck_users_name'
expect_out_contains 'uq_posts_user_title'
expect_out_contains 'CASCADE'
expect_out_contains 'ix_posts_title'
expect_out_matches 'CREATE UNIQUE INDEX "?ux_users_name_pending"? .*WHERE'
expect_out_not_contains 'luamig_version'
expect_out_order 'CREATE TABLE "posts"' 'CREATE TABLE "users"'
expect_out_order '"id"' '"name"' '"email"' '"status"' '"phone"'

t_case "schema is deterministic: twice the same, and the same for another database"
lm schema
expect_exit 0
expect_same "$SCHEMA1" "$LM_OUT" "two runs of schema"
OTHER=$(fresh_url)
lm --url "$OTHER" upgrade head
expect_exit 0
lm --url "$OTHER" schema
expect_exit 0
expect_same "$SCHEMA1" "$LM_OUT" "schema of two databases migrated the same way"

t_case "schema after downgrade to base is empty again"
lm downgrade base
expect_exit 0
lm schema
expect_exit 0
expect_out_not_contains 'CREATE TABLE'

t_case "schema without a database URL is a configuration error"
new_project --no-url
good_chain
lm schema
expect_exit 2
expect_err_error_line

t_case "schema: foreign keys on one column keep their own names, actions and targets"
# SQLite reports foreign keys without their names (PRAGMA foreign_key_list),
# last written first; the names come from the CREATE TABLE text, and must
# go to the foreign key they were written on, not to another one on the
# same column.
new_project
export LM_TEST_URL=$LM_URL # no password in luamig.lua: lint's credentials-in-config
write_config 'url = os.getenv("LM_TEST_URL"),' 'model = "schema.lua",'
mkrev 2b0000000001 "" "members" <<'EOF'
function upgrade()
  op.create_table("users",
    op.column("id", "integer", { primary_key = true }),
    op.column("alt", "integer", { nullable = false }),
    op.unique({ "alt" }, { name = "uq_users_alt" }))
  op.create_table("members",
    op.column("id", "integer", { primary_key = true }),
    op.column("user_id", "integer"),
    op.foreign_key("user_id", { "users.id" }, { name = "fk_m_user", ondelete = "CASCADE" }),
    op.foreign_key("user_id", { "users.id" }, { name = "fk_m_user2" }),
    op.foreign_key("user_id", { "users.alt" }, { name = "fk_m_user_alt", onupdate = "CASCADE" }))
end

function downgrade()
  op.drop_table("members")
  op.drop_table("users")
end
EOF
cat >schema.lua <<'EOF'
table("users",
  column("id", "integer", { primary_key = true }),
  column("alt", "integer", { nullable = false }),
  unique({ "alt" }, { name = "uq_users_alt" }))
table("members",
  column("id", "integer", { primary_key = true }),
  column("user_id", "integer"),
  foreign_key("user_id", { "users.id" }, { name = "fk_m_user", ondelete = "CASCADE" }),
  foreign_key("user_id", { "users.id" }, { name = "fk_m_user2" }),
  foreign_key("user_id", { "users.alt" }, { name = "fk_m_user_alt", onupdate = "CASCADE" }))
EOF
lm upgrade head
expect_exit 0
lm schema
expect_exit 0
# (PostgreSQL prints each as pg_get_constraintdef words it: fewer quotes)
expect_out_matches '^  CONSTRAINT "fk_m_user" FOREIGN KEY \("?user_id"?\) REFERENCES "?users"? ?\("?id"?\) ON DELETE CASCADE,?$'
expect_out_matches '^  CONSTRAINT "fk_m_user2" FOREIGN KEY \("?user_id"?\) REFERENCES "?users"? ?\("?id"?\),?$'
expect_out_matches '^  CONSTRAINT "fk_m_user_alt" FOREIGN KEY \("?user_id"?\) REFERENCES "?users"? ?\("?alt"?\) ON UPDATE CASCADE,?$'
# neither the chain nor the model differs from the database
lm check --drift
expect_exit 0
expect_err_not_contains "drift:"
lm revision --autogenerate -m "nothing"
expect_exit 0
expect_out_contains "No changes in schema detected."
lm check
expect_exit 0
expect_out_not_contains "model differs"

if is_sqlite; then
  t_case "schema on SQLite shows triggers and does not create a missing file"
  new_project
  mkrev 2a0000000001 "" "table and trigger" <<'EOF'
function upgrade()
  op.create_table("t", op.column("id", "integer", { primary_key = true }), op.column("v", "text"))
  op.execute("CREATE TRIGGER trg_t AFTER INSERT ON t BEGIN UPDATE t SET v = 'x' WHERE id = NEW.id; END")
end

function downgrade()
  op.execute("DROP TRIGGER trg_t")
  op.drop_table("t")
end
EOF
  lm schema
  expect_exit 2 # the URL names no database: a configuration error (SPEC §7)
  expect_err_contains "does not exist"
  expect_no_file "$(sqlite_path "$LM_URL")"
  lm upgrade head
  expect_exit 0
  lm schema
  expect_exit 0
  expect_out_contains 'CREATE TRIGGER trg_t AFTER INSERT ON t'
fi

# ---------------------------------------------------------------------------
t_case "check on a good chain exits 0"
new_env_project
good_chain
lm check
expect_exit 0
expect_out_contains 'check ok'
lm upgrade head
expect_exit 0
lm check
expect_exit 0
expect_out_contains 'checksums match'

t_case "check without a database URL skips the checksums"
unset DATABASE_URL
new_project --no-url
good_chain
lm check
expect_exit 0

t_case "check --json"
new_env_project
good_chain
lm check --json
expect_exit 0
expect_ok "check --json prints valid JSON" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["ok"] is True, d' "$LM_OUT"

t_case "check with two heads exits 1 naming them"
new_env_project
good_chain
mkrev 1b0000000002 1a0000000001 "other branch" <<'EOF'
function upgrade()
  op.create_table("other", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("other")
end
EOF
lm check
expect_exit 1
expect_err_error_line
expect_err_contains 1a0000000002
expect_err_contains 1b0000000002
expect_err_contains 'heads'

t_case "check with an edited applied revision exits 1 listing it"
new_env_project
good_chain
lm upgrade head
expect_exit 0
printf '\n-- edited after it was applied\n' >>"$REV_FILE"
lm check
expect_exit 1
expect_err_contains "$REV_FILE"
expect_err_contains 1a0000000002
expect_err_not_contains 1a0000000001_

t_case "check fails when lint finds an error"
new_env_project
mkrev 3a0000000001 "" "no downgrade" <<'EOF'
function upgrade()
  op.create_table("t", op.column("id", "integer", { primary_key = true }))
end
EOF
lm check
expect_exit 1
expect_err_contains 'lint'

t_case "a chain that does not load is exit 2"
new_env_project
mkrev 3b0000000001 "nosuchrevision" "broken" <<'EOF'
function upgrade() end
function downgrade() end
EOF
lm check
expect_exit 2

# ---------------------------------------------------------------------------
t_case "check --roundtrip on a correct chain exits 0 and leaves nothing behind"
new_env_project
good_chain
lm check --roundtrip
expect_exit 0
expect_out_contains 'roundtrip ok: 1a0000000001 create users and posts'
expect_out_contains 'roundtrip ok: 1a0000000002 add phone'
expect_out_not_contains 'Running upgrade'
expect_no_scratch
# the configured database is not the scratch one: nothing ran there
expect_db_untouched

t_case "check --roundtrip -q prints nothing"
lm -q check --roundtrip
expect_exit 0
expect_out_empty
expect_no_scratch

t_case "check --roundtrip --json lists the revisions"
lm check --roundtrip --json
expect_exit 0
expect_ok "JSON with the checked revisions" python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["roundtrip"]["checked"] == ["1a0000000001", "1a0000000002"], d' "$LM_OUT"
expect_no_scratch

t_case "check --roundtrip on a branched chain with a merge"
new_env_project
good_chain
mkrev 1b0000000002 1a0000000001 "other branch" <<'EOF'
function upgrade()
  op.create_table("other", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("other")
end
EOF
mkrev 1c0000000003 '{ "1a0000000002", "1b0000000002" }' "merge" <<'EOF'
function upgrade() end
function downgrade() end
EOF
lm check --roundtrip
expect_exit 0
expect_out_count 4 '^roundtrip ok: '
expect_no_scratch

# leaky_chain ID MESSAGE: the good chain plus a revision (body on stdin).
leaky_chain() {
  new_env_project
  good_chain
  mkrev "$1" 1a0000000002 "$2"
}

t_case "roundtrip: a downgrade that forgets to drop an index"
leaky_chain 4a0000000003 "index on phone" <<'EOF'
function upgrade()
  op.create_index("ix_users_phone", "users", { "phone" })
end

function downgrade()
  op.execute("SELECT 1")
end
EOF
lm check --roundtrip
expect_exit 1
expect_out_contains 'roundtrip ok: 1a0000000002'
expect_out_not_contains 'roundtrip ok: 4a0000000003'
expect_err_contains '4a0000000003'
expect_err_contains "$REV_FILE"
expect_err_contains 'index ix_users_phone is present after downgrade'
expect_no_scratch

t_case "roundtrip: a downgrade that forgets to drop a column"
leaky_chain 4b0000000003 "nickname" <<'EOF'
function upgrade()
  op.add_column("users", op.column("nickname", "string(30)"))
  op.create_index("ix_users_nickname", "users", { "nickname" })
end

function downgrade()
  op.drop_index("ix_users_nickname", { table_name = "users" })
end
EOF
lm check --roundtrip
expect_exit 1
expect_err_contains '4b0000000003'
expect_err_contains 'table users: column nickname is present after downgrade'
expect_no_scratch

t_case "roundtrip: a downgrade drops its table but not the index it made on another"
leaky_chain 4c0000000003 "audit" <<'EOF'
function upgrade()
  op.create_table("audit", op.column("id", "integer", { primary_key = true }), op.column("what", "text"))
  op.create_index("ix_users_status", "users", { "status" })
end

function downgrade()
  op.drop_table("audit")
end
EOF
lm check --roundtrip
expect_exit 1
expect_err_contains '4c0000000003'
expect_err_contains 'table users: index ix_users_status is present after downgrade'
expect_no_scratch

t_case "roundtrip: a downgrade that drops too much"
leaky_chain 4d0000000003 "drop too much" <<'EOF'
function upgrade()
  op.create_table("extra", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("extra")
  op.drop_index("ix_posts_title", { table_name = "posts" })
end
EOF
lm check --roundtrip
expect_exit 1
expect_err_contains '4d0000000003'
expect_err_contains 'index ix_posts_title is missing after downgrade'
expect_no_scratch

t_case "roundtrip: a downgrade that fails is reported and the scratch database removed"
leaky_chain 4e0000000003 "bad downgrade" <<'EOF'
function upgrade()
  op.create_table("extra", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("no_such_table")
end
EOF
lm check --roundtrip
expect_exit 1
expect_err_contains '4e0000000003'
expect_err_contains 'downgrade'
expect_no_scratch

if is_pg; then
  t_case "roundtrip with a version_table_schema"
  new_env_project
  db_query "CREATE SCHEMA meta" >/dev/null
  write_config 'version_table_schema = "meta",'
  good_chain
  lm check --roundtrip
  expect_exit 0
  expect_out_count 2 '^roundtrip ok: '
  expect_no_scratch
fi

unset DATABASE_URL
t_done
