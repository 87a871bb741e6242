#!/usr/bin/env bash
# The revision index (engine/revindex.c): luamig records what each settled
# revision file declares, keyed by the file's size, inode, mtime and ctime, so
# that later runs compile only the files they execute. These cases check that
# the index is used, that it never changes what a command does or prints, and
# that every way it can be wrong (an edited file, a damaged or foreign index,
# a revision whose fields come from a required module, an unwritable folder)
# falls back to reading the files.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

readonly X1=7e0000000001 X2=7e0000000002 X3=7e0000000003 X4=7e0000000004

# project: a fresh project with its own cache folder.
project() {
  new_project
  export LUAMIG_CACHE_DIR=$PROJECT.cache
}

# index_files: the index files in LUAMIG_CACHE_DIR, one per line.
index_files() { find "$LUAMIG_CACHE_DIR" -name '*.idx' 2>/dev/null | sort; }

# reseal FILE: recomputes the index's last line, the checksum of the rest
# (engine/sha256.c lm_fast_sum_hex, written again here).
reseal() {
  python3 - "$1" <<'PY'
import struct, sys
M = (1 << 64) - 1
def lane(h, v):
    h ^= (v * 0x87c37b91114253d5) & M
    return ((((h << 31) | (h >> 33)) & M) * 0x4cf5ad432745937f) & M
def mix64(h):
    h ^= h >> 33
    h = (h * 0xff51afd7ed558ccd) & M
    h ^= h >> 33
    h = (h * 0xc4ceb9fe1a85ec53) & M
    return h ^ (h >> 33)
def fast_sum(d):
    n = len(d)
    h = [0x9e3779b97f4a7c15 ^ n, 0xbf58476d1ce4e5b9, 0x94d049bb133111eb, 0x2545f4914f6cdd1d]
    i = 0
    while i + 32 <= n:
        for k in range(4):
            h[k] = lane(h[k], struct.unpack_from("<Q", d, i + 8 * k)[0])
        i += 32
    tail = bytearray(32)
    tail[:n - i] = d[i:]
    tail[31] ^= (n - i + 1) & 0xff
    for k in range(4):
        h[k] = lane(h[k], struct.unpack_from("<Q", tail, 8 * k)[0])
    for k in range(4):
        h[k] = mix64(h[k] ^ h[(k + 1) % 4] ^ k)
    return "".join("%016x" % x for x in h)
path = sys.argv[1]
data = open(path, "rb").read()
body = data[:data.rstrip(b"\n").rfind(b"\n") + 1]
open(path, "wb").write(body + b"end " + fast_sum(body).encode() + b"\n")
PY
}

# settle: files are recorded once their mtime and ctime are 2 whole seconds
# before the run's clock (LM_INDEX_SETTLE, in seconds); wait that out: from
# now to the second after next, which no file written before now misses.
settle() { sleep "$(date +%s.%N | awk '{ printf "%.3f", int($1) + 2.05 - $1 }')"; }

# same_as_without_index ARGS...: runs the command with and without the index
# (LUAMIG_CACHE_DIR=off) and compares exit code, stdout and stderr.
same_as_without_index() {
  lm "$@"
  local rc=$LM_RC out=$LM_OUT err=$LM_ERR
  LUAMIG_CACHE_DIR=off lm "$@"
  expect_eq "$rc" "$LM_RC" "exit code of '$*' with and without the index"
  expect_same "$LM_OUT" "$out" "stdout of '$*' (- without the index, + with it)"
  expect_same "$LM_ERR" "$err" "stderr of '$*' (- without the index, + with it)"
}

chain() {
  mkrev "$X1" "" "create one" <<'EOF'
function upgrade()
  op.create_table("t_one", op.column("id", "integer", { primary_key = true }))
end

function downgrade()
  op.drop_table("t_one")
end
EOF
  mkrev "$X2" "$X1" "two steps" <<'EOF'
branch_labels = { "feature" }
steps = {
  { name = "expand",
    up = function() op.create_table("t_two", op.column("id", "integer", { primary_key = true })) end,
    down = function() op.drop_table("t_two") end },
  { name = "contract",
    up = function() op.add_column("t_two", op.column("note", "text")) end,
    down = function() op.drop_column("t_two", "note") end },
}
EOF
  mkrev "$X3" "$X2" "uses context" <<'EOF'
-- the top level runs before the run sets context, with or without the index
local at_load = tostring(context.dialect)
function upgrade()
  op.create_table("t_three", op.column("id", "integer", { primary_key = true }),
    op.column("seen", "text"))
  op.execute("INSERT INTO t_three (id, seen) VALUES (1, '" .. at_load .. "')")
end

function downgrade()
  op.drop_table("t_three")
end
EOF
}

