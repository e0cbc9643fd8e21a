# Scenario 4, per-call sandbox cost: `jinn bench` (in process, one thread,
# the call path the server uses) splits each call into instantiate, run and
# teardown; for the order-tax guest in C, Rust and AssemblyScript, and for a
# minimal guest at initial memory sizes from 64 KiB to 64 MiB. Sourced by
# bench/run.sh.
# shellcheck shell=bash
TSV=$RAW/sandbox.tsv
printf 'guest\tlabel\tcalls_per_s\ttotal_p50_us\ttotal_p99_us\tinstantiate_p50_us\trun_p50_us\tteardown_p50_us\trss_before_kb\trss_after_kb\tfailures\n' >"$TSV"

# jbench GUEST LABEL FILE STDIN: one jinn bench run, pinned to one core.
jbench() {
  local out
  out=$(taskset -c "${SERVER_CPU:-0}" "$JINN" bench "$3" --requests "$CALLS" --stdin "$4" --memory 128MiB)
  echo "$out" >"$RAW/bench-$1.json"
  # {"calls":N,"calls_per_s":N,"total_us_p50":X,...}: the values in order.
  sed 's/[{}]//g; s/"[a-z_0-9]*"://g' <<<"$out" | tr ',' '\n' >"$RAW/bench-$1.values"
  mapfile -t v <"$RAW/bench-$1.values"
  [ "${#v[@]}" -ge 10 ] || die "jinn bench printed: $out"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "${v[1]}" "${v[2]}" "${v[3]}" "${v[4]}" "${v[5]}" \
    "${v[6]}" "${v[7]}" "${v[8]}" "${v[9]}" >>"$TSV"
}
# The field order jinn bench prints, which jbench relies on.
grep -q '^{"calls":[0-9]*,"calls_per_s":[0-9.]*,"total_us_p50":[0-9.]*,"total_us_p99":[0-9.]*,"instantiate_us_p50":[0-9.]*,"run_us_p50":[0-9.]*,"teardown_us_p50":[0-9.]*,"rss_kb_before":[0-9]*,"rss_kb_after":[0-9]*,"failures":[0-9]*}$' \
  <<<"$("$JINN" bench "$G/order_tax_c.wasm" --requests 10 --stdin "$ENVELOPE")" || die "jinn bench's output changed"

jbench c "order-tax, C" "$G/order_tax_c.wasm" "$ENVELOPE"
jbench rs "order-tax, Rust" "$G/order_tax_rs.wasm" "$ENVELOPE"
jbench as "order-tax, AssemblyScript" "$G/order_tax_as.wasm" "$ENVELOPE"
MEM_GUESTS=()
for f in "$G"/mem_*k.wat; do
  kib=$(basename "$f" | sed 's/mem_\([0-9]*\)k.wat/\1/')
  MEM_GUESTS+=("$kib")
done
mapfile -t MEM_GUESTS < <(printf '%s\n' "${MEM_GUESTS[@]}" | sort -n)
for kib in "${MEM_GUESTS[@]}"; do
  jbench "mem$kib" "minimal guest, $((kib >= 1024 ? kib / 1024 : kib)) $([ "$kib" -ge 1024 ] && echo MiB || echo KiB) memory" \
    "$G/mem_${kib}k.wat" "$ENVELOPE"
done

# Plot 1: stacked instantiate/run/teardown per guest.
awk -F'\t' 'NR > 1 { print $2 "\t" $6 "\t" $7 "\t" $8 "\t" $4 }' "$TSV" >"$RAW/sandbox.dat"
{
  plot_start "$OUT/sandbox.png" "Per-call sandbox cost, jinn bench, $CALLS calls each: p50 parts, total p50 above (lower is better)"
  cat <<GP
set style data histograms
set style histogram rowstacked
set style fill solid 0.85 border -1
set boxwidth 0.7
set ylabel "microseconds per call"
set yrange [0:*]
set xtics rotate by -25 left
set bmargin 7
set offsets 0, 0, graph 0.1, 0
set key inside left top
plot "$RAW/sandbox.dat" using 2:xtic(1) title "instantiate" lc rgb "#4477aa", \
     "" using 3 title "run" lc rgb "#ee8866", \
     "" using 4 title "teardown" lc rgb "#44aa99", \
     "" using 0:(\$2 + \$3 + \$4):(sprintf("%.2f", \$5)) with labels font ",9" offset 0,0.8 notitle
GP
} | gnuplot
# Plot 2: cost against initial memory (the minimal guest).
awk -F'\t' 'NR > 1 && $1 ~ /^mem/ { sub(/^mem/, "", $1); print $1 "\t" $4 "\t" $5 "\t" $6 "\t" $8 }' "$TSV" >"$RAW/sandbox-memory.dat"
{
  plot_start "$OUT/sandbox-memory.png" "Per-call cost against the guest's initial linear memory, minimal guest (lower is better)"
  cat <<GP
set logscale x 2
set xlabel "initial linear memory (KiB, log scale)"
set ylabel "microseconds per call"
set yrange [0:*]
set xtics ($(awk -F'\t' '{ printf "%s\"%s\" %s", (NR > 1 ? ", " : ""), ($1 >= 1024 ? $1 / 1024 " MiB" : $1 " KiB"), $1 }' "$RAW/sandbox-memory.dat"))
set xrange [45:95000]
set key inside left top
plot "$RAW/sandbox-memory.dat" using 1:2 with linespoints lw 2 pt 7 title "total p50", \
     "" using 1:3 with linespoints lw 2 pt 5 title "total p99", \
     "" using 1:4 with linespoints lw 2 pt 9 title "instantiate p50", \
     "" using 1:5 with linespoints lw 2 pt 11 title "teardown p50"
GP
} | gnuplot

{
  echo "## 4. Per-call sandbox cost"
  echo
  echo "\`jinn bench FILE --requests $CALLS --stdin envelope.json --memory 128MiB\`, pinned to CPU ${SERVER_CPU:-0}: a fresh"
  echo "instance per call, the order's request envelope on stdin, in process (no HTTP). p50 unless marked."
  echo "The minimal guest (a \`.wat\` written by \`bench/guests/build.sh\`) reads stdin and writes a constant; only"
  echo "its initial (and maximum) memory changes."
  echo
  echo "| guest | calls/s | total p50 | total p99 | instantiate | run | teardown | RSS before -> after | failures |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  awk -F'\t' 'NR > 1 { printf "| %s | %d | %.2f us | %.2f us | %.2f us | %.2f us | %.2f us | %d -> %d KiB | %s |\n", $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }' "$TSV"
  echo
  small=$(awk -F'\t' 'NR > 1 && $1 ~ /^mem/ { print $4; exit }' "$TSV")
  big=$(awk -F'\t' 'NR > 1 && $1 ~ /^mem/ { v = $4 } END { print v }' "$TSV")
  echo "Largest memory / smallest memory, total p50: $(ratio "$big" "$small")."
  echo
  echo "![sandbox cost per guest](sandbox.png)"
  echo
  echo "![sandbox cost against memory size](sandbox-memory.png)"
  echo
} >"$RAW/04-sandbox.md"
