#!/usr/bin/env bash
# luamig completion bash|zsh|fish (SPEC §12): the scripts are generated from
# the command table, and complete commands, options, option values and, from
# the project in the current folder, revision ids, branch labels and step
# names (through `luamig __complete`). Bash completion is exercised by
# sourcing the script and calling its function the way bash does; zsh and
# fish scripts are parsed and loaded, and fish's own `complete -C` runs them.
# No database is involved: SQLite run only.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
only_dialect sqlite

# luamig on PATH under its own name, as a user has it
mkdir -p "$LM_TMP/bin"
ln -sf "$LUAMIG" "$LM_TMP/bin/luamig"
export PATH="$LM_TMP/bin:$PATH"
"$LUAMIG" completion bash >"$LM_TMP/luamig.bash"
"$LUAMIG" completion zsh >"$LM_TMP/_luamig"
"$LUAMIG" completion fish >"$LM_TMP/luamig.fish"

# complete_bash WORD...: what bash completion offers for the command line
# WORD... (the last word is the one being completed), sorted, one a line.
complete_bash() {
  local line
  line=$(printf '%q ' "$@")
  COMPLETED=$(bash --norc --noprofile -c "
    source '$LM_TMP/luamig.bash'
    COMP_WORDS=($line)
    COMP_CWORD=$(($# - 1))
    COMP_LINE=\"\${COMP_WORDS[*]}\"
    COMP_POINT=\${#COMP_LINE}
    _luamig luamig \"\${COMP_WORDS[COMP_CWORD]}\" \"\${COMP_WORDS[COMP_CWORD-1]}\"
    printf '%s\n' \"\${COMPREPLY[@]}\"" 2>&1 | sort)
}
expect_completes() { # expect_completes WANT WORD...
  local want=$1
  shift
  complete_bash "$@"
  expect_eq "$COMPLETED" "$want" "bash completion of '$*'"
}

# a project: R1 <- R2 <- R3, R3 with a branch label, plus a multi-step revision
new_project --no-url
chain3
sed -i 's/^message = "create three"/message = "create three"\nbranch_labels = { "feature" }/' "$REV_FILE"
mkrev 7e0000000004 "$R3" "split" <<'EOF'
steps = {
  { name = "expand", up = function() op.add_column("t_one", op.column("a", "integer")) end,
    down = function() op.drop_column("t_one", "a") end },
  { name = "contract", up = function() op.drop_column("t_one", "a") end,
    down = function() op.add_column("t_one", op.column("a", "integer")) end },
}
EOF
lm heads
expect_exit 0

t_case "completion bash: 'complete -p luamig' shows the function"
out=$(bash --norc --noprofile -c "source '$LM_TMP/luamig.bash'; complete -p luamig" 2>&1)
expect_eq "$out" "complete -F _luamig luamig" "complete -p luamig"
expect_ok "shellcheck passes on the bash script" shellcheck -s bash "$LM_TMP/luamig.bash"

t_case "commands: 'luamig upg' completes to upgrade"
expect_completes "upgrade" luamig upg
expect_completes "$(printf 'heads\nhelp\nhistory')" luamig h
complete_bash luamig ""
# every command of `luamig --help` is offered, and nothing else
lm --help
want=$(printf '%s\n' "$LM_OUT" | sed -n '/^Commands:/,/^$/p' | awk 'NF && !/^Commands:/ {print $1}' | sort)
expect_eq "$COMPLETED" "$want" "the commands offered"
expect_text_contains "$COMPLETED" "completion" "commands"

t_case "revision ids: a prefix completes to the full id"
expect_completes "$R1" luamig upgrade 3a
expect_completes "$(printf '%s\n%s' "$R2" "$R3")" luamig upgrade 9c
expect_completes "$R1" luamig downgrade 3a8
expect_completes "$R1" luamig show 3
expect_completes "$(printf 'head\nheads')" luamig upgrade hea
expect_completes "feature" luamig upgrade fea
expect_completes "$R1" luamig -q upgrade 3a
expect_completes "$R1" luamig lint 3a

t_case "option values: steps, labels, formats, dialects, shells"
expect_completes "$(printf 'contract\nexpand')" luamig upgrade head --stop-before ""
expect_completes "feature" luamig revision -m x --head f
expect_completes "$(printf 'github\njson\nsarif\ntext')" luamig lint --format ""
expect_completes "sarif" luamig check --format s
expect_completes "$(printf 'postgresql\nsqlite')" luamig upgrade head --sql --dialect ""
expect_completes "$(printf 'bash\nfish\nzsh')" luamig completion ""
expect_completes "upgrade" luamig help upg

t_case "options: each command's own and the global ones"
expect_completes "--roundtrip" luamig check --ro
expect_completes "--steps" luamig revision --st
expect_completes "--stop-before" luamig upgrade --st
complete_bash luamig upgrade --
expect_text_contains "$COMPLETED" "--dry-run" "upgrade's options"
expect_text_contains "$COMPLETED" "--config" "upgrade's options"
expect_text_not_contains "$COMPLETED" "--roundtrip" "upgrade's options"
complete_bash luamig --
expect_text_contains "$COMPLETED" "--version" "global options"

t_case "-c names the project: completion works from another folder"
cd "$LM_TMP" || exit 1
expect_completes "$R1" luamig -c "$PROJECT/luamig.lua" upgrade 3a
t_case "outside a project: only the fixed words, no error"
expect_completes "$(printf 'head\nheads')" luamig upgrade hea
expect_completes "" luamig show 3a
lm __complete revisions
expect_exit 0
expect_out_empty
expect_eq "$LM_ERR" "" "__complete's stderr outside a project"
cd "$PROJECT" || exit 1

t_case "__complete lists revisions, labels and steps of the project"
lm __complete revisions
expect_exit 0
expect_out_equals "$(printf '%s\n%s\n%s\n%s' "$R1" "$R2" "$R3" 7e0000000004)"
lm __complete labels
expect_out_equals "feature"
lm __complete steps
expect_out_equals "$(printf 'expand\ncontract')"

t_case "a bad shell is a usage error"
lm completion tcsh
expect_exit 2
expect_err_contains "unknown shell 'tcsh'"
lm completion
expect_exit 2

t_case "zsh: the script parses and registers _luamig with compinit"
if command -v zsh >/dev/null 2>&1; then
  expect_ok "zsh -n parses it" zsh -n "$LM_TMP/_luamig"
  out=$(cd "$LM_TMP" && HOME=$LM_TMP zsh -f -c "autoload -Uz compinit; compinit -u -d '$LM_TMP/zcompdump'; source '$LM_TMP/_luamig'; print -r -- \${_comps[luamig]}" 2>&1)
  expect_eq "$out" "_luamig" "zsh's completion function for luamig"
  # the function itself, with zsh's completion builtins replaced by stubs that
  # print what they are given (zsh filters by the typed prefix itself)
  complete_zsh() {
    local n=$1
    shift
    COMPLETED=$(cd "$PROJECT" && zsh -f -c '
      compdef() { :; }
      compadd() { [[ $1 == -- ]] && shift; print -l -- "$@"; }
      _describe() { print -l -- ${${(P)4}%%:*}; }
      _files() { print "FILES $*"; }
      source "$1"; shift
      CURRENT=$1; shift
      words=("$@")
      _luamig' zsh "$LM_TMP/_luamig" "$n" "$@" 2>&1 | sort | paste -sd' ' -)
  }
  complete_zsh 2 luamig upg
  expect_text_contains "$COMPLETED" "upgrade" "zsh: luamig upg"
  complete_zsh 3 luamig upgrade 3a
  expect_text_contains "$COMPLETED" "$R1" "zsh: luamig upgrade 3a"
  expect_text_contains "$COMPLETED" "feature" "zsh: luamig upgrade 3a"
  complete_zsh 5 luamig upgrade head --stop-before ""
  expect_eq "$COMPLETED" "contract expand" "zsh: --stop-before"
  complete_zsh 4 luamig lint --format ""
  expect_eq "$COMPLETED" "github json sarif text" "zsh: --format"
  complete_zsh 3 luamig -c ""
  expect_eq "$COMPLETED" "FILES " "zsh: -c"
else
  echo "  (zsh is not installed: zsh script not checked)"
fi

t_case "fish: the script parses and completes commands and revision ids"
if command -v fish >/dev/null 2>&1; then
  expect_ok "fish -n parses it" fish -n "$LM_TMP/luamig.fish"
  out=$(HOME=$LM_TMP fish --no-config -c "source '$LM_TMP/luamig.fish'; complete -C 'luamig upg'" 2>&1)
  expect_text_contains "$out" "upgrade	apply revisions up to TARGET" "fish: luamig upg"
  out=$(HOME=$LM_TMP fish --no-config -c "source '$LM_TMP/luamig.fish'; complete -C 'luamig upgrade 3a'" 2>&1)
  expect_eq "$out" "$R1" "fish: luamig upgrade 3a"
  out=$(HOME=$LM_TMP fish --no-config -c "source '$LM_TMP/luamig.fish'; complete -C 'luamig lint --format s'" 2>&1)
  expect_eq "$out" "sarif" "fish: luamig lint --format s"
else
  echo "  (fish is not installed: fish script not checked)"
fi

t_done
