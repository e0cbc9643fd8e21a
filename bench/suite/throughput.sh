# Scenario 1 (throughput and latency at 64 connections) and 7 (scaling from
# one server core to two): every peer answers the order POST under wrk, once
# with the servers pinned to one core and wrk on the other, once with
# servers and wrk free on both cores. Sourced by bench/run.sh.
# shellcheck shell=bash
source "$ROOT/bench/suite/http_peers.sh"
TP_PEERS=${TP_PEERS:-ceiling sidecar jinn_c jinn_rs jinn_as node_c}
TP_CONNS=${TP_CONNS:-64}
TSV=$RAW/throughput.tsv
printf 'setup\tpeer\tlabel\trps\tp50_us\tp90_us\tp99_us\tp999_us\tnon2xx\terrors\n' >"$TSV"
for setup in 1core 2cores; do
  shared_peers_up "$setup"
  for peer in $TP_PEERS; do
    peer_up "$peer"
    run_wrk "$PEER_URL" "$SETUP_CLIENT_CPUS" "$SETUP_THREADS" "$TP_CONNS" "$DURATION" "$RAW/wrk-$setup-$peer.txt"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$setup" "$peer" "$(peer_label "$peer")" "$WRK_RPS" \
      "$WRK_P50" "$WRK_P90" "$WRK_P99" "$WRK_P999" "$WRK_NON2XX" "$WRK_ERRORS" >>"$TSV"
    log "$setup $peer: $WRK_RPS req/s, p99 $WRK_P99 us"
    peer_down
  done
  shared_peers_down
done

# rps_of SETUP PEER
rps_of() { awk -F'\t' -v s="$1" -v p="$2" '$1 == s && $2 == p { print $4 }' "$TSV"; }

# Plot: req/s per peer, one bar per setup.
awk -F'\t' 'NR > 1 && $1 == "1core" { print $3 "\t" $4 }' "$TSV" >"$RAW/tp1.dat"
awk -F'\t' 'NR > 1 && $1 == "2cores" { print $4 }' "$TSV" >"$RAW/tp2.dat"
paste "$RAW/tp1.dat" "$RAW/tp2.dat" >"$RAW/throughput.dat"
{
  plot_start "$OUT/throughput.png" "Order-tax POST, wrk -c$TP_CONNS, $DURATION per peer: requests per second (higher is better)"
  cat <<GP
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set ylabel "requests per second"
set yrange [0:*]
set format y "%.0f"
set xtics rotate by -20 left
set key inside right top
set bmargin 6
plot "$RAW/throughput.dat" using 2:xtic(1) title "1 server core (wrk on the other)" lc rgb "#4477aa", \
     "" using 3 title "2 cores (servers and wrk share both)" lc rgb "#ee8866", \
     "" using (\$0 - 0.17):2:(sprintf("%.0f", \$2)) with labels font ",8" offset 0,0.7 notitle, \
     "" using (\$0 + 0.17):3:(sprintf("%.0f", \$3)) with labels font ",8" offset 0,0.7 notitle
GP
} | gnuplot

{
  echo "## 1. Throughput and latency (wrk, $TP_CONNS connections)"
  echo
  echo "Each peer answers \`POST /order\` with body \`$ORDER\` by \`{\"id\":42,\"value\":100,\"tax\":15,\"total\":115}\`"
  echo "(checked before each measurement): one warm-up of $WARMUP, then \`wrk -c$TP_CONNS -d$DURATION\`."
  echo "**1 core**: every server process pinned to CPU $SERVER_CPU (\`taskset\`), wrk \`-t1\` to CPU $CLIENT_CPU; jinn with"
  echo "\`workers = 1\`, \`function_threads = 1\`; nginx with one worker. The proxy and its backend share that core."
  echo "**2 cores**: servers and wrk \`-t2\` on both CPUs (the load generator competes with the server); jinn with"
  echo "its defaults, nginx with 2 workers. Node.js runs one event loop (one core) in both setups: it is a single"
  echo "process, as deployed without a cluster module. Latencies are wrk's (coordinated omission not corrected)."
  echo
  echo "| setup | peer | req/s | p50 | p90 | p99 | p99.9 | non-2xx | socket errors |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
  awk -F'\t' 'NR > 1 { printf "| %s | %s | %d | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %s | %s |\n", $1, $3, $4, $5 / 1000, $6 / 1000, $7 / 1000, $8 / 1000, $9, $10 }' "$TSV"
  echo
  echo "Ratios of jinn (C guest) to its peers, same setup, same run:"
  echo
  echo "| setup | jinn / ceiling | jinn / sidecar | jinn / Node.js | Rust guest / C guest | AssemblyScript guest / C guest |"
  echo "|---|---:|---:|---:|---:|---:|"
  for setup in 1core 2cores; do
    j=$(rps_of "$setup" jinn_c)
    echo "| $setup | $(ratio "$j" "$(rps_of "$setup" ceiling)") | $(ratio "$j" "$(rps_of "$setup" sidecar)") | $(ratio "$j" "$(rps_of "$setup" node_c)") | $(ratio "$(rps_of "$setup" jinn_rs)" "$j") | $(ratio "$(rps_of "$setup" jinn_as)" "$j") |"
  done
  echo
  echo "![requests per second](throughput.png)"
  echo
} >"$RAW/01-throughput.md"
{
  echo "## 7. Scaling: 1 vs 2 server cores"
  echo
  echo "req/s with two cores divided by req/s with one (same peers as above; with two cores wrk runs on the same"
  echo "cores as the server, so 2.0 is not reachable: the ceiling's own ratio shows what the machine allows)."
  echo
  echo "| peer | 1 core req/s | 2 cores req/s | 2 cores / 1 core |"
  echo "|---|---:|---:|---:|"
  for peer in $TP_PEERS; do
    a=$(rps_of 1core "$peer")
    b=$(rps_of 2cores "$peer")
    echo "| $(peer_label "$peer") | $a | $b | $(ratio "$b" "$a") |"
  done
  echo
} >"$RAW/07-scaling.md"
