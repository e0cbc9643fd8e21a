#!/usr/bin/env bash
# HTTP benchmark with wrk: the order-tax function served by jinn, against
# nginx answering a constant (the ceiling) and nginx proxying to a native
# backend (the sidecar / warm-container model). See bench/README.md.
#
# Usage: bench/wrk/run.sh            (from anywhere; installs wrk and nginx-light)
# Knobs (environment): DURATION (10s), CONNECTIONS (64), SERVER_CPU (0),
# CLIENT_CPU (1), JINN (path of the jinn binary), WASM (order_tax.wasm).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/bench/wrk"
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
JINN=${JINN:-$ROOT/build/release/src/cli/jinn}
WASM=${WASM:-$ROOT/build/release/examples/order-tax/order_tax.wasm}
RESULTS_DIR="$ROOT/bench/results"
RESULTS="$RESULTS_DIR/wrk-$(date +%Y-%m-%d).md"
LOAD_BEFORE=$(cut -d" " -f1-3 /proc/loadavg)

log() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

# --- tools -------------------------------------------------------------------
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if ! command -v wrk >/dev/null || ! [ -x /usr/sbin/nginx ]; then
  log "installing wrk and nginx-light"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq wrk nginx-light >&2
fi
NGINX=/usr/sbin/nginx
command -v taskset >/dev/null || die "taskset (util-linux) is needed"

if ! [ -x "$JINN" ] || ! [ -f "$WASM" ]; then
  log "building jinn and the examples (release preset)"
  (cd "$ROOT" && cmake --preset release >/dev/null && cmake --build --preset release --target jinn jinn_examples)
fi

# --- processes ---------------------------------------------------------------
TMP=$(mktemp -d /tmp/jinn-bench.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

# A port nothing listens on (checked by connecting), from a high range.
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
}

