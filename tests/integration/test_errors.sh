#!/usr/bin/env bash
# Bad input (SPEC §3, §7): each is one clear error, exit 2, stderr starting
# `luamig: error:` and naming the file (and the line for Lua errors), found
# before anything touches the database. Also the sandbox: no os.execute or
# io.popen in a revision.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# good_root: a valid first revision every broken chain builds on.
good_root() {
  mkrev 1a0000000001 "" "good root" <<'EOF'
function upgrade()
  op.create_table("good", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("good")
end
EOF
}

# expect_load_error TEXT...: `upgrade head` fails with exit 2, `luamig: error:`
# first, every TEXT in stderr, and the database untouched; `history` and
# `heads` refuse the chain the same way.
expect_load_error() {
  lm history
  expect_exit 2
  expect_err_error_line
  lm upgrade head --sql
  expect_exit 2
  lm upgrade head
  expect_exit 2
  expect_err_error_line
  local t
  for t in "$@"; do expect_err_contains "$t"; done
  expect_out_not_contains "Running upgrade"
  expect_db_untouched
}

# expect_err_one_line: stderr is the one `luamig: error:` line, its place
# (FILE:LINE) in it, with no second line to say it again.
expect_err_one_line() {
  [[ $LM_ERR != *$'\n'* ]]
  _check $? "stderr should be one line" "$LM_ERR"
}

# ---------------------------------------------------------------------------
t_case "Lua syntax error"
new_project
good_root
write_rev versions/1a0000000002_broken.lua <<'EOF'
revision = "1a0000000002"
down_revision = "1a0000000001"

function upgrade()
  op.create_table("x", op.column("id", "integer")
end
EOF
expect_load_error "1a0000000002_broken.lua:6"

t_case "runtime error while loading"
new_project
good_root
write_rev versions/1a0000000002_boom.lua <<'EOF'
revision = "1a0000000002"
down_revision = "1a0000000001"
local settings = nil

local timeout = settings.timeout

function upgrade() end
function downgrade() end
EOF
expect_load_error "1a0000000002_boom.lua:5"

t_case "error() while loading"
new_project
good_root
write_rev versions/1a0000000002_raise.lua <<'EOF'
revision = "1a0000000002"
down_revision = "1a0000000001"
error("refusing to load, on purpose")
function upgrade() end
function downgrade() end
EOF
expect_load_error "1a0000000002_raise.lua:3" "refusing to load, on purpose"

t_case "missing revision"
new_project
good_root
write_rev versions/1a0000000002_norev.lua <<'EOF'
down_revision = "1a0000000001"
function upgrade() end
function downgrade() end
EOF
expect_load_error "1a0000000002_norev.lua"

t_case "duplicate revision ids"
new_project
good_root
write_rev versions/1a0000000002_one.lua <<'EOF'
revision = "1a0000000002"
down_revision = "1a0000000001"
function upgrade() end
function downgrade() end
EOF
write_rev versions/1a0000000002_two.lua <<'EOF'
-- a copy of _one.lua that kept its id
revision = "1a0000000002"
down_revision = "1a0000000001"
function upgrade() end
function downgrade() end
EOF
# both files, each at its `revision =` line
expect_load_error "1a0000000002" "versions/1a0000000002_two.lua:2:" "versions/1a0000000002_one.lua:1"
expect_err_one_line

t_case "unknown down_revision"
new_project
good_root
write_rev versions/1a0000000002_orphan.lua <<'EOF'
revision = "1a0000000002"
message = "orphan"

down_revision = "deadbeef0000"
function upgrade() end
function downgrade() end
EOF
expect_load_error "versions/1a0000000002_orphan.lua:4: down_revision 'deadbeef0000' names no revision"
expect_err_one_line

t_case "unknown depends_on"
new_project
good_root
write_rev versions/1a0000000002_dep.lua <<'EOF'
revision = "1a0000000002"
down_revision = "1a0000000001"
depends_on = { "1a0000000001",
  "feedface0000" }
function upgrade() end
function downgrade() end
EOF
expect_load_error "versions/1a0000000002_dep.lua:3: depends_on 'feedface0000' names no revision"
expect_err_one_line

t_case "a cycle"
new_project
good_root
write_rev versions/1a0000000002_a.lua <<'EOF'
revision = "1a0000000002"
down_revision = "1a0000000003"
function upgrade() end
function downgrade() end
EOF
write_rev versions/1a0000000003_b.lua <<'EOF'
revision = "1a0000000003"
message = "b"
down_revision = "1a0000000002"
function upgrade() end
function downgrade() end
EOF
# every file of the cycle, at its down_revision line
expect_load_error "versions/1a0000000002_a.lua:2:" "versions/1a0000000003_b.lua:3"
expect_err_contains_i "cycle"
expect_err_one_line

t_case "a revision that is its own parent"
new_project
good_root
write_rev versions/1a0000000002_self.lua <<'EOF'
revision = "1a0000000002"
down_revision = "1a0000000002"
function upgrade() end
function downgrade() end
EOF
expect_load_error "versions/1a0000000002_self.lua:2:"
expect_err_one_line

t_case "neither upgrade nor steps"
new_project
good_root
write_rev versions/1a0000000002_empty.lua <<'EOF'
revision = "1a0000000002"
down_revision = "1a0000000001"
message = "does nothing"
EOF
expect_load_error "1a0000000002_empty.lua"

t_case "both upgrade and steps"
new_project
good_root
write_rev versions/1a0000000002_both.lua <<'EOF'
revision = "1a0000000002"
down_revision = "1a0000000001"
function upgrade() end
function downgrade() end
steps = {
  { name = "expand", up = function() end, down = function() end },
}
EOF
expect_load_error "1a0000000002_both.lua"

t_case "revision id with bad characters"
new_project
good_root
write_rev versions/bad_id.lua <<'EOF'
revision = "bad-id!"
down_revision = "1a0000000001"
function upgrade() end
function downgrade() end
EOF
expect_load_error "bad_id.lua"

t_case "revision id longer than 32 characters"
new_project
good_root
write_rev versions/long_id.lua <<'EOF'
revision = "a123456789012345678901234567890123"
down_revision = "1a0000000001"
function upgrade() end
function downgrade() end
EOF
expect_load_error "long_id.lua"

t_case "revision that is not a string"
new_project
good_root
write_rev versions/num_id.lua <<'EOF'
revision = 42
down_revision = "1a0000000001"
function upgrade() end
function downgrade() end
EOF
expect_load_error "num_id.lua"

# ---------------------------------------------------------------------------
t_case "sandbox: os.execute while loading"
new_project
good_root
write_rev versions/1a0000000002_shell.lua <<'EOF'
revision = "1a0000000002"
down_revision = "1a0000000001"
os.execute("touch pwned_at_load")
function upgrade() end
function downgrade() end
EOF
lm upgrade head
expect_exit_nonzero
expect_err_error_line
expect_err_contains "1a0000000002_shell.lua"
expect_no_file pwned_at_load
expect_out_not_contains "Running upgrade <base> -> 1a0000000001"

t_case "sandbox: io.popen while loading"
rm -f versions/1a0000000002_shell.lua
write_rev versions/1a0000000002_popen.lua <<'EOF'
revision = "1a0000000002"
down_revision = "1a0000000001"
local p = io.popen("touch pwned_popen_load")
function upgrade() end
function downgrade() end
EOF
lm upgrade head
expect_exit_nonzero
expect_err_error_line
expect_err_contains "1a0000000002_popen.lua"
expect_no_file pwned_popen_load

t_case "sandbox: os.execute inside upgrade()"
new_project
good_root
write_rev versions/1a0000000002_runtime_shell.lua <<'EOF'
revision = "1a0000000002"
down_revision = "1a0000000001"
function upgrade()
  op.create_table("half", op.column("id", "integer", { primary_key = true }))
  os.execute("touch pwned_at_run")
end
function downgrade() end
EOF
lm upgrade 1a0000000001
expect_exit 0
before=$(db_schema)
lm upgrade head
expect_exit_nonzero
expect_err_error_line
expect_err_contains "1a0000000002_runtime_shell.lua"
expect_no_file pwned_at_run
expect_same "$before" "$(db_schema)" "db_schema before and after the refused revision"

t_case "sandbox: io.popen inside upgrade()"
rm -f versions/1a0000000002_runtime_shell.lua
write_rev versions/1a0000000002_runtime_popen.lua <<'EOF'
revision = "1a0000000002"
down_revision = "1a0000000001"
function upgrade()
  op.create_table("half", op.column("id", "integer", { primary_key = true }))
  local p = io.popen("touch pwned_popen_run")
  if p then p:close() end
end
function downgrade() end
EOF
lm upgrade head
expect_exit_nonzero
expect_err_error_line
expect_err_contains "1a0000000002_runtime_popen.lua"
expect_no_file pwned_popen_run
expect_same "$before" "$(db_schema)" "db_schema before and after the refused revision"

t_case "sandbox: io.open cannot write files, require cannot reach outside"
rm -f versions/1a0000000002_runtime_popen.lua
write_rev versions/1a0000000002_runtime_io.lua <<'EOF'
revision = "1a0000000002"
down_revision = "1a0000000001"
function upgrade()
  local f = io.open("pwned_io_open", "w")
  if f then f:write("x") f:close() end
end
function downgrade() end
EOF
lm upgrade head
expect_no_file pwned_io_open

# ---------------------------------------------------------------------------
t_case "malformed luamig.lua: syntax error"
new_project
good_root
printf 'return {\n  url = "sqlite:///x.db"\n  versions = { "versions" },\n}\n' >luamig.lua
lm upgrade head
expect_exit 2
expect_err_error_line
expect_err_contains "luamig.lua:3"
expect_db_untouched

t_case "malformed luamig.lua: does not return a table"
printf 'return "sqlite:///x.db"\n' >luamig.lua
lm upgrade head
expect_exit 2
expect_err_error_line
expect_err_contains "luamig.lua"

t_case "malformed luamig.lua: versions of the wrong type"
printf 'return { versions = 42 }\n' >luamig.lua
lm --url "$LM_URL" upgrade head
expect_exit 2
expect_err_error_line
expect_err_contains "luamig.lua"
expect_db_untouched

t_case "a versions folder that does not exist"
printf 'return { versions = { "nowhere" } }\n' >luamig.lua
lm --url "$LM_URL" upgrade head
expect_exit 2
expect_err_error_line
expect_err_contains "nowhere"
expect_db_untouched

# ---------------------------------------------------------------------------
t_case "unknown URL scheme"
new_project
good_root
lm --url "mysql://user@localhost/db" upgrade head
expect_exit 2
expect_err_error_line
expect_err_contains "mysql"
DATABASE_URL="oracle://scott@localhost/db" lm upgrade head --url "not a url"
expect_exit 2
expect_err_error_line

t_case "unknown command"
lm frobnicate
expect_exit 2
expect_err_error_line
expect_err_contains "frobnicate"

t_case "unknown flag"
lm upgrade head --frobnicate
expect_exit 2
expect_err_error_line
expect_err_contains "--frobnicate"
lm --frobnicate current
expect_exit 2
expect_err_error_line

t_case "missing arguments"
lm upgrade
expect_exit 2
expect_err_error_line
lm downgrade
expect_exit 2
expect_err_error_line
lm revision
expect_exit_nonzero

# ---------------------------------------------------------------------------
t_case "bad targets"
new_project
chain3
lm upgrade "$R1"
expect_exit 0
before=$(db_schema)
for target in 'nonsense!' ffffffffffff 9c +x "$R1+" '--1'; do
  lm upgrade "$target"
  expect_exit 2
  expect_err_error_line
done
lm upgrade 9c
expect_err_contains "9c"
lm upgrade ffffffffffff
expect_err_contains "ffffffffffff"
for target in 'nonsense!' ffffffffffff 9c; do
  lm downgrade "$target"
  expect_exit 2
  expect_err_error_line
done
lm stamp 'nonsense!'
expect_exit 2
lm show 9c
expect_exit 2
expect_err_error_line
expect_same "$before" "$(db_schema)" "db_schema before and after the bad targets"

t_case "downgrade past base, upgrade past head"
lm downgrade -5
expect_exit_nonzero
expect_err_error_line
lm upgrade +5
expect_exit_nonzero
expect_err_error_line
expect_same "$before" "$(db_schema)" "db_schema before and after the out-of-range targets"

t_case "an edited applied revision is refused (checksums)"
printf '\n-- edited after it was applied\n' >>"versions/${R1}_create_one.lua"
lm upgrade head
expect_exit_nonzero
expect_err_error_line
expect_err_contains "${R1}_create_one.lua"
expect_same "$before" "$(db_schema)" "db_schema after the refused upgrade"
lm upgrade head --ignore-checksums
expect_exit 0
expect_table t_three
lm stamp head
expect_exit 0
lm upgrade head
expect_exit 0
expect_out_empty
lm downgrade base
expect_exit 0
expect_no_table t_one

t_case "a version table without a revision column is named as legacy or foreign"
new_project
if is_sqlite; then : >"$(sqlite_path "$LM_URL")"; fi
db_query "CREATE TABLE luamig_version (version_num VARCHAR(32))" >/dev/null
mkrev "$R1" "" "first" <<'EOF'
function upgrade() op.create_table("t1", op.column("id", "integer", { primary_key = true })) end
function downgrade() op.drop_table("t1") end
EOF
lm current
expect_exit 2
expect_err_contains 'has no "revision" column: it is a legacy or foreign table'
lm upgrade head
expect_exit 2
expect_err_contains 'has no "revision" column'

t_done
