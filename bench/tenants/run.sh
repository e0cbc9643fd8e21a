#!/usr/bin/env bash
# Density and first-hit benchmark of functions_dir routes (issue 5): N small
# functions (one .wat source, a different constant each, so N distinct
# modules and N compiled artifacts) deployed as files under one route.
# Reports: compile time, the server's RSS idle with N deployed, the latency
# of the first call of each precompiled function, and RSS after every one
# was called once. The full suite (bench/run.sh) measures the same at
# several sizes.
#
# Usage: bench/tenants/run.sh            N (default 1000) via the environment:
#        N=10000 bench/tenants/run.sh    MAX_LOADED (default 1000): LRU budget
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
N=${N:-1000}
MAX_LOADED=${MAX_LOADED:-1000}
need_jinn
need_packages curl
export JINN_CACHE_DIR=${JINN_CACHE_DIR:-$BENCH_TMP/cache}

log "writing $N functions"
write_tenant_functions "$BENCH_TMP/tenants" 0 "$N"
log "precompiling (jinn compile, 2 at a time, up to 500 files each)"
t0=$(date +%s.%N)
find "$BENCH_TMP/tenants" -name '*.wat' -print0 | xargs -0 -P 2 -n 500 "$JINN" compile >/dev/null
t1=$(date +%s.%N)
COMPILE_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

functions_dir_conf "$BENCH_TMP/jinn.toml" "$BENCH_TMP/tenants" "$MAX_LOADED" 2
bench_spawn /dev/null "$BENCH_TMP/err" "$JINN" serve -c "$BENCH_TMP/jinn.toml"
JINN_PID=$SPAWNED
PORT=$(wait_for_line "$BENCH_TMP/err" 'listening on 127\.0\.0\.1:([0-9]+)' "$JINN_PID") || die "jinn did not start"
sleep 1
IDLE_KB=$(rss_kb "$JINN_PID")

log "first call of each function"
timed_tenant_calls "$PORT" "$BENCH_TMP/first.txt" 0 "$N"
AFTER_KB=$(rss_kb "$JINN_PID")
# A second round of the most recently called ones (still loaded).
LAST=$((N < MAX_LOADED ? N : MAX_LOADED))
timed_tenant_calls "$PORT" "$BENCH_TMP/second.txt" $((N - LAST)) "$LAST"
[ "$(curl -s "http://127.0.0.1:$PORT/t/t0/f0")" = "function 0" ] || die "wrong answer"
cat <<REPORT
| measure | value |
|---|---|
| functions deployed | $N (distinct modules; LRU budget $MAX_LOADED) |
| precompile, \`jinn compile\` x2 in parallel | ${COMPILE_S} s |
| server RSS idle, $N deployed | $((IDLE_KB / 1024)) MiB |
| first call of a precompiled function (curl total), p50 / p99 | $(percentile_ms "$BENCH_TMP/first.txt" 0.5) / $(percentile_ms "$BENCH_TMP/first.txt" 0.99) ms |
| later call of a loaded function (curl total), p50 / p99 | $(percentile_ms "$BENCH_TMP/second.txt" 0.5) / $(percentile_ms "$BENCH_TMP/second.txt" 0.99) ms |
| server RSS after each was called once | $((AFTER_KB / 1024)) MiB |
REPORT
