#!/usr/bin/env bash
# CI check for the air-gapped deployment: the function is compiled ahead of
# time with `jinn compile`; the artifact then runs with no compiler and no
# network; and `jinn serve` answers from inside a network namespace that has
# only loopback (when the machine lets us create one: root or user
# namespaces). Usage: check.sh JINN BUILD_DIR.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Re-run inside a fresh network namespace (only a loopback, brought up here).
if [ -z "${JINN_IN_NETNS:-}" ]; then
  if unshare -n true 2>/dev/null; then
    exec unshare -n env JINN_IN_NETNS=1 bash "${BASH_SOURCE[0]}" "$@"
  elif unshare -rn true 2>/dev/null; then
    exec unshare -rn env JINN_IN_NETNS=1 bash "${BASH_SOURCE[0]}" "$@"
  fi
  echo "note: cannot create a network namespace here; the no-network part runs on the host network"
else
  ip link set lo up 2>/dev/null || /usr/sbin/ip link set lo up
  if curl -s --max-time 2 -o /dev/null http://192.0.2.1/ 2>/dev/null; then
    echo "FAIL: the namespace has a route out" >&2
    exit 1
  fi
  echo "ok: running in a network namespace with only loopback"
fi

source "$HERE/../common/lib.sh"
setup_example "$1" "$2" "$HERE"

# On the build machine: a signing key, then compile once and sign.
SITE="$WORK/site"
rm -rf "$SITE" "$WORK/keys"
mkdir -p "$SITE/bin" "$SITE/keys" "$WORK/keys"
"$JINN" keygen --out "$WORK/keys/build" >/dev/null || fail "jinn keygen failed"
"$JINN" compile "$WORK/redact.wasm" --output "$SITE/redact.jinn" --sign-key "$WORK/keys/build.key" \
  >/dev/null || fail "jinn compile failed"
# Ship: the binary, the config, the signed artifact and the public key only.
cp "$JINN" "$SITE/bin/jinn"
cp "$WORK/jinn.toml" "$SITE/"
cp "$WORK/keys/build.pub" "$SITE/keys/"
pass "compiled ahead of time and signed: $(du -h "$SITE/redact.jinn" | cut -f1) artifact"

# On the site: no compiler, no wasm2c, an empty environment.
text='Contact ada@example.com, card 4111 1111 1111 1111, ref 12345.'
out=$(cd "$SITE" && env -i PATH=/nonexistent JINN_CACHE_DIR="$SITE/cache" \
  ./bin/jinn call redact.jinn --trusted-key keys/build.pub --path /redact --body "$text") ||
  fail "jinn call on the artifact: $out"
[[ "$out" == "HTTP/1.1 200 OK"* ]] || fail "artifact call: $out"
[[ "$out" == *'Contact [email], card **** **** **** 1111, ref 12345.' ]] || fail "artifact call: $out"
[[ "$out" == *$'X-Redacted-Emails: 1\r\n'* && "$out" == *$'X-Redacted-Cards: 1\r\n'* ]] ||
  fail "artifact call headers: $out"
pass "the signed artifact runs with no compiler on PATH and an empty environment"

# Without the key the artifact is refused.
if (cd "$SITE" && env -i PATH=/nonexistent ./bin/jinn call redact.jinn --path /redact --body x \
      >/dev/null 2>"$WORK/refused.err"); then
  fail "an artifact ran without a trusted key"
fi
grep -q "not signed by a trusted key" "$WORK/refused.err" || fail "refusal: $(cat "$WORK/refused.err")"
pass "without the public key the artifact is refused"

# The server, from the one config next to the one binary, no compiler on PATH.
: >"$SITE/jinn.err"
(cd "$SITE" && exec env -i PATH=/nonexistent PORT=0 JINN_CACHE_DIR="$SITE/cache" \
  ./bin/jinn serve -c jinn.toml >"$SITE/access.log" 2>"$SITE/jinn.err") &
JINN_PID=$!
PIDS+=("$JINN_PID")
WORK="$SITE"
port=$(wait_for_line "$SITE/jinn.err" 'listening on 127\.0\.0\.1:([0-9]+)' "$JINN_PID") ||
  fail "jinn did not start"
URL="http://127.0.0.1:$port"
http POST /redact -H 'Content-Type: text/plain' --data "$text"
expect_status 200 "redact"
expect_body_contains 'Contact [email], card **** **** **** 1111, ref 12345.' "redact"
http POST /redact --data '{"note":"call +1 555 0100","mail":"x.y@corp.example.org"}' -H 'Content-Type: application/json'
expect_status 200 "redact json"
expect_body_contains '"mail":"[email]"' "redact json"
[[ "$HEADERS" == *"Content-Type: application/json"* ]] || fail "content type not kept: $HEADERS"
pass "jinn serve answers from the signed artifact with one binary and one config, no compiler, no network"
