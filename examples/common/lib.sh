# Helpers sourced by the examples' check.sh scripts (bash, set -euo pipefail).
# Usage: source lib.sh; setup_example JINN BIN_DIR SRC_DIR, then start_upstream /
# start_jinn; every process started here is stopped on exit.

PIDS=()

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  if [ -n "${WORK:-}" ] && [ -f "$WORK/jinn.err" ]; then
    echo "--- jinn stderr:" >&2
    tail -n 20 "$WORK/jinn.err" >&2
  fi
  exit 1
}

pass() { echo "ok: $*"; }

# setup_example JINN BIN_DIR SRC_DIR: checks the arguments, copies jinn.toml
# next to the built functions, keeps the compile cache inside BIN_DIR.
setup_example() {
  JINN=$1
  WORK=$2
  local src=$3
  [ -x "$JINN" ] || fail "jinn binary not found: $JINN"
  [ -d "$WORK" ] || fail "build directory not found: $WORK (build the examples first)"
  cp "$src/jinn.toml" "$WORK/jinn.toml"
  export JINN_CACHE_DIR="$WORK/cache"
}

# wait_for_line FILE REGEX PID: waits (up to 120 s) until FILE has a line
# matching REGEX; prints the first capture group. Fails if PID exits first.
wait_for_line() {
  local file=$1 regex=$2 pid=$3 i
  for ((i = 0; i < 1200; i++)); do
    if [ -f "$file" ] && [[ "$(cat "$file")" =~ $regex ]]; then
      echo "${BASH_REMATCH[1]}"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# start_upstream BINARY: starts the example upstream on a free port; sets
# UPSTREAM_PID and exports UPSTREAM_PORT.
start_upstream() {
  : >"$WORK/upstream.port"  # not a previous run's port: the child truncates it too late
  "$1" 0 >"$WORK/upstream.port" 2>"$WORK/upstream.err" &
  UPSTREAM_PID=$!
  PIDS+=("$UPSTREAM_PID")
  UPSTREAM_PORT=$(wait_for_line "$WORK/upstream.port" '^([0-9]+)' "$UPSTREAM_PID") ||
    fail "upstream did not start"
  export UPSTREAM_PORT
}

# start_jinn: serves $WORK/jinn.toml on a free port; sets JINN_PID and URL.
start_jinn() {
  : >"$WORK/jinn.err"  # not a previous run's port: the child truncates it too late
  PORT=0 "$JINN" serve -c "$WORK/jinn.toml" >"$WORK/access.log" 2>"$WORK/jinn.err" &
  JINN_PID=$!
  PIDS+=("$JINN_PID")
  local port
  port=$(wait_for_line "$WORK/jinn.err" 'listening on 127\.0\.0\.1:([0-9]+)' "$JINN_PID") ||
    fail "jinn did not start"
  URL="http://127.0.0.1:$port"
}

# http METHOD PATH [curl args...]: sets STATUS, BODY, HEADERS and TIME (seconds).
http() {
  local method=$1 path=$2
  shift 2
  local out
  out=$(curl -sS --max-time 10 -X "$method" -D "$WORK/headers.txt" -o "$WORK/body.txt" \
    -w '%{http_code} %{time_total}' "$@" "$URL$path") || fail "curl $method $path failed"
  STATUS=${out%% *}
  TIME=${out##* }
  BODY=$(cat "$WORK/body.txt")
  HEADERS=$(tr -d '\r' <"$WORK/headers.txt")
}

expect_status() {
  [ "$STATUS" = "$1" ] || fail "$2: expected status $1, got $STATUS (body: $BODY)"
}

expect_body_contains() {
  [[ "$BODY" == *"$1"* ]] || fail "$2: body does not contain '$1' (body: $BODY)"
}
