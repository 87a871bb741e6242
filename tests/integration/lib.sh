# shellcheck shell=bash
# lib.sh: a small framework for luamig's black-box integration tests.
#
# Sourced by every tests/integration/test_<area>.sh. The same test runs on
# both dialects: LM_DIALECT (sqlite | postgresql) picks which, and every case
# is written once against the helpers below.
#
# Environment (set by ctest, see CMakeLists.txt; defaults suit a manual run
# from the source tree):
#   LM_DIALECT     sqlite (default) or postgresql
#   LUAMIG         the binary under test            (default build/luamig)
#   LM_SOURCE_DIR  the source tree
#   LM_PG_STATE    the folder tests/pg_server.sh started the server in
#                  (its env file gives the port)    (default build/pgtest)
#   LM_KEEP=1      keep the temporary folder (and luamig's output log) even
#                  when every assertion passed
#
# Running one by hand:
#   LM_DIALECT=postgresql bash tests/integration/test_cli.sh
#
# Conventions:
#   t_case NAME              announce a case (failures name it)
#   new_project [--no-url]   fresh project dir (luamig.lua + versions/) and a
#                            fresh database; cd's into it; sets PROJECT, LM_URL
#   mkrev ID DOWN MSG        writes versions/ID_<slug>.lua, body from stdin
#   lm ARGS...               runs luamig; sets LM_RC, LM_OUT, LM_ERR
#   expect_*                 assertions; they count, they never abort the test
#   db_query SQL / db_schema introspection of the current database (LM_URL)
#   t_done                   the script's last line
#
# Exit status: 0 when every assertion passed, 1 otherwise, 77 when skipped.

set -u
set -o pipefail

readonly LM_PASSWORD='Lm-Test-Pa55word-7q'
LM_DIALECT=${LM_DIALECT:-sqlite}
LM_SOURCE_DIR=${LM_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LUAMIG=${LUAMIG:-$LM_SOURCE_DIR/build/luamig}
LM_PG_STATE=${LM_PG_STATE:-$LM_SOURCE_DIR/build/pgtest}
LM_TEST_NAME=$(basename "$0" .sh)
LM_TEST_SLUG=$(printf '%s' "${LM_TEST_NAME#test_}" | tr -c 'a-z0-9' '_' | cut -c1-24)

LM_PASSED=0
LM_FAILED=0
LM_SKIPPED=0
LM_DONE=0
LM_CASE="(setup)"
LM_CMD="" LM_RC="" LM_OUT="" LM_ERR=""
LM_URL=""
PROJECT=""
# The version table db_schema reports the rows of (PostgreSQL: may be schema.table).
LM_VERSION_TABLE=luamig_version

# Revision ids shared by many tests: a chain R1 <- R2 <- R3 where "9c" is an
# ambiguous prefix (R2, R3) and "3a8" a unique one.
readonly R1=3a8f1c2d4b7e R2=9c3e5f8a1d2b R3=9c4d7e0f1a2b

# ---------------------------------------------------------------------------
# dialects

is_pg() { [ "$LM_DIALECT" = postgresql ]; }
is_sqlite() { [ "$LM_DIALECT" = sqlite ]; }

# pick SQLITE_VALUE PG_VALUE: prints the one for the current dialect.
pick() { if is_pg; then printf '%s' "$2"; else printf '%s' "$1"; fi; }

# only_dialect NAME: skips the whole test (exit 77) on the other dialect.
only_dialect() {
  if [ "$LM_DIALECT" != "$1" ]; then
    echo "SKIP: $LM_TEST_NAME only runs on $1"
    LM_SKIPPED=1
    exit 77
  fi
}

case "$LM_DIALECT" in
sqlite | postgresql) ;;
*)
  echo "LM_DIALECT must be sqlite or postgresql, not '$LM_DIALECT'" >&2
  exit 2
  ;;
esac

if [ ! -x "$LUAMIG" ]; then
  echo "FATAL: the luamig binary '$LUAMIG' does not exist or is not executable (build it first)" >&2
  exit 1
fi

