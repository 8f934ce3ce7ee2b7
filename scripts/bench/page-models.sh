#!/usr/bin/env bash
# The queue page's SQL in other shapes, measured before anything is built
# (BENCHMARKS "Thirteenth part"): pgbench, 32 clients, against the page's
# SELECT alone on plain tables, each shape run ROUNDS times in turn.
#   limit          the page's SELECT alone (limit-page.sql)
#   route          what the route sends: the tenant entered, then the page
#   page under RLS the page alone, the tenant set for the session beforehand
#   one function   entering and the page in one PL/pgSQL call (RETURN QUERY)
#   one statement  entering as the page's one-time filter (a STABLE wrapper)
# Needs a release build (for `migrate`), psql and pgbench.
#   ./scripts/bench/page-models.sh [TICKETS [ROUNDS [SECONDS]]]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-300000} ROUNDS=${2:-2} SECS=${3:-8}
PG=${FILINGDESK_BENCH_PG:-postgres://postgres@127.0.0.1:5432/postgres}
DB=filingdesk_page_models URL=${PG%/*}/$DB WORK=$(mktemp -d)
trap 'rm -rf "$WORK"; psql "$PG" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" 2>/dev/null || true' EXIT
psql "$PG" -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
export FILINGDESK_DATABASE_URL=$URL FILINGDESK_DATA_KEY=a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s= FILINGDESK_LOG=warn
target/release/filingdesk migrate >/dev/null
psql "$URL" -q -v tenants=100 -v tickets="$N" -f scripts/bench/generate-tickets.sql
PGOPTIONS='-c client_min_messages=warning' psql "$URL" -q -v ON_ERROR_STOP=1 -f scripts/bench/limit-setup.sql
target/release/filingdesk create-admin --tenant tenant-001 --username queue-lead --password Tickets-Bench-Pass-1 >/dev/null
COLS="id, number, kind, status, filing_number, verification, mismatch_count, assignee_id, sla_due_at, sla_breached, created_at, updated_at"
psql "$URL" -q -v ON_ERROR_STOP=1 <<SQL
CREATE FUNCTION model_queue_page(p_tenant text, p_staff text, p_epoch int, p_roles text[], p_status text, p_limit bigint)
RETURNS TABLE (id text, number text, kind text, status text, filing_number text, verification text, mismatch_count int,
               assignee_id text, sla_due_at timestamp, sla_breached boolean, created_at timestamp, updated_at timestamp)
LANGUAGE plpgsql AS \$\$
BEGIN
    PERFORM filingdesk_enter_tenant(p_tenant, p_staff, p_epoch, p_roles);
    RETURN QUERY SELECT t.id, t.number, t.kind, t.status, t.filing_number, t.verification, t.mismatch_count,
        t.assignee_id, t.sla_due_at, t.sla_breached, t.created_at, t.updated_at
        FROM tickets t WHERE t.tenant_id = p_tenant AND t.status = p_status ORDER BY t.id DESC LIMIT p_limit;
END \$\$;
-- STABLE only so that the planner makes it a one-time filter: it sets the
-- session's tenant, which row-level security then reads.
CREATE FUNCTION model_enter_stable(tenant text, staff_id text, epoch integer, roles text[]) RETURNS boolean
LANGUAGE plpgsql STABLE AS \$\$
BEGIN
    PERFORM set_config('filingdesk.tenant_id', tenant, false);
    PERFORM filingdesk_confirm_staff(staff_id, epoch, roles);
    RETURN true;
END \$\$;
GRANT EXECUTE ON FUNCTION model_queue_page(text, text, int, text[], text, bigint), model_enter_stable(text, text, int, text[])
    TO filingdesk_tenant;
ANALYZE;
SQL
TENANT=00000000-0000-7000-8000-000000000001
STAFF=$(psql "$URL" -Atc "SELECT id FROM staff WHERE username = 'queue-lead'")
ROLES="ARRAY['tenant_admin','reviewer']"
sed -n '/^SELECT id/p' scripts/bench/queue.sql >"$WORK/page.sql"
echo "SELECT * FROM model_queue_page(:tenant, :staff, 0, $ROLES, 'pending_review', 51);" >"$WORK/function.sql"
echo "SELECT $COLS FROM tickets WHERE model_enter_stable(:tenant, :staff, 0, $ROLES) AND tenant_id = :tenant AND status = 'pending_review' ORDER BY id DESC LIMIT 51;" >"$WORK/statement.sql"
READS="-c default_transaction_read_only=on -c role=filingdesk_tenant"
run() { # label, session options, script
  PGOPTIONS="-c plan_cache_mode=auto $2" pgbench -n -c32 -j2 -T"$SECS" -M prepared -D staff="$STAFF" -D tenant="$TENANT" \
    -f "$3" "$URL" 2>&1 | awk -v l="$1" '/^tps/ {printf "%-16s %7.0f tx/s\n", l, $3}'
}
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r"
  run "limit" "" scripts/bench/limit-page.sql
  run "route" "$READS" scripts/bench/queue.sql
  run "page under RLS" "$READS -c filingdesk.tenant_id=$TENANT" "$WORK/page.sql"
  run "one function" "$READS" "$WORK/function.sql"
  run "one statement" "$READS" "$WORK/statement.sql"
done
