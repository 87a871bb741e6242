#!/usr/bin/env bash
# Branches (issue 7, SPEC §3, §5, §7): two heads, `upgrade heads`, `branches`,
# `merge`, revision --head, depends_on, --json on current/history/heads;
# branch_labels and LABEL@head, revision --branch-label --head base and
# --depends-on, (branchpoint)/(mergepoint) in history, `current` with several
# applied heads, downgrades that stay on one branch (REV and REV-N), offline
# scripts across a merge point (upgrade heads / base:MERGE / MERGE:base
# --sql run by psql/sqlite3 equal the online run), and the version table's
# one row per applied revision.
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


# ===========================================================================
# Labelled branches, a new labelled base, depends_on, downgrades on one
# branch, the version table with several heads, and offline scripts across a
# merge point. The tree:
#
#   B0 (t_root) ─┬─ LA1 (t_a1, branch_labels "alpha") ── LA2 (t_a2, 2 rows into t_a1)
#                └─ LB1 (t_b1, branch_labels {"beta"}) ── LB2 (t_b2)
#   and, in the merge-point cases, LM (t_merged, 1 row) merging LA2 and LB2.

readonly LA1=6b00000000a1 LA2=6b00000000a2 LB1=6b00000000b1 LB2=6b00000000b2
readonly LM=6b000000000f LG1=6b00000000c1 LG2=6b00000000c2

labelled_tree() {
  table_rev "$B0" "" t_root
  table_rev "$LA1" "$B0" t_a1 'branch_labels = "alpha"'
  mkrev "$LA2" "$LA1" "create t_a2" <<'EOF'
function upgrade()
  op.create_table("t_a2", op.column("id", "integer", { primary_key = true }))
  op.bulk_insert("t_a1", { { id = 1 }, { id = 2 } })
end

function downgrade()
  op.execute("DELETE FROM t_a1 WHERE id IN (1, 2)")
  op.drop_table("t_a2")
end
EOF
  table_rev "$LB1" "$B0" t_b1 'branch_labels = { "beta" }'
  table_rev "$LB2" "$LB1" t_b2
}

merge_rev() {
  mkrev "$LM" "{ \"$LA2\", \"$LB2\" }" "merge alpha and beta" <<'EOF'
function upgrade()
  op.create_table("t_merged", op.column("id", "integer", { primary_key = true }))
  op.bulk_insert("t_merged", { { id = 7 } })
end

function downgrade()
  op.drop_table("t_merged")
end
EOF
}

# sorted_lines TEXT...: the arguments, one a line, sorted.
sorted_lines() { printf '%s\n' "$@" | sort; }

# expect_current LINE...: `luamig current` prints exactly these lines (any order).
expect_current() {
  lm current
  expect_exit 0
  expect_same "$(sort <<<"$LM_OUT")" "$(sorted_lines "$@")" "luamig current (- got, + want)"
}

# expect_versions REV...: the version table holds exactly these revisions.
expect_versions() {
  expect_same "$(version_rows)" "$(sorted_lines "$@")" "version table rows (- got, + want)"
}

# ---------------------------------------------------------------------------
t_case "branch_labels: LABEL@head upgrades only that branch"
new_project
labelled_tree
lm upgrade alpha@head
expect_exit 0
expect_out_count 3 '^Running upgrade '
expect_out_order "Running upgrade <base> -> $B0," "Running upgrade $B0 -> $LA1," "Running upgrade $LA1 -> $LA2,"
expect_table t_root
expect_table t_a1
expect_table t_a2
expect_no_table t_b1
expect_no_table t_b2
expect_current "$LA2 (head)"
lm upgrade beta@head
expect_exit 0
expect_out_count 2 '^Running upgrade '
expect_out_order "Running upgrade $B0 -> $LB1," "Running upgrade $LB1 -> $LB2,"
expect_table t_b1
expect_table t_b2

t_case "current shows every applied head, one line each"
expect_current "$LA2 (head)" "$LB2 (head)"

