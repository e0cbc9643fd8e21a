#!/usr/bin/env bash
# HTTP benchmark with wrk: the order-tax function served by jinn, against
# nginx answering a constant (the ceiling) and nginx proxying to a native
# backend (the sidecar / warm-container model). See bench/README.md; the
# full suite (bench/run.sh) runs this comparison with more peers.
#
# Usage: bench/wrk/run.sh            (from anywhere; installs wrk and nginx-light)
# Knobs (environment): DURATION (10s), ROUNDS (3), CONNECTIONS (64),
# SERVER_CPU (0), CLIENT_CPU (1), JINN (path of the jinn binary), WASM
# (order_tax.wasm), PGO (1: also measure the profile-guided build of
# scripts/pgo.sh, built first when missing or older than JINN; 0: not).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
source "$ROOT/bench/peers.sh"

DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-64}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
PGO=${PGO:-1}
JINN_PGO=$ROOT/build/pgo/src/cli/jinn
WASM=${WASM:-$ROOT/build/release/examples/order-tax/order_tax.wasm}
RESULTS_DIR="$ROOT/bench/results"
RESULTS="$RESULTS_DIR/wrk-$(date +%Y-%m-%d).md"
LOAD_BEFORE=$(load_average)

need_packages wrk nginx-light curl
command -v taskset >/dev/null || die "taskset (util-linux) is needed"
if ! [ -x "$JINN" ] || ! [ -f "$WASM" ]; then need_jinn jinn_examples; fi
export JINN_CACHE_DIR=${JINN_CACHE_DIR:-$BENCH_TMP/cache}

# Every peer is measured once per round, in the same order, and a peer's
# figure is its median round: a shared VM drifts by 10-20 % within minutes,
# more for the sidecar's 65 threads than for one event loop.
PEERS=(ceiling sidecar jinn1 jinnbusy jinnconst jinndef jinnproxy)
if [ "$PGO" = 1 ]; then
  if ! [ -x "$JINN_PGO" ] || [ "$JINN_PGO" -ot "$JINN" ]; then
    log "building the PGO binary (scripts/pgo.sh, about 5 minutes)"
    bash "$ROOT/scripts/pgo.sh" >&2
  fi
  PEERS+=(jinnpgo)
fi
declare -A LABEL URL RPS P50 P99 NON2XX ERRORS RANGE
declare -A ROUND_RPS ROUND_P50 ROUND_P99   # "<peer> <round>" -> figure
# per_request_us RPS: the server core's time per request, for a server that
# keeps its one core busy (jinn's does here: wrk waits on it).
per_request_us() { awk -v r="${1:-0}" 'BEGIN { printf "%.2f", (r > 0 ? 1e6 / r : 0) }'; }
# measure KEY ROUND: one wrk run of peer KEY, recorded under its round.
measure() {
  run_wrk "${URL[$1]}" "$CLIENT_CPU" 1 "$CONNECTIONS" "$DURATION" "$BENCH_TMP/$1.$2.wrk"
  sed 's/^/    /' "$BENCH_TMP/$1.$2.wrk" >&2
  ROUND_RPS["$1 $2"]=$WRK_RPS
  ROUND_P50["$1 $2"]=$WRK_P50
  ROUND_P99["$1 $2"]=$WRK_P99
  NON2XX[$1]=$((${NON2XX[$1]:-0} + WRK_NON2XX))
  ERRORS[$1]=$((${ERRORS[$1]:-0} + WRK_ERRORS))
}
# median KEY: sets RPS, P50, P99 from KEY's median round (by req/s), RANGE.
median() {
  local r order
  order=$(for r in $(seq "$ROUNDS"); do echo "${ROUND_RPS["$1 $r"]} $r"; done | sort -n)
  r=$(sed -n "$(((ROUNDS + 1) / 2))p" <<<"$order" | cut -d' ' -f2)
  RPS[$1]=${ROUND_RPS["$1 $r"]}
  P50[$1]=${ROUND_P50["$1 $r"]}
  P99[$1]=${ROUND_P99["$1 $r"]}
  RANGE[$1]="$(head -n 1 <<<"$order" | cut -d' ' -f1)–$(tail -n 1 <<<"$order" | cut -d' ' -f1)"
}

