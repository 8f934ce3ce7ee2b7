#!/usr/bin/env bash
# The OpenAPI document checked by tools nobody here wrote, on the committed
# openapi/openapi.json (a test keeps it equal to what the server serves):
#   1. Redocly CLI lints it: no error (warnings are printed);
#   2. openapi-typescript makes TypeScript types, and tests/clients/journey.ts
#      (an openapi-fetch client) compiles against them with `tsc --strict`;
#   3. openapi-python-client generates a Python client (only the CSV import
#      may be skipped: the generator has no text/csv bodies), and
#      tests/clients/journey.py drives a filing's life through it against a
#      live server on SQLite, and on PostgreSQL when FILINGDESK_CI_PG_URL
#      names a server (CI does).
# Tools come from npm and PyPI, pinned, into target/ (kept between runs).
#
#   ./scripts/clients-test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${FILINGDESK_BIN:-$PWD/target/debug/filingdesk}
TOOLS=$PWD/target/clients-tools
VENV=$PWD/target/clients-venv
PORT=${CLIENTS_PORT:-18897}
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT
DOC=$PWD/openapi/openapi.json

[ -x "$BIN" ] || cargo build --locked --quiet
mkdir -p "$TOOLS"
if ! cmp -s tests/clients/package.json "$TOOLS/package.json" || [ ! -x "$TOOLS/node_modules/.bin/tsc" ]; then
  cp tests/clients/package.json "$TOOLS/"
  (cd "$TOOLS" && npm install --silent --no-audit --no-fund)
fi
if [ ! -x "$VENV/bin/openapi-python-client" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'openapi-python-client==0.29.1'
fi

echo "--- redocly lint openapi/openapi.json"
"$TOOLS/node_modules/.bin/redocly" lint "$DOC" --format=summary 2>&1 | grep -E '^(error|warning)|valid|Valid' || true
# Only the exit status says whether there were errors (warnings do not fail it).
"$TOOLS/node_modules/.bin/redocly" lint "$DOC" >"$WORK/redocly.txt" 2>&1 || { cat "$WORK/redocly.txt"; exit 1; }

echo "--- openapi-typescript, then tsc --strict on tests/clients/journey.ts"
mkdir -p "$WORK/ts"
cp tests/clients/journey.ts tests/clients/tsconfig.json "$WORK/ts/"
ln -s "$TOOLS/node_modules" "$WORK/ts/node_modules"
"$TOOLS/node_modules/.bin/openapi-typescript" "$DOC" -o "$WORK/ts/schema.d.ts" >/dev/null
(cd "$WORK/ts" && "$TOOLS/node_modules/.bin/tsc" -p tsconfig.json)
echo "types compile with tsc --strict"

echo "--- openapi-python-client generate"
"$VENV/bin/openapi-python-client" generate --path "$DOC" --config tests/clients/python-client.yml \
  --meta none --output-path "$WORK/py/filingdesk_client" >"$WORK/generate.txt" 2>&1 || { cat "$WORK/generate.txt"; exit 1; }
# Every warning must be about the CSV import (documented: text/csv is not generated).
skipped=$(grep -E '^WARNING' "$WORK/generate.txt" || true)
if [ -n "$(printf '%s\n' "$skipped" | grep -v 'POST /api/v1/filings/import' | grep -v '^$' || true)" ]; then
  cat "$WORK/generate.txt"
  echo "the Python client skipped an operation other than the CSV import" >&2
  exit 1
fi
echo "generated; skipped: ${skipped:-nothing}"

"$VENV/bin/pip" install --quiet --disable-pip-version-check httpx attrs python-dateutil >/dev/null
journey() { # label database-url
  echo "--- a filing's life through the generated Python client, on $1"
  FILINGDESK_DATABASE_URL="$2" FILINGDESK_LISTEN=127.0.0.1:$PORT FILINGDESK_LOG=warn \
    FILINGDESK_DATA_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8= \
    FILINGDESK_BOOTSTRAP_PASSWORD=Clients-Root-Pass-1 FILINGDESK_SCHEDULER=0 FILINGDESK_DRAIN_SECONDS=0 \
    "$BIN" serve >"$WORK/serve-$1.log" 2>&1 &
  local server=$!
  for _ in $(seq 1 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done
  PYTHONPATH="$WORK/py" "$VENV/bin/python" tests/clients/journey.py "$BASE" Clients-Root-Pass-1 ||
    { cat "$WORK/serve-$1.log"; exit 1; }
  kill "$server"
  wait "$server" 2>/dev/null || true
}
journey SQLite "sqlite://$WORK/clients.db"
# PostgreSQL too, when CI names a server (FILINGDESK_CI_PG_URL): a database of its own, dropped after.
if [ -n "${FILINGDESK_CI_PG_URL:-}" ]; then
  db="filingdesk_clients_$$"
  psql "$FILINGDESK_CI_PG_URL" -qc "CREATE DATABASE $db"
  trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"; psql "$FILINGDESK_CI_PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
  journey PostgreSQL "${FILINGDESK_CI_PG_URL%/*}/$db"
fi
echo "clients test passed"
