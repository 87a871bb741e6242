--[[ orders and full_name

Revision ID: 7d3f9a2c4e61
Revises: 1c0a7e5b2d90
Create Date: 2026-12-05 17:59:16
]]
revision = "7d3f9a2c4e61"
down_revision = "1c0a7e5b2d90"
message = "orders and full_name"
branch_labels = nil
depends_on = nil

function upgrade()
  op.alter_column("users", "name", { new_column_name = "full_name" })
  op.create_table("orders",
    op.column("id", "integer", { primary_key = true }),
    op.column("user_id", "integer", { nullable = false }),
    op.column("status", "string(20)", { nullable = false, server_default = "pending" }),
    op.column("total", "numeric(10,2)", { nullable = false, server_default = 0 }),
    op.column("created_at", "timestamptz", { nullable = false, server_default = op.sql("CURRENT_TIMESTAMP") }),
    op.foreign_key({ "user_id" }, { "users.id" }, { name = "fk_orders_user_id_users", ondelete = "CASCADE" }),
    op.check("status IN ('pending','paid','done')", { name = "ck_orders_status" }))
  op.create_index("ix_orders_open", "orders", { "user_id" }, { where = "status <> 'done'" })
end

function downgrade()
  op.drop_table("orders")
  op.alter_column("users", "full_name", { new_column_name = "name" })
end
