# The HTTP peers of the benchmarks, started on 127.0.0.1 and stopped on exit
# (through bench_spawn of bench/lib.sh, sourced first): the native order-tax
# backend, nginx (a constant answer, the ceiling; and a reverse proxy to the
# backend, the sidecar), jinn serving a .wasm, and Node.js running the same
# .wasm per request. Plus run_wrk, which measures one of them.
# shellcheck shell=bash

NGINX=/usr/sbin/nginx
ORDER='{"id":42,"value":100}'
ORDER_ANSWER='"total":115'

# build_backend: compiles bench/wrk/backend.cc once; sets BACKEND_BIN.
build_backend() {
  BACKEND_BIN=$BENCH_TMP/backend
  [ -x "$BACKEND_BIN" ] && return 0
  log "building the native backend (bench/wrk/backend.cc)"
  g++ -std=c++20 -O2 -o "$BACKEND_BIN" "$ROOT/bench/wrk/backend.cc" -pthread
}

# start_backend CPUS: sets BACKEND_PORT and BACKEND_PID.
start_backend() {
  build_backend
  bench_spawn "$BENCH_TMP/backend.port" /dev/null taskset -c "$1" "$BACKEND_BIN" 0
  BACKEND_PID=$SPAWNED
  BACKEND_PORT=$(wait_for_line "$BENCH_TMP/backend.port" '^([0-9]+)' "$BACKEND_PID") || die "the backend did not start"
}

