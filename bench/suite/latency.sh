# Scenario 2, latency under concurrency: p50/p99/p99.9 of the order POST at
# each of CONNECTIONS, servers on one core and wrk on the other. Sourced by
# bench/run.sh.
# shellcheck shell=bash
source "$ROOT/bench/suite/http_peers.sh"
LAT_PEERS=${LAT_PEERS:-ceiling sidecar jinn_c jinn_rs node_c}
TSV=$RAW/latency.tsv
printf 'peer\tlabel\tconnections\trps\tp50_us\tp99_us\tp999_us\tnon2xx\terrors\n' >"$TSV"
shared_peers_up 1core
for peer in $LAT_PEERS; do
  peer_up "$peer"
  for c in $CONNECTIONS; do
    run_wrk "$PEER_URL" "$SETUP_CLIENT_CPUS" 1 "$c" "$LAT_DURATION" "$RAW/lat-$peer-$c.txt"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$peer" "$(peer_label "$peer")" "$c" "$WRK_RPS" "$WRK_P50" \
      "$WRK_P99" "$WRK_P999" "$WRK_NON2XX" "$WRK_ERRORS" >>"$TSV"
  done
  peer_down
done
shared_peers_down

# Plot: three panels (p50, p99, p99.9) of latency against connections, log-log.
{
  plot_start "$OUT/latency.png" ""
  cat <<GP
set terminal pngcairo size 1200,560 font "DejaVu Sans,10" noenhanced
set output "$OUT/latency.png"
set logscale xy
set xtics ($(echo "$CONNECTIONS" | sed 's/\([0-9]\+\)/"\1" \1/g; s/ "/, "/g'))
set xrange [$(echo "$CONNECTIONS" | awk '{ print $1 * 0.8 }'):$(echo "$CONNECTIONS" | awk '{ print $NF * 1.25 }')]
set xlabel "concurrent connections"
set ylabel "latency (ms, log scale)"
set key off
set bmargin 9
set multiplot layout 1,3 title "Order-tax POST, 1 server core, wrk on the other, $LAT_DURATION per point: latency (lower is better)"
GP
  col=0
  for what in "p50:5" "p99:6" "p99.9:7"; do
    col=$((col + 1))
    name=${what%%:*} field=${what##*:}
    [ "$col" = 3 ] && echo 'set key at screen 0.5, 0.01 center bottom horizontal maxcols 3 maxrows 2 samplen 2'
    echo "set title \"$name\""
    printf 'plot '
    sep=""
    for peer in $LAT_PEERS; do
      printf '%s"%s" using (strcol(1) eq "%s" ? $3 : NaN):($%s / 1000) with linespoints lw 2 pt 7 title "%s"' \
        "$sep" "$TSV" "$peer" "$field" "$(peer_label "$peer")"
      sep=", "
    done
    echo
  done
  echo "unset multiplot"
} >"$RAW/latency.gp"
gnuplot "$RAW/latency.gp"

{
  echo "## 2. Latency under concurrency"
  echo
  echo "Servers pinned to CPU $SERVER_CPU, \`wrk -t1 -c<connections> -d$LAT_DURATION\` on CPU $CLIENT_CPU, after a $WARMUP warm-up;"
  echo "jinn with one I/O thread and one function thread. Latencies are wrk's percentiles over all requests of the run."
  echo
  echo "| peer | connections | req/s | p50 | p99 | p99.9 | non-2xx | socket errors |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  awk -F'\t' 'NR > 1 { printf "| %s | %s | %d | %.3f ms | %.3f ms | %.3f ms | %s | %s |\n", $2, $3, $4, $5 / 1000, $6 / 1000, $7 / 1000, $8, $9 }' "$TSV"
  echo
  echo "p99 of jinn (C guest) relative to its peers at each connection count (below 1: jinn is faster):"
  echo
  echo "| connections | jinn / sidecar | jinn / Node.js | jinn / ceiling |"
  echo "|---:|---:|---:|---:|"
  for c in $CONNECTIONS; do
    p99() { awk -F'\t' -v p="$1" -v c="$c" '$1 == p && $3 == c { print $6 }' "$TSV"; }
    echo "| $c | $(ratio "$(p99 jinn_c)" "$(p99 sidecar)") | $(ratio "$(p99 jinn_c)" "$(p99 node_c)") | $(ratio "$(p99 jinn_c)" "$(p99 ceiling)") |"
  done
  echo
  echo "![latency against connections](latency.png)"
  echo
} >"$RAW/02-latency.md"
