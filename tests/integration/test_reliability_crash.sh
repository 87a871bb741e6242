#!/usr/bin/env bash
# Crash injection (issue 8): `kill -9` luamig at random moments of `upgrade
# head` on a 50-revision chain (tables, columns, indexes, a foreign key, data
# updates, rows). After every kill:
#   - the version table lists a prefix of the chain (no gaps),
#   - the database is exactly what a clean migration to that revision gives
#     (structure, row counts and a digest of the data, compared with a
#     reference database migrated revision by revision to each revision
#     where some kill stopped),
#   - a rerun of `upgrade head` exits 0, runs only the missing revisions and
#     gives the head schema.
#
# LM_CRASH_KILLS sets the number of kills (default 36; 200 with LM_LONG=1).
# LM_CRASH_SEED makes the sequence of delays repeatable (timing still varies).
# Nothing here asserts a timing: the delays only decide where the kills land.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

NREV=50
ROWS=${LM_CRASH_ROWS:-150} # rows each revision inserts (slows the chain a little)
if [ "${LM_LONG:-0}" = 1 ]; then KILLS=${LM_CRASH_KILLS:-200}; else KILLS=${LM_CRASH_KILLS:-36}; fi
SEED=${LM_CRASH_SEED:-$(date +%s)}
RANDOM=$SEED
echo "crash injection: $KILLS kills, $NREV revisions, seed $SEED (LM_CRASH_SEED to repeat)"

rev_id() { printf 'crash%02d' "$1"; }
# rev_list N: the ids of the first N revisions, one a line.
rev_list() {
  local k
  for k in $(seq 1 "$1"); do printf 'crash%02d\n' "$k"; done
}

