#!/usr/bin/env bash
# The README's second command (and CI's, through .ci/run): installs what is
# missing, checks formatting, builds with -Werror and runs the unit tests and a
# short libFuzzer run, then builds with AddressSanitizer + UBSan and runs the
# whole ctest suite there (unit tests, and the integration tests on SQLite and
# on a throwaway PostgreSQL server).
# Every stage runs even when an earlier one failed; the exit status is non-zero
# when anything failed.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

jobs=2
failed=()

stage() { printf '\n==== %s ====\n' "$*"; }

stage "dependencies"
bash scripts/deps.sh --test || { echo "test: dependency installation failed" >&2; exit 1; }

stage "formatting (clang-format --dry-run --Werror)"
format_dirs=()
for d in engine bindings include tests/unit; do [ -d "$d" ] && format_dirs+=("$d"); done
if [ ${#format_dirs[@]} -gt 0 ]; then
  if find "${format_dirs[@]}" -type f \( -name '*.c' -o -name '*.h' \) -print0 |
    xargs -0 -r clang-format --dry-run --Werror; then
    echo "formatting ok"
  else
    failed+=("formatting")
  fi
fi

# build_and_test NAME BUILD_DIR CTEST_ARGS [CMAKE_ARGS...]
build_and_test() {
  local name=$1 dir=$2 select=$3
  shift 3
  stage "build: $name ($dir)"
  if ! cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" ||
    ! cmake --build "$dir" -j"$jobs"; then
    failed+=("build $name")
    return
  fi
  stage "ctest: $name"
  # --no-tests=error: a stage that finds no test (a build configured without
  # them) fails instead of passing with "No tests were found".
  # shellcheck disable=SC2086 # $select is a list of ctest options
  if ! ctest --test-dir "$dir" --output-on-failure --no-tests=error -j"$jobs" --timeout 600 $select; then
    failed+=("tests $name")
  fi
}

# The normal (optimised, -Werror) build runs the unit tests and the libFuzzer
# smoke run; the whole suite, integration tests included, runs once, in the
# AddressSanitizer + UndefinedBehaviorSanitizer build, which is where it finds
# the most. Running the integration tests twice would double the time for
# little more.
# Each stage says what it needs: build/ may have been configured by demo.sh
# without the tests.
build_and_test "normal" build "-LE integration" -DLUAMIG_TESTS=ON -DLUAMIG_SANITIZE=OFF

# handle_sigill: UBSan's checks trap (LUAMIG_UBSAN_TRAP, see CMakeLists.txt);
# ASan reports the trap with its stack and file:line.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:handle_sigill=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
build_and_test "sanitizers" build-asan "" -DLUAMIG_TESTS=ON -DLUAMIG_SANITIZE=ON

stage "summary"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "all checks passed"
