#!/usr/bin/env bash
# examples/deploy (SPEC §12): entrypoint.sh waits for the database, runs
# luamig upgrade head and execs the application; it fails clearly, without
# printing the password, when the database never comes up, a configuration is
# broken or a migration fails. The Kubernetes manifest takes DATABASE_URL from
# a Secret, and the CI example runs lint --format sarif and check --roundtrip.
# Runs on both dialects (the script does not care which).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ENTRY=$LM_SOURCE_DIR/examples/deploy/entrypoint.sh
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3

# entry ARGS...: runs the entrypoint with sh (as the image does) in the
# current folder; sets LM_RC, LM_OUT, LM_ERR and ENTRY_PID (its process id).
entry() {
  local out=$LM_TMP/entry.out err=$LM_TMP/entry.err
  cp "$ENTRY" "$LM_TMP/entrypoint.sh"
  local ENTRY=$LM_TMP/entrypoint.sh
  LM_CMD=$(mask "entrypoint.sh $*")
  # the shell writes its pid, then becomes the entrypoint (exec keeps the pid)
  LUAMIG=$LUAMIG timeout -k 5 60 sh -c 'echo $$ >"$0.pid"; exec sh "$0" "$@"' "$ENTRY" "$@" \
    >"$out" 2>"$err" </dev/null
  LM_RC=$?
  ENTRY_PID=$(cat "$ENTRY.pid" 2>/dev/null)
  LM_OUT=$(cat "$out")
  LM_ERR=$(cat "$err")
  _lm_log_run "$LM_CMD" "$LM_RC" "$out" "$err"
}

# expect_at_head: luamig current shows R3 as the applied head
expect_at_head() {
  local saved_out=$LM_OUT saved_err=$LM_ERR saved_rc=$LM_RC
  lm current
  expect_out_contains "$R3"
  expect_out_not_contains "9d0000000004"
  LM_OUT=$saved_out LM_ERR=$saved_err LM_RC=$saved_rc
}

new_env_project() {
  unset DATABASE_URL
  new_project --no-url
  export DATABASE_URL=$LM_URL
}

# ---------------------------------------------------------------------------
t_case "shellcheck passes on entrypoint.sh"
if command -v shellcheck >/dev/null 2>&1; then
  expect_ok "shellcheck entrypoint.sh" shellcheck -s sh "$ENTRY"
else
  echo "  (shellcheck is not installed)"
fi

t_case "it migrates to head, then execs the application"
new_env_project
chain3
entry sh -c 'echo "app started as $$"; echo "$$" > app.pid'
expect_exit 0
expect_out_contains "app started as"
expect_err_contains "upgrading to head"
expect_out_contains "Running upgrade $R2 -> $R3"
expect_table t_three
expect_at_head
# exec: the application runs as the entrypoint's own process
expect_eq "$(cat app.pid 2>/dev/null)" "$ENTRY_PID" "the application's pid (exec)"
expect_out_not_contains "$LM_PASSWORD"
expect_err_not_contains "$LM_PASSWORD"

t_case "the application's exit status is the container's"
entry sh -c 'exit 7'
expect_exit 7

t_case "with no application it migrates and exits 0 (an init container)"
new_env_project
chain3
entry
expect_exit 0
expect_err_contains "no application to start"
expect_at_head

t_case "the database never comes up: a clear failure within the timeout, no password"
new_env_project
chain3
if is_pg; then
  export DATABASE_URL="postgresql://luamig:$LM_PASSWORD@127.0.0.1:1/never"
else
  export DATABASE_URL="sqlite:///$LM_TMP/no-such-folder/never.db"
fi
start=$(date +%s)
LUAMIG_WAIT_TIMEOUT=3 LUAMIG_WAIT_INTERVAL=1 entry sh -c 'echo app started'
took=$(($(date +%s) - start))
expect_exit 1
expect_err_contains "waiting for the database"
expect_err_contains "the database did not answer within 3s"
expect_err_contains "luamig: error:"
expect_out_not_contains "app started"
expect_out_not_contains "$LM_PASSWORD"
expect_err_not_contains "$LM_PASSWORD"
[ "$took" -lt 30 ]
_check $? "it gave up in bounded time (took ${took}s)"

