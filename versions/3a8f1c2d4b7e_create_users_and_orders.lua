--[[ create users and orders

Revision ID: 3a8f1c2d4b7e
Revises:
Create Date: 2026-03-02 09:12:40
]]
revision = "3a8f1c2d4b7e"
down_revision = nil
message = "create users and orders"

function upgrade()
  op.create_table("users",
    op.column("id", "integer", { primary_key = true }),
    op.column("email", "string(255)", { nullable = false, unique = true }),
    op.column("username", "string(100)", { nullable = false }),
    op.column("created_at", "datetime", { nullable = false, server_default = op.sql("CURRENT_TIMESTAMP") }))

  op.create_table("orders",
    op.column("id", "integer", { primary_key = true }),
    op.column("user_id", "integer", { nullable = false, references = "users.id", ondelete = "CASCADE" }),
    op.column("total", "numeric(10,2)", { nullable = false }),
    op.column("status", "string(20)", { nullable = false, server_default = "pending" }),
    op.check("total >= 0", { name = "ck_orders_total_positive" }))
  op.create_index("ix_orders_user_id", "orders", { "user_id" })
end

function downgrade()
  op.drop_index("ix_orders_user_id", { table_name = "orders" })
  op.drop_table("orders")
  op.drop_table("users")
end
