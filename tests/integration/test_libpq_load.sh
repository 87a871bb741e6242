#!/usr/bin/env bash
# libpq is loaded with dlopen() when a PostgreSQL connection is made, and only
# then (engine/dialect/pq_load.c): SQLite commands, --version and --sql never
# load it nor its dependencies (libssl, libcrypto, Kerberos…). When it cannot
# be loaded, connecting fails with a message that says what to install.
#
# The dynamic loader reports what it opens with LD_DEBUG=files; each traced
# run also checks that the trace saw libc, and a run that does connect checks
# that libpq shows in it, so a trace that saw nothing cannot pass.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Connecting here is refused at once: the run loads libpq, then fails.
readonly UNREACHABLE="postgresql://luamig:$LM_PASSWORD@127.0.0.1:1/nowhere"

# lm_traced ARGS...: lm under LD_DEBUG=files; LM_LOADED lists the file names
# the dynamic loader opened (luamig's and those of the timeout(1) wrapper).
lm_traced() {
  local dir
  dir=$LM_TMP/lddebug.$(_lm_next_id)
  mkdir -p "$dir"
  LD_DEBUG=files LD_DEBUG_OUTPUT=$dir/trace lm "$@"
  LM_LOADED=$(cat "$dir"/trace.* 2>/dev/null | sed -n 's/.*[[:space:]]file=\([^ ]*\) .*/\1/p' |
    sed 's|.*/||' | sort -u)
  grep -qx 'libc\.so\.6' <<<"$LM_LOADED"
  _check $? "the LD_DEBUG trace should list libc.so.6 (is the trace working?)" "$LM_LOADED"
}

expect_libpq_loaded() {
  grep -q '^libpq\.so' <<<"$LM_LOADED"
  _check $? "libpq should have been loaded" "$LM_LOADED"
}
expect_libpq_not_loaded() {
  ! grep -qE '^(libpq|libssl|libcrypto|libkrb5|libldap|libgssapi)' <<<"$LM_LOADED"
  _check $? "neither libpq nor its dependencies should have been loaded" "$LM_LOADED"
}

# ---------------------------------------------------------------------------
t_case "--version does not load libpq"
lm_traced --version
expect_exit 0
expect_libpq_not_loaded

t_case "a run on this dialect's database"
new_project
chain3
lm_traced upgrade head
expect_exit 0
expect_out_contains "$R3"
if is_pg; then expect_libpq_loaded; else expect_libpq_not_loaded; fi
lm_traced current
expect_exit 0
expect_out_contains "$R3 (head)"
if is_pg; then expect_libpq_loaded; else expect_libpq_not_loaded; fi

t_case "--sql does not load libpq, on either dialect"
lm_traced upgrade head --sql
expect_exit 0
expect_out_contains "t_three"
expect_libpq_not_loaded
lm_traced --url "$UNREACHABLE" upgrade head --sql
expect_exit 0
expect_out_contains "t_three"
expect_libpq_not_loaded

t_case "a PostgreSQL connection loads libpq, even one that fails"
lm_traced --url "$UNREACHABLE" current
expect_exit 1
expect_err_contains "cannot connect to postgresql://luamig:***@127.0.0.1:1/nowhere"
expect_err_not_contains "needs libpq"
expect_libpq_loaded

# A libpq.so.5 that is not a shared object, found first through
# LD_LIBRARY_PATH: the dynamic loader stops at it ("invalid ELF header").
t_case "libpq cannot be loaded: the error says what to install"
badlib=$LM_TMP/bad-libpq
mkdir -p "$badlib"
printf 'this is not a shared object, just a stand-in for a missing libpq\n' >"$badlib/libpq.so.5"
pg_target=$(if is_pg; then printf '%s' "$LM_URL"; else printf '%s' "$UNREACHABLE"; fi)
LD_LIBRARY_PATH=$badlib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} lm --url "$pg_target" current
expect_exit 1
expect_err_error_line
expect_err_contains "cannot connect to $(mask "$pg_target"): PostgreSQL support needs libpq (libpq.so.5): "
expect_err_contains "$badlib/libpq.so.5"
expect_err_contains "; install the libpq5 package"
# Every later connection in the process gets the same answer, and SQLite
# does not care.
LD_LIBRARY_PATH=$badlib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} lm --url "sqlite:///$LM_TMP/plain.db" upgrade head
expect_exit 0

# A real shared object that is not libpq: loading works, a function is missing.
sqlite_lib=$(ldd "$LUAMIG" 2>/dev/null | awk '$1 ~ /^libsqlite3\.so/ && $3 ~ /^\// { print $3; exit }')
if [ -n "$sqlite_lib" ]; then
  t_case "a libpq.so.5 without libpq's functions"
  wronglib=$LM_TMP/wrong-libpq
  mkdir -p "$wronglib"
  cp "$sqlite_lib" "$wronglib/libpq.so.5"
  LD_LIBRARY_PATH=$wronglib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} lm --url "$pg_target" current
  expect_exit 1
  expect_err_contains "PostgreSQL support needs libpq (libpq.so.5): "
  expect_err_contains "undefined symbol: PQ"
  expect_err_contains "; install the libpq5 package"
fi

t_done
