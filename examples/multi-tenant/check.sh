#!/usr/bin/env bash
# CI check: each tenant's route runs that tenant's rule, sees only its own
# secrets and no host files; a tenant stuck in a loop is stopped at its
# limit while the others keep answering. `jinn call` gives the same answers
# without a server. Usage: check.sh JINN BUILD_DIR.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../common/lib.sh"
setup_example "$1" "$2" "$HERE"

export GLOBEX_API_KEY="globex-key-$RANDOM"
start_jinn

http POST /t/acme/quote -H 'Content-Type: application/json' --data '{"amount": 200}'
expect_status 200 "acme quote"
expect_body_contains '"tenant":"acme"' "acme quote"
expect_body_contains '"total":180.00' "acme quote"
expect_body_contains '"sees_other_tenant_key":false' "acme isolation"
expect_body_contains '"sees_host_files":false' "acme isolation"
pass "acme: its own rule (10% off), no access to globex's key or host files"

http POST /t/globex/quote --data '{"amount": 200}'
expect_status 200 "globex quote"
expect_body_contains '"tenant":"globex"' "globex quote"
expect_body_contains '"total":209.00' "globex quote"
expect_body_contains '"has_own_key":true' "globex key"
pass "globex: its own rule (2% + 5.00), its own key"

http POST /t/acme/quote --data 'not json'
expect_status 400 "acme bad input"
pass "acme: bad input is a 400 from the tenant's script"

http GET /t/initech/report
expect_status 504 "initech loop"
http POST /t/acme/quote --data '{"amount": 50}'
expect_status 200 "acme after initech"
expect_body_contains '"total":50.00' "acme after initech"
pass "initech: endless loop stopped (504 in ${TIME}s); acme still answers"

out=$("$JINN" call "$WORK/acme.wasm" --env TENANT=acme --path /t/acme/quote --body '{"amount": 150}')
[[ "$out" == "HTTP/1.1 200 OK"* ]] || fail "jinn call acme: $out"
[[ "$out" == *'"total":135.00'* ]] || fail "jinn call acme: $out"
out=$("$JINN" call "$WORK/initech.wasm" --timeout 50ms)
[[ "$out" == "HTTP/1.1 504 Gateway Timeout"* ]] || fail "jinn call initech: $out"
pass "jinn call: same answers without a server"
