#!/usr/bin/env bash
# The README's first command: installs what is missing, builds luamig and runs
# the repository's own demo chain (versions/) on the embedded SQLite default
# configured in luamig.lua, then shows what was applied.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1

bash scripts/deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLUAMIG_TESTS=OFF
cmake --build build -j2

echo
echo "\$ luamig upgrade head"
./build/luamig upgrade head
echo
echo "\$ luamig current"
./build/luamig current
echo
echo "\$ luamig history"
./build/luamig history
