# The peers of the HTTP scenarios (throughput, latency), by key; sourced by
# them, with bench/peers.sh. A "1core" setup pins every server to
# SERVER_CPU and wrk to CLIENT_CPU; "2cores" lets servers and wrk use both.
# shellcheck shell=bash

SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}

peer_label() {
  case $1 in
    ceiling) echo "nginx return 200 (ceiling)" ;;
    sidecar) echo "nginx -> native backend (sidecar)" ;;
    jinn_c) echo "jinn, C guest" ;;
    jinn_rs) echo "jinn, Rust guest" ;;
    jinn_as) echo "jinn, AssemblyScript guest" ;;
    node_c) echo "Node.js node:wasi, C guest" ;;
    *) die "no peer $1" ;;
  esac
}

# setup_cpus SETUP: sets SETUP_SERVER_CPUS, SETUP_CLIENT_CPUS, SETUP_THREADS
# (wrk's), SETUP_WORKERS (nginx's) and SETUP_JINN (jinn's [server] lines).
setup_cpus() {
  case $1 in
    1core)
      SETUP_SERVER_CPUS=$SERVER_CPU SETUP_CLIENT_CPUS=$CLIENT_CPU SETUP_THREADS=1 SETUP_WORKERS=1
      SETUP_JINN=$'workers = 1\nfunction_threads = 1'
      ;;
    2cores)
      SETUP_SERVER_CPUS="$SERVER_CPU,$CLIENT_CPU" SETUP_CLIENT_CPUS="$SERVER_CPU,$CLIENT_CPU" SETUP_THREADS=2
      SETUP_WORKERS=2 SETUP_JINN=""
      ;;
    *) die "no setup $1" ;;
  esac
}

# shared_peers_up SETUP: the backend and both nginx servers, for one setup.
shared_peers_up() {
  setup_cpus "$1"
  start_backend "$SETUP_SERVER_CPUS"
  start_nginx "$SETUP_SERVER_CPUS" "$SETUP_WORKERS"
}
shared_peers_down() {
  bench_stop "$NGINX_PID"
  bench_stop "$BACKEND_PID"
}

# peer_up KEY: sets PEER_URL (and PEER_PID for a peer of its own, else "").
peer_up() {
  PEER_PID=""
  case $1 in
    ceiling) PEER_URL="http://127.0.0.1:$NGINX_RETURN_PORT" ;;
    sidecar) PEER_URL="http://127.0.0.1:$NGINX_PROXY_PORT" ;;
    jinn_*)
      start_jinn "$1" "$G/order_tax_${1#jinn_}.wasm" "$SETUP_SERVER_CPUS" "$SETUP_JINN"
      PEER_URL=$JINN_URL PEER_PID=$JINN_PID
      ;;
    node_*)
      start_node "$1" "$G/order_tax_${1#node_}.wasm" "$SETUP_SERVER_CPUS"
      PEER_URL=$NODE_URL PEER_PID=$NODE_PID
      ;;
  esac
}
peer_down() { [ -z "$PEER_PID" ] || bench_stop "$PEER_PID"; }
