#!/usr/bin/env bash
# What a revision's Lua can do to the run (SPEC §3, the sandbox): it cannot
# abort the process (no Lua panic: every Lua call is protected), cannot
# change `context` for another revision (each call gets its own read-only
# one), cannot run op calls from __gc finalizers (refused, a clear error),
# cannot escape Ctrl-C (loops in coroutines, loops that pcall the error)
# and is stopped by revision_timeout; it reads only the environment
# variables the config lists in `env`.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

BAD=5b0000000001

# one_rev BODY: a project whose only revision's upgrade() is BODY.
one_rev() {
  new_project
  mkrev "$BAD" "" "lua hazard" <<EOF
function upgrade()
$1
end
function downgrade() end
EOF
}

# ---------------------------------------------------------------------------
t_case "a throwing __newindex on context: a clear error, no abort (was exit 134)"
one_rev '  setmetatable(context, { __newindex = function() error("boom") end })
  context.dialect = "x"'
lm upgrade head
expect_exit 1
expect_err_contains "luamig: error:"
expect_err_contains "protected metatable"
expect_err_contains "5b0000000001_lua_hazard.lua:"
lm current
expect_exit 0

t_case "context is read-only and each revision's own"
new_project
mkrev 5b0000000010 "" "first" <<'EOF'
function upgrade()
  local ok, err = pcall(function() context.dialect = "oracle" end)
  assert(not ok and tostring(err):find("read%-only"), "context.dialect was writable")
  ok = pcall(rawset, context, "dialect", "oracle")
  assert(not ok, "rawset reached context")
  ok = pcall(function() context.x.extra = 1 end)
  assert(not ok, "context.x was writable")
  op.create_table("seen_" .. context.revision, op.column("id", "integer"))
end
function downgrade() end
EOF
mkrev 5b0000000011 5b0000000010 "second" <<'EOF'
function upgrade()
  assert(context.dialect == "sqlite" or context.dialect == "postgresql", "dialect " .. tostring(context.dialect))
  assert(context.revision == "5b0000000011", "revision " .. tostring(context.revision))
  local n = 0
  for k in pairs(context) do n = n + 1 end
  assert(n >= 3, "pairs(context) sees its fields")
  op.create_table("seen_" .. context.revision, op.column("id", "integer"))
end
function downgrade() end
EOF
lm upgrade head
expect_exit 0
expect_eq "$(db_query "SELECT count(*) FROM $(pick sqlite_master information_schema.tables) WHERE $(pick name table_name) LIKE 'seen_%'")" "2" "both revisions ran"

