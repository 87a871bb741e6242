#!/usr/bin/env bash
# Many databases (SPEC §11): one `luamig upgrade head --all --jobs J` against
# the two ways a team does it without targets: a shell loop running
# `luamig upgrade head` once per database, and `xargs -P J` running the same
# commands J at a time. A 20-revision chain, on N SQLite files and on N
# PostgreSQL schemas of one database; each way starts from empty targets and
# ends with every target at head (the script checks it).
#
#   bench/fleet.sh                     (run from the repository root)
#
# Environment:
#   LUAMIG=path     the binary (default build/luamig)
#   N=100           targets per dialect
#   JOBS=4          --jobs and xargs -P
#   ROUNDS=3        rounds of fleet and xargs, alternating (medians reported;
#                   the loop runs once)
#   BIG=2000        targets of the listing/scheduling figure (current --all
#                   over BIG empty SQLite files; 0 skips it)
#   DIALECTS="sqlite postgresql"
#   PG_ENV=file     a file setting PGHOST, PGPORT, PGUSER, PGPASSWORD for a
#                   server to use (e.g. build/pgtest/env of the test fixture);
#                   without it the script starts a throwaway server with
#                   tests/pg_server.sh and stops it at the end
#   WORK=dir        scratch folder (default: new under /tmp, removed at the end
#                   unless KEEP=1)
#
# Figures: wall seconds of each way, and the peak memory of the whole fleet
# run: the largest sum of the resident sizes of luamig and all its children,
# sampled every 20 ms (children share the parent's pages copy-on-write, so
# the sum over-counts: an upper bound), with the largest single process from
# /usr/bin/time -v when it is installed. One run of each: the machine this
# was written on is shared, so read the ratios, not the seconds.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
LUAMIG=${LUAMIG:-$here/build/luamig}
LUAMIG=$(cd "$(dirname "$LUAMIG")" && pwd)/$(basename "$LUAMIG")
N=${N:-100}
JOBS=${JOBS:-4}
BIG=${BIG:-2000}
ROUNDS=${ROUNDS:-3}
DIALECTS=${DIALECTS:-sqlite postgresql}
WORK=${WORK:-$(mktemp -d /tmp/luamig-bench-fleet.XXXXXX)}
mkdir -p "$WORK"
export LUAMIG_CACHE_DIR=$WORK/cache
started_pg=""

cleanup() {
  [ -n "$started_pg" ] && bash "$here/tests/pg_server.sh" stop "$started_pg" >/dev/null 2>&1 || true
  [ "${KEEP:-0}" = 1 ] || rm -rf "$WORK"
}
trap cleanup EXIT

now() { date +%s.%N; }

