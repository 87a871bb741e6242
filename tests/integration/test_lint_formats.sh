#!/usr/bin/env bash
# lint and check --format text|json|github|sarif (SPEC §12): GitHub workflow
# annotations, a SARIF 2.1.0 log validated against tests/sarif's schema with
# one rule per lint rule, check's own findings (heads, checksums, round trip)
# in the same formats, and the rule table complete: every rule id the engine
# can report has its line in engine/lint.c's table.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CHECK_SARIF=$LM_SOURCE_DIR/tests/sarif/check_sarif.py
# file= follows GITHUB_WORKSPACE when set: the cases below set it themselves
unset GITHUB_WORKSPACE
# Debian's python3 has python3-jsonschema (scripts/deps.sh --test)
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
"$LUAMIG" __rules >"$LM_TMP/rules.tsv"

# sarif_check [KINDS]: validates $LM_OUT; sets SARIF (its RULE LEVEL URI LINE lines).
sarif_check() {
  printf '%s\n' "$LM_OUT" >"$LM_TMP/log.sarif"
  SARIF=$(SARIF_KINDS=${1:-lint} "$PY" "$CHECK_SARIF" "$LM_TMP/log.sarif" "$LM_TMP/rules.tsv" 2>&1)
  _check $? "the SARIF log is valid" "$SARIF"
}

# a project whose URL comes from DATABASE_URL (no password in luamig.lua)
new_env_project() {
  unset DATABASE_URL
  new_project --no-url
  export DATABASE_URL=$LM_URL
}

line_of() { grep -nF -- "$2" "$1" | head -n 1 | cut -d: -f1; }

# a chain with one error (add-not-null-without-default) and one warning (drop-column)
risky_chain() {
  mkrev a10000000001 "" "create users" <<'EOF'
function upgrade()
  op.create_table("users",
    op.column("id", "integer", { primary_key = true }),
    op.column("name", "string(50)"))
end

function downgrade()
  op.drop_table("users")
end
EOF
  mkrev a10000000002 a10000000001 "risky" <<'EOF'
function upgrade()
  op.add_column("users", op.column("email", "string(255)", { nullable = false }))
  op.drop_column("users", "name")
end

function downgrade()
  op.add_column("users", op.column("name", "string(50)"))
  op.drop_column("users", "email")
end
EOF
  RISKY=$REV_FILE
  ERR_LINE=$(line_of "$RISKY" 'op.add_column("users", op.column("email"')
  WARN_LINE=$(line_of "$RISKY" 'op.drop_column("users", "name")')
}

# ---------------------------------------------------------------------------
t_case "lint --format github: one workflow command per finding"
new_env_project
risky_chain
lm lint --format github
expect_exit 1
expect_out_contains "::error file=$RISKY,line=$ERR_LINE,title=add-not-null-without-default::adds NOT NULL column"
expect_out_contains "::warning file=$RISKY,line=$WARN_LINE,title=drop-column::drops column"
expect_out_count 2 '^::'
expect_out_not_contains "$LM_PASSWORD"
expect_err_contains 'lint: 1 error, 1 warning'

t_case "lint --format sarif: a valid SARIF 2.1.0 log, one rule per lint rule"
lm lint --format sarif
expect_exit 1
sarif_check lint
expect_text_contains "$SARIF" "add-not-null-without-default error $RISKY $ERR_LINE" "results"
expect_text_contains "$SARIF" "drop-column warning $RISKY $WARN_LINE" "results"
expect_out_not_contains "$LM_PASSWORD"
# only lint rules in lint's log
expect_out_not_contains '"id": "multiple-heads"'

t_case "--json is --format json; text is the default"
lm lint --json
JSON_OUT=$LM_OUT
lm lint --format json
expect_exit 1
expect_eq "$LM_OUT" "$JSON_OUT" "--format json output"
lm lint
TEXT_OUT=$LM_OUT
lm lint --format text
expect_eq "$LM_OUT" "$TEXT_OUT" "--format text output"
expect_out_contains "$RISKY:$ERR_LINE: error [add-not-null-without-default]"

