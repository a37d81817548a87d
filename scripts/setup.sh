#!/usr/bin/env bash
# Create the virtualenv and install Kartoteka (with test tools when given "test").
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
log=$(mktemp)
target="."
[ "${1:-}" = "test" ] && target=".[test]"
echo "installing Kartoteka into .venv (log: $log)..."
if ! { .venv/bin/python -m pip install -q --upgrade pip && .venv/bin/pip install -q -e "$target"; } >"$log" 2>&1; then
  cat "$log"
  echo "pip install failed" >&2
  exit 1
fi
# The UI's JavaScript and CSS: npm packages pinned in package-lock.json, bundled and
# fingerprinted by esbuild into kartoteka/web/static/dist (never committed).
if [ -f package.json ] && command -v npm >/dev/null 2>&1; then
  if [ ! -d node_modules/esbuild ] || [ package-lock.json -nt node_modules ]; then
    npm ci --no-audit --no-fund --silent
  fi
  npm run --silent build
else
  echo "npm not found: the web UI will have no scripts or styles (install Node.js and npm)" >&2
fi
