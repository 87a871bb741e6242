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
  packages+=(libcmocka-dev postgresql postgresql-client clang-format clang libclang-rt-14-dev)
  packages+=(pgbouncer) # tests/integration/test_pgbouncer.sh
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
