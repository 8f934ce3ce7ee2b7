#!/usr/bin/env bash
# Lines per second importing N (default 100 000) filings through the CLI and
# through the API, on SQLite and on PostgreSQL. Needs a release build
# (`cargo build --release`) and PostgreSQL. See BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-100000}
PG=${FILINGDESK_BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
BIN=$PWD/target/release/filingdesk
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"; psql "$PG" -qc "DROP DATABASE IF EXISTS filingdesk_import_bench WITH (FORCE)" 2>/dev/null || true' EXIT

python3 - "$N" "$WORK/filings.csv" <<'PY'
import sys
n, path = int(sys.argv[1]), sys.argv[2]
with open(path, "w", encoding="utf-8") as f:
    f.write("filing_number,subject_name,subject_type,responsible_person,id_number,phone,email,domains\n")
    for i in range(n):
        f.write(f"京ICP备{i:08d}号,示例公司{i},enterprise,张三,11010519491231002X,13{i:09d},s{i}@example.com,site{i}.example.cn;www.site{i}.example.cn\n")
PY
echo "$N lines, $(du -h "$WORK/filings.csv" | cut -f1)"

export FILINGDESK_DATA_KEY="$(head -c32 /dev/urandom | base64)" FILINGDESK_BOOTSTRAP_PASSWORD=Import-Bench-1 \
  FILINGDESK_LOG=warn FILINGDESK_SCHEDULER=0
PORT=18282

run() { # backend url
  local name=$1 url=$2
  export FILINGDESK_DATABASE_URL=$url FILINGDESK_LISTEN=127.0.0.1:$PORT
  "$BIN" serve >"$WORK/serve.log" 2>&1 &
  local pid=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  local root
  root=$(curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"username":"admin","password":"Import-Bench-1"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/')
  for slug in cli api; do
    curl -sf "http://127.0.0.1:$PORT/api/v1/tenants" -H "Authorization: Bearer $root" -H 'content-type: application/json' \
      -d "{\"slug\":\"$slug\",\"name\":\"$slug\"}" >/dev/null
  done
  # Filings are the tenant's: its admin imports them (the platform admin may not).
  "$BIN" create-admin --tenant api --username importer --password Import-Bench-Pass-1 >/dev/null
  local admin
  admin=$(curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"tenant":"api","username":"importer","password":"Import-Bench-Pass-1"}' | sed -E 's/.*"access_token":"([^"]+)".*/\1/')

  local start end
  start=$(date +%s.%N)
  "$BIN" import-filings --tenant cli "$WORK/filings.csv" | sed 's/^/    /' | head -6
  end=$(date +%s.%N)
  printf '%-10s CLI  %8.0f lines/s\n' "$name" "$(echo "$N / ($end - $start)" | bc -l)"

  start=$(date +%s.%N)
  curl -sS --fail-with-body "http://127.0.0.1:$PORT/api/v1/filings/import" -H "Authorization: Bearer $admin" \
    -H 'content-type: text/csv' --data-binary @"$WORK/filings.csv" | python3 -c 'import json,sys; r=json.load(sys.stdin); print("    created", r["created"], "updated", r["updated"], "errors", len(r["errors"]))'
  end=$(date +%s.%N)
  printf '%-10s API  %8.0f lines/s\n' "$name" "$(echo "$N / ($end - $start)" | bc -l)"
  kill $pid; wait $pid 2>/dev/null || true
}

run SQLite "sqlite://$WORK/bench.db"
psql "$PG" -qc "DROP DATABASE IF EXISTS filingdesk_import_bench WITH (FORCE)" -c "CREATE DATABASE filingdesk_import_bench"
run PostgreSQL "${PG%/*}/filingdesk_import_bench"
