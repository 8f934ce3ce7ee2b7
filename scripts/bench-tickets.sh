#!/usr/bin/env bash
# The review queue and ticket submission on PostgreSQL with N tickets
# (default 1 000 000) across 100 tenants: requests per second and latency
# over HTTP (wrk, 32 connections) next to, in the same run on the same
# database, (1) the physical limit: pgbench running only the work itself on
# plain tables (the page's SELECT alone; one durable transaction inserting a
# ticket, an audit event and an outbox row), and (2) pgbench running the
# route's own SQL. Ends with the server's peak resident memory. Needs a
# release build, PostgreSQL, wrk and pgbench (`apt-get install wrk
# postgresql-client`). See BENCHMARKS.md.
#
#   ./scripts/bench-tickets.sh [TICKETS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
SECS=${2:-15}
CONN=32
PG=${FILINGDESK_BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
DB=filingdesk_tickets_bench
DBURL=${PG%/*}/$DB
BIN=${FILINGDESK_BIN:-$PWD/target/release/filingdesk}  # another build: FILINGDESK_BIN=path
PORT=18383
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"; psql "$PG" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true' EXIT

psql "$PG" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
psql "$PG" -qc "CREATE DATABASE $DB"
export FILINGDESK_DATABASE_URL=$DBURL FILINGDESK_DATA_KEY="$(head -c32 /dev/urandom | base64)" \
  FILINGDESK_BOOTSTRAP_PASSWORD=Tickets-Bench-1 FILINGDESK_LOG=warn FILINGDESK_SCHEDULER=0 \
  FILINGDESK_LISTEN=127.0.0.1:$PORT FILINGDESK_DB_POOL_SIZE=${FILINGDESK_DB_POOL_SIZE:-8}
"$BIN" migrate >/dev/null
start=$(date +%s.%N)
psql "$DBURL" -q -v tenants=100 -v tickets="$N" -f scripts/bench/generate-tickets.sql
printf 'generated %d tickets across 100 tenants in %.1f s\n' "$N" "$(echo "$(date +%s.%N) - $start" | bc -l)"
PGOPTIONS='-c client_min_messages=warning' psql "$DBURL" -q -v ON_ERROR_STOP=1 -f scripts/bench/limit-setup.sql
"$BIN" create-admin --tenant tenant-001 --username queue-lead --password Tickets-Bench-Pass-1 >/dev/null

"$BIN" serve >"$WORK/serve.log" 2>&1 &
for _ in $(seq 1 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done
TOKEN=$(curl -sf "$BASE/api/v1/auth/login" -H 'content-type: application/json' \
  -d '{"tenant":"tenant-001","username":"queue-lead","password":"Tickets-Bench-Pass-1"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -sf "$BASE/api/v1/filings" -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d \
  '{"filing_number":"京ICP备00000001号","subject_name":"基准","subject_type":"enterprise","responsible_person":"张三","id_number":"11010519491231002X","phone":"13812345678","email":"bench@example.com"}' >/dev/null
# Load from one address: lift that tenant's rate limits out of the way.
curl -sf -X PUT "$BASE/api/v1/settings" -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' -d \
  '{"rate_limits":{"per_address_per_minute":1000000,"per_tenant_per_minute":10000000,"per_filing_per_hour":1000}}' >/dev/null
TENANT=00000000-0000-7000-8000-000000000001
# The same settings for every other tenant, for the run across 100 tenants.
psql "$DBURL" -qc "INSERT INTO tenant_settings (tenant_id, document, updated_at)
  SELECT t.id, s.document, now() FROM tenants t, tenant_settings s WHERE s.tenant_id = '$TENANT' AND t.id <> '$TENANT'
  ON CONFLICT (tenant_id) DO UPDATE SET document = EXCLUDED.document"
psql "$DBURL" -qc "ANALYZE"
STAFF=$(psql "$DBURL" -Atc "SELECT id FROM staff WHERE username = 'queue-lead'")
PENDING=$(psql "$DBURL" -Atc "SELECT count(*) FROM tickets WHERE tenant_id = '$TENANT' AND status = 'pending_review'")
DEEP=$(psql "$DBURL" -Atc "SELECT id FROM tickets WHERE tenant_id = '$TENANT' AND status = 'pending_review' ORDER BY id DESC OFFSET $((PENDING - 60)) LIMIT 1")
CURSOR=$(printf %s "$DEEP" | base64 -w0 | tr '+/' '-_' | tr -d '=')
echo "tenant-001: $PENDING tickets pending review; the deep page starts after #$((PENDING - 60))"

http() { # label, extra wrk args…
  local label=$1; shift
  wrk -t2 -c$CONN -d"${SECS}s" --latency "$@" >"$WORK/wrk.txt"
  local rps p99 bad
  rps=$(awk '/Requests\/sec/ {print $2}' "$WORK/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.txt")
  bad=$(awk '/Non-2xx/ {print $NF}' "$WORK/wrk.txt")
  printf '%-30s HTTP        %9.0f req/s   p99 %8s   non-2xx %s\n' "$label" "$rps" "$p99" "${bad:-0}"
  echo "$rps" >"$WORK/last_http"
}
pg() { # kind, plan_cache_mode, label, pgbench args…
  local kind=$1 plans=$2 label=$3; shift 3
  PGOPTIONS="-c plan_cache_mode=$plans ${SESSION:-}" pgbench -n -c$CONN -j2 -T"$SECS" "$@" "$DBURL" >"$WORK/pgbench.txt" 2>&1 || { cat "$WORK/pgbench.txt" >&2; exit 1; }
  local tps lat
  tps=$(awk -F'= ' '/^tps/ {split($2, a, " "); print a[1]}' "$WORK/pgbench.txt")
  lat=$(awk -F'= ' '/latency average/ {print $2}' "$WORK/pgbench.txt")
  printf '%-30s %-10s  %9.0f tx/s    mean %-9s HTTP/%s %3.0f %%   (%s)\n' "$label" "$kind" "$tps" "$lat" "$kind" \
    "$(echo "100 * $(cat "$WORK/last_http") / $tps" | bc -l)" "${@: -1}"
}
# The physical limit: the work alone, on plain tables, planned as PostgreSQL
# does by default (a prepared statement soon runs a generic plan made once).
limit() { pg limit auto "$@"; }
# The statements the route sends, as captured, planned as the server has
# them planned: its reads may use generic plans, its writes plan every
# statement with its parameters (db::pool, db::tenancy).
# Tenant reads run on connections of their own (db::pool::Manager).
own_read() { SESSION="-c default_transaction_read_only=on -c role=filingdesk_tenant" pg own-SQL auto "$@"; }
own_write() { pg own-SQL force_custom_plan "$@"; }

H=(-H "Authorization: Bearer $TOKEN")
http "queue, first page" "${H[@]}" "$BASE/api/v1/tickets?status=pending_review&limit=50"
limit "queue, first page" -M prepared -D tenant="$TENANT" -f scripts/bench/limit-page.sql
own_read "queue, first page" -M prepared -D staff="$STAFF" -D tenant="$TENANT" -f scripts/bench/queue.sql
http "queue, deep page" "${H[@]}" "$BASE/api/v1/tickets?status=pending_review&limit=50&cursor=$CURSOR"
limit "queue, deep page" -M prepared -D tenant="$TENANT" -D cursor="$DEEP" -f scripts/bench/limit-page-deep.sql
own_read "queue, deep page" -M prepared -D staff="$STAFF" -D tenant="$TENANT" -D cursor="$DEEP" -f scripts/bench/queue-deep.sql
http "submission, one tenant" -s scripts/bench/submit.lua "$BASE/api/v1/public/tenant-001/tickets"
limit "submission, one tenant" -M prepared -D tenant="$TENANT" -f scripts/bench/limit-submit.sql
own_write "submission, one tenant" -M prepared -D tenant="$TENANT" -f scripts/bench/submit.sql
TENANTS=100 http "submission, 100 tenants" -s scripts/bench/submit.lua "$BASE/api/v1/public/tenant-001/tickets"
limit "submission, 100 tenants" -M prepared -D tenant="$TENANT" -f scripts/bench/limit-submit.sql
printf '%-30s %s\n' "server peak RSS" "$(awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$(pgrep -f "$BIN serve" | head -1)/status")"
