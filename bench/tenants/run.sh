#!/usr/bin/env bash
# Density and first-hit benchmark of functions_dir routes (issue 5): N small
# functions (one .wat source, a different constant each, so N distinct
# modules and N compiled artifacts) deployed as files under one route.
# Reports: compile time, the server's RSS idle with N deployed, the latency
# of the first call of each precompiled function, and RSS after every one
# was called once.
#
# Usage: bench/tenants/run.sh            N (default 1000) via the environment:
#        N=10000 bench/tenants/run.sh    MAX_LOADED (default 1000): LRU budget
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
N=${N:-1000}
MAX_LOADED=${MAX_LOADED:-1000}
JINN=${JINN:-$ROOT/build/release/src/cli/jinn}
[ -x "$JINN" ] || (cd "$ROOT" && cmake --preset release >/dev/null && cmake --build --preset release --target jinn)
command -v curl >/dev/null || { apt-get update -qq && apt-get install -y -qq curl; }
TMP=$(mktemp -d /tmp/jinn-tenants.XXXXXX)
JINN_PID=""
cleanup() { [ -n "$JINN_PID" ] && kill "$JINN_PID" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
export JINN_CACHE_DIR=${JINN_CACHE_DIR:-$TMP/cache}

# One tenant per 10 functions: tenants/t<k>/f<i>.wat
echo "bench: writing $N functions" >&2
for ((i = 0; i < N; i++)); do
  d="$TMP/tenants/t$((i / 10))"
  mkdir -p "$d"
  cat >"$d/f$i.wat" <<WAT
(module
  (import "wasi_snapshot_preview1" "fd_write" (func \$fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "{\"status\":200,\"body\":\"function $i\"}\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const $(printf '{"status":200,"body":"function %d"}\n' "$i" | wc -c)))
    (drop (call \$fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
WAT
done

echo "bench: precompiling (jinn compile, 2 at a time, up to 500 files each)" >&2
t0=$(date +%s.%N)
find "$TMP/tenants" -name '*.wat' -print0 | xargs -0 -P 2 -n 500 "$JINN" compile >/dev/null
t1=$(date +%s.%N)
COMPILE_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')

cat >"$TMP/jinn.toml" <<CONF
[server]
listen = "127.0.0.1:0"
access_log = "off"
workers = 1
function_threads = 2
max_loaded_functions = $MAX_LOADED
first_hit_wait = "30s"

[[route]]
path = "/t/{tenant}/{function}"
functions_dir = "$TMP/tenants/{tenant}/{function}.wat"
CONF
"$JINN" serve -c "$TMP/jinn.toml" >/dev/null 2>"$TMP/err" &
JINN_PID=$!
for ((w = 0; w < 300; w++)); do grep -q listening "$TMP/err" && break; sleep 0.1; done
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/err")
rss() { awk '/VmRSS/ { print $2 }' "/proc/$JINN_PID/status"; }
sleep 1
IDLE_KB=$(rss)

# One curl process over one kept-alive connection, so the times are the
# server's and the loopback's, not curl's start-up.
timed() {  # timed OUT FIRST COUNT: GETs f<FIRST>..f<FIRST+COUNT-1>, one time_total per line
  local out=$1 first=$2 count=$3 cfg="$TMP/curl.cfg" i
  : >"$cfg"
  for ((i = first; i < first + count; i++)); do
    printf 'url = "http://127.0.0.1:%s/t/t%d/f%d"\noutput = "/dev/null"\n' "$PORT" $((i / 10)) "$i" >>"$cfg"
  done
  curl -s -K "$cfg" -w '%{http_code} %{time_total}\n' >"$out"
  if grep -qv '^200 ' "$out"; then echo "bench: a call failed: $(grep -v '^200 ' "$out" | head -1)" >&2; exit 1; fi
  awk '{ print $2 }' "$out" >"$out.t"
}

echo "bench: first call of each function" >&2
timed "$TMP/first.txt" 0 "$N"
AFTER_KB=$(rss)
# A second round of the most recently called ones (still loaded).
LAST=$((N < MAX_LOADED ? N : MAX_LOADED))
timed "$TMP/second.txt" $((N - LAST)) "$LAST"
[ "$(curl -s "http://127.0.0.1:$PORT/t/t0/f0")" = "function 0" ] || { echo "bench: wrong answer" >&2; exit 1; }
pct() { sort -n "$1" | awk -v p="$2" '{ a[NR] = $1 } END { i = int(NR * p); if (i < 1) i = 1; printf "%.2f", a[i] * 1000 }'; }
cat <<REPORT
| measure | value |
|---|---|
| functions deployed | $N (distinct modules; LRU budget $MAX_LOADED) |
| precompile, \`jinn compile\` x2 in parallel | ${COMPILE_S} s |
| server RSS idle, $N deployed | $((IDLE_KB / 1024)) MiB |
| first call of a precompiled function (curl total), p50 / p99 | $(pct "$TMP/first.txt.t" 0.5) / $(pct "$TMP/first.txt.t" 0.99) ms |
| later call of a loaded function (curl total), p50 / p99 | $(pct "$TMP/second.txt.t" 0.5) / $(pct "$TMP/second.txt.t" 0.99) ms |
| server RSS after each was called once | $((AFTER_KB / 1024)) MiB |
REPORT
