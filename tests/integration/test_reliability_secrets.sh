#!/usr/bin/env bash
# No password is ever printed (SPEC §7): for every URL of the odd-URL corpus
# (corpus/secrets/urls.txt: raw spaces, '/', '?', '@', control characters
# and terminal escapes in passwords, percent-encoded password keys in the
# query, repeated keys, bad escapes, bad ports), given by --url, by
# DATABASE_URL and by the config's url, luamig fails with a readable error
# and nothing it prints holds a byte run of the password. On PostgreSQL the
# URLs point at the real test server (the login is refused), on SQLite at a
# closed port.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CORPUS=$LM_SOURCE_DIR/tests/integration/corpus/secrets/urls.txt
if is_pg; then
  HOST=$LM_PG_HOST PORT=$LM_PG_PORT
else
  HOST=127.0.0.1 PORT=1
fi

new_project --no-url
chain3

# expect_no_leak: nothing luamig printed holds "QQ", the exit is an error.
expect_no_leak() {
  expect_exit_nonzero
  expect_ne "$LM_RC" "124" "luamig returned (no hang)"
  expect_out_not_contains "QQ"
  expect_err_not_contains "QQ"
  expect_err_contains "luamig: error:"
}

n=0
while IFS= read -r line; do
  case "$line" in '#'* | '') continue ;; esac
  n=$((n + 1))
  line=${line//@HOST@/$HOST}
  line=${line//@PORT@/$PORT}
  url=$(printf '%b' "$line")
  t_case "odd URL $n: $(printf '%s' "$line" | sed 's/QQ[^@]*/<secret>/g')"
  LM_TIMEOUT=30 lm --url "$url" upgrade head
  expect_no_leak
  LM_TIMEOUT=30 lm --url "$url" -v current
  expect_no_leak
  # these may succeed without a database: only what they print is checked
  for cmd in "history --json" "check" "upgrade head --sql"; do
    # shellcheck disable=SC2086
    DATABASE_URL=$url LM_TIMEOUT=30 lm $cmd
    expect_ne "$LM_RC" "124" "luamig returned (no hang)"
    expect_out_not_contains "QQ"
    expect_err_not_contains "QQ"
  done
  printf 'return { url = [==[%s]==], versions = { "versions" } }\n' "$url" >luamig.lua
  LM_TIMEOUT=30 lm upgrade head
  expect_no_leak
  write_config
done <"$CORPUS"
expect_eq "$((n > 30))" "1" "the corpus has its URLs ($n)"

t_done
