#!/usr/bin/env python3
"""Where a submission's SQL spends PostgreSQL's time across 100 tenants.

The route's own statements (`submit.sql`, as captured) run by pgbench with
32 clients, each transaction for one of 100 tenants at random, next to
variants that leave one part out or put something trivial in its place, and
next to the physical limit (`limit-submit.sql`: one durable transaction
inserting a ticket, an audit event and an outbox row into plain tables).
The variants alternate round by round; between runs the script's own rows
go (its tickets, the rate windows) so that no round inherits another's
bloat (this machine's PostgreSQL runs without autovacuum). Needs a built
binary (for `migrate`), psql and pgbench.

    ./scripts/bench/submit-ablation.py [ROUNDS [SECONDS [TICKETS]]]
    FILINGDESK_ABLATION_ONLY="both|without the limits' call" ./scripts/bench/submit-ablation.py
    FILINGDESK_ABLATION_TENANTS=1 ./scripts/bench/submit-ablation.py   # one tenant's chain

A variant may change the schema for its own rounds (SCHEMA: a statement
before, one after).

BENCHMARKS.md, "Eleventh part" to "Thirteenth part", "Seventeenth part" to
"Twentieth part", shows what it printed. The twentieth part's variants hold
several submissions in one transaction (a savepoint each, as
`tickets::grouped` writes them) with fewer clients, counted per submission.
The models of the thirteenth part (the audit event inserted unlinked and
linked by a sequencer beside the load, `ablation-sequencer.sql`; the
context as one plain statement) are variants here too.
"""

import os
import re
import statistics
import subprocess
import sys
import tempfile

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
SECONDS = int(sys.argv[2]) if len(sys.argv) > 2 else 8
TICKETS = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PG = os.environ.get("FILINGDESK_BENCH_PG", "postgres://postgres@127.0.0.1:5432/postgres")
DB = "filingdesk_submit_ablation"
URL = PG.rsplit("/", 1)[0] + "/" + DB
BIN = next(p for p in (os.environ.get("FILINGDESK_BIN"), os.path.join(ROOT, "target", "release", "filingdesk"),
                       os.path.join(ROOT, "target", "debug", "filingdesk")) if p and os.path.exists(p))
# One of the 100 generated tenants at random (their ids end in the number, in hex).
TENANT = "('00000000-0000-7000-8000-' || lpad(to_hex(:t::int), 12, '0'))"
# FILINGDESK_ABLATION_TENANTS=1: every transaction for the first tenant (one chain, one lock).
TENANTS = int(os.environ.get("FILINGDESK_ABLATION_TENANTS", "100"))


# The head rows follow the chains, whichever variant appended last.
HEADS = """INSERT INTO ablation_audit_heads (chain, seq, prev_hash, hash)
    SELECT DISTINCT ON (chain) chain, seq, prev_hash, hash FROM audit_events ORDER BY chain, seq DESC
    ON CONFLICT (chain) DO UPDATE SET seq = EXCLUDED.seq, prev_hash = EXCLUDED.prev_hash, hash = EXCLUDED.hash;
INSERT INTO ablation_audit_heads SELECT id, 0, repeat('0', 64), repeat('0', 64) FROM tenants ON CONFLICT DO NOTHING"""


def psql(url, *args):
    subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", *args], check=True,
                   env=dict(os.environ, PGOPTIONS="-c client_min_messages=warning"))


