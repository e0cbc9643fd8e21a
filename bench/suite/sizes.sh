# Scenario 8, artifact size: what is shipped per function. The .wasm of each
# guest, its compiled artifact (the .so in jinn's cache, and the portable
# artifact `jinn compile --output` writes), against the native backend as a
# minimal container image would hold it: the stripped binary plus the shared
# libraries it loads (measured here) plus a base image (an estimate, stated).
# Sourced by bench/run.sh.
# shellcheck shell=bash
BASE_IMAGE_NAME=${BASE_IMAGE_NAME:-debian:bookworm-slim}
BASE_IMAGE_BYTES=${BASE_IMAGE_BYTES:-78643200}  # about 75 MiB uncompressed: an estimate, not measured here
TSV=$RAW/sizes.tsv
printf 'what\tbytes\n' >"$TSV"
size_of() { stat -L -c %s "$1"; }
for g in c rs as; do
  so=$("$JINN" compile "$G/order_tax_$g.wasm" | tail -n 1)
  "$JINN" compile "$G/order_tax_$g.wasm" --output "$BENCH_TMP/order_tax_$g.jart" >/dev/null
  label=$(case $g in c) echo C ;; rs) echo Rust ;; as) echo AssemblyScript ;; esac)
  printf '%s\t%s\n' "$label .wasm" "$(size_of "$G/order_tax_$g.wasm")" "$label .so (cache)" \
    "$(size_of "$so")" "$label artifact (--output)" "$(size_of "$BENCH_TMP/order_tax_$g.jart")" >>"$TSV"
done
strip -o "$BENCH_TMP/backend.stripped" "$BACKEND_BIN"
NATIVE=$(size_of "$BENCH_TMP/backend.stripped")
LIBS=0
LIB_NAMES=()
while read -r lib; do
  LIBS=$((LIBS + $(size_of "$lib")))
  LIB_NAMES+=("$(basename "$lib")")
done < <(ldd "$BACKEND_BIN" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
printf '%s\t%s\n' "native binary (stripped)" "$NATIVE" "native + shared libraries" $((NATIVE + LIBS)) \
  "container (estimate)" $((NATIVE + LIBS + BASE_IMAGE_BYTES)) >>"$TSV"

awk -F'\t' 'NR > 1 { print $1 "\t" $2 / 1024 }' "$TSV" >"$RAW/sizes.dat"
{
  plot_start "$OUT/sizes.png" "What is shipped per function (log scale; smaller is better)"
  cat <<GP
set terminal pngcairo size 1100,600 font "DejaVu Sans,11" noenhanced
set output "$OUT/sizes.png"
set style fill solid 0.85 border -1
set boxwidth 0.7
set logscale y
set ylabel "size (log scale)"
set yrange [10:300000]
set ytics ("10 KiB" 10, "100 KiB" 100, "1 MiB" 1024, "10 MiB" 10240, "100 MiB" 102400)
set xtics rotate by -30 left
set bmargin 8
set rmargin 10
set key off
plot "$RAW/sizes.dat" using 0:2:xtic(1) with boxes lc rgb "#4477aa", \
     "" using 0:(\$2 * 1.5):(\$2 >= 1024 ? sprintf("%.1f MiB", \$2 / 1024) : sprintf("%.0f KiB", \$2)) with labels
GP
} | gnuplot

bytes() { awk -F'\t' -v w="$1" '$1 == w { print $2 }' "$TSV"; }
{
  echo "## 8. Artifact size"
  echo
  echo "Per function: the \`.wasm\`, the \`.so\` jinn's cache holds for it, and the artifact \`jinn compile --output\`"
  echo "writes (what an air-gapped host loads). Against it, the native order-tax backend (\`bench/wrk/backend.cc\`,"
  echo "\`g++ -O2\`, stripped) as a container would ship it: the binary, the shared libraries it loads"
  echo "(${LIB_NAMES[*]}; measured on this machine), and a base image: the \"container (estimate)\" row. The base image is an **estimate**:"
  echo "$BASE_IMAGE_NAME taken as $((BASE_IMAGE_BYTES / 1048576)) MiB uncompressed (knob \`BASE_IMAGE_BYTES\`), not measured here."
  echo
  echo "| what | size |"
  echo "|---|---:|"
  awk -F'\t' 'NR > 1 { printf "| %s | %s |\n", $1, ($2 >= 1048576 ? sprintf("%.1f MiB", $2 / 1048576) : sprintf("%.1f KiB", $2 / 1024)) }' "$TSV"
  echo
  c_art=$(bytes "C artifact (--output)")
  echo "Container estimate / C artifact: $(ratio "$(bytes "container (estimate)")" "$c_art");"
  echo "native binary with its libraries / C artifact: $(ratio "$(bytes "native + shared libraries")" "$c_art");"
  echo "container estimate / C \`.wasm\`: $(ratio "$(bytes "container (estimate)")" "$(bytes "C .wasm")")."
  echo
  echo "![sizes](sizes.png)"
  echo
} >"$RAW/08-sizes.md"
