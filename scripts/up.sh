#!/usr/bin/env bash
# Installs what is missing, builds jinn (release), and runs the main job: the
# bundled example function under `jinn run`, then `jinn bench` on it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release
JINN=build/release/src/cli/jinn
EXAMPLE=build/release/examples/hello/hello.wasm
echo "== jinn run $EXAMPLE"
echo '{"name":"jinn"}' | "$JINN" run "$EXAMPLE"
echo "== jinn bench (100000 calls)"
echo '{"name":"jinn"}' > build/release/bench-input.json
"$JINN" bench "$EXAMPLE" --requests 100000 --stdin build/release/bench-input.json
