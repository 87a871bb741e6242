#!/usr/bin/env bash
# Input limits and caches that must not be trusted:
# - revisions, luamig.lua and required modules are read only as regular
#   files of at most 16 MiB: a symlink to /dev/zero, a FIFO, a huge file is
#   a clear error (exit 2), never a hang or an exhausted memory;
# - a UTF-8 BOM and a `#!` first line load;
# - down_revision listing one id twice and the reserved ids head, heads,
#   base, current are refused;
# - a damaged revision index (random byte flips) costs only time: every run
#   prints what a run without the index prints;
# - a revision's checksum covers the files it requires, and
#   --ignore-checksums never re-records an edited file's checksum.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# expect_load_error TEXT...: exit 2, one readable error naming each TEXT.
expect_load_error() {
  expect_exit 2
  expect_err_contains "luamig: error:"
  local t
  for t in "$@"; do expect_err_contains "$t"; done
}

# ---------------------------------------------------------------------------
t_case "a revision that is a symlink to /dev/zero: refused, no endless read"
new_project
chain3
ln -s /dev/zero versions/7c0000000001_zero.lua
LM_TIMEOUT=20 lm history
expect_load_error "7c0000000001_zero.lua" "not a regular file"
rm versions/7c0000000001_zero.lua

t_case "a revision that is a FIFO: refused, no hang"
mkfifo versions/7c0000000002_fifo.lua
LM_TIMEOUT=20 lm upgrade head
expect_load_error "7c0000000002_fifo.lua" "FIFO"
rm versions/7c0000000002_fifo.lua

t_case "a revision over 16 MiB: refused"
{
  printf 'revision = "7c0000000003"\ndown_revision = "%s"\nfunction upgrade() end\n--' "$R3"
  head -c $((17 * 1024 * 1024)) /dev/zero | tr '\0' 'x'
} >versions/7c0000000003_huge.lua
LM_TIMEOUT=30 lm upgrade head
expect_load_error "7c0000000003_huge.lua" "limit"
rm versions/7c0000000003_huge.lua

t_case "a required module that is a symlink to /dev/zero: refused"
ln -s /dev/zero versions/_zero.lua
mkrev 7c0000000004 "$R3" "requires zero" <<'EOF2'
local z = require("_zero")
function upgrade() end
EOF2
LM_TIMEOUT=20 lm upgrade head
expect_exit_nonzero
expect_err_contains "_zero.lua"
expect_err_contains "not a regular file"
rm versions/_zero.lua "$REV_FILE"

t_case "luamig.lua as a FIFO or /dev/zero: refused"
mv luamig.lua luamig.lua.real
mkfifo luamig.lua
LM_TIMEOUT=20 lm current
expect_load_error "luamig.lua" "FIFO"
rm luamig.lua
ln -s /dev/zero luamig.lua
LM_TIMEOUT=20 lm current
expect_load_error "luamig.lua" "not a regular file"
rm luamig.lua
mv luamig.lua.real luamig.lua

t_case "a UTF-8 BOM and a #! first line load; lines keep their numbers"
printf '\xef\xbb\xbf#!/usr/bin/env luamig\nrevision = "7c0000000005"\ndown_revision = "%s"\nfunction upgrade()\n  op.create_table("bom_ok", op.column("id", "integer"))\nend\nfunction downgrade() op.drop_table("bom_ok") end\n' "$R3" >versions/7c0000000005_bom.lua
printf '\xef\xbb\xbfreturn { url = "%s", versions = { "versions" } }\n' "$LM_URL" >luamig.lua
lm upgrade head
expect_exit 0
printf '#!/bin/false\nrevision = "7c0000000006"\ndown_revision = "7c0000000005"\nfunction upgrade()\n  error("line five")\nend\n' >versions/7c0000000006_shebang.lua
lm upgrade head
expect_exit 1
expect_err_contains "7c0000000006_shebang.lua:5"
rm versions/7c0000000006_shebang.lua

t_case "down_revision listing one id twice is refused"
mkrev 7c0000000007 "{ \"7c0000000005\", \"7c0000000005\" }" "twice" <<'EOF2'
function upgrade() end
EOF2
lm history
expect_load_error "7c0000000007_twice.lua" "down_revision lists '7c0000000005' twice"
rm "$REV_FILE"

for id in head heads base current HEAD; do
  t_case "revision id '$id' is refused"
  mkrev "$id" "7c0000000005" "reserved $id" <<'EOF2'
function upgrade() end
EOF2
  lm history
  expect_load_error "reserved" "'$(printf '%s' "$id" | tr 'A-Z' 'a-z')'"
  rm "$REV_FILE"
