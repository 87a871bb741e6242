#!/usr/bin/env bash
# Locking (issue 6, SPEC §5, §7):
#  (a) $NPROC concurrent `luamig upgrade head` on one database all exit 0 and
#      run each revision exactly once (every revision logs itself into a
#      table with bulk_insert, so a revision that ran twice leaves two rows);
#      the version table has one row per revision. In the "gated" round the
#      run that migrates is held at its first pending revision by a lock
#      another session holds on the database (SQLite: an open BEGIN
#      IMMEDIATE; PostgreSQL: ACCESS EXCLUSIVE on a table the revision reads),
#      so every other run certainly overlaps it and must say `waiting for
#      another luamig run` on stderr.
#  (b) PostgreSQL only: lock_timeout / lock_retries with a table lock held by
#      another psql session, released during the retries (the upgrade
#      succeeds after a `hit lock_timeout; retry 1 of 2` line) or kept (exit
#      1, SQLSTATE 55P03, `blocked by:` naming the holder's pid, database
#      unchanged).
#  (c) --dry-run prints the same "Running …" lines as the real run and leaves
#      the database as it was.
# No assertion is about timings: waits on other processes are bounded only so
# that a broken run cannot hang the test.
#
# The configuration never holds the database URL (on PostgreSQL it carries
# the test password): every run gets --url.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NPROC=8
NREV=6
ROWS=3000 # per revision, so that the runs take a while and overlap

rev_id() { printf 'lock%02d' "$1"; }
rev_list() {
  local k
  for k in $(seq "${2:-1}" "$1"); do rev_id "$k" && echo; done
}

# write_chain: lock01 creates the log table `runlog` and the table `gate`;
# each revision creates x_K, fills it with $ROWS rows and logs itself. From
# lock02 on, a revision first reads `gate` on PostgreSQL (a session holding
# ACCESS EXCLUSIVE on it keeps the migration waiting there).
write_chain() {
  local k down first gate
  for k in $(seq 1 $NREV); do
    down="" first="" gate=""
    [ "$k" -gt 1 ] && down=$(rev_id $((k - 1)))
    if [ "$k" = 1 ]; then
      first='op.create_table("runlog",
    op.column("id", "integer", { primary_key = true }),
    op.column("rev", "string(32)", { nullable = false }))
  op.create_table("gate", op.column("id", "integer", { primary_key = true }))'
    else
      gate='if context.dialect == "postgresql" then op.scalar("SELECT count(*) FROM gate") end'
    fi
    mkrev "$(rev_id "$k")" "$down" "locked step $k" <<EOF
function upgrade()
  $first
  $gate
  op.create_table("x_$k",
    op.column("id", "integer", { primary_key = true }),
    op.column("v", "integer", { nullable = false }))
  local rows = {}
  for i = 1, $ROWS do rows[i] = { v = i } end
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

# start_runs ROUND: starts $NPROC `luamig upgrade head` at once.
start_runs() {
  local j
  for j in $(seq 1 "$NPROC"); do
    lm_bg "r${1}_$j" --url "$LM_URL" upgrade head
  done
}

# count_waiting ROUND: how many runs of the round have printed the waiting line.
count_waiting() {
  local j n=0
  for j in $(seq 1 "$NPROC"); do
    grep -qF 'waiting for another luamig run' "$LM_TMP/r${1}_$j.err" 2>/dev/null && n=$((n + 1))
  done
  echo "$n"
}

# finish_runs ROUND: waits for the runs of the round; each must exit 0
# without an error. Sets RUNS (Running lines over all runs), RAN (runs that
# ran at least one revision) and WAITED (runs that printed the waiting line).
# Afterwards LM_CMD / LM_RC / LM_OUT / LM_ERR describe all the runs, so a
# failed check of the database shows what each run printed.
finish_runs() {
  local round=$1 j n all_rc="" all_out="" all_err=""
  RUNS=0 RAN=0 WAITED=0
  for j in $(seq 1 "$NPROC"); do
    lm_wait "r${round}_$j"
    expect_exit 0
    expect_err_not_contains "error:"
    n=$(grep -c '^Running upgrade ' <<<"$LM_OUT")
    RUNS=$((RUNS + n))
    [ "$n" -gt 0 ] && RAN=$((RAN + 1))
    grep -qF 'waiting for another luamig run' <<<"$LM_ERR" && WAITED=$((WAITED + 1))
    all_rc+="$LM_RC "
    all_out+="[run $j] $LM_OUT"$'\n'
    all_err+="[run $j] $LM_ERR"$'\n'
  done
  LM_CMD="$NPROC x luamig --url $(mask "$LM_URL") upgrade head (at once)"
  LM_RC=$all_rc LM_OUT=$all_out LM_ERR=$all_err
}

