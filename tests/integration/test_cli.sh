#!/usr/bin/env bash
# The commands of SPEC §7 through the real binary: init, revision, upgrade and
# downgrade targets, current, history, heads, show, stamp, -x, --version/--help.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------------------
t_case "init makes a project and refuses to overwrite it"
new_project
mkdir fresh && cd fresh || exit 1
lm init
expect_exit 0
expect_file luamig.lua
expect_file versions
expect_file script.lua.tmpl
[ -d versions ]
_check $? "versions/ should be a folder"
cp luamig.lua luamig.lua.orig
lm init
expect_exit 2
expect_err_error_line
expect_same "$(cat luamig.lua)" "$(cat luamig.lua.orig)" "luamig.lua after a refused init"

t_case "init DIR makes the folder; a second init DIR is refused"
cd "$PROJECT" || exit 1
lm init subdir
expect_exit 0
expect_file subdir/luamig.lua
expect_file subdir/versions
expect_file subdir/script.lua.tmpl
lm init subdir
expect_exit 2
expect_err_error_line

t_case "an init'ed project works: revision from the template, then upgrade"
cd "$PROJECT/fresh" || exit 1
lm revision -m "first one"
expect_exit 0
expect_out_matches '^versions/[0-9a-f]{12}_first_one\.lua$'
file=$(grep -oE 'versions/[0-9a-f]{12}_first_one\.lua' <<<"$LM_OUT" | head -n 1)
expect_file "$file"
lm --url "$LM_URL" upgrade head
expect_exit 0
expect_out_contains "Running upgrade <base> -> "
lm --url "$LM_URL" current
expect_exit 0
expect_out_matches '^[0-9a-f]{12} \(head\)$'

# ---------------------------------------------------------------------------
t_case "revision -m: path, 12 hex id, slug, chained on the head"
new_project
lm revision -m "Add phone_number to users"
expect_exit 0
expect_out_matches '^versions/[0-9a-f]{12}_add_phone_number_to_users\.lua$'
first=$(grep -oE 'versions/[0-9a-f]{12}_[a-z_]+\.lua' <<<"$LM_OUT" | head -n 1)
first_id=$(basename "$first" | cut -c1-12)
expect_file "$first"
expect_text_contains "$(cat "$first" 2>/dev/null)" "revision = \"$first_id\"" "the first revision file"
expect_text_contains "$(cat "$first" 2>/dev/null)" "down_revision = nil" "the first revision file"

lm revision -m "second step"
expect_exit 0
second=$(grep -oE 'versions/[0-9a-f]{12}_second_step\.lua' <<<"$LM_OUT" | head -n 1)
second_id=$(basename "$second" | cut -c1-12)
expect_ne "$second_id" "$first_id" "the second revision id"
expect_text_contains "$(cat "$second" 2>/dev/null)" "down_revision = \"$first_id\"" "the second revision file"

t_case "revision --rev-id"
lm revision -m "third" --rev-id abc123
expect_exit 0
expect_out_contains "versions/abc123_third.lua"
expect_file versions/abc123_third.lua
expect_text_contains "$(cat versions/abc123_third.lua 2>/dev/null)" 'revision = "abc123"' "the --rev-id file"
expect_text_contains "$(cat versions/abc123_third.lua 2>/dev/null)" "down_revision = \"$second_id\"" "the --rev-id file"
lm heads
expect_exit 0
expect_out_equals "abc123 (head)"
lm upgrade head
expect_exit 0
expect_out_count 3 '^Running upgrade '
lm current
expect_out_equals "abc123 (head)"

# ---------------------------------------------------------------------------
t_case "current on a fresh database is empty"
new_project
chain3
# an empty file is an empty SQLite database (one that does not exist is an error)
is_sqlite && : >"$(sqlite_path "$LM_URL")"
lm current
expect_exit 0
expect_out_empty

t_case "upgrade by unique prefix"
lm upgrade 3a8
expect_exit 0
expect_out_matches "^Running upgrade <base> -> $R1, create one \([0-9]+ ms\)$"
expect_out_count 1 '^Running upgrade '
expect_table t_one
expect_no_table t_two
lm current
expect_exit 0
expect_out_equals "$R1"

t_case "upgrade +1"
lm upgrade +1
expect_exit 0
expect_out_matches "^Running upgrade $R1 -> $R2, create two \([0-9]+ ms\)$"
expect_out_count 1 '^Running upgrade '
lm current
expect_out_equals "$R2"

