#!/usr/bin/env bash
# Work that commits before a step ends (op.autocommit_block) and the journal
# beside the version table that keeps reruns from applying it twice:
#   - UPDATE, autocommit_block, failure: the error says what was committed
#     (never "rolled back"), reruns that fail again change nothing more, and
#     the rerun that succeeds gives the data of a clean run;
#   - SIGINT and kill -9 inside the block, then a rerun: the data of a clean run;
#   - PostgreSQL: the INVALID index a failed CREATE INDEX CONCURRENTLY left is
#     dropped before it is built again;
#   - op.execute refuses COMMIT / ROLLBACK / BEGIN … naming file and line;
#   - lint: ops-before-autocommit;
#   - a version table made by an earlier luamig (no journal) keeps working;
#     --sql prints the journal's table and writes;
#   - the lock: SIGINT while waiting exits 130 with nothing stamped, and on
#     PostgreSQL version_table_schema = "public" and the default are one lock.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

J=luamig_version_journal
SLOW_SQL=$(pick "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000000) SELECT count(*) FROM c" \
  "SELECT pg_sleep(30)")

base_rev() {
  mkrev a1 "" "accounts" <<'EOF'
function upgrade()
  op.create_table("acct", op.column("id", "integer", { primary_key = true }),
    op.column("balance", "integer", { nullable = false }))
  op.bulk_insert("acct", { { id = 1, balance = 100 }, { id = 2, balance = 5 } })
end
function downgrade() op.drop_table("acct") end
EOF
}

# The revision of the report: an UPDATE, then an autocommit_block; -x fail=1
# fails after the block, -x slow=1 runs a long statement inside it.
balance_rev() {
  mkrev a2 a1 "bump balances" <<EOF
-- luamig: allow ops-before-autocommit
function upgrade()
  op.execute("UPDATE acct SET balance = balance + 10")
  op.autocommit_block(function()
    op.create_index("ix_acct_balance", "acct", { "balance" },
      { concurrently = context.dialect == "postgresql" })
    if context.x.slow then op.execute("$SLOW_SQL") end
    op.create_index("ix_acct_id_balance", "acct", { "id", "balance" },
      { concurrently = context.dialect == "postgresql" })
  end)
  if context.x.fail then op.execute("UPDATE no_such_table SET x = 1") end
  op.add_column("acct", op.column("note", "text"))
  op.execute("UPDATE acct SET note = 'n' || balance")
end
function downgrade()
  op.drop_column("acct", "note")
end
EOF
}

# state: the data, the indexes and the version rows, as text.
state() {
  db_query "SELECT id || '|' || balance || '|' || coalesce(note, '-') FROM acct ORDER BY id"
  if is_pg; then
    db_query "SELECT indexrelid::regclass::text || '|' || indisvalid FROM pg_index WHERE indrelid = 'acct'::regclass ORDER BY 1"
  else
    db_query "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'acct' ORDER BY name"
  fi
  echo "versions: $(version_rows | tr '\n' ' ')"
  echo "journal rows: $(journal_rows)"
}

journal_rows() {
  if is_pg; then
    [ "$(db_query "SELECT to_regclass('$J') IS NOT NULL")" = t ] || {
      echo none
      return
    }
  else
    [ "$(db_query "SELECT count(*) FROM sqlite_master WHERE name = '$J'")" = 1 ] || {
      echo none
      return
    }
  fi
  db_query "SELECT count(*) FROM $J"
}

# wait_started N: waits until the journal records operation N as running
# outside a transaction.
wait_started() {
  local i
  for _ in $(seq 1 300); do
    [ "$(journal_rows 2>/dev/null)" = 1 ] &&
      [ "$(db_query "SELECT coalesce(op_started, 0) FROM $J" 2>/dev/null)" = "$1" ] && return 0
    sleep 0.1
  done
  _lm_harness_error "the journal never recorded operation $1 as started"
}

# ---------------------------------------------------------------------------
t_case "reference: a clean run"
new_project
base_rev
balance_rev
lm upgrade head
expect_exit 0
expect_out_count 2 '^Running upgrade '
CLEAN=$(state)
expect_text_contains "$CLEAN" "1|110|n110" "balances after one run"
expect_text_contains "$CLEAN" "journal rows: none" "no journal table once the step is whole"

# ---------------------------------------------------------------------------
t_case "UPDATE, autocommit_block, failure: the error says what was committed"
new_project
base_rev
balance_rev
lm upgrade head -x fail=1
expect_exit 1
expect_err_contains "failed half applied"
expect_err_contains "its first 3 operations (up to versions/a2_bump_balances.lua:"
expect_err_contains "were committed and stay done"
expect_err_not_contains "failed and was rolled back"
expect_err_contains "no_such_table"
expect_eq "$(db_query "SELECT balance FROM acct WHERE id = 1")" "110" "balance after the failure"
expect_eq "$(journal_rows)" "1" "journal rows after the failure"
expect_same "$(version_rows)" "a1" "version rows after the failure"

t_case "rerunning the failing revision applies nothing twice"
for _ in 1 2; do
  lm upgrade head -x fail=1
  expect_exit 1
  expect_err_contains "resuming upgrade a2: its first 3 operations, committed by an earlier run, are skipped"
  expect_err_contains "failed half applied"
done
expect_eq "$(db_query "SELECT balance FROM acct WHERE id = 1")" "110" "balance after three failed runs"

t_case "the rerun that succeeds gives the data of a clean run"
lm upgrade head
expect_exit 0
expect_out_count 1 '^Running upgrade '
expect_same "$(state)" "$CLEAN" "after failure and rerun (-) vs a clean run (+)"

# ---------------------------------------------------------------------------
for sig in INT KILL; do
  t_case "SIG$sig inside the autocommit block, then a rerun"
  new_project
  base_rev
  balance_rev
  lm upgrade a1
  "$LUAMIG" upgrade head -x slow=1 >"$LM_TMP/sig.out" 2>"$LM_TMP/sig.err" &
  pid=$!
  wait_started 3
  kill -"$sig" "$pid"
  { wait "$pid"; } 2>/dev/null
  LM_RC=$? LM_OUT=$(cat "$LM_TMP/sig.out") LM_ERR=$(cat "$LM_TMP/sig.err")
  LM_CMD="luamig upgrade head -x slow=1 (SIG$sig while the slow statement runs)"
  if [ "$sig" = INT ]; then
    expect_exit 130
    expect_err_contains "stopped half applied: its first 2 operations"
    expect_err_not_contains "was rolled back"
  else
    expect_exit 137
  fi
  if is_pg && [ "$sig" = KILL ]; then
    # the server notices a vanished client only when it next writes to it:
    # end the killed run's sleeping session as a server restart would
    db_query "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()" >/dev/null
  fi
  expect_eq "$(db_query "SELECT balance FROM acct WHERE id = 1")" "110" "balance after the interrupt"
  lm upgrade head
  expect_exit 0
  expect_err_contains "resuming upgrade a2: its first 2 operations, committed by an earlier run, are skipped"
  expect_same "$(state)" "$CLEAN" "after SIG$sig and a rerun (-) vs a clean run (+)"
done

# ---------------------------------------------------------------------------
if is_pg; then
  t_case "PostgreSQL: the INVALID index of a failed CREATE INDEX CONCURRENTLY is dropped before the retry"
  new_project
  mkrev u1 "" "codes" <<'EOF'
function upgrade()
  op.create_table("codes", op.column("id", "integer", { primary_key = true }), op.column("code", "text"))
  op.bulk_insert("codes", { { id = 1, code = "a" }, { id = 2, code = "a" } })
end
function downgrade() op.drop_table("codes") end
EOF
  mkrev u2 u1 "unique codes" <<'EOF'
function upgrade()
  op.autocommit_block(function()
    op.create_index("ux_codes_code", "codes", { "code" }, { unique = true, concurrently = true })
  end)
end
function downgrade()
  op.autocommit_block(function()
    op.drop_index("ux_codes_code", { table_name = "codes", concurrently = true })
  end)
end
EOF
  lm upgrade head
  expect_exit 1
  expect_err_contains "could not create unique index"
  expect_eq "$(db_query "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ux_codes_code'::regclass")" "f" \
    "the failed CREATE INDEX CONCURRENTLY left an INVALID index"
  db_query "UPDATE codes SET code = 'b' WHERE id = 2" >/dev/null
  lm upgrade head
  expect_exit 0
  expect_err_not_contains "already exists"
  expect_eq "$(db_query "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ux_codes_code'::regclass")" "t" \
    "the index after the rerun"
  expect_same "$(version_rows)" "$(printf 'u1\nu2')" "version rows"
fi

# ---------------------------------------------------------------------------
t_case "op.execute refuses transaction-control statements"
for sql in "COMMIT" "rollback" "  -- note\n  BEGIN" "UPDATE acct SET balance = 0; END" "SAVEPOINT s" \
  "start transaction" "ABORT" "RELEASE SAVEPOINT s"; do
  new_project
  base_rev
  mkrev a2 a1 "transaction control" <<EOF
function upgrade()
  op.execute("UPDATE acct SET balance = balance + 10")
  op.execute("$sql")
end
function downgrade() end
EOF
  lm upgrade head
  expect_exit 1
  expect_err_matches "versions/a2_transaction_control\.lua:[0-9]+: op\.execute: [A-Z ]+ is a transaction-control"
  expect_err_contains "is a transaction-control statement"
  expect_eq "$(db_query "SELECT balance FROM acct WHERE id = 1")" "100" "balance after the refused revision ($sql)"
  expect_same "$(version_rows)" "a1" "version rows"
done

