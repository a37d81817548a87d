#!/usr/bin/env bash
# Install Kartoteka and run it on its embedded default: SQLite in ./data, the default
# workspace, an administrator (printed on first start), http://127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/kartoteka serve --host "${HOST:-127.0.0.1}" --port "${PORT:-8000}" "$@"
