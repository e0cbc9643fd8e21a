#!/bin/sh
# Builds {{name}}.wasm from assembly/index.ts with the AssemblyScript compiler
# and its WASI shim (npm packages, pinned in package.json; `npm install` runs
# once, into node_modules/). Installs no system package: a missing tool is
# named with its package.
set -eu
cd "$(dirname "$0")"
need() { echo "build.sh: $1 not found; install it with: sudo apt-get install $2" >&2; exit 1; }
command -v node >/dev/null 2>&1 || need node nodejs
command -v npm >/dev/null 2>&1 || need npm npm
if [ ! -x node_modules/.bin/asc ] || [ ! -d node_modules/@assemblyscript/wasi-shim ]; then
  echo "build.sh: npm install (assemblyscript, @assemblyscript/wasi-shim)" >&2
  npm install --no-audit --no-fund --loglevel=error >&2
fi
node_modules/.bin/asc assembly/index.ts --target release
echo "built {{name}}.wasm"
