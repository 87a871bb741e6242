--[[ create users

Revision ID: 4b1e7c9d2a30
Revises:
Create Date: 2026-03-01 09:00:00
]]
revision = "4b1e7c9d2a30"
down_revision = nil
message = "create users"

function upgrade()
  op.create_table("users",
    op.column("id", "integer", { primary_key = true }),
    op.column("username", "string(100)", { nullable = false }))
  -- A few users, some without an underscore in their name.
  op.bulk_insert("users", {
    { username = "ada_lovelace" },
    { username = "alan_turing" },
    { username = "grace_brewster_hopper" },
    { username = "linus" },
    { username = "margaret_hamilton" },
    { username = "dijkstra" },
  })
end

function downgrade()
  op.drop_table("users")
end
