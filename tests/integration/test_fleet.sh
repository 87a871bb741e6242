#!/usr/bin/env bash
# Many databases (SPEC §11): --all / --target / --jobs / --canary /
# --keep-going on upgrade, downgrade, stamp and current, on a fleet of each
# dialect: on SQLite $N_SQLITE files listed by a glob, on PostgreSQL $N_PG
# databases listed one by one in luamig.lua (the PostgreSQL directory query,
# the schemas of one database and the bad target lists are in
# test_fleet_sources.sh). luamig.lua never holds a password: on PostgreSQL it
# comes from a pgpass file, and lib.sh checks that it is never printed. No
# assertion is about timings.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source=tests/integration/fleet_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/fleet_lib.sh"

N=$N_SQLITE
is_pg && N=$N_PG
ALL_AT="$R1 $R2 $R3"

# ---------------------------------------------------------------------------
t_case "upgrade head --all on $N targets, then a rerun touches none"
fleet_project "$N"
lm upgrade head --all
expect_exit 0
expect_out_count "$N" "^t[0-9]{2}: upgraded base -> $R3 \\(3 revisions, [0-9]+ ms\\)$"
expect_out_contains "$N targets: $N upgraded"
expect_all_at "$ALL_AT" "after upgrade --all"
expect_table t_three "${T_URLS[0]}"
lm upgrade head --all
expect_exit 0
expect_out_count "$N" "^t[0-9]{2}: already at head$"
expect_out_contains "$N targets: $N already at head"

t_case "current --all: one line per target and a count per revision"
lm downgrade "$R1" --target t01 --target t02
expect_exit 0
expect_out_count 2 "^t0[12]: downgraded $R3 -> $R1 \\(2 revisions, [0-9]+ ms\\)$"
expect_out_contains "2 targets: 2 downgraded"
lm current --all
expect_exit 0
expect_out_count "$N" "^t[0-9]{2}: "
expect_out_contains "t01: $R1"
expect_out_contains "t03: $R3 (head)"
expect_out_contains "$R3 (head): $((N - 2)) targets"
expect_out_contains "$R1: 2 targets"
lm current --all --json
expect_exit 0
expect_json "assert len(d['targets']) == $N, d
assert d['revisions'] == {'$R3 (head)': $N - 2, '$R1': 2}, d['revisions']
assert [t['heads'] for t in d['targets'] if t['name'] == 't01'] == [['$R1']]"

t_case "--target globs and group names"
lm upgrade head --target 't0*'
expect_exit 0
expect_out_contains "9 targets: 2 upgraded, 7 already at head"
lm stamp "$R2" --target 't1*' --jobs 2
expect_exit 0
expect_out_contains "t10: stamped $R2 (was $R3)"
expect_eq "$(versions_of 9)" "$R1 $R2" "t10 after stamp"
lm stamp head --target 't1*'
expect_exit 0
lm upgrade head --target nosuch
expect_exit 2
expect_err_contains "--target nosuch selects no target of luamig.lua"
lm upgrade head --all --target t01
expect_exit 2
expect_err_contains "exclude each other"
lm upgrade head --jobs 2
expect_exit 2
expect_err_contains "need --all or --target"
lm upgrade head --all --jobs 0
expect_exit 2
expect_err_contains "--jobs needs a whole number"
lm upgrade head --all --sql
expect_exit 2
if is_sqlite; then
  lm current --target 'local_*'
  expect_exit 0
  expect_out_count "$N" "^t[0-9]{2}: "
fi

t_case "--json: one document with every target's result"
lm upgrade head --all --json
expect_exit 0
expect_json "assert d['command'] == 'upgrade' and d['target'] == 'head'
assert len(d['targets']) == $N
s = d['summary']
assert s['targets'] == $N and s['upgraded'] + s['unchanged'] == $N and s['failed'] == 0, s
up = [t for t in d['targets'] if t['status'] == 'upgraded']
assert len(up) == s['upgraded'] and all(t['to'] == ['$R3'] for t in up), up"

