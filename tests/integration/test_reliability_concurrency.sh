#!/usr/bin/env bash
# Concurrency (issue 8, SPEC §5): 16 `luamig upgrade head` started at once on
# the same database all exit 0, and each revision runs exactly once: every
# revision inserts one row naming itself into a log table (bulk_insert), so a
# revision that ran twice would leave two rows; the version table has one row
# per revision, and the database equals one migrated by a single run.
# Rounds: an empty database (on SQLite not even the file exists yet), a
# partly migrated one, one already at head, and an empty one where half of
# the runs are --dry-run (they roll back; the others still apply each
# revision once).
#
# LM_CONC_PROCS sets the number of simultaneous runs (default 16).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NREV=12
NPROC=${LM_CONC_PROCS:-16}

rev_id() { printf 'conc%02d' "$1"; }
rev_list() {
  local k
  for k in $(seq 1 "$1"); do rev_id "$k" && echo; done
}

# write_chain: conc01 creates the log table; every revision creates a table
# x_K with some rows (so that runs overlap) and logs itself.
write_chain() {
  local k down create_log
  for k in $(seq 1 $NREV); do
    down="" create_log=""
    [ "$k" -gt 1 ] && down=$(rev_id $((k - 1)))
    [ "$k" = 1 ] && create_log='op.create_table("runlog",
    op.column("id", "integer", { primary_key = true }),
    op.column("rev", "string(32)", { nullable = false }))'
    mkrev "$(rev_id "$k")" "$down" "concurrent step $k" <<EOF
function upgrade()
  $create_log
  op.create_table("x_$k",
    op.column("id", "integer", { primary_key = true }),
    op.column("v", "integer", { nullable = false }))
  op.create_index("ix_x_${k}_v", "x_$k", { "v" })
  local rows = {}
  for i = 1, 400 do rows[i] = { v = i } end
  op.bulk_insert("x_$k", rows)
  op.bulk_insert("runlog", { { rev = "$(rev_id "$k")" } })
end

function downgrade()
  op.execute("DELETE FROM runlog WHERE rev = '$(rev_id "$k")'")
  op.drop_table("x_$k")
end
EOF
  done
}

# run_together ROUND [ARGS...]: starts $NPROC `upgrade head` at once (with
# ARGS for the even-numbered ones, e.g. --dry-run), waits for all of them and
# checks that each exited 0 without an error. Sets RUNS to the number of
# "Running upgrade" lines the runs without ARGS printed in all. Afterwards
# LM_CMD / LM_RC / LM_OUT / LM_ERR describe all the runs, so that a failed
# check of the database shows what every run printed.
run_together() {
  local round=$1 j all_rc="" all_out="" all_err=""
  shift
  for j in $(seq 1 "$NPROC"); do
    if [ $# -gt 0 ] && [ $((j % 2)) = 0 ]; then
      lm_bg "r${round}_$j" --url "$LM_URL" upgrade head "$@"
    else
      lm_bg "r${round}_$j" --url "$LM_URL" upgrade head
    fi
  done
  RUNS=0
  for j in $(seq 1 "$NPROC"); do
    lm_wait "r${round}_$j"
    expect_exit 0
    expect_err_not_contains "error:"
    if [ $# -eq 0 ] || [ $((j % 2)) = 1 ]; then
      RUNS=$((RUNS + $(grep -c '^Running upgrade ' <<<"$LM_OUT")))
    fi
    all_rc+="$LM_RC "
    all_out+="[run $j] $LM_OUT"$'\n'
    all_err+="[run $j] $LM_ERR"$'\n'
  done
  LM_CMD="$NPROC x luamig --url $(mask "$LM_URL") upgrade head $* (at once)"
  LM_RC=$all_rc LM_OUT=$all_out LM_ERR=$all_err
}

# expect_each_once: the log table has exactly one row per revision and the
# version table one row per revision.
expect_each_once() {
  local want
  want=$(for k in $(seq 1 $NREV); do echo "$(rev_id "$k")|1"; done)
  expect_same "$(db_query "SELECT rev || '|' || count(*) FROM runlog GROUP BY rev ORDER BY rev")" "$want" \
    "log rows per revision (- got, + want)"
  expect_same "$(version_rows)" "$(rev_list $NREV)" "version table (- got, + want)"
}

# ---------------------------------------------------------------------------
t_case "reference: one run"
new_project
write_chain
lm upgrade head
expect_exit 0
expect_out_count "$NREV" '^Running upgrade '
REFERENCE=$(db_schema)

t_case "$NPROC runs at once on an empty database"
use_url "$(fresh_url)"
run_together 1
expect_eq "$RUNS" "$NREV" "revisions run by all $NPROC processes together"
expect_each_once
expect_same "$(db_schema)" "$REFERENCE" "database after the concurrent runs (-) vs one run (+)"

t_case "$NPROC runs at once on a partly migrated database"
use_url "$(fresh_url)"
lm --url "$LM_URL" upgrade "$(rev_id 4)"
expect_exit 0
run_together 2
expect_eq "$RUNS" $((NREV - 4)) "revisions run by all $NPROC processes together"
expect_each_once
expect_same "$(db_schema)" "$REFERENCE" "database after the concurrent runs (-) vs one run (+)"

t_case "$NPROC runs at once on a database at head"
run_together 3
expect_eq "$RUNS" 0 "revisions run when everything was applied"
expect_each_once
expect_same "$(db_schema)" "$REFERENCE" "database after the concurrent runs (-) vs one run (+)"

t_case "$NPROC runs at once, half of them with --dry-run"
use_url "$(fresh_url)"
run_together 4 --dry-run
expect_eq "$RUNS" "$NREV" "revisions run (and kept) by the $((NPROC - NPROC / 2)) real runs together"
expect_each_once
expect_same "$(db_schema)" "$REFERENCE" "database after the concurrent runs (-) vs one run (+)"

t_done