# measure CMD...: runs CMD under /usr/bin/time (or bash's clock); prints
# "WALL CPU" seconds, CPU being user + sys of CMD and all its children.
measure() {
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f '%e %U %S' -o "$WORK/m.txt" "$@" >/dev/null 2>&1 || {
      echo "failed: $*" >&2
      exit 1
    }
    awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$WORK/m.txt"
  else
    local t0 t1
    t0=$(now)
    "$@" >/dev/null 2>&1
    t1=$(now)
    echo "$(secs "$t0" "$t1") ?"
  fi
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# compare LABEL FRESH_FN FLEET_CMD LOOP_CMD XARGS_CMD: ROUNDS rounds of
# fleet, xargs (alternating, each from fresh targets), one loop; a report row.
compare() {
  local label=$1 fresh=$2 fleet_cmd=$3 loop_cmd=$4 xargs_cmd=$5 w c lw lc
  local -a fw=() fc=() xw=() xc=() ratio=()
  for _ in $(seq 1 "$ROUNDS"); do
    "$fresh"
    read -r w c < <(measure sh -c "$fleet_cmd")
    fw+=("$w") fc+=("$c")
    check_at_head "fleet"
    "$fresh"
    read -r w c < <(measure sh -c "$xargs_cmd")
    xw+=("$w") xc+=("$c")
    check_at_head "xargs"
    ratio+=("$(awk -v a="$w" -v b="${fw[-1]}" 'BEGIN { printf "%.2f", a / b }')")
  done
  "$fresh"
  read -r lw lc < <(measure sh -c "$loop_cmd")
  check_at_head "loop"
  local mfw mxw
  mfw=$(median "${fw[@]}")
  mxw=$(median "${xw[@]}")
  row "| $label | $mfw s (cpu $(median "${fc[@]}") s) | $lw s (cpu $lc s) | $mxw s (cpu $(median "${xc[@]}") s) | $(awk -v a="$lw" -v b="$mfw" 'BEGIN { printf "%.1f", a / b }')x | $(median "${ratio[@]}")x ($(printf '%s ' "${ratio[@]}" | sed 's/ $//')) | $PEAK |"
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# peak_tree_kib PID: the largest sum of VmRSS over PID and its descendants
# while PID runs (printed when it ends).
peak_tree_kib() {
  local pid=$1 peak=0 sum
  while kill -0 "$pid" 2>/dev/null; do
    sum=$(ps -o rss= --pid "$pid" --ppid "$pid" 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
    [ "$sum" -gt "$peak" ] && peak=$sum
    sleep 0.02
  done
  echo "$peak"
}

# timed_fleet OUTFILE CMD...: runs CMD (a luamig fleet run), prints
# "SECONDS TREE_PEAK_KIB SINGLE_PEAK_KIB".
timed_fleet() {
  local out=$1 t0 t1 tree single="?"
  shift
  t0=$(now)
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v -o "$WORK/time.txt" "$@" >"$out" 2>&1 &
  else
    "$@" >"$out" 2>&1 &
  fi
  local pid=$!
  tree=$(peak_tree_kib "$pid")
  wait "$pid" || {
    echo "fleet run failed: $*" >&2
    tail -5 "$out" >&2
    exit 1
  }
  t1=$(now)
  [ -f "$WORK/time.txt" ] && single=$(awk -F': ' '/Maximum resident/ { print $2 }' "$WORK/time.txt")
  echo "$(secs "$t0" "$t1") $tree $single"
}

# the chain: 20 revisions; each creates a table with an index, every fifth
# also adds a column to the table before it
write_chain() {
  local dir=$1 i down id
  mkdir -p "$dir/versions"
  for i in $(seq 1 20); do
    id=$(printf 'f%011d' "$i")
    down=nil
    [ "$i" -gt 1 ] && down="\"$(printf 'f%011d' $((i - 1)))\""
    {
      echo "revision = \"$id\""
      echo "down_revision = $down"
      echo "function upgrade()"
      echo "  op.create_table(\"t$i\", op.column(\"id\", \"integer\", { primary_key = true }),"
      echo "    op.column(\"name\", \"string(50)\", { nullable = true }))"
      echo "  op.create_index(\"ix_t${i}_name\", \"t$i\", { \"name\" })"
      [ $((i % 5)) = 0 ] && echo "  op.add_column(\"t$((i - 1))\", op.column(\"note\", \"text\", { nullable = true }))"
      echo "end"
      echo "function downgrade() op.drop_table(\"t$i\") end"
    } >"$dir/versions/${id}_t$i.lua"
  done
}

declare -a REPORT=()
row() { REPORT+=("$1"); }

# ---- SQLite ---------------------------------------------------------------------------

bench_sqlite() {
  local dir=$WORK/sqlite i
  mkdir -p "$dir"
  write_chain "$dir"
  cat >"$dir/luamig.lua" <<'EOF'
return {
  versions = { "versions" },
  targets = { { name = "local_*", glob = "data/*.db" } },
}
EOF
  fresh() {
    rm -rf "$dir/data"
    mkdir -p "$dir/data"
    for i in $(seq -w 1 "$N"); do : >"$dir/data/db$i.db"; done
  }
  check_at_head() {
    local n
    n=$(cd "$dir" && "$LUAMIG" current --all | grep -c "(head)$" || true)
    [ "$n" = "$N" ] || {
      echo "sqlite: $1 left $n of $N targets at head" >&2
      exit 1
    }
  }
  cd "$dir"
  "$LUAMIG" history >/dev/null # the revision index, warm for every way
  fresh
  read -r _ tree single < <(timed_fleet "$WORK/sqlite-fleet.out" "$LUAMIG" upgrade head --all --jobs "$JOBS")
  check_at_head fleet
  PEAK="$((tree / 1024)) MiB (largest process: $((${single:-0} / 1024)) MiB)"
  compare "SQLite, $N files" fresh "$LUAMIG upgrade head --all --jobs $JOBS" \
    "for f in data/*.db; do $LUAMIG --url sqlite:///\$f -q upgrade head || exit 1; done" \
    "printf '%s\\n' data/*.db | sed 's|^|sqlite:///|' | xargs -P $JOBS -I{} $LUAMIG --url {} -q upgrade head"
  cd "$here"
}

# ---- PostgreSQL schemas ------------------------------------------------------------------

bench_pg() {
  if [ -n "${PG_ENV:-}" ]; then
    # shellcheck disable=SC1090
    . "$PG_ENV"
  else
    started_pg=$WORK/pg
    bash "$here/tests/pg_server.sh" start "$started_pg" >/dev/null
    # shellcheck disable=SC1091
    . "$started_pg/env"
  fi
  export PGHOST PGPORT PGUSER PGPASSWORD
  local db=luamig_bench_fleet dir=$WORK/pg-project i s
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  local url="postgresql://$PGUSER@$PGHOST:$PGPORT/$db"
  mkdir -p "$dir"
  write_chain "$dir"
  cat >"$dir/luamig.lua" <<EOF
return {
  versions = { "versions" },
  targets = { { name = "tenant_*", url = "$url",
    schemas = "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\\\\_%' ORDER BY 1" } },
}
EOF
  # the loop and xargs: one config per schema, as a team would write them
  mkdir -p "$dir/one"
  for i in $(seq -w 1 "$N"); do
    s=tenant_$i
    printf 'return {\n  url = "%s?options=-csearch_path%%3D%s",\n  version_table_schema = "%s",\n  versions = { "../versions" },\n}\n' \
      "$url" "$s" "$s" >"$dir/one/$s.lua"
  done
  fresh() {
    {
      echo "DROP SCHEMA IF EXISTS public CASCADE;"
      for i in $(seq -w 1 "$N"); do echo "DROP SCHEMA IF EXISTS tenant_$i CASCADE; CREATE SCHEMA tenant_$i;"; done
    } | psql -X -q -d "$db" -v ON_ERROR_STOP=1 >/dev/null 2>&1
  }
  check_at_head() {
    local n
    n=$(cd "$dir" && "$LUAMIG" current --all | grep -c "(head)$" || true)
    [ "$n" = "$N" ] || {
      echo "postgresql: $1 left $n of $N schemas at head" >&2
      exit 1
    }
  }
  cd "$dir"
  "$LUAMIG" history >/dev/null
  fresh
  read -r _ tree single < <(timed_fleet "$WORK/pg-fleet.out" "$LUAMIG" upgrade head --all --jobs "$JOBS")
  check_at_head fleet
  PEAK="$((tree / 1024)) MiB (largest process: $((${single:-0} / 1024)) MiB)"
  compare "PostgreSQL, $N schemas of one database" fresh "$LUAMIG upgrade head --all --jobs $JOBS" \
    "for f in one/*.lua; do $LUAMIG -c \$f -q upgrade head || exit 1; done" \
    "printf '%s\\n' one/*.lua | xargs -P $JOBS -I{} $LUAMIG -c {} -q upgrade head"
  psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  cd "$here"
}

# ---- listing and scheduling BIG targets ----------------------------------------------------

bench_big() {
  local dir=$WORK/big i
  mkdir -p "$dir/data"
  write_chain "$dir"
  cat >"$dir/luamig.lua" <<'EOF'
return {
  versions = { "versions" },
  targets = { { name = "local_*", glob = "data/*.db" } },
}
EOF
  for i in $(seq -w 1 "$BIG"); do : >"$dir/data/db$i.db"; done
  cd "$dir"
  read -r big_s big_tree big_single < <(timed_fleet "$WORK/big.out" "$LUAMIG" current --all --jobs "$JOBS")
  grep -q "^$BIG targets" "$WORK/big.out" || {
    echo "big: unexpected summary: $(tail -1 "$WORK/big.out")" >&2
    exit 1
  }
  row "| \`current --all\`, $BIG empty SQLite files | $big_s s | | | | | $((big_tree / 1024)) MiB (largest process: $((${big_single:-0} / 1024)) MiB) |"
  cd "$here"
}

for d in $DIALECTS; do
  case $d in
  sqlite) bench_sqlite ;;
  postgresql) bench_pg ;;
  esac
done
[ "$BIG" -gt 0 ] && bench_big

echo
echo "luamig $("$LUAMIG" --version | awk '{ print $2 }'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), 20-revision chain, --jobs $JOBS / xargs -P $JOBS"
echo
echo "| targets | \`upgrade head --all\` (median) | shell loop | \`xargs -P $JOBS\` (median) | loop / fleet | xargs / fleet (median, per round) | peak memory of the fleet run (sum over its processes) |"
echo "|---|---|---|---|---|---|---|"
printf '%s\n' "${REPORT[@]}"
