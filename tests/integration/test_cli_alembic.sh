#!/usr/bin/env bash
# The command line as an Alembic user expects it: wrong-direction moves are
# errors naming the command to use, a no-op says where the database is, --sql
# prints a whole script or nothing, Alembic's targets and ranges (current,
# head-1, base+2, -3:head, 44f:, :44f, history -i), suggestions for misspelt
# commands, options and op directives, unknown-type, stamp --checksums-only,
# read-only commands that never create a SQLite file, and help per command.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------------------
t_case "upgrade below the current revision: an error naming downgrade, exit 2"
new_project
chain3
lm upgrade "$R2"
expect_exit 0
before=$(db_schema)
lm upgrade base
expect_exit 2
expect_err_error_line
expect_err_contains "luamig downgrade base"
lm upgrade "$R1"
expect_exit 2
expect_err_contains "below the current revision $R2"
expect_err_contains "'luamig downgrade $R1'"
expect_out_empty
expect_same "$(db_schema)" "$before" "database after refused upgrades"

t_case "downgrade above the current revision: an error naming upgrade, exit 2"
lm downgrade "$R3"
expect_exit 2
expect_err_contains "$R3 is not applied"
expect_err_contains "'luamig upgrade $R3'"
expect_same "$(db_schema)" "$before" "database after a refused downgrade"

t_case "nothing to do: one line on stderr, stdout empty, exit 0; -q silences it"
lm upgrade "$R2"
expect_exit 0
expect_out_empty
expect_err_contains "Already at $R2."
lm upgrade head
expect_exit 0
lm upgrade head
expect_exit 0
expect_out_empty
expect_eq "$LM_ERR" "Already at head $R3." "stderr of a no-op upgrade head"
lm -q upgrade head
expect_exit 0
expect_out_empty
expect_eq "$LM_ERR" "" "stderr of a quiet no-op"
lm downgrade "$R3"
expect_exit 0
expect_err_contains "Already at $R3."

# ---------------------------------------------------------------------------
t_case "targets: current, head-1, base+2, current-1, current+1"
new_project
chain3
lm upgrade base+2
expect_exit 0
expect_out_count 2 '^Running upgrade '
expect_eq "$(version_rows | tr '\n' ' ')" "$R1 $R2 " "after upgrade base+2"
lm downgrade current-1
expect_exit 0
expect_out_matches "^Running downgrade $R2 -> $R1, create two"
lm upgrade current+1
expect_exit 0
expect_out_matches "^Running upgrade $R1 -> $R2, create two"
lm upgrade head
lm downgrade head-1
expect_exit 0
expect_out_count 1 '^Running downgrade '
lm current
expect_out_equals "$R2"
lm show current
expect_exit 0
expect_out_contains "Rev: $R2"
lm show head-1
expect_exit 0
expect_out_contains "Rev: $R2"

t_case "a target naming nothing: the accepted forms; an ambiguous prefix: the candidates"
lm upgrade zzz
expect_exit 2
expect_err_contains "no revision matches 'zzz'"
expect_err_contains "head, heads, base, current"
lm upgrade heda
expect_exit 2
expect_err_contains "did you mean 'head'?"
lm upgrade 9c
expect_exit 2
expect_err_contains "'9c' is ambiguous"
expect_err_contains "$R2"
expect_err_contains "$R3"

# ---------------------------------------------------------------------------
t_case "history: -i marks the current revision; Alembic ranges"
lm history -i
expect_exit 0
expect_out_contains "$R1 -> $R2 (current), create two"
expect_out_contains "$R2 -> $R3 (head), create three"
lm history --indicate-current -r current:head
expect_exit 0
expect_out_count 2 ' -> '
expect_out_contains "$R2 -> $R3 (head)"
lm history -r -1:head
expect_exit 0
expect_out_count 2 ' -> '
expect_out_not_contains "<base> -> $R1"
lm history -r 3a8:
expect_exit 0
expect_out_count 3 ' -> '
lm history -r :9c3
expect_exit 0
expect_out_count 2 ' -> '
expect_out_not_contains "-> $R3"
lm history -r base:+1
expect_exit 0
expect_out_count 1 ' -> '
expect_out_contains "<base> -> $R1"

