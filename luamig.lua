-- The luamig repository is itself a luamig project: `luamig upgrade head` here
-- applies the demo chain in versions/ to an embedded SQLite file. Point it at
-- PostgreSQL with DATABASE_URL or --url.
return {
  url = "sqlite:///luamig-demo.db",
  versions = { "versions" },
  version_table = "luamig_version",
  transaction_per_migration = true,
}
