#!/usr/bin/env bash
# User-space instructions per request of `jinn serve` on the order-tax
# function, counted by callgrind: a figure that stays the same on a busy
# machine, where wall-clock req/s does not. Compare two builds by running it
# for each (JINN=...). See bench/README.md.
#
# Usage: bench/callgrind/run.sh     knobs: JINN (binary), WASM, DURATION (5s)
# Prints: "<requests> requests, <instructions> instructions per request".
# The kill switch's timer signal trips callgrind, so the inline budget and
# the timeout are set long enough that the timer never fires in a run.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
JINN=${JINN:-$ROOT/build/release/src/cli/jinn}
WASM=${WASM:-$ROOT/build/release/examples/order-tax/order_tax.wasm}
DURATION=${DURATION:-5s}
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind; }
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -x "$JINN" ] && [ -f "$WASM" ] ||
  (cd "$ROOT" && cmake --preset release >/dev/null && cmake --build --preset release --target jinn jinn_examples)

TMP=$(mktemp -d /tmp/jinn-callgrind.XXXXXX)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
export JINN_CACHE_DIR=${JINN_CACHE_DIR:-$TMP/cache}
cat >"$TMP/jinn.toml" <<CONF
[server]
listen = "127.0.0.1:0"
access_log = "off"
workers = 1
function_threads = 1
inline_budget = "10s"

[[route]]
path = "/order"
methods = ["POST"]
function = "$WASM"
timeout = "20s"
CONF
"$JINN" compile "$WASM" >/dev/null   # the compile is not what is counted
# callgrind counts each step of a rep-prefixed string instruction as one
# instruction, so glibc's memset, which switches to rep stosb at 2 KiB, would
# weigh a few KiB cleared as thousands of instructions (the memory pool's
# reset does that per call): keep glibc on its vector loop, which callgrind
# counts as what it is.
GLIBC_TUNABLES=glibc.cpu.x86_rep_stosb_threshold=1073741824 \
valgrind --tool=callgrind --callgrind-out-file="$TMP/callgrind.out.%p" \
  "$JINN" serve -c "$TMP/jinn.toml" >"$TMP/out" 2>"$TMP/err" &
PID=$!
port=""
for _ in $(seq 600); do
  port=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$TMP/err" | head -n 1 | cut -d: -f2) || true
  [ -n "$port" ] && break
  kill -0 "$PID" 2>/dev/null || { cat "$TMP/err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "callgrind: jinn did not start" >&2; exit 1; }
url="http://127.0.0.1:$port/order"
wrk -t1 -c4 -d2s -s "$ROOT/bench/wrk/post.lua" "$url" >/dev/null   # warm-up
callgrind_control -z "$PID" >/dev/null 2>&1
out=$(wrk -t1 -c4 -d"$DURATION" -s "$ROOT/bench/wrk/post.lua" "$url")
callgrind_control -d "$PID" >/dev/null 2>&1
sleep 1
requests=$(awk '/requests in/ { print $1 }' <<<"$out")
file=$(ls -t "$TMP"/callgrind.out."$PID".* | head -n 1)
total=$(callgrind_annotate "$file" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
awk -v t="$total" -v n="$requests" 'BEGIN { printf "%d requests, %.0f instructions per request\n", n, t / n }'
