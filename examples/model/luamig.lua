-- The model example: the schema declared in schema.lua, revisions written by
-- `luamig revision --autogenerate`. Runs on SQLite as is; point it at
-- PostgreSQL with DATABASE_URL or --url.
return {
  url = "sqlite:///model.db",
  versions = { "versions" },
  model = "schema.lua",
}
