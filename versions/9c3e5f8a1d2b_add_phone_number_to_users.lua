--[[ add phone_number to users

Revision ID: 9c3e5f8a1d2b
Revises: 3a8f1c2d4b7e
Create Date: 2026-03-10 14:05:22
]]
revision = "9c3e5f8a1d2b"
down_revision = "3a8f1c2d4b7e"
message = "add phone_number to users"

function upgrade()
  op.add_column("users", op.column("phone_number", "string(20)", { nullable = true }))
  op.create_index("ix_users_phone_number", "users", { "phone_number" },
    { where = "phone_number IS NOT NULL" })
end

function downgrade()
  op.drop_index("ix_users_phone_number", { table_name = "users" })
  op.drop_column("users", "phone_number")
end
