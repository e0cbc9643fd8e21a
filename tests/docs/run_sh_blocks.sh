#!/usr/bin/env bash
# Runs every fenced ```sh block of a Markdown file, in order, as one bash
# script (set -euo pipefail) in a fresh temporary directory, with the built
# jinn first on PATH: a command in the docs that fails fails this test.
# The one liberty taken: port 8080 in the commands becomes a free port, so
# the test never collides with whatever else listens on this machine.
# Usage: run_sh_blocks.sh JINN DOC.md
set -euo pipefail
JINN=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
DOC=$2
[ -x "$JINN" ] || { echo "FAIL: jinn not found: $JINN" >&2; exit 1; }
[ -f "$DOC" ] || { echo "FAIL: no such document: $DOC" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/jinn_docs.XXXXXX")
cleanup() { rm -rf "$WORK"; }
trap cleanup EXIT

# A port nobody listens on, below the ephemeral range: one picked from
# 20000-59999 was at times the local end of another test's connection under
# `ctest -j`, and `jinn serve` then failed to bind it.
# shellcheck source=../../scripts/free_port.sh
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/free_port.sh"
port=$(free_port)

script="$WORK/doc.sh"
{
  echo 'set -euo pipefail'
  # Background jobs (a server) are stopped however the script ends.
  echo 'trap '\''kill $(jobs -p) 2>/dev/null || true'\'' EXIT'
  echo 'set -x'
  awk '/^```sh[[:space:]]*$/ { inside = 1; next } /^```/ { inside = 0; next } inside { print }' "$DOC" |
    sed "s/8080/$port/g"
} >"$script"
blocks=$(grep -c '^```sh[[:space:]]*$' "$DOC" || true)
[ "$blocks" -gt 0 ] || { echo "FAIL: no \`\`\`sh blocks in $DOC" >&2; exit 1; }

mkdir -p "$WORK/run"
export JINN_CACHE_DIR="$WORK/cache"
export PATH="$(dirname "$JINN"):$PATH"
if (cd "$WORK/run" && bash "$script"); then
  echo "ok: all $blocks sh blocks of $(basename "$DOC") ran"
else
  echo "FAIL: a command of $(basename "$DOC") failed (see the trace above)" >&2
  exit 1
fi
