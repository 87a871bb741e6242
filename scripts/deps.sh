#!/usr/bin/env bash
# Installs the system packages luamig needs, but only those that are missing:
# when everything is present, apt is not touched at all.
#   scripts/deps.sh          what building and running luamig needs
#   scripts/deps.sh --test   also what the test suite needs (cmocka, a
#                            PostgreSQL server, clang for libFuzzer, clang-format)
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  liblua5.4-dev libsqlite3-dev libpq-dev sqlite3
)
if [ "${1:-}" = "--test" ]; then
  packages+=(libcmocka-dev postgresql postgresql-client clang-format clang)
  # tests/integration/test_import_alembic.sh runs Alembic itself (SQLite and PostgreSQL)
  packages+=(python3-alembic python3-psycopg2)
  packages+=(pgbouncer) # tests/integration/test_pgbouncer.sh
  # the toolchain tests: SARIF schema validation, the zsh and fish completion
  # scripts, the man page (man, groff, col), the .deb (dpkg-deb)
  packages+=(python3-jsonschema python3-yaml zsh fish man-db groff-base bsdextrautils dpkg shellcheck)
fi

# libFuzzer's runtime comes in libclang-rt-N-dev for the installed clang's
# major version N (Debian 12: 14); older releases ship it inside
# libclang-common-N-dev, so the package is added only where it exists.
clang_rt_package() {
  local major
  major=$(clang --version 2>/dev/null | sed -n 's/.*clang version \([0-9][0-9]*\).*/\1/p' | head -n 1)
  [ -n "$major" ] || return 0
  if apt-cache show "libclang-rt-$major-dev" >/dev/null 2>&1; then
    echo "libclang-rt-$major-dev"
  fi
}
if [ "${1:-}" = "--test" ] && command -v clang >/dev/null 2>&1; then
  rt=$(clang_rt_package)
  [ -z "$rt" ] || packages+=("$rt")
fi

missing=()
for pkg in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all packages present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "deps: missing packages (${missing[*]}) and neither root nor sudo available" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}"
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "${missing[@]}"

# clang was only just installed: its libFuzzer runtime now
if [ "${1:-}" = "--test" ] && [ -z "${rt:-}" ]; then
  rt=$(clang_rt_package)
  if [ -n "$rt" ] && [ "$(dpkg-query -W -f='${Status}' "$rt" 2>/dev/null || true)" != "install ok installed" ]; then
    echo "deps: installing $rt"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$rt"
  fi
fi
