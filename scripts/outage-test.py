#!/usr/bin/env python3
"""Outage tests, on a PostgreSQL cluster of their own (initdb in a temporary
directory, so the machine's shared cluster is never stopped):

1. PostgreSQL stopped for a few seconds under load. Meanwhile `/readyz`
   answers 503 and every route answers problem+json (503 `unavailable`),
   never a 500 and never silence; once PostgreSQL is back the same server
   process recovers by itself, every acknowledged submission is stored once,
   the audit chain verifies and the notifications queued around the outage
   are all delivered.
2. The SMTP server and the SMS gateway down for a while (first refusing
   connections, then answering with failures), with two server instances
   delivering from one outbox. After recovery every notification is
   delivered, and each notification id reached its peer exactly once.

Bounded (about a minute), loopback only, standard library only.

    ./scripts/outage-test.py [SECONDS_POSTGRESQL_STAYS_DOWN]
"""

import os
import subprocess
import sys
import tempfile
import threading
import time

from harness import (BIN, SEEDED_FILINGS, PrivatePostgres, call, create_filing, free_port, psql, seed_tenant, server_env,
                     smtp_peer, sms_peer, start_server, submit_ticket)

DOWN_SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 8.0
# A request waits up to the server's checkout timeout (db::pool,
# CHECKOUT_TIMEOUT, 5 s) for a connection before it is answered 503. Every
# route must be seen answering 503 while PostgreSQL is away, so it must stay
# away longer than that: with 4 s, a request begun just as it went away was
# answered after it was back, and whether some other answer of the route
# fell inside the window was luck (CI failed so once).
CHECKOUT_TIMEOUT = 5.0
if DOWN_SECONDS < CHECKOUT_TIMEOUT + 2:
    sys.exit(f"PostgreSQL must stay down at least {CHECKOUT_TIMEOUT + 2:.0f} s (the server's checkout timeout + 2)")
LOG = os.path.join(tempfile.gettempdir(), "filingdesk-outage-test.log")


