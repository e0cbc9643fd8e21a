# Scenario 5, compute speed: one CPU-bound C program (bench/guests/compute.c:
# merge sort, then SHA-256) as wasm32-wasi under `jinn run` and compiled
# natively, both pinned to the same core; the program times its own kernels,
# so start-up and module loading are not counted. Sourced by bench/run.sh.
# shellcheck shell=bash
TSV=$RAW/compute.tsv
printf 'build\trep\tsort_ms\thash_ms\tdigest\n' >"$TSV"
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$2"; }
for ((rep = 1; rep <= COMPUTE_REPS; rep++)); do
  for build in native wasm; do
    if [ "$build" = native ]; then
      out=$(taskset -c "${CLIENT_CPU:-1}" "$G/compute" "$COMPUTE_COUNT" "$COMPUTE_ROUNDS")
    else
      out=$(taskset -c "${CLIENT_CPU:-1}" "$JINN" run "$G/compute.wasm" "$COMPUTE_COUNT" "$COMPUTE_ROUNDS")
    fi
    printf '%s\t%s\t%s\t%s\t%s\n' "$build" "$rep" "$(field sort_ms "$out")" "$(field hash_ms "$out")" \
      "$(field digest "$out")" >>"$TSV"
  done
done
[ "$(tail -n +2 "$TSV" | cut -f5 | sort -u | wc -l)" = 1 ] || die "the wasm and native builds disagree: $(cat "$TSV")"
# median KIND COLUMN
median() {
  awk -F'\t' -v b="$1" -v c="$2" '$1 == b { print $c }' "$TSV" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
NS=$(median native 3) NH=$(median native 4) WS=$(median wasm 3) WH=$(median wasm 4)
printf 'merge sort\t%s\t%s\nSHA-256\t%s\t%s\n' "$NS" "$WS" "$NH" "$WH" >"$RAW/compute.dat"
{
  plot_start "$OUT/compute.png" "CPU-bound kernels, median of $COMPUTE_REPS: native vs wasm under jinn (lower is better)"
  cat <<GP
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "milliseconds"
set yrange [0:*]
set key inside left top
plot "$RAW/compute.dat" using 2:xtic(1) title "native (cc -O2)" lc rgb "#4477aa", \
     "" using 3 title "wasm32-wasi under jinn run (clang -O2, wasm2c, cc)" lc rgb "#ee8866"
GP
} | gnuplot
{
  echo "## 5. Compute speed"
  echo
  echo "\`bench/guests/compute.c\`: a merge sort of $COMPUTE_COUNT pseudo-random 32-bit numbers, then SHA-256 over the"
  echo "sorted array $COMPUTE_ROUNDS times; built with \`clang --target=wasm32-wasi -O2\` (run by \`jinn run\`) and natively"
  echo "with \`cc -O2\`, both pinned to CPU ${CLIENT_CPU:-1}; median of $COMPUTE_REPS runs each, timed inside the program."
  echo "Both builds printed the same digest ($(tail -n 1 "$TSV" | cut -f5))."
  echo
  echo "| kernel | native | wasm under jinn | wasm / native |"
  echo "|---|---:|---:|---:|"
  echo "| merge sort | $NS ms | $WS ms | $(ratio "$WS" "$NS") |"
  echo "| SHA-256 | $NH ms | $WH ms | $(ratio "$WH" "$NH") |"
  echo
  echo "![compute speed](compute.png)"
  echo
} >"$RAW/05-compute.md"
