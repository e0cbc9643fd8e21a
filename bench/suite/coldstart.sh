# Scenario 3, cold start: from the fork of the server process(es) to the
# first 200 with the right answer (bench/coldstart/coldstart.c polls every
# 100 us with a fresh connection). jinn loads its precompiled artifact from
# the cache; nginx + backend start two processes; Node.js compiles the .wasm
# at start-up. COLD_RUNS starts each, after one that is not counted (it warms
# the page cache). Sourced by bench/run.sh.
# shellcheck shell=bash
TSV=$RAW/coldstart.tsv
printf 'peer\tlabel\tp50_ms\tmin_ms\tmax_ms\truns\n' >"$TSV"

# cold PEER LABEL CMD...: runs coldstart on PORT (set by the caller).
cold() {
  local peer=$1 label=$2
  shift 2
  "$BENCH_TMP/coldstart" -p "$PORT" -u /order -d "$ORDER" -e "$ORDER_ANSWER" -n $((COLD_RUNS + 1)) -l "$RAW/cold-$peer.log" "$@" \
    >"$RAW/cold-$peer.txt" || die "cold start of $label failed"
  tail -n +2 "$RAW/cold-$peer.txt" | sort -n | awk -v peer="$peer" -v label="$label" '
    { a[NR] = $1 }
    END { printf "%s\t%s\t%.2f\t%.2f\t%.2f\t%d\n", peer, label, a[int((NR + 1) / 2)], a[1], a[NR], NR }' >>"$TSV"
  log "cold start $label: $(tail -n 1 "$TSV" | cut -f3) ms (p50)"
}

PORT=$(free_port)
jinn_conf "$BENCH_TMP/cold.toml" "$G/order_tax_c.wasm" "127.0.0.1:$PORT" $'workers = 1\nfunction_threads = 1'
cold jinn "jinn serve, C guest (precompiled)" -- "$JINN" serve -c "$BENCH_TMP/cold.toml"

PORT=$(free_port)
jinn_conf "$BENCH_TMP/cold-rs.toml" "$G/order_tax_rs.wasm" "127.0.0.1:$PORT" $'workers = 1\nfunction_threads = 1'
cold jinn_rs "jinn serve, Rust guest (precompiled)" -- "$JINN" serve -c "$BENCH_TMP/cold-rs.toml"

PORT=$(free_port)
BPORT=$(free_port)
nginx_conf "$BENCH_TMP/nginx-cold" 1 "$(free_port)" "$PORT" "$BPORT"
cold sidecar "nginx + native backend (2 processes)" -- "$BACKEND_BIN" "$BPORT" \
  -- "$NGINX" -p "$BENCH_TMP/nginx-cold" -c "$BENCH_TMP/nginx-cold/nginx.conf" -e "$BENCH_TMP/nginx-cold/error.log"

PORT=$(free_port)
# shellcheck disable=SC2046 # a word list without spaces in its words
cold node "Node.js node:wasi, C guest" -- $(node_cmd "$G/order_tax_c.wasm" "$PORT")

# The first call of a function that a running jinn has not loaded yet (its
# artifact precompiled): the per-function cold start of a functions_dir route.
write_tenant_functions "$BENCH_TMP/cold-tenants" 0 20
for f in "$BENCH_TMP"/cold-tenants/*/*.wat; do "$JINN" compile "$f" >/dev/null; done
functions_dir_conf "$BENCH_TMP/cold-dir.toml" "$BENCH_TMP/cold-tenants" 20 1
bench_spawn /dev/null "$BENCH_TMP/cold-dir.err" "$JINN" serve -c "$BENCH_TMP/cold-dir.toml"
CD_PID=$SPAWNED
CD_PORT=$(wait_for_line "$BENCH_TMP/cold-dir.err" 'listening on 127\.0\.0\.1:([0-9]+)' "$CD_PID") || die "jinn did not start"
timed_tenant_calls "$CD_PORT" "$RAW/cold-first-hit.txt" 0 20
timed_tenant_calls "$CD_PORT" "$RAW/cold-second-hit.txt" 0 20
bench_stop "$CD_PID"
FIRST_HIT=$(percentile_ms "$RAW/cold-first-hit.txt" 0.5)
SECOND_HIT=$(percentile_ms "$RAW/cold-second-hit.txt" 0.5)
printf 'first_hit_p50_ms\tsecond_hit_p50_ms\n%s\t%s\n' "$FIRST_HIT" "$SECOND_HIT" >"$RAW/coldstart-hit.tsv"

awk -F'\t' 'NR > 1 { print $2 "\t" $3 "\t" $4 "\t" $5 }' "$TSV" >"$RAW/coldstart.dat"
{
  plot_start "$OUT/coldstart.png" "Cold start: process start to the first 200 (median of $COLD_RUNS; bars: min to max; lower is better)"
  cat <<GP
set style fill solid 0.85 border -1
set boxwidth 0.6
set logscale y
set ylabel "milliseconds (log scale)"
set yrange [0.5:*]
set xtics rotate by -15 left
set bmargin 5
set key off
plot "$RAW/coldstart.dat" using 0:2:xtic(1) with boxes lc rgb "#4477aa", \
     "" using 0:2:3:4 with yerrorbars lc rgb "black" lw 1.5 ps 0, \
     "" using 0:(\$4 * 1.4):(sprintf("%.1f ms", \$2)) with labels
GP
} | gnuplot

jinn_ms=$(awk -F'\t' '$1 == "jinn" { print $3 }' "$TSV")
{
  echo "## 3. Cold start"
  echo
  echo "From the fork of the server process(es) to the first \`200\` carrying the right total, polled every 100 us with"
  echo "a new connection (\`bench/coldstart/coldstart.c\`); median, min and max of $COLD_RUNS starts after one not counted."
  echo "jinn loads its artifact, precompiled by \`jinn compile\`, from the cache; Node.js compiles the module at start-up."
  echo
  echo "| peer | p50 | min | max | jinn (C) / peer |"
  echo "|---|---:|---:|---:|---:|"
  awk -F'\t' -v j="$jinn_ms" 'NR > 1 { printf "| %s | %.2f ms | %.2f ms | %.2f ms | %.2f |\n", $2, $3, $4, $5, ($3 > 0 ? j / $3 : 0) }' "$TSV"
  echo
  echo "Inside a running server, the first call of a function not loaded yet (a \`functions_dir\` route, 20 small"
  echo "precompiled functions, curl's \`time_total\` over one kept-alive connection): **$FIRST_HIT ms** p50; the"
  echo "second call of the same functions: $SECOND_HIT ms p50."
  echo
  echo "![cold start](coldstart.png)"
  echo
} >"$RAW/03-coldstart.md"
