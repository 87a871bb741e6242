#!/usr/bin/env bash
# Switching from Alembic (SPEC §13): `luamig import alembic DIR` on a corpus of
# revision files in the shapes `alembic revision --autogenerate` writes
# (tests/integration/corpus/alembic/), `luamig stamp --from-alembic`, and
# `upgrade` refusing on a database that Alembic migrated.
#
# The central case runs Alembic itself (python3-alembic, SQLAlchemy; on
# PostgreSQL also python3-psycopg2) on the original chain and luamig on the
# converted one, on the same dialect, and compares `luamig schema` of the two
# databases: tables, columns with types, nullability and defaults,
# constraints with their names, indexes. Left out of the comparison, and only
# these: Alembic's own alembic_version table; and on SQLite, two renderings
# luamig chooses on purpose (SPEC §4's type table): a float column is REAL
# where SQLAlchemy writes FLOAT (the same affinity), and a BIGINT primary key
# that takes its values from the database is INTEGER, SQLite's rowid alias.
# When Alembic cannot be imported that case is skipped with a message; the
# rest of the test does not need it.
. "$(dirname "$0")/lib.sh"

CORPUS=$LM_SOURCE_DIR/tests/integration/corpus/alembic
CHAIN_HEAD=8b9c0d1e2f3a

# A Python that can run Alembic (the Debian packages live in /usr/bin's).
ALEMBIC_PY=
for py in python3 /usr/bin/python3; do
  if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import alembic, sqlalchemy' 2>/dev/null; then
    ALEMBIC_PY=$py
    break
  fi
done
if [ -n "$ALEMBIC_PY" ] && is_pg && ! "$ALEMBIC_PY" -c 'import psycopg2' 2>/dev/null; then
  echo "NOTE: psycopg2 cannot be imported: Alembic is not run on PostgreSQL (scripts/deps.sh --test installs python3-psycopg2)"
  ALEMBIC_PY=
fi

# alembic_upgrade URL DIR: runs `alembic upgrade heads` of the revision files in
# DIR on URL, with an env.py and alembic.ini made here. Its output goes to
# $LM_TMP/alembic.log (not to luamig's output log: it is not luamig's).
alembic_upgrade() {
  local url=$1 dir=$2 work
  work=$(mktemp -d "$LM_TMP/alembic.XXXXXX")
  mkdir -p "$work/script"
  cp -r "$dir" "$work/script/versions"
  cat >"$work/script/env.py" <<'EOF'
from alembic import context
from sqlalchemy import create_engine

engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()
EOF
  # SQLAlchemy spells a psycopg2 URL postgresql+psycopg2://
  printf '[alembic]\nscript_location = %s/script\nsqlalchemy.url = %s\n' "$work" \
    "${url/#postgresql:/postgresql+psycopg2:}" >"$work/alembic.ini"
  (cd "$work" && "$ALEMBIC_PY" -m alembic -c alembic.ini upgrade heads) >"$LM_TMP/alembic.log" 2>&1
}

# schema_of URL: `luamig schema` of a database, without Alembic's
# alembic_version table (a paragraph of its own in the output).
schema_of() {
  lm schema --url "$1"
  printf '%s\n' "$LM_OUT" | awk -v RS= -v ORS='\n\n' '!/^CREATE TABLE "alembic_version"/'
}

