--[[ create users

Revision ID: 1c0a7e5b2d90
Revises: 
Create Date: 2026-12-05 17:59:16
]]
revision = "1c0a7e5b2d90"
down_revision = nil
message = "create users"
branch_labels = nil
depends_on = nil

function upgrade()
  op.create_table("users",
    op.column("id", "integer", { primary_key = true }),
    op.column("email", "string(255)", { nullable = false }),
    op.column("name", "string(100)"),
    op.column("created_at", "timestamptz", { nullable = false, server_default = op.sql("CURRENT_TIMESTAMP") }))
  op.create_index("ix_users_email", "users", { "email" }, { unique = true })
end

function downgrade()
  op.drop_table("users")
end
