#!/usr/bin/env bash
# The benchmark suite: jinn side by side with its peers, on this machine, in
# one run. Installs what it needs (Debian packages; AssemblyScript from npm
# outside the repository), builds jinn and the guests from source, runs every
# scenario and writes report.md and the plots (PNG, gnuplot) to
# bench/results/<UTC date and time>/. See bench/README.md.
#
# Usage: bash bench/run.sh            the full suite (17.5 minutes from a fresh clone on 2 cores, build included)
#        QUICK=1 bash bench/run.sh    short durations, small sizes (a check that it all runs)
# Knobs (environment), with their defaults:
#   SCENARIOS="throughput latency coldstart sandbox compute density sizes"
#   DURATION=10s         wrk time per peer in the throughput scenario (after a 2 s warm-up)
#   LAT_DURATION=5s      wrk time per peer and connection count in the latency scenario
#   CONNECTIONS="1 8 32 128"   connection counts of the latency scenario
#   COLD_RUNS=10         starts per peer in the cold-start scenario (after one not counted)
#   CALLS=100000         calls per guest in the sandbox scenario (jinn bench)
#   COMPUTE_COUNT=1000000 COMPUTE_ROUNDS=4 COMPUTE_REPS=5   the compute scenario
#   DENSITY_STEPS="1 100 1000 10000"   functions deployed in the density scenario
#                        (each distinct module is compiled once: about 0.1 s of CPU each, two at a time)
#   OUT=bench/results/<date>     where report.md and the plots go (raw data in OUT/raw/)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$ROOT/bench/peers.sh"

if [ "${QUICK:-0}" = 1 ]; then
  : "${DURATION:=2s}" "${LAT_DURATION:=1s}" "${COLD_RUNS:=3}" "${CALLS:=10000}" "${DENSITY_STEPS:=1 10 50}"
  : "${COMPUTE_COUNT:=200000}" "${COMPUTE_REPS:=1}" "${WARMUP:=1s}"
fi
SCENARIOS=${SCENARIOS:-throughput latency coldstart sandbox compute density sizes}
DURATION=${DURATION:-10s}
LAT_DURATION=${LAT_DURATION:-5s}
CONNECTIONS=${CONNECTIONS:-1 8 32 128}
COLD_RUNS=${COLD_RUNS:-10}
CALLS=${CALLS:-100000}
COMPUTE_COUNT=${COMPUTE_COUNT:-1000000}
COMPUTE_ROUNDS=${COMPUTE_ROUNDS:-4}
COMPUTE_REPS=${COMPUTE_REPS:-5}
DENSITY_STEPS=${DENSITY_STEPS:-1 100 1000 10000}
export WARMUP=${WARMUP:-2s}
STAMP=$(date -u +%Y-%m-%d-%H%M)
OUT=${OUT:-$ROOT/bench/results/$STAMP}
RAW=$OUT/raw
START_S=$(date +%s)
LOAD_BEFORE=$(load_average)

# --- what the suite needs ----------------------------------------------------------
log "installing what is missing (scripts/setup.sh, then the benchmark's own packages)"
bash "$ROOT/scripts/setup.sh" >&2
need_packages wrk nginx-light gnuplot-nox curl util-linux
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then need_packages nodejs npm; fi
need_jinn
export JINN_CACHE_DIR=${JINN_CACHE_DIR:-$BENCH_TMP/cache}
G=$BENCH_TMP/guests
bash "$ROOT/bench/guests/build.sh" "$G"
cc -O2 -Wall -Werror "$ROOT/bench/coldstart/coldstart.c" -o "$BENCH_TMP/coldstart"
build_backend
log "precompiling the guests"
for f in "$G"/*.wasm "$G"/*.wat; do "$JINN" compile "$f" >/dev/null; done
mkdir -p "$RAW"
rm -f "$RAW"/*.md

# The request envelope jinn writes for the order POST, for `jinn bench`.
ENVELOPE="$BENCH_TMP/envelope.json"
printf '%s' '{"method":"POST","uri":"/order","path":"/order","query":"","headers":{"Content-Type":["application/json"]},"body":"{\"id\":42,\"value\":100}","trace_id":"","remote_addr":"127.0.0.1:40000","route":"/order"}' >"$ENVELOPE"

# plot_start PNG TITLE: the common gnuplot preamble (PNG 1000x560, grid, key).
plot_start() {
  cat <<GP
set terminal pngcairo size 1000,560 font "DejaVu Sans,11" noenhanced
set output "$1"
set title "$2"
set grid ytics lc rgb "#dddddd"
set key outside right top
set datafile separator "\t"
set border 3
set tics nomirror
GP
}

for s in $SCENARIOS; do
  [ -f "$ROOT/bench/suite/$s.sh" ] || die "no scenario $s (bench/suite/$s.sh)"
done
FAILED=()
for s in $SCENARIOS; do
  log "=== scenario: $s ==="
  t0=$(date +%s)
  # In a subshell: a scenario that fails (die) stops its own processes and
  # is reported, and the others still run.
  if ! (
    trap bench_stop_all EXIT
    source "$ROOT/bench/suite/$s.sh"
  ) 2> >(tee "$RAW/$s.log" >&2); then
    FAILED+=("$s")
    {
      echo "## Scenario \`$s\` failed"
      echo
      echo "Its last lines (the whole log is \`raw/$s.log\`):"
      echo
      echo '```'
      grep -v '^    ' "$RAW/$s.log" | tail -n 5
      echo '```'
      echo
    } >"$RAW/00-failed-$s.md"
  fi
  log "=== $s took $(($(date +%s) - t0)) s ==="
done

# --- the report ------------------------------------------------------------------------
ELAPSED=$(($(date +%s) - START_S))
{
  echo "# jinn benchmark suite, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- command: \`bash bench/run.sh\`$([ "${QUICK:-0}" = 1 ] && echo " (QUICK=1)") at jinn $(jinn_revision); the whole run took $((ELAPSED / 60)) min $((ELAPSED % 60)) s"
  echo "- machine: $(machine_line)"
  echo "- load average before: $LOAD_BEFORE; after: $(load_average) (1, 5, 15 min; the machine may be shared)"
  echo "- peers: $($NGINX -v 2>&1 | sed 's/^nginx version: //'), Node.js $(node --version), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2), $(clang --version | head -n 1), $(/usr/bin/rustc --version | cut -d' ' -f1-2), AssemblyScript $(sed -n 's/.*"assemblyscript": "\(.*\)".*/\1/p' "$ROOT/templates/assemblyscript/package.json")"
  echo "- scenarios run: $SCENARIOS$([ "${#FAILED[@]}" -gt 0 ] && echo "; **failed: ${FAILED[*]}**")"
  echo "- every figure is measured in this run; ratios are against a peer measured in this run, minutes apart on the same machine"
  echo
  source "$ROOT/bench/headline.sh"
  cat "$RAW"/*.md
} >"$OUT/report.md"
log "report: ${OUT#"$ROOT"/}/report.md ($(find "$OUT" -maxdepth 1 -name '*.png' | wc -l) plots), in $ELAPSED s"
[ "${#FAILED[@]}" -eq 0 ] || die "failed scenarios: ${FAILED[*]}"