t_case "upgrade head"
lm upgrade head
expect_exit 0
expect_out_matches "^Running upgrade $R2 -> $R3, create three \([0-9]+ ms\)$"
expect_out_count 1 '^Running upgrade '
expect_table t_three
lm current
expect_out_equals "$R3 (head)"
expect_eq "$(version_rows | tr '\n' ' ')" "$R1 $R2 $R3 " "version table rows"

t_case "upgrade head with nothing to do: no output, exit 0"
lm upgrade head
expect_exit 0
expect_out_empty

t_case "downgrade -1"
lm downgrade -1
expect_exit 0
expect_out_matches "^Running downgrade $R3 -> $R2, create three \([0-9]+ ms\)$"
expect_out_count 1 '^Running downgrade '
expect_no_table t_three
expect_table t_two
lm current
expect_out_equals "$R2"

t_case "downgrade base"
lm downgrade base
expect_exit 0
expect_out_order "Running downgrade $R2 -> $R1, create two" "Running downgrade $R1 -> <base>, create one"
expect_out_count 2 '^Running downgrade '
expect_no_table t_one
expect_no_table t_two
expect_eq "$(version_rows)" "" "version table rows after downgrade base"
lm current
expect_exit 0
expect_out_empty

t_case "upgrade to a full revision id"
lm upgrade "$R2"
expect_exit 0
expect_out_order "Running upgrade <base> -> $R1, create one" "Running upgrade $R1 -> $R2, create two"
expect_out_count 2 '^Running upgrade '
lm current
expect_out_equals "$R2"

t_case "downgrade to a revision"
lm downgrade "$R1"
expect_exit 0
expect_out_contains "Running downgrade $R2 -> $R1, create two"
expect_out_count 1 '^Running downgrade '
lm current
expect_out_equals "$R1"

t_case "upgrade REV+N"
lm upgrade "$R1+2"
expect_exit 0
expect_out_order "Running upgrade $R1 -> $R2, create two" "Running upgrade $R2 -> $R3, create three"
lm current
expect_out_equals "$R3 (head)"

t_case "downgrade -2"
lm downgrade -2
expect_exit 0
expect_out_order "Running downgrade $R3 -> $R2, create three" "Running downgrade $R2 -> $R1, create two"
lm current
expect_out_equals "$R1"

t_case "downgrade to the current revision does nothing"
lm downgrade "$R1"
expect_exit 0
expect_out_empty

t_case "-q silences the Running lines"
lm -q upgrade head
expect_exit 0
expect_out_not_contains "Running upgrade"
lm current
expect_out_equals "$R3 (head)"
lm -q downgrade base
expect_exit 0
expect_out_not_contains "Running downgrade"
lm current
expect_out_empty

# ---------------------------------------------------------------------------
t_case "history, newest first"
lm history
expect_exit 0
expect_out_order "$R2 -> $R3 (head), create three" "$R1 -> $R2, create two" "<base> -> $R1, create one"
expect_out_count 3 ' -> '
first_line=$(head -n 1 <<<"$LM_OUT")
expect_eq "$first_line" "$R2 -> $R3 (head), create three" "the first history line"

t_case "history -r"
lm history -r "$R2:head"
expect_exit 0
expect_out_contains "$R2 -> $R3 (head), create three"
expect_out_contains "$R1 -> $R2, create two"
expect_out_not_contains "<base> -> $R1"
lm history -r "$R1:$R2"
expect_exit 0
expect_out_contains "$R1 -> $R2, create two"
expect_out_not_contains "-> $R3"

