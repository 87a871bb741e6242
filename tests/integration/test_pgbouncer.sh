#!/usr/bin/env bash
# luamig through a real PgBouncer in front of the test server, in session and
# in transaction pooling. Through a pooler a session advisory lock does not
# hold (transaction pooling runs each transaction on any server connection,
# and a session lock left on a pooled connection would outlive the run), so
# luamig notices the pooler and holds its lock in an open transaction on a
# connection of its own. In both modes:
#   - 16 concurrent `upgrade head` all exit 0 and every revision (one of them
#     with an autocommit_block building an index concurrently) runs once,
#   - a run that waits says so, and a SIGINT while it waits exits 130 with
#     nothing done,
#   - after the runs no lock is left behind (a later run does not wait).
# PgBouncer is started here (in the test's temporary folder, on 127.0.0.1)
# and stopped when the test ends. Skips (77) when pgbouncer is not installed
# (scripts/deps.sh --test installs it).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

only_dialect postgresql
PGBOUNCER=$(command -v pgbouncer || true)
[ -n "$PGBOUNCER" ] || [ ! -x /usr/sbin/pgbouncer ] || PGBOUNCER=/usr/sbin/pgbouncer
if [ -z "$PGBOUNCER" ]; then
  echo "SKIP: pgbouncer is not installed (scripts/deps.sh --test installs it)"
  LM_SKIPPED=1
  exit 77
fi

NPROC=${LM_BOUNCER_PROCS:-16}
NREV=6
BOUNCER_DIR=$LM_TMP/pgbouncer
mkdir -p "$BOUNCER_DIR"
BOUNCER_PID=""

# as_owner CMD...: PgBouncer refuses to run as root; run it as postgres then.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

stop_bouncer() {
  if [ -n "$BOUNCER_PID" ]; then
    kill "$BOUNCER_PID" 2>/dev/null
    local i
    for i in $(seq 1 50); do
      kill -0 "$BOUNCER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$BOUNCER_PID" 2>/dev/null
    BOUNCER_PID=""
  fi
}
# lib.sh's own EXIT handler (_lm_finish) reports and sets the exit status
trap 'lm_rc_=$?; stop_bouncer; (exit $lm_rc_); _lm_finish' EXIT

# start_bouncer MODE: PgBouncer in MODE (session | transaction) on a free
# port; sets BOUNCER_PORT.
start_bouncer() {
  local mode=$1 port try
  stop_bouncer
  [ "$(id -u)" -eq 0 ] && chown postgres "$BOUNCER_DIR" && chmod 755 "$LM_TMP"
  printf '"luamig" "%s"\n' "$LM_PASSWORD" >"$BOUNCER_DIR/userlist.txt"
  chmod 600 "$BOUNCER_DIR/userlist.txt"
  [ "$(id -u)" -eq 0 ] && chown postgres "$BOUNCER_DIR/userlist.txt"
  for try in $(seq 1 20); do
    port=$((56000 + (RANDOM % 4000)))
    cat >"$BOUNCER_DIR/pgbouncer.ini" <<EOF
[databases]
* = host=$LM_PG_HOST port=$LM_PG_PORT

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $BOUNCER_DIR/userlist.txt
pool_mode = $mode
default_pool_size = 20
max_client_conn = 400
ignore_startup_parameters = extra_float_digits
pidfile = $BOUNCER_DIR/pgbouncer.pid
logfile = $BOUNCER_DIR/pgbouncer.log
EOF
    rm -f "$BOUNCER_DIR/pgbouncer.pid"
    as_owner "$PGBOUNCER" -d "$BOUNCER_DIR/pgbouncer.ini" >>"$BOUNCER_DIR/start.log" 2>&1 || continue
    local i
    for i in $(seq 1 50); do
      [ -s "$BOUNCER_DIR/pgbouncer.pid" ] && break
      sleep 0.1
    done
    BOUNCER_PID=$(cat "$BOUNCER_DIR/pgbouncer.pid" 2>/dev/null)
    [ -n "$BOUNCER_PID" ] || continue
    for i in $(seq 1 50); do
      if PGPASSWORD=$LM_PASSWORD psql -h 127.0.0.1 -p "$port" -U luamig -d postgres -Atqc 'SELECT 1' \
        >/dev/null 2>&1; then
        BOUNCER_PORT=$port
        echo "pgbouncer ($mode pooling) on 127.0.0.1:$port, pid $BOUNCER_PID"
        return 0
      fi
      sleep 0.1
    done
    stop_bouncer
  done
  _lm_harness_error "cannot start pgbouncer (see $BOUNCER_DIR/start.log and pgbouncer.log)"
}

# bouncer_url URL: the same database through PgBouncer.
bouncer_url() {
  printf 'postgresql://luamig:%s@127.0.0.1:%s/%s' "$LM_PASSWORD" "$BOUNCER_PORT" "$(pg_dbname "$1")"
}