# ---------------------------------------------------------------------------
t_case "a failing target stops new starts (no --keep-going)"
fleet_project "$N"
break_target 2
lm upgrade head --all --jobs 1
expect_exit 1
expect_out_contains "t01: upgraded base -> $R3"
expect_out_contains "t02: upgraded base -> $R3"
expect_out_matches "^t03: failed at $R2: .*t_two"
expect_out_contains "$N targets: 2 upgraded, 1 failed, $((N - 3)) not started"
expect_err_contains "1 of $N targets failed: t03"
expect_eq "$(versions_of 2)" "$R1" "t03 keeps the revision before the failing one"
expect_eq "$(versions_of 3)" "" "t04 was not started"
lm upgrade head --all --jobs 1 --json
expect_exit 1
expect_json "st = {t['name']: t['status'] for t in d['targets']}
assert st['t03'] == 'failed' and st['t04'] == 'not_started', st
f = [t for t in d['targets'] if t['name'] == 't03'][0]
assert f['failed_revision'] == '$R2' and 't_two' in f['error'], f"

t_case "--keep-going goes on after the failure; a rerun after the fix touches only it"
lm upgrade head --all --keep-going
expect_exit 1
expect_out_contains "$N targets: $((N - 3)) upgraded, 2 already at head, 1 failed"
fix_target 2
lm upgrade head --all
expect_exit 0
expect_out_contains "t03: upgraded $R1 -> $R3 (2 revisions"
expect_out_contains "$N targets: 1 upgraded, $((N - 1)) already at head"
expect_all_at "$ALL_AT" "after the fix"

t_case "a canary failure starts nothing else, even with --keep-going"
fleet_project "$N"
break_target 1
lm upgrade head --all --canary 3 --keep-going
expect_exit 1
expect_out_contains "t01: upgraded base -> $R3"
expect_out_matches "^t02: failed at $R2"
expect_out_contains "$N targets: 1 upgraded, 1 failed, $((N - 2)) not started"
expect_eq "$(versions_of 2)" "" "t03 was not started"
expect_eq "$(versions_of $((N - 1)))" "" "the last target was not started"
fix_target 1
lm upgrade head --all --canary 2
expect_exit 0
expect_all_at "$ALL_AT" "after the canaries passed"

# ---------------------------------------------------------------------------
t_case "two upgrade --all at the same time: each revision once per target"
fleet_project "$N"
lm_bg first upgrade head --all --jobs 3
lm_bg second upgrade head --all --jobs 3
lm_wait first
expect_exit 0
OUT1=$LM_OUT
lm_wait second
expect_exit 0
BOTH="$OUT1"$'\n'"$LM_OUT"
UPGRADED=$(grep -cE "^t[0-9]{2}: upgraded base -> $R3 \\(3 revisions" <<<"$BOTH")
AT_HEAD=$(grep -cE "^t[0-9]{2}: already at head" <<<"$BOTH")
expect_eq "$UPGRADED" "$N" "targets upgraded over both runs"
expect_eq "$AT_HEAD" "$N" "targets already at head over both runs"
expect_all_at "$ALL_AT" "after two concurrent runs"

# ---------------------------------------------------------------------------
t_case "Ctrl-C: running targets roll back, summary so far, exit 130; a rerun resumes"
fleet_project 6
# R2 takes a while, so that the interruption finds targets inside it
sed -i 's/^function upgrade()$/function upgrade()\n  if context.revision == "'"$R2"'" then\n    if context.dialect == "postgresql" then op.execute("SELECT pg_sleep(20)")\n    else local t = os.clock() while os.clock() - t < 20 do end end\n  end/' versions/"${R2}"_*.lua
"$LUAMIG" upgrade head --all --jobs 2 >"$LM_TMP/int.out" 2>"$LM_TMP/int.err" </dev/null &
PID=$!
for _ in $(seq 1 100); do
  [ "$(versions_of 0)" = "$R1" ] && [ "$(versions_of 1)" = "$R1" ] && break
  sleep 0.1
