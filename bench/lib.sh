# Shell helpers shared by the benchmarks (bench/run.sh, bench/wrk/run.sh,
# bench/tenants/run.sh): sourced, never run. Sets ROOT (the repository) and
# BENCH_TMP (a scratch directory removed on exit, with every process started
# through bench_spawn stopped first).
# shellcheck shell=bash

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JINN=${JINN:-$ROOT/build/release/src/cli/jinn}

log() { echo "bench: $*" >&2; }
die() {
  echo "bench: error: $*" >&2
  exit 1
}

# need_packages PKG...: apt-get installs the Debian packages not installed yet.
need_packages() {
  local missing=() p sudo=""
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  log "installing ${missing[*]}"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >&2
}

# need_jinn [TARGET...]: builds the release preset's jinn (and the targets
# named) when the jinn binary is missing.
need_jinn() {
  if ! [ -x "$JINN" ] || [ "$#" -gt 0 ]; then
    log "building ${*:-jinn} (release preset)"
    (cd "$ROOT" && cmake --preset release >/dev/null && cmake --build --preset release -j"$(nproc)" --target jinn "$@") >&2
  fi
}

# --- processes and scratch space -------------------------------------------------
BENCH_TMP=$(mktemp -d /tmp/jinn-bench.XXXXXX)
BENCH_PIDS=()
# bench_stop_all: stops every process started by bench_spawn (in this shell).
bench_stop_all() {
  local pid
  for pid in "${BENCH_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${BENCH_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  BENCH_PIDS=()
}
bench_cleanup() {
  bench_stop_all
  rm -rf "$BENCH_TMP"
}
trap bench_cleanup EXIT

# bench_spawn OUT ERR CMD...: starts CMD in the background, stopped on exit;
# sets SPAWNED (its pid).
bench_spawn() {
  local out=$1 err=$2
  shift 2
  # Emptied here, before the background start, so that a reader waiting for a
  # line never sees what an earlier process of the same name wrote.
  : >"$out"
  : >"$err"
  "$@" >"$out" 2>"$err" &
  SPAWNED=$!
  BENCH_PIDS+=("$SPAWNED")
}

# bench_stop PID: stops one process started by bench_spawn and waits for it.
bench_stop() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# shellcheck source=../scripts/free_port.sh
source "$ROOT/scripts/free_port.sh"

# wait_for_line FILE REGEX PID: prints the first capture group once FILE
# matches; fails when PID exits first or after 5 minutes.
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

# rss_kb PID: resident memory of a process, in KiB.
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

# --- the machine ---------------------------------------------------------------
machine_line() {
  echo "$(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM, Linux $(uname -r)"
}
load_average() { cut -d" " -f1-3 /proc/loadavg; }
jinn_revision() { git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown; }

# ratio A B: A / B with two decimals (0 when B is 0 or empty).
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

# --- functions_dir trees -------------------------------------------------------
# write_tenant_functions DIR FIRST COUNT: writes DIR/t<i/10>/f<i>.wat for i in
# FIRST..FIRST+COUNT-1: one small module each, answering "function <i>" (a
# different constant, so distinct modules and distinct compiled artifacts).
write_tenant_functions() {
  local dir=$1 first=$2 count=$3 i d body
  for ((i = first; i < first + count; i++)); do
    d="$dir/t$((i / 10))"
    mkdir -p "$d"
    body="{\"status\":200,\"body\":\"function $i\"}"
    cat >"$d/f$i.wat" <<WAT
(module
  (import "wasi_snapshot_preview1" "fd_write" (func \$fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 64) "$(sed 's/"/\\"/g' <<<"$body")\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 64))
    (i32.store (i32.const 4) (i32.const $((${#body} + 1))))
    (drop (call \$fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
WAT
  done
}

# functions_dir_conf FILE TREE MAX_LOADED FUNCTION_THREADS: a config with one
# functions_dir route /t/{tenant}/{function} over TREE/<tenant>/<function>.wat.
functions_dir_conf() {
  cat >"$1" <<CONF
[server]
listen = "127.0.0.1:0"
access_log = "off"
workers = 1
function_threads = $4
max_loaded_functions = $3
first_hit_wait = "30s"

[[route]]
path = "/t/{tenant}/{function}"
functions_dir = "$2/{tenant}/{function}.wat"
CONF
}

# timed_tenant_calls PORT OUT FIRST COUNT: GETs /t/t<i/10>/f<i> for i in
# FIRST..FIRST+COUNT-1 from one curl process over one kept-alive connection
# (so the times are the server's and the loopback's, not curl's start-up);
# writes one time_total (seconds) per line to OUT. Fails on any non-200.
timed_tenant_calls() {
  local port=$1 out=$2 first=$3 count=$4 cfg="$BENCH_TMP/curl.cfg" i
  : >"$cfg"
  for ((i = first; i < first + count; i++)); do
    printf 'url = "http://127.0.0.1:%s/t/t%d/f%d"\noutput = "/dev/null"\n' "$port" $((i / 10)) "$i" >>"$cfg"
  done
  curl -s -K "$cfg" -w '%{http_code} %{time_total}\n' >"$out.raw"
  if grep -qv '^200 ' "$out.raw"; then die "a call failed: $(grep -v '^200 ' "$out.raw" | head -n 1)"; fi
  awk '{ print $2 }' "$out.raw" >"$out"
}

# percentile_ms FILE P: the P-quantile (0..1) of the seconds in FILE, in ms.
percentile_ms() {
  sort -n "$1" | awk -v p="$2" '{ a[NR] = $1 } END { i = int(NR * p); if (i < 1) i = 1; printf "%.2f", a[i] * 1000 }'
}
