#!/usr/bin/env bash
# luamig against its peers: the same chain of N revisions, with the same SQL,
# run by the sqlite3 / psql shells (the floor), luamig, Alembic, dbmate and
# sqitch, on SQLite and on a throwaway PostgreSQL.
#
#   bench/peers.sh [N ...]            (default: 10 100 1000)
#
# Environment:
#   LUAMIG=path        the luamig binary (default: a RelWithDebInfo build of this
#                      tree in $WORK/build, made by this script)
#   DIALECTS="sqlite postgresql"   which dialects to run
#   TOOLS="floor script luamig luamig_cold luamig_1tx alembic dbmate sqitch"   which tools
#   WORK=dir           scratch folder (default: a new one under /tmp; removed
#                      at the end unless KEEP=1)
#   TOOLS_DIR=dir      where dbmate is installed with npm (default
#                      /tmp/luamig-bench-tools; never inside the repository)
#   OUT=file           the Markdown report (default $WORK/peers.md, printed too;
#                      a copy is left in /tmp/luamig-peers-last.md)
#   FAST_RUNS=15 MID_RUNS=5 SLOW_RUNS=3   timed runs for a figure whose warm-up
#                      run took < 0.5 s, < 5 s, and longer (the warm-up then
#                      counts as the first run)
#   PEER_SLOW_RUNS=2   runs of a peer's figure taking 20 s or more (one run
#                      from 30 s: sqitch and dbmate at N=1000 would otherwise
#                      take most of the budget)
#   REPORT_FROM=file   print the report of an earlier run again from its
#                      results.json (kept with KEEP=1), without running anything
#
# "script" is a second floor: luamig's own --sql scripts (the same statements
# plus the version table, a transaction per revision) run by the shells.
#
# The chain: revision i creates table tNNNN with an index when i % 5 != 0, and
# adds a column "note" to the table made by revision i-1 and backfills it with
# one UPDATE when i % 5 == 0. Each tool gets exactly the SQL statements that
# luamig renders for its op calls (the script checks this against
# `luamig upgrade head --sql` and `downgrade head:base --sql` and stops when
# they differ): Alembic through op.execute, dbmate and sqitch as .sql files.
#
# Each figure is the median over several runs, each run a fresh process whose
# wall time is taken around fork/exec/wait4 and whose peak memory is the
# ru_maxrss that wait4(2) reports (the figure GNU time prints as %M), from a
# small C helper; one untimed warm-up run comes first, and the timed runs of
# all tools for one figure go round-robin so that they share the background
# load. Setting up a run (an empty database, or a copy of the database at
# head) is not timed.
#
# Missing tools are installed (Debian packages, npm for dbmate); one that
# cannot be installed is reported as unavailable.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
NS=("$@")
[ ${#NS[@]} -gt 0 ] || NS=(10 100 1000)
DIALECTS=${DIALECTS:-"sqlite postgresql"}
TOOLS=${TOOLS:-"floor script luamig luamig_cold luamig_1tx alembic dbmate sqitch"}
TOOLS_DIR=${TOOLS_DIR:-/tmp/luamig-bench-tools}
if [ -z "${WORK:-}" ]; then
  WORK=$(mktemp -d /tmp/luamig-bench-peers.XXXXXX)
else
  mkdir -p "$WORK"
  WORK=$(cd "$WORK" && pwd)
fi
OUT=${OUT:-$WORK/peers.md}
PGSTATE=$WORK/pg

log() { printf 'peers: %s\n' "$*" >&2; }

cleanup() {
  if [ -f "$PGSTATE/env" ] || [ -d "$PGSTATE" ]; then
    bash "$here/tests/pg_server.sh" stop "$PGSTATE" >/dev/null 2>&1 || true
  fi
  if [ "${KEEP:-0}" != 1 ]; then
    # keep the report when it lives in WORK
    case "$OUT" in "$WORK"/*) cp "$OUT" "/tmp/luamig-peers-last.md" 2>/dev/null || true ;; esac
    rm -rf -- "$WORK"
  fi
}
trap cleanup EXIT

# REPORT_FROM=results.json: only print the report of an earlier run again
# (KEEP=1 keeps WORK, and its results.json, after a run)
if [ -n "${REPORT_FROM:-}" ]; then
  REPORT_ONLY=1
else
  REPORT_ONLY=0
fi

# --- tools ------------------------------------------------------------------------
SUDO=()
[ "$(id -u)" -eq 0 ] || SUDO=(sudo)
apt_updated=0
apt_install() { # apt_install PKG... : installs those not installed; 0 when all are
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || return 1
  log "installing ${missing[*]}"
  if [ $apt_updated = 0 ]; then
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || true
    apt_updated=1
  fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
}

if [ $REPORT_ONLY = 1 ]; then
  # the Python part below, from its here-document
  sed -n "/^cat >\"\$WORK\/peers.py\" <<'PYTHON'\$/,/^PYTHON\$/p" "$0" | sed '1d;$d' >"$WORK/peers.py"
  LUAMIG=- DBMATE=- RUNONE=- PSQL=- PY=/usr/bin/python3 UNAVAILABLE="" NS_LIST="" \
    FAST_RUNS=0 MID_RUNS=0 SLOW_RUNS=0 PEER_SLOW_RUNS=0 WORK="$WORK" OUT="$OUT" DIALECTS="" TOOLS="" \
    REPORT_FROM="$REPORT_FROM" /usr/bin/python3 "$WORK/peers.py"
  exit 0
fi

# needed: the floor's shells, python3 (drives the runs), GNU time (kept for
# hand checks), the PostgreSQL server for tests/pg_server.sh
apt_install sqlite3 postgresql-client python3 time cmake build-essential pkg-config \
  liblua5.4-dev libsqlite3-dev libpq-dev python3-psycopg2 ||
  { log "cannot install the base tools"; exit 2; }
PY=/usr/bin/python3

unavailable=""
if ! apt_install python3-alembic python3-sqlalchemy python3-psycopg2 ||
  ! $PY -c 'import alembic, sqlalchemy, psycopg2' 2>/dev/null; then
  log "Alembic unavailable"
  unavailable+=" alembic"
fi
if ! apt_install sqitch libdbd-sqlite3-perl libdbd-pg-perl || ! command -v sqitch >/dev/null; then
  log "sqitch unavailable"
  unavailable+=" sqitch"
fi
DBMATE=$TOOLS_DIR/node_modules/@dbmate/linux-x64/bin/dbmate
if [ ! -x "$DBMATE" ]; then
  if command -v npm >/dev/null || apt_install npm; then
    mkdir -p "$TOOLS_DIR"
    log "installing dbmate with npm into $TOOLS_DIR"
    npm install --no-save --no-audit --no-fund --prefix "$TOOLS_DIR" @dbmate/linux-x64 >&2 || true
  fi
fi
if [ ! -x "$DBMATE" ] || ! "$DBMATE" --version >/dev/null 2>&1; then
  log "dbmate unavailable"
  unavailable+=" dbmate"
fi

LUAMIG_SOURCE="a given binary (LUAMIG)"
if [ -z "${LUAMIG:-}" ]; then
  # what is being built: the commit, and whether the working tree differs
  # from it in tracked files outside bench/ (other work in progress)
  rev=$(git -C "$here" rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
  if [ -n "$(git -C "$here" status --porcelain --untracked-files=no -- . ':!bench' 2>/dev/null)" ]; then
    LUAMIG_SOURCE="built by this run from the working tree at commit $rev, with uncommitted changes"
  else
    LUAMIG_SOURCE="built by this run from commit $rev"
  fi
  log "building luamig (RelWithDebInfo) in $WORK/build"
  cmake -S "$here" -B "$WORK/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$WORK/cmake.log" 2>&1 ||
    { cat "$WORK/cmake.log" >&2; exit 2; }
  cmake --build "$WORK/build" -j2 --target luamig >"$WORK/build.log" 2>&1 ||
    { tail -30 "$WORK/build.log" >&2; exit 2; }
  LUAMIG=$WORK/build/luamig
fi
[ -x "$LUAMIG" ] || { log "no luamig binary at $LUAMIG"; exit 2; }
LUAMIG=$(cd "$(dirname "$LUAMIG")" && pwd)/$(basename "$LUAMIG")

case " $DIALECTS " in
*" postgresql "*)
  bash "$here/tests/pg_server.sh" start "$PGSTATE" >&2
  # shellcheck disable=SC1091
  . "$PGSTATE/env"
  ;;
esac

# The psql binary itself: Debian's /usr/bin/psql is a Perl wrapper that costs
# tens of milliseconds before psql starts. The floor and sqitch use the binary.
PSQL=$(ls -d /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort -V | tail -1)
[ -n "$PSQL" ] || PSQL=$(command -v psql)
export LUAMIG DBMATE WORK OUT DIALECTS TOOLS PY PSQL LUAMIG_SOURCE
export UNAVAILABLE="$unavailable" NS_LIST="${NS[*]}"
export FAST_RUNS=${FAST_RUNS:-15} MID_RUNS=${MID_RUNS:-5} SLOW_RUNS=${SLOW_RUNS:-3} PEER_SLOW_RUNS=${PEER_SLOW_RUNS:-2}

# --- one timed run: fork/exec/wait4 from a small C program -------------------------
# Peak memory is the child's ru_maxrss. Linux counts in it the memory of the
# process that forked the child, as it was before exec, so the forking process
# must be small: this helper (about 1 MiB), not the Python driver (18 MiB).
cat >"$WORK/runone.c" <<'C'
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
/* runone RESULT STDOUT STDERR ARGV...: writes "wall_ns maxrss_kib exit_status cpu_us" to RESULT */
int main(int argc, char **argv) {
  if (argc < 5) return 2;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pid_t pid = fork();
  if (pid == 0) {
    int o = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644), e = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int i = open("/dev/null", O_RDONLY);
    if (o < 0 || e < 0 || i < 0) _exit(126);
    dup2(i, 0), dup2(o, 1), dup2(e, 2);
    execvp(argv[4], argv + 4);
    _exit(127);
  }
  if (pid < 0) return 2;
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) return 2;
  clock_gettime(CLOCK_MONOTONIC, &t1);
  long long ns = (t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
  FILE *f = fopen(argv[1], "w");
  if (!f) return 2;
  long long cpu_us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000LL + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
  fprintf(f, "%lld %ld %d %lld\n", ns, ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), cpu_us);
  fclose(f);
  return 0;
}
C
cc -O2 -o "$WORK/runone" "$WORK/runone.c"
export RUNONE=$WORK/runone

# --- the runs (Python: generation, timing, report) --------------------------------
cat >"$WORK/peers.py" <<'PYTHON'
import datetime, hashlib, json, os, platform, re, shutil, statistics, subprocess, sys, time

LUAMIG = os.environ["LUAMIG"]
DBMATE = os.environ["DBMATE"]
RUNONE = os.environ["RUNONE"]
WORK = os.environ["WORK"]
OUT = os.environ["OUT"]
PY = os.environ["PY"]
NS = [int(x) for x in os.environ["NS_LIST"].split()]
DIALECTS = os.environ["DIALECTS"].split()
UNAVAILABLE = set(os.environ["UNAVAILABLE"].split())
TOOLS = [t for t in os.environ["TOOLS"].split()]
FAST_RUNS, MID_RUNS, SLOW_RUNS, PEER_SLOW_RUNS = (
    int(os.environ[k]) for k in ("FAST_RUNS", "MID_RUNS", "SLOW_RUNS", "PEER_SLOW_RUNS"))
PSQL = os.environ["PSQL"]
PG = None
if "postgresql" in DIALECTS:
    PG = {k: os.environ[k] for k in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD")}
DEVNULL = subprocess.DEVNULL

def note(msg):
    print("peers: " + msg, file=sys.stderr, flush=True)

# ---- the chain ----------------------------------------------------------------
def rev_id(i):
    return hashlib.sha1(b"luamig-bench-%d" % i).hexdigest()[:12]

def q(name):
    return '"%s"' % name

def chain(n, dialect):
    """[(i, id, down_id, message, kind, table, up_stmts, down_stmts)]"""
    revs = []
    last_table = None
    for i in range(1, n + 1):
        rid, down = rev_id(i), (rev_id(i - 1) if i > 1 else None)
        if i % 5 != 0:
            t = "t%04d" % i
            if dialect == "sqlite":
                ct = 'CREATE TABLE "%s" ("id" INTEGER NOT NULL PRIMARY KEY, "name" VARCHAR(100) NOT NULL, "qty" INTEGER)' % t
            else:
                ct = 'CREATE TABLE "%s" ("id" SERIAL NOT NULL, "name" VARCHAR(100) NOT NULL, "qty" INTEGER, PRIMARY KEY ("id"))' % t
            up = [ct, 'CREATE INDEX "ix_%s_name" ON "%s" ("name")' % (t, t)]
            dn = ['DROP INDEX "ix_%s_name"' % t, 'DROP TABLE "%s"' % t]
            revs.append((i, rid, down, "create %s" % t, "create", t, up, dn))
            last_table = t
        else:
            t = last_table
            up = ['ALTER TABLE "%s" ADD COLUMN "note" VARCHAR(100)' % t,
                  'UPDATE "%s" SET "note" = "name" WHERE "note" IS NULL' % t]
            dn = ['ALTER TABLE "%s" DROP COLUMN "note"' % t]
            revs.append((i, rid, down, "add %s.note" % t, "addcol", t, up, dn))
    return revs

def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)

def floor_scripts(d, revs):
    up = ["BEGIN;"] + [s + ";" for r in revs for s in r[6]] + ["COMMIT;"]
    dn = ["BEGIN;"] + [s + ";" for r in reversed(revs) for s in r[7]] + ["COMMIT;"]
    write(os.path.join(d, "up.sql"), "\n".join(up) + "\n")
    write(os.path.join(d, "down.sql"), "\n".join(dn) + "\n")

def luamig_project(d, revs, url):
    write(os.path.join(d, "luamig.lua"), 'return { versions = { "versions" } }\n')
    write(os.path.join(d, "luamig_1tx.lua"),
          'return { versions = { "versions" }, transaction_per_migration = false }\n')
    for (i, rid, down, msg, kind, t, up, dn) in revs:
        if kind == "create":
            u = ('  op.create_table("%s",\n'
                 '    op.column("id", "integer", { primary_key = true }),\n'
                 '    op.column("name", "string(100)", { nullable = false }),\n'
                 '    op.column("qty", "integer"))\n'
                 '  op.create_index("ix_%s_name", "%s", { "name" })\n') % (t, t, t)
            g = ('  op.drop_index("ix_%s_name", { table_name = "%s" })\n'
                 '  op.drop_table("%s")\n') % (t, t, t)
        else:
            u = ('  op.add_column("%s", op.column("note", "string(100)"))\n'
                 '  op.execute([[%s]])\n') % (t, up[1])
            g = '  op.drop_column("%s", "note")\n' % t
        text = ('--[[ %s\n\nRevision ID: %s\nRevises: %s\nCreate Date: 2026-01-01 00:00:00\n]]\n'
                'revision = "%s"\ndown_revision = %s\nmessage = "%s"\n\n'
                'function upgrade()\n%send\n\nfunction downgrade()\n%send\n') % (
            msg, rid, down or "", rid, ('"%s"' % down) if down else "nil", msg, u, g)
        write(os.path.join(d, "versions", "%s_%s.lua" % (rid, msg.replace(" ", "_").replace(".", "_"))), text)

ALEMBIC_ENV = '''from logging.config import fileConfig
from sqlalchemy import engine_from_config, pool
from alembic import context

config = context.config
if config.config_file_name is not None:
    fileConfig(config.config_file_name)
target_metadata = None

def run_migrations_offline():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()

def run_migrations_online():
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}),
                                     prefix="sqlalchemy.", poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()

if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
'''

ALEMBIC_INI = '''[alembic]
script_location = %(here)s
sqlalchemy.url = %(url)s

[loggers]
keys = root,sqlalchemy,alembic

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARN
handlers = console
qualname =

[logger_sqlalchemy]
level = WARN
handlers =
qualname = sqlalchemy.engine

[logger_alembic]
level = INFO
handlers =
qualname = alembic

[handler_console]
class = StreamHandler
args = (sys.stderr,)
level = NOTSET
formatter = generic

[formatter_generic]
format = %%(levelname)-5.5s [%%(name)s] %%(message)s
datefmt = %%H:%%M:%%S
'''

def alembic_project(d, revs, url):
    write(os.path.join(d, "alembic.ini"), ALEMBIC_INI.replace("%(here)s", d).replace("%(url)s", url.replace("%", "%%")))
    write(os.path.join(d, "env.py"), ALEMBIC_ENV)
    os.makedirs(os.path.join(d, "versions"), exist_ok=True)
    for (i, rid, down, msg, kind, t, up, dn) in revs:
        body_u = "".join("    op.execute(%r)\n" % s for s in up)
        body_d = "".join("    op.execute(%r)\n" % s for s in dn)
        text = ('"""%s\n\nRevision ID: %s\nRevises: %s\nCreate Date: 2026-01-01 00:00:00\n"""\n'
                'from alembic import op\n\n'
                'revision = %r\ndown_revision = %r\nbranch_labels = None\ndepends_on = None\n\n\n'
                'def upgrade():\n%s\n\ndef downgrade():\n%s') % (msg, rid, down or "", rid, down, body_u, body_d)
        write(os.path.join(d, "versions", "%s_%s.py" % (rid, msg.replace(" ", "_").replace(".", "_"))), text)

def dbmate_project(d, revs):
    for (i, rid, down, msg, kind, t, up, dn) in revs:
        text = ("-- migrate:up\n" + "".join(s + ";\n" for s in up) +
                "\n-- migrate:down\n" + "".join(s + ";\n" for s in dn))
        write(os.path.join(d, "db", "migrations", "20260101%06d_%s.sql" % (i, msg.replace(" ", "_").replace(".", "_"))), text)

def sqitch_project(d, revs, dialect):
    engine = "sqlite" if dialect == "sqlite" else "pg"
    client = "/usr/bin/sqlite3" if dialect == "sqlite" else PSQL
    write(os.path.join(d, "sqitch.conf"),
          '[core]\n\tengine = %s\n\tplan_file = sqitch.plan\n\ttop_dir = .\n[engine "%s"]\n\tclient = %s\n'
          % (engine, engine, client))
    plan = ["%syntax-version=1.0.0", "%project=bench", ""]
    for (i, rid, down, msg, kind, t, up, dn) in revs:
        name = "c%04d" % i
        plan.append("%s 2026-01-01T00:00:00Z Bench <bench@example.invalid> # %s" % (name, msg))
        write(os.path.join(d, "deploy", name + ".sql"), "BEGIN;\n" + "".join(s + ";\n" for s in up) + "COMMIT;\n")
        write(os.path.join(d, "revert", name + ".sql"), "BEGIN;\n" + "".join(s + ";\n" for s in dn) + "COMMIT;\n")
    write(os.path.join(d, "sqitch.plan"), "\n".join(plan) + "\n")

# ---- measuring ---------------------------------------------------------------
def spawn(argv, cwd, env):
    """One run: (wall seconds, peak RSS KiB, exit status, stderr path, cpu seconds)."""
    errp, resp = os.path.join(WORK, "last.stderr"), os.path.join(WORK, "last.result")
    subprocess.run([RUNONE, resp, "/dev/null", errp] + argv, cwd=cwd, env=env, check=True)
    with open(resp) as f:
        ns, rss, rc, cpu = (int(x) for x in f.read().split())
    return ns / 1e9, rss, rc, errp, cpu / 1e6

class Failed(Exception):
    pass

def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])

