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

BENCHMARKS.md, "Eleventh part", shows what it printed.
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


def psql(url, *args):
    subprocess.run(["psql", url, "-q", "-v", "ON_ERROR_STOP=1", *args], check=True,
                   env=dict(os.environ, PGOPTIONS="-c client_min_messages=warning"))


def variants():
    """The route's script for 100 tenants, and what each variant changes."""
    lines = open(os.path.join(HERE, "submit.sql")).read().split("\n")
    lines = [line.replace(":tenant::text", TENANT) for line in lines]
    at = lines.index(next(line for line in lines if line.startswith("\\set n ")))
    lines.insert(at + 1, "\\set t random(1, 100)")
    # A unique event id whatever the rounds (md5 of a random number repeats
    # over many rounds, and the audit table refuses deletes).
    lines = [re.sub(r"^SELECT audit_append\(md5\(:n::bigint::text \|\| 'a'\)", "SELECT audit_append(gen_random_uuid()::text",
                    line) for line in lines]

    def replacing(prefix, by):
        return [by if line.startswith(prefix) else line for line in lines if by is not None or not line.startswith(prefix)]

    limits = "SELECT filingdesk_hit_rates_for_tenant("
    return {
        "the route's SQL": lines,
        "without the limits' call": replacing(limits, None),
        "limits' call -> SELECT 1": replacing(limits, "SELECT 1;"),
        "limits' call -> txid_current()": replacing(limits, "SELECT txid_current();"),
        # The counting alone, without the tenant's row and settings.
        "limits without the tenant's read": [line.replace(f"{limits}{TENANT}, ", "SELECT filingdesk_hit_rates(")
                                             for line in lines],
        # The load comes from one address (wrk, a console's back end): its
        # bucket is one row that every transaction updates.
        "limits, an address per client": [line.replace("'127.0.0.1'", "'10.0.0.' || :client_id")
                                           if line.startswith(limits) else line for line in lines],
        "without the context": replacing("SELECT filingdesk_submission_context(", None),
        "without the audit append": replacing("SELECT audit_append(", None),
    }


def pgbench(script, plans, extra=()):
    out = subprocess.run(["pgbench", "-n", "-c32", "-j2", f"-T{SECONDS}", "-M", "prepared", *extra, "-f", script, URL],
                         capture_output=True, text=True, env=dict(os.environ, PGOPTIONS=f"-c plan_cache_mode={plans}"))
    tps = re.search(r"^tps = ([0-9.]+)", out.stdout, re.M)
    errors = (out.stdout + out.stderr).count("error")
    return (float(tps.group(1)) if tps else 0.0), errors


def main():
    psql(PG, "-c", f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)", "-c", f"CREATE DATABASE {DB}")
    env = dict(os.environ, FILINGDESK_DATABASE_URL=URL, FILINGDESK_DATA_KEY="a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
               FILINGDESK_LOG="warn")
    subprocess.run([BIN, "migrate"], env=env, check=True, capture_output=True)
    psql(URL, "-v", "tenants=100", "-v", f"tickets={TICKETS}", "-f", os.path.join(HERE, "generate-tickets.sql"))
    psql(URL, "-f", os.path.join(HERE, "limit-setup.sql"), "-c", "ANALYZE")
    work = tempfile.mkdtemp(prefix="submit-ablation-")
    scripts = {}
    for name, lines in variants().items():
        scripts[name] = os.path.join(work, f"{len(scripts)}.sql")
        with open(scripts[name], "w") as f:
            f.write("\n".join(lines))
    results = {name: [] for name in ["the physical limit", *scripts]}
    try:
        for r in range(ROUNDS):
            for name in results:
                psql(URL, "-c", "DELETE FROM tickets WHERE number LIKE 'PGB-%'", "-c", "DELETE FROM rate_windows",
                     "-c", "VACUUM ANALYZE tickets, rate_windows")
                if name == "the physical limit":
                    tps, errors = pgbench(os.path.join(HERE, "limit-submit.sql"), "auto",
                                          ("-D", "tenant=00000000-0000-7000-8000-000000000001"))
                else:
                    # The writers' session setting (db::pool); the transaction keeps plans itself.
                    tps, errors = pgbench(scripts[name], "force_custom_plan")
                results[name].append(tps)
                print(f"round {r + 1}  {name:32} {tps:8.0f} tx/s" + (f"  ({errors} errors)" if errors else ""),
                      flush=True)
    finally:
        psql(PG, "-c", f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    limit = statistics.median(results["the physical limit"])
    route = statistics.median(results["the route's SQL"])
    print(f"\nmedians of {ROUNDS} rounds, {SECONDS} s each, 32 clients, 100 tenants:")
    for name, tps in results.items():
        m = statistics.median(tps)
        print(f"{name:32} {m:8.0f} tx/s  {100 * m / limit:4.0f} % of the limit  {100 * m / route:4.0f} % of the route's")


if __name__ == "__main__":
    main()