if is_pg; then
  if [ ! -f "$LM_PG_STATE/env" ]; then
    echo "FATAL: no PostgreSQL test server: $LM_PG_STATE/env is missing" >&2
    echo "       (start one with: tests/pg_server.sh start $LM_PG_STATE)" >&2
    exit 1
  fi
  LM_PG_PORT=$(. "$LM_PG_STATE/env" && printf '%s' "$PGPORT")
  LM_PG_HOST=127.0.0.1
  # Debian's /usr/bin/psql and createdb are a Perl wrapper that picks a
  # cluster: 50 ms a call, a third of a test's time on PostgreSQL. The
  # server's own client binaries do the same work without it.
  for _d in /usr/lib/postgresql/*/bin; do [ -x "$_d/psql" ] && LM_PG_BINDIR=$_d; done
  [ -n "${LM_PG_BINDIR:-}" ] && PATH=$LM_PG_BINDIR:$PATH
  unset _d
fi

LM_TMP=$(mktemp -d "${TMPDIR:-/tmp}/luamig-it-${LM_TEST_SLUG}-${LM_DIALECT}.XXXXXX")
LM_OUTPUT_LOG=$LM_TMP/output.log
: >"$LM_OUTPUT_LOG"

# Nothing from the caller's environment may steer luamig or libpq: every test
# says exactly which database it means.
unset DATABASE_URL PGHOST PGHOSTADDR PGPORT PGUSER PGPASSWORD PGDATABASE PGSERVICE PGOPTIONS
export PGPASSFILE=$LM_TMP/no-such-pgpass
export PGCONNECT_TIMEOUT=10
# luamig's revision index goes to the test's own folder, not ~/.cache
export LUAMIG_CACHE_DIR=$LM_TMP/cache
export NO_COLOR=1

# pg_admin CMD...: runs a PostgreSQL client tool as the test superuser.
pg_admin() {
  PGHOST=$LM_PG_HOST PGPORT=$LM_PG_PORT PGUSER=luamig PGPASSWORD=$LM_PASSWORD \
    PGDATABASE=postgres PGOPTIONS='-c client_min_messages=warning' "$@"
}

# pg_url DB [USER] [PASSWORD] [SCHEME]: a URL for a database on the test server.
pg_url() {
  printf '%s://%s:%s@%s:%s/%s' "${4:-postgresql}" "${2:-luamig}" "${3:-$LM_PASSWORD}" \
    "$LM_PG_HOST" "$LM_PG_PORT" "$1"
}

# mask TEXT: the text with the test password replaced by ***.
mask() { local s=$1; printf '%s' "${s//$LM_PASSWORD/***}"; }

# ---------------------------------------------------------------------------
# projects and databases

_lm_next_id() {
  local n=0
  [ -s "$LM_TMP/counter" ] && n=$(<"$LM_TMP/counter")
  n=$((n + 1))
  echo "$n" >"$LM_TMP/counter"
  echo "$n"
}

# fresh_url: prints the URL of a new, empty database of the current dialect.
# PostgreSQL databases are dropped when the test exits (even when the URL was
# made in a subshell: the names are kept in a file).
fresh_url() {
  local n db
  n=$(_lm_next_id)
  if is_pg; then
    db="lmit_${LM_TEST_SLUG}_$$_$n"
    pg_admin createdb "$db" || {
      echo "fresh_url: createdb $db failed" >&2
      return 1
    }
    echo "$db" >>"$LM_TMP/databases"
    pg_url "$db"
  else
    printf 'sqlite:///%s/db%s.db' "$LM_TMP" "$n"
  fi
}

# sqlite_path URL: the file of a sqlite:/// URL.
sqlite_path() { printf '%s' "${1#sqlite:///}"; }

# pg_dbname URL: the database name of a postgresql:// URL.
pg_dbname() {
  local rest=${1#*://}
  rest=${rest#*/}
  printf '%s' "${rest%%\?*}"
}

# new_project [--no-url]: a fresh project folder with luamig.lua (url = a fresh
# database unless --no-url) and an empty versions/; cd's into it.
new_project() {
  local n
  n=$(_lm_next_id)
  PROJECT=$LM_TMP/project$n
  mkdir -p "$PROJECT/versions"
  cd "$PROJECT" || exit 1
  LM_URL=$(fresh_url) || exit 1
  LM_VERSION_TABLE=luamig_version
  if [ "${1:-}" = --no-url ]; then
    write_config
  else
    write_config "url = \"$LM_URL\","
  fi
}

# write_config [LUA_FIELD_LINE...]: writes luamig.lua with versions = {"versions"}
# and the given extra fields (e.g. 'version_table = "v"',).
write_config() {
  {
    echo "return {"
    local line
    for line in "$@"; do printf '  %s\n' "$line"; done
    echo '  versions = { "versions" },'
    echo "}"
  } >luamig.lua
}

# use_url URL: points db_query / db_schema at another database.
use_url() { LM_URL=$1; }

# write_rev FILE: writes stdin to FILE (creating its folder).
write_rev() {
  mkdir -p "$(dirname "$1")"
  cat >"$1"
}

# slugify TEXT: what `luamig revision` makes of a message.
slugify() { printf '%s' "$1" | tr 'A-Z' 'a-z' | sed 's/[^a-z0-9]/_/g'; }