def one_run(label, cmds, prepare):
    """cmds: list of (argv, cwd, env), run in sequence as one run (a single
    command for every tool but dbmate's downgrade: one rollback per revision).
    Returns (wall seconds, peak RSS KiB, cpu seconds)."""
    if prepare:
        prepare()
    total, peak, cpu = 0.0, 0, 0.0
    for argv, cwd, env in cmds:
        t, m, rc, errp, c = spawn(argv, cwd, env)
        if rc != 0:
            with open(errp, "rb") as f:
                tail = f.read()[-2000:].decode(errors="replace")
            raise Failed("%s: %s exited %d\n%s" % (label, " ".join(argv), rc, tail))
        total += t
        cpu += c
        peak = max(peak, m)
    return total, peak, cpu

def measure_all(jobs):
    """jobs: {tool: (label, cmds, prepare, peer)} for one figure. Every tool
    first gets a warm-up run, untimed (when it takes 5 s or more it counts as
    the first timed run instead), which also sets how many runs the tool gets:
    FAST_RUNS under 0.5 s, MID_RUNS under 5 s, else SLOW_RUNS, and a peer
    PEER_SLOW_RUNS from 20 s and one run from 30 s. Then the timed runs go
    round-robin over the tools, so that each tool sees the same background
    load. Returns ({tool: result}, {tool: error})."""
    runs, samples, errors, load0 = {}, {}, {}, loadavg()
    for tool, (label, cmds, prepare, peer) in jobs.items():
        try:
            w = one_run(label, cmds, prepare)
        except Failed as e:
            errors[tool] = str(e)
            continue
        if w[0] < 0.5:
            runs[tool] = FAST_RUNS
        elif w[0] < 5:
            runs[tool] = MID_RUNS
        elif peer and w[0] >= 30:
            runs[tool] = 1
        elif peer and w[0] >= 20:
            runs[tool] = PEER_SLOW_RUNS
        else:
            runs[tool] = SLOW_RUNS
        samples[tool] = [w] if w[0] >= 5 else []
    while True:
        todo = [t for t in samples if len(samples[t]) < runs[t] and t not in errors]
        if not todo:
            break
        for tool in todo:
            label, cmds, prepare, peer = jobs[tool]
            try:
                samples[tool].append(one_run(label, cmds, prepare))
            except Failed as e:
                errors[tool] = str(e)
    out = {}
    for tool, ss in samples.items():
        if tool in errors:
            continue
        ts, ms, cs = [x[0] for x in ss], [x[1] for x in ss], [x[2] for x in ss]
        res = {"median": statistics.median(ts), "min": min(ts), "max": max(ts), "runs": len(ts),
               "mem_kib": statistics.median(ms), "cpu": statistics.median(cs), "times": ts,
               "load": [load0, loadavg()]}
        note("%-40s %9.1f ms (min %.1f, max %.1f, cpu %.1f, %d runs) %6.1f MiB  load %.1f" % (
            jobs[tool][0], res["median"] * 1e3, res["min"] * 1e3, res["max"] * 1e3, res["cpu"] * 1e3,
            len(ts), res["mem_kib"] / 1024, load0))
        out[tool] = res
    for tool, e in errors.items():
        note("FAILED " + e)
    return out, errors

