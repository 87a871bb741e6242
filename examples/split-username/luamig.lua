-- The split-username example: an expand/backfill/contract revision.
-- Runs on SQLite as is; point it at PostgreSQL with DATABASE_URL or --url.
return {
  url = "sqlite:///split-username.db",
  versions = { "versions" },
}