def wait_for(what, predicate, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting {seconds} s for {what}")


def database(pg, name):
    psql(pg.url, f"CREATE DATABASE {name}")
    return pg.url.rsplit("/", 1)[0] + "/" + name


def postgres_outage(pg, log):
    db_url = database(pg, "outage_db")
    sms = sms_peer()
    sms.up()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = server_env(db_url, port, FILINGDESK_SMS_WEBHOOK_URL=f"http://127.0.0.1:{sms.port}/sms",
                     FILINGDESK_NOTIFY_RETRY_BASE_SECONDS="1")
    server = start_server(env, log)
    try:
        _, _, rita = seed_tenant(base, filings=SEEDED_FILINGS)
        # (time, what, status, content type, problem code) of every answer.
        answers, submitted = [], []
        lock = threading.Lock()
        stop = threading.Event()

        def note(what, status, body, ctype):
            code = body.get("code") if isinstance(body, dict) else None
            with lock:
                answers.append((time.time(), what, status, ctype, code))

        def submit_loop(k):
            n = 0
            while not stop.is_set():
                n += 1
                status, body, ctype = submit_ticket(base, k, n)
                note("submit", status, body, ctype)
                if status == 201:
                    with lock:
                        submitted.append(body["number"])

        def queue_loop():
            while not stop.is_set():
                note("queue", *call(base, "GET", "/api/v1/tickets?status=pending_review&limit=20", rita))

        def ready_loop():
            while not stop.is_set():
                note("readyz", *call(base, "GET", "/readyz"))
                time.sleep(0.1)

        threads = [threading.Thread(target=submit_loop, args=(k,)) for k in range(2)]
        threads += [threading.Thread(target=queue_loop), threading.Thread(target=ready_loop)]
        for t in threads:
            t.start()
        time.sleep(2)
        pg.stop()
        down_at = time.time()
        time.sleep(DOWN_SECONDS)
        up_at = time.time()
        pg.start()
        try:
            wait_for("/readyz to answer 200 again", lambda: call(base, "GET", "/readyz")[0] == 200, 30)
            recovered_at = time.time()
            time.sleep(3)
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert server.poll() is None, "the server exited during the outage"

        during = [a for a in answers if down_at < a[0] < up_at]
        settled = [a for a in answers if a[0] > recovered_at + 1]
        print(f"PostgreSQL down {up_at - down_at:.1f} s; back {recovered_at - up_at:.1f} s after its start; "
              f"{len(answers)} answers, {len(during)} during the outage")
        silent = [a for a in answers if a[2] is None]
        assert not silent, f"{len(silent)} requests got no answer, e.g. {silent[0]}"
        bad = [a for a in answers if a[2] >= 300 and (a[2], a[4]) != (503, "unavailable")]
        assert not bad, f"answers other than 2xx or 503 unavailable: {bad[:5]}"
        plain = [a for a in answers if a[2] == 503 and a[1] != "readyz" and "problem+json" not in (a[3] or "")]
        assert not plain, f"a 503 that is not problem+json: {plain[0]}"
        for what in ("readyz", "submit", "queue"):
            assert any(a[1] == what and a[2] == 503 for a in during), f"{what} never answered 503 during the outage"
        assert settled and all(a[2] < 300 for a in settled), \
            f"still failing after recovery: {[a for a in settled if a[2] >= 300][:5]}"
        assert any(a[1] == "submit" and a[2] == 201 for a in settled), "no submission after recovery"

        numbers = psql(db_url, "SELECT number FROM tickets").split("\n")
        missing = set(submitted) - set(numbers)
        assert not missing, f"acknowledged but lost: {sorted(missing)[:5]}"
        assert len(numbers) == len(set(numbers)), "a ticket number appears twice"
        verify = subprocess.run([BIN, "audit", "verify"], env=env, capture_output=True, text=True)
        assert verify.returncode == 0, "the audit chain does not verify:\n" + verify.stdout
        # The outbox worker lived through the outage: everything queued is sent.
        try:
            wait_for("every notification to be sent",
                     lambda: psql(db_url, "SELECT count(*) FROM notifications WHERE status NOT IN ('sent', 'superseded')") == "0", 45)
        except AssertionError:
            print(psql(db_url, "SELECT kind, status, attempts, created_at, next_attempt_at, locked_until, last_error, now() "
                               "FROM notifications WHERE status NOT IN ('sent', 'superseded') LIMIT 5"))
            raise
        sent = psql(db_url, "SELECT count(*) FROM notifications")
        ids = set(psql(db_url, "SELECT id FROM notifications WHERE channel = 'sms'").split("\n"))
        counts = sms.counts()
        assert ids <= set(counts), "a notification was marked sent but never reached the SMS endpoint"
        twice = [i for i, c in counts.items() if c > 1]
        assert not twice, f"sent twice across the outage: {twice}"
        print(f"{len(submitted)} submissions acknowledged and stored once; audit verifies; {sent} notifications sent")
    finally:
        server.kill()
        server.wait()
        sms.down()


def peers_outage(pg, log):
    db_url = database(pg, "peers_db")
    sms, smtp = sms_peer(), smtp_peer()  # both down: connections refused
    ports = [free_port(), free_port()]
    envs = [server_env(db_url, port, FILINGDESK_SMS_WEBHOOK_URL=f"http://127.0.0.1:{sms.port}/sms",
                       FILINGDESK_SMTP_URL=f"smtp://127.0.0.1:{smtp.port}", FILINGDESK_SMTP_FROM="fd@example.com",
                       FILINGDESK_NOTIFY_RETRY_BASE_SECONDS="1", FILINGDESK_NOTIFY_MAX_ATTEMPTS="30")
            for port in ports]
    servers = [start_server(envs[0], log)]
    servers.append(start_server(envs[1], log))  # migrations are done: the second one starts as a replica would
    base = f"http://127.0.0.1:{ports[0]}"
    try:
        _, boss, _ = seed_tenant(base)
        filing_ids = [call(base, "GET", "/api/v1/filings", boss)[1]["items"][0]["id"]]
        for n in range(1, 4):
            status, filing, _ = create_filing(base, boss, n)
            assert status == 201, status
            filing_ids.append(filing["id"])
        for fid in filing_ids:
            status, body, _ = call(base, "POST", f"/api/v1/filings/{fid}/initial-password", boss, {})
            assert status == 202, (status, body)
        total = int(psql(db_url, "SELECT count(*) FROM notifications"))
        assert total >= 2 * len(filing_ids), total

        def attempts():
            return dict(row.split("|") for row in psql(db_url, "SELECT id, attempts FROM notifications").split("\n"))

        def all_tried_since(before):
            return all(int(n) > int(before[i]) for i, n in attempts().items())

        wait_for("every notification to fail twice against closed ports",
                 lambda: all(int(n) >= 2 for n in attempts().values()), 30)
        status, page, _ = call(base, "GET", "/api/v1/notifications", boss)
        assert status == 200 and all(n["status"] == "failed" and n["last_error"] for n in page["items"]), page
        sms.failing = smtp.failing = True
        sms.up()
        smtp.up()
        before = attempts()
        wait_for("every notification to be refused once more by the failing peers",
                 lambda: all_tried_since(before), 30)
        assert not sms.received and not smtp.received, "a peer recorded a message while refusing it"
        assert sms.refused and smtp.refused, "the failing peers were never tried"
        sms.failing = smtp.failing = False
        wait_for("every notification to be sent after recovery",
                 lambda: psql(db_url, "SELECT count(*) FROM notifications WHERE status NOT IN ('sent', 'superseded')") == "0", 45)
        # Both instances keep polling the outbox; give them a few rounds to send anything twice.
        time.sleep(3)
        by_channel = dict(
            (channel, set(ids.split(",")))
            for channel, ids in (row.split("|") for row in psql(
                db_url, "SELECT channel, string_agg(id, ',') FROM notifications GROUP BY channel").split("\n")))
        for peer, channel in ((sms, "sms"), (smtp, "email")):
            counts = peer.counts()
            assert set(counts) == by_channel[channel], f"{channel}: delivered ids differ from the outbox"
            twice = [i for i, c in counts.items() if c > 1]
            assert not twice, f"{channel}: delivered more than once: {twice}"
        attempts = psql(db_url, "SELECT min(attempts), max(attempts) FROM notifications")
        secrets = psql(db_url, "SELECT count(*) FROM notifications WHERE params IS NOT NULL AND carries_secret")
        assert secrets == "0", "a delivered secret was not scrubbed"
        print(f"{total} notifications ({len(by_channel['sms'])} SMS, {len(by_channel['email'])} e-mail) "
              f"delivered once each after the peers came back; attempts min|max {attempts}")
    finally:
        for s in servers:
            s.kill()
            s.wait()
        sms.down()
        smtp.down()


def main():
    pg = PrivatePostgres()
    log = open(LOG, "w")
    try:
        pg.start()
        postgres_outage(pg, log)
        peers_outage(pg, log)
    except BaseException:
        print(f"server log: {LOG}", file=sys.stderr)
        raise
    finally:
        pg.destroy()
    print("outage test passed")


if __name__ == "__main__":
    main()