t_case "a bad --format is a usage error"
lm lint --format xml
expect_exit 2
expect_err_contains "unknown --format 'xml'"
lm lint --json --format sarif
expect_exit 2
lm current --format sarif
expect_exit 2
expect_err_contains "option --format does not apply to 'current'"

t_case "paths are relative to the project folder, also when run from elsewhere"
cd "$LM_TMP" || exit 1
lm -c "$PROJECT/luamig.lua" lint --format sarif
expect_exit 1
sarif_check lint
expect_text_contains "$SARIF" "add-not-null-without-default error versions/" "uri"
expect_text_not_contains "$SARIF" "$LM_TMP" "uri"
lm -c "$PROJECT/luamig.lua" lint --format github
expect_out_contains "::error file=versions/a10000000002_risky.lua,line=$ERR_LINE,"
cd "$PROJECT" || exit 1

t_case "github: in a workflow, file= is relative to the checkout (GITHUB_WORKSPACE)"
GITHUB_WORKSPACE=$LM_TMP lm lint --format github
expect_out_contains "::error file=${PROJECT#"$LM_TMP"/}/$RISKY,line=$ERR_LINE,"
# SARIF stays relative to the project folder, with the folder as its base URI
GITHUB_WORKSPACE=$LM_TMP lm lint --format sarif
expect_out_contains "\"uri\": \"$RISKY\", \"uriBaseId\": \"PROJECTROOT\""
expect_out_contains "\"PROJECTROOT\": {\"uri\": \"file://$(cd "$PROJECT" && pwd -P)/\"}"
GITHUB_WORKSPACE=/nonexistent lm lint --format github
expect_out_contains "::error file=$RISKY,line=$ERR_LINE,"

t_case "a clean chain: an empty results array, exit 0"
new_env_project
mkrev b10000000001 "" "create t" <<'EOF'
function upgrade()
  op.create_table("t", op.column("id", "integer", { primary_key = true }))
end
function downgrade()
  op.drop_table("t")
end
EOF
lm lint --format sarif
expect_exit 0
sarif_check lint
expect_out_contains '"results": []'
lm lint --format github
expect_exit 0
expect_out_empty

t_case "check --format sarif|github: several heads and lint errors"
new_env_project
risky_chain
mkrev a10000000003 a10000000001 "other branch" <<'EOF'
function upgrade()
  op.create_table("other", op.column("id", "integer", { primary_key = true }))
end
function downgrade()
  op.drop_table("other")
end
EOF
OTHER=$REV_FILE
lm check --format sarif
expect_exit 1
sarif_check lint,check
expect_text_contains "$SARIF" "multiple-heads error $RISKY 1" "results"
expect_text_contains "$SARIF" "multiple-heads error $OTHER 1" "results"
expect_text_contains "$SARIF" "add-not-null-without-default error $RISKY $ERR_LINE" "results"
expect_text_contains "$SARIF" "drop-column warning $RISKY $WARN_LINE" "results"
expect_out_contains '"id": "checksum-mismatch"'
lm check --format github
expect_exit 1
expect_out_contains "::error file=$OTHER,line=1,title=multiple-heads::revision a10000000003 is one of the chain's 2 heads"
expect_out_contains "::error file=$RISKY,line=$ERR_LINE,title=add-not-null-without-default::"

t_case "check --format github|sarif: an applied revision file edited"
new_env_project
mkrev c10000000001 "" "create t" <<'EOF'
function upgrade()
  op.create_table("t", op.column("id", "integer", { primary_key = true }))
end
function downgrade()
  op.drop_table("t")