rev_id() { printf 'pgb%02d' "$1"; }

write_chain() {
  local k down body
  for k in $(seq 1 $NREV); do
    down=""
    [ "$k" -gt 1 ] && down=$(rev_id $((k - 1)))
    body="op.create_table(\"x_$k\", op.column(\"id\", \"integer\", { primary_key = true }),
    op.column(\"v\", \"integer\"))
  op.execute(\"SELECT pg_sleep(0.05)\")
  op.bulk_insert(\"runlog\", { { rev = \"$(rev_id "$k")\" } })"
    [ "$k" = 1 ] && body="op.create_table(\"runlog\", op.column(\"id\", \"integer\", { primary_key = true }),
    op.column(\"rev\", \"string(32)\", { nullable = false }))
  $body"
    if [ "$k" = 4 ]; then
      # a step of its own for the concurrent index (lint: ops-before-autocommit)
      body="op.autocommit_block(function()
    op.create_index(\"ix_x_3_v\", \"x_3\", { \"v\" }, { concurrently = true })
    op.execute(\"INSERT INTO runlog (rev) VALUES ('$(rev_id "$k")')\")
  end)"
    fi
    mkrev "$(rev_id "$k")" "$down" "through pgbouncer $k" <<EOF
function upgrade()
  $body
end

function downgrade()
end
EOF
  done
}

expect_each_once() {
  local want
  want=$(for k in $(seq 1 $NREV); do echo "$(rev_id "$k")|1"; done)
  expect_same "$(db_query "SELECT rev || '|' || count(*) FROM runlog GROUP BY rev ORDER BY rev")" "$want" \
    "log rows per revision (- got, + want)"
  expect_eq "$(db_query "SELECT count(*) FROM luamig_version")" "$NREV" "version rows"
  expect_eq "$(db_query "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ix_x_3_v'::regclass")" "t" \
    "the concurrent index is valid"
}

for mode in session transaction; do
  t_case "$mode pooling: $NPROC concurrent 'upgrade head' through pgbouncer"
  start_bouncer "$mode"
  new_project
  write_chain
  DIRECT=$LM_URL
  BURL=$(bouncer_url "$DIRECT")
  for j in $(seq 1 "$NPROC"); do lm_bg "$mode$j" --url "$BURL" upgrade head; done
  runs=0 all_rc="" waited=0
  for j in $(seq 1 "$NPROC"); do
    lm_wait "$mode$j"
    expect_exit 0
    expect_err_not_contains "error:"
    expect_err_not_contains "$LM_PASSWORD"
    runs=$((runs + $(grep -c '^Running upgrade ' <<<"$LM_OUT")))
    grep -q 'waiting for another luamig run' <<<"$LM_ERR" && waited=$((waited + 1))
    all_rc+="$LM_RC "
  done
  LM_CMD="$NPROC x luamig --url $(mask "$BURL") upgrade head (at once, $mode pooling)"
  LM_RC=$all_rc
  expect_eq "$runs" "$NREV" "revisions run by the $NPROC processes together"
  [ "$waited" -gt 0 ]
  _check $? "at least one run should have waited for the lock ($waited did)"
  use_url "$DIRECT"
  expect_each_once

  t_case "$mode pooling: no lock is left behind"
  lm --url "$BURL" upgrade head
  expect_exit 0
  expect_err_not_contains "waiting for another luamig run"
  expect_out_count 0 '^Running upgrade '

  t_case "$mode pooling: SIGINT while waiting for the lock exits 130, nothing stamped"
  new_project
  write_chain
  cat >"versions/$(rev_id 1)_slow.lua" <<EOF
revision = "$(rev_id 1)"
down_revision = nil
message = "slow"
function upgrade()
  op.create_table("runlog", op.column("id", "integer", { primary_key = true }),
    op.column("rev", "string(32)", { nullable = false }))
  op.execute("SELECT pg_sleep(4)")
end
function downgrade() end
EOF
  rm -f versions/"$(rev_id 1)"_through*.lua
  BURL=$(bouncer_url "$LM_URL")
  lm_bg "$mode-holder" --url "$BURL" upgrade "$(rev_id 1)"
  sleep 1.5
  "$LUAMIG" --url "$BURL" stamp head >"$LM_TMP/stamp.out" 2>"$LM_TMP/stamp.err" &
  spid=$!
  sleep 1
  kill -INT "$spid"
  wait "$spid"
  LM_RC=$? LM_OUT=$(cat "$LM_TMP/stamp.out") LM_ERR=$(cat "$LM_TMP/stamp.err")
  LM_CMD="luamig --url $(mask "$BURL") stamp head (SIGINT while waiting)"
  expect_exit 130
  expect_err_contains "waiting for another luamig run"
  expect_err_contains "nothing was done"
  lm_wait "$mode-holder"
  expect_exit 0
  expect_same "$(version_rows)" "$(rev_id 1)" "version rows: the holder's revision only"
  stop_bouncer
done

t_done
