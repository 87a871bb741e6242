#!/usr/bin/env bash
# Bad input (issue 8): a corpus of malformed revision files, configurations,
# command lines (URLs, targets, options) and `op` calls, kept as data in
# tests/integration/corpus/badinput/*.cases (the format is described at the
# top of revision.cases). For every case:
#   - the exit status is the one SPEC §7 gives (2: usage, configuration or
#     loading; 1: a migration or the database failed),
#   - stderr starts with `luamig: error:` and contains the case's texts (for
#     revision files: the file name and, where there is one, the line),
#   - the database is unchanged: its schema dump (db_schema) is the same
#     before and after, and for loading and configuration errors on SQLite
#     no database file is created.
#
# LM_BADINPUT_ONLY=REGEX runs only the cases whose name matches.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CORPUS=$LM_SOURCE_DIR/tests/integration/corpus/badinput
BAD_ID=b0000000000b
BAD_FILE=versions/${BAD_ID}_bad.lua
ONLY=${LM_BADINPUT_ONLY:-}
NCASES=0

# ---------------------------------------------------------------------------
# generators for inputs too big or too binary to keep as text

gen_huge_comment_then_error() { # 80,000 comment lines (5 MB), then a syntax error on line 80004
  yes -- '-- padding padding padding padding padding padding padding padding' | head -n 80000
  printf 'revision = "%s"\ndown_revision = "%s"\nfunction upgrade() end\nx = = 1\n' "$BAD_ID" "$R3"
}
gen_huge_unfinished_string() { # a 5 MB string literal that never ends, on line 4
  printf 'revision = "%s"\ndown_revision = "%s"\nfunction upgrade() end\nx = "' "$BAD_ID" "$R3"
  head -c 5242880 /dev/zero | tr '\0' 'a'
}
gen_huge_garbage() { # 5 MB of binary bytes, NULs included (Z becomes NUL)
  yes $'\x01\xfe\xff\x7fZ(garbage)Z\x80\x81' | tr 'Z' '\000' | head -c 5242880
}
gen_bytecode() { cat "$CORPUS/bytecode.luac"; } # luac5.4 output of a valid revision

# ---------------------------------------------------------------------------
# the project every case runs in

GOOD_CONFIG='return { versions = { "versions" } }'

setup_project() {
  new_project --no-url
  chain3
  printf '%s\n' "$GOOD_CONFIG" >luamig.lua
  KNOWN_FILES=$(ls versions)
  # two baseline databases: BASE1 has the first revision applied (targets
  # then have something pending), BASE3 the whole chain (an `op` case's
  # revision is then the only one pending)
  BASE1_URL=$LM_URL
  BASE3_URL=$(fresh_url)
  lm --url "$BASE1_URL" upgrade "$R1"
  expect_exit 0
  lm --url "$BASE3_URL" upgrade "$R3"
  expect_exit 0
  BASE1_DUMP=$(db_schema "$BASE1_URL")
  BASE3_DUMP=$(db_schema "$BASE3_URL")
  if is_sqlite; then
    cp "$(sqlite_path "$BASE1_URL")" "$LM_TMP/baseline1.db"
    cp "$(sqlite_path "$BASE3_URL")" "$LM_TMP/baseline3.db"
    NOFILE_URL=sqlite:///$LM_TMP/never-created.db
  fi
}

# restore_baseline N: puts baseline database N (1 or 3) back after a case
# changed it.
restore_baseline() {
  local n=$1 url
  [ "$n" = 1 ] && url=$BASE1_URL || url=$BASE3_URL
  if is_sqlite; then
    cp "$LM_TMP/baseline$n.db" "$(sqlite_path "$url")"
  else
    clean_project
    db_query "DROP SCHEMA public CASCADE; CREATE SCHEMA public;" "$url" >/dev/null
    if [ "$n" = 1 ]; then lm --url "$url" upgrade "$R1"; else lm --url "$url" upgrade "$R3"; fi
  fi
}

# clean_project: removes what a case wrote: the bad revision, a changed
# config, files a command made.
clean_project() {
  local f
  cd "$PROJECT" || exit 1
  for f in versions/* versions/.[!.]*; do
    [ -e "$f" ] || continue
    [[ $'\n'$KNOWN_FILES$'\n' == *$'\n'"${f#versions/}"$'\n'* ]] || rm -rf -- "$f"
  done
  printf '%s\n' "$GOOD_CONFIG" >luamig.lua
  [ ! -e config_ran_a_program ] || rm -f config_ran_a_program
}

# subst TEXT: SUBST = TEXT with the placeholders of the corpus replaced (a
# variable, not output: a $(...) per case line costs a process).
subst() {
  local s=$1
  s=${s//\{ID\}/$BAD_ID}
  s=${s//\{PARENT\}/$R3}
  s=${s//\{FILE\}/$BAD_FILE}
  s=${s//\{CONFIG\}/luamig.lua}
  SUBST=$s
}

# ---------------------------------------------------------------------------
# running one case

# run_case KIND: runs the case held in C_NAME, C_EXIT, C_ERRS, C_LINE, C_ARGS,
# C_GEN, C_BYTES, C_ENV, C_NOTS, C_NOURL, C_BODY.
run_case() {
  local kind=$1 exit_want url line_file target="" args=() e content
  if [ -n "$ONLY" ] && ! [[ $C_NAME =~ $ONLY ]]; then return; fi
  NCASES=$((NCASES + 1))
  t_case "$kind: $C_NAME"
  clean_project

  local base=1
  case $kind in
  revision) exit_want=2 target=$BAD_FILE line_file=$BAD_FILE ;;
  config) exit_want=2 target=luamig.lua line_file=luamig.lua ;;
  op) exit_want=1 target=$BAD_FILE line_file=$BAD_FILE base=3 ;;
  cli) exit_want=2 line_file=$BAD_FILE ;;
  esac
  local base_url base_dump
  if [ "$base" = 1 ]; then
    base_url=$BASE1_URL base_dump=$BASE1_DUMP
  else
    base_url=$BASE3_URL base_dump=$BASE3_DUMP
  fi
  [ -n "$C_EXIT" ] && exit_want=$C_EXIT

  # the input
  if [ -n "$target" ]; then
    subst "$C_BODY"
    content=$SUBST
    if [ "$kind" = op ]; then
      printf -v content 'revision = "%s"\ndown_revision = "%s"\nfunction upgrade()\n%s\nend\n\nfunction downgrade() end' \
        "$BAD_ID" "$R3" "$content"
      [ -z "$C_LINE" ] && C_LINE=4
    fi
    if [ -n "$C_GEN" ]; then
      "gen_$C_GEN" >"$target"
    elif [ -z "$content" ]; then
      : >"$target"
    elif [ "$C_BYTES" = 1 ]; then
      printf '%b\n' "$content" >"$target"
    else
      printf '%s\n' "$content" >"$target"
    fi
  fi

  # the command: loading and configuration errors on SQLite point at a file
  # that must never be created; everything else at the baseline database
  url=$base_url
  if is_sqlite && { [ "$kind" = revision ] || [ "$kind" = config ]; }; then url=$NOFILE_URL; fi
  eval "args=(${C_ARGS:-upgrade head})"
  if [ "$C_NOURL" != 1 ] && [[ " ${args[*]} " != *" --url "* ]]; then args=(--url "$url" "${args[@]}"); fi
  if [ -n "$C_ENV" ]; then
    export "${C_ENV?}"
    lm "${args[@]}"
    unset "${C_ENV%%=*}"
  else
    lm "${args[@]}"
  fi

  # the checks
  expect_exit "$exit_want"
  expect_err_error_line
  while IFS= read -r e; do
    [ -n "$e" ] && subst "$e" && expect_err_contains "$SUBST"
  done <<<"$C_ERRS"
  [ -n "$C_LINE" ] && expect_err_contains "$line_file:$C_LINE"
  while IFS= read -r e; do
    [ -n "$e" ] && expect_err_not_contains "$e"
  done <<<"$C_NOTS"
  expect_out_not_contains "Running upgrade"
  expect_no_file "$PROJECT/config_ran_a_program"
  if [ "$url" = "${NOFILE_URL:-}" ]; then
    expect_no_file "${NOFILE_URL#sqlite:///}"
    [ ! -e "${NOFILE_URL#sqlite:///}" ] || rm -f "${NOFILE_URL#sqlite:///}"
  fi
  local after
  # SQLite: a file byte for byte the baseline's has the baseline's schema and
  # rows, which is one cmp instead of the five sqlite3 runs of a dump; a file
  # that differs in any byte is compared by its dump, as before.
  if is_sqlite && cmp -s "$LM_TMP/baseline$base.db" "${base_url#sqlite:///}"; then
    _pass
    return
  fi
  after=$(db_schema "$base_url")
  if [ "$after" = "$base_dump" ]; then
    _pass
  else
    expect_same "$base_dump" "$after" "the database before (-) and after (+) the case"
    restore_baseline "$base"
  fi
}

# run_corpus FILE: runs every case of a .cases file.
run_corpus() {
  local file=$1 kind line in_header=0 started=0
  kind=$(basename "$file" .cases)
  _reset_case() {
    C_NAME="" C_EXIT="" C_ERRS="" C_LINE="" C_ARGS="" C_GEN="" C_BYTES=0
    C_ENV="" C_NOTS="" C_NOURL=0 C_BODY=""
  }
  _flush() {
    [ "$started" = 1 ] || return 0
    # trailing blank lines are not part of a body
    while [[ $C_BODY == *$'\n' ]]; do C_BODY=${C_BODY%$'\n'}; done
    run_case "$kind"
  }
  _reset_case
  while IFS= read -r line || [ -n "$line" ]; do
    if [[ $line == '%% '* ]]; then
      _flush
      _reset_case
      C_NAME=${line#'%% '}
      started=1 in_header=1
      continue
    fi
    [ "$started" = 1 ] || continue # the file's own comments
    if [ "$in_header" = 1 ] && [[ $line == '% '* ]]; then
      local kv=${line#'% '} key val
      key=${kv%% *}
      val=${kv#"$key"}
      val=${val# }
      case $key in
      exit) C_EXIT=$val ;;
      err) C_ERRS+=$val$'\n' ;;
      not) C_NOTS+=$val$'\n' ;;
      line) C_LINE=$val ;;
      args) C_ARGS=$val ;;
      gen) C_GEN=$val ;;
      bytes) C_BYTES=1 ;;
      env) C_ENV=$val ;;
      nourl) C_NOURL=1 ;;
      *) _lm_harness_error "$file: unknown directive '% $key' in case '$C_NAME'" ;;
      esac
      continue
    fi
    in_header=0
    [ "$kind" = cli ] && continue # command-line cases have no body
    if [ -z "$C_BODY" ]; then C_BODY=$line; else C_BODY+=$'\n'$line; fi
  done <"$file"
  _flush
}

# ---------------------------------------------------------------------------
t_case "setup: a chain of three revisions; databases at its first revision and at its head"
setup_project

for f in revision config op cli; do
  run_corpus "$CORPUS/$f.cases"
done

if [ -z "$ONLY" ]; then
  t_case "the corpus"
  [ "$NCASES" -ge 100 ]
  _check $? "the corpus should hold at least 100 cases, it has $NCASES"
fi
echo "ran $NCASES bad-input cases"
t_done
