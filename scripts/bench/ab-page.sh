#!/usr/bin/env bash
# Two builds of the server side by side on the review queue's first page
# (wrk, 32 connections, one tenant's reviewer): one database with N tickets
# across 100 tenants, the servers run in turn, ROUNDS times each; each run
# prints its rate, p99, and the CPU each request cost the server,
# PostgreSQL and wrk (scripts/bench/cpu-per-request.py).
#
#   ./scripts/bench/ab-page.sh OLD_BINARY NEW_BINARY [ROUNDS [SECONDS [TICKETS]]]
#
# Needs PostgreSQL, psql and wrk. The newer binary migrates the database.
set -euo pipefail
cd "$(dirname "$0")/../.."
OLD=$1 NEW=$2 ROUNDS=${3:-3} SECS=${4:-8} N=${5:-200000}
PG=${FILINGDESK_BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
DB=filingdesk_ab_page URL=${PG%/*}/$DB PORT=18385
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"; psql "$PG" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true' EXIT
export FILINGDESK_DATABASE_URL=$URL FILINGDESK_DATA_KEY="$(head -c32 /dev/urandom | base64)" FILINGDESK_LOG=warn \
  FILINGDESK_SCHEDULER=0 FILINGDESK_LISTEN=127.0.0.1:$PORT FILINGDESK_DB_POOL_SIZE=${FILINGDESK_DB_POOL_SIZE:-8} \
  FILINGDESK_JWT_SECRET="$(head -c32 /dev/urandom | base64)" FILINGDESK_BENCH_PIDFILE=$WORK/pid
psql "$PG" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
"$NEW" migrate >/dev/null
psql "$URL" -q -v tenants=100 -v tickets="$N" -f scripts/bench/generate-tickets.sql
"$NEW" create-admin --tenant tenant-001 --username queue-lead --password Tickets-Bench-Pass-1 >/dev/null
psql "$URL" -qc "ANALYZE"
run() { # binary
  "$1" serve >"$WORK/serve.log" 2>&1 &
  echo $! >"$WORK/pid"
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
  local token
  token=$(curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
    -d '{"tenant":"tenant-001","username":"queue-lead","password":"Tickets-Bench-Pass-1"}' |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  local page=("http://127.0.0.1:$PORT/api/v1/tickets?status=pending_review" -H "Authorization: Bearer $token")
  wrk -t2 -c32 -d2s "${page[@]}" >/dev/null # warm: connections opened, plans made
  python3 scripts/bench/cpu-per-request.py wrk -t2 -c32 -d"${SECS}s" --latency "${page[@]}"
  kill "$(cat "$WORK/pid")"; wait "$(cat "$WORK/pid")" 2>/dev/null || true
}
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r  old  $(run "$OLD")"
  echo "round $r  new  $(run "$NEW")"
done
