#!/usr/bin/env bash
# Builds jinn with profile-guided optimization (GCC) into build/pgo: an
# instrumented build, a training run, then the optimized build. The binary is
# build/pgo/src/cli/jinn; bench/wrk/run.sh measures it as its own row when it
# is there. Why and how much: docs/adr/0005-pgo-build.md.
#
# Training: `jinn serve` (one I/O thread) answers, under wrk, POSTs to the
# order-tax function (HTTP, envelope, a fresh instance per request, the
# response reader) for TRAIN_SECONDS, then GETs proxied to the examples'
# stand-in upstream for a third of that. Code the training does not reach
# keeps the release build's optimization (-fprofile-partial-training), so
# nothing is made slower for lack of a profile; it is only not laid out hot.
# The optimized build also uses link-time optimization.
#
# Usage: scripts/pgo.sh        knobs: TRAIN_SECONDS (10)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$ROOT/build/pgo
TRAIN_SECONDS=${TRAIN_SECONDS:-10}
# shellcheck source=free_port.sh
source "$ROOT/scripts/free_port.sh"

bash scripts/setup.sh
command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }

configure() {  # configure FLAGS LINKER_FLAGS LTO(ON|OFF)
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DJINN_BUILD_BENCH=OFF \
    "-DCMAKE_C_FLAGS=$1" "-DCMAKE_CXX_FLAGS=$1" "-DCMAKE_EXE_LINKER_FLAGS=$2" \
    "-DCMAKE_INTERPROCEDURAL_OPTIMIZATION=$3" >/dev/null
}

echo "pgo: 1/3 instrumented build"
# Atomic counters: the server's threads update them at once.
configure "-fprofile-generate -fprofile-update=atomic" "-fprofile-generate" OFF
find "$BUILD" -name '*.gcda' -delete
cmake --build "$BUILD" --target jinn jinn_examples example_legacy_integration_upstream

echo "pgo: 2/3 training (${TRAIN_SECONDS}s + $((TRAIN_SECONDS / 3))s of wrk)"
WORK=$(mktemp -d /tmp/jinn-pgo.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
"$BUILD/examples/legacy-integration/upstream" 0 >"$WORK/upstream.port" &
PIDS+=($!)
port=$(free_port)
cat >"$WORK/jinn.toml" <<CONF
[server]
listen = "127.0.0.1:$port"
access_log = "off"
workers = 1
function_threads = 1

[[route]]
path = "/order"
methods = ["POST"]
function = "$BUILD/examples/order-tax/order_tax.wasm"

[[route]]
path = "/legacy/*"
proxy = "http://127.0.0.1:UPSTREAM_PORT"
CONF
for _ in $(seq 100); do [ -s "$WORK/upstream.port" ] && break; sleep 0.1; done
sed -i "s/UPSTREAM_PORT/$(head -n 1 "$WORK/upstream.port")/" "$WORK/jinn.toml"
JINN_CACHE_DIR="$WORK/cache" "$BUILD/src/cli/jinn" serve -c "$WORK/jinn.toml" 2>"$WORK/jinn.err" &
JINN_PID=$!
up=""
for _ in $(seq 600); do
  if curl -fsS -o /dev/null -X POST -d '{"id":1,"value":2}' "http://127.0.0.1:$port/order" 2>/dev/null; then
    up=1
    break
  fi
  kill -0 "$JINN_PID" 2>/dev/null || break
  sleep 0.1
done
[ -n "$up" ] || { cat "$WORK/jinn.err" >&2; echo "pgo: jinn did not start" >&2; exit 1; }
wrk -t1 -c64 -d"${TRAIN_SECONDS}s" -s bench/wrk/post.lua "http://127.0.0.1:$port/order" | grep Requests/sec
wrk -t1 -c8 -d"$((TRAIN_SECONDS / 3))s" "http://127.0.0.1:$port/legacy/page" | grep Requests/sec
# The profile is written when the process exits normally.
kill -TERM "$JINN_PID"
wait "$JINN_PID"
profiles=$(find "$BUILD" -name '*.gcda' | wc -l)
[ "$profiles" -gt 0 ] || { echo "pgo: the training wrote no profile" >&2; exit 1; }

echo "pgo: 3/3 optimized build ($profiles profiles)"
# With the profile, link-time optimization inlines by it and pays (ADR 0005).
configure "-fprofile-use -fprofile-partial-training -Wno-missing-profile" "" ON
cmake --build "$BUILD" --target jinn
echo "pgo: built $BUILD/src/cli/jinn"