done
sleep 0.5
kill -INT "$PID"
for _ in $(seq 1 300); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
wait "$PID"
LM_RC=$?
LM_CMD="luamig upgrade head --all --jobs 2 (interrupted)"
LM_OUT=$(cat "$LM_TMP/int.out")
# shellcheck disable=SC2034 # read by expect_err_contains
LM_ERR=$(cat "$LM_TMP/int.err")
_lm_log_run "$LM_CMD" "$LM_RC" "$LM_TMP/int.out" "$LM_TMP/int.err"
expect_exit 130
expect_out_matches "^t0[12]: interrupted at $R2: "
expect_out_contains "6 targets: 2 interrupted, 4 not started"
expect_err_contains "run the same command again to resume"
expect_eq "$(versions_of 0)" "$R1" "t01 keeps R1, its R2 rolled back"
expect_no_table() { ! has_table "$1" "$2"; _check $? "table $1 should not exist in $2"; }
expect_no_table t_two "${T_URLS[0]}"
expect_eq "$(versions_of 2)" "" "t03 was not started"
sed -i 's/pg_sleep(20)/pg_sleep(0)/; s/< 20 do/< 0 do/' versions/"${R2}"_*.lua
lm upgrade head --all
expect_exit 0
expect_out_contains "t01: upgraded $R1 -> $R3 (2 revisions"
expect_out_contains "6 targets: 6 upgraded"
expect_all_at "$ALL_AT" "after the rerun"

# ---------------------------------------------------------------------------
t_case "expand/contract across the fleet: --stop-before contract, then head"
fleet_project 4
lm upgrade head --all
mkrev e1a2b3c4d5f6 "$R3" "split" <<'EOF'
steps = {
  { name = "expand",
    up = function() op.add_column("t_one", op.column("first_name", "string(50)", { nullable = true })) end,
    down = function() op.drop_column("t_one", "first_name") end },
  { name = "contract",
    up = function() op.create_table("t_four", op.column("id", "integer", { primary_key = true })) end,
    down = function() op.drop_table("t_four") end },
}
EOF
lm upgrade head --all --stop-before contract
expect_exit 0
expect_out_count 4 "^t0[1-4]: upgraded $R3 -> e1a2b3c4d5f6 \\(expand, next: contract\\) \\(1 revision"
lm current --all
expect_out_contains "e1a2b3c4d5f6 (expand, next: contract): 4 targets"
lm upgrade head --all
expect_exit 0
expect_out_count 4 "^t0[1-4]: upgraded e1a2b3c4d5f6 \\(expand, next: contract\\) -> e1a2b3c4d5f6 \\(1 revision"
expect_table t_four "${T_URLS[3]}"

t_case "a target no database can reach: one usage error (exit 2) before any target is opened"
fleet_project 3
for args in "upgrade nosuch --all" "stamp nosuch --all" "downgrade +1 --all" \
  "upgrade head --all --stop-before nosuchstep" "upgrade nosuch+1 --target t01"; do
  # shellcheck disable=SC2086 # args is a list of words
  lm $args
  expect_exit 2
  expect_err_matches '^luamig: error: '
  expect_out_not_contains "t01:"
  expect_out_not_contains "targets:"
done
expect_eq "$(versions_of 0)" "" "version rows of t01 (no target was opened)"

t_case "a held-back step is said as such; a revision prefix is shown whole"
lm upgrade head --all
expect_exit 0
lm upgrade "${R3:0:6}" --target t01
expect_exit 0
expect_out_contains "t01: already at $R3"
mkrev e2a2b3c4d5f6 "$R3" "split" <<'EOF'
steps = {
  { name = "expand",
    up = function() op.add_column("t_one", op.column("first_name", "string(50)", { nullable = true })) end,
    down = function() op.drop_column("t_one", "first_name") end },
  { name = "contract",
    up = function() op.create_table("t_four", op.column("id", "integer", { primary_key = true })) end,
    down = function() op.drop_table("t_four") end },
}
EOF
lm upgrade head --all --stop-before contract
expect_exit 0
lm upgrade head --all --stop-before contract
expect_exit 0
expect_out_count 3 "^t0[1-3]: held back by --stop-before contract at e2a2b3c4d5f6 \\(expand, next: contract\\)$"
expect_out_contains "3 targets: 3 held back by --stop-before contract"
lm upgrade head --all --stop-before contract --json
expect_exit 0
expect_json "assert [t['status'] for t in d['targets']] == ['held_back'] * 3, d
assert [t['name'] for t in d['targets']] == ['t01', 't02', 't03'], 'listed order'
assert d['summary']['held_back'] == 3, d['summary']"

