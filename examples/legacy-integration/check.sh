#!/usr/bin/env bash
# CI check: /api/report is answered by the wasm function, everything else by
# the legacy upstream. Usage: check.sh JINN BUILD_DIR (BUILD_DIR holds
# report.wasm and the upstream binary).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../common/lib.sh"
setup_example "$1" "$2" "$HERE"

start_upstream "$WORK/upstream"
start_jinn

http POST /api/report -H 'Content-Type: application/json' --data '{"sales":[120.5, 80, 99.5]}'
expect_status 200 "/api/report"
[[ "$HEADERS" == *"X-Served-By: jinn"* ]] || fail "/api/report not answered by the function: $HEADERS"
[ "$BODY" = '{"count":3,"sum":300,"min":80,"max":120.5,"mean":100}' ] || fail "/api/report body: $BODY"
pass "/api/report answered by the function: $BODY"

http POST /api/report --data 'not json'
expect_status 400 "/api/report with a bad body"
pass "/api/report refuses a bad body with 400"

http GET /legacy/page
expect_status 200 "/legacy/page"
[[ "$HEADERS" == *"X-Served-By: legacy"* ]] || fail "/legacy/page not answered by the upstream: $HEADERS"
expect_body_contains "legacy upstream: GET /legacy/page" "/legacy/page"
pass "/legacy/page proxied to the legacy upstream"

# The /api/report route only takes POST: for other methods the next candidate
# route (/*) is tried, so the legacy app still answers GET /api/report.
http GET /api/report
expect_status 200 "GET /api/report"
[[ "$HEADERS" == *"X-Served-By: legacy"* ]] || fail "GET /api/report not answered by the upstream: $HEADERS"
pass "GET /api/report still goes to the legacy upstream"

# The function alone, without a server or an upstream: same answer.
out=$("$JINN" call "$WORK/report.wasm" --path /api/report --body '{"sales":[120.5, 80, 99.5]}')
[[ "$out" == "HTTP/1.1 200 OK"* && "$out" == *$'X-Served-By: jinn\r\n'* ]] || fail "jinn call report: $out"
[[ "$out" == *$'\r\n\r\n{"count":3,"sum":300,"min":80,"max":120.5,"mean":100}' ]] || fail "jinn call report: $out"
pass "jinn call report.wasm prints the same response"