t_case "history --verbose"
lm history --verbose
expect_exit 0
for f in versions/*.lua; do expect_out_contains "$(basename "$f")"; done
expect_out_contains "create one"
expect_out_contains "create three"
expect_out_contains "$R3"

t_case "history does not need a database"
lm --url "sqlite:///$LM_TMP/no/such/dir/x.db" history
expect_exit 0
expect_out_contains "$R2 -> $R3 (head), create three"

t_case "heads"
lm heads
expect_exit 0
expect_out_equals "$R3 (head)"

t_case "show"
lm show 9c3
expect_exit 0
expect_out_contains "$R2"
expect_out_contains "create two"
expect_out_contains 'op.create_table("t_two"'
lm show nosuchrev
expect_exit 2
expect_err_error_line

# ---------------------------------------------------------------------------
t_case "stamp sets the version table without running anything"
new_project
chain3
lm stamp "$R2"
expect_exit 0
expect_no_table t_one
expect_no_table t_two
lm current
expect_exit 0
expect_out_equals "$R2"
expect_eq "$(version_rows | tr '\n' ' ')" "$R1 $R2 " "version rows after stamp (one per applied revision)"

t_case "upgrade after stamp runs only what follows"
lm upgrade head
expect_exit 0
expect_out_contains "Running upgrade $R2 -> $R3, create three"
expect_out_count 1 '^Running upgrade '
expect_table t_three
expect_no_table t_one

t_case "stamp head, stamp base"
lm stamp "$R1"
expect_exit 0
lm current
expect_out_equals "$R1"
lm stamp head
expect_exit 0
lm current
expect_out_equals "$R3 (head)"
lm stamp base
expect_exit 0
lm current
expect_exit 0
expect_out_empty
expect_eq "$(version_rows)" "" "version rows after stamp base"
expect_table t_three # stamp ran nothing

# ---------------------------------------------------------------------------
t_case "-x KEY=VALUE reaches context.x"
new_project
mkrev a00000000001 "" "x args" <<'EOF'
function upgrade()
  op.create_table(context.x.name, op.column("id", "integer", { primary_key = true }))
  op.create_table("kv", op.column("k", "string(20)"), op.column("v", "text"))
  op.execute("INSERT INTO kv (k, v) VALUES ($1, $2)", { "suffix", context.x.suffix })
  op.execute("INSERT INTO kv (k, v) VALUES ($1, $2)", { "missing", tostring(context.x.missing) })
end

function downgrade()
  op.drop_table("kv")
  op.drop_table(context.x.name)
end
EOF
lm -x name=from_x -x suffix=y=z upgrade head
expect_exit 0
expect_table from_x
expect_eq "$(db_query "SELECT v FROM kv WHERE k = 'suffix'")" "y=z" "context.x.suffix (the value keeps its '=')"
expect_eq "$(db_query "SELECT v FROM kv WHERE k = 'missing'")" "nil" "an -x key not given"
lm -x name=from_x downgrade base
expect_exit 0
expect_no_table from_x

t_case "context.dialect, context.offline and context.revision online"
new_project
mkrev b00000000001 "" "context facts" <<'EOF'
function upgrade()
  op.create_table("facts", op.column("k", "string(20)"), op.column("v", "text"))
  op.bulk_insert("facts", {
    { k = "dialect", v = context.dialect },
    { k = "offline", v = tostring(context.offline) },
    { k = "revision", v = tostring(context.revision) },
  })
end

function downgrade()
  op.drop_table("facts")
end
EOF
lm upgrade head
expect_exit 0
expect_eq "$(db_query "SELECT v FROM facts WHERE k = 'dialect'")" "$LM_DIALECT" "context.dialect"
expect_eq "$(db_query "SELECT v FROM facts WHERE k = 'offline'")" "false" "context.offline"
expect_eq "$(db_query "SELECT v FROM facts WHERE k = 'revision'")" "b00000000001" "context.revision"

# ---------------------------------------------------------------------------
t_case "--version and --help"
lm --version
expect_exit 0
expect_out_matches '[0-9]+\.[0-9]+'
lm --help
expect_exit 0
expect_out_contains "upgrade"
expect_out_contains "downgrade"
lm help upgrade
expect_exit 0
expect_out_contains "upgrade"
lm upgrade --help
expect_exit 0
expect_out_contains "upgrade"

t_case "init DIR where DIR cannot be made: exit 2, nothing made"
new_project --no-url
: >afile
lm init afile/proj
expect_exit 2
expect_err_error_line
expect_err_contains "cannot create afile/proj"

t_case "revision refuses what the chain could not load: a step named twice, a branch label taken or an id"
new_project
lm revision -m "first" --rev-id r00000000001 --branch-label feat
expect_exit 0
for args in "--steps expand,expand" "--steps a,b,a" "--branch-label feat" "--branch-label r00000000001"; do
  # shellcheck disable=SC2086 # args is a list of options
  lm revision -m "refused" $args
  expect_exit 2
  expect_err_error_line
  expect_eq "$(ls versions | wc -l | tr -d ' ')" "1" "revision files after revision $args"
done
expect_err_contains "--branch-label 'r00000000001' is the id of revision r00000000001"
lm heads
expect_exit 0

t_done
