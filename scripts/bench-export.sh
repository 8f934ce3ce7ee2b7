#!/usr/bin/env bash
# Peak memory of the server while it streams audit exports of 10 000 and of
# N (default 1 000 000) events. Needs PostgreSQL and a release build
# (`cargo build --release`). See BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
PG=${FILINGDESK_BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
DB=filingdesk_export_bench
PORT=18181
psql "$PG" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
URL="${PG%/*}/$DB"
export FILINGDESK_DATABASE_URL="$URL" FILINGDESK_DATA_KEY="$(head -c32 /dev/urandom | base64)" \
  FILINGDESK_BOOTSTRAP_PASSWORD=Export-Bench-1 FILINGDESK_LISTEN=127.0.0.1:$PORT FILINGDESK_LOG=warn
./target/release/filingdesk migrate >/dev/null
cargo bench -q --bench audit -- seed "$URL" small 10000
cargo bench -q --bench audit -- seed "$URL" big "$N"
for slug in small big; do
  ./target/release/filingdesk create-admin --username "$slug-admin" --password Export-Bench-Pass-1 --tenant "$slug" >/dev/null
done

./target/release/filingdesk serve >/dev/null 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; psql "$PG" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.2; done

kib() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$PID/status"; }
token() {
  curl -sf "http://127.0.0.1:$PORT/api/v1/auth/login" -H 'content-type: application/json' \
    -d "{\"tenant\":\"$1\",\"username\":\"$1-admin\",\"password\":\"Export-Bench-Pass-1\"}" |
    sed -E 's/.*"access_token":"([^"]+)".*/\1/'
}
echo "server RSS after start-up: $(kib VmRSS) KiB"
for slug in small big; do
  for format in ndjson csv; do
    t=$(token "$slug")
    out=$(curl -sf -o /dev/null -w '%{size_download} %{time_total}' -H "Authorization: Bearer $t" \
      "http://127.0.0.1:$PORT/api/v1/audit-events/export?format=$format")
    set -- $out
    lines=$(curl -sf -H "Authorization: Bearer $t" "http://127.0.0.1:$PORT/api/v1/audit-events/export?format=$format" | wc -l)
    printf '%-6s %-7s %9s lines %8.1f MiB %6.1f s   peak RSS so far %s KiB\n' \
      "$slug" "$format" "$lines" "$(echo "$1/1048576" | bc -l)" "$2" "$(kib VmHWM)"
  done
done