def variants():
    """The route's script for 100 tenants, and what each variant changes."""
    lines = open(os.path.join(HERE, "submit.sql")).read().split("\n")
    lines = [line.replace(":tenant::text", TENANT) for line in lines]
    at = lines.index(next(line for line in lines if line.startswith("\\set n ")))
    lines.insert(at + 1, f"\\set t random(1, {TENANTS})")
    def replacing(prefix, by):
        return [by if line.startswith(prefix) else line for line in lines if by is not None or not line.startswith(prefix)]

    context = "SELECT filingdesk_submission_context_counting("
    audit = "SELECT audit_append("
    # The audit append as one statement through the chain's head row.
    details = next(line for line in lines if line.startswith(audit)).split(", '{")[1].split("}', ")[0]
    heads = ("WITH h AS (UPDATE ablation_audit_heads SET seq = seq + 1, prev_hash = hash, "
             "hash = encode(sha256(convert_to(hash || ':' || (seq + 1) || ':' || md5(:n::bigint::text || 'd'), 'UTF8')), 'hex') "
             f"WHERE chain = {TENANT} RETURNING seq, prev_hash, hash) "
             "INSERT INTO audit_events (id, chain, seq, tenant_id, at, actor_type, actor_id, action, target_type, target_id, "
             "request_id, ip, user_agent, details, prev_hash, hash) "
             f"SELECT gen_random_uuid()::text, {TENANT}, h.seq, {TENANT}, now()::timestamp, 'anonymous', NULL, "
             "'ticket.submitted', 'ticket', md5(:n::bigint::text), 'pgbench', '127.0.0.1', 'pgbench', "
             f"'{{{details}}}', h.prev_hash, h.hash FROM h;")
    # Before the twelfth part: every request counted its three buckets (and
    # read the tenant) in a statement and a commit of their own.
    before = (f"SELECT filingdesk_hit_rates_for_tenant({TENANT}, ARRAY['a' || ':' || 'ticket_submit' || ':' || '127.0.0.1', "
              f"'t' || ':' || 'ticket_submit' || ':' || {TENANT}, 'f' || ':' || 'ticket_submit' || ':' || {TENANT} || ':' || :n::text]::text[], "
              "ARRAY[date_trunc('minute', now()), date_trunc('minute', now()), date_trunc('hour', now())]::timestamp[], "
              "ARRAY[date_trunc('minute', now()) - interval '1 minute', date_trunc('minute', now()) - interval '1 minute', "
              "date_trunc('hour', now()) - interval '1 hour']::timestamp[], true);")
    uncounted = [line.split(", 'f' || ")[0] + ");" if line.startswith(context) else line for line in lines]
    uncounted = [line.replace(context, "SELECT filingdesk_submission_context(") for line in uncounted]
    lease = uncounted.index("\\set lease random(1, 32)")
    before_leases = uncounted[:lease] + [before] + uncounted[lease + 4:]
    # The audit event inserted unlinked; a sequencer runs beside (SEQUENCER).
    pending = ("INSERT INTO ablation_audit_pending (event_id, chain, tenant_id, at, actor_type, actor_id, action, "
               "target_type, target_id, request_id, ip, user_agent, details, content_digest) "
               f"VALUES (gen_random_uuid()::text, {TENANT}, {TENANT}, now()::timestamp, 'anonymous', NULL, "
               "'ticket.submitted', 'ticket', md5(:n::bigint::text), 'pgbench', '127.0.0.1', 'pgbench', "
               f"'{{{details}}}', md5(:n::bigint::text || 'd'));")
    # The context's reads and the filing's hit as one plain statement (no PL/pgSQL).
    number = "('京ICP备' || lpad((:n % 100000000)::text, 8, '0') || '号')"
    plain = ("SELECT t.slug, t.name, t.status, t.created_at, t.updated_at, s.document, "
             f"filingdesk_count_hits('f' || ':' || 'ticket_submit' || ':' || {TENANT} || ':' || :n::text, 1, "
             "date_trunc('hour', now())::timestamp, (date_trunc('hour', now()) - interval '1 hour')::timestamp), "
             "f.id, f.responsible_person, f.phone_index, f.id_number_index, f.email_index, "
             f"(SELECT count(*) FROM tickets k WHERE k.tenant_id = {TENANT} AND k.filing_number = {number} "
             "AND k.created_at >= (now() - interval '7 days')::timestamp AND k.mismatch_count > 0), wh.ids, wh.events "
             "FROM tenants t LEFT JOIN tenant_settings s ON s.tenant_id = t.id "
             f"LEFT JOIN filings f ON f.tenant_id = {TENANT} AND f.filing_number = {number} "
             "CROSS JOIN LATERAL (SELECT COALESCE(array_agg(w.id ORDER BY w.id), '{}') AS ids, "
             "COALESCE(array_agg(w.events ORDER BY w.id), '{}') AS events FROM webhooks w "
             f"WHERE w.tenant_id = {TENANT} AND w.deleted_at IS NULL AND w.enabled) wh WHERE t.id = {TENANT};")
    # The audit event handed to a deferred trigger that appends it at COMMIT.
    at_commit = ("INSERT INTO ablation_audit_at_commit (id, chain, tenant_id, at, actor_type, actor_id, action, "
                 "target_type, target_id, request_id, ip, user_agent, details, content_digest) "
                 f"VALUES (gen_random_uuid()::text, {TENANT}, {TENANT}, now()::timestamp, 'anonymous', NULL, "
                 "'ticket.submitted', 'ticket', md5(:n::bigint::text), 'pgbench', '127.0.0.1', 'pgbench', "
                 f"'{{{details}}}', md5(:n::bigint::text || 'd'));")
    both = [plain if line.startswith(context) else pending if line.startswith(audit) else line for line in lines]
    # Pipelined: the ticket, the audit append and COMMIT sent in one flight
    # (they depend on the context's answer, not on each other's); and the
    # context in BEGIN's flight too (it depends on nothing the transaction
    # answers): two flights. pgbench ends a pipeline with one Sync; a driver
    # that syncs each statement (tokio-postgres) costs PostgreSQL a flush of
    # its answers per statement, which this does not model (BENCHMARKS
    # "Eighteenth part").
    insert = next(line for line in lines if line.startswith("INSERT INTO tickets"))
    append = next(line for line in lines if line.startswith(audit))
    one_flight = [line for line in lines if line not in (insert, append, "COMMIT;")]
    one_flight += ["\\startpipeline", insert, append, "COMMIT;", "\\endpipeline"]
    ctx = next(line for line in one_flight if line.startswith(context))
    two_flights = [line for line in one_flight if line != ctx]
    two_flights.insert(two_flights.index("\\endpipeline"), ctx)
    # N submissions (N tenants in ascending order, so that two batches take
    # the chains' locks in one order) in one transaction: BEGIN, the
    # settings, COMMIT and the flush shared; each submission's tenant set
    # before its context. Its rate is counted per submission (tps x N).
    def batch(size):
        head = [line for line in lines if line.startswith("\\set n ")]
        sets = [f"\\set n{i} random(1, 1000000000)" for i in range(size)]
        step = 100 // size
        sets += [f"\\set t0 random(1, {min(step, TENANTS)})"]
        sets += [f"\\set t{i} " + (f":t{i - 1} + random(1, {step})" if TENANTS > 1 else "1") for i in range(1, size)]
        rest = [line for line in lines if line not in head and not line.startswith(("\\set t ", "--"))]
        rest = [line.replace("random(1, 32)", f"random(1, {32 // size})").replace("random(1, 64)", f"random(1, {64 // size})")
                .replace(":n", ":n0").replace(":t::int", ":t0::int") for line in rest]
        first = rest.index("\\endpipeline")
        settings = [line for line in rest[:first] if line.startswith("SELECT set_config(")][0]
        opening = [line for line in rest[:first + 1] if line != settings]
        items = rest[first + 1:rest.index("COMMIT;")]
        out = sets + opening
        for i in range(size):
            # Each in a savepoint of its own, as the server runs them: one
            # that fails leaves the others standing.
            savepoint = (["RELEASE SAVEPOINT submission;"] if i else []) + ["SAVEPOINT submission;"]
            one = ["\\startpipeline", *savepoint, settings, "\\endpipeline"] + items
            out += [line.replace(":n0", f":n{i}").replace(":t0::int", f":t{i}::int") for line in one]
        return out + ["COMMIT;"]

    return {
        "the route's SQL": lines,
        "4 submissions in one transaction": batch(4),
        "8 submissions in one transaction": batch(8),
        "audit pending + sequencer": replacing(audit, pending),
        "context as one statement": replacing(context, plain),
        "both of the two above": both,
        "before: limits apart, every request": before_leases,
        "the leases' call every request": [line.replace("random(1, 32)", "random(1, 1)") for line in lines],
        "without the filing's hit": uncounted,
        "without the context": replacing(context, None),
        "without the audit append": replacing(audit, None),
        "audit through a head row": replacing(audit, heads),
        "audit appended at COMMIT": replacing(audit, at_commit),
        "without the tickets' tenant key": lines,
        "the writes and COMMIT in one flight": one_flight,
        "the context in BEGIN's flight, the writes in one": two_flights,
        "the filing's hits counted from its tickets": [
            line.replace(context, "SELECT ablation_context_counting_tickets(") for line in lines],
        "assignee and agency indexes partial": lines,
        "tickets and events with unique keys only": lines,
    }


