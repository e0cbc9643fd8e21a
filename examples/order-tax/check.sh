#!/usr/bin/env bash
# CI check: the order-tax function computes tax (15 %) and total.
# Usage: check.sh JINN BUILD_DIR.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../common/lib.sh"
setup_example "$1" "$2" "$HERE"
start_jinn

order() {  # order BODY EXPECTED
  http POST /order -H 'Content-Type: application/json' --data "$1"
  expect_status 200 "order $1"
  [ "$BODY" = "$2" ] || fail "order $1: expected $2, got $BODY"
  pass "$1 -> $BODY"
}
order '{"id":1,"value":100}' '{"id":1,"value":100,"tax":15,"total":115}'
order '{"id": "A-7", "value": 19.99}' '{"id":"A-7","value":19.99,"tax":2.9985,"total":22.9885}'
order '{"value":0,"id":42}' '{"id":42,"value":0,"tax":0,"total":0}'
order '{"id":3,"value":-40}' '{"id":3,"value":-40,"tax":-6,"total":-46}'

http POST /order --data '{"id":1}'
expect_status 400 "order without value"
pass "an order without a value is 400"

http GET /order
expect_status 405 "GET /order"
pass "GET /order is 405"
