#!/usr/bin/env bash
# The sandbox (issue 8, SPEC §3): a revision runs with `op`, `context`, the
# safe standard library and a `require` limited to the project's folders. It
# cannot run programs, open files, load binary chunks or C modules, reach
# `debug`, or change what other revisions share (the `op` table, the string
# library and its metatable). Each attempt -- in upgrade(), while the file
# loads, or in luamig.lua -- is a clear error: a non-zero exit, stderr
# starting with `luamig: error:` and naming the file and line; the database
# is unchanged and nothing outside the project is touched.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

OUTSIDE=$LM_TMP/outside # what an escape would write to
mkdir -p "$OUTSIDE"
printf 'secret\n' >"$OUTSIDE/secret.txt"
BAD_ID=5a0000000009

expect_outside_untouched() {
  local got
  got=$(cd "$OUTSIDE" && ls -A)
  expect_eq "$got" "secret.txt" "files in the folder outside the project"
  expect_eq "$(cat "$OUTSIDE/secret.txt")" "secret" "the file outside the project"
}

# A good chain applied on the database; each attempt is one more revision.
t_case "setup: a good chain"
new_project
chain3
cat >versions/_helper.lua <<'EOF'
return { greeting = function(name) return "hello " .. name end }
EOF
lm upgrade head
expect_exit 0
BASELINE=$(db_schema)