# write_revision K: revision K of the chain. Revisions come in groups of five
# around a table t_B (B: the group's first revision):
#   B+0 creates t_B and fills it     B+1 adds a column and more rows
#   B+2 creates an index             B+3 updates data
#   B+4 creates c_K with a foreign key to t_B, an index, and rows
write_revision() {
  local k=$1 m b down="" up downgrade
  m=$(((k - 1) % 5))
  b=$((k - m))
  [ "$k" -gt 1 ] && down=$(rev_id $((k - 1)))
  local fill="local rows = {}
  for i = 1, $ROWS do rows[i] = { n = i * $k, label = \"r$k-\" .. i } end
  op.bulk_insert(\"t_$b\", rows)"
  case $m in
  0)
    up="op.create_table(\"t_$b\",
    op.column(\"id\", \"integer\", { primary_key = true }),
    op.column(\"n\", \"integer\", { nullable = false, server_default = 0 }),
    op.column(\"label\", \"string(40)\"))
  $fill"
    downgrade="op.drop_table(\"t_$b\")"
    ;;
  1)
    up="op.add_column(\"t_$b\", op.column(\"extra_$k\", \"text\", { nullable = true }))
  $fill"
    downgrade="op.execute(\"DELETE FROM t_$b WHERE label LIKE 'r$k-%'\")
  op.drop_column(\"t_$b\", \"extra_$k\")"
    ;;
  2)
    up="op.create_index(\"ix_t_${b}_n\", \"t_$b\", { \"n\" })
  op.create_index(\"ix_t_${b}_label\", \"t_$b\", { \"label\", \"id\" }, { unique = true })
  $fill"
    downgrade="op.execute(\"DELETE FROM t_$b WHERE label LIKE 'r$k-%'\")
  op.drop_index(\"ix_t_${b}_label\", { table_name = \"t_$b\" })
  op.drop_index(\"ix_t_${b}_n\", { table_name = \"t_$b\" })"
    ;;
  3)
    up="op.execute(\"UPDATE t_$b SET n = n + $k WHERE n % 3 = 0\")
  op.execute(\"UPDATE t_$b SET label = label || '*' WHERE n % 7 = 1\")
  $fill"
    downgrade="op.execute(\"DELETE FROM t_$b WHERE label LIKE 'r$k-%'\")"
    ;;
  4)
    up="op.create_table(\"c_$k\",
    op.column(\"id\", \"integer\", { primary_key = true }),
    op.column(\"t_id\", \"integer\", { nullable = false, references = \"t_$b.id\" }),
    op.column(\"note\", \"text\"))
  op.create_index(\"ix_c_${k}_t_id\", \"c_$k\", { \"t_id\" })
  local refs = {}
  for i = 1, $ROWS do refs[i] = { t_id = i, note = \"c$k-\" .. i } end
  op.bulk_insert(\"c_$k\", refs)"
    downgrade="op.drop_table(\"c_$k\")"
    ;;
  esac
  mkrev "$(rev_id "$k")" "$down" "crash step $k" <<EOF
function upgrade()
  $up
end

function downgrade()
  $downgrade
end
EOF
}

write_chain() {
  local k
  for k in $(seq 1 $NREV); do write_revision "$k"; done
}

# snapshot [URL]: the database as text: db_schema (structure, row counts, the
# version table; one round trip on PostgreSQL) plus a digest
# of the data (sum of n and of label lengths per t_ table). An empty
# database and a missing SQLite file both give "".
# (Ids are left out of the digest: PostgreSQL sequences are not rolled back,
# so a rerun after a kill may number rows differently.)
snapshot() {
  local url=${1:-$LM_URL} tables q="" t schema
  if is_pg; then
    db_schema "$url" "
SELECT 'data|' || c.relname || '|' ||
       (xpath('/row/d/text()', query_to_xml(format(
          'SELECT coalesce(sum(n), 0) || ''|'' || coalesce(sum(length(label)), 0) AS d FROM public.%I',
          c.relname), false, true, '')))[1]::text
  FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
 WHERE s.nspname = 'public' AND c.relkind = 'r' AND c.relname ~ '^t_[0-9]+$'
 ORDER BY c.relname;"
    return
  fi
  schema=$(db_schema "$url")
  [ "$schema" = "(no database file)" ] && schema=""
  printf '%s\n' "$schema"
  [ -n "$schema" ] || return 0
  tables=$(db_query "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 't_[0-9]*' ORDER BY name" "$url")
  for t in $tables; do
    q+="SELECT 'data|$t|' || coalesce(sum(n), 0) || '|' || coalesce(sum(length(label)), 0) FROM $t;"
  done
  if [ -n "$q" ]; then
    db_query "$q" "$url" || _lm_harness_error "snapshot: cannot read the data of $tables"
  fi
}

# applied_in SNAPSHOT: the revisions its version rows list, one a line.
applied_in() { printf '%s\n' "$1" | sed -n 's/^version|\([^|]*\)|.*/\1/p'; }

# reset_db URL: empties the database (SQLite: removes the file).
reset_db() {
  if is_pg; then
    db_query "DROP SCHEMA public CASCADE; CREATE SCHEMA public;" "$1" >/dev/null ||
      _lm_harness_error "reset_db: cannot empty $(pg_dbname "$1")"
  else
    local path=${1#sqlite:///}
    rm -f "$path" "$path-journal" "$path-wal" "$path-shm"
  fi
}

# wait_pg_idle URL: waits until no other session is connected to the
# database (the backend of a killed luamig leaves once it notices).
wait_pg_idle() {
  is_pg || return 0
  local db n i
  db=$(pg_dbname "$1")
  for i in $(seq 1 300); do
    n=$(db_query "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db' AND pid <> pg_backend_pid()" "$1")
    [ "$n" = 0 ] && return 0
    sleep 0.1
  done
  _lm_harness_error "a killed luamig still has a session on $db after 30 s"
}

now_us() { local t; t=$(date +%s%N); echo $((t / 1000)); }

# ---------------------------------------------------------------------------
t_case "head reference: a clean 'upgrade head', twice"
new_project
write_chain
# The shorter run says how long a whole run takes here; the kills are spread
# over that time (at least 50 ms).
SPAN_US=
HEAD_SNAPSHOT=
for attempt in 1 2; do
  use_url "$(fresh_url)"
  t0=$(now_us)
  lm --url "$LM_URL" upgrade head
  t1=$(now_us)
  expect_exit 0
  expect_out_count "$NREV" '^Running upgrade '
  snap=$(snapshot)
  expect_same "$(applied_in "$snap")" "$(rev_list $NREV)" "version rows after a clean run"
  if [ -z "$HEAD_SNAPSHOT" ]; then
    HEAD_SNAPSHOT=$snap
  else
    expect_same "$snap" "$HEAD_SNAPSHOT" "two clean runs"
  fi
  if [ -z "$SPAN_US" ] || [ $((t1 - t0)) -lt "$SPAN_US" ]; then SPAN_US=$((t1 - t0)); fi
done
[ "$SPAN_US" -lt 50000 ] && SPAN_US=50000
echo "a whole run takes about $((SPAN_US / 1000)) ms here: the kills land within that time"

# ---------------------------------------------------------------------------
# kill_once I URL: one kill-check-rerun round on an empty database. The state
# after the kill is kept in $KILLS_DIR/I.{snap,n,cmd} and compared with the
# reference at the end (the reference is built only for the revisions that
# some kill stopped at).
KILLS_DIR=$LM_TMP/kills
mkdir -p "$KILLS_DIR"
landed_before=0 landed_mid=0 landed_after=0
# The kills are drawn from a window that narrows as they land: a delay that
# stopped the run before its first commit raises the window's start, one
# that let the run finish lowers its end. Start-up (a third of a run under
# ASan on PostgreSQL) and the end would otherwise take a third of the kills
# for the same two outcomes; the window sends them mid-chain.
WIN_LO=0 WIN_HI=$SPAN_US
kill_once() {
  local i=$1 url=$2 delay_us pid rc n out err got snap
  t_case "kill $i of $KILLS"
  use_url "$url"
  if [ $((WIN_HI - WIN_LO)) -lt 20000 ]; then WIN_LO=0 WIN_HI=$SPAN_US; fi # timing moved: start over
  delay_us=$((WIN_LO + (RANDOM * 32768 + RANDOM) % (WIN_HI - WIN_LO)))
  out=$KILLS_DIR/$i.out err=$KILLS_DIR/$i.err
  # Run the binary itself (no wrapper) so that the SIGKILL hits luamig.
  "$LUAMIG" --url "$url" upgrade head >"$out" 2>"$err" </dev/null &
  pid=$!
  sleep "$(printf '%d.%06d' $((delay_us / 1000000)) $((delay_us % 1000000)))"
  kill -9 "$pid" 2>/dev/null
  { wait "$pid"; } 2>/dev/null # (no "Killed" note from bash)
  rc=$?
  LM_CMD="luamig --url $(mask "$url") upgrade head   (SIGKILL after ${delay_us} us)"
  LM_RC=$rc LM_OUT=$(<"$out") LM_ERR=$(<"$err")
  _lm_log_run "$LM_CMD" "$rc" "$out" "$err"
  printf '%s\n' "$LM_CMD" "$rc" >"$KILLS_DIR/$i.cmd"
  # killed (137) or finished before the kill (0); anything else is a failure
  [ "$rc" = 137 ] || [ "$rc" = 0 ]
  _check $? "the run should have been killed (137) or have finished (0), got $rc"
  wait_pg_idle "$url"

  snap=$(snapshot)
  got=$(applied_in "$snap")
  n=$(printf '%s' "$got" | grep -c .)
  expect_same "$got" "$(rev_list "$n")" "version rows after the kill (a prefix of the chain)"
  printf '%s\n' "$snap" >"$KILLS_DIR/$i.snap"
  echo "$n" >"$KILLS_DIR/$i.n"
  if [ "$n" = 0 ]; then
    landed_before=$((landed_before + 1))
    [ "$delay_us" -gt "$WIN_LO" ] && WIN_LO=$delay_us
  elif [ "$n" = "$NREV" ]; then
    landed_after=$((landed_after + 1))
    [ "$delay_us" -lt "$WIN_HI" ] && WIN_HI=$delay_us
  else
    landed_mid=$((landed_mid + 1))
  fi

  lm --url "$url" upgrade head
  expect_exit 0
  expect_out_count $((NREV - n)) '^Running upgrade '
  expect_same "$(snapshot)" "$HEAD_SNAPSHOT" "database after the rerun vs the head reference"
  reset_db "$url"
}

KILL_URL=$(fresh_url)
for i in $(seq 1 "$KILLS"); do kill_once "$i" "$KILL_URL"; done
echo "kills: $KILLS (before the first commit: $landed_before, mid-chain: $landed_mid, after the end: $landed_after); ${SECONDS} s so far"

# ---------------------------------------------------------------------------
# The reference: one database migrated revision by revision (`upgrade REV`)
# through every revision some kill stopped at; at each, the database must
# equal what every kill that stopped there left behind.
t_case "reference: migrated to each revision a kill stopped at"
use_url "$(fresh_url)"
at=0
for n in $(cat "$KILLS_DIR"/*.n | sort -n | uniq); do
  if [ "$n" -gt "$at" ]; then
    lm --url "$LM_URL" upgrade "$(rev_id "$n")"
    expect_exit 0
    expect_out_count $((n - at)) '^Running upgrade '
    at=$n
  fi
  ref=$(snapshot)
  for f in $(grep -lx -- "$n" "$KILLS_DIR"/*.n); do
    i=$(basename "$f" .n)
    t_case "kill $i of $KILLS: the database after the kill vs a clean migration to revision $n"
    LM_CMD=$(sed -n 1p "$KILLS_DIR/$i.cmd") LM_RC=$(sed -n 2p "$KILLS_DIR/$i.cmd")
    LM_OUT=$(cat "$KILLS_DIR/$i.out") LM_ERR=$(cat "$KILLS_DIR/$i.err")
    expect_same "$(cat "$KILLS_DIR/$i.snap")" "$ref" "after the kill ($n applied; -) vs the reference at $n (+)"
  done
done

t_case "reference: the rest of the chain gives the head"
lm --url "$LM_URL" upgrade head
expect_exit 0
expect_same "$(snapshot)" "$HEAD_SNAPSHOT" "reference at head vs one clean run"
# ---------------------------------------------------------------------------
# Crash injection during autocommit_block work: a chain whose revisions
# commit part of their work before they end (an UPDATE before the block,
# CREATE INDEX [CONCURRENTLY] and idempotent statements inside it, more work
# after). kill -9 at random moments; the rerun must resume from the journal
# and give exactly the data of a clean run (the UPDATEs outside the block
# are not idempotent: applying one twice changes the digest).
if [ "${LM_LONG:-0}" = 1 ]; then AC_KILLS=${LM_CRASH_AC_KILLS:-40}; else AC_KILLS=${LM_CRASH_AC_KILLS:-$(pick 10 5)}; fi # PostgreSQL: a kill costs more (the killed backend finishes its statement)
AC_ROWS=2000
CONC=$(pick false true)

write_ac_chain() {
  mkrev ac1 "" "autocommit base" <<EOF
function upgrade()
  op.create_table("acc", op.column("id", "integer", { primary_key = true }),
    op.column("n", "integer", { nullable = false }), op.column("g", "integer"))
  local rows = {}
  for i = 1, $AC_ROWS do rows[i] = { id = i, n = i } end
  op.bulk_insert("acc", rows)
end
function downgrade() op.drop_table("acc") end
EOF
  mkrev ac2 ac1 "autocommit work" <<EOF
-- luamig: allow ops-before-autocommit
function upgrade()
  op.execute("UPDATE acc SET n = n + 1")
  op.autocommit_block(function()
    op.create_index("ix_acc_n", "acc", { "n" }, { concurrently = $CONC })
    op.execute("UPDATE acc SET g = id % 7")
    op.create_index("ix_acc_g", "acc", { "g", "n" }, { concurrently = $CONC })
    op.create_index("ix_acc_ng", "acc", { "n", "g", "id" }, { concurrently = $CONC })
  end)
  op.execute("UPDATE acc SET n = n * 3")
  op.add_column("acc", op.column("note", "text"))
end
function downgrade() op.drop_column("acc", "note") end
EOF
  mkrev ac3 ac2 "more autocommit work" <<EOF
-- luamig: allow ops-before-autocommit
function upgrade()
  op.execute("UPDATE acc SET n = n + 5 WHERE id % 2 = 0")
  op.autocommit_block(function()
    op.create_index("ix_acc_id_g", "acc", { "id", "g" }, { concurrently = $CONC })
    op.execute("UPDATE acc SET note = 'x' || g")
  end)
  op.execute("UPDATE acc SET n = n - 1")
end
function downgrade() end
EOF
}

ac_snapshot() {
  if is_pg; then
    db_query "SELECT 'data|' || sum(n) || '|' || coalesce(sum(g), -1) || '|' || count(note) FROM acc" 2>/dev/null
    db_query "SELECT 'index|' || indexrelid::regclass::text || '|' || indisvalid FROM pg_index WHERE indrelid = 'acc'::regclass ORDER BY 1" 2>/dev/null
    db_query "SELECT 'journal|' || CASE WHEN to_regclass('luamig_version_journal') IS NULL THEN 'none' ELSE 'table' END"
  else
    db_query "SELECT 'data|' || sum(n) || '|' || coalesce(sum(g), -1) || '|' || count(note) FROM acc" 2>/dev/null
    db_query "SELECT 'index|' || name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'acc' ORDER BY name" 2>/dev/null
    db_query "SELECT 'journal|' || CASE count(*) WHEN 0 THEN 'none' ELSE 'table' END FROM sqlite_master WHERE name = 'luamig_version_journal'" 2>/dev/null
  fi
  printf 'version|%s\n' $(version_rows)
}

t_case "autocommit_block: head reference"
new_project
write_ac_chain
AC_URL=$LM_URL
t0=$(now_us)
lm upgrade head
t1=$(now_us)
expect_exit 0
AC_HEAD=$(ac_snapshot)
expect_text_contains "$AC_HEAD" "journal|none" "no journal table after a clean run"
AC_SPAN=$((t1 - t0))
[ "$AC_SPAN" -lt 50000 ] && AC_SPAN=50000
reset_db "$AC_URL"
ac_half=0
for i in $(seq 1 "$AC_KILLS"); do
  t_case "autocommit_block: kill $i of $AC_KILLS, then a rerun"
  use_url "$AC_URL"
  delay_us=$(((RANDOM * 32768 + RANDOM) % AC_SPAN))
  "$LUAMIG" --url "$AC_URL" upgrade head >"$KILLS_DIR/ac.out" 2>"$KILLS_DIR/ac.err" </dev/null &
  pid=$!
  sleep "$(printf '%d.%06d' $((delay_us / 1000000)) $((delay_us % 1000000)))"
  kill -9 "$pid" 2>/dev/null
  { wait "$pid"; } 2>/dev/null
  rc=$?
  LM_CMD="luamig upgrade head (SIGKILL after ${delay_us} us)" LM_RC=$rc
  LM_OUT=$(cat "$KILLS_DIR/ac.out") LM_ERR=$(cat "$KILLS_DIR/ac.err")
  [ "$rc" = 137 ] || [ "$rc" = 0 ]
  _check $? "the run should have been killed (137) or have finished (0), got $rc"
  wait_pg_idle "$AC_URL"
  grep -q '^journal|table' <<<"$(ac_snapshot)" && ac_half=$((ac_half + 1))
  lm --url "$AC_URL" upgrade head
  expect_exit 0
  expect_same "$(ac_snapshot)" "$AC_HEAD" "after a kill and a rerun (-) vs a clean run (+)"
  reset_db "$AC_URL"
done
echo "autocommit kills: $AC_KILLS ($ac_half left a step half applied); ${SECONDS} s so far"

echo "(done after ${SECONDS} s)"
t_done