t_case "the database comes up while it waits"
if is_pg; then
  new_env_project
  chain3
  db=lmit_deploy_late_$$
  DATABASE_URL=$(pg_url "$db")
  export DATABASE_URL
  echo "$db" >>"$LM_TMP/databases"
  (sleep 3 && pg_admin createdb "$db") &
  maker=$!
  LUAMIG_WAIT_TIMEOUT=30 LUAMIG_WAIT_INTERVAL=1 entry sh -c 'echo app started'
  wait "$maker"
  expect_exit 0
  expect_err_contains "waiting for the database"
  expect_out_contains "app started"
  use_url "$DATABASE_URL"
  expect_at_head
  expect_err_not_contains "$LM_PASSWORD"
else
  echo "  (PostgreSQL only: a SQLite file is there as soon as it is opened)"
fi

t_case "a broken configuration fails at once, without waiting"
new_env_project
chain3
printf 'return { versions = { "versions" }, oops = \n' >luamig.lua
start=$(date +%s)
LUAMIG_WAIT_TIMEOUT=30 entry sh -c 'echo app started'
took=$(($(date +%s) - start))
expect_exit 2
expect_err_contains "luamig cannot start (exit 2)"
expect_err_contains "luamig.lua"
expect_out_not_contains "app started"
[ "$took" -lt 10 ]
_check $? "it did not wait (took ${took}s)"

t_case "a failing migration stops the container before the application"
new_env_project
chain3
mkrev 9d0000000004 "$R3" "broken" <<'EOF'
function upgrade()
  op.execute("SELECT * FROM no_such_table_here")
end
function downgrade() end
EOF
entry sh -c 'echo app started'
expect_exit 1
expect_err_contains "no_such_table_here"
expect_out_not_contains "app started"
expect_at_head
expect_err_not_contains "$LM_PASSWORD"

t_case "no DATABASE_URL: a clear error"
unset DATABASE_URL
entry sh -c 'echo app started'
expect_exit 2
expect_err_contains "DATABASE_URL is not set"
expect_out_not_contains "app started"

t_case "the Kubernetes manifest: an init container, DATABASE_URL from a Secret"
if "$PY" -c 'import yaml' 2>/dev/null; then
  out=$("$PY" - "$LM_SOURCE_DIR/examples/deploy/kubernetes.yaml" <<'EOF' 2>&1
import sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
dep = [d for d in docs if d["kind"] == "Deployment"][0]
spec = dep["spec"]["template"]["spec"]
init = spec["initContainers"][0]
assert init["command"] == ["/usr/local/bin/entrypoint.sh"], init
for c in [init] + spec["containers"]:
    env = {e["name"]: e for e in c["env"]}
    ref = env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]
    assert ref["name"] and ref["key"], ref
    assert "value" not in env["DATABASE_URL"], "the URL must not be in the manifest"
print("ok")
EOF
  )
  expect_eq "$out" "ok" "kubernetes.yaml"
else
  echo "  (python3-yaml is not installed: manifests not parsed)"
fi
expect_ok "the Dockerfile's entrypoint is entrypoint.sh" \
  grep -q '^ENTRYPOINT \["/usr/local/bin/entrypoint.sh"\]' "$LM_SOURCE_DIR/examples/deploy/Dockerfile"

t_case "the CI example lints to SARIF, uploads it and round-trips on PostgreSQL"
if "$PY" -c 'import yaml' 2>/dev/null; then
  out=$("$PY" - "$LM_SOURCE_DIR/examples/ci/github-actions.yml" <<'EOF' 2>&1
import sys, yaml
wf = yaml.safe_load(open(sys.argv[1]))
runs = []
uses = []
services = []
for job in wf["jobs"].values():
    services += list(job.get("services", {}).values())
    for step in job["steps"]:
        runs.append(step.get("run", ""))
        uses.append(step.get("uses", ""))
text = "\n".join(runs)
assert "luamig lint --format sarif" in text, text
assert "luamig check --roundtrip" in text, text
assert any(u.startswith("github/codeql-action/upload-sarif") for u in uses), uses
assert any(s["image"].startswith("postgres") for s in services), services
print("ok")
EOF
  )
  expect_eq "$out" "ok" "github-actions.yml"
fi

t_done
