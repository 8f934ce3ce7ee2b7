#!/usr/bin/env bash
# src/db/schema.rs is written by hand beside each migration; this compares it
# with what `diesel print-schema` reads from a freshly migrated PostgreSQL
# database (the migrations are the truth). Installs diesel_cli with only the
# postgres feature on first use (into ~/.cargo/bin).
#
#   ./scripts/schema-drift.sh        (needs target/debug/filingdesk: cargo build)
set -euo pipefail
cd "$(dirname "$0")/.."
PG_URL="${FILINGDESK_CI_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
BIN="${FILINGDESK_BIN:-target/debug/filingdesk}"

if ! command -v diesel >/dev/null || ! diesel --version | grep -q '2\.3'; then
  echo "installing diesel_cli 2.3 (postgres only)"
  cargo install diesel_cli@2.3.14 --no-default-features --features postgres --locked --quiet
fi

db="filingdesk_drift_$$"
url="${PG_URL%/*}/$db"
psql "$PG_URL" -qc "CREATE DATABASE $db"
trap 'psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $db WITH (FORCE)"' EXIT
FILINGDESK_DATABASE_URL="$url" FILINGDESK_DATA_KEY="$(printf 'k%.0s' {1..32} | base64)" \
  FILINGDESK_LOG=error "$BIN" migrate >/dev/null
printed="$(mktemp)"
diesel print-schema --database-url "$url" >"$printed"
if ! diff -u src/db/schema.rs "$printed"; then
  echo "src/db/schema.rs differs from the migrated database (above: - ours, + printed);" >&2
  echo "update it: diesel print-schema --database-url <migrated db> > src/db/schema.rs" >&2
  exit 1
fi
echo "src/db/schema.rs matches diesel print-schema of the migrated database"