# expect_each_once FIRST: revisions FIRST..NREV each logged exactly once (the
# others not at all, when FIRST > 1 they ran before), and the version table
# has one row per revision.
expect_each_once() {
  local first=${1:-1} want
  want=$(for k in $(seq "$first" $NREV); do echo "$(rev_id "$k")|1"; done)
  [ "$first" -gt 1 ] && want=$(printf '%s|1\n%s' "$(rev_id 1)" "$want")
  expect_same "$(db_query "SELECT rev || '|' || count(*) FROM runlog GROUP BY rev ORDER BY rev")" "$want" \
    "log rows per revision (- got, + want)"
  expect_same "$(version_rows)" "$(rev_list $NREV)" "version table (- got, + want)"
  expect_eq "$(db_query "SELECT count(*) FROM x_$NREV")" "$ROWS" "rows of x_$NREV"
}

# -- holding a lock from another session -------------------------------------

# pg_hold TABLE NAME: another psql session takes ACCESS EXCLUSIVE on TABLE and
# keeps it (up to 120 s); waits until the lock is granted. Sets HOLDER_PID.
pg_hold() {
  local table=$1 name=$2
  HOLDER_PID=""
  PGAPPNAME="lm_hold_$name" PGOPTIONS='-c client_min_messages=warning' \
    psql -X -q -d "$LM_URL" \
    -c "BEGIN; LOCK TABLE $table IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(120); COMMIT" \
    >"$LM_TMP/hold_$name.out" 2>&1 &
  for _ in $(seq 1 300); do
    HOLDER_PID=$(db_query "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
                            WHERE a.application_name = 'lm_hold_$name' AND l.granted
                              AND l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
                              AND l.relation = '$table'::regclass")
    [ -n "$HOLDER_PID" ] && return 0
    sleep 0.1
  done
  _fail "the psql session never got its lock on $table" "$(cat "$LM_TMP/hold_$name.out")"
  return 1
}

# pg_release NAME: ends the holding session (its transaction rolls back).
pg_release() {
  db_query "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE application_name = 'lm_hold_$1'" >/dev/null
  for _ in $(seq 1 100); do
    [ -z "$(db_query "SELECT pid FROM pg_stat_activity WHERE application_name = 'lm_hold_$1'")" ] && return 0
    sleep 0.1
  done
  _fail "the psql session holding the lock did not end"
}

# sqlite_hold NAME: another sqlite3 process opens a write transaction (BEGIN
# IMMEDIATE) on the database and keeps it until sqlite_release NAME (at most
# 60 s); waits until it holds the lock (a second writer is refused).
sqlite_hold() {
  local path
  path=$(sqlite_path "$LM_URL")
  rm -f "$LM_TMP/release_$1"
  {
    printf '.timeout 10000\nBEGIN IMMEDIATE;\n'
    for _ in $(seq 1 600); do
      [ -e "$LM_TMP/release_$1" ] && break
      sleep 0.1
    done
    printf 'COMMIT;\n'
  } | sqlite3 -batch "$path" >"$LM_TMP/hold_$1.out" 2>&1 &
  for _ in $(seq 1 300); do
    if ! sqlite3 -batch "$path" "BEGIN IMMEDIATE; ROLLBACK;" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.1
  done
  _fail "the sqlite3 process never took the write lock" "$(cat "$LM_TMP/hold_$1.out")"
  return 1
}
sqlite_release() { touch "$LM_TMP/release_$1"; }

# ===========================================================================
# (a) concurrent runs

t_case "reference: one run"
new_project --no-url
write_config 'lock_timeout = "60s",' 'lock_retries = 0,'
write_chain
lm --url "$LM_URL" upgrade head
expect_exit 0
expect_out_count "$NREV" '^Running upgrade '
expect_each_once
REFERENCE=$(db_schema)

t_case "$NPROC runs at once on an empty database: each revision runs once"
use_url "$(fresh_url)"
start_runs 1
finish_runs 1
expect_eq "$RUNS" "$NREV" "revisions run by all $NPROC processes together"
expect_each_once
expect_same "$(db_schema)" "$REFERENCE" "database after the concurrent runs (-) vs one run (+)"
# Whether these runs overlapped is up to the scheduler, so the waiting line
# is asserted only in the next case, where the overlap is certain.

t_case "$NPROC runs at once while the migrating one is held by a database lock: the others wait"
use_url "$(fresh_url)"
lm --url "$LM_URL" upgrade "$(rev_id 1)"
expect_exit 0
if is_pg; then pg_hold gate gate; else sqlite_hold gate; fi
start_runs 2
# Every run but the one migrating (held by the lock) must queue up behind it.
# (Bounded well below the time the held run waits for its lock: SQLite's
# busy timeout, the lock_timeout above.)
for _ in $(seq 1 200); do
  [ "$(count_waiting 2)" -ge $((NPROC - 1)) ] && break
  sleep 0.1
done
if is_pg; then pg_release gate; else sqlite_release gate; fi
finish_runs 2
expect_eq "$RUNS" $((NREV - 1)) "revisions run by all $NPROC processes together"
expect_eq "$RAN" 1 "runs that ran revisions"
[ "$WAITED" -ge 1 ]
_check $? "at least one run should print 'waiting for another luamig run' on stderr"
expect_eq "$WAITED" $((NPROC - 1)) "runs that printed 'waiting for another luamig run'"
expect_each_once 2
expect_same "$(db_schema)" "$REFERENCE" "database after the concurrent runs (-) vs one run (+)"

t_case "$NPROC runs at once on a database at head: nothing to do"
start_runs 3
finish_runs 3
expect_eq "$RUNS" 0 "revisions run when everything was applied"
expect_each_once 2
expect_same "$(db_schema)" "$REFERENCE" "database after the concurrent runs (-) vs one run (+)"

# ===========================================================================
# (b) lock_timeout and lock_retries (PostgreSQL)

readonly K1=6c0000000001 K2=6c0000000002

lock_project() {
  new_project --no-url
  write_config 'lock_timeout = "200ms",' 'lock_retries = 2,'
  mkrev "$K1" "" "create t" <<'EOF'
function upgrade()
  op.create_table("t", op.column("id", "integer", { primary_key = true }))
  op.bulk_insert("t", { { id = 1 }, { id = 2 } })
end

function downgrade()
  op.drop_table("t")
end
EOF
  mkrev "$K2" "$K1" "alter t" <<'EOF'
function upgrade()
  op.add_column("t", op.column("extra", "integer"))
end

function downgrade()
  op.drop_column("t", "extra")
end
EOF
  lm --url "$LM_URL" upgrade "$K1"
  expect_exit 0
}

if is_pg; then
  t_case "lock_timeout: the lock is released during the retries, the upgrade succeeds"
  lock_project
  if pg_hold t held_briefly; then
    lm_bg briefly --url "$LM_URL" upgrade head
    # release the lock once the first attempt has timed out
    for _ in $(seq 1 300); do
      grep -qF 'retry 1 of 2' "$LM_TMP/briefly.err" 2>/dev/null && break
      [ -s "$LM_TMP/briefly.rc" ] && break
      sleep 0.1
    done
    pg_release held_briefly
    lm_wait briefly
    expect_exit 0
    expect_err_contains "hit lock_timeout; retry 1 of 2"
    expect_err_not_contains "error:"
    expect_out_contains "Running upgrade $K1 -> $K2, alter t"
    expect_eq "$(columns t)" "id,extra" "columns of t"
    expect_eq "$(version_rows)" "$(printf '%s\n%s' "$K1" "$K2")" "version rows"
  fi

  t_case "lock_timeout: the lock is kept through every retry, the upgrade fails cleanly"
  lock_project
  before=$(db_schema)
  if pg_hold t held_long; then
    holder=$HOLDER_PID
    lm --url "$LM_URL" upgrade head
    pg_release held_long
    expect_exit 1
    expect_err_has_error_line
    expect_err_contains "hit lock_timeout; retry 1 of 2"
    expect_err_contains "hit lock_timeout; retry 2 of 2"
    expect_err_contains "${K2}_alter_t.lua"
    expect_err_contains "55P03"
    expect_err_contains_i "lock timeout"
    expect_err_contains "blocked by:"
    expect_err_contains "pid $holder"
    expect_err_contains "AccessExclusiveLock"
    expect_out_not_contains "Running upgrade $K1 -> $K2"
    expect_same "$before" "$(db_schema)" "db_schema before and after the failed upgrade"
    expect_eq "$(version_rows)" "$K1" "version rows"
  fi
else
  t_case "lock_timeout and lock_retries (PostgreSQL only)"
  echo "    (skipped on $LM_DIALECT: lock_timeout is a PostgreSQL setting)"
fi

# ===========================================================================
# (c) --dry-run

# running_lines: the Running lines of the last run, without their timings.
running_lines() { grep '^Running ' <<<"$LM_OUT" | sed -E 's/ \([0-9]+ ms\)$//'; }

dry_project() {
  new_project --no-url
  mkrev 6d0000000001 "" "create items" <<'EOF'
function upgrade()
  op.create_table("items",
    op.column("id", "integer", { primary_key = true }),
    op.column("name", "string(40)", { nullable = false }))
  op.bulk_insert("items", { { id = 1, name = "a" }, { id = 2, name = "b" } })
end

function downgrade()
  op.drop_table("items")
end
EOF
  mkrev 6d0000000002 6d0000000001 "add price" <<'EOF'
function upgrade()
  op.add_column("items", op.column("price", "integer", { server_default = 0 }))
  op.create_index("ix_items_name", "items", { "name" })
end

function downgrade()
  op.drop_index("ix_items_name", { table_name = "items" })
  op.drop_column("items", "price")
end
EOF
  mkrev 6d0000000003 6d0000000002 "more items" <<'EOF'
function upgrade()
  op.execute("UPDATE items SET price = 5 WHERE id = 1")
  op.bulk_insert("items", { { id = 3, name = "c", price = 7 } })
end

function downgrade()
  op.execute("DELETE FROM items WHERE id = 3")
end
EOF
}

t_case "--dry-run on an empty database: the real run's lines, nothing kept"
dry_project
before=$(db_schema)
lm --url "$LM_URL" upgrade head --dry-run
expect_exit 0
expect_out_count 3 '^Running upgrade '
dry_lines=$(running_lines)
after=$(db_schema)
# Opening a SQLite database may leave an empty file behind: an empty file is
# an empty database.
is_sqlite && [ "$before" = "(no database file)" ] && [ -z "$after" ] && after=$before
expect_same "$before" "$after" "db_schema before and after --dry-run"
expect_eq "$(version_rows)" "" "version rows after --dry-run"
expect_no_table items
lm --url "$LM_URL" upgrade head
expect_exit 0
expect_same "$dry_lines" "$(running_lines)" "Running lines: --dry-run (-) vs the real run (+)"
expect_eq "$(version_rows)" "$(printf '6d0000000001\n6d0000000002\n6d0000000003')" "version rows after the real run"

t_case "--dry-run on a partly migrated database"
use_url "$(fresh_url)"
lm --url "$LM_URL" upgrade 6d0000000001
expect_exit 0
before=$(db_schema)
lm --url "$LM_URL" upgrade head --dry-run
expect_exit 0
expect_out_count 2 '^Running upgrade '
dry_lines=$(running_lines)
expect_same "$before" "$(db_schema)" "db_schema before and after --dry-run"
expect_eq "$(version_rows)" "6d0000000001" "version rows after --dry-run"
expect_eq "$(columns items)" "id,name" "columns of items after --dry-run"
lm --url "$LM_URL" upgrade head
expect_exit 0
expect_same "$dry_lines" "$(running_lines)" "Running lines: --dry-run (-) vs the real run (+)"
expect_eq "$(columns items)" "id,name,price" "columns of items after the real run"

t_case "downgrade --dry-run: the real downgrade's lines, nothing reverted"
before=$(db_schema)
lm --url "$LM_URL" downgrade base --dry-run
expect_exit 0
expect_out_count 3 '^Running downgrade '
dry_lines=$(running_lines)
expect_same "$before" "$(db_schema)" "db_schema before and after downgrade --dry-run"
lm --url "$LM_URL" downgrade base
expect_exit 0
expect_same "$dry_lines" "$(running_lines)" "Running lines: --dry-run (-) vs the real downgrade (+)"
expect_eq "$(version_rows)" "" "version rows after the real downgrade"

t_done