# ---------------------------------------------------------------------------
t_case "revindex: settled files are recorded; every command prints the same with and without it"
project
chain
settle
lm upgrade head
expect_exit 0
expect_eq "$(index_files | wc -l)" 1 "one index file for the versions folder"
idx=$(index_files)
expect_text_contains "$(cat "$idx")" "create one" "the index records the revisions"
for args in "current" "current --verbose" "heads" "history" "history --verbose" "branches" \
  "show $X2" "upgrade head" "upgrade head --sql" "downgrade head:base --sql" \
  "upgrade head --sql --stop-before contract" "check" "lint"; do
  # shellcheck disable=SC2086 # args is a list of words
  same_as_without_index $args
done
expect_eq "$(db_query "SELECT seen FROM t_three")" "nil" "top level ran without context (no index)"

t_case "revindex: revisions read from the index run when executed (downgrade, upgrade, steps)"
lm downgrade base
expect_exit 0
expect_out_contains "Running downgrade $X1 -> <base>"
before=$(db_schema)
lm upgrade head --stop-before contract
expect_exit 0
lm current
expect_out_contains "$X2 (expand"
lm upgrade head
expect_exit 0
expect_table t_three
expect_eq "$(db_query "SELECT seen FROM t_three")" "nil" \
  "top level of a revision from the index also ran without context"
lm downgrade base
expect_exit 0
expect_same "$before" "$(db_schema)" "schema after upgrade + downgrade from the index"
lm upgrade head
expect_exit 0

t_case "revindex: a hit is really served from the index (a forged entry shows)"
# Same length, so the entry still parses, and the whole-file checksum on
# the last line recomputed (else the file is ignored): history must print the
# forged text.
sed -i 's/create one/FORGED one/' "$idx"
reseal "$idx"
lm history
expect_exit 0
expect_out_contains "FORGED one"
LUAMIG_CACHE_DIR=off lm history
expect_out_not_contains "FORGED one"

t_case "revindex: an edited file is read again, even with the same size, at once"
cp "versions/${X1}_create_one.lua" "$LM_TMP/x1.orig"
# rewritten in place: same inode, same size; only the times tell
sed 's/t_one/t_uno/' "$LM_TMP/x1.orig" >"$LM_TMP/x1.new"
cat "$LM_TMP/x1.new" >"versions/${X1}_create_one.lua"
lm history
expect_out_not_contains "FORGED one"
expect_out_contains "create one"
lm upgrade head
expect_exit_nonzero
expect_err_contains "${X1}_create_one.lua"
cp "$LM_TMP/x1.orig" "versions/${X1}_create_one.lua"
lm upgrade head
expect_exit 0

t_case "revindex: a damaged, truncated or foreign index is ignored and rewritten"
settle
lm current
for damage in "truncate" "garbage" "header" "empty"; do
  case $damage in
  truncate) head -c 200 "$idx" >"$LM_TMP/idx" && cp "$LM_TMP/idx" "$idx" ;;
  garbage) printf '\0\377 not an index\n' >"$idx" ;;
  header) sed -i '1s/.*/luamig-revindex 1 0 0.000000000 \/elsewhere/' "$idx" ;;
  empty) : >"$idx" ;;
  esac
  same_as_without_index history --verbose
  lm current
  expect_exit 0
  expect_out_contains "$X3 (head)"
  expect_text_contains "$(cat "$idx")" "uses context" "the index was rewritten after '$damage'"
done

t_case "revindex: another luamig binary does not use this one's index"
cp "$LUAMIG" "$LM_TMP/luamig-copy"
sed -i 's/create one/FORGED one/' "$idx"
LUAMIG=$LM_TMP/luamig-copy lm history
expect_exit 0
expect_out_not_contains "FORGED one"
expect_out_contains "create one"

t_case "revindex: compiled revisions are kept; a damaged one is compiled again"
project
chain
mkrev "$X4" "$X3" "fails" <<'EOF'
function upgrade()
  op.create_table("t_four", op.column("id", "integer", { primary_key = true }))
  local n = nil
  op.execute("SELECT " .. n)
end

function downgrade()
  op.drop_table("t_four")
