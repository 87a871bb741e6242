--[[ split username into first_name and last_name

Expand/contract in one revision, over two deploys:
  deploy 1: luamig upgrade head --stop-before contract
            (expand, then backfill; the application writes both shapes)
  deploy 2: luamig upgrade head
            (contract, once no running code reads username)

Revision ID: e1a2b3c4d5f6
Revises: 4b1e7c9d2a30
Create Date: 2026-03-10 14:05:22
]]
revision = "e1a2b3c4d5f6"
down_revision = "4b1e7c9d2a30"
message = "split username into first_name and last_name"

-- "grace_brewster_hopper" -> "grace", "brewster_hopper"; "linus" -> "linus", ""
local function split(username)
  local first, last = username:match("^([^_]*)_(.*)$")
  if first then return first, last end
  return username, ""
end

steps = {
  { name = "expand",
    up = function()
      op.add_column("users", op.column("first_name", "string(100)", { nullable = true }))
      op.add_column("users", op.column("last_name", "string(100)", { nullable = true }))
    end,
    down = function()
      op.drop_column("users", "last_name")
      op.drop_column("users", "first_name")
    end },

  -- The backfill is all this step does: each batch commits on its own, and
  -- the step is recorded only once every row is done. Interrupted, it resumes
  -- where `where` says: the rows still without a first_name.
  -- Under --sql there are no rows to hand to Lua, so the script a reviewer
  -- reads does the same split in SQL (context.offline and context.dialect).
  { name = "backfill",
    up = function()
      if context.offline then
        local pos = context.dialect == "postgresql" and "strpos(username, '_')" or "instr(username, '_')"
        op.backfill("users", { where = "first_name IS NULL", set = {
          first_name = op.sql("CASE WHEN " .. pos .. " > 0 THEN substr(username, 1, " .. pos .. " - 1) ELSE username END"),
          last_name = op.sql("CASE WHEN " .. pos .. " > 0 THEN substr(username, " .. pos .. " + 1) ELSE '' END"),
        } })
        return
      end
      op.backfill("users", { columns = { "username" }, where = "first_name IS NULL", batch_size = 1000 },
        function(row)
          local first, last = split(row.username)
          return { first_name = first, last_name = last }
        end)
    end,
    -- nothing to undo: the expand step's down drops the columns
    down = function() end },

  { name = "contract",
    up = function()
      -- luamig: allow drop-column (the backfill step copied it into first_name/last_name)
      op.drop_column("users", "username")
    end,
    down = function()
      op.add_column("users", op.column("username", "string(100)", { nullable = true }))
      if context.offline then
        -- luamig: allow backfill-in-transaction (a downgrade restores the column atomically)
        op.backfill("users", { where = "username IS NULL", set = { username = op.sql(
          "CASE WHEN last_name = '' THEN first_name ELSE first_name || '_' || last_name END") } })
        return
      end
      -- luamig: allow backfill-in-transaction (a downgrade restores the column atomically)
      op.backfill("users", { columns = { "first_name", "last_name" }, where = "username IS NULL" },
        function(row)
          if row.last_name == "" then return { username = row.first_name } end
          return { username = row.first_name .. "_" .. row.last_name }
        end)
    end },
}
