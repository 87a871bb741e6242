-- The schema the application expects. Edit it, then run
--   luamig revision --autogenerate -m "what changed"
-- review the file it writes, and `luamig upgrade head`.

-- plain Lua: columns shared by several tables
local function timestamps()
  return column("created_at", "timestamptz", { nullable = false, server_default = sql("CURRENT_TIMESTAMP") })
end

table("users",
  column("id", "integer", { primary_key = true }),
  column("email", "string(255)", { nullable = false }),
  column("full_name", "string(100)", { renamed_from = "name" }),
  timestamps(),
  index("ix_users_email", { "email" }, { unique = true }))

table("orders",
  column("id", "integer", { primary_key = true }),
  column("user_id", "integer", { nullable = false, references = "users.id", ondelete = "CASCADE" }),
  column("status", "string(20)", { nullable = false, server_default = "pending" }),
  column("total", "numeric(10,2)", { nullable = false, server_default = 0 }),
  timestamps(),
  index("ix_orders_open", { "user_id" }, { where = "status <> 'done'" }),
  check("status IN ('pending','paid','done')", { name = "ck_orders_status" }))