t_case "current --all shows every target it can read, whatever fails on one"
fleet_project 3
lm upgrade head --all
expect_exit 0
db_query "DROP TABLE luamig_version; CREATE TABLE luamig_version (nonsense integer)" "${T_URLS[1]}" >/dev/null
lm current --all --jobs 1
expect_exit 1
expect_out_contains "t01: $R3 (head)"
expect_out_contains "t03: $R3 (head)"
expect_text_contains "$LM_OUT" "t02: failed" "current --all output"
expect_out_not_contains "not started"

t_case "stamp --from-alembic --all adopts a fleet that Alembic migrated, once"
fleet_project 3
for i in 0 1 2; do
  db_query "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY);
            INSERT INTO alembic_version VALUES ('$R2');
            CREATE TABLE t_one (id integer PRIMARY KEY);
            CREATE TABLE t_two (id integer PRIMARY KEY)" "${T_URLS[$i]}" >/dev/null
done
lm upgrade head --all
expect_exit 1
expect_out_contains "stamp --from-alembic"
lm stamp --from-alembic --all
expect_exit 0
expect_out_count 3 "^t0[1-3]: stamped $R2 \\(was base\\)$"
lm upgrade head --target t01
expect_exit 0
expect_out_contains "t01: upgraded $R2 -> $R3"
# again: t01 is past alembic_version and stays where it is
lm stamp --from-alembic --all
expect_exit 0
expect_eq "$(versions_of 0)" "$R1 $R2 $R3" "t01's version rows after a second stamp --from-alembic"

t_case "stamp --checksums-only --all re-records a checksum on each target and moves none"
fleet_project 3
lm upgrade head --all
expect_exit 0
echo "-- a comment added after it ran" >>"$(ls versions/"${R1}"_*.lua)"
lm upgrade head --all
expect_exit 1
lm stamp --checksums-only "$R1" --all
expect_exit 0
expect_out_count 3 "^t0[1-3]: re-recorded the checksum of $R1$"
expect_all_at "$ALL_AT" "after stamp --checksums-only --all"
lm upgrade head --all
expect_exit 0
expect_out_count 3 "^t0[1-3]: already at head$"
lm stamp --checksums-only "$R1" --purge --all
expect_exit 2
expect_err_contains "--purge stamps a TARGET; it does not go with --checksums-only"

t_case "check --drift --all: each target against the chain, a hand-made index named"
fleet_project 3
lm upgrade head --all
expect_exit 0
db_query "CREATE INDEX ix_tmp ON t_one (id)" "${T_URLS[1]}" >/dev/null
lm check --drift --all
expect_exit 1
expect_out_contains "t01: ok"
expect_out_contains "t03: ok"
expect_text_contains "$LM_OUT$LM_ERR" "t02: failed" "check --drift --all output"
expect_text_contains "$LM_OUT$LM_ERR" "index 'ix_tmp' exists in the database but not in the chain" "check --drift --all output"
db_query "DROP INDEX ix_tmp" "${T_URLS[1]}" >/dev/null
lm check --drift --target 't0*'
expect_exit 0
lm check --all
expect_exit 2
expect_err_contains "only with --drift"

t_case "check --drift --all: a target that cannot be read fails with its reason, not as drift"
fleet_project 2
lm upgrade head --all
expect_exit 0
if is_pg; then
  sed -i "s|^  },|    { name = \"t09\", url = \"$(nopw_url luamig_no_such_db_here)\" },\n  },|" luamig.lua
else
  printf 'this is not a database file, it only has a name that looks like one\n' >data/t09.db
fi
lm check --drift --all --keep-going
expect_exit 1
expect_out_contains "t01: ok"
expect_out_contains "t02: ok"
expect_out_contains "t09: failed: "
expect_out_not_contains "t09: failed: 1 change made outside the chain"
expect_out_contains "$(pick "file is not a database" "luamig_no_such_db_here")"

t_done
