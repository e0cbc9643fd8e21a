#!/usr/bin/env bash
# Installs what is missing, builds jinn (release), and runs the main job: the
# bundled example function under `jinn run` and `jinn bench`, then `jinn serve`
# on the order-tax example config in the foreground (PORT, default 8080;
# Ctrl-C stops it).
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

ORDER_DIR=build/release/examples/order-tax
cp examples/order-tax/jinn.toml "$ORDER_DIR/jinn.toml"
PORT=${PORT:-8080}
echo "== jinn serve -c $ORDER_DIR/jinn.toml (port $PORT)"
echo "   try: curl -s -X POST -d '{\"id\":1,\"value\":100}' http://127.0.0.1:$PORT/order"
PORT=$PORT exec "$JINN" serve -c "$ORDER_DIR/jinn.toml"
