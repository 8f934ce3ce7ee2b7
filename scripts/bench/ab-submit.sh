#!/usr/bin/env bash
# Two builds of the server side by side on public submissions across 100
# tenants (wrk, 32 connections, scripts/bench/submit.lua): one database per
# binary (each migrates its own), the same generated tickets and settings
# in both, the servers run in turn, ROUNDS times each, so that both meet
# the machine in the same state, in turns (old first in odd rounds, new
# first in even ones). Prints each run — rate, p99, and the CPU per request
# of the server, PostgreSQL and wrk (cpu-per-request.py) — and the medians.
#
#   ./scripts/bench/ab-submit.sh OLD_BINARY NEW_BINARY [ROUNDS [SECONDS [TICKETS]]]
#   TENANTS=1 ./scripts/bench/ab-submit.sh …   # one tenant's submissions (one chain)
#
# (Build the old one from a worktree: `git worktree add /tmp/old REV` and
# `cargo build --release` there.) Needs PostgreSQL, psql and wrk.
set -euo pipefail
cd "$(dirname "$0")/../.."
OLD=$1 NEW=$2 ROUNDS=${3:-3} SECS=${4:-10} N=${5:-100000}
PG=${FILINGDESK_BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
PORT=18384
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"; for d in a b; do psql "$PG" -qc "DROP DATABASE IF EXISTS filingdesk_ab_$d WITH (FORCE)" 2>/dev/null || true; done' EXIT
export FILINGDESK_DATA_KEY="$(head -c32 /dev/urandom | base64)" FILINGDESK_LOG=warn FILINGDESK_SCHEDULER=0 \
  FILINGDESK_BOOTSTRAP_PASSWORD=Ab-Bench-Pass-1 FILINGDESK_LISTEN=127.0.0.1:$PORT \
  FILINGDESK_DB_POOL_SIZE=${FILINGDESK_DB_POOL_SIZE:-8}

url() { echo "${PG%/*}/filingdesk_ab_$1"; }
for d in a b; do
  bin=$OLD; [ $d = b ] && bin=$NEW
  psql "$PG" -qc "DROP DATABASE IF EXISTS filingdesk_ab_$d WITH (FORCE)" -c "CREATE DATABASE filingdesk_ab_$d"
  FILINGDESK_DATABASE_URL=$(url $d) "$bin" migrate >/dev/null
  psql "$(url $d)" -q -v tenants=100 -v tickets="$N" -f scripts/bench/generate-tickets.sql
  # Load from one address: every tenant's limits out of the way (as bench-tickets.sh).
  psql "$(url $d)" -qc "INSERT INTO tenant_settings (tenant_id, document, updated_at)
    SELECT id, '{\"rate_limits\":{\"per_address_per_minute\":1000000,\"per_tenant_per_minute\":10000000,\"per_filing_per_hour\":1000}}', now() FROM tenants
    ON CONFLICT (tenant_id) DO UPDATE SET document = EXCLUDED.document" -c "ANALYZE"
done

run() { # binary, database
  # The benchmark's real filing takes one request in a hundred, and its
  # bucket allows 1 000 an hour at most: each run starts that hour afresh.
  psql "$(url "$2")" -qc "DELETE FROM rate_windows WHERE bucket LIKE 'f:%'"
  FILINGDESK_DATABASE_URL=$(url "$2") "$1" serve >"$WORK/serve.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$WORK/pid"
  for _ in $(seq 1 100); do curl -sf "$BASE/healthz" >/dev/null && break; sleep 0.1; done
  # wrk under cpu-per-request.py: the rate, p99 and each process's CPU per request.
  TENANTS=${TENANTS:-100} FILINGDESK_BENCH_PIDFILE=$WORK/pid python3 scripts/bench/cpu-per-request.py \
    wrk -t2 -c32 -d"${SECS}s" --latency -s scripts/bench/submit.lua "$BASE/api/v1/public/tenant-001/tickets" >"$WORK/run.txt" ||
    { kill "$pid"; cat "$WORK/serve.log" >&2; exit 1; }
  kill "$pid"; wait "$pid" 2>/dev/null || true
  cat "$WORK/run.txt"
}
# The old binary first in odd rounds and second in even ones: the second
# run of a round meets the first one's checkpoint and WAL.
for r in $(seq 1 "$ROUNDS"); do
  order="a b"; [ $((r % 2)) = 0 ] && order="b a"
  for d in $order; do
    bin=$OLD label=old; [ $d = b ] && bin=$NEW label=new
    line=$(run "$bin" $d); echo "round $r  $label  $line"; echo "${line#rps }" | cut -d' ' -f1 >>"$WORK/$d"
  done
done
median() { sort -n "$1" | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
echo "medians: old $(median "$WORK/a") req/s, new $(median "$WORK/b") req/s"
