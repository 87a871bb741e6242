#!/usr/bin/env bash
# luamig init writes .luarc.json and types/luamig.lua (SPEC §12): a
# lua-language-server ---@meta file that parses as Lua and describes every
# op directive (checked against the binding table in bindings/op.c and
# against the op table a running revision really sees), the batch methods,
# context's fields, the revision globals and the model globals of schema.lua.
# lua-language-server itself is not packaged for Debian or npm; when it is on
# PATH its --check runs too. No database: SQLite run only.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
only_dialect sqlite

LUAC=$(command -v luac5.4 || command -v luac || true)

t_case "init writes .luarc.json and types/luamig.lua"
new_project
mkdir fresh && cd fresh || exit 1
lm init
expect_exit 0
expect_out_contains "Created .luarc.json"
expect_out_contains "Created types/luamig.lua"
expect_file .luarc.json
expect_file types/luamig.lua
expect_ok ".luarc.json is JSON naming types/ as a library" python3 -c '
import json, sys
d = json.load(open(".luarc.json"))
assert d["runtime"]["version"] == "Lua 5.4", d
assert "types" in d["workspace"]["library"], d'
META=$(cat types/luamig.lua)
expect_eq "$(head -n 1 types/luamig.lua)" "---@meta luamig" "the first line"
if [ -n "$LUAC" ]; then
  expect_ok "types/luamig.lua parses as Lua" "$LUAC" -p types/luamig.lua
else
  echo "  (luac is not installed: types/luamig.lua not parsed)"
fi

# described NAME: the meta file declares function op.NAME
described() { grep -q "^function op\.$1(" types/luamig.lua; }

t_case "every directive of bindings/op.c's binding table is described"
OP_NAMES=$(sed -n '/^static const luaL_Reg OPS\[\] = {/,/{NULL, NULL}};/p' "$LM_SOURCE_DIR/bindings/op.c" |
  grep -oP '\{"\K[a-z_]+(?=", l_)')
expect_ne "$(printf '%s' "$OP_NAMES" | wc -w)" 0 "names read from op.c's luaL_Reg table"
for name in $OP_NAMES; do
  described "$name"
  _check $? "op.$name (bindings/op.c) is described in types/luamig.lua"
done
# op.backfill is added by bindings/backfill.c
for name in $(grep -oP 'lua_setfield\(L, -2, "\K[a-z_]+' "$LM_SOURCE_DIR/bindings/backfill.c"); do
  described "$name"
  _check $? "op.$name (bindings/backfill.c) is described in types/luamig.lua"
done

t_case "every op function the file describes exists at run time; context's fields"
# the op table a revision sees is a read-only proxy (no pairs): the revision
# looks up each described name instead
DESCRIBED=$(grep -oP '^function op\.\K[a-z_]+' types/luamig.lua | paste -sd, -)
mkrev e10000000001 "" "probe op" <<'EOF'
function upgrade()
  local missing = {}
  for name in context.x.names:gmatch("[^,]+") do
    if type(op[name]) ~= "function" then missing[#missing + 1] = name end
  end
  local ctx = {}
  for k in pairs(context) do ctx[#ctx + 1] = k end
  table.sort(ctx)
  op.execute("SELECT 'missing:" .. table.concat(missing, ",") .. ";context:" .. table.concat(ctx, ",") .. "'")
end
function downgrade() end
EOF
lm upgrade head --sql -x "names=$DESCRIBED"
expect_exit 0
expect_out_contains "'missing:;context:"
RUNTIME_CTX=$(printf '%s\n' "$LM_OUT" | grep -oP "context:\K[a-z_,]+" | tr ',' ' ')
expect_ne "$RUNTIME_CTX" "" "context's keys"
# the class luamig.Context, up to the next blank line, names each field
CTX_CLASS=$(sed -n '/^---@class luamig.Context$/,/^$/p' types/luamig.lua)
for name in $RUNTIME_CTX dialect offline x revision step; do
  grep -q "^---@field ${name}[? ]" <<<"$CTX_CLASS"
  _check $? "context.$name is a field of luamig.Context"
done
expect_text_contains "$META" "---@type luamig.Context"$'\n'"context = " "context's declaration"

t_case "the batch methods of batch_alter_table are described"
BATCH_CLASS=$(sed -n '/^---@class luamig.Batch$/,/^$/p' types/luamig.lua)
BATCH_NAMES=$(sed -n '/} methods\[\] = {/,/{NULL, 0}};/p' "$LM_SOURCE_DIR/bindings/op.c" | grep -oP '\{"\K[a-z_]+')
expect_ne "$BATCH_NAMES" "" "batch methods read from op.c"
for name in $BATCH_NAMES; do
  grep -q "^---@field $name fun(" <<<"$BATCH_CLASS"
  _check $? "batch.$name is a field of luamig.Batch"
done

t_case "options tables are classes with their fields"
for class in ColumnOptions AlterColumnOptions CreateIndexOptions DropIndexOptions \
  CreateForeignKeyOptions CreateCheckOptions DropConstraintOptions BatchOptions BackfillSpec \
  ForeignKeyOptions ConstraintOptions IndexOptions TableOptions; do
  expect_text_contains "$META" "---@class luamig.$class" "types/luamig.lua"
done
for field in nullable primary_key autoincrement server_default references ondelete renamed_from; do
  sed -n '/^---@class luamig.ColumnOptions$/,/^$/p' types/luamig.lua | grep -q "^---@field $field?"
  _check $? "luamig.ColumnOptions has $field"
done
for field in new_column_name type existing_type nullable existing_nullable server_default \
  existing_server_default postgresql_using comment; do
  sed -n '/^---@class luamig.AlterColumnOptions$/,/^$/p' types/luamig.lua | grep -q "^---@field $field?"
  _check $? "luamig.AlterColumnOptions has $field"
done

t_case "revision globals and model globals are declared"
for g in revision down_revision message branch_labels depends_on upgrade downgrade steps; do
  grep -q "^$g = " types/luamig.lua
  _check $? "revision global '$g' is declared"
done
for g in column index primary_key unique foreign_key check sql; do
  grep -q "^function $g(" types/luamig.lua
  _check $? "model global '$g' is declared"
done
expect_text_contains "$META" "table = table" "the model's table()"

t_case "init leaves an existing .luarc.json alone"
cd "$PROJECT" || exit 1
mkdir own && cd own || exit 1
printf '{"runtime": {"version": "LuaJIT"}}\n' >.luarc.json
lm init
expect_exit 0
expect_eq "$(cat .luarc.json)" '{"runtime": {"version": "LuaJIT"}}' ".luarc.json after init"
expect_file types/luamig.lua
expect_out_not_contains "Created .luarc.json"

t_case "lua-language-server --check, when it is installed"
if command -v lua-language-server >/dev/null 2>&1; then
  cd "$PROJECT/fresh" || exit 1
  out=$(lua-language-server --check "$PWD" --checklevel=Warning 2>&1)
  _check $? "lua-language-server --check passes" "$out"
else
  echo "  (lua-language-server is not installed: parsed with luac and checked by name only)"
fi

t_done