t_case "pairs() on context and context.x hands out no writable table"
# pairs(t) returns its iterator, a table and a key: for a read-only proxy
# that table must be the proxy, never the data behind it, or a revision
# could write into what later revisions (and later loads) read.
new_project
mkrev 5b0000000012 "" "probe" <<'EOF'
local _, d = pairs(context)
assert(not pcall(function() d.offline = true end), "the loading context's data was writable")
function upgrade()
  for _, t in ipairs({ context, context.x }) do
    local _, data = pairs(t)
    assert(rawequal(data, t), "pairs handed out a table other than the proxy")
    assert(not pcall(function() data.tag = "changed" end), "data behind a proxy was writable")
  end
  local seen = {}
  for k, v in pairs(context.x) do seen[#seen + 1] = k .. "=" .. v end
  assert(#seen == 1 and seen[1] == "tag=kept", "pairs(context.x) saw " .. table.concat(seen, ","))
  op.create_table("probe_" .. context.x.tag, op.column("id", "integer"))
end
function downgrade() end
EOF
mkrev 5b0000000013 5b0000000012 "after probe" <<'EOF'
assert(context.offline == false, "a load saw offline " .. tostring(context.offline))
function upgrade()
  op.create_table("after_" .. context.x.tag, op.column("id", "integer"))
end
function downgrade() end
EOF
lm upgrade head -x tag=kept
expect_exit 0
expect_eq "$(db_query "SELECT count(*) FROM $(pick sqlite_master information_schema.tables) WHERE $(pick name table_name) IN ('probe_kept', 'after_kept')")" "2" "both revisions saw x as given"

# ---------------------------------------------------------------------------
t_case "op calls from a __gc finalizer are refused"
new_project
mkrev 5b0000000020 "" "finalizer" <<'EOF'
function upgrade()
  op.create_table("kept", op.column("id", "integer"))
  setmetatable({}, { __gc = function() op.execute("DROP TABLE kept") end })
end
function downgrade() end
EOF
mkrev 5b0000000021 5b0000000020 "after" <<'EOF'
function upgrade()
  local junk = {}
  for i = 1, 20000 do junk[i] = { i } end
  op.create_table("after_gc", op.column("id", "integer"))
end
function downgrade() end
EOF
lm upgrade head
expect_exit 1
expect_err_contains "__gc finalizer"
expect_err_contains "refused"
expect_eq "$(db_query "SELECT count(*) FROM $(pick sqlite_master information_schema.tables) WHERE $(pick name table_name) = 'kept'")" "0" "the failed revision was rolled back"
lm current
expect_exit 0
expect_out_not_contains "5b0000000020"

# ---------------------------------------------------------------------------
# interrupt NAME BODY: runs a revision whose upgrade() is BODY, sends SIGINT
# once it has started, expects exit 130 within seconds.
interrupt() {
  t_case "Ctrl-C reaches $1"
  one_rev "  io_mark = true
$2"
  "$LUAMIG" upgrade head >"$LM_TMP/int.out" 2>"$LM_TMP/int.err" </dev/null &
  local pid=$!
  sleep 1
  kill -INT "$pid"
  for _ in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid"
    wait "$pid"
    LM_RC=hung
  else
    wait "$pid"
    LM_RC=$?
  fi
  LM_CMD="luamig upgrade head (interrupted)" LM_OUT=$(cat "$LM_TMP/int.out") LM_ERR=$(cat "$LM_TMP/int.err")
  expect_exit 130
  expect_err_contains "interrupted"
  lm current
  expect_exit 0
  expect_out_not_contains "$BAD"
}

interrupt "a loop in a coroutine" '  local co = coroutine.create(function() while true do end end)
  coroutine.resume(co)'
interrupt "a loop in coroutine.wrap" '  coroutine.wrap(function() local x = 0 while true do x = x + 1 end end)()'
interrupt "a loop that pcalls the interrupt away" '  while true do pcall(function() while true do end end) end'
interrupt "a coroutine made before the signal, resumed after" '  local co = coroutine.create(function() while true do coroutine.yield() end end)
  while true do coroutine.resume(co) end'

# ---------------------------------------------------------------------------
t_case "revision_timeout stops runaway Lua, pcall or not"
one_rev '  while true do pcall(function() while true do end end) end'
write_config "url = \"$LM_URL\"," 'revision_timeout = "1s",'
lm upgrade head
expect_exit 1
expect_err_contains "revision_timeout"
expect_err_contains "$BAD"
lm current
expect_exit 0
expect_out_not_contains "$BAD"

t_case "revision_timeout in a coroutine"
one_rev '  coroutine.wrap(function() while true do end end)()'
write_config "url = \"$LM_URL\"," 'revision_timeout = "500ms",'
lm upgrade head
expect_exit 1
expect_err_contains "revision_timeout"

t_case "revision_timeout leaves ordinary revisions alone"
new_project
chain3
write_config "url = \"$LM_URL\"," 'revision_timeout = "30s",'
lm upgrade head
expect_exit 0

t_case "a bad revision_timeout is a config error"
write_config "url = \"$LM_URL\"," 'revision_timeout = "soon",'
lm upgrade head
expect_exit 2
expect_err_contains "revision_timeout"
expect_err_contains "luamig.lua:3"

# ---------------------------------------------------------------------------
t_case "os.getenv: revisions cannot read DATABASE_URL or PGPASSWORD"
one_rev '  print(os.getenv("PGPASSWORD"))'
PGPASSWORD=$LM_PASSWORD lm upgrade head
expect_exit 1
expect_err_contains "os.getenv('PGPASSWORD')"
expect_err_contains "env ="
expect_err_not_contains "$LM_PASSWORD"
one_rev '  op.execute("SELECT 1") print(os.getenv("DATABASE_URL"))'
DATABASE_URL=$LM_URL lm upgrade head
expect_exit 1
expect_err_contains "os.getenv('DATABASE_URL')"

t_case "os.getenv: the variables the config lists in env"
one_rev '  assert(os.getenv("APP_MODE") == "blue", "APP_MODE")
  assert(os.getenv("LM_UNSET_VAR") == nil, "unset")
  assert(not pcall(os.getenv, "HOME"), "HOME is not listed")'
write_config "url = \"$LM_URL\"," 'env = { "APP_MODE", "LM_UNSET_VAR" },'
APP_MODE=blue lm upgrade head
expect_exit 0

t_case "os.getenv: the config file keeps it"
new_project --no-url
chain3
write_config 'url = os.getenv("LM_TEST_URL"),'
LM_TEST_URL=$LM_URL lm upgrade head
expect_exit 0

t_done