# ---- databases ---------------------------------------------------------------
def pg_admin(sql):
    import psycopg2
    c = psycopg2.connect(host=PG["PGHOST"], port=PG["PGPORT"], user=PG["PGUSER"],
                         password=PG["PGPASSWORD"], dbname="postgres")
    c.autocommit = True
    with c.cursor() as cur:
        for s in sql if isinstance(sql, list) else [sql]:
            cur.execute(s)
    c.close()

def pg_query(db, sql):
    import psycopg2
    c = psycopg2.connect(host=PG["PGHOST"], port=PG["PGPORT"], user=PG["PGUSER"],
                         password=PG["PGPASSWORD"], dbname=db)
    with c.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall()
    c.close()
    return rows

def sqlite_query(path, sql):
    import sqlite3
    c = sqlite3.connect(path)
    rows = c.execute(sql).fetchall()
    c.close()
    return rows

class Db:
    """The database of one tool for one dialect and N: reset to empty, save
    the state at head, restore it, count the bench tables."""
    def __init__(self, dialect, base, tool):
        self.dialect, self.tool = dialect, tool
        if dialect == "sqlite":
            self.dir = os.path.join(base, "data")
            self.snap = os.path.join(base, "data-head")
            self.path = os.path.join(self.dir, "bench.db")
        else:
            self.name = "b_" + tool
            self.snapname = "b_" + tool + "_head"

    def reset(self):
        if self.dialect == "sqlite":
            shutil.rmtree(self.dir, ignore_errors=True)
            os.makedirs(self.dir)
        else:
            pg_admin(["DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.name,
                      "CREATE DATABASE %s" % self.name])

    def save(self):
        if self.dialect == "sqlite":
            shutil.rmtree(self.snap, ignore_errors=True)
            shutil.copytree(self.dir, self.snap)
        else:
            pg_admin(["DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.snapname,
                      "CREATE DATABASE %s TEMPLATE %s" % (self.snapname, self.name)])

    def restore(self):
        if self.dialect == "sqlite":
            shutil.rmtree(self.dir, ignore_errors=True)
            shutil.copytree(self.snap, self.dir)
        else:
            pg_admin(["DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.name,
                      "CREATE DATABASE %s TEMPLATE %s" % (self.name, self.snapname)])

    def drop(self):
        if self.dialect == "sqlite":
            shutil.rmtree(self.dir, ignore_errors=True)
            shutil.rmtree(self.snap, ignore_errors=True)
        else:
            pg_admin(["DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.name,
                      "DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.snapname])

    def bench_tables(self):
        """(tables named tNNNN, of them with a "note" column)"""
        if self.dialect == "sqlite":
            if not os.path.exists(self.path):
                return (0, 0)
            t = sqlite_query(self.path, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name GLOB 't[0-9]*'")[0][0]
            c = sqlite_query(self.path, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name GLOB 't[0-9]*' AND sql LIKE '%note%'")[0][0]
            return (t, c)
        t = pg_query(self.name, "SELECT count(*) FROM pg_tables WHERE schemaname='public' AND tablename ~ '^t[0-9]+$'")[0][0]
        c = pg_query(self.name, "SELECT count(*) FROM information_schema.columns WHERE table_schema='public' AND column_name='note'")[0][0]
        return (t, c)

def pg_url(db, scheme="postgresql"):
    return "%s://%s:%s@%s:%s/%s" % (scheme, PG["PGUSER"], PG["PGPASSWORD"], PG["PGHOST"], PG["PGPORT"], db)

# ---- one dialect, one N -------------------------------------------------------
FIGURES = [("up", "upgrade head from empty"), ("current", "current"), ("noop", "no-op upgrade head"),
           ("down", "downgrade base"), ("sql", "upgrade head --sql")]

def sql_statements(text):
    """The statements of a luamig --sql script that are the chain's own."""
    out = []
    for chunk in text.split(";\n"):
        lines = [l for l in chunk.strip().splitlines() if l.strip() and not l.startswith("--")]
        s = "\n".join(lines).strip()
        if not s or s in ("BEGIN", "COMMIT") or s.startswith("PRAGMA") or "luamig_version" in s:
            continue
        out.append(s)
    return out

def run_case(dialect, n, results):
    base = os.path.join(WORK, dialect, str(n))
    revs = chain(n, dialect)
    env0 = dict(os.environ)
    env0.pop("DATABASE_URL", None)
    want_tables = sum(1 for r in revs if r[4] == "create")
    want_notes = sum(1 for r in revs if r[4] == "addcol")

    # every tool's project
    d_floor = os.path.join(base, "floor"); floor_scripts(d_floor, revs)
    d_lm = os.path.join(base, "luamig"); luamig_project(d_lm, revs, None)
    # luamig's revision index lives in the case's folder; it records files
    # once they are 2 s old, so let them settle before anything runs (the
    # untimed warm-up run then writes it, as Alembic's warm-up writes .pyc)
    env0["LUAMIG_CACHE_DIR"] = os.path.join(base, "luamig-cache")
    time.sleep(2.5)
    d_al = os.path.join(base, "alembic"); d_db = os.path.join(base, "dbmate"); d_sq = os.path.join(base, "sqitch")

    # the same SQL: luamig's rendering of its op calls must be the floor's statements
    # (luamig's scripts are kept: the "script" tool runs them through the shell)
    for argv, want, keep in (([LUAMIG, "upgrade", "head", "--sql", "--dialect", dialect], [s for r in revs for s in r[6]], "script-up.sql"),
                             ([LUAMIG, "downgrade", "head:base", "--sql", "--dialect", dialect], [s for r in reversed(revs) for s in r[7]], "script-down.sql")):
        script = subprocess.run(argv, cwd=d_lm, env=env0, check=True, capture_output=True, text=True).stdout
        write(os.path.join(d_floor, keep), script)
        got = sql_statements(script)
        if got != want:
            for k, (a, b) in enumerate(zip(got, want)):
                if a != b:
                    note("statement %d differs:\n  luamig: %s\n  floor:  %s" % (k, a, b))
                    break
            raise SystemExit("peers: luamig's SQL differs from the other tools' (%d vs %d statements)" % (len(got), len(want)))

    def url_for(tool):
        db = Db(dialect, os.path.join(base, tool), tool)
        if dialect == "sqlite":
            os.makedirs(os.path.join(base, tool), exist_ok=True)
            return db, {"floor": None, "script": None, "luamig": "sqlite:///" + db.path, "alembic": "sqlite:///" + db.path,
                        "dbmate": "sqlite:" + db.path, "sqitch": "db:sqlite:" + db.path}.get(tool.split("_")[0])
        return db, {"floor": None, "script": None, "luamig": pg_url(db.name), "alembic": pg_url(db.name, "postgresql+psycopg2"),
                    "dbmate": pg_url(db.name, "postgres") + "?sslmode=disable",
                    "sqitch": "db:pg://%s@%s:%s/%s" % (PG["PGUSER"], PG["PGHOST"], PG["PGPORT"], db.name)}.get(tool.split("_")[0])

    specs = {}
    for tool in TOOLS:
        if tool.split("_")[0] in UNAVAILABLE:
            continue
        # luamig without its index reads the database luamig's runs leave at head
        db, url = url_for("luamig" if tool == "luamig_cold" else tool)
        env = dict(env0)
        cmds = {}
        if tool == "floor":
            d = d_floor
            if dialect == "sqlite":
                shell = ["sqlite3", "-bail", db.path]
                cmds["up"] = [shell + [".read up.sql"]]
                cmds["down"] = [shell + [".read down.sql"]]
                # the least a tool must do for current / a no-op upgrade: one
                # client process that connects and reads N rows (the schema)
                cmds["current"] = cmds["noop"] = [["sqlite3", "-readonly", db.path, "SELECT name, sql FROM sqlite_master"]]
            else:
                psql = [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db.name]
                cmds["up"] = [psql + ["-1", "-f", "up.sql"]]
                cmds["down"] = [psql + ["-1", "-f", "down.sql"]]
                cmds["current"] = cmds["noop"] = [[PSQL, "-X", "-q", "-A", "-t", "-d", db.name, "-c",
                                                   "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"]]
            cmds["sql"] = [["cat", "up.sql"]]
        elif tool == "script":
            # luamig's own --sql scripts through the shell: the same statements
            # plus the version table, a transaction per revision
            d = d_floor
            if dialect == "sqlite":
                cmds["up"] = [["sqlite3", "-bail", db.path, ".read script-up.sql"]]
                cmds["down"] = [["sqlite3", "-bail", db.path, ".read script-down.sql"]]
            else:
                psql = [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", db.name]
                cmds["up"] = [psql + ["-f", "script-up.sql"]]
                cmds["down"] = [psql + ["-f", "script-down.sql"]]
        elif tool == "luamig_cold":
            # luamig without its revision index: every file compiled at start-up
            d = d_lm
            env["LUAMIG_CACHE_DIR"] = "off"
            lm = [LUAMIG, "-c", "luamig.lua", "--url", url]
            cmds["current"] = [lm + ["current"]]
            cmds["noop"] = [lm + ["upgrade", "head"]]
            cmds["sql"] = [lm + ["upgrade", "head", "--sql"]]
        elif tool in ("luamig", "luamig_1tx"):
            d = d_lm
            lm = [LUAMIG, "-c", "luamig.lua" if tool == "luamig" else "luamig_1tx.lua", "--url", url]
            cmds["up"] = [lm + ["upgrade", "head"]]
            cmds["down"] = [lm + ["downgrade", "base"]]
            if tool == "luamig":
                cmds["current"] = [lm + ["current"]]
                cmds["noop"] = [lm + ["upgrade", "head"]]
                cmds["sql"] = [[LUAMIG, "-c", "luamig.lua", "--url", url, "upgrade", "head", "--sql"]]
        elif tool == "alembic":
            d = d_al
            alembic_project(d, revs, url)
            al = [PY, "-m", "alembic", "-c", os.path.join(d, "alembic.ini")]
            cmds["up"] = [al + ["upgrade", "head"]]
            cmds["down"] = [al + ["downgrade", "base"]]
            cmds["current"] = [al + ["current"]]
            cmds["noop"] = [al + ["upgrade", "head"]]
            cmds["sql"] = [al + ["upgrade", "head", "--sql"]]
        elif tool == "dbmate":
            d = d_db
            dbmate_project(d, revs)
            dm = [DBMATE, "--url", url, "--no-dump-schema"]
            cmds["up"] = [dm + ["migrate"]]
            cmds["down"] = [dm + ["rollback"]] * n  # dbmate rolls back one migration per call
            cmds["current"] = [dm + ["status"]]
            cmds["noop"] = [dm + ["migrate"]]
        elif tool == "sqitch":
            d = d_sq
            sqitch_project(d, revs, dialect)
            env.update({"SQITCH_FULLNAME": "Bench", "SQITCH_EMAIL": "bench@example.invalid",
                        "SQITCH_USER_CONFIG": os.path.join(d, "no-user.conf"),
                        "SQITCH_SYSTEM_CONFIG": os.path.join(d, "no-system.conf")})
            cmds["up"] = [["sqitch", "deploy", url]]
            cmds["down"] = [["sqitch", "revert", "-y", url]]
            cmds["current"] = [["sqitch", "status", url]]
            cmds["noop"] = [["sqitch", "deploy", url]]
        specs[tool] = (db, {k: [(argv, d, env) for argv in v] for k, v in cmds.items()})

    # figure by figure, the tools interleaved; a tool that fails drops out
    failed = {}
    def check(tool, want, what):
        got = specs[tool][0].bench_tables()
        if got != want:
            raise Failed("%s: %s: the database has %s bench tables/notes, not %s" % (tool, what, got, want))
    for fig, title in FIGURES:
        jobs = {}
        for tool, (db, cmds) in specs.items():
            if fig in cmds and tool not in failed:
                prepare = db.reset if fig == "up" else db.restore if fig == "down" else None
                jobs[tool] = ("%s N=%d %s %s" % (dialect, n, tool, fig), cmds[fig], prepare, tool in PEERS)
        res, errs = measure_all(jobs)
        failed.update(errs)
        for tool, r in res.items():
            results[(dialect, n, tool, fig)] = r
            try:
                if fig == "up":
                    check(tool, (want_tables, want_notes), "after upgrade head")
                    specs[tool][0].save()
                elif fig == "noop":
                    check(tool, (want_tables, want_notes), "after the no-op upgrade")
                elif fig == "down":
                    check(tool, (0, 0), "after downgrade base")
            except Failed as e:
                note("FAILED " + str(e))
                failed[tool] = str(e)
                del results[(dialect, n, tool, fig)]
    for tool, e in failed.items():
        results[(dialect, n, tool, "failed")] = e
    # the databases go at the end of the case
    for tool, (db, _) in specs.items():
        db.drop()

# ---- the report ---------------------------------------------------------------
NAMES = {"floor": "floor", "script": "floor, tx/rev", "luamig": "luamig", "luamig_cold": "luamig, no index",
         "luamig_1tx": "luamig 1 tx",
         "alembic": "Alembic", "dbmate": "dbmate", "sqitch": "sqitch"}
PEERS = ["alembic", "dbmate", "sqitch"]
START_UP = ("current", "noop", "sql")

def fmt_t(s):
    ms = s * 1e3
    return "%.1f ms" % ms if ms < 100 else "%.0f ms" % ms if ms < 10000 else "%.1f s" % s

def fmt_x(x):
    return "%.2f" % x if x < 10 else "%.1f" % x if x < 100 else "%.0f" % x

def out_of(argv, env=None):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=60, env=env)
        return (r.stdout + r.stderr).strip().splitlines()[0] if (r.stdout + r.stderr).strip() else "?"
    except Exception as e:
        return "? (%s)" % e

def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem = int(f.readline().split()[1]) / 1024 / 1024
    osname = "?"
    if os.path.exists("/etc/os-release"):
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                osname = line.split("=", 1)[1].strip().strip('"')
    return ["- machine: %d CPUs (nproc), %s, %.1f GiB memory; %s, Linux %s; the databases on %s" % (
        os.cpu_count(), cpu, mem, osname, platform.release(), out_of(["sh", "-c", "df -T %s | awk 'NR==2 {print $2}'" % WORK]))]

def versions():
    v = ["- luamig: %s, %s (RelWithDebInfo)" % (out_of([LUAMIG, "--version"]), os.environ.get("LUAMIG_SOURCE", "?")),
         "- sqlite3 shell: %s; psql: %s" % (out_of(["sqlite3", "--version"]).split()[0], out_of([PSQL, "--version"]))]
    if PG:
        v.append("- PostgreSQL server: %s (tests/pg_server.sh: fsync, synchronous_commit and full_page_writes off; scram-sha-256 over TCP on 127.0.0.1)"
                 % pg_query("postgres", "SHOW server_version")[0][0])
    if "alembic" not in UNAVAILABLE:
        v.append("- Alembic: %s" % out_of([PY, "-c", "import sys, alembic, sqlalchemy, psycopg2, sqlite3; print('alembic %s, SQLAlchemy %s, psycopg2 %s, Python %s (sqlite %s)' % (alembic.__version__, sqlalchemy.__version__, psycopg2.__version__.split()[0], sys.version.split()[0], sqlite3.sqlite_version))"]))
    if "dbmate" not in UNAVAILABLE:
        v.append("- dbmate: %s (npm @dbmate/linux-x64)" % out_of([DBMATE, "--version"]))
    if "sqitch" not in UNAVAILABLE:
        v.append("- sqitch: %s; %s" % (out_of(["sqitch", "--version"]),
                 out_of(["perl", "-MDBD::SQLite", "-MDBD::Pg", "-e", "print qq{DBD::SQLite $DBD::SQLite::VERSION, DBD::Pg $DBD::Pg::VERSION, perl $^V}"])))
    return v

def main():
    global NS, DIALECTS, TOOLS
    if os.environ.get("REPORT_FROM"):
        # only the report, from the results.json of an earlier run
        with open(os.environ["REPORT_FROM"]) as f:
            saved = json.load(f)
        meta = saved.pop("_meta")
        NS, DIALECTS, TOOLS = meta["ns"], meta["dialects"], meta["tools"]
        started = datetime.datetime.strptime(meta["started"], "%Y-%m-%d %H:%M")
        elapsed = meta["elapsed"]
        header = meta["header"]
        results = {}
        for k, v in saved.items():
            d, n, t, f_ = k.split("|")
            results[(d, int(n), t, f_)] = v
    else:
        results = {}
        t0 = time.time()
        started = datetime.datetime.now()
        for dialect in DIALECTS:
            for n in NS:
                run_case(dialect, n, results)
        elapsed = time.time() - t0
        header = machine() + versions()
        if UNAVAILABLE:
            header.append("- unavailable (could not be installed): %s" % ", ".join(sorted(UNAVAILABLE)))
        saved = {"|".join(map(str, k)): v for k, v in results.items()}
        saved["_meta"] = {"started": started.strftime("%Y-%m-%d %H:%M"), "elapsed": elapsed,
                          "ns": NS, "dialects": DIALECTS, "tools": TOOLS, "header": header}
        with open(os.path.join(WORK, "results.json"), "w") as f:
            json.dump(saved, f, indent=1)

    def get(d, n, t, f, what="median"):
        r = results.get((d, n, t, f))
        return r[what] if isinstance(r, dict) else None

    L = []
    tools = [t for t in TOOLS if t.split("_")[0] not in UNAVAILABLE]
    loads = [x for r in results.values() if isinstance(r, dict) for x in r["load"]]
    L.append("Run of %s, %.1f minutes in all (N = %s; %s). Load average (1 min) seen during the run: %.1f to %.1f."
             % (started.strftime("%Y-%m-%d %H:%M"), elapsed / 60, ", ".join(map(str, NS)), ", ".join(DIALECTS),
                min(loads) if loads else 0, max(loads) if loads else 0))
    L.append("")
    L += header
    FIG = dict(FIGURES)
    for dialect in DIALECTS:
        dn = "SQLite" if dialect == "sqlite" else "PostgreSQL"
        for n in NS:
            L.append("")
            L.append("#### %s, N = %d" % (dn, n))
            L.append("")
            L.append("| %s | %s |" % ("figure", " | ".join(NAMES[t] for t in tools)))
            L.append("|---|" + "---|" * len(tools))
            for fig, title in FIGURES:
                row = []
                for t in tools:
                    r = results.get((dialect, n, t, fig))
                    if r:
                        row.append("%s · cpu %s · %.1f MiB (%d)" % (fmt_t(r["median"]), fmt_t(r["cpu"]), r["mem_kib"] / 1024, r["runs"]))
                    elif results.get((dialect, n, t, "failed")):
                        row.append("failed")
                    else:
                        row.append("—")
                L.append("| %s | %s |" % (title, " | ".join(row)))
            L.append("")
            cols = [("luamig ÷ floor", "luamig", "floor"), ("luamig ÷ floor, tx/rev", "luamig", "script"),
                    ("luamig 1 tx ÷ floor", "luamig_1tx", "floor")]
            cols += [("%s ÷ luamig" % NAMES[p], p, "luamig") for p in PEERS if p in tools]
            cols += [("%s ÷ luamig, no index" % NAMES[p], p, "luamig_cold") for p in PEERS if p in tools]
            cols = [c for c in cols if c[1] in tools and c[2] in tools]
            L.append("| ratio of medians | " + " | ".join(c[0] for c in cols) + " |")
            L.append("|---|" + "---|" * len(cols))
            for fig, title in FIGURES:
                row = []
                for _, a, b in cols:
                    x, y = get(dialect, n, a, fig), get(dialect, n, b, fig)
                    row.append(fmt_x(x / y) if x and y else "—")
                L.append("| %s | %s |" % (title, " | ".join(row)))

    L.append("")
    L.append("#### Targets, as measured in this run")
    L.append("")
    nmax = max(NS)
    for dialect in DIALECTS:
        dn = "SQLite" if dialect == "sqlite" else "PostgreSQL"
        for fig in START_UP:
            parts = []
            a, l = get(dialect, nmax, "alembic", fig), get(dialect, nmax, "luamig", fig)
            if a and l:
                parts.append("Alembic ÷ luamig at N=%d %s (%s)" % (nmax, fmt_x(a / l), "met" if a / l >= 20 else "MISSED"))
            dm = []
            for n in NS:
                d_, l = get(dialect, n, "dbmate", fig), get(dialect, n, "luamig", fig)
                if d_ and l:
                    dm.append("N=%d %s%s" % (n, fmt_x(d_ / l), "" if d_ > l else " MISSED"))
            if dm:
                parts.append("dbmate ÷ luamig " + ", ".join(dm))
            # at most linear: from one N to the next, the time grows by no
            # more than N does (a fixed cost plus a cost per revision)
            ls = [(n, get(dialect, n, "luamig", fig)) for n in sorted(NS)]
            ls = [(n, v) for n, v in ls if v]
            if len(ls) >= 2:
                steps = ["N %d→%d ×%s" % (a, b, fmt_x(tb / ta)) for (a, ta), (b, tb) in zip(ls, ls[1:])]
                lin = all(tb / ta <= b / a for (a, ta), (b, tb) in zip(ls, ls[1:]))
                parts.append("growth %s (%s)" % (", ".join(steps), "at most linear" if lin else "FASTER THAN LINEAR"))
            L.append("- %s %s: %s" % (dn, FIG[fig], "; ".join(parts)))
        for t, lim, what in (("luamig_1tx", 1.5, "one transaction"), ("luamig", 3.0, "a transaction per revision")):
            vals = []
            for n in NS:
                x, fl = get(dialect, n, t, "up"), get(dialect, n, "floor", "up")
                if x and fl:
                    vals.append("N=%d %s%s" % (n, fmt_x(x / fl), "" if x / fl <= lim else " MISSED"))
            L.append("- %s upgrade head from empty, %s, within %.1fx of the floor: %s" % (dn, what, lim, ", ".join(vals)))
        peaks = [(k[2], k[3], results[k]["mem_kib"]) for k in results
                 if k[0] == dialect and k[1] == nmax and k[2].startswith("luamig") and isinstance(results[k], dict)]
        if peaks:
            over = ["%s %s %.1f MiB" % (NAMES[t], FIG[f], m / 1024) for t, f, m in peaks if m >= 15 * 1024]
            L.append("- %s peak memory of luamig under 15 MiB at N=%d: highest %.1f MiB; %s" % (
                dn, nmax, max(m for _, _, m in peaks) / 1024, "met" if not over else "MISSED by " + ", ".join(over)))
    fails = [v for k, v in results.items() if k[3] == "failed"]
    if fails:
        L.append("")
        L.append("Failed figures:")
        L += ["- " + f.splitlines()[0] for f in fails]
    text = "\n".join(L) + "\n"
    with open(OUT, "w") as f:
        f.write(text)
    print(text)

main()
PYTHON

$PY "$WORK/peers.py"