# ---------------------------------------------------------------------------
t_case "import: one luamig revision per Alembic file, one line each on stdout"
# the URL from the environment: `check` refuses a password written into luamig.lua
new_project --no-url
export DATABASE_URL=$LM_URL
lm import alembic "$CORPUS/chain"
expect_exit 0
expect_out_count 8 '^Imported .*\.py -> versions/[0-9a-f]{12}_[a-z0-9_]+\.lua$'
expect_out_contains "chain/1a2b3c4d5e6f_create_users_table.py -> versions/1a2b3c4d5e6f_create_users_table.lua"
expect_err_not_contains "not converted"
expect_eq "$(find versions -name "*.lua" | wc -l)" 8 "files in versions/"
merge=versions/6f7a8b9c0d1e_merge_audit_and_batch.lua
expect_text_contains "$(cat "$merge")" 'down_revision = { "4d5e6f7a8b9c", "5e6f7a8b9c0d" }' "the merge revision"
expect_text_contains "$(cat versions/4d5e6f7a8b9c_add_audit_log.lua)" 'branch_labels = { "audit" }' "branch labels"
expect_text_contains "$(cat versions/7a8b9c0d1e2f_coupons_and_seed.lua)" 'depends_on = "4d5e6f7a8b9c"' "depends_on"
expect_text_contains "$(cat versions/2b3c4d5e6f7a_create_orders_table.lua)" 'down_revision = "1a2b3c4d5e6f"' "an annotated down_revision"
users=$(cat versions/1a2b3c4d5e6f_create_users_table.lua)
expect_text_contains "$users" 'message = "create users table"' "the message: the docstring's first line"
expect_text_contains "$users" 'Revision ID: 1a2b3c4d5e6f' "the docstring kept as the header"
expect_text_contains "$users" '    op.column("email", "string(255)", { nullable = false }),' "sa.Column → op.column"
expect_text_contains "$users" 'op.column("created_at", "timestamptz", { server_default = op.sql("CURRENT_TIMESTAMP"), nullable = false })' "DateTime(timezone=True), sa.text"
expect_text_contains "$users" 'op.create_index(op.f("ix_users_username"), "users", { "username" }, { unique = false })' "the porting rule"
expect_text_contains "$users" 'op.drop_index(op.f("ix_users_username"), { table_name = "users" })' "keyword arguments → options"
batch=$(cat versions/5e6f7a8b9c0d_batch_alter_users.lua)
expect_text_contains "$batch" 'op.batch_alter_table("users", function(batch_op)' "with … as batch_op"
expect_text_contains "$batch" '    batch_op.create_index(op.f("ix_users_last_login"), { "last_login" }, { unique = false })' "batch methods"
orders=$(cat versions/2b3c4d5e6f7a_create_orders_table.lua)
expect_text_contains "$orders" 'op.foreign_key({ "user_id" }, { "users.id" }, { ondelete = "CASCADE" })' "ForeignKeyConstraint"
expect_text_contains "$orders" 'op.check("total >= 0", { name = "ck_orders_total_positive" })' "CheckConstraint"
expect_text_contains "$(cat versions/4d5e6f7a8b9c_add_audit_log.lua)" '{ references = "users.id", ondelete = "SET NULL", nullable = true }' "ForeignKey inside a Column"

t_case "import: the converted chain passes luamig check"
lm check
expect_exit 0
expect_out_contains "8 revisions"

t_case "import: each converted revision's downgrade undoes its upgrade (check --roundtrip)"
lm check --roundtrip
expect_exit 0
expect_out_count 8 '^roundtrip ok: '

t_case "import: the converted chain upgrades to head"
lm upgrade head
expect_exit 0
expect_out_count 8 '^Running upgrade '
expect_eq "$(db_query "SELECT code || ':' || percent FROM coupons ORDER BY id" | tr '\n' ' ')" \
  "$(pick 'WELCOME10:12.5 spring-25:25.5 ' 'WELCOME10:12.50 spring-25:25.50 ')" "rows from bulk_insert and op.execute"
luamig_db=$LM_URL

t_case "import: the schema equals the one Alembic makes from the original chain"
if [ -z "$ALEMBIC_PY" ]; then
  echo "SKIP: Alembic (python3-alembic) cannot be imported: the comparison with Alembic's own schema is not run"
else
  alembic_db=$(fresh_url)
  if alembic_upgrade "$alembic_db" "$CORPUS/chain"; then
    _pass
  else
    _fail "alembic upgrade heads failed" "$(mask "$(cat "$LM_TMP/alembic.log")")"
  fi
  theirs=$(schema_of "$alembic_db")
  ours=$(schema_of "$luamig_db")
  if is_sqlite; then
    # SPEC §4: float is REAL on SQLite; an autoincrementing BIGINT key is the rowid (INTEGER)
    theirs=$(printf '%s\n' "$theirs" | sed -e 's/^\(  "[a-z_]*"\) FLOAT/\1 REAL/' \
      -e '/^CREATE TABLE "audit_events"/,/^$/s/^  "id" BIGINT NOT NULL,$/  "id" INTEGER NOT NULL,/')
  fi
  expect_text_contains "$theirs" 'CREATE TABLE "coupons"' "Alembic's schema"
  expect_same "$theirs" "$ours" "Alembic's schema and luamig's"

  t_case "stamp --from-alembic: the database Alembic migrated carries on under luamig"
  lm upgrade head --url "$alembic_db"
  expect_exit 2
  expect_err_contains "luamig: error: this database was migrated by Alembic (alembic_version is at $CHAIN_HEAD); run 'luamig stamp --from-alembic' first"
  expect_out_not_contains "Running upgrade"
  lm stamp --from-alembic --url "$alembic_db"
  expect_exit 0
  expect_out_contains "Stamped $CHAIN_HEAD (from alembic_version)"
  lm current --url "$alembic_db"
  expect_exit 0
  expect_out_contains "$CHAIN_HEAD (head)"
  lm upgrade head --url "$alembic_db"
  expect_exit 0
  expect_out_not_contains "Running upgrade"
  lm check --url "$alembic_db"
  expect_exit 0
