#!/usr/bin/env bash
# HTTP benchmark with wrk: the order-tax function served by jinn, against
# nginx answering a constant (the ceiling) and nginx proxying to a native
# backend (the sidecar / warm-container model). See bench/README.md; the
# full suite (bench/run.sh) runs this comparison with more peers.
#
# Usage: bench/wrk/run.sh            (from anywhere; installs wrk and nginx-light)
# Knobs (environment): DURATION (10s), CONNECTIONS (64), SERVER_CPU (0),
# CLIENT_CPU (1), JINN (path of the jinn binary), WASM (order_tax.wasm).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$ROOT/bench/peers.sh"

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
WASM=${WASM:-$ROOT/build/release/examples/order-tax/order_tax.wasm}
RESULTS_DIR="$ROOT/bench/results"
RESULTS="$RESULTS_DIR/wrk-$(date +%Y-%m-%d).md"
LOAD_BEFORE=$(load_average)

need_packages wrk nginx-light curl
command -v taskset >/dev/null || die "taskset (util-linux) is needed"
if ! [ -x "$JINN" ] || ! [ -f "$WASM" ]; then need_jinn jinn_examples; fi
export JINN_CACHE_DIR=${JINN_CACHE_DIR:-$BENCH_TMP/cache}

ROWS=()
declare -A RPS
# per_request_us RPS: the server core's time per request, for a server that
# keeps its one core busy (jinn's does here: wrk waits on it).
per_request_us() { awk -v r="${1:-0}" 'BEGIN { printf "%.2f", (r > 0 ? 1e6 / r : 0) }'; }
# measure KEY LABEL URL: appends a table row and records req/s in RPS[KEY].
measure() {
  run_wrk "$3" "$CLIENT_CPU" 1 "$CONNECTIONS" "$DURATION" "$BENCH_TMP/$1.wrk"
  sed 's/^/    /' "$BENCH_TMP/$1.wrk" >&2
  RPS[$1]=$WRK_RPS
  ROWS+=("| $2 | $WRK_RPS | $(us_to_ms "$WRK_P50") ms | $(us_to_ms "$WRK_P99") ms | $WRK_NON2XX | $WRK_ERRORS |")
}

start_backend "$SERVER_CPU"
start_nginx "$SERVER_CPU" 1
measure ceiling "nginx \`return 200\` (ceiling)" "http://127.0.0.1:$NGINX_RETURN_PORT"
measure sidecar "nginx → native backend (sidecar)" "http://127.0.0.1:$NGINX_PROXY_PORT"
start_jinn jinn1 "$WASM" "$SERVER_CPU" $'workers = 1\nfunction_threads = 1'
measure jinn1 "jinn, order_tax.wasm, workers=1 function_threads=1" "$JINN_URL"
bench_stop "$JINN_PID"
# The same answer from a function that does no work: what jinn costs per
# request around any function (bench/guests/constant_answer.c).
clang --target=wasm32-wasi -O2 -Wl,--strip-all "$ROOT/bench/guests/constant_answer.c" -o "$BENCH_TMP/constant_answer.wasm"
start_jinn jinnconst "$BENCH_TMP/constant_answer.wasm" "$SERVER_CPU" $'workers = 1\nfunction_threads = 1'
measure jinnconst "jinn, constant_answer.wasm (no work in the function), workers=1 function_threads=1" "$JINN_URL"
bench_stop "$JINN_PID"
start_jinn jinndef "$WASM" "$SERVER_CPU" ""
measure jinndef "jinn, order_tax.wasm, default workers/threads" "$JINN_URL"
bench_stop "$JINN_PID"

mkdir -p "$RESULTS_DIR"
{
  echo "# wrk benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- machine: $(machine_line)"
  echo "- load average before the run: $LOAD_BEFORE (the machine is shared)"
  echo "- jinn: $(jinn_revision), $(basename "$WASM")"
  echo "- $($NGINX -v 2>&1), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
  echo "- servers (nginx, native backend, jinn) pinned to CPU $SERVER_CPU; wrk pinned to CPU $CLIENT_CPU"
  echo "- each peer: one checked request, ${WARMUP:-2s} warm-up, then \`wrk -t1 -c$CONNECTIONS -d$DURATION --latency -s bench/wrk/post.lua\`"
  echo "  (POST \`$ORDER\`); access logs off everywhere"
  echo
  echo "| peer | req/s | p50 | p99 | non-2xx | socket errors |"
  echo "|---|---:|---:|---:|---:|---:|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "| ratio | value | goal |"
  echo "|---|---:|---:|"
  echo "| jinn (1/1) / ceiling | $(ratio "${RPS[jinn1]}" "${RPS[ceiling]}") | ≥ 0.3 |"
  echo "| jinn (1/1) / sidecar | $(ratio "${RPS[jinn1]}" "${RPS[sidecar]}") | ≥ 2.5 |"
  echo "| jinn (defaults) / ceiling | $(ratio "${RPS[jinndef]}" "${RPS[ceiling]}") | ≥ 0.3 |"
  echo "| jinn (defaults) / sidecar | $(ratio "${RPS[jinndef]}" "${RPS[sidecar]}") | ≥ 2.5 |"
  echo "| jinn, constant answer (1/1) / sidecar | $(ratio "${RPS[jinnconst]}" "${RPS[sidecar]}") | (diagnostic) |"
  echo
  echo "Server core time per request (1 / req/s; the core is saturated): $(per_request_us "${RPS[jinn1]}") µs for order_tax, $(per_request_us "${RPS[jinnconst]}") µs for the constant answer,"
  echo "so order_tax.c's own work costs $(awk -v a="${RPS[jinn1]}" -v b="${RPS[jinnconst]}" 'BEGIN { printf "%.2f", 1e6 / a - 1e6 / b }') µs of each request here."
} >"$RESULTS"
cat "$RESULTS"
log "written to ${RESULTS#"$ROOT"/}"
