#!/usr/bin/env bash
# Branches (SPEC §3, §7): two heads, `upgrade heads`, `branches`, `merge`,
# revision --head, depends_on, --json on current/history/heads.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly B0=6b0000000000 BA=6b00000000aa BB=6b00000000bb

table_rev() { # table_rev ID DOWN TABLE [EXTRA_GLOBALS]
  mkrev "$1" "$2" "create $3" <<EOF
${4:-}
function upgrade()
  op.create_table("$3", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("$3")
end
EOF
}

# ---------------------------------------------------------------------------
t_case "two heads: heads lists both, upgrade head refuses, upgrade heads applies both"
new_project
table_rev "$B0" "" t_root
table_rev "$BA" "$B0" t_a
table_rev "$BB" "$B0" t_b
lm heads
expect_exit 0
expect_out_count 2 '\(head\)$'
expect_out_contains "$BA (head)"
expect_out_contains "$BB (head)"
lm branches
expect_exit 0
expect_out_contains "$B0"
lm upgrade head
expect_exit_nonzero
expect_err_error_line
expect_no_table t_root
lm upgrade heads
expect_exit 0
expect_table t_a
expect_table t_b
lm current
expect_exit 0
expect_out_count 2 '\(head\)$'
expect_out_contains "$BA (head)"
expect_out_contains "$BB (head)"

t_case "upgrade to one branch's head applies only its ancestors"
lm downgrade base
expect_exit 0
expect_out_count 3 '^Running downgrade '
expect_no_table t_root
lm upgrade "$BA"
expect_exit 0
expect_table t_a
expect_no_table t_b
lm current
expect_out_equals "$BA (head)"
lm upgrade heads
expect_exit 0
expect_out_count 1 '^Running upgrade '
expect_table t_b

t_case "revision on two heads needs --head"
lm revision -m "ambiguous"
expect_exit_nonzero
expect_err_error_line
lm revision -m "on a" --head "$BA" --rev-id 6b00000000ac
expect_exit 0
expect_file versions/6b00000000ac_on_a.lua
expect_text_contains "$(cat versions/6b00000000ac_on_a.lua 2>/dev/null)" "down_revision = \"$BA\"" "the new revision on --head"
rm -f versions/6b00000000ac_on_a.lua

t_case "merge makes a revision whose down_revision lists the heads"
lm merge -m "join branches" "$BA" "$BB" --rev-id 6b00000000ff
if [ "$LM_RC" != 0 ]; then # --rev-id is not promised for merge
  lm merge -m "join branches" "$BA" "$BB"
fi
expect_exit 0
merge_file=$(grep -oE 'versions/[A-Za-z0-9_]+_join_branches\.lua' <<<"$LM_OUT" | head -n 1)
expect_file "$merge_file"
merge_src=$(cat "$merge_file" 2>/dev/null)
expect_text_contains "$merge_src" "$BA" "the merge revision"
expect_text_contains "$merge_src" "$BB" "the merge revision"
merge_id=$(basename "$merge_file" | sed 's/_join_branches\.lua$//')
lm heads
expect_out_equals "$merge_id (head)"
lm upgrade head
expect_exit 0
expect_out_count 1 '^Running upgrade '
lm current
expect_out_equals "$merge_id (head)"
lm history
expect_exit 0
expect_out_contains "$merge_id"

t_case "downgrade from the merge point"
lm downgrade -1
expect_exit 0
lm current
expect_out_count 2 "^($BA|$BB)\$"

# ---------------------------------------------------------------------------
t_case "depends_on: a dependency is applied first"
new_project
table_rev "$B0" "" t_root
table_rev "$BA" "$B0" t_a
table_rev 6b00000000d1 "" t_other 'depends_on = "6b00000000aa"'
lm upgrade 6b00000000d1
expect_exit 0
expect_table t_a
expect_table t_other
expect_table t_root

# ---------------------------------------------------------------------------
t_case "--json on current, history, heads"
new_project
table_rev "$B0" "" t_root
table_rev "$BA" "$B0" t_a
lm upgrade head
expect_exit 0
for cmd in current history heads; do
  lm --json "$cmd"
  expect_exit 0
  expect_out_matches '^[[{]'
  expect_out_contains "\"$BA\""
done

t_done
