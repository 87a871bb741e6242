#!/usr/bin/env bash
# Transactions and the version table (SPEC §5): a failing revision leaves
# neither a partial schema nor a version row and the error names the file, the
# statement and the database's message; earlier revisions of the run stay;
# transaction_per_migration = false; failing downgrades; --dry-run; checksums
# (SHA-256, line endings normalised); two concurrent runs; Ctrl-C.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly T1=2b0000000001 T2=2b0000000002

ok_rev() {
  mkrev "$T1" "" "create ok" <<'EOF'
function upgrade()
  op.create_table("t_ok", op.column("id", "integer", { primary_key = true }))
  op.bulk_insert("t_ok", { { id = 1 }, { id = 2 } })
end

function downgrade()
  op.drop_table("t_ok")
end
EOF
}

# the second revision: its second statement fails
failing_rev() {
  mkrev "$T2" "$T1" "half done" <<'EOF'
function upgrade()
  op.create_table("t_partial", op.column("id", "integer", { primary_key = true }))
  op.execute("INSERT INTO no_such_table (id) VALUES (1)")
end

function downgrade()
  op.drop_table("t_partial")
end
EOF
}

expect_failure_report() { # expect_failure_report FILE_BASENAME STATEMENT_FRAGMENT
  expect_exit 1
  expect_err_error_line
  expect_err_contains "$1"
  expect_err_contains "$2"
  if is_pg; then
    expect_err_contains "42P01"
    expect_err_contains 'relation "no_such_table" does not exist'
  else
    expect_err_contains "no such table: no_such_table"
  fi
}

# ---------------------------------------------------------------------------
t_case "a failing revision: earlier revisions of the run stay, nothing of it remains"
new_project
ok_rev
failing_rev
lm upgrade head
expect_failure_report "${T2}_half_done.lua" "INSERT INTO no_such_table"
expect_out_contains "Running upgrade <base> -> $T1, create ok"
expect_out_not_contains "-> $T2"
expect_table t_ok
expect_no_table t_partial
expect_eq "$(version_rows)" "$T1" "version rows"
lm current
expect_out_equals "$T1"

t_case "a failing revision leaves the schema exactly as it was"
before=$(db_schema)
lm upgrade head
expect_failure_report "${T2}_half_done.lua" "INSERT INTO no_such_table"
expect_same "$before" "$(db_schema)" "db_schema before and after the failed upgrade"