# wait_for_line FILE REGEX PID: the first capture group once FILE matches.
wait_for_line() {
  local file=$1 regex=$2 pid=$3 i
  for ((i = 0; i < 3000; i++)); do
    if [ -f "$file" ] && [[ "$(cat "$file")" =~ $regex ]]; then
      echo "${BASH_REMATCH[1]}"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

wait_for_port() {
  local port=$1 i
  for ((i = 0; i < 100; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "nothing listens on port $port"
}

# --- native backend (sidecar) ------------------------------------------------
log "building the native backend"
g++ -std=c++20 -O2 -o "$TMP/backend" "$HERE/backend.cc" -pthread
taskset -c "$SERVER_CPU" "$TMP/backend" 0 >"$TMP/backend.port" &
PIDS+=("$!")
BACKEND_PORT=$(wait_for_line "$TMP/backend.port" '^([0-9]+)' "$!") || die "backend did not start"

# --- nginx: constant answer and reverse proxy ---------------------------------
NGINX_RETURN_PORT=$(free_port)
NGINX_PROXY_PORT=$(free_port)
while [ "$NGINX_PROXY_PORT" = "$NGINX_RETURN_PORT" ]; do NGINX_PROXY_PORT=$(free_port); done
mkdir -p "$TMP/nginx"
cat >"$TMP/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  keepalive_requests 1000000;
  upstream backend {
    server 127.0.0.1:$BACKEND_PORT;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$NGINX_RETURN_PORT;
    location / {
      default_type application/json;
      return 200 '{"id":42,"value":100,"tax":15,"total":115}';
    }
  }
  server {
    listen 127.0.0.1:$NGINX_PROXY_PORT;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
taskset -c "$SERVER_CPU" "$NGINX" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -e "$TMP/nginx/error.log" &
PIDS+=("$!")
wait_for_port "$NGINX_RETURN_PORT"
wait_for_port "$NGINX_PROXY_PORT"

# --- jinn --------------------------------------------------------------------
export JINN_CACHE_DIR=${JINN_CACHE_DIR:-$TMP/cache}
JINN_PID=""
# start_jinn NAME EXTRA_SERVER_TOML: serves /order with order_tax.wasm; sets JINN_URL.
start_jinn() {
  local name=$1 extra=$2
  cat >"$TMP/$name.toml" <<CONF
[server]
listen = "127.0.0.1:0"
access_log = "off"
$extra

[[route]]
path = "/order"
methods = ["POST"]
function = "$WASM"
CONF
  taskset -c "$SERVER_CPU" "$JINN" serve -c "$TMP/$name.toml" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  JINN_PID=$!
  PIDS+=("$JINN_PID")
  local port
  port=$(wait_for_line "$TMP/$name.err" 'listening on 127\.0\.0\.1:([0-9]+)' "$JINN_PID") ||
    { cat "$TMP/$name.err" >&2; die "jinn ($name) did not start"; }
  JINN_URL="http://127.0.0.1:$port"
}
stop_jinn() {
  kill "$JINN_PID" 2>/dev/null || true
  wait "$JINN_PID" 2>/dev/null || true
}

# --- measuring -----------------------------------------------------------------
ROWS=()
declare -A RPS
# measure KEY LABEL URL: checks one answer, warms up 2 s, then runs wrk for
# DURATION; appends a table row and records req/s in RPS[KEY].
measure() {
  local key=$1 label=$2 url=$3 answer
  answer=$(curl -sS --max-time 5 -H 'Content-Type: application/json' -d '{"id":42,"value":100}' "$url")
  [[ "$answer" == *'"total":115'* ]] || die "$label answered: $answer"
  taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d2s -s "$HERE/post.lua" "$url" >/dev/null
  log "$label: wrk -t1 -c$CONNECTIONS -d$DURATION --latency -s post.lua $url"
  local out
  out=$(taskset -c "$CLIENT_CPU" wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$HERE/post.lua" "$url")
  echo "$out" >"$TMP/$key.wrk"
  echo "$out" | sed 's/^/    /' >&2
  local rps p50 p99 non2xx errors
  rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
  p50=$(awk '$1 == "50%" { print $2 }' <<<"$out")
  p99=$(awk '$1 == "99%" { print $2 }' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
  errors=$(awk '/Socket errors:/ { sub(/^ *Socket errors: */, ""); print }' <<<"$out")
  RPS[$key]=$rps
  ROWS+=("| $label | $rps | $p50 | $p99 | ${non2xx:-0} | ${errors:-none} |")
}

measure ceiling "nginx \`return 200\` (ceiling)" "http://127.0.0.1:$NGINX_RETURN_PORT/order"
measure sidecar "nginx → native backend (sidecar)" "http://127.0.0.1:$NGINX_PROXY_PORT/order"
start_jinn jinn1 $'workers = 1\nfunction_threads = 1'
measure jinn1 "jinn, order_tax.wasm, workers=1 function_threads=1" "$JINN_URL/order"
stop_jinn
start_jinn jinndef ""
measure jinndef "jinn, order_tax.wasm, default workers/threads" "$JINN_URL/order"
stop_jinn

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# --- report --------------------------------------------------------------------
mkdir -p "$RESULTS_DIR"
{
  echo "# wrk benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), Linux $(uname -r)"
  echo "- load average before the run: ${LOAD_BEFORE:-$(cut -d' ' -f1-3 /proc/loadavg)} (the machine is shared)"
  echo "- jinn: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown), $(basename "$WASM")"
  echo "- $($NGINX -v 2>&1), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)"
  echo "- servers (nginx, native backend, jinn) pinned to CPU $SERVER_CPU; wrk pinned to CPU $CLIENT_CPU"
  echo "- each peer: one checked request, 2 s warm-up, then \`wrk -t1 -c$CONNECTIONS -d$DURATION --latency -s bench/wrk/post.lua\`"
  echo "  (POST \`{\"id\":42,\"value\":100}\`); access logs off everywhere"
  echo
  echo "| peer | req/s | p50 | p99 | non-2xx | socket errors |"
  echo "|---|---:|---:|---:|---:|---|"
  printf '%s\n' "${ROWS[@]}"
  echo
  echo "| ratio | value | goal |"
  echo "|---|---:|---:|"
  echo "| jinn (1/1) / ceiling | $(ratio "${RPS[jinn1]}" "${RPS[ceiling]}") | ≥ 0.3 |"
  echo "| jinn (1/1) / sidecar | $(ratio "${RPS[jinn1]}" "${RPS[sidecar]}") | ≥ 2.5 |"
  echo "| jinn (defaults) / ceiling | $(ratio "${RPS[jinndef]}" "${RPS[ceiling]}") | ≥ 0.3 |"
  echo "| jinn (defaults) / sidecar | $(ratio "${RPS[jinndef]}" "${RPS[sidecar]}") | ≥ 2.5 |"
} >"$TMP/report.md"
cp "$TMP/report.md" "$RESULTS"
cat "$RESULTS"
log "written to ${RESULTS#"$ROOT"/}"