# ---------------------------------------------------------------------------
t_case "lint: ops-before-autocommit is an error; steps of their own pass"
new_project
base_rev
mkrev a2 a1 "mixed" <<'EOF'
function upgrade()
  op.execute("UPDATE acct SET balance = balance + 10")
  op.autocommit_block(function()
    op.create_index("ix_acct_balance", "acct", { "balance" }, { concurrently = true })
  end)
end
function downgrade()
  op.autocommit_block(function()
    op.drop_index("ix_acct_balance", { table_name = "acct", concurrently = true })
  end)
  op.execute("UPDATE acct SET balance = balance - 10")
end
EOF
lm lint
expect_exit 1
expect_out_matches "versions/a2_mixed\.lua:13: error \[ops-before-autocommit\] op.autocommit_block commits the 1 operation made before it in the same function"
expect_out_contains "split into steps"
expect_out_count 1 'ops-before-autocommit'
rm versions/a2_mixed.lua
mkrev a2 a1 "split" <<'EOF'
steps = {
  { name = "bump",
    up = function() op.execute("UPDATE acct SET balance = balance + 10") end,
    down = function() op.execute("UPDATE acct SET balance = balance - 10") end },
  { name = "index",
    up = function()
      op.autocommit_block(function()
        op.create_index("ix_acct_balance", "acct", { "balance" }, { concurrently = true })
      end)
    end,
    down = function()
      op.autocommit_block(function()
        op.drop_index("ix_acct_balance", { table_name = "acct", concurrently = true })
      end)
    end },
}
EOF
lm lint
expect_out_not_contains "ops-before-autocommit"

# ---------------------------------------------------------------------------
t_case "a version table from an earlier luamig (no journal) keeps working"
new_project
base_rev
lm upgrade head
expect_exit 0
expect_eq "$(journal_rows)" "none" "no journal table until a step needs it"
balance_rev
lm upgrade head -x fail=1
expect_exit 1
expect_eq "$(journal_rows)" "1" "the journal table is made on first use"
expect_same "$(version_rows)" "a1" "version rows after the failure"
lm upgrade head
expect_exit 0
expect_same "$(state)" "$CLEAN" "after failure and rerun (-) vs a clean run (+)"

t_case "--sql prints the journal's table and writes"
lm upgrade base:head --sql
expect_exit 0
expect_out_contains "CREATE TABLE IF NOT EXISTS \"$J\""
expect_out_contains "INSERT INTO \"$J\""
expect_out_contains "DROP TABLE IF EXISTS \"$J\""

# ---------------------------------------------------------------------------
t_case "SIGINT while waiting for the lock: exit 130, nothing stamped"
new_project
base_rev
mkrev a2 a1 "slow" <<EOF
function upgrade()
  op.execute("$SLOW_SQL")
end
function downgrade() end
EOF
lm upgrade a1
"$LUAMIG" upgrade head >"$LM_TMP/holder.out" 2>"$LM_TMP/holder.err" &
holder=$!
sleep 1
"$LUAMIG" stamp head >"$LM_TMP/stamp.out" 2>"$LM_TMP/stamp.err" &
pid=$!
sleep 1
kill -INT "$pid"
wait "$pid"
LM_RC=$? LM_OUT=$(cat "$LM_TMP/stamp.out") LM_ERR=$(cat "$LM_TMP/stamp.err")
LM_CMD="luamig stamp head (SIGINT while waiting for the lock)"
expect_exit 130
expect_err_contains "waiting for another luamig run"
expect_err_contains "interrupted while waiting for another luamig run to finish; nothing was done"
kill -INT "$holder"
wait "$holder"
LM_RC=$? LM_OUT=$(cat "$LM_TMP/holder.out") LM_ERR=$(cat "$LM_TMP/holder.err")
LM_CMD="luamig upgrade head (the lock holder, interrupted after the stamp)"
expect_exit 130
expect_same "$(version_rows)" "a1" "version rows: stamp did nothing"

# ---------------------------------------------------------------------------
if is_pg; then
  t_case "PostgreSQL: version_table_schema = \"public\" and the default are one lock"
  new_project
  base_rev
  mkrev a2 a1 "slow" <<'EOF'
function upgrade()
  op.execute("SELECT pg_sleep(2)")
  op.create_table("once", op.column("id", "integer", { primary_key = true }))
end
function downgrade() op.drop_table("once") end
EOF
  cp luamig.lua default.lua
  write_config "url = \"$LM_URL\"," 'version_table_schema = "public",'
  lm_bg qualified upgrade head
  sleep 0.7
  lm -c default.lua upgrade head
  expect_exit 0
  expect_err_contains "waiting for another luamig run"
  expect_out_count 0 '^Running upgrade '
  lm_wait qualified
  expect_exit 0
  expect_out_count 2 '^Running upgrade '
  expect_same "$(version_rows)" "$(printf 'a1\na2')" "version rows"
fi

t_done