# attempt NAME WHERE CODE [TEXT...]: writes CODE into a new revision (WHERE:
# "upgrade" puts it inside upgrade() and expects exit 1; "load" puts it at
# the top level and expects exit 2), runs `upgrade head` and checks the
# error (the file and line, each TEXT), the database and the folder outside;
# then removes the revision. With NOLINE=1 the error is expected to name the
# revision rather than a line (for code the revision loaded with load()).
attempt() {
  local name=$1 where=$2 code=$3 line want
  shift 3
  t_case "$name ($where)"
  code=${code//@OUTSIDE@/$OUTSIDE}
  if [ "$where" = load ]; then
    line=1 want=2
    mkrev "$BAD_ID" "$R3" "sandbox attempt" <<EOF
$code
function upgrade() end
function downgrade() end
EOF
  else
    line=2 want=1
    mkrev "$BAD_ID" "$R3" "sandbox attempt" <<EOF
function upgrade()
  $code
end
function downgrade() end
EOF
  fi
  # mkrev writes 10 lines (header comment and globals) before the body
  line=$((line + 10))
  lm upgrade head
  expect_exit "$want"
  expect_err_error_line
  if [ "${NOLINE:-0}" = 1 ]; then
    expect_err_contains "$BAD_ID" # the error is in code the revision loaded
  else
    expect_err_contains "$REV_FILE:$line"
  fi
  local t
  for t in "$@"; do expect_err_contains "$t"; done
  expect_out_not_contains "Running upgrade"
  expect_same "$(db_schema)" "$BASELINE" "the database before (-) and after (+) the attempt"
  expect_outside_untouched
  rm -f "$REV_FILE"
  if [ "$LM_RC" = 0 ]; then
    # it ran: take it back out of the version table so the next case starts clean
    db_query "DELETE FROM luamig_version WHERE revision = '$BAD_ID'" >/dev/null
  fi
}

# ---------------------------------------------------------------------------
# running programs, files

for where in upgrade load; do
  attempt "os.execute" "$where" 'os.execute("touch @OUTSIDE@/pwned")'
  attempt "io.popen" "$where" 'io.popen("touch @OUTSIDE@/pwned")'
  attempt "io.open for writing" "$where" 'io.open("@OUTSIDE@/pwned", "w"):write("x")'
  attempt "io.open for reading" "$where" 'local s = io.open("@OUTSIDE@/secret.txt"):read("a")'
  attempt "io.lines" "$where" 'for l in io.lines("@OUTSIDE@/secret.txt") do end'
  attempt "os.remove" "$where" 'os.remove("@OUTSIDE@/secret.txt")'
  attempt "os.rename" "$where" 'os.rename("@OUTSIDE@/secret.txt", "@OUTSIDE@/moved")'
  attempt "os.exit" "$where" 'os.exit(0)'
  attempt "loadfile" "$where" 'loadfile("@OUTSIDE@/secret.txt")'
  attempt "dofile" "$where" 'dofile("@OUTSIDE@/secret.txt")'
done

# ---------------------------------------------------------------------------
# binary chunks and C code

attempt "load of string.dump output" upgrade 'load(string.dump(function() return 1 end))()'
attempt "load of a binary chunk" upgrade 'assert(load("\27Lua\84\0\25\147\r\n\26\n"))()' "binary"
attempt "load of a binary chunk in mode b" upgrade 'assert(load("\27Lua\84\0\25\147\r\n\26\n", "x", "b"))()' "binary"
attempt "load of a binary chunk through a reader function" upgrade \
  'local parts = { "\27Lua", "\84\0" }; local i = 0; assert(load(function() i = i + 1; return parts[i] end))()'
NOLINE=1 attempt "load of text that calls os.execute" upgrade 'assert(load("os.execute(\"touch @OUTSIDE@/pwned\")"))()'
attempt "package.loadlib" upgrade 'package.loadlib("libc.so.6", "system")("touch @OUTSIDE@/pwned")'
attempt "package.cpath" upgrade 'package.cpath = "@OUTSIDE@/?.so"'
attempt "require of a C module" upgrade 'require("socket.core")' "socket.core"
attempt "require of os" upgrade 'require("os").execute("touch @OUTSIDE@/pwned")' "'os'"
attempt "require of io" upgrade 'require("io").open("@OUTSIDE@/pwned", "w")' "'io'"
attempt "require of debug" upgrade 'require("debug").getregistry()' "'debug'"
attempt "require of a path outside the project" upgrade 'require("../../etc/passwd")' "../../etc/passwd"
attempt "require of an absolute path" upgrade 'require("/etc/passwd")' "/etc/passwd"
attempt "require of a dotted path upwards" upgrade 'require("..outside.secret")' "..outside.secret"
attempt "require at load time" load 'require("os").exit(0)' "'os'"

# ---------------------------------------------------------------------------
# debug and the shared tables

attempt "debug.getinfo" upgrade 'debug.getinfo(1)'
attempt "debug.sethook" upgrade 'debug.sethook(function() end, "l")'
attempt "debug.getregistry" upgrade 'local r = debug.getregistry()'
attempt "debug.setmetatable" upgrade 'debug.setmetatable(nil, { __index = function() return 1 end })'
attempt "setting a field of op" upgrade 'op.create_table = function() end' "read-only"
attempt "setting a field of op at load time" load 'op.drop_table = function() end' "read-only"
attempt "rawset on op" upgrade 'rawset(op, "create_table", function() end)'
attempt "setmetatable on op" upgrade 'setmetatable(op, {})'
attempt "setting a field of string" upgrade 'string.upper = function() return "" end' "read-only"
attempt "rawset on string" upgrade 'rawset(string, "format", function() return "" end)'
attempt "replacing the string metatable's __index" upgrade 'getmetatable("").__index = {}'
attempt "changing a function through the string metatable" upgrade \
  'getmetatable("").__index.rep = function() return "" end'
attempt "adding a metamethod to strings" upgrade 'getmetatable("").__add = function() return 0 end'
attempt "setmetatable on a string" upgrade 'setmetatable("", {})'
attempt "setmetatable on the environment" upgrade 'setmetatable(_ENV, {})'
attempt "collectgarbage" upgrade 'collectgarbage("stop")'

# ---------------------------------------------------------------------------
t_case "what a revision may use works (control)"
mkrev "$BAD_ID" "$R3" "sandbox control" <<'EOF'
local helper = require("_helper")

function upgrade()
  assert(helper.greeting("x") == "hello x")
  assert(("%d-%s"):format(7, "x") == "7-x" and string.upper("a") == "A")
  assert(type(os.time()) == "number" and type(os.date("%Y")) == "string")
  assert(math.max(1, 2) == 2 and table.concat({ "a", "b" }, ",") == "a,b")
  assert(utf8.len("日本") == 2 and select("#", 1, 2) == 2)
  local f = assert(load("return 1 + 1"))
  assert(f() == 2)
  assert(pcall(error, "caught") == false)
  op.create_table("sandbox_ok", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("sandbox_ok")
end
EOF
lm upgrade head
expect_exit 0
expect_table sandbox_ok
expect_outside_untouched

t_case "luamig.lua cannot run programs or open files either"
for code in 'os.execute("touch @OUTSIDE@/pwned")' 'io.open("@OUTSIDE@/pwned", "w")' 'require("os")'; do
  code=${code//@OUTSIDE@/$OUTSIDE}
  printf '%s\nreturn { versions = { "versions" } }\n' "$code" >"$LM_TMP/sandbox_config.lua"
  cp "$LM_TMP/sandbox_config.lua" luamig_bad.lua
  lm -c luamig_bad.lua --url "$LM_URL" upgrade head
  expect_exit 2
  expect_err_error_line
  expect_err_contains "luamig_bad.lua:1"
  expect_outside_untouched
done
rm -f luamig_bad.lua

t_done