start_backend "$SERVER_CPU"
start_nginx "$SERVER_CPU" 1
LABEL[ceiling]="nginx \`return 200\` (ceiling)"
URL[ceiling]="http://127.0.0.1:$NGINX_RETURN_PORT"
LABEL[sidecar]="nginx → native backend (sidecar)"
URL[sidecar]="http://127.0.0.1:$NGINX_PROXY_PORT"
start_jinn jinn1 "$WASM" "$SERVER_CPU" $'workers = 1\nfunction_threads = 1'
LABEL[jinn1]="jinn, order_tax.wasm, workers=1 function_threads=1"
URL[jinn1]=$JINN_URL
# The same with busy polling (src/config/schema.md, busy_poll): the I/O
# thread polls for 1 ms after each burst instead of sleeping at once.
start_jinn jinnbusy "$WASM" "$SERVER_CPU" $'workers = 1\nfunction_threads = 1\nbusy_poll = "1ms"'
LABEL[jinnbusy]="jinn, order_tax.wasm, workers=1 function_threads=1 busy_poll=1ms"
URL[jinnbusy]=$JINN_URL
# The same configuration, built with profile-guided optimization.
if [ "$PGO" = 1 ]; then
  JINN_RELEASE=$JINN
  JINN=$JINN_PGO
  start_jinn jinnpgo "$WASM" "$SERVER_CPU" $'workers = 1\nfunction_threads = 1\nbusy_poll = "1ms"'
  JINN=$JINN_RELEASE
  LABEL[jinnpgo]="jinn (PGO build, scripts/pgo.sh), order_tax.wasm, workers=1 function_threads=1 busy_poll=1ms"
  URL[jinnpgo]=$JINN_URL
fi
# The same answer from a function that does no work: what jinn costs per
# request around any function (bench/guests/constant_answer.c).
clang --target=wasm32-wasi -O2 -Wl,--strip-all "$ROOT/bench/guests/constant_answer.c" -o "$BENCH_TMP/constant_answer.wasm"
start_jinn jinnconst "$BENCH_TMP/constant_answer.wasm" "$SERVER_CPU" $'workers = 1\nfunction_threads = 1'
LABEL[jinnconst]="jinn, constant_answer.wasm (no work in the function), workers=1 function_threads=1"
URL[jinnconst]=$JINN_URL
start_jinn jinndef "$WASM" "$SERVER_CPU" ""
LABEL[jinndef]="jinn, order_tax.wasm, default workers/threads"
URL[jinndef]=$JINN_URL
# Not the goal, a comparison: jinn itself as the sidecar's proxy, in front
# of the same backend (what a route not migrated yet costs).
start_jinn_proxy jinnproxy "$SERVER_CPU" $'workers = 1\nfunction_threads = 1'
LABEL[jinnproxy]="jinn → native backend (a proxy route), workers=1"
URL[jinnproxy]=$JINN_URL
# The servers not being measured sit idle (nginx, the backend and jinn wait
# in epoll; jinn's sweep wakes every 100 ms).
for round in $(seq "$ROUNDS"); do
  log "round $round of $ROUNDS"
  for peer in "${PEERS[@]}"; do measure "$peer" "$round"; done
done
bench_stop_all
for peer in "${PEERS[@]}"; do median "$peer"; done
ROUND_RATIOS=()
BUSY_ROUND_RATIOS=()
PGO_ROUND_RATIOS=()
for round in $(seq "$ROUNDS"); do
  ROUND_RATIOS+=("$(ratio "${ROUND_RPS["jinn1 $round"]}" "${ROUND_RPS["sidecar $round"]}")")
  BUSY_ROUND_RATIOS+=("$(ratio "${ROUND_RPS["jinnbusy $round"]}" "${ROUND_RPS["sidecar $round"]}")")
  if [ "$PGO" = 1 ]; then
    PGO_ROUND_RATIOS+=("$(ratio "${ROUND_RPS["jinnpgo $round"]}" "${ROUND_RPS["sidecar $round"]}")")
  fi