# ---------------------------------------------------------------------------
t_case "read-only commands never create a SQLite file"
if is_sqlite; then
  missing="sqlite:///$LM_TMP/never-made.db"
  for cmd in current "history -i" "history -r current:" "show current" schema; do
    # shellcheck disable=SC2086 # $cmd is a command and its options
    lm --url "$missing" $cmd
    expect_exit 2
    expect_err_contains "does not exist"
    expect_no_file "$LM_TMP/never-made.db"
  done
  # these do not read the database at all
  for cmd in history heads "show head" branches; do
    # shellcheck disable=SC2086
    lm --url "$missing" $cmd
    expect_exit 0
    expect_no_file "$LM_TMP/never-made.db"
  done
fi

# ---------------------------------------------------------------------------
t_case "--sql: a failure while rendering prints nothing and says rendering"
new_project
chain3
mkrev 4e0000000004 "$R3" "needs data" <<'EOF'
function upgrade()
  local n = op.scalar("SELECT count(*) FROM t_one")
end

function downgrade()
end
EOF
lm upgrade base:head --sql
expect_exit_nonzero
expect_out_empty
expect_err_contains "rendering upgrade $R3 -> 4e0000000004"
expect_err_contains "op.scalar needs a live database"
expect_err_not_contains "rolled back"
lm upgrade "base:$R3" --sql
expect_exit 0
expect_out_contains "CREATE TABLE"
expect_out_contains "COMMIT;"

t_case "--sql: an open TO is refused, a range going down is refused"
lm upgrade "$R2:" --sql
expect_exit 2
expect_err_contains "needs the TO of FROM:TO"
lm upgrade "$R2:$R1" --sql
expect_exit 2
expect_out_empty
expect_err_contains "luamig downgrade $R1"

# ---------------------------------------------------------------------------
t_case "misspelt command, option, help"
lm upgarde head
expect_exit 2
expect_err_contains "unknown command 'upgarde'; did you mean 'upgrade'?"
lm upgrade head --dry-rn
expect_exit 2
expect_err_contains "unknown option '--dry-rn'; did you mean '--dry-run'?"
lm help help
expect_exit 0
expect_out_contains "usage: luamig help"
lm help upgrade
expect_exit 0
expect_out_contains "--stop-before STEP"
expect_out_contains "Example:"
expect_out_contains "Exit codes:"
expect_out_contains "luamig help options"
lm help options
expect_exit 0
expect_out_contains "--url URL"
expect_out_contains "--dialect NAME"
lm --help
expect_out_contains "--dialect NAME"
lm help revision
expect_out_matches '^usage: luamig revision .*--splice'
lm help upgarde
expect_exit 2
expect_err_contains "did you mean 'upgrade'?"
for c in init revision merge upgrade downgrade stamp current history heads branches show lint check schema; do
  lm help "$c"
  expect_exit 0
  expect_out_contains "Example:"
  expect_out_contains "Exit codes:"
done

t_case "--json where it does nothing is refused"
lm schema --json
expect_exit 2
expect_err_contains "option --json does not apply to 'schema'"
lm upgrade head --json
expect_exit 2
lm heads --json
expect_exit 0
expect_out_matches '^\[\{"revision": '

t_case "-v does not print SQL; --echo-sql and -vv do"
new_project
chain3
lm -v upgrade "$R1"
expect_exit 0
expect_err_not_contains "luamig: sql:"
lm --echo-sql upgrade "$R2"
expect_exit 0
expect_err_contains "luamig: sql: CREATE TABLE"
lm -vv upgrade "$R3"
expect_exit 0
expect_err_contains "luamig: sql: CREATE TABLE"

t_case "stamp with a prefix prints the full id"
lm stamp 3a8
expect_exit 0
expect_out_equals "Stamped $R1"
lm current
expect_out_equals "$R1"

# ---------------------------------------------------------------------------
t_case "an unknown op.X names the file, the line and the closest directive"
new_project
mkrev 5a0000000001 "" "typo" <<'EOF'
function upgrade()
  op.create_table("t", op.column("id", "integer", { primary_key = true }))
  op.create_indx("ix_t", "t", { "id" })
end

function downgrade()
  op.drop_table("t")
end
EOF
lm upgrade head
expect_exit 1
line=$(grep -n 'op.create_indx' "$REV_FILE" | cut -d: -f1)
expect_err_contains "${REV_FILE}:$line: no op.create_indx; did you mean op.create_index?"
expect_err_not_contains "attempt to call a nil value"
expect_no_table t
lm lint
expect_exit 1
expect_out_contains "${REV_FILE}:$line: error"
expect_out_contains "no op.create_indx; did you mean op.create_index?"

t_case "an unknown batch.X names the closest batch method"
new_project
mkrev 5a0000000004 "" "batch typo" <<'EOF'
function upgrade()
  op.create_table("t", op.column("id", "integer", { primary_key = true }))
  op.batch_alter_table("t", function(batch)
    batch.add_colum(op.column("v", "text"))
  end)
end

function downgrade()
  op.drop_table("t")
end
EOF
lm upgrade head
expect_exit 1
line=$(grep -n 'batch.add_colum' "$REV_FILE" | cut -d: -f1)
expect_err_contains "${REV_FILE}:$line: no batch.add_colum; did you mean batch.add_column?"
expect_no_table t

t_case "a Lua syntax error names its place once"
new_project
mkrev 5a0000000002 "" "syntax" <<'EOF'
function upgrade(
  x =
end
EOF
lm heads
expect_exit 2
expect_eq "$(grep -c "${REV_FILE}:" <<<"$LM_ERR")" 1 "lines of stderr naming ${REV_FILE}:LINE"

# ---------------------------------------------------------------------------
t_case "unknown-type: a misspelt type is a lint error; real SQL types pass"
new_project
mkrev 5a0000000003 "" "types" <<'EOF'
function upgrade()
  op.create_table("t", op.column("id", "integer", { primary_key = true }),
    op.column("name", "strng(20)"),
    op.column("addr", "inet"),
    op.column("doc", "tsvector"),
    op.column("span", "int4range"),
    op.column("mail", "citext"),
    op.column("amount", "numeric(10, 2)"))
end

function downgrade()
  op.drop_table("t")
end
EOF
f=$REV_FILE
lm lint
expect_exit 1
line=$(grep -n 'op.create_table' "$f" | cut -d: -f1)
expect_out_matches "^${f}:$line: error \[unknown-type\] unknown type \"strng\(20\)\""
expect_out_count 1 'unknown-type'
lm lint --dialect sqlite
expect_exit 1
expect_out_contains 'unknown type "inet"'
expect_out_contains 'unknown type "strng(20)"'

# ---------------------------------------------------------------------------
t_case "checksums: the refusal names stamp --checksums-only, which re-records only that"
new_project
chain3
lm upgrade "$R2"
expect_exit 0
f=$(ls versions/"${R1}"_*.lua)
printf '\n-- a comment added later\n' >>"$f"
lm upgrade head
expect_exit 1
expect_err_contains "luamig stamp --checksums-only $R1"
expect_err_contains "$(wc -l <"$f") lines now"
expect_no_table t_three
lm stamp --checksums-only 3a8
expect_exit 0
expect_out_equals "Re-recorded the checksum of $R1"
expect_eq "$(version_rows | tr '\n' ' ')" "$R1 $R2 " "version rows after --checksums-only"
lm stamp --checksums-only "$R3"
expect_exit 2
expect_err_contains "not applied"
lm upgrade head
expect_exit 0
expect_table t_three

t_done
