#!/usr/bin/env bash
# Multi-step revisions (SPEC §6): steps run in order, --stop-before, a partly
# applied revision in `current` and the version table, later revisions wait,
# downgrade reverts the applied steps last first. And op.backfill (SPEC §4)
# online: the set form and the Lua-function form, in a step of its own and
# inside a plain upgrade().
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly S1=5a0000000001 S2=5a0000000002 S3=5a0000000003

users_rev() {
  mkrev "$S1" "" "users" <<'EOF'
function upgrade()
  op.create_table("users",
    op.column("id", "integer", { primary_key = true }),
    op.column("username", "string(50)", { nullable = false }))
  op.bulk_insert("users", {
    { id = 1, username = "ann_lee" }, { id = 2, username = "bob_ray" }, { id = 3, username = "cy_twombly" },
    { id = 4, username = "dee_dee" }, { id = 5, username = "eve_online" },
  })
end

function downgrade()
  op.drop_table("users")
end
EOF
}

after_rev() {
  mkrev "$S3" "$S2" "after" <<'EOF'
function upgrade()
  op.create_table("t_after", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("t_after")
end
EOF
}

step_of() { db_query "SELECT coalesce(step, 'NULL') FROM luamig_version WHERE revision = '$1'"; }

# ---------------------------------------------------------------------------
t_case "steps: --stop-before stops each revision before that step; later revisions wait"
new_project
users_rev
mkrev "$S2" "$S1" "split username" <<'EOF'
steps = {
  { name = "expand",
    up = function() op.add_column("users", op.column("first_name", "string(50)")) end,
    down = function() op.drop_column("users", "first_name") end },
  { name = "backfill",
    up = function()
      op.execute("UPDATE users SET first_name = upper(username) WHERE first_name IS NULL")
    end,
    down = function() end },
  { name = "contract",
    up = function() op.drop_column("users", "username") end,
    down = function()
      op.add_column("users", op.column("username", "string(50)"))
      op.execute("UPDATE users SET username = first_name || '_x'")
    end },
}
EOF
after_rev
lm upgrade head --stop-before contract
expect_exit 0
expect_out_contains "$S1"
expect_out_contains "$S2"
expect_out_not_contains "$S3"
expect_eq "$(columns users)" "id,username,first_name" "columns of users"
expect_eq "$(db_query "SELECT first_name FROM users ORDER BY id" | tr '\n' ' ')" "ANN_LEE BOB_RAY CY_TWOMBLY DEE_DEE EVE_ONLINE " "the backfilled first names"
expect_no_table t_after
lm current
expect_exit 0
expect_out_equals "$S2 (backfill, next: contract)"
expect_ne "$(step_of "$S2")" "NULL" "the step of a partly applied revision"

t_case "steps: a later upgrade head carries on from the next step"
lm upgrade head
expect_exit 0
expect_out_order "$S2" "$S3"
expect_eq "$(columns users)" "id,first_name" "columns of users"
expect_table t_after
expect_eq "$(step_of "$S2")" "NULL" "the step once every step is applied"
lm current
expect_out_equals "$S3 (head)"

t_case "steps: downgrade -1 reverts the newest revision; then the applied steps, last first"
lm downgrade -1
expect_exit 0
expect_no_table t_after
lm downgrade -1
expect_exit 0
expect_eq "$(columns users)" "id,username" "columns of users"
expect_eq "$(db_query "SELECT username FROM users ORDER BY id" | tr '\n' ' ')" "ANN_LEE_x BOB_RAY_x CY_TWOMBLY_x DEE_DEE_x EVE_ONLINE_x " "username rebuilt by contract's down"
lm current
expect_out_equals "$S1"

t_case "steps: downgrade a partly applied revision"
lm upgrade head --stop-before backfill
expect_exit 0
lm current
expect_out_equals "$S2 (expand, next: backfill)"
lm downgrade -1
expect_exit 0
expect_eq "$(columns users)" "id,username" "columns of users"
lm current
expect_out_equals "$S1"

t_case "steps: a failing step keeps the earlier steps and nothing of itself"
new_project
users_rev
mkrev "$S2" "$S1" "failing step" <<'EOF'
steps = {
  { name = "expand",
    up = function() op.add_column("users", op.column("nick", "string(50)")) end,
    down = function() op.drop_column("users", "nick") end },
  { name = "broken",
    up = function()
      op.add_column("users", op.column("other", "integer"))
      op.execute("UPDATE no_such_table SET x = 1")
    end,
    down = function() op.drop_column("users", "other") end },
}
EOF
lm upgrade head
expect_exit 1
expect_err_error_line
expect_err_contains "${S2}_failing_step.lua"
expect_eq "$(columns users)" "id,username,nick" "columns of users"
lm current
expect_out_equals "$S2 (expand, next: broken)"

# ---------------------------------------------------------------------------
t_case "op.backfill with a set expression, alone in its step"
new_project
users_rev
mkrev "$S2" "$S1" "backfill set" <<'EOF'
steps = {
  { name = "expand",
    up = function() op.add_column("users", op.column("upper_name", "string(50)")) end,
    down = function() op.drop_column("users", "upper_name") end },
  { name = "backfill",
    up = function()
      op.backfill("users", { set = { upper_name = op.sql("upper(username)") }, where = "upper_name IS NULL", batch_size = 2 })
    end,
    down = function() end },
}
EOF
lm upgrade head
expect_exit 0
expect_eq "$(db_query "SELECT upper_name FROM users ORDER BY id" | tr '\n' ' ')" "ANN_LEE BOB_RAY CY_TWOMBLY DEE_DEE EVE_ONLINE " "backfilled rows"
expect_eq "$(step_of "$S2")" "NULL" "the step once every step is applied"

t_case "op.backfill with a Lua function, inside a plain upgrade()"
new_project
users_rev
mkrev "$S2" "$S1" "backfill function" <<'EOF'
function upgrade()
  op.add_column("users", op.column("first_name", "string(50)"))
  op.add_column("users", op.column("last_name", "string(50)"))
  op.backfill("users", { columns = { "username" }, where = "first_name IS NULL", batch_size = 2 }, function(row)
    local first, last = row.username:match("^(.-)_(.*)$")
    return { first_name = first, last_name = last }
  end)
end

function downgrade()
  op.drop_column("users", "last_name")
  op.drop_column("users", "first_name")
end
EOF
lm upgrade head
expect_exit 0
expect_eq "$(db_query "SELECT first_name || '/' || last_name FROM users ORDER BY id" | tr '\n' ' ')" \
  "ann/lee bob/ray cy/twombly dee/dee eve/online " "rows backfilled by the Lua function"

t_done
