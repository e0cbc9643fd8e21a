#!/usr/bin/env bash
# Soak: `jinn serve` under mixed traffic and faults for SOAK_SECONDS (default
# 600), then a report of errors by kind and of RSS and open descriptors over
# time. See bench/soak/README.md.
#
#   bench/soak/run.sh                  # 10 minutes
#   SOAK_SECONDS=60 bench/soak/run.sh  # a short run
#
# Environment: SOAK_SECONDS, SOAK_THREADS (client threads, default 4),
# SOAK_OUT (report directory, default bench/results), JINN (the binary,
# default build/release/src/cli/jinn). Exit status 0 only when every answer
# was an expected one and RSS and descriptors stayed flat.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

SECONDS_TO_RUN=${SOAK_SECONDS:-600}
THREADS=${SOAK_THREADS:-4}
OUT=${SOAK_OUT:-$ROOT/bench/results}
JINN=${JINN:-$ROOT/build/release/src/cli/jinn}
GUESTS=$(dirname "$(dirname "$(dirname "$JINN")")")/guests

if [ ! -x "$JINN" ] || [ ! -f "$GUESTS/serve_v1.wasm" ]; then
  echo "soak: building the release preset (jinn and the test guests)" >&2
  cmake --preset release >/dev/null
  cmake --build --preset release --target jinn jinn_guests
fi
if ! command -v gnuplot >/dev/null; then
  echo "soak: installing gnuplot-nox for the plot" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq gnuplot-nox; } >&2 ||
    echo "soak: no gnuplot, the report will have no plot" >&2
fi

