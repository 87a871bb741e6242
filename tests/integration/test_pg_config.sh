#!/usr/bin/env bash
# PostgreSQL-only configuration and connection behaviour: version_table_schema,
# the accepted URL forms, authentication failures (never showing a password),
# lock_timeout.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
only_dialect postgresql

one_table_rev() { # one_table_rev ID DOWN TABLE
  mkrev "$1" "$2" "create $3" <<EOF
function upgrade()
  op.create_table("$3", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("$3")
end
EOF
}

# ---------------------------------------------------------------------------
t_case "version_table_schema puts the version table in that schema"
new_project --no-url
db_query "CREATE SCHEMA meta"
cat >luamig.lua <<EOF
return {
  url = "$LM_URL",
  version_table_schema = "meta",
}
EOF
one_table_rev d00000000001 "" in_public
lm upgrade head
expect_exit 0
expect_table public.in_public
expect_table meta.luamig_version
expect_no_table public.luamig_version
LM_VERSION_TABLE=meta.luamig_version
expect_eq "$(version_rows)" "d00000000001" "rows of meta.luamig_version"
lm current
expect_exit 0
expect_out_equals "d00000000001 (head)"
lm downgrade base
expect_exit 0
expect_no_table public.in_public
expect_eq "$(version_rows)" "" "rows of meta.luamig_version after downgrade base"
LM_VERSION_TABLE=luamig_version

# ---------------------------------------------------------------------------
t_case "URL forms: postgres://, postgresql+psycopg2://, query options"
new_project --no-url
one_table_rev d00000000002 "" url_forms
db=$(pg_dbname "$LM_URL")
lm --url "$(pg_url "$db" luamig "$LM_PASSWORD" postgres)" upgrade head
expect_exit 0
expect_table url_forms
lm --url "$(pg_url "$db" luamig "$LM_PASSWORD" postgresql+psycopg2)" current
expect_exit 0
expect_out_equals "d00000000002 (head)"
lm --url "$(pg_url "$db")?sslmode=disable&application_name=luamig_it" current
expect_exit 0
expect_out_equals "d00000000002 (head)"
DATABASE_URL=$(pg_url "$db" luamig "$LM_PASSWORD" postgresql+psycopg2) lm downgrade base
expect_exit 0
expect_no_table url_forms

# ---------------------------------------------------------------------------
t_case "a wrong password: a clear error that shows no password"
new_project --no-url
one_table_rev d00000000003 "" never_made
db=$(pg_dbname "$LM_URL")
lm --url "$(pg_url "$db" luamig 'Wr0ng-Secret-zz9')" upgrade head
expect_exit_nonzero
expect_err_error_line
expect_err_contains_i "password authentication failed"
expect_err_not_contains "Wr0ng-Secret-zz9"
expect_out_not_contains "Wr0ng-Secret-zz9"
if _contains "$LM_ERR" "postgresql://"; then
  expect_err_contains "luamig:***@"
fi
expect_db_untouched

t_case "an unreachable server: a clear error that shows no password"
lm --url "postgresql://luamig:$LM_PASSWORD@127.0.0.1:1/nowhere" upgrade head
expect_exit_nonzero
expect_err_error_line
lm --url "postgresql://luamig:$LM_PASSWORD@127.0.0.1:1/nowhere" current
expect_exit_nonzero
expect_err_error_line

t_case "a percent-encoded password in the URL"
role="lmit_odd_$$"
odd_password='p@ss:w/rd%x'
db_query "CREATE ROLE $role LOGIN SUPERUSER PASSWORD '$odd_password'"
lm --url "postgresql://$role:p%40ss%3Aw%2Frd%25x@127.0.0.1:$LM_PG_PORT/$db" upgrade head
expect_exit 0
expect_table never_made
expect_err_not_contains "$odd_password"
expect_out_not_contains "$odd_password"
lm --url "postgresql://$role:p%40ss%3Aw%2Frd%25x@127.0.0.1:$LM_PG_PORT/$db" downgrade base
expect_exit 0
db_query "DROP ROLE $role" >/dev/null

# ---------------------------------------------------------------------------
t_case "lock_timeout: a revision that cannot get its lock fails, naming it"
new_project --no-url
cat >luamig.lua <<EOF
return {
  url = "$LM_URL",
  lock_timeout = "200ms",
  lock_retries = 1,
}
EOF
one_table_rev d00000000004 "" busy
mkrev d00000000005 d00000000004 "alter busy" <<'EOF'
function upgrade()
  op.add_column("busy", op.column("extra", "integer"))
end

function downgrade()
  op.drop_column("busy", "extra")
end
EOF
lm upgrade d00000000004
expect_exit 0
# Hold an ACCESS EXCLUSIVE lock on busy from another session for a while.
PGOPTIONS='-c client_min_messages=warning' psql -X -q -d "$LM_URL" \
  -c "BEGIN; LOCK TABLE busy IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(20); COMMIT;" >/dev/null 2>&1 &
holder=$!
for i in $(seq 1 50); do
  [ "$(db_query "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = 'busy' AND l.mode = 'AccessExclusiveLock' AND l.granted")" = 1 ] && break
  sleep 0.1
done
started=$(date +%s)
LM_TIMEOUT=60 lm upgrade head
elapsed=$(($(date +%s) - started))
expect_exit 1
expect_err_has_error_line
expect_err_contains_i "lock"
expect_err_contains "d00000000005"
[ "$elapsed" -lt 15 ]
_check $? "lock_timeout 200ms with 1 retry should fail within seconds, took ${elapsed}s"
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
db_query "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()" >/dev/null
expect_eq "$(version_rows)" "d00000000004" "version rows after the lock timeout"
expect_eq "$(columns busy)" "id" "columns of busy after the lock timeout"
lm upgrade head
expect_exit 0
expect_eq "$(columns busy)" "id,extra" "columns of busy once the lock is gone"

t_done