# mkrev ID DOWN MESSAGE [DIR]: writes DIR/ID_<slug>.lua (DIR: versions) with the
# usual header and globals, then the body read from stdin. DOWN is "" for a
# root, an id, or a Lua expression starting with "{" (a merge point). Sets
# REV_FILE to the path written.
mkrev() {
  local id=$1 down=$2 msg=$3 dir=${4:-versions} downlua
  if [ -z "$down" ]; then
    downlua=nil
  elif [ "${down:0:1}" = "{" ]; then
    downlua=$down
  else
    downlua="\"$down\""
  fi
  REV_FILE=$dir/${id}_$(slugify "$msg").lua
  mkdir -p "$dir"
  {
    printf -- '--[[ %s\n\nRevision ID: %s\nRevises: %s\nCreate Date: 2026-01-01 00:00:00\n]]\n' \
      "$msg" "$id" "${down:-}"
    printf 'revision = "%s"\ndown_revision = %s\nmessage = "%s"\n\n' "$id" "$downlua" "${msg//\"/\\\"}"
    cat
  } >"$REV_FILE"
}

# chain3: the R1 <- R2 <- R3 chain creating tables t_one, t_two, t_three.
chain3() {
  mkrev "$R1" "" "create one" <<'EOF'
function upgrade()
  op.create_table("t_one", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("t_one")
end
EOF
  mkrev "$R2" "$R1" "create two" <<'EOF'
function upgrade()
  op.create_table("t_two", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("t_two")
end
EOF
  mkrev "$R3" "$R2" "create three" <<'EOF'
function upgrade()
  op.create_table("t_three", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("t_three")
end
EOF
}

# ---------------------------------------------------------------------------
# running luamig

# lm, expect_* and the other helpers run thousands of times per script: they
# avoid forks (every $(...) and every external tool is one), which cost more
# than the checks themselves.

# _lm_set_cmd ARGS...: LM_CMD = the command line as shown in reports, the
# password masked.
_lm_set_cmd() {
  printf -v LM_CMD '%q ' luamig "$@"
  LM_CMD=${LM_CMD% }
  [ -n "${DATABASE_URL+x}" ] && LM_CMD="DATABASE_URL=$DATABASE_URL $LM_CMD"
  LM_CMD=${LM_CMD//$LM_PASSWORD/***}
}

# lm ARGS...: runs $LUAMIG with ARGS (stdin from /dev/null, a time limit);
# sets LM_RC, LM_OUT, LM_ERR and appends both outputs to $LM_OUTPUT_LOG.
lm() {
  _lm_set_cmd "$@"
  local out=$LM_TMP/last.out err=$LM_TMP/last.err
  timeout -k 5 "${LM_TIMEOUT:-120}" "$LUAMIG" "$@" >"$out" 2>"$err" </dev/null
  LM_RC=$?
  LM_OUT=$(<"$out") # $(<FILE) reads without a process
  LM_ERR=$(<"$err")
  _lm_log_run "$LM_CMD" "$LM_RC" "$out" "$err"
}

# _lm_log_prefix PREFIX FILE: FILE's lines, each after PREFIX.
_lm_log_prefix() {
  local t
  t=$(<"$2")
  [ -n "$t" ] && printf '%s%s\n' "$1" "${t//$'\n'/$'\n'$1}"
  return 0
}

_lm_log_run() {
  {
    printf '$ %s    [exit %s; in %s]\n' "$1" "$2" "$PWD"
    _lm_log_prefix '  out| ' "$3"
    _lm_log_prefix '  err| ' "$4"
  } >>"$LM_OUTPUT_LOG"
}

# lm_bg NAME ARGS...: starts luamig in the background (outputs in
# $LM_TMP/NAME.out / .err); lm_wait NAME collects it like lm does.
lm_bg() {
  local name=$1
  shift
  local shown=$LM_CMD
  _lm_set_cmd "$@"
  printf '%s' "$LM_CMD" >"$LM_TMP/$name.cmd"
  LM_CMD=$shown
  (
    timeout -k 5 "${LM_TIMEOUT:-120}" "$LUAMIG" "$@" >"$LM_TMP/$name.out" 2>"$LM_TMP/$name.err" </dev/null
    echo $? >"$LM_TMP/$name.rc"
  ) &
}
lm_wait() {
  local name=$1
  while [ ! -s "$LM_TMP/$name.rc" ]; do sleep 0.1; done
  LM_CMD=$(<"$LM_TMP/$name.cmd")
  LM_RC=$(<"$LM_TMP/$name.rc")
  LM_OUT=$(<"$LM_TMP/$name.out")
  LM_ERR=$(<"$LM_TMP/$name.err")
  _lm_log_run "$LM_CMD" "$LM_RC" "$LM_TMP/$name.out" "$LM_TMP/$name.err"
}

# ---------------------------------------------------------------------------
# assertions

t_case() {
  LM_CASE=$1
  LM_CMD="" LM_RC="" LM_OUT="" LM_ERR=""
  printf -- '--- %s\n' "$1"
  printf '### case: %s\n' "$1" >>"$LM_OUTPUT_LOG"
}

_indent() { sed -e 's/^/      | /' | head -n 80; }

_pass() { LM_PASSED=$((LM_PASSED + 1)); }

# _fail MESSAGE [DETAIL]: reports a failed assertion with the last command.
_fail() {
  LM_FAILED=$((LM_FAILED + 1))
  {
    printf 'FAIL [%s] %s\n' "$LM_CASE" "$1"
    [ -n "${2:-}" ] && printf '%s\n' "$2" | _indent
    if [ -n "$LM_CMD" ]; then
      printf '    command: %s\n' "$LM_CMD"
      printf '    exit:    %s\n' "$LM_RC"
      printf '    stdout:\n'
      printf '%s\n' "$LM_OUT" | _indent
      printf '    stderr:\n'
      printf '%s\n' "$LM_ERR" | _indent
    fi
  } >&2
}

_check() { # _check CONDITION_STATUS MESSAGE [DETAIL]
  if [ "$1" -eq 0 ]; then _pass; else _fail "$2" "${3:-}"; fi
}

# _lm_harness_error MESSAGE: a helper of this file failed (an introspection
# query, say). Recorded in a file, because helpers often run in a subshell
# ($(db_schema)); the test fails at its end.
_lm_harness_error() {
  printf '[%s] %s\n' "$LM_CASE" "$1" | tee -a "$LM_TMP/harness_errors" >&2
  printf 'HARNESS ERROR: %s\n' "$1"
}

expect_exit() {
  [ "$LM_RC" = "$1" ]
  _check $? "expected exit status $1, got $LM_RC"
}

# expect_exit_nonzero: a failure, but a controlled one (not a crash or timeout).
expect_exit_nonzero() {
  [ -n "$LM_RC" ] && [ "$LM_RC" -ge 1 ] && [ "$LM_RC" -le 2 ]
  _check $? "expected a clean failure (exit 1 or 2), got $LM_RC"
}

_contains() { [[ $1 == *"$2"* ]]; }

expect_out_contains() {
  _contains "$LM_OUT" "$1"
  _check $? "stdout should contain: $1"
}
expect_out_not_contains() {
  ! _contains "$LM_OUT" "$1"
  _check $? "stdout should not contain: $1"
}
expect_err_contains() {
  _contains "$LM_ERR" "$1"
  _check $? "stderr should contain: $1"
}
expect_err_not_contains() {
  ! _contains "$LM_ERR" "$1"
  _check $? "stderr should not contain: $1"
}
# case-insensitive
expect_err_contains_i() {
  _contains "${LM_ERR,,}" "${1,,}"
  _check $? "stderr should contain (any case): $1"
}
expect_out_empty() {
  [ -z "$LM_OUT" ]
  _check $? "stdout should be empty"
}
expect_out_equals() {
  [ "$LM_OUT" = "$1" ]
  _check $? "stdout should be exactly:" "$1"
}
# expect_out_matches ERE: some line of stdout matches the extended regex.
expect_out_matches() {
  grep -qE -- "$1" <<<"$LM_OUT"
  _check $? "stdout should match the regex: $1"
}
expect_out_not_matches() {
  ! grep -qE -- "$1" <<<"$LM_OUT"
  _check $? "stdout should not match the regex: $1"
}
expect_err_matches() {
  grep -qE -- "$1" <<<"$LM_ERR"
  _check $? "stderr should match the regex: $1"
}
# expect_err_error_line: stderr's first line is `luamig: error: …`.
expect_err_error_line() {
  [[ ${LM_ERR%%$'\n'*} == "luamig: error: "* ]]
  _check $? "stderr should start with 'luamig: error: '"
}
# expect_err_has_error_line: some line of stderr starts with `luamig: error: `
# (for runs that print progress notes, e.g. lock retries, before failing).
expect_err_has_error_line() {
  [[ $'\n'$LM_ERR == *$'\nluamig: error: '* ]]
  _check $? "stderr should have a line starting with 'luamig: error: '"
}
# expect_out_count N REGEX: exactly N lines of stdout match.
expect_out_count() {
  local got
  got=$(grep -cE -- "$2" <<<"$LM_OUT")
  [ "$got" -eq "$1" ]
  _check $? "stdout should have $1 line(s) matching '$2', has $got"
}
# expect_out_order TEXT...: each text is in stdout, each on a later line than the one before.
expect_out_order() {
  local prev=0 n t
  for t in "$@"; do
    n=$(grep -nF -- "$t" <<<"$LM_OUT" | head -n 1 | cut -d: -f1)
    if [ -z "$n" ] || [ "$n" -le "$prev" ]; then
      _fail "stdout should have, in this order, lines containing:" "$(printf '%s\n' "$@")"
      return
    fi
    prev=$n
  done
  _pass
}

# expect_eq GOT WANT WHAT
expect_eq() {
  [ "$1" = "$2" ]
  _check $? "${3:-value}: expected '$2', got '$1'"
}
expect_ne() {
  [ "$1" != "$2" ]
  _check $? "${3:-value}: expected something other than '$2'"
}
# expect_text_contains TEXT NEEDLE WHAT
expect_text_contains() {
  _contains "$1" "$2"
  _check $? "${3:-text} should contain: $2" "$1"
}
expect_text_not_contains() {
  ! _contains "$1" "$2"
  _check $? "${3:-text} should not contain: $2" "$1"
}
# expect_same A B WHAT: two texts (e.g. two db_schema dumps) are identical.
expect_same() {
  if [ "$1" = "$2" ]; then
    _pass
  else
    _fail "${3:-texts} differ (- first, + second)" "$(diff <(printf '%s\n' "$1") <(printf '%s\n' "$2") | head -n 60)"
  fi
}
# expect_ok WHAT CMD...: the command succeeds.
expect_ok() {
  local what=$1 out
  shift
  out=$("$@" 2>&1)
  _check $? "$what (command failed: $*)" "$out"
}
# expect_fails WHAT CMD...: the command fails.
expect_fails() {
  local what=$1 out
  shift
  out=$("$@" 2>&1)
  [ $? -ne 0 ]
  _check $? "$what (command unexpectedly succeeded: $*)" "$out"
}
expect_file() {
  [ -e "$1" ]
  _check $? "file should exist: $1"
}
expect_no_file() {
  [ ! -e "$1" ]
  _check $? "file should not exist: $1"
}

# ---------------------------------------------------------------------------
# the database

# db_query SQL [URL]: runs SQL on the database and prints the rows, columns
# separated by '|'. Exit status non-zero on an SQL error. A SQLite file that
# does not exist is an error (it is never created by accident).
db_query() {
  local sql=$1 url=${2:-$LM_URL}
  if is_pg; then
    PGOPTIONS='-c client_min_messages=warning' psql -X -A -t -q -v ON_ERROR_STOP=1 -d "$url" <<<"$sql"
  else
    local path=${url#sqlite:///}
    if [ ! -e "$path" ]; then
      echo "db_query: no database file $path" >&2
      return 1
    fi
    sqlite3 -batch -bail "$path" "PRAGMA foreign_keys=ON; $sql"
  fi
}

# db_apply_script FILE [URL]: runs a SQL script (luamig's --sql output) the
# way a DBA would: psql -v ON_ERROR_STOP=1 -f, or the sqlite3 shell.
db_apply_script() {
  local file=$1 url=${2:-$LM_URL}
  if is_pg; then
    PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d "$url" -f "$file" >/dev/null
  else
    sqlite3 -batch -bail "$(sqlite_path "$url")" <"$file" >/dev/null
  fi
}

# db_exists [URL]: the SQLite file exists (always true on PostgreSQL).
db_exists() { is_pg || [ -e "$(sqlite_path "${1:-$LM_URL}")" ]; }

# db_schema [URL] [EXTRA_SQL]: a deterministic dump of the database's
# structure: tables, columns (type, nullability, default), indexes,
# constraints, row counts, and the version table's revision/step/checksum
# rows. On PostgreSQL it is one psql call; EXTRA_SQL (PostgreSQL only) runs
# in the same call and its rows are appended.
db_schema() {
  local url=${1:-$LM_URL}
  if is_pg; then _db_schema_pg "$url" "${2:-}"; else _db_schema_sqlite "$url"; fi
}

_db_schema_pg() {
  local url=$1 extra=$2 user_ns vt=$LM_VERSION_TABLE
  user_ns="n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'"
  db_query "
SELECT 'schema|' || n.nspname FROM pg_namespace n WHERE $user_ns AND n.nspname <> 'public' ORDER BY 1;
SELECT 'relation|' || n.nspname || '.' || c.relname || '|kind=' || c.relkind::text
       || '|comment=' || coalesce(obj_description(c.oid, 'pg_class'), '')
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND $user_ns ORDER BY 1;
SELECT 'column|' || n.nspname || '.' || c.relname || '|' || a.attname
       || '|' || format_type(a.atttypid, a.atttypmod)
       || '|notnull=' || a.attnotnull
       || '|default=' || coalesce(pg_get_expr(d.adbin, d.adrelid), 'NULL')
       || '|identity=' || a.attidentity::text
       || '|comment=' || coalesce(col_description(c.oid, a.attnum), '')
  FROM pg_attribute a
  JOIN pg_class c ON c.oid = a.attrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped AND $user_ns
 ORDER BY n.nspname, c.relname, a.attnum;
SELECT 'index|' || n.nspname || '.' || t.relname || '|' || i.relname
       || '|' || pg_get_indexdef(i.oid) || '|valid=' || x.indisvalid
  FROM pg_index x
  JOIN pg_class i ON i.oid = x.indexrelid
  JOIN pg_class t ON t.oid = x.indrelid
  JOIN pg_namespace n ON n.oid = t.relnamespace
 WHERE $user_ns ORDER BY 1;
SELECT 'constraint|' || n.nspname || '.' || c.relname || '|' || con.conname
       || '|' || con.contype::text || '|' || pg_get_constraintdef(con.oid)
       || '|validated=' || con.convalidated
  FROM pg_constraint con
  JOIN pg_class c ON c.oid = con.conrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE $user_ns ORDER BY 1;
SELECT 'rows|' || n.nspname || '.' || c.relname || '|' ||
       (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p') AND $user_ns ORDER BY 1;
SELECT to_regclass('$vt') IS NOT NULL AS lm_has_vt \\gset
\\if :lm_has_vt
SELECT 'version|' || revision || '|step=' || coalesce(step::text, 'NULL') || '|' || checksum
  FROM $vt ORDER BY revision;
\\endif
$extra" "$url" || _lm_harness_error "db_schema: PostgreSQL introspection failed"
}

_db_schema_sqlite() {
  local url=$1 path=${1#sqlite:///}
  if [ ! -e "$path" ]; then
    echo "(no database file)"
    return
  fi
  local user_tables="m.type = 'table' AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\\'"
  # Two sqlite3 runs: the structure with the table names and whether the
  # version table exists (lines "T|name", "V|n", taken out of the dump),
  # then the row counts and the version rows.
  local first line t counts="" has_vt=0 dump=""
  first=$(db_query "
SELECT 'object|' || type || '|' || name || '|on=' || tbl_name || '|'
       || replace(replace(coalesce(sql, ''), char(13), ' '), char(10), ' ')
  FROM sqlite_master WHERE name NOT LIKE 'sqlite\_%' ESCAPE '\\' ORDER BY 1;
SELECT 'column|' || m.name || '|' || p.cid || '|' || p.name || '|' || p.type
       || '|notnull=' || p.\"notnull\" || '|default=' || coalesce(p.dflt_value, 'NULL') || '|pk=' || p.pk
  FROM sqlite_master m JOIN pragma_table_info(m.name) p
 WHERE $user_tables ORDER BY m.name, p.cid;
SELECT 'index|' || m.name || '|' || il.name || '|unique=' || il.\"unique\" || '|origin=' || il.origin
       || '|partial=' || il.partial || '|cols='
       || coalesce((SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno)), '')
  FROM sqlite_master m JOIN pragma_index_list(m.name) il
 WHERE $user_tables ORDER BY 1;
SELECT 'fk|' || m.name || '|' || f.id || '|' || f.seq || '|' || f.\"table\" || '|' || f.\"from\"
       || '->' || coalesce(f.\"to\", '') || '|onupdate=' || f.on_update || '|ondelete=' || f.on_delete
  FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f
 WHERE $user_tables ORDER BY m.name, f.id, f.seq;
SELECT 'T|' || name FROM sqlite_master m WHERE $user_tables ORDER BY name;
SELECT 'V|' || count(*) FROM sqlite_master WHERE type = 'table' AND name = '$LM_VERSION_TABLE';
" "$url") || _lm_harness_error "db_schema: SQLite introspection failed"
  while IFS= read -r line; do
    case $line in
    '') ;;
    'T|'*)
      t=${line#T|}
      counts+="SELECT 'rows|$t|' || count(*) FROM \"$t\";"
      ;;
    'V|'*) has_vt=${line#V|} ;;
    *) dump+=$line$'\n' ;;
    esac
  done <<<"$first"
  printf '%s' "$dump"
  if [ "$has_vt" = 1 ]; then
    counts+="SELECT 'version|' || revision || '|step=' || coalesce(step, 'NULL') || '|' || checksum
               FROM \"$LM_VERSION_TABLE\" ORDER BY revision;"
  fi
  if [ -n "$counts" ]; then
    db_query "$counts" "$url" || _lm_harness_error "db_schema: cannot count rows or read $LM_VERSION_TABLE"
  fi
}

# -- small introspection helpers (current database unless URL is given) --------

# has_table NAME [URL]: status 0 when the table exists.
has_table() {
  local got
  if is_pg; then
    got=$(db_query "SELECT to_regclass('$1') IS NOT NULL" "${2:-$LM_URL}")
    [ "$got" = t ]
  else
    db_exists "${2:-$LM_URL}" || return 1
    got=$(db_query "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '$1'" "${2:-$LM_URL}")
    [ "$got" = 1 ]
  fi
}
expect_table() {
  has_table "$1" "${2:-$LM_URL}"
  _check $? "table $1 should exist"
}
expect_no_table() {
  ! has_table "$1" "${2:-$LM_URL}"
  _check $? "table $1 should not exist"
}

# columns TABLE: the column names, in order, comma-separated.
columns() {
  if is_pg; then
    db_query "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
               WHERE attrelid = '$1'::regclass AND attnum > 0 AND NOT attisdropped"
  else
    db_query "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info('$1') ORDER BY cid)"
  fi
}

# col_type TABLE COLUMN: PostgreSQL's format_type, or SQLite's declared type.
col_type() {
  if is_pg; then
    db_query "SELECT format_type(atttypid, atttypmod) FROM pg_attribute
               WHERE attrelid = '$1'::regclass AND attname = '$2' AND NOT attisdropped"
  else
    db_query "SELECT type FROM pragma_table_info('$1') WHERE name = '$2'"
  fi
}

# col_notnull TABLE COLUMN: 1 when NOT NULL, else 0.
col_notnull() {
  if is_pg; then
    db_query "SELECT CASE WHEN attnotnull THEN 1 ELSE 0 END FROM pg_attribute
               WHERE attrelid = '$1'::regclass AND attname = '$2' AND NOT attisdropped"
  else
    db_query "SELECT \"notnull\" FROM pragma_table_info('$1') WHERE name = '$2'"
  fi
}

# col_default TABLE COLUMN: the default expression as the database shows it, or empty.
col_default() {
  if is_pg; then
    db_query "SELECT coalesce(pg_get_expr(d.adbin, d.adrelid), '') FROM pg_attribute a
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
               WHERE a.attrelid = '$1'::regclass AND a.attname = '$2' AND NOT a.attisdropped"
  else
    db_query "SELECT coalesce(dflt_value, '') FROM pragma_table_info('$1') WHERE name = '$2'"
  fi
}

# pk_cols TABLE: the primary key's columns, in key order, comma-separated.
pk_cols() {
  if is_pg; then
    db_query "SELECT string_agg(a.attname, ',' ORDER BY k.ord)
                FROM pg_constraint c
                CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
               WHERE c.conrelid = '$1'::regclass AND c.contype = 'p'"
  else
    db_query "SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_table_info('$1') WHERE pk > 0 ORDER BY pk)"
  fi
}

# indexes TABLE: one line per index: name|unique(0/1)|partial(0/1)|col,col
# (SQLite's automatic indexes for UNIQUE/PRIMARY KEY are left out; so are
# PostgreSQL's primary-key indexes).
indexes() {
  if is_pg; then
    db_query "SELECT i.relname || '|' || CASE WHEN x.indisunique THEN 1 ELSE 0 END
                     || '|' || CASE WHEN x.indpred IS NOT NULL THEN 1 ELSE 0 END || '|'
                     || (SELECT string_agg(a.attname, ',' ORDER BY k.ord)
                           FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
                           JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum)
                FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
               WHERE x.indrelid = '$1'::regclass AND NOT x.indisprimary ORDER BY 1"
  else
    db_query "SELECT il.name || '|' || il.\"unique\" || '|' || il.partial || '|'
                     || (SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno))
                FROM pragma_index_list('$1') il WHERE il.origin = 'c' ORDER BY 1"
  fi
}

# unique_sets TABLE: the column sets with a uniqueness guarantee (unique
# constraints and unique indexes, any origin, primary key excluded), one
# comma-separated set per line, sorted.
unique_sets() {
  if is_pg; then
    db_query "SELECT (SELECT string_agg(a.attname, ',' ORDER BY k.ord)
                        FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord)
                        JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum)
                FROM pg_index x
               WHERE x.indrelid = '$1'::regclass AND x.indisunique AND NOT x.indisprimary
                 AND x.indpred IS NULL ORDER BY 1"
  else
    db_query "SELECT (SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno))
                FROM pragma_index_list('$1') il
               WHERE il.\"unique\" = 1 AND il.origin <> 'pk' AND il.partial = 0 ORDER BY 1"
  fi
}

# foreign_keys TABLE: one line per foreign key: col,col->table(col,col) ON DELETE action
foreign_keys() {
  if is_pg; then
    db_query "SELECT (SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
                        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum)
                     || '->' || c.confrelid::regclass::text || '('
                     || (SELECT string_agg(a.attname, ',' ORDER BY k.ord) FROM unnest(c.confkey) WITH ORDINALITY AS k(attnum, ord)
                        JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.attnum)
                     || ') ON DELETE ' || CASE c.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL'
                        WHEN 'd' THEN 'SET DEFAULT' WHEN 'r' THEN 'RESTRICT' ELSE 'NO ACTION' END
                FROM pg_constraint c WHERE c.conrelid = '$1'::regclass AND c.contype = 'f' ORDER BY 1"
  else
    db_query "SELECT group_concat(\"from\", ',') || '->' || \"table\" || '(' || group_concat(\"to\", ',') || ') ON DELETE ' || on_delete
                FROM (SELECT * FROM pragma_foreign_key_list('$1') ORDER BY id, seq) GROUP BY id ORDER BY 1"
  fi
}

# constraint_names TABLE: PostgreSQL only: name|type(p,u,f,c)|validated(t/f), sorted.
constraint_names() {
  db_query "SELECT conname || '|' || contype::text || '|' || convalidated FROM pg_constraint
             WHERE conrelid = '$1'::regclass ORDER BY 1"
}

# version_rows: the version table's revisions, sorted, one per line ("" when none).
version_rows() {
  if is_pg; then
    [ "$(db_query "SELECT to_regclass('$LM_VERSION_TABLE') IS NOT NULL")" = t ] || return 0
  else
    db_exists || return 0
    [ "$(db_query "SELECT count(*) FROM sqlite_master WHERE name = '$LM_VERSION_TABLE'")" = 1 ] || return 0
  fi
  db_query "SELECT revision FROM $LM_VERSION_TABLE ORDER BY revision"
}

# expect_db_untouched: nothing was created: no SQLite file; on PostgreSQL no
# relation at all in the (fresh) database.
expect_db_untouched() {
  if is_pg; then
    local n
    n=$(db_query "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'")
    [ "$n" = 0 ]
    _check $? "the database should be untouched, it has $n relation(s)" "$(db_schema)"
  else
    [ ! -e "$(sqlite_path "$LM_URL")" ]
    _check $? "no SQLite database file should have been created: $(sqlite_path "$LM_URL")"
  fi
}

# ---------------------------------------------------------------------------
# the end

# t_done: the last line of every test script; a script that stops before it
# (a crash of the script itself, an unset variable) fails.
t_done() { LM_DONE=1; }

_lm_finish() {
  local rc=$?
  [ "$LM_SKIPPED" = 1 ] && rc=77
  trap - EXIT
  cd / || true
  LM_CASE="(end of test)"
  LM_CMD=""

  # No password is ever printed (SPEC §2): not on stdout, not on stderr.
  if grep -qF -- "$LM_PASSWORD" "$LM_OUTPUT_LOG"; then
    _fail "the database password appeared in luamig's output" \
      "$(grep -nF -B3 -- "$LM_PASSWORD" "$LM_OUTPUT_LOG" | sed "s/$LM_PASSWORD/<PASSWORD>/g" | head -n 40)"
  fi

  if is_pg && [ -f "$LM_TMP/databases" ]; then
    # one session drops them all (WITH (FORCE): PostgreSQL 13+)
    sed 's/.*/DROP DATABASE IF EXISTS "&" WITH (FORCE);/' "$LM_TMP/databases" |
      pg_admin psql -X -q -v ON_ERROR_STOP=0 >/dev/null 2>"$LM_TMP/dropdb.err" ||
      echo "warning: could not drop the test databases: $(cat "$LM_TMP/dropdb.err")" >&2
  fi

  if [ "$rc" = 77 ]; then
    rm -rf "$LM_TMP"
    exit 77
  fi
  if [ -s "$LM_TMP/harness_errors" ]; then
    echo "FAIL: helpers of lib.sh failed (the comparisons they fed are void):" >&2
    sed 's/^/    /' "$LM_TMP/harness_errors" >&2
    LM_FAILED=$((LM_FAILED + 1))
  fi
  if [ "$LM_DONE" != 1 ]; then
    echo "FAIL: the test script stopped before its end (status $rc, last case: $LM_CASE)" >&2
    LM_FAILED=$((LM_FAILED + 1))
  fi
  if [ $((LM_PASSED + LM_FAILED)) -eq 0 ]; then
    echo "no assertion ran" >&2
    LM_FAILED=1
  fi
  echo
  echo "$LM_TEST_NAME [$LM_DIALECT]: $LM_PASSED passed, $LM_FAILED failed"
  if [ "$LM_FAILED" -gt 0 ]; then
    echo "(kept $LM_TMP for inspection; luamig's outputs are in $LM_OUTPUT_LOG)"
    exit 1
  fi
  if [ "${LM_KEEP:-0}" = 1 ]; then
    echo "(LM_KEEP=1: kept $LM_TMP; luamig's outputs are in $LM_OUTPUT_LOG)"
  else
    rm -rf "$LM_TMP"
  fi
  exit 0
}
trap _lm_finish EXIT