# Variants that change the schema for their rounds only: (before, after).
SCHEMA = {
    # Each ticket's foreign key to its tenant row takes a KEY SHARE lock on
    # that row; concurrent lockers of one row share it through a multixact.
    "without the tickets' tenant key": (
        "ALTER TABLE tickets DROP CONSTRAINT tickets_tenant_id_fkey",
        "ALTER TABLE tickets ADD CONSTRAINT tickets_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants (id) NOT VALID"),
    # A new ticket has no assignee and, submitted in public, no agency: with
    # those two indexes partial it enters six of the tickets' eight.
    "assignee and agency indexes partial": (
        "DROP INDEX tickets_assignee_idx, tickets_agency_idx; "
        "CREATE INDEX tickets_assignee_idx ON tickets (tenant_id, assignee_id, id) WHERE assignee_id IS NOT NULL; "
        "CREATE INDEX tickets_agency_idx ON tickets (tenant_id, agency_id, id) WHERE agency_id IS NOT NULL",
        "DROP INDEX tickets_assignee_idx, tickets_agency_idx; "
        "CREATE INDEX tickets_assignee_idx ON tickets (tenant_id, assignee_id, id); "
        "CREATE INDEX tickets_agency_idx ON tickets (tenant_id, agency_id, id)"),
    # What every index but the unique ones (and the one the context's count
    # of recent mismatches walks) costs the submission: an upper bound for
    # leaner indexes, not a schema the reads could live with.
    "tickets and events with unique keys only": (
        "DROP INDEX tickets_queue_idx, tickets_status_idx, tickets_assignee_idx, "
        "tickets_agency_idx, tickets_sla_idx, audit_events_chain_action_idx, audit_events_chain_at_idx",
        "CREATE INDEX tickets_queue_idx ON tickets (tenant_id, id); "
        "CREATE INDEX tickets_status_idx ON tickets (tenant_id, status, id); "
        "CREATE INDEX tickets_assignee_idx ON tickets (tenant_id, assignee_id, id); "
        "CREATE INDEX tickets_agency_idx ON tickets (tenant_id, agency_id, id); "
        "CREATE INDEX tickets_sla_idx ON tickets (status, sla_due_at); "
        "CREATE INDEX audit_events_chain_action_idx ON audit_events (chain, action, seq); "
        "CREATE INDEX audit_events_chain_at_idx ON audit_events (chain, at)"),
}


