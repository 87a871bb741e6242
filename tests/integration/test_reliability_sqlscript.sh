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
  { name = "expand'); DROP TABLE victim; --", up = function() op.create_table("h_three", op.column("id", "integer")) end,
    down = function() op.drop_table("h_three") end },
  { name = "contract */ DELETE FROM victim; /*", up = function() op.create_table("h_four", op.column("id", "integer")) end,
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
expect_out_contains '\n'
# each comment is one line: the line after it is the blank one luamig writes
# (a revision's text may still span lines inside a quoted literal: data)
expect_eq "$(grep -a -c '^-- Running' "$script")" "5" "comment lines (one per step run)"
expect_eq "$(grep -a -A1 '^-- Running' "$script" | grep -a -v -e '^-- Running' -e '^--$' | grep -a -c .)" "0" \
  "text on the line after a comment"
expect_eq "$(grep -a -c $'\x1b' "$script")" "0" "terminal escapes in the script"
expect_ok "the script applies" db_apply_script "$script"
expect_eq "$(db_query "SELECT count(*) FROM victim")" "1" "victim keeps its row"
expect_eq "$(db_query "SELECT count(*) FROM $(pick sqlite_master information_schema.tables) WHERE $(pick name table_name) LIKE 'h_%'")" "5" "the script created the tables"

t_case "downgrade --sql: the same"
lm downgrade head:6a0000000001 --sql
expect_exit 0
printf '%s\n' "$LM_OUT" >"$LM_TMP/down.sql"
expect_eq "$(grep -a -A1 '^-- Running' "$LM_TMP/down.sql" | grep -a -v -e '^-- Running' -e '^--$' | grep -a -c .)" "0" \
  "text on the line after a comment"
expect_ok "the script applies" db_apply_script "$LM_TMP/down.sql"
expect_eq "$(db_query "SELECT count(*) FROM victim")" "1" "victim keeps its row"

t_case "a step name with a line break or a terminal escape is refused"
cat >versions/6a0000000006_badstep.lua <<'EOF2'
revision = "6a0000000006"
down_revision = "6a0000000005"
steps = {
  { name = "one\nDROP TABLE victim;", up = function() end, down = function() end },
}
EOF2
lm upgrade head --sql
expect_exit 2
expect_err_contains "6a0000000006_badstep.lua"
expect_err_contains "control character"
rm versions/6a0000000006_badstep.lua

t_case "--sql (or any output) to a closed or full stdout fails; the script goes nowhere else"
# The script is held in a memory file until it is whole; with stdout
# closed, that file must not take stdout's number and swallow the script.
lm upgrade head --sql
expect_exit 0
want=$LM_OUT
before=$(ls -A versions | sort | md5sum)
timeout 60 "$LUAMIG" upgrade head --sql >&- 2>"$LM_TMP/closed.err" </dev/null
expect_eq "$?" "1" "exit status with stdout closed"
expect_ok "the error names the failed write" grep -q "writing the script failed" "$LM_TMP/closed.err"
timeout 60 "$LUAMIG" upgrade head --sql >/dev/full 2>"$LM_TMP/full.err" </dev/null
expect_eq "$?" "1" "exit status with stdout full"
expect_ok "the error names the failed write" grep -q "writing the script failed" "$LM_TMP/full.err"
expect_eq "$(ls -A versions | sort | md5sum)" "$before" "no file appeared among the revisions"
# the same for a command that only prints
timeout 60 "$LUAMIG" history >/dev/full 2>"$LM_TMP/hist.err" </dev/null
expect_eq "$?" "1" "history's exit status with stdout full"
expect_ok "history names the failed write" grep -q "writing to standard output failed" "$LM_TMP/hist.err"
# through a pipe and into a file: the same script as lm captured
timeout 60 "$LUAMIG" upgrade head --sql </dev/null | cat >"$LM_TMP/piped.sql"
expect_eq "$(<"$LM_TMP/piped.sql")" "$want" "the script through a pipe"
timeout 60 "$LUAMIG" upgrade head --sql </dev/null >"$LM_TMP/file.sql"
expect_eq "$(<"$LM_TMP/file.sql")" "$want" "the script into a file"
lm current
expect_exit 0
expect_out_contains "6a0000000001"

t_case "history shows the texts without terminal escapes"
lm history
expect_exit 0
expect_out_not_contains $'\x1b'
expect_out_not_contains $'\r'
lm history --json
expect_exit 0
expect_ok "history --json is valid JSON" python3 -c 'import json,sys; json.loads(sys.stdin.read())' <<<"$LM_OUT"

t_done
