# The report's headline table: one line per scenario that ran, jinn's figure
# next to its peer's from the same run, read back from the scenarios' TSV
# files in RAW. Sourced by bench/run.sh after the scenarios.
# shellcheck shell=bash
source "$ROOT/bench/suite/http_peers.sh"

# tsv FILE KEYCOL KEY [KEYCOL2 KEY2] VALCOL: one value from a scenario's table.
tsv() {
  local f=$RAW/$1
  shift
  [ -f "$f" ] || return 0
  if [ "$#" = 5 ]; then
    awk -F'\t' -v a="$1" -v b="$2" -v c="$3" -v d="$4" -v v="$5" '$a == b && $c == d { print $v; exit }' "$f"
  else
    awk -F'\t' -v a="$1" -v b="$2" -v v="$3" '$a == b { print $v; exit }' "$f"
  fi
}
ms() { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }

echo "## Headline"
echo
echo "| scenario | jinn | peer | peer's figure | jinn vs peer |"
echo "|---|---:|---|---:|---:|"
if [ -f "$RAW/throughput.tsv" ]; then
  j=$(tsv throughput.tsv 1 1core 2 jinn_c 4)
  for p in sidecar ceiling node_c; do
    v=$(tsv throughput.tsv 1 1core 2 "$p" 4)
    echo "| 1. req/s, 1 core, 64 connections (C guest) | $j | $(peer_label "$p") | $v | $(ratio "$j" "$v")x |"
  done
fi
if [ -f "$RAW/latency.tsv" ]; then
  c=32
  grep -qP "^jinn_c\t[^\t]*\t32\t" "$RAW/latency.tsv" || c=$(awk -F'\t' '$1 == "jinn_c" { c = $3 } END { print c }' "$RAW/latency.tsv")
  j=$(tsv latency.tsv 1 jinn_c 3 "$c" 6)
  v=$(tsv latency.tsv 1 sidecar 3 "$c" 6)
  echo "| 2. p99 latency, $c connections, 1 core | $(ms "$j") | $(peer_label sidecar) | $(ms "$v") | $(ratio "$j" "$v")x (lower is better) |"
fi
if [ -f "$RAW/coldstart.tsv" ]; then
  j=$(tsv coldstart.tsv 1 jinn 3)
  for p in sidecar node; do
    v=$(tsv coldstart.tsv 1 "$p" 3)
    echo "| 3. cold start, process to first 200 (p50) | $j ms | $(tsv coldstart.tsv 1 "$p" 2) | $v ms | $(ratio "$j" "$v")x (lower is better) |"
  done
  if [ -f "$RAW/coldstart-hit.tsv" ]; then
    read -r first second < <(tail -n 1 "$RAW/coldstart-hit.tsv")
    echo "| 3. first call of a function not loaded yet, running server (p50) | $first ms | second call of it | $second ms | |"
  fi
fi
if [ -f "$RAW/sandbox.tsv" ]; then
  j=$(tsv sandbox.tsv 1 c 4)
  for g in rs as; do
    echo "| 4. sandbox per call, total p50 (jinn bench) | $j us (C) | $(tsv sandbox.tsv 1 "$g" 2) | $(tsv sandbox.tsv 1 "$g" 4) us | |"
  done
fi
if [ -f "$RAW/compute.dat" ]; then
  while IFS=$'\t' read -r kernel gcc clang wasm; do
    best=$(awk -v a="$gcc" -v b="$clang" 'BEGIN { print (a < b ? a : b) }')
    echo "| 5. $kernel, wasm under jinn | $wasm ms | best native build | $best ms | $(ratio "$wasm" "$best")x (lower is better) |"
  done <"$RAW/compute.dat"
fi
if [ -f "$RAW/density.tsv" ]; then
  n=$(tail -n 1 "$RAW/density.tsv" | cut -f1)
  j=$(tail -n 1 "$RAW/density.tsv" | cut -f3)
  v=$(tail -n 1 "$RAW/density.tsv" | cut -f6)
  echo "| 6. RSS with $n functions, each called once | $((j / 1024)) MiB | $n native backend processes (estimate) | $((v / 1024)) MiB | $(ratio "$j" "$v")x (lower is better) |"
fi
if [ -f "$RAW/throughput.tsv" ]; then
  j=$(ratio "$(tsv throughput.tsv 1 2cores 2 jinn_c 4)" "$(tsv throughput.tsv 1 1core 2 jinn_c 4)")
  v=$(ratio "$(tsv throughput.tsv 1 2cores 2 ceiling 4)" "$(tsv throughput.tsv 1 1core 2 ceiling 4)")
  echo "| 7. req/s, 2 cores / 1 core | ${j}x | $(peer_label ceiling) | ${v}x | |"
fi
if [ -f "$RAW/sizes.tsv" ]; then
  j=$(tsv sizes.tsv 1 "C artifact (--output)" 2)
  v=$(tsv sizes.tsv 1 "container (estimate)" 2)
  echo "| 8. shipped per function | $((j / 1024)) KiB (C artifact) | container: native binary + libraries + base image (estimate) | $((v / 1048576)) MiB | $(ratio "$v" "$j")x smaller |"
fi
echo