end
EOF
settle
lm current
lm upgrade head
expect_exit 1
before=$(db_schema)
expect_err_contains "${X4}_fails.lua:14:"
idx=$(index_files)
expect_eq "$(grep -c 'function upgrade' "$idx")" 0 "the index keeps compiled chunks, not text"
expect_eq "$(grep -a -o $'\x1bLua' "$idx" | wc -l)" 4 "one compiled chunk (a Lua binary chunk) per revision"
# the second run loads the kept chunks: the same line in the message
lm upgrade head
expect_exit 1
expect_err_contains "${X4}_fails.lua:14:"
# damage the kept chunks in a way that still loads (a constant renamed, same
# length): the index is refused by its checksum and the text compiled again
perl -pi -e 's/t_one/t_xne/g' "$idx"
expect_ne "$(grep -a -c t_xne "$idx")" 0 "the chunk of $X1 was changed"
lm upgrade head
expect_exit 1
expect_err_contains "${X4}_fails.lua:14:"
expect_same "$before" "$(db_schema)" "schema after the failed upgrades"
lm downgrade base
expect_exit 0
expect_no_table t_one
lm upgrade "$X3"
expect_exit 0
expect_table t_one
expect_no_table t_xne
# from another folder the chunks' names differ, so they are not used
mkdir -p "$LM_TMP/elsewhere"
cd "$LM_TMP/elsewhere" || exit 1
lm -c "$PROJECT/luamig.lua" upgrade head
expect_exit 1
expect_err_contains "$(basename "$PROJECT")/versions/${X4}_fails.lua:14:"
cd "$PROJECT" || exit 1
rm "versions/${X4}_fails.lua"
lm upgrade head
expect_exit 0
expect_table t_three

t_case "revindex: a revision whose top level requires a module is never recorded"
project
chain
write_rev versions/_names.lua <<'EOF'
return { message = "from a module" }
EOF
mkrev "$X4" "$X3" "placeholder" <<'EOF'
local names = require("_names")
message = names.message
function upgrade() end
function downgrade() end
EOF
settle
lm upgrade head
expect_exit 0
idx=$(index_files)
expect_text_not_contains "$(cat "$idx")" "$X4" "no entry for the revision that requires a module"
sed -i 's/from a module/changed module/' versions/_names.lua
lm history
expect_out_contains "changed module"

t_case "revindex: an unusable cache folder is no error"
project
chain
settle
blocker=$LM_TMP/not-a-folder
: >"$blocker"
LUAMIG_CACHE_DIR=$blocker/cache lm upgrade head
expect_exit 0
expect_table t_three
LUAMIG_CACHE_DIR="" lm current
expect_exit 0
expect_out_contains "$X3 (head)"

t_case "revindex: files younger than 2 s are not recorded (a same-tick edit cannot be missed)"
project
chain
lm heads # loads the chain; current would refuse the database that does not exist yet
expect_exit 0
expect_eq "$(index_files | wc -l)" 0 "no index written for files changed just now"

t_case "revindex: a top level that makes no step function when it runs fails cleanly"
# A revision from the index runs its top level again to define its
# functions, but its fields are not read again. When that second run makes
# no upgrade() or no steps (here: they depend on an environment variable),
# the step fails with a clear error and nothing of it is applied.
project
write_config "url = \"$LM_URL\"," 'env = { "LM_DROP_UP" },'
mkrev 7e0000000011 "" "plain" <<'EOF'
if os.getenv("LM_DROP_UP") ~= "1" then
  function upgrade() op.create_table("t_plain", op.column("id", "integer")) end
end
function downgrade() op.drop_table("t_plain") end
EOF
mkrev 7e0000000012 7e0000000011 "stepped" <<'EOF'
steps = {
  { name = "one", up = function() op.create_table("t_step", op.column("id", "integer")) end,
    down = function() op.drop_table("t_step") end },
}
if os.getenv("LM_DROP_UP") == "1" then steps = "gone" end
EOF
settle
lm heads # records both files in the index, with upgrade() and the step
expect_exit 0
expect_eq "$(index_files | wc -l)" 1 "an index was written"
LM_DROP_UP=1 lm upgrade head
expect_exit 1
expect_err_contains "has no upgrade()"
expect_no_table t_plain
lm upgrade 7e0000000011
expect_exit 0
LM_DROP_UP=1 lm upgrade head
expect_exit 1
expect_err_contains "step 'one' of revision 7e0000000012 has no up function"
expect_no_table t_step
lm current
expect_out_contains "7e0000000011"
lm upgrade head
expect_exit 0
expect_table t_step

t_case "revindex: a broken link read from the index is reported at its line, as from the file"
# The graph is checked after the files are read, so a revision served from
# the index must bring the lines of its assignments with it.
project
chain
mkrev "$X4" "$X3" "links" <<'EOF'
depends_on = { "feature",
  "0badc0ffee00" }
function upgrade() end
function downgrade() end
EOF
settle
lm heads # records every file, the broken one too
expect_exit 2
expect_err_contains "versions/${X4}_links.lua:11: depends_on '0badc0ffee00' names no revision"
idx=$(index_files)
expect_text_contains "$(cat "$idx")" "0badc0ffee00" "the broken revision is in the index"
for args in "heads" "history" "upgrade head"; do
  # shellcheck disable=SC2086 # args is a list of words
  same_as_without_index $args
  expect_exit 2
  expect_err_contains "versions/${X4}_links.lua:11: depends_on '0badc0ffee00' names no revision"
done

t_done
