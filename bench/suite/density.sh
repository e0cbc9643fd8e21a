# Scenario 6, density: one jinn server with N functions deployed (a
# functions_dir route, N distinct small modules, precompiled), its RSS idle
# and after each function was called once, for each N in DENSITY_STEPS. The
# peer is one warm process per function: the native backend's RSS and a
# Node.js server's, measured here, times N (an estimate: nothing shared).
# Sourced by bench/run.sh.
# shellcheck shell=bash
TSV=$RAW/density.tsv
printf 'functions\tidle_kb\tafter_kb\tfirst_p50_ms\tfirst_p99_ms\tbackend_x_n_kb\tnode_x_n_kb\n' >"$TSV"
MAX_N=$(printf '%s\n' $DENSITY_STEPS | sort -n | tail -n 1)
log "density: writing and precompiling $MAX_N functions (jinn compile, 2 at a time)"
write_tenant_functions "$BENCH_TMP/density-all" 0 "$MAX_N"
t0=$(date +%s)
find "$BENCH_TMP/density-all" -name '*.wat' -print0 | xargs -0 -P 2 -n 500 "$JINN" compile >/dev/null
COMPILE_S=$(($(date +%s) - t0))

# One warm process per function, the peers' unit: RSS after one answer.
start_backend "${SERVER_CPU:-0}"
check_answer backend "http://127.0.0.1:$BACKEND_PORT"
BACKEND_KB=$(rss_kb "$BACKEND_PID")
bench_stop "$BACKEND_PID"
start_node density_node "$G/order_tax_c.wasm" "${SERVER_CPU:-0}"
check_answer node "$NODE_URL"
NODE_KB=$(rss_kb "$NODE_PID")
bench_stop "$NODE_PID"

for n in $DENSITY_STEPS; do
  tree=$BENCH_TMP/density-$n
  rm -rf "$tree"
  mkdir -p "$tree"
  for ((i = 0; i < n; i++)); do
    mkdir -p "$tree/t$((i / 10))"
    ln "$BENCH_TMP/density-all/t$((i / 10))/f$i.wat" "$tree/t$((i / 10))/f$i.wat"
  done
  functions_dir_conf "$BENCH_TMP/density-$n.toml" "$tree" "$n" 1
  bench_spawn /dev/null "$BENCH_TMP/density-$n.err" taskset -c "${SERVER_CPU:-0}" "$JINN" serve -c "$BENCH_TMP/density-$n.toml"
  pid=$SPAWNED
  port=$(wait_for_line "$BENCH_TMP/density-$n.err" 'listening on 127\.0\.0\.1:([0-9]+)' "$pid") || die "jinn did not start"
  sleep 1
  idle=$(rss_kb "$pid")
  timed_tenant_calls "$port" "$RAW/density-first-$n.txt" 0 "$n"
  after=$(rss_kb "$pid")
  bench_stop "$pid"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$idle" "$after" "$(percentile_ms "$RAW/density-first-$n.txt" 0.5)" \
    "$(percentile_ms "$RAW/density-first-$n.txt" 0.99)" $((BACKEND_KB * n)) $((NODE_KB * n)) >>"$TSV"
  log "density $n: idle $idle KiB, after calls $after KiB"
done

{
  plot_start "$OUT/density.png" "Memory with N functions deployed (log-log; lower is better)"
  cat <<GP
set logscale xy
set xlabel "functions deployed"
set ylabel "resident memory (MiB, log scale)"
set xrange [0.7:*]
set key inside left top
plot "$TSV" using 1:(\$2 / 1024) with linespoints lw 2 pt 7 title "jinn, one server, idle", \
     "" using 1:(\$3 / 1024) with linespoints lw 2 pt 5 title "jinn, one server, after each function was called once", \
     "" using 1:(\$6 / 1024) with linespoints lw 2 dt 2 pt 9 title "one native backend process per function (estimate: N x measured RSS)", \
     "" using 1:(\$7 / 1024) with linespoints lw 2 dt 2 pt 11 title "one Node.js process per function (estimate: N x measured RSS)"
GP
} | gnuplot

{
  echo "## 6. Density"
  echo
  echo "One \`jinn serve\` (one I/O thread, one function thread) with a \`functions_dir\` route and N distinct"
  echo "modules deployed as files (one small \`.wat\` each, a different constant, so N compiled artifacts),"
  echo "precompiled by \`jinn compile\` ($MAX_N in ${COMPILE_S} s, two at a time); \`max_loaded_functions = N\`, so all stay"
  echo "loaded. RSS idle (1 s after start) and after one call of each function, in order, over one kept-alive"
  echo "connection (first-call latency: curl's \`time_total\`). Sizes run: **$DENSITY_STEPS** (knob \`DENSITY_STEPS\`)."
  echo "The peers' figures are estimates: N times the RSS of one native backend process ($BACKEND_KB KiB) or of one"
  echo "Node.js server with the module loaded ($NODE_KB KiB), both measured in this run after one answer."
  echo
  echo "| functions | jinn RSS idle | jinn RSS after each called once | first call p50 / p99 | N x backend | N x Node.js | backend estimate / jinn |"
  echo "|---:|---:|---:|---:|---:|---:|---:|"
  awk -F'\t' 'NR > 1 { printf "| %d | %.1f MiB | %.1f MiB | %.2f / %.2f ms | %.1f MiB | %.1f MiB | %.1f |\n", $1, $2 / 1024, $3 / 1024, $4, $5, $6 / 1024, $7 / 1024, $6 / $3 }' "$TSV"
  echo
  echo "![memory against functions deployed](density.png)"
  echo
} >"$RAW/06-density.md"
