#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the release build,
# then the same suite under ASan+UBSan. Usage: scripts/test.sh [--fast]
# (--fast skips the sanitizer pass).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

run_preset() {
  local preset=$1
  echo "== $preset: configure and build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset"
  echo "== $preset: tests"
  ctest --preset "$preset"
}

run_preset release
if [ "${1:-}" != "--fast" ]; then
  # The sanitizer pass keeps its own compile cache so the two builds' artifacts
  # never mix; the stress test runs shorter there (it is 2-5x slower).
  JINN_STRESS_SECONDS=${JINN_STRESS_SECONDS_ASAN:-10} run_preset asan
fi
