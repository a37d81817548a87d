#!/usr/bin/env bash
# A larger run of the API fuzz (tests/api/test_fuzz.py) on SQLite and on PostgreSQL: prints
# the requests tried, the answers by status class and every operation that answered 5xx.
#   scripts/fuzz.sh [EXAMPLES_PER_OPERATION]      (default 100; the test suite uses 6)
# PostgreSQL: KARTOTEKA_FUZZ_PG_URL (default: the local server's kartoteka_fuzz database).
set -euo pipefail
cd "$(dirname "$0")/.."
export KARTOTEKA_FUZZ_EXAMPLES=${1:-100}
PY=${PYTHON:-.venv/bin/python}
PG=${KARTOTEKA_FUZZ_PG_URL:-postgresql://postgres@127.0.0.1:5432/kartoteka_fuzz}
"$PY" - "$PG" <<'PY'
import sys, psycopg
server, _, name = sys.argv[1].rpartition("/")
with psycopg.connect(server + "/postgres", autocommit=True) as conn:
    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.execute(f'CREATE DATABASE "{name}"')
PY
status=0
echo "== fuzz on SQLite ($KARTOTEKA_FUZZ_EXAMPLES cases per operation)"
env -u KARTOTEKA_TEST_DATABASE_URL "$PY" -m pytest -p no:cacheprovider -q -s tests/api/test_fuzz.py || status=1
echo "== fuzz on PostgreSQL"
KARTOTEKA_TEST_DATABASE_URL=$PG "$PY" -m pytest -p no:cacheprovider -q -s tests/api/test_fuzz.py || status=1
exit $status