fi

unset DATABASE_URL

# ---------------------------------------------------------------------------
t_case "import: an existing revision is never overwritten (exit 2, nothing written)"
before=$(cd versions && sha256sum ./*)
lm import alembic "$CORPUS/chain"
expect_exit 2
expect_err_contains "revision 1a2b3c4d5e6f"
expect_err_contains "is already in the project"
expect_err_contains "nothing was written"
expect_eq "$(cd versions && sha256sum ./*)" "$before" "versions/ after a refused import"

t_case "import: the Alembic project folder (env.py beside versions/) is accepted too"
new_project
mkdir -p alembic_proj
cp -r "$CORPUS/chain" alembic_proj/versions
echo "# env" >alembic_proj/env.py
lm import alembic alembic_proj
expect_exit 0
expect_out_count 8 '^Imported alembic_proj/versions/'

# ---------------------------------------------------------------------------
t_case "import: every SQLAlchemy type of autogenerate maps to a luamig type"
new_project
lm import alembic "$CORPUS/types"
expect_exit 0
types=$(cat versions/a1b2c3d4e5f6_every_type.lua)
for want in '"s", "string",' '"s50", "string(50)"' '"t", "text"' '"big", "bigint"' '"small", "smallint"' \
  '"flag", "boolean"' '"d", "date"' '"ts", "datetime"' \
  '"tstz", "timestamptz", { server_default = op.sql("CURRENT_TIMESTAMP")' '"tm", "time"' \
  '"day", "date", { server_default = op.sql("CURRENT_DATE")' \
  '"at", "datetime", { server_default = op.sql("CURRENT_TIMESTAMP")' \
  '"price", "numeric(10,2)"' '"ratio", "float"' '"doc", "json"' '"docb", "json"' '"uid", "uuid"' \
  '"uid2", "uuid"' '"blob", "binary"' '"code", "CHAR(2)"' '"ip", "INET"' \
  '"status", "string(9)", { server_default = "draft", nullable = false }' \
  "op.check(\"\\\"status\\\" IN ('draft', 'published', 'archived')\", { name = \"post_status\" })" \
  "op.create_check_constraint(\"mood\", \"everything\", \"\\\"mood\\\" IN ('happy', 'sad')\")" \
  'server_default = op.sql("-1"), nullable = true, comment = "a \"quoted\" comment"' \
  '{ existing_type = "string(50)", type = "string(80)", existing_nullable = true }' \
  '{ existing_type = "smallint", server_default = false, existing_nullable = true }'; do
  expect_text_contains "$types" "$want" "the converted types"
done
expect_text_contains "$types" '-- sa.Enum "post_status" on column "status": a VARCHAR with a CHECK constraint (no PostgreSQL enum type)' "the Enum note in the file"
expect_err_contains 'a1b2c3d4e5f6_every_type.py:21: note: sa.Enum on column "status" became a VARCHAR with a CHECK constraint (not a PostgreSQL enum type)'

t_case "import: the converted types upgrade, and the Enum CHECK holds"
lm upgrade head
expect_exit 0
schema=$(db_schema)
if is_pg; then
  expect_text_contains "$schema" "jsonb" "PostgreSQL: json → JSONB"
  expect_text_contains "$schema" "uuid" "PostgreSQL: uuid"
  expect_text_contains "$schema" "timestamp with time zone" "PostgreSQL: timestamptz"
  expect_text_contains "$schema" "bytea" "PostgreSQL: binary"
fi
expect_ok "a status of the Enum is accepted" db_query "INSERT INTO everything (id, status) VALUES (1, 'published')"
expect_eq "$(db_query "SELECT count(*) FROM everything WHERE day IS NOT NULL AND at IS NOT NULL AND tstz IS NOT NULL")" "1" \
  "func.current_date(), func.current_timestamp() and func.now() defaults filled the row"
expect_fails "a status outside the Enum is refused" db_query "INSERT INTO everything (id, status) VALUES (2, 'deleted')"
expect_fails "a mood outside the Enum is refused" db_query "INSERT INTO everything (id, status, mood) VALUES (3, 'draft', 'meh')"
lm downgrade base
expect_exit 0

# ---------------------------------------------------------------------------
t_case "import: unconvertible statements are named with file:line, written as error(), exit 1"
new_project
src=$CORPUS/unconvertible/b1c2d3e4f5a6_backfill_display_names.py
lm import alembic "$CORPUS/unconvertible"
expect_exit 1
expect_out_contains "-> versions/b1c2d3e4f5a6_backfill_display_names.lua (5 statements not converted)"
for needle in 'bind = op.get_bind()' 'rows = bind.execute(' 'for row in rows:' \
  'if op.get_context().dialect.name == "postgresql":' 'def _people_table():'; do
  line=$(grep -nF -- "$needle" "$src" | head -n 1 | cut -d: -f1)
  expect_err_contains "$src:$line: not converted: $needle"
done
expect_err_contains "luamig: error: 5 statements in 1 file not converted"
lua=$(cat versions/b1c2d3e4f5a6_backfill_display_names.lua)
expect_text_contains "$lua" '  error("not converted from Alembic: bind = op.get_bind()")' "the error() line at its place"
expect_text_contains "$lua" '  error("not converted from Alembic: for row in rows:")' "a loop"
expect_text_contains "$lua" '  --       bind.execute(' "the loop's Python kept as a comment"
expect_text_contains "$lua" '--   def _people_table():' "a module-level helper kept as a comment"
# what converted around them is still there, in order
expect_text_contains "$lua" 'op.create_index("ix_people_display_name", "people", { "display_name" }, { unique = false })' "the statements after them"

t_case "lint reports each not-converted line; upgrade stops at the first one"
lm lint
expect_exit 1
expect_out_count 4 '^versions/b1c2d3e4f5a6_backfill_display_names\.lua:[0-9]+: error \[not-converted\] statement not converted from Alembic: '
expect_out_contains 'statement not converted from Alembic: bind = op.get_bind()'
lm check
expect_exit 1
lm upgrade head
expect_exit 1
expect_err_contains "not converted from Alembic: bind = op.get_bind()"
expect_eq "$(version_rows)" "" "version rows after the failed upgrade"

t_case "import: a file that is not readable Python stops everything (exit 2, nothing written)"
new_project
mkdir bad
cp "$CORPUS/chain/1a2b3c4d5e6f_create_users_table.py" bad/
printf '"""broken\n\nRevision ID: 0badf00d0000\n"""\nrevision = "0badf00d0000"\ndown_revision = None\n\ndef upgrade():\n    op.execute("unterminated)\n' >bad/0badf00d0000_broken.py
lm import alembic bad
expect_exit 2
expect_err_contains "bad/0badf00d0000_broken.py:9: cannot convert: unterminated string"
expect_eq "$(find versions -type f | wc -l)" 0 "files written"
lm import alembic no_such_folder
expect_exit 2
lm import flyway bad
expect_exit 2
expect_err_contains "alembic"

# ---------------------------------------------------------------------------
t_case "import: a foreign key's onupdate, a constraint named None, autocommit_block after operations"
# Shapes autogenerate writes: onupdate= is ON UPDATE on a foreign key (a
# Column's own onupdate= is Python-side and dropped); None lets the database
# name a constraint; Alembic's autocommit_block commits what ran before it.
new_project --no-url
export DATABASE_URL=$LM_URL
mkdir al
cat >al/c1a2b3c4d5e6_fks.py <<'EOF'
"""foreign keys and names

Revision ID: c1a2b3c4d5e6
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = 'c1a2b3c4d5e6'
down_revision = None


def upgrade():
    op.create_table('p',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(100), nullable=True, onupdate=sa.func.now()),
        sa.PrimaryKeyConstraint('id'))
    op.create_table('c',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('p_id', sa.Integer(), nullable=True),
        sa.Column('q_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['p_id'], ['p.id'], name='fk_c_p', onupdate='CASCADE'),
        sa.PrimaryKeyConstraint('id'))
    op.create_foreign_key('fk_c_q', 'c', 'p', ['q_id'], ['id'], ondelete='SET NULL', onupdate='RESTRICT')
    op.create_unique_constraint(None, 'c', ['q_id'])
    op.alter_column('p', 'email', existing_type=sa.String(100), comment=None)
    op.bulk_insert(sa.table('p', sa.column('id', sa.Integer())), [{'id': 1}, {'id': 2}], multiinsert=False)
    with op.get_context().autocommit_block():
        op.create_index('ix_p_email', 'p', ['email'], postgresql_concurrently=True)


def downgrade():
    op.drop_index('ix_p_email', table_name='p')
    op.drop_constraint('fk_c_q', 'c', type_='foreignkey')
    op.drop_table('c')
    op.drop_table('p')
EOF
lm import alembic al
expect_exit 0
expect_err_not_contains "not converted"
lua=$(cat versions/c1a2b3c4d5e6_fks.lua)
expect_text_contains "$lua" 'op.foreign_key({ "p_id" }, { "p.id" }, { name = "fk_c_p", onupdate = "CASCADE" })' "a ForeignKeyConstraint's onupdate"
expect_text_contains "$lua" '{ ondelete = "SET NULL", onupdate = "RESTRICT" }' "create_foreign_key's onupdate"
expect_text_contains "$lua" 'op.column("email", "string(100)", { nullable = true })' "a Column's Python-side onupdate dropped"
expect_text_contains "$lua" 'op.create_unique_constraint(nil, "c", { "q_id" })' "None → nil"
expect_text_contains "$lua" '-- luamig: allow ops-before-autocommit' "the autocommit_block kept as Alembic runs it, said in the file"
expect_text_contains "$lua" 'op.alter_column("p", "email", { existing_type = "string(100)", comment = false })' "comment=None: the comment removed"
expect_text_contains "$lua" '{ { id = 1 }, { id = 2 } })' "bulk_insert with multiinsert=False"
lm check
expect_exit 0
lm upgrade head
expect_exit 0
lm schema
expect_out_matches 'CONSTRAINT "fk_c_p" FOREIGN KEY \(("p_id"|p_id)\) REFERENCES ("p"|p) ?\(("id"|id)\) ON UPDATE CASCADE'
expect_out_matches 'FOREIGN KEY \(("q_id"|q_id)\) REFERENCES ("p"|p) ?\(("id"|id)\) (ON DELETE SET NULL ON UPDATE RESTRICT|ON UPDATE RESTRICT ON DELETE SET NULL)'
expect_out_matches 'UNIQUE \(("q_id"|q_id)\)'
expect_out_contains "$(pick 'CREATE INDEX "ix_p_email"' 'CREATE INDEX ix_p_email')"
lm downgrade base
expect_exit 0
cat >al/d1a2b3c4d5e6_unique_email.py <<'EOF'
"""unique email

Revision ID: d1a2b3c4d5e6
Revises: c1a2b3c4d5e6
"""
from alembic import op

revision = 'd1a2b3c4d5e6'
down_revision = 'c1a2b3c4d5e6'


def upgrade():
    op.create_unique_constraint(None, 'p', ['email'])


def downgrade():
    op.drop_constraint(None, 'p', type_='unique')
EOF
rm versions/c1a2b3c4d5e6_fks.lua
lm import alembic al
expect_exit 1
expect_err_contains "al/d1a2b3c4d5e6_unique_email.py:17: not converted: op.drop_constraint(None, 'p', type_='unique')"
expect_text_contains "$(cat versions/d1a2b3c4d5e6_unique_email.lua)" "error(\"not converted from Alembic: op.drop_constraint(None, 'p', type_='unique')\")" "a drop of a constraint without its name"
unset DATABASE_URL

# ---------------------------------------------------------------------------
t_case "stamp --from-alembic and the upgrade refusal, with alembic_version made by hand"
new_project
lm import alembic "$CORPUS/chain"
expect_exit 0
is_sqlite && touch "$(sqlite_path "$LM_URL")"
db_query "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)" >/dev/null
db_query "INSERT INTO alembic_version (version_num) VALUES ('4d5e6f7a8b9c'), ('5e6f7a8b9c0d')" >/dev/null
lm upgrade head
expect_exit 2
expect_err_contains "this database was migrated by Alembic (alembic_version is at 4d5e6f7a8b9c, 5e6f7a8b9c0d); run 'luamig stamp --from-alembic' first"
expect_eq "$(version_rows)" "" "version rows after the refusal"
lm stamp --from-alembic
expect_exit 0
expect_out_contains "Stamped 4d5e6f7a8b9c, 5e6f7a8b9c0d (from alembic_version)"
expect_eq "$(version_rows | tr '\n' ' ')" "1a2b3c4d5e6f 2b3c4d5e6f7a 3c4d5e6f7a8b 4d5e6f7a8b9c 5e6f7a8b9c0d " "the stamped revisions and their ancestors"
sum=$(db_query "SELECT checksum FROM luamig_version WHERE revision = '4d5e6f7a8b9c'")
expect_eq "$sum" "$(sha256sum versions/4d5e6f7a8b9c_add_audit_log.lua | cut -d' ' -f1)" "the checksum recorded"
lm current
expect_out_contains "4d5e6f7a8b9c"
expect_out_contains "5e6f7a8b9c0d"

t_case "stamp --from-alembic: a revision no file defines, no alembic_version table"
db_query "DELETE FROM alembic_version" >/dev/null
db_query "INSERT INTO alembic_version (version_num) VALUES ('ffffffffffff')" >/dev/null
lm stamp --from-alembic
expect_exit 2
expect_err_contains "alembic_version records revision 'ffffffffffff', which no revision file defines"
new_project
lm import alembic "$CORPUS/chain"
lm stamp --from-alembic
expect_exit 2
expect_err_contains "has no alembic_version table"
lm stamp --from-alembic head
expect_exit 2

# ---------------------------------------------------------------------------
t_case "import: bulk_insert's None is NULL and a dict is JSON text; <dialect>_where on its dialect"
new_project --no-url
export LM_TEST_URL=$LM_URL
write_config 'url = os.getenv("LM_TEST_URL"),'
lm import alembic "$CORPUS/data"
expect_exit 0
lua=$(cat versions/c1d2e3f4a5b6_seed_settings.lua)
expect_text_contains "$lua" 'level = op.null, owner = op.null' "None as op.null"
expect_text_contains "$(cat versions/d2e3f4a5b6c7_accounts.lua)" 'local accounts_table = "account"' "the handle op.create_table returned"
lm check
expect_exit 0
lm upgrade head
expect_exit 0
expect_eq "$(db_query "SELECT name FROM account ORDER BY id" | tr '\n' ' ')" "John Smith Ed Williams " "rows seeded through op.create_table's handle"
rows=$(db_query "SELECT id, coalesce(level, -1), coalesce(owner, 'NULL') FROM settings ORDER BY id")
expect_eq "$(printf '%s' "$rows" | tr '\n' ' ')" "1|-1|NULL 2|7|bob" "None is NULL, not the column's default"
if is_pg; then
  # json is JSONB on PostgreSQL (SPEC §4): compared as JSON
  expect_eq "$(db_query "SELECT count(*) FROM settings WHERE value = '{\"color\": \"blué\", \"sizes\": [1, 2], \"x\": null}'::jsonb")" 1 "row 1's JSON"
  expect_eq "$(db_query "SELECT count(*) FROM settings WHERE value = '[true, 1.5, \"a\\\"b\"]'::jsonb")" 1 "row 2's JSON"
else
  values=$(db_query "SELECT value FROM settings ORDER BY id")
  expect_text_contains "$values" '{"color": "blu\u00e9", "sizes": [1, 2], "x": null}' "row 1's JSON, as json.dumps writes it"
  expect_text_contains "$values" '[true, 1.5, "a\"b"]' "row 2's JSON"
fi
schema=$(db_schema)
if is_pg; then
  expect_text_contains "$schema" "WHERE ((status)::text <> 'archived'::text)" "PostgreSQL: postgresql_where"
else
  expect_text_contains "$schema" "WHERE status <> 'archived'" "SQLite: sqlite_where"
fi
lm downgrade base
expect_exit 0
if [ -n "$ALEMBIC_PY" ] && is_sqlite; then
  lm upgrade head
  expect_exit 0
  ours=$(db_query "SELECT id, level, owner, value FROM settings ORDER BY id")
  alembic_db=$(fresh_url)
  if alembic_upgrade "$alembic_db" "$CORPUS/data"; then
    _pass
  else
    _fail "alembic upgrade heads failed" "$(mask "$(cat "$LM_TMP/alembic.log")")"
  fi
  theirs=$(db_query "SELECT id, level, owner, value FROM settings ORDER BY id" "$alembic_db")
  expect_same "$theirs" "$ours" "Alembic's rows and luamig's"
  expect_same "$(db_query "SELECT * FROM account ORDER BY id" "$alembic_db")" \
    "$(db_query "SELECT * FROM account ORDER BY id")" "Alembic's accounts and luamig's"
fi

# ---------------------------------------------------------------------------
t_case "import: what Alembic ran and lint calls an error is kept, said, and passes check"
new_project --no-url
export LM_TEST_URL=$LM_URL
write_config 'url = os.getenv("LM_TEST_URL"),'
lm import alembic "$CORPUS/kept"
expect_exit 0
more=$(cat versions/e2f3a4b5c6d7_more.lua)
expect_text_contains "$more" "-- luamig: allow add-not-null-without-default" "a NOT NULL column without a default"
expect_text_contains "$more" "-- luamig: allow drop-then-add" "a drop and an add on one table"
expect_text_contains "$more" 'op.add_column("tickets", op.column("title", "string(50)", { nullable = true }))' "positional parameters passed by keyword"
expect_text_contains "$more" 'op.create_index("ix_tickets_title", "tickets", { "title" }, { unique = false })' "positional parameters passed by keyword"
expect_text_contains "$more" 'op.drop_index("ix_tickets_title", { table_name = "tickets" })' "positional parameters passed by keyword"
expect_text_contains "$(cat versions/e3f4a5b6c7d8_data.lua)" "-- luamig: allow downgrade-empty" "def downgrade(): pass"
expect_text_contains "$(cat versions/e1f2a3b4c5d6_init.lua)" '{ name = "ticket_state_to_state" }' "a second column of one Enum: a CHECK name of its own"
expect_text_contains "$(cat versions/e1f2a3b4c5d6_init.lua)" 'op.column("big", "bigint", { nullable = true })' "a type with_variant: its own type"
lm check
expect_exit 0
lm upgrade head
expect_exit 0
lm downgrade base
expect_exit 0

# ---------------------------------------------------------------------------
t_case "import: an sa.CheckConstraint among a Column's arguments becomes the table's CHECK"
new_project --no-url
export DATABASE_URL=$LM_URL
mkdir colck
cat >colck/f1a2b3c4d5e6_checks.py <<'EOF'
"""checks in columns

Revision ID: f1a2b3c4d5e6
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = 'f1a2b3c4d5e6'
down_revision = None


def upgrade():
    op.create_table('gauge',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('level', sa.Integer(), sa.CheckConstraint('level BETWEEN 0 AND 10', name='ck_gauge_level'), nullable=False),
        sa.Column('mode', sa.String(5), sa.CheckConstraint(sa.text("mode <> 'off'"))),
        sa.PrimaryKeyConstraint('id'))
    op.add_column('gauge', sa.Column('step', sa.Integer(), sa.CheckConstraint('step > 0', name=op.f('ck_gauge_step'))))
    op.alter_column('gauge', 'level', existing_type=sa.Integer(), nullable=True)


def downgrade():
    op.alter_column('gauge', 'level', existing_type=sa.Integer(), nullable=False)
    op.drop_constraint('ck_gauge_step', 'gauge', type_='check')
    op.drop_column('gauge', 'step')
    op.drop_table('gauge')
EOF
lm import alembic colck
expect_exit 0
expect_err_not_contains "not converted"
expect_err_not_contains "sa.Enum"
lua=$(cat versions/f1a2b3c4d5e6_checks.lua)
expect_text_contains "$lua" 'op.column("level", "integer", { nullable = false }),' "the column without its CHECK"
expect_text_contains "$lua" 'op.check("level BETWEEN 0 AND 10", { name = "ck_gauge_level" })' "a named CHECK of the table"
expect_text_contains "$lua" "op.check(\"mode <> 'off'\")" "an unnamed one, from sa.text"
expect_text_contains "$lua" 'op.create_check_constraint("ck_gauge_step", "gauge", "step > 0")' "add_column's CHECK, named with op.f"
expect_text_not_contains "$lua" "Enum" "no Enum note"
lm check
expect_exit 0
lm upgrade head
expect_exit 0
expect_ok "rows the CHECKs allow" db_query "INSERT INTO gauge (id, level, mode, step) VALUES (1, 3, 'on', 2)"
expect_fails "a level the CHECK refuses" db_query "INSERT INTO gauge (id, level) VALUES (2, 11)"
expect_fails "a mode the CHECK refuses" db_query "INSERT INTO gauge (id, mode) VALUES (3, 'off')"
expect_fails "a step the added CHECK refuses" db_query "INSERT INTO gauge (id, step) VALUES (4, 0)"
lm downgrade base
expect_exit 0
cat >colck/f2a2b3c4d5e6_alter.py <<'EOF'
"""a check where no table is made

Revision ID: f2a2b3c4d5e6
Revises: f1a2b3c4d5e6
"""
from alembic import op
import sqlalchemy as sa

revision = 'f2a2b3c4d5e6'
down_revision = 'f1a2b3c4d5e6'


def upgrade():
    op.alter_column('gauge', 'mode', type_=sa.String(8), existing_type=sa.String(5))
    op.create_table('dial', sa.Column('id', sa.Integer(), sa.CheckConstraint('id > 0', deferrable=True)))


def downgrade():
    op.drop_table('dial')
EOF
rm -f versions/f1a2b3c4d5e6_checks.lua
lm import alembic colck
expect_exit 1
expect_err_contains "colck/f2a2b3c4d5e6_alter.py:15: not converted: op.create_table('dial'"
expect_text_contains "$(cat versions/f2a2b3c4d5e6_alter.lua)" "a CheckConstraint option luamig has not" "why, in the file"
unset DATABASE_URL

# ---------------------------------------------------------------------------
t_case "import: an index's method and operator classes, a column's collation"
new_project --no-url
export DATABASE_URL=$LM_URL
mkdir ixopts
COLL=$(pick NOCASE C)
cat >ixopts/a1b2c3d4e5f7_lookup.py <<EOF
"""lookup

Revision ID: a1b2c3d4e5f7
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = 'a1b2c3d4e5f7'
down_revision = None


def upgrade():
    op.create_table('lookup',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=10, collation='$COLL'), nullable=False),
        sa.Column('label', sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_lookup_label', 'lookup', ['label', 'id'], unique=False, postgresql_using='btree', postgresql_ops={'label': 'varchar_pattern_ops'})
    op.create_index('ix_lookup_code', 'lookup', ['code'], unique=False, postgresql_using='hash')


def downgrade():
    op.drop_index('ix_lookup_code', table_name='lookup', postgresql_using='hash')
    op.drop_index('ix_lookup_label', table_name='lookup', postgresql_using='btree', postgresql_ops={'label': 'varchar_pattern_ops'})
    op.drop_table('lookup')
EOF
lm import alembic ixopts
expect_exit 0
expect_err_not_contains "not converted"
lua=$(cat versions/a1b2c3d4e5f7_lookup.lua)
expect_text_contains "$lua" "op.column(\"code\", \"string(10)\", { nullable = false, collation = \"$COLL\" })" "the collation, a column option"
expect_text_contains "$lua" 'op.create_index("ix_lookup_label", "lookup", { "label", "id" }, { unique = false, postgresql_using = "btree", postgresql_ops = { label = "varchar_pattern_ops" } })' "method and operator classes"
expect_text_contains "$lua" 'op.drop_index("ix_lookup_code", { table_name = "lookup" })' "drop_index without autogenerate's copies"
lm check
expect_exit 0
lm upgrade head
expect_exit 0
if is_pg; then
  expect_eq "$(db_query "SELECT pg_get_indexdef('ix_lookup_label'::regclass) || ' ' || pg_get_indexdef('ix_lookup_code'::regclass)")" \
    "CREATE INDEX ix_lookup_label ON public.lookup USING btree (label varchar_pattern_ops, id) CREATE INDEX ix_lookup_code ON public.lookup USING hash (code)" \
    "the indexes PostgreSQL built"
  expect_eq "$(db_query "SELECT l.collname FROM pg_attribute a JOIN pg_collation l ON l.oid = a.attcollation WHERE a.attrelid = 'lookup'::regclass AND a.attname = 'code'")" \
    "C" "the column's collation"
else
  expect_text_contains "$(db_query "SELECT group_concat(sql, ' ') FROM sqlite_master WHERE tbl_name = 'lookup'")" \
    '"code" VARCHAR(10) COLLATE "NOCASE" NOT NULL' "the table's text"
  expect_text_contains "$(db_query "SELECT sql FROM sqlite_master WHERE name = 'ix_lookup_label'")" \
    'ON "lookup" ("label", "id")' "a plain index on SQLite"
fi
lm downgrade base
expect_exit 0
unset DATABASE_URL

t_case "import: a file without downgrade(), text()'s escaped colons, a \N{} escape"
new_project --no-url
export DATABASE_URL=$LM_URL
mkdir colons
cat >colons/c1c2c3c4c5c6_times.py <<'EOF'
"""times

Revision ID: c1c2c3c4c5c6
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = 'c1c2c3c4c5c6'
down_revision = None


def upgrade():
    op.create_table('slots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('label', sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint('id'))
    op.execute(r"INSERT INTO slots (id, label) VALUES (1, 'at 9\:30')")
    op.execute(sa.text("INSERT INTO slots (id, label) VALUES (2, '\\:colon_value')"))
EOF
cat >colons/c1c2c3c4c5c7_euro.py <<'EOF'
"""euro

Revision ID: c1c2c3c4c5c7
Revises: c1c2c3c4c5c6
"""
from alembic import op

revision = 'c1c2c3c4c5c7'
down_revision = 'c1c2c3c4c5c6'


def upgrade():
    op.execute("INSERT INTO slots (id, label) VALUES (3, '\N{EURO SIGN}')")


def downgrade():
    op.execute("DELETE FROM slots WHERE id = 3")
EOF
lm import alembic colons
expect_exit 1
expect_err_contains "colons/c1c2c3c4c5c7_euro.py:13: not converted"
expect_err_not_contains "c1c2c3c4c5c6_times.py"
lua=$(cat versions/c1c2c3c4c5c6_times.lua)
expect_text_contains "$lua" "'at 9:30'" "the colon text() unescapes"
expect_text_contains "$lua" "':colon_value'" "the colon sa.text() unescapes"
expect_text_contains "$lua" 'error("this revision cannot be downgraded' "the downgrade of a file without one"
rm -f versions/c1c2c3c4c5c7_euro.lua
lm check
expect_exit 0
lm upgrade head
expect_exit 0
expect_eq "$(db_query "SELECT label FROM slots ORDER BY id" | tr '\n' '|')" "at 9:30|:colon_value|" "the rows"
lm downgrade base
expect_exit 1
expect_err_contains "this revision cannot be downgraded: its Alembic file has no downgrade()"
expect_eq "$(db_query "SELECT count(*) FROM slots")" "2" "rows after the refused downgrade"
unset DATABASE_URL

t_done