t_case "a failing statement rendered by an op"
new_project
ok_rev
mkrev "$T2" "$T1" "duplicate table" <<'EOF'
function upgrade()
  op.create_table("t_new", op.column("id", "integer", { primary_key = true }))
  op.create_table("t_ok", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("t_new")
end
EOF
lm upgrade "$T1"
expect_exit 0
before=$(db_schema)
lm upgrade head
expect_exit 1
expect_err_error_line
expect_err_contains "${T2}_duplicate_table.lua"
expect_err_contains "t_ok"
is_pg && expect_err_contains "42P07"
expect_err_contains "already exists"
expect_same "$before" "$(db_schema)" "db_schema before and after the failed upgrade"

t_case "a Lua error inside upgrade() after data was written"
new_project
ok_rev
mkrev "$T2" "$T1" "lua error" <<'EOF'
function upgrade()
  op.execute("INSERT INTO t_ok (id) VALUES ($1)", { 3 })
  op.add_column("t_ok", op.column("extra", "integer"))
  local broken = nil
  broken.field = 1
end

function downgrade()
end
EOF
lm upgrade "$T1"
expect_exit 0
before=$(db_schema)
lm upgrade head
expect_exit 1
expect_err_error_line
expect_err_contains "${T2}_lua_error.lua:$(grep -n 'broken.field' "$REV_FILE" | cut -d: -f1)"
expect_same "$before" "$(db_schema)" "db_schema (and row counts) before and after the failed upgrade"
expect_eq "$(db_query "SELECT count(*) FROM t_ok")" 2 "rows of t_ok"

t_case "transaction_per_migration = false: one transaction for the whole run"
new_project --no-url
write_config "url = \"$LM_URL\"," "transaction_per_migration = false,"
ok_rev
failing_rev
lm upgrade head
expect_exit 1
expect_err_error_line
expect_err_contains "${T2}_half_done.lua"
expect_no_table t_ok
expect_no_table t_partial
expect_eq "$(version_rows)" "" "version rows"
lm current
expect_exit 0
expect_out_empty

t_case "transaction_per_migration = false: a good run applies everything"
rm -f "versions/${T2}_half_done.lua"
lm upgrade head
expect_exit 0
expect_table t_ok
expect_eq "$(version_rows)" "$T1" "version rows"

# ---------------------------------------------------------------------------
t_case "a failing downgrade changes nothing"
new_project
ok_rev
mkrev "$T2" "$T1" "bad downgrade" <<'EOF'
function upgrade()
  op.create_table("t_two", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("t_two")
  op.execute("DELETE FROM no_such_table")
end
EOF
lm upgrade head
expect_exit 0
before=$(db_schema)
lm downgrade base
expect_failure_report "${T2}_bad_downgrade.lua" "DELETE FROM no_such_table"
expect_out_not_contains "Running downgrade $T1"
expect_same "$before" "$(db_schema)" "db_schema before and after the failed downgrade"
lm current
expect_out_equals "$T2 (head)"

# ---------------------------------------------------------------------------
t_case "--dry-run runs everything and keeps nothing"
new_project
ok_rev
mkrev "$T2" "$T1" "second" <<'EOF'
function upgrade()
  op.add_column("t_ok", op.column("extra", "integer"))
end

function downgrade()
  op.drop_column("t_ok", "extra")
end
EOF
lm upgrade "$T1"
expect_exit 0
before=$(db_schema)
lm upgrade head --dry-run
expect_exit 0
expect_same "$before" "$(db_schema)" "db_schema before and after --dry-run"
lm downgrade base --dry-run
expect_exit 0
expect_same "$before" "$(db_schema)" "db_schema before and after downgrade --dry-run"

t_case "--dry-run reports a failure with exit 1"
rm -f "versions/${T2}_second.lua"
failing_rev
lm upgrade head --dry-run
expect_exit 1
expect_err_contains "${T2}_half_done.lua"
expect_same "$before" "$(db_schema)" "db_schema before and after a failed --dry-run"

# ---------------------------------------------------------------------------
t_case "checksum: SHA-256 of the file's bytes"
new_project
ok_rev
lm upgrade head
expect_exit 0
expect_eq "$(db_query "SELECT checksum FROM luamig_version WHERE revision = '$T1'")" \
  "$(sha256sum "$REV_FILE" | cut -d' ' -f1)" "checksum of $REV_FILE"

t_case "checksum: CRLF line endings are normalised"
mkrev "$T2" "$T1" "crlf" <<'EOF'
function upgrade()
  op.create_table("t_crlf", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("t_crlf")
end
EOF
lf_sum=$(sha256sum "$REV_FILE" | cut -d' ' -f1)
sed -i 's/$/\r/' "$REV_FILE"
lm upgrade head
expect_exit 0
expect_table t_crlf
expect_eq "$(db_query "SELECT checksum FROM luamig_version WHERE revision = '$T2'")" "$lf_sum" "checksum of a CRLF file"
sed -i 's/\r$//' "$REV_FILE"
lm upgrade head
expect_exit 0
expect_out_empty

t_case "checksum: an edited applied revision is refused, --ignore-checksums and stamp"
before=$(db_schema)
mkrev 2b0000000003 "$T2" "third" <<'EOF'
function upgrade()
  op.create_table("t_three", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("t_three")
end
EOF
printf -- '-- a later edit\n' >>"versions/${T1}_create_ok.lua"
lm upgrade head
expect_exit_nonzero
expect_err_error_line
expect_err_contains "${T1}_create_ok.lua"
expect_err_not_contains "${T2}_crlf.lua"
expect_same "$before" "$(db_schema)" "db_schema after the refused upgrade"
lm upgrade head --ignore-checksums
expect_exit 0
expect_table t_three
lm stamp head
expect_exit 0
expect_eq "$(db_query "SELECT checksum FROM luamig_version WHERE revision = '$T1'")" \
  "$(sha256sum "versions/${T1}_create_ok.lua" | cut -d' ' -f1)" "checksum re-recorded by stamp"
lm downgrade -1
expect_exit 0
lm upgrade head
expect_exit 0
expect_out_contains "Running upgrade $T2 -> 2b0000000003, third"

# ---------------------------------------------------------------------------
# A statement that keeps the database busy for a second or two.
if is_pg; then
  slow_sql="SELECT pg_sleep(2)"
  very_slow_sql="SELECT pg_sleep(20)"
else
  slow_sql="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000000) SELECT count(*) FROM c"
  very_slow_sql="WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000) SELECT count(*) FROM c"
fi

t_case "two concurrent upgrades: one migrates, the other waits and finds nothing to do"
new_project
mkrev "$T1" "" "slow" <<EOF
function upgrade()
  op.create_table("t_slow", op.column("id", "integer", { primary_key = true }))
  op.execute("$slow_sql")
  op.bulk_insert("t_slow", { { id = 1 } })
end

function downgrade()
  op.drop_table("t_slow")
end
EOF
lm_bg first upgrade head
lm_bg second upgrade head
lm_wait first
expect_exit 0
out_first=$LM_OUT
lm_wait second
expect_exit 0
running=$(printf '%s\n%s\n' "$out_first" "$LM_OUT" | grep -c "^Running upgrade <base> -> $T1")
expect_eq "$running" 1 "Running lines over both runs"
expect_eq "$(version_rows)" "$T1" "version rows"
expect_eq "$(db_query "SELECT count(*) FROM t_slow")" 1 "rows of t_slow"

t_case "Ctrl-C rolls the running revision back and exits 130"
new_project
ok_rev
mkrev "$T2" "$T1" "interrupted" <<EOF
function upgrade()
  op.create_table("t_never", op.column("id", "integer", { primary_key = true }))
  op.execute("$very_slow_sql")
end

function downgrade()
  op.drop_table("t_never")
end
EOF
lm upgrade "$T1"
expect_exit 0
before=$(db_schema)
set -m # own process group: the background job does not ignore SIGINT
"$LUAMIG" upgrade head >"$LM_TMP/int.out" 2>"$LM_TMP/int.err" </dev/null &
pid=$!
set +m
if is_pg; then # wait until the slow statement runs
  for i in $(seq 1 100); do
    [ "$(db_query "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(20)%'")" -ge 1 ] && break
    sleep 0.1
  done
else
  sleep 1.5
fi
kill -INT "$pid"
waited=0
while kill -0 "$pid" 2>/dev/null && [ $waited -lt 300 ]; do
  sleep 0.1
  waited=$((waited + 1))
done
if kill -0 "$pid" 2>/dev/null; then
  kill -KILL "$pid"
  _fail "luamig was still running 30 s after SIGINT"
fi
wait "$pid"
LM_RC=$?
LM_CMD="luamig upgrade head   (SIGINT while the second revision runs)"
LM_OUT=$(cat "$LM_TMP/int.out")
LM_ERR=$(cat "$LM_TMP/int.err")
_lm_log_run "$LM_CMD" "$LM_RC" "$LM_TMP/int.out" "$LM_TMP/int.err"
expect_exit 130
expect_same "$before" "$(db_schema)" "db_schema before and after the interrupted upgrade"
lm current
expect_out_equals "$T1"

t_done
