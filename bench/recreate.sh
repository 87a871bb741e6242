#!/usr/bin/env bash
# SQLite move-and-copy: luamig against the sqlite3 shell running the very
# same statements.
#
#   bench/recreate.sh [ROWS]        (default 1000000; LUAMIG=path/to/luamig)
#
# A table of ROWS rows (AUTOINCREMENT key, two indexes, one of them partial,
# a trigger, a foreign key in and one out) is made once; then, on two copies
# of that database, the same revision (a column's type changes and a CHECK is
# added: one move-and-copy) runs
#   - through `luamig upgrade head`, and
#   - as the statements `luamig upgrade FROM:TO --sql` printed for it, fed
#     to the sqlite3 shell,
# each RUNS times, alternating, on a fresh copy every time. The best time of
# each and their ratio are printed. luamig's time includes everything it
# does that the script does not: starting, loading the chain, reading the
# version table, reflecting the table, and the PRAGMA foreign_key_check before
# COMMIT.
set -euo pipefail

ROWS=${1:-1000000}
RUNS=${RUNS:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
LUAMIG=${LUAMIG:-$here/build/luamig}
[ -x "$LUAMIG" ] || { echo "no luamig binary at $LUAMIG (build it first)" >&2; exit 2; }
command -v sqlite3 >/dev/null || { echo "the sqlite3 shell is needed" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/luamig-bench-recreate.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
mkdir versions
printf 'return { url = "sqlite:///bench.db", versions = { "versions" } }\n' >luamig.lua

cat >versions/b1_big.lua <<LUA
revision = "b1"
down_revision = nil
function upgrade()
  op.create_table("owners", op.column("id", "integer", { primary_key = true }))
  op.create_table("big",
    op.column("id", "integer", { primary_key = true, autoincrement = true }),
    op.column("owner_id", "integer", { references = "owners.id" }),
    op.column("code", "string(20)", { nullable = false }),
    op.column("qty", "text"),
    op.column("price", "float"),
    op.column("note", "text"))
  op.create_index("ix_big_code", "big", { "code" })
  op.create_index("ix_big_note", "big", { "note" }, { where = "note IS NOT NULL" })
  op.create_table("audit", op.column("id", "integer", { primary_key = true }), op.column("big_id", "integer", { references = "big.id" }))
  op.execute("CREATE TRIGGER tr_big AFTER DELETE ON big BEGIN INSERT INTO audit (big_id) VALUES (NULL); END")
  op.execute([[WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < 100)
               INSERT INTO owners (id) SELECT value FROM s]])
  op.execute([[WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s WHERE value < $ROWS)
               INSERT INTO big (owner_id, code, qty, price, note)
               SELECT 1 + value % 100, 'code-' || value, CAST(value % 1000 AS TEXT), value * 0.5,
                      CASE WHEN value % 10 = 0 THEN 'note ' || value END FROM s]])
end
function downgrade()
  op.drop_table("audit")
  op.drop_table("big")
  op.drop_table("owners")
end
LUA
cat >versions/b2_retype.lua <<'LUA'
revision = "b2"
down_revision = "b1"
function upgrade()
  op.batch_alter_table("big", function(batch)
    batch.alter_column("qty", { type = "integer" })
    batch.create_check_constraint("ck_big_qty", "qty >= 0")
  end)
end
function downgrade()
  op.batch_alter_table("big", function(batch)
    batch.drop_constraint("ck_big_qty")
    batch.alter_column("qty", { type = "text" })
  end)
end
LUA

echo "making a $ROWS-row table…" >&2
"$LUAMIG" -q upgrade b1
cp bench.db base.db
# The statements of the move-and-copy, exactly as luamig runs them.
"$LUAMIG" upgrade b1:b2 --sql >script.sql
grep -c '^CREATE TABLE "_luamig_tmp_big"' script.sql >/dev/null ||
  { echo "the script has no move-and-copy" >&2; exit 1; }

now() { date +%s.%N; }
check_converted() {
  [ "$(sqlite3 bench.db "SELECT count(*) FROM big WHERE typeof(qty) = 'integer'")" = "$ROWS" ] ||
    { echo "a run did not convert every row" >&2; exit 1; }
}
less() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
best_luamig="" best_cli=""
for run in $(seq 1 "$RUNS"); do
  cp base.db bench.db
  sync
  t0=$(now)
  "$LUAMIG" -q upgrade b2
  t1=$(now)
  lm=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
  check_converted
  cp base.db bench.db
  sync
  t0=$(now)
  sqlite3 -bail bench.db <script.sql >/dev/null
  t1=$(now)
  cli=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
  check_converted
  printf 'run %d: luamig %.3f s, sqlite3 %.3f s\n' "$run" "$lm" "$cli"
  if [ -z "$best_luamig" ] || less "$lm" "$best_luamig"; then best_luamig=$lm; fi
  if [ -z "$best_cli" ] || less "$cli" "$best_cli"; then best_cli=$cli; fi
done
printf 'rows: %d\nbest luamig: %.3f s\nbest sqlite3: %.3f s\nratio luamig/sqlite3: %.2f\n' \
  "$ROWS" "$best_luamig" "$best_cli" "$(awk -v a="$best_luamig" -v b="$best_cli" 'BEGIN { print a / b }')"
