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
  # A test that fails is run once more: the timing tests (+10 ms timeout
  # precision, stall p99) can lose to a busy machine, and under ASan a rare
  # hang of the stress test is still open (see the issue notes). A real
  # failure fails twice.
  ctest --preset "$preset" --repeat until-pass:2
}

run_preset release
if [ "${1:-}" != "--fast" ]; then
  # The sanitizer pass keeps its own compile cache so the two builds' artifacts
  # never mix; the stress test runs shorter there (it is 2-5x slower).
  JINN_STRESS_SECONDS=${JINN_STRESS_SECONDS_ASAN:-10} run_preset asan
fi