# Variants whose transaction holds several submissions: (clients, submissions per transaction).
BATCHED = {"4 submissions in one transaction": (8, 4), "8 submissions in one transaction": (4, 8)}


def pgbench(script, plans, extra=(), sequencer=False, clients=32):
    # A sequencer's loop beside the load: one client, a batch every 20 ms.
    seq = None
    if sequencer:
        seq_script = os.path.join(tempfile.mkdtemp(prefix="sequencer-"), "loop.sql")
        with open(seq_script, "w") as f:
            f.write(open(os.path.join(HERE, "ablation-sequencer.sql")).read() + "\n\\sleep 20 ms\n")
        seq = subprocess.Popen(["pgbench", "-n", "-c1", "-j1", f"-T{SECONDS}", "-M", "prepared", "-f", seq_script, URL],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = subprocess.run(["pgbench", "-n", f"-c{clients}", "-j2", f"-T{SECONDS}", "-M", "prepared", *extra, "-f", script, URL],
                         capture_output=True, text=True, env=dict(os.environ, PGOPTIONS=f"-c plan_cache_mode={plans}"))
    if seq:
        s_out, s_err = seq.communicate()
        if "error" in s_out + s_err:
            print("sequencer:", (s_out + s_err)[-400:], flush=True)
    tps = re.search(r"^tps = ([0-9.]+)", out.stdout, re.M)
    errors = (out.stdout + out.stderr).count("error")
    return (float(tps.group(1)) if tps else 0.0), errors


def main():
    psql(PG, "-c", f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", "-c", f"CREATE DATABASE {DB}")
    env = dict(os.environ, FILINGDESK_DATABASE_URL=URL, FILINGDESK_DATA_KEY="a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
               FILINGDESK_LOG="warn")
    subprocess.run([BIN, "migrate"], env=env, check=True, capture_output=True)
    psql(URL, "-v", "tenants=100", "-v", f"tickets={TICKETS}", "-f", os.path.join(HERE, "generate-tickets.sql"))
    psql(URL, "-f", os.path.join(HERE, "limit-setup.sql"), "-f", os.path.join(HERE, "submit-models.sql"), "-c", "ANALYZE")
    work = tempfile.mkdtemp(prefix="submit-ablation-")
    scripts = {}
    # FILINGDESK_ABLATION_ONLY="name|name…": the route's SQL and these variants only.
    only = os.environ.get("FILINGDESK_ABLATION_ONLY")
    chosen = {name: lines for name, lines in variants().items()
              if not only or name == "the route's SQL" or name in only.split("|")}
    for name, lines in chosen.items():
        scripts[name] = os.path.join(work, f"{len(scripts)}.sql")
        with open(scripts[name], "w") as f:
            f.write("\n".join(lines))
    results = {name: [] for name in ["the physical limit", *scripts]}
    try:
        for r in range(ROUNDS):
            for name in results:
                psql(URL, "-c", "DELETE FROM tickets WHERE number LIKE 'PGB-%'", "-c", "DELETE FROM rate_windows",
                     "-c", HEADS, "-c", "DELETE FROM ablation_audit_pending",
                     "-c", "VACUUM ANALYZE tickets, rate_windows, ablation_audit_heads, ablation_audit_pending, ablation_audit_at_commit")
                if name == "the physical limit":
                    tps, errors = pgbench(os.path.join(HERE, "limit-submit.sql"), "auto",
                                          ("-D", "tenant=00000000-0000-7000-8000-000000000001"))
                else:
                    before, after = SCHEMA.get(name, (None, None))
                    if before:
                        psql(URL, "-c", before)
                    # The writers' session setting (db::pool); the transaction keeps plans itself.
                    clients, per = BATCHED.get(name, (32, 1))
                    tps, errors = pgbench(scripts[name], "force_custom_plan", clients=clients,
                                          sequencer="pending" in name or "both" in name)
                    tps *= per
                    if after:
                        psql(URL, "-c", after)
                results[name].append(tps)
                print(f"round {r + 1}  {name:32} {tps:8.0f} tx/s" + (f"  ({errors} errors)" if errors else ""),
                      flush=True)
    finally:
        psql(PG, "-c", f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    limit = statistics.median(results["the physical limit"])
    route = statistics.median(results["the route's SQL"])
    print(f"\nmedians of {ROUNDS} rounds, {SECONDS} s each, 32 clients, {TENANTS} tenant(s):")
    for name, tps in results.items():
        m = statistics.median(tps)
        print(f"{name:32} {m:8.0f} tx/s  {100 * m / limit:4.0f} % of the limit  {100 * m / route:4.0f} % of the route's")


if __name__ == "__main__":
    main()
