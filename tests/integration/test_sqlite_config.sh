#!/usr/bin/env bash
# SQLite-only URL forms (relative and absolute paths, :memory:) and what a
# run leaves of the database's journal.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
only_dialect sqlite

mkrev_table() {
  mkrev "$1" "$2" "create $3" <<EOF
function upgrade()
  op.create_table("$3", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("$3")
end
EOF
}

# ---------------------------------------------------------------------------
t_case "sqlite:///relative.db is relative to the working folder"
new_project --no-url
mkrev_table e00000000001 "" rel_table
lm --url sqlite:///relative.db upgrade head
expect_exit 0
expect_file "$PROJECT/relative.db"
expect_table rel_table "sqlite:///$PROJECT/relative.db"

t_case "sqlite:////absolute/path.db"
lm --url "sqlite:///$PROJECT/abs.db" upgrade head
expect_exit 0
expect_file "$PROJECT/abs.db"
expect_table rel_table "sqlite:///$PROJECT/abs.db"

t_case "sqlite:///relative path in the config"
cat >luamig.lua <<'EOF'
return { url = "sqlite:///from_config.db" }
EOF
lm upgrade head
expect_exit 0
expect_file "$PROJECT/from_config.db"

t_case "sqlite:///:memory:"
lm --url "sqlite:///:memory:" upgrade head
expect_exit 0
expect_out_contains "Running upgrade <base> -> e00000000001, create rel_table"
expect_no_file "$PROJECT/:memory:"

t_case "a SQLite file in a folder that does not exist"
lm --url "sqlite:///$PROJECT/no/such/folder/x.db" upgrade head
expect_exit_nonzero
expect_err_error_line

# luamig's connection uses the journal mode PERSIST (fewer file-system
# operations per commit) and sets DELETE again when it closes, which removes
# the journal: the database itself is not changed.
t_case "the journal mode is the database's own after a run, and no journal stays"
lm --url "sqlite:///$PROJECT/abs.db" downgrade base
expect_exit 0
lm --url "sqlite:///$PROJECT/abs.db" upgrade head
expect_exit 0
expect_no_file "$PROJECT/abs.db-journal"
expect_eq "$(sqlite3 "$PROJECT/abs.db" "PRAGMA journal_mode")" delete "journal mode after a run"

t_case "a database in WAL mode stays in WAL mode"
sqlite3 "$PROJECT/wal.db" "PRAGMA journal_mode = WAL" >/dev/null
lm --url "sqlite:///$PROJECT/wal.db" upgrade head
expect_exit 0
expect_eq "$(sqlite3 "$PROJECT/wal.db" "PRAGMA journal_mode")" wal "journal mode of a WAL database"
expect_table rel_table "sqlite:///$PROJECT/wal.db"

t_case "a journal left with its header zeroed (a killed run) does no harm and is removed"
lm --url "sqlite:///$PROJECT/abs.db" downgrade base
expect_exit 0
head -c 4096 /dev/zero >"$PROJECT/abs.db-journal"
lm --url "sqlite:///$PROJECT/abs.db" upgrade head
expect_exit 0
expect_table rel_table "sqlite:///$PROJECT/abs.db"
expect_no_file "$PROJECT/abs.db-journal"


t_done