t_case "version table: one row per applied revision with two heads applied"
expect_versions "$B0" "$LA1" "$LA2" "$LB1" "$LB2"
want_rows=$(for f in versions/*.lua; do
  id=$(basename "$f")
  printf '%s|NULL|%s\n' "${id%%_*}" "$(sha256sum "$f" | cut -d' ' -f1)"
done | sort)
expect_same "$(db_query "SELECT revision || '|' || coalesce(step, 'NULL') || '|' || checksum
                           FROM luamig_version ORDER BY revision")" "$want_rows" \
  "revision|step|checksum rows (- got, + want)"

t_case "a label's branch alone: LABEL@-1, LABEL@base, LABEL@+1, LABEL@head-1, LABEL@heads"
lm downgrade alpha@-1
expect_exit 0
expect_out_count 1 '^Running downgrade '
expect_out_contains "Running downgrade $LA2 -> $LA1,"
expect_current "$LA1" "$LB2 (head)"
lm downgrade alpha@base
expect_exit 0
expect_out_count 1 '^Running downgrade '
expect_out_contains "Running downgrade $LA1 -> $B0,"
expect_table t_root
expect_no_table t_a1
expect_versions "$B0" "$LB1" "$LB2"
lm downgrade alpha@-1
expect_exit 2
expect_err_contains "cannot downgrade alpha@-1: only 0 revisions of that branch are applied"
lm upgrade alpha@+1
expect_exit 0
expect_out_count 1 '^Running upgrade '
expect_out_contains "Running upgrade $B0 -> $LA1,"
lm upgrade alpha@+2
expect_exit 2
expect_err_contains "cannot upgrade alpha@+2: only 1 revision of that branch is pending"
lm downgrade beta@head-1
expect_exit 0
expect_out_count 1 '^Running downgrade '
expect_out_contains "Running downgrade $LB2 -> $LB1,"
expect_versions "$B0" "$LA1" "$LB1"
lm upgrade beta@heads
expect_exit 0
expect_out_count 1 '^Running upgrade '
expect_out_contains "Running upgrade $LB1 -> $LB2,"
lm upgrade alpha@base
expect_exit 0
expect_err_contains "Already at"
lm upgrade alpha@sideways
expect_exit 2
expect_err_contains "invalid target 'alpha@sideways'"
lm upgrade heads
expect_exit 0
expect_versions "$B0" "$LA1" "$LA2" "$LB1" "$LB2"

t_case "stamp LABEL@head records the branch's head, not the revision that carries the label"
lm stamp base
expect_exit 0
expect_versions
lm stamp alpha@head
expect_exit 0
expect_versions "$B0" "$LA1" "$LA2"
lm stamp heads
expect_exit 0
expect_versions "$B0" "$LA1" "$LA2" "$LB1" "$LB2"

t_case "stamp, as Alembic's, moves only the target's branch; the other branch keeps its rows"
before=$(db_query "SELECT applied_at FROM luamig_version WHERE revision = '$LB2'")
lm stamp "$LA1"
expect_exit 0
expect_versions "$B0" "$LA1" "$LB1" "$LB2"
expect_eq "$(db_query "SELECT applied_at FROM luamig_version WHERE revision = '$LB2'")" "$before" \
  "the other branch's row untouched"
expect_current "$LA1" "$LB2 (head)"
lm stamp "$LA2"
expect_exit 0
expect_versions "$B0" "$LA1" "$LA2" "$LB1" "$LB2"
lm stamp beta@head-1
expect_exit 0
expect_versions "$B0" "$LA1" "$LA2" "$LB1"
lm stamp "$B0"
expect_exit 0
expect_versions "$B0"
lm stamp base
expect_exit 0
expect_versions
lm stamp heads
expect_exit 0
expect_versions "$B0" "$LA1" "$LA2" "$LB1" "$LB2"

t_case "stamp --purge empties the table first: the target alone, even over a row no file defines"
lm stamp --purge "$LA1"
expect_exit 0
expect_versions "$B0" "$LA1"
db_query "INSERT INTO luamig_version (revision, checksum) VALUES ('ghost', 'x')" >/dev/null
lm stamp "$LA2"
expect_exit 2
expect_err_contains "the database has revision 'ghost' applied, but no revision file defines it"
lm stamp --purge heads
expect_exit 0
expect_versions "$B0" "$LA1" "$LA2" "$LB1" "$LB2"
lm stamp --purge --checksums-only "$LA1"
expect_exit 2
expect_err_contains "--purge stamps a TARGET; it does not go with --checksums-only"
expect_versions "$B0" "$LA1" "$LA2" "$LB1" "$LB2"

t_case "branches lists the branch point and its children"
lm branches
expect_exit 0
expect_out_count 1 '\(branchpoint\)'
expect_out_matches "^$B0 .*\(branchpoint\)"
expect_out_contains "-> $LA1"
expect_out_contains "-> $LB1"
expect_out_not_contains "$LA2"
expect_out_not_contains "$LB2"

t_case "history marks the branch point"
lm history
expect_exit 0
expect_out_count 5 "^.* -> $(printf '6b0000000[0-9a-f]{3}')"
expect_out_count 1 '\(branchpoint\)'
expect_out_matches "-> $B0 .*\(branchpoint\)"
expect_out_count 2 '\(head\)'
expect_out_not_contains "(mergepoint)"
expect_out_order "-> $LA2" "-> $LA1" "-> $B0"
expect_out_order "-> $LB2" "-> $LB1" "-> $B0"

t_case "downgrade to a revision on one branch reverts only what lies above it there"
lm downgrade "$LA1"
expect_exit 0
expect_out_count 1 '^Running downgrade '
expect_out_contains "Running downgrade $LA2 -> $LA1,"
expect_no_table t_a2
expect_eq "$(db_query "SELECT count(*) FROM t_a1")" 0 "rows of t_a1"
expect_table t_a1
expect_table t_b1
expect_table t_b2
expect_versions "$B0" "$LA1" "$LB1" "$LB2"
expect_current "$LA1" "$LB2 (head)"
lm upgrade heads
expect_exit 0
expect_out_count 1 '^Running upgrade '
expect_out_contains "Running upgrade $LA1 -> $LA2,"

t_case "downgrade REV-1 reverts REV only, the other branch stays"
lm downgrade "$LA2-1"
expect_exit 0
expect_out_count 1 '^Running downgrade '
expect_out_contains "Running downgrade $LA2 -> $LA1,"
expect_no_table t_a2
expect_table t_b2
expect_versions "$B0" "$LA1" "$LB1" "$LB2"
expect_current "$LA1" "$LB2 (head)"
lm downgrade "$LB2-1"
expect_exit 0
expect_out_count 1 '^Running downgrade '
expect_out_contains "Running downgrade $LB2 -> $LB1,"
expect_no_table t_b2
expect_table t_b1
expect_table t_a1
expect_versions "$B0" "$LA1" "$LB1"
expect_current "$LA1" "$LB1"

t_case "downgrade to the branch point reverts both branches, keeps it"
lm downgrade "$B0"
expect_exit 0
expect_out_count 2 '^Running downgrade '
expect_out_contains "Running downgrade $LA1 -> $B0,"
expect_out_contains "Running downgrade $LB1 -> $B0,"
expect_table t_root
expect_no_table t_a1
expect_no_table t_b1
expect_versions "$B0"
expect_current "$B0"

# ---------------------------------------------------------------------------
t_case "revision --branch-label L --head base starts a new labelled branch"
new_project
labelled_tree
lm revision -m "gamma line" --branch-label gamma --head base --rev-id "$LG1"
expect_exit 0
expect_out_contains "versions/${LG1}_gamma_line.lua"
expect_file "versions/${LG1}_gamma_line.lua"
g1_src=$(cat "versions/${LG1}_gamma_line.lua" 2>/dev/null)
expect_text_contains "$g1_src" "revision = \"$LG1\"" "the new revision"
expect_text_contains "$g1_src" "down_revision = nil" "the new revision (a root)"
grep -qE '^branch_labels = (\{ *)?"gamma"' <<<"$g1_src"
_check $? "the new revision should set branch_labels to gamma" "$g1_src"
# give the new root something to do
sed -i 's/^function upgrade()$/&\n  op.create_table("t_g1", op.column("id", "integer", { primary_key = true }))/;
        s/^function downgrade()$/&\n  op.drop_table("t_g1")/' "versions/${LG1}_gamma_line.lua"
lm heads
expect_exit 0
expect_out_count 3 '\(head\)$'
expect_out_contains "$LG1 (gamma) (head)"
expect_out_contains "$LA2 (alpha) (head)"
expect_out_contains "$LB2 (beta) (head)"
lm history
expect_exit 0
expect_out_contains "<base> -> $LG1"
lm upgrade gamma@head
expect_exit 0
expect_out_count 1 '^Running upgrade '
expect_out_contains "Running upgrade <base> -> $LG1, gamma line"
expect_table t_g1
expect_no_table t_root
expect_current "$LG1 (head)"

t_case "revision --depends-on REV: the new revision depends on REV, which runs first"
lm revision -m "needs alpha" --head "$LG1" --depends-on "$LA2" --rev-id "$LG2"
expect_exit 0
expect_file "versions/${LG2}_needs_alpha.lua"
g2_src=$(cat "versions/${LG2}_needs_alpha.lua" 2>/dev/null)
expect_text_contains "$g2_src" "down_revision = \"$LG1\"" "the new revision"
grep -qE "^depends_on = (\\{ *)?\"$LA2\"" <<<"$g2_src"
_check $? "the new revision should set depends_on to $LA2" "$g2_src"
# as `alembic heads`: LA2 is still a head, one that LG2 depends on
lm heads
expect_exit 0
expect_out_count 2 '\(head\)$'
expect_out_contains "$LG2 (gamma) (head)"
expect_out_contains "$LA2 (alpha) (effective head)"
lm history
expect_exit 0
expect_out_contains "$LG1 ($LA2) -> $LG2 (gamma) (head), needs alpha"
lm upgrade gamma@head
expect_exit 0
expect_out_count 4 '^Running upgrade '
expect_out_order "-> $B0," "-> $LA1," "-> $LA2," "-> $LG2,"
expect_out_not_contains "-> $LB1,"
expect_table t_a2
expect_no_table t_b1
expect_versions "$B0" "$LA1" "$LA2" "$LG1" "$LG2"
lm downgrade "$LA1"
expect_exit 0
expect_out_order "Running downgrade $LG2 " "Running downgrade $LA2 "
expect_versions "$B0" "$LA1" "$LG1"

# ---------------------------------------------------------------------------
# The online reference: every revision applied by `upgrade heads`.
t_case "upgrade heads --sql on two heads gives the online schema"
new_project
labelled_tree
lm upgrade heads
expect_exit 0
online_two_heads=$(db_schema)
offline_url=$(fresh_url)
lm upgrade heads --sql
expect_exit 0
printf '%s\n' "$LM_OUT" >"$LM_TMP/two_heads.sql"
expect_ok "the upgrade heads script runs" db_apply_script "$LM_TMP/two_heads.sql" "$offline_url"
expect_same "$(db_schema "$offline_url")" "$online_two_heads" "db_schema: script (-) vs online (+)"

t_case "merge point: history marks (mergepoint) and (branchpoint)"
merge_rev
lm history
expect_exit 0
expect_out_count 1 '\(mergepoint\)'
expect_out_count 1 '\(branchpoint\)'
expect_out_matches "-> $LM .*\(mergepoint\)"
expect_out_matches "^($LA2, $LB2|$LB2, $LA2) -> $LM "
expect_out_matches "-> $B0 .*\(branchpoint\)"
expect_out_count 1 '\(head\)'
lm heads
expect_exit 0
expect_out_count 1 '\(head\)'
expect_out_contains "$LM"

t_case "online upgrade across the merge point"
lm upgrade heads
expect_exit 0
expect_out_count 1 '^Running upgrade '
expect_out_matches "^Running upgrade ($LA2, $LB2|$LB2, $LA2) -> $LM, merge alpha and beta"
expect_current "$LM (head)"
expect_versions "$B0" "$LA1" "$LA2" "$LB1" "$LB2" "$LM"
online_merged=$(db_schema)

t_case "upgrade heads --sql across a merge point gives the online schema"
offline_url=$(fresh_url)
lm upgrade heads --sql
expect_exit 0
expect_out_count 6 '^BEGIN;$'
expect_out_order "$B0" "$LM"
printf '%s\n' "$LM_OUT" >"$LM_TMP/heads.sql"
expect_ok "the upgrade heads script runs" db_apply_script "$LM_TMP/heads.sql" "$offline_url"
expect_same "$(db_schema "$offline_url")" "$online_merged" "db_schema: script (-) vs online (+)"

t_case "upgrade base:MERGE --sql gives the online schema"
offline_url=$(fresh_url)
lm upgrade "base:$LM" --sql
expect_exit 0
expect_out_count 6 '^BEGIN;$'
printf '%s\n' "$LM_OUT" >"$LM_TMP/base_merge.sql"
expect_ok "the base:MERGE script runs" db_apply_script "$LM_TMP/base_merge.sql" "$offline_url"
expect_same "$(db_schema "$offline_url")" "$online_merged" "db_schema: script (-) vs online (+)"
merged_by_script=$offline_url

t_case "upgrade BRANCH_HEAD:MERGE --sql brings in the other branch and the merge"
part_url=$(fresh_url)
lm --url "$part_url" upgrade "$LA2"
expect_exit 0
lm upgrade "$LA2:$LM" --sql
expect_exit 0
expect_out_count 3 '^BEGIN;$'
expect_out_not_contains "t_a2"
printf '%s\n' "$LM_OUT" >"$LM_TMP/a2_merge.sql"
expect_ok "the LA2:MERGE script runs" db_apply_script "$LM_TMP/a2_merge.sql" "$part_url"
expect_same "$(db_schema "$part_url")" "$online_merged" "db_schema: online to LA2 + script (-) vs online (+)"

t_case "downgrade MERGE:base --sql gives the online downgrade's schema"
lm downgrade "$LM:base" --sql
expect_exit 0
expect_out_count 6 '^BEGIN;$'
expect_out_order "$LM" "$B0"
printf '%s\n' "$LM_OUT" >"$LM_TMP/merge_base.sql"
expect_ok "the MERGE:base downgrade script runs" db_apply_script "$LM_TMP/merge_base.sql" "$merged_by_script"
lm downgrade base
expect_exit 0
expect_out_count 6 '^Running downgrade '
online_base=$(db_schema)
expect_eq "$(version_rows)" "" "version rows after downgrade base"
expect_same "$(db_schema "$merged_by_script")" "$online_base" "db_schema: script (-) vs online (+)"

t_case "downgrade from the merge point to one branch's head keeps both branches"
lm upgrade heads
expect_exit 0
lm downgrade "$LA2"
expect_exit 0
expect_out_count 1 '^Running downgrade '
expect_out_contains "Running downgrade $LM -> "
expect_no_table t_merged
expect_table t_a2
expect_table t_b2
expect_current "$LA2" "$LB2"
expect_versions "$B0" "$LA1" "$LA2" "$LB1" "$LB2"

# ===========================================================================
# The commands that write revisions, and the output of history, heads,
# branches and current, as an Alembic user knows them.

readonly BC=6b00000000ac MH=6b00000000e0

t_case "the several-heads hint of revision is a command that runs"
new_project
table_rev "$B0" "" t_root
table_rev "$BA" "$B0" t_a
table_rev "$BB" "$B0" t_b
lm revision -m "ambiguous"
expect_exit 2
hint=$(grep -oE "'luamig merge -m MSG [^']*'" <<<"$LM_ERR" | head -n 1)
hint=${hint//\'/}
expect_eq "$hint" "luamig merge -m MSG $BA $BB" "the suggested merge"
read -ra hint_words <<<"${hint#luamig }"
lm "${hint_words[@]}"
expect_exit 0
lm heads
expect_exit 0
expect_out_count 1 '\(head\)$'

t_case "merge heads merges every head, as alembic merge heads"
new_project
table_rev "$B0" "" t_root
table_rev "$BA" "$B0" t_a
table_rev "$BB" "$B0" t_b
lm merge -m "all heads" heads --rev-id "$MH"
expect_exit 0
expect_out_equals "versions/${MH}_all_heads.lua"
expect_text_contains "$(cat "versions/${MH}_all_heads.lua" 2>/dev/null)" \
  "down_revision = { \"$BA\", \"$BB\" }" "the merge revision"
lm heads
expect_out_equals "$MH (head)"
lm merge -m "again" heads
expect_exit 2
expect_err_contains "the chain has one head ($MH): nothing to merge"
lm merge -m "twice" "$BA" "$BA"
expect_exit 2
expect_err_contains "revision $BA is named twice"

t_case "revision --depends-on repeated keeps every dependency; --branch-label takes one"
new_project
table_rev "$B0" "" t_root
table_rev "$BA" "$B0" t_a 'branch_labels = "alpha"'
table_rev 6b00000000d0 "" t_other
lm revision -m "needs two" --head 6b00000000d0 --depends-on "$B0" --depends-on alpha --rev-id 6b00000000d2
expect_exit 0
expect_text_contains "$(cat versions/6b00000000d2_needs_two.lua 2>/dev/null)" \
  "depends_on = { \"$B0\", \"alpha\" }" "the new revision"
lm history
expect_exit 0
expect_out_contains "6b00000000d0 ($B0, alpha) -> 6b00000000d2 (head), needs two"
lm revision -m "comma" --depends-on "$B0,$BA"
expect_exit 2
expect_err_contains "repeat it for several"
lm revision -m "two labels" --head 6b00000000d2 --branch-label x --branch-label y
expect_exit 2
expect_err_contains "--branch-label given 2 times"
expect_eq "$(ls versions | grep -c two_labels)" 0 "files written for two labels"

t_case "history, heads and branches print as Alembic's"
new_project
table_rev "$B0" "" t_root
table_rev "$BA" "$B0" t_a 'branch_labels = "feat"'
table_rev "$BC" "$BA" t_c
table_rev "$BB" "$B0" t_b
lm history
expect_exit 0
expect_out_equals "$B0 -> $BB (head), create t_b
$BA -> $BC (feat) (head), create t_c
$B0 -> $BA (feat), create t_a
<base> -> $B0 (branchpoint), create t_root"
lm heads
expect_exit 0
expect_same "$(sort <<<"$LM_OUT")" "$(sorted_lines "$BC (feat) (head)" "$BB (head)")" "heads (- got, + want)"
lm branches
expect_exit 0
expect_out_equals "$B0 (branchpoint)
$(printf '%12s' '') -> $BA (feat)
$(printf '%12s' '') -> $BB (head)"
lm branches -v
expect_exit 0
expect_out_contains "Rev: $B0 (branchpoint)
Parent: <base>
Branches into: $BA, $BB
Path: versions/${B0}_create_t_root.lua

    create t_root"
expect_out_contains "$(printf '%12s' '') -> $BA (feat), create t_a"
lm history --verbose
expect_exit 0
expect_out_contains "Rev: $BA
Parent: $B0
Branch names: feat
Path: versions/${BA}_create_t_a.lua

    create t_a
    
    Revision ID: $BA"
expect_out_not_matches '^     '
mkrev "$MH" "{ \"$BC\", \"$BB\" }" "join" <<'EOF'
function upgrade()
end

function downgrade()
end
EOF
lm history -v
expect_exit 0
expect_out_contains "Rev: $MH (head) (mergepoint)
Merges: $BC, $BB
Branch names: feat"
expect_out_not_contains "Parent: $BC"
lm history
expect_out_contains "$BC, $BB -> $MH (feat) (head) (mergepoint), join"
lm upgrade heads
expect_exit 0
lm history -v -i
expect_exit 0
expect_out_contains "Rev: $MH (head) (mergepoint) (current)"
lm current -v
expect_exit 0
expect_out_matches '^Current revision\(s\) for '
expect_out_contains "Rev: $MH (head) (mergepoint)
Merges: $BC, $BB"
lm current
expect_out_equals "$MH (head)"

t_case "with several versions folders a revision goes beside its parent"
new_project
printf 'return {\n  url = "%s",\n  versions = { "versions", "more" },\n}\n' "$LM_URL" >luamig.lua
mkrev "$B0" "" "root" more <<'EOF'
function upgrade()
end
EOF
lm revision -m "next" --rev-id "$BA"
expect_exit 0
expect_out_equals "more/${BA}_next.lua"
expect_file "more/${BA}_next.lua"
expect_no_file "versions/${BA}_next.lua"
lm revision -m "new root" --head base --rev-id "$BB"
expect_exit 0
expect_file "versions/${BB}_new_root.lua"
# a merge goes beside its first parent
lm merge -m "join" "$BA" "$BB" --rev-id "$MH"
expect_exit 0
expect_file "more/${MH}_join.lua"

t_done
