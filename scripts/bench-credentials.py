#!/usr/bin/env python3
"""Credentials first, measured: the time from a reset's approval to its SMS
leaving, over N resets (default 100) to N phones that also receive news.

    cargo build --release && ./scripts/bench-credentials.py [N]

The release binary runs on a fresh PostgreSQL database with the carrier's
usual budget (1 SMS a minute, 5 an hour, 10 a day per number) and a stub SMS
gateway that notes when each message reaches it. For each filing, in turn:
an initial password is sent (it takes the phone's minute), three strangers
file tickets quoting the number on file (news for that phone), the owner
files one, and a reviewer claims and approves it. The figure is, per reset,
the moment its SMS reached the gateway minus the moment the approval was
answered, and how much of the news went by SMS or was dropped.
"""

import http.server
import json
import os
import socketserver
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import call, psql  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100


def gateway():
    """Stub SMS gateway noting (arrival time, template code, number)."""
    arrivals = []
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with lock:
                arrivals.append((time.time(), body["template_code"], body["to"]))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    server = socketserver.ThreadingTCPServer(("127.0.0.1", harness.free_port()), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/sms", arrivals, lock


def ticket(base, i, phone):
    status, body, _ = call(base, "POST", "/api/v1/public/acme/tickets", body={
        "kind": "password_reset", "filing_number": f"京ICP备{12345678 + i:08d}号", "contact_name": "张三",
        "phone": phone, "id_number": "11010519491231002X"})
    assert status == 201, (status, body)
    return body["number"]


def main():
    if not os.path.exists(harness.BIN):
        raise SystemExit(f"{harness.BIN} is missing: cargo build --release first")
    name = f"filingdesk_bench_{os.getpid()}"
    psql(harness.PG, f"CREATE DATABASE {name}")
    db_url = harness.PG.rsplit("/", 1)[0] + "/" + name
    sms_url, arrivals, lock = gateway()
    port = harness.free_port()
    base = f"http://127.0.0.1:{port}"
    log = tempfile.NamedTemporaryFile("w", prefix="bench-credentials-", suffix=".log", delete=False)
    server = harness.start_server(harness.server_env(db_url, port, FILINGDESK_SMS_WEBHOOK_URL=sms_url), log)
    try:
        _, boss, rita = harness.seed_tenant(base, filings=N)
        psql(db_url, "ANALYZE")
        carrier = {"sms_budget": {"per_minute": 1, "per_hour": 5, "per_day": 10}}
        assert call(base, "PUT", "/api/v1/settings", boss, carrier)[0] == 200
        approved = {}
        for i in range(N):
            q = urllib.parse.quote(f"京ICP备{12345678 + i:08d}号")
            filing = call(base, "GET", f"/api/v1/filings?q={q}", boss)[1]
            filing_id = filing["items"][0]["id"]
            assert call(base, "POST", f"/api/v1/filings/{filing_id}/initial-password", boss, {})[0] == 202
            phone = f"138{12345678 + i:08d}"
            for _ in range(3):
                ticket(base, i, phone)
            number = ticket(base, i, phone)
            newest = call(base, "GET", "/api/v1/tickets?limit=1", rita)[1]["items"][0]
            assert newest["number"] == number, newest
            tid = newest["id"]
            assert call(base, "POST", f"/api/v1/tickets/{tid}/claim", rita, {})[0] == 200
            status, body, _ = call(base, "POST", f"/api/v1/tickets/{tid}/approve", rita, {})
            assert status == 200, (status, body)
            approved[phone] = time.time()
        deadline = time.time() + 180
        while time.time() < deadline:
            with lock:
                got = {to for _, code, to in arrivals if code == "FD_RESET_PASSWORD"}
            if len(got) == N:
                break
            time.sleep(0.5)
        with lock:
            seen = list(arrivals)
        waits = sorted(t - approved[to] for t, code, to in seen if code == "FD_RESET_PASSWORD")
        news = sum(1 for _, code, _ in seen if code.startswith("FD_TICKET"))
        dropped = int(psql(db_url, "SELECT count(*) FROM notifications WHERE status = 'dropped'"))
        queued, latest = psql(db_url, "SELECT count(*), coalesce(max(extract(epoch FROM next_attempt_at - created_at)), 0) "
                                      "FROM notifications WHERE status = 'pending' AND channel = 'sms' "
                                      "AND kind LIKE 'ticket_%'").split("|")
        if len(waits) < N:
            raise SystemExit(f"only {len(waits)} of {N} reset SMS arrived")
        q = statistics.quantiles(waits, n=100)
        print(f"resets: {N}; approval -> reset SMS at the gateway: median {statistics.median(waits):.1f} s, "
              f"p95 {q[94]:.1f} s, max {waits[-1]:.1f} s")
        print(f"news: {4 * N} tickets' notices of receipt and {N} of resolution for those phones; "
              f"{news} went by SMS so far, {queued} wait (the longest {float(latest):.0f} s after its cause), "
              f"{dropped} were dropped (recorded)")
        over = [w for w in waits if w > 65]
        print(f"resets over 65 s: {len(over)}")
    finally:
        server.terminate()
        server.wait()
        psql(harness.PG, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    os.environ.setdefault("FILINGDESK_BIN", os.path.join(harness.ROOT, "target", "release", "filingdesk"))
    harness.BIN = os.environ["FILINGDESK_BIN"]
    main()
