#!/usr/bin/env python3
"""Crash test: kill -9 the server in the middle of a stream of ticket
submissions and approvals on PostgreSQL, restart it, and check that

- every request that got a 2xx is there exactly once (tickets by number,
  approvals by ticket),
- the audit chains verify (`filingdesk audit verify`),
- no notification is lost: every outbox row is delivered after the restart,
  each notification id reaching the SMS endpoint (a stub started here),
- a second server started on the port the first holds ends with its
  message and code 1, never with a signal (the pool's threads were still
  opening connections when the process ended, and the exit handlers and
  destructors of OpenSSL and Kerberos had freed what they used: SIGSEGV
  or SIGABRT in about 3 of 100 such starts; `main` now ends with `_exit`).

Bounded (about half a minute) and loopback only. Standard library only.

    ./scripts/crash-test.py [SECONDS_OF_LOAD_BEFORE_THE_KILL]
"""

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

from harness import (BIN, PG, SEEDED_FILINGS, call, free_port, psql, seed_tenant, server_env, sms_peer, start_server,
                     submit_ticket)

DB = "filingdesk_crash_test"
DB_URL = PG.rsplit("/", 1)[0] + "/" + DB
LOAD_SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0


# The fault showed in about 2 % of starts: 150 miss it about once in twenty.
REFUSED_STARTS = 150


def refused_starts(env):
    """Starts that fail (the port is taken) end with code 1, never a signal."""
    for _ in range(REFUSED_STARTS):
        p = subprocess.run([BIN, "serve"], env=env, capture_output=True, text=True, timeout=60)
        assert p.returncode == 1 and "cannot listen" in p.stderr, (p.returncode, p.stderr[-300:])
    print(f"{REFUSED_STARTS} starts on a port in use each ended with code 1 and the reason")


def main():
    psql(PG, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    psql(PG, f"CREATE DATABASE {DB}")
    sms = sms_peer()
    sms.up()
    port = free_port()
    env = server_env(
        DB_URL,
        port,
        FILINGDESK_SMS_WEBHOOK_URL=f"http://127.0.0.1:{sms.port}/sms",
        # A killed instance's leased notifications are sent again after the lease.
        FILINGDESK_NOTIFY_LEASE_SECONDS="20",
    )
    base = f"http://127.0.0.1:{port}"
    log = open(os.path.join(tempfile.gettempdir(), "filingdesk-crash-test.log"), "w")
    server = start_server(env, log)
    try:
        _, _, rita = seed_tenant(base, filings=SEEDED_FILINGS)

        submitted, approved = [], []
        stop = threading.Event()

        def submit_loop(k):
            n = 0
            while not stop.is_set():
                n += 1
                status, body, _ = submit_ticket(base, k, n)
                if status == 201:
                    submitted.append(body["number"])

        def approve_loop():
            while not stop.is_set():
                status, page, _ = call(base, "GET", "/api/v1/tickets?status=pending_review&limit=5", rita)
                if status != 200:
                    continue
                for t in page["items"]:
                    if call(base, "POST", f"/api/v1/tickets/{t['id']}/claim", rita, {})[0] != 200:
                        continue
                    if call(base, "POST", f"/api/v1/tickets/{t['id']}/reject", rita, {"reason": "crash test"})[0] == 200:
                        approved.append(t["id"])

        threads = [threading.Thread(target=submit_loop, args=(k,)) for k in range(3)]
        threads.append(threading.Thread(target=approve_loop))
        for t in threads:
            t.start()
        time.sleep(LOAD_SECONDS)
        server.send_signal(signal.SIGKILL)
        server.wait()
        stop.set()
        for t in threads:
            t.join()
        print(f"killed -9 after {len(submitted)} acknowledged submissions and {len(approved)} decisions")
        assert len(submitted) > 10 and len(approved) > 2, "too little load to prove anything"

        server = start_server(env, log)
        numbers = psql(DB_URL, "SELECT number FROM tickets").split("\n")
        missing = set(submitted) - set(numbers)
        assert not missing, f"acknowledged but lost: {sorted(missing)[:5]}"
        assert len(numbers) == len(set(numbers)), "a ticket number appears twice"
        dup = psql(DB_URL, "SELECT count(*) FROM (SELECT ticket_id FROM ticket_comments GROUP BY ticket_id HAVING count(*) > 1) d")
        assert dup == "0", "a decision was recorded twice"
        for tid in approved:
            status = psql(DB_URL, f"SELECT status FROM tickets WHERE id = '{tid}'")
            assert status == "rejected", f"acknowledged decision on {tid} lost: {status}"
        verify = subprocess.run([BIN, "audit", "verify"], env=env, capture_output=True, text=True)
        print(verify.stdout.strip())
        assert verify.returncode == 0, "the audit chain does not verify"

        # Every notification is delivered after the restart, each id once.
        deadline = time.time() + 90
        while time.time() < deadline:
            pending = psql(DB_URL, "SELECT count(*) FROM notifications WHERE status NOT IN ('sent', 'superseded')")
            if pending == "0":
                break
            time.sleep(0.5)
        if pending != "0":
            print(psql(DB_URL, "SELECT status, channel, count(*), min(next_attempt_at), max(attempts), max(last_error) FROM notifications GROUP BY 1, 2"))
            print(psql(DB_URL, "SELECT now()"))
        assert pending == "0", f"{pending} notifications never delivered"
        ids = psql(DB_URL, "SELECT id FROM notifications WHERE channel = 'sms'").split("\n")
        received = set(sms.counts())
        assert set(ids) <= received, "a notification was marked sent but never reached the SMS endpoint"
        print(f"{len(ids)} SMS delivered after the restart; no acknowledged write lost; audit chain intact")
        refused_starts(env)
    finally:
        server.kill()
        server.wait()
        sms.down()
        psql(PG, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    print("crash test passed")


if __name__ == "__main__":
    main()
