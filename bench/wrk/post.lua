-- wrk script: every request is the order-tax POST with a small JSON body.
-- At the end, one machine-readable line (latencies in microseconds):
-- JINN_WRK p50 p90 p99 p99.9 max requests duration_us non2xx socket_errors
wrk.method = "POST"
wrk.body = '{"id":42,"value":100}'
wrk.headers["Content-Type"] = "application/json"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("JINN_WRK %d %d %d %d %d %d %d %d %d\n",
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, summary.requests, summary.duration,
    e.status, e.connect + e.read + e.write + e.timeout))
end
