#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with clang (-fsanitize=fuzzer,
# address,undefined; the engine compiled with the same instrumentation) and
# runs each of them for SECONDS, starting from its seed corpus in
# tests/fuzz/corpus/<target>/. Fails when a target crashes, leaks, trips a
# sanitizer or times out on an input; the input is kept under the build
# folder's artifacts/.
#
#   tests/fuzz/run.sh [SECONDS]          default: $LM_FUZZ_SECONDS, else 60
#                                        (ctest's fuzz.smoke: 60 as well)
#
# Environment:
#   LM_FUZZ_SECONDS   seconds per target (when no argument is given)
#   LM_FUZZ_DEFAULT_SECONDS  the default when neither is given
#   LM_FUZZ_JOBS      targets run at the same time (default: number of CPUs)
#   LM_FUZZ_BUILD     build folder (default: build-fuzz in the repository)
#   LM_FUZZ_TARGETS   which targets, space-separated (default: all: url config
#                     type target graph revindex pyreader normalize txcontrol
#                     sqlite_ddl)
#   LM_FUZZ_NO_INSTALL=1  never install clang; exit 77 (skip) when it is missing
#   LM_FUZZ_SEED, LM_FUZZ_RUNS  a repeatable run: libFuzzer's -seed, and at
#                     most that many inputs per target (the test command's
#                     smoke run sets both; a longer hunt sets neither)
#
# clang and libFuzzer (Debian: clang, libclang-rt-<version>-dev) are
# installed with apt when missing, and only then.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=${1:-${LM_FUZZ_SECONDS:-${LM_FUZZ_DEFAULT_SECONDS:-60}}}
build=${LM_FUZZ_BUILD:-$root/build-fuzz}
targets=${LM_FUZZ_TARGETS:-url config type target graph revindex pyreader normalize txcontrol sqlite_ddl}
CC=${LM_FUZZ_CC:-clang}

log() { printf 'fuzz: %s\n' "$*" >&2; }

case $seconds in
'' | *[!0-9]*)
  log "SECONDS must be a whole number, not '$seconds'"
  exit 2
  ;;
esac

# ---- clang with libFuzzer -------------------------------------------------------

probe_libfuzzer() {
  local dir
  dir=$(mktemp -d)
  printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >"$dir/p.c"
  "$CC" -fsanitize=fuzzer,address,undefined "$dir/p.c" -o "$dir/p" >/dev/null 2>&1
  local rc=$?
  rm -rf "$dir"
  return $rc
}

installed() { [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = "install ok installed" ]; }

