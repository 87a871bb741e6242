--[[ count orders per user

A data migration: a new column, filled from the existing rows in the same
transaction, so the column never exists without its values.

Revision ID: 5d7e9f1a2b3c
Revises: 9c3e5f8a1d2b
Create Date: 2026-03-18 11:47:03
]]
revision = "5d7e9f1a2b3c"
down_revision = "9c3e5f8a1d2b"
message = "count orders per user"

function upgrade()
  op.add_column("users", op.column("order_count", "integer", { nullable = false, server_default = 0 }))
  op.execute([[
    UPDATE users SET order_count =
      (SELECT count(*) FROM orders WHERE orders.user_id = users.id)
  ]])
  -- Lua decides what the data needs: the demo seeds a few rows only when asked
  -- (luamig upgrade head -x seed=1) and never on a database that has users.
  if context.x.seed and not context.offline and op.scalar("SELECT count(*) FROM users") == 0 then
    op.bulk_insert("users", {
      { id = 1, email = "ada@example.com", username = "ada_lovelace" },
      { id = 2, email = "alan@example.com", username = "alan_turing" },
    })
  end
end

function downgrade()
  op.drop_column("users", "order_count")
end