WORK=$(mktemp -d /tmp/jinn-soak-XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/up.pid" ] && kill "$(cat "$WORK/up.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# shellcheck source=../../scripts/free_port.sh
source "$ROOT/scripts/free_port.sh"

# The upstream: a static file server, so the proxy has something to answer.
mkdir -p "$WORK/up/proxy" "$WORK/up/mwproxy"
for d in "$WORK/up" "$WORK/up/proxy" "$WORK/up/mwproxy"; do echo "hello from upstream" >"$d/hello.txt"; done
UP_PORT=$(free_port)

# The function the reloads swap: two builds of one fixed answer.
cp "$GUESTS/serve_v1.wasm" "$WORK/good.wasm"
# The deploy API's root, empty: drive.py deploys into it.
mkdir -p "$WORK/deploy"
TOKEN="soak-token-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"

cat >"$WORK/jinn.toml" <<EOF
# Written by bench/soak/run.sh: one route per kind of outcome.
[server]
listen = "127.0.0.1:0"
admin = "127.0.0.1:0"
access_log = "off"
read_timeout = "10s"

[deploy]
token = "$TOKEN"
root = "$WORK/deploy"

[[route]]
path = "/good"
function = "$WORK/good.wasm"

[[route]]
path = "/echo"
function = "$GUESTS/serve_echo.wasm"

[[route]]
path = "/mw"
middleware = ["$GUESTS/serve_continue.wasm"]
function = "$GUESTS/serve_echo.wasm"

[[route]]
path = "/trap"
function = "$GUESTS/trap_unreachable.wasm"
args = ["trap"]

[[route]]
path = "/spin"
function = "$GUESTS/spin.wasm"
timeout = "50ms"

[[route]]
path = "/oom"
function = "$GUESTS/grow.wasm"
args = ["trap-when-refused"]
memory = "4MiB"

[[route]]
path = "/flood"
function = "$GUESTS/flood.wasm"
stdout_max = "256KiB"

[[route]]
path = "/big"
function = "$GUESTS/serve_echo.wasm"
stdout_max = "4MiB"

[[route]]
path = "/t/{tenant}/{function}"
functions_dir = "$WORK/deploy/{tenant}/{function}.wasm"

[[route]]
path = "/proxy/*"
proxy = "http://127.0.0.1:$UP_PORT"
connect_timeout = "1s"
upstream_timeout = "5s"

[[route]]
path = "/mwproxy/*"
middleware = ["$GUESTS/serve_continue.wasm"]
proxy = "http://127.0.0.1:$UP_PORT"
connect_timeout = "1s"
upstream_timeout = "5s"
EOF

"$JINN" serve -c "$WORK/jinn.toml" >"$WORK/serve.log" 2>&1 &
JINN_PID=$!
PIDS+=("$JINN_PID")
PORT=""
ADMIN_PORT=""
for _ in $(seq 1 600); do
  PORT=$(grep -o 'listening on 127.0.0.1:[0-9]*' "$WORK/serve.log" | head -1 | cut -d: -f2 || true)
  ADMIN_PORT=$(grep -o 'admin 127.0.0.1:[0-9]*' "$WORK/serve.log" | head -1 | cut -d: -f2 || true)
  [ -n "$PORT" ] && [ -n "$ADMIN_PORT" ] && break
  kill -0 "$JINN_PID" 2>/dev/null || { cat "$WORK/serve.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$PORT" ] || { echo "soak: jinn did not start" >&2; cat "$WORK/serve.log" >&2; exit 1; }
echo "soak: jinn pid $JINN_PID on port $PORT (admin $ADMIN_PORT), upstream port $UP_PORT, ${SECONDS_TO_RUN}s" >&2

# The upstream flaps: up 3 s, down 2 s. (`wait` answers 143 for the killed
# server: with set -e inherited, it must not end the loop.)
(
  while :; do
    python3 -m http.server "$UP_PORT" --bind 127.0.0.1 --directory "$WORK/up" >/dev/null 2>&1 &
    up=$!
    echo "$up" >"$WORK/up.pid"
    sleep 3
    date +%s.%N >>"$WORK/flaps"
    kill "$up" 2>/dev/null || true
    wait "$up" 2>/dev/null || true
    sleep 2
  done
) &
PIDS+=($!)

# Hot reloads: every 5 s the function file changes (alternately rewritten in
# place and replaced by a rename), every 20 s a SIGHUP re-reads the config.
(
  n=0
  while :; do
    sleep 5
    n=$((n + 1))
    v=$(( (n % 2) + 1 ))
    if [ $((n % 3)) -eq 0 ]; then
      cat "$GUESTS/serve_v$v.wasm" >"$WORK/good.wasm"
    else
      cp "$GUESTS/serve_v$v.wasm" "$WORK/good.wasm.new" && mv "$WORK/good.wasm.new" "$WORK/good.wasm"
    fi
    echo file >>"$WORK/reloads"
    if [ $((n % 4)) -eq 0 ]; then
      kill -HUP "$JINN_PID"
      echo sighup >>"$WORK/reloads"
    fi
  done
) &
PIDS+=($!)

python3 bench/soak/drive.py --port "$PORT" --pid "$JINN_PID" --seconds "$SECONDS_TO_RUN" \
  --threads "$THREADS" --out "$WORK" --admin-port "$ADMIN_PORT" --token "$TOKEN" \
  --v1 "$GUESTS/serve_v1.wasm" --v2 "$GUESTS/serve_v2.wasm" --flaps-file "$WORK/flaps"

alive=yes
kill -0 "$JINN_PID" 2>/dev/null || alive=no
kill -TERM "$JINN_PID" 2>/dev/null || true
wait "$JINN_PID" 2>/dev/null && stop_status=0 || stop_status=$?

mkdir -p "$OUT"
STAMP=$(date +%Y-%m-%d-%H%M)
if command -v gnuplot >/dev/null; then
  gnuplot <<EOF
set terminal png size 1000,500
set output "$OUT/soak-$STAMP.png"
set datafile separator ","
set title "jinn soak: RSS and open descriptors (${SECONDS_TO_RUN} s, mixed traffic and faults)"
set xlabel "seconds"
set ylabel "RSS (MiB)"
set y2label "open fds"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key top left
plot "$WORK/samples.csv" using 1:(\$2/1024) every ::1 with lines lw 2 title "RSS (MiB)", \
     "$WORK/samples.csv" using 1:3 every ::1 axes x1y2 with lines lw 2 title "open fds"
EOF
fi

cp "$WORK/samples.csv" "$OUT/soak-$STAMP.csv"
python3 bench/soak/report.py --work "$WORK" --out "$OUT/soak-$STAMP.md" \
  --plot "soak-$STAMP.png" --alive "$alive" --stop-status "$stop_status" \
  --flaps "$(wc -l <"$WORK/flaps" 2>/dev/null || echo 0)" \
  --file-reloads "$(grep -c file "$WORK/reloads" 2>/dev/null || echo 0)" \
  --sighups "$(grep -c sighup "$WORK/reloads" 2>/dev/null || echo 0)"
