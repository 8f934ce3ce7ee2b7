#!/usr/bin/env python3
"""Crash test: kill -9 the server in the middle of a stream of ticket
submissions and approvals on PostgreSQL, restart it, and check that

- every request that got a 2xx is there exactly once (tickets by number,
  approvals by ticket),
- the audit chains verify (`filingdesk audit verify`),
- no notification is lost: every outbox row is delivered after the restart,
  each notification id reaching the SMS endpoint (a stub started here).

Bounded (about half a minute) and loopback only. Standard library only.

    ./scripts/crash-test.py [SECONDS_OF_LOAD_BEFORE_THE_KILL]
"""

import base64
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("FILINGDESK_BIN", os.path.join(ROOT, "target", "debug", "filingdesk"))
PG = os.environ.get("FILINGDESK_CI_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB = "filingdesk_crash_test"
DB_URL = PG.rsplit("/", 1)[0] + "/" + DB
LOAD_SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 4.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def psql(url, sql):
    return subprocess.run(["psql", url, "-Atc", sql], check=True, capture_output=True, text=True).stdout.strip()


class Sms(http.server.BaseHTTPRequestHandler):
    received = []
    lock = threading.Lock()

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        with Sms.lock:
            Sms.received.append(body["notification_id"])
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def call(base, method, path, token=None, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    if token:
        req.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None
    except (urllib.error.URLError, ConnectionError, socket.timeout, OSError):
        return None, None


def main():
    psql(PG, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    psql(PG, f"CREATE DATABASE {DB}")
    sms = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Sms)
    threading.Thread(target=sms.serve_forever, daemon=True).start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        FILINGDESK_DATABASE_URL=DB_URL,
        FILINGDESK_DATA_KEY=base64.b64encode(b"k" * 32).decode(),
        FILINGDESK_JWT_SECRET="crash-test-jwt-secret-0123456789abcdef",
        FILINGDESK_LISTEN=f"127.0.0.1:{port}",
        FILINGDESK_BOOTSTRAP_PASSWORD="Crash-Root-Pass-1",
        FILINGDESK_SMS_WEBHOOK_URL=f"http://127.0.0.1:{sms.server_address[1]}/sms",
        FILINGDESK_OUTBOX_INTERVAL_SECONDS="1",
        # A killed instance's leased notifications are sent again after the lease.
        FILINGDESK_NOTIFY_LEASE_SECONDS="20",
        FILINGDESK_LOG="warn",
    )
    log = open(os.path.join(tempfile.gettempdir(), "filingdesk-crash-test.log"), "w")

    def start():
        p = subprocess.Popen([BIN, "serve"], env=env, stdout=log, stderr=log)
        for _ in range(200):
            if call(base, "GET", "/healthz")[0] == 200:
                return p
            time.sleep(0.05)
        raise SystemExit("the server did not start")

    server = start()
    try:
        _, root = call(base, "POST", "/api/v1/auth/login", body={"username": "admin", "password": "Crash-Root-Pass-1"})
        root = root["access_token"]
        _, tenant = call(base, "POST", "/api/v1/tenants", root, {"slug": "acme", "name": "Acme"})
        for name, role in [("boss", "tenant_admin"), ("rita", "reviewer")]:
            status, _ = call(base, "POST", "/api/v1/staff", root, {
                "tenant_id": tenant["id"], "username": name, "display_name": name,
                "email": f"{name}@example.com", "role": role, "password": "Staff-Password-9"})
            assert status == 201, status
        token = lambda name: call(base, "POST", "/api/v1/auth/login", body={
            "tenant": "acme", "username": name, "password": "Staff-Password-9"})[1]["access_token"]
        boss, rita = token("boss"), token("rita")
        limits = {"rate_limits": {"per_address_per_minute": 1000000, "per_tenant_per_minute": 10000000,
                                  "per_filing_per_hour": 1000},
                  "sms_budget": {"per_minute": 10, "per_hour": 60, "per_day": 200}}
        assert call(base, "PUT", "/api/v1/settings", boss, limits)[0] == 200
        assert call(base, "POST", "/api/v1/filings", boss, {
            "filing_number": "京ICP备12345678号", "subject_name": "示例", "subject_type": "enterprise",
            "responsible_person": "张三", "id_number": "11010519491231002X", "phone": "13812345678",
            "email": "z@example.com"})[0] == 201

        submitted, approved = [], []
        stop = threading.Event()

        def submit_loop(k):
            n = 0
            while not stop.is_set():
                n += 1
                status, body = call(base, "POST", "/api/v1/public/acme/tickets", body={
                    "kind": "password_reset", "filing_number": f"京ICP备{(k * 1000000 + n) % 100000000:08d}号",
                    "contact_name": "张三", "phone": f"139{(k * 1000000 + n) % 100000000:08d}",
                    "id_number": "11010519491231002X"})
                if status == 201:
                    submitted.append(body["number"])

        def approve_loop():
            while not stop.is_set():
                status, page = call(base, "GET", "/api/v1/tickets?status=pending_review&limit=5", rita)
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

        server = start()
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
            pending = psql(DB_URL, "SELECT count(*) FROM notifications WHERE status <> 'sent'")
            if pending == "0":
                break
            time.sleep(0.5)
        if pending != "0":
            print(psql(DB_URL, "SELECT status, channel, count(*), min(next_attempt_at), max(attempts), max(last_error) FROM notifications GROUP BY 1, 2"))
            print(psql(DB_URL, "SELECT now()"))
        assert pending == "0", f"{pending} notifications never delivered"
        ids = psql(DB_URL, "SELECT id FROM notifications WHERE channel = 'sms'").split("\n")
        with Sms.lock:
            received = set(Sms.received)
        assert set(ids) <= received, "a notification was marked sent but never reached the SMS endpoint"
        print(f"{len(ids)} SMS delivered after the restart; no acknowledged write lost; audit chain intact")
    finally:
        server.kill()
        server.wait()
        sms.shutdown()
        psql(PG, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    print("crash test passed")


if __name__ == "__main__":
    main()