done

mkdir -p "$RESULTS_DIR"
{
  echo "# wrk benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- machine: $(machine_line)"
  echo "- load average before the run: $LOAD_BEFORE (the machine is shared)"
  echo "- jinn: $(jinn_revision), $(basename "$WASM")"
  echo "- $($NGINX -v 2>&1), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
  echo "- servers (nginx, native backend, jinn) pinned to CPU $SERVER_CPU; wrk pinned to CPU $CLIENT_CPU"
  echo "- $ROUNDS rounds, each measuring every peer in turn: one checked request, ${WARMUP:-2s} warm-up, then \`wrk -t1 -c$CONNECTIONS -d$DURATION --latency -s bench/wrk/post.lua\`"
  echo "  (POST \`$ORDER\`); access logs off everywhere"
  echo
  echo "| peer | req/s (median of $ROUNDS) | range | p50 | p99 | non-2xx | socket errors |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for peer in "${PEERS[@]}"; do
    echo "| ${LABEL[$peer]} | ${RPS[$peer]} | ${RANGE[$peer]} | $(us_to_ms "${P50[$peer]}") ms | $(us_to_ms "${P99[$peer]}") ms | ${NON2XX[$peer]} | ${ERRORS[$peer]} |"
  done
  echo
  echo "p50 and p99 are those of the median round."
  echo
  echo "| ratio (of medians) | value | goal |"
  echo "|---|---:|---:|"
  echo "| jinn (1/1) / ceiling | $(ratio "${RPS[jinn1]}" "${RPS[ceiling]}") | ≥ 0.3 |"
  echo "| jinn (1/1) / sidecar | $(ratio "${RPS[jinn1]}" "${RPS[sidecar]}") | ≥ 2.5 |"
  echo "| jinn (1/1, busy_poll) / ceiling | $(ratio "${RPS[jinnbusy]}" "${RPS[ceiling]}") | ≥ 0.3 |"
  echo "| jinn (1/1, busy_poll) / sidecar | $(ratio "${RPS[jinnbusy]}" "${RPS[sidecar]}") | ≥ 2.5 |"
  if [ "$PGO" = 1 ]; then
    echo "| jinn (PGO build, 1/1, busy_poll) / ceiling | $(ratio "${RPS[jinnpgo]}" "${RPS[ceiling]}") | ≥ 0.3 |"
    echo "| jinn (PGO build, 1/1, busy_poll) / sidecar | $(ratio "${RPS[jinnpgo]}" "${RPS[sidecar]}") | ≥ 2.5 |"
  fi
  echo "| jinn (defaults) / ceiling | $(ratio "${RPS[jinndef]}" "${RPS[ceiling]}") | ≥ 0.3 |"
  echo "| jinn (defaults) / sidecar | $(ratio "${RPS[jinndef]}" "${RPS[sidecar]}") | ≥ 2.5 |"
  echo "| jinn, constant answer (1/1) / sidecar | $(ratio "${RPS[jinnconst]}" "${RPS[sidecar]}") | (diagnostic) |"
  echo "| jinn as the proxy / nginx as the proxy (sidecar) | $(ratio "${RPS[jinnproxy]}" "${RPS[sidecar]}") | (comparison) |"
  echo
  echo "jinn (1/1) / sidecar in each round: ${ROUND_RATIOS[*]}; with busy_poll: ${BUSY_ROUND_RATIOS[*]}${PGO_ROUND_RATIOS:+; PGO build with busy_poll: ${PGO_ROUND_RATIOS[*]}}."
  echo
  echo "Server core time per request (1 / req/s; the core is saturated): $(per_request_us "${RPS[jinn1]}") µs for order_tax, $(per_request_us "${RPS[jinnconst]}") µs for the constant answer,"
  echo "so order_tax.c's own work costs $(awk -v a="${RPS[jinn1]}" -v b="${RPS[jinnconst]}" 'BEGIN { printf "%.2f", 1e6 / a - 1e6 / b }') µs of each request here."
} >"$RESULTS"
cat "$RESULTS"
log "written to ${RESULTS#"$ROOT"/}"