done

# ---------------------------------------------------------------------------
t_case "a revision's checksum covers the files it requires"
# the URL from the environment: `check` lints a literal password in luamig.lua
new_project --no-url
export DATABASE_URL=$LM_URL
chain3
cat >versions/_helper.lua <<'EOF2'
local M = {}
function M.table_name() return "from_helper" end
return M
EOF2
mkrev 7c0000000010 "$R3" "uses helper" <<'EOF2'
local h = require("_helper")
function upgrade() op.create_table(h.table_name(), op.column("id", "integer")) end
function downgrade() op.drop_table(h.table_name()) end
EOF2
mkrev 7c0000000011 7c0000000010 "lazy helper" <<'EOF2'
function upgrade() op.create_table(require("_lazy").name, op.column("id", "integer")) end
function downgrade() op.drop_table(require("_lazy").name) end
EOF2
printf 'return { name = "lazy_one" }\n' >versions/_lazy.lua
lm upgrade head
expect_exit 0
lm check
expect_exit 0
t_case "editing a required helper is a checksum change"
cat >versions/_helper.lua <<'EOF2'
local M = {}
function M.table_name() return "edited_helper" end
return M
EOF2
lm check
expect_exit 1
expect_err_contains "7c0000000010"
lm upgrade head
expect_exit_nonzero
expect_err_contains "7c0000000010"
printf 'return { name = "lazy_two" }\n' >versions/_lazy.lua
lm check
expect_exit 1
expect_err_contains "7c0000000011"

t_case "--ignore-checksums never re-records an edited multi-step revision"
new_project --no-url
export DATABASE_URL=$LM_URL
mkrev 7c0000000020 "" "two steps" <<'EOF2'
steps = {
  { name = "expand", up = function() op.create_table("s_one", op.column("id", "integer")) end,
    down = function() op.drop_table("s_one") end },
  { name = "contract", up = function() op.create_table("s_two", op.column("id", "integer")) end,
    down = function() op.drop_table("s_two") end },
}
EOF2
lm upgrade head --stop-before contract
expect_exit 0
before=$(db_query "SELECT checksum FROM luamig_version WHERE revision = '7c0000000020'")
expect_ne "$before" "" "a checksum is recorded"
printf -- '-- edited\n' >>"$REV_FILE"
lm upgrade head
expect_exit_nonzero
lm upgrade head --ignore-checksums
expect_exit 0
after=$(db_query "SELECT checksum FROM luamig_version WHERE revision = '7c0000000020'")
expect_eq "$after" "$before" "the recorded checksum after --ignore-checksums"
lm check
expect_exit 1

# ---------------------------------------------------------------------------
t_case "random byte flips in the revision index cost only time"
unset DATABASE_URL
new_project
export LUAMIG_CACHE_DIR=$PROJECT.cache
chain3
for i in 1 2 3 4 5 6; do
  mkrev "7c00000001$i" "$([ "$i" = 1 ] && echo "$R3" || echo "7c00000001$((i - 1))")" "rev $i" <<'EOF2'
function upgrade() end
function downgrade() end
EOF2
done
sleep 3 # files are indexed once they are 2 s old
LUAMIG_CACHE_DIR=off lm history --json
want_out=$LM_OUT want_rc=$LM_RC
lm history --json
idx=$(find "$LUAMIG_CACHE_DIR" -name '*.idx' | head -n 1)
expect_ne "$idx" "" "an index was written"
cp "$idx" "$LM_TMP/good.idx"
size=$(stat -c %s "$LM_TMP/good.idx")
mismatches=0
for trial in $(seq 1 60); do
  cp "$LM_TMP/good.idx" "$idx"
  # flip 1-3 random bytes anywhere in the file
  for _ in $(seq 1 $((RANDOM % 3 + 1))); do
    off=$(((RANDOM * 32768 + RANDOM) % size))
    byte=$(od -An -tu1 -j "$off" -N1 "$idx" | tr -d ' ')
    printf "$(printf '\\%03o' $(((byte ^ (1 << (RANDOM % 8))) & 255)))" |
      dd of="$idx" bs=1 seek="$off" conv=notrunc status=none
  done
  lm history --json
  if [ "$LM_RC" != "$want_rc" ] || [ "$LM_OUT" != "$want_out" ]; then
    mismatches=$((mismatches + 1))
  fi
  lm history --json # the rewritten index
  [ "$LM_OUT" = "$want_out" ] || mismatches=$((mismatches + 1))
done
expect_eq "$mismatches" "0" "runs whose output differed from a run without the index"

t_done