# nginx_conf DIR WORKERS RETURN_PORT PROXY_PORT BACKEND_PORT: writes DIR/nginx.conf.
nginx_conf() {
  local dir=$1 workers=$2 return_port=$3 proxy_port=$4 backend_port=$5
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes $workers;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $dir/body;
  proxy_temp_path $dir/proxy;
  keepalive_requests 1000000;
  upstream backend {
    server 127.0.0.1:$backend_port;
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:$return_port;
    location / {
      default_type application/json;
      return 200 '{"id":42,"value":100,"tax":15,"total":115}';
    }
  }
  server {
    listen 127.0.0.1:$proxy_port;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
}

# start_nginx CPUS WORKERS: both nginx servers in one process (needs
# BACKEND_PORT); sets NGINX_RETURN_PORT, NGINX_PROXY_PORT and NGINX_PID.
# With master_process off nginx runs one worker whatever WORKERS says, so
# WORKERS > 1 starts a master and that many workers.
start_nginx() {
  local cpus=$1 workers=$2 dir=$BENCH_TMP/nginx-$RANDOM
  NGINX_RETURN_PORT=$(free_port)
  NGINX_PROXY_PORT=$(free_port)
  while [ "$NGINX_PROXY_PORT" = "$NGINX_RETURN_PORT" ]; do NGINX_PROXY_PORT=$(free_port); done
  nginx_conf "$dir" "$workers" "$NGINX_RETURN_PORT" "$NGINX_PROXY_PORT" "$BACKEND_PORT"
  [ "$workers" -gt 1 ] && sed -i 's/^master_process off;/master_process on;/' "$dir/nginx.conf"
  bench_spawn /dev/null "$dir/stderr" taskset -c "$cpus" "$NGINX" -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log"
  NGINX_PID=$SPAWNED
  wait_for_port "$NGINX_RETURN_PORT"
  wait_for_port "$NGINX_PROXY_PORT"
}

# jinn_conf FILE WASM LISTEN EXTRA_SERVER_TOML: a config serving POST /order.
jinn_conf() {
  cat >"$1" <<CONF
[server]
listen = "$3"
access_log = "off"
$4

[[route]]
path = "/order"
methods = ["POST"]
function = "$2"
CONF
}

# start_jinn NAME WASM CPUS EXTRA_SERVER_TOML: sets JINN_URL and JINN_PID.
start_jinn() {
  local name=$1 port
  jinn_conf "$BENCH_TMP/$name.toml" "$2" "127.0.0.1:0" "$4"
  bench_spawn "$BENCH_TMP/$name.out" "$BENCH_TMP/$name.err" taskset -c "$3" "$JINN" serve -c "$BENCH_TMP/$name.toml"
  JINN_PID=$SPAWNED
  port=$(wait_for_line "$BENCH_TMP/$name.err" 'listening on 127\.0\.0\.1:([0-9]+)' "$JINN_PID") ||
    { cat "$BENCH_TMP/$name.err" >&2; die "jinn ($name) did not start"; }
  JINN_URL="http://127.0.0.1:$port"
}

# start_jinn_proxy NAME CPUS EXTRA_SERVER_TOML: jinn reverse-proxying every
# request to the backend (needs BACKEND_PORT), the strangler fig's path for
# what is not migrated yet; sets JINN_URL and JINN_PID.
start_jinn_proxy() {
  local name=$1 port
  cat >"$BENCH_TMP/$name.toml" <<CONF
[server]
listen = "127.0.0.1:0"
access_log = "off"
$3

[[route]]
path = "/*"
proxy = "http://127.0.0.1:$BACKEND_PORT"
CONF
  bench_spawn "$BENCH_TMP/$name.out" "$BENCH_TMP/$name.err" taskset -c "$2" "$JINN" serve -c "$BENCH_TMP/$name.toml"
  JINN_PID=$SPAWNED
  port=$(wait_for_line "$BENCH_TMP/$name.err" 'listening on 127\.0\.0\.1:([0-9]+)' "$JINN_PID") ||
    { cat "$BENCH_TMP/$name.err" >&2; die "jinn ($name) did not start"; }
  JINN_URL="http://127.0.0.1:$port"
}

# The Node.js command line (bench/node/server.mjs), for WASM on PORT. Its
# stdin and stdout files go to tmpfs (/dev/shm) when there is one: on a disk
# file system, writing and truncating them costs more than the call.
node_cmd() {
  local tmp=$BENCH_TMP
  [ -d /dev/shm ] && [ -w /dev/shm ] && tmp=/dev/shm
  echo node --no-warnings --no-turbo-fast-api-calls "$ROOT/bench/node/server.mjs" "$1" "$2" "$tmp"
}

# start_node NAME WASM CPUS: sets NODE_URL and NODE_PID.
start_node() {
  local name=$1 port
  # shellcheck disable=SC2046 # node_cmd is a word list without spaces in its words
  bench_spawn /dev/null "$BENCH_TMP/$name.err" taskset -c "$3" $(node_cmd "$2" 0)
  NODE_PID=$SPAWNED
  port=$(wait_for_line "$BENCH_TMP/$name.err" 'listening on 127\.0\.0\.1:([0-9]+)' "$NODE_PID") ||
    { cat "$BENCH_TMP/$name.err" >&2; die "node ($name) did not start"; }
  NODE_URL="http://127.0.0.1:$port"
}

# check_answer LABEL URL: one order must be answered with the right total.
check_answer() {
  local answer
  answer=$(curl -sS --max-time 5 -H 'Content-Type: application/json' -d "$ORDER" "$2/order") || true
  [[ "$answer" == *"$ORDER_ANSWER"* ]] || die "$1 answered: $answer"
}

# run_wrk URL CPUS THREADS CONNECTIONS DURATION OUT: checks the answer, warms
# up for WARMUP (default 2s), then runs wrk with bench/wrk/post.lua, its full
# output in OUT. Sets WRK_RPS (requests/s), WRK_P50, WRK_P90, WRK_P99,
# WRK_P999, WRK_MAX (microseconds), WRK_NON2XX and WRK_ERRORS.
run_wrk() {
  local url=$1 cpus=$2 threads=$3 conns=$4 duration=$5 out=$6 line
  check_answer "$url" "$url"
  taskset -c "$cpus" wrk -t"$threads" -c"$conns" -d"${WARMUP:-2s}" -s "$ROOT/bench/wrk/post.lua" "$url/order" >/dev/null
  log "wrk -t$threads -c$conns -d$duration --latency (CPUs $cpus) $url/order"
  taskset -c "$cpus" wrk -t"$threads" -c"$conns" -d"$duration" --latency -s "$ROOT/bench/wrk/post.lua" "$url/order" >"$out"
  line=$(grep '^JINN_WRK ' "$out") || die "no summary from wrk: $(cat "$out")"
  read -r _ WRK_P50 WRK_P90 WRK_P99 WRK_P999 WRK_MAX _ _ WRK_NON2XX WRK_ERRORS <<<"$line"
  WRK_RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
}

# us_to_ms US: microseconds as milliseconds with two decimals.
us_to_ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }
