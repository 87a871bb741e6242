#!/usr/bin/env bash
# A `--sql` script holds nothing a revision wrote outside a literal except
# one-line comments: a message, step name or file name with line breaks,
# carriage returns, control characters or terminal escapes stays inside its
# `--` comment (escaped as \n, \r, \xNN), so applying the script with
# sqlite3 / psql -f never runs text from a message. A table `victim` that
# the hostile texts try to drop keeps its row.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

new_project
mkrev 6a0000000001 "" "victim" <<'EOF2'
function upgrade()
  op.create_table("victim", op.column("id", "integer", { primary_key = true }))
  op.bulk_insert("victim", { { id = 1 } })
end
function downgrade() op.drop_table("victim") end
EOF2
lm upgrade head
expect_exit 0

# hostile revisions: written by hand, their texts in Lua escapes
cat >"versions/6a0000000002_hostile message.lua" <<'EOF2'
revision = "6a0000000002"
down_revision = "6a0000000001"
message = "innocent\nDROP TABLE victim;\n-- "
function upgrade() op.create_table("h_one", op.column("id", "integer")) end
function downgrade() op.drop_table("h_one") end
EOF2
cat >"versions/6a0000000003_cr.lua" <<'EOF2'
revision = "6a0000000003"
down_revision = "6a0000000002"
message = "carriage\rDROP TABLE victim;\r\x0bDELETE FROM victim;\x0c\x1b[2J\x85DELETE FROM victim;"
function upgrade() op.create_table("h_two", op.column("id", "integer")) end
function downgrade() op.drop_table("h_two") end
EOF2
cat >"versions/6a0000000004_steps.lua" <<'EOF2'
revision = "6a0000000004"
down_revision = "6a0000000003"
message = "steps"
steps = {
  { name = "expand\nDROP TABLE victim;\n--", up = function() op.create_table("h_three", op.column("id", "integer")) end,
    down = function() op.drop_table("h_three") end },
  { name = "contract\r\nDELETE FROM victim;", up = function() op.create_table("h_four", op.column("id", "integer")) end,
    down = function() op.drop_table("h_four") end },
}
EOF2
# a file name with a line break in it
nl_file=$'versions/6a0000000005_x\nDROP TABLE victim;.lua'
cat >"$nl_file" <<'EOF2'
revision = "6a0000000005"
down_revision = "6a0000000004"
message = "file name"
function upgrade() op.create_table("h_five", op.column("id", "integer")) end
function downgrade() op.drop_table("h_five") end
EOF2

t_case "upgrade --sql: every comment is one line"
lm upgrade 6a0000000001:head --sql
expect_exit 0
script=$LM_TMP/up.sql
printf '%s\n' "$LM_OUT" >"$script"
expect_out_not_matches '^[[:space:]]*DROP TABLE victim'
expect_out_not_matches '^[[:space:]]*DELETE FROM victim'
expect_out_contains '\n'
# every line is SQL luamig wrote or a comment: no line starts with the texts
bad=$(grep -c -E '^(DROP|DELETE|innocent|carriage|contract)' "$script")
expect_eq "$bad" "0" "lines that start with a revision's text"
expect_eq "$(grep -c $'\r' "$script")" "0" "carriage returns in the script"
expect_eq "$(grep -c $'\x1b' "$script")" "0" "terminal escapes in the script"
expect_ok "the script applies" db_apply_script "$script"
expect_eq "$(db_query "SELECT count(*) FROM victim")" "1" "victim keeps its row"
expect_eq "$(db_query "SELECT count(*) FROM $(pick sqlite_master information_schema.tables) WHERE $(pick name table_name) LIKE 'h_%'")" "5" "the script created the tables"

t_case "downgrade --sql: the same"
lm downgrade head:6a0000000001 --sql
expect_exit 0
printf '%s\n' "$LM_OUT" >"$LM_TMP/down.sql"
expect_eq "$(grep -c -E '^(DROP TABLE victim|DELETE|innocent|carriage|contract)' "$LM_TMP/down.sql")" "0" "lines that start with a revision's text"
expect_ok "the script applies" db_apply_script "$LM_TMP/down.sql"
expect_eq "$(db_query "SELECT count(*) FROM victim")" "1" "victim keeps its row"

t_case "history shows the texts without terminal escapes"
lm history
expect_exit 0
expect_out_not_contains $'\x1b'
expect_out_not_contains $'\r'
lm history --json
expect_exit 0
expect_ok "history --json is valid JSON" python3 -c 'import json,sys; json.loads(sys.stdin.read())' <<<"$LM_OUT"

t_done