if ! command -v "$CC" >/dev/null 2>&1 || ! probe_libfuzzer; then
  if [ "${LM_FUZZ_NO_INSTALL:-0}" = 1 ]; then
    log "clang with libFuzzer is not available (LM_FUZZ_NO_INSTALL=1): skipped"
    exit 77
  fi
  command -v dpkg-query >/dev/null 2>&1 || { log "no clang with libFuzzer, and no apt to install it"; exit 1; }
  missing=()
  installed clang || missing+=(clang)
  if command -v "$CC" >/dev/null 2>&1; then
    ver=$("$CC" -dumpversion | cut -d. -f1)
  else
    ver=
  fi
  if [ -n "$ver" ]; then
    installed "libclang-rt-$ver-dev" || missing+=("libclang-rt-$ver-dev")
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    sudo_cmd=()
    [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
    log "installing ${missing[*]}"
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
    if [ -z "$ver" ]; then # clang was just installed: now its runtime
      ver=$("$CC" -dumpversion | cut -d. -f1)
      installed "libclang-rt-$ver-dev" ||
        "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "libclang-rt-$ver-dev"
    fi
  fi
  probe_libfuzzer || { log "$CC still cannot build a libFuzzer target"; exit 1; }
fi

# ---- build ---------------------------------------------------------------------

mkdir -p "$build"
deps_cflags=$(pkg-config --cflags lua5.4 sqlite3 libpq)
# libpq: headers only; the engine dlopen()s it (engine/dialect/pq_load.c).
deps_libs="$(pkg-config --libs lua5.4 sqlite3) -lm -ldl"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

# A small Makefile does the incremental part (-MMD dependencies).
{
  echo "CC := $CC"
  echo "CFLAGS := -std=gnu11 -g -O1 $san -I$root/include -I$root/engine $deps_cflags"
  echo "LIBS := $deps_libs"
  echo "CORE_SRC := \$(wildcard $root/engine/*.c $root/engine/dialect/*.c $root/bindings/*.c)"
  echo "CORE_OBJ := \$(patsubst $root/%.c,obj/%.o,\$(CORE_SRC))"
  echo "TARGETS := $(for t in $targets; do printf 'fuzz_%s ' "$t"; done)"
  echo "all: \$(TARGETS)"
  echo "obj/%.o: $root/%.c"
  printf '\t@mkdir -p $(dir $@)\n\t$(CC) $(CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@\n'
  echo "fuzz_%.o: $root/tests/fuzz/fuzz_%.c"
  printf '\t$(CC) $(CFLAGS) -Wall -Wextra -Werror -fsanitize=fuzzer -MMD -MP -c $< -o $@\n'
  echo "fuzz_%: fuzz_%.o \$(CORE_OBJ)"
  printf '\t$(CC) $(CFLAGS) -fsanitize=fuzzer $^ $(LIBS) -o $@\n'
  echo ".SECONDARY:"
  echo "-include \$(CORE_OBJ:.o=.d) \$(TARGETS:=.d)"
} >"$build/Makefile"

log "building in $build"
make -s -C "$build" -j"$(nproc 2>/dev/null || echo 2)" >"$build/build.log" 2>&1 || {
  tail -n 60 "$build/build.log" >&2
  log "build failed (full log: $build/build.log)"
  exit 1
}

# ---- run -----------------------------------------------------------------------

# Targets run side by side, LM_FUZZ_JOBS at a time (default: the number of
# CPUs), each for the full SECONDS.
jobs=${LM_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
run_target() {
  local t=$1 seeds=$root/tests/fuzz/corpus/$1 work=$build/corpus/$1
  mkdir -p "$work" "$build/artifacts"
  # New inputs go to the first folder (the build's), never to the seeds.
  local repeat=()
  # LM_FUZZ_SEED and LM_FUZZ_RUNS make a run repeatable: the same mutations
  # in the same order from the seeds alone (the build's own corpus folder is
  # emptied), bounded by a count of inputs as well as by SECONDS.
  if [ -n "${LM_FUZZ_SEED:-}" ]; then
    rm -rf "$work" && mkdir -p "$work"
    repeat+=(-seed="$LM_FUZZ_SEED")
  fi
  [ -z "${LM_FUZZ_RUNS:-}" ] || repeat+=(-runs="$LM_FUZZ_RUNS")
  "$build/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" "${repeat[@]}" \
    "$work" "$seeds" >"$build/$t.log" 2>&1
  echo $? >"$build/$t.status"
}
for t in $targets; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  log "fuzz_$t for ${seconds}s (seeds: tests/fuzz/corpus/$t)"
  rm -f "$build/$t.status"
  run_target "$t" &
done
wait

failed=()
for t in $targets; do
  if [ "$(cat "$build/$t.status" 2>/dev/null)" = 0 ]; then
    grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$build/$t.log" |
      sed "s/^/  fuzz_$t /" >&2 || true
  else
    log "fuzz_$t FAILED; the end of its log ($build/$t.log):"
    tail -n 60 "$build/$t.log" >&2
    for a in "$build/artifacts/$t-"*; do
      [ -e "$a" ] && log "reproduce with: $build/fuzz_$t $a"
    done
    failed+=("$t")
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  log "failed: ${failed[*]}"
  exit 1
fi
log "all targets ran ${seconds}s without a finding"