end
EOF
lm upgrade head
expect_exit 0
printf -- '-- edited after it was applied\n' >>"$REV_FILE"
lm check --format github
expect_exit 1
expect_out_contains "::error file=$REV_FILE,line=1,title=checksum-mismatch::revision c10000000001 changed since it was applied"
expect_out_not_contains "$LM_PASSWORD"
expect_err_not_contains "$LM_PASSWORD"
lm check --format sarif
expect_exit 1
sarif_check lint,check
expect_text_contains "$SARIF" "checksum-mismatch error $REV_FILE 1" "results"
expect_out_not_contains "$LM_PASSWORD"

t_case "check --format sarif on a good chain: valid, no results, nothing else on stdout"
lm stamp head
lm check --format sarif
expect_exit 0
sarif_check lint,check
expect_out_contains '"results": []'
expect_ok "stdout is one JSON document" "$PY" -c 'import json,sys; json.load(open(sys.argv[1]))' "$LM_TMP/log.sarif"

t_case "check --roundtrip --format sarif: the revision whose downgrade leaks"
new_env_project
mkrev d10000000001 "" "create users" <<'EOF'
function upgrade()
  op.create_table("users", op.column("id", "integer", { primary_key = true }),
    op.column("phone", "string(20)"))
end
function downgrade()
  op.drop_table("users")
end
EOF
mkrev d10000000002 d10000000001 "index on phone" <<'EOF'
-- luamig: allow downgrade-not-inverse, index-not-concurrent
function upgrade()
  op.create_index("ix_users_phone", "users", { "phone" })
end

function downgrade()
  op.execute("SELECT 1")
end
EOF
lm check --roundtrip --format sarif
expect_exit 1
sarif_check lint,check
expect_text_contains "$SARIF" "roundtrip error $REV_FILE" "results"
expect_out_not_contains 'roundtrip ok'
expect_out_not_contains "$LM_PASSWORD"

t_case "credentials in luamig.lua: reported without the password"
unset DATABASE_URL
new_project --no-url
write_config "url = \"postgresql://app:$LM_PASSWORD@127.0.0.1:1/never_opened\","
URL_LINE=$(line_of luamig.lua 'url = ')
lm lint --format github
expect_exit 1
expect_out_contains "::error file=luamig.lua,line=$URL_LINE,title=credentials-in-config::"
expect_out_not_contains "$LM_PASSWORD"
lm lint --format sarif
sarif_check lint
expect_text_contains "$SARIF" "credentials-in-config error luamig.lua $URL_LINE" "results"
expect_out_not_contains "$LM_PASSWORD"

t_case "the rule table names every rule the engine reports"
# the rule ids written in the engine's sources next to a level (lint) or a
# check finding; each must have its line in engine/lint.c's table
RULE_IDS=$(
  {
    grep -ozP 'LM_LINT_(ERROR|WARNING),\s*"[a-z0-9-]+"' "$LM_SOURCE_DIR"/engine/*.c |
      tr '\0' '\n' | grep -oP '"\K[a-z0-9-]+(?=")'
    grep -ohP '(finding|problem_rule|report_rule)\(k, "\K[a-z0-9-]+' "$LM_SOURCE_DIR"/engine/cli/*.c
  } | sort -u
)
expect_ne "$(printf '%s' "$RULE_IDS" | wc -l)" 0 "rule ids found in the sources"
for id in $RULE_IDS; do
  grep -q "^$id	" "$LM_TMP/rules.tsv"
  _check $? "rule '$id' is reported by the engine but missing from the rule table in engine/lint.c"
done
# and every SPEC §8 rule is in the table
for id in drop-column drop-table drop-then-add add-not-null-without-default alter-column-type \
  rename-column rename-table index-not-concurrent set-not-null foreign-key-validating \
  downgrade-missing downgrade-empty downgrade-not-inverse backfill-not-resumable \
  backfill-in-transaction credentials-in-config; do
  grep -q "^$id	lint	\|^$id	[a-z]*	lint	" "$LM_TMP/rules.tsv"
  _check $? "SPEC rule '$id' is in the rule table as a lint rule"
done

t_done
