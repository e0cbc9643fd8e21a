# Scenario 5, compute speed: one CPU-bound C program (bench/guests/compute.c:
# merge sort, then SHA-256) as wasm32-wasi under `jinn run` and compiled
# natively, both pinned to the same core; the program times its own kernels,
# so start-up and module loading are not counted. Sourced by bench/run.sh.
# shellcheck shell=bash
TSV=$RAW/compute.tsv
printf 'build\trep\tsort_ms\thash_ms\tdigest\n' >"$TSV"
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" <<<"$2"; }
for ((rep = 1; rep <= COMPUTE_REPS; rep++)); do
  for build in native native_clang wasm; do
    case $build in
      native) out=$(taskset -c "${CLIENT_CPU:-1}" "$G/compute" "$COMPUTE_COUNT" "$COMPUTE_ROUNDS") ;;
      native_clang) out=$(taskset -c "${CLIENT_CPU:-1}" "$G/compute_clang" "$COMPUTE_COUNT" "$COMPUTE_ROUNDS") ;;
      wasm) out=$(taskset -c "${CLIENT_CPU:-1}" "$JINN" run "$G/compute.wasm" "$COMPUTE_COUNT" "$COMPUTE_ROUNDS") ;;
    esac
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
CS=$(median native_clang 3) CH=$(median native_clang 4)
printf 'merge sort\t%s\t%s\t%s\nSHA-256\t%s\t%s\t%s\n' "$NS" "$CS" "$WS" "$NH" "$CH" "$WH" >"$RAW/compute.dat"
{
  plot_start "$OUT/compute.png" "CPU-bound kernels, median of $COMPUTE_REPS: native vs wasm under jinn (lower is better)"
  cat <<GP
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "milliseconds"
set yrange [0:*]
set offsets 0, 0, graph 0.25, 0
set key inside left top
plot "$RAW/compute.dat" using 2:xtic(1) title "native, cc (gcc) -O2" lc rgb "#4477aa", \
     "" using 3 title "native, clang -O2" lc rgb "#66ccee", \
     "" using 4 title "wasm32-wasi under jinn run (clang -O2, then wasm2c and cc -O2)" lc rgb "#ee8866", \
     "" using (\$0 - 0.25):2:(sprintf("%.0f", \$2)) with labels font ",9" offset 0,0.7 notitle, \
     "" using (\$0):3:(sprintf("%.0f", \$3)) with labels font ",9" offset 0,0.7 notitle, \
     "" using (\$0 + 0.25):4:(sprintf("%.0f", \$4)) with labels font ",9" offset 0,0.7 notitle
GP
} | gnuplot
{
  echo "## 5. Compute speed"
  echo
  echo "\`bench/guests/compute.c\`: a merge sort of $COMPUTE_COUNT pseudo-random 32-bit numbers, then SHA-256 over the"
  echo "sorted array $COMPUTE_ROUNDS times; built with \`clang --target=wasm32-wasi -O2\` (run by \`jinn run\`, which"
  echo "translates it with wasm2c and compiles that with \`cc -O2\`) and natively with \`cc -O2\` (gcc) and \`clang -O2\`, all"
  echo "pinned to CPU ${CLIENT_CPU:-1}; median of $COMPUTE_REPS runs each, timed inside the program (start-up and loading not"
  echo "counted). Every build printed the same digest ($(tail -n 1 "$TSV" | cut -f5)). Two native compilers because the wasm"
  echo "build goes through both: clang's optimizer first, gcc's last; the better native time is the peer."
  echo
  echo "| kernel | native gcc | native clang | wasm under jinn | wasm / best native |"
  echo "|---|---:|---:|---:|---:|"
  best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }
  echo "| merge sort | $NS ms | $CS ms | $WS ms | $(ratio "$WS" "$(best "$NS" "$CS")") |"
  echo "| SHA-256 | $NH ms | $CH ms | $WH ms | $(ratio "$WH" "$(best "$NH" "$CH")") |"
  echo
  echo "![compute speed](compute.png)"
  echo
} >"$RAW/05-compute.md"
